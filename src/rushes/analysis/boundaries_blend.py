"""Shot boundaries by change, blend and black analysis (method ``"blend"``, the default).

Each pushed frame is reduced once to a 64 px image (long side), from which come an HSV
histogram (16 hues x 3 saturations x 4 values, plus 4 values for the greys) and a 32 px RGB
thumbnail; these and a few luma statistics go into a ring buffer of fixed length, so memory is
constant in the length of the clip. Three detectors read the buffer:

- **Cuts.** The change between consecutive frames is the mean of the histogram distance
  (half the L1 distance, in [0, 1]) and the thumbnail change (mean absolute difference, scaled).
  A frame is a cut when its change is large in absolute terms and several times the mean change
  of its neighbourhood (so fast camera motion, whose every frame changes a lot, does not cut),
  and when no frame of the next few is close to a frame of the last few (so a flash or
  something crossing the lens, after which the shot comes back, does not cut). A cut whose new
  shot turns back into the old one within ``revert_frames`` is dropped with the cut back.
- **Dissolves.** In a cross-fade each frame is a linear mix of the frames either side of it, so
  the thumbnails move on a straight line from one shot to the other. For a centre frame ``c``
  and half-widths ``k``, the frames between ``c - k`` and ``c + k`` are projected on the line
  from thumbnail ``c - k`` to thumbnail ``c + k``: a dissolve leaves small residuals, mixing
  weights that rise steadily through 0.5 at the centre, and end shots that differ by more than a
  change of brightness. Motion, zooms and objects crossing the frame leave large residuals.
- **Fades.** A run of black frames (low mean and 95th percentile luma) between non-black frames
  is one boundary at the centre of the run, its span widened by the luma ramps either side.
  A fade in at the start of the clip or out at its end is not a boundary. Cuts and dissolves
  found inside a fade are dropped.

Latency is bounded by about ``dissolve_half + revert_frames + 12`` frames (about 40 at the
defaults), except that a black run is reported only once it ends (its centre is not known
before).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from rushes.analysis.boundaries import Boundary, BoundaryDetector, check_finite

_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)  # Rec.709 weights
_HIST_BINS = (16, 4, 4)  # hue, saturation, value


def reduce_frame(frame: np.ndarray, small: tuple[int, int], thumb: tuple[int, int]) -> tuple[
    np.ndarray, np.ndarray
]:
    """Area-average a frame to a small image and a thumbnail, clipped to [0, 1].

    Args:
        frame: Display-encoded RGB in [0, 1].
        small: (width, height) of the small image (histograms).
        thumb: (width, height) of the thumbnail (pixel comparisons).

    Shape:
        frame: (H, W, 3) float32 -> (small[1], small[0], 3), (thumb[1], thumb[0], 3) float32
    """
    s = cv2.resize(frame, small, interpolation=cv2.INTER_AREA)
    np.clip(s, 0.0, 1.0, out=s)
    t = cv2.resize(s, thumb, interpolation=cv2.INTER_AREA)
    return s, t


def hsv_histogram(small: np.ndarray) -> np.ndarray:
    """Normalised HSV histogram: 16 hues x 3 saturations x 4 values, plus 4 values for greys.

    The lowest saturation quarter is counted by value only (hue is noise there).

    Args:
        small: Display-encoded RGB in [0, 1].

    Shape:
        small: (h, w, 3) float32 -> (196,) float32 summing to 1
    """
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    h = cv2.calcHist([hsv], [0, 1, 2], None, list(_HIST_BINS), [0, 360, 0, 1.0001, 0, 1.0001])
    grey = h[:, 0, :].sum(axis=0)
    out = np.concatenate([h[:, 1:, :].ravel(), grey])
    total = float(out.sum())
    return out / total if total > 0 else out


def hist_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Half the L1 distance of two normalised histograms, in [0, 1].

    Shape:
        a, b: (..., B) -> (...)
    """
    return float(0.5 * np.abs(a - b).sum())


