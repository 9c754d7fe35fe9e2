"""Tests for rushes.analysis.color_stats (per-frame colour statistics, per-shot exposure)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rushes.analysis.color_stats import (
    CLIP_HIGH,
    FRAME_FIELDS,
    HIST_BINS,
    MID_GREY_CODE,
    ShotColorAccumulator,
    check_frame,
    check_gray,
    exposure_offset_stops,
    frame_color_stats,
    rec709_to_linear,
    rgb_to_luma,
)
from tests.conftest import read_frames

H, W = 180, 320
F = {name: i for i, name in enumerate(FRAME_FIELDS)}


def flat(value: float | tuple[float, float, float], h: int = H, w: int = W) -> np.ndarray:
    img = np.empty((h, w, 3), np.float32)
    img[:] = value
    return img


def noise(seed: int = 0, h: int = H, w: int = W) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w, 3), dtype=np.float32)


# --------------------------------------------------------------------------------------------
# frame_color_stats


def test_fields_and_shape() -> None:
    v = frame_color_stats(noise())
    assert v.shape == (len(FRAME_FIELDS),) and v.dtype == np.float32
    assert len(set(FRAME_FIELDS)) == len(FRAME_FIELDS)
    assert np.isfinite(v).all() and (v >= 0).all() and (v <= 1).all()


def test_black_frame_clips_low() -> None:
    v = frame_color_stats(flat(0.0))
    assert v[F["clip_low"]] == 1.0
    assert v[F["clip_high"]] == 0.0
    assert v[F["luma_mean"]] == 0.0 and v[F["luma_p99"]] < 1e-3


def test_white_frame_clips_high() -> None:
    v = frame_color_stats(flat(1.0))
    assert v[F["clip_high"]] == 1.0 and v[F["clip_low"]] == 0.0
    assert v[F["luma_p01"]] > 0.998


def test_one_clipped_channel_counts_as_clipped() -> None:
    v = frame_color_stats(flat((1.0, 0.3, 0.2)))
    assert v[F["clip_high"]] == 1.0
    v = frame_color_stats(flat((CLIP_HIGH - 0.01, 0.3, 0.2)))
    assert v[F["clip_high"]] == 0.0


def test_golden_means_and_saturation() -> None:
    v = frame_color_stats(flat((0.8, 0.4, 0.2)))
    np.testing.assert_allclose(v[:3], [0.8, 0.4, 0.2], atol=1e-6)
    luma = 0.2126 * 0.8 + 0.7152 * 0.4 + 0.0722 * 0.2
    assert v[F["luma_mean"]] == pytest.approx(luma, abs=1e-6)
    assert v[F["luma_std"]] == pytest.approx(0.0, abs=1e-6)
    assert v[F["saturation"]] == pytest.approx(0.6, abs=1e-6)
    assert frame_color_stats(flat(0.5))[F["saturation"]] == pytest.approx(0.0, abs=1e-7)


def test_percentiles_of_a_ramp() -> None:
    ramp = np.tile(np.linspace(0, 1, W, dtype=np.float32)[None, :, None], (H, 1, 3))
    v = frame_color_stats(ramp)
    assert v[F["luma_p01"]] == pytest.approx(0.01, abs=2e-3)
    assert v[F["luma_p50"]] == pytest.approx(0.50, abs=2e-3)
    assert v[F["luma_p99"]] == pytest.approx(0.99, abs=2e-3)
    assert v[F["luma_std"]] == pytest.approx(np.linspace(0, 1, W).std(), abs=1e-3)


def test_out_of_range_values_are_clipped_not_rejected() -> None:
    img = flat(0.5)
    img[:10] = 1.2  # super-white
    img[-10:] = -0.1
    v = frame_color_stats(img)
    assert v[F["clip_high"]] == pytest.approx(10 / H)
    assert v[F["clip_low"]] == pytest.approx(10 / H)
    assert v[F["luma_mean"]] <= 1.0


def test_accepts_float64_and_views() -> None:
    img = noise(3).astype(np.float64)
    np.testing.assert_allclose(
        frame_color_stats(img), frame_color_stats(img.astype(np.float32)), atol=1e-6
    )
    view = noise(4)[::2, ::2]
    np.testing.assert_allclose(
        frame_color_stats(view), frame_color_stats(np.ascontiguousarray(view)), atol=1e-6
    )


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros((H, W), np.float32), "shape"),
        (np.zeros((H, W, 4), np.float32), "shape"),
        (np.zeros((H, W, 3, 1), np.float32), "shape"),
        (np.zeros((1, W, 3), np.float32), "2x2"),
        (np.zeros((H, W, 3), np.uint8), "dtype"),
    ],
)
def test_bad_input_raises(bad: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        frame_color_stats(bad)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_raises(value: float) -> None:
    img = flat(0.5)
    img[5, 7, 1] = value
    with pytest.raises(ValueError, match="NaN or infinite"):
        frame_color_stats(img)
    acc = ShotColorAccumulator()
    with pytest.raises(ValueError, match="NaN or infinite"):
        acc.update(img)
    assert acc.frames == 0


def test_checks() -> None:
    assert check_frame(noise()).flags.c_contiguous
    with pytest.raises(ValueError, match="rgb_to_luma"):
        check_gray(noise())
    with pytest.raises(ValueError, match="NaN"):
        check_gray(np.full((4, 4), np.nan, np.float32))
    y = rgb_to_luma(flat((1.0, 0.0, 0.0)))
    assert y.shape == (H, W) and y[0, 0] == pytest.approx(0.2126, abs=1e-6)


# --------------------------------------------------------------------------------------------
# exposure and the shot accumulator


def test_rec709_linearisation() -> None:
    assert float(rec709_to_linear(MID_GREY_CODE)) == pytest.approx(0.18, abs=1e-9)
    assert float(rec709_to_linear(0.0)) == 0.0 and float(rec709_to_linear(1.0)) == 1.0
    codes = np.linspace(0, 1, 101)
    assert (np.diff(rec709_to_linear(codes)) > 0).all()


def test_mid_grey_is_normal_with_zero_offset() -> None:
    acc = ShotColorAccumulator()
    for _ in range(3):
        acc.update(flat(MID_GREY_CODE))
    r = acc.result()
    assert r["exposure"] == "normal"
    assert r["exposure_offset"] == pytest.approx(0.0, abs=0.02)
    assert r["luma_percentiles"]["p50"] == pytest.approx(MID_GREY_CODE, abs=2e-3)
    assert r["frames"] == 3 and r["pixels"] == 3 * H * W


def test_one_stop_over_and_under() -> None:
    for stops, verdict in ((+1.2, "over"), (-2.0, "under"), (+0.5, "normal"), (-1.0, "normal")):
        lin = 0.18 * 2.0**stops
        code = 1.099 * lin**0.45 - 0.099
        acc = ShotColorAccumulator()
        acc.update(flat(code))
        r = acc.result()
        assert r["exposure_offset"] == pytest.approx(stops, abs=0.02)
        assert r["exposure"] == verdict


def test_black_frame_is_under_and_white_over() -> None:
    acc = ShotColorAccumulator()
    acc.update(flat(0.0))
    r = acc.result()
    assert r["exposure"] == "under" and r["clip_low"] == 1.0 and r["exposure_offset"] < -8
    acc = ShotColorAccumulator()
    acc.update(flat(1.0))
    r = acc.result()
    assert r["exposure"] == "over" and r["clip_high"] == 1.0
    assert r["exposure_offset"] == pytest.approx(np.log2(1 / 0.18), abs=0.01)


def test_clipping_alone_makes_a_verdict() -> None:
    img = flat(MID_GREY_CODE)
    img[: H // 2] = 1.0  # half the frame blown out, the rest well exposed
    acc = ShotColorAccumulator()
    acc.update(img)
    assert acc.result()["exposure"] == "over"


def test_result_is_json_and_histograms_sum_to_one() -> None:
    acc = ShotColorAccumulator()
    for seed in range(3):
        acc.update(noise(seed))
    acc.update(noise(9, 90, 160))  # frames of another size still count per pixel
    r = acc.result()
    json.dumps(r)
    for key in ("r", "g", "b", "luma"):
        h = r["histograms"][key]
        assert len(h) == HIST_BINS and sum(h) == pytest.approx(1.0, abs=1e-5)
    assert r["mean_rgb"] == pytest.approx([0.5, 0.5, 0.5], abs=0.01)
    assert r["luma_percentiles"]["p01"] < r["luma_percentiles"]["p50"]
    assert r["luma_percentiles"]["p50"] < r["luma_percentiles"]["p99"]


def test_channel_histogram_golden() -> None:
    acc = ShotColorAccumulator()
    acc.update(flat((0.0, 0.5, 1.0)))
    h = acc.result()["histograms"]
    assert h["r"][0] == 1.0 and h["g"][32] == 1.0 and h["b"][63] == 1.0


def test_accumulator_matches_frame_stats_and_memory_is_bounded() -> None:
    acc = ShotColorAccumulator()
    img = noise(5)
    acc.update(img)
    assert acc.last is not None
    np.testing.assert_array_equal(acc.last, frame_color_stats(img))
    sizes = sum(v.nbytes for v in vars(acc).values() if isinstance(v, np.ndarray))
    for seed in range(20):
        acc.update(noise(seed))
    assert sum(v.nbytes for v in vars(acc).values() if isinstance(v, np.ndarray)) == sizes


def test_empty_accumulator() -> None:
    r = ShotColorAccumulator().result()
    json.dumps(r)
    assert r["frames"] == 0 and r["exposure"] == "normal"


def test_exposure_offset_empty_hist() -> None:
    assert exposure_offset_stops(np.zeros(64)) == 0.0


# --------------------------------------------------------------------------------------------
# real footage


@pytest.mark.footage
def test_real_talking_head_is_normally_exposed(
    footage: Path, manifest: dict[str, dict[str, Any]]
) -> None:
    acc = ShotColorAccumulator()
    for frame in read_frames(footage, manifest, "talkinghead_vr3_woman_flag", [0, 10, 20], 320):
        acc.update(frame)
        v = frame_color_stats(frame)
        assert 0.1 < v[F["luma_mean"]] < 0.8 and v[F["saturation"]] > 0.05
    r = acc.result()
    json.dumps(r)
    assert r["exposure"] == "normal" and -1.5 < r["exposure_offset"] < 1.0
