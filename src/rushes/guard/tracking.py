"""Where the performers are on every frame of a shot: faces and bodies, tracked.

The guard lets a removal fill use only photographed pixels inside a performer's face or body.
A shot-level summary (``shot.analysis["people"]``) is not enough for that: people move. Here
each frame gets its own face and person regions:

1. key frames (every :data:`DEFAULT_EVERY` frames, and the last) are scanned whole by the
   detectors of :mod:`rushes.guard.detect` (OpenCV's Haar face cascades, frontal and profile,
   at a scale where a :data:`~rushes.guard.detect.MIN_FACE`-px face spans 32 px; HOG people);
   successive key frames shift the cascades' pyramid by half a scale step, so two of them
   together cover face sizes as finely as one pyramid twice as fine (a one-frame shot, a
   still, gets both);
2. on every other frame (and on a key frame whose scan missed it) each face track is looked
   for only around where it is expected (a region-of-interest scan at a fine scale step, a
   few ms); a face that first appears on a key frame is looked for backwards through the
   last ``max_gap`` frames (until ``every`` frames in a row do not show it);
3. detections are associated frame to frame per kind (IoU, or centre distance and similar
   size); a track survives up to ``max_gap`` frames without a detection and the gap is filled
   by interpolating its box, so a missed detection, a face looking down for a moment or an
   arm across it does not open a hole;
4. tracks detected fewer than ``min_hits`` times are dropped; by default none are (on the
   ground truth, dropping tracks detected once removed no false alarm and lost faces);
5. each track is extended ``extend`` frames before its first and after its last detection,
   and every box is padded by a margin that grows with the track's speed and with the
   distance (in frames) to the nearest real detection.

Faces are reported grown by a quarter for hair and chin, as
:func:`rushes.guard.performers.performer_regions` does.

Measured (``benchmarks/bench_guard.py``, hand-checked faces of the shared footage): see
``benchmarks/results/guard.json`` for recall, precision and the cost per 1080p frame.

Known weaknesses: the cascades miss faces turned more than about 60 degrees from both the
camera and the profile, faces looking steeply down, and faces under 40 px; bodies are found
only for standing people about 45 % of the frame height and up, and not on every key frame.
A face turned away is covered only while its track survives (``max_gap`` + ``extend``
frames) or by a body region.
"""

from __future__ import annotations

import bisect
import json
import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rushes.atomic import write_text_atomic
from rushes.guard.detect import (
    DetectSettings,
    Hit,
    Prepared,
    detect_bodies,
    detect_faces,
    iou,
    nms,
    prepare,
)
from rushes.guard.performers import Region, protect_map

if TYPE_CHECKING:
    from rushes.project import Project, Shot

__all__ = [
    "DEFAULT_EVERY",
    "VERSION",
    "PerformerTracks",
    "TrackRecord",
    "TrackSettings",
    "shot_performers",
    "track_performers",
]

VERSION = 1
"""Version of the method and of the JSON record (part of the cache file name)."""

DEFAULT_EVERY = 8
"""Full scans on every 8th frame; faces are followed by region-of-interest scans between.
Measured on five ground-truth clips (bench_guard --every): 4 found one face more in 42 at
twice the cost per 1080p frame and with more false boxes; 16 found as many as 8 but leaves a
face that shows for under 16 frames to chance."""

PREDICT_AHEAD = 4
"""A lost face is looked for where its last velocity takes it in at most this many frames."""

LINK_DRIFT = 0.05
"""A track lost and found again within ``max_gap`` frames is joined when it reappears within
0.75 of its size plus this share of its size per frame of the gap."""

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class TrackSettings:
    """How performers are tracked.

    Attributes:
        every: a full scan on every ``every``-th frame (1: all frames).
        phases: successive full scans start their pyramids this many evenly spaced fractions
            of a scale step apart (together as fine as a pyramid ``phases`` times finer).
        max_gap: frames a track survives without a detection (the gap is interpolated), and
            the longest gap across which a lost track is joined to one found again nearby;
            body tracks, found on key frames only, get ``max_gap + every``.
        extend: frames a track is extended before its first and after its last detection.
        min_hits: tracks with fewer detections are dropped as false alarms (only where the
            shot is long enough to see them again).
        motion_pad: the margin is this times the track's speed (px per frame) times half a
            frame (the blur of a 180-degree shutter) plus the distance to the nearest detection
            (frames; half of it inside a gap, where the box is interpolated, not held).
        drift: plus this share of the box size per frame of distance to a detection.
        max_pad: margins are capped at this share of the box size.
        detect: detector settings.
    """

    every: int = DEFAULT_EVERY
    phases: int = 2
    max_gap: int = 24
    extend: int = 4
    min_hits: int = 1
    motion_pad: float = 1.0
    drift: float = 0.02
    max_pad: float = 0.75
    detect: DetectSettings = field(default_factory=DetectSettings)


