"""SMPTE timecode on top of OpenTimelineIO's ``opentime``.

Source timecode travels from ingest (ALE, CSV sheets, the media's own tags) to export, so it
is parsed strictly here, once, and every mistake is reported with the value received and what
to do. Parsing and drop-frame arithmetic are OpenTimelineIO's; this module adds the checks
OTIO does not make (seconds and minutes over 59, hours over 23, drop-frame labels that do
not exist, rates given as ``23.976`` rather than ``24000/1001``), counts non-drop output
itself (OTIO 0.18 wraps NTSC non-drop at 24 hours of real time) and offers a small API:

* :func:`normalize_rate` snaps ``23.976``/``23.98``/``29.97``/``59.94``... to the exact
  NTSC rates (``24000/1001`` ...) that OTIO needs.
* :func:`parse_timecode` / :func:`timecode_to_frames` read ``HH:MM:SS:FF`` (non-drop) and
  ``HH:MM:SS;FF`` (drop-frame; ``,`` and ``.`` are accepted before the frames too).
* :func:`frames_to_timecode` / :func:`format_timecode` write them back.
* :func:`timecode_range` turns an ALE-style start/end pair into an OTIO ``TimeRange``.

A frame number here counts frames from ``00:00:00:00`` at the given rate; for drop-frame
timecode it is the real frame count (``01:00:00;00`` at 29.97 is frame 107892).

Example:
    >>> timecode_to_frames("01:00:00:00", 25)
    90000
    >>> frames_to_timecode(107892, 29.97, drop_frame=True)
    '01:00:00;00'
"""

from __future__ import annotations

import contextlib
import math
import operator
import re
from fractions import Fraction
from typing import Final

from opentimelineio import opentime

from rushes.errors import MetadataError

__all__ = [
    "SUPPORTED_RATES",
    "format_timecode",
    "frames_per_day",
    "frames_to_timecode",
    "is_drop_frame_rate",
    "is_drop_frame_timecode",
    "is_valid_timecode",
    "normalize_rate",
    "parse_timecode",
    "timecode_range",
    "timecode_to_frames",
    "validate_timecode",
]

Rate = float | str
"""A frame rate: a number (``25``, ``23.976``, ``24000/1001``) or its text (``"29.97"``)."""

SUPPORTED_RATES: Final[tuple[float, ...]] = (
    24000 / 1001,
    24.0,
    25.0,
    30000 / 1001,
    30.0,
    48000 / 1001,
    48.0,
    50.0,
    60000 / 1001,
    60.0,
)
"""Rates SMPTE timecode (and OTIO) supports, NTSC rates as exact fractions."""

_SUPPORTED_TEXT: Final = "23.976, 24, 25, 29.97, 30, 47.952, 48, 50, 59.94, 60"

# How close a rate must be to n*1000/1001 to be read as that NTSC rate (23.98 -> 23.976...).
_NTSC_TOLERANCE: Final = 0.006
_RATE_TEXT = re.compile(
    r"^\s*(?P<num>\d+(?:[.,]\d*)?|[.,]\d+)(?:\s*/\s*(?P<den>\d+(?:[.,]\d*)?))?"
    r"\s*(?:fps|p)?\s*(?:n?df)?\s*$",
    re.IGNORECASE,
)
_TIMECODE = re.compile(
    r"^\s*(?P<h>\d{1,2})(?P<s1>[:;.])(?P<m>\d{2})(?P<s2>[:;.])(?P<s>\d{2})"
    r"(?P<s3>[:;.,])(?P<f>\d{2})\s*$"
)


def normalize_rate(fps: Rate) -> float:
    """Return ``fps`` as a float, snapping NTSC rates to their exact ``n*1000/1001`` value.

    ``23.976``, ``23.98`` and ``"23.976 fps"`` all become ``24000/1001``; ``25`` stays
    ``25.0``. Text may use a decimal comma (``"23,976"``, from European spreadsheets) and
    carry an ``fps``/``p`` unit and a ``DF``/``NDF`` tag (ignored here: whether a timecode is
    drop-frame is read from the timecode itself).

    Args:
        fps: frames per second, as a number or text (``"29.97"``, ``"30000/1001"``).

    Returns:
        The rate as a float; an exact NTSC fraction when within 0.006 of one.

    Raises:
        MetadataError: ``fps`` is not a positive, finite number.
    """
    value: float
    if isinstance(fps, str):
        match = _RATE_TEXT.match(fps)
        if match is None:
            raise MetadataError(
                f"frame rate {fps!r} is not a number; give one such as 24, 25 or 23.976"
            )
        value = float(match["num"].replace(",", "."))
        if match["den"] is not None:
            den = float(match["den"].replace(",", "."))
            if den == 0:
                raise MetadataError(f"frame rate {fps!r} divides by zero; give e.g. 24000/1001")
            value /= den
    elif isinstance(fps, bool) or not isinstance(fps, int | float):
        raise MetadataError(
            f"frame rate must be a number, got {type(fps).__name__} {fps!r}; give e.g. 25"
        )
    else:
        value = float(fps)
    if not math.isfinite(value) or value <= 0:
        raise MetadataError(f"frame rate must be positive and finite, got {fps!r}")
    nominal = round(value)
    if abs(value - nominal) < 1e-9:
        return float(nominal)
    ntsc_base = round(value * 1.001)
    ntsc = ntsc_base * 1000 / 1001
    if ntsc_base > 0 and abs(value - ntsc) <= _NTSC_TOLERANCE:
        return ntsc
    return value


