"""Global camera motion between consecutive frames, and a per-shot camera-move summary.

:func:`estimate_motion` fits one similarity transform (translation, rotation, uniform scale)
from the previous analysis frame to the current one:

1. both frames are converted to 8-bit and halved until their long side is at most
   :data:`TRACK_LONG_SIDE` px (a 320-px analysis frame is tracked at 160 px: 4x cheaper, and
   sub-pixel tracking keeps the error near 0.05 px of the analysis frame);
2. Shi-Tomasi corners are detected and thinned to at most :data:`PER_CELL` per cell of a
   :data:`GRID` x :data:`GRID` grid, so a textured subject cannot out-vote the background by
   sheer number of corners;
3. pyramidal Lucas-Kanade tracks them; RANSAC (``cv2.estimateAffinePartial2D``) fits the
   similarity that most tracks agree with;
4. a locked-off camera filming a moving subject is the common case on set, so when the tracks
   that did not move at all are at least half as many as the RANSAC consensus, the camera is
   taken as still and the transform is refitted on those tracks alone (least squares);
5. with too few corners or no consensus, phase correlation gives a translation-only fallback
   at lower confidence.

Conventions of the returned row (:data:`MOTION_FIELDS`): ``dx``, ``dy`` are the translation
of the picture content about the frame centre, in fractions of the frame width / height
(positive: content moved right / down, i.e. the camera panned left / tilted up); ``rotation``
is in degrees, positive clockwise on screen; ``scale`` is the size ratio (> 1: content grew, a
zoom in or dolly in); ``confidence`` in [0, 1] is the share of tracks agreeing with the fit,
reduced when fewer than 20 agree (0 when nothing could be measured).

:func:`summarize_motion` turns the rows of a shot into one label, ``"static"``, ``"pan"``,
``"tilt"``, ``"zoom"`` or ``"handheld"`` (``"unknown"`` when no row is reliable), plus speeds.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> big = cv2.GaussianBlur(rng.random((200, 340), dtype=np.float32), (0, 0), 2.0)
    >>> row = estimate_motion(big[10:190, 10:330], big[10:190, 7:327])
    >>> round(float(row[0]) * 320, 1)  # content moved 3 px right
    3.0
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from rushes.analysis.color_stats import check_gray

__all__ = ["MOTION_FIELDS", "estimate_motion", "summarize_motion"]

MOTION_FIELDS: tuple[str, ...] = ("dx", "dy", "rotation", "scale", "confidence")
"""Names of the entries of an :func:`estimate_motion` row, in order."""

TRACK_LONG_SIDE = 200
"""Frames are halved until their long side is at most this many pixels before tracking."""

MAX_CORNERS = 200
"""Corners detected before grid thinning."""

GRID = 4
"""The frame is split into GRID x GRID cells for thinning corners."""

PER_CELL = 6
"""At most this many (strongest) corners are tracked per grid cell."""

MIN_POINTS = 8
"""Fewer tracked corners (or RANSAC inliers) than this switch to phase correlation."""

RANSAC_PX = 0.5
"""RANSAC inlier threshold, in pixels at tracking size (≈ 1 px of a 320-px frame)."""

FULL_SUPPORT = 20
"""Inlier count at and above which confidence is not reduced for a small consensus."""

PHASE_CONFIDENCE = 0.5
"""Phase-correlation fallbacks get at most this confidence."""

LK_WINDOW = 9
"""Lucas-Kanade window side, in pixels at tracking size."""

LK_LEVELS = 3
"""Pyramid levels above the tracking size: motions up to ~35 px at tracking size (~70 px of
a 320-px frame) per frame are followed."""

_LK_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.01)

_IDENTITY_ROW = np.array([0.0, 0.0, 0.0, 1.0, 1.0], np.float32)
_NO_MOTION_ROW = np.array([0.0, 0.0, 0.0, 1.0, 0.0], np.float32)


# --------------------------------------------------------------------------------------------
# estimate_motion


def _to_tracking(gray: np.ndarray) -> np.ndarray:
    img = cv2.convertScaleAbs(gray, alpha=255.0)
    while max(img.shape) > TRACK_LONG_SIDE:
        h, w = img.shape
        img = cv2.resize(img, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    return np.asarray(img)


def _thin(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """Keep the first (strongest) PER_CELL points of each grid cell, in their input order."""
    p = points.reshape(-1, 2)
    cx = np.minimum((p[:, 0] * (GRID / width)).astype(np.intp), GRID - 1)
    cy = np.minimum((p[:, 1] * (GRID / height)).astype(np.intp), GRID - 1)
    cell = cy * GRID + cx
    order = np.argsort(cell, kind="stable")
    sorted_cells = cell[order]
    rank = np.arange(sorted_cells.size) - np.searchsorted(sorted_cells, sorted_cells, "left")
    keep = np.sort(order[rank < PER_CELL])
    return np.ascontiguousarray(points[keep])


def _fit_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least-squares similarity (2x3) mapping points ``a`` onto ``b``, both (N, 2)."""
    ma = a.mean(axis=0)
    mb = b.mean(axis=0)
    pa = (a - ma).astype(np.float64)
    pb = (b - mb).astype(np.float64)
    den = float((pa * pa).sum())
    if den <= 1e-12:
        sa, sb = 1.0, 0.0
    else:
        sa = float((pa * pb).sum()) / den
        sb = float((pa[:, 0] * pb[:, 1] - pa[:, 1] * pb[:, 0]).sum()) / den
    rot = np.array([[sa, -sb], [sb, sa]])
    t = mb - rot @ ma
    return np.hstack([rot, t[:, None]])


