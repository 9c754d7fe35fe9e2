"""Colour statistics, exposure and clipping of display-encoded frames.

Two levels, both fed with analysis-size frames (long side ~320 px):

- :func:`frame_color_stats` turns one frame into a small float32 vector (one entry per name in
  :data:`FRAME_FIELDS`) that ingest stores per frame (a shot of 1,000 frames is 44 kB).
- :class:`ShotColorAccumulator` folds every frame of a shot into fixed-size histograms (bounded
  memory whatever the shot length) and reports a JSON-ready summary with an exposure verdict.

Frames are float32 ``(H, W, 3)`` RGB display code values (Rec.709 / sRGB encoded) in [0, 1].
Luma is Rec.709 luma ``Y' = 0.2126 R' + 0.7152 G' + 0.0722 B'`` computed on the code values.
Exposure is judged on scene light: the luma code values are linearised with the inverse Rec.709
OETF and compared with 18 % mid-grey (code value :data:`MID_GREY_CODE` ≈ 0.409); sRGB-encoded
material therefore reads about +0.3 stop brighter than it would against an sRGB mid-grey.

The module also holds the input checks shared by the other ``rushes.analysis`` kernels
(:func:`check_frame`, :func:`check_gray`) and :func:`rgb_to_luma`.

Example:
    >>> import numpy as np
    >>> grey = np.full((180, 320, 3), MID_GREY_CODE, np.float32)
    >>> acc = ShotColorAccumulator()
    >>> acc.update(grey)
    >>> acc.result()["exposure"]
    'normal'
"""

from __future__ import annotations

import math
import threading
from typing import Any

import cv2
import numpy as np

__all__ = [
    "CLIP_HIGH",
    "CLIP_LOW",
    "FRAME_FIELDS",
    "HIST_BINS",
    "MID_GREY_CODE",
    "ShotColorAccumulator",
    "check_frame",
    "check_gray",
    "exposure_offset_stops",
    "frame_color_stats",
    "rec709_to_linear",
    "rgb_to_luma",
    "scratch",
]

FRAME_FIELDS: tuple[str, ...] = (
    "mean_r",
    "mean_g",
    "mean_b",
    "luma_mean",
    "luma_std",
    "luma_p01",
    "luma_p50",
    "luma_p99",
    "clip_low",
    "clip_high",
    "saturation",
)
"""Names of the entries of the vector returned by :func:`frame_color_stats`, in order.

``clip_low`` is the fraction of pixels whose three channels are all at or below
:data:`CLIP_LOW` (crushed black); ``clip_high`` the fraction with at least one channel at or
above :data:`CLIP_HIGH` (a channel clipped, hue no longer reliable); ``saturation`` the mean
chroma ``max(R, G, B) - min(R, G, B)`` in [0, 1] (0 for a grey frame).
"""

REC709_LUMA = np.array([[0.2126, 0.7152, 0.0722]], np.float32)
"""Rec.709 luma weights as a (1, 3) matrix for ``cv2.transform``."""

CLIP_LOW = 4.0 / 255.0
"""A channel at or below this code value is treated as crushed to black."""

CLIP_HIGH = 251.0 / 255.0
"""A channel at or above this code value is treated as clipped (8-bit codecs ring near 255)."""

MID_GREY_CODE = 1.099 * 0.18**0.45 - 0.099
"""Rec.709 code value of an 18 % grey card (≈ 0.409): the 0-stop exposure reference."""

HIST_BINS = 64
"""Bins of the per-channel histograms reported per shot."""

LUMA_BINS = 1024
"""Bins of the internal luma histogram used for percentiles (1/1024 code value resolution)."""

UNDER_STOPS = -1.5
"""Exposure offsets at or below this (stops from mid-grey) are reported as ``"under"``."""

OVER_STOPS = 1.0
"""Exposure offsets at or above this are reported as ``"over"``."""

CLIPPED_UNDER = 0.5
"""A shot with more than this fraction of crushed pixels is ``"under"`` whatever its key."""

CLIPPED_OVER = 0.25
"""A shot with more than this fraction of clipped pixels is ``"over"`` whatever its key."""

