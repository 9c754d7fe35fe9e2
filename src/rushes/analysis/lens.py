"""Radial lens distortion from the straight lines of a picture (the plumb-line method).

Straight lines of the world stay straight through an ideal (pinhole) lens; a real lens bends
those not through the centre. :func:`estimate_lens` finds long edge chains in a few frames and
fits the one radial parameter (optionally two) that makes them straightest.

Convention (model ``"division"``, record version :data:`LENS_VERSION`)
-------------------------------------------------------------------------
Pixel coordinates ``(x, y)`` have the pixel centres on integers, origin at the top-left pixel.
Normalised coordinates are centred and scaled by the half diagonal::

    u = (x - cx) / R,   v = (y - cy) / R,   cx = (W - 1) / 2,   cy = (H - 1) / 2,
    R = hypot(W, H) / 2                        # a frame corner is at r = hypot(u, v) ~ 1

The division model takes a *distorted* point (as photographed) to its *undistorted* (pinhole)
position, both normalised::

    p_u = p_d / (1 + k1 * r_d**2 + k2 * r_d**4),   r_d = |p_d|

- ``k1 < 0``: **barrel** (magnification falls off towards the edges; straight lines bow
  outwards; undistorting pushes the corners out by ``1 / (1 + k1 + k2)``).
- ``k1 > 0``: **pincushion**.
- The scale at the centre is 1 (undistorting does not zoom the middle of the frame), and to
  first order ``k1`` equals the Brown/OpenCV ``k1`` expressed in the same half-diagonal
  normalisation: OpenCV's ``k1`` with focal length ``f`` px is ``k1_here ~ k1_cv * (R / f)**2``
  (see :func:`division_from_brown` for the exact least-squares equivalent).
- Parameters do not depend on the resolution the frames were measured at, only on the aspect
  ratio (normalisation by the half diagonal of the frame analysed).

:func:`undistort_points` applies the model, :func:`distort_points` inverts it,
:func:`remap_maps` builds ``cv2.remap`` maps for whole frames in either direction and
:func:`remap_image` applies them; a lens fix uses those with an estimate's ``k1``/``k2``.

Method
------
1. Each frame is reduced to 8-bit luma with its long side at most ``long_side`` (1280) px.
2. Canny edges (thresholds from the frame's own gradient distribution), each edge pixel
   placed to a tenth of a pixel on its gradient-magnitude ridge (Devernay's parabola) and
   given the orientation of its gradient.
3. Edge pixels are split by orientation into 8 overlapping 45-degree windows; the 8-connected
   components of each window are candidate chains (a gently curved image of a straight line
   stays within one window; corners and junctions split). Overlapping duplicates are dropped,
   and only long, thin chains are kept (:func:`find_lines`).
4. For every chain and every ``k1`` of a grid, the chain is undistorted and a total-least-squares
   line is fitted; its residual, divided by the model's magnification across the line, stays in
   pixels of the analysed frame and says how straight the chain is at that ``k1``. A chain that
   stays curved at every ``k1`` inside the grid is a real curve and is dropped; one whose
   residual hardly depends on ``k1`` (a line through the centre, a short one) is uninformative
   and not counted; one exactly horizontal or vertical and straight uncorrected although it
   would be sensitive is a matte, frame line or burnt-in guide (added after the lens) and is
   dropped.
5. ``k1`` starts at the median of the informative chains' own best values and is refined
   (SciPy, bounded) to minimise the squared residuals of the chains that agree with it;
   ``k2`` too, by Nelder-Mead, when asked. The agreeing set is updated and the fit repeated
   until it is stable; the spread of the per-chain values gives the confidence.

"Not enough straight lines" is an ordinary outcome: the estimate then has ``confidence`` 0,
``k1 = k2 = 0`` and a ``note`` saying why; nothing is raised.

Example:
    >>> import numpy as np
    >>> pts = np.array([[100.0, 50.0], [639.0, 479.0]])
    >>> back = distort_points(undistort_points(pts, (640, 480), -0.1), (640, 480), -0.1)
    >>> bool(np.allclose(back, pts))
    True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from scipy.optimize import minimize, minimize_scalar

__all__ = [
    "LENS_VERSION",
    "MODEL",
    "LensEstimate",
    "LineSet",
    "distort_points",
    "division_from_brown",
    "estimate_lens",
    "find_lines",
    "fit_lens",
    "normalise",
    "remap_image",
    "remap_maps",
    "undistort_points",
]

LENS_VERSION = "lens.1"
"""Schema of :meth:`LensEstimate.to_dict`."""

MODEL = "division"
"""The radial model (see the module docstring)."""

LONG_SIDE = 1280
"""Frames are analysed with their long side at most this many pixels."""

MIN_LENGTH = 0.08
"""Shortest chain kept, as a fraction of the analysed frame's diagonal."""

MAX_POINTS = 200
"""Points kept per chain (evenly subsampled)."""

