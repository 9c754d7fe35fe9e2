"""The editor's cut in: EDL, FCP7 XML, FCPXML, OTIO and AAF read through OpenTimelineIO and
matched to ingested clips by name/reel and source timecode; bad cuts refused in one line."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from rushes.cli import import_cut as import_cut_cli
from rushes.cli.common import state
from rushes.editorial.cut import cut_detail, detect_format, import_cut, list_cuts, read_cut
from rushes.editorial.cut_match import name_key
from rushes.errors import MetadataError
from rushes.ingest import ingest
from rushes.ingest.ale import AleFile, write_ale
from rushes.media import write_prores
from rushes.media.timecode import frames_to_timecode, timecode_to_frames
from rushes.project import AuditEvent, Cut, CutEvent, Project

# two camera originals with timecode; the second's tape (reel) comes from an ALE
A = "A001C001_261121_R1AB"
B = "B002C003_261121_R2CD"
A_TC, B_TC = "10:00:00:00", "11:30:00:00"
A_N, B_N = 24, 20


def plate(n: int, seed: int, tint: tuple[float, float, float]) -> list[np.ndarray]:
    """``n`` frames of a smooth ramp with fresh grain (flat enough for the grain tools)."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0.2, 0.7, 128, dtype=np.float32)[None, :, None]
    base = np.broadcast_to(ramp, (72, 128, 3)) * np.asarray(tint, np.float32)
    return [
        np.clip(base + 0.004 * t + rng.normal(0, 0.02, base.shape), 0, 1).astype(np.float32)
        for t in range(n)
    ]


def make_film(
    root: Path,
    fps: str = "24",
    clips: tuple[tuple[str, str | None, int], ...] = ((A, A_TC, A_N), (B, B_TC, B_N)),
    tapes: dict[str, str] | None = None,
) -> Project:
    """A project at ``fps`` with ProRes originals ``(name, timecode, frames)`` ingested, tapes
    (reels) given by an ALE."""
    dailies = root / "dailies"
    dailies.mkdir(parents=True)
    rate = Fraction(30000, 1001) if fps == "29.97" else Fraction(fps)
    for k, (name, tc, n) in enumerate(clips):
        tint = (1.0, 0.9, 0.8) if k % 2 else (0.8, 0.9, 1.0)
        write_prores(plate(n, k, tint), dailies / f"{name}.mov", fps=rate, timecode=tc)
    tapes = {B: "R2CD"} if tapes is None else tapes
    ale = None
    if tapes:
        ale = dailies / "dailies.ale"
        rows = [{"Name": n, "Tape": t} for n, t in tapes.items()]
        write_ale(ale, AleFile({"FPS": fps}, ["Name", "Tape"], rows))
    project = Project.init(root / "film", fps=fps)
    report = ingest(project, [dailies], ale=ale, workers=1)
    assert report.ok, report.failed
    return project


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return make_film(tmp_path_factory.mktemp("cut"))


def write(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n")
    return path


EDL = """
TITLE: reel1
FCM: NON-DROP FRAME

001  AX       V     C        10:00:00:02 10:00:00:12 01:00:00:00 01:00:00:10
* FROM CLIP NAME:  A001C001_261121_R1AB.MOV
002  R2CD     V     C        11:30:00:05 11:30:00:15 01:00:00:10 01:00:00:20
003  A001C001 V     C        10:00:00:14 10:00:00:20 01:00:00:20 01:00:01:02
004  NOPE     V     C        09:00:00:00 09:00:00:05 01:00:01:02 01:00:01:07
"""


def test_edl_matches_by_name_reel_and_8_char_reel(film: Project, tmp_path: Path) -> None:
    edl = write(tmp_path / "reel1.edl", EDL)
    r = import_cut(film, edl)
    assert (r["format"], r["rate"], r["start"], r["events"], r["matched"]) == (
        "edl",
        "24",
        "01:00:00:00",
        4,
        3,
    )
    rows = {row["index"]: row for row in r["rows"]}
    # by clip name (extension and case ignored): 10:00:00:02 is A's frame 2
    assert (rows[1]["clip"], rows[1]["clip_in"], rows[1]["clip_out"]) == (A, 2, 12)
    assert rows[1]["shot"] == A and rows[1]["shots"] == [A]
    # by the tape the ALE gave B
    assert (rows[2]["clip"], rows[2]["clip_in"], rows[2]["clip_out"]) == (B, 5, 15)
    # by a reel cut to 8 characters, as CMX3600 writers do
    assert (rows[3]["clip"], rows[3]["clip_in"], rows[3]["clip_out"]) == (A, 14, 20)
    assert (rows[3]["record_in"], rows[3]["record_out"]) == ("01:00:00:20", "01:00:01:02")
    assert not rows[4]["matched"] and "NOPE" in rows[4]["reason"]
    assert [u["index"] for u in r["unmatched_events"]] == [4]
    with film.session() as s:
        cut = s.scalars(select(Cut).where(Cut.id == r["id"])).one()
        assert cut.checksum and json.loads(cut.otio)["OTIO_SCHEMA"].startswith("Timeline")
        assert [e.matched for e in cut.events] == [True, True, True, False]
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "import-cut")).all()
        assert audit[-1].details["unmatched"] == 1


