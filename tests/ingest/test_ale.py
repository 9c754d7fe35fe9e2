"""Avid ALE reading, writing and mapping to ClipMetadata."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rushes.errors import MetadataError
from rushes.ingest.ale import (
    AleFile,
    ClipMetadata,
    ale_clip_metadata,
    normalize_column_name,
    read_ale,
    write_ale,
)
from tests.ingest.conftest import write_encoded

# Shaped like an ALE from an ALEXA/Silverstack dailies pass: the standard Avid heading, a
# trailing tab after the column names and after each row, a blank line between sections.
DAY01 = (
    "Heading\n"
    "FIELD_DELIM\tTABS\n"
    "VIDEO_FORMAT\t1080\n"
    "AUDIO_FORMAT\t48khz\n"
    "FPS\t23.976\n"
    "\n"
    "Column\n"
    "Name\tTracks\tStart\tEnd\tTape\tSource File\tScene\tTake\tCircled\tCamera\tLens\tISO"
    "\tComments\t\n"
    "\n"
    "Data\n"
    "A001C003_230115_R1AB\tV\t10:21:33:12\t10:22:01:04\tA001R1AB\tA001C003_230115_R1AB.mxf"
    "\t12A\t3\t*\tA\t35mm\t800\tgood for performance\t\n"
    "A001C004_230115_R1AB\tV\t10:24:10:00\t10:24:52:18\tA001R1AB\tA001C004_230115_R1AB.mxf"
    "\t12A\t4\t\tA\t35mm\t800\tboom in top of frame\t\n"
    "B001C001_230115_R7QD\tV\t10:21:33:12\t10:22:01:04\tB001R7QD\tB001C001_230115_R7QD.mxf"
    "\t12A\t3\t*\tB\t85mm\t1280\t\t\n"
)


def test_read_real_world_ale(tmp_path: Path) -> None:
    ale = read_ale(write_encoded(tmp_path, DAY01, "day01.ale"))
    assert ale.heading == {
        "FIELD_DELIM": "TABS",
        "VIDEO_FORMAT": "1080",
        "AUDIO_FORMAT": "48khz",
        "FPS": "23.976",
    }
    assert ale.fps == "23.976"
    assert ale.columns[:3] == ["Name", "Tracks", "Start"]
    assert ale.columns[-1] == "Comments"  # trailing tab ignored
    assert len(ale.rows) == 3
    first = ale.rows[0]
    assert first["Name"] == "A001C003_230115_R1AB"
    assert first["Comments"] == "good for performance"
    assert ale.rows[2]["Comments"] == ""
    assert all(set(row) == set(ale.columns) for row in ale.rows)


@pytest.mark.parametrize(
    ("label", "transform", "encoding"),
    [
        ("crlf", lambda t: t.replace("\n", "\r\n"), "utf-8"),
        ("cr", lambda t: t.replace("\n", "\r"), "utf-8"),
        ("bom", lambda t: "\ufeff" + t, "utf-8"),
        ("bom_crlf", lambda t: "\ufeff" + t.replace("\n", "\r\n"), "utf-8"),
        ("utf16", lambda t: "\ufeff" + t.replace("\n", "\r\n"), "utf-16-le"),
        (
            "blank_lines",
            lambda t: "\n\n" + t.replace("\nData\n", "\n\n\nData\n\n") + "\n\n",
            "utf-8",
        ),
        ("spaces_around_keywords", lambda t: t.replace("Column\n", "  Column\t\n"), "utf-8"),
        (
            "lower_case_keywords",
            lambda t: t.replace("Heading", "heading").replace("Data", "DATA"),
            "utf-8",
        ),
    ],
)
def test_line_end_and_encoding_variants_read_the_same(
    tmp_path: Path, label: str, transform: object, encoding: str
) -> None:
    expected = read_ale(write_encoded(tmp_path, DAY01, "plain.ale"))
    assert callable(transform)
    variant = read_ale(write_encoded(tmp_path, transform(DAY01), f"{label}.ale", encoding))
    assert variant == expected


def test_windows_1252_text(tmp_path: Path) -> None:
    text = DAY01.replace("good for performance", "café scene, 50% ND")
    ale = read_ale(write_encoded(tmp_path, text, "day01.ale", encoding="cp1252"))
    assert ale.rows[0]["Comments"] == "café scene, 50% ND"


def test_short_rows_are_padded_and_trailing_tabs_dropped(tmp_path: Path) -> None:
    text = (
        "Heading\nFIELD_DELIM\tTABS\nFPS\t25\n\nColumn\nName\tScene\tTake\n\nData\n"
        "A001C001\t1\n"
        "A001C002\t1\t2\t\t\t\n"
    )
    ale = read_ale(write_encoded(tmp_path, text, "day01.ale"))
    assert ale.rows == [
        {"Name": "A001C001", "Scene": "1", "Take": ""},
        {"Name": "A001C002", "Scene": "1", "Take": "2"},
    ]


def test_no_data_section_is_an_empty_ale(tmp_path: Path) -> None:
    ale = read_ale(
        write_encoded(tmp_path, "Heading\nFIELD_DELIM\tTABS\n\nColumn\nName\tTape\n", "day01.ale")
    )
    assert ale.columns == ["Name", "Tape"]
    assert ale.rows == []


@pytest.mark.parametrize(
    ("label", "text", "needle"),
    [
        ("no_column", "Heading\nFIELD_DELIM\tTABS\nFPS\t25\n", "no Column section"),
        ("empty_column", "Heading\nFIELD_DELIM\tTABS\n\nColumn\n\nData\nA\tB\n", "no column names"),
        ("column_at_end", "Heading\nFIELD_DELIM\tTABS\n\nColumn\n\n", "no column names"),
        (
            "too_many_fields",
            "Heading\nFIELD_DELIM\tTABS\n\nColumn\nName\tTake\n\nData\nA001C001\t1\n"
            "A001C002\t2\tstray\n",
            "line 9: row has 3 fields",
        ),
        ("not_ale_csv", "Name,Scene,Take\nA001C001,1,1\n", "not an Avid ALE"),
        ("not_ale_text", "hello world\n", "not an Avid ALE"),
        ("empty", "", "is empty"),
        ("only_blank", "\n\n\r\n", "is empty"),
        ("data_before_column", "Heading\nFPS\t25\nData\nA\n", "before the Column section"),
        (
            "duplicate_column",
            "Heading\nFIELD_DELIM\tTABS\n\nColumn\nName\tTake\tName\n\nData\n",
            "appears twice",
        ),
        (
            "unnamed_column",
            "Heading\nFIELD_DELIM\tTABS\n\nColumn\nName\t\tTake\n\nData\n",
            "column 2 has no name",
        ),
        (
            "comma_delim",
            "Heading\nFIELD_DELIM\tCOMMAS\n\nColumn\nName\n\nData\n",
            "FIELD_DELIM is 'COMMAS'",
        ),
        (
            "second_column",
            "Heading\nFIELD_DELIM\tTABS\n\nColumn\nName\nColumn\nName\n\nData\n",
            "line 6",
        ),
    ],
)
def test_malformed_ale_raises_naming_the_file(
    tmp_path: Path, label: str, text: str, needle: str
) -> None:
    path = write_encoded(tmp_path, text, f"{label}.ale")
    with pytest.raises(MetadataError) as info:
        read_ale(path)
    message = str(info.value)
    assert str(path) in message
    assert needle in message


def test_binary_file_is_not_an_ale(tmp_path: Path) -> None:
    path = tmp_path / "A001C003.mxf"
    path.write_bytes(b"\x06\x0e\x2b\x34\x02\x05\x01\x01\x00\x00\x00\x00")
    with pytest.raises(MetadataError, match="binary") as info:
        read_ale(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.ale"
    with pytest.raises(MetadataError, match="does not exist") as info:
        read_ale(path)
    assert str(path) in str(info.value)


def test_round_trip(tmp_path: Path) -> None:
    original = read_ale(write_encoded(tmp_path, DAY01, "day01.ale"))
    out = tmp_path / "out" / "copy.ale"
    out.parent.mkdir()
    write_ale(out, original)
    again = read_ale(out)
    assert again == original
    assert again.heading == original.heading  # order kept too
    assert list(again.heading) == list(original.heading)
    assert again.columns == original.columns
    assert again.rows == original.rows


def test_round_trip_of_built_ale_with_spaces_and_unicode(tmp_path: Path) -> None:
    ale = AleFile(
        heading={"FIELD_DELIM": "TABS", "VIDEO_FORMAT": "1080", "FPS": "25"},
        columns=["Name", "Comments", "Take"],
        rows=[
            {"Name": "A001C001", "Comments": "  leading spaces kept", "Take": "1"},
            {"Name": "A001C002", "Comments": "naïve — “quotes”", "Take": ""},
            {"Name": "A001C003", "Comments": "", "Take": "3"},
        ],
    )
    path = tmp_path / "built.ale"
    write_ale(path, ale)
    assert read_ale(path) == ale


def test_written_file_is_avid_shaped(tmp_path: Path) -> None:
    ale = AleFile(heading={"FPS": "25"}, columns=["Name", "Take"], rows=[{"Name": "A001C001"}])
    path = tmp_path / "shape.ale"
    write_ale(path, ale)
    data = path.read_bytes()
    assert data.startswith(b"Heading\r\nFIELD_DELIM\tTABS\r\nFPS\t25\r\n\r\nColumn\r\n")
    assert b"\r\nData\r\nA001C001\t\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert read_ale(path).heading == {"FIELD_DELIM": "TABS", "FPS": "25"}


def test_write_replaces_atomically_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "day.ale"
    path.write_text("old")
    ale = AleFile(heading={"FIELD_DELIM": "TABS"}, columns=["Name"], rows=[{"Name": "A"}])
    write_ale(path, ale)
    assert read_ale(path) == ale
    assert sorted(p.name for p in tmp_path.iterdir()) == ["day.ale"]


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "day.ale"
    path.write_text("old")

    def boom(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    ale = AleFile(heading={}, columns=["Name"], rows=[{"Name": "A"}])
    with pytest.raises(MetadataError, match="No space left") as info:
        write_ale(path, ale)
    assert str(path) in str(info.value)
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["day.ale"]


@pytest.mark.parametrize(
    ("ale", "needle"),
    [
        (AleFile({}, ["Name"], [{"Name": "a\tb"}]), "tab or line break"),
        (AleFile({}, ["Name"], [{"Name": "a\nb"}]), "tab or line break"),
        (AleFile({"FPS": "2\t5"}, ["Name"], []), "tab or line break"),
        (AleFile({}, ["Name"], [{"Name": "A", "Take": "1"}]), "not columns"),
        (AleFile({}, [], []), "no columns"),
        (AleFile({}, ["Name", "Name"], []), "twice"),
        (AleFile({}, ["Name"], [{"Name": 3}]), "must be text"),  # type: ignore[dict-item]
    ],
)
def test_write_refuses_what_would_break_the_ale(tmp_path: Path, ale: AleFile, needle: str) -> None:
    path = tmp_path / "bad.ale"
    with pytest.raises(MetadataError, match=needle):
        write_ale(path, ale)
    assert not path.exists()


def test_clip_metadata_mapping(tmp_path: Path) -> None:
    records = ale_clip_metadata(read_ale(write_encoded(tmp_path, DAY01, "day01.ale")))
    assert len(records) == 3
    first = records[0]
    assert first == ClipMetadata(
        clip_name="A001C003_230115_R1AB",
        source_file="A001C003_230115_R1AB.mxf",
        scene="12A",
        take="3",
        camera="A",
        reel="A001R1AB",
        start_tc="10:21:33:12",
        end_tc="10:22:01:04",
        fps=24000 / 1001,
        extra={
            "Tracks": "V",
            "Circled": "*",
            "Lens": "35mm",
            "ISO": "800",
            "Comments": "good for performance",
        },
    )
    assert records[2].camera == "B"
    assert records[2].extra["Comments"] == ""


def test_clip_metadata_synonyms_case_insensitive() -> None:
    ale = AleFile(
        heading={"fps": "25"},
        columns=["CLIP_NAME", "source_path", "SC", "tk", "Cam", "Reel_Name", "TC In", "TC Out"],
        rows=[
            {
                "CLIP_NAME": " A001C001 ",
                "source_path": "/media/A001C001.mov",
                "SC": "4",
                "tk": "2",
                "Cam": "A",
                "Reel_Name": "A001",
                "TC In": "01:00:00:00",
                "TC Out": "01:00:10:00",
            }
        ],
    )
    (record,) = ale_clip_metadata(ale)
    assert record.clip_name == "A001C001"
    assert record.source_file == "/media/A001C001.mov"
    assert (record.scene, record.take, record.camera, record.reel) == ("4", "2", "A", "A001")
    assert (record.start_tc, record.end_tc, record.fps) == ("01:00:00:00", "01:00:10:00", 25.0)
    assert record.extra == {}


def test_clip_name_fallbacks() -> None:
    ale = AleFile(
        heading={"FPS": "29.97"},
        columns=["Name", "Source File", "Tape", "FPS"],
        rows=[
            {"Name": "", "Source File": "A001C001_230115_R1AB.mxf", "Tape": "A001", "FPS": ""},
            {"Name": "", "Source File": "", "Tape": "TAPE_07", "FPS": "59.94"},
            {"Name": "", "Source File": "", "Tape": "", "FPS": ""},  # nothing: skipped
        ],
    )
    first, second = ale_clip_metadata(ale)
    assert first.clip_name == "A001C001_230115_R1AB"
    assert first.camera == "A"  # parsed from the name
    assert first.fps == 30000 / 1001
    assert first.extra == {}  # Name is the clip-name column even where empty
    assert second.clip_name == "TAPE_07"
    assert second.camera is None
    assert second.fps == 60000 / 1001  # the row's own FPS wins


def test_tape_only_ale() -> None:
    ale = AleFile(heading={}, columns=["Tape", "Start"], rows=[{"Tape": "001", "Start": ""}])
    (record,) = ale_clip_metadata(ale)
    assert (record.clip_name, record.reel, record.fps) == ("001", "001", None)


def test_clip_metadata_without_name_column_raises(tmp_path: Path) -> None:
    path = write_encoded(
        tmp_path, "Heading\nFIELD_DELIM\tTABS\n\nColumn\nScene\tTake\n\nData\n1\t1\n", "day01.ale"
    )
    with pytest.raises(MetadataError) as info:
        ale_clip_metadata(read_ale(path))
    message = str(info.value)
    assert str(path) in message
    assert "['Scene', 'Take']" in message
    assert "'name'" in message


def test_bad_fps_raises(tmp_path: Path) -> None:
    path = write_encoded(tmp_path, DAY01.replace("FPS\t23.976", "FPS\tfast"), "day01.ale")
    with pytest.raises(MetadataError, match="heading FPS") as info:
        ale_clip_metadata(read_ale(path))
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("given", "normal"),
    [("Reel_Name", "reel name"), ("Tk#", "tk"), ("Sc.", "sc"), ("  TC  In ", "tc in")],
)
def test_normalize_column_name(given: str, normal: str) -> None:
    assert normalize_column_name(given) == normal
