"""Tests for rushes.analysis.focus (focus measures)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from rushes.analysis.color_stats import rgb_to_luma
from rushes.analysis.focus import (
    METHODS,
    REFERENCE_LONG_SIDE,
    SCALE_SIGMA,
    focus_measure,
    laplacian_variance,
    tenengrad,
)
from tests.conftest import read_frames

H, W = 180, 320


def scene(h: int = H, w: int = W, seed: int = 0) -> np.ndarray:
    """A detailed luma image: multi-scale noise plus hard-edged rectangles, in [0, 1]."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w), np.float32)
    for cell, weight in ((2, 0.3), (8, 0.3), (32, 0.2)):
        small = rng.random((max(2, h // cell), max(2, w // cell)), dtype=np.float32)
        img += weight * cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    for _ in range(12):
        x, y = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        img[y : y + 20, x : x + 30] = float(rng.random())
    return np.clip(img, 0, 1)


def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigma)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_smoke_and_type(method: str) -> None:
    v = focus_measure(scene(), method)
    assert isinstance(v, float) and np.isfinite(v) and v > 0


@pytest.mark.parametrize("method", sorted(METHODS))
def test_blur_lowers_the_measure_monotonically(method: str) -> None:
    img = scene()
    values = [focus_measure(img if s == 0 else blur(img, s), method) for s in (0, 0.8, 1.5, 3.0)]
    assert all(a > b for a, b in itertools.pairwise(values))
    assert values[-1] < 0.2 * values[0]


@pytest.mark.parametrize("method", sorted(METHODS))
def test_flat_image_is_zero(method: str) -> None:
    assert focus_measure(np.full((H, W), 0.4, np.float32), method) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_comparable_across_sizes(method: str) -> None:
    big = blur(scene(360, 640), 1.0)
    small = cv2.resize(big, (W, H), interpolation=cv2.INTER_AREA)
    # the same picture at two sizes measures the same
    assert focus_measure(big, method) == pytest.approx(focus_measure(small, method), rel=1e-4)
    # and a 400-px frame lands close to its 320-px version
    mid = cv2.resize(big, (400, 225), interpolation=cv2.INTER_AREA)
    assert focus_measure(mid, method) == pytest.approx(focus_measure(small, method), rel=0.25)


def test_kernels_golden_values() -> None:
    # a unit step edge: Laplacian responses +-1 on two columns, Sobel slope 0.5 on two columns
    img = np.zeros((90, 160), np.float32)
    img[:, 80:] = 1.0
    lap = np.zeros(img.size)
    lap[: 2 * 90] = [1.0, -1.0] * 90
    assert laplacian_variance(img) == pytest.approx(lap.var(), rel=1e-5)
    assert tenengrad(img) == pytest.approx(2 * 90 * 0.25 / img.size, rel=1e-5)
    assert METHODS["laplacian"] is laplacian_variance and METHODS["tenengrad"] is tenengrad


@pytest.mark.parametrize("method", sorted(METHODS))
def test_front_function_is_kernel_at_reference_scale(method: str) -> None:
    img = scene(90, REFERENCE_LONG_SIDE)
    expected = METHODS[method](cv2.GaussianBlur(img, (0, 0), SCALE_SIGMA))
    assert focus_measure(img, method) == pytest.approx(expected, rel=1e-5)


def test_methods_disagree_on_scale_but_agree_on_order() -> None:
    sharp, soft = scene(), blur(scene(), 2.0)
    for method in METHODS:
        assert focus_measure(sharp, method) > focus_measure(soft, method)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros((H, W, 3), np.float32), "2-D"),
        (np.zeros((H,), np.float32), "2-D"),
        (np.zeros((H, W), np.uint8), "dtype"),
        (np.zeros((1, W), np.float32), "2x2"),
    ],
)
def test_bad_input_raises(bad: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        focus_measure(bad)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_raises(value: float) -> None:
    img = scene()
    img[3, 4] = value
    with pytest.raises(ValueError, match="NaN or infinite"):
        focus_measure(img)


def test_unknown_method_raises() -> None:
    with pytest.raises(ValueError, match="laplacian"):
        focus_measure(scene(), "sobel")


@pytest.mark.parametrize("method", sorted(METHODS))
def test_stable_across_source_sizes(method: str) -> None:
    # analysis frames made from sources of different sizes measure alike
    master = blur(scene(720, 1280, seed=3), 1.5)
    values = []
    for long_side in (1280, 1000, 800, 640):
        src = cv2.resize(master, (long_side, long_side * 9 // 16), interpolation=cv2.INTER_AREA)
        values.append(focus_measure(cv2.resize(src, (W, H), interpolation=cv2.INTER_AREA), method))
    assert max(values) / min(values) < 1.15


# --------------------------------------------------------------------------------------------
# real footage


@pytest.mark.footage
def test_real_frame_blurred_is_softer(footage: Path, manifest: dict[str, dict[str, Any]]) -> None:
    (frame,) = read_frames(footage, manifest, "schoolgirls", [10], 320)
    gray = rgb_to_luma(frame)
    for method in METHODS:
        sharp = focus_measure(gray, method)
        assert sharp > 2 * focus_measure(blur(gray, 1.5), method)