def _row(m: np.ndarray, width: int, height: int, confidence: float) -> np.ndarray:
    a, b = float(m[0, 0]), float(m[1, 0])
    return np.array(
        [
            float(m[0, 2]) / width,
            float(m[1, 2]) / height,
            math.degrees(math.atan2(b, a)),
            math.hypot(a, b),
            min(max(confidence, 0.0), 1.0),
        ],
        np.float32,
    )


def _phase_correlation(p8: np.ndarray, c8: np.ndarray) -> np.ndarray:
    h, w = p8.shape
    if min(h, w) < 16:  # too small for a meaningful correlation peak
        return _NO_MOTION_ROW.copy()
    a = p8.astype(np.float32)
    b = c8.astype(np.float32)
    if float(a.std()) < 1.0 or float(b.std()) < 1.0:  # flat frames: nothing to measure
        return _NO_MOTION_ROW.copy()
    window = cv2.createHanningWindow((w, h), cv2.CV_32F)
    (sx, sy), response = cv2.phaseCorrelate(a, b, window)
    if not (math.isfinite(sx) and math.isfinite(sy) and math.isfinite(response)):
        return _NO_MOTION_ROW.copy()
    m = np.array([[1.0, 0.0, sx], [0.0, 1.0, sy]])
    return _row(m, w, h, PHASE_CONFIDENCE * min(max(response, 0.0), 1.0))


def _motion_kernel(p8: np.ndarray, c8: np.ndarray) -> np.ndarray:
    """Similarity motion between two 8-bit tracking-size images (see module docstring)."""
    h, w = p8.shape
    if cv2.norm(p8, c8, cv2.NORM_INF) == 0:  # repeated frame
        return _IDENTITY_ROW.copy()
    min_dist = max(3, min(h, w) // 25)
    corners = cv2.goodFeaturesToTrack(p8, MAX_CORNERS, 0.01, min_dist, blockSize=3)
    if corners is None or len(corners) < MIN_POINTS:
        return _phase_correlation(p8, c8)
    pts = _thin(corners.astype(np.float32), w, h)
    nxt, status, _ = cv2.calcOpticalFlowPyrLK(
        p8,
        c8,
        pts,
        np.empty_like(pts),
        winSize=(LK_WINDOW, LK_WINDOW),
        maxLevel=LK_LEVELS,
        criteria=_LK_CRITERIA,
    )
    ok = status.ravel().astype(bool)
    if int(ok.sum()) < MIN_POINTS:
        return _phase_correlation(p8, c8)
    centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0], np.float32)
    a = pts.reshape(-1, 2)[ok] - centre
    b = nxt.reshape(-1, 2)[ok] - centre
    m, inliers = cv2.estimateAffinePartial2D(
        a,
        b,
        method=cv2.RANSAC,
        ransacReprojThreshold=RANSAC_PX,
        maxIters=300,
        confidence=0.995,
        refineIters=10,
    )
    n_in = 0 if inliers is None else int(inliers.sum())
    still = np.hypot(b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]) < RANSAC_PX
    n_still = int(still.sum())
    if n_still >= MIN_POINTS and n_still >= 0.5 * n_in:
        m, n_in = _fit_similarity(a[still], b[still]), n_still
    elif m is None or n_in < MIN_POINTS:
        return _phase_correlation(p8, c8)
    confidence = n_in / len(pts) * min(1.0, n_in / FULL_SUPPORT)
    return _row(m, w, h, confidence)