THICKNESS = 0.04
"""A candidate chain's RMS distance from its straight line, as a fraction of its length, above
which it is taken as texture or a strong curve before any fitting."""

STRAIGHT_PX = 0.6
"""A chain is straight when the RMS distance of its points from their line, in pixels of the
analysed frame, is at most this at some ``k1`` (sub-pixel edges of a clean straight edge
scatter by 0.1-0.3 px)."""

PROBE_K = 0.1
"""The ``k1`` step at which a chain's sensitivity is probed."""

MIN_LINES = 4
"""Fewer informative straight chains than this: no estimate (confidence 0)."""

MIN_SIGNAL_PX = 0.15
"""A chain is informative when moving ``k1`` by :data:`PROBE_K` from its own best bends it by
at least this RMS distance (px) ..."""

SIGNAL_OVER_NOISE = 1.0
"""... and by at least this many times its residual at its best ``k1`` (its noise)."""

INLIER_PX = 0.5
"""A chain agrees with a fit when its residual there is within this (px) of its own best."""

MATTE_DEGREES = 0.3
"""Chains this close to horizontal or vertical ..."""

MATTE_PX = 0.25
"""... and this straight (RMS px) without correction, yet sensitive to ``k1``, are mattes,
frame lines or guides added after the lens: not used."""

SPREAD_SCALE = 0.02
"""Standard error of ``k1`` at which agreement halves the confidence."""

K_RANGE = (-0.8, 0.8)
"""Range of ``k1`` searched (the model is monotonic over the frame throughout it)."""

K2_RANGE = (-0.4, 0.4)
"""Range of ``k2`` searched when two parameters are fitted."""

_STEP = 0.02
_GRID = np.round(np.arange(K_RANGE[0], K_RANGE[1] + 1e-9, _STEP), 4)


# --------------------------------------------------------------------------------------------
# The model


def _size(size: Sequence[int]) -> tuple[int, int]:
    if len(size) != 2 or int(size[0]) < 2 or int(size[1]) < 2:
        raise ValueError(f"size is {tuple(size)}; give (width, height) of at least 2x2 pixels")
    return int(size[0]), int(size[1])


def _frame_geometry(size: Sequence[int]) -> tuple[float, float, float]:
    w, h = _size(size)
    return (w - 1) / 2.0, (h - 1) / 2.0, math.hypot(w, h) / 2.0


def _points(points: Any, name: str = "points") -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"{name} has shape {p.shape}; give an (N, 2) array of (x, y) pixels")
    return p


def normalise(points: Any, size: Sequence[int]) -> np.ndarray:
    """Pixel coordinates to the normalised coordinates of the module docstring.

    Shape:
        points: ``(N, 2)`` pixel ``(x, y)``. return: ``(N, 2)`` float64.
    """
    cx, cy, r = _frame_geometry(size)
    return (_points(points) - np.array([cx, cy])) / r


def _denormalise(p: np.ndarray, size: Sequence[int]) -> np.ndarray:
    cx, cy, r = _frame_geometry(size)
    return p * r + np.array([cx, cy])


def _undistort_norm(p: np.ndarray, k1: float, k2: float) -> np.ndarray:
    r2 = (p * p).sum(axis=1)
    return p / (1.0 + k1 * r2 + k2 * r2 * r2)[:, None]


def _distort_radius(ru: np.ndarray, k1: float, k2: float) -> np.ndarray:
    """Distorted radius ``r_d`` with ``r_d / (1 + k1 r_d^2 + k2 r_d^4) = ru`` (NaN: none on the
    increasing branch of the model)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        disc = 1.0 - 4.0 * k1 * ru * ru
        rd = np.where(disc >= 0, 2.0 * ru / (1.0 + np.sqrt(np.maximum(disc, 0.0))), np.nan)
        if k2 != 0.0:
            rd = np.where(np.isfinite(rd), rd, ru)
            for _ in range(30):  # Newton on g(r) = r - ru (1 + k1 r^2 + k2 r^4)
                g = rd - ru * (1.0 + k1 * rd**2 + k2 * rd**4)
                dg = 1.0 - ru * (2.0 * k1 * rd + 4.0 * k2 * rd**3)
                step = g / np.where(np.abs(dg) > 1e-12, dg, 1e-12)
                rd = rd - step
                if float(np.nanmax(np.abs(step), initial=0.0)) < 1e-12:
                    break
            d = 1.0 + k1 * rd**2 + k2 * rd**4
            slope = 1.0 - k1 * rd**2 - 3.0 * k2 * rd**4  # d r_u / d r_d, times d^2
            ok = (rd >= 0) & (d > 0) & (slope > 0)
            ok &= np.abs(rd / np.where(d > 0, d, 1.0) - ru) < 1e-9 + 1e-9 * ru
            rd = np.where(ok, rd, np.nan)
    return np.asarray(rd, dtype=np.float64)


def _distort_norm(p: np.ndarray, k1: float, k2: float) -> np.ndarray:
    ru = np.hypot(p[:, 0], p[:, 1])
    rd = _distort_radius(ru, k1, k2)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(ru > 1e-15, rd / np.where(ru > 1e-15, ru, 1.0), 1.0)
    return p * scale[:, None]


def undistort_points(points: Any, size: Sequence[int], k1: float, k2: float = 0.0) -> np.ndarray:
    """Where photographed (distorted) pixels would be through a distortion-free lens.

    Args:
        points: pixel coordinates in a frame of ``size`` as photographed.
        size: ``(width, height)`` of that frame.
        k1, k2: the division-model parameters (module docstring).

    Returns:
        Undistorted pixel coordinates (same centre and scale: the middle of the frame stays).

    Shape:
        points: ``(N, 2)`` ``(x, y)``. return: ``(N, 2)`` float64.
    """
    return _denormalise(_undistort_norm(normalise(points, size), k1, k2), size)


def distort_points(points: Any, size: Sequence[int], k1: float, k2: float = 0.0) -> np.ndarray:
    """Inverse of :func:`undistort_points`: where undistorted pixels land as photographed.

    Points with no photographed position (beyond the fold of a strong pincushion model) come
    back as NaN.

    Shape:
        points: ``(N, 2)`` ``(x, y)``. return: ``(N, 2)`` float64.
    """
    return _denormalise(_distort_norm(normalise(points, size), k1, k2), size)


def remap_maps(
    size: Sequence[int], k1: float, k2: float = 0.0, direction: str = "undistort"
) -> tuple[np.ndarray, np.ndarray]:
    """``cv2.remap`` maps that undistort (or distort) frames of ``size``.

    Args:
        size: ``(width, height)``; the output frame has the same size, centre and scale.
        k1, k2: the division-model parameters.
        direction: ``"undistort"`` (output: straight lines straight; each output pixel samples
            :func:`distort_points` of itself) or ``"distort"`` (output: as the lens would have
            photographed the input; samples :func:`undistort_points`).

    Returns:
        ``(map_x, map_y)``; positions with no source are -1 (outside: the border mode decides).

    Shape:
        return: two ``(H, W)`` float32 arrays.
    """
    if direction not in ("undistort", "distort"):
        raise ValueError(f"direction is {direction!r}; give 'undistort' or 'distort'")
    w, h = _size(size)
    ys, xs = np.mgrid[0:h, 0:w]
    grid = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
    src = (distort_points if direction == "undistort" else undistort_points)(grid, (w, h), k1, k2)
    src = np.where(np.isfinite(src), src, -1.0)
    return (
        src[:, 0].reshape(h, w).astype(np.float32),
        src[:, 1].reshape(h, w).astype(np.float32),
    )


def remap_image(
    image: np.ndarray,
    k1: float,
    k2: float = 0.0,
    direction: str = "undistort",
    interpolation: int = cv2.INTER_CUBIC,
    border: int = cv2.BORDER_REPLICATE,
) -> np.ndarray:
    """Undistort (or distort) one frame with :func:`remap_maps`.

    Args:
        image: the frame, any encoding (values are only interpolated).
        k1, k2: the division-model parameters.
        direction: ``"undistort"`` or ``"distort"`` (see :func:`remap_maps`).
        interpolation: OpenCV interpolation flag.
        border: OpenCV border mode for positions outside the source.

    Shape:
        image: ``(H, W)`` or ``(H, W, C)``; return: the same shape and dtype.
    """
    img = np.asarray(image)
    if img.ndim not in (2, 3) or img.shape[0] < 2 or img.shape[1] < 2:
        raise ValueError(f"image has shape {img.shape}; give an (H, W) or (H, W, C) frame")
    mx, my = remap_maps((img.shape[1], img.shape[0]), k1, k2, direction)
    return np.asarray(cv2.remap(img, mx, my, interpolation, borderMode=border))


def division_from_brown(
    k1: float,
    k2: float,
    k3: float,
    focal_px: float,
    size: Sequence[int],
    r_max: float = 1.0,
) -> float:
    """The one-parameter division ``k1`` closest to an OpenCV (Brown) radial distortion.

    OpenCV maps undistorted ``x_u = (x - cx) / f`` to ``x_d = x_u (1 + k1 r^2 + k2 r^4 + k3
    r^6)``; the returned ``k1`` of this module's model (half-diagonal normalisation, same
    centre) fits it in least squares over distorted radii ``0..r_max`` (weighted by radius:
    by picture area).

    Args:
        k1, k2, k3: OpenCV radial coefficients.
        focal_px: OpenCV focal length in pixels (``fx``, ``fy`` averaged).
        size: ``(width, height)`` the calibration was made at.
        r_max: largest normalised radius to fit over (1: the corners).

    Raises:
        ValueError: ``focal_px`` not positive, or the Brown model folds before ``r_max``.
    """
    if not (math.isfinite(focal_px) and focal_px > 0):
        raise ValueError(f"focal_px is {focal_px}; give the focal length in pixels (> 0)")
    _, _, r = _frame_geometry(size)
    s = r / focal_px  # one unit here is s units of OpenCV's normalised coordinates
    ru = np.linspace(0.0, 2.0 * r_max, 4001)[1:]  # undistorted radii, here
    x = ru * s
    rd = ru * (1 + k1 * x**2 + k2 * x**4 + k3 * x**6)
    slope = np.gradient(rd, ru)
    inside = rd <= r_max
    if not np.all(slope[inside] > 0) or rd.max() < r_max:
        raise ValueError("the OpenCV model folds inside the frame; give a narrower r_max")
    ru, rd = ru[inside], rd[inside]
    # ru (1 + k rd^2) = rd, least squares in k, weights rd
    a = ru * rd**2
    b = rd - ru
    return float((rd * a * b).sum() / (rd * a * a).sum())


# --------------------------------------------------------------------------------------------
# Finding straight-line candidates


@dataclass
class LineSet:
    """Edge chains that may be images of straight lines, from one or more frames.

    Attributes:
        points: chain points as photographed, normalised (module docstring). Shape: ``(N, 2)``.
        chain: index of the chain each point belongs to, ``0..C-1``. Shape: ``(N,)``.
        radius: half diagonal ``R`` in pixels of the frame each chain came from (turns
            normalised residuals into pixels of the analysed frame). Shape: ``(C,)``.
        aspect: width / height of the frames (chains of other aspects do not pool).
        frames: frames the chains came from.
    """

    points: np.ndarray
    chain: np.ndarray
    radius: np.ndarray
    aspect: float
    frames: int = 1

    @property
    def count(self) -> int:
        """Number of chains."""
        return int(self.radius.shape[0])

    @classmethod
    def empty(cls, aspect: float, frames: int = 0) -> LineSet:
        """No chains (from ``frames`` frames)."""
        return cls(np.zeros((0, 2)), np.zeros(0, np.int64), np.zeros(0), aspect, frames)

    @classmethod
    def concat(cls, sets: Sequence[LineSet]) -> LineSet:
        """Pool chains of several frames of one camera and lens.

        Raises:
            ValueError: no sets, or their aspect ratios differ by more than 1 %.
        """
        if not sets:
            raise ValueError("no line sets given; give the lines of at least one frame")
        aspect = sets[0].aspect
        if any(abs(s.aspect / aspect - 1) > 0.01 for s in sets):
            raise ValueError(
                "line sets of frames of different aspect ratios; pool one camera format only"
            )
        offsets = np.cumsum([0] + [s.count for s in sets[:-1]])
        return cls(
            np.concatenate([s.points for s in sets]),
            np.concatenate([s.chain + o for s, o in zip(sets, offsets, strict=True)]),
            np.concatenate([s.radius for s in sets]),
            aspect,
            sum(s.frames for s in sets),
        )

    def longest(self, max_chains: int) -> LineSet:
        """The ``max_chains`` chains with the most points (all when fewer)."""
        if self.count <= max_chains:
            return self
        n = np.bincount(self.chain, minlength=self.count)
        keep = np.sort(np.argsort(-n, kind="stable")[:max_chains])
        remap = np.full(self.count, -1, np.int64)
        remap[keep] = np.arange(keep.size)
        sel = remap[self.chain] >= 0
        return LineSet(
            self.points[sel], remap[self.chain[sel]], self.radius[keep], self.aspect, self.frames
        )


def _to_gray_u8(frame: Any, long_side: int) -> np.ndarray:
    a = np.asarray(frame)
    if a.ndim == 3 and a.shape[2] == 3:
        pass
    elif a.ndim != 2:
        raise ValueError(
            f"frame has shape {a.shape}; give (H, W, 3) float RGB in [0, 1] or (H, W) 8-bit gray"
        )
    if a.shape[0] < 32 or a.shape[1] < 32:
        raise ValueError(f"frame is {a.shape[1]}x{a.shape[0]}; give at least 32x32 pixels")
    if a.dtype == np.uint8:
        g = a if a.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_RGB2GRAY)
    elif np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise ValueError("frame holds NaN or infinite values; give finite code values")
        f = a.astype(np.float32)
        if f.ndim == 3:
            f = f @ np.array([0.2126, 0.7152, 0.0722], np.float32)
        g = np.clip(f * 255.0 + 0.5, 0, 255).astype(np.uint8)
    else:
        raise ValueError(
            f"frame has dtype {a.dtype}; give float32 code values in [0, 1] or uint8 gray"
        )
    h, w = g.shape
    if max(h, w) > long_side:
        s = long_side / max(h, w)
        g = cv2.resize(g, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(g)


def _subpixel(
    mag: np.ndarray, gx: np.ndarray, gy: np.ndarray, ys: np.ndarray, xs: np.ndarray
) -> np.ndarray:
    """Sub-pixel position of the gradient-magnitude ridge at pixels ``(ys, xs)`` (Devernay): a
    parabola through the magnitude there and at the two neighbours across the edge (horizontal
    neighbours where the gradient is mostly horizontal, else vertical), offset within +-0.5.

    Shape:
        mag, gx, gy: ``(H, W)`` float32; ys, xs: ``(N,)``. return: ``(N, 2)`` float64 ``(x, y)``.
    """
    h, w = mag.shape
    horizontal = np.abs(gx[ys, xs]) >= np.abs(gy[ys, xs])
    sx, sy = horizontal.astype(np.intp), (~horizontal).astype(np.intp)
    a = mag[np.clip(ys - sy, 0, h - 1), np.clip(xs - sx, 0, w - 1)]
    b = mag[ys, xs]
    c = mag[np.clip(ys + sy, 0, h - 1), np.clip(xs + sx, 0, w - 1)]
    den = a - 2.0 * b + c
    with np.errstate(invalid="ignore", divide="ignore"):
        off = np.where(den < -1e-6, 0.5 * (a - c) / den, 0.0)
    off = np.clip(off, -0.5, 0.5)
    return np.stack([xs + off * sx, ys + off * sy], axis=1).astype(np.float64)


def find_lines(frame: Any, long_side: int = LONG_SIDE, min_length: float = MIN_LENGTH) -> LineSet:
    """Long, thin edge chains of one frame: candidates for images of straight lines.

    Args:
        frame: the frame in a display-like encoding.
        long_side: the frame is reduced to at most this long side first.
        min_length: shortest chain kept, as a fraction of the (reduced) frame's diagonal.

    Returns:
        The chains (possibly none).

    Raises:
        ValueError: not ``(H, W, 3)`` float / ``(H, W)`` uint8 or float, smaller than 32x32,
            NaN/inf, ``long_side`` < 64.

    Shape:
        frame: ``(H, W, 3)`` float32 RGB display code values in [0, 1] (or 8-bit), or
        ``(H, W)`` uint8 gray (or float in [0, 1]).
    """
    if long_side < 64:
        raise ValueError(f"long_side is {long_side}; give at least 64 pixels")
    gray = _to_gray_u8(frame, long_side)
    h, w = gray.shape
    cx, cy, radius = _frame_geometry((w, h))
    min_px = max(16.0, min_length * 2.0 * radius)
    blur = cv2.GaussianBlur(gray, (0, 0), 1.0)
    gx = cv2.Sobel(blur, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(blur, cv2.CV_32F, 0, 1, ksize=3)
    mag = cv2.magnitude(gx, gy)
    high = float(np.clip(np.percentile(mag[::3, ::3], 92), 60.0, 400.0))
    edges = cv2.Canny(blur, high * 0.4, high, L2gradient=True)
    ys, xs = np.nonzero(edges)
    if xs.size == 0:
        return LineSet.empty(w / h, frames=1)
    theta = np.mod(np.arctan2(gy[ys, xs], gx[ys, xs]), np.pi)
    candidates: list[tuple[int, np.ndarray, np.ndarray]] = []
    mask = np.zeros((h, w), np.uint8)
    for i in range(8):
        centre = i * np.pi / 8
        d = np.abs(np.mod(theta - centre + np.pi / 2, np.pi) - np.pi / 2)
        sel = d < np.pi / 8
        mask[:] = 0
        mask[ys[sel], xs[sel]] = 1
        _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        extent = np.hypot(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
        area = stats[:, cv2.CC_STAT_AREA]
        good = (extent >= min_px) & (area >= 0.7 * extent) & (area <= 3.0 * extent)
        good[0] = False
        if not good.any():
            continue
        py, px = ys[sel], xs[sel]
        lab = labels[py, px]
        keep = good[lab]
        py, px, lab = py[keep], px[keep], lab[keep]
        order = np.argsort(lab, kind="stable")
        py, px, lab = py[order], px[order], lab[order]
        cuts = np.flatnonzero(np.diff(lab)) + 1
        for cy_, cx_ in zip(np.split(py, cuts), np.split(px, cuts), strict=True):
            candidates.append((cy_.size, cy_, cx_))
    candidates.sort(key=lambda c: -c[0])
    used = np.zeros((h, w), bool)
    pts: list[np.ndarray] = []
    for _, py, px in candidates:
        if used[py, px].mean() >= 0.3:
            continue
        used[py, px] = True
        p = _subpixel(mag, gx, gy, py, px)
        c = np.cov(p.T)
        ev = np.linalg.eigvalsh(c)
        length = math.sqrt(12.0 * max(ev[1], 0.0))
        if length < min_px or math.sqrt(max(ev[0], 0.0)) > THICKNESS * length:
            continue
        if p.shape[0] > MAX_POINTS:
            p = p[np.linspace(0, p.shape[0] - 1, MAX_POINTS).round().astype(np.int64)]
        pts.append(p)
    if not pts:
        return LineSet.empty(w / h, frames=1)
    chain = np.concatenate([np.full(p.shape[0], k, np.int64) for k, p in enumerate(pts)])
    allp = (np.concatenate(pts) - np.array([cx, cy])) / radius
    return LineSet(allp, chain, np.full(len(pts), radius), w / h, 1)


# --------------------------------------------------------------------------------------------
# Fitting


@dataclass
class LensEstimate:
    """What :func:`estimate_lens` found; JSON-able through :meth:`to_dict`.

    Attributes:
        k1, k2: division-model parameters (module docstring; 0 when nothing was found).
        model: :data:`MODEL`.
        lines: straight, informative chains the fit used.
        candidates: chains examined (before rejecting curves and uninformative ones).
        residual_before: RMS distance (px of the analysed frames) of the used chains' points
            from their fitted lines without correction.
        residual_after: the same after undistorting with ``k1``/``k2``.
        confidence: 0..1: grows with the number of lines and with their agreement on ``k1``
            (0: no estimate).
        spread: robust standard error of ``k1`` from the per-line estimates.
        frames: frames the lines came from.
        note: why there is no estimate, or ``""``.
        version: :data:`LENS_VERSION`.
    """

    k1: float = 0.0
    k2: float = 0.0
    model: str = MODEL
    lines: int = 0
    candidates: int = 0
    residual_before: float = 0.0
    residual_after: float = 0.0
    confidence: float = 0.0
    spread: float = 0.0
    frames: int = 0
    note: str = ""
    version: str = LENS_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether there is an estimate at all (confidence above 0)."""
        return self.confidence > 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form, versioned ``"lens.1"``."""
        return {
            "version": self.version,
            "model": self.model,
            "k1": round(self.k1, 6),
            "k2": round(self.k2, 6),
            "lines": int(self.lines),
            "candidates": int(self.candidates),
            "residual_before": round(self.residual_before, 4),
            "residual_after": round(self.residual_after, 4),
            "confidence": round(self.confidence, 4),
            "spread": round(self.spread, 5),
            "frames": int(self.frames),
            "note": self.note,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LensEstimate:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValueError: another version or model.
        """
        if d.get("version") != LENS_VERSION or d.get("model", MODEL) != MODEL:
            raise ValueError(
                f"lens record {d.get('version')!r}/{d.get('model')!r} is not "
                f"{LENS_VERSION!r}/{MODEL!r}; learn the project model again"
            )
        return cls(
            k1=float(d["k1"]),
            k2=float(d.get("k2", 0.0)),
            lines=int(d.get("lines", 0)),
            candidates=int(d.get("candidates", 0)),
            residual_before=float(d.get("residual_before", 0.0)),
            residual_after=float(d.get("residual_after", 0.0)),
            confidence=float(d.get("confidence", 0.0)),
            spread=float(d.get("spread", 0.0)),
            frames=int(d.get("frames", 0)),
            note=str(d.get("note", "")),
            extra=dict(d.get("extra", {})),
        )


