"""Fixes out: approved renders as replacement media with source timecode, in OTIO, EDL, FCP7
XML, FCPXML, AAF timelines or an ALE bin; read back with OpenTimelineIO, names, source
timecode and durations survive; grades carry their ASC CDL."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import av
import opentimelineio as otio
import pytest
import typer
from typer.testing import CliRunner

from rushes.cli import export as export_cli
from rushes.cli.common import state
from rushes.color import read_cdl
from rushes.editorial.conform import approved_fixes, export_timeline, find_render
from rushes.editorial.cut import import_cut
from rushes.errors import RushesError
from rushes.guard.decisions import decide
from rushes.ingest.ale import read_ale
from rushes.ops.grain import Degrain, DegrainParams
from rushes.ops.match import Match, MatchParams
from rushes.ops.proposals import propose
from rushes.project import Project
from tests.editorial.test_cut import A_N, A_TC, B_N, B_TC, A, B, make_film, write


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, dict[str, int]]:
    """A degrain approved on A, a grade (match B to A) approved on B, a degrain pending on B."""
    project = make_film(tmp_path_factory.mktemp("conform"))
    ids = {}
    ids["degrain"], _, _ = propose(project, Degrain(), A, DegrainParams())
    decide(project, ids["degrain"], "approved", "clean")
    ids["match"], _, _ = propose(project, Match(), B, MatchParams(to=A, samples=2))
    decide(project, ids["match"], "approved", "matches A")
    ids["pending"], _, _ = propose(project, Degrain(), B, DegrainParams())
    return project, ids


def clips_of(tl: otio.schema.Timeline) -> dict[str, otio.schema.Clip]:
    return {c.name: c for c in tl.find_clips()}


def tc(t: otio.opentime.RationalTime) -> str:
    return str(otio.opentime.to_timecode(t, t.rate))


def movie_timecode(url: str) -> str | None:
    with av.open(urlparse(url).path) as c:
        return c.streams.video[0].metadata.get("timecode")


def expected(ids: dict[str, int]) -> dict[str, tuple[str, int]]:
    return {f"{A}_fix_v{ids['degrain']}": (A_TC, A_N), f"{B}_fix_v{ids['match']}": (B_TC, B_N)}


def test_round_trip_otio_edl_fcp7xml(film: tuple[Project, dict[str, int]], tmp_path: Path) -> None:
    project, ids = film
    want = expected(ids)
    first = export_timeline(project, "otio", tmp_path / "fixes.otio")
    assert sorted(f["proposal"] for f in first["fixes"]) == [ids["degrain"], ids["match"]]
    assert all(f["rendered"] for f in first["fixes"])  # nothing was rendered yet
    for kind, ext, kw in (
        ("otio", ".otio", {}),
        ("edl", ".edl", {"rate": 24}),
        ("fcp7xml", ".xml", {}),
    ):
        path = tmp_path / f"fixes{ext}"
        if kind != "otio":
            r = export_timeline(project, kind, path)
            assert not any(f["rendered"] for f in r["fixes"])  # the renders are reused
        tl = otio.adapters.read_from_file(str(path), **kw)
        got = clips_of(tl)
        assert set(got) == set(want), kind
        for name, (start, frames) in want.items():
            c = got[name]
            assert tc(c.source_range.start_time) == start, (kind, name)
            assert c.source_range.duration.value == frames, (kind, name)
            url = c.media_reference.target_url
            assert movie_timecode(url) == start  # the replacement media carries it too
    edl = (tmp_path / "fixes.edl").read_text()
    assert "FCM: NON-DROP FRAME" in edl and " 01:00:00:00 " in edl
    # the grade travels as ASC CDL: comments in the EDL, metadata when read back
    assert "*ASC_SOP" in edl and "*ASC_SAT" in edl
    back = clips_of(otio.adapters.read_from_file(str(tmp_path / "fixes.edl"), rate=24))
    cdl = back[f"{B}_fix_v{ids['match']}"].metadata["cdl"]
    with project.session() as s:
        from rushes.project import Proposal

        row = s.get(Proposal, ids["match"])
        assert row is not None
        want_cdl = row.result["cdl"]
    assert list(cdl["asc_sop"]["slope"]) == pytest.approx(want_cdl["slope"], abs=1e-6)
    assert float(cdl["asc_sat"]) == pytest.approx(want_cdl["saturation"], abs=1e-6)
    meta = clips_of(otio.adapters.read_from_file(str(tmp_path / "fixes.otio")))
    info = meta[f"{A}_fix_v{ids['degrain']}"].metadata["rushes"]
    assert info["proposal"] == ids["degrain"] and info["op"] == "degrain"
    assert info["approvals"][0]["note"] == "clean" and Path(info["provenance"]).is_file()


def test_fcpxml_aaf_and_ale(film: tuple[Project, dict[str, int]], tmp_path: Path) -> None:
    project, ids = film
    want = expected(ids)
    for kind, ext in (("fcpxml", ".fcpxml"), ("aaf", ".aaf")):
        path = tmp_path / f"fixes{ext}"
        export_timeline(project, kind, path)
        got = clips_of(otio.adapters.read_from_file(str(path)))
        for name, (start, frames) in want.items():
            assert tc(got[name].source_range.start_time) == start, (kind, name)
            assert got[name].source_range.duration.value == frames, (kind, name)
    r = export_timeline(project, "ale", tmp_path / "fixes.ale")
    ale = read_ale(tmp_path / "fixes.ale")
    rows = {row["Name"]: row for row in ale.rows}
    grade = rows[f"{B}_fix_v{ids['match']}"]
    assert (grade["Start"], grade["End"], grade["Tape"]) == (B_TC, "11:30:00:20", "R2CD")
    assert grade["ASC_SOP"].startswith("(") and grade["ASC_SOP"].count("(") == 3
    assert float(grade["ASC_SAT"]) > 0 and grade["Op"] == "match"
    assert rows[f"{A}_fix_v{ids['degrain']}"]["ASC_SOP"] == ""
    # the CDL beside the timeline is the proposal's grade
    cdl_path = Path(next(iter(r["cdl"])))
    assert cdl_path.name == f"{B}_fix_v{ids['match']}.cdl"
    assert read_cdl(cdl_path)[0].saturation == pytest.approx(float(grade["ASC_SAT"]), abs=1e-6)


def test_edl_reels_are_8_characters_and_said_so(
    film: tuple[Project, dict[str, int]], tmp_path: Path
) -> None:
    project, _ = film
    r = export_timeline(project, "edl", tmp_path / "reels.edl")
    assert any("written as 'A001C001'" in w for w in r["warnings"])
    events = [
        line for line in (tmp_path / "reels.edl").read_text().splitlines() if line[:3].isdigit()
    ]
    assert [line.split()[1] for line in events] == ["A001C001", "R2CD"]


def test_exr_media_in_otio_and_edl_only(
    film: tuple[Project, dict[str, int]], tmp_path: Path
) -> None:
    project, ids = film
    r = export_timeline(
        project, "otio", tmp_path / "exr.otio", fmt="exr", proposals=[ids["degrain"]]
    )
    clip = next(iter(otio.adapters.read_from_file(str(tmp_path / "exr.otio")).find_clips()))
    ref = clip.media_reference
    assert isinstance(ref, otio.schema.ImageSequenceReference)
    assert (ref.start_frame, ref.frame_zero_padding, tc(clip.source_range.start_time)) == (
        1001,
        4,
        A_TC,
    )
    first = Path(urlparse(ref.target_url_for_image_number(0)).path)
    last = Path(urlparse(ref.target_url_for_image_number(A_N - 1)).path)
    assert first.is_file() and last.is_file() and first.name.endswith(".1001.exr")
    assert r["fixes"][0]["rendered"]
    export_timeline(project, "edl", tmp_path / "exr.edl", fmt="exr")
    assert ".[1001-1024].exr" in (tmp_path / "exr.edl").read_text()
    with pytest.raises(RushesError, match="fcp7xml cannot reference an EXR sequence"):
        export_timeline(project, "fcp7xml", tmp_path / "exr.xml", fmt="exr")


def test_fixes_placed_where_the_cut_uses_their_shots(
    film: tuple[Project, dict[str, int]], tmp_path: Path
) -> None:
    project, ids = film
    edl = write(
        tmp_path / "edit.edl",
        """