def _timecode_rate(fps: Rate) -> float:
    """Normalise ``fps`` and check SMPTE timecode exists at that rate."""
    rate = normalize_rate(fps)
    if not opentime.RationalTime.is_valid_timecode_rate(rate):
        raise MetadataError(
            f"timecode is not defined at {_show_rate(fps)} fps; use one of {_SUPPORTED_TEXT}"
        )
    return rate


def show_rate(fps: float | Fraction | str) -> str:
    """A rate as people write it: ``23.976``, ``25``, ``29.97`` (text as ``"30000/1001"``)."""
    value = float(Fraction(fps)) if isinstance(fps, str) else float(fps)
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _show_rate(fps: Rate) -> str:
    """A rate given by a user as people write it; what does not parse is shown as given."""
    try:
        return show_rate(normalize_rate(fps))
    except MetadataError:
        return repr(fps)


def _nominal(rate: float) -> int:
    """Frames counted per timecode second (24 for 23.976, 30 for 29.97)."""
    return round(rate)


def _dropped_per_minute(rate: float) -> int:
    """Frame labels skipped at each minute boundary in drop-frame timecode (2 or 4)."""
    return 2 * _nominal(rate) // 30


def is_drop_frame_rate(fps: Rate) -> bool:
    """Whether drop-frame timecode exists at ``fps`` (29.97 and 59.94 only).

    Args:
        fps: frames per second.

    Returns:
        True for 30000/1001 and 60000/1001 (and texts that normalise to them).

    Raises:
        MetadataError: ``fps`` is not a positive number.
    """
    rate = normalize_rate(fps)
    return rate in (30000 / 1001, 60000 / 1001)


def is_drop_frame_timecode(text: str) -> bool:
    """Whether ``text`` is written as drop-frame (``;``, ``,`` or ``.`` before the frames).

    An all-semicolon timecode (``01;00;00;00``) is drop-frame; an all-dot one
    (``01.00.00.00``) is not.

    Args:
        text: a timecode such as ``"01:00:00;00"``.

    Returns:
        True if the separator before the frames marks drop-frame.

    Raises:
        MetadataError: ``text`` is not shaped like a timecode.
    """
    match = _match(text)
    return _is_df_match(match)


def _match(text: str) -> re.Match[str]:
    if not isinstance(text, str):
        raise MetadataError(
            f"timecode must be text such as '01:00:00:00', got {type(text).__name__} {text!r}"
        )
    match = _TIMECODE.match(text)
    if match is None:
        raise MetadataError(
            f"timecode {text!r} is not HH:MM:SS:FF (or HH:MM:SS;FF for drop-frame); "
            "give it as e.g. '01:00:00:00'"
        )
    return match


def _is_df_match(match: re.Match[str]) -> bool:
    last = match["s3"]
    if last in ";,":
        return True
    if last == ".":
        return match["s1"] != "." or match["s2"] != "."
    return False


