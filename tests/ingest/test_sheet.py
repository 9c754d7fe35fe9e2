"""CSV camera/script sheets and matching media to metadata records."""

from __future__ import annotations

from pathlib import Path

import pytest

from rushes.errors import MetadataError
from rushes.ingest.ale import ClipMetadata
from rushes.ingest.sheet import match_metadata, read_sheet
from tests.ingest.conftest import write_encoded

CAMERA_REPORT = (
    "Clip Name,Scene,Take,Cam,Roll,TC In,TC Out,FPS,Lens,Notes\n"
    'A001C003_230115_R1AB,12A,3,A,A001,10:21:33:12,10:22:01:04,23.976,35mm,"circled, best"\n'
    "A001C004_230115_R1AB,12A,4,A,A001,10:24:10:00,10:24:52:18,23.976,35mm,\n"
    "B001C001_230115_R7QD,12A,3,B,B001,10:21:33:12,10:22:01:04,23.976,85mm,\n"
)


def test_read_comma_sheet(tmp_path: Path) -> None:
    records = read_sheet(write_encoded(tmp_path, CAMERA_REPORT, "sheet.csv"))
    assert [r.clip_name for r in records] == [
        "A001C003_230115_R1AB",
        "A001C004_230115_R1AB",
        "B001C001_230115_R7QD",
    ]
    first = records[0]
    assert first == ClipMetadata(
        clip_name="A001C003_230115_R1AB",
        scene="12A",
        take="3",
        camera="A",
        reel="A001",
        start_tc="10:21:33:12",
        end_tc="10:22:01:04",
        fps=24000 / 1001,
        extra={"Lens": "35mm", "Notes": "circled, best"},
    )
    assert records[1].extra["Notes"] == ""


def test_semicolon_sheet_with_bom_crlf_and_decimal_comma(tmp_path: Path) -> None:
    text = (
        "\ufeffClip;Sc;Tk;Camera;Reel;Start TC;Frame Rate;Commentaire;;\r\n"
        "A001C003_230115_R1AB;12A;3;A;A001;10:21:33:12;23,976;très bien;;\r\n"
        'A001C004_230115_R1AB;12A;4;A;A001;10:24:10:00;23,976;"a; b";;\r\n'
    )
    records = read_sheet(write_encoded(tmp_path, text, "sheet.csv"))
    assert len(records) == 2
    first = records[0]
    assert (first.clip_name, first.scene, first.take, first.camera, first.reel) == (
        "A001C003_230115_R1AB",
        "12A",
        "3",
        "A",
        "A001",
    )
    assert first.start_tc == "10:21:33:12"
    assert first.fps == 24000 / 1001
    assert first.extra == {"Commentaire": "très bien"}  # trailing ;; dropped
    assert records[1].extra == {"Commentaire": "a; b"}


def test_tab_sheet_cp1252_with_title_rows(tmp_path: Path) -> None:
    text = (
        "Camera report — Day 01\t\t\n"
        "Production: Café Society\t\t\n"
        "\n"
        "File Name\tScene\tTake\tDescription\n"
        "A001C003_230115_R1AB.mxf\t12A\t3\tdolly in, café\n"
    )
    (record,) = read_sheet(write_encoded(tmp_path, text, "sheet.csv", encoding="cp1252"))
    assert record.clip_name == "A001C003_230115_R1AB"
    assert record.source_file == "A001C003_230115_R1AB.mxf"
    assert record.camera == "A"  # parsed from the name
    assert record.extra == {"Description": "dolly in, café"}


def test_script_supervisor_sheet_with_short_names(tmp_path: Path) -> None:
    text = (
        "Slate,Sc,Tk,Camera Roll,Clip,Circled,Comments\n"
        "12A/1,12A,1,A001,C003,,\n"
        "12A/1,12A,2,A001,C004,Y,boom dip\n"
        ",,,,,,lunch\n"
        "\n"
        "12A/2,12A,1,B001,C001,Y,\n"
    )
    records = read_sheet(write_encoded(tmp_path, text, "sheet.csv"))
    assert [(r.clip_name, r.reel, r.camera) for r in records] == [
        ("C003", "A001", "A"),
        ("C004", "A001", "A"),
        ("C001", "B001", "B"),
    ]
    assert records[1].extra == {"Slate": "12A/1", "Circled": "Y", "Comments": "boom dip"}


