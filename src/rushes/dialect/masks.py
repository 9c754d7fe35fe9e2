"""Synthetic mattes the plate network learns to fill: wires, rigs and objects.

Each sample is a triple (previous, this, next frame) of masks of one square crop. Wires are
1-6 px polylines (straight or bowed) crossing the crop; rigs are bars and arms 8-28 px wide;
objects are blobs (ellipses and polygons). Half of them move between frames (the neighbours'
masks are the same shape shifted, as a swinging wire), the others stay put (a rig locked to the
camera: then nothing under it was photographed in the neighbours either).
"""

from __future__ import annotations

import cv2
import numpy as np

KINDS = ("wire", "rig", "object")


def _wire(rng: np.random.Generator, size: int) -> tuple[np.ndarray, int]:
    """Points of a polyline crossing the crop, and its width."""
    a = rng.uniform(0, np.pi)
    c = rng.uniform(0.2 * size, 0.8 * size, 2)
    d = np.array([np.cos(a), np.sin(a)])
    t = np.linspace(-0.8 * size, 0.8 * size, 24)
    bow = rng.uniform(-0.15, 0.15) * size * (1 - (t / (0.8 * size)) ** 2)
    pts = c[None] + t[:, None] * d[None] + bow[:, None] * np.array([-d[1], d[0]])[None]
    return pts, int(rng.integers(1, 7))


def _draw(kind: str, rng: np.random.Generator, size: int) -> list[tuple[np.ndarray, int, str]]:
    """Shapes of one mask: (points, width, how) with how in polyline | fill."""
    if kind == "wire":
        n = 1 if rng.random() < 0.7 else 2
        return [(*_wire(rng, size), "polyline") for _ in range(n)]
    if kind == "rig":
        pts, _ = _wire(rng, size)
        keep = pts[int(rng.integers(0, 8)) : int(rng.integers(14, 24))]
        return [(keep, int(rng.integers(8, 29)), "polyline")]
    c = rng.uniform(0.25 * size, 0.75 * size, 2)
    r = rng.uniform(0.06 * size, 0.22 * size, 2)
    ang = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(5, 10))))
    rad = rng.uniform(0.6, 1.0, ang.size)
    pts = c[None] + np.stack([np.cos(ang) * r[0] * rad, np.sin(ang) * r[1] * rad], 1)
    return [(pts, 0, "fill")]


def _render(shapes: list[tuple[np.ndarray, int, str]], size: int, shift: np.ndarray) -> np.ndarray:
    m = np.zeros((size, size), np.uint8)
    for pts, width, how in shapes:
        p = np.round((pts + shift) * 4).astype(np.int32).reshape(-1, 1, 2)  # 2 bits subpixel
        if how == "fill":
            cv2.fillPoly(m, [p], 1, cv2.LINE_8, shift=2)
        else:
            cv2.polylines(m, [p], False, 1, width, cv2.LINE_8, shift=2)
    return m


def mask_triple(rng: np.random.Generator, size: int, kind: str | None = None) -> np.ndarray:
    """One (previous, this, next) mask triple for a ``size`` x ``size`` crop.

    Returns:
        uint8 ``(3, size, size)`` in {0, 1}; the middle mask is never empty.
    """
    kind = kind or str(rng.choice(KINDS, p=[0.45, 0.25, 0.30]))
    shapes = _draw(kind, rng, size)
    moving = rng.random() < 0.5
    step = rng.uniform(-0.08, 0.08, 2) * size if moving else np.zeros(2)
    out = np.stack([_render(shapes, size, s * step) for s in (-1, 0, 1)])
    if not out[1].any():  # a wire that fell outside the crop: put a blob in the middle
        return mask_triple(rng, size, "object")
    return out


def mask_bank(count: int, size: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """``count`` mask triples and their kinds, reproducible from ``seed``.

    Returns:
        uint8 ``(count, 3, size, size)`` and the kind of each.
    """
    rng = np.random.default_rng(seed)
    kinds = [str(k) for k in rng.choice(KINDS, size=count, p=[0.45, 0.25, 0.30])]
    return np.stack([mask_triple(rng, size, k) for k in kinds]), kinds
