"""Fast small RGB previews straight from decoded 8-bit YUV planes.

Analysis needs every frame, small. Scaling the Y, U and V planes separately with an area filter
and converting only the small result costs a fraction of converting the full picture first,
and uses the stream's own matrix (BT.709 for HD, BT.601 for SD) and range.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

_PLANAR_8BIT = frozenset(
    {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv440p"}
)
# AVColorSpace codes
_BT709, _BT470BG, _SMPTE170M = 1, 5, 6
# (Kr, Kb) luma coefficients
_KRKB = {"709": (0.2126, 0.0722), "601": (0.299, 0.114)}


def _matrix(standard: str) -> np.ndarray:
    kr, kb = _KRKB[standard]
    kg = 1.0 - kr - kb
    return np.array(
        [
            [1.0, 0.0, 2 * (1 - kr)],
            [1.0, -2 * (1 - kb) * kb / kg, -2 * (1 - kr) * kr / kg],
            [1.0, 2 * (1 - kb), 0.0],
        ],
        np.float32,
    )


_MATRICES = {k: _matrix(k) for k in _KRKB}


def _affine(standard: str, full: bool) -> np.ndarray:
    """3x4 matrix taking 8-bit Y'CbCr codes to 8-bit R'G'B' codes (range and offsets folded in)."""
    if full:
        offset = np.array([0.0, 128.0, 128.0])
        scale = np.array([1.0, 1.0, 1.0])
    else:
        offset = np.array([16.0, 128.0, 128.0])
        scale = np.array([255.0 / 219.0, 255.0 / 224.0, 255.0 / 224.0])
    m = _MATRICES[standard].astype(np.float64) * scale[None, :]
    return np.hstack([m, -(m @ offset)[:, None]]).astype(np.float32)


_AFFINE = {(k, full): _affine(k, full) for k in _KRKB for full in (False, True)}


def _plane(frame: Any, i: int) -> np.ndarray:
    p = frame.planes[i]
    return np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, : p.width]


def _shrink(plane: np.ndarray, w: int, h: int, final: int = cv2.INTER_AREA) -> np.ndarray:
    """Box-filtered resize: halvings first (bilinear at exactly 1/2 is a 2x2 box, and fast),
    then ``final`` interpolation for the rest."""
    while plane.shape[1] >= 4 * w and plane.shape[0] >= 4 * h:
        half = (plane.shape[1] // 2, plane.shape[0] // 2)
        plane = cv2.resize(plane, half, interpolation=cv2.INTER_LINEAR)
    return cv2.resize(plane, (w, h), interpolation=final)


def yuv_preview(frame: Any, size: tuple[int, int]) -> np.ndarray | None:
    """Small display RGB from an 8-bit planar YUV ``av.VideoFrame``; ``None`` for other formats.

    Args:
        frame: A decoded PyAV video frame.
        size: ``(width, height)`` of the result.

    Returns:
        uint8 ``(height, width, 3)`` RGB, Rec.709/601 display code values.
    """
    fmt = frame.format.name
    if fmt not in _PLANAR_8BIT:
        return None
    w, h = size
    # luma area-filtered; chroma (already subsampled, and soft) needs only bilinear
    yuv = cv2.merge(
        [_shrink(_plane(frame, 0), w, h)]
        + [_shrink(_plane(frame, i), w, h, cv2.INTER_LINEAR) for i in (1, 2)]
    )
    full = fmt.startswith("yuvj") or frame.color_range == 2
    space = frame.colorspace
    if space in (_BT470BG, _SMPTE170M):
        standard = "601"
    elif space == _BT709:
        standard = "709"
    else:  # unspecified: the usual convention by picture height
        standard = "709" if frame.height >= 720 else "601"
    # one affine 3x4 transform on uint8, rounded and saturated by OpenCV
    rgb: np.ndarray = cv2.transform(yuv, _AFFINE[standard, full])
    return rgb
