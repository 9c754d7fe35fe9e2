"""Tests of the fill's optical flow (rushes.ops.fill_flow): the flow grid, flow input with the
masked object smoothed away, the camera's global motion and flow completion inside holes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from rushes.ops.fill_flow import (
    FlowEstimator,
    FlowGrid,
    complete_flow,
    complete_flows,
    fill_hole,
    flow_image,
    global_model,
)
from rushes.ops.fill_interp import push_pull
from tests.conftest import read_frames

SHIFT = (3.0, -2.0)
"""The synthetic camera move: content moves 3 px right and 2 px up."""

BORDER = 16
"""Pixels at the borders left out of accuracy checks (the shifted image is made up there)."""


def shifted(frame: np.ndarray, dx: float = SHIFT[0], dy: float = SHIFT[1]) -> np.ndarray:
    """``frame`` translated by (dx, dy) pixels; the flow frame -> result is (dx, dy)."""
    h, w = frame.shape[:2]
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return np.asarray(
        cv2.warpAffine(frame, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    )


def raw_flow(a: np.ndarray, b: np.ndarray, grid: FlowGrid) -> tuple[np.ndarray, np.ndarray]:
    """DIS flow a -> b on the grid (no completion) and the union of both frames' holes."""
    z = np.zeros(a.shape[:2], np.float32)
    ga, ha = flow_image(a, z, grid)
    gb, hb = flow_image(b, z, grid)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return np.asarray(dis.calc(ga, gb, None)), ha | hb


def inner(a: np.ndarray) -> np.ndarray:
    return a[BORDER:-BORDER, BORDER:-BORDER]


@pytest.fixture(scope="module")
def locked_off(footage: Path, manifest: dict[str, dict[str, Any]]) -> list[np.ndarray]:
    """Two consecutive frames of an empty room, camera locked off (10 fps)."""
    return read_frames(footage, manifest, "people_walkthrough_intel", [0, 1], 480)


@pytest.fixture(scope="module", params=["shaky_park_walkway", "parkour"])
def textured_frame(
    request: pytest.FixtureRequest, footage: Path, manifest: dict[str, dict[str, Any]]
) -> np.ndarray:
    (frame,) = read_frames(footage, manifest, request.param, [10], 480)
    return frame


# --------------------------------------------------------------------------- FlowGrid


@pytest.mark.parametrize(
    ("size", "long_side", "want"),
    [
        ((1920, 1080), 960, (960, 540, 0.5, 0.5)),
        ((1080, 1920), 960, (540, 960, 0.5, 0.5)),
        ((432, 240), 960, (432, 240, 1.0, 1.0)),  # never enlarged
        ((1920, 1080), 480, (480, 270, 0.25, 0.25)),
        ((4096, 2160), 960, (960, 506, 960 / 4096, 506 / 2160)),
        ((5, 3), 960, (8, 8, 8 / 5, 8 / 3)),  # at least 8x8 for the flow's patches
    ],
)
def test_flow_grid_sizes(
    size: tuple[int, int], long_side: int, want: tuple[int, int, float, float]
) -> None:
    g = FlowGrid.for_frame(size[0], size[1], long_side)
    assert (g.width, g.height) == want[:2]
    assert g.sx == pytest.approx(want[2]) and g.sy == pytest.approx(want[3])


def test_flow_grid_default_long_side_and_frozen() -> None:
    g = FlowGrid.for_frame(3840, 2160)
    assert (g.width, g.height) == (960, 540)
    with pytest.raises(AttributeError):
        g.width = 10  # type: ignore[misc]


# --------------------------------------------------------------------------- flow_image


def test_flow_image_shapes_and_plain_grey_without_a_mask(textured_frame: np.ndarray) -> None:
    h, w = textured_frame.shape[:2]
    grid = FlowGrid.for_frame(w, h, 240)
    grey, hole = flow_image(textured_frame, np.zeros((h, w), np.float32), grid)
    assert grey.shape == hole.shape == (grid.height, grid.width)
    assert grey.dtype == np.uint8 and hole.dtype == bool and not hole.any()
    small = cv2.resize(textured_frame, (grid.width, grid.height), interpolation=cv2.INTER_AREA)
    want = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY) * 255
    assert np.abs(grey.astype(np.float32) - want).max() <= 0.51


def test_flow_image_smooths_the_masked_object_away(textured_frame: np.ndarray) -> None:
    h, w = textured_frame.shape[:2]
    grid = FlowGrid.for_frame(w, h)
    alpha = np.zeros((h, w), np.float32)
    cv2.line(alpha, (w // 3, 0), (w // 2, h - 1), 1.0, 4)
    wired = textured_frame * (1 - alpha[:, :, None]) + 0.02 * alpha[:, :, None]
    grey, hole = flow_image(wired, alpha, grid)
    clean, _ = flow_image(textured_frame, np.zeros_like(alpha), grid)
    on = alpha > 0
    assert hole[on].all()  # the hole covers the matte ...
    assert 0.01 < hole.mean() < 0.25  # ... grown by the flow's reach, not the whole frame
    assert np.abs(grey[~hole].astype(int) - clean[~hole]).max() <= 1  # plate untouched
    # the dark wire is gone: inside the matte the grey is close to the plate's, not to black
    wire_err = np.abs(grey[on].astype(float) - clean[on]).mean()
    dark_err = np.abs(0.02 * 255 - clean[on].astype(float)).mean()
    assert wire_err < 0.35 * dark_err


def test_flow_image_soft_matte_counts_any_coverage() -> None:
    frame = np.full((64, 96, 3), 0.5, np.float32)
    mask = np.zeros((64, 96), np.float32)
    mask[30, 40] = 0.05  # a faint edge pixel is still part of the object
    _, hole = flow_image(frame, mask, FlowGrid.for_frame(96, 64))
    assert hole[30, 40]


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_flow_image_nan_under_the_matte_is_ignored(textured_frame: np.ndarray) -> None:
    h, w = textured_frame.shape[:2]
    grid = FlowGrid.for_frame(w, h)
    mask = np.zeros((h, w), np.float32)
    mask[100:120, 200:230] = 1
    bad = textured_frame.copy()
    bad[mask > 0] = np.nan
    grey, hole = flow_image(bad, mask, grid)
    clean, _ = flow_image(textured_frame, np.zeros_like(mask), grid)
    assert np.abs(grey[~hole].astype(int) - clean[~hole]).max() <= 1


# --------------------------------------------------------------------------- global_model


def test_global_model_locked_off_pair_is_exactly_zero(locked_off: list[np.ndarray]) -> None:
    a, b = locked_off
    assert np.abs(a - b).max() > 0  # two real exposures, not the same image
    grid = FlowGrid.for_frame(a.shape[1], a.shape[0])
    flow, hole = raw_flow(a, b, grid)
    assert np.abs(flow).max() > 0  # DIS sees noise ...
    model = global_model(flow, hole)
    assert model is not None and model.shape == flow.shape
    assert not model.any()  # ... the camera model is exactly still


def test_global_model_recovers_a_translation(textured_frame: np.ndarray) -> None:
    h, w = textured_frame.shape[:2]
    grid = FlowGrid.for_frame(w, h)
    flow, hole = raw_flow(textured_frame, shifted(textured_frame), grid)
    model = global_model(flow, hole)
    assert model is not None and model.dtype == np.float32
    err = np.abs(inner(model) - np.float32(SHIFT))
    assert err.max() < 0.2  # measured 0.027 (parkour), 0.014 (shaky_park_walkway)


def test_global_model_golden_homography() -> None:
    """A 1 degree rotation with a 1 % zoom is a homography: recovered to float precision,
    even with garbage inside the hole."""
    h, w = 120, 200
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a, s, cx, cy = np.deg2rad(1.0), 1.01, w / 2, h / 2
    x2 = s * (np.cos(a) * (xx - cx) - np.sin(a) * (yy - cy)) + cx
    y2 = s * (np.sin(a) * (xx - cx) + np.cos(a) * (yy - cy)) + cy
    truth = np.stack([x2 - xx, y2 - yy], axis=2).astype(np.float32)
    hole = np.zeros((h, w), bool)
    hole[40:70, 80:110] = True
    flow = truth.copy()
    flow[hole] = (5.0, 5.0)
    model = global_model(flow, hole)
    assert model is not None
    np.testing.assert_allclose(model, truth, atol=1e-3)


def test_global_model_no_fit() -> None:
    rng = np.random.default_rng(0)
    noise = rng.uniform(-10, 10, (120, 200, 2)).astype(np.float32)
    assert global_model(noise, np.zeros((120, 200), bool)) is None  # no consistent motion
    still = np.zeros((120, 200, 2), np.float32)
    assert global_model(still, np.ones((120, 200), bool)) is None  # nothing outside the hole


# --------------------------------------------------------------------------- complete_flow


def test_complete_flow_follows_the_camera_inside_a_hole(textured_frame: np.ndarray) -> None:
    h, w = textured_frame.shape[:2]
    grid = FlowGrid.for_frame(w, h)
    flow, _ = raw_flow(textured_frame, shifted(textured_frame), grid)
    hole = np.zeros((grid.height, grid.width), bool)
    hole[100:160, 200:260] = True
    flow[hole] = (-20.0, 15.0)  # what a wire moving against the camera would give
    done = complete_flow(flow, hole)
    assert done.shape == flow.shape and done.dtype == np.float32
    assert np.abs(done[hole] - np.float32(SHIFT)).max() < 0.2  # measured < 0.01
    # where the flow agreed with the camera it is snapped onto the model exactly
    assert np.abs(inner(done) - np.float32(SHIFT)).max() < 0.2


def test_complete_flow_interpolates_local_motion() -> None:
    """Smooth motion no homography fits (parallax): the hole takes the flow around it."""
    h, w = 120, 200
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    truth = np.stack(
        [2 + 1.5 * np.sin(2 * np.pi * xx / 150), -1 + np.cos(2 * np.pi * yy / 100)], axis=2
    ).astype(np.float32)
    hole = np.zeros((h, w), bool)
    hole[40:70, 80:110] = True
    flow = truth.copy()
    flow[hole] = (-15.0, 9.0)
    done = complete_flow(flow, hole)
    assert np.abs(done - truth)[hole].max() < 0.5  # measured 0.32 across a 30-px hole
    np.testing.assert_array_equal(done[~hole], truth[~hole])


def test_complete_flow_locked_off_snaps_to_zero(locked_off: list[np.ndarray]) -> None:
    a, b = locked_off
    grid = FlowGrid.for_frame(a.shape[1], a.shape[0])
    flow, hole = raw_flow(a, b, grid)
    done = complete_flow(flow, hole)
    small = np.hypot(flow[:, :, 0], flow[:, :, 1]) < 0.5
    assert small.mean() > 0.95
    assert not done[small].any()  # exactly zero motion: no resampling blur
    no_hole = complete_flow(flow, np.zeros_like(hole))
    assert not no_hole[small].any()


def test_complete_flow_does_not_modify_its_input() -> None:
    flow = np.zeros((40, 60, 2), np.float32)
    flow[..., 0] = 1.0
    hole = np.zeros((40, 60), bool)
    hole[10:20, 10:30] = True
    flow[hole] = (7.0, -7.0)
    before = flow.copy()
    done = complete_flow(flow, hole)
    np.testing.assert_array_equal(flow, before)
    np.testing.assert_allclose(done[hole], [[1.0, 0.0]] * int(hole.sum()), atol=1e-4)


def test_complete_flow_ignores_nan_inside_the_hole() -> None:
    flow = np.zeros((40, 60, 2), np.float32)
    flow[..., 0] = 1.0
    hole = np.zeros((40, 60), bool)
    hole[10:20, 10:30] = True
    flow[hole] = np.nan
    done = complete_flow(flow, hole)
    assert np.isfinite(done).all()
    np.testing.assert_allclose(done[hole], [[1.0, 0.0]] * int(hole.sum()), atol=1e-4)


# --------------------------------------------------------------------------- FlowEstimator


def test_flow_estimator_pair_both_directions(textured_frame: np.ndarray) -> None:
    h, w = textured_frame.shape[:2]
    grid = FlowGrid.for_frame(w, h, 320)
    z = np.zeros((h, w), np.float32)
    a = flow_image(textured_frame, z, grid)
    b = flow_image(shifted(textured_frame, 6.0, -4.0), z, grid)  # (4, -2.7) on the 2/3 grid
    fab, fba = FlowEstimator().pair(a, b)
    assert fab.shape == fba.shape == (grid.height, grid.width, 2)
    assert fab.dtype == fba.dtype == np.float32
    b2 = BORDER // 2
    np.testing.assert_allclose(
        np.median(fab[b2:-b2, b2:-b2], axis=(0, 1)), (6.0 * grid.sx, -4.0 * grid.sy), atol=0.1
    )
    np.testing.assert_allclose(
        np.median(fba[b2:-b2, b2:-b2], axis=(0, 1)), (-6.0 * grid.sx, 4.0 * grid.sy), atol=0.1
    )


def test_flow_estimator_bad_input_raises() -> None:
    a = flow_image(
        np.zeros((64, 96, 3), np.float32),
        np.zeros((64, 96), np.float32),
        FlowGrid.for_frame(96, 64),
    )
    b = flow_image(
        np.zeros((48, 96, 3), np.float32),
        np.zeros((48, 96), np.float32),
        FlowGrid.for_frame(96, 48),
    )
    with pytest.raises(cv2.error):
        FlowEstimator().pair(a, b)  # frames of different sizes


def test_fill_hole_is_push_pull_inside_the_hole() -> None:
    """The half-size shortcut gives push-pull's own values in the hole and keeps the rest."""
    rng = np.random.default_rng(5)
    values = rng.normal(0, 1, (90, 160, 2)).astype(np.float32)
    hole = np.zeros((90, 160), bool)
    hole[40:47, :] = True
    hole[:, 100:104] = True
    got = fill_hole(values, hole)
    np.testing.assert_allclose(got, push_pull(values, (~hole).astype(np.float32)), atol=1e-5)
    np.testing.assert_array_equal(got[~hole], values[~hole])


def test_complete_flows_two_at_once_equals_one_by_one() -> None:
    rng = np.random.default_rng(6)
    yy, xx = np.mgrid[0:120, 0:200].astype(np.float32)
    fab = np.stack([0.01 * xx + 1.5, 0.004 * yy - 0.5], axis=2) + rng.normal(0, 0.2, (120, 200, 2))
    fba = -fab + rng.normal(0, 0.2, (120, 200, 2))
    fab, fba = fab.astype(np.float32), fba.astype(np.float32)
    hole = np.zeros((120, 200), bool)
    hole[50:58, 20:180] = True
    both = complete_flows(np.concatenate([fab, fba], axis=2), hole)
    np.testing.assert_allclose(both[:, :, :2], complete_flow(fab, hole), atol=1e-5)
    np.testing.assert_allclose(both[:, :, 2:], complete_flow(fba, hole), atol=1e-5)


def test_flow_image_with_a_smaller_guide_takes_only_the_matte_from_it(
    textured_frame: np.ndarray,
) -> None:
    h, w = textured_frame.shape[:2]
    grid = FlowGrid.for_frame(w, h, max(w, h))  # the grid is the frame
    mask = np.zeros((h, w), np.float32)
    mask[h // 2 - 3 : h // 2 + 3, :] = 1.0
    guide = np.zeros((h // 2, w // 2, 3), np.float32)  # a black sketch at half size
    grey, hole = flow_image(textured_frame, mask, grid, guide)
    plain, _ = flow_image(textured_frame, np.zeros_like(mask), grid)
    assert grey.shape == (h, w) and hole.shape == (h, w)
    np.testing.assert_array_equal(hole, mask > 0)  # only the matte is re-interpolated
    near = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    np.testing.assert_array_equal(grey[~near], plain[~near])  # the frame outside
    assert (grey[mask > 0] == 0).all()  # the sketch inside
