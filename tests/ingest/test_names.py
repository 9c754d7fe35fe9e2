"""Camera-roll clip names and slate-style scene/take names."""

from __future__ import annotations

import datetime as dt

import pytest

from rushes.ingest.names import (
    CameraRollName,
    parse_clip_name,
    parse_scene_take,
    strip_media_name,
)

# name -> (camera, roll, clip, date, suffix, vendor, segment, frame)
CLIP_NAMES: list[tuple[str, tuple[object, ...]]] = [
    # ARRI
    ("A001C003_230115_R1AB", ("A", 1, 3, "230115", "R1AB", "arri", None, None)),
    ("A001C003_230115_R1AB.mxf", ("A", 1, 3, "230115", "R1AB", "arri", None, None)),
    ("A001C003_230115_R1AB.mov", ("A", 1, 3, "230115", "R1AB", "arri", None, None)),
    ("B012C104_231231_R2EC.ari", ("B", 12, 104, "231231", "R2EC", "arri", None, None)),
    ("A001C003_230115_R1AB_0001.ari", ("A", 1, 3, "230115", "R1AB", "arri", None, 1)),
    ("A001C003_230115_R1AB.0001.ari", ("A", 1, 3, "230115", "R1AB", "arri", None, 1)),
    ("A001C003_230115_R1AB.%04d.ari", ("A", 1, 3, "230115", "R1AB", "arri", None, None)),
    ("A001C003_230115_R1AB.####.ari", ("A", 1, 3, "230115", "R1AB", "arri", None, None)),
    (
        "/mnt/day01/A001R1AB/A001C003_230115_R1AB.mxf",
        ("A", 1, 3, "230115", "R1AB", "arri", None, None),
    ),
    ("C:\\media\\A001C003_230115_R1AB.MXF", ("A", 1, 3, "230115", "R1AB", "arri", None, None)),
    ("a001c003_230115_r1ab.mov", ("A", 1, 3, "230115", "r1ab", "arri", None, None)),
    ("A001R1AB", ("A", 1, None, None, "R1AB", "arri", None, None)),
    # RED
    ("A001_C003_0115AB_001.R3D", ("A", 1, 3, "0115", "AB", "red", 1, None)),
    ("A001_C003_0115AB_002.R3D", ("A", 1, 3, "0115", "AB", "red", 2, None)),
    ("A001_C003_0115AB", ("A", 1, 3, "0115", "AB", "red", None, None)),
    ("A001_C003_0115AB.RDC", ("A", 1, 3, "0115", "AB", "red", None, None)),
    ("A001_0115AB", ("A", 1, None, "0115", "AB", "red", None, None)),
    # Sony Venice / FX
    ("A001C003_230115XY", ("A", 1, 3, "230115", "XY", "sony", None, None)),
    ("A001C003_230115XY.MXF", ("A", 1, 3, "230115", "XY", "sony", None, None)),
    ("A001C003_230115XYM01.XML", ("A", 1, 3, "230115", "XY", "sony", None, None)),
    ("A001C003_230115XYS03.MP4", ("A", 1, 3, "230115", "XY", "sony", None, None)),
    # Canon
    ("A001C003_230115AB_CANON.MXF", ("A", 1, 3, "230115", "AB", "canon", None, None)),
    # Blackmagic
    ("A001_01151230_C003", ("A", 1, 3, "01151230", None, "blackmagic", None, None)),
    ("A001_01151230_C003.braw", ("A", 1, 3, "01151230", None, "blackmagic", None, None)),
    ("A001_01151230_C003_000123.dng", ("A", 1, 3, "01151230", None, "blackmagic", None, 123)),
    # generic
    ("A001C003", ("A", 1, 3, None, None, None, None, None)),
    ("A001_C003.mov", ("A", 1, 3, None, None, None, None, None)),
    ("A001", ("A", 1, None, None, None, None, None, None)),
]


@pytest.mark.parametrize(("name", "expected"), CLIP_NAMES, ids=[n for n, _ in CLIP_NAMES])
def test_parse_clip_name(name: str, expected: tuple[object, ...]) -> None:
    parsed = parse_clip_name(name)
    assert parsed is not None
    got = (
        parsed.camera,
        parsed.roll,
        parsed.clip,
        parsed.date,
        parsed.suffix,
        parsed.vendor,
        parsed.segment,
        parsed.frame,
    )
    assert got == expected
    assert parsed.raw == name


@pytest.mark.parametrize(
    "name",
    [
        "clip_01.mov",
        "IMG_1234.MOV",
        "MVI_0042.MP4",
        "GH010123.MP4",
        "C0001.MP4",
        "A01C003_230115_R1AB.mxf",  # two-digit roll
        "AA001C003_230115_R1AB.mxf",  # two camera letters
        "A001C003_230115_R1A.mxf",  # three-character card id
        "A001C003_2301_R1AB.mxf",  # short date
        "A001C003_230115",  # date without id
        "12A_3.mov",
        "",
        "   ",
        "A001C003_230115_R1AB_extra_words.mov",
    ],
)
def test_parse_clip_name_negatives(name: str) -> None:
    assert parse_clip_name(name) is None


