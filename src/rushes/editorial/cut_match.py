"""Match the events of an editor's cut to the clips and shots of the catalog.

An event names its source three ways, none of them reliable alone: a clip name (``* FROM CLIP
NAME:`` in an EDL, ``<name>`` in XML), a media file (``* FROM CLIP:``, ``<pathurl>``) and a reel
(the EDL's reel column, FCP7 ``<reel>``), which CMX3600 cuts to 8 characters. Its source
timecode range says which frames. An event matches a clip when a name rule finds it **and**
the source range lies inside the clip's timecode range at the clip's rate:

1. ``name``: the event's clip name or media file name equals the clip's name or file name
   (case, folders, media extensions and sequence frame numbers ignored).
2. ``reel``: the event's reel equals the clip's reel (tape), camera roll or name.
3. ``reel (8-char)``: an 8-character reel is the start of the clip's name or reel with
   punctuation removed (how EDL writers shorten ``A001C003_230115_R1AB`` to ``A001C003``).

Several clips may share a reel (a camera roll); the timecode then decides. Two clips left
after that (same name rule, both containing the range) is reported as ambiguous, never
guessed. A clip without timecode counts from ``00:00:00:00`` (and, for an image sequence,
also from its first frame number, as some systems label frame 1001 ``00:00:41:17`` at 24 fps).
Timecode is compared as real frame counts (drop-frame labels converted), so a drop-frame cut
matches drop-frame media exactly.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes.errors import RushesError
from rushes.media.info import IMAGE_EXTENSIONS, MOVIE_EXTENSIONS
from rushes.media.timecode import (
    frames_to_timecode,
    is_drop_frame_rate,
    is_drop_frame_timecode,
    show_rate,
    timecode_to_frames,
)
from rushes.project.catalog import Clip
from rushes.project.settings import parse_rate

__all__ = [
    "ClipIndex",
    "ClipSpan",
    "EventMatch",
    "EventSpec",
    "ShotSpan",
    "name_key",
    "reel_key",
    "same_rate",
    "show_tc",
]

_MEDIA_EXTENSIONS = MOVIE_EXTENSIONS | IMAGE_EXTENSIONS
_FRAME_SUFFIX = re.compile(r"[._-]?(?:\[\d+-\d+\]|%0?\d*d|#+|@+|\d+)$")
_TIERS = ("name", "reel", "reel (8-char)")
CMX_REEL_LENGTH = 8
"""Characters of a reel name a CMX3600 EDL keeps."""


def name_key(text: str | None) -> str:
    """A clip or file name as matching compares it.

    Folders, URL quoting, a media extension (``.mov``, ``.exr``...), an image sequence's
    frame part (``.1001``, ``.%04d``, ``.####``, ``.[1001-1020]``) and case are dropped:
    ``file:///m/A001C003_230115_R1AB.MOV`` -> ``a001c003_230115_r1ab``.

    Args:
        text: a name, a path or a ``file://`` URL.

    Returns:
        The key (empty for ``None`` or blank text).
    """
    if not text:
        return ""
    t = str(text).strip()
    if "://" in t or t.startswith("file:"):  # a URL (a printf %04d in a path is no escape)
        t = urllib.parse.unquote(t)
    t = t.replace("\\", "/").rstrip("/")
    t = t.rsplit("/", 1)[-1]
    stem, ext = os.path.splitext(t)
    if ext.lower() in _MEDIA_EXTENSIONS:
        t = stem
        if ext.lower() in IMAGE_EXTENSIONS:
            t = _FRAME_SUFFIX.sub("", t) or t
    return t.strip().lower()


def reel_key(text: str | None) -> str:
    """A name with everything but letters and digits removed, upper case (how EDL writers
    make reel names): ``A001C003_230115_R1AB`` -> ``A001C003230115R1AB``."""
    return re.sub(r"[^A-Za-z0-9]", "", text or "").upper()


def same_rate(a: Fraction, b: Fraction) -> bool:
    """Whether two frame rates are the same (NTSC rates given rounded count as exact)."""
    return parse_rate(str(a)) == parse_rate(str(b))


def show_tc(frames: int, rate: Fraction, drop_frame: bool | None = False) -> str:
    """``frames`` as timecode at ``rate`` (wrapping at midnight), or the frame number where
    timecode does not exist at that rate."""
    df = bool(drop_frame) and is_drop_frame_rate(float(rate))
    try:
        return frames_to_timecode(int(frames), float(rate), drop_frame=df, wrap=True)
    except RushesError:
        return f"frame {frames}"


@dataclass(frozen=True)
class ShotSpan:
    """A shot of a clip: its id, name and frames ``[start, end)`` of the clip."""

    id: int
    name: str
    start: int
    end: int


@dataclass
class ClipSpan:
    """What matching needs to know about one catalogued clip.

    Attributes:
        id: catalog id.
        name: clip name.
        fps: its frame rate.
        frames: number of frames.
        starts: timecode frame numbers its frame 0 may carry (its own timecode; without one,
            ``00:00:00:00`` and, for a sequence, its first frame number).
        drop_frame: its timecode is drop-frame (``None``: it has none).
        names: name keys (:func:`name_key`) of its name and file.
        reels: name keys of its reel, camera roll and name.
        squeezed: :func:`reel_key` of its name and reel, for 8-character reels.
        shots: its shots in order.
    """

    id: int
    name: str
    fps: Fraction
    frames: int
    starts: tuple[int, ...]
    drop_frame: bool | None
    names: set[str]
    reels: set[str]
    squeezed: set[str]
    shots: list[ShotSpan] = field(default_factory=list)


@dataclass
class EventSpec:
    """One picture event of a cut, as read (before matching).

    ``source_in``/``source_out`` and ``record_in``/``record_out`` are frames from
    ``00:00:00:00`` at ``rate`` (out exclusive). ``drop_frame`` says how the cut labelled its
    timecode (``None``: it does not say).
    """

    index: int
    track: str
    name: str
    reel: str | None
    source: str | None
    rate: Fraction
    drop_frame: bool | None
    source_in: int
    source_out: int
    record_in: int
    record_out: int
    problem: str | None = None

    @property
    def frames(self) -> int:
        """Frames the event uses."""
        return self.source_out - self.source_in


@dataclass
class EventMatch:
    """What an event matched, or why it matched nothing."""

    matched: bool
    reason: str | None = None
    by: str | None = None
    clip_id: int | None = None
    clip: str | None = None
    clip_in: int | None = None
    clip_out: int | None = None
    shot_id: int | None = None
    shot: str | None = None
    shots: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "matched": self.matched,
            "by": self.by,
            "clip": self.clip,
            "clip_in": self.clip_in,
            "clip_out": self.clip_out,
            "shot": self.shot,
            "shots": list(self.shots),
            "reason": self.reason,
        }


def _clip_span(c: Clip, default_fps: Fraction) -> ClipSpan | None:
    fps = parse_rate(c.fps) if c.fps else default_fps
    starts: tuple[int, ...]
    drop: bool | None = None
    if c.timecode:
        try:
            starts = (timecode_to_frames(c.timecode, float(fps)),)
            drop = is_drop_frame_timecode(c.timecode)
        except RushesError:
            return None  # timecode that means nothing at its rate: unmatched by TC
    else:
        starts = (0,) + ((c.first_frame,) if c.kind == "sequence" and c.first_frame > 0 else ())
    path_name = name_key(c.path)
    names = {k for k in (name_key(c.name), path_name) if k}
    reels = {k for k in (name_key(c.reel), name_key(c.roll), name_key(c.name)) if k}
    squeezed = {k for k in (reel_key(c.name), reel_key(c.reel)) if k}
    shots = [ShotSpan(s.id, s.name, s.start, s.end) for s in c.shots]
    return ClipSpan(c.id, c.name, fps, c.frames, starts, drop, names, reels, squeezed, shots)


class ClipIndex:
    """The catalog's clips, indexed for matching cut events.

    Example:
        >>> with project.session() as s:                           # doctest: +SKIP
        ...     index = ClipIndex.from_session(s, project.settings.rate)
        ...     found = index.match(event)
    """

    def __init__(self, clips: Iterable[ClipSpan]) -> None:
        self.clips = list(clips)

    @classmethod
    def from_session(cls, session: Session, default_fps: Fraction) -> ClipIndex:
        """Every clip of the catalog (``default_fps`` for those without a rate)."""
        spans = (
            _clip_span(c, default_fps)
            for c in session.scalars(select(Clip).where(Clip.status != "missing").order_by(Clip.id))
        )
        return cls(s for s in spans if s is not None)

    def candidates(self, ev: EventSpec) -> list[tuple[int, ClipSpan]]:
        """Clips a name rule finds for ``ev``, with the rule's tier (0 best), best first."""
        names = {k for k in (name_key(ev.name), name_key(ev.source)) if k}
        reel = name_key(ev.reel)
        squeezed = reel_key(ev.reel) if ev.reel else ""
        found: dict[int, tuple[int, ClipSpan]] = {}
        for c in self.clips:
            tier: int | None = None
            if names & c.names:
                tier = 0
            elif reel and (reel in c.reels or reel in c.names):
                tier = 1
            elif len(squeezed) == CMX_REEL_LENGTH and any(
                k.startswith(squeezed) for k in c.squeezed
            ):
                tier = 2
            if tier is not None:
                found[c.id] = (tier, c)
        return sorted(found.values(), key=lambda tc: (tc[0], tc[1].id))

    def match(self, ev: EventSpec) -> EventMatch:
        """Match one event; see the module docstring for the rules."""
        if ev.problem:
            return EventMatch(False, ev.problem)
        if ev.frames <= 0:
            return EventMatch(False, "the event has no frames")
        cands = self.candidates(ev)
        if not cands:
            said = []
            if ev.name and not ev.name.isdigit():  # an EDL event without a clip name: its number
                said.append(f"named {ev.name!r}")
            if ev.source and name_key(ev.source) != name_key(ev.name):
                said.append(f"named {os.path.basename(urllib.parse.unquote(ev.source))!r}")
            if ev.reel:
                said.append(f"with reel {ev.reel!r}")
            what = "no clip " + (" or ".join(said) if said else "named in the event")
            return EventMatch(False, what + "; ingest the clip, then import the cut again")
        hits: list[tuple[int, ClipSpan, int, int]] = []
        misses: list[str] = []
        for tier, c in cands:
            if not same_rate(ev.rate, c.fps):
                misses.append(
                    f"{c.name} is {show_rate(c.fps)} fps but the event's source timecode is at "
                    f"{show_rate(ev.rate)} fps"
                )
                continue
            src_in, src_out = ev.source_in, ev.source_out
            for start in c.starts:
                a, b = src_in - start, src_out - start
                if a >= 0 and b <= c.frames:
                    hits.append((tier, c, a, b))
                    break
            else:
                start = c.starts[0]
                df = c.drop_frame
                misses.append(
                    f"source {show_tc(src_in, c.fps, df)}-{show_tc(src_out, c.fps, df)} is "
                    f"outside {c.name} ({show_tc(start, c.fps, df)}-"
                    f"{show_tc(start + c.frames, c.fps, df)})"
                )
        if not hits:
            more = f" (and {len(misses) - 1} more)" if len(misses) > 1 else ""
            return EventMatch(False, misses[0] + more)
        best = min(h[0] for h in hits)
        top = [h for h in hits if h[0] == best]
        if len(top) > 1:
            names = ", ".join(h[1].name for h in top[:4])
            return EventMatch(
                False,
                f"ambiguous: {len(top)} clips hold this source timecode ({names}); give the "
                "clip name in the cut (EDL: * FROM CLIP NAME) or distinct reels",
            )
        tier, c, a, b = top[0]
        covered = [(min(b, s.end) - max(a, s.start), s) for s in c.shots]
        covered = [(n, s) for n, s in covered if n > 0]
        main = max(covered, key=lambda ns: ns[0])[1] if covered else None
        return EventMatch(
            True,
            None,
            by=_TIERS[tier],
            clip_id=c.id,
            clip=c.name,
            clip_in=a,
            clip_out=b,
            shot_id=main.id if main else None,
            shot=main.name if main else None,
            shots=[s.name for _, s in covered],
        )