# --------------------------------------------------------------------------------------------
# result


@dataclass
class TrackRecord:
    """One tracked face or person.

    Attributes:
        kind: ``face`` or ``person``.
        start: its first frame (0-based in the shot).
        boxes: ``(n, 4)`` int32 ``x, y, w, h`` in pixels on frames ``start .. start + n - 1``
            (faces as detected, not yet grown for hair; all padded for motion).
        detected: ``(n,)`` bool, where the box was detected rather than filled or extended.
    """

    kind: str
    start: int
    boxes: np.ndarray
    detected: np.ndarray


@dataclass
class PerformerTracks:
    """Per-frame performer regions of one shot (0-based frame index within the shot), in
    pixels of the shot's full-resolution frame (``width`` x ``height``).

    Attributes:
        width: frame width.
        height: frame height.
        frames: frames in the shot.
        tracks: one record per tracked face or person.
        meta: how it was made (settings, version).
    """

    width: int
    height: int
    frames: int
    tracks: list[TrackRecord] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def _boxes(self, i: int) -> Iterator[tuple[str, np.ndarray]]:
        if not 0 <= i < self.frames:
            raise IndexError(f"frame {i} is outside the shot (0..{self.frames - 1})")
        for t in self.tracks:
            if t.start <= i < t.start + len(t.boxes):
                yield t.kind, t.boxes[i - t.start]

    def regions(self, i: int) -> list[Region]:
        """Faces (``face``, grown by a quarter for hair and chin) and bodies (``person``) on
        frame ``i``."""
        out = []
        for kind, (x, y, w, h) in self._boxes(i):
            fx, fy, fw, fh = float(x), float(y), float(w), float(h)
            if kind == "face":
                fx, fy, fw, fh = fx - fw / 8, fy - fh / 8, fw * 1.25, fh * 1.25
            x0, y0 = max(0, math.floor(fx)), max(0, math.floor(fy))
            x1 = min(self.width, math.ceil(fx + fw))
            y1 = min(self.height, math.ceil(fy + fh))
            if x1 > x0 and y1 > y0:
                out.append(Region(kind, x0, y0, x1 - x0, y1 - y0))
        return out

    def faces(self, i: int) -> list[Region]:
        """The face regions of frame ``i``."""
        return [r for r in self.regions(i) if r.kind == "face"]

    def protect(self, i: int) -> np.ndarray | None:
        """Bool ``(H, W)``: the union of the regions of frame ``i``; ``None`` if none."""
        return protect_map(self.regions(i), self.width, self.height)

    def frames_with_people(self) -> list[int]:
        """Frames with at least one region."""
        seen: set[int] = set()
        for t in self.tracks:
            seen.update(range(t.start, t.start + len(t.boxes)))
        return sorted(seen)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: per track its kind, first frame, one ``[x, y, w, h]`` per frame and the
        frame ranges ``[a, b)`` (shot frames) where it was detected rather than filled."""
        tracks = []
        for t in self.tracks:
            d = np.flatnonzero(np.diff(np.r_[0, t.detected.astype(np.int8), 0]))
            ranges = [
                [t.start + int(a), t.start + int(b)] for a, b in zip(d[::2], d[1::2], strict=True)
            ]
            tracks.append(
                {"kind": t.kind, "start": t.start, "boxes": t.boxes.tolist(), "detected": ranges}
            )
        return {
            "version": VERSION,
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
            "meta": self.meta,
            "tracks": tracks,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PerformerTracks:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValueError: another version, or a malformed record.
        """
        if int(d.get("version", -1)) != VERSION:
            raise ValueError(f"performer tracks version {d.get('version')}, expected {VERSION}")
        out = cls(int(d["width"]), int(d["height"]), int(d["frames"]), meta=dict(d["meta"]))
        for t in d["tracks"]:
            boxes = np.asarray(t["boxes"], np.int32).reshape(-1, 4)
            start = int(t["start"])
            if t["kind"] not in ("face", "person") or start < 0 or start + len(boxes) > out.frames:
                raise ValueError(f"bad performer track {t['kind']} at {start}")
            detected = np.zeros(len(boxes), bool)
            for a, b in t["detected"]:
                detected[int(a) - start : int(b) - start] = True
            out.tracks.append(TrackRecord(str(t["kind"]), start, boxes, detected))
        return out


