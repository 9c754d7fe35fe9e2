"""Sanity checks of the ``remove`` benchmark's synthetic cases and scores (benchmarks/)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from remove_metrics import (
    CaseScore,
    grain_match,
    psnr_in_mask,
    ssim_in_mask,
    warping_error,
)
from remove_synth import blob_case, wire_case


def plate(h: int, w: int, seed: int, t: int = 0, dx: int = 2, grain: float = 0.02) -> np.ndarray:
    """A smooth texture panned by ``t * dx`` px plus white grain; float32 (H, W, 3) in [0, 1]."""
    rng = np.random.default_rng(seed)
    big = rng.random((h // 8 + 2, (w + 200) // 8 + 2, 3)).astype(np.float32)
    big = cv2.resize(big, (big.shape[1] * 8, big.shape[0] * 8), interpolation=cv2.INTER_CUBIC)
    x = t * dx
    base = 0.2 + 0.6 * np.clip(big[:h, x : x + w], 0, 1)
    noise = np.random.default_rng([seed, t]).normal(0, grain, (h, w, 3)).astype(np.float32)
    return (base + noise).astype(np.float32)


def disc_mask(h: int, w: int, cx: int, cy: int, r: int) -> np.ndarray:
    m = np.zeros((h, w), np.float32)
    cv2.circle(m, (cx, cy), r, 1.0, -1)
    return m


def test_psnr_identical_known_noise_and_empty() -> None:
    truth = plate(64, 96, 1)
    mask = disc_mask(64, 96, 48, 32, 20)
    assert psnr_in_mask(truth, truth, mask) == math.inf
    rng = np.random.default_rng(2)
    noisy = truth + rng.normal(0, 0.01, truth.shape).astype(np.float32)
    # noise of sigma 0.01 is 40 dB; pooled over frames the same
    assert psnr_in_mask(noisy, truth, mask) == pytest.approx(40.0, abs=0.3)
    assert psnr_in_mask([noisy, noisy], [truth, truth], [mask, mask]) == pytest.approx(
        40.0, abs=0.3
    )
    # errors outside the mask do not count
    outside = noisy.copy()
    outside[mask < 0.5] += 0.5
    assert psnr_in_mask(outside, truth, mask) == pytest.approx(
        psnr_in_mask(noisy, truth, mask), abs=1e-6
    )
    assert math.isnan(psnr_in_mask(noisy, truth, np.zeros_like(mask)))
    assert ssim_in_mask(truth, truth, mask) == pytest.approx(1.0, abs=1e-6)
    assert ssim_in_mask(noisy, truth, mask) < 0.99
    with pytest.raises(ValueError, match="masks"):
        psnr_in_mask([truth, truth], [truth, truth], [mask])


@pytest.mark.parametrize(
    ("width", "kind", "polarity"), [(1, "straight", "dark"), (6, "curved", "bright")]
)
def test_wire_mask_covers_the_wire(width: int, kind: str, polarity: str) -> None:
    clean = [plate(90, 160, 3, t) for t in range(6)]
    comp, masks = wire_case(clean, 7, width, kind, polarity)  # type: ignore[arg-type]
    again, _ = wire_case(clean, 7, width, kind, polarity)  # type: ignore[arg-type]
    assert all(np.array_equal(a, b) for a, b in zip(comp, again, strict=True))
    for c, f, m in zip(clean, comp, masks, strict=True):
        diff = np.abs(f - np.clip(c, 0, 1)).max(axis=-1)
        assert diff[m < 0.5].max() < 1.0 / 255  # nothing of the wire outside its mask
        assert diff[m > 0.5].max() > 0.1  # and the wire is there, inside
        assert 0.003 < m.mean() < 0.25
        assert set(np.unique(m)) <= {0.0, 1.0}
    assert not np.array_equal(masks[0], masks[-1])  # it moves


def test_blob_mask_covers_the_blob() -> None:
    clean = [plate(80, 120, 4, t) for t in range(5)]
    comp, masks = blob_case(clean, 5)
    for c, f, m in zip(clean, comp, masks, strict=True):
        diff = np.abs(f - np.clip(c, 0, 1)).max(axis=-1)
        assert diff[m < 0.5].max() < 1.0 / 255
        assert 0.03 < m.mean() < 0.3
    assert not np.array_equal(masks[0], masks[-1])


def test_grain_match_plate_smoothed_and_noisy() -> None:
    frames = [plate(96, 128, 6, t) for t in range(3)]
    masks = [disc_mask(96, 128, 64, 48, 18) for _ in frames]
    assert grain_match(frames, frames, masks) == pytest.approx(1.0, abs=0.2)
    smooth = []
    noisy = []
    rng = np.random.default_rng(8)
    for f, m in zip(frames, masks, strict=True):
        s, n = f.copy(), f.copy()
        blurred = cv2.GaussianBlur(f, (0, 0), 2.0)
        s[m > 0.5] = blurred[m > 0.5]
        n[m > 0.5] += rng.normal(0, 0.04, n[m > 0.5].shape).astype(np.float32)
        smooth.append(s)
        noisy.append(n)
    assert grain_match(smooth, frames, masks) < 0.3
    assert grain_match(noisy, frames, masks) > 2.0
    # a thin mask (a wire) still gives a pooled number
    thin = [np.zeros((96, 128), np.float32) for _ in frames]
    for m in thin:
        cv2.line(m, (0, 20), (127, 70), 1.0, 4)
    assert grain_match(frames, frames, thin) == pytest.approx(1.0, abs=0.25)


def test_warping_error_flicker_and_streaming() -> None:
    clean = [plate(72, 112, 9, t, dx=2, grain=0.0) for t in range(5)]
    masks = [disc_mask(72, 112, 56, 36, 14) for _ in clean]
    same = warping_error(clean, clean, masks)
    assert same.excess == pytest.approx(0.0, abs=1e-9)
    assert same.clean < 2e-3  # the pan is followed
    flicker = []
    for t, (c, m) in enumerate(zip(clean, masks, strict=True)):
        f = c.copy()
        f[m > 0.5] += 0.1 * (-1) ** t
        flicker.append(f)
    bad = warping_error(flicker, clean, masks)
    assert bad.excess > 0.01
    # the streaming score gives the same numbers as the functions
    from remove_metrics import clean_warps

    warps = clean_warps(clean)
    score = CaseScore()
    for t, (f, c, m) in enumerate(zip(flicker, clean, masks, strict=True)):
        score.add(f, c, m, warps[t - 1] if t else None)
    r = score.result()
    assert r["warp_excess"] == pytest.approx(bad.excess, rel=1e-5)
    assert r["psnr"] == pytest.approx(psnr_in_mask(flicker, clean, masks), rel=1e-6)
    assert r["grain"] == pytest.approx(grain_match(flicker, clean, masks), rel=1e-6)
