"""Scores of a fill inside its mask, for the ``remove`` benchmark.

All frames are float32 ``(H, W, 3)`` RGB display-encoded in [0, 1]; masks float32 ``(H, W)``
in [0, 1], where a pixel counts as masked above 0.5. Every measure takes one frame or a
sequence of frames and pools over all frames (sums of errors over sums of pixels), so that
thin masks give a stable number.

* :func:`psnr_in_mask`: PSNR of the masked pixels against the clean frames (inf if equal).
* :func:`ssim_in_mask`: the SSIM map of ``skimage.metrics.structural_similarity`` averaged over
  the masked pixels.
* :func:`warping_error`: temporal flicker. The flow between consecutive *clean* frames (DIS,
  so it does not depend on the method) carries the filled frame t-1 onto frame t; the mean
  squared difference to the filled frame t inside mask t, where forward and backward flows
  agree, is compared with the same measure on the clean frames.
* :func:`grain_match`: high-frequency energy of the fill (inside the mask) over that of the
  plate in a ring around it (1.0: the same; below 1: too smooth; above 1: too noisy).

:class:`CaseScore` accumulates all four frame by frame, for a benchmark that streams.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from skimage.metrics import structural_similarity

from rushes.matte.base import mask_bbox

SSIM_MARGIN = 8  # context around the mask's box for SSIM's 7x7 windows
RING_PX = 8  # width of the plate ring around the mask for grain_match

FrameOrFrames = np.ndarray | Sequence[np.ndarray]


def _frames(x: FrameOrFrames, ndim: int) -> list[np.ndarray]:
    """One frame (``ndim`` dims) or a stack / sequence of them, as a list."""
    if isinstance(x, np.ndarray) and x.ndim == ndim:
        return [x]
    return [np.asarray(f) for f in x]


def _pairs(
    a: FrameOrFrames, b: FrameOrFrames, masks: FrameOrFrames
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    fa, fb, fm = _frames(a, 3), _frames(b, 3), _frames(masks, 2)
    if not len(fa) == len(fb) == len(fm):
        raise ValueError(f"got {len(fa)}, {len(fb)} frames and {len(fm)} masks; give as many")
    for i, (x, y, m) in enumerate(zip(fa, fb, fm, strict=True)):
        if x.shape != y.shape or x.shape[:2] != m.shape:
            raise ValueError(f"frame {i}: shapes {x.shape}, {y.shape}, mask {m.shape} differ")
        yield x.astype(np.float32, copy=False), y.astype(np.float32, copy=False), m > 0.5


# --------------------------------------------------------------------------------------------
# Per-frame sums


def _se_sum(pred: np.ndarray, truth: np.ndarray, m: np.ndarray) -> tuple[float, int]:
    """Sum of squared errors over masked pixels and channels, and the number of values."""
    d = pred[m] - truth[m]
    return float(np.square(d, dtype=np.float64).sum()), d.size


def _box(m: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    """The mask's bounding box grown by ``margin`` (clipped to the frame), as slices."""
    bbox = mask_bbox(m)
    if bbox is None:
        return None
    x, y, bw, bh = bbox
    h, w = m.shape
    return (
        slice(max(0, y - margin), min(h, y + bh + margin)),
        slice(max(0, x - margin), min(w, x + bw + margin)),
    )


def _ssim_sum(pred: np.ndarray, truth: np.ndarray, m: np.ndarray) -> tuple[float, int]:
    """Sum of the SSIM map (mean over channels) over masked pixels, and their number."""
    box = _box(m, SSIM_MARGIN)
    if box is None:
        return 0.0, 0
    p, t, mm = pred[box], truth[box], m[box]
    if min(mm.shape) < 7:  # frame too small for the 7x7 window: pad by reflection
        pad = ((0, max(0, 7 - mm.shape[0])), (0, max(0, 7 - mm.shape[1])))
        p = np.pad(p, (*pad, (0, 0)), mode="reflect")
        t = np.pad(t, (*pad, (0, 0)), mode="reflect")
        mm = np.pad(mm, pad)
    _, smap = structural_similarity(t, p, channel_axis=-1, data_range=1.0, full=True)
    return float(smap.mean(axis=-1)[mm].sum(dtype=np.float64)), int(mm.sum())


