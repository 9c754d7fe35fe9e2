"""Other takes of the same camera setup as a fill source of the ``remove`` fix.

The second rung of "fidelity before synthesis" (DESIGN.md): what the shot's own frames never
saw behind a rig, another take of the same setup often photographed. :class:`TakeSource`
implements :class:`~rushes.ops.remove_fill.FillSource`: for the frame being filled it

1. picks a few frames of each take: the one at the same relative position first, then the
   frames whose small grey thumbnails (an index built once per take) look most like the frame
   outside the hole, spread over the take;
2. aligns each to the frame with ORB features on grey at a reduced size (matches outside the
   hole only, ratio test, MAGSAC homography), rejects implausible alignments, and refines the
   homography locally with ECC on a band of plate around the hole (parallax, sub-pixel);
3. warps it (``cv2.warpPerspective``; pixels whose taps leave the take are invalid), matches it
   photometrically (per-channel gain/offset fitted robustly on the whole overlap outside the
   hole, plus a local offset measured on the band);
4. marks as valid the pixels inside the warped take, except near the places where the band
   disagrees with the frame (the take's own moving content, or light that changed): a
   disagreeing patch of the band invalidates the hole within its own size of it, since what
   crosses the band most likely reaches that far in. When three or more frames are aligned,
   a pixel of the hole that differs from their median is invalid too.

Candidates are yielded best first: share of the band that agrees x share of the hole covered
x ``exp(-residual / tolerance)`` (the band's median residual: the frame nearest in time and
place wins ties). Frames beyond the ones always tried are aligned only while part of the hole
is uncovered.

Cost: features of take frames, the homography of each take frame (reused while ECC confirms
it still holds, as on a locked-off setup), thumbnails and a few decoded take frames are cached.
At 1080p with a 220x160 hole a call aligning three frames costs 115-160 ms locked off and
140-150 ms hand-held (medians, measured on a 2-core machine busy with other work; decoding the
take frames is the reader's and not counted). Building a take's thumbnail index on first use reads
``index_frames`` of its frames.

Limits: the band around the hole must show plate. Pass the frame with the rest of the matte
already filled (the temporal fill): where the frame still shows the object beside the hole,
the band disagrees with every take and nothing near it is trusted. Alignment needs plate
around the hole too: a matte over most of the frame leaves too few matches, and nothing is
yielded.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType

import cv2
import numpy as np

from rushes.errors import FillError
from rushes.matte.base import mask_bbox
from rushes.ops.take_io import Take, take_from_record, takes_for_shot


@dataclass(frozen=True)
class TakeOptions:
    """How takes are searched, aligned and checked.

    Attributes:
        align_long_side: Long side of the grey images features are found on.
        features: ORB features per image.
        ratio: Lowe ratio test of the descriptor matches.
        min_inliers: Fewer homography inliers than this rejects a frame.
        max_reprojection: Mean inlier reprojection error (pixels at ``align_long_side``)
            above which a frame is rejected.
        refine: Refine the homography with ECC on the band around the hole (also how a cached
            homography is confirmed; without it features are matched on every call).
        interpolation: ``cv2.INTER_LINEAR`` (bilinear) or ``cv2.INTER_CUBIC`` for the warp.
        index_frames: Thumbnails indexed per take (0: only the same relative position).
        thumb_long_side: Long side of the thumbnails.
        spread: Frames per take always tried besides the same relative position (they let a
            pixel be checked against the median of three frames).
        max_candidates: Most frames aligned per call, over all takes; frames beyond the ones
            always tried are aligned only while part of the hole is still uncovered.
        band: Width in pixels of the plate band around the hole that is compared (0: 1.5 % of
            the frame's long side, at least 6).
        tolerance: Residual (in the frame's encoding) under which a band pixel agrees, at
            least; raised with the band's noise and, per pixel, with the local gradient.
        min_agree: Share of the band that must agree for a frame to be used at all.
        cache_frames: Decoded take frames kept (each a full-size float32 frame).
        cache_features: Take frames whose features are kept.
    """

    align_long_side: int = 960
    features: int = 1200
    ratio: float = 0.8
    min_inliers: int = 25
    max_reprojection: float = 1.5
    refine: bool = True
    interpolation: int = cv2.INTER_LINEAR
    index_frames: int = 24
    thumb_long_side: int = 64
    spread: int = 2
    max_candidates: int = 6
    band: int = 0
    tolerance: float = 0.04
    min_agree: float = 0.5
    cache_frames: int = 4
    cache_features: int = 64


@dataclass(frozen=True)
class TakeMatch:
    """One take frame yielded for a frame: where it came from and how well it fitted.

    Attributes:
        take: The take's name.
        frame: Frame number in the take.
        index: Frame number being filled.
        inliers: Feature matches consistent with the homography.
        agree: Share of the band around the hole that agrees with the frame after matching.
        coverage: Share of the hole marked valid.
        homography: 3x3 take -> frame, full-size pixel coordinates.
        gain: Per-channel gain applied to the take.
        offset: Per-channel offset applied (global plus the band's local offset).
    """

    take: str
    frame: int
    index: int
    inliers: int
    agree: float
    coverage: float
    homography: tuple[tuple[float, float, float], ...]
    gain: tuple[float, float, float]
    offset: tuple[float, float, float]

    def to_dict(self) -> dict[str, object]:
        """JSON form (provenance)."""
        return {
            "take": self.take,
            "frame": self.frame,
            "index": self.index,
            "inliers": self.inliers,
            "agree": round(self.agree, 4),
            "coverage": round(self.coverage, 4),
            "homography": [[round(v, 6) for v in row] for row in self.homography],
            "gain": [round(v, 4) for v in self.gain],
            "offset": [round(v, 4) for v in self.offset],
        }


@dataclass
class _Features:
    pts: np.ndarray  # (N, 2) float32, working-scale pixel coordinates
    desc: np.ndarray | None  # (N, 32) uint8


@dataclass
class _TakeFrame:
    full: np.ndarray  # (H, W, 3) at the frame's size
    work: np.ndarray  # (h, w, 3) at the working size
    small: np.ndarray  # (h', w', 3) at the photometry size


@dataclass
class _Target:
    frame: np.ndarray
    hole: np.ndarray
    h: int
    w: int
    scale: float  # working size / full size
    work_size: tuple[int, int]  # (w, h)
    small_size: tuple[int, int]  # (w, h) of the photometry fit
    small: np.ndarray  # frame at the photometry size
    small_hole: np.ndarray  # dilated hole at the photometry size
    work_grey: np.ndarray
    work_hole: np.ndarray  # dilated hole at working size
    box: tuple[int, int, int, int]  # ROI y0, y1, x0, x1
    roi: np.ndarray  # frame[ROI]
    roi_blur: np.ndarray  # blurred from the plate only (what is in the hole never leaks)
    plate: np.ndarray  # float32 1 outside the hole (ROI)
    plate_blur: np.ndarray
    allow: np.ndarray  # per-pixel residual allowance from the gradient (ROI)
    hole_roi: np.ndarray
    band_roi: np.ndarray
    thumb: np.ndarray
    thumb_weight: np.ndarray
    feats: _Features | None = None  # found on first need


@dataclass
class _Check:
    roi: np.ndarray  # matched take pixels (ROI)
    inb: np.ndarray  # inside the warped take
    good: np.ndarray  # band pixels that agree
    bad: np.ndarray  # band pixels that disagree
    residual: float  # median band residual
    local: np.ndarray  # the band's local offset (3,)


@dataclass
class _Candidate:
    ti: int
    j: int
    roi: np.ndarray
    valid: np.ndarray  # (ROI)
    agree: float
    inliers: int
    homography: np.ndarray
    gain: np.ndarray
    offset: np.ndarray
    photometry: tuple[np.ndarray, np.ndarray]  # the global gain/offset alone
    residual: float
    coverage: float = 0.0
    score: float = 0.0


@dataclass
class _Index:
    size: tuple[int, int]
    frames: np.ndarray  # (K,) int
    thumbs: np.ndarray  # (K, th, tw) float32


PHOTO_LONG_SIDE = 320
"""Long side of the images the global gain/offset is fitted on."""

ECC_LONG_SIDE = 160
"""Largest side of the ROI the ECC refinement runs on (downscaled beyond)."""


def _grey(img: np.ndarray) -> np.ndarray:
    """Luma-weighted grey of an RGB float image, float32 ``(H, W)``."""
    return np.asarray(
        img[..., 0] * 0.299 + img[..., 1] * 0.587 + img[..., 2] * 0.114, dtype=np.float32
    )


def _max3(a: np.ndarray) -> np.ndarray:
    """Largest of the three channels (last axis); faster than ``max(axis=-1)``."""
    return np.maximum(np.maximum(a[..., 0], a[..., 1]), a[..., 2])


def _min3(a: np.ndarray) -> np.ndarray:
    """Smallest of the three channels (last axis)."""
    return np.minimum(np.minimum(a[..., 0], a[..., 1]), a[..., 2])


def _finite(a: np.ndarray) -> np.ndarray:
    """``a`` with NaN and infinities (dead pixels) set to 0."""
    return np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)


def _u8(grey: np.ndarray) -> np.ndarray:
    return np.asarray(np.clip(_finite(grey) * 255.0 + 0.5, 0, 255), dtype=np.uint8)


def _resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to ``(w, h)``: area filter down, bilinear up; a no-op at the same size."""
    if (img.shape[1], img.shape[0]) == size:
        return img
    down = size[0] < img.shape[1] or size[1] < img.shape[0]
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA if down else cv2.INTER_LINEAR)


def _fit(w: int, h: int, long_side: int) -> tuple[tuple[int, int], float]:
    """Size with long side at most ``long_side`` (never up) and its scale."""
    s = min(1.0, long_side / max(w, h))
    return (max(8, round(w * s)), max(8, round(h * s))), s


def _centre_scale(s: float) -> np.ndarray:
    """Pixel-centre scaling (``x' = (x + 0.5) s - 0.5``) as a 3x3 matrix."""
    return np.array([[s, 0.0, 0.5 * s - 0.5], [0.0, s, 0.5 * s - 0.5], [0.0, 0.0, 1.0]])


def _translate(x: float, y: float) -> np.ndarray:
    return np.array([[1.0, 0.0, x], [0.0, 1.0, y], [0.0, 0.0, 1.0]])


def _rescale(hm: np.ndarray, s: float) -> np.ndarray:
    """A homography between full-size images expressed between images scaled by ``s``."""
    cs = _centre_scale(s)
    out = cs @ hm @ np.linalg.inv(cs)
    return out / out[2, 2]


_NAN4 = (float("nan"),) * 4


class TakeSource:
    """Photographed pixels from other takes of the setup, aligned to the frame being filled.

    Implements :class:`~rushes.ops.remove_fill.FillSource`; use it as a context manager (or
    call :meth:`close`) to release the takes' readers.

    Example:
        >>> with TakeSource(takes_for_shot(project, shot), shot_frames=shot.frames) as src:
        ...     filled = list(fill_frames(frames, masks, sources=[src]))  # doctest: +SKIP

    Args:
        takes: The other takes (e.g. from :func:`takes_for_shot`).
        shot_frames: Frames in the shot being filled, to find the same relative position in
            each take; ``None`` uses the same frame number (clamped to the take).
        first_index: Frame number the fill gives the shot's first frame (``fill_frames``'s
            ``first_index``).
        options: Search, alignment and check settings.
    """

    def __init__(
        self,
        takes: Sequence[Take],
        shot_frames: int | None = None,
        first_index: int = 0,
        options: TakeOptions | None = None,
    ) -> None:
        self.takes = list(takes)
        self.shot_frames = shot_frames
        self.first_index = first_index
        self.options = options or TakeOptions()
        self.last: list[TakeMatch] = []
        """What the latest :meth:`candidates` call yielded, in order."""
        self._size: tuple[int, int] | None = None
        self._frames: OrderedDict[tuple[int, int], _TakeFrame] = OrderedDict()
        self._feats: OrderedDict[tuple[int, int], _Features] = OrderedDict()
        self._index: dict[int, _Index] = {}
        # per take frame: the homography features gave, its inliers, band residual, gain/offset
        self._fits: OrderedDict[
            tuple[int, int], tuple[np.ndarray, int, float, tuple[np.ndarray, np.ndarray]]
        ] = OrderedDict()
        self._orb = cv2.ORB_create(  # type: ignore[attr-defined]
            self.options.features, nlevels=5, fastThreshold=10
        )
        self._matcher = cv2.BFMatcher(cv2.NORM_HAMMING)

    # -- context management -------------------------------------------------------------

    def close(self) -> None:
        """Close every take's reader and drop the caches."""
        for take in self.takes:
            take.close()
        self._frames.clear()
        self._feats.clear()
        self._index.clear()
        self._fits.clear()

    def __enter__(self) -> TakeSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- FillSource ----------------------------------------------------------------------

    def candidates(
        self, index: int, frame: np.ndarray, hole: np.ndarray
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Take frames aligned to ``frame``, best first.

        Args:
            index: Frame number being filled (as ``fill_frames`` numbers it).
            frame: float32 ``(H, W, 3)``, display-referred or log encoding, about [0, 1].
            hole: bool ``(H, W)``, the pixels still to fill.

        Yields:
            ``(image, valid)``: float32 ``(H, W, 3)`` in the frame's encoding, photometrically
            matched to it, and bool ``(H, W)`` where ``image`` holds the take's photographed
            background: in the hole, and on the agreeing plate of the band around it (the
            seam). Elsewhere ``valid`` is False and ``image`` 0.

        Raises:
            FillError: ``frame`` or ``hole`` of the wrong shape, or a take's reader giving
                something that is not an RGB frame.
        """
        self.last = []
        frame, hole = self._check(index, frame, hole)
        if not hole.any() or not self.takes:
            return
        tgt = self._target(frame, hole)
        if tgt is None:
            return
        found: list[_Candidate] = []
        always, extra = self._picks(index, tgt)
        covered = np.zeros_like(tgt.hole_roi)
        for n, (ti, j) in enumerate(always + extra):
            if n >= max(1, self.options.max_candidates):
                break
            if n >= len(always) and covered.all():
                break
            cand = self._evaluate(tgt, ti, j)
            if cand is not None:
                found.append(cand)
                covered |= cand.valid | ~tgt.hole_roi
        self._cross_check(tgt, found)
        found = sorted((c for c in found if c.score > 0), key=lambda c: -c.score)
        self.last = [self._match_record(index, c) for c in found]
        y0, y1, x0, x1 = tgt.box
        for c in found:
            image = np.zeros((tgt.h, tgt.w, 3), np.float32)
            valid = np.zeros((tgt.h, tgt.w), bool)
            image[y0:y1, x0:x1] = c.roi
            valid[y0:y1, x0:x1] = c.valid
            yield image, valid

    # -- the frame being filled ----------------------------------------------------------

    def _check(
        self, index: int, frame: np.ndarray, hole: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        f = np.asarray(frame, dtype=np.float32)
        if f.ndim != 3 or f.shape[2] != 3:
            raise FillError(
                f"frame {index} has shape {f.shape}; give a float32 (H, W, 3) RGB frame"
            )
        m = np.asarray(hole)
        if m.shape != f.shape[:2]:
            raise FillError(
                f"the hole of frame {index} has shape {m.shape} but the frame is "
                f"{f.shape[1]}x{f.shape[0]}; give a bool (H, W) hole of the frame's size"
            )
        size = (f.shape[1], f.shape[0])
        if self._size != size:  # a new frame size: cached frames and features no longer fit
            self._size = size
            self._frames.clear()
            self._feats.clear()
            self._index.clear()
            self._fits.clear()
        return f, m.astype(bool)

    def _target(self, frame: np.ndarray, hole: np.ndarray) -> _Target | None:
        opt = self.options
        h, w = hole.shape
        ws, s = _fit(w, h, opt.align_long_side)
        ss, _ = _fit(w, h, PHOTO_LONG_SIDE)
        work = _resize(frame, ws)
        work_grey = _finite(_grey(work))  # dead (NaN) pixels must not poison features
        k = max(3, 2 * round(4 * s) + 1)
        work_hole = cv2.dilate(
            (_resize(hole.astype(np.float32), ws) > 0).astype(np.uint8), np.ones((k, k), np.uint8)
        ).astype(bool)
        small_hole = cv2.dilate(
            (_resize(work_hole.astype(np.float32), ss) > 0).astype(np.uint8),
            np.ones((3, 3), np.uint8),
        ).astype(bool)
        band = opt.band or max(6, round(0.015 * max(h, w)))
        box = mask_bbox(hole)
        assert box is not None
        bx, by, bw, bh = box
        pad = band + 4
        y0, y1 = max(0, by - pad), min(h, by + bh + pad)
        x0, x1 = max(0, bx - pad), min(w, bx + bw + pad)
        hole_roi = hole[y0:y1, x0:x1]
        kb = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
        band_roi = cv2.dilate(hole_roi.astype(np.uint8), kb).astype(bool) & ~hole_roi
        if not band_roi.any():
            return None
        roi = frame[y0:y1, x0:x1].copy()  # the caller fills the frame in place later
        finite = np.isfinite(roi[:, :, 0] + roi[:, :, 1] + roi[:, :, 2])
        if not finite.all():  # dead pixels are neither plate nor compared
            roi[~finite] = 0.0
            band_roi &= finite
            if not band_roi.any():
                return None
        plate = (~hole_roi & finite).astype(np.float32)
        plate_blur = cv2.GaussianBlur(plate, (0, 0), 1.0)
        roi_blur = _plate_blur(roi, plate, plate_blur)
        g = _grey(roi_blur)
        grad = np.sqrt(cv2.Sobel(g, cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(g, cv2.CV_32F, 0, 1) ** 2)
        thumb, weight = self._thumb(work_grey, work_hole)
        return _Target(
            frame=frame,
            hole=hole,
            h=h,
            w=w,
            scale=s,
            work_size=ws,
            small_size=ss,
            small=_resize(work, ss),
            small_hole=small_hole,
            work_grey=work_grey,
            work_hole=work_hole,
            box=(y0, y1, x0, x1),
            roi=roi,
            roi_blur=roi_blur,
            plate=plate,
            plate_blur=plate_blur,
            allow=0.5 * grad / 8.0,  # half a pixel of misalignment at the local gradient
            hole_roi=hole_roi,
            band_roi=band_roi,
            thumb=thumb,
            thumb_weight=weight,
        )

    def _thumb_size(self) -> tuple[int, int]:
        assert self._size is not None
        return _fit(*self._size, self.options.thumb_long_side)[0]

    def _thumb(self, grey: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ts = self._thumb_size()
        thumb = cv2.GaussianBlur(_resize(grey, ts), (0, 0), 1.0)
        near = (_resize(hole.astype(np.float32), ts) > 0).astype(np.uint8)
        return thumb, cv2.dilate(near, np.ones((3, 3), np.uint8)) == 0

    def _detect(self, grey: np.ndarray, mask: np.ndarray | None) -> _Features:
        m = None if mask is None else mask.astype(np.uint8) * 255
        kps, desc = self._orb.detectAndCompute(_u8(grey), m)
        pts = np.array([kp.pt for kp in kps], np.float32).reshape(-1, 2)
        return _Features(pts, desc)

    # -- the takes -----------------------------------------------------------------------

    def _read(self, ti: int, j: int) -> np.ndarray:
        take = self.takes[ti]
        img = np.asarray(take.read(j), dtype=np.float32)
        if img.ndim != 3 or img.shape[2] < 3:
            raise FillError(
                f"take {take.name} frame {j} has shape {img.shape}; its reader must give "
                "float32 (H, W, 3) RGB"
            )
        return img[:, :, :3]

    def _frame(self, ti: int, j: int, tgt: _Target) -> _TakeFrame:
        key = (ti, j)
        got = self._frames.get(key)
        if got is not None:
            self._frames.move_to_end(key)
            return got
        full = np.ascontiguousarray(_resize(self._read(ti, j), (tgt.w, tgt.h)))
        work = _resize(full, tgt.work_size)
        tf = _TakeFrame(full, work, _resize(work, tgt.small_size))
        self._frames[key] = tf
        while len(self._frames) > self.options.cache_frames:
            self._frames.popitem(last=False)
        return tf

    def _features(self, ti: int, j: int, tf: _TakeFrame) -> _Features:
        key = (ti, j)
        got = self._feats.get(key)
        if got is not None:
            self._feats.move_to_end(key)
            return got
        feats = self._detect(_grey(tf.work), None)
        self._feats[key] = feats
        while len(self._feats) > self.options.cache_features:
            self._feats.popitem(last=False)
        return feats

    def _take_index(self, ti: int) -> _Index:
        """Grey thumbnails of ``index_frames`` frames spread over the take (built once)."""
        ts = self._thumb_size()
        got = self._index.get(ti)
        if got is not None and got.size == ts:
            return got
        take = self.takes[ti]
        n = min(self.options.index_frames, take.frames)
        frames = np.unique(np.round(np.linspace(0, take.frames - 1, n)).astype(int))
        thumbs = np.zeros((len(frames), ts[1], ts[0]), np.float32)
        for k, j in enumerate(frames):
            grey = _finite(_grey(self._read(ti, int(j))))
            thumbs[k] = cv2.GaussianBlur(_resize(grey, ts), (0, 0), 1.0)
        idx = _Index(ts, frames, thumbs)
        self._index[ti] = idx
        return idx

    def _position(self, index: int, take: Take) -> int:
        rel = index - self.first_index
        if self.shot_frames and self.shot_frames > 1:
            j = round(rel * (take.frames - 1) / (self.shot_frames - 1))
        else:
            j = rel
        return int(np.clip(j, 0, take.frames - 1))

    def _picks(
        self, index: int, tgt: _Target
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Frames to align, as ``(take, frame)``: those always tried (the same relative
        position in every take, then each take's ``spread`` best-looking thumbnails) and
        those tried only while the hole is not covered (the rest of the index, best first).
        Frames picked from one take are at least a tenth of the take apart."""
        opt = self.options
        first: list[tuple[int, int]] = []
        more: list[tuple[float, int, int]] = []
        rest: list[tuple[float, int, int]] = []
        for ti, take in enumerate(self.takes):
            if take.frames <= 0:
                continue
            j0 = self._position(index, take)
            first.append((ti, j0))
            if opt.index_frames <= 0:
                continue
            idx = self._take_index(ti)
            scores = _ncc(idx.thumbs, tgt.thumb, tgt.thumb_weight)
            gap = max(1, take.frames // 10)
            chosen = [j0]
            for k in np.argsort(-scores):
                if scores[k] < 0.3:
                    break
                j = int(idx.frames[k])
                if all(abs(j - c) >= gap for c in chosen):
                    chosen.append(j)
                    (more if len(chosen) <= opt.spread + 1 else rest).append(
                        (float(scores[k]), ti, j)
                    )
        more.sort(key=lambda e: -e[0])
        rest.sort(key=lambda e: -e[0])
        return first + [(ti, j) for _, ti, j in more], [(ti, j) for _, ti, j in rest]

    # -- one candidate -------------------------------------------------------------------

    def _evaluate(self, tgt: _Target, ti: int, j: int) -> _Candidate | None:
        """Align, match and check take ``ti``'s frame ``j``; None when it does not fit.

        The homography features gave this take frame before is tried first: on a locked-off
        setup it still holds, and it is kept when ECC would move it by less than a quarter
        pixel and the band's residual is at most a quarter higher than when it was fitted.
        Otherwise features are matched.
        """
        tf = self._frame(ti, j, tgt)
        prior = self._fits.get((ti, j))
        if prior is not None and self.options.refine:
            hm, inliers, base, photo = prior
            cand = self._candidate(tgt, ti, j, tf, hm, inliers, photo)
            if cand is not None and cand.residual <= max(1.25 * base, base + 0.002):
                return cand
        found = self._homography(tgt, self._features(ti, j, tf))
        if found is None:
            return None
        hw, inliers = found
        cand = self._candidate(tgt, ti, j, tf, _rescale(hw, 1.0 / tgt.scale), inliers)
        if cand is not None:
            self._fits[(ti, j)] = (cand.homography, inliers, cand.residual, cand.photometry)
            self._fits.move_to_end((ti, j))
            while len(self._fits) > self.options.cache_features:
                self._fits.popitem(last=False)
        return cand

    def _candidate(
        self,
        tgt: _Target,
        ti: int,
        j: int,
        tf: _TakeFrame,
        hm: np.ndarray,
        inliers: int,
        prior: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> _Candidate | None:
        """Match and check a take frame warped by ``hm`` (take -> frame, full size).

        Args:
            prior: The gain/offset found when ``hm`` was fitted, which makes ``hm`` a prior
                to verify: None is returned if ECC would move it by 0.25 pixel or more (the
                camera moved since).
        """
        opt = self.options
        strict = prior is not None
        photo = prior or self._photometry(tgt, tf, _rescale(hm, tgt.small_size[0] / tgt.w))
        if photo is None:
            return None
        gain, offset = photo
        chk = self._warp_check(tgt, tf.full, hm, gain, offset)
        if chk is None:
            return None
        if opt.refine:
            refined = self._refine(tgt, chk, hm)
            if strict and (refined is None or refined[1] >= 0.25):
                return None
            if refined is not None and 0.05 <= refined[1] <= 4.0 / tgt.scale:
                h2 = refined[0]
                chk2 = self._warp_check(tgt, tf.full, h2, gain, offset)
                if chk2 is not None and chk2.residual < 0.95 * chk.residual:
                    chk, hm = chk2, h2
        agree = float(chk.good.sum()) / max(1, int((chk.good | chk.bad).sum()))
        if agree < opt.min_agree:
            return None
        inside = chk.inb & tgt.hole_roi & ~_near_bad(chk.bad, tgt.hole_roi)
        coverage = float(inside.sum()) / max(1, int(tgt.hole_roi.sum()))
        return _Candidate(
            ti=ti,
            j=j,
            roi=chk.roi,
            valid=inside | chk.good,
            agree=agree,
            inliers=inliers,
            homography=hm,
            gain=gain,
            offset=offset + chk.local,
            photometry=(gain, offset),
            residual=chk.residual,
            coverage=coverage,
            score=agree * coverage * float(np.exp(-chk.residual / max(opt.tolerance, 1e-6))),
        )

    def _homography(self, tgt: _Target, feats: _Features) -> tuple[np.ndarray, int] | None:
        """Take -> frame homography at working scale from feature matches outside the hole,
        with its inlier count; None for too few or poor matches or an implausible warp."""
        opt = self.options
        if tgt.feats is None:
            tgt.feats = self._detect(tgt.work_grey, ~tgt.work_hole)
        a, b = tgt.feats, feats
        if a.desc is None or b.desc is None or min(len(a.pts), len(b.pts)) < opt.min_inliers:
            return None
        qi, ti = [], []
        for p in self._matcher.knnMatch(a.desc, b.desc, k=2):
            if len(p) == 2 and p[0].distance < opt.ratio * p[1].distance:
                qi.append(p[0].queryIdx)
                ti.append(p[0].trainIdx)
        if len(qi) < opt.min_inliers:
            return None
        dst, src = a.pts[qi], b.pts[ti]
        hm, inl = cv2.findHomography(
            src, dst, cv2.USAC_MAGSAC, 2.0, maxIters=2000, confidence=0.999
        )
        if hm is None or inl is None:
            return None
        inl = inl.ravel().astype(bool)
        n = int(inl.sum())
        if n < opt.min_inliers:
            return None
        proj = cv2.perspectiveTransform(src[inl][None], hm)[0]
        if float(np.linalg.norm(proj - dst[inl], axis=1).mean()) > opt.max_reprojection:
            return None
        ww, wh = tgt.work_size
        if cv2.contourArea(cv2.convexHull(dst[inl])) < 0.02 * ww * wh:  # bunched in a corner
            return None
        if not _plausible(hm, ww, wh):
            return None
        return hm, n

    def _photometry(
        self, tgt: _Target, tf: _TakeFrame, hs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Per-channel gain/offset (take -> frame) fitted robustly on the overlap outside the
        hole at a small size, trimming what disagrees (moving content) and clipped values.

        Args:
            hs: Take -> frame homography at the photometry size.
        """
        sw, sh = tgt.small_size
        take = cv2.warpPerspective(
            tf.small,
            hs,
            (sw, sh),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=_NAN4,
        )
        ok = np.isfinite(take[:, :, 0]) & ~tgt.small_hole
        x, y = take[ok], tgt.small[ok]
        sane = (_min3(x) > 0.01) & (_max3(x) < 0.99) & (_min3(y) > 0.01) & (_max3(y) < 0.99)
        step = max(1, int(sane.sum()) // 3000)  # about 3k samples are plenty
        x, y = x[sane][::step], y[sane][::step]
        if len(x) < 200:
            return None
        gain, offset = _robust_affine(x, y)
        if not (np.isfinite(gain).all() and np.isfinite(offset).all()):
            return None
        if np.any(gain < 0.5) or np.any(gain > 2.0):
            return None
        return gain, offset

    def _warp_check(
        self, tgt: _Target, img: np.ndarray, hm: np.ndarray, gain: np.ndarray, offset: np.ndarray
    ) -> _Check | None:
        """Warp the take into the ROI, match it (global gain/offset, then the band's median
        offset) and compare it with the frame on the band; None without overlap there."""
        y0, y1, x0, x1 = tgt.box
        roi = cv2.warpPerspective(
            img,
            _translate(-x0, -y0) @ hm,
            (x1 - x0, y1 - y0),
            flags=self.options.interpolation,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=_NAN4,
        )
        inb = np.isfinite(roi[:, :, 0] + roi[:, :, 1] + roi[:, :, 2])  # NaN border, dead pixels
        roi[~inb] = 0.0
        roi = roi * gain + offset
        band = tgt.band_roi & inb
        if int(band.sum()) < 16:
            return None
        if inb.all():
            take_blur = _plate_blur(roi, tgt.plate, tgt.plate_blur)
        else:  # nor may the zeros beyond the take's border
            seen = tgt.plate * inb
            take_blur = _plate_blur(roi, seen, cv2.GaussianBlur(seen, (0, 0), 1.0))
        diff = tgt.roi_blur - take_blur
        local = np.median(diff[band], axis=0).astype(np.float32)
        res = _max3(np.abs(diff - local))
        med = float(np.median(res[band]))
        thr = np.float32(min(max(self.options.tolerance, 4.0 * 1.4826 * med), 0.15))
        bad = band & (res >= thr + tgt.allow)
        bad = _drop_specks(bad, 3)  # a pixel or two that disagree are noise, not content
        return _Check(
            roi=(roi + local).astype(np.float32),
            inb=inb,
            good=band & ~bad,
            bad=bad,
            residual=med,
            local=local,
        )

    def _refine(self, tgt: _Target, chk: _Check, hm: np.ndarray) -> tuple[np.ndarray, float] | None:
        """ECC refinement of the take -> frame homography on the agreeing band: a local
        translation (parallax between the hole's depth and the global fit, sub-pixel error).

        The warped take is the template and the frame's ROI the input, so the band is an
        input mask (what every OpenCV 4.x accepts). A translation only: a thin band does not
        constrain more, and affine or projective ECC on it diverges.

        Returns:
            The refined homography and how far it moves the ROI (full-size pixels), or None
            when the band is too small or ECC does not converge.
        """
        y0, y1, x0, x1 = tgt.box
        rh, rw = y1 - y0, x1 - x0
        e = min(1.0, ECC_LONG_SIDE / max(rh, rw))
        tsz = (max(8, round(rw * e)), max(8, round(rh * e)))
        mask = cv2.erode(chk.good.astype(np.uint8), np.ones((3, 3), np.uint8))
        mask = (_resize(mask, tsz) > 0).astype(np.uint8)
        if int(mask.sum()) < 64:
            return None
        crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 20, 1e-4)
        try:
            _, we = cv2.findTransformECC(
                _grey(_resize(chk.roi, tsz)),
                _grey(_resize(np.where(tgt.hole_roi[:, :, None], chk.roi, tgt.roi), tsz)),
                np.eye(2, 3, dtype=np.float32),
                cv2.MOTION_TRANSLATION,
                crit,
                mask,
                3,
            )
        except cv2.error:
            return None
        dx, dy = float(we[0, 2]) / e, float(we[1, 2]) / e
        h2 = _translate(dx, dy) @ hm
        return h2 / h2[2, 2], float(np.hypot(dx, dy))

    # -- all candidates ------------------------------------------------------------------

    def _cross_check(self, tgt: _Target, found: list[_Candidate]) -> None:
        """With three or more aligned frames, a hole pixel that differs from their median
        holds something that moved in that frame (another take's own action): invalid."""
        if len(found) < 3:
            return
        hole = tgt.hole_roi
        ok = np.stack([c.valid & hole for c in found])
        count = ok.sum(axis=0)
        sel = hole & (count >= 3)
        if not sel.any():
            return
        vals = np.stack([cv2.GaussianBlur(c.roi, (0, 0), 1.0)[sel] for c in found])  # (K, n, 3)
        oks = ok[:, sel]
        n = count[sel]
        srt = np.sort(np.where(oks[..., None], vals, np.inf), axis=0)
        lo = np.take_along_axis(srt, ((n - 1) // 2)[None, :, None], axis=0)[0]
        hi = np.take_along_axis(srt, (n // 2)[None, :, None], axis=0)[0]
        med = 0.5 * (lo + hi)
        thr = 2.0 * self.options.tolerance
        hole_n = max(1, int(hole.sum()))
        for c, dev, o in zip(found, _max3(np.abs(vals - med)), oks, strict=True):
            off_sel = o & (dev > thr)
            if not off_sel.any():
                continue
            off = np.zeros(hole.shape, np.uint8)
            off[sel] = off_sel
            off = cv2.dilate(off, np.ones((5, 5), np.uint8)).astype(bool)
            c.valid &= ~(off & hole)
            c.score *= float((c.valid & hole).sum()) / hole_n / max(c.coverage, 1e-9)
            c.coverage = float((c.valid & hole).sum()) / hole_n

    def _match_record(self, index: int, c: _Candidate) -> TakeMatch:
        return TakeMatch(
            take=self.takes[c.ti].name,
            frame=c.j,
            index=index,
            inliers=c.inliers,
            agree=c.agree,
            coverage=c.coverage,
            homography=tuple((float(r[0]), float(r[1]), float(r[2])) for r in c.homography),
            gain=(float(c.gain[0]), float(c.gain[1]), float(c.gain[2])),
            offset=(float(c.offset[0]), float(c.offset[1]), float(c.offset[2])),
        )


def _ncc(thumbs: np.ndarray, ref: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Normalized cross-correlation of each thumbnail with ``ref`` over ``weight`` pixels.

    Shape: ``thumbs`` ``(K, h, w)``, ``ref`` and ``weight`` ``(h, w)``; returns ``(K,)``.
    """
    if thumbs.shape[0] == 0 or not weight.any():
        return np.zeros(thumbs.shape[0], np.float32)
    x = thumbs[:, weight]
    y = ref[weight]
    x = x - x.mean(axis=1, keepdims=True)
    y = y - y.mean()
    den = np.sqrt((x * x).sum(axis=1) * float((y * y).sum())) + 1e-9
    return np.asarray((x @ y) / den, dtype=np.float32)


def _robust_affine(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel ``y ~ gain * x + offset`` by least squares, refitted on the samples whose
    residual is under 2.5 robust sigmas (at least 0.01).

    Shape: ``x``, ``y`` ``(N, 3)``; returns two ``(3,)`` float32 arrays.
    """
    gain = np.ones(3, np.float32)
    offset = np.zeros(3, np.float32)
    keep = np.ones(len(x), bool)
    for _ in range(3):
        xs, ys = x[keep], y[keep]
        mx, my = xs.mean(axis=0), ys.mean(axis=0)
        vx = ((xs - mx) ** 2).mean(axis=0)
        cov = ((xs - mx) * (ys - my)).mean(axis=0)
        flat = vx < 1e-6  # no contrast to fit a gain on: offset only
        gain = np.where(flat, 1.0, cov / np.maximum(vx, 1e-12)).astype(np.float32)
        offset = (my - gain * mx).astype(np.float32)
        r = _max3(np.abs(y - (x * gain + offset)))
        keep = r < max(2.5 * 1.4826 * float(np.median(r)), 0.01)
        if keep.sum() < 50:
            break
    return gain, offset


def _plausible(hm: np.ndarray, w: int, h: int) -> bool:
    """A homography between two takes of one setup: no flip, moderate scale and perspective,
    the take's corners landing as a convex quadrilateral of similar area."""
    a = hm[:2, :2] / hm[2, 2]
    if not 0.5 < float(np.linalg.det(a)) < 2.0:
        return False
    if abs(hm[2, 0] / hm[2, 2]) * w > 0.3 or abs(hm[2, 1] / hm[2, 2]) * h > 0.3:
        return False
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)[None]
    quad = cv2.perspectiveTransform(corners, hm)[0]
    if not cv2.isContourConvex(quad.astype(np.float32)):
        return False
    return 0.5 < abs(cv2.contourArea(quad)) / float(w * h) < 2.0


def _plate_blur(img: np.ndarray, plate: np.ndarray, plate_blur: np.ndarray) -> np.ndarray:
    """Gaussian blur (sigma 1) of ``img`` from its ``plate`` pixels only (normalized
    convolution), so what fills the hole never bleeds into the band around it.

    Shape: ``img`` ``(h, w, 3)``; ``plate`` and ``plate_blur`` (its blur) ``(h, w)``.
    """
    num = cv2.GaussianBlur(img * plate[:, :, None], (0, 0), 1.0)
    return np.asarray(num / np.maximum(plate_blur, 1e-3)[:, :, None], dtype=np.float32)


def _drop_specks(mask: np.ndarray, area: int) -> np.ndarray:
    """``mask`` without its 8-connected components smaller than ``area`` pixels.

    Shape: bool ``(h, w)`` in and out.
    """
    if not mask.any():
        return mask
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= area
    keep[0] = False
    return np.asarray(keep[labels], dtype=bool)


def _near_bad(bad: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Hole pixels within reach of a disagreeing patch of the band; a patch reaches as far as
    it is large (what crosses the band most likely extends that far into the hole).

    Shape: bool ``(h, w)`` in and out.
    """
    if not bad.any():
        return np.zeros_like(hole)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(bad.astype(np.uint8), connectivity=8)
    reach = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]).astype(np.float32)
    # distance to the nearest bad pixel, and which one (numbered 1.. in row-major order)
    dist, near = cv2.distanceTransformWithLabels(
        (~bad).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    ys, xs = np.nonzero(bad)
    component = np.zeros(len(ys) + 1, np.int32)
    component[1:] = labels[ys, xs]
    return hole & (dist <= reach[component[near]] + 1.0)


# -- the catalog ------------------------------------------------------------------------------


__all__ = ["Take", "TakeMatch", "TakeOptions", "TakeSource", "take_from_record", "takes_for_shot"]