def test_source_outside_the_clip_or_at_another_rate_is_explained(
    film: Project, tmp_path: Path
) -> None:
    edl = write(
        tmp_path / "late.edl",
        """
001  AX       V     C        10:00:00:20 10:00:01:04 01:00:00:00 01:00:00:08
* FROM CLIP NAME:  A001C001_261121_R1AB
""",
    )
    r = import_cut(film, edl)
    reason = r["unmatched_events"][0]["reason"]
    assert "outside A001C001_261121_R1AB (10:00:00:00-10:00:01:00)" in reason


FCP7 = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE xmeml>
<xmeml version="4">
 <sequence id="seq-1">
  <name>assembly</name>
  <rate><timebase>{tb}</timebase><ntsc>FALSE</ntsc></rate>
  <timecode><rate><timebase>{tb}</timebase><ntsc>FALSE</ntsc></rate>
   <string>01:00:00:00</string><frame>{hour}</frame><displayformat>NDF</displayformat></timecode>
  <media><video><track>
   <clipitem id="c1">
    <name>{b}</name><rate><timebase>{tb}</timebase><ntsc>FALSE</ntsc></rate>
    <start>0</start><end>8</end><in>3</in><out>11</out>
    <file id="f1"><name>{b}.mov</name><pathurl>file://localhost/dailies/{b}.mov</pathurl>
     <rate><timebase>{tb}</timebase><ntsc>FALSE</ntsc></rate><duration>{bn}</duration>
     <timecode><rate><timebase>{tb}</timebase><ntsc>FALSE</ntsc></rate><string>{btc}</string>
      <frame>{bframe}</frame><displayformat>NDF</displayformat><reel><name>R2CD</name></reel>
     </timecode>
     <media><video/></media></file>
   </clipitem>
   <clipitem id="c2">
    <name>shot A</name><rate><timebase>{tb}</timebase><ntsc>FALSE</ntsc></rate>
    <start>8</start><end>20</end><in>10</in><out>22</out>
    <file id="f2"><name>{a}.mov</name><pathurl>file://localhost/dailies/{a}.mov</pathurl>
     <rate><timebase>{tb}</timebase><ntsc>FALSE</ntsc></rate><duration>{an}</duration>
     <timecode><rate><timebase>{tb}</timebase><ntsc>FALSE</ntsc></rate><string>{atc}</string>
      <frame>{aframe}</frame><displayformat>NDF</displayformat></timecode>
     <media><video/></media></file>
   </clipitem>
  </track></video></media>
 </sequence>
