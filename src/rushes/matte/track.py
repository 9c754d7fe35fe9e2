"""Track shapes drawn on one frame through the whole shot (``--shapes rig.json --track``).

What is tracked is the picture *around* a shape: its bounding box plus a margin. Corners
(Shi-Tomasi, ``cv2.goodFeaturesToTrack``) found there are followed from frame to frame with
pyramidal Lucas-Kanade optical flow, each checked forwards and backwards (a point that does not
come back to where it started is dropped). Every point remembers where it was on the key frame,
and one transform key frame -> current frame (affine by default; homography, similarity or
translation on request, falling back to simpler models when too few points survive) is fitted
to all of them with RANSAC. The shape's vertices on a frame are its drawn vertices moved by that
transform. Fitting to the key frame every time, rather than chaining frame-to-frame transforms,
keeps the shape from drifting. Points are topped up from the region around the shape when they
run low.

A track is lost (:class:`~rushes.errors.TrackLostError`, naming the shape and the frame) when
fewer than ``min_points`` points agree on the motion, when the shape would jump or change size
implausibly from one frame to the next, or when the region no longer looks like it did on the
previous frame once moved back (normalised cross-correlation under ``min_ncc``: a cut, or the
region covered).

Shapes with several keys are re-anchored at every key: tracked forwards from each key to the
next, the difference between where the track ends and the next drawn key spread linearly over
the segment (so drawn keys are honoured exactly); where the track is lost between two keys the
vertices are interpolated to the next key instead. Before the first key the shape is tracked
backwards from it, after the last key forwards. With ``key=`` every shape starts from its
(interpolated) vertices on that one frame.

Frames are read once per direction at a reduced size (long side ``long_side``) as 8-bit grey;
the result is in the frames' full-size pixels.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from rushes.errors import MatteError, TrackLostError
from rushes.matte.shapes import ShapeSet

__all__ = ["TRACK_MODELS", "FrameSource", "TrackModel", "track_shapes"]

FrameSource = Callable[[int], np.ndarray] | Iterable[np.ndarray]
TrackModel = Literal["homography", "affine", "similarity", "translation"]
#: Motion models, most general first (a model falls back to the ones after it).
TRACK_MODELS: tuple[TrackModel, ...] = ("homography", "affine", "similarity", "translation")
#: Points a model needs before it is tried (else the next simpler one is).
_MODEL_POINTS = {"homography": 15, "affine": 8, "similarity": 4, "translation": 2}
#: Lucas-Kanade window and pyramid levels (reduced-size pixels).
LK_WINDOW = 21
LK_LEVELS = 3
#: Forward-backward error (reduced px) above which a point is dropped.
FB_MAX = 1.0
#: RANSAC reprojection threshold, reduced px.
RANSAC_PX = 1.5
#: Smallest margin around a shape (reduced px) where features are taken.
MIN_MARGIN = 24
#: Distance (reduced px) between features.
MIN_DISTANCE = 6
#: Largest per-frame move of a vertex, as a share of the reduced frame's diagonal.
MAX_JUMP = 0.15
#: Largest per-frame size change of the shape (ratio of bounding-box diagonals).
MAX_SCALE_STEP = 1.25
#: A region whose grey standard deviation is below this (8-bit) is too flat for the NCC check.
FLAT_STD = 3.0


def _reduce(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """float32 RGB in [0, 1] -> uint8 grey of ``size`` (w, h)."""
    f = np.asarray(frame)
    if f.ndim == 3 and f.shape[2] >= 3:
        g = cv2.cvtColor(f[:, :, :3].astype(np.float32, copy=False), cv2.COLOR_RGB2GRAY)
    elif f.ndim == 3:
        g = f[:, :, 0].astype(np.float32)
    else:
        g = f.astype(np.float32)
    if (g.shape[1], g.shape[0]) != size:
        g = cv2.resize(g, size, interpolation=cv2.INTER_AREA)
    return np.clip(np.nan_to_num(g) * 255.0 + 0.5, 0, 255).astype(np.uint8)


class _GreyFrames:
    """Frames of a source as reduced grey, read on demand (callable) or in order (iterable).

    An iterable's frames at or before ``keep_upto`` are kept (reduced) for the backward pass.
    """

    def __init__(self, source: FrameSource, n_frames: int, long_side: int, keep_upto: int) -> None:
        self.n = n_frames
        self._call: Callable[[int], np.ndarray] | None = None
        self._iter: Iterator[np.ndarray] | None = None
        if callable(source):
            self._call = source
        else:
            self._iter = iter(source)
        self._next = 0
        self._keep_upto = keep_upto
        self._kept: dict[int, np.ndarray] = {}
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        first = self._raw(0)
        if first.ndim < 2 or first.shape[0] < 8 or first.shape[1] < 8:
            raise MatteError(f"frame 0 has shape {first.shape}; frames must be (H, W, 3) images")
        self.height, self.width = int(first.shape[0]), int(first.shape[1])
        s = min(1.0, long_side / max(self.width, self.height))
        self.size = (max(round(self.width * s), 8), max(round(self.height * s), 8))
        self.sx = self.size[0] / self.width
        self.sy = self.size[1] / self.height
        self._store(0, first)

    def _raw(self, i: int) -> np.ndarray:
        if self._call is not None:
            return np.asarray(self._call(i))
        assert self._iter is not None
        if i != self._next:
            raise MatteError(f"internal: frame {i} asked out of order from an iterator")
        try:
            f = next(self._iter)
        except StopIteration:
            raise MatteError(
                f"the frames ended at frame {i} but the shot has {self.n}; give all its frames"
            ) from None
        self._next += 1
        return np.asarray(f)

    def _store(self, i: int, raw: np.ndarray) -> np.ndarray:
        if raw.shape[:2] != (self.height, self.width):
            raise MatteError(
                f"frame {i} is {raw.shape[1]}x{raw.shape[0]} but frame 0 is "
                f"{self.width}x{self.height}; the frames of a shot must share one size"
            )
        g = _reduce(raw, self.size)
        if self._iter is not None and i <= self._keep_upto:
            self._kept[i] = g
        self._cache[i] = g
        while len(self._cache) > 3:
            self._cache.popitem(last=False)
        return g

    def __call__(self, i: int) -> np.ndarray:
        hit = self._cache.get(i)
        if hit is not None:
            return hit
        if i in self._kept:
            return self._kept[i]
        if self._call is not None:
            return self._store(i, self._raw(i))
        while self._next < i:  # skip ahead, keeping what the backward pass will need
            j = self._next
            self._store(j, self._raw(j))
        return self._store(i, self._raw(i))

    def to_reduced(self, pts: np.ndarray) -> np.ndarray:
        return (pts + 0.5) * (self.sx, self.sy) - 0.5

    def to_full(self, pts: np.ndarray) -> np.ndarray:
        return (pts + 0.5) / (self.sx, self.sy) - 0.5


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply a 3x3 transform to ``(N, 2)`` points."""
    p = np.hstack([pts, np.ones((len(pts), 1))]) @ m.T
    return p[:, :2] / p[:, 2:3]