# --------------------------------------------------------------------------------------------
# tracking


@dataclass
class _Track:
    kind: str
    keys: dict[int, Box]
    order: list[int] = field(default_factory=list)  # the frames of ``keys``, sorted

    def __post_init__(self) -> None:
        self.order = sorted(self.keys)

    @property
    def last(self) -> int:
        return self.order[-1]

    def add(self, i: int, box: Box) -> None:
        if i not in self.keys:
            bisect.insort(self.order, i)
        self.keys[i] = box

    def predict(self, i: int) -> Box:
        """The box expected on frame ``i``: the nearest detection moved at the velocity of the
        last two (for at most :data:`PREDICT_AHEAD` frames; held when there is one)."""
        ks = self.order
        pos = bisect.bisect_left(ks, i)
        if pos == len(ks) or (pos > 0 and i - ks[pos - 1] <= ks[pos] - i):
            pos -= 1
        j = ks[pos]
        b = self.keys[j]
        if len(ks) == 1:
            return b
        other = ks[pos - 1] if pos > 0 else ks[1]
        a = self.keys[other]
        ahead = max(-PREDICT_AHEAD, min(PREDICT_AHEAD, i - j))
        return (
            b[0] + (b[0] - a[0]) / (j - other) * ahead,
            b[1] + (b[1] - a[1]) / (j - other) * ahead,
            b[2],
            b[3],
        )


def _match_score(d: Box, p: Box) -> float:
    """How well detection ``d`` fits predicted box ``p`` (0: not the same object)."""
    o = iou(d, p)
    if o >= 0.2:
        return 1.0 + o
    ratio = d[2] / max(p[2], 1e-9)
    dist = math.hypot(d[0] + d[2] / 2 - p[0] - p[2] / 2, d[1] + d[3] / 2 - p[1] - p[3] / 2)
    limit = 0.75 * max(d[2], p[2])
    if 0.5 <= ratio <= 2.0 and dist < limit:
        return 1.0 - dist / limit
    return 0.0


