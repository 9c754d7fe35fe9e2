"""Timecode helpers: parsing, formatting, validation, rates, ranges."""

from __future__ import annotations

import numpy as np
import pytest
from opentimelineio import opentime

from rushes.errors import MetadataError, RushesError
from rushes.media.timecode import (
    format_timecode,
    frames_per_day,
    frames_to_timecode,
    is_drop_frame_rate,
    is_drop_frame_timecode,
    is_valid_timecode,
    normalize_rate,
    parse_timecode,
    timecode_range,
    timecode_to_frames,
    validate_timecode,
)

# (rate, drop frame, frame number of 01:00:00:00 / 01:00:00;00)
RATES = [
    (23.976, False, 86400),
    (24, False, 86400),
    (25, False, 90000),
    (29.97, True, 107892),
    (29.97, False, 108000),
    (30, False, 108000),
    (50, False, 180000),
    (59.94, True, 215784),
    (59.94, False, 216000),
]


@pytest.mark.parametrize(("fps", "drop", "one_hour"), RATES)
def test_one_hour_golden(fps: float, drop: bool, one_hour: int) -> None:
    text = "01:00:00;00" if drop else "01:00:00:00"
    assert timecode_to_frames(text, fps) == one_hour
    assert frames_to_timecode(one_hour, fps, drop_frame=drop) == text


@pytest.mark.parametrize(("fps", "drop", "one_hour"), RATES)
def test_round_trip_every_frame_sampled(fps: float, drop: bool, one_hour: int) -> None:
    day = frames_per_day(fps, drop_frame=drop)
    assert day == one_hour * 24
    frames = list(range(0, 4000)) + list(range(day - 3000, day)) + list(range(0, day, 9973))
    for frame in frames:
        text = frames_to_timecode(frame, fps, drop_frame=drop)
        assert timecode_to_frames(text, fps) == frame, text
        assert is_drop_frame_timecode(text) is drop


def test_parse_returns_exact_ntsc_rational_time() -> None:
    time = parse_timecode("01:00:00;00", 29.97)
    assert isinstance(time, opentime.RationalTime)
    assert time.rate == pytest.approx(30000 / 1001, abs=0)
    assert time.value == 107892
    assert parse_timecode("00:00:01:00", "23.976").rate == 24000 / 1001


@pytest.mark.parametrize(
    ("text", "fps", "frames"),
    [
        ("00:01:00;02", 29.97, 1800),  # first label of minute 1 in DF
        ("00:10:00;00", 29.97, 17982),  # minutes divisible by ten keep ;00
        ("00:00:59;29", 29.97, 1799),
        ("00:01:00;04", 59.94, 3600),
        ("10:00:00:00", 24, 864000),
        ("23:59:59:24", 25, 2159999),
        ("1:00:00:00", 25, 90000),  # one-digit hours
        ("01;00;00;00", 29.97, 107892),  # all semicolons: drop-frame
        ("01:00:00.00", 29.97, 107892),  # '.' before frames: drop-frame
        ("01:00:00,00", 29.97, 107892),
        ("01.00.00.00", 25, 90000),  # all dots: non-drop
        (" 01:00:00:00 ", 25, 90000),
    ],
)
def test_parse_golden(text: str, fps: float, frames: int) -> None:
    assert timecode_to_frames(text, fps) == frames


def test_bad_frame_for_rate_has_clear_message() -> None:
    with pytest.raises(MetadataError) as info:
        parse_timecode("01:00:00:30", 25)
    message = str(info.value)
    assert "'01:00:00:30'" in message
    assert "frame 30" in message
    assert "25 fps" in message
    assert "00-24" in message


@pytest.mark.parametrize(
    ("text", "fps", "needle"),
    [
        ("01:00:00:24", 23.976, "00-23"),
        ("01:00:60:00", 25, "second 60"),
        ("01:60:00:00", 25, "minute 60"),
        ("24:00:00:00", 25, "hour 24"),
        ("01:00:00;00", 25, "drop-frame"),
        ("01:00:00;00", 23.976, "drop-frame"),
        ("00:01:00;00", 29.97, "does not exist"),
        ("00:01:00;01", 29.97, "00:01:00;02"),
        ("00:01:00;03", 59.94, "00:01:00;04"),
        ("01:00:00", 25, "HH:MM:SS:FF"),
        ("01:00:00:00:00", 25, "HH:MM:SS:FF"),
        ("1h00m", 25, "HH:MM:SS:FF"),
        ("", 25, "HH:MM:SS:FF"),
        ("01:00:00:00", 12, "not defined at 12 fps"),
        ("01:00:00:00", 0, "positive"),
        ("01:00:00:00", -25, "positive"),
        ("01:00:00:00", float("nan"), "finite"),
        ("01:00:00:00", "fast", "not a number"),
    ],
)
def test_bad_timecode_raises(text: str, fps: float, needle: str) -> None:
    with pytest.raises(MetadataError, match=needle):
        parse_timecode(text, fps)
    assert not is_valid_timecode(text, fps)


