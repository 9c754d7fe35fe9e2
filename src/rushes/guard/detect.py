"""Faces and bodies in one frame, in source pixels, for the per-frame performer tracker.

The detectors are those of :mod:`rushes.analysis.people` (OpenCV's Haar frontal and profile
cascades and its HOG people detector, all shipped inside ``opencv-python``; nothing is
downloaded). That module scans a 320-px image, fine for a shot summary; the guard must find
every face of at least :data:`MIN_FACE` source pixels, so faces are scanned here at a working
scale where such a face spans 32 px (0.8 of the source: 1536x864 for 1080p), or at the area
of a 640x360 image for smaller sources. Measured on the hand-checked ground truth: at 24 px
(the cascades' 20-px window plus a margin) most 45-60 px profile faces of a 720p clip were
missed; at 32 px most are found.

Two scans:

- :func:`detect_faces` over the whole working image (the tracker's key frames), optionally
  with its pyramid shifted by a fraction of a scale step (``phase``);
- the same with ``roi``: only around a box where a tracked face is expected, over sizes
  0.65-1.55x its size, a big face at a reduced size: a few milliseconds, so the tracker can
  look on every frame.

Example:
    >>> import numpy as np
    >>> p = prepare(np.zeros((360, 640, 3), np.float32))
    >>> detect_faces(p), detect_bodies(p)
    ([], [])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from rushes.analysis import people
from rushes.analysis.color_stats import REC709_LUMA

__all__ = ["MIN_FACE", "DetectSettings", "Hit", "Prepared", "detect_bodies", "detect_faces"]

MIN_FACE = 40.0
"""Smallest face width (source pixels) that must be found."""

SMALL_AREA = 640 * 360
"""Frames are scanned at no less than this area (when the source has it), so faces from 24
source px are found in small sources at little cost."""

ROI_GROW = 0.6
"""A region-of-interest scan looks this many box widths beyond the expected box each side."""

ROI_SIZES = (0.65, 1.55)
"""... for faces between these multiples of the expected size."""

ROI_FACE = 40.0
"""... at a scale where the expected face spans at most this many pixels."""

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class DetectSettings:
    """How faces and bodies are looked for.

    Attributes:
        min_face: smallest face width (source px) the full scan must find.
        work_face: ... is scanned at the scale where it spans this many pixels (the cascades'
            window is 20 px; faces barely larger are found less often).
        roi_step: scale step of region-of-interest scans.
        scale_step: scale step of the cascades' image pyramid in full scans (1.1 finds a few
            more faces at about twice the cost).
        frontal_neighbors: raw hits a frontal face needs.
        frontal_sure: frontal faces with fewer hits must be confirmed by the second frontal
            cascade (``people._confirmed``) in full scans (a region-of-interest scan follows a
            face already found).
        profile_neighbors: raw hits a profile face needs (either direction).
        roi_neighbors: raw hits a face needs in a region-of-interest scan (both cascades).
        profiles: run the profile cascade (both directions); about 60 % of the cost.
        bodies: run the HOG people detector on full scans.
    """

    min_face: float = MIN_FACE
    work_face: float = 32.0
    scale_step: float = 1.2
    roi_step: float = 1.05
    frontal_neighbors: int = 3
    frontal_sure: int = 8
    profile_neighbors: int = 4
    roi_neighbors: int = 2
    profiles: bool = True
    bodies: bool = True


@dataclass(frozen=True)
class Hit:
    """One detection in source pixels: ``kind`` is ``face`` or ``person``; ``score`` in [0, 1]
    (faces: ``1 - exp(-hits / 10)``; people: ``1 - exp(-margin)``)."""

    kind: str
    x: float
    y: float
    w: float
    h: float
    score: float

    def box(self) -> Box:
        """``(x, y, w, h)``."""
        return (self.x, self.y, self.w, self.h)


@dataclass(frozen=True)
class Prepared:
    """A frame made ready for the detectors.

    Attributes:
        gray: 8-bit luma at the working scale (for bodies).
        faces: ``gray`` histogram-equalized (for the cascades).
        scale: working pixels per source pixel.
        width: source width.
        height: source height.
    """

    gray: np.ndarray
    faces: np.ndarray
    scale: float
    width: int
    height: int


def work_scale(
    width: int, height: int, min_face: float = MIN_FACE, work_face: float = 32.0
) -> float:
    """Working pixels per source pixel: a ``min_face`` face spans ``work_face`` pixels, and
    small frames are scanned at the area of a 640x360 image; never above 1."""
    s = max(work_face / max(min_face, 1.0), math.sqrt(SMALL_AREA / (width * height)))
    return min(1.0, s)


def prepare(frame: np.ndarray, settings: DetectSettings | None = None) -> Prepared:
    """Luma of ``frame`` at the working scale, plain and equalized.

    Args:
        frame: the frame at full resolution.
        settings: detection settings (``min_face`` sets the scale).

    Raises:
        ValueError: not an ``(H, W, 3)`` float32 or uint8 image, or NaN / infinite values.

    Shape:
        frame: ``(H, W, 3)`` RGB, display-encoded: float32 code values in [0, 1] (values
        outside are clipped), or uint8.
    """
    s = settings or DetectSettings()
    arr = np.asarray(frame)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] < 2 or arr.shape[1] < 2:
        raise ValueError(f"frame has shape {arr.shape}; give an RGB image of shape (H, W, 3)")
    if arr.dtype not in (np.uint8, np.float32, np.float64):
        raise ValueError(f"frame has dtype {arr.dtype}; give float32 in [0, 1] or uint8")
    src = arr if arr.dtype == np.uint8 else np.asarray(arr, np.float32)
    luma = cv2.transform(src, REC709_LUMA)  # uint8 stays uint8 (rounded, saturated)
    height, width = arr.shape[:2]
    scale = work_scale(width, height, s.min_face, s.work_face)
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        luma = cv2.resize(luma, size, interpolation=cv2.INTER_AREA)
    luma = luma.reshape(luma.shape[:2])
    if luma.dtype == np.uint8:
        gray = luma
    else:
        if not math.isfinite(float(luma.sum())):
            raise ValueError("frame holds NaN or infinite values; give finite display code values")
        gray = np.asarray(np.clip(luma, 0.0, 1.0) * 255.0 + 0.5, np.uint8)
    return Prepared(gray, cv2.equalizeHist(gray), scale, width, height)


# --------------------------------------------------------------------------------------------
# boxes


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes."""
    ix = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    iy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    return inter / max(a[2] * a[3] + b[2] * b[3] - inter, 1e-9)