class _Tracker:
    def __init__(self, st: TrackSettings) -> None:
        self.st = st
        self.tracks: list[_Track] = []
        # the last max_gap frames (their equalized luma only), to look back for new faces
        self.buffer: deque[tuple[int, Prepared]] = deque(maxlen=max(1, st.max_gap))
        self.scans = 0

    def _gap(self, kind: str) -> int:
        return self.st.max_gap + (self.st.every if kind == "person" else 0)

    def _active(self, kind: str, i: int) -> list[_Track]:
        return [t for t in self.tracks if t.kind == kind and i - t.last - 1 <= self._gap(kind)]

    def _associate(self, tracks: list[_Track], i: int, hits: list[Hit]) -> list[Hit]:
        """Give hits to ``tracks`` (the active ones of a kind); return those left over."""
        preds = [t.predict(i) for t in tracks]
        pairs = sorted(
            (
                (s, a, b)
                for a, h in enumerate(hits)
                for b, p in enumerate(preds)
                if (s := _match_score(h.box(), p)) > 0
            ),
            reverse=True,
        )
        used_h: set[int] = set()
        used_t: set[int] = set()
        for _, a, b in pairs:
            if a not in used_h and b not in used_t:
                tracks[b].add(i, hits[a].box())
                used_h.add(a)
                used_t.add(b)
        return [h for a, h in enumerate(hits) if a not in used_h]

    def _roi(self, p: Prepared, i: int, t: _Track) -> bool:
        pred = t.predict(i)
        found = detect_faces(p, self.st.detect, roi=pred)
        scored = [(_match_score(h.box(), pred), h) for h in found]
        score, best = max(scored, key=lambda sh: sh[0], default=(0.0, None))
        if best is None or score <= 0:
            return False
        t.add(i, best.box())
        return True

    def _backfill(self, t: _Track) -> None:
        """Look for a new face back through the buffered frames, until ``every`` in a row
        do not show it."""
        misses = 0
        for j, q in reversed(self.buffer):
            misses = 0 if self._roi(q, j, t) else misses + 1
            if misses >= self.st.every:
                break

    def step(self, i: int, p: Prepared, key: bool, still: bool = False) -> None:
        if key:
            if still:  # no later key frame will try the other phases
                faces = nms([h for _ in range(self.st.phases) for h in self._scan(p)])
            else:
                faces = self._scan(p)
            bodies = detect_bodies(p) if self.st.detect.bodies else []
            for h in self._associate(self._active("person", i), i, bodies):
                self.tracks.append(_Track("person", {i: h.box()}))
            missed = self._active("face", i)
            for h in self._associate(missed, i, faces):
                t = _Track("face", {i: h.box()})
                self.tracks.append(t)
                self._backfill(t)
        else:
            missed = self._active("face", i)
        for t in missed:  # the full scan's coarser pyramid misses some that a closer look finds
            if t.last < i:
                self._roi(p, i, t)
        self.buffer.append((i, replace(p, gray=p.faces)))

    def _scan(self, p: Prepared) -> list[Hit]:
        phase = (self.scans % self.st.phases) / self.st.phases
        self.scans += 1
        return detect_faces(p, self.st.detect, phase=phase)

    def _link(self) -> list[_Track]:
        """Join a track to one of the same kind that ended at most ``max_gap`` frames before
        it started nearby (the face looked away and came back where the frame-to-frame search
        did not follow it); the gap is then filled like any other."""
        out: list[_Track] = []
        for t in sorted(self.tracks, key=lambda t: t.order[0]):
            first = t.order[0]
            best, best_d = None, math.inf
            for a in out:
                gap = first - a.last - 1
                if a.kind != t.kind or not 0 <= gap <= self._gap(t.kind):
                    continue
                p, q = a.keys[a.last], t.keys[first]
                size = max(p[2], p[3], q[2], q[3])
                d = math.hypot(q[0] + q[2] / 2 - p[0] - p[2] / 2, q[1] + q[3] / 2 - p[1] - p[3] / 2)
                near = d <= size * (0.75 + LINK_DRIFT * gap)
                if near and 0.5 <= q[2] / max(p[2], 1e-9) <= 2.0 and d < best_d:
                    best, best_d = a, d
            if best is None:
                out.append(t)
            else:
                for i in t.order:
                    best.add(i, t.keys[i])
        return out

    def finish(self, n: int) -> list[TrackRecord]:
        st = self.st
        out = []
        for t in self._link():
            if len(t.keys) < min(st.min_hits, n):
                continue
            ks = np.array(t.order)
            kb = np.array([t.keys[k] for k in ks], np.float64)
            f0, f1 = max(0, int(ks[0]) - st.extend), min(n - 1, int(ks[-1]) + st.extend)
            f = np.arange(f0, f1 + 1)
            box = np.stack([np.interp(f, ks, kb[:, c]) for c in range(4)], 1)
            centre = kb[:, :2] + kb[:, 2:] / 2
            if len(ks) > 1:  # speed at each detection from its neighbours, px / frame
                span = np.gradient(ks.astype(np.float64))
                speed_k = np.hypot(*np.gradient(centre, axis=0).T) / np.maximum(span, 1)
            else:
                speed_k = np.zeros(1)
            speed = np.interp(f, ks, speed_k)
            near = np.searchsorted(ks, f)
            dist = np.minimum(
                np.abs(f - ks[np.clip(near - 1, 0, len(ks) - 1)]),
                np.abs(ks[np.clip(near, 0, len(ks) - 1)] - f),
            )
            size = np.maximum(box[:, 2], box[:, 3])
            outside = (f < ks[0]) | (f > ks[-1])
            reach = np.where(outside, dist, 0.5 * dist)
            pad = st.motion_pad * speed * (0.5 + reach) + st.drift * size * dist
            pad = np.minimum(pad, st.max_pad * size)
            grown = np.stack(
                [box[:, 0] - pad, box[:, 1] - pad, box[:, 2] + 2 * pad, box[:, 3] + 2 * pad], 1
            )
            detected = np.isin(f, ks)
            out.append(TrackRecord(t.kind, f0, np.round(grown).astype(np.int32), detected))
        return out


