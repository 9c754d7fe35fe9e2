"""Shot matching, input side: validate sampled frames, downscale them, find clipped pixels.

Frames arrive as float32 ``(H, W, 3)`` ACEScct code values of any size. Each becomes a
:class:`PreparedFrame`: the image at the analysis size (long side :data:`ANALYSIS_SIZE`), a mask
of its usable (unclipped) pixels, and an 8-bit luma image at :data:`ALIGN_SIZE` for feature
matching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from rushes.color.cdl import LUMA_WEIGHTS
from rushes.errors import ColorError

__all__ = [
    "ALIGN_SIZE",
    "ANALYSIS_SIZE",
    "PILE_FRACTION",
    "PILE_TOLERANCE",
    "PreparedFrame",
    "clipped_mask",
    "prepare_frames",
]

#: Long side (pixels) of the images whose colours are compared.
ANALYSIS_SIZE = 256
#: Long side (pixels) of the luma images used for feature matching.
ALIGN_SIZE = 512
#: A channel value shared (within :data:`PILE_TOLERANCE`) by at least this fraction of a frame's
#: pixels at the very top or bottom of its range is a clip level (sensor or encoding clip).
PILE_FRACTION = 0.004
#: Tolerance of a clip level, in code values.
PILE_TOLERANCE = 1.5e-3


@dataclass(frozen=True)
class PreparedFrame:
    """One sampled frame, ready for estimation.

    Attributes:
        image: ACEScct code values at the analysis size. Shape: ``(h, w, 3)`` float32.
        valid: pixels not clipped in any channel (and not next to one). Shape: ``(h, w)`` bool.
        luma: 8-bit contrast-normalised luma for features. Shape: ``(ha, wa)`` uint8.
        align_to_analysis: analysis pixels per feature-image pixel.
    """

    image: np.ndarray
    valid: np.ndarray
    luma: np.ndarray
    align_to_analysis: float


def _fit(h: int, w: int, long_side: int) -> tuple[int, int]:
    if max(h, w) <= long_side:
        return w, h
    s = long_side / max(h, w)
    return max(8, round(w * s)), max(8, round(h * s))


def clipped_mask(image: np.ndarray, clip_low: float, clip_high: float) -> np.ndarray:
    """Pixels with a channel outside ``[clip_low, clip_high]`` or on a clip level.

    A clip level is a value at the very top (or bottom) of a channel's range that at least
    :data:`PILE_FRACTION` of the pixels share: what clipping leaves in an encoded frame
    wherever the clip happened (display white becomes ACEScct 0.5547, a graded clip something
    else). The mask is grown by one pixel, since the pixels next to a clipped area are mixed.

    Args:
        image: ACEScct code values. Shape: ``(h, w, 3)`` float32.
        clip_low: code values at or below this are crushed.
        clip_high: code values at or above this are clipped.

    Returns:
        True where clipped. Shape: ``(h, w)`` bool.
    """
    bad = np.any((image <= clip_low) | (image >= clip_high), axis=-1)
    npix = image.shape[0] * image.shape[1]
    need = max(8, int(PILE_FRACTION * npix))
    for c in range(3):
        ch = image[..., c]
        top = float(ch.max())
        at_top = ch >= top - PILE_TOLERANCE
        if int(np.count_nonzero(at_top)) >= need:
            bad |= at_top
        bottom = float(ch.min())
        at_bottom = ch <= bottom + PILE_TOLERANCE
        if int(np.count_nonzero(at_bottom)) >= need:
            bad |= at_bottom
    grown = cv2.dilate(bad.astype(np.uint8), np.ones((3, 3), np.uint8))
    return grown.astype(bool)


def _luma_u8(image: np.ndarray) -> np.ndarray:
    luma = image @ np.asarray(LUMA_WEIGHTS, np.float32)
    lo, hi = np.percentile(luma, (1.0, 99.0))
    scale = 255.0 / max(float(hi - lo), 1e-3)
    return np.clip((luma - lo) * scale, 0, 255).astype(np.uint8)


def prepare_frames(
    frames: Sequence[np.ndarray], name: str, clip_low: float, clip_high: float
) -> list[PreparedFrame]:
    """Validate and downscale sampled frames.

    Args:
        frames: ACEScct code values (float; other float dtypes are converted), any size.
            Shape: each ``(H, W, 3)``.
        name: ``"shot"`` or ``"reference"``, for error messages.
        clip_low: see :func:`clipped_mask`.
        clip_high: see :func:`clipped_mask`.

    Returns:
        One prepared frame per input.

    Raises:
        ColorError: no frames, a frame that is not ``(H, W, 3)`` floats, too small, or holding
            NaN or infinite values.
    """
    if isinstance(frames, np.ndarray) and frames.ndim == 3:
        raise ColorError(
            f"{name} is one array of shape {frames.shape}; give a list of frames "
            "(or an (N, H, W, 3) stack)"
        )
    try:
        items = list(frames)
    except TypeError:
        raise ColorError(
            f"{name} is a {type(frames).__name__}; give a list of (H, W, 3) ACEScct frames"
        ) from None
    if not items:
        raise ColorError(f"no {name} frames were given; give at least one (H, W, 3) frame")
    out: list[PreparedFrame] = []
    for i, frame in enumerate(items):
        arr = np.asarray(frame)
        if arr.ndim != 3 or arr.shape[-1] != 3:
            raise ColorError(
                f"{name} frame {i} has shape {arr.shape}; give (H, W, 3) RGB frames in ACEScct"
            )
        if not np.issubdtype(arr.dtype, np.floating):
            raise ColorError(
                f"{name} frame {i} is {arr.dtype}; give float32 ACEScct code values "
                "(convert with rushes.color.ocio.convert)"
            )
        if min(arr.shape[:2]) < 16:
            raise ColorError(
                f"{name} frame {i} is {arr.shape[1]}x{arr.shape[0]}; give frames of at least "
                "16x16 pixels"
            )
        arr = np.ascontiguousarray(arr, np.float32)
        if not np.isfinite(arr).all():
            bad = int(np.count_nonzero(~np.isfinite(arr).all(axis=-1)))
            raise ColorError(
                f"{name} frame {i} has {bad} pixels with NaN or infinite values; "
                "give finite ACEScct values"
            )
        h, w = arr.shape[:2]
        aw, ah = _fit(h, w, ALIGN_SIZE)
        big = cv2.resize(arr, (aw, ah), interpolation=cv2.INTER_AREA) if (aw, ah) != (w, h) else arr
        sw, sh = _fit(ah, aw, ANALYSIS_SIZE)
        small = (
            cv2.resize(big, (sw, sh), interpolation=cv2.INTER_AREA) if (sw, sh) != (aw, ah) else big
        )
        valid = ~clipped_mask(small, clip_low, clip_high)
        out.append(PreparedFrame(small, valid, _luma_u8(big), sw / aw))
    return out
