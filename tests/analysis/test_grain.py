"""Tests for rushes.analysis.grain: measuring grain amplitude, spectrum and colour correlation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from rushes.analysis.grain import (
    BINS,
    METHODS,
    PATCH,
    PROFILE_VERSION,
    GrainProfile,
    measure_grain,
    radial_spectrum,
)
from tests.conftest import read_frames


@pytest.fixture(scope="module")
def smooth(footage: Path, manifest: dict[str, dict[str, Any]]) -> np.ndarray:
    """A real frame with large smooth areas (shallow depth of field), 640x360."""
    (frame,) = read_frames(footage, manifest, "portrait_woman_indoor_lp_s18", [10], 640)
    return frame


def white(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def blurred(shape: tuple[int, ...], seed: int, sigma: float = 1.0) -> np.ndarray:
    """Unit-variance grain with a falling spectrum (clumpy, like film grain or debayered noise)."""
    g = cv2.GaussianBlur(white(shape, seed), (0, 0), sigma)
    return (g / g.std()).astype(np.float32)


# --------------------------------------------------------------------------------------------
# amplitude


@pytest.mark.parametrize("sigma", [0.015, 0.03])
def test_white_sigma_recovered_on_real_frame(smooth: np.ndarray, sigma: float) -> None:
    profile = measure_grain([smooth + sigma * white(smooth.shape, 1)])
    assert abs(profile.mean_sigma / sigma - 1) < 0.15
    measured = profile.counts > 0
    assert measured.sum() >= 6  # several bins really measured, not just interpolated
    assert np.all(np.abs(profile.amplitude[measured] / sigma - 1) < 0.2)


def test_intensity_dependence_recovered(smooth: np.ndarray) -> None:
    truth = lambda x: 0.005 + 0.04 * x  # noqa: E731 - grain growing with intensity
    noisy = smooth + white(smooth.shape, 2) * truth(smooth)
    profile = measure_grain([noisy])
    g = profile.counts[:, 1] > 0
    assert g.sum() >= 4
    expect = truth(profile.levels[g])
    assert np.all(np.abs(profile.amplitude[g, 1] / expect - 1) < 0.15), (
        profile.amplitude[g, 1],
        expect,
    )
    assert profile.sigma(0.8, 1) > 1.8 * profile.sigma(0.3, 1)
    assert np.all(np.diff(profile.amplitude[:, 1]) >= -1e-3)  # grows (or holds) with intensity


def test_coarse_grain_amplitude_and_spectrum(smooth: np.ndarray) -> None:
    fine = measure_grain([smooth + 0.03 * white(smooth.shape, 3)])
    coarse = measure_grain([smooth + 0.03 * blurred(smooth.shape, 3)])
    assert abs(coarse.mean_sigma / 0.03 - 1) < 0.15
    # white grain: no neighbour correlation, flat spectrum; coarse: strong, falling
    assert np.all(np.abs(fine.lag1) < 0.15) and np.all(coarse.lag1 > 0.5)
    rf, rc = fine.radial.mean(axis=1), coarse.radial.mean(axis=1)
    assert np.all(np.abs(rf[1:] - 1) < 0.3)
    assert rc[1] > 3 and rc[-1] < 0.2
    # independent channels vs one shared (luma) grain
    assert np.all(np.abs(fine.correlation[np.triu_indices(3, 1)]) < 0.15)
    shared = 0.03 * np.repeat(white((*smooth.shape[:2], 1), 4), 3, axis=2)
    luma = measure_grain([smooth + shared])
    assert np.all(luma.correlation > 0.9)


def test_temporal_method_on_real_still_pair(
    footage: Path, manifest: dict[str, dict[str, Any]]
) -> None:
    """Two consecutive frames of a locked-off clip: the picture (texture included) cancels."""
    a, b = read_frames(footage, manifest, "people_walkthrough_intel", [30, 31], 768)
    sigma = 0.02
    pair = [a + sigma * white(a.shape, 5), b + sigma * white(b.shape, 6)]
    temporal = measure_grain(pair, method="temporal")
    assert temporal.method == "temporal" and temporal.frames == 1
    assert abs(temporal.mean_sigma / sigma - 1) < 0.15
    flat = measure_grain(pair[:1])
    assert abs(flat.mean_sigma / sigma - 1) < 0.2


def test_real_clips_clean_vs_grainy(footage: Path, manifest: dict[str, dict[str, Any]]) -> None:
    """The shared clips are clean (compressed stock/interview footage: no grain tag in the
    MANIFEST); a grainy version of the same clip reads as its grain, in quadrature."""
    for name in ("talkinghead_vr4_woman_bluebg", "portrait_woman_indoor_lp_s18"):
        f20, f60 = read_frames(footage, manifest, name, [20, 60], 640)
        clean = [measure_grain([f]).mean_sigma for f in (f20, f60)]
        assert max(clean) < 3 / 255, (name, clean)
        assert max(clean) / min(clean) < 1.6  # consistent over the clip
        grainy = measure_grain([f20 + 0.025 * blurred(f20.shape, 7, 0.7)]).mean_sigma
        expect = np.hypot(0.025, clean[0])
        assert abs(grainy / expect - 1) < 0.15, (name, grainy, expect)
        assert grainy > 3 * clean[0]


# --------------------------------------------------------------------------------------------
# the profile record


def test_profile_dict_round_trip(smooth: np.ndarray) -> None:
    profile = measure_grain([smooth + 0.02 * blurred(smooth.shape, 8)])
    d = json.loads(json.dumps(profile.to_dict()))
    assert d["version"] == PROFILE_VERSION == "grain.1"
    back = GrainProfile.from_dict(d)
    assert back.size == profile.size == (640, 360) and back.method == "flat"
    np.testing.assert_allclose(back.amplitude, profile.amplitude, atol=1e-6)
    np.testing.assert_allclose(back.psd, profile.psd, atol=1e-6)
    np.testing.assert_allclose(back.correlation, profile.correlation, atol=1e-6)
    assert back.levels.shape == (BINS,) and back.psd.shape == (PATCH, PATCH, 3)
    with pytest.raises(ValueError, match="version"):
        GrainProfile.from_dict(d | {"version": "grain.0"})
    with pytest.raises(ValueError, match="shapes"):
        GrainProfile.from_dict(d | {"amplitude": [[0.1, 0.1]]})


def test_sigma_lookup() -> None:
    p = GrainProfile.white(np.linspace(0.01, 0.04, BINS))
    assert p.sigma(0.0, 0) == pytest.approx(0.01, abs=1e-6)  # held below the first centre
    assert p.sigma(1.0, 2) == pytest.approx(0.04, abs=1e-6)
    mid = p.sigma(np.array([[0.5]], np.float32), 1)
    assert mid.shape == (1, 1) and 0.02 < float(mid[0, 0]) < 0.03
    assert p.sigma_map(np.full((2, 3, 3), 0.5, np.float32)).shape == (2, 3, 3)
    with pytest.raises(ValueError, match="channel"):
        p.sigma(0.5, 3)


def test_radial_spectrum_of_white_is_flat() -> None:
    r = radial_spectrum(np.ones((16, 16)))
    assert r.shape == (9,) and np.allclose(r, 1)


# --------------------------------------------------------------------------------------------
# bad input


def test_bad_input() -> None:
    ok = np.full((64, 64, 3), 0.5, np.float32)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        measure_grain([ok[..., 0]])
    with pytest.raises(ValueError, match="dtype"):
        measure_grain([(ok * 255).astype(np.uint8)])
    with pytest.raises(ValueError, match="NaN"):
        bad = ok.copy()
        bad[3, 3, 1] = np.nan
        measure_grain([bad])
    with pytest.raises(ValueError, match="at least"):
        measure_grain([ok[:8, :8]])
    with pytest.raises(ValueError, match="one clip"):
        measure_grain([ok, ok[:32]])
    with pytest.raises(ValueError, match="unknown"):
        measure_grain([ok], method="wavelet")
    with pytest.raises(ValueError, match="pairs"):
        measure_grain([ok, ok, ok], method="temporal")
    with pytest.raises(ValueError, match="no frames"):
        measure_grain([])
    with pytest.raises(ValueError, match="no flat"):
        measure_grain([np.ones((64, 64, 3), np.float32)])  # all clipped: no grain to see
    assert set(METHODS) == {"flat", "temporal"}