def estimate_motion(prev_gray: np.ndarray, gray: np.ndarray) -> np.ndarray:
    """Global similarity motion of the picture from ``prev_gray`` to ``gray``.

    Robust to a subject moving in front of a still or moving background (grid-thinned
    corners, RANSAC, preference for "the camera did not move" when enough of the picture is
    still). Scene cuts and unmeasurable pairs (flat or black frames) come back with a low or
    zero confidence; callers should weight rows by it.

    Args:
        prev_gray: luma of the earlier frame.
        gray: luma of the later frame, same size.

    Returns:
        float32 row ``(dx, dy, rotation, scale, confidence)`` (see :data:`MOTION_FIELDS` and
        the module docstring for units and signs). Identical frames give
        ``(0, 0, 0, 1, 1)``; unmeasurable pairs ``(0, 0, 0, 1, 0)``.

    Raises:
        ValueError: an image is not 2-D float, is smaller than 2x2, holds NaN/inf, or the two
            sizes differ.

    Shape:
        prev_gray: ``(H, W)`` float32 Rec.709 luma code values in [0, 1] (analysis size, long
            side ~320 px; larger frames are halved internally).
        gray: ``(H, W)`` float32, same range and size.
        return: ``(5,)`` float32.
    """
    a = check_gray(prev_gray, "prev_gray")
    b = check_gray(gray, "gray")
    if a.shape != b.shape:
        raise ValueError(
            f"prev_gray is {a.shape[1]}x{a.shape[0]} but gray is {b.shape[1]}x{b.shape[0]}; "
            "give two frames of the same size"
        )
    return _motion_kernel(_to_tracking(a), _to_tracking(b))


# --------------------------------------------------------------------------------------------
# summarize_motion

REFERENCE_FPS = 25.0
"""Frame rate at which the per-frame thresholds below are defined (scaled for other rates)."""

MOVE_THRESHOLD = 2e-3
"""Mean pan/tilt speed (frame fraction per frame at 25 fps) from which a shot moves: 0.64 px
per frame on a 320-px frame, one frame width in 20 s."""

ZOOM_THRESHOLD = 1.5e-3
"""Mean |log scale| per frame (at 25 fps) from which a shot zooms: ~3.8 % per second."""

SHAKE_THRESHOLD = 1.5e-3
"""Robust spread of the frame-to-frame translation (frame fraction per frame at 25 fps) from
which a shot is handheld: ~0.5 px per frame on a 320-px frame."""

RELIABLE_CONFIDENCE = 0.4
"""Rows below this confidence (scene cuts, subject-only motion, blank frames) are ignored."""

SMOOTH_FRAMES = 7
"""Window of the moving average that separates intended motion from jitter."""


def _check_rows(rows: Any) -> np.ndarray:
    arr = np.asarray(rows)
    if arr.ndim != 2 or arr.shape[1] != len(MOTION_FIELDS):
        raise ValueError(
            f"rows has shape {arr.shape}; give an (N, {len(MOTION_FIELDS)}) array of "
            f"estimate_motion rows {MOTION_FIELDS}"
        )
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"rows has dtype {arr.dtype}; give float motion rows")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError("rows hold NaN or infinite values; give the rows of estimate_motion")
    if (arr[:, 3] <= 0).any():
        raise ValueError("rows hold a scale <= 0; scale is a size ratio and must be positive")
    return arr


def _spread(x: np.ndarray) -> float:
    """Robust standard deviation from the 75th percentile of absolute deviations.

    Unlike the median absolute deviation it still sees the motion when up to half the rows
    are (near-)repeated frames, as in material converted from a lower frame rate.
    """
    if x.size == 0:
        return 0.0
    return float(np.quantile(np.abs(x - np.median(x)), 0.75)) / 1.1503


def _moving_average(x: np.ndarray, win: int) -> np.ndarray:
    """Centred moving average over ``win`` samples, edges padded by repetition (same length)."""
    pad = win // 2
    return np.convolve(np.pad(x, (pad, win - 1 - pad), mode="edge"), np.ones(win) / win, "valid")