def test_errors_are_rushes_errors() -> None:
    with pytest.raises(RushesError):
        timecode_to_frames("nope", 25)


def test_non_text_timecode_raises() -> None:
    with pytest.raises(MetadataError, match="text"):
        parse_timecode(3600, 25)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (23.976, 24000 / 1001),
        (23.98, 24000 / 1001),
        ("23.976", 24000 / 1001),
        ("23.976 fps", 24000 / 1001),
        ("23,976", 24000 / 1001),  # decimal comma from a European spreadsheet
        ("24000/1001", 24000 / 1001),
        (29.97, 30000 / 1001),
        ("29.97DF", 30000 / 1001),
        (47.952, 48000 / 1001),
        (59.94, 60000 / 1001),
        (25, 25.0),
        ("25p", 25.0),
        ("24.00", 24.0),
        (12.5, 12.5),
    ],
)
def test_normalize_rate(given: float | str, expected: float) -> None:
    assert normalize_rate(given) == expected


@pytest.mark.parametrize("bad", ["", "abc", "1/0", 0, -1, float("inf"), None, True])
def test_normalize_rate_rejects(bad: object) -> None:
    with pytest.raises(MetadataError):
        normalize_rate(bad)  # type: ignore[arg-type]


def test_drop_frame_rates() -> None:
    assert is_drop_frame_rate(29.97) and is_drop_frame_rate("59.94")
    assert not any(is_drop_frame_rate(r) for r in (23.976, 24, 25, 30, 50, 60))


def test_frames_to_timecode_refuses_drop_frame_at_other_rates() -> None:
    with pytest.raises(MetadataError, match=r"29\.97 and 59\.94"):
        frames_to_timecode(100, 25, drop_frame=True)


def test_frames_to_timecode_range_and_wrap() -> None:
    with pytest.raises(MetadataError, match="negative"):
        frames_to_timecode(-1, 25)
    with pytest.raises(MetadataError, match="24 hours"):
        frames_to_timecode(2160000, 25)
    assert frames_to_timecode(-1, 25, wrap=True) == "23:59:59:24"
    assert frames_to_timecode(2160000 + 25, 25, wrap=True) == "00:00:01:00"
    day_df = frames_per_day(29.97, drop_frame=True)
    assert frames_to_timecode(day_df - 1, 29.97, drop_frame=True) == "23:59:59;29"


def test_frames_to_timecode_accepts_integral_numbers_only() -> None:
    assert frames_to_timecode(np.int64(90000), 25) == "01:00:00:00"  # type: ignore[arg-type]
    assert frames_to_timecode(90000.0, 25) == "01:00:00:00"  # type: ignore[arg-type]
    for bad in (1.5, True, "90000", None):
        with pytest.raises(MetadataError, match="whole number"):
            frames_to_timecode(bad, 25)  # type: ignore[arg-type]


def test_format_timecode_rescales_and_refuses_half_frames() -> None:
    assert format_timecode(opentime.RationalTime(90000, 25)) == "01:00:00:00"
    assert format_timecode(opentime.RationalTime(48, 48), 24) == "00:00:01:00"
    assert (
        format_timecode(opentime.RationalTime(107892, 30000 / 1001), drop_frame=True)
        == "01:00:00;00"
    )
    with pytest.raises(MetadataError, match="between frames"):
        format_timecode(opentime.RationalTime(1, 48), 24)


def test_validate_timecode_canonicalises() -> None:
    assert validate_timecode("1:00:00:00", 25) == "01:00:00:00"
    assert validate_timecode("01;00;00;00", 29.97) == "01:00:00;00"
    assert validate_timecode("01:00:00.00", 59.94) == "01:00:00;00"
    with pytest.raises(MetadataError):
        validate_timecode("01:00:00:25", 25)


def test_timecode_range() -> None:
    span = timecode_range("10:00:00:00", "10:00:10:00", 25)
    assert span.start_time == opentime.RationalTime(900000, 25)
    assert span.duration == opentime.RationalTime(250, 25)
    inclusive = timecode_range("10:00:00:00", "10:00:09:24", 25, end_inclusive=True)
    assert inclusive.duration.value == 250
    midnight = timecode_range("23:59:59:00", "00:00:01:00", 25)
    assert midnight.duration.value == 50
    ntsc = timecode_range("01:00:00;00", "01:00:01;00", 29.97)
    assert ntsc.duration.value == 30
    assert ntsc.start_time.rate == 30000 / 1001
    with pytest.raises(MetadataError, match="empty"):
        timecode_range("10:00:00:00", "10:00:00:00", 25)
