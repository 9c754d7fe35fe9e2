"""Tests of clean plates (rushes.ops.plate): voting out what moves on a locked-off shot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from rushes.errors import RushesError
from rushes.ops.plate import NotLockedOffError, camera_motion, clean_plate
from tests.conftest import read_frames, textured


@pytest.fixture(scope="module")
def background(footage: Path, manifest: dict[str, dict[str, Any]]) -> np.ndarray:
    (frame,) = read_frames(footage, manifest, "portrait_woman_indoor_lp_s18", [10], 480)
    return frame


def blobs_over(bg: np.ndarray, n: int, noise: float = 0.01, seed: int = 0) -> list[np.ndarray]:
    """A locked-off sequence: ``bg`` with three coloured discs crossing it, plus sensor noise."""
    h, w = bg.shape[:2]
    rng = np.random.default_rng(seed)
    out = []
    for t in range(n):
        f = bg.copy()
        for k in range(3):
            centre = (int((t * 17 + k * 150) % w), int(h * (0.25 + 0.25 * k)))
            cv2.circle(f, centre, 30, (0.9 * (k == 0), 0.8, 0.2 * k), -1)
        out.append(f + rng.normal(0, noise, f.shape).astype(np.float32))
    return out


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    d = (a - b) ** 2
    return float(10 * np.log10(1 / np.mean(d if where is None else d[where])))


def test_synthetic_blobs_are_voted_out(background: np.ndarray) -> None:
    frames = blobs_over(background, 24)
    info: dict[str, Any] = {}
    plate, coverage = clean_plate(frames, info=info)
    assert plate.shape == background.shape and coverage.shape == background.shape[:2]
    assert plate.dtype == coverage.dtype == np.float32
    assert psnr(plate, background) > 35
    assert psnr(plate, background) > psnr(np.median(np.stack(frames), axis=0), background)
    assert coverage.min() > 0.6 and info["frames_used"] == 24
    assert info["camera_motion_px"] < 1.0 and 0.005 < info["noise"] < 0.03


def test_never_uncovered_pixels_are_reported(background: np.ndarray) -> None:
    """A region that changes in every frame (a screen) has no background to find."""
    frames = blobs_over(background, 12, seed=1)
    rng = np.random.default_rng(2)
    for f in frames:
        f[20:60, 30:90] = rng.random(3, dtype=np.float32)  # a new colour every frame
    plate, coverage = clean_plate(frames)
    screen = np.zeros(coverage.shape, bool)
    screen[20:60, 30:90] = True
    assert coverage[screen].mean() < 0.35 < 0.9 < coverage[~screen].mean()
    assert psnr(plate, background, ~screen) > 35


def test_frames_kept_spread_and_spilled(background: np.ndarray, tmp_path: Path) -> None:
    frames = blobs_over(background[:96, :160], 40, seed=3)
    info: dict[str, Any] = {}
    in_memory, cov_a = clean_plate(frames, max_frames=10, info=info)
    assert info["frames_used"] <= 10
    spilled, cov_b = clean_plate(frames, max_frames=10, memory_mb=0.1, spill_dir=tmp_path)
    np.testing.assert_array_equal(in_memory, spilled)
    np.testing.assert_array_equal(cov_a, cov_b)
    assert not list(tmp_path.iterdir())  # the spill file is gone


def test_real_locked_off_clip(footage: Path, manifest: dict[str, dict[str, Any]]) -> None:
    """schoolgirls (locked-off; the girls' masks are in the footage): the plate agrees with
    every frame where nobody ever stands, and the pixels someone always covers get low
    coverage instead of a guess."""
    assert "static-camera" in manifest["schoolgirls"]["tags"]
    idx = list(range(0, 80, 3))
    frames = read_frames(footage, manifest, "schoolgirls", idx, 432)
    folder = footage / "schoolgirls" / "masks"
    masks = []
    for i in idx:
        m = cv2.imread(str(folder / f"{i:05d}.png"), cv2.IMREAD_UNCHANGED)
        m = (m.max(axis=2) if m.ndim == 3 else m) > 0
        masks.append(cv2.dilate(m.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0)
    info: dict[str, Any] = {}
    plate, coverage = clean_plate(frames, info=info)
    assert info["camera_motion_px"] < 1.5
    ever = np.any(masks, axis=0)
    always = np.all(masks, axis=0)
    scores = [psnr(plate, f, ~ever) for f in frames]
    assert np.median(scores) > 32 and min(scores) > 28
    assert coverage[~ever].mean() > 0.97
    assert coverage[always].mean() < coverage[~ever].mean() - 0.1


def test_moving_camera_is_refused(footage: Path, manifest: dict[str, dict[str, Any]]) -> None:
    assert "moving-camera" in manifest["bmx-trees"]["tags"]
    frames = read_frames(footage, manifest, "bmx-trees", list(range(0, 40, 5)), 432)
    with pytest.raises(NotLockedOffError, match="locked-off") as err:
        clean_plate(frames)
    assert isinstance(err.value, RushesError) and "\n" not in str(err.value)
    pan = [textured(120, 200, 5, t, dx=3) for t in range(8)]  # a synthetic 3 px/frame pan
    with pytest.raises(NotLockedOffError, match=r"camera moves \d+\.\d px"):
        clean_plate(pan)
    plate, _ = clean_plate(pan, check_motion=False)  # asked for anyway: it still votes
    assert plate.shape == pan[0].shape


def test_camera_motion_of_blank_frames_is_unknown() -> None:
    blank = [np.full((60, 80), v, np.float32) for v in (0.4, 0.5, 0.6, 0.7)]
    assert camera_motion(blank, 80) is None
    assert camera_motion(blank[:1], 80) == 0.0


def test_bad_input(background: np.ndarray) -> None:
    f = background[:64, :64]
    with pytest.raises(ValueError, match="at least 3"):
        clean_plate([f, f])
    with pytest.raises(ValueError, match="one shot"):
        clean_plate([f, f, background[:32, :64]])
    bad = f.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clean_plate([f, bad, f])
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        clean_plate([f[..., 0]] * 3)
    with pytest.raises(ValueError, match="max_frames"):
        clean_plate([f] * 3, max_frames=2)