class _Chains:
    """Per-chain straightness of a :class:`LineSet` at any ``(k1, k2)``, vectorised.

    A chain's residual is the RMS distance of its undistorted points from their total-least-
    squares line, each distance divided by the local magnification of the model across the
    line, so it stays in pixels of the photographed frame whatever ``k1`` does to the scale
    (without this, stretching a chain along its length would read as straightening it).
    """

    def __init__(self, lines: LineSet) -> None:
        self.p = lines.points
        self.c = lines.chain
        self.n_chains = lines.count
        self.r2 = (self.p * self.p).sum(axis=1)
        r = np.sqrt(self.r2)
        safe = np.where(r > 1e-12, r, 1.0)
        self.er = np.where(r[:, None] > 1e-12, self.p / safe[:, None], 0.0)  # radial unit
        self.n = np.bincount(self.c, minlength=self.n_chains).astype(np.float64)
        self.radius2 = lines.radius**2

    def _mean(self, v: np.ndarray) -> np.ndarray:
        return np.bincount(self.c, v, self.n_chains) / self.n

    def residual2(self, k1: float, k2: float = 0.0) -> np.ndarray:
        """Mean squared distance (px^2 of the analysed frame) of each chain's points from its
        best line after undistorting with ``(k1, k2)``. Shape: ``(C,)``."""
        c = self.c
        r2 = self.r2
        d = 1.0 + k1 * r2 + k2 * r2 * r2
        u = self.p / d[:, None]
        dx = u[:, 0] - self._mean(u[:, 0])[c]
        dy = u[:, 1] - self._mean(u[:, 1])[c]
        cxx, cyy, cxy = self._mean(dx * dx), self._mean(dy * dy), self._mean(dx * dy)
        angle = 0.5 * np.arctan2(2.0 * cxy, cxx - cyy)  # direction of each chain's line
        nx, ny = -np.sin(angle)[c], np.cos(angle)[c]
        dist = nx * dx + ny * dy
        # magnification of the model across the line: radial m_r, tangential m_t
        m_t = 1.0 / d
        m_r = (1.0 - k1 * r2 - 3.0 * k2 * r2 * r2) / (d * d)
        along_r = nx * self.er[:, 0] + ny * self.er[:, 1]
        along_t = -nx * self.er[:, 1] + ny * self.er[:, 0]
        gain2 = (m_r * along_r) ** 2 + (m_t * along_t) ** 2
        gain2 = np.where(self.r2 > 1e-24, gain2, m_t * m_t)
        return self._mean(dist * dist / np.maximum(gain2, 1e-12)) * self.radius2