STOPS_FLOOR = -10.0
"""Linear light is floored at ``0.18 * 2**STOPS_FLOOR`` before taking logs (black frames)."""

_HIST_TOP = 1.0 + 1e-6  # calcHist ranges are half-open; keep exact 1.0 in the last bin


# --------------------------------------------------------------------------------------------
# input checks shared by the analysis kernels


def check_frame(frame: Any, name: str = "frame") -> np.ndarray:
    """Validate an RGB analysis frame and return it as contiguous float32.

    Args:
        frame: the image to check.
        name: how to call it in error messages.

    Returns:
        The frame as a C-contiguous float32 array (the same object when it already was one).

    Raises:
        ValueError: not an array of shape (H, W, 3), not floating point, empty, or holding NaN
            or infinite values.

    Shape:
        frame: ``(H, W, 3)`` RGB, display-encoded code values in [0, 1].
    """
    arr = np.asarray(frame)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"{name} has shape {arr.shape}; give an RGB image of shape (H, W, 3)")
    return _check_pixels(arr, name)


def check_gray(gray: Any, name: str = "gray") -> np.ndarray:
    """Validate a single-channel analysis image and return it as contiguous float32.

    Args:
        gray: the image to check.
        name: how to call it in error messages.

    Returns:
        The image as a C-contiguous float32 array.

    Raises:
        ValueError: not 2-D, smaller than 2x2, not floating point, or holding NaN/inf values.

    Shape:
        gray: ``(H, W)`` luma code values in [0, 1].
    """
    arr = np.asarray(gray)
    if arr.ndim != 2:
        hint = " (convert RGB with rgb_to_luma)" if arr.ndim == 3 else ""
        raise ValueError(f"{name} has shape {arr.shape}; give a 2-D (H, W) image{hint}")
    return _check_pixels(arr, name)


def _check_pixels(arr: np.ndarray, name: str) -> np.ndarray:
    """Size, dtype and finiteness checks shared by :func:`check_frame` and :func:`check_gray`."""
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        raise ValueError(f"{name} is {arr.shape[1]}x{arr.shape[0]}; give at least 2x2 pixels")
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(
            f"{name} has dtype {arr.dtype}; give float32 code values in [0, 1] "
            "(divide 8-bit images by 255)"
        )
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    # the sum is NaN/inf as soon as one sample is; one pass instead of isfinite + all.
    # Viewed single-channel (H, W*C) so sumElems' first entry covers every sample.
    if not math.isfinite(float(cv2.sumElems(arr.reshape(arr.shape[0], -1))[0])):
        raise ValueError(f"{name} holds NaN or infinite values; give finite code values in [0, 1]")
    return arr


# --------------------------------------------------------------------------------------------
# pure kernels


def rgb_to_luma(frame: np.ndarray) -> np.ndarray:
    """Rec.709 luma of display-encoded RGB.

    Args:
        frame: RGB code values.

    Returns:
        Luma ``0.2126 R' + 0.7152 G' + 0.0722 B'``, float32.

    Raises:
        ValueError: see :func:`check_frame`.

    Shape:
        frame: ``(H, W, 3)`` float32 RGB display code values in [0, 1].
        return: ``(H, W)`` float32 in [0, 1].
    """
    arr = check_frame(frame)
    return np.asarray(cv2.transform(arr, REC709_LUMA)).reshape(arr.shape[:2])


def rec709_to_linear(code: np.ndarray | float) -> np.ndarray:
    """Inverse Rec.709 OETF: display code values to relative scene light.

    Args:
        code: code values in [0, 1] (values outside are clipped).

    Returns:
        Scene-linear values in [0, 1], float64, the shape of ``code``.
    """
    v = np.clip(np.asarray(code, np.float64), 0.0, 1.0)
    return np.where(v < 0.081, v / 4.5, ((v + 0.099) / 1.099) ** (1.0 / 0.45))


