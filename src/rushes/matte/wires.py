"""Find thin wires in a rough region of a frame (``--wires --region x,y,w,h``).

A wire is a thin (1-6 px), long, smooth line, darker or brighter than what is behind it.

1. Ridges. In the user's region (plus a little context) the luma is filtered at a few Gaussian
   scales ``s`` (the larger ones on a half-size image); at each scale the Hessian's eigenvalues
   give a line strength: ``s**2`` times the curvature across the line (about half the line's
   contrast at the scale matching its width) minus the curvature along it (a blob is not a line)
   minus ``s`` times the gradient (the shoulder beside a step edge curves like a line but sits
   on a slope; a line's centre does not).
2. Centre lines. Ridges are thinned (non-maximum suppression across the line) and kept by
   hysteresis (above ``min_contrast``, grown along pixels above half of it), split into
   connected pieces, each ordered into a path (geodesic through branches) and cut where it turns
   sharply.
3. Wires. The strongest long piece seeds a wire: a smooth curve (a line, a parabola or a cubic
   along the piece's axis, by span) is fitted to it, and every piece lying along that curve
   (within 2 px, in its direction) joins and the curve is refitted, until none joins. So a
   wire broken by clutter or by a stretch where it has no contrast is found whole; gaps are
   bridged when shorter than what was seen around them. Then the next strongest unused piece
   seeds the next wire.
4. Checks. A wire must be long (``min_length``), mostly seen along its span, close to its curve
   (RMS), and have ``min_contrast`` against *both* sides (sampled across it: an edge has one
   side only); wires much weaker than the best one of their kind (contrast x length) are
   dropped. Its width is measured from the median profile across it (area / depth).

:func:`find_wires` works on one frame; :class:`WireMatte` is a lazy matte that finds the wires of
each frame when its mask is asked for; :func:`find_wire_shapes` finds them on every frame of a
shot and returns a shape set (wires matched from frame to frame) an artist can review and edit.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from rushes.errors import MatteError
from rushes.matte.base import Matte
from rushes.matte.shapes import Shape, ShapeSet, render_shape

__all__ = [
    "SCALES",
    "Polarity",
    "Wire",
    "WireMatte",
    "find_wire_shapes",
    "find_wires",
    "parse_region",
    "ridge_strength",
    "wire_mask",
]

Polarity = Literal["dark", "bright", "both"]
Region = tuple[int, int, int, int]
#: Gaussian scales (px); a line of width w answers most at about s = w / 1.5.
SCALES = (1.0, 1.4, 2.0, 2.8, 4.0)
#: Scales from this one up are computed on the half-size image (4x fewer pixels).
HALF_RES_SCALE = 2.5
#: Hysteresis: the low threshold as a share of the high one.
LOW_RATIO = 0.5
#: Ridge strength per unit of contrast at the matched scale (2 u phi(u) at u = 1).
_RIDGE_GAIN = 0.484
#: A path turning more than this over ~5 px is cut there.
MAX_TURN = np.deg2rad(35.0)
#: Pieces shorter than this (px) are not used.
MIN_PIECE = 8
#: A piece joins a wire when this share of its points lie within ``JOIN_PX`` of its curve ...
JOIN_SHARE = 0.8
JOIN_PX = 2.0
#: ... (plus this much per px beyond the wire's ends, where the curve is extrapolated) ...
JOIN_SLOPE = 0.04
#: ... it runs in the curve's direction (angle) ...
JOIN_ANGLE = np.deg2rad(25.0)
#: ... and it is no further beyond the wire's ends than this (px, or share of the span).
REACH_PX = 40.0
REACH_SHARE = 0.5
#: A gap in a wire is bridged when at most this long (px) or this share of what is seen.
BRIDGE_PX = 30.0
BRIDGE_SHARE = 0.5
#: Share of a wire's span that must be seen as ridge.
MIN_SEEN = 0.5
#: Largest RMS distance (px) of a wire's pieces from its curve.
MAX_BEND = 1.5
#: Wires scoring (contrast x length) under this share of the best one of their polarity are
#: dropped, and those under this share of the best one of either polarity.
REL_SCORE_ANY = 0.2
REL_SCORE = 0.35
_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)
_KXX = np.array([[1.0, -2.0, 1.0]], np.float32)
_KXY2 = np.array([[0.5, 0.0, -0.5], [0.0, 0.0, 0.0], [-0.5, 0.0, 0.5]], np.float32)
_KX = np.array([[-0.5, 0.0, 0.5]], np.float32)


@dataclass(frozen=True, eq=False)
class Wire:
    """One wire found in a frame.

    Attributes:
        points: The centre line, ``(x, y)`` frame pixels. Shape: ``(N, 2)``, N >= 2.
        width: Estimated width in pixels.
        polarity: ``"dark"`` or ``"bright"`` against what is behind it.
        contrast: Median contrast (code values) against the nearer side, along it.
    """

    points: np.ndarray
    width: float
    polarity: Literal["dark", "bright"]
    contrast: float

    @property
    def length(self) -> float:
        """Length along the polyline, pixels."""
        return float(np.linalg.norm(np.diff(self.points, axis=0), axis=1).sum())


def parse_region(text: str) -> Region:
    """``"x,y,w,h"`` (pixels; spaces allowed) as a tuple, MatteError if malformed."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        x, y, w, h = (int(p) for p in parts)
    except ValueError:
        raise MatteError(
            f"region {text!r} must be four integers x,y,w,h in pixels, e.g. 100,40,600,400"
        ) from None
    if w <= 0 or h <= 0:
        raise MatteError(f"region {text!r} is empty; give x,y,w,h with w and h above 0")
    return x, y, w, h


