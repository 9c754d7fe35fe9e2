"""Shot signatures and the grouping of shots into camera setups.

A *setup* is one camera position, angle, lens and framing; its takes look alike (same
background in the same place, same light) even though the action differs. :func:`shot_signature`
condenses a few thumbnails of a shot into a fixed-length descriptor where that holds, and
:func:`group_setups` clusters the descriptors of a scene's shots.

The signature concatenates three L2-normalised blocks, each weighted (weights' squares sum to
one, so the signature has unit length and distances lie in [0, 2]):

- *layout* (:data:`LAYOUT_WEIGHT`): a :data:`LAYOUT_GRID` grid of mean luma (minus the frame
  mean, so a slightly brighter take stays close) and mean chroma (B'-Y', R'-Y'): where the
  bright, dark and coloured masses of the frame are;
- *colour* (:data:`COLOUR_WEIGHT`): a 4x4x4 RGB histogram, square-rooted (Hellinger), the
  palette of the set and its light;
- *edges* (:data:`EDGE_WEIGHT`): an 8-bin gradient-orientation histogram per cell of a
  :data:`EDGE_GRID` grid, square-rooted: the lines of the set and the lens' perspective.

Blocks are computed per thumbnail and combined by the element-wise median, so an actor who
crosses the frame in one thumbnail does not move the signature much. Thumbnails of any size
and aspect are resampled to :data:`WORK_SIZE` first (a square and a 16:9 crop of one framing
therefore do not match).

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.random((90, 160, 3), dtype=np.float32)
    >>> sigs = np.stack([shot_signature([a]), shot_signature([a * 0.95]),
    ...                  shot_signature([a[:, ::-1]])])
    >>> group_setups(sigs)
    [0, 0, 1]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist

from rushes.analysis.color_stats import REC709_LUMA, check_frame

__all__ = [
    "DEFAULT_THRESHOLD",
    "SIGNATURE_LENGTH",
    "group_setups",
    "setup_distances",
    "shot_signature",
]

WORK_SIZE = (64, 36)
"""(width, height) every thumbnail is area-resampled to before describing it."""

LAYOUT_GRID = (8, 6)
"""(columns, rows) of the colour-layout grid."""

EDGE_GRID = (4, 3)
"""(columns, rows) of the edge-orientation grid."""

EDGE_BINS = 8
"""Unsigned gradient-orientation bins (over 180 degrees)."""

COLOUR_BINS = 4
"""Bins per channel of the joint RGB histogram."""

LAYOUT_WEIGHT = 0.6
COLOUR_WEIGHT = 0.4
EDGE_WEIGHT = 0.5
"""Block weights; their squares are normalised to sum to 1."""

CHROMA_GAIN = 2.0
"""Chroma is scaled up in the layout block so colour weighs about as much as luma."""

_N_LAYOUT = LAYOUT_GRID[0] * LAYOUT_GRID[1] * 3
_N_COLOUR = COLOUR_BINS**3
_N_EDGE = EDGE_GRID[0] * EDGE_GRID[1] * EDGE_BINS

SIGNATURE_LENGTH = _N_LAYOUT + _N_COLOUR + _N_EDGE
"""Length of every :func:`shot_signature` (144 + 64 + 96 = 304)."""

DEFAULT_THRESHOLD = 0.5
"""Average-linkage distance under which shots are one setup (signature distances are in
[0, 2]; halves of one static clip measure 0.02-0.2 apart on our footage, different clips 0.55
and more)."""

_FORBIDDEN = 1e12  # between shots metadata separates; average linkage never bridges it

_W = np.array([LAYOUT_WEIGHT, COLOUR_WEIGHT, EDGE_WEIGHT], np.float64)
_W = _W / np.sqrt((_W**2).sum())


def _cell_means(img: np.ndarray, cols: int, rows: int) -> np.ndarray:
    """Mean of each cell of a cols x rows grid (area resampling), shape (rows, cols, C)."""
    out = cv2.resize(img, (cols, rows), interpolation=cv2.INTER_AREA)
    return np.asarray(out, np.float64).reshape(rows, cols, -1)


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-12 else np.zeros_like(v)


def _blocks(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Layout, colour and edge blocks (un-normalised) of one checked frame."""
    small = np.clip(cv2.resize(frame, WORK_SIZE, interpolation=cv2.INTER_AREA), 0.0, 1.0)
    # Takes of one setup may differ in exposure and white balance (the very drift the look
    # tools fix): standardise each channel, so the signature sees framing, not grade.
    px = small.reshape(-1, 3)
    mean, std = px.mean(axis=0), px.std(axis=0) + 1e-3
    small = np.clip(0.5 + 0.18 * (small - mean) / std, 0.0, 1.0).astype(np.float32)
    h, w = small.shape[:2]
    y = np.asarray(cv2.transform(small, REC709_LUMA)).reshape(h, w)

    # layout: luma relative to the frame mean, and chroma
    ycc = np.empty((h, w, 3), np.float32)
    ycc[..., 0] = y - float(y.mean())
    ycc[..., 1] = (small[..., 2] - y) * CHROMA_GAIN
    ycc[..., 2] = (small[..., 0] - y) * CHROMA_GAIN
    layout = _cell_means(ycc, *LAYOUT_GRID).ravel()

    # colour: joint RGB histogram
    idx = np.minimum((small * COLOUR_BINS).astype(np.intp), COLOUR_BINS - 1)
    flat = (idx[..., 0] * COLOUR_BINS + idx[..., 1]) * COLOUR_BINS + idx[..., 2]
    colour = np.bincount(flat.ravel(), minlength=_N_COLOUR).astype(np.float64) / flat.size

    # edges: gradient-orientation histograms per cell, magnitude weighted, soft-binned
    gx = cv2.Sobel(y, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(y, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.hypot(gx, gy)
    ang = np.mod(np.arctan2(gy, gx), np.pi) * (EDGE_BINS / np.pi)  # [0, EDGE_BINS)
    lo = np.floor(ang - 0.5)
    frac = (ang - 0.5) - lo
    lo_bin = np.mod(lo, EDGE_BINS).astype(np.intp)
    hi_bin = np.mod(lo + 1, EDGE_BINS).astype(np.intp)
    cols, rows = EDGE_GRID
    cx = np.minimum(np.arange(w) * cols // w, cols - 1)
    cy = np.minimum(np.arange(h) * rows // h, rows - 1)
    cell = (cy[:, None] * cols + cx[None, :]) * EDGE_BINS
    edges = np.bincount(
        np.concatenate([(cell + lo_bin).ravel(), (cell + hi_bin).ravel()]),
        weights=np.concatenate([(mag * (1 - frac)).ravel(), (mag * frac).ravel()]),
        minlength=_N_EDGE,
    )
    return layout, colour, edges


def shot_signature(thumbnails: Sequence[np.ndarray]) -> np.ndarray:
    """Fixed-length descriptor of a shot's look, for grouping shots into setups.

    Args:
        thumbnails: a few frames of the shot (3-5 spread over it is plenty; more cost time and
            change little). Any size; 64x36 px of detail is all that is used.

    Returns:
        Unit-length float32 vector of :data:`SIGNATURE_LENGTH` entries; compare two with the
        Euclidean distance (0 identical, ≥ 0.5 different setups, at most 2).

    Raises:
        ValueError: no thumbnails, or one of wrong shape/dtype or holding NaN/inf.

    Shape:
        thumbnails: each ``(H, W, 3)`` float32 RGB display code values in [0, 1].
        return: ``(SIGNATURE_LENGTH,)`` float32.
    """
    if isinstance(thumbnails, np.ndarray) and thumbnails.ndim == 3:
        raise ValueError(
            f"thumbnails is one {thumbnails.shape} image; give a sequence of frames, e.g. [frame]"
        )
    items = list(thumbnails)
    if not items:
        raise ValueError("thumbnails is empty; give at least one frame of the shot")
    parts = [_blocks(check_frame(t, f"thumbnails[{i}]")) for i, t in enumerate(items)]
    layout = np.median(np.stack([p[0] for p in parts]), axis=0)
    colour = np.sqrt(np.median(np.stack([p[1] for p in parts]), axis=0))
    edges = np.sqrt(np.median(np.stack([p[2] for p in parts]), axis=0))
    sig = np.concatenate([_W[0] * _unit(layout), _W[1] * _unit(colour), _W[2] * _unit(edges)])
    return _unit(sig).astype(np.float32)


def _codes(values: Sequence[str | None] | None, n: int, name: str, fold_case: bool) -> np.ndarray:
    """Integer code per shot for a metadata column, -1 where unknown (None or blank)."""
    if values is None:
        return np.full(n, -1, np.intp)
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{name} is a string; give one entry per shot (None where unknown)")
    items = list(values)
    if len(items) != n:
        raise ValueError(f"{name} has {len(items)} entries for {n} signatures; give one per shot")
    table: dict[str, int] = {}
    out = np.full(n, -1, np.intp)
    for i, v in enumerate(items):
        if v is None:
            continue
        key = str(v).strip()
        if fold_case:
            key = key.upper()
        if key:
            out[i] = table.setdefault(key, len(table))
    return out


def setup_distances(signatures: np.ndarray) -> np.ndarray:
    """Pairwise Euclidean distances between signatures.

    Args:
        signatures: one :func:`shot_signature` per row.

    Returns:
        Symmetric float64 matrix with a zero diagonal.

    Shape:
        signatures: ``(N, D)``.
        return: ``(N, N)``.
    """
    arr = np.asarray(signatures, np.float64)
    diff = arr[:, None, :] - arr[None, :, :]
    return np.sqrt((diff * diff).sum(axis=-1))


def group_setups(
    signatures: np.ndarray,
    cameras: Sequence[str | None] | None = None,
    scenes: Sequence[str | None] | None = None,
    threshold: float | None = None,
) -> list[int]:
    """Group shots into camera setups by average-linkage clustering of their signatures.

    Shots whose camera letters are both known and differ, or whose scenes are both known and
    differ, are never put in one setup (also not through a third shot with unknown metadata).

    Args:
        signatures: one :func:`shot_signature` per shot, in shot order.
        cameras: camera letter per shot ("A", "B", ...), ``None`` where unknown.
        scenes: scene per shot, ``None`` where unknown.
        threshold: largest average distance within a setup; ``None`` uses
            :data:`DEFAULT_THRESHOLD`. Lower splits more.

    Returns:
        A setup label per shot, ``0..K-1``, numbered in order of first appearance.

    Raises:
        ValueError: ``signatures`` not 2-D or holding NaN/inf; metadata lists of the wrong
            length; ``threshold`` not positive.

    Shape:
        signatures: ``(N, D)`` float.
    """
    arr = np.asarray(signatures)
    if arr.ndim != 2:
        raise ValueError(
            f"signatures has shape {arr.shape}; give an (N, D) array, one shot_signature per row"
        )
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"signatures has dtype {arr.dtype}; give float signatures")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError("signatures hold NaN or infinite values; give shot_signature outputs")
    n = arr.shape[0]
    cams = _codes(cameras, n, "cameras", fold_case=True)
    scns = _codes(scenes, n, "scenes", fold_case=False)
    thr = DEFAULT_THRESHOLD if threshold is None else float(threshold)
    if not (math.isfinite(thr) and thr > 0):
        raise ValueError(f"threshold is {threshold}; give a positive distance or None")
    if n == 0:
        return []
    if n == 1:
        return [0]

    cond = pdist(arr)  # condensed distances, pairs (i, j) with i < j in row-major order
    iu, ju = np.triu_indices(n, k=1)
    forbid = np.zeros(cond.shape, bool)
    for codes in (cams, scns):
        a, b = codes[iu], codes[ju]
        forbid |= (a >= 0) & (b >= 0) & (a != b)
    cond = np.where(forbid, _FORBIDDEN, cond)
    tree = linkage(cond, method="average")
    raw = fcluster(tree, t=thr, criterion="distance")
    labels: list[int] = []
    order: dict[int, int] = {}
    for r in raw.tolist():
        labels.append(order.setdefault(int(r), len(order)))
    return labels