def exposure_offset_stops(luma_hist: np.ndarray) -> float:
    """Exposure of a luma histogram in stops relative to 18 % mid-grey.

    The key is the log-average (geometric mean) of scene-linear light, the usual metering
    statistic; each bin is linearised at its centre and floored at :data:`STOPS_FLOOR` stops.

    Args:
        luma_hist: counts of a uniform histogram of luma code values over [0, 1].

    Returns:
        ``log2(key / 0.18)``: 0 for a mid-grey frame, about -10 for black, +2.5 for white;
        0.0 for an empty histogram.

    Shape:
        luma_hist: ``(B,)`` non-negative counts.
    """
    h = np.asarray(luma_hist, np.float64).ravel()
    total = h.sum()
    if total <= 0:
        return 0.0
    centres = (np.arange(h.size) + 0.5) / h.size
    lin = np.maximum(rec709_to_linear(centres), 0.18 * 2.0**STOPS_FLOOR)
    stops = np.log2(lin / 0.18)
    return float((h * stops).sum() / total)


def _percentiles(hist: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """Percentiles (``qs`` in [0, 1]) of a uniform [0, 1] histogram, linear within a bin."""
    h = np.asarray(hist, np.float64).ravel()
    cdf = np.cumsum(h)
    total = cdf[-1]
    if total <= 0:
        return np.zeros(len(qs))
    target = np.asarray(qs, np.float64) * total
    idx = np.searchsorted(cdf, target, side="left").clip(0, h.size - 1)
    below = np.where(idx > 0, cdf[idx - 1], 0.0)
    inside = np.where(h[idx] > 0, (target - below) / np.maximum(h[idx], 1e-12), 0.5)
    return np.clip((idx + np.clip(inside, 0.0, 1.0)) / h.size, 0.0, 1.0)


_P_FRAME = np.array([0.01, 0.50, 0.99])
_P_SHOT = np.array([0.01, 0.05, 0.50, 0.95, 0.99])
_P_SHOT_KEYS = ("p01", "p05", "p50", "p95", "p99")

_scratch_local = threading.local()


def scratch(key: str, shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
    """A reusable per-thread work buffer (uninitialised).

    Frame-size temporaries are reused because allocating a fresh 200 kB array costs a round of
    page faults that is slower than the arithmetic done in it. Only private intermediates live
    here; nothing returned to a caller aliases a scratch buffer.

    Args:
        key: the buffer's name; one buffer per (thread, key).
        shape: wanted shape; the buffer is reallocated when it changes.
        dtype: wanted dtype.

    Returns:
        A C-contiguous array of that shape and dtype, contents undefined.
    """
    bufs: dict[str, np.ndarray] | None = getattr(_scratch_local, "bufs", None)
    if bufs is None:
        bufs = {}
        _scratch_local.bufs = bufs
    buf = bufs.get(key)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = np.empty(shape, dtype)
        bufs[key] = buf
    return buf


def _frame_kernel(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame statistics of a checked frame.

    Returns:
        (vector of FRAME_FIELDS, luma histogram of LUMA_BINS float32 counts, the frame as
        measured, i.e. clipped to [0, 1] when it was not).
    """
    h, w = arr.shape[:2]
    lo, hi, _, _ = cv2.minMaxLoc(arr.reshape(h, w * 3))
    if lo < 0.0 or hi > 1.0:  # e.g. super-whites or resampling overshoot: count them at the ends
        arr = np.clip(arr, 0.0, 1.0)
    mean_rgb = cv2.mean(arr)[:3]
    y = cv2.transform(arr, REC709_LUMA, dst=scratch("luma", (h, w, 1))).reshape(h, w)
    y_mean, y_std = cv2.meanStdDev(y)
    hist = cv2.calcHist([y], [0], None, [LUMA_BINS], [0.0, _HIST_TOP]).ravel()
    p01, p50, p99 = _percentiles(hist, _P_FRAME)
    r = cv2.extractChannel(arr, 0, dst=scratch("r", (h, w)))
    g = cv2.extractChannel(arr, 1, dst=scratch("g", (h, w)))
    b = cv2.extractChannel(arr, 2, dst=scratch("b", (h, w)))
    mx = cv2.max(r, g, dst=scratch("max", (h, w)))
    cv2.max(mx, b, dst=mx)
    mn = cv2.min(r, g, dst=r)
    cv2.min(mn, b, dst=mn)
    n = float(h * w)
    mask = scratch("mask", (h, w), np.bool_)
    clip_low = np.count_nonzero(np.less_equal(mx, CLIP_LOW, out=mask)) / n
    clip_high = np.count_nonzero(np.greater_equal(mx, CLIP_HIGH, out=mask)) / n
    saturation = cv2.mean(cv2.subtract(mx, mn, dst=g))[0]
    vec = np.array(
        [
            mean_rgb[0],
            mean_rgb[1],
            mean_rgb[2],
            float(y_mean[0, 0]),
            float(y_std[0, 0]),
            p01,
            p50,
            p99,
            clip_low,
            clip_high,
            saturation,
        ],
        np.float32,
    )
    return vec, hist, arr


def frame_color_stats(frame: np.ndarray) -> np.ndarray:
    """Colour and exposure statistics of one frame.

    Values outside [0, 1] (super-whites, resampling overshoot) are clipped before measuring.

    Args:
        frame: the analysis-size frame.

    Returns:
        float32 vector, one entry per name in :data:`FRAME_FIELDS`: channel means, luma mean and
        standard deviation, luma 1st/50th/99th percentiles (from a 1024-bin histogram, linear
        within a bin), crushed and clipped pixel fractions, mean chroma. All in [0, 1].

    Raises:
        ValueError: wrong shape, non-float dtype, NaN or infinite values.

    Shape:
        frame: ``(H, W, 3)`` float32 RGB, display-encoded (Rec.709/sRGB) code values in [0, 1].
        return: ``(len(FRAME_FIELDS),)`` float32.

    Example:
        >>> import numpy as np
        >>> v = frame_color_stats(np.zeros((180, 320, 3), np.float32))
        >>> float(v[FRAME_FIELDS.index("clip_low")])
        1.0
    """
    return _frame_kernel(check_frame(frame))[0]


# --------------------------------------------------------------------------------------------
# per-shot accumulation


def _verdict(offset: float, clip_low: float, clip_high: float) -> str:
    if offset <= UNDER_STOPS or clip_low > CLIPPED_UNDER:
        return "under"
    if offset >= OVER_STOPS or clip_high > CLIPPED_OVER:
        return "over"
    return "normal"


class ShotColorAccumulator:
    """Fold the frames of one shot into fixed-size colour statistics.

    Memory is constant (a 1024-bin luma histogram, three 64-bin channel histograms and a few
    sums), so a shot of any length can be streamed through it.

    Attributes:
        frames: number of frames accumulated.
        last: the :func:`frame_color_stats` vector of the last frame given to :meth:`update`, so
            a pipeline that wants both per-frame vectors and the shot summary computes them once.

    Example:
        >>> import numpy as np
        >>> acc = ShotColorAccumulator()
        >>> acc.update(np.zeros((180, 320, 3), np.float32))
        >>> acc.result()["exposure"]
        'under'
    """

    def __init__(self) -> None:
        self.frames = 0
        self.last: np.ndarray | None = None
        self._pixels = 0.0
        self._rgb_sum = np.zeros(3, np.float64)
        self._luma_sum = 0.0
        self._luma_sq_sum = 0.0
        self._sat_sum = 0.0
        self._clip_low = 0.0
        self._clip_high = 0.0
        self._luma_hist = np.zeros(LUMA_BINS, np.float64)
        self._rgb_hist = np.zeros((3, HIST_BINS), np.float64)

    def update(self, frame: np.ndarray) -> None:
        """Add one frame.

        Args:
            frame: an analysis-size frame of the shot (frames may differ in size; each pixel
                counts once).

        Raises:
            ValueError: wrong shape, non-float dtype, NaN or infinite values.

        Shape:
            frame: ``(H, W, 3)`` float32 RGB display code values in [0, 1].
        """
        vec, hist, arr = _frame_kernel(check_frame(frame))
        n = float(arr.shape[0] * arr.shape[1])
        self.frames += 1
        self.last = vec
        self._pixels += n
        self._rgb_sum += vec[:3].astype(np.float64) * n
        self._luma_sum += float(vec[3]) * n
        self._luma_sq_sum += (float(vec[4]) ** 2 + float(vec[3]) ** 2) * n
        self._clip_low += float(vec[8]) * n
        self._clip_high += float(vec[9]) * n
        self._sat_sum += float(vec[10]) * n
        self._luma_hist += hist
        # 64-bin channel histograms on 8-bit codes: 4 codes per bin, ~5x cheaper than float bins
        codes = cv2.convertScaleAbs(arr, alpha=255.0)
        for c in range(3):
            self._rgb_hist[c] += cv2.calcHist([codes], [c], None, [HIST_BINS], [0, 256]).ravel()

    def result(self) -> dict[str, Any]:
        """Summary of the shot so far.

        Returns:
            A JSON-serializable dict:

            - ``frames``, ``pixels``: how much was accumulated.
            - ``mean_rgb``: ``[r, g, b]`` mean code values.
            - ``luma_mean``, ``luma_std``: over all pixels of all frames.
            - ``luma_percentiles``: ``{"p01", "p05", "p50", "p95", "p99"}`` code values.
            - ``histograms``: ``{"r", "g", "b", "luma"}`` lists of :data:`HIST_BINS` fractions
              (each sums to 1) over [0, 1].
            - ``clip_low``, ``clip_high``: crushed / clipped pixel fractions (see
              :data:`FRAME_FIELDS`).
            - ``saturation``: mean chroma.
            - ``exposure_offset``: stops from 18 % mid-grey of the log-average scene light.
            - ``exposure``: ``"under"`` (offset ≤ -1.5 or more than half the pixels crushed),
              ``"over"`` (offset ≥ +1 or more than a quarter clipped) or ``"normal"``.

            Before any :meth:`update` every number is 0 and ``exposure`` is ``"normal"``.
        """
        n = self._pixels
        if n <= 0:
            zeros = [0.0] * HIST_BINS
            return {
                "frames": 0,
                "pixels": 0,
                "mean_rgb": [0.0, 0.0, 0.0],
                "luma_mean": 0.0,
                "luma_std": 0.0,
                "luma_percentiles": dict.fromkeys(_P_SHOT_KEYS, 0.0),
                "histograms": {k: list(zeros) for k in ("r", "g", "b", "luma")},
                "clip_low": 0.0,
                "clip_high": 0.0,
                "saturation": 0.0,
                "exposure_offset": 0.0,
                "exposure": "normal",
            }
        luma_mean = self._luma_sum / n
        luma_var = max(self._luma_sq_sum / n - luma_mean**2, 0.0)
        pct = _percentiles(self._luma_hist, _P_SHOT)
        luma64 = self._luma_hist.reshape(HIST_BINS, LUMA_BINS // HIST_BINS).sum(axis=1)
        clip_low = self._clip_low / n
        clip_high = self._clip_high / n
        offset = exposure_offset_stops(self._luma_hist)

        def frac(h: np.ndarray) -> list[float]:
            s = float(h.sum())
            return [round(float(v) / s, 7) if s > 0 else 0.0 for v in h]

        return {
            "frames": self.frames,
            "pixels": int(n),
            "mean_rgb": [round(float(v) / n, 6) for v in self._rgb_sum],
            "luma_mean": round(luma_mean, 6),
            "luma_std": round(math.sqrt(luma_var), 6),
            "luma_percentiles": {
                k: round(float(v), 6) for k, v in zip(_P_SHOT_KEYS, pct, strict=True)
            },
            "histograms": {
                "r": frac(self._rgb_hist[0]),
                "g": frac(self._rgb_hist[1]),
                "b": frac(self._rgb_hist[2]),
                "luma": frac(luma64),
            },
            "clip_low": round(clip_low, 6),
            "clip_high": round(clip_high, 6),
            "saturation": round(self._sat_sum / n, 6),
            "exposure_offset": round(offset, 3),
            "exposure": _verdict(offset, clip_low, clip_high),
        }
