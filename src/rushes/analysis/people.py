"""Faces and people present in a frame, and per-shot presence summaries.

Uses only detectors that ship inside ``opencv-python`` (nothing is downloaded, nothing learned
from other productions' footage):

- faces: the Haar frontal-face cascade (``haarcascade_frontalface_alt2``) and the profile
  cascade (``haarcascade_profileface``, run on the frame and on its mirror image for faces
  turned either way); weak frontal hits are confirmed by a second frontal cascade
  (``haarcascade_frontalface_default``) on a crop around them;
- people: the HOG + linear SVM pedestrian detector (Dalal & Triggs) of ``cv2.HOGDescriptor``.

Working sizes: the frame is area-downscaled (never upscaled) to the pixel count of a 16:9
image of a given long side, so the cost does not depend on the aspect ratio:

- frontal faces at :data:`FACE_LONG_SIDE` (320x180 px or the same area): faces from 24 px
  there, i.e. about 13 % of the frame height: close-ups, medium shots and most medium-wide
  shots; faces in wide shots are missed;
- profile faces at :data:`PROFILE_LONG_SIDE` (224x126 px): from about 19 % of the height;
- bodies at :data:`BODY_LONG_SIDE` (480x270 px): standing people from about 45 % of the frame
  height up (the HOG window is 64x128 px); seated, cropped or close people are rarely found
  (their faces usually are).

So give a frame of at least 480x270 px (e.g. the 640-px frame ingest samples for this); a
320x180 analysis frame works for faces but limits bodies to people filling 2/3 of the height.
Cost on one core of the development machine: ~35-45 ms for faces (frontal ~20, the two profile
passes ~20), ~15 ms for bodies, so run it on a sampled subset of frames.

Known weaknesses (measured on the shared footage): HOG finds walking people in roughly half to
three quarters of the frames where they are big enough and fires on strong vertical stripes
(a flag behind a talking head); a weak frontal hit confirmed by both cascades can still be a
round face-like graphic (1 frame in 292 of ``running_car``); faces turned more than ~60 degrees
from both the camera and the profile are missed. Boxes are detections, not masks.

Detector objects are created lazily and cached once per thread (so once per process in a
process pool) because loading a cascade takes several milliseconds and the objects are not
safe to share between threads.

Example:
    >>> import numpy as np
    >>> detect_people(np.zeros((360, 640, 3), np.float32))
    []
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

from rushes.analysis.color_stats import REC709_LUMA, check_frame

__all__ = [
    "BODY_LONG_SIDE",
    "FACE_LONG_SIDE",
    "PROFILE_LONG_SIDE",
    "Detection",
    "detect_people",
    "summarize_people",
]

FACE_LONG_SIDE = 320
"""The frontal cascade scans an image of the area of a 16:9 image of this long side."""

PROFILE_LONG_SIDE = 224
"""Working size of the profile cascade (run twice: as is and mirrored), as above."""

BODY_LONG_SIDE = 480
"""Working size of the HOG people detector, as above."""

MIN_FACE_PX = 24
"""Smallest face searched, in pixels of the working image."""

FACE_SCALE_STEP = 1.2
"""Scale step of the cascade image pyramids (1.1 finds a few more faces at twice the cost)."""

FRONTAL_MIN_NEIGHBORS = 4
"""Overlapping raw hits a frontal face needs (non-face footage peaks at 3 in our tests)."""

FRONTAL_SURE_NEIGHBORS = 8
"""Frontal faces with fewer hits than this must be confirmed by the second cascade."""

PROFILE_MIN_NEIGHBORS = 5
"""Overlapping raw hits a profile face needs."""

BODY_MIN_WEIGHT = 0.5
"""Smallest HOG SVM margin kept as a person."""

BODY_SCALE_STEP = 1.1
"""Scale step of the HOG image pyramid."""

MAX_BOXES = 8
"""Most representative boxes :func:`summarize_people` reports."""

_FRONTAL = "haarcascade_frontalface_alt2.xml"
_FRONTAL_CHECK = "haarcascade_frontalface_default.xml"
_PROFILE = "haarcascade_profileface.xml"


@dataclass(frozen=True)
class Detection:
    """One face or person in a frame.

    Attributes:
        kind: ``"face"`` or ``"person"``.
        x: left edge as a fraction of the frame width, in [0, 1].
        y: top edge as a fraction of the frame height, in [0, 1].
        w: width as a fraction of the frame width, in [0, 1].
        h: height as a fraction of the frame height, in [0, 1].
        score: detector confidence squashed to [0, 1]; comparable within a kind only (faces:
            ``1 - exp(-hits / 10)`` of the cascade's overlapping raw hits; people:
            ``1 - exp(-margin)`` of the HOG SVM margin).
    """

    kind: str
    x: float
    y: float
    w: float
    h: float
    score: float

    def to_dict(self) -> dict[str, Any]:
        """The detection as a JSON-serializable dict."""
        return asdict(self)

    def box(self) -> tuple[float, float, float, float]:
        """``(x0, y0, x1, y1)`` in frame fractions."""
        return (self.x, self.y, self.x + self.w, self.y + self.h)


# --------------------------------------------------------------------------------------------
# lazily created, per-thread detectors

_local = threading.local()


def _cascade(name: str) -> cv2.CascadeClassifier:
    cache: dict[str, cv2.CascadeClassifier] | None = getattr(_local, "cascades", None)
    if cache is None:
        cache = {}
        _local.cascades = cache
    cascade = cache.get(name)
    if cascade is None:
        path = str(cv2.data.haarcascades) + name  # type: ignore[attr-defined]
        cascade = cv2.CascadeClassifier(path)
        if cascade.empty():
            raise RuntimeError(
                f"OpenCV face cascade {path} could not be loaded; reinstall "
                "opencv-python-headless, which ships it in cv2.data.haarcascades"
            )
        cache[name] = cascade
    return cascade


def _hog() -> cv2.HOGDescriptor:
    hog: cv2.HOGDescriptor | None = getattr(_local, "hog", None)
    if hog is None:
        hog = cv2.HOGDescriptor()
        hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32))
        _local.hog = hog
    return hog


# --------------------------------------------------------------------------------------------
# kernels


def _resize_long(img: np.ndarray, long_side: int) -> np.ndarray:
    """Area-downscale ``img`` to the pixel count of a 16:9 image of that long side."""
    h, w = img.shape[:2]
    s = math.sqrt(long_side * long_side * 9.0 / 16.0 / (h * w))
    if s >= 1.0:
        return img
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.asarray(cv2.resize(img, size, interpolation=cv2.INTER_AREA))


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    if inter <= 0:
        return 0.0
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    return inter / max(area_a + area_b - inter, 1e-12)


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Same object: IoU above 0.3 or one box mostly inside the other."""
    if _iou(a, b) > 0.3:
        return True
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy > 0.6 * max(small, 1e-12)


