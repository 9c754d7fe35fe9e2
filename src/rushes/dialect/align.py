"""The camera's global motion between two frames, as a homography (the network's neighbours
are aligned by it, so what it learns is the local motion: parallax, moving things)."""

from __future__ import annotations

import cv2
import numpy as np

LONG_SIDE = 480
"""Frames are aligned on a copy with this long side (the homography is scaled back)."""


def _gray(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    g = img if img.ndim == 2 else img[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)
    g = cv2.resize(g.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    return np.clip(g * 255.0 + 0.5, 0, 255).astype(np.uint8)


def camera_homography(
    src: np.ndarray,
    dst: np.ndarray,
    src_mask: np.ndarray | None = None,
    dst_mask: np.ndarray | None = None,
) -> np.ndarray:
    """The homography taking ``dst`` pixel coordinates to ``src`` ones (identity when the
    frames give too few reliable corners).

    Args:
        src, dst: float32 ``(H, W, 3)`` or ``(H, W)`` frames in [0, 1], same size.
        src_mask, dst_mask: float32 ``(H, W)``; > 0.5 is ignored (a wire, a rig).

    Returns:
        float64 ``(3, 3)``; warp ``src`` onto ``dst`` with :func:`warp_to`.
    """
    h, w = dst.shape[:2]
    s = min(1.0, LONG_SIDE / max(h, w))
    size = (max(8, round(w * s)), max(8, round(h * s)))
    a, b = _gray(dst, size), _gray(src, size)
    keep = np.full(a.shape, 255, np.uint8)
    for m in (dst_mask, src_mask):
        if m is not None:
            small = cv2.resize((m > 0.5).astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
            keep[cv2.dilate(small, np.ones((5, 5), np.uint8)) > 0] = 0
    pts = cv2.goodFeaturesToTrack(a, 400, 0.01, 8, mask=keep)
    if pts is None or len(pts) < 12:
        return np.eye(3)
    lk = {"winSize": (21, 21), "maxLevel": 4}
    fwd, st1, _ = cv2.calcOpticalFlowPyrLK(a, b, pts, None, **lk)  # type: ignore[call-overload]
    back, st2, _ = cv2.calcOpticalFlowPyrLK(b, a, fwd, None, **lk)  # type: ignore[call-overload]
    ok = (st1[:, 0] == 1) & (st2[:, 0] == 1) & (np.linalg.norm(back - pts, axis=2)[:, 0] < 1.0)
    if ok.sum() < 12:
        return np.eye(3)
    hm, inl = cv2.findHomography(pts[ok], fwd[ok], cv2.RANSAC, 2.0)
    if hm is None or inl is None or inl.sum() < 10:
        return np.eye(3)
    scale = np.diag([1 / s, 1 / s, 1.0])
    return scale @ hm @ np.linalg.inv(scale)


def warp_to(src: np.ndarray, hm: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``src`` resampled onto the destination grid (``size`` = (width, height)) through
    ``hm`` from :func:`camera_homography` (bilinear, edges replicated)."""
    return cv2.warpPerspective(
        src,
        hm,
        size,
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
