"""The look, end to end: ingest two takes, match, continuity, render, export, round trips."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from rushes.color import GRADING_SPACE, Cdl, convert, read_cdl, read_cube
from rushes.ingest import ingest
from rushes.ingest.ale import AleFile, write_ale
from rushes.media import open_media, write_h264
from rushes.ops.match import Match
from rushes.ops.proposals import load_plan
from rushes.project import Project
from tests.conftest import run_rushes, textured

rushes = run_rushes


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with scene 5: take 1 as shot, take 2 half a stop under and cooler."""
    root = tmp_path_factory.mktemp("look")
    dailies = root / "dailies"
    dailies.mkdir()
    base = [textured(144, 256, 7, t, dx=1) for t in range(24)]
    write_h264(base, dailies / "A001C001_261121_R1AB.mp4", fps=Fraction(24), crf=4)
    graded = [np.clip(f * np.array([0.62, 0.7, 0.8], np.float32), 0, 1) for f in base]
    write_h264(graded, dailies / "A001C002_261121_R1AB.mp4", fps=Fraction(24), crf=4)
    third = [textured(144, 256, 7, t + 3, dx=1) for t in range(24)]
    write_h264(third, dailies / "A001C003_261121_R1AB.mp4", fps=Fraction(24), crf=4)
    ale = dailies / "d.ale"
    write_ale(
        ale,
        AleFile(
            {"FIELD_DELIM": "TABS", "FPS": "24"},
            ["Name", "Scene", "Take"],
            [{"Name": f"A001C00{k}_261121_R1AB", "Scene": "5", "Take": str(k)} for k in (1, 2, 3)],
        ),
    )
    project = Project.init(root / "film", fps="24")
    report = ingest(project, [dailies], ale=ale, workers=1)
    assert report.ok, report.failed
    return root / "film"


def test_continuity_flags_the_graded_take(film: Path) -> None:
    r = rushes("continuity", "--scene", "5", "--json", cwd=film)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    worst = data["shots"][0]
    assert worst["shot"] == "A001C002_261121_R1AB" and worst["flagged"]
    assert worst["delta_e"] > 3 > data["shots"][-1]["delta_e"]
    assert Path(data["sheet"]).is_file()


def test_match_render_export(film: Path, tmp_path: Path) -> None:
    r = rushes(
        "fix", "match", "A001C002_261121_R1AB", "--to", "A001C001_261121_R1AB", "--json", cwd=film
    )
    assert r.returncode == 0, r.stderr
    (made,) = json.loads(r.stdout)
    pid = str(made["proposal"])
    assert made["exposure_stops"] > 0.2  # the graded take is brighter-made
    listed = json.loads(rushes("ls", "proposals", "--json", cwd=film).stdout)
    assert listed[0]["id"] == made["proposal"] and listed[0]["status"] == "pending"

    # rendered mp4 of the matched take is close to the reference take
    out = tmp_path / "mp4"
    assert rushes("render", pid, "--format", "mp4", "-o", str(out), cwd=film).returncode == 0
    (mov,) = out.glob("*.mp4")
    ref = open_media(film.parent / "dailies" / "A001C001_261121_R1AB.mp4").read(12)
    got = open_media(mov).read(12)
    before = open_media(film.parent / "dailies" / "A001C002_261121_R1AB.mp4").read(12)
    assert np.abs(got - ref).mean() < 0.4 * np.abs(before - ref).mean()
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["proposal"]["id"] == made["proposal"] and prov["source"]["checksum"]

    for fmt in ("exr", "prores"):
        d = tmp_path / fmt
        assert rushes("render", pid, "--format", fmt, "-o", str(d), cwd=film).returncode == 0
    assert len(list((tmp_path / "exr").glob("*.exr"))) == 24
    assert open_media(next((tmp_path / "prores").glob("*.mov"))).info.bit_depth == 10

    for name in ("grade.cdl", "grade.cc", "grade.ccc"):
        assert rushes("export", "cdl", pid, "-o", str(tmp_path / name), cwd=film).returncode == 0
        (cdl,) = read_cdl(tmp_path / name)
        assert np.allclose(cdl.slope, made["cdl"]["slope"], atol=1e-6)
    assert rushes("export", "lut", pid, "-o", str(tmp_path / "g.cube"), cwd=film).returncode == 0
    assert read_cube(tmp_path / "g.cube").table.shape == (33, 33, 33, 3)
    bad = rushes("export", "lut", pid, "-o", str(tmp_path / "g.txt"), cwd=film)
    assert bad.returncode != 0 and "give a .cube" in bad.stderr


def test_read_back_cdl_reproduces_our_render(film: Path, tmp_path: Path) -> None:
    project = Project.open(film)
    r = rushes(
        "fix",
        "match",
        "A001C002_261121_R1AB",
        "--to",
        "A001C001_261121_R1AB",
        "--no-lut",
        "--json",
        cwd=film,
    )
    pid = json.loads(r.stdout)[0]["proposal"]
    assert rushes("export", "cdl", str(pid), "-o", str(tmp_path / "g.cc"), cwd=film).returncode == 0
    (cdl,) = read_cdl(tmp_path / "g.cc")
    plan, _ = load_plan(project, pid)
    space = plan.result["source_space"]
    reader = open_media(film.parent / "dailies" / "A001C002_261121_R1AB.mp4")
    chunks = list(reader.iter_chunks(8))
    ours = np.concatenate([c for _, c in Match().run(plan, iter(chunks), space)])
    src = np.concatenate([c for _, c in chunks])
    theirs = convert(Cdl.apply(cdl, convert(src, space, GRADING_SPACE)), GRADING_SPACE, space)
    assert np.abs(ours - theirs).max() <= 1e-5


def test_match_to_itself_is_identity(film: Path) -> None:
    r = rushes(
        "fix", "match", "A001C001_261121_R1AB", "--to", "A001C001_261121_R1AB", "--json", cwd=film
    )
    (made,) = json.loads(r.stdout)
    c = made["cdl"]
    assert np.allclose(c["slope"], 1, atol=1e-3) and np.allclose(c["offset"], 0, atol=1e-3)
    assert np.allclose(c["power"], 1, atol=1e-3) and abs(c["saturation"] - 1) < 1e-3


def test_match_errors_are_one_line(film: Path) -> None:
    for args, expected in [
        (("fix", "match", "A001C001_261121_R1AB"), "--to"),
        (("fix", "match", "--scene", "99"), "no shots in scene 99"),
        (("render", "9999"), "no proposal 9999"),
        (("export", "cdl", "abc", "-o", "x.cdl"), "not a proposal id"),
    ]:
        r = rushes(*args, cwd=film)
        assert r.returncode != 0 and expected in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr
