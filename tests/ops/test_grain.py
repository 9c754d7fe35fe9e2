"""Tests of the grain kernels (synthesize, regrain, degrain) and the degrain/regrain operations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from rushes.analysis.grain import GrainProfile, measure_grain
from rushes.ops.base import Plan
from rushes.ops.grain import Degrain, DegrainParams, Regrain, RegrainParams, topped_up
from rushes.ops.grain_kernels import (
    degrain,
    grain_kernels,
    grain_spectrum_distance,
    regrain,
    synthesize_grain,
)
from rushes.ops.registry import get_operation
from tests.conftest import read_frames

H, W = 192, 256


@pytest.fixture(scope="module")
def smooth(footage: Path, manifest: dict[str, dict[str, Any]]) -> np.ndarray:
    """A real frame with smooth areas and sharp edges (hair, earring), 640x360."""
    (frame,) = read_frames(footage, manifest, "portrait_woman_indoor_lp_s18", [10], 640)
    return frame


def ramp(h: int = H, w: int = W) -> np.ndarray:
    """A grey ramp 0.1 -> 0.9 left to right: flat everywhere, every intensity present."""
    return np.tile(np.linspace(0.1, 0.9, w, dtype=np.float32)[None, :, None], (h, 1, 3))


def film_grain(shape: tuple[int, int, int], seed: int) -> np.ndarray:
    """Unit grain: clumpy (blurred) and partly shared between channels."""
    rng = np.random.default_rng(seed)
    g = 0.6 * rng.standard_normal(shape) + 0.8 * rng.standard_normal((*shape[:2], 1))
    g = cv2.GaussianBlur(g.astype(np.float32), (0, 0), 0.9)
    return (g / g.std()).astype(np.float32)


@pytest.fixture(scope="module")
def profile() -> GrainProfile:
    """Measured from a ramp with intensity-dependent film-like grain."""
    base = ramp(384, 512)
    return measure_grain([base + film_grain(base.shape, 0) * (0.01 + 0.03 * base)])


# --------------------------------------------------------------------------------------------
# synthesis


def test_synthesize_shapes_and_seeding(profile: GrainProfile) -> None:
    img = ramp()
    a = synthesize_grain(profile, img, np.random.default_rng(1))
    b = synthesize_grain(profile, img, np.random.default_rng(1))
    c = synthesize_grain(profile, img, np.random.default_rng(2))
    assert a.shape == (H, W, 3) and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.allclose(a, c)
    assert abs(float(a.mean())) < 0.003
    kernels, mix = grain_kernels(profile)
    assert all(k.shape[0] % 2 == 1 and abs(float((k * k).sum()) - 1) < 1e-4 for k in kernels)
    assert np.allclose(np.tril(mix), mix)


def test_synthesize_then_measure_round_trip(profile: GrainProfile) -> None:
    base = ramp(384, 512)
    again = measure_grain([base + synthesize_grain(profile, base, np.random.default_rng(3))])
    both = (profile.counts > 0) & (again.counts > 0)
    ratio = again.amplitude[both] / profile.amplitude[both]
    assert np.all(np.abs(ratio - 1) < 0.15), ratio
    assert np.all(np.abs(again.lag1 - profile.lag1) < 0.15)
    off = np.triu_indices(3, 1)
    assert np.all(np.abs(again.correlation[off] - profile.correlation[off]) < 0.15)


def test_spectrum_distance_tells_grain_apart(profile: GrainProfile) -> None:
    base = ramp(384, 512)
    source = film_grain(base.shape, 0)
    made = synthesize_grain(profile, base, np.random.default_rng(4))
    white = np.random.default_rng(5).standard_normal(base.shape).astype(np.float32)
    same = grain_spectrum_distance(source, made)
    other = grain_spectrum_distance(source, white)
    assert same < 0.6 < 1.0 < other
    assert grain_spectrum_distance(white, white[::-1]) < 0.15


# --------------------------------------------------------------------------------------------
# regrain


def test_regrain_tops_up_to_the_target(profile: GrainProfile) -> None:
    base = ramp(384, 512)
    half = base + np.float32(np.sqrt(0.5)) * synthesize_grain(
        profile, base, np.random.default_rng(6)
    )
    topped = regrain(half, profile, existing=0.5, rng=np.random.default_rng(7))
    full = measure_grain([topped])
    partial = measure_grain([half])
    m = (full.counts > 0) & (profile.counts > 0)
    assert np.all(np.abs(full.amplitude[m] / profile.amplitude[m] - 1) < 0.15)
    assert np.all(partial.amplitude[m] / profile.amplitude[m] < 0.8)  # it really lacked grain
    # nothing missing, nothing added; amount 0 neither
    assert np.array_equal(regrain(half, profile, existing=1.0, rng=np.random.default_rng(1)), half)
    assert np.array_equal(regrain(half, profile, amount=0.0), half)
    # a per-pixel map works too: left half complete, right half clean
    ex = np.zeros(base.shape[:2], np.float32)
    ex[:, :256] = 1.0
    out = regrain(base, profile, existing=ex, rng=np.random.default_rng(8))
    assert np.array_equal(out[:, :256], base[:, :256]) and out[:, 256:].std(axis=0).min() > 0


def test_regrain_inside_mask_only(profile: GrainProfile) -> None:
    img = ramp()
    mask = np.zeros((H, W), np.float32)
    mask[50:150, 60:200] = 1.0
    out = regrain(img, profile, mask=mask, rng=np.random.default_rng(9))
    assert np.array_equal(out[mask == 0], img[mask == 0])
    inside = (out - img)[mask == 1]
    assert 0.5 * profile.amplitude.min() < inside.std() < 2 * profile.amplitude.max()


def test_regrain_bad_input(profile: GrainProfile) -> None:
    img = ramp()
    with pytest.raises(ValueError, match="mask is"):
        regrain(img, profile, mask=np.ones((10, 10), np.float32))
    with pytest.raises(ValueError, match="existing"):
        regrain(img, profile, existing=1.5)
    with pytest.raises(ValueError, match="amount"):
        regrain(img, profile, amount=-1)
    with pytest.raises(ValueError, match="NaN"):
        bad = img.copy()
        bad[0, 0, 0] = np.inf
        synthesize_grain(profile, bad)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        synthesize_grain(profile, img[..., 0])


# --------------------------------------------------------------------------------------------
# degrain


def test_degrain_removes_grain_keeps_edges(smooth: np.ndarray) -> None:
    sigma = 0.03
    noisy = smooth + sigma * np.random.default_rng(10).standard_normal(smooth.shape).astype(
        np.float32
    )
    profile = measure_grain([noisy])
    clean = degrain(noisy, profile, 1.0)
    assert clean.shape == smooth.shape and clean.dtype == np.float32
    grad = cv2.Laplacian(cv2.GaussianBlur(smooth, (0, 0), 2).mean(axis=2), cv2.CV_32F)
    flat = np.abs(grad) < np.quantile(np.abs(grad), 0.5)
    before = float((noisy - smooth)[flat].std())
    after = float((clean - smooth)[flat].std())
    assert before / after >= 2.0, (before, after)

    def psnr(a: np.ndarray) -> float:
        return float(10 * np.log10(1 / np.mean((a - smooth) ** 2)))

    assert psnr(clean) > psnr(noisy) + 5
    # edges: gradient magnitude on the strongest edges of the clean frame is kept
    g = smooth.mean(axis=2)
    mag = np.hypot(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))
    edges = mag > np.quantile(mag, 0.98)
    c = clean.mean(axis=2)
    kept = np.hypot(cv2.Sobel(c, cv2.CV_32F, 1, 0), cv2.Sobel(c, cv2.CV_32F, 0, 1))[edges]
    assert 0.85 < kept.mean() / mag[edges].mean() < 1.15


def test_degrain_follows_the_grain_spectrum(smooth: np.ndarray) -> None:
    """Coarse grain is removed by the coarse-grain profile better than by a white profile."""
    rng = np.random.default_rng(11)
    grain = cv2.GaussianBlur(rng.standard_normal(smooth.shape).astype(np.float32), (0, 0), 1.0)
    noisy = smooth + 0.03 * grain / grain.std()
    coarse = measure_grain([noisy])
    as_white = GrainProfile.white(coarse.amplitude)
    err_coarse = np.mean((degrain(noisy, coarse) - smooth) ** 2)
    err_white = np.mean((degrain(noisy, as_white) - smooth) ** 2)
    assert err_coarse < 0.8 * err_white


def test_degrain_forms_and_bad_input(profile: GrainProfile) -> None:
    img = ramp(40, 50) + 0.02 * film_grain((40, 50, 3), 12)
    assert np.array_equal(degrain(img, profile, 0.0), img)
    stack = np.stack([img, img[::-1].copy()])
    out = degrain(stack, profile)
    assert out.shape == stack.shape
    np.testing.assert_allclose(out[0], degrain(img, profile), atol=1e-6)
    listed = degrain(iter([img, img]), profile)
    assert isinstance(listed, list) and len(listed) == 2
    # the bands processed in parallel join exactly
    big = ramp(300, 200) + 0.02 * film_grain((300, 200, 3), 13)
    np.testing.assert_allclose(
        degrain(big, profile, threads=1), degrain(big, profile, threads=3), atol=1e-5
    )
    with pytest.raises(ValueError, match="strength"):
        degrain(img, profile, -1.0)
    with pytest.raises(ValueError, match="NaN"):
        bad = img.copy()
        bad[1, 1, 1] = np.nan
        degrain(bad, profile)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        degrain(img[..., :2], profile)


# --------------------------------------------------------------------------------------------
# the operations (run on chunks, with a hand-made plan)


def test_operations_registered_and_declared() -> None:
    assert isinstance(get_operation("degrain"), Degrain)
    assert isinstance(get_operation("regrain"), Regrain)
    assert Degrain.version == "degrain.1" and Regrain.version == "regrain.1"
    assert Degrain.touches == Regrain.touches == "global"
    assert not Regrain.synthesizes_pixels and Regrain.context_frames == 0
    assert DegrainParams().strength == 1.0 and RegrainParams().like is None
    with pytest.raises(ValueError, match="unknown"):
        DegrainParams(method="wavelet")


def test_regrain_run_is_reproducible_per_frame(profile: GrainProfile) -> None:
    base = np.stack([ramp(64, 96)] * 6)
    plan = Plan(
        op="regrain",
        version="regrain.1",
        shot_id=1,
        params=RegrainParams(seed=3).model_dump(),
        result={"profile": profile.to_dict(), "own_profile": None},
    )
    op = Regrain()
    whole = np.concatenate([c for _, c in op.run(plan, iter([(10, base)]), "sRGB")])
    split = np.concatenate(
        [c for _, c in op.run(plan, iter([(10, base[:2]), (12, base[2:])]), "sRGB")]
    )
    assert np.array_equal(whole, split)  # chunking does not change the noise
    assert not np.allclose(whole[0] - base[0], whole[1] - base[1])  # each frame its own
    other = dict(plan.params, seed=4)
    reseeded = next(op.run(Plan(**{**plan.__dict__, "params": other}), iter([(10, base)]), ""))
    assert not np.allclose(reseeded[1], whole)


def test_topped_up_counts_own_grain(profile: GrainProfile) -> None:
    img = ramp(8, 8)
    weaker = GrainProfile.from_dict(
        profile.to_dict() | {"amplitude": (profile.amplitude * 0.5).tolist()}
    )
    share = topped_up(weaker, profile, img)
    assert share.shape == (8, 8) and np.allclose(share, 0.25, atol=0.01)
    assert np.allclose(topped_up(profile, weaker, img), 1.0)


def test_degrain_run_streams_chunks(profile: GrainProfile) -> None:
    frames = np.stack([ramp(48, 64) + 0.02 * film_grain((48, 64, 3), s) for s in range(3)])
    plan = Plan(
        op="degrain",
        version="degrain.1",
        shot_id=1,
        params=DegrainParams(strength=1.0).model_dump(),
        result={"profile": profile.to_dict()},
    )
    out = list(Degrain().run(plan, iter([(0, frames[:2]), (2, frames[2:])]), "sRGB"))
    assert [first for first, _ in out] == [0, 2]
    got = np.concatenate([c for _, c in out])
    assert got.shape == frames.shape
    assert (got - ramp(48, 64)).std() < 0.6 * (frames - ramp(48, 64)).std()
