"""Tests for rushes.analysis.motion (global camera motion and shot move classification)."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from rushes.analysis.color_stats import rgb_to_luma
from rushes.analysis.motion import MOTION_FIELDS, estimate_motion, summarize_motion

H, W = 180, 320


def texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Smooth random luma texture in [0, 1] with detail at several scales."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w), np.float32)
    for cell, weight in ((4, 0.4), (16, 0.35), (48, 0.25)):
        small = rng.random((h // cell + 2, w // cell + 2), dtype=np.float32)
        img += weight * cv2.resize(small, (w + 2 * cell, h + 2 * cell), cv2.INTER_CUBIC)[:h, :w]
    return np.clip(img, 0, 1)


def warp(
    img: np.ndarray, dx: float = 0, dy: float = 0, rot: float = 0, scale: float = 1
) -> np.ndarray:
    """Move the content by (dx, dy) px, rotate clockwise on screen by ``rot`` degrees and scale,
    about the image centre (pixel-centre convention)."""
    h, w = img.shape
    centre = ((w - 1) / 2, (h - 1) / 2)
    m = cv2.getRotationMatrix2D(centre, -rot, scale)
    m[:, 2] += (dx, dy)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def crop_pair(dx: float, dy: float, h: int = H, w: int = W) -> tuple[np.ndarray, np.ndarray]:
    """Two crops of one large texture, the second with the content moved by (dx, dy) px."""
    big = texture(h + 80, w + 80)
    prev = big[40 : 40 + h, 40 : 40 + w]
    moved = warp(big, dx, dy)[40 : 40 + h, 40 : 40 + w]
    return prev, moved


# --------------------------------------------------------------------------------------------
# estimate_motion


def test_smoke_shape_dtype() -> None:
    a, b = crop_pair(2, 1)
    row = estimate_motion(a, b)
    assert row.shape == (len(MOTION_FIELDS),) == (5,) and row.dtype == np.float32
    assert 0 <= row[4] <= 1


@pytest.mark.parametrize(
    ("dx", "dy"), [(3.0, 0.0), (0.0, -2.0), (-4.5, 2.25), (0.4, 0.3), (12.0, -7.0), (25.0, 10.0)]
)
def test_known_shift_recovered_within_half_a_pixel(dx: float, dy: float) -> None:
    a, b = crop_pair(dx, dy)
    row = estimate_motion(a, b)
    assert row[0] * W == pytest.approx(dx, abs=0.5)
    assert row[1] * H == pytest.approx(dy, abs=0.5)
    assert row[2] == pytest.approx(0.0, abs=0.1)
    assert row[3] == pytest.approx(1.0, abs=0.005)
    assert row[4] > 0.6  # corners that leave the frame lower it a little


def test_shift_on_a_larger_frame() -> None:
    # a 640-px frame is tracked at 160 px internally; the answer is still in frame fractions
    a, b = crop_pair(6.0, -3.0, 360, 640)
    row = estimate_motion(a, b)
    assert row[0] * 640 == pytest.approx(6.0, abs=0.5)
    assert row[1] * 360 == pytest.approx(-3.0, abs=0.5)


def test_rotation_and_scale_recovered() -> None:
    big = texture(H, W, seed=2)
    row = estimate_motion(big, warp(big, 1.5, -1.0, rot=1.0, scale=1.02))
    assert row[2] == pytest.approx(1.0, abs=0.1)  # degrees, clockwise on screen
    assert row[3] == pytest.approx(1.02, abs=0.003)
    assert row[0] * W == pytest.approx(1.5, abs=0.5)
    assert row[1] * H == pytest.approx(-1.0, abs=0.5)


def test_identical_frames() -> None:
    a = texture(H, W)
    np.testing.assert_array_equal(estimate_motion(a, a.copy()), [0, 0, 0, 1, 1])


def test_flat_frames_have_no_confidence() -> None:
    black = np.zeros((H, W), np.float32)
    grey = np.full((H, W), 0.5, np.float32)
    row = estimate_motion(black, grey)
    assert row[4] == 0.0 and row[3] == 1.0 and row[0] == 0.0


def test_moving_subject_on_a_still_background() -> None:
    # a locked-off camera: the background stays, a large subject (a quarter of the frame,
    # textured more strongly than the background) moves 6 px right
    bg = texture(H, W, seed=4) * 0.6 + 0.2
    subject = texture(H, W, seed=5)
    prev, cur = bg.copy(), bg.copy()
    prev[45:135, 100:220] = subject[45:135, 100:220]
    cur[45:135, 106:226] = subject[45:135, 100:220]
    row = estimate_motion(prev, cur)
    assert abs(row[0] * W) < 0.3 and abs(row[1] * H) < 0.3
    assert row[4] > 0.4


def test_camera_pan_with_a_static_subject_in_frame() -> None:
    # the camera pans 5 px while a small subject is tracked (stays put in the frame)
    a, b = crop_pair(5.0, 0.0)
    subject = texture(H, W, seed=9)
    a[70:110, 140:180] = subject[70:110, 140:180]
    b[70:110, 140:180] = subject[70:110, 140:180]
    row = estimate_motion(a, b)
    assert row[0] * W == pytest.approx(5.0, abs=0.5)


def test_scene_cut_has_low_confidence() -> None:
    row = estimate_motion(texture(H, W, seed=1), texture(H, W, seed=7))
    assert row[4] < 0.4


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        (np.zeros((H, W, 3), np.float32), np.zeros((H, W), np.float32), "2-D"),
        (np.zeros((H, W), np.float32), np.zeros((H, W + 2), np.float32), "same size"),
        (np.zeros((H, W), np.uint8), np.zeros((H, W), np.uint8), "dtype"),
    ],
)
def test_bad_input_raises(a: np.ndarray, b: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        estimate_motion(a, b)


def test_nan_raises() -> None:
    a = texture(H, W)
    b = a.copy()
    b[10, 10] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        estimate_motion(a, b)


# --------------------------------------------------------------------------------------------
# summarize_motion


def rows_of(
    dx: Any = 0.0, dy: Any = 0.0, rot: Any = 0.0, scale: Any = 1.0, n: int = 50, conf: Any = 0.9
) -> np.ndarray:
    out = np.zeros((n, 5), np.float32)
    for i, v in enumerate((dx, dy, rot, scale, conf)):
        out[:, i] = v
    return out


def test_summary_labels() -> None:
    rng = np.random.default_rng(0)
    assert summarize_motion(rows_of())["label"] == "static"
    assert summarize_motion(rows_of(dx=0.004 + rng.normal(0, 1e-4, 50)))["label"] == "pan"
    assert summarize_motion(rows_of(dx=-0.01))["label"] == "pan"
    assert summarize_motion(rows_of(dy=0.006))["label"] == "tilt"
    assert summarize_motion(rows_of(scale=1.01))["label"] == "zoom"
    assert summarize_motion(rows_of(scale=0.99))["label"] == "zoom"
    shake = rows_of(dx=rng.normal(0, 0.004, 50), dy=rng.normal(0, 0.003, 50))
    assert summarize_motion(shake)["label"] == "handheld"
    assert summarize_motion(rows_of(dx=rng.normal(0, 0.0003, 50)))["label"] == "static"


def test_summary_values_and_json() -> None:
    s = summarize_motion(rows_of(dx=0.01, dy=-0.002, rot=0.1, scale=1.001))
    json.dumps(s)
    assert s["mean_dx"] == pytest.approx(0.01, abs=1e-6)
    assert s["mean_dy"] == pytest.approx(-0.002, abs=1e-6)
    assert s["mean_rotation"] == pytest.approx(0.1, abs=1e-5)
    assert s["mean_zoom"] == pytest.approx(math.log(1.001), abs=1e-6)
    assert s["speed"] == pytest.approx(math.hypot(0.01, 0.002), rel=1e-3)
    assert s["jitter"] == pytest.approx(0.0, abs=1e-6)
    assert s["rows"] == 50 and s["reliable_fraction"] == 1.0 and s["fps"] == 25.0


def test_summary_repeated_frames_do_not_hide_shake() -> None:
    # every other frame repeated (frame-rate conversion): half the rows are still
    rng = np.random.default_rng(1)
    rows = rows_of(dx=rng.normal(0, 0.005, 60), dy=rng.normal(0, 0.004, 60), n=60)
    rows[::2, :4] = (0, 0, 0, 1)
    assert summarize_motion(rows)["label"] == "handheld"


def test_summary_ignores_unreliable_rows() -> None:
    rows = rows_of(n=40)
    rows[::5] = (0.3, -0.2, 5.0, 1.5, 0.05)  # cut-like garbage at low confidence
    s = summarize_motion(rows)
    assert s["label"] == "static" and s["reliable_fraction"] == pytest.approx(0.8)


def test_summary_unknown_and_empty() -> None:
    assert summarize_motion(rows_of(conf=0.0))["label"] == "unknown"
    s = summarize_motion(np.zeros((0, 5), np.float32))
    assert s["label"] == "unknown" and s["rows"] == 0


def test_summary_fps_scales_thresholds() -> None:
    rows = rows_of(dx=0.0015)  # 0.0375 frame widths per second at 25 fps: below pan speed
    assert summarize_motion(rows)["label"] == "static"
    assert summarize_motion(rows, fps=50)["label"] == "pan"  # the same per frame at 50 fps
    with pytest.raises(ValueError, match="fps"):
        summarize_motion(rows, fps=0)


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        (np.zeros((10, 4)), "shape"),
        (np.zeros(5), "shape"),
        (np.array([[0, 0, 0, 1, np.nan]]), "NaN"),
        (np.array([[0, 0, 0, 0, 1.0]]), "scale"),
        (np.array([["a"] * 5]), "dtype"),
    ],
)
def test_summary_bad_rows_raise(rows: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        summarize_motion(rows)


# --------------------------------------------------------------------------------------------
# real footage


def read_gray(
    footage: Path, manifest: dict[str, dict[str, Any]], name: str, count: int, long_side: int = 320
) -> list[np.ndarray]:
    """The first ``count`` frames of a shared video clip as analysis-size luma."""
    entry = manifest.get(name)
    if entry is None or not (footage / entry["path"]).exists():
        pytest.skip(f"clip {name} not in the shared footage at {footage}")
    out = []
    with av.open(str(footage / entry["path"])) as container:
        for frame in container.decode(video=0):
            img = frame.to_ndarray(format="rgb24")
            s = long_side / max(img.shape[:2])
            size = (round(img.shape[1] * s), round(img.shape[0] * s))
            small = cv2.resize(img, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255
            out.append(rgb_to_luma(small))
            if len(out) == count:
                break
    return out


def clip_rows(frames: list[np.ndarray]) -> np.ndarray:
    return np.stack([estimate_motion(a, b) for a, b in itertools.pairwise(frames)])


@pytest.mark.footage
def test_real_shaky_walk_is_handheld(footage: Path, manifest: dict[str, dict[str, Any]]) -> None:
    rows = clip_rows(read_gray(footage, manifest, "shaky_park_walkway", 60))
    s = summarize_motion(rows, fps=manifest["shaky_park_walkway"]["fps"])
    assert s["label"] == "handheld", s
    assert s["reliable_fraction"] > 0.8


@pytest.mark.footage
@pytest.mark.parametrize("name", ["talkinghead_vr3_woman_flag", "talkinghead_vr2_man_map"])
def test_real_talking_head_is_static(
    footage: Path, manifest: dict[str, dict[str, Any]], name: str
) -> None:
    rows = clip_rows(read_gray(footage, manifest, name, 50))
    s = summarize_motion(rows, fps=manifest[name]["fps"])
    assert s["label"] == "static", s
    assert s["speed"] < 1e-3  # under a third of a pixel per frame at 320 px


@pytest.mark.footage
def test_real_pan_is_a_pan(footage: Path, manifest: dict[str, dict[str, Any]]) -> None:
    rows = clip_rows(read_gray(footage, manifest, "parkour", 60))
    s = summarize_motion(rows, fps=manifest["parkour"]["fps"])
    assert s["label"] == "pan", s
    assert s["mean_dx"] < 0  # the camera pans right: the content moves left