def track_performers(
    frames: Iterable[np.ndarray],
    width: int,
    height: int,
    n_frames: int,
    *,
    every: int = DEFAULT_EVERY,
    progress: Callable[[int], None] | None = None,
    settings: TrackSettings | None = None,
) -> PerformerTracks:
    """Find and track the performers of a shot, frame by frame.

    Args:
        frames: the shot's frames in order, streamed (never held all at once).
        width: frame width.
        height: frame height.
        n_frames: frames in the shot (the last is always a key frame); the result covers the
            frames actually given.
        every: a full scan on every ``every``-th frame (see :data:`DEFAULT_EVERY`).
        progress: called with the number of frames done after each frame.
        settings: all tracking settings (``every`` then is ignored).

    Returns:
        The per-frame regions.

    Raises:
        ValueError: a frame of another size, or not a valid image (see
            :func:`rushes.guard.detect.prepare`); ``every`` below 1.

    Shape:
        frames: ``(H, W, 3)`` RGB, display-encoded (the caller converts scene-linear sources):
        float32 code values in [0, 1], or uint8.
    """
    st = settings or TrackSettings(every=every)
    if st.every < 1:
        raise ValueError(f"every is {st.every}; give 1 or more (a full scan every n frames)")
    tracker = _Tracker(st)
    n = 0
    for i, image in enumerate(frames):
        frame = np.asarray(image)
        if frame.shape[:2] != (height, width):
            raise ValueError(
                f"frame {i} is {frame.shape[1]}x{frame.shape[0]} but the shot is "
                f"{width}x{height}; give full-resolution frames"
            )
        key = i % st.every == 0 or i == n_frames - 1
        tracker.step(i, prepare(frame, st.detect), key, still=n_frames == 1)
        n = i + 1
        if progress is not None:
            progress(n)
    meta = {"version": VERSION, **asdict(st)}
    return PerformerTracks(width, height, n, tracker.finish(n), meta)


# --------------------------------------------------------------------------------------------
# shots


def _shot_frames(project: Project, shot: Shot) -> Iterator[np.ndarray]:
    """The shot at full resolution in a display-like encoding, as ``rushes.ops.remove`` reads
    it for tracking (:func:`rushes.ops.frames.display_frames`)."""
    from rushes.ops.frames import display_frames, shot_colorspace

    yield from display_frames(shot, shot_colorspace(shot, project.settings.color.input_colorspace))


def cache_path(project: Project, shot: Shot) -> Path:
    """Where :func:`shot_performers` keeps its result (safe to delete)."""
    name = f"{shot.clip.checksum}_{shot.start}_{shot.end}_v{VERSION}.json"
    return project.path("cache", "performers", name)


def shot_performers(
    project: Project,
    shot: Shot,
    progress: Callable[[int], None] | None = None,
    *,
    refresh: bool = False,
) -> PerformerTracks:
    """The performers of ``shot`` on every frame: cached, else tracked now and cached.

    Args:
        project: the open project (its ``cache/performers`` folder holds the result).
        shot: a catalog shot with its clip loaded.
        progress: called with the number of frames done while tracking.
        refresh: track again even when cached.

    Raises:
        MediaError: the shot's frames cannot be read.
    """
    path = cache_path(project, shot)
    if not refresh and path.is_file():
        try:
            tracks = PerformerTracks.from_dict(json.loads(path.read_text()))
            if tracks.frames == shot.end - shot.start:
                return tracks
        except (OSError, ValueError, KeyError, TypeError):
            pass  # damaged or from another version: track again
    clip = shot.clip
    tracks = track_performers(
        _shot_frames(project, shot),
        int(clip.width),
        int(clip.height),
        shot.end - shot.start,
        progress=progress,
    )
    write_text_atomic(path, json.dumps(tracks.to_dict(), separators=(",", ":")))
    return tracks
