"""Shot matching by colour distributions, for shots that share a scene but not a view.

Samples are drawn evenly from spatial tiles of every frame (each tile weighs the same, so no
region of the frame dominates by size alone; clipped pixels never count). Starting from the
exposure and white balance (ratio of per-channel medians in linear), the CDL is refined round
after round: the shot's samples are graded with the current CDL and paired with their nearest
reference samples and vice versa (:func:`support_pairs`, an iterative-closest-point scheme on
colour clouds), then the CDL is refitted on those pairs.

A colour present in only one of the shots (a red car in the shot, none in the reference) has no
counterpart in the other: before each round, every sample is weighted by how close its nearest
neighbours on the other side are (in an opponent space that stresses hue over lightness,
:func:`counterpart_weights`), so such colours fade out of both sides.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from rushes.ops.match_frames import PreparedFrame

__all__ = [
    "TILES",
    "counterpart_weights",
    "support_pairs",
    "tile_samples",
]

#: Tiles per frame side for sampling.
TILES = 8
#: Samples per tile.
PER_TILE = 24
#: Bounds of the distance scale of :func:`counterpart_weights` (opponent-space code values).
TAU_MIN, TAU_MAX = 0.02, 0.05
#: Chroma weight of the opponent space used to find counterparts.
CHROMA_WEIGHT = 2.0

_OPPONENT = np.array(
    [
        [1 / 3, 1 / 3, 1 / 3],
        [CHROMA_WEIGHT * 0.5, 0.0, -CHROMA_WEIGHT * 0.5],
        [-CHROMA_WEIGHT * 0.25, CHROMA_WEIGHT * 0.5, -CHROMA_WEIGHT * 0.25],
    ]
).T


def tile_samples(
    frames: list[PreparedFrame], seed: int = 0, per_tile: int = PER_TILE
) -> tuple[np.ndarray, np.ndarray]:
    """Unclipped pixels drawn evenly from a ``TILES x TILES`` grid of every frame.

    A tile gives up to ``per_tile`` samples of total weight ``valid share`` of the tile, so a
    tile that is mostly clipped counts for little, and every tile's weight is capped at 1.

    Args:
        frames: prepared frames.
        seed: sampling seed.
        per_tile: samples per tile.

    Returns:
        Samples (ACEScct code values) and their weights.

    Shape:
        - samples: ``(N, 3)`` float32
        - weights: ``(N,)`` float64
    """
    rng = np.random.default_rng(seed)
    vals: list[np.ndarray] = []
    wts: list[np.ndarray] = []
    for f in frames:
        h, w = f.valid.shape
        ys = np.linspace(0, h, TILES + 1).astype(int)
        xs = np.linspace(0, w, TILES + 1).astype(int)
        for ty in range(TILES):
            for tx in range(TILES):
                tile_valid = f.valid[ys[ty] : ys[ty + 1], xs[tx] : xs[tx + 1]]
                idx = np.flatnonzero(tile_valid)
                if len(idx) == 0:
                    continue
                share = len(idx) / tile_valid.size
                pick = rng.choice(idx, min(per_tile, len(idx)), replace=False)
                tile = f.image[ys[ty] : ys[ty + 1], xs[tx] : xs[tx + 1]].reshape(-1, 3)
                vals.append(tile[pick])
                wts.append(np.full(len(pick), share / len(pick)))
    if not vals:
        return np.zeros((0, 3), np.float32), np.zeros(0)
    return np.concatenate(vals).astype(np.float32), np.concatenate(wts)


def support_pairs(
    x: np.ndarray,
    graded: np.ndarray,
    wx: np.ndarray,
    y: np.ndarray,
    wy: np.ndarray,
    k: int = 16,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Correspondences between two colour clouds by nearest neighbours, both ways.

    Every graded shot sample is paired with (the mean of) its ``k`` nearest reference
    samples, and every reference sample with (the mean of) the shot samples whose graded
    values are nearest to it. Pairing by nearness matches the *supports* of the two
    distributions, not their masses, so a colour that fills more of one frame than of the
    other (a punch-in on a face, a wider shot with more sky) does not pull the others along,
    as a mass-preserving transfer (quantile or optimal-transport matching) would. Used round
    after round (ICP), with ``k = 1`` for the last rounds: identical clouds then pair each
    sample with itself.

    Args:
        x: shot samples (ungraded), ACEScct. Shape: ``(N, 3)``.
        graded: the same samples under the current grade. Shape: ``(N, 3)``.
        wx: weight per shot sample. Shape: ``(N,)``.
        y: reference samples, ACEScct. Shape: ``(M, 3)``.
        wy: weight per reference sample. Shape: ``(M,)``.
        k: neighbours averaged.

    Returns:
        Shot values, the reference values they should become, and weights.

    Shape:
        - outputs: ``(N + M, 3)``, ``(N + M, 3)``, ``(N + M,)``
    """
    xx = np.asarray(x, np.float64)
    yy = np.asarray(y, np.float64)
    _, j = cKDTree(yy).query(np.asarray(graded, np.float64), k=k)
    _, i = cKDTree(np.asarray(graded, np.float64)).query(yy, k=k)
    forward = yy[j].mean(axis=1) if k > 1 else yy[j]
    backward = xx[i].mean(axis=1) if k > 1 else xx[i]
    return (
        np.concatenate([xx, backward]),
        np.concatenate([forward, yy]),
        np.concatenate([np.asarray(wx, np.float64), np.asarray(wy, np.float64)]),
    )


def counterpart_weights(a: np.ndarray, b: np.ndarray, k: int = 4) -> np.ndarray:
    """How much each sample of ``a`` has a counterpart among the samples of ``b``, in [0, 1].

    The distance ``d`` to the ``k``-th nearest neighbour in ``b`` (opponent space: lightness
    plus doubled chroma axes) is compared with the typical such distance:
    ``1 / (1 + (d / tau)^4)``, ``tau = 3 * median(d)`` clipped to [:data:`TAU_MIN`,
    :data:`TAU_MAX`] code values (the upper bound keeps "far" absolute: when nothing matches,
    nothing counts as matched).

    Shape:
        - a: ``(N, 3)``, b: ``(M, 3)``, both in the same encoding (ACEScct)
        - output: ``(N,)``
    """
    if len(a) == 0 or len(b) == 0:
        return np.zeros(len(a))
    pa = np.asarray(a, np.float64) @ _OPPONENT
    pb = np.asarray(b, np.float64) @ _OPPONENT
    kk = min(k, len(pb))
    d, _ = cKDTree(pb).query(pa, k=kk)
    d = d if d.ndim == 1 else d[:, -1]
    tau = float(np.clip(3.0 * np.median(d), TAU_MIN, TAU_MAX))
    return 1.0 / (1.0 + (d / tau) ** 4)