def same_object(a: Box, b: Box) -> bool:
    """IoU above 0.3, or the smaller box mostly inside the larger."""
    if iou(a, b) > 0.3:
        return True
    ix = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    iy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return ix > 0 and iy > 0 and ix * iy > 0.6 * min(a[2] * a[3], b[2] * b[3])


def nms(hits: list[Hit]) -> list[Hit]:
    """Keep the best-scoring hit of each group of overlapping ones (same kind)."""
    kept: list[Hit] = []
    for h in sorted(hits, key=lambda h: -h.score):
        if not any(k.kind == h.kind and same_object(h.box(), k.box()) for k in kept):
            kept.append(h)
    return kept


# --------------------------------------------------------------------------------------------
# detectors


def _cascade_hits(
    img: np.ndarray, name: str, step: float, neighbors: int, lo: int, hi: int | None
) -> list[tuple[list[int], int]]:
    if img.shape[0] < lo or img.shape[1] < lo:
        return []
    boxes, hits = people._cascade(name).detectMultiScale2(
        img,
        scaleFactor=step,
        minNeighbors=neighbors,
        minSize=(lo, lo),
        maxSize=(hi, hi) if hi else (0, 0),
    )
    return list(
        zip(np.asarray(boxes).reshape(-1, 4).tolist(), np.ravel(hits).tolist(), strict=True)
    )


