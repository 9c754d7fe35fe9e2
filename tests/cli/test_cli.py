"""The command line as a user types it: init, ingest, ls, show, contact-sheet, errors."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from tests.conftest import run_rushes

rushes = run_rushes


@pytest.fixture
def film(tmp_path: Path, h264_two_shots: Path, prores10: Path) -> Path:
    r = rushes("init", "my_film", "--fps", "24", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    film = tmp_path / "my_film"
    for sub in ("rushes.toml", "catalog.sqlite", "cache", "models", "renders", "exports"):
        assert (film / sub).exists(), sub
    dailies = tmp_path / "dailies"
    dailies.mkdir()
    h264_two_shots.rename(dailies / h264_two_shots.name)
    prores10.rename(dailies / prores10.name)
    r = rushes("ingest", str(dailies), cwd=film)
    assert r.returncode == 0, r.stderr
    assert "2 added" in r.stdout
    return film


def test_ls_show_contact_sheet(film: Path) -> None:
    clips = json.loads(rushes("ls", "clips", "--json", cwd=film).stdout)
    assert {c["name"] for c in clips} == {"B002C001_230116_R2CD", "A001C003_230115_R1AB"}
    shots = json.loads(rushes("ls", "shots", "--json", cwd=film / "cache").stdout)  # walks up
    assert len(shots) == 3
    setups = json.loads(rushes("ls", "setups", "--json", cwd=film).stdout)
    assert sum(len(s["shots"]) for s in setups) == 3
    table = rushes("ls", "shots", cwd=film).stdout
    assert "B002C001_230116_R2CD#2" in table
    shown = json.loads(rushes("show", "B002C001_230116_R2CD#2", "--json", cwd=film).stdout)
    assert shown["start"] == 30 and shown["clip"]["codec"] == "h264"
    assert {"color", "focus", "motion", "people"} <= set(shown["analysis"])
    text = rushes("show", "A001C003_230115_R1AB", cwd=film)
    assert text.returncode == 0 and "xxh64" in text.stdout
    out = film / "sheet.png"
    r = rushes("-p", str(film), "contact-sheet", "-o", str(out), cwd=film.parent)
    assert r.returncode == 0, r.stderr
    img = cv2.imread(str(out))
    assert img is not None and img.shape[0] > 100


def test_user_mistakes_are_one_line_errors(film: Path, tmp_path: Path) -> None:
    cases = [
        (("show", "NOPE"), film, "no shot named 'NOPE'"),
        (("ls", "clips"), tmp_path, "no rushes project"),
        (("init", str(film)), tmp_path, "already a rushes project"),
        (("init", "x", "--fps", "fast"), tmp_path, "not a rate"),
        (("contact-sheet", "-o", "sheet.gif"), film, "give a .png or .jpg"),
        (("ingest", str(tmp_path / "nowhere")), film, "no such file or folder"),
        (("ingest", str(tmp_path), "--ale", str(tmp_path / "missing.ale")), film, "missing.ale"),
    ]
    for args, cwd, expected in cases:
        r = rushes(*args, cwd=cwd)
        assert r.returncode != 0, args
        assert expected in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr, r.stderr


def test_reingest_is_a_no_op(film: Path) -> None:
    r = rushes("ingest", str(film.parent / "dailies"), "--json", cwd=film)
    report = json.loads(r.stdout)
    assert r.returncode == 0 and report["added"] == [] and len(report["unchanged"]) == 2