</xmeml>
"""


def fcp7(tb: int = 24) -> str:
    return FCP7.format(
        tb=tb,
        hour=3600 * tb,
        a=A,
        b=B,
        an=A_N,
        bn=B_N,
        atc=A_TC,
        btc=B_TC,
        aframe=timecode_to_frames(A_TC, tb),
        bframe=timecode_to_frames(B_TC, tb),
    )


def test_fcp7_xml_matches_file_timecode_and_reel(film: Project, tmp_path: Path) -> None:
    xml = write(tmp_path / "assembly.xml", fcp7())
    assert detect_format(xml) == "fcp7xml"
    r = import_cut(film, xml)
    assert r["matched"] == r["events"] == 2 and r["start"] == "01:00:00:00"
    one, two = r["rows"]
    assert (one["clip"], one["clip_in"], one["clip_out"], one["reel"]) == (B, 3, 11, "R2CD")
    assert (two["clip"], two["clip_in"], two["clip_out"]) == (A, 10, 22)
    assert (two["source_in"], two["record_in"]) == ("10:00:00:10", "01:00:00:08")


def test_otio_and_aaf_cuts_match(film: Project, tmp_path: Path) -> None:
    """A timeline built in OTIO, written as .otio and (through the AAF adapter) as .aaf."""
    import aaf2.mobid

    tl = otio.schema.Timeline(name="vfx_pass")
    tl.global_start_time = otio.opentime.RationalTime(86400, 24)
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    for name, tc, a, n in ((A, A_TC, 4, 6), (B, B_TC, 0, 9)):
        start = timecode_to_frames(tc, 24)
        ref = otio.schema.ExternalReference(
            target_url=f"file:///dailies/{name}.mov",
            available_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(start, 24), otio.opentime.RationalTime(20, 24)
            ),
        )
        clip = otio.schema.Clip(
            name=name,
            media_reference=ref,
            source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(start + a, 24), otio.opentime.RationalTime(n, 24)
            ),
        )
        clip.metadata["AAF"] = {"MobID": str(aaf2.mobid.MobID.new())}
        track.append(clip)
    tl.tracks.append(track)
    otio.adapters.write_to_file(tl, str(tmp_path / "vfx_pass.otio"))
    otio.adapters.write_to_file(tl, str(tmp_path / "vfx_pass.aaf"), adapter_name="AAF")
    for ext in ("otio", "aaf"):
        r = import_cut(film, tmp_path / f"vfx_pass.{ext}", name=f"vfx_{ext}")
        assert r["format"] == ext and r["matched"] == r["events"] == 2, r["unmatched_events"]
        spans = [(row["clip"], row["clip_in"], row["clip_out"]) for row in r["rows"]]
        assert spans == [(A, 4, 10), (B, 0, 9)]
        assert r["rows"][1]["record_in"] == "01:00:00:06"


def test_fcpxml_at_24_matches(film: Project, tmp_path: Path) -> None:
    tl = otio.adapters.read_from_string(fcp7(), "fcp_xml")
    path = tmp_path / "assembly.fcpxml"
    path.write_text(otio.adapters.write_to_string(tl, "fcpx_xml"))
    r = import_cut(film, path)
    assert r["format"] == "fcpxml" and r["matched"] == 2
    assert [(x["clip"], x["clip_in"], x["clip_out"]) for x in r["rows"]] == [
        (B, 3, 11),
        (A, 10, 22),
    ]


def test_same_file_again_rematches_and_a_changed_one_is_a_new_version(
    film: Project, tmp_path: Path
) -> None:
    edl = write(tmp_path / "versions.edl", EDL)
    first = import_cut(film, edl)
    again = import_cut(film, edl)
    assert again["rematched"] and again["id"] == first["id"] and again["version"] == 1
    write(edl, EDL.replace("10:00:00:14 10:00:00:20", "10:00:00:15 10:00:00:21"))
    changed = import_cut(film, edl)
    assert changed["version"] == 2 and changed["id"] != first["id"]
    assert cut_detail(film, "versions")["version"] == 2
    assert cut_detail(film, "versions", version=1)["rows"][2]["clip_in"] == 14
    assert [c["version"] for c in list_cuts(film) if c["name"] == "versions"] == [2, 1]
    with film.session() as s:
        n = s.scalar(
            select(func.count()).select_from(CutEvent).where(CutEvent.cut_id == first["id"])
        )
        assert n == 4  # re-matched in place, not duplicated


def test_drop_frame_edl_at_2997_matches_real_frames(tmp_path: Path) -> None:
    """00:00:59;20 + 10 frames is 00:01:00;02 in drop-frame (;00 and ;01 do not exist)."""
    name = "C003C001_261121_R3EF"
    project = make_film(tmp_path, "29.97", ((name, "00:00:59;20", 20),), tapes={})
    body = """
