"""Pure grain kernels: synthesize grain from a profile, add it (regrain), remove it (degrain).

All work on frames in the clip's own encoding (the encoding the profile was measured in, see
:mod:`rushes.analysis.grain`), float32 ``(H, W, 3)``; nothing is clamped.

- :func:`synthesize_grain`: Gaussian noise with the profile's spectrum (each channel filtered by
  the zero-phase kernel whose power spectrum is the measured one), its channel correlation,
  and its intensity-dependent amplitude for a given picture.
- :func:`regrain`: add grain inside a mask, topping up only the variance that is missing
  (a fill that already carries part of its grain gets the rest).
- :func:`degrain`: remove grain with a sliding-window 8x8 DCT Wiener filter. The picture is
  turned into an opponent colour basis (luma and two colour differences, orthonormal), cut
  into 8x8 blocks on interleaved grids (offsets 0 and 4 in x and y: four grids for luma, the
  two diagonal ones for the colour differences, see :data:`GRIDS`), and each DCT coefficient
  is shrunk by the empirical Wiener gain ``max(c^2 - b n, 0) / c^2`` where ``n`` is the grain
  variance that coefficient carries: the channel's amplitude at the block's intensity times
  the share of the grain spectrum that falls in that coefficient (from the measured spectrum,
  so coarse grain is taken out at low frequencies and fine grain at high ones). The grids'
  results are averaged. Edges are large coefficients and survive. About 0.2 s of CPU per
  1080p frame, split over ``threads`` bands of rows.
- :func:`grain_spectrum_distance`: how different two grain residuals' spectra are.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from rushes.analysis.grain import GrainProfile, radial_spectrum

__all__ = [
    "degrain",
    "grain_kernels",
    "grain_spectrum_distance",
    "regrain",
    "residual_spectrum",
    "synthesize_grain",
    "unit_grain",
]

BLOCK = 8
"""DCT block side of :func:`degrain`."""

WIENER_BETA = 2.0
"""Over-subtraction of the empirical Wiener gain (1: textbook; higher: cleaner, softer)."""

KERNEL_ENERGY = 0.999
"""Synthesis kernels are cropped to the smallest square keeping this share of their energy."""

AMPLITUDE_BLUR = 1.0
"""Gaussian sigma (px) of the picture whose intensity sets the grain amplitude (so the grain
already in the picture does not modulate the new grain)."""

_OPPONENT = np.array(
    [
        [1 / math.sqrt(3), 1 / math.sqrt(3), 1 / math.sqrt(3)],
        [1 / math.sqrt(2), 0.0, -1 / math.sqrt(2)],
        [1 / math.sqrt(6), -2 / math.sqrt(6), 1 / math.sqrt(6)],
    ],
    np.float32,
)
"""Orthonormal RGB -> (luma, R-B, R-2G+B) basis; rows are the basis vectors."""


# --------------------------------------------------------------------------------------------
# Checks


def _check_image(image: Any, name: str = "image") -> np.ndarray:
    a = np.asarray(image)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"{name} has shape {a.shape}; give an (H, W, 3) RGB frame")
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"{name} has dtype {a.dtype}; give float32 values")
    if a.shape[0] < 2 or a.shape[1] < 2:
        raise ValueError(f"{name} is {a.shape[1]}x{a.shape[0]}; give at least 2x2 pixels")
    a = np.ascontiguousarray(a, dtype=np.float32)
    if not np.isfinite(a).all():
        raise ValueError(f"{name} holds NaN or infinite values; give finite pixel values")
    return a


def _field(value: Any, shape: tuple[int, int], name: str) -> np.ndarray | float:
    """A scalar or an (H, W) map in [0, 1]."""
    if np.ndim(value) == 0:
        v = float(value)
        if not (math.isfinite(v) and 0.0 <= v <= 1.0):
            raise ValueError(f"{name} is {v}; give a value in [0, 1]")
        return v
    a = np.asarray(value, dtype=np.float32)
    if a.shape != shape:
        raise ValueError(
            f"{name} is {a.shape[1] if a.ndim > 1 else a.shape}x{a.shape[0]} but the image is "
            f"{shape[1]}x{shape[0]}; give an (H, W) map of the image's size"
        )
    if not np.isfinite(a).all():
        raise ValueError(f"{name} holds NaN or infinite values; give values in [0, 1]")
    return np.clip(a, 0.0, 1.0)


# --------------------------------------------------------------------------------------------
# Synthesis


def _profile_key(profile: GrainProfile) -> bytes:
    psd = np.ascontiguousarray(profile.psd, np.float32)
    return psd.tobytes() + np.ascontiguousarray(profile.correlation, np.float32).tobytes()


@lru_cache(maxsize=16)
def _synthesis_filters(key: bytes, p: int) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Per-channel zero-phase kernels and the mixing matrix, from a profile's psd+corr bytes."""
    n = p * p * 3
    psd = np.frombuffer(key[: n * 4], np.float32).reshape(p, p, 3)
    corr = np.frombuffer(key[n * 4 :], np.float32).reshape(3, 3).astype(np.float64)
    kernels = []
    for c in range(3):
        amp = np.sqrt(np.clip(psd[..., c].astype(np.float64), 0.0, None))
        k = np.fft.fftshift(np.real(np.fft.ifft2(amp)))
        k /= math.sqrt(float((k * k).sum()))
        centre = p // 2
        total = float((k * k).sum())
        r = 0
        while r < centre - 1:
            sub = k[centre - r : centre + r + 1, centre - r : centre + r + 1]
            if float((sub * sub).sum()) >= KERNEL_ENERGY * total:
                break
            r += 1
        sub = k[centre - r : centre + r + 1, centre - r : centre + r + 1]
        kernels.append((sub / math.sqrt(float((sub * sub).sum()))).astype(np.float32))
    # Filtering channel c by k_c after mixing scales the cross-correlation by <k_c, k_d>:
    # pre-divide so the result has the measured correlation.
    inner = np.ones((3, 3))
    for c in range(3):
        for d in range(3):
            if c != d:
                inner[c, d] = _kernel_inner(kernels[c], kernels[d])
    target = corr / np.where(np.abs(inner) > 0.05, inner, 1.0)
    w, v = np.linalg.eigh((target + target.T) / 2)
    target = (v * np.clip(w, 1e-6, None)) @ v.T
    scale = np.sqrt(np.diag(target))
    target = target / scale[:, None] / scale[None, :]
    mix = np.linalg.cholesky(target).astype(np.float32)
    return tuple(kernels), mix


