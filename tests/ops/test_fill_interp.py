"""Tests of the fill's scattered-data kernels (rushes.ops.fill_interp): bilinear gathers,
the grain share bilinear resampling keeps, and push-pull interpolation into holes."""

from __future__ import annotations

import numpy as np
import pytest

from rushes.ops.fill_interp import bilinear_weight_energy, gather, push_pull, sample


def ramp(h: int, w: int) -> np.ndarray:
    """A linear ramp ``0.3 + 0.004 x + 0.002 y``; float32 (H, W) in [0.3, 1]."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return (0.3 + 0.004 * xx + 0.002 * yy).astype(np.float32)


# --------------------------------------------------------------------------- gather


def test_gather_is_exact_at_pixel_centres() -> None:
    rng = np.random.default_rng(0)
    img = rng.random((7, 9, 3)).astype(np.float32)
    ys, xs = np.mgrid[0:7, 0:9]
    got = gather(img, xs.ravel().astype(np.float32), ys.ravel().astype(np.float32))
    assert got.shape == (63, 3) and got.dtype == np.float32
    np.testing.assert_array_equal(got, img.reshape(-1, 3))
    grey = img[:, :, 1]
    got2 = gather(grey, xs.ravel().astype(np.float64), ys.ravel().astype(np.float64))
    assert got2.shape == (63,) and got2.dtype == np.float32
    np.testing.assert_array_equal(got2, grey.ravel())


def test_gather_bilinear_midpoints_and_quarters() -> None:
    img = np.array([[0.0, 1.0, 5.0], [2.0, 3.0, 7.0]], np.float32)
    x = np.array([0.5, 0.25, 0.0, 1.5, 0.5], np.float32)
    y = np.array([0.5, 0.0, 0.75, 0.0, 0.0], np.float32)
    want = [(0 + 1 + 2 + 3) / 4, 0.25, 1.5, 3.0, 0.5]
    np.testing.assert_allclose(gather(img, x, y), want, atol=1e-6)


def test_gather_reproduces_a_linear_function() -> None:
    """Bilinear interpolation is exact on a plane, anywhere inside the image."""
    img = ramp(40, 60)
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 59, 500)
    y = rng.uniform(0, 39, 500)
    np.testing.assert_allclose(gather(img, x, y), 0.3 + 0.004 * x + 0.002 * y, atol=1e-5)
    rgb = np.stack([img, 1 - img, 2 * img], axis=2)
    got = gather(rgb, x, y)
    assert got.shape == (500, 3)
    np.testing.assert_allclose(got[:, 1], 1 - got[:, 0], atol=1e-5)
    np.testing.assert_allclose(got[:, 2], 2 * got[:, 0], atol=1e-5)


def test_gather_clamps_at_the_borders() -> None:
    img = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = np.array([-3.0, 10.0, 3.0, -0.5, 1.0, 1.0, 2.5, -np.inf, np.inf])
    y = np.array([0.0, 2.0, 2.0, 1.0, -7.0, 9.0, 50.0, 1.0, 1.0])
    want = [0.0, 11.0, 11.0, 4.0, 1.0, 9.0, 10.5, 4.0, 7.0]
    np.testing.assert_allclose(gather(img, x, y), want, atol=1e-6)


def test_gather_degenerate_sizes_and_empty_positions() -> None:
    one = np.array([[0.25]], np.float32)
    np.testing.assert_allclose(gather(one, np.array([0.0, 3.3]), np.array([-1.0, 0.2])), 0.25)
    row = np.array([[0.0, 2.0]], np.float32)
    np.testing.assert_allclose(gather(row, np.array([0.5]), np.array([4.0])), [1.0])
    empty = gather(np.zeros((4, 4, 3), np.float32), np.zeros(0), np.zeros(0))
    assert empty.shape == (0, 3) and empty.dtype == np.float32


def test_gather_nan_spoils_only_samples_that_touch_it() -> None:
    img = np.full((6, 8), 0.5, np.float32)
    img[2, 3] = np.nan
    x = np.array([3.5, 2.5, 6.0, 0.0, 3.0])
    y = np.array([2.5, 1.5, 5.0, 0.0, 4.0])
    got = gather(img, x, y)
    assert np.isnan(got[:2]).all()  # their 2x2 cell holds the NaN
    np.testing.assert_array_equal(got[2:], 0.5)  # far away: untouched


def test_gather_bad_input_raises() -> None:
    img = np.ones((4, 4), np.float32)
    with pytest.raises(IndexError):
        gather(img, np.zeros(3), np.zeros(2))  # x and y of different lengths
    with pytest.raises(IndexError):
        gather(np.ones((0, 4), np.float32), np.zeros(3), np.zeros(3))  # nothing to sample


# --------------------------------------------------------------------------- energy


def test_bilinear_weight_energy_golden_values() -> None:
    x = np.array([0.0, 5.0, -3.0, 0.5, 0.5, 0.25, 7.25, 2.5])
    y = np.array([0.0, -2.0, 11.0, 0.5, 0.0, 0.0, 1.5, 3.5])
    got = bilinear_weight_energy(x, y)
    assert got.shape == (8,) and got.dtype == np.float32
    want = [1.0, 1.0, 1.0, 0.25, 0.5, 0.625, 0.3125, 0.25]
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_bilinear_weight_energy_is_the_noise_share_bilinear_resampling_keeps() -> None:
    """The energy is the variance a bilinear sample of unit white noise keeps."""
    rng = np.random.default_rng(2)
    noise = rng.standard_normal((400, 400)).astype(np.float32)
    for fx, fy in [(0.5, 0.5), (0.25, 0.0), (0.1, 0.7)]:
        ys, xs = np.mgrid[2:398:3, 2:398:3]
        x = xs.ravel() + fx
        y = ys.ravel() + fy
        var = float(np.var(gather(noise, x, y)))
        (e,) = bilinear_weight_energy(np.array([x[0]]), np.array([y[0]]))
        assert var == pytest.approx(float(e), rel=0.08)
    e = bilinear_weight_energy(rng.uniform(-50, 50, 1000), rng.uniform(-50, 50, 1000))
    assert e.min() >= 0.25 - 1e-6 and e.max() <= 1.0 + 1e-6


# --------------------------------------------------------------------------- push_pull


def test_push_pull_keeps_known_pixels_and_fills_a_ramp() -> None:
    h, w = 96, 128
    r = ramp(h, w)
    known = np.ones((h, w), np.float32)
    known[40:56, 40:56] = 0
    values = r.copy()
    values[known == 0] = 9.0  # ignored
    out = push_pull(values, known)
    assert out.shape == (h, w) and out.dtype == np.float32
    np.testing.assert_array_equal(out[known == 1], r[known == 1])
    # measured 0.0023 (the slope is 0.004 per pixel across a 16-pixel hole)
    assert np.abs(out - r)[known == 0].max() < 0.005


def test_push_pull_wider_hole_within_tolerance() -> None:
    r = ramp(96, 128)
    known = np.ones((96, 128), np.float32)
    known[30:66, 30:66] = 0
    out = push_pull(r, known)
    assert np.abs(out - r)[known == 0].max() < 0.01  # measured 0.0054 over a 36-px hole


def test_push_pull_constant_stays_constant() -> None:
    for h, w in [(64, 64), (37, 53), (5, 7), (1, 30)]:
        known = np.ones((h, w), np.float32)
        known[h // 3 : h // 3 + max(1, h // 3), w // 3 : 2 * w // 3] = 0
        values = np.where(known > 0, 0.42, -5.0).astype(np.float32)
        out = push_pull(values, known)
        np.testing.assert_allclose(out, 0.42, atol=1e-6, err_msg=f"{h}x{w}")


def test_push_pull_nothing_known_gives_zeros() -> None:
    v2 = np.full((10, 12), 3.0, np.float32)
    out2 = push_pull(v2, np.zeros((10, 12), np.float32))
    assert out2.shape == (10, 12) and out2.dtype == np.float32 and not out2.any()
    v3 = np.full((10, 12, 2), 3.0, np.float64)
    out3 = push_pull(v3, np.zeros((10, 12), np.float32))
    assert out3.shape == (10, 12, 2) and out3.dtype == np.float32 and not out3.any()


def test_push_pull_three_d_is_per_channel() -> None:
    r = ramp(48, 64)
    stack = np.stack([r, 1 - r, np.full_like(r, 0.2)], axis=2)
    known = np.ones((48, 64), np.float32)
    known[10:30, 20:44] = 0
    out = push_pull(stack, known)
    assert out.shape == (48, 64, 3) and out.dtype == np.float32
    for c in range(3):
        np.testing.assert_allclose(out[:, :, c], push_pull(stack[:, :, c], known), atol=1e-6)
    np.testing.assert_allclose(out[:, :, 2], 0.2, atol=1e-6)


def test_push_pull_soft_weights_blend_known_and_interpolated() -> None:
    """A half-trusted pixel is half its own value, half the estimate from around it."""
    values = np.ones((32, 32), np.float32)
    known = np.ones((32, 32), np.float32)
    values[16, 16] = 0.0
    known[16, 16] = 0.5
    out = push_pull(values, known)
    np.testing.assert_array_equal(np.delete(out.ravel(), 16 * 32 + 16), 1.0)
    # 0.5 * 0 + 0.5 * (its own half weight pulls the coarse estimate to 0.92): 0.46 measured
    assert 0.40 < out[16, 16] < 0.5


def test_push_pull_does_not_modify_its_input() -> None:
    values = ramp(20, 20)
    known = np.ones((20, 20), np.float32)
    known[5:10, 5:10] = 0
    v0, k0 = values.copy(), known.copy()
    push_pull(values, known)
    np.testing.assert_array_equal(values, v0)
    np.testing.assert_array_equal(known, k0)


def test_push_pull_bad_input_raises() -> None:
    with pytest.raises(ValueError):
        push_pull(np.ones((64, 64), np.float32), np.ones((64, 65), np.float32))
    with pytest.raises(ValueError):
        push_pull(np.ones((64, 64, 3), np.float32), np.ones((32, 32), np.float32))


def test_push_pull_large_unknown_region_keeps_a_constant() -> None:
    values = np.full((64, 64), 0.5, np.float32)
    known = np.ones((64, 64), np.float32)
    known[:, 32:] = 0  # the right half is unknown (measured: filled down to 0.0)
    np.testing.assert_allclose(push_pull(values, known), 0.5, atol=1e-3)


def test_push_pull_tiny_input_fills_its_unknown_pixel() -> None:
    values = np.array([[1.0, 1.0], [1.0, 99.0]], np.float32)
    known = np.array([[1.0, 1.0], [1.0, 0.0]], np.float32)
    np.testing.assert_allclose(push_pull(values, known), 1.0, atol=1e-3)


def test_push_pull_ignores_nan_at_unknown_pixels() -> None:
    values = np.full((32, 32), 0.5, np.float32)
    known = np.ones((32, 32), np.float32)
    known[10:20, 10:20] = 0
    values[known == 0] = np.nan
    out = push_pull(values, known)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, 0.5, atol=1e-6)


# --------------------------------------------------------------------------- sample


def test_sample_agrees_with_gather_within_its_weight_quantization() -> None:
    """cv2.remap's bilinear weights are quantized to 1/32 px: on an image whose values change
    by at most 1 per pixel the two samplers differ by less than 1/32, and exactly 0 at pixel
    centres. Clamping at the borders is the same."""
    rng = np.random.default_rng(3)
    img = rng.random((40, 70, 3)).astype(np.float32)
    n = 5000  # more than one 1024-wide row of the remap maps, and not a multiple of it
    x = rng.uniform(-3, 72, n).astype(np.float32)
    y = rng.uniform(-3, 42, n).astype(np.float32)
    got, want = sample(img, x, y), gather(img, x, y)
    assert got.shape == want.shape == (n, 3)
    assert float(np.abs(got - want).max()) < 1.0 / 32
    xi, yi = np.rint(x).clip(0, 69), np.rint(y).clip(0, 39)
    np.testing.assert_array_equal(sample(img, xi, yi), gather(img, xi, yi))
    grey = img[:, :, 0]
    assert sample(grey, x, y).shape == (n,)
    assert sample(img, np.zeros(0), np.zeros(0)).shape == (0, 3)


def test_push_pull_takes_more_than_four_channels() -> None:
    """OpenCV's area resize stops at 4 channels; push_pull splits them and matches the
    channels filled one group at a time."""
    rng = np.random.default_rng(4)
    v = rng.random((30, 50, 7)).astype(np.float32)
    known = (rng.random((30, 50)) > 0.4).astype(np.float32)
    whole = push_pull(v, known)
    parts = np.concatenate([push_pull(v[:, :, :4], known), push_pull(v[:, :, 4:], known)], 2)
    np.testing.assert_allclose(whole, parts, atol=1e-6)