def _nms(dets: list[Detection]) -> list[Detection]:
    kept: list[Detection] = []
    for d in sorted(dets, key=lambda d: -d.score):
        if not any(_overlaps(d.box(), k.box()) for k in kept):
            kept.append(d)
    return kept


def _make(kind: str, box: Sequence[float], width: int, height: int, score: float) -> Detection:
    x, y, w, h = (float(v) for v in box)
    x0 = min(max(x / width, 0.0), 1.0)
    y0 = min(max(y / height, 0.0), 1.0)
    x1 = min(max((x + w) / width, 0.0), 1.0)
    y1 = min(max((y + h) / height, 0.0), 1.0)
    return Detection(kind, x0, y0, x1 - x0, y1 - y0, round(float(score), 4))


def _confirmed(gray: np.ndarray, box: Sequence[int]) -> bool:
    """Is there a frontal face by the second cascade around ``box`` (x, y, w, h)?"""
    x, y, w, h = (int(v) for v in box)
    m = w // 3
    x0, y0 = max(0, x - m), max(0, y - m)
    x1, y1 = min(gray.shape[1], x + w + m), min(gray.shape[0], y + h + m)
    crop = gray[y0:y1, x0:x1]
    found = _cascade(_FRONTAL_CHECK).detectMultiScale(
        crop,
        scaleFactor=1.1,
        minNeighbors=2,
        minSize=(max(MIN_FACE_PX, int(w * 0.7)),) * 2,
        maxSize=(int(w * 1.4) + 1,) * 2,
    )
    ref = (float(x), float(y), float(x + w), float(y + h))
    return any(
        _iou(ref, (fx + x0, fy + y0, fx + x0 + fw, fy + y0 + fh)) > 0.3
        for fx, fy, fw, fh in np.asarray(found).reshape(-1, 4).tolist()
    )


def _faces(gray8: np.ndarray, profiles: bool) -> list[Detection]:
    out: list[Detection] = []
    img = cv2.equalizeHist(_resize_long(gray8, FACE_LONG_SIDE))
    h, w = img.shape
    if min(h, w) >= MIN_FACE_PX:
        boxes, hits = _cascade(_FRONTAL).detectMultiScale2(
            img,
            scaleFactor=FACE_SCALE_STEP,
            minNeighbors=FRONTAL_MIN_NEIGHBORS,
            minSize=(MIN_FACE_PX, MIN_FACE_PX),
        )
        for box, n in zip(
            np.asarray(boxes).reshape(-1, 4).tolist(), np.ravel(hits).tolist(), strict=True
        ):
            if n >= FRONTAL_SURE_NEIGHBORS or _confirmed(img, box):
                out.append(_make("face", box, w, h, 1.0 - math.exp(-float(n) / 10.0)))
    if profiles:
        img = cv2.equalizeHist(_resize_long(gray8, PROFILE_LONG_SIDE))
        h, w = img.shape
        if min(h, w) >= MIN_FACE_PX:
            for mirrored in (False, True):
                src = cv2.flip(img, 1) if mirrored else img
                boxes, hits = _cascade(_PROFILE).detectMultiScale2(
                    src,
                    scaleFactor=FACE_SCALE_STEP,
                    minNeighbors=PROFILE_MIN_NEIGHBORS,
                    minSize=(MIN_FACE_PX, MIN_FACE_PX),
                )
                for box, n in zip(
                    np.asarray(boxes).reshape(-1, 4).tolist(), np.ravel(hits).tolist(), strict=True
                ):
                    bx, by, bw, bh = (int(v) for v in box)
                    if mirrored:
                        bx = w - bx - bw
                    score = 1.0 - math.exp(-float(n) / 10.0)
                    out.append(_make("face", (bx, by, bw, bh), w, h, score))
    return _nms(out)


def _bodies(gray8: np.ndarray) -> list[Detection]:
    img = _resize_long(gray8, BODY_LONG_SIDE)
    h, w = img.shape
    if h < 128 or w < 64:  # smaller than one HOG window
        return []
    boxes, weights = _hog().detectMultiScale(
        img, hitThreshold=0.0, winStride=(8, 8), padding=(8, 8), scale=BODY_SCALE_STEP
    )
    out: list[Detection] = []
    for (bx, by, bw, bh), wt in zip(
        np.asarray(boxes).reshape(-1, 4).tolist(), np.ravel(weights).tolist(), strict=True
    ):
        if wt < BODY_MIN_WEIGHT:
            continue
        # the 64x128 window holds a ~48x96 person: shrink to the body (OpenCV sample)
        box = (bx + 0.1 * bw, by + 0.07 * bh, 0.8 * bw, 0.8 * bh)
        out.append(_make("person", box, w, h, 1.0 - math.exp(-float(wt))))
    return _nms(out)


def detect_people(
    frame: np.ndarray, faces: bool = True, bodies: bool = True, *, profiles: bool = True
) -> list[Detection]:
    """Faces and people visible in one frame.

    Args:
        frame: the frame; a long side of 480-640 px is best (see the module docstring for the
            smallest face and person found at each size).
        faces: look for faces (frontal, and profile when ``profiles``).
        bodies: look for standing people (HOG).
        profiles: also run the profile cascade (both directions); about half the face cost.

    Returns:
        Faces first, then people, each sorted by decreasing score. Overlapping face hits from
        the frontal and profile cascades are merged; a face and the person around it are both
        reported.

    Raises:
        ValueError: wrong shape, non-float dtype, NaN or infinite values.
        RuntimeError: OpenCV's bundled cascade files are missing.

    Shape:
        frame: ``(H, W, 3)`` float32 RGB display code values in [0, 1].
    """
    arr = check_frame(frame)
    luma = cv2.transform(arr, REC709_LUMA)
    gray8 = np.asarray(cv2.convertScaleAbs(luma, alpha=255.0)).reshape(arr.shape[:2])
    found: list[Detection] = []
    if faces:
        found += sorted(_faces(gray8, profiles), key=lambda d: -d.score)
    if bodies:
        found += sorted(_bodies(gray8), key=lambda d: -d.score)
    return found


# --------------------------------------------------------------------------------------------
# per-shot summary