def blend_fit(window: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Fit each inner row of ``window`` as a linear mix of its first and last rows.

    Row ``i`` is modelled as ``(1 - alpha_i) * first + alpha_i * last``.

    Args:
        window: Thumbnails in time order, flattened.

    Shape:
        window: (K, N), K >= 3 -> alphas (K - 2,)

    Returns:
        ``(alphas, residual, change)``: the mixing weights of the inner rows, the RMS residual
        relative to the distance between the end rows, and that distance (RMS per value).
    """
    first, last = window[0], window[-1]
    d = last - first
    dd = float(d @ d)
    change = math.sqrt(dd / d.size)
    if dd <= 1e-12:
        return np.zeros(len(window) - 2, dtype=np.float32), math.inf, change
    x = window[1:-1] - first
    alphas = (x @ d) / dd
    res = x - alphas[:, None] * d
    residual = math.sqrt(float(np.einsum("ij,ij->", res, res)) / (len(x) * dd))
    return alphas, residual, change


def gain_residual(a: np.ndarray, b: np.ndarray) -> float:
    """How badly ``b`` is explained as a per-channel gain and offset of ``a``.

    Returns the residual of the least-squares fit ``b ~ g * a + o`` (per channel) relative to the
    distance between ``a`` and ``b``: near 0 for an exposure or brightness change of one shot,
    near 1 for two unrelated shots.

    Shape:
        a, b: (h, w, 3) thumbnails
    """
    a2 = a.reshape(-1, 3).astype(np.float64)
    b2 = b.reshape(-1, 3).astype(np.float64)
    am = a2 - a2.mean(axis=0)
    bm = b2 - b2.mean(axis=0)
    var = (am * am).sum(axis=0)
    g = np.where(var > 1e-9, (am * bm).sum(axis=0) / np.maximum(var, 1e-9), 0.0)
    res = bm - am * g
    dist = float(((b2 - a2) ** 2).sum())
    if dist <= 1e-12:
        return 0.0
    return math.sqrt(float((res * res).sum()) / dist)


@dataclass
class _Candidate:
    frame: int
    kind: str
    start: int
    end: int
    score: float
    # for cuts: frames before/after (for the revert check)
    revert_until: int = -1


class BlendDetector(BoundaryDetector):
    """Cuts, dissolves and fades through black in one streaming pass (see module docstring).

    Args:
        fps: Frame rate of the clip (> 0); the flash and revert windows scale with it.
        cut_threshold: Minimum change (in [0, 1]) between two frames for a cut.
        cut_ratio: Minimum ratio of a cut's change to the mean change around it.
        flash_frames: Longest flash (frames) that is not a cut; default ``0.2 * fps``, >= 2.
        revert_frames: A cut whose new shot turns back into the old one within this many frames
            is dropped with its return; default ``0.5 * fps``.
        dissolve_half: Largest half-width (frames) of the window fitted for dissolves; longer
            dissolves are found from their middle part. Default ``0.5 * fps``, 4..16.
        dissolve_residual: Largest relative residual of the blend fit for a dissolve.
        min_change: Smallest RMS thumbnail difference between the shots of a dissolve.
        black_level: Largest mean luma of a black frame (its 95th percentile may be twice it).
        min_shot: Boundaries closer than this (frames) are merged, keeping the stronger.

    Example:
        >>> det = BlendDetector(fps=25.0)
        >>> found = []
        >>> for i, frame in enumerate(frames):  # doctest: +SKIP
        ...     found += det.push(i, frame)
        >>> found += det.finish()  # doctest: +SKIP
    """

    def __init__(
        self,
        fps: float = 24.0,
        *,
        cut_threshold: float = 0.3,
        cut_ratio: float = 3.0,
        flash_frames: int | None = None,
        revert_frames: int | None = None,
        dissolve_half: int | None = None,
        dissolve_residual: float = 0.3,
        min_change: float = 0.04,
        black_level: float = 0.05,
        min_shot: int = 4,
    ) -> None:
        super().__init__(fps)
        for name, value in (
            ("cut_threshold", cut_threshold),
            ("cut_ratio", cut_ratio),
            ("dissolve_residual", dissolve_residual),
            ("min_change", min_change),
            ("black_level", black_level),
        ):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value}")
        self.cut_threshold = float(cut_threshold)
        self.cut_ratio = float(cut_ratio)
        self.flash_frames = max(2, round(0.2 * self.fps)) if flash_frames is None else flash_frames
        self.revert_frames = (
            max(self.flash_frames + 1, round(0.5 * self.fps))
            if revert_frames is None
            else revert_frames
        )
        self.dissolve_half = (
            min(16, max(4, round(0.5 * self.fps))) if dissolve_half is None else dissolve_half
        )
        if self.flash_frames < 1 or self.revert_frames < 1 or self.dissolve_half < 2:
            raise ValueError(
                "flash_frames, revert_frames must be >= 1 and dissolve_half >= 2; got "
                f"{self.flash_frames}, {self.revert_frames}, {self.dissolve_half}"
            )
        self.dissolve_residual = float(dissolve_residual)
        self.min_change = float(min_change)
        self.black_level = float(black_level)
        self.min_shot = int(min_shot)
        self._ks = sorted({k for k in (3, 4, 6, 8, 11, 16) if k <= self.dissolve_half})
        self._ks = [*self._ks, self.dissolve_half] if self.dissolve_half not in self._ks else self._ks
        self._window = 4  # neighbours either side for the cut ratio
        self._cut_lag = max(self._window, self.flash_frames)
        self._cap = 2 * self.dissolve_half + self.revert_frames + 2 * self.flash_frames + 16
        self._first: int | None = None
        self._t = -1
        self._sizes: tuple[tuple[int, int], tuple[int, int]] | None = None
        # ring buffers, allocated on the first frame
        self._thumb = np.zeros((0, 0), np.float32)
        self._hist = np.zeros((0, 0), np.float32)
        self._ymean = np.zeros(0, np.float32)
        self._dark = np.zeros(0, bool)
        self._change = np.zeros(0, np.float32)  # combined change from frame t-1 to t
        self._step = np.zeros(0, np.float32)  # L2 thumbnail step from t-1 to t
        # candidates and state
        self._cuts: list[_Candidate] = []
        self._dissolves: list[_Candidate] = []
        self._fades: list[_Candidate] = []
        self._cluster: list[_Candidate] = []
        self._dark_start: int | None = None  # first frame of the open black run
        self._fade_wait: tuple[int, int, int] | None = None  # (start, dark start, dark end)
        self._emitted_until = -1
        self._last_emitted: Boundary | None = None

    # ---------------------------------------------------------------------------------------
    # features

    def _setup(self, shape: tuple[int, ...]) -> None:
        h, w = shape[:2]

        def fit(long: int) -> tuple[int, int]:
            s = long / max(h, w)
            return max(2, round(w * s)), max(2, round(h * s))

        small, thumb = fit(64), fit(32)
        self._sizes = (small, thumb)
        n = thumb[0] * thumb[1] * 3
        c = self._cap
        self._thumb = np.zeros((c, n), np.float32)
        self._hist = np.zeros((c, 16 * 3 * 4 + 4), np.float32)
        self._ymean = np.zeros(c, np.float32)
        self._dark = np.zeros(c, bool)
        self._change = np.zeros(c, np.float32)
        self._step = np.zeros(c, np.float32)

    def _pair_change(self, a: int, b: int) -> float:
        """Combined change in [0, 1] between buffered frames ``a`` and ``b``."""
        ra, rb = a % self._cap, b % self._cap
        dh = hist_distance(self._hist[ra], self._hist[rb])
        dp = float(np.abs(self._thumb[ra] - self._thumb[rb]).mean())
        return 0.5 * dh + 0.5 * min(1.0, dp / 0.2)

    def push(self, index: int, frame: np.ndarray) -> list[Boundary]:
        """Add the next frame; return the boundaries that became final (see the base class).

        Shape:
            frame: (H, W, 3) float32 display-encoded RGB in [0, 1]
        """
        frame = self.check_frame(index, frame)
        if self._sizes is None:
            self._setup(frame.shape)
            self._first = index
        assert self._sizes is not None and self._first is not None
        small, thumb = reduce_frame(frame, *self._sizes)
        check_finite(index, thumb)
        t = index
        r = t % self._cap
        self._t = t
        self._thumb[r] = thumb.ravel()
        self._hist[r] = hsv_histogram(small)
        y = thumb @ _LUMA
        ym = float(y.mean())
        self._ymean[r] = ym
        self._dark[r] = ym <= self.black_level and float(np.percentile(y, 95)) <= (
            2 * self.black_level
        )
        if t > self._first:
            rp = (t - 1) % self._cap
            diff = self._thumb[r] - self._thumb[rp]
            self._step[r] = math.sqrt(float(diff @ diff))
            dh = hist_distance(self._hist[r], self._hist[rp])
            dp = float(np.abs(diff).mean())
            self._change[r] = 0.5 * dh + 0.5 * min(1.0, dp / 0.2)
        else:
            self._step[r] = 0.0
            self._change[r] = 0.0

        self._track_black(t)
        self._find_cut(t - self._cut_lag)
        self._find_dissolve(t - self.dissolve_half)
        return self._emit(final=False)

    def finish(self) -> list[Boundary]:
        """Flush at the end of the clip: the boundaries not returned yet, in frame order."""
        if self._first is None:
            return []
        last = self._t
        # cuts and dissolves that could not be checked against a full future window
        for p in range(last - self._cut_lag + 1, last + 1):
            self._find_cut(p, end=last)
        self._close_cluster(force=True)
        # an open black run reaches the end of the clip: a fade out, not a boundary
        if self._fade_wait is not None:
            start, ds, de = self._fade_wait
            self._add_fade(start, ds, de, last)
            self._fade_wait = None
        self._dark_start = None
        return self._emit(final=True)

    # ---------------------------------------------------------------------------------------
    # fades

    def _track_black(self, t: int) -> None:
        assert self._first is not None
        dark = bool(self._dark[t % self._cap])
        if self._fade_wait is not None:
            start, ds, de = self._fade_wait
            # the fade in ends when the luma stops rising (or the ramp is long enough)
            prev = float(self._ymean[(t - 1) % self._cap])
            cur = float(self._ymean[t % self._cap])
            if dark or cur <= prev * 1.01 or t - de > 2 * self.dissolve_half:
                self._add_fade(start, ds, de, t - 1 if not dark else t)
                self._fade_wait = None
        if dark and self._dark_start is None and self._fade_wait is None:
            self._dark_start = t
        elif not dark and self._dark_start is not None:
            ds, de = self._dark_start, t - 1
            self._dark_start = None
            if ds == self._first:
                return  # fade in from the start of the clip
            # the fade out: luma falling into the black run
            start = ds
            lo = max(self._first, t - self._cap + 1, ds - 2 * self.dissolve_half)
            while start - 1 >= lo and float(self._ymean[(start - 1) % self._cap]) > float(
                self._ymean[start % self._cap]
            ):
                start -= 1
            self._fade_wait = (start, ds, de)

    def _add_fade(self, start: int, ds: int, de: int, end: int) -> None:
        frame = (ds + de + 1) // 2
        self._fades.append(_Candidate(frame, "fade", min(start, frame), max(end, frame), 1.0))

    # ---------------------------------------------------------------------------------------
    # cuts

    def _find_cut(self, p: int, end: int | None = None) -> None:
        """Decide whether frame ``p`` starts a new shot (future known up to ``end``)."""
        assert self._first is not None
        last = self._t if end is None else end
        if p <= self._first or p > last:
            return
        cap = self._cap
        c = float(self._change[p % cap])
        if c < self.cut_threshold:
            return
        lo = max(self._first + 1, p - self._window, last - cap + 1)
        hi = min(last, p + self._window)
        around = [float(self._change[i % cap]) for i in range(lo, hi + 1) if i != p]
        base = sum(around) / len(around) if around else 0.0
        if c < self.cut_ratio * base:
            return
        # flash / occlusion check: some frame after must not be close to some frame before
        f = self.flash_frames
        before = range(max(self._first, p - f, last - cap + 1), p)
        after = range(p, min(last, p + f) + 1)
        cross = min(
            (self._pair_change(a, b) for a in before for b in after if (a, b) != (p - 1, p)),
            default=c,
        )
        if cross < 0.5 * c:
            return
        score = min(1.0, c / (2 * self.cut_threshold)) * min(1.0, cross / c)
        # a new shot that turns back into the one before: something crossed the lens
        for prev in self._cuts:
            if prev.revert_until >= p and prev.frame < p:
                back = self._pair_change(prev.frame - 1, p)
                if back < 0.5 * min(c, prev.score + self.cut_threshold):
                    self._cuts.remove(prev)
                    return
        self._cuts.append(_Candidate(p, "cut", p, p, score, revert_until=p + self.revert_frames))

    # ---------------------------------------------------------------------------------------
    # dissolves

    def _find_dissolve(self, c: int) -> None:
        """Test frame ``c`` as the centre of a dissolve with every half-width."""
        assert self._first is not None
        cap = self._cap
        best: _Candidate | None = None
        for k in self._ks:
            s, e = c - k, c + k
            if s < self._first or e > self._t or e - s >= cap:
                continue
            rs, re_ = s % cap, e % cap
            if self._dark[rs] or self._dark[re_]:
                continue  # to or from black: a fade
            d = self._thumb[re_] - self._thumb[rs]
            dist = math.sqrt(float(d @ d))
            change = dist / math.sqrt(d.size)
            if change < self.min_change:
                continue
            path = float(sum(self._step[i % cap] for i in range(s + 1, e + 1)))
            if path <= 0 or dist / path < 0.6:
                continue
            idx = [i % cap for i in range(s, e + 1)]
            alphas, residual, _ = blend_fit(self._thumb[idx])
            if residual > self.dissolve_residual:
                continue
            mid = float(alphas[k - 1])
            if not 0.25 <= mid <= 0.75:
                continue
            inner = int(((alphas > 0.15) & (alphas < 0.85)).sum())
            if inner < 2:
                continue
            drops = float(np.clip(-np.diff(alphas), 0, None).sum())
            if drops > 0.25:
                continue
            shape = self._thumb.shape[1] // 3
            a_img = self._thumb[rs].reshape(shape, 3)
            b_img = self._thumb[re_].reshape(shape, 3)
            if gain_residual(a_img, b_img) < 0.4:
                continue  # a change of exposure or light, not a change of shot
            # transition span from the mixing weights
            ramp = np.flatnonzero((alphas > 0.1) & (alphas < 0.9))
            start = s + 1 + int(ramp[0]) if ramp.size else c
            stop = s + 1 + int(ramp[-1]) if ramp.size else c
            # centre: where the weight crosses 0.5
            above = np.flatnonzero(alphas >= 0.5)
            centre = s + 1 + int(above[0]) if above.size else c
            score = (
                (1.0 - residual / self.dissolve_residual)
                * min(1.0, change / (3 * self.min_change))
                * (1.0 - drops)
            )
            cand = _Candidate(centre, "dissolve", start, stop, max(0.0, min(1.0, score)))
            if best is None or cand.score > best.score:
                best = cand
        if best is not None:
            self._cluster.append(best)
        self._close_cluster(force=False, now=c)

    def _close_cluster(self, force: bool, now: int = 0) -> None:
        if not self._cluster:
            return
        if force or now - max(x.end for x in self._cluster) > self.dissolve_half:
            best = max(self._cluster, key=lambda x: x.score)
            start = min(x.start for x in self._cluster)
            end = max(x.end for x in self._cluster)
            frame = best.frame
            self._dissolves.append(
                _Candidate(frame, "dissolve", min(start, frame), max(end, frame), best.score)
            )
            self._cluster = []

    # ---------------------------------------------------------------------------------------
    # resolution and output

    def _emit(self, final: bool) -> list[Boundary]:
        """Resolve candidates that can no longer change and return them as boundaries."""
        if final:
            horizon = self._t + 1
        else:
            horizon = self._t - self.dissolve_half - self.revert_frames - 2 * self.flash_frames
            horizon = min(horizon, self._t - 2 * self.dissolve_half - 4)
            if self._cluster:
                horizon = min(horizon, min(x.start for x in self._cluster) - 1)
            if self._dark_start is not None:
                horizon = min(horizon, self._dark_start - 2 * self.dissolve_half - 2)
            if self._fade_wait is not None:
                horizon = min(horizon, self._fade_wait[0] - 1)
        ready: list[_Candidate] = []
        for pool in (self._fades, self._cuts, self._dissolves):
            keep = []
            for cand in pool:
                (ready if cand.frame < horizon else keep).append(cand)
            pool[:] = keep
        if not ready:
            return []
        # fades win over what they contain; cuts over dissolves they fall in
        fades = [x for x in ready if x.kind == "fade"]
        out = list(fades)
        cuts = [
            x
            for x in ready
            if x.kind == "cut" and not any(f.start - 1 <= x.frame <= f.end + 1 for f in fades)
        ]
        out += cuts
        for x in ready:
            if x.kind != "dissolve":
                continue
            if any(f.start - 1 <= x.frame <= f.end + 1 for f in fades):
                continue
            if any(x.start - 1 <= cu.frame <= x.end + 1 for cu in cuts):
                continue
            out.append(x)
        out.sort(key=lambda x: x.frame)
        result: list[Boundary] = []
        for x in out:
            b = Boundary(x.frame, x.kind, x.start, x.end, round(float(x.score), 4))
            last = self._last_emitted
            if last is not None and b.frame - last.frame < self.min_shot:
                if b.score <= last.score:
                    continue
                if result and result[-1] is last:
                    result[-1] = b
                    self._last_emitted = b
                    continue
            result.append(b)
            self._last_emitted = b
        return result