def _kernel_inner(a: np.ndarray, b: np.ndarray) -> float:
    r = max(a.shape[0], b.shape[0])
    pa = np.zeros((r, r))
    pb = np.zeros((r, r))
    oa, ob = (r - a.shape[0]) // 2, (r - b.shape[0]) // 2
    pa[oa : oa + a.shape[0], oa : oa + a.shape[0]] = a
    pb[ob : ob + b.shape[0], ob : ob + b.shape[0]] = b
    return float((pa * pb).sum())


def grain_kernels(profile: GrainProfile) -> tuple[list[np.ndarray], np.ndarray]:
    """The synthesis filters of a profile: one odd square kernel per channel (unit energy)
    and the lower-triangular 3x3 matrix that mixes white noise into correlated channels."""
    kernels, mix = _synthesis_filters(_profile_key(profile), profile.psd.shape[0])
    return list(kernels), mix


def unit_grain(profile: GrainProfile, shape: tuple[int, int], rng: np.random.Generator) -> Any:
    """Grain of unit standard deviation with the profile's spectrum and channel correlation.

    Shape:
        return: ``(H, W, 3)`` float32.
    """
    h, w = shape
    kernels, mix = grain_kernels(profile)
    white = rng.standard_normal((h, w, 3), dtype=np.float32)
    mixed = cv2.transform(white, mix)  # per pixel: mix @ (r, g, b)
    out = np.empty((h, w, 3), np.float32)
    for c in range(3):
        if kernels[c].shape == (1, 1):
            out[..., c] = mixed[..., c] * kernels[c][0, 0]
        else:
            out[..., c] = cv2.filter2D(
                np.ascontiguousarray(mixed[..., c]), -1, kernels[c], borderType=cv2.BORDER_REFLECT
            )
    return out