def summarize_motion(rows: np.ndarray, fps: float | None = None) -> dict[str, Any]:
    """Classify the camera move of a shot from its :func:`estimate_motion` rows.

    Rows with confidence below :data:`RELIABLE_CONFIDENCE` are ignored. On the others:

    - ``"pan"`` / ``"tilt"``: the mean horizontal / vertical speed is at least
      :data:`MOVE_THRESHOLD` and at least the spread of the speed (a move in one direction
      dominates any wobble); a handheld pan is a pan.
    - ``"handheld"``: the robust spread of the frame-to-frame translation (from the 75th
      percentile of its deviations, so repeated frames do not hide it) is at least
      :data:`SHAKE_THRESHOLD`.
    - ``"zoom"``: the mean |scale change| is at least :data:`ZOOM_THRESHOLD` and dominates its
      spread (a dolly in or out reads as a zoom).
    - ``"static"``: none of the above. ``"unknown"``: fewer than 2 reliable rows, or fewer than
      a quarter of them (black, flat or cut-riddled material).

    Thresholds are per frame at 25 fps; give ``fps`` to scale them to other frame rates
    (per-frame motion halves at 50 fps).

    Args:
        rows: motion rows of consecutive frame pairs of one shot, in order.
        fps: frame rate of the rows (the rate of the analysed frames, after any stride);
            ``None`` assumes 25.

    Returns:
        JSON-serializable dict:

        - ``label``: one of the labels above.
        - ``rows``, ``reliable_fraction``: how many rows, and the share used.
        - ``mean_dx``, ``mean_dy``: mean signed translation per frame (frame fractions).
        - ``mean_rotation``: degrees per frame; ``mean_zoom``: mean log scale per frame.
        - ``speed``: mean translation magnitude per frame of the smoothed motion.
        - ``shake``: robust spread of the translation per frame; ``jitter``: RMS of its
          high-frequency part (translation minus a 7-frame moving average).
        - ``fps``: the frame rate the thresholds were scaled to.

    Raises:
        ValueError: ``rows`` not (N, 5), non-numeric, NaN/inf, scale ≤ 0; ``fps`` ≤ 0.
    """
    arr = _check_rows(rows)
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps is {fps}; give a positive frame rate or None for 25")
    rate = REFERENCE_FPS if fps is None else float(fps)
    k = REFERENCE_FPS / rate  # per-frame thresholds shrink at higher frame rates
    n = arr.shape[0]
    reliable = arr[arr[:, 4] >= RELIABLE_CONFIDENCE]
    m = reliable.shape[0]
    out: dict[str, Any] = {
        "label": "unknown",
        "rows": int(n),
        "reliable_fraction": round(m / n, 4) if n else 0.0,
        "mean_dx": 0.0,
        "mean_dy": 0.0,
        "mean_rotation": 0.0,
        "mean_zoom": 0.0,
        "speed": 0.0,
        "shake": 0.0,
        "jitter": 0.0,
        "fps": rate,
    }
    if m < 2 or m < 0.25 * n:
        return out
    vx, vy = reliable[:, 0], reliable[:, 1]
    vz = np.log(reliable[:, 3])
    mx, my, mz = float(vx.mean()), float(vy.mean()), float(vz.mean())
    sx, sy, sz = _spread(vx), _spread(vy), _spread(vz)
    shake = math.hypot(sx, sy)
    win = min(SMOOTH_FRAMES, m)
    smooth_x, smooth_y = _moving_average(vx, win), _moving_average(vy, win)
    jitter = math.sqrt(float(np.mean((vx - smooth_x) ** 2 + (vy - smooth_y) ** 2)))
    speed = float(np.mean(np.hypot(smooth_x, smooth_y)))

    move = max(abs(mx), abs(my))
    if move >= MOVE_THRESHOLD * k and move >= max(sx, sy):
        label = "pan" if abs(mx) >= abs(my) else "tilt"
    elif shake >= SHAKE_THRESHOLD * k:
        label = "handheld"
    elif abs(mz) >= ZOOM_THRESHOLD * k and abs(mz) >= sz:
        label = "zoom"
    else:
        label = "static"
    out.update(
        label=label,
        mean_dx=round(mx, 6),
        mean_dy=round(my, 6),
        mean_rotation=round(float(reliable[:, 2].mean()), 5),
        mean_zoom=round(mz, 6),
        speed=round(speed, 6),
        shake=round(shake, 6),
        jitter=round(jitter, 6),
    )
    return out