def _fit(src: np.ndarray, dst: np.ndarray, model: TrackModel) -> tuple[np.ndarray, np.ndarray]:
    """3x3 transform src -> dst and the inlier flags, by RANSAC (``model`` or simpler)."""
    n = len(src)
    start = TRACK_MODELS.index(model)
    s32, d32 = src.astype(np.float32), dst.astype(np.float32)
    for m in TRACK_MODELS[start:]:
        if n < _MODEL_POINTS[m]:
            continue
        if m == "homography":
            h, inl = cv2.findHomography(s32, d32, cv2.RANSAC, RANSAC_PX, maxIters=500)
            if h is None or not np.isfinite(h).all() or abs(h[2, 2]) < 1e-9:
                continue
            return h / h[2, 2], inl.ravel().astype(bool)
        if m in ("affine", "similarity"):
            est = cv2.estimateAffine2D if m == "affine" else cv2.estimateAffinePartial2D
            a, inl = est(s32, d32, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX, maxIters=500)
            if a is None or not np.isfinite(a).all():
                continue
            return np.vstack([a, [0.0, 0.0, 1.0]]), inl.ravel().astype(bool)
        t = np.median(dst - src, axis=0)
        inl = np.linalg.norm(dst - src - t, axis=1) < RANSAC_PX
        if inl.any():
            t = (dst - src)[inl].mean(axis=0)
        h = np.eye(3)
        h[:2, 2] = t
        return h, inl
    return np.eye(3), np.zeros(n, bool)