def test_duplicate_and_unnamed_headers(tmp_path: Path) -> None:
    text = "Name,Notes,Notes,,Take\nA001C001,one,two,three,1\n"
    (record,) = read_sheet(write_encoded(tmp_path, text, "sheet.csv"))
    assert record.extra == {"Notes": "one", "Notes (2)": "two", "column 4": "three"}
    assert record.take == "1"


def test_no_clip_column_says_what_it_found(tmp_path: Path) -> None:
    path = write_encoded(tmp_path, "Scene;Take;Lens\n12A;3;35mm\n", "sheet.csv")
    with pytest.raises(MetadataError) as info:
        read_sheet(path)
    message = str(info.value)
    assert str(path) in message
    assert "['Scene', 'Take', 'Lens']" in message
    for accepted in ("'clip'", "'clip name'", "'name'", "'file'", "'filename'"):
        assert accepted in message


def test_too_many_values_names_the_line(tmp_path: Path) -> None:
    path = write_encoded(tmp_path, "Clip,Take\nA001C001,1\nA001C002,2,stray\n", "sheet.csv")
    with pytest.raises(MetadataError, match="line 3") as info:
        read_sheet(path)
    assert str(path) in str(info.value)


def test_bad_fps_names_the_line(tmp_path: Path) -> None:
    path = write_encoded(tmp_path, "Clip,FPS\nA001C001,24\nA001C002,fast\n", "sheet.csv")
    with pytest.raises(MetadataError, match="line 3") as info:
        read_sheet(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("text", ["", "\n\n", ",,,\n"])
def test_empty_sheet(tmp_path: Path, text: str) -> None:
    path = write_encoded(tmp_path, text, "sheet.csv")
    with pytest.raises(MetadataError, match="empty") as info:
        read_sheet(path)
    assert str(path) in str(info.value)


def test_missing_sheet(tmp_path: Path) -> None:
    with pytest.raises(MetadataError, match="does not exist"):
        read_sheet(tmp_path / "nope.csv")


# --- match_metadata -------------------------------------------------------------------------

ARRI = ClipMetadata("A001C003_230115_R1AB", reel="A001R1AB", scene="12A", take="3")
ARRI_NEXT = ClipMetadata("A001C004_230115_R1AB", reel="A001R1AB", scene="12A", take="4")
SHORT = ClipMetadata("A001C007", scene="14", take="1")
ROLL_AND_CLIP = ClipMetadata("C009", reel="A001", scene="15", take="2")
RED = ClipMetadata("A002_C003_0115AB", scene="20", take="1")
BY_FILE = ClipMetadata("day1_take", source_file="/media/B002C010_230115_R7QD.mxf")
PLAIN = ClipMetadata("clip_01", reel="A001")
RECORDS = [ARRI, ARRI_NEXT, SHORT, ROLL_AND_CLIP, RED, BY_FILE, PLAIN]


@pytest.mark.parametrize(
    ("media", "reel", "expected"),
    [
        ("A001C003_230115_R1AB.mov", None, ARRI),  # exact stem
        ("a001c003_230115_r1ab.MXF", None, ARRI),  # case-insensitive
        ("/mnt/A001R1AB/A001C003_230115_R1AB.mxf", None, ARRI),
        ("A001C003_230115_R1AB.%04d.ari", None, ARRI),  # sequence name
        ("A001C003_230115_R1AB.0001.ari", None, ARRI),  # one frame: by camera-roll name
        ("A001C003_230115_R1AB_0001.ari", None, ARRI),
        ("A001C003.mov", None, ARRI),  # short media name, full record
        ("A001C004_230115_R1AB.mov", "A001R1AB", ARRI_NEXT),
        ("A001C004_230115_R1AB.mov", "A001", ARRI_NEXT),  # same camera and roll
        ("A001C007_230115_R1AB.mxf", None, SHORT),  # short record name
        ("A001C009_230115_R1AB.mxf", None, ROLL_AND_CLIP),  # record = reel + clip
        ("C009.mov", "A001", ROLL_AND_CLIP),  # media = reel + clip
        ("A002_C003_0115AB_001.R3D", None, RED),  # RED spans
        ("A002_C003_0115AB_002.R3D", None, RED),
        ("B002C010_230115_R7QD.mxf", None, BY_FILE),  # by source file
        ("clip_01.mov", None, PLAIN),
        ("clip_01.mov", "a001", PLAIN),
    ],
)
def test_match_metadata(media: str, reel: str | None, expected: ClipMetadata) -> None:
    assert match_metadata(RECORDS, media, reel) is expected


@pytest.mark.parametrize(
    ("media", "reel"),
    [
        ("A001C005_230115_R1AB.mov", None),  # no such clip
        ("A001C003_230116_R1AB.mov", None),  # another day's A001C003
        ("A001C003_230115_R9ZZ.mov", None),  # another camera's card id
        ("B001C003_230115_R1AB.mov", None),  # another camera
        ("A001C003_230115_R1AB_graded.mov", None),  # never fuzzy
        ("A001C003_230115_R1A.mov", None),
        ("clip_1.mov", None),
        ("clip_01.mov", "B001"),  # reel disagrees
        ("A001C003_230115_R1AB.mov", "B001"),  # reel disagrees with the name
        ("C010.mov", "A001"),  # no clip 10 on A001
        ("A001C009.mov", "B001"),  # reel disagrees
        ("C009.mov", "B001"),
        ("", None),
    ],
)
def test_match_metadata_no_match(media: str, reel: str | None) -> None:
    assert match_metadata(RECORDS, media, reel) is None


def test_match_metadata_empty_records() -> None:
    assert match_metadata([], "A001C003_230115_R1AB.mov") is None


def test_identical_duplicates_are_one_match() -> None:
    copy = ClipMetadata("A001C003_230115_R1AB", reel="A001R1AB", scene="12A", take="3")
    assert match_metadata([ARRI, copy], "A001C003_230115_R1AB.mov") == ARRI


def test_reel_tells_same_names_apart() -> None:
    a = ClipMetadata("clip_01", reel="A001", take="1")
    b = ClipMetadata("clip_01", reel="B001", take="2")
    assert match_metadata([a, b], "clip_01.mov", "B001") is b
    with pytest.raises(MetadataError, match="matches 2 different metadata records"):
        match_metadata([a, b], "clip_01.mov")


def test_ambiguous_camera_roll_match_raises() -> None:
    day1 = ClipMetadata("A001C003_230115_R1AB", take="1")
    day2 = ClipMetadata("A001C003_230116_R1AB", take="2")
    assert match_metadata([day1, day2], "A001C003_230116_R1AB.mov") is day2
    with pytest.raises(MetadataError, match=r"A001C003\.mov"):
        match_metadata([day1, day2], "A001C003.mov")


def test_exact_match_wins_over_camera_roll_match() -> None:
    short = ClipMetadata("A001C003", take="1")
    full = ClipMetadata("A001C003_230115_R1AB", take="2")
    assert match_metadata([short, full], "A001C003_230115_R1AB.mov") is full
    assert match_metadata([short, full], "A001C003.mov") is short


def test_match_records_read_from_a_sheet(tmp_path: Path) -> None:
    records = read_sheet(write_encoded(tmp_path, CAMERA_REPORT, "sheet.csv"))
    found = match_metadata(records, "/media/day01/B001C001_230115_R7QD.mov", "B001")
    assert found is not None and found.camera == "B" and found.extra["Lens"] == "85mm"