def _valid_k(k1: float, k2: float, r_max: float) -> bool:
    """Whether the model is positive and increasing over distorted radii ``0..r_max``."""
    r = np.linspace(0.0, r_max, 64)
    d = 1.0 + k1 * r**2 + k2 * r**4
    slope = 1.0 - k1 * r**2 - 3.0 * k2 * r**4
    return bool(np.all(d > 0.05) and np.all(slope > 0.05))


def _parabola_min(grid: np.ndarray, best: np.ndarray) -> np.ndarray:
    """Sub-grid ``k1`` of each column's minimum (parabola through three grid points)."""
    k = len(_GRID)
    cols = np.arange(grid.shape[1])
    i = np.clip(best, 1, k - 2)
    a, b, c = grid[i - 1, cols], grid[i, cols], grid[i + 1, cols]
    den = a - 2 * b + c
    with np.errstate(invalid="ignore", divide="ignore"):
        off = np.where(den > 1e-18, 0.5 * (a - c) / den, 0.0)
    return np.asarray(_GRID[i] + np.clip(off, -1, 1) * _STEP, dtype=np.float64)


def _weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    order = np.argsort(x)
    cw = np.cumsum(w[order])
    return float(x[order][np.searchsorted(cw, 0.5 * cw[-1])])


def _axis_aligned(lines: LineSet) -> np.ndarray:
    """Chains within :data:`MATTE_DEGREES` of horizontal or vertical, as photographed."""
    c, n = lines.chain, np.bincount(lines.chain, minlength=lines.count).astype(np.float64)
    p = lines.points
    mx = np.bincount(c, p[:, 0], lines.count) / n
    my = np.bincount(c, p[:, 1], lines.count) / n
    dx, dy = p[:, 0] - mx[c], p[:, 1] - my[c]
    cxx = np.bincount(c, dx * dx, lines.count)
    cyy = np.bincount(c, dy * dy, lines.count)
    cxy = np.bincount(c, dx * dy, lines.count)
    angle = np.degrees(0.5 * np.arctan2(2.0 * cxy, cxx - cyy)) % 90.0
    return np.asarray(np.minimum(angle, 90.0 - angle) < MATTE_DEGREES)


