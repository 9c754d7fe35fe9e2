"""Analyse one clip in a single streamed pass over downscaled frames.

Per frame (cheap, kept for the whole clip as a small float32 table): colour statistics,
exposure/clipping, focus, global camera motion. Per shot (summarised when the shot closes):
colour histograms, an exposure verdict, a motion class, faces/people present, thumbnails and a
setup signature. Shot boundaries arrive from a streaming detector with bounded latency; the
frames still inside that latency window wait in a short delay line, so every shot-level
accumulator sees exactly its own frames and memory stays flat in clip length.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rushes.analysis import color_stats, focus, motion, people, setups
from rushes.analysis.boundaries import Boundary, make_detector
from rushes.media.prefetch import prefetch
from rushes.media.reader import MediaReader, fit_size

LUMA = color_stats.REC709_LUMA[0]  # (3,) Rec.709 luma weights
FRAME_FIELDS: tuple[str, ...] = (*color_stats.FRAME_FIELDS, "focus", *motion.MOTION_FIELDS)
MAX_THUMB_CANDIDATES = 32
SIGNATURE_FRAMES = 3


@dataclass
class ShotAnalysis:
    """Measurements of one shot; ``end`` is exclusive."""

    start: int
    end: int
    transition_in: str | None
    transition_out: str | None
    summary: dict[str, Any]
    signature: np.ndarray
    thumbnail: np.ndarray  # uint8 (H, W, 3) display RGB at the analysis size


@dataclass
class ClipAnalysis:
    """Everything measured on one clip."""

    frames: int
    size: tuple[int, int]
    boundaries: list[Boundary]
    shots: list[ShotAnalysis]
    per_frame: np.ndarray  # float32 (N, len(FRAME_FIELDS))
    fields: tuple[str, ...] = FRAME_FIELDS
    warnings: list[str] = field(default_factory=list)


class _OpenShot:
    """Accumulators of the shot currently being fed from the delay line."""

    def __init__(self, start: int, transition_in: str | None) -> None:
        self.start = start
        self.transition_in = transition_in
        self.color = color_stats.ShotColorAccumulator()
        self.people: list[list[people.Detection]] = []
        self.thumbs: list[tuple[int, np.ndarray]] = []  # uint8 candidates, stride doubling
        self.stride = 1
        self.count = 0

    def feed(self, index: int, u8: np.ndarray, frame: np.ndarray, people_every: int) -> np.ndarray:
        """Accumulate one frame; return its colour-statistics row."""
        self.color.update(frame)
        if self.count % people_every == 0:
            # frontal faces and bodies; profiles (the slowest cascade) add little to presence
            self.people.append(people.detect_people(frame, profiles=False))
        if self.count % self.stride == 0:
            self.thumbs.append((index, u8))
            if len(self.thumbs) > MAX_THUMB_CANDIDATES:
                self.thumbs = self.thumbs[::2]
                self.stride *= 2
        self.count += 1
        assert self.color.last is not None
        return self.color.last

    def close(
        self, end: int, transition_out: str | None, rows: np.ndarray, fps: float
    ) -> ShotAnalysis:
        mid = (self.start + end - 1) / 2
        thumb = min(self.thumbs, key=lambda t: abs(t[0] - mid))[1]
        picks = np.linspace(0, len(self.thumbs) - 1, SIGNATURE_FRAMES).round().astype(int)
        sig = setups.shot_signature(
            [self.thumbs[i][1].astype(np.float32) / 255 for i in sorted(set(picks))]
        )
        n = len(color_stats.FRAME_FIELDS)
        summary: dict[str, Any] = {
            "color": self.color.result(),
            "focus": _focus_summary(rows[:, n]),
            # a shot's first row is the motion across the boundary: not this shot's
            "motion": motion.summarize_motion(
                rows[1:, n + 1 :] if len(rows) > 1 else rows[:, n + 1 :], fps=fps
            ),
            "people": people.summarize_people(self.people),
        }
        return ShotAnalysis(
            start=self.start,
            end=end,
            transition_in=self.transition_in,
            transition_out=transition_out,
            summary=summary,
            signature=np.asarray(sig, dtype=np.float32),
            thumbnail=thumb,
        )


def _focus_summary(values: np.ndarray) -> dict[str, float]:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return {"median": float("nan"), "p10": float("nan"), "p90": float("nan")}
    p10, p50, p90 = np.percentile(v, [10, 50, 90])
    return {"median": float(p50), "p10": float(p10), "p90": float(p90)}


def analyze_clip(
    reader: MediaReader,
    long_side: int = 320,
    people_every: int = 48,
    boundary_method: str = "default",
    progress: Callable[[int], None] | None = None,
) -> ClipAnalysis:
    """Stream a clip once and measure it.

    Args:
        reader: An open :class:`MediaReader`.
        long_side: Long side of the analysis frames in pixels.
        people_every: Run face/people detection on every N-th frame of each shot.
        boundary_method: Shot-boundary method (``rushes.analysis.boundaries.METHODS``).
        progress: Called with the number of frames done since the last call.

    Returns:
        Per-frame table, shots with their summaries, thumbnails and signatures.
    """
    info = reader.info
    size = fit_size(info.width, info.height, long_side)
    fps = float(info.fps) if info.fps else 24.0
    detector = make_detector(boundary_method, fps=fps)
    latency = int(getattr(detector, "latency", 64)) + 2
    rows: list[np.ndarray] = []
    delay: deque[tuple[int, np.ndarray]] = deque()  # uint8 frames awaiting their boundaries
    pending: deque[Boundary] = deque()
    boundaries: list[Boundary] = []
    shots: list[ShotAnalysis] = []
    current = _OpenShot(0, None)
    prev_gray: np.ndarray | None = None
    # first frame: identity motion (scale 1) with zero confidence
    still = np.array([f == "scale" for f in motion.MOTION_FIELDS], dtype=np.float32)
    scale = np.float32(1 / 255)
    done = 0
    last = -1

    def drain(limit: int) -> None:
        """Measure the delayed frames up to ``limit``, closing shots at final boundaries."""
        nonlocal current, prev_gray
        while delay and delay[0][0] <= limit:
            idx, u8 = delay.popleft()
            while pending and pending[0].frame <= idx:
                b = pending.popleft()
                if b.frame > current.start and current.count:
                    table = np.stack(rows[current.start : b.frame])
                    shots.append(current.close(b.frame, b.kind, table, fps))
                    current = _OpenShot(b.frame, b.kind)
            frame = u8.astype(np.float32) * scale
            gray = frame @ LUMA
            mo = still if prev_gray is None else motion.estimate_motion(prev_gray, gray)
            prev_gray = gray
            color_row = current.feed(idx, u8, frame, people_every)
            rows.append(np.concatenate([color_row, [focus.focus_measure(gray)], mo]))

    for idx, u8 in prefetch(reader.iter_frames_u8(size=size)):
        found = detector.push(idx, u8.astype(np.float32) * scale)
        boundaries += found
        pending.extend(found)
        delay.append((idx, u8))
        drain(idx - latency)
        last = idx
        done += 1
        if progress is not None and done % 16 == 0:
            progress(16)
    found = detector.finish()
    boundaries += found
    pending.extend(found)
    drain(last)
    if current.count:
        shots.append(current.close(last + 1, None, np.stack(rows[current.start :]), fps))
    if progress is not None:
        progress(done % 16)
    n = last + 1
    warnings: list[str] = []
    if n < info.frames:
        warnings.append(f"decoded {n} of {info.frames} frames; the file may be truncated")
    return ClipAnalysis(
        frames=n,
        size=size,
        boundaries=boundaries,
        shots=shots,
        per_frame=np.stack(rows).astype(np.float32)
        if rows
        else np.zeros((0, len(FRAME_FIELDS)), np.float32),
        warnings=warnings,
    )