001  C003C001 V     C        00:00:59;25 00:01:00;04 01:00:00;00 01:00:00;07
* FROM CLIP NAME:  C003C001_261121_R3EF
"""
    semicolons = write(tmp_path / "df.edl", "TITLE: df\nFCM: DROP FRAME\n" + body)
    colons = write(tmp_path / "fcm.edl", "TITLE: df\nFCM: DROP FRAME\n" + body.replace(";", ":"))
    for edl in (semicolons, colons):
        r = import_cut(project, edl)
        row = r["rows"][0]
        assert row["matched"], row["reason"]
        # 59;25..59;29 are frames 5-9, 01:00;02 and ;03 frames 10-11: 7 frames
        assert (row["clip_in"], row["clip_out"], row["frames"]) == (5, 12, 7), edl.name
    assert import_cut(project, semicolons)["drop_frame"] is True
    # read as non-drop the same labels span 9 frames, not 7: the EDL itself is inconsistent
    ndf = write(tmp_path / "ndf.edl", "TITLE: ndf\n" + body.replace(";", ":"))
    with pytest.raises(MetadataError, match="Source and record duration don't match"):
        import_cut(project, ndf)
    with pytest.raises(MetadataError, match=r"drop-frame exists at 29\.97 and 59\.94 only"):
        read_cut(colons, Fraction(24))


def test_cut_at_25_in_a_24_project_is_refused(film: Project, tmp_path: Path) -> None:
    edl = write(
        tmp_path / "pal.edl",
        """