def _highpass(img: np.ndarray) -> np.ndarray:
    """The image minus its 3x3 mean: the finest band (grain, fine texture)."""
    return img - cv2.blur(img, (3, 3), borderType=cv2.BORDER_REFLECT)


_K3 = np.ones((3, 3), np.uint8)


def _grain_sums(
    filled: np.ndarray, reference: np.ndarray, m: np.ndarray, ring_px: int
) -> tuple[float, int, float, int]:
    """High-pass energy inside the mask (eroded by 1 px, so the 3x3 support stays inside) of
    ``filled``, and in a ring ``ring_px`` wide around the mask (1 px away) of ``reference``."""
    m8 = m.astype(np.uint8)
    inner = cv2.erode(m8, _K3, borderType=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)
    near = cv2.dilate(m8, _K3).astype(bool)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring_px + 3, 2 * ring_px + 3))
    ring = cv2.dilate(m8, k).astype(bool) & ~near
    e_in = _highpass(filled)[inner]
    e_ring = _highpass(reference)[ring]
    return (
        float(np.square(e_in, dtype=np.float64).sum()),
        e_in.size,
        float(np.square(e_ring, dtype=np.float64).sum()),
        e_ring.size,
    )


# --------------------------------------------------------------------------------------------
# Flow between clean frames


@dataclass
class Warp:
    """How frame t-1 lands on frame t: a remap table and where the flow is trustworthy.

    Attributes:
        map: float32 (H, W, 2) absolute (x, y) in frame t-1 of each pixel of frame t.
        valid: bool (H, W): inside frame t-1 and forward-backward consistent.
    """

    map: np.ndarray
    valid: np.ndarray

    def apply(self, prev: np.ndarray) -> np.ndarray:
        """Frame t-1 (H, W, C) warped onto frame t."""
        return cv2.remap(
            prev, self.map, None, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )


def _grey(frame: np.ndarray) -> np.ndarray:
    g = frame @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.clip(g * 255.0 + 0.5, 0, 255).astype(np.uint8)