def synthesize_grain(
    profile: GrainProfile, image: np.ndarray, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Grain for ``image``: the profile's spectrum, channel correlation and, pixel by pixel,
    its amplitude at the picture's (lightly smoothed) intensity.

    Args:
        profile: the grain to make.
        image: the picture the grain is for (sets the amplitude), own encoding.
        rng: random generator (seed it for reproducible grain).

    Returns:
        Zero-mean grain to add to ``image``.

    Raises:
        ValueError: ``image`` not ``(H, W, 3)`` float or holding NaN/inf.

    Shape:
        image: ``(H, W, 3)`` float32, own encoding. return: ``(H, W, 3)`` float32.
    """
    img = _check_image(image)
    rng = rng if rng is not None else np.random.default_rng()
    base = cv2.GaussianBlur(img, (0, 0), AMPLITUDE_BLUR) if min(img.shape[:2]) > 4 else img
    noise = unit_grain(profile, img.shape[:2], rng)
    noise *= profile.sigma_map(base)
    return noise


def regrain(
    image: np.ndarray,
    profile: GrainProfile,
    amount: float = 1.0,
    mask: np.ndarray | None = None,
    existing: float | np.ndarray = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Add grain to ``image`` inside ``mask``, topping up only what is missing.

    The target grain variance is ``(amount * sigma)^2``; ``existing`` is the share of that
    variance already present, so ``(1 - existing)`` of it is added: a clean fill gets all of
    it (``existing=0``), a fill that already carries half its grain gets the other half
    (``existing=0.5``), a grainy plate nothing (``existing=1``).

    Args:
        image: the picture, own encoding.
        profile: the grain to add.
        amount: scale of the target grain amplitude (1: as measured).
        mask: where to add grain; weights the added grain's amplitude. ``None``: everywhere.
        existing: share of the target variance already present, a scalar or a per-pixel map.
        rng: random generator (seed it for reproducible grain).

    Returns:
        The regrained picture (not clamped).

    Raises:
        ValueError: bad image, mask or ``existing`` (shape, NaN, range), negative ``amount``.

    Shape:
        image: ``(H, W, 3)`` float32. mask, existing: ``(H, W)`` float32 in [0, 1] (or
        scalar ``existing``). return: ``(H, W, 3)`` float32.
    """
    img = _check_image(image)
    if not (math.isfinite(amount) and amount >= 0):
        raise ValueError(f"amount is {amount}; give a non-negative grain scale")
    shape = img.shape[:2]
    scale = np.sqrt(np.clip(1.0 - np.asarray(_field(existing, shape, "existing")), 0.0, 1.0))
    weight = np.float32(amount) * scale.astype(np.float32)
    if mask is not None:
        weight = weight * np.asarray(_field(mask, shape, "mask"), np.float32)
    if np.ndim(weight) == 0 and float(weight) == 0.0:
        return img.copy()
    noise = synthesize_grain(profile, img, rng)
    w = np.asarray(weight, np.float32)
    return img + noise * (w[..., None] if w.ndim == 2 else w)


# --------------------------------------------------------------------------------------------
# Degrain


@lru_cache(maxsize=1)
def _dct_matrix() -> np.ndarray:
    n = BLOCK
    k = np.arange(n)
    d = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n)) * math.sqrt(2 / n)
    d[0] /= math.sqrt(2)
    return d


@lru_cache(maxsize=1)
def _dct2() -> np.ndarray:
    """(64, 64) orthonormal 2-D DCT acting on row-major flattened 8x8 blocks."""
    d = _dct_matrix()
    return np.kron(d, d).astype(np.float32)


@lru_cache(maxsize=16)
def _coefficient_shape(psd_bytes: bytes, p: int) -> np.ndarray:
    """Share of each channel's grain variance in each 8x8 DCT coefficient (opponent basis).

    Returns (3, 64): row k for opponent channel k; all ones for white grain.
    """
    psd = np.frombuffer(psd_bytes, np.float32).reshape(p, p, 3).astype(np.float64)
    n = BLOCK
    y, x = np.divmod(np.arange(n * n), n)
    dy = (y[:, None] - y[None, :]) % p
    dx = (x[:, None] - x[None, :]) % p
    t = _dct2().astype(np.float64)
    per_rgb = []
    for c in range(3):
        acf = np.real(np.fft.ifft2(psd[..., c]))
        acf /= max(acf[0, 0], 1e-12)
        cov = acf[dy, dx]
        per_rgb.append(np.einsum("ik,kl,il->i", t, cov, t))
    rgb = np.stack(per_rgb)  # (3, 64)
    w = _OPPONENT.astype(np.float64) ** 2  # (3 opp, 3 rgb)
    return (w @ rgb / w.sum(axis=1, keepdims=True)).astype(np.float32)


def _pad_size(n: int) -> int:
    return BLOCK * math.ceil((n + BLOCK) / BLOCK)


def _block_noise(
    levels: np.ndarray, a: int, b: int, profile: GrainProfile, strength: float
) -> np.ndarray:
    """Grain variance of each 8x8 block in each opponent channel, from the block's RGB mean.

    Returns (3, a, b): ``o_k^T diag(s) R diag(s) o_k`` with ``s`` the channels' amplitudes,
    times the Wiener over-subtraction and ``strength^2``.
    """
    mean = cv2.resize(levels, (b, a), interpolation=cv2.INTER_AREA).reshape(-1, 3)
    sig = np.stack([profile.sigma(mean[:, c], c) for c in range(3)], axis=1)  # (n, 3)
    so = sig[:, None, :] * _OPPONENT[None, :, :]  # (n, 3 opp, 3 rgb)
    cov = profile.correlation.astype(np.float32)
    var = np.einsum("nkc,cd,nkd->kn", so, cov, so, optimize=True)
    return np.asarray(var * np.float32(WIENER_BETA * strength * strength), np.float32).reshape(
        3, a, b
    )