001  AX       V     C        10:00:00:20 10:00:01:24 01:00:00:00 01:00:01:04
* FROM CLIP NAME:  A001C001_261121_R1AB
""",
    )
    with pytest.raises(MetadataError) as e:
        import_cut(film, edl)
    msg = str(e.value)
    assert "pal.edl: line 1:" in msg and "frame 24" in msg and "--rate" in msg
    assert "\n" not in msg
    with pytest.raises(MetadataError, match="the cut is at 25 fps but the project is 24 fps"):
        import_cut(film, edl, rate="25")
    xml = write(tmp_path / "pal.xml", fcp7(25))
    with pytest.raises(MetadataError, match=r"pal\.xml: the cut is at 25 fps but the project"):
        import_cut(film, xml)


@pytest.mark.parametrize(
    ("name", "body", "expect"),
    [
        ("broken.xml", "<xmeml><sequence><name>x</sequence></xmeml>", "malformed XML at line 1"),
        ("other.xml", "<project><a/></project>", "neither FCP7 XML"),
        ("broken.aaf", "this is not a compound file", "not a readable AAF"),
        ("broken.edl", "TITLE: x\n001 AX V C 10:00:00:00\n", "not a readable CMX3600 EDL"),
        ("notes.edl", "TITLE: x\nsee you monday\n", "has no CMX3600 events"),
        ("cut.mov", "", "not a cut format"),
    ],
)
def test_bad_files_give_one_line_naming_the_file(
    film: Project, tmp_path: Path, name: str, body: str, expect: str
) -> None:
    path = write(tmp_path / name, body)
    with pytest.raises(MetadataError) as e:
        import_cut(film, path)
    msg = str(e.value)
    assert str(path) in msg and expect in msg and "\n" not in msg


def test_fcpxml_at_ntsc_rate_is_refused_with_the_reason(film: Project, tmp_path: Path) -> None:
    path = write(
        tmp_path / "ntsc.fcpxml",
        '<fcpxml version="1.8"><resources><format id="r1" frameDuration="1001/24000s"/>'
        "</resources></fcpxml>",
    )
    with pytest.raises(MetadataError, match="export the cut as FCP7 XML or EDL"):
        import_cut(film, path)


def test_name_key() -> None:
    assert name_key("file:///m/A001C003_230115_R1AB.MOV") == "a001c003_230115_r1ab"
    assert name_key("/plates/sh010.[1001-1020].exr") == "sh010"
    assert name_key("sh010.%04d.exr") == "sh010" and name_key("B001C002") == "b001c002"


def test_cli_lists_unmatched_events_in_json_and_exits_1(film: Project, tmp_path: Path) -> None:
    app = typer.Typer()
    app.command("import-cut")(import_cut_cli.import_cut)
    app.command()(import_cut_cli.cuts)
    edl = write(tmp_path / "cli.edl", EDL)
    state.project = film.root
    try:
        runner = CliRunner()
        r = runner.invoke(app, ["import-cut", str(edl), "--json"])
        assert r.exit_code == 1, r.output
        data = json.loads(r.stdout)
        assert [u["index"] for u in data["unmatched_events"]] == [4]
        assert data["unmatched_events"][0]["reason"].startswith("no clip")
        table = runner.invoke(app, ["cuts", "cli"])
        assert table.exit_code == 0 and "NO MATCH" in table.stdout
        listed = json.loads(runner.invoke(app, ["cuts", "--json"]).stdout)
        assert any(c["name"] == "cli" and c["unmatched"] == 1 for c in listed)
    finally:
        state.project = None


def test_shared_footage_edl_and_fcp7_xml_match_every_event(
    footage: Path, manifest: dict[str, dict[str, object]], tmp_path: Path
) -> None:
    """Three shared clips as camera originals (no timecode: they count from 00:00:00:00):
    an EDL by reel and an FCP7 XML by file name written from them match every event."""
    picks = [
        ("schoolgirls", "A001C001_261121_R1AB"),
        ("bmx-trees", "B001C001_261121_R2CD"),
        ("tennis", "C001C001_261121_R3EF"),
    ]
    dailies = tmp_path / "dailies"
    dailies.mkdir()
    for clip, roll in picks:
        src = footage / str(manifest[clip]["path"])
        if manifest[clip]["kind"] == "video":
            (dailies / f"{roll}{src.suffix}").symlink_to(src)
        else:
            seq = dailies / roll
            seq.mkdir()
            for i, f in enumerate(sorted(src.iterdir())[:40]):
                (seq / f"{roll}.{1001 + i:04d}{f.suffix.lower()}").symlink_to(f)
    project = Project.init(tmp_path / "film", fps="24")
    assert ingest(project, [dailies], workers=2).ok
    events = [(picks[0][1], 10, 34), (picks[1][1], 0, 20), (picks[2][1], 12, 40)]
    lines = ["TITLE: shared", "FCM: NON-DROP FRAME", ""]
    rec = 86400
    for k, (roll, a, b) in enumerate(events, start=1):
        tc = [frames_to_timecode(v, 24) for v in (a, b, rec, rec + b - a)]
        lines.append(f"{k:03d}  {roll[:8]} V     C        {tc[0]} {tc[1]} {tc[2]} {tc[3]}")
        rec += b - a
    edl = write(tmp_path / "shared.edl", "\n".join(lines))
    r = import_cut(project, edl)
    assert r["matched"] == r["events"] == 3, r["unmatched_events"]
    assert [(x["clip"], x["clip_in"], x["clip_out"]) for x in r["rows"]] == events
    tl = otio.adapters.read_from_string(edl.read_text(), "cmx_3600", rate=24)
    for clip, (roll, _, _) in zip(tl.find_clips(), events, strict=True):
        clip.name = roll  # name the events by file instead of reel
        clip.metadata.pop("cmx_3600", None)
        clip.media_reference = otio.schema.ExternalReference(
            target_url=f"file:///dailies/{roll}.mov",
            available_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(40, 24)
            ),
        )
    (tmp_path / "shared.xml").write_text(otio.adapters.write_to_string(tl, "fcp_xml"))
    x = import_cut(project, tmp_path / "shared.xml")
    assert x["format"] == "fcp7xml" and x["matched"] == x["events"] == 3, x["unmatched_events"]
    assert [(e["clip"], e["clip_in"], e["clip_out"]) for e in x["rows"]] == events