def parse_timecode(text: str, fps: Rate) -> opentime.RationalTime:
    """Parse a SMPTE timecode into an OTIO ``RationalTime`` at ``fps``.

    Hours run 00-23, minutes and seconds 00-59, frames 00 to the nominal rate minus one
    (``00-23`` at 23.976, ``00-29`` at 29.97). Drop-frame (``HH:MM:SS;FF``) is only valid
    at 29.97 and 59.94, and labels that drop-frame skips (``00:01:00;00``) are refused.

    Args:
        text: ``"HH:MM:SS:FF"`` (non-drop) or ``"HH:MM:SS;FF"`` (drop-frame).
        fps: frames per second; NTSC rates may be given rounded (``23.976``, ``29.97``).

    Returns:
        ``RationalTime(frame_number, rate)`` with the exact rate (e.g. 24000/1001).

    Raises:
        MetadataError: the text is not a timecode, a field is out of range for ``fps``,
            or timecode does not exist at ``fps``.

    Example:
        >>> parse_timecode("01:00:00;00", 29.97).value
        107892.0
    """
    rate = _timecode_rate(fps)
    match = _match(text)
    hours, minutes, seconds, frames = (int(match[k]) for k in ("h", "m", "s", "f"))
    drop = _is_df_match(match)
    nominal = _nominal(rate)
    shown = _show_rate(rate)
    if hours > 23:
        raise MetadataError(f"timecode {text!r} has hour {hours}; hours run 00-23")
    if minutes > 59:
        raise MetadataError(f"timecode {text!r} has minute {minutes}; minutes run 00-59")
    if seconds > 59:
        raise MetadataError(f"timecode {text!r} has second {seconds}; seconds run 00-59")
    if frames >= nominal:
        raise MetadataError(
            f"timecode {text!r} has frame {frames} but {shown} fps counts frames "
            f"00-{nominal - 1:02d}; check the frame rate or the timecode"
        )
    if drop:
        if not is_drop_frame_rate(rate):
            raise MetadataError(
                f"timecode {text!r} is drop-frame (';' before the frames) but drop-frame "
                f"only exists at 29.97 and 59.94 fps, not {shown}; write it with ':' or "
                "give the right rate"
            )
        dropped = _dropped_per_minute(rate)
        if seconds == 0 and minutes % 10 != 0 and frames < dropped:
            raise MetadataError(
                f"timecode {text!r} does not exist in drop-frame: frames "
                f"00-{dropped - 1:02d} are skipped at the start of every minute not divisible "
                f"by ten; the minute starts at {hours:02d}:{minutes:02d}:00;{dropped:02d}"
            )
    canonical = f"{hours:02d}:{minutes:02d}:{seconds:02d}{';' if drop else ':'}{frames:02d}"
    try:
        parsed = opentime.from_timecode(canonical, rate)
    except ValueError as exc:  # pragma: no cover - every case OTIO refuses is checked above
        raise MetadataError(f"timecode {text!r} at {shown} fps: {exc}") from exc
    return opentime.RationalTime(round(parsed.value), rate)


def timecode_to_frames(text: str, fps: Rate) -> int:
    """Frame number of a timecode, counted from ``00:00:00:00`` at ``fps``.

    Args:
        text: ``"HH:MM:SS:FF"`` or drop-frame ``"HH:MM:SS;FF"``.
        fps: frames per second.

    Returns:
        The frame number (``01:00:00:00`` at 25 fps is 90000).

    Raises:
        MetadataError: see :func:`parse_timecode`.
    """
    value: float = parse_timecode(text, fps).value
    return round(value)


def is_valid_timecode(text: str, fps: Rate) -> bool:
    """Whether :func:`parse_timecode` accepts ``text`` at ``fps`` (never raises).

    Args:
        text: a candidate timecode.
        fps: frames per second.

    Returns:
        True if ``text`` is a valid timecode at ``fps``.
    """
    try:
        parse_timecode(text, fps)
    except MetadataError:
        return False
    return True


def validate_timecode(text: str, fps: Rate) -> str:
    """Check a timecode and return it in canonical form (``01:00:00:00`` / ``01:00:00;00``).

    Args:
        text: a timecode, possibly with one-digit hours or ``.``/``,`` separators.
        fps: frames per second.

    Returns:
        The same timecode with two-digit fields, ``:`` separators and ``;`` before the
        frames when drop-frame.

    Raises:
        MetadataError: see :func:`parse_timecode`.
    """
    drop = is_drop_frame_timecode(text)
    return format_timecode(parse_timecode(text, fps), drop_frame=drop)


def frames_per_day(fps: Rate, *, drop_frame: bool = False) -> int:
    """Number of frames from ``00:00:00:00`` to the next midnight.

    Args:
        fps: frames per second.
        drop_frame: count drop-frame timecode (29.97 and 59.94 only).

    Returns:
        Frames per 24 hours of timecode (2,160,000 at 25 fps; 2,589,408 at 29.97 DF).

    Raises:
        MetadataError: timecode does not exist at ``fps``, or ``drop_frame`` at another
            rate than 29.97/59.94.
    """
    rate = _timecode_rate(fps)
    nominal = _nominal(rate)
    if not drop_frame:
        return nominal * 86400
    _check_df_rate(rate, fps)
    per_hour = nominal * 3600 - _dropped_per_minute(rate) * 54
    return per_hour * 24


def _check_df_rate(rate: float, fps: Rate) -> None:
    if not is_drop_frame_rate(rate):
        raise MetadataError(
            f"drop-frame timecode only exists at 29.97 and 59.94 fps, not {_show_rate(fps)}; "
            "pass drop_frame=False"
        )