def clean_warps(clean: Sequence[np.ndarray]) -> list[Warp]:
    """The warps from each clean frame t-1 to frame t (``len(clean) - 1`` of them).

    DIS optical flow (preset medium) both ways on the luma; a pixel is valid where the
    backward flow and the forward flow at its destination cancel (Sundaram et al. 2010:
    ``|b + f|^2 < 0.01 (|b|^2 + |f|^2) + 0.5``) and the destination lies inside the frame.

    Args:
        clean: the clean frames, float32 RGB display-encoded in [0, 1].

    Shape:
        clean: each (H, W, 3).
    """
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    out: list[Warp] = []
    prev = None
    for frame in clean:
        g = _grey(np.asarray(frame, np.float32))
        if prev is not None:
            back = dis.calc(g, prev, None)  # frame t -> t-1
            fwd = dis.calc(prev, g, None)  # frame t-1 -> t
            h, w = g.shape
            grid = np.stack(np.meshgrid(np.arange(w), np.arange(h)), axis=-1).astype(np.float32)
            mp = grid + back
            fwd_at = cv2.remap(fwd, mp, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            s = back + fwd_at
            lhs = (s * s).sum(-1)
            rhs = 0.01 * ((back * back).sum(-1) + (fwd_at * fwd_at).sum(-1)) + 0.5
            inside = (
                (mp[..., 0] >= 0)
                & (mp[..., 0] <= w - 1)
                & (mp[..., 1] >= 0)
                & (mp[..., 1] <= h - 1)
            )
            out.append(Warp(mp, (lhs < rhs) & inside))
        prev = g
    return out


def _warp_sum(cur: np.ndarray, prev: np.ndarray, warp: Warp, m: np.ndarray) -> tuple[float, int]:
    sel = m & warp.valid
    d = cur[sel] - warp.apply(prev)[sel]
    return float(np.square(d, dtype=np.float64).sum()), d.size


# --------------------------------------------------------------------------------------------
# Public measures


def psnr_in_mask(pred: FrameOrFrames, truth: FrameOrFrames, masks: FrameOrFrames) -> float:
    """PSNR (dB, peak 1.0) of the masked pixels, pooled over frames.

    Args:
        pred: the filled frame(s), float32 RGB in [0, 1].
        truth: the clean frame(s), float32 RGB in [0, 1].
        masks: float32 mask(s) in [0, 1]; a pixel counts above 0.5.

    Returns:
        ``10 log10(1 / MSE)``; ``inf`` when the masked pixels are equal, ``nan`` when no pixel
        is masked.

    Shape:
        pred, truth: (H, W, 3) or a sequence of them; masks: (H, W) or a sequence.
    """
    se, n = 0.0, 0
    for p, t, m in _pairs(pred, truth, masks):
        a, b = _se_sum(p, t, m)
        se, n = se + a, n + b
    return _psnr(se, n)


def _psnr(se: float, n: int) -> float:
    if n == 0:
        return math.nan
    if se == 0:
        return math.inf
    return 10.0 * math.log10(n / se)


def ssim_in_mask(pred: FrameOrFrames, truth: FrameOrFrames, masks: FrameOrFrames) -> float:
    """Mean SSIM over the masked pixels, pooled over frames.

    The SSIM map is ``skimage.metrics.structural_similarity(truth, pred, channel_axis=-1,
    data_range=1.0, full=True)`` (7x7 uniform windows) on the mask's bounding box plus
    8 px, averaged over channels; its windows see the plate around the mask too.

    Args:
        pred: the filled frame(s), float32 RGB in [0, 1].
        truth: the clean frame(s), float32 RGB in [0, 1].
        masks: float32 mask(s) in [0, 1]; a pixel counts above 0.5.

    Returns:
        In [-1, 1], 1.0 where equal; ``nan`` when no pixel is masked.

    Shape:
        pred, truth: (H, W, 3) or a sequence of them; masks: (H, W) or a sequence.
    """
    s, n = 0.0, 0
    for p, t, m in _pairs(pred, truth, masks):
        a, b = _ssim_sum(p, t, m)
        s, n = s + a, n + b
    return s / n if n else math.nan


@dataclass
class WarpingError:
    """Temporal flicker inside the masks (mean squared difference, values in [0, 1] units).

    Attributes:
        filled: the filled frames' warping error.
        clean: the clean frames' warping error at the same pixels (what the flow leaves).
        excess: ``filled - clean``: the flicker the fill adds (0: as steady as the plate).
        ratio: ``filled / clean``.
    """

    filled: float
    clean: float

    @property
    def excess(self) -> float:
        return self.filled - self.clean

    @property
    def ratio(self) -> float:
        return self.filled / self.clean if self.clean > 0 else math.nan


def warping_error(
    filled: Sequence[np.ndarray],
    clean: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    warps: Sequence[Warp] | None = None,
) -> WarpingError:
    """Temporal flicker of a fill, measured with the flow of the clean frames.

    For each t >= 1, filled frame t-1 is warped onto t with the flow between clean frames
    t-1 and t; the squared difference to filled frame t is averaged over the pixels of mask t
    where the flow is consistent (see :func:`clean_warps`), pooled over frames, and the same
    is done with the clean frames in place of the filled ones.

    Args:
        filled: the filled frames, float32 RGB in [0, 1].
        clean: the clean frames, float32 RGB in [0, 1].
        masks: float32 masks in [0, 1]; a pixel counts above 0.5.
        warps: :func:`clean_warps` of ``clean`` if already computed.

    Returns:
        A :class:`WarpingError` (``nan`` fields when no masked pixel has a valid flow).

    Shape:
        filled, clean: sequences of (H, W, 3); masks: a sequence of (H, W).
    """
    frames = list(_pairs(filled, clean, masks))
    if warps is None:
        warps = clean_warps([c for _, c, _ in frames])
    if len(warps) != len(frames) - 1:
        raise ValueError(f"got {len(warps)} warps for {len(frames)} frames; give one fewer")
    ef, ec, n = 0.0, 0.0, 0
    for t in range(1, len(frames)):
        (f0, c0, _), (f1, c1, m1) = frames[t - 1], frames[t]
        a, k = _warp_sum(f1, f0, warps[t - 1], m1)
        b, _ = _warp_sum(c1, c0, warps[t - 1], m1)
        ef, ec, n = ef + a, ec + b, n + k
    if n == 0:
        return WarpingError(math.nan, math.nan)
    return WarpingError(ef / n, ec / n)


def grain_match(
    filled: FrameOrFrames,
    reference: FrameOrFrames,
    masks: FrameOrFrames,
    ring_px: int = RING_PX,
) -> float:
    """High-frequency energy of the fill over that of the plate around it, pooled over frames.

    The high band is the image minus its 3x3 mean. Inside: the masks eroded by 1 px (so the
    band is computed from fill pixels only) on ``filled``; around: a ring ``ring_px`` wide,
    starting 1 px outside the mask, on ``reference`` (the plate: the clean or original frames).

    Args:
        filled: the filled frame(s), float32 RGB in [0, 1].
        reference: the plate frame(s) the ring is taken from, float32 RGB in [0, 1].
        masks: float32 mask(s) in [0, 1]; a pixel counts above 0.5.
        ring_px: the ring's width in pixels.

    Returns:
        The ratio of mean squared high-band values, inside over ring: 1.0 when the fill is as
        grainy as the plate, below 1 when smoother, above 1 when noisier; ``nan`` when either
        region is empty.

    Shape:
        filled, reference: (H, W, 3) or a sequence of them; masks: (H, W) or a sequence.
    """
    acc = _Grain()
    for f, r, m in _pairs(filled, reference, masks):
        acc.add(*_grain_sums(f, r, m, ring_px))
    return acc.ratio


@dataclass
class _Grain:
    e_in: float = 0.0
    n_in: int = 0
    e_ring: float = 0.0
    n_ring: int = 0

    def add(self, e_in: float, n_in: int, e_ring: float, n_ring: int) -> None:
        self.e_in += e_in
        self.n_in += n_in
        self.e_ring += e_ring
        self.n_ring += n_ring

    @property
    def ratio(self) -> float:
        if not self.n_in or not self.n_ring or self.e_ring == 0:
            return math.nan
        return (self.e_in / self.n_in) / (self.e_ring / self.n_ring)


# --------------------------------------------------------------------------------------------
# Streaming


@dataclass
class CaseScore:
    """All four measures of one method on one case, fed frame by frame in order.

    Call :meth:`add` for t = 0, 1, ... with the filled frame, the clean frame, the mask and
    the warp from t-1 to t (None for t = 0); :meth:`result` gives the pooled numbers.
    """

    ring_px: int = RING_PX
    ssim: bool = True
    _se: float = 0.0
    _n: int = 0
    _ssim: float = 0.0
    _ssim_n: int = 0
    _wf: float = 0.0
    _wc: float = 0.0
    _wn: int = 0
    _grain: _Grain = field(default_factory=_Grain)
    _prev: tuple[np.ndarray, np.ndarray] | None = None

    def add(
        self, filled: np.ndarray, clean: np.ndarray, mask: np.ndarray, warp: Warp | None
    ) -> None:
        """Score frame t: ``filled`` and ``clean`` (H, W, 3) in [0, 1], ``mask`` (H, W)."""
        ((f, c, m),) = _pairs(filled, clean, mask)
        a, n = _se_sum(f, c, m)
        self._se, self._n = self._se + a, self._n + n
        if self.ssim:
            s, k = _ssim_sum(f, c, m)
            self._ssim, self._ssim_n = self._ssim + s, self._ssim_n + k
        if warp is not None and self._prev is not None:
            wf, k = _warp_sum(f, self._prev[0], warp, m)
            wc, _ = _warp_sum(c, self._prev[1], warp, m)
            self._wf, self._wc, self._wn = self._wf + wf, self._wc + wc, self._wn + k
        self._grain.add(*_grain_sums(f, c, m, self.ring_px))
        self._prev = (f, c)

    def result(self) -> dict[str, float]:
        """``psnr``, ``ssim``, ``warp`` (filled), ``warp_clean``, ``warp_excess``, ``grain``."""
        wf = self._wf / self._wn if self._wn else math.nan
        wc = self._wc / self._wn if self._wn else math.nan
        return {
            "psnr": _psnr(self._se, self._n),
            "ssim": self._ssim / self._ssim_n if self._ssim_n else math.nan,
            "warp": wf,
            "warp_clean": wc,
            "warp_excess": wf - wc,
            "grain": self._grain.ratio,
        }
