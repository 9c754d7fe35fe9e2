"""Grain (sensor noise / film grain) of a clip: amplitude by intensity, spectrum, colour.

:func:`measure_grain` looks at a handful of frames, in the clip's own encoding, and returns a
:class:`GrainProfile`:

- **amplitude**: per channel, the standard deviation of the grain in :data:`BINS` bins of the
  local mean intensity (grain is usually stronger in the shadows of a video encoding, or in
  the mid-tones of a film scan); bins with too few samples are interpolated from their
  neighbours (held constant beyond the measured range);
- **spectrum**: per channel, the 2-D power spectrum of the grain on a :data:`PATCH` x
  :data:`PATCH` grid, normalized to mean 1 (all ones for white, pixel-independent noise; a
  falling spectrum for clumpy film grain or debayered / compressed noise), and its radial
  average;
- **correlation**: the 3x3 correlation of the grain between R, G and B (near 1 when the noise
  is mostly in luma, near 0 for independent channel noise).

Measurement works on small patches (16 x 16 pixels) where the picture is flat, so that content
does not leak in. Alternative methods sit in :data:`METHODS`:

- ``"flat"``: each patch is detrended (its best-fitting plane and curvature removed); patches
  whose Gaussian-smoothed picture still varies (texture, edges) are rejected, and the grain is
  what is left in the kept patches. One frame is enough; works on anything with
  some flat areas (sky, walls, backdrops, out-of-focus background).
- ``"temporal"``: frames come in consecutive pairs of a still camera; the residual is the
  difference of the pair divided by sqrt(2), in which the picture cancels wherever nothing
  moves, texture included; patches where something moved are rejected. Needs pairs; beware
  that long-GOP codecs copy static blocks from frame to frame (their noise is then partly
  frozen and this method reads it low).

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> frames = [np.full((128, 128, 3), 0.5, np.float32) + rng.normal(0, 0.02, (128, 128, 3))
    ...           .astype(np.float32) for _ in range(2)]
    >>> profile = measure_grain(frames)
    >>> round(profile.sigma(0.5, 1), 2)
    0.02
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

__all__ = [
    "BINS",
    "METHODS",
    "PATCH",
    "PROFILE_VERSION",
    "GrainProfile",
    "measure_grain",
    "radial_spectrum",
]

PROFILE_VERSION = "grain.1"
"""Schema of :meth:`GrainProfile.to_dict`."""

BINS = 12
"""Intensity bins over [0, 1] (values above 1 fall in the last bin)."""

PATCH = 16
"""Side of the square patches the grain is measured on, in pixels."""

MIN_PATCHES = 6
"""A bin with fewer kept patches than this is interpolated from its neighbours."""

SMOOTH_SIGMA = 1.5
"""Gaussian sigma (px) of the smoothed picture whose residual variance says "textured"."""

CLIP_LOW, CLIP_HIGH = 0.002, 0.998
"""Patches with a value at or beyond these (clipped blacks/whites) carry no grain; skipped."""

KEEP_FRACTION = {"flat": 0.35, "temporal": 0.5}
"""Share of a frame's patches (least textured, or least moving, first) from which the
grain-only picture-to-grain ratio is read."""

DETREND_ORDER = 2
"""Each patch loses its best polynomial of this degree (2: plane and curvature) before its
grain is measured, so smooth shading does not read as grain; what that takes from coarse
grain is put back from the measured spectrum."""

OUTLIER_FACTOR = 2.0
"""A bin measuring more than this many times its neighbours is taken as texture."""

RATIO_SPREAD = 2.5
"""Patches whose picture-to-grain ratio is up to this many times the grain-only level are
measured (a grain-only patch's ratio varies by about +-50 % at the default sizes)."""


# --------------------------------------------------------------------------------------------
# The profile


@dataclass
class GrainProfile:
    """What :func:`measure_grain` found; JSON-able through :meth:`to_dict`.

    Attributes:
        levels: centres of the intensity bins, in the clip's own encoding. Shape: ``(B,)``.
        amplitude: grain standard deviation per bin and channel. Shape: ``(B, 3)``.
        counts: patches measured per bin and channel (0: interpolated). Shape: ``(B, 3)``.
        psd: grain power spectrum per channel on a ``P x P`` frequency grid (``np.fft``
            order, DC at ``[0, 0]``), mean 1 per channel. Shape: ``(P, P, 3)``.
        correlation: correlation of the grain between channels. Shape: ``(3, 3)``.
        size: ``(width, height)`` of the frames measured (grain is a per-pixel property:
            a profile applies to frames of this size).
        frames: frames (or pairs) measured.
        method: measuring method (see :data:`METHODS`).
        version: schema, :data:`PROFILE_VERSION`.
    """

    levels: np.ndarray
    amplitude: np.ndarray
    counts: np.ndarray
    psd: np.ndarray
    correlation: np.ndarray
    size: tuple[int, int] = (0, 0)
    frames: int = 0
    method: str = "flat"
    version: str = PROFILE_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def sigma(self, intensity: float | np.ndarray, channel: int) -> Any:
        """Grain standard deviation at ``intensity`` (own encoding) in ``channel`` (0=R, 1=G,
        2=B), interpolated linearly between bin centres and held beyond them.

        Returns:
            A float for a scalar intensity, else a float32 array of ``intensity``'s shape.
        """
        if channel not in (0, 1, 2):
            raise ValueError(f"channel is {channel}; give 0 (R), 1 (G) or 2 (B)")
        x = np.asarray(intensity, dtype=np.float32)
        y = np.interp(x, self.levels, self.amplitude[:, channel]).astype(np.float32)
        return float(y) if y.ndim == 0 else y

    def sigma_map(self, image: np.ndarray) -> np.ndarray:
        """Per-pixel grain standard deviation for ``image``.

        Shape:
            image: ``(H, W, 3)`` float32, own encoding. return: ``(H, W, 3)`` float32.
        """
        out = np.empty(image.shape, np.float32)
        for c in range(3):
            out[..., c] = np.interp(image[..., c], self.levels, self.amplitude[:, c])
        return out

    @property
    def radial(self) -> np.ndarray:
        """Radially averaged spectrum per channel, from DC to Nyquist. Shape: ``(P//2+1, 3)``."""
        return np.stack([radial_spectrum(self.psd[..., c]) for c in range(3)], axis=1)

    @property
    def lag1(self) -> np.ndarray:
        """Correlation of the grain with its horizontal and vertical neighbour, per channel
        (0 for white noise, towards 1 for coarse grain). Shape: ``(3,)``."""
        acf = np.real(np.fft.ifft2(self.psd, axes=(0, 1)))
        return ((acf[0, 1] + acf[1, 0]) / 2 / np.maximum(acf[0, 0], 1e-12)).astype(np.float32)

    @property
    def mean_sigma(self) -> float:
        """Grain standard deviation averaged over the measured bins and channels."""
        w = self.counts.astype(np.float64)
        if w.sum() <= 0:
            return float(self.amplitude.mean())
        return float((self.amplitude * w).sum() / w.sum())

    def to_dict(self) -> dict[str, Any]:
        """JSON form (rounded to 6 digits), versioned ``"grain.1"``."""

        def r(a: np.ndarray) -> Any:
            return np.round(np.asarray(a, np.float64), 6).tolist()

        return {
            "version": self.version,
            "method": self.method,
            "frames": int(self.frames),
            "size": [int(self.size[0]), int(self.size[1])],
            "sigma_mean": round(self.mean_sigma, 6),
            "levels": r(self.levels),
            "amplitude": r(self.amplitude),
            "counts": np.asarray(self.counts, np.int64).tolist(),
            "psd": r(self.psd),
            "radial": r(self.radial),
            "lag1": r(self.lag1),
            "correlation": r(self.correlation),
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GrainProfile:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValueError: unknown version or malformed arrays.
        """
        version = d.get("version")
        if version != PROFILE_VERSION:
            raise ValueError(
                f"grain profile version {version!r} is not {PROFILE_VERSION!r}; measure the "
                "shot again ('rushes grain SHOT --refresh')"
            )
        levels = np.asarray(d["levels"], np.float32)
        amplitude = np.asarray(d["amplitude"], np.float32)
        psd = np.asarray(d["psd"], np.float32)
        corr = np.asarray(d["correlation"], np.float32)
        b = levels.shape[0]
        if (
            levels.ndim != 1
            or amplitude.shape != (b, 3)
            or psd.ndim != 3
            or psd.shape[2] != 3
            or corr.shape != (3, 3)
        ):
            raise ValueError("grain profile arrays have the wrong shapes; measure the shot again")
        return cls(
            levels=levels,
            amplitude=amplitude,
            counts=np.asarray(d.get("counts", np.zeros((b, 3))), np.int64),
            psd=psd,
            correlation=corr,
            size=(int(d["size"][0]), int(d["size"][1])),
            frames=int(d.get("frames", 0)),
            method=str(d.get("method", "flat")),
            extra=dict(d.get("extra", {})),
        )

    @classmethod
    def white(
        cls, sigma: float | np.ndarray, levels: int = BINS, patch: int = PATCH
    ) -> GrainProfile:
        """A synthetic profile: white grain, independent channels, of standard deviation
        ``sigma`` (a scalar, or ``(B,)`` / ``(B, 3)`` values per bin)."""
        centres = (np.arange(levels, dtype=np.float32) + 0.5) / levels
        amp = np.broadcast_to(
            np.asarray(sigma, np.float32).reshape(-1, 1) if np.ndim(sigma) == 1 else sigma,
            (levels, 3),
        ).astype(np.float32)
        return cls(
            levels=centres,
            amplitude=amp,
            counts=np.zeros((levels, 3), np.int64),
            psd=np.ones((patch, patch, 3), np.float32),
            correlation=np.eye(3, dtype=np.float32),
            method="synthetic",
        )


def radial_spectrum(psd: np.ndarray) -> np.ndarray:
    """Radial average of a square 2-D power spectrum in ``np.fft`` order.

    Shape:
        psd: ``(P, P)``. return: ``(P//2 + 1,)``, from DC to Nyquist.
    """
    p = psd.shape[0]
    f = np.fft.fftfreq(p) * p
    rad = np.rint(np.hypot(f[:, None], f[None, :])).astype(np.int64)
    n = p // 2 + 1
    keep = rad < n
    sums = np.bincount(rad[keep], weights=psd[keep].astype(np.float64), minlength=n)
    cnt = np.bincount(rad[keep], minlength=n)
    return (sums / np.maximum(cnt, 1)).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Patch machinery


def _check_frame(frame: Any, name: str) -> np.ndarray:
    a = np.asarray(frame)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"{name} has shape {a.shape}; give an (H, W, 3) RGB frame")
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"{name} has dtype {a.dtype}; give float32 values in [0, 1]")
    if a.shape[0] < PATCH or a.shape[1] < PATCH:
        raise ValueError(
            f"{name} is {a.shape[1]}x{a.shape[0]}; grain needs frames of at least "
            f"{PATCH}x{PATCH} pixels"
        )
    a = np.ascontiguousarray(a, dtype=np.float32)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} holds NaN or infinite values; give finite pixel values")
    return a


def _trend_basis(p: int, order: int) -> np.ndarray:
    """Orthonormal basis (p*p, K) of the polynomials of degree <= ``order`` over a p x p patch
    (order 1: constant and ramps, K=3; order 2: also the curvatures, K=6)."""
    y, x = np.mgrid[0:p, 0:p].astype(np.float64)
    x = (x.ravel() - x.mean()) / p
    y = (y.ravel() - y.mean()) / p
    cols = [x**i * y**j for i in range(order + 1) for j in range(order + 1 - i)]
    q, _ = np.linalg.qr(np.stack(cols, axis=1))
    return q.astype(np.float32)


def _detrend_transfer(basis: np.ndarray, p: int) -> np.ndarray:
    """Share of white-noise power the detrend leaves at each frequency (p, p); floored
    at 0.25 (the DC bin, emptied, is filled from its neighbours afterwards)."""
    b = basis.reshape(p, p, -1).astype(np.float64)
    removed = (np.abs(np.fft.fft2(b, axes=(0, 1))) ** 2).sum(axis=2) / (p * p)
    return np.maximum(1.0 - removed, 0.25)


def _consistent(measured: np.ndarray, amp: np.ndarray) -> np.ndarray:
    """Drop bins whose amplitude is over :data:`OUTLIER_FACTOR` times the median of their
    measured neighbours (within 2 bins): texture that slipped through raises a bin, grain
    never jumps like that from one bin to the next."""
    keep = []
    for b in measured:
        near = [k for k in measured if k != b and abs(k - b) <= 2]
        if len(near) < 2 or amp[b] <= OUTLIER_FACTOR * float(np.median(amp[near])):
            keep.append(b)
    return np.array(keep if keep else list(measured))


def _detrend_correction(psd: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Amplitude factor per channel undoing what the detrend took from correlated grain.

    For white grain the detrend removes K of ``p*p`` degrees of freedom (already divided
    out); coarser grain has more power in the smooth components it removes.
    Expected residual power: ``p*p - tr(P C)`` with ``C`` the patch covariance (from the
    spectrum) and ``P`` the projection onto the polynomial basis.
    """
    p = psd.shape[0]
    y, x = np.divmod(np.arange(p * p), p)
    dy = (y[:, None] - y[None, :]) % p
    dx = (x[:, None] - x[None, :]) % p
    out = np.ones(3, np.float32)
    for c in range(3):
        acf = np.real(np.fft.ifft2(psd[..., c]))
        cov = acf[dy, dx]
        removed = float(np.einsum("kb,kl,lb->", basis, cov, basis))
        out[c] = math.sqrt((p * p - basis.shape[1]) / max(p * p - removed, 1.0))
    return out


def _patches(img: np.ndarray, p: int) -> np.ndarray:
    """Non-overlapping p x p patches: (H, W, C) -> (N, p*p, C) (a copy)."""
    h, w, c = img.shape
    a, b = h // p, w // p
    blocks = img[: a * p, : b * p].reshape(a, p, b, p, c).transpose(0, 2, 1, 3, 4)
    return np.ascontiguousarray(blocks).reshape(a * b, p * p, c)


def _detrend(x: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Remove each patch's best low-order polynomial. x: (N, pp, C) -> residual, same shape."""
    coef = np.einsum("kb,nkc->nbc", basis, x, optimize=True)
    return np.asarray(x - np.einsum("kb,nbc->nkc", basis, coef, optimize=True))


@dataclass
class _Accumulator:
    """Kept-patch statistics over frames."""

    bins: int
    patch: int
    keep: float
    var: list[list[list[np.ndarray]]] = field(default_factory=list)  # [channel][bin] -> arrays
    psd: np.ndarray = field(default_factory=lambda: np.zeros(0))
    psd_n: np.ndarray = field(default_factory=lambda: np.zeros(3))
    cross: np.ndarray = field(default_factory=lambda: np.zeros((3, 3)))
    cross_n: int = 0

    def __post_init__(self) -> None:
        self.var = [[[] for _ in range(self.bins)] for _ in range(3)]
        self.psd = np.zeros((self.patch, self.patch, 3), np.float64)
        self.basis = _trend_basis(self.patch, DETREND_ORDER)

    def add(self, resid_src: np.ndarray, level_src: np.ndarray, score_src: np.ndarray) -> None:
        """Measure one frame: the grain is in ``resid_src`` (detrended per patch), the patch
        intensity is the mean of ``level_src``, and ``score_src`` says how much picture
        (texture or motion) a patch holds."""
        p, pp = self.patch, self.patch * self.patch
        dof = pp - self.basis.shape[1]
        resid = _detrend(_patches(resid_src, p), self.basis)
        var = (resid * resid).sum(axis=1) / dof  # (N, 3)
        lev = _patches(level_src, p)
        mean = lev.mean(axis=1)
        clipped = ((lev <= CLIP_LOW) | (lev >= CLIP_HIGH)).any(axis=1)  # (N, 3)
        sres = _detrend(_patches(score_src, p), self.basis)
        score = (sres * sres).sum(axis=1) / dof
        idx = np.clip((mean * self.bins).astype(np.int64), 0, self.bins - 1)
        ok = ~clipped & (var > 1e-12)
        ratio = np.where(ok, score / np.maximum(var, 1e-12), np.inf)
        grainy = ok & (ratio <= self._ratio_limit(ratio[ok]))
        kept = np.zeros(var.shape, bool)
        for c in range(3):
            for b in range(self.bins):
                sel = np.flatnonzero(grainy[:, c] & (idx[:, c] == b))
                if sel.size == 0:
                    continue
                n_keep = max(1, round(sel.size * self.keep))
                best = sel[np.argsort(score[sel, c], kind="stable")[:n_keep]]
                kept[best, c] = True
                self.var[c][b].append(var[best, c])
        # spectrum and channel correlation from patches kept in every channel
        both = kept.all(axis=1)
        if not both.any():
            return
        r = resid[both].reshape(-1, p, p, 3)
        v = var[both]
        norm = r / np.sqrt(v)[:, None, None, :]
        spec = np.abs(np.fft.fft2(norm, axes=(1, 2))) ** 2 / dof
        self.psd += spec.sum(axis=0)
        self.psd_n += r.shape[0]
        flat = norm.reshape(-1, pp, 3)
        self.cross += np.einsum("nkc,nkd->cd", flat, flat) / dof
        self.cross_n += flat.shape[0]

    def _ratio_limit(self, ratio: np.ndarray) -> float:
        """Largest picture-to-grain ratio of a patch still taken as grain only.

        ``ratio`` is the variance left after smoothing over the raw variance: for grain alone
        it is small (the share of its power below the smoothing cut-off, 0.035 for white
        noise), for texture or motion near 1. The grain-only level is read from the least
        textured patches of the frame; patches up to :data:`RATIO_SPREAD` times it are kept.
        """
        if ratio.size == 0:
            return -1.0
        low = np.sort(ratio)[: max(1, int(ratio.size * self.keep))]
        return float(np.median(low)) * RATIO_SPREAD

    def result(self, frames: int, size: tuple[int, int], method: str) -> GrainProfile:
        levels = ((np.arange(self.bins) + 0.5) / self.bins).astype(np.float32)
        amp = np.zeros((self.bins, 3), np.float32)
        counts = np.zeros((self.bins, 3), np.int64)
        for c in range(3):
            measured = []
            for b in range(self.bins):
                vals = np.concatenate(self.var[c][b]) if self.var[c][b] else np.zeros(0)
                counts[b, c] = vals.size
                if vals.size >= MIN_PATCHES:
                    measured.append(b)
                    amp[b, c] = math.sqrt(float(np.median(vals)))
            if not measured:
                raise ValueError(
                    f"found no flat, unclipped areas to measure grain in {frames} frame(s); "
                    "give frames with some plain regions (sky, walls, backdrop) or more frames"
                )
            m = _consistent(np.array(measured), amp[:, c])
            amp[:, c] = np.interp(levels, levels[m], amp[m, c])
            counts[np.setdiff1d(np.arange(self.bins), m), c] = 0
        if self.psd_n.min() > 0:
            psd = self.psd / self.psd_n / _detrend_transfer(self.basis, self.patch)[..., None]
            # the detrend removed the mean: fill DC from its neighbours
            psd[0, 0] = (psd[0, 1] + psd[1, 0] + psd[0, -1] + psd[-1, 0]) / 4
            psd /= psd.mean(axis=(0, 1), keepdims=True)
            cross = self.cross / max(self.cross_n, 1)
            d = np.sqrt(np.clip(np.diag(cross), 1e-12, None))
            corr = np.clip(cross / d[:, None] / d[None, :], -1.0, 1.0)
            np.fill_diagonal(corr, 1.0)
            amp *= _detrend_correction(psd, self.basis)[None, :]
        else:
            psd = np.ones((self.patch, self.patch, 3))
            corr = np.eye(3)
        return GrainProfile(
            levels=levels,
            amplitude=amp,
            counts=counts,
            psd=psd.astype(np.float32),
            correlation=corr.astype(np.float32),
            size=size,
            frames=frames,
            method=method,
        )


# --------------------------------------------------------------------------------------------
# Methods


def _measure_flat(frames: Iterable[np.ndarray], acc: _Accumulator) -> tuple[int, tuple[int, int]]:
    n, size = 0, (0, 0)
    for k, f in enumerate(frames):
        frame = _check_frame(f, f"frame {k}")
        if n and (frame.shape[1], frame.shape[0]) != size:
            raise ValueError(
                f"frame {k} is {frame.shape[1]}x{frame.shape[0]} but frame 0 is "
                f"{size[0]}x{size[1]}; give frames of one clip at one size"
            )
        size = (frame.shape[1], frame.shape[0])
        smooth = cv2.GaussianBlur(frame, (0, 0), SMOOTH_SIGMA)
        acc.add(frame, frame, smooth)
        n += 1
    return n, size


def _measure_temporal(
    frames: Iterable[np.ndarray], acc: _Accumulator
) -> tuple[int, tuple[int, int]]:
    n, size = 0, (0, 0)
    it = iter(frames)
    k = 0
    for first in it:
        second = next(it, None)
        if second is None:
            raise ValueError(
                f"the temporal method needs frames in consecutive pairs; got {2 * n + 1} frames"
            )
        a = _check_frame(first, f"frame {k}")
        b = _check_frame(second, f"frame {k + 1}")
        if a.shape != b.shape or (n and (a.shape[1], a.shape[0]) != size):
            raise ValueError(
                f"frames {k} and {k + 1} differ in size from the others; give frames of one clip"
            )
        size = (a.shape[1], a.shape[0])
        diff = (b - a) * np.float32(1 / math.sqrt(2))
        level = (a + b) * np.float32(0.5)
        moved = cv2.GaussianBlur(diff, (0, 0), SMOOTH_SIGMA)
        acc.add(diff, level, moved)
        n += 1
        k += 2
    return n, size


METHODS: dict[str, Callable[[Iterable[np.ndarray], _Accumulator], tuple[int, tuple[int, int]]]]
METHODS = {"flat": _measure_flat, "temporal": _measure_temporal}
"""Measuring methods (see the module docstring)."""


def measure_grain(
    frames: Iterable[np.ndarray],
    method: str = "flat",
    bins: int = BINS,
    patch: int = PATCH,
) -> GrainProfile:
    """Measure the grain of a clip from a handful of its frames.

    Args:
        frames: frames of one clip, full resolution (grain is per pixel: do not downscale),
            in the clip's own encoding; for ``method="temporal"``, consecutive pairs
            ``(t, t+1), (u, u+1), ...`` of a still camera. 2-8 frames are plenty.
        method: ``"flat"`` or ``"temporal"`` (:data:`METHODS`).
        bins: intensity bins over [0, 1].
        patch: patch side in pixels (the spectrum is measured on a ``patch`` grid).

    Returns:
        The grain profile.

    Raises:
        ValueError: unknown method, bad frames (not ``(H, W, 3)`` float, NaN/inf, smaller
            than one patch, sizes differ), no flat unclipped area anywhere, or no frames.

    Shape:
        frames: each ``(H, W, 3)`` float32, own encoding, nominally [0, 1].
    """
    if method not in METHODS:
        raise ValueError(f"grain method '{method}' unknown; use one of {', '.join(METHODS)}")
    if not 2 <= bins <= 64:
        raise ValueError(f"bins is {bins}; give 2..64 intensity bins")
    if not 8 <= patch <= 64:
        raise ValueError(f"patch is {patch}; give a patch side of 8..64 pixels")
    acc = _Accumulator(bins=bins, patch=patch, keep=KEEP_FRACTION[method])
    n, size = METHODS[method](frames, acc)
    if n == 0:
        raise ValueError("no frames given; give a few frames of the clip")
    return acc.result(n, size, method)
