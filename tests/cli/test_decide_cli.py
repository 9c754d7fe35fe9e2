"""``rushes proposals / approve / reject / lock / unlock / locks / log / guard check`` as a user
runs them: one-line errors with exit code 2, JSON listings, the audit trail."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from rushes.media import write_prores
from tests.conftest import run_rushes, textured

ROLL = "A003C001_261121_R3AB"


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("decide_cli")
    (root / "dailies").mkdir()
    rng = np.random.default_rng(0)
    frames = [
        np.clip(textured(90, 160, 5, t) + rng.normal(0, 0.02, (90, 160, 3)), 0, 1).astype(
            np.float32
        )
        for t in range(8)
    ]
    write_prores(frames, root / "dailies" / f"{ROLL}.mov", fps=Fraction(24))
    assert run_rushes("init", "film", cwd=root).returncode == 0
    r = run_rushes("ingest", str(root / "dailies"), cwd=root / "film")
    assert r.returncode == 0, r.stderr
    m = np.zeros((90, 160), np.uint8)
    cv2.rectangle(m, (4, 4), (20, 20), 255, -1)
    cv2.imwrite(str(root / "corner.png"), m)
    return root / "film"


def _json(film: Path, *args: str) -> object:
    r = run_rushes(*args, "--json", cwd=film)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_decide_lock_and_log(film: Path) -> None:
    made = _json(film, "fix", "degrain", ROLL)
    assert isinstance(made, dict)
    pid = str(made["proposal"])
    rows = _json(film, "proposals", "--status", "pending")
    assert isinstance(rows, list) and [r["id"] for r in rows] == [int(pid)]
    assert rows[0]["guard"] == "global"

    r = run_rushes("reject", pid, cwd=film)
    assert r.returncode == 2 and "needs a note" in r.stderr and "Traceback" not in r.stderr
    r = run_rushes("approve", "p999", cwd=film)
    assert r.returncode == 2 and "no proposal 999" in r.stderr

    r = run_rushes("lock", ROLL, "--note", "picture locked", cwd=film)
    assert r.returncode == 0, r.stderr
    assert _json(film, "locks")[0]["note"] == "picture locked"  # type: ignore[index]
    r = run_rushes("fix", "regrain", ROLL, cwd=film)
    assert r.returncode == 2 and "locked" in r.stderr and "unlock" in r.stderr
    r = run_rushes("approve", pid, cwd=film)
    assert r.returncode == 2 and "locked" in r.stderr
    r = run_rushes("unlock", ROLL, cwd=film)
    assert r.returncode == 2 and "needs a note" in r.stderr
    assert run_rushes("unlock", ROLL, "--note", "VFX pass", cwd=film).returncode == 0

    d = _json(film, "approve", pid, "--note", "clean")
    assert isinstance(d, dict) and d["verdict"] == "approved"
    r = run_rushes("approve", pid, cwd=film)
    assert r.returncode == 2 and "already approved" in r.stderr

    log = _json(film, "log", "--shot", ROLL)
    assert isinstance(log, list)
    acts = [(e["action"], e["note"]) for e in log]
    assert ("lock", "picture locked") in acts and ("unlock", "VFX pass") in acts
    assert acts[-1] == ("approve", "clean")
    assert _json(film, "proposals", "--status", "approved")[0]["id"] == int(pid)  # type: ignore[index]
    r = run_rushes("proposals", "--status", "bogus", cwd=film)
    assert r.returncode == 2


def test_guard_check_exit_code_says_allowed(film: Path) -> None:
    r = run_rushes("guard", "check", ROLL, "--mask", str(film.parent / "corner.png"), cwd=film)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "allowed" in r.stdout
    v = _json(film, "guard", "check", ROLL, "--mask", str(film.parent / "corner.png"))
    assert isinstance(v, dict) and v["allowed"] is True and v["op"] == "remove"
