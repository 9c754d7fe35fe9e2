"""Scattered-data kernels of the fill: bilinear gathers at float positions and push-pull
interpolation of sparse values into holes (flow completion, seam offsets)."""

from __future__ import annotations

import cv2
import numpy as np


def gather(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``img`` at float pixel positions (pixel centres at integers).

    Positions outside the image are clamped to its border.

    Args:
        img: Shape ``(H, W)`` or ``(H, W, C)``; any float values.
        x: Column positions, shape ``(N,)``.
        y: Row positions, shape ``(N,)``.

    Returns:
        Shape ``(N,)`` or ``(N, C)``, float32.
    """
    h, w = img.shape[:2]
    xc = np.clip(x, 0.0, w - 1.0)
    yc = np.clip(y, 0.0, h - 1.0)
    x0 = np.minimum(xc.astype(np.int32), max(w - 2, 0))
    y0 = np.minimum(yc.astype(np.int32), max(h - 2, 0))
    fx = (xc - x0).astype(np.float32)
    fy = (yc - y0).astype(np.float32)
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    if img.ndim == 3:
        fx = fx[:, None]
        fy = fy[:, None]
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return np.asarray(top * (1 - fy) + bottom * fy, dtype=np.float32)


_ROW = 1024  # remap maps are laid out in rows of this many points (OpenCV caps sizes at 32767)


def sample(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear samples like :func:`gather`, through ``cv2.remap``: about 10x faster, with the
    bilinear weights quantized to 1/32 pixel (OpenCV's fixed-point interpolation table).

    Args:
        img: Shape ``(H, W)`` or ``(H, W, C)`` with C <= 4, float32.
        x: Column positions, shape ``(N,)``.
        y: Row positions, shape ``(N,)``.

    Returns:
        Shape ``(N,)`` or ``(N, C)``, float32; positions outside the image take the border.
    """
    n = x.size
    if n == 0:
        return np.zeros((0, *img.shape[2:]), np.float32)
    rows = -(-n // _ROW)
    pad = rows * _ROW - n
    mx = np.pad(x.astype(np.float32, copy=False), (0, pad)).reshape(rows, _ROW)
    my = np.pad(y.astype(np.float32, copy=False), (0, pad)).reshape(rows, _ROW)
    out = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    flat = np.asarray(out, np.float32).reshape(rows * _ROW, *img.shape[2:])
    return flat[:n]


def bilinear_weight_energy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sum of squared bilinear weights at each position: the share of a pixel's white-noise
    variance that survives bilinear resampling (1 on a pixel centre, 0.25 between four).

    Shape: ``(N,)`` in, ``(N,)`` out (float32).
    """
    fx = (x - np.floor(x)).astype(np.float32)
    fy = (y - np.floor(y)).astype(np.float32)
    return ((1 - fx) ** 2 + fx**2) * ((1 - fy) ** 2 + fy**2)


def push_pull(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill the unknown pixels of ``values`` with a smooth interpolation of the known ones.

    Pyramid push-pull (Gortler et al. 1996): known values are averaged down a pyramid until
    every pixel has support, then pulled back up, each level keeping what it knows and taking
    the coarser level's (bilinearly upsampled) estimate for the rest. Linear in the pixel count.

    Args:
        values: Shape ``(H, W)`` or ``(H, W, C)``, float32; values at unknown pixels are ignored.
        known: Shape ``(H, W)``, weights in [0, 1] (1 = known).

    Returns:
        Same shape as ``values``: known pixels (weight 1) unchanged, the rest interpolated.
        All zeros where nothing at all is known.
    """
    v = values.astype(np.float32, copy=False)
    squeeze = v.ndim == 2
    if squeeze:
        v = v[:, :, None]
    w = np.clip(np.nan_to_num(known.astype(np.float32)), 0.0, 1.0)
    if not np.any(w > 0):
        return np.zeros_like(values, dtype=np.float32)
    v = np.where(w[:, :, None] > 0, v, 0.0).astype(np.float32)  # ignore unknowns
    if not np.isfinite(v.sum()):
        v = np.nan_to_num(v)
    levels: list[tuple[np.ndarray, np.ndarray]] = []
    col, wt = v, w
    while True:
        levels.append((col, wt))
        h, ww = wt.shape
        if h == 1 and ww == 1:
            break
        nh, nw = max(1, (h + 1) // 2), max(1, (ww + 1) // 2)
        prem = _down(col * wt[:, :, None], nw, nh)
        wsum = _down(wt, nw, nh)
        safe = np.maximum(wsum, 1e-8)
        col = prem / safe[:, :, None]
        wt = np.minimum(1.0, 4.0 * wsum)  # one known child of four makes a known parent
    out = levels[-1][0]
    for col, wt in reversed(levels[:-1]):
        h, ww = wt.shape
        up = _resize(out, ww, h, cv2.INTER_LINEAR)
        out = col * wt[:, :, None] + up * (1.0 - wt[:, :, None])
    return out[:, :, 0] if squeeze else out


def _down(img: np.ndarray, w: int, h: int) -> np.ndarray:
    """2x box average (area resize); keeps a trailing channel axis for 3-D input."""
    return _resize(img, w, h, cv2.INTER_AREA)


def _resize(img: np.ndarray, w: int, h: int, interpolation: int) -> np.ndarray:
    """``cv2.resize`` for any number of channels (OpenCV's area resize takes at most 4);
    keeps a trailing channel axis for 3-D input. Float32 out."""
    if img.ndim == 2 or img.shape[2] <= 4:
        out = cv2.resize(img, (w, h), interpolation=interpolation)
        if img.ndim == 3 and out.ndim == 2:
            out = out[:, :, None]
        return np.asarray(out, dtype=np.float32)
    parts = [_resize(img[:, :, c : c + 4], w, h, interpolation) for c in range(0, img.shape[2], 4)]
    return np.concatenate(parts, axis=2)
