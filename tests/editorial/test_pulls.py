"""Pulls: the cut's shots with handles as EXR (ACEScg half, from 1001, timecode in the header)
or ProRes (source timecode), named by VFX convention, with a pull list; re-runnable."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import av
import numpy as np
import OpenImageIO as oiio
import pytest
import typer
from typer.testing import CliRunner

from rushes.cli import pull as pull_cli
from rushes.cli.common import state
from rushes.color import WORKING_SPACE, convert
from rushes.editorial.cut import import_cut
from rushes.editorial.pulls import plan_pulls, pull, smpte_timecode_bits
from rushes.errors import RushesError
from rushes.guard.decisions import decide
from rushes.ingest import ingest
from rushes.ingest.ale import read_ale
from rushes.media import open_media
from rushes.ops.grain import Degrain, DegrainParams
from rushes.ops.proposals import propose
from rushes.project import Project
from rushes.project.query import find_shot
from tests.editorial.test_cut import A, B, make_film, write

# event 1: A frames 2-12 (2 head handles only); event 2: B frames 5-15; event 3: A 16-22
EDL = """
TITLE: reel1
FCM: NON-DROP FRAME

001  AX       V     C        10:00:00:02 10:00:00:12 01:00:00:00 01:00:00:10
* FROM CLIP NAME:  A001C001_261121_R1AB
002  R2CD     V     C        11:30:00:05 11:30:00:15 01:00:00:10 01:00:00:20
003  AX       V     C        10:00:00:16 10:00:00:22 01:00:00:20 01:00:01:02
* FROM CLIP NAME:  A001C001_261121_R1AB
004  NOPE     V     C        09:00:00:00 09:00:00:05 01:00:01:02 01:00:01:07
"""


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("pulls")
    project = make_film(root)
    import_cut(project, write(root / "reel1.edl", EDL))
    return project


def exr_header(path: Path) -> dict[str, object]:
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None
    spec = inp.spec()
    inp.close()
    return {a.name: a.value for a in spec.extra_attribs} | {"format": str(spec.format)}


def test_smpte_timecode_bits() -> None:
    assert smpte_timecode_bits("10:21:33:12") == 0x10213312
    assert smpte_timecode_bits("01:00:00;02") == 0x01000002 | 1 << 6


def test_exr_pulls_with_handles_timecode_and_list(film: Project, tmp_path: Path) -> None:
    out = tmp_path / "pulls"
    r = pull(film, out, handles=4)
    assert (r["written"], r["skipped"]) == (3, 0)
    assert [x["event"] for x in r["left_out"]] == [4] and "NOPE" in r["left_out"][0]["why"]
    rows = {x["name"]: x for x in r["pulls"]}
    assert list(rows) == ["reel1_0010_plate_v001", "reel1_0020_plate_v001", "reel1_0030_plate_v001"]
    one, two, three = rows.values()
    # event 1 starts 2 frames into A: the head handles are clamped, and said so
    assert (one["handles_head"], one["handles_tail"], one["frames"]) == (2, 4, 16)
    assert "head handles 2 of 4" in one["notes"]
    assert (one["source_tc_in"], one["source_tc_out"]) == ("10:00:00:00", "10:00:00:16")
    assert (one["cut_tc_in"], one["cut_in_frame"], one["last_frame"]) == ("10:00:00:02", 1003, 1016)
    assert (two["clip"], two["source_tc_in"], two["frames"], two["notes"]) == (
        B,
        "11:30:00:01",
        18,
        "",
    )
    assert (three["frames"], three["handles_tail"]) == (12, 2)  # A ends at frame 24
    assert "tail handles 2 of 4: the clip ends there" in three["notes"]
    files = sorted((out / "reel1_0010_plate_v001").glob("*.exr"))
    assert [f.name for f in files][:2] == [
        "reel1_0010_plate_v001.1001.exr",
        "reel1_0010_plate_v001.1002.exr",
    ]
    assert len(files) == 16
    # header: half float, the source timecode of that very frame, the rate
    head = exr_header(files[3])
    assert head["format"] == "half"
    assert head["smpte:TimeCode"][0] == smpte_timecode_bits("10:00:00:03")
    assert tuple(head["FramesPerSecond"]) == (24, 1)
    # pixels: the original's frame 3 in ACEScg (half precision)
    with film.session() as s:
        shot = find_shot(s, A)
        path, space = shot.clip.path, shot.clip.colorspace
    with open_media(Path(path)) as reader:
        want = convert(reader.read(3), space, WORKING_SPACE)
    inp = oiio.ImageInput.open(str(files[3]))
    got = inp.read_image("float")
    inp.close()
    np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-4)
    # the pull list: CSV and ALE beside the pulls
    with (out / "pull_list.csv").open() as f:
        listed = list(csv.DictReader(f))
    assert [x["name"] for x in listed] == list(rows) and listed[1]["reel"] == "R2CD"
    ale = read_ale(out / "pull_list.ale")
    assert ale.fps == "24" and ale.rows[0]["Start"] == "10:00:00:00"
    assert ale.rows[1]["Tape"] == "R2CD" and ale.rows[0]["End"] == "10:00:00:16"


def test_pulls_are_rerunnable(film: Project, tmp_path: Path) -> None:
    out = tmp_path / "again"
    pull(film, out, handles=2)
    again = pull(film, out, handles=2)
    assert (again["written"], again["skipped"]) == (0, 3)
    assert all(x["status"] == "skipped" for x in again["pulls"])
    # a lost frame: only that pull is made again
    (out / "reel1_0020_plate_v001" / "reel1_0020_plate_v001.1003.exr").unlink()
    mended = pull(film, out, handles=2)
    assert (mended["written"], mended["skipped"]) == (1, 2)
    assert (out / "reel1_0020_plate_v001" / "reel1_0020_plate_v001.1003.exr").is_file()
    # other handles: a different pull, made again
    assert pull(film, out, handles=3)["written"] == 3
    state = json.loads((out / "pulls.json").read_text())
    assert state["pulls"]["reel1_0010_plate_v001"]["key"]["pull_out"] == 15


def test_prores_pulls_carry_source_timecode(film: Project, tmp_path: Path) -> None:
    r = pull(film, tmp_path / "mov", handles=1, fmt="prores", pattern="{shot}_{event:03d}")
    names = [x["name"] for x in r["pulls"]]
    assert names == [f"{A}_001", f"{B}_002", f"{A}_003"]
    with av.open(str(tmp_path / "mov" / f"{B}_002.mov")) as c:
        tc = c.streams.video[0].metadata.get("timecode")
        frames = sum(1 for _ in c.decode(video=0))
    assert tc == "11:30:00:04" and frames == 12


def test_only_shots_with_fixes_and_bad_options(film: Project, tmp_path: Path) -> None:
    pid, _, _ = propose(film, Degrain(), B, DegrainParams())
    _, items, left = plan_pulls(film, only_with_proposals=True)
    assert [i.shot for i in items] == [B]
    assert any("no pending/approved fix" in x["why"] for x in left)
    decide(film, pid, "rejected", "not needed")
    assert plan_pulls(film, only_with_proposals=True)[1] == []
    with pytest.raises(RushesError, match="names events 1 and 3 both"):
        plan_pulls(film, pattern="{shot}")
    with pytest.raises(RushesError, match="pull name pattern"):
        plan_pulls(film, pattern="{sequence}")
    with pytest.raises(RushesError, match="format 'dpx' unknown"):
        pull(film, tmp_path / "x", fmt="dpx")


def test_cli_pull_json(film: Project, tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(pull_cli.pull)
    app.command("noop")(lambda: None)
    state.project = film.root
    try:
        r = CliRunner().invoke(
            app,
            ["pull", "-o", str(tmp_path / "cli"), "--handles", "0", "--format", "prores", "--json"],
        )
    finally:
        state.project = None
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["written"] == 3 and data["pulls"][0]["frames"] == 10


def test_pull_of_a_shared_clip_is_whole(
    footage: Path, manifest: dict[str, dict[str, object]], tmp_path: Path
) -> None:
    """A shared clip: 48 frames with 8 handles each side, as EXR (streamed): every frame,
    its timecode and its files. The speed is printed for the record, never asserted."""
    dailies = tmp_path / "dailies"
    dailies.mkdir()
    src = footage / str(manifest["schoolgirls"]["path"])
    (dailies / f"J001C001_261121_R9ZZ{src.suffix}").symlink_to(src)
    project = Project.init(tmp_path / "film", fps="24")
    assert ingest(project, [dailies], workers=2).ok
    edl = write(
        tmp_path / "juggle.edl",
        "001  J001C001 V     C        00:00:01:00 00:00:03:00 01:00:00:00 01:00:02:00",
    )
    assert import_cut(project, edl)["matched"] == 1
    t0 = time.perf_counter()
    r = pull(project, tmp_path / "pulls", handles=8)
    seconds = time.perf_counter() - t0
    row = r["pulls"][0]
    assert (row["frames"], row["source_tc_in"], row["handles_head"]) == (64, "00:00:00:16", 8)
    assert len(list((tmp_path / "pulls" / row["name"]).glob("*.exr"))) == 64
    print(f"pull: 64 frames 432x240 EXR in {seconds:.2f}s = {64 / seconds:.1f} frames/s")