def _check_per_frame(per_frame: Any) -> list[list[Detection]]:
    if isinstance(per_frame, (str, bytes)) or not isinstance(per_frame, Sequence):
        raise ValueError(
            f"per_frame is a {type(per_frame).__name__}; give a list (one entry per sampled "
            "frame) of lists of Detection"
        )
    out: list[list[Detection]] = []
    for i, dets in enumerate(per_frame):
        if isinstance(dets, (str, bytes)) or not isinstance(dets, Sequence):
            raise ValueError(
                f"per_frame[{i}] is a {type(dets).__name__}; give a list of Detection "
                "(empty for a frame with nobody)"
            )
        for d in dets:
            if not isinstance(d, Detection):
                raise ValueError(
                    f"per_frame[{i}] holds a {type(d).__name__}; give Detection objects"
                )
        out.append(list(dets))
    return out


def _people_count(dets: list[Detection]) -> int:
    """People in a frame: bodies, plus faces whose centre is not inside any body."""
    bodies = [d.box() for d in dets if d.kind == "person"]
    n = len(bodies)
    for d in dets:
        if d.kind != "face":
            continue
        cx, cy = d.x + d.w / 2, d.y + d.h / 2
        if not any(b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b in bodies):
            n += 1
    return n


@dataclass
class _Cluster:
    """Detections of one kind overlapping across frames: box sums, score sum, count."""

    kind: str
    box_sum: list[float]
    score: float
    n: int
    last: int

    def mean_box(self) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = (v / self.n for v in self.box_sum)
        return (x0, y0, x1, y1)

    def add(self, box: tuple[float, float, float, float], score: float, frame: int) -> None:
        self.box_sum = [s + v for s, v in zip(self.box_sum, box, strict=True)]
        self.score += score
        self.n += 1
        self.last = frame


def summarize_people(per_frame: list[list[Detection]]) -> dict[str, Any]:
    """Who is in a shot, from detections on a sample of its frames.

    Args:
        per_frame: one list of :class:`Detection` per sampled frame (empty lists for frames
            with nobody found).

    Returns:
        JSON-serializable dict:

        - ``frames``: sampled frames.
        - ``faces_present``, ``people_present``: any face / any face or person found.
        - ``max_faces``, ``max_people``: most in one frame (a face inside a person box counts
          as the same person).
        - ``face_fraction``, ``people_fraction``: share of sampled frames with a face /
          someone.
        - ``boxes``: up to :data:`MAX_BOXES` representative boxes, detections of the same kind
          overlapping across frames merged into their mean box, most frequent first: dicts
          with ``kind, x, y, w, h`` (frame fractions), ``score`` (mean) and ``support``
          (fraction of sampled frames it appears in).

    Raises:
        ValueError: ``per_frame`` is not a list of lists of :class:`Detection`.
    """
    frames = _check_per_frame(per_frame)
    n = len(frames)
    face_counts = [sum(d.kind == "face" for d in dets) for dets in frames]
    people_counts = [_people_count(dets) for dets in frames]

    # greedy clustering of boxes across frames, per kind
    clusters: list[_Cluster] = []
    for i, dets in enumerate(frames):
        for d in dets:
            box = d.box()
            best: _Cluster | None = None
            best_iou = 0.3
            for c in clusters:
                if c.kind != d.kind or c.last == i:
                    continue
                iou = _iou(c.mean_box(), box)
                if iou > best_iou:
                    best, best_iou = c, iou
            if best is None:
                clusters.append(_Cluster(d.kind, list(box), d.score, 1, i))
            else:
                best.add(box, d.score, i)
    clusters.sort(key=lambda c: (-c.n, -c.score / c.n))
    boxes = []
    for c in clusters[:MAX_BOXES]:
        x0, y0, x1, y1 = c.mean_box()
        boxes.append(
            {
                "kind": c.kind,
                "x": round(x0, 4),
                "y": round(y0, 4),
                "w": round(x1 - x0, 4),
                "h": round(y1 - y0, 4),
                "score": round(c.score / c.n, 4),
                "support": round(c.n / n, 4),
            }
        )
    return {
        "frames": n,
        "faces_present": any(face_counts),
        "people_present": any(people_counts),
        "max_faces": max(face_counts, default=0),
        "max_people": max(people_counts, default=0),
        "face_fraction": round(sum(c > 0 for c in face_counts) / n, 4) if n else 0.0,
        "people_fraction": round(sum(c > 0 for c in people_counts) / n, 4) if n else 0.0,
        "boxes": boxes,
    }