def _check_region(region: Region, width: int, height: int, frame_index: int | None) -> Region:
    """The region clipped to the frame; MatteError when it misses the frame."""
    where = f" of frame {frame_index}" if frame_index is not None else ""
    try:
        x, y, w, h = (int(v) for v in region)
    except (TypeError, ValueError):
        raise MatteError(f"wire region {region!r} must be four integers x,y,w,h") from None
    if w <= 0 or h <= 0:
        raise MatteError(f"wire region {x},{y},{w},{h} is empty; give x,y,w,h with w, h > 0")
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    if x1 - x0 < 8 or y1 - y0 < 8:
        raise MatteError(
            f"wire region {x},{y},{w},{h} is outside the frame{where} ({width}x{height}); "
            "give x,y,w,h inside it"
        )
    return x0, y0, x1 - x0, y1 - y0


def ridge_strength(
    luma: np.ndarray, scales: Iterable[float] = SCALES
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Multi-scale line strength of a luma image, for dark and bright lines.

    Args:
        luma: Luma, display-like encoding, in [0, 1]. Shape: ``(H, W)``.
        scales: Gaussian scales in pixels.

    Returns:
        ``(dark, bright, scale, normal)``: dark and bright line strength (about half the line's
        contrast at its centre, 0 where no line), the best scale of the stronger one and the
        angle (radians) across the line. Each of shape ``(H, W)``, float32.
    """
    g = np.ascontiguousarray(luma, dtype=np.float32)
    shape = g.shape
    best_d = np.zeros(shape, np.float32)
    best_b = np.zeros(shape, np.float32)
    best_s = np.zeros(shape, np.float32)
    best_c = np.zeros(shape, np.float32)  # dxx - dyy at the winning scale
    best_x = np.zeros(shape, np.float32)  # 2 dxy at the winning scale
    is_b = np.zeros(shape, bool)
    half: np.ndarray | None = None
    for s in scales:
        if s >= HALF_RES_SCALE and min(shape) >= 32:  # large scales at half resolution
            if half is None:
                half = cv2.pyrDown(g)
            sh = float(np.sqrt(max((s / 2) ** 2 - 0.5**2, 0.09)))
            d, br, c, x = _hessian_measures(half, sh, s / 2)
            up = np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]])
            flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
            size = (shape[1], shape[0])
            d, br, c, x = (
                cv2.warpAffine(v, up, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
                for v in (d, br, c, x)
            )
        else:
            d, br, c, x = _hessian_measures(g, s, s)
        up_d = d > best_d
        up_b = br > best_b
        np.copyto(best_d, d, where=up_d)
        np.copyto(best_b, br, where=up_b)
        win_d = up_d & (d >= best_b)
        win_b = up_b & (br > best_d)
        win = win_d | win_b
        best_s[win] = s
        np.copyto(best_c, c, where=win)
        np.copyto(best_x, x, where=win)
        np.copyto(is_b, win_b, where=win)
    theta = 0.5 * np.arctan2(best_x, best_c)  # direction of the larger eigenvalue's vector
    theta[is_b] += np.float32(np.pi / 2)
    return best_d, best_b, best_s, theta.astype(np.float32, copy=False)


def _hessian_measures(
    g: np.ndarray, blur: float, s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Dark / bright line strength at scale ``s`` (image blurred by ``blur``), and the
    Hessian's ``dxx - dyy`` and ``2 dxy`` (for the line's direction)."""
    b = cv2.GaussianBlur(g, (0, 0), blur, borderType=cv2.BORDER_REFLECT)
    dxx = cv2.filter2D(b, -1, _KXX, borderType=cv2.BORDER_REFLECT)
    dyy = cv2.filter2D(b, -1, _KXX.T, borderType=cv2.BORDER_REFLECT)
    dxy2 = cv2.filter2D(b, -1, _KXY2, borderType=cv2.BORDER_REFLECT)
    gx = cv2.filter2D(b, -1, _KX, borderType=cv2.BORDER_REFLECT)
    gy = cv2.filter2D(b, -1, _KX.T, borderType=cv2.BORDER_REFLECT)
    diff = dxx - dyy
    q = cv2.magnitude(diff, dxy2)  # l1 - l2
    tr = dxx + dyy  # l1 + l2
    grad = cv2.magnitude(gx, gy)
    s2 = np.float32(s * s)
    # dark: s^2 (l1 - |l2|) = s^2 min(q, tr); bright: s^2 (-l2 - |l1|) = s^2 min(q, -tr)
    dark = cv2.min(q, tr)
    bright = cv2.min(q, -tr)
    grad = grad * np.float32(s)
    dark = cv2.scaleAdd(dark, float(s2), -grad)
    bright = cv2.scaleAdd(bright, float(s2), -grad)
    return dark, bright, diff, dxy2


def _nms(r: np.ndarray, normal: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Pixels of ``candidates`` that are a maximum of ``r`` across the line (4 directions)."""
    h, w = r.shape
    pad = np.zeros((h + 2, w + 2), np.float32)
    pad[1:-1, 1:-1] = r
    ys, xs = np.nonzero(candidates)
    flat = (ys + 1) * (w + 2) + xs + 1
    sector = np.round(np.mod(normal[ys, xs], np.pi) / (np.pi / 4)).astype(np.intp) % 4
    step = np.array([1, w + 3, w + 2, w + 1], np.intp)[sector]  # (0,1) (1,1) (1,0) (1,-1)
    pf = pad.ravel()
    v = pf[flat]
    keep = (v >= pf[flat + step]) & (v > pf[flat - step]) & (v > 0)
    out = np.zeros((h, w), bool)
    out[ys[keep], xs[keep]] = True
    return out


def _monotone_path(ys: np.ndarray, xs: np.ndarray) -> np.ndarray | None:
    """The pixels as an ordered path when they form one curve monotone in x or in y (sorted
    along the longer side of their box), None when they branch or fold back."""
    key, other = (xs, ys) if np.ptp(xs) >= np.ptp(ys) else (ys, xs)
    trend = 1 if float(((key - key.mean()) * (other - other.mean())).sum()) >= 0 else -1
    order = np.lexsort((other * trend, key))
    path = np.stack([xs[order], ys[order]], axis=1).astype(np.float64)
    steps = np.abs(np.diff(path, axis=0)).max(axis=1)
    if steps.size and steps.max() > 1.0:  # 8-connected neighbours differ by <= 1 in x and y
        return None
    return path


def _longest_path(ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """The longest geodesic path through an 8-connected pixel set, as ``(x, y)`` points."""
    n = len(ys)
    if n == 1:
        return np.array([[xs[0], ys[0]]], np.float64)
    y0, x0 = ys.min(), xs.min()
    idx = -np.ones((ys.max() - y0 + 3, xs.max() - x0 + 3), np.int64)
    idx[ys - y0 + 1, xs - x0 + 1] = np.arange(n)
    rows, cols, wts = [], [], []
    for dy, dx, wgt in ((0, 1, 1.0), (1, 0, 1.0), (1, 1, np.sqrt(2)), (1, -1, np.sqrt(2))):
        nb = idx[ys - y0 + 1 + dy, xs - x0 + 1 + dx]
        ok = nb >= 0
        rows.append(np.arange(n)[ok])
        cols.append(nb[ok])
        wts.append(np.full(int(ok.sum()), wgt))
    r, c, wv = np.concatenate(rows), np.concatenate(cols), np.concatenate(wts)
    graph = coo_matrix((wv, (r, c)), shape=(n, n)).tocsr()
    d0 = dijkstra(graph, directed=False, indices=0)
    d0[~np.isfinite(d0)] = -1
    a = int(np.argmax(d0))
    da, pred = dijkstra(graph, directed=False, indices=a, return_predecessors=True)
    da[~np.isfinite(da)] = -1
    b = int(np.argmax(da))
    path = [b]
    while path[-1] != a:
        p = int(pred[path[-1]])
        if p < 0:
            break
        path.append(p)
    order = np.array(path[::-1])
    return np.stack([xs[order], ys[order]], axis=1).astype(np.float64)


def _smooth(path: np.ndarray, k: int = 2) -> np.ndarray:
    """Moving average of a pixel path (ends kept), removing the 8-connected staircase."""
    if len(path) < 2 * k + 2:
        return path
    c = np.cumsum(np.vstack([np.zeros((1, 2)), path]), axis=0)
    mid = (c[2 * k + 1 :] - c[: -2 * k - 1]) / (2 * k + 1)
    return np.vstack([path[:k], mid, path[-k:]])


def _split_kinks(path: np.ndarray, k: int = 5) -> list[np.ndarray]:
    """Cut a pixel path where it turns sharply (a line meeting another structure)."""
    n = len(path)
    if n < 2 * k + 1:
        return [path] if n >= MIN_PIECE else []
    a = path[k:-k] - path[: -2 * k]
    b = path[2 * k :] - path[k:-k]
    cos = (a * b).sum(axis=1) / np.maximum(
        np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-9
    )
    turn = np.concatenate([np.ones(k), cos, np.ones(k)])  # cos of the turn at each point
    sharp = turn < np.cos(MAX_TURN)
    if not sharp.any():
        return [path]
    parts, start = [], 0
    i = 0
    while i < n:
        if sharp[i]:
            j = i
            while j < n and sharp[j]:
                j += 1
            cut = i + int(np.argmin(turn[i:j]))
            parts.append(path[start : max(cut - 1, start)])
            start = cut + 2
            i = j
        else:
            i += 1
    parts.append(path[start:])
    return [p for p in parts if len(p) >= MIN_PIECE]


@dataclass
class _Piece:
    path: np.ndarray  # (N, 2) x, y (crop pixels), ordered
    scales: np.ndarray  # best scale per path point
    strength: np.ndarray  # ridge strength per path point


def _path_pieces(path: np.ndarray, scale: np.ndarray, strength: np.ndarray) -> list[_Piece]:
    """A pixel path cut at its kinks, each part with its points' scale and strength."""
    out: list[_Piece] = []
    for part in _split_kinks(path):
        qy, qx = part[:, 1].astype(int), part[:, 0].astype(int)
        out.append(_Piece(part, scale[qy, qx], strength[qy, qx]))
    return out


def _pieces(
    strength: np.ndarray, scale: np.ndarray, normal: np.ndarray, inside: np.ndarray, hi: float
) -> list[_Piece]:
    """Centre-line pieces of one polarity: NMS, hysteresis, longest paths of components."""
    lo = hi * LOW_RATIO
    ridge = _nms(strength, normal, (strength > lo) & inside)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ridge.astype(np.uint8), connectivity=8)
    if n <= 1:
        return []
    ys_all, xs_all = np.nonzero(ridge)
    lab_all = labels[ys_all, xs_all]
    peak = np.zeros(n, np.float32)
    order = np.lexsort((-strength[ys_all, xs_all], lab_all))  # by label, strongest first
    ys_all, xs_all, lab_all = ys_all[order], xs_all[order], lab_all[order]
    starts = np.searchsorted(lab_all, np.arange(n + 1))
    present = starts[:-1] < starts[1:]
    firsts = starts[:-1][present]
    peak[np.flatnonzero(present)] = strength[ys_all[firsts], xs_all[firsts]]
    big = np.flatnonzero((peak > hi) & (stats[:, cv2.CC_STAT_AREA] >= MIN_PIECE))
    big = big[big > 0]
    out: list[_Piece] = []
    for lab in big:
        x, y, w, h = stats[lab, :4]
        ys, xs = ys_all[starts[lab] : starts[lab + 1]], xs_all[starts[lab] : starts[lab + 1]]
        simple = _monotone_path(ys, xs)
        if simple is not None:  # the common case: a clean curve, no branches
            out.extend(_path_pieces(simple, scale, strength))
            continue
        while len(ys) >= MIN_PIECE:  # crossing wires: take the longest path, then the rest
            path = _longest_path(ys, xs)
            if len(path) < MIN_PIECE:
                break
            py, px = path[:, 1].astype(int), path[:, 0].astype(int)
            out.extend(_path_pieces(path, scale, strength))
            near = np.zeros((h + 2, w + 2), bool)
            for ddy, ddx in itertools.product((-1, 0, 1), repeat=2):
                near[py - y + 1 + ddy, px - x + 1 + ddx] = True
            near_pts = near[ys - y + 1, xs - x + 1]
            ys, xs = ys[~near_pts], xs[~near_pts]
    return out


def _poly_model(u: np.ndarray, v: np.ndarray, span: float) -> tuple[np.ndarray, float, float]:
    """Fit ``v(u)``: a line, parabola or cubic by span; coefficients on ``(u - c) / k``."""
    deg = 1 if span < 100 else 2 if span < 300 else 3
    deg = min(deg, max(len(u) - 1, 1))
    c = 0.5 * (float(u.min()) + float(u.max()))
    k = max(0.5 * span, 1.0)
    return np.polyfit((u - c) / k, v, deg), c, k


@dataclass
class _Candidate:
    centre: np.ndarray  # (N, 2) crop pixels, ordered, ~1 px apart
    seen: np.ndarray  # (M, 2) the member pieces' points
    rms: float  # of the members from the curve
    span: float
    covered: float


def _grow_wires(pieces: list[_Piece], length_min: float) -> list[_Candidate]:
    """Group pieces lying along one smooth curve into wires (strongest seeds first)."""
    n = len(pieces)
    if n == 0:
        return []
    paths = [_smooth(p.path) for p in pieces]
    pts = np.concatenate(paths)
    pid = np.concatenate([np.full(len(p), i) for i, p in enumerate(paths)])
    count = np.bincount(pid, minlength=n).astype(np.float64)
    first = np.concatenate([[0], np.cumsum(count[:-1])]).astype(np.intp)  # pid is sorted
    length = np.array([np.linalg.norm(np.diff(p, axis=0), axis=1).sum() for p in paths])
    level = np.array([float(np.median(p.strength)) for p in pieces])
    dirs = np.empty((n, 2))
    for i, p in enumerate(paths):
        d = p[-1] - p[0]
        dirs[i] = d / max(float(np.linalg.norm(d)), 1e-9)
    used = np.zeros(n, bool)
    out: list[_Candidate] = []
    seed_min = max(2.0 * MIN_PIECE, 0.15 * length_min)
    cos_join = np.cos(JOIN_ANGLE)
    for seed in np.argsort(-(length * level), kind="stable"):
        if used[seed] or length[seed] < seed_min:
            continue
        members = np.zeros(n, bool)
        members[seed] = True
        origin = paths[seed].mean(axis=0)
        eu = dirs[seed]
        ev = np.array([-eu[1], eu[0]])
        rel = pts - origin
        u, v = rel @ eu, rel @ ev
        for _ in range(8):
            mp = members[pid]
            lo_u, hi_u = float(u[mp].min()), float(u[mp].max())
            span = hi_u - lo_u
            coef, c, k = _poly_model(u[mp], v[mp], span)
            r = np.abs(v - np.polyval(coef, (u - c) / k))
            reach = max(REACH_PX, REACH_SHARE * span)
            beyond = np.maximum(lo_u - u, 0.0) + np.maximum(u - hi_u, 0.0)
            within = beyond <= reach
            ok = (r <= JOIN_PX + JOIN_SLOPE * beyond) & within
            n_within = np.bincount(pid, weights=within, minlength=n)
            share = np.bincount(pid, weights=ok, minlength=n) / np.maximum(n_within, 1.0)
            share[n_within < MIN_PIECE] = 0.0
            mu = np.bincount(pid, weights=u, minlength=n) / count
            slope = np.polyval(np.polyder(coef), (mu - c) / k) / k if len(coef) > 1 else 0 * mu
            tang = (eu[None, :] + slope[:, None] * ev[None, :]) / np.sqrt(1 + slope**2)[:, None]
            along = np.abs((dirs * tang).sum(axis=1)) >= cos_join
            grown = members | ((share >= JOIN_SHARE) & along & ~used)
            if np.array_equal(grown, members):
                break
            members = grown
        # keep the largest run of members whose gaps can be bridged
        u_min = np.minimum.reduceat(u, first)
        u_max = np.maximum.reduceat(u, first)
        idx = np.flatnonzero(members)
        lo, hi = u_min[idx], u_max[idx]
        order = np.argsort(lo)
        groups: list[list[int]] = []
        end = -np.inf
        seen_len = 0.0
        for j in order:
            gap = lo[j] - end
            if groups and gap <= max(BRIDGE_PX, BRIDGE_SHARE * seen_len):
                groups[-1].append(int(idx[j]))
                seen_len += length[idx[j]]
            else:
                groups.append([int(idx[j])])
                seen_len = length[idx[j]]
            end = max(end, hi[j]) if len(groups[-1]) > 1 else hi[j]
        best = max(groups, key=lambda g: float(length[g].sum()))
        keep = np.zeros(n, bool)
        keep[best] = True
        used |= keep
        mp = keep[pid]
        lo_u, hi_u = float(u[mp].min()), float(u[mp].max())
        span = hi_u - lo_u
        if span < length_min:
            continue
        coef, c, k = _poly_model(u[mp], v[mp], span)
        res = v[mp] - np.polyval(coef, (u[mp] - c) / k)
        rms = float(np.sqrt(np.mean(res * res)))
        # centre line: the curve plus the pieces' own (binned) offset from it
        uu = np.arange(lo_u, hi_u + 0.5, 1.0)
        bins = np.floor((u[mp] - lo_u) / 8.0).astype(int)
        nb = int(bins.max()) + 1
        med = np.full(nb, np.nan)
        for b in np.unique(bins):
            med[b] = float(np.median(res[bins == b]))
        have = ~np.isnan(med)
        centres = lo_u + 8.0 * (np.arange(nb) + 0.5)
        corr = np.interp(uu, centres[have], med[have])
        vv = np.polyval(coef, (uu - c) / k) + corr
        centre = origin + uu[:, None] * eu + vv[:, None] * ev
        covered = float(length[best].sum())
        out.append(_Candidate(centre, pts[mp], rms, span, covered))
    return out


def _normals(path: np.ndarray) -> np.ndarray:
    """Unit normals of an ordered path. Shape: ``(N, 2)``."""
    t = np.gradient(path, axis=0) if len(path) > 1 else np.array([[1.0, 0.0]])
    t = t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-9)
    return np.stack([-t[:, 1], t[:, 0]], axis=1)