GRIDS: tuple[tuple[tuple[int, int], ...], ...] = (
    ((0, 0), (4, 4), (0, 4), (4, 0)),
    ((0, 0), (4, 4)),
    ((0, 0), (4, 4)),
)
"""Block-grid offsets per opponent channel: four for luma, two for the colour differences
(they hold little detail; two grids are enough and save a third of the time)."""


def _wiener_plane(
    plane: np.ndarray, noise: np.ndarray, shape: np.ndarray, oy: int, ox: int, acc: np.ndarray
) -> None:
    """Shrink the 8x8 DCT of ``plane`` on the grid at offset (oy, ox); add the result to acc.

    ``noise``: (a, b) grain variance per block; ``shape``: (8, 8) share per coefficient.
    """
    d = _dct_matrix_f32()
    hp, wp = plane.shape
    a, b = (hp - oy) // BLOCK, (wp - ox) // BLOCK
    sub = np.ascontiguousarray(plane[oy : oy + a * BLOCK, ox : ox + b * BLOCK])
    rows = cv2.dct(sub.reshape(-1, BLOCK), flags=cv2.DCT_ROWS)  # horizontal DCT per block
    coef = np.matmul(d, rows.reshape(a, BLOCK, b * BLOCK))  # vertical: (a, 8u, b*8v)
    c4 = coef.reshape(a, BLOCK, b, BLOCK)
    gain = noise[:, None, :, None] * shape[None, :, None, :]
    c2 = c4 * c4
    np.subtract(c2, gain, out=gain)
    np.maximum(gain, 0.0, out=gain)
    c2 += np.float32(1e-20)
    np.divide(gain, c2, out=gain)
    gain[:, 0, :, 0] = 1.0  # keep each block's mean
    c4 *= gain
    back = np.matmul(d.T, coef).reshape(-1, BLOCK)
    rec = cv2.idct(np.ascontiguousarray(back), flags=cv2.DCT_ROWS)
    acc[oy : oy + a * BLOCK, ox : ox + b * BLOCK] += rec.reshape(a * BLOCK, b * BLOCK)


@lru_cache(maxsize=1)
def _dct_matrix_f32() -> np.ndarray:
    return np.ascontiguousarray(_dct_matrix().astype(np.float32))


def _degrain_band(
    opp: list[np.ndarray],
    levels: np.ndarray,
    profile: GrainProfile,
    shape: np.ndarray,
    strength: float,
) -> list[np.ndarray]:
    """Denoise padded opponent planes (Hp, Wp), sides multiples of 8; the result is exact on
    rows and columns at least 4 pixels from the border."""
    hp, wp = opp[0].shape
    out = []
    noise_by_grid: dict[tuple[int, int], np.ndarray] = {}
    for k in range(3):
        acc = np.zeros((hp, wp), np.float32)
        cover = np.zeros((hp, wp), np.float32)
        for oy, ox in GRIDS[k]:
            a, b = (hp - oy) // BLOCK, (wp - ox) // BLOCK
            if (oy, ox) not in noise_by_grid:
                noise_by_grid[oy, ox] = _block_noise(
                    levels[oy : oy + a * BLOCK, ox : ox + b * BLOCK], a, b, profile, strength
                )
            _wiener_plane(opp[k], noise_by_grid[oy, ox][k], shape[k].reshape(8, 8), oy, ox, acc)
            cover[oy : oy + a * BLOCK, ox : ox + b * BLOCK] += 1.0
        acc /= cover
        out.append(acc)
    return out