def _ncc(a: np.ndarray, b: np.ndarray, valid: np.ndarray) -> float | None:
    """Normalised cross-correlation of two patches over ``valid``; None if too flat."""
    x = a[valid].astype(np.float64)
    y = b[valid].astype(np.float64)
    if x.size < 32:
        return None
    x -= x.mean()
    y -= y.mean()
    sx, sy = np.sqrt((x * x).mean()), np.sqrt((y * y).mean())
    if sx < FLAT_STD or sy < FLAT_STD:
        return None
    return float((x * y).mean() / (sx * sy))


@dataclass
class _State:
    """One shape being tracked from one key, in reduced pixels."""

    name: str
    key: int
    base: np.ndarray  # the key's vertices (reduced), (N, 2)
    pad: float  # half the stroke width (reduced), for the region
    transform: np.ndarray = field(default_factory=lambda: np.eye(3))
    anchors: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    points: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))

    @property
    def vertices(self) -> np.ndarray:
        return _apply(self.transform, self.base)


@dataclass(frozen=True)
class _Params:
    model: TrackModel
    margin: float
    min_points: int
    max_points: int
    min_ncc: float


class _Tracker:
    def __init__(self, grey: _GreyFrames, p: _Params) -> None:
        self.grey = grey
        self.p = p
        w, h = grey.size
        self.diag = float(np.hypot(w, h))
        self._ones = np.full((h, w), 255, np.uint8)

    def _region(self, verts: np.ndarray, pad: float) -> tuple[int, int, int, int]:
        lo, hi = verts.min(axis=0) - pad, verts.max(axis=0) + pad
        m = max(self.p.margin * float((hi - lo).max()), MIN_MARGIN)
        w, h = self.grey.size
        x0, y0 = max(int(lo[0] - m), 0), max(int(lo[1] - m), 0)
        x1, y1 = min(int(np.ceil(hi[0] + m)) + 1, w), min(int(np.ceil(hi[1] + m)) + 1, h)
        return x0, y0, x1, y1

    def _top_up(self, st: _State, img: np.ndarray) -> None:
        """Add corners around the shape on ``img`` (where the shape is now) up to max_points."""
        want = self.p.max_points - len(st.points)
        if want < self.p.max_points // 3:
            return
        x0, y0, x1, y1 = self._region(st.vertices, st.pad)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return
        mask = np.full((y1 - y0, x1 - x0), 255, np.uint8)  # the region, less existing points
        for x, y in st.points:
            cv2.circle(mask, (round(x - x0), round(y - y0)), MIN_DISTANCE, 0, -1)
        found = cv2.goodFeaturesToTrack(
            np.ascontiguousarray(img[y0:y1, x0:x1]),
            want,
            0.01,
            MIN_DISTANCE,
            mask=mask,
            blockSize=7,
            useHarrisDetector=False,
        )
        if found is None:
            return
        new = found.reshape(-1, 2).astype(np.float64) + np.array([x0, y0], np.float64)
        anchors = _apply(np.linalg.inv(st.transform), new)
        st.points = np.vstack([st.points, new])
        st.anchors = np.vstack([st.anchors, anchors])

    def start(self, name: str, key: int, verts_full: np.ndarray, stroke: float) -> _State:
        st = _State(name, key, self.grey.to_reduced(verts_full), 0.5 * stroke * self.grey.sx)
        self._top_up(st, self.grey(key))
        if len(st.points) < self.p.min_points:
            raise TrackLostError(
                f"tracking '{name}' cannot start at frame {key} (only {len(st.points)} "
                "features around it); draw a larger shape around textured picture"
            )
        return st

    def step(self, st: _State, src: int, dst: int) -> None:
        """Move ``st`` from frame ``src`` to frame ``dst`` (adjacent), or TrackLostError."""
        prev, cur = self.grey(src), self.grey(dst)
        self._top_up(st, prev)
        lost = f"tracking '{st.name}' lost at frame {dst}"
        hint = "add a key there or draw a larger shape"
        p0 = st.points.astype(np.float32).reshape(-1, 1, 2)
        crit = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01)
        win = (LK_WINDOW, LK_WINDOW)
        p1, ok1, _ = cv2.calcOpticalFlowPyrLK(
            prev, cur, p0, p0.copy(), winSize=win, maxLevel=LK_LEVELS, criteria=crit
        )
        p0b, ok2, _ = cv2.calcOpticalFlowPyrLK(
            cur, prev, p1, p1.copy(), winSize=win, maxLevel=LK_LEVELS, criteria=crit
        )
        fb = np.linalg.norm((p0b - p0).reshape(-1, 2), axis=1)
        w, h = self.grey.size
        q = p1.reshape(-1, 2).astype(np.float64)
        good = (
            ok1.ravel().astype(bool)
            & ok2.ravel().astype(bool)
            & (fb < FB_MAX)
            & (q[:, 0] >= 0)
            & (q[:, 0] <= w - 1)
            & (q[:, 1] >= 0)
            & (q[:, 1] <= h - 1)
        )
        if good.sum() < self.p.min_points:
            raise TrackLostError(f"{lost} ({int(good.sum())} points left); {hint}")
        anchors, q = st.anchors[good], q[good]
        m, inl = _fit(anchors, q, self.p.model)
        if inl.sum() < self.p.min_points:
            raise TrackLostError(f"{lost} ({int(inl.sum())} points left); {hint}")
        before = st.vertices
        after = _apply(m, st.base)
        jump = float(np.linalg.norm(after - before, axis=1).max())
        if not np.isfinite(jump) or jump > MAX_JUMP * self.diag:
            raise TrackLostError(
                f"{lost} (the shape would jump {jump / self.grey.sx:.0f} px); {hint}"
            )
        d0 = float(np.linalg.norm(np.ptp(before, axis=0)))
        d1 = float(np.linalg.norm(np.ptp(after, axis=0)))
        if d0 > 1 and not 1 / MAX_SCALE_STEP <= d1 / d0 <= MAX_SCALE_STEP:
            raise TrackLostError(f"{lost} (the shape would change size {d1 / d0:.2f}x); {hint}")
        if self.p.min_ncc > -1:
            step = m @ np.linalg.inv(st.transform)  # src frame -> dst frame
            x0, y0, x1, y1 = self._region(before, st.pad)
            shift = np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1]], np.float64)
            size = (x1 - x0, y1 - y0)
            back = cv2.warpPerspective(
                cur,
                step @ shift,
                size,
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=0,
            )
            valid = (
                cv2.warpPerspective(
                    self._ones,
                    step @ shift,
                    size,
                    flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                    borderValue=0,
                )
                > 0
            )
            score = _ncc(prev[y0:y1, x0:x1], back, valid)
            if score is not None and score < self.p.min_ncc:
                raise TrackLostError(
                    f"{lost} (the picture around it changed, correlation {score:.2f}: a cut or "
                    f"something in front?); {hint}"
                )
        st.transform = m
        st.anchors, st.points = anchors[inl], q[inl]