def test_parse_clip_name_non_text_is_none() -> None:
    assert parse_clip_name(None) is None  # type: ignore[arg-type]


def test_calendar_date() -> None:
    arri = parse_clip_name("A001C003_230115_R1AB.mxf")
    assert arri is not None and arri.calendar_date == dt.date(2023, 1, 15)
    sony = parse_clip_name("A001C003_231231XY.MXF")
    assert sony is not None and sony.calendar_date == dt.date(2023, 12, 31)
    impossible = parse_clip_name("A001C003_231345_R1AB")
    assert impossible is not None and impossible.date == "231345"
    assert impossible.calendar_date is None
    red = parse_clip_name("A001_C003_0115AB_001.R3D")
    assert red is not None and red.calendar_date is None  # MMDD: no year
    bmd = parse_clip_name("A001_01151230_C003.braw")
    assert bmd is not None and bmd.calendar_date is None
    generic = parse_clip_name("A001C003")
    assert generic is not None and generic.calendar_date is None


def test_reel_name_and_key() -> None:
    parsed = parse_clip_name("B012C104_231231_R2EC.mxf")
    assert parsed is not None
    assert parsed.reel_name == "B012"
    assert parsed.key == ("B", 12, 104)


def test_frozen() -> None:
    parsed = parse_clip_name("A001C003")
    assert parsed is not None
    with pytest.raises(AttributeError):
        parsed.clip = 4  # type: ignore[misc]


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("A001C003_230115_R1AB.mov", "A001C003", True),
        ("A001C003_230115_R1AB.mov", "A001C003_230115_R1AB.0042.ari", True),
        ("A001C003_230115_R1AB.mov", "a001c003_230115_r1ab", True),
        ("A001C003_230115_R1AB.mov", "A001C003_230116_R1AB", False),  # another day
        ("A001C003_230115_R1AB.mov", "A001C003_230115_R9ZZ", False),  # another camera
        ("A001C003_230115_R1AB.mov", "A001C004_230115_R1AB", False),
        ("A001C003_230115_R1AB.mov", "B001C003_230115_R1AB", False),
        ("A001C003_230115_R1AB.mov", "A002C003_230115_R1AB", False),
        ("A001_C003_0115AB_001.R3D", "A001_C003_0115AB_002.R3D", True),  # spans of one clip
        ("A001C003", "A001R1AB", False),  # a roll is not a clip
        ("A001C003_230115_R1AB", "A001_C003_0115AB", False),  # ARRI and RED
        ("A001C003_230115XY", "A001C003", True),
    ],
)
def test_same_clip(a: str, b: str, same: bool) -> None:
    first, second = parse_clip_name(a), parse_clip_name(b)
    assert first is not None and second is not None
    assert first.same_clip(second) is same
    assert second.same_clip(first) is same


def test_construct_with_contract_fields_only() -> None:
    name = CameraRollName("A", 1, 3, "230115", "R1AB", "A001C003_230115_R1AB")
    assert name.vendor is None and name.segment is None and name.frame is None


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("A001C003_230115_R1AB.mov", "A001C003_230115_R1AB"),
        ("/a/b/A001C003_230115_R1AB.%04d.ari", "A001C003_230115_R1AB"),
        ("shot.[1001-1100].exr", "shot"),
        ("shot.1001-1100#.exr", "shot"),
        ("shot_####.dpx", "shot"),
        ("shot.0001.exr", "shot.0001"),
        ("clip_01.mov", "clip_01"),
        ("noext", "noext"),
    ],
)
def test_strip_media_name(name: str, stem: str) -> None:
    assert strip_media_name(name) == stem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12A_3", ("12A", "3")),
        ("Sc12A Tk3", ("12A", "3")),
        ("SC12A_TK3", ("12A", "3")),
        ("Scene 12A Take 3", ("12A", "3")),
        ("sc. 12a tk. 03", ("12A", "3")),
        ("S12A-T3", ("12A", "3")),
        ("12A_T03", ("12A", "3")),
        ("12a-03", ("12A", "3")),
        ("012_A_003", ("12A", "3")),
        ("12-b-2", ("12B", "2")),
        ("Sc12A_3", ("12A", "3")),
        ("101_4", ("101", "4")),
        ("12AB_1", ("12AB", "1")),
        ("12A_3.mov", ("12A", "3")),
        ("  12A_3  ", ("12A", "3")),
    ],
)
def test_parse_scene_take(text: str, expected: tuple[str, str]) -> None:
    assert parse_scene_take(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "12A",  # no take
        "12_3_4",  # three numbers
        "12AT3",  # run together
        "12/3",  # UK scene/shot, not scene/take
        "A001C003_230115_R1AB",
        "clip_01",
        "2023_01_15",
        "230115_3",  # a date, not a scene
        "Tk3",
        "",
        "scene",
    ],
)
def test_parse_scene_take_ambiguous_is_none(text: str) -> None:
    assert parse_scene_take(text) == (None, None)


def test_parse_scene_take_non_text() -> None:
    assert parse_scene_take(None) == (None, None)  # type: ignore[arg-type]