def _degrain_frame(
    frame: np.ndarray, profile: GrainProfile, strength: float, threads: int
) -> np.ndarray:
    h, w, _ = frame.shape
    half = BLOCK // 2
    hp, wp = _pad_size(h), _pad_size(w)
    padded = cv2.copyMakeBorder(
        frame, half, hp - h - half, half, wp - w - half, cv2.BORDER_REFLECT_101
    )
    opp = list(cv2.split(cv2.transform(padded, _OPPONENT)))
    levels = cv2.GaussianBlur(padded, (0, 0), AMPLITUDE_BLUR)
    shape = _coefficient_shape(profile.psd.astype(np.float32).tobytes(), profile.psd.shape[0])
    # bands of block rows, each with 8 rows of context either side, so they join exactly
    rows = hp // BLOCK
    n_bands = max(1, min(threads, rows // 8))
    cuts = [round(rows * i / n_bands) * BLOCK for i in range(n_bands + 1)]
    out = [np.empty((hp, wp), np.float32) for _ in range(3)]

    def work(i: int) -> None:
        lo = max(0, cuts[i] - BLOCK)
        hi = min(hp, cuts[i + 1] + BLOCK)
        res = _degrain_band([p[lo:hi] for p in opp], levels[lo:hi], profile, shape, strength)
        for k in range(3):
            out[k][cuts[i] : cuts[i + 1]] = res[k][cuts[i] - lo : cuts[i + 1] - lo]

    if n_bands == 1:
        work(0)
    else:
        with ThreadPoolExecutor(n_bands) as pool:
            list(pool.map(work, range(n_bands)))
    rgb = cv2.transform(cv2.merge(out), np.ascontiguousarray(_OPPONENT.T))
    return np.ascontiguousarray(rgb[half : half + h, half : half + w])


def degrain(
    frames: np.ndarray | Iterable[np.ndarray],
    profile: GrainProfile,
    strength: float = 1.0,
    threads: int = 2,
) -> Any:
    """Remove grain described by ``profile`` from one frame, a stack or an iterable of frames.

    Args:
        frames: a frame ``(H, W, 3)``, a stack ``(N, H, W, 3)`` or an iterable of frames, own
            encoding.
        profile: the grain to remove (measured on the same clip at the same size).
        strength: scale of the grain amplitude assumed (0: nothing removed; 1: the measured
            grain; above 1: more aggressive).
        threads: bands processed in parallel per frame.

    Returns:
        The same kind of thing as given (frame, stack, or a list for an iterable), float32.

    Raises:
        ValueError: bad frames (shape, dtype, NaN/inf) or a negative / non-finite strength.

    Shape:
        frames: ``(H, W, 3)`` or ``(N, H, W, 3)`` float32. return: same.
    """
    if not (math.isfinite(strength) and strength >= 0):
        raise ValueError(f"strength is {strength}; give a non-negative number (1 = measured)")
    if isinstance(frames, np.ndarray) and frames.ndim == 4:
        return np.stack([degrain(f, profile, strength, threads) for f in frames])
    if isinstance(frames, np.ndarray):
        img = _check_image(frames, "frame")
        if strength == 0:
            return img.copy()
        return _degrain_frame(img, profile, strength, max(1, threads))
    return [degrain(np.asarray(f), profile, strength, threads) for f in frames]


# --------------------------------------------------------------------------------------------
# Comparing grain


def residual_spectrum(residual: np.ndarray, patch: int = 16) -> np.ndarray:
    """Radially averaged power spectrum of a grain residual, normalized to mean 1.

    Shape:
        residual: ``(H, W)`` or ``(H, W, C)`` float32 (channels averaged). return:
        ``(patch//2 + 1,)``.
    """
    r = np.asarray(residual, np.float64)
    if r.ndim == 3:
        r = r.mean(axis=2)
    if r.ndim != 2 or min(r.shape) < patch:
        raise ValueError(f"residual has shape {r.shape}; give an (H, W) map of >= {patch} px")
    a, b = r.shape[0] // patch, r.shape[1] // patch
    blocks = r[: a * patch, : b * patch].reshape(a, patch, b, patch).transpose(0, 2, 1, 3)
    blocks = blocks - blocks.mean(axis=(2, 3), keepdims=True)
    spec = (np.abs(np.fft.fft2(blocks, axes=(2, 3))) ** 2).mean(axis=(0, 1))
    spec[0, 0] = (spec[0, 1] + spec[1, 0] + spec[0, -1] + spec[-1, 0]) / 4
    spec /= max(spec.mean(), 1e-30)
    return radial_spectrum(spec)


def grain_spectrum_distance(a_residual: np.ndarray, b_residual: np.ndarray) -> float:
    """Mean absolute log ratio of the radial spectra of two grain residuals (0: same shape of
    spectrum, whatever the amplitude; ~1: one is clearly coarser).

    Shape:
        a_residual, b_residual: ``(H, W)`` or ``(H, W, C)`` float32, zero-mean grain.
    """
    sa = residual_spectrum(a_residual)
    sb = residual_spectrum(b_residual)
    return float(np.mean(np.abs(np.log(np.maximum(sa, 1e-6) / np.maximum(sb, 1e-6)))))