def _start_frames(shapes: ShapeSet, key: int | None, n: int) -> dict[str, tuple[int, ...]]:
    out: dict[str, tuple[int, ...]] = {}
    for s in shapes:
        ks = (key,) if key is not None else s.key_frames
        bad = [k for k in ks if not 0 <= k < n]
        if bad:
            raise MatteError(
                f"shape '{s.name}' key {bad[0]} is outside the shot (frames 0-{n - 1}); "
                "keys are 0-based frame indices from the shot's first frame"
            )
        out[s.name] = tuple(ks)
    return out


def track_shapes(
    shapes: ShapeSet,
    frames: FrameSource,
    n_frames: int,
    key: int | None = None,
    *,
    model: TrackModel = "affine",
    long_side: int = 960,
    margin: float = 0.5,
    min_points: int = 6,
    max_points: int = 200,
    min_ncc: float = 0.3,
    progress: Callable[[int, int], None] | None = None,
) -> ShapeSet:
    """Track shapes drawn on key frames through every frame of a shot.

    Args:
        shapes: The drawn shapes (coordinates scaled to the frames if drawn on another size).
        frames: The shot's frames: a callable ``index -> frame`` (random access) or an
            iterable yielding them in order. Each frame float32 RGB in [0, 1], a display-like
            encoding (not scene-linear). Shape: ``(H, W, 3)``. An iterable's frames up to the
            last key are kept in memory as reduced grey (a callable's never are).
        n_frames: Number of frames of the shot.
        key: Start every shape from its vertices on this frame (0-based), or None: from each
            shape's own key(s) (see the module docstring).
        model: Motion of the region around a shape: ``"affine"`` (default), ``"homography"``,
            ``"similarity"`` or ``"translation"``.
        long_side: Frames are tracked at this long side (pixels) at most.
        margin: Region around a shape's bounding box where points are taken, as a share of the
            box's longer side (at least 24 reduced pixels).
        min_points: Fewer agreeing points than this and the track is lost.
        max_points: Points tracked per shape at most.
        min_ncc: Lost when the region's correlation with the previous frame (after moving it
            back) is below this; -1 turns the check off.
        progress: Called as ``progress(done, total)`` after each frame.

    Returns:
        The shapes keyed on every frame ``0 .. n_frames - 1``, in the frames' pixels.

    Raises:
        TrackLostError: a shape is lost on a frame (the message names it and the frame).
        MatteError: bad arguments, a key outside the shot, or the frames end early.
    """
    if n_frames <= 0:
        raise MatteError("the shot has no frames to track through")
    if model not in TRACK_MODELS:
        raise MatteError(f"unknown tracking model {model!r}; use one of {', '.join(TRACK_MODELS)}")
    if min_points < 2:
        raise MatteError(f"min_points must be at least 2, got {min_points}")
    starts = _start_frames(shapes, key, n_frames)
    first_keys = {n: ks[0] for n, ks in starts.items()}
    grey = _GreyFrames(frames, n_frames, long_side, keep_upto=max(first_keys.values()))
    shapes = shapes.scaled_to(grey.width, grey.height)
    p = _Params(model, margin, min_points, max(max_points, 2 * min_points), min_ncc)
    tracker = _Tracker(grey, p)
    by_name = {s.name: s for s in shapes}
    out: dict[str, dict[int, np.ndarray]] = {n: {} for n in by_name}
    total = n_frames * len(by_name)
    done = 0

    def drawn(name: str, k: int) -> np.ndarray:
        s = by_name[name]
        return s.vertices(k) if key is None else s.vertices(key)

    def tick(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(min(done, total), total)

    # forwards from the first key to the end, re-anchored at every key
    states: dict[str, _State | None] = {}
    seg_start: dict[str, int] = {}
    lost_at: dict[str, int | None] = {}
    lo = min(first_keys.values())

    def close_segment(name: str, end_key: int) -> None:
        """At a key: step onto it, spread the error over the segment (or interpolate)."""
        k0, target = seg_start[name], drawn(name, end_key)
        st, la = states.get(name), lost_at.get(name)
        if st is not None:
            try:
                tracker.step(st, end_key - 1, end_key)
            except TrackLostError:
                la = end_key
        if st is not None and la is None:
            err = target - grey.to_full(st.vertices)
            for f in range(k0 + 1, end_key):
                out[name][f] = out[name][f] + err * (f - k0) / (end_key - k0)
        elif la is not None:
            last = out[name][la - 1]
            for f in range(la, end_key):
                t = (f - la + 1) / (end_key - la + 1)
                out[name][f] = (1 - t) * last + t * target

    for i in range(lo, n_frames):
        active = 0
        for name, ks in starts.items():
            s = by_name[name]
            if i < ks[0]:
                continue
            active += 1
            if i in ks:
                if i != ks[0]:
                    close_segment(name, i)
                v = drawn(name, i)
                out[name][i] = v
                seg_start[name], lost_at[name] = i, None
                states[name] = tracker.start(name, i, v, s.width if s.type == "polyline" else 0)
                continue
            st = states.get(name)
            if st is None:
                continue  # lost, waiting for the next key
            try:
                tracker.step(st, i - 1, i)
            except TrackLostError:
                if i > ks[-1]:
                    raise
                states[name], lost_at[name] = None, i
                continue
            out[name][i] = grey.to_full(st.vertices)
        tick(active)

    # backwards from each shape's first key to frame 0
    back: dict[str, _State] = {}
    for i in range(max(first_keys.values()) - 1, -1, -1):
        for name, k in first_keys.items():
            if i >= k:
                continue
            s = by_name[name]
            if name not in back:
                back[name] = tracker.start(
                    name, k, drawn(name, k), s.width if s.type == "polyline" else 0
                )
            st = back[name]
            tracker.step(st, i + 1, i)
            out[name][i] = grey.to_full(st.vertices)
        tick(sum(1 for k in first_keys.values() if i < k))

    result = []
    for s in shapes:
        keys = out[s.name]
        missing = [f for f in range(n_frames) if f not in keys]
        if missing:
            raise MatteError(f"internal: shape '{s.name}' has no vertices for frame {missing[0]}")
        result.append(s.with_keys(keys))
    return ShapeSet(tuple(result), grey.width, grey.height)
