"""Camera-roll clip names and slate-style scene/take names.

Digital cinema cameras name every clip after the camera letter, the roll (card, magazine)
number and the clip number, plus a date and a short card/camera id. Parsing those names lets
ingest match a file to its ALE or camera-report row even when the sheet writes the name a
little differently (``A001C003`` for ``A001C003_230115_R1AB.mxf``), and group clips by roll.

Recognised forms (case-insensitive; directories, one extension and frame/segment numbers
are allowed around them):

========================  ===================================  =================================
vendor                    example                              date / suffix
========================  ===================================  =================================
ARRI (ALEXA family)       ``A001C003_230115_R1AB.mxf``         ``230115`` (YYMMDD) / ``R1AB``
ARRIRAW frames            ``A001C003_230115_R1AB.0001.ari``    as above, ``frame=1``
ARRI reel                 ``A001R1AB``                         - / ``R1AB``
RED                       ``A001_C003_0115AB_001.R3D``         ``0115`` (MMDD) / ``AB``, seg. 1
RED clip folder           ``A001_C003_0115AB.RDC``             ``0115`` / ``AB``
Sony Venice / FX          ``A001C003_230115XY.MXF``            ``230115`` / ``XY``
Canon Cinema EOS          ``A001C003_230115AB_CANON.MXF``      ``230115`` / ``AB``
Blackmagic                ``A001_01151230_C003.braw``          ``01151230`` (MMDDhhmm) / -
generic clip              ``A001C003``, ``A001_C003``          - / -
roll                      ``A001``                             - / -
========================  ===================================  =================================

Anything else (``clip_01.mov``, ``IMG_1234.MOV``) parses to ``None``: these helpers never
guess.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Final

__all__ = [
    "CameraRollName",
    "parse_clip_name",
    "parse_scene_take",
    "strip_media_name",
]


@dataclass(frozen=True, slots=True)
class CameraRollName:
    """A camera clip or roll name split into its parts.

    Attributes:
        camera: camera letter, upper case (``"A"``).
        roll: roll (card/magazine/reel) number (``1`` from ``A001``).
        clip: clip number (``3`` from ``C003``); ``None`` for a roll name such as ``A001R1AB``.
        date: the date token as written: ``YYMMDD`` for ARRI/Sony/Canon, ``MMDD`` for RED,
            ``MMDDhhmm`` for Blackmagic; see :attr:`calendar_date`.
        suffix: the card/camera id or random suffix as written (``R1AB``, ``AB``, ``XY``).
        raw: the name as given, unchanged.
        vendor: ``"arri"``, ``"red"``, ``"sony"``, ``"canon"``, ``"blackmagic"`` or ``None``
            for the generic ``A001C003`` form.
        segment: RED span/segment number (``1`` from ``_001.R3D``), else ``None``.
        frame: frame number of a frame of an image sequence (ARRIRAW, CinemaDNG), else
            ``None``.
    """

    camera: str
    roll: int
    clip: int | None
    date: str | None
    suffix: str | None
    raw: str
    vendor: str | None = None
    segment: int | None = None
    frame: int | None = None

    @property
    def calendar_date(self) -> dt.date | None:
        """The shooting date when the name carries a full, valid ``YYMMDD`` date.

        RED (``MMDD``) and Blackmagic (``MMDDhhmm``) names carry no year, so this is ``None``
        for them, as for an impossible date such as ``231345``.
        """
        if self.date is None or len(self.date) != 6 or not self.date.isdigit():
            return None
        year, month, day = int(self.date[:2]), int(self.date[2:4]), int(self.date[4:])
        try:
            return dt.date(2000 + year, month, day)
        except ValueError:
            return None

    @property
    def reel_name(self) -> str:
        """Camera letter and roll as cameras write them: ``"A001"``."""
        return f"{self.camera}{self.roll:03d}"

    @property
    def key(self) -> tuple[str, int, int | None]:
        """``(camera, roll, clip)``: what identifies the clip across spellings of its name."""
        return (self.camera, self.roll, self.clip)

    def same_clip(self, other: CameraRollName) -> bool:
        """Whether ``other`` names the same clip (same camera, roll and clip; clip not None).

        Names from two different camera makers are never the same clip, and dates and
        suffixes must agree where both names carry them, so ``A001C003_230115_R1AB`` and
        ``A001C003_230116_R1AB`` (two shoot days that reused roll numbers) are different
        clips, while the generic ``A001C003`` matches either.
        """
        if self.clip is None or other.clip is None or self.key != other.key:
            return False
        if self.vendor is not None and other.vendor is not None and self.vendor != other.vendor:
            return False
        if (
            self.date is not None
            and other.date is not None
            and len(self.date) == len(other.date)
            and self.date != other.date
        ):
            return False
        return not (
            self.suffix is not None
            and other.suffix is not None
            and len(self.suffix) == len(other.suffix)
            and self.suffix.upper() != other.suffix.upper()
        )


# One extension: a letter then up to four letters/digits (.mxf .mov .ari .R3D .braw .mp4).
_EXTENSION: Final = re.compile(r"\.[A-Za-z][A-Za-z0-9]{1,4}$")
# Sequence placeholders a catalog or a tool may put in a name: .####  .%04d  .[1001-1100]
# .1001-1100#  .@@@@  (a frame number itself is handled by the patterns that allow it).
_SEQUENCE: Final = re.compile(
    r"[._]?(?:#+|@+|%0?\d*d|\[\d+(?:-\d+)?\]|\d+-\d+#+|\$F\d*)$", re.IGNORECASE
)

_CAM = r"(?P<cam>[A-Z])(?P<roll>\d{3})"
_FRAME = r"(?:[._](?P<frame>\d{4,8}))?"
_ARRI: Final = rf"{_CAM}C(?P<clip>\d{{3}})_(?P<date>\d{{6}})_(?P<suffix>[A-Z0-9]{{4}}){_FRAME}"
_CANON: Final = rf"{_CAM}C(?P<clip>\d{{3}})_(?P<date>\d{{6}})(?P<suffix>[A-Z0-9]{{2}})_CANON"
_SONY: Final = (
    rf"{_CAM}C(?P<clip>\d{{3}})_(?P<date>\d{{6}})(?P<suffix>[A-Z0-9]{{2}})(?:[MS]\d{{2}})?"
)
_RED: Final = (
    rf"{_CAM}_C(?P<clip>\d{{3}})_(?P<date>\d{{4}})(?P<suffix>[A-Z0-9]{{2}})"
    r"(?:_(?P<segment>\d{3}))?"
)
_RED_MAG: Final = rf"{_CAM}_(?P<date>\d{{4}})(?P<suffix>[A-Z0-9]{{2}})"
_BMD: Final = rf"{_CAM}_(?P<date>\d{{8}})_C(?P<clip>\d{{3}}){_FRAME}"
_GENERIC: Final = rf"{_CAM}_?C(?P<clip>\d{{3,4}})"
_ARRI_REEL: Final = rf"{_CAM}(?P<suffix>[A-Z][A-Z0-9]{{3}})"

_PATTERNS: Final[tuple[tuple[str | None, re.Pattern[str]], ...]] = tuple(
    (vendor, re.compile(rf"^{body}$", re.IGNORECASE))
    for vendor, body in (
        ("arri", _ARRI),  # A001C003_230115_R1AB, ARRIRAW frames A001C003_230115_R1AB.0001
        ("canon", _CANON),  # A001C003_230115AB_CANON
        ("sony", _SONY),  # A001C003_230115XY, sidecars ...XYM01 (XML), proxies ...XYS03
        ("red", _RED),  # A001_C003_0115AB_001 (span), A001_C003_0115AB (clip folder)
        ("red", _RED_MAG),  # magazine folder A001_0115AB
        ("blackmagic", _BMD),  # A001_01151230_C003, CinemaDNG frames ..._C003_000123
        (None, _GENERIC),  # A001C003, A001_C003
        ("arri", _ARRI_REEL),  # reel A001R1AB; C+3 digits is a clip, matched just above
        (None, _CAM),  # bare roll A001
    )
)


def strip_media_name(name: str) -> str:
    """The stem of a media name: no directories, one extension, no sequence placeholder.

    Args:
        name: a file name or path, possibly a sequence pattern
            (``/mnt/A001C003_230115_R1AB.%04d.ari``, ``shot.[1001-1100].exr``).

    Returns:
        The name without folders, extension and frame placeholder
        (``A001C003_230115_R1AB``). A trailing frame *number* is kept.
    """
    base = re.split(r"[\\/]", name.strip())[-1]
    stem = _EXTENSION.sub("", base)
    stripped = _SEQUENCE.sub("", stem)
    return stripped or stem


def parse_clip_name(name: str) -> CameraRollName | None:
    """Split a camera clip, roll or file name into camera, roll, clip, date and suffix.

    Args:
        name: a clip or roll name or a file name/path (``A001C003_230115_R1AB.mxf``,
            ``A001_C003_0115AB_001.R3D``, ``A001R1AB``).

    Returns:
        The parts, or ``None`` when the name follows none of the recognised camera
        conventions (see the module docstring).

    Example:
        >>> parse_clip_name("A001C003_230115_R1AB.mxf").clip
        3
        >>> parse_clip_name("clip_01.mov") is None
        True
    """
    if not isinstance(name, str):
        return None
    stem = strip_media_name(name)
    for vendor, pattern in _PATTERNS:
        match = pattern.match(stem)
        if match is None:
            continue
        groups = match.groupdict()
        clip = groups.get("clip")
        segment = groups.get("segment")
        frame = groups.get("frame")
        return CameraRollName(
            camera=match["cam"].upper(),
            roll=int(match["roll"]),
            clip=int(clip) if clip is not None else None,
            date=groups.get("date"),
            suffix=groups.get("suffix"),
            raw=name,
            vendor=vendor,
            segment=int(segment) if segment is not None else None,
            frame=int(frame) if frame is not None else None,
        )
    return None


_SCENE: Final = r"(?P<snum>\d{1,4})(?P<slet>[A-Z]{0,2})"
_TAKE: Final = r"(?P<take>\d{1,3})"
_SEP: Final = r"[\s_\-/.]*"
_SCENE_TAKE_PATTERNS: Final[tuple[re.Pattern[str], ...]] = tuple(
    re.compile(rf"^{body}$", re.IGNORECASE)
    for body in (
        # labelled: Sc12A Tk3, Scene 12A Take 3, SC12A_TK3, S12A-T3, 12A Tk3, 12A_T03
        rf"(?:(?:sc(?:ene)?|s)\.?{_SEP})?{_SCENE}[\s_\-/.]+(?:t(?:k|ake)?)\.?{_SEP}{_TAKE}",
        # scene then take: 12A_3, 12a-03, 12A 3 (not 12/3: UK slates write scene/shot)
        rf"{_SCENE}[\s_\-]+{_TAKE}",
        # labelled scene, unlabelled take: Sc12A_3
        rf"(?:sc(?:ene)?)\.?{_SEP}{_SCENE}[\s_\-]+{_TAKE}",
        # number, setup letter, take: 012_A_003, 12-A-3
        r"(?P<snum>\d{1,4})[\s_\-]+(?P<slet>[A-Z]{1,2})[\s_\-]+(?P<take>\d{1,3})",
    )
)


def _clean_number(digits: str) -> str:
    return str(int(digits))


def parse_scene_take(text: str) -> tuple[str | None, str | None]:
    """Read a scene and take from a slate-style name, when it is unambiguous.

    The scene is returned without leading zeros and with its letters upper case
    (``"12A"``), the take without leading zeros (``"3"``).

    Args:
        text: ``"12A_3"``, ``"Sc12A Tk3"``, ``"Scene 12A Take 3"``, ``"12a-03"``,
            ``"012_A_003"``; a file extension is ignored.

    Returns:
        ``(scene, take)``, or ``(None, None)`` when ``text`` is not one of these forms
        (``"A001C003_230115_R1AB"``, ``"12_3_4"``, ``"12A"``).

    Example:
        >>> parse_scene_take("Sc12A Tk3")
        ('12A', '3')
    """
    if not isinstance(text, str):
        return (None, None)
    stem = _EXTENSION.sub("", text.strip()).strip()
    for pattern in _SCENE_TAKE_PATTERNS:
        match = pattern.match(stem)
        if match is None:
            continue
        scene = _clean_number(match["snum"]) + match["slet"].upper()
        return (scene, _clean_number(match["take"]))
    return (None, None)