def _no_estimate(lines: LineSet, note: str, candidates: int, used: int = 0) -> LensEstimate:
    return LensEstimate(lines=used, candidates=candidates, frames=lines.frames, note=note)


def fit_lens(lines: LineSet, params: int = 1) -> LensEstimate:
    """Fit the division model to chains found by :func:`find_lines` (module docstring).

    Chains are classified on a grid of ``k1``: *straight* (RMS residual at most
    :data:`STRAIGHT_PX` at some ``k1`` inside the grid: others are real curves), *informative*
    (moving ``k1`` by :data:`PROBE_K` raises the residual visibly above its noise), and *mattes*
    (exactly horizontal or vertical and straight uncorrected: letterbox edges, frame lines and
    burnt-in guides added after the lens, which would pull ``k1`` to 0). The fit starts from the
    median of the informative chains' own ``k1`` and minimises the summed squared residuals of
    the chains that agree with it (each within :data:`INLIER_PX` of its own straightest),
    repeated until that set is stable.

    Args:
        lines: chains of frames of one camera and lens (pooled with :meth:`LineSet.concat`).
        params: 1 (``k1``) or 2 (``k1`` and ``k2``; needs twice :data:`MIN_LINES` lines, else
            only ``k1`` is fitted).

    Returns:
        The estimate; ``confidence`` 0 with a ``note`` when there are too few straight lines.

    Raises:
        ValueError: ``params`` not 1 or 2.
    """
    if params not in (1, 2):
        raise ValueError(f"params is {params}; give 1 (k1) or 2 (k1, k2)")
    candidates = lines.count
    if candidates == 0:
        return _no_estimate(lines, f"no straight lines found (need {MIN_LINES})", 0)
    chains = _Chains(lines)
    cols = np.arange(candidates)
    grid = np.stack([chains.residual2(float(k)) for k in _GRID])  # (K, C) px^2
    best = np.argmin(grid, axis=0)
    best_res = grid[best, cols]
    own_k = _parabola_min(grid, best)
    interior = (best > 0) & (best < len(_GRID) - 1)
    straight = interior & (best_res <= STRAIGHT_PX**2)
    step = round(PROBE_K / _STEP)
    lo = grid[np.clip(best - step, 0, len(_GRID) - 1), cols]
    hi = grid[np.clip(best + step, 0, len(_GRID) - 1), cols]
    noise = np.sqrt(best_res)
    signal = np.sqrt(np.maximum(np.minimum(lo, hi) - best_res, 0.0))  # RMS bend at PROBE_K
    sensitive = signal >= np.maximum(MIN_SIGNAL_PX, SIGNAL_OVER_NOISE * noise)
    at_zero = grid[int(np.argmin(np.abs(_GRID)))]
    matte = _axis_aligned(lines) & (at_zero <= MATTE_PX**2) & sensitive
    usable = straight & ~matte
    informative = usable & sensitive
    n_inf = int(informative.sum())
    if n_inf < MIN_LINES:
        return _no_estimate(
            lines, f"not enough straight lines (found {n_inf}, need {MIN_LINES})", candidates, n_inf
        )
    k1 = _weighted_median(own_k[informative], signal[informative])
    k2 = 0.0
    r_max = float(np.sqrt(chains.r2.max()))
    inliers = usable
    for _ in range(4):
        now = chains.residual2(k1, k2)
        again = usable & (np.sqrt(now) <= noise + INLIER_PX)
        if np.array_equal(again, inliers) and _ > 0:
            break
        inliers = again
        w = chains.n * inliers
        if int((inliers & informative).sum()) < MIN_LINES:
            break
        res = minimize_scalar(
            lambda k, w=w: float((chains.residual2(float(k)) * w).sum()),
            bounds=(max(K_RANGE[0], k1 - 0.15), min(K_RANGE[1], k1 + 0.15)),
            method="bounded",
            options={"xatol": 1e-5},
        )
        k1, k2 = float(res.x), 0.0
        if params == 2 and int((inliers & informative).sum()) >= 2 * MIN_LINES:
            k1, k2 = _fit_two(chains, w, k1, r_max)
    used = inliers & informative
    n_used = int(used.sum())
    if n_used < MIN_LINES:
        return _no_estimate(
            lines,
            f"not enough straight lines agree (found {n_used}, need {MIN_LINES})",
            candidates,
            n_used,
        )
    w = chains.n * used
    before = math.sqrt(float((at_zero * w).sum() / w.sum()))
    after = math.sqrt(float((chains.residual2(k1, k2) * w).sum() / w.sum()))
    dev = own_k[used] - float(np.median(own_k[used]))
    spread = max(1.4826 * float(np.median(np.abs(dev))) / math.sqrt(n_used), 1e-4)
    confidence = (1.0 - math.exp(-n_used / 6.0)) / (1.0 + (spread / SPREAD_SCALE) ** 2)
    return LensEstimate(
        k1=k1,
        k2=k2,
        lines=n_used,
        candidates=candidates,
        residual_before=before,
        residual_after=after,
        confidence=confidence,
        spread=spread,
        frames=lines.frames,
        extra={"mattes": int(matte.sum()), "curves": int((~straight).sum())},
    )