def frames_to_timecode(
    frames: int, fps: Rate, *, drop_frame: bool = False, wrap: bool = False
) -> str:
    """Format a frame number as SMPTE timecode.

    Args:
        frames: frame number counted from ``00:00:00:00``.
        fps: frames per second.
        drop_frame: write drop-frame timecode (``;`` before the frames); 29.97/59.94 only.
        wrap: wrap frame numbers outside one day around midnight (a clip that crosses
            midnight) instead of raising.

    Returns:
        ``"HH:MM:SS:FF"``, or ``"HH:MM:SS;FF"`` when ``drop_frame``.

    Raises:
        MetadataError: ``frames`` is negative or a day or more and ``wrap`` is False, it is
            not a whole number, or the rate does not support (drop-frame) timecode.

    Example:
        >>> frames_to_timecode(86400, 23.976)
        '01:00:00:00'
    """
    frames = _whole_frames(frames)
    rate = _timecode_rate(fps)
    if drop_frame:
        _check_df_rate(rate, fps)
    day = frames_per_day(rate, drop_frame=drop_frame)
    if wrap:
        frames %= day
    elif frames < 0:
        raise MetadataError(
            f"frame {frames} is before 00:00:00:00; timecode cannot be negative "
            "(pass wrap=True to count back from midnight)"
        )
    elif frames >= day:
        raise MetadataError(
            f"frame {frames} is 24 hours or more at {_show_rate(fps)} fps; timecode runs to "
            "23:59:59 (pass wrap=True to wrap around midnight)"
        )
    if drop_frame:
        return str(opentime.to_timecode(opentime.RationalTime(frames, rate), rate, True))
    # Non-drop is plain counting at the nominal rate. OTIO 0.18's to_timecode wraps NTSC
    # non-drop at 24 hours of *real* time: at 29.97 frame 2589408 prints as 00:00:00:00
    # instead of 23:58:33:18, so non-drop is counted here.
    nominal = _nominal(rate)
    seconds, frame = divmod(frames, nominal)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{hour:02d}:{minute:02d}:{second:02d}:{frame:02d}"


def _whole_frames(frames: object) -> int:
    """``frames`` as an int: ints (numpy's too) and integral floats; anything else raises."""
    if not isinstance(frames, bool):
        if isinstance(frames, float) and frames.is_integer():
            return int(frames)
        with contextlib.suppress(TypeError):
            return operator.index(frames)  # type: ignore[arg-type]
    raise MetadataError(f"frame number must be a whole number, got {frames!r}")


def format_timecode(
    time: opentime.RationalTime,
    fps: Rate | None = None,
    *,
    drop_frame: bool = False,
    wrap: bool = False,
) -> str:
    """Format an OTIO ``RationalTime`` as SMPTE timecode.

    Args:
        time: a time; it must fall on a whole frame of ``fps``.
        fps: the timecode rate; defaults to ``time``'s own rate.
        drop_frame: write drop-frame timecode (29.97/59.94 only).
        wrap: wrap times outside one day around midnight instead of raising.

    Returns:
        ``"HH:MM:SS:FF"``, or ``"HH:MM:SS;FF"`` when ``drop_frame``.

    Raises:
        MetadataError: ``time`` is between two frames of ``fps``, or see
            :func:`frames_to_timecode`.
    """
    rate = _timecode_rate(time.rate if fps is None else fps)
    value = time.value_rescaled_to(rate)
    frames = round(value)
    if abs(value - frames) > 1e-4:
        raise MetadataError(
            f"time {time.value:g}/{time.rate:g} is between frames at {_show_rate(rate)} fps "
            f"(frame {value:.4f}); round it to a frame first"
        )
    return frames_to_timecode(frames, rate, drop_frame=drop_frame, wrap=wrap)


def timecode_range(
    start: str, end: str, fps: Rate, *, end_inclusive: bool = False
) -> opentime.TimeRange:
    """OTIO ``TimeRange`` from a start and end timecode (ALE ``Start``/``End`` columns).

    Avid's ``End`` is exclusive (the first frame after the clip); pass
    ``end_inclusive=True`` for sheets that log the last frame. A clip that crosses midnight
    (end before start) wraps.

    Args:
        start: first frame's timecode.
        end: timecode after the last frame (or of the last frame with ``end_inclusive``).
        fps: frames per second.
        end_inclusive: ``end`` names the last frame rather than the one after it.

    Returns:
        ``TimeRange(start_time, duration)`` at the exact rate.

    Raises:
        MetadataError: either timecode is invalid, or the range is empty.
    """
    first = timecode_to_frames(start, fps)
    last = timecode_to_frames(end, fps)
    rate = normalize_rate(fps)
    if end_inclusive:
        last += 1
    duration = last - first
    if duration < 0:
        duration += frames_per_day(rate, drop_frame=is_drop_frame_timecode(start))
    if duration <= 0:
        raise MetadataError(
            f"timecode range {start!r} to {end!r} is empty; the end must come after the start"
            + ("" if end_inclusive else " (End is exclusive: the frame after the last one)")
        )
    return opentime.TimeRange(
        opentime.RationalTime(first, rate), opentime.RationalTime(duration, rate)
    )