def detect_faces(
    p: Prepared, settings: DetectSettings | None = None, roi: Box | None = None, phase: float = 0.0
) -> list[Hit]:
    """Frontal and profile faces, in source pixels.

    Args:
        p: the prepared frame.
        settings: detection settings.
        roi: ``(x, y, w, h)`` source box of a face expected near there: only the area around
            it (:data:`ROI_GROW`) is scanned, for faces of :data:`ROI_SIZES` times its size,
            with a finer scale step, stopping at the first cascade (frontal, profile,
            mirrored profile) that finds one centred in ``roi``; ``None`` scans the whole
            frame.
        phase: full scans only: the pyramid starts this fraction of a scale step smaller, so
            that successive scans with phases 0 and 0.5 together cover the sizes of a pyramid
            twice as fine.

    Returns:
        Faces, overlapping frontal / profile hits merged, best first.
    """
    s = settings or DetectSettings()
    img = p.faces
    x0 = y0 = 0  # where img starts in the working image
    k = 1.0  # working pixels per img pixel
    lo, hi, step = people.MIN_FACE_PX, None, s.scale_step
    if roi is None and phase > 0:
        f = s.scale_step**-phase
        img = cv2.resize(img, _size(img, f), interpolation=cv2.INTER_AREA)
        k = p.faces.shape[1] / img.shape[1]
    elif roi is not None:
        size = max(roi[2], roi[3]) * p.scale
        g = ROI_GROW * size
        x0 = max(0, int(roi[0] * p.scale - g))
        y0 = max(0, int(roi[1] * p.scale - g))
        x1 = min(img.shape[1], int((roi[0] + roi[2]) * p.scale + g) + 1)
        y1 = min(img.shape[0], int((roi[1] + roi[3]) * p.scale + g) + 1)
        if x1 - x0 < lo or y1 - y0 < lo:  # (mostly) outside the frame
            return []
        img = img[y0:y1, x0:x1]
        if size > ROI_FACE:  # a big face is looked for at a size where it spans ROI_FACE px
            img = cv2.resize(img, _size(img, ROI_FACE / size), interpolation=cv2.INTER_AREA)
            k = (x1 - x0) / img.shape[1]
            size = ROI_FACE
        lo = max(lo, int(ROI_SIZES[0] * size))
        hi = max(lo + 1, int(ROI_SIZES[1] * size) + 1)
        step = s.roi_step
        if img.shape[0] < lo or img.shape[1] < lo:
            return []

    def hit(box: list[int], n: int) -> Hit:
        bx, by, bw, bh = (float(v) for v in box)
        f = k / p.scale
        return Hit(
            "face",
            bx * f + x0 / p.scale,
            by * f + y0 / p.scale,
            bw * f,
            bh * f,
            round(1 - math.exp(-n / 10), 4),
        )

    frontal_n, profile_n = s.frontal_neighbors, s.profile_neighbors
    if roi is not None:
        frontal_n = profile_n = s.roi_neighbors
    out: list[Hit] = []
    for box, n in _cascade_hits(img, people._FRONTAL, step, frontal_n, lo, hi):
        if roi is not None or n >= s.frontal_sure or people._confirmed(img, box):
            out.append(hit(box, n))
    if s.profiles:
        for mirrored in (False, True):
            if roi is not None and any(_centred(h, roi) for h in out):
                break  # found where expected: a region-of-interest scan stops here
            src = cv2.flip(img, 1) if mirrored else img
            for box, n in _cascade_hits(src, people._PROFILE, step, profile_n, lo, hi):
                if mirrored:
                    box = [img.shape[1] - box[0] - box[2], *box[1:]]
                out.append(hit(box, n))
    return nms(out)


def _centred(h: Hit, box: Box) -> bool:
    cx, cy = h.x + h.w / 2, h.y + h.h / 2
    return box[0] <= cx <= box[0] + box[2] and box[1] <= cy <= box[1] + box[3]


def _size(img: np.ndarray, f: float) -> tuple[int, int]:
    return (max(1, round(img.shape[1] * f)), max(1, round(img.shape[0] * f)))


def detect_bodies(p: Prepared) -> list[Hit]:
    """Standing people (HOG, ``people._bodies``), in source pixels."""
    h, w = p.gray.shape
    return [
        Hit("person", d.x * p.width, d.y * p.height, d.w * p.width, d.h * p.height, d.score)
        for d in people._bodies(p.gray)
        if d.w * w > 1 and d.h * h > 1
    ]