001  R2CD     V     C        11:30:00:05 11:30:00:15 01:00:10:00 01:00:10:10
002  AX       V     C        10:00:00:02 10:00:00:12 01:00:10:10 01:00:10:20
* FROM CLIP NAME:  A001C001_261121_R1AB
""",
    )
    import_cut(project, edl)
    r = export_timeline(project, "edl", tmp_path / "overcut.edl", cut="edit")
    assert (r["cut"], r["clips"], r["tracks"], r["not_in_cut"]) == ("edit", 2, 1, [])
    back = otio.adapters.read_from_file(str(tmp_path / "overcut.edl"), rate=24)
    clips = list(back.find_clips())
    assert [c.name for c in clips] == [f"{B}_fix_v{ids['match']}", f"{A}_fix_v{ids['degrain']}"]
    assert [tc(c.source_range.start_time) for c in clips] == ["11:30:00:05", "10:00:00:02"]
    assert [c.source_range.duration.value for c in clips] == [10, 10]
    lines = (tmp_path / "overcut.edl").read_text()
    assert "01:00:10:00 01:00:10:10" in lines and "01:00:10:10 01:00:10:20" in lines
    xml = export_timeline(project, "fcp7xml", tmp_path / "overcut.xml", cut="edit")
    assert xml["clips"] == 2
    tl = otio.adapters.read_from_file(str(tmp_path / "overcut.xml"))
    assert tc(tl.global_start_time) == "01:00:10:00"


def test_no_render_damaged_render_and_nothing_to_export(tmp_path: Path) -> None:
    project = make_film(tmp_path)
    with pytest.raises(RushesError, match="no approved fix to export"):
        export_timeline(project, "otio", tmp_path / "none.otio")
    pid, _, _ = propose(project, Degrain(), A, DegrainParams())
    decide(project, pid, "approved", None)
    with pytest.raises(RushesError, match=r"no approved fix.*no prores render matching it"):
        export_timeline(project, "otio", tmp_path / "a.otio", render=False)
    r = export_timeline(project, "otio", tmp_path / "a.otio")
    assert r["fixes"][0]["rendered"]
    fix = approved_fixes(project)[0][0]
    found = find_render(project, fix, "prores")
    assert found is not None
    movie = found[0] / f"{A}.mov"
    movie.write_bytes(movie.read_bytes()[:-10])  # damaged: no longer the render it was
    assert find_render(project, fix, "prores") is None
    again = export_timeline(project, "otio", tmp_path / "b.otio")
    assert again["fixes"][0]["rendered"]
    with pytest.raises(RushesError, match=r"give a \.edl file for edl"):
        export_timeline(project, "edl", tmp_path / "x.xml")


def test_cli_export_timeline_and_grades(
    film: tuple[Project, dict[str, int]], tmp_path: Path
) -> None:
    project, ids = film
    app = typer.Typer()
    app.command()(export_cli.export)
    app.command("noop")(lambda: None)
    state.project = project.root
    runner = CliRunner()
    try:
        r = runner.invoke(app, ["export", "edl", "-o", str(tmp_path / "cli.edl"), "--json"])
        assert r.exit_code == 0, r.output
        data = json.loads(r.stdout)
        assert data["kind"] == "edl" and len(data["fixes"]) == 2
        one = runner.invoke(
            app, ["export", "otio", str(ids["degrain"]), "-o", str(tmp_path / "one.otio")]
        )
        assert one.exit_code == 0 and "1 clip(s)" in one.stdout
        cdl = runner.invoke(
            app, ["export", "cdl", str(ids["match"]), "-o", str(tmp_path / "grade.cdl")]
        )
        assert cdl.exit_code == 0 and (tmp_path / "grade.cdl").is_file()
        assert runner.invoke(app, ["export", "cdl", "-o", str(tmp_path / "g.cdl")]).exit_code == 2
        bad = runner.invoke(app, ["export", "fcpxml", "-o", str(tmp_path / "x.xml")])
        assert bad.exit_code == 2
    finally:
        state.project = None