def _fit_two(chains: _Chains, w: np.ndarray, k1: float, r_max: float) -> tuple[float, float]:
    """``(k1, k2)`` minimising the weighted residuals, from ``(k1, 0)`` (Nelder-Mead)."""

    def cost(x: np.ndarray) -> float:
        if not _valid_k(float(x[0]), float(x[1]), r_max):
            return 1e30
        return float((chains.residual2(float(x[0]), float(x[1])) * w).sum())

    start = np.array([k1, 0.0])
    res = minimize(
        cost,
        start,
        method="Nelder-Mead",
        bounds=[K_RANGE, K2_RANGE],
        options={"xatol": 1e-5, "fatol": 1e-12, "maxiter": 400},
    )
    if float(res.fun) < cost(start):
        return float(res.x[0]), float(res.x[1])
    return k1, 0.0


def estimate_lens(
    frames: Iterable[Any], params: int = 1, long_side: int = LONG_SIDE
) -> LensEstimate:
    """Radial distortion of a lens from the straight lines in a few of its frames.

    Args:
        frames: frames of one camera and lens (2-5 with varied content are plenty).
        params: 1 (``k1``) or 2 (``k1`` and ``k2``).
        long_side: frames are analysed at most this long (parameters do not depend on it).

    Returns:
        The estimate (``confidence`` 0 and a ``note`` when there are too few straight lines).

    Raises:
        ValueError: no frames, frames of different aspect ratios, or a bad frame (see
            :func:`find_lines`); ``params`` not 1 or 2.

    Shape:
        frames: each ``(H, W, 3)`` float32 RGB display code values in [0, 1], or ``(H, W)``
        uint8 gray.
    """
    sets = [find_lines(f, long_side) for f in frames]
    if not sets:
        raise ValueError("no frames given; give a few frames of the camera and lens")
    return fit_lens(LineSet.concat(sets), params)
