"""Grain and plates end to end: ingest a locked-off and a panning take, then ``rushes grain``,
``rushes fix degrain`` / ``regrain``, ``rushes render`` and ``rushes plate``."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import OpenImageIO as oiio
import pytest
from sqlalchemy import select

from rushes.color import WORKING_SPACE, convert
from rushes.ingest import ingest
from rushes.media import open_media, write_prores
from rushes.ops.plate import make_plate
from rushes.ops.proposals import load_plan
from rushes.project import Project, query
from rushes.project.catalog import AuditEvent
from tests.conftest import run_rushes, textured

rushes = run_rushes
STILL = "A002C001_261122_R2AB"
PAN = "A002C002_261122_R2AB"
SIGMA = 0.02
N = 16


def background() -> np.ndarray:
    """A set: a soft left-to-right light falloff with gentle texture (flat enough for grain)."""
    ramp = np.linspace(0.0, 1.0, 256, dtype=np.float32)[None, :, None]
    soft = cv2.GaussianBlur(textured(144, 256, 11), (0, 0), 4)
    return (0.25 + 0.4 * ramp + 0.3 * soft).astype(np.float32)


def still_frames(grain: bool = True) -> list[np.ndarray]:
    """Locked-off: a static background, a disc crossing it, fresh grain every frame."""
    rng = np.random.default_rng(0)
    out = []
    for t in range(N):
        f = background().copy()
        cv2.circle(f, (20 + 14 * t, 70), 18, (0.9, 0.2, 0.1), -1)
        if grain:
            f = f + rng.normal(0, SIGMA, f.shape).astype(np.float32)
        out.append(np.clip(f, 0, 1))
    return out


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("grain")
    dailies = root / "dailies"
    dailies.mkdir()
    write_prores(still_frames(), dailies / f"{STILL}.mov", fps=Fraction(24))
    rng = np.random.default_rng(1)
    pan = [
        np.clip(
            0.15 + 0.7 * textured(144, 256, 12, t, dx=4) + rng.normal(0, SIGMA, (144, 256, 3)), 0, 1
        ).astype(np.float32)
        for t in range(N)
    ]
    write_prores(pan, dailies / f"{PAN}.mov", fps=Fraction(24))
    project = Project.init(root / "film", fps="24")
    report = ingest(project, [dailies], workers=1)
    assert report.ok, report.failed
    return root / "film"


def test_grain_is_measured_once_and_kept(film: Path) -> None:
    r = rushes("grain", STILL, "--json", cwd=film)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["shot"] == STILL and d["version"] == "grain.1" and d["size"] == [256, 144]
    assert abs(d["sigma_mean"] / SIGMA - 1) < 0.25, d["sigma_mean"]
    assert all(abs(v) < 0.3 for v in d["lag1"])  # fresh white grain (ProRes keeps it)
    table = rushes("grain", STILL, cwd=film)
    assert table.returncode == 0 and "sigma G" in table.stdout and "spectrum" in table.stdout
    project = Project.open(film)
    with project.session() as s:
        stored = query.find_shot(s, STILL).analysis["grain"]
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "measure")).all()
    assert stored["sigma_mean"] == d["sigma_mean"]  # kept in the catalog, on the shot
    assert len(events) == 1  # the second call read it from there


def test_degrain_proposal_renders_cleaner_frames(film: Path, tmp_path: Path) -> None:
    r = rushes("fix", "degrain", STILL, "--strength", "1.0", "--json", cwd=film)
    assert r.returncode == 0, r.stderr
    made = json.loads(r.stdout)
    assert made["op"] == "degrain" and made["params"]["strength"] == 1.0
    assert "profile" not in made and made["sigma_mean"] > 0
    out = tmp_path / "deg"
    rr = rushes("render", str(made["proposal"]), "--format", "prores", "-o", str(out), cwd=film)
    assert rr.returncode == 0, rr.stderr
    (mov,) = out.glob("*.mov")
    clean = still_frames(grain=False)
    with open_media(mov) as got, open_media(film.parent / "dailies" / f"{STILL}.mov") as src:
        for i in (3, 9):
            before = np.abs(src.read(i) - clean[i]).mean()
            after = np.abs(got.read(i) - clean[i]).mean()
            assert after < 0.6 * before, (i, before, after)


def test_regrain_like_another_shot(film: Path) -> None:
    r = rushes("fix", "regrain", PAN, "--like", STILL, "--amount", "1.5", "--json", cwd=film)
    assert r.returncode == 0, r.stderr
    made = json.loads(r.stdout)
    assert made["op"] == "regrain" and made["params"]["like"] == STILL and made["top_up"]
    assert made["params"]["amount"] == 1.5 and made["own_sigma_mean"] > 0
    plan, row = load_plan(Project.open(film), made["proposal"])
    assert row["op"] == "regrain" and row["status"] == "pending"
    assert plan.result["profile"]["version"] == "grain.1" and plan.result["own_profile"]


def test_plate_of_the_locked_off_take(film: Path, tmp_path: Path) -> None:
    target = tmp_path / "bg.exr"
    r = rushes("plate", STILL, "-o", str(target), "--json", cwd=film)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["plate"] == str(target) and target.is_file()
    assert Path(rep["coverage"]).name == "bg.coverage.png" and Path(rep["coverage"]).is_file()
    assert rep["colorspace"] == WORKING_SPACE and rep["frames_used"] == N
    assert rep["uncovered_fraction"] < 0.01 and rep["camera_motion_px"] < 1.0
    img = oiio.ImageInput.open(str(target))
    assert img.spec().format == oiio.TypeDesc("half")
    linear = img.read_image("float")
    img.close()
    plate = convert(np.asarray(linear, np.float32), WORKING_SPACE, rep["source_space"])
    err = np.mean((plate - background()) ** 2)
    assert 10 * np.log10(1 / err) > 32
    cov = cv2.imread(rep["coverage"], cv2.IMREAD_UNCHANGED)
    assert cov.dtype == np.uint16 and cov.shape == (144, 256) and cov.mean() > 0.8 * 65535
    # default location, under renders/plates/, with an audit event
    project = Project.open(film)
    d = make_plate(project, STILL, frames=6)
    assert Path(d["plate"]).parent == film.resolve() / "renders" / "plates"
    assert Path(d["plate"]).is_file() and d["frames_used"] == 6
    with project.session() as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "plate")).all()


def test_bad_input_is_one_line(film: Path) -> None:
    for args, expected in [
        (("plate", PAN), "locked-off"),
        (("plate", STILL, "-o", "plate.png"), "not an .exr"),
        (("fix", "regrain", STILL, "--like", "NOPE"), "no shot named 'NOPE'"),
    ]:
        r = rushes(*args, cwd=film)
        assert r.returncode == 2 and expected in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0