def _sample(luma: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``luma`` at ``(x, y)`` points (edges replicated)."""
    p = pts.reshape(-1, 2).astype(np.float32)
    return cv2.remap(
        luma,
        p[:, 0].reshape(-1, 1),
        p[:, 1].reshape(-1, 1),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    ).reshape(pts.shape[:-1])


def _measure(
    luma: np.ndarray, centre: np.ndarray, kind: Literal["dark", "bright"], max_width: float
) -> tuple[float, float]:
    """``(contrast, width)`` of a line from profiles sampled across it (width not clipped).

    The contrast is the median, along the line, of the nearer side minus the centre (both sides
    must differ: a step edge scores 0). The width is the area of the median profile (each
    point's profile taken against its own background) over its depth.
    """
    step = max(1, len(centre) // 400)
    c = centre[::step]
    nrm = _normals(c)
    reach = 0.5 * max_width + 4.0
    offs = np.arange(-reach, reach + 0.01, 0.5)
    grid = c[None, :, :] + offs[:, None, None] * nrm[None, :, :]  # (O, N, 2)
    prof = _sample(luma, grid)  # (O, N)
    if kind == "bright":
        prof = -prof
    outer = np.abs(offs) >= 0.5 * max_width + 2.0
    left = np.median(prof[outer & (offs < 0)], axis=0)
    right = np.median(prof[outer & (offs > 0)], axis=0)
    centre_val = prof[np.abs(offs) <= 0.5].min(axis=0)
    contrast = float(np.median(np.minimum(left, right) - centre_val))
    sig = 0.5 * (left + right)[None, :] - prof  # depth below the local background
    mean_sig = np.median(sig, axis=1)
    core = np.abs(offs) <= 0.5 * max_width + 1.0
    peak = float(mean_sig[np.abs(offs) <= 1.0].max())
    if peak <= 0:
        return contrast, 1.0
    area = float(np.clip(mean_sig[core], 0.0, None).sum()) * 0.5
    return contrast, max(area / peak, 1.0)


def find_wires(
    frame: np.ndarray,
    region: Region,
    *,
    polarity: Polarity = "both",
    min_length: float | None = None,
    min_contrast: float = 0.04,
    max_width: float = 6.0,
    frame_index: int | None = None,
) -> list[Wire]:
    """Find thin, long, contrasted lines (wires) inside a rough region of a frame.

    Args:
        frame: The frame, RGB in a display-like encoding, [0, 1]. Shape: ``(H, W, 3)`` (or
            ``(H, W)`` luma).
        region: ``(x, y, w, h)`` in frame pixels where the wires are; clipped to the frame.
        polarity: ``"dark"``, ``"bright"`` or ``"both"`` kinds of wire.
        min_length: Shortest wire kept, pixels (default: 30 % of the region's longer side, at
            least 24 px).
        min_contrast: Weakest wire kept: contrast against both sides, code values (0.04 = 4 %).
        max_width: Widest wire looked for, pixels.
        frame_index: The frame's index in the shot, for messages.

    Returns:
        The wires, longest first; each a polyline in frame pixels with its measured width.

    Raises:
        MatteError: the region is outside the frame, or no wire is found (the message names the
            frame and what to try).
    """
    img = np.asarray(frame, dtype=np.float32)
    if img.ndim == 3 and img.shape[2] >= 3:
        fh, fw = img.shape[:2]
    elif img.ndim == 2:
        fh, fw = img.shape
    else:
        raise MatteError(f"a frame must be (H, W, 3) RGB, got shape {img.shape}")
    if polarity not in ("dark", "bright", "both"):
        raise MatteError(f"polarity must be dark, bright or both, got {polarity!r}")
    x, y, w, h = _check_region(region, fw, fh, frame_index)
    max_width = float(np.clip(max_width, 1.0, 12.0))
    scales = tuple(s for s in SCALES if s <= max(max_width, 1.5) / 1.5 + 0.01)
    ctx = int(np.ceil(3 * max(scales) + 0.5 * max_width)) + 6
    cx0, cy0 = max(x - ctx, 0), max(y - ctx, 0)
    cx1, cy1 = min(x + w + ctx, fw), min(y + h + ctx, fh)
    crop = img[cy0:cy1, cx0:cx1]
    luma = crop[:, :, :3] @ _LUMA if crop.ndim == 3 else crop
    luma = np.ascontiguousarray(np.nan_to_num(luma, nan=0.0, posinf=1.0, neginf=0.0), np.float32)
    dark, bright, scale, normal = ridge_strength(luma, scales)
    inside = np.zeros(luma.shape, bool)
    inside[y - cy0 : y - cy0 + h, x - cx0 : x - cx0 + w] = True
    length_min = float(min_length) if min_length is not None else max(24.0, 0.3 * max(w, h))
    kinds: list[tuple[Literal["dark", "bright"], np.ndarray]] = []
    if polarity in ("dark", "both"):
        kinds.append(("dark", dark))
    if polarity in ("bright", "both"):
        kinds.append(("bright", bright))
    hi = _RIDGE_GAIN * min_contrast
    wires: list[Wire] = []
    for kind, strength in kinds:
        for cand in _grow_wires(_pieces(strength, scale, normal, inside, hi), length_min):
            if cand.rms > MAX_BEND or cand.covered < MIN_SEEN * cand.span:
                continue
            contrast, width = _measure(luma, cand.centre, kind, max_width)
            if contrast < min_contrast or width > max_width + 1.0:  # faint, or a band
                continue
            width = min(width, max_width)
            poly = cv2.approxPolyDP(cand.centre.astype(np.float32).reshape(-1, 1, 2), 0.5, False)
            pts = poly.reshape(-1, 2).astype(np.float64) + np.array([cx0, cy0], np.float64)
            wires.append(Wire(pts, width, kind, contrast))
    best = {
        k: max((wr.contrast * wr.length for wr in wires if wr.polarity == k), default=0.0)
        for k in ("dark", "bright")
    }
    top = max(best.values())
    wires = [
        wr
        for wr in wires
        if wr.contrast * wr.length >= max(REL_SCORE * best[wr.polarity], REL_SCORE_ANY * top)
    ]
    if not wires:
        where = f" of frame {frame_index}" if frame_index is not None else ""
        raise MatteError(
            f"no wire found in region {x},{y},{w},{h}{where}; draw the region tighter around "
            f"the wire, lower min_contrast ({min_contrast:g}) or min_length ({length_min:.0f} "
            "px), or draw the wire as a shape (--shapes)"
        )
    wires.sort(key=lambda wr: -wr.length)
    return wires


def wire_mask(
    wires: Iterable[Wire], width: int, height: int, *, pad: float = 1.0, feather: float = 0.0
) -> np.ndarray:
    """Rasterise wires as polylines of their width plus ``pad`` px on each side.

    Returns:
        float32 mask in [0, 1]. Shape: ``(height, width)``.
    """
    out = np.zeros((height, width), np.float32)
    for wr in wires:
        render_shape(
            "polyline",
            wr.points,
            width,
            height,
            stroke=wr.width + 2 * pad,
            feather=feather,
            out=out,
        )
    return out


class WireMatte(Matte):
    """A lazy matte of the wires found in a region, frame by frame.

    Args:
        frames: The shot's frames by index (float32 RGB ``(H, W, 3)`` in [0, 1], display-like).
        n_frames: Number of frames of the shot.
        region: ``(x, y, w, h)`` where the wires are.
        width: Frame width.
        height: Frame height.
        pad: Extra pixels on each side of a wire's estimated width.
        feather: Soft edge outside the padded wire, pixels.
        **options: Passed to :func:`find_wires` (polarity, min_length, min_contrast, max_width).

    Raises:
        MatteError: the region is outside the frame.
    """

    def __init__(
        self,
        frames: Callable[[int], np.ndarray],
        n_frames: int,
        region: Region,
        width: int,
        height: int,
        *,
        pad: float = 1.0,
        feather: float = 0.0,
        **options: Any,
    ) -> None:
        self.width, self.height, self.frames = int(width), int(height), int(n_frames)
        self.region = _check_region(region, self.width, self.height, None)
        self.name = "wires in region " + ",".join(str(v) for v in region)
        self._source = frames
        self._pad, self._feather = float(pad), float(feather)
        self._options = options
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()

    def wires(self, index: int) -> list[Wire]:
        """The wires found on frame ``index`` (MatteError naming the frame when none)."""
        i = self.check_index(index)
        return find_wires(self._source(i), self.region, frame_index=i, **self._options)

    def mask(self, index: int) -> np.ndarray:
        """The found wires of frame ``index``, padded. Shape: ``(height, width)``, in [0, 1]."""
        i = self.check_index(index)
        hit = self._cache.get(i)
        if hit is not None:
            return hit
        m = wire_mask(self.wires(i), self.width, self.height, pad=self._pad, feather=self._feather)
        m.setflags(write=False)
        self._cache[i] = m
        while len(self._cache) > 2:
            self._cache.popitem(last=False)
        return m


def _resample(points: np.ndarray, n: int) -> np.ndarray:
    """``n`` points evenly spaced along a polyline."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.linspace(0.0, s[-1], n)
    return np.stack([np.interp(t, s, points[:, 0]), np.interp(t, s, points[:, 1])], axis=1)


def find_wire_shapes(
    frames: Callable[[int], np.ndarray] | Iterable[np.ndarray],
    n_frames: int,
    region: Region,
    *,
    vertices: int = 16,
    pad: float = 1.0,
    max_move: float = 12.0,
    **options: Any,
) -> ShapeSet:
    """Find the wires on every frame and return them as keyframed polylines.

    Wires are matched from frame to frame (mean distance of their resampled centre lines under
    ``max_move`` px); each match keys its shape on that frame. A frame where a wire is not found
    keeps no key for it (the shape interpolates over it, and holds before its first and after
    its last key, like any shape). Widths are the wire's median.

    Args:
        frames: The shot's frames (callable by index or iterable in order), float32 RGB
            ``(H, W, 3)`` in [0, 1], display-like encoding.
        n_frames: Number of frames of the shot.
        region: ``(x, y, w, h)`` where the wires are.
        vertices: Vertices per wire (resampled evenly along it).
        pad: Extra pixels on each side of a wire's width in the shapes' stroke width.
        max_move: Largest mean move (px) of a wire between frames it is found on.
        **options: Passed to :func:`find_wires`.

    Returns:
        One polyline shape per wire (``wire1``, ``wire2`` ...), keyed on the frames it was
        found on.

    Raises:
        MatteError: no wire is found on any frame, or the region is outside the frame.
    """
    tracks: list[dict[int, np.ndarray]] = []
    widths: list[list[float]] = []
    last: list[np.ndarray] = []
    size: tuple[int, int] | None = None
    first_error: MatteError | None = None
    source = (frames(i) for i in range(n_frames)) if callable(frames) else iter(frames)
    for i, frame in zip(range(n_frames), source, strict=False):
        if size is None:
            size = (frame.shape[1], frame.shape[0])
            region = _check_region(region, size[0], size[1], i)  # raises when outside
        try:
            found = find_wires(frame, region, frame_index=i, **options)
        except MatteError as e:  # nothing on this frame: the shapes interpolate over it
            first_error = first_error or e
            continue
        taken: set[int] = set()
        for wr in found:
            pts = _resample(wr.points, vertices)
            best, best_d, best_flip = -1, max_move, False
            for t, prev in enumerate(last):
                if t in taken:
                    continue
                d = float(np.linalg.norm(pts - prev, axis=1).mean())
                d_rev = float(np.linalg.norm(pts[::-1] - prev, axis=1).mean())
                if min(d, d_rev) < best_d:
                    best, best_d, best_flip = t, min(d, d_rev), d_rev < d
            if best >= 0:
                if best_flip:  # the wire was found running the other way
                    pts = pts[::-1]
                tracks[best][i] = pts
                widths[best].append(wr.width)
                last[best] = pts
                taken.add(best)
            else:
                tracks.append({i: pts})
                widths.append([wr.width])
                last.append(pts)
                taken.add(len(tracks) - 1)
    if not tracks:
        assert first_error is not None or n_frames <= 0
        raise first_error or MatteError("the shot has no frames to find wires in")
    shapes = tuple(
        Shape(f"wire{k + 1}", "polyline", keys, float(np.median(wd)) + 2 * pad)
        for k, (keys, wd) in enumerate(zip(tracks, widths, strict=True))
    )
    assert size is not None
    return ShapeSet(shapes, size[0], size[1])
