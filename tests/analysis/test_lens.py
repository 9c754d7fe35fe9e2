"""Tests for rushes.analysis.lens: the division model, its remap helpers and the plumb-line
estimator (against OpenCV's chessboard calibration and synthetic distortion of real frames)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from rushes.analysis.lens import (
    LENS_VERSION,
    LensEstimate,
    LineSet,
    distort_points,
    division_from_brown,
    estimate_lens,
    find_lines,
    fit_lens,
    normalise,
    remap_image,
    remap_maps,
    undistort_points,
)
from tests.conftest import read_frames

BOARD = "chessboard_opencv_left"
SIZE = (640, 480)
CROP = 0.8


@pytest.fixture(scope="module")
def boards(footage: Path, manifest: dict[str, dict[str, Any]]) -> list[np.ndarray]:
    """All 13 chessboard views (640x480, real lens: mild barrel), float32 RGB in [0, 1]."""
    return read_frames(footage, manifest, BOARD, list(range(13)), 640)


def gray8(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.round(frame * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)


def crop(img: np.ndarray, c: float = CROP) -> np.ndarray:
    """The centred crop of ``c`` of each side (keeps the centre: k scales by ``c**2``)."""
    h, w = img.shape[:2]
    ch, cw = round(h * c / 2) * 2, round(w * c / 2) * 2
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    return img[y0 : y0 + ch, x0 : x0 + cw]


def composite(k0: float, k: float) -> float:
    """One-parameter division k of a lens ``k0`` photographed again through ``remap_image(...,
    k, direction="distort")``, by least squares over radii 0..0.9 (full-frame normalisation)."""
    r = np.linspace(0.01, 0.9, 500)
    r0 = r / (1 + k * r**2)  # where the distorted output samples the original
    ru = r0 / (1 + k0 * r0**2)  # and where that original pixel is ideally
    a, b = ru * r**2, r - ru
    return float((r * a * b).sum() / (r * a * a).sum())


# --------------------------------------------------------------------------------------------
# the model


@pytest.mark.parametrize(("k1", "k2"), [(-0.3, 0.0), (-0.12, 0.04), (0.15, 0.0), (0.1, -0.05)])
def test_points_round_trip(k1: float, k2: float) -> None:
    rng = np.random.default_rng(0)
    pts = rng.uniform([0, 0], [639, 479], (200, 2))
    und = undistort_points(pts, SIZE, k1, k2)
    back = distort_points(und, SIZE, k1, k2)
    assert np.allclose(back, pts, atol=1e-6)
    centre = np.array([[319.5, 239.5]])
    assert np.allclose(undistort_points(centre, SIZE, k1, k2), centre)  # the centre stays


def test_sign_convention_and_normalisation() -> None:
    corner = np.array([[639.0, 479.0]])
    assert abs(float(np.hypot(*normalise(corner, SIZE)[0])) - 1) < 0.003  # corner at r ~ 1
    # barrel: undistorting pushes the corner out by 1 / (1 + k1 r^2)
    p = normalise(corner, SIZE)
    out = normalise(undistort_points(corner, SIZE, -0.2), SIZE)
    assert np.allclose(out, p / (1 - 0.2 * float((p**2).sum())))
    assert float(np.hypot(*out[0])) > 1.24
    # pincushion pulls it in
    assert np.hypot(*normalise(undistort_points(corner, SIZE, 0.2), SIZE)[0]) < 1
    # a straight line through the frame bows outwards when photographed through barrel
    line = np.stack([np.linspace(0, 639, 9), np.full(9, 60.0)], axis=1)
    seen = distort_points(line, SIZE, -0.2)
    assert seen[4, 1] < seen[0, 1] and seen[4, 1] < seen[-1, 1]  # middle further from centre


def test_folded_points_are_nan() -> None:
    # strong pincushion: far points have no photographed position
    far = np.array([[639.0, 479.0], [319.5, 239.5]])
    got = distort_points(far, SIZE, 0.6)
    assert np.isnan(got[0]).all() and np.allclose(got[1], [319.5, 239.5])


def test_remap_round_trip_and_opencv_maps() -> None:
    rng = np.random.default_rng(1)
    img = cv2.GaussianBlur(rng.random((240, 320, 3), dtype=np.float32), (0, 0), 3)
    there = remap_image(img, -0.15, direction="distort")
    back = remap_image(there, -0.15, direction="undistort")
    assert back.shape == img.shape and back.dtype == img.dtype
    inner = (slice(40, 200), slice(50, 270))
    assert float(np.abs(back[inner] - img[inner]).max()) < 0.02
    mx, my = remap_maps((320, 240), 0.1)
    assert mx.shape == (240, 320) and mx.dtype == np.float32
    pts = np.array([[10.0, 20.0], [300.0, 200.0]])
    src = distort_points(pts, (320, 240), 0.1)
    assert np.allclose([mx[20, 10], my[20, 10]], src[0], atol=1e-3)
    assert np.allclose([mx[200, 300], my[200, 300]], src[1], atol=1e-3)


def test_division_from_brown_first_order() -> None:
    # a tiny Brown k1 at f = R is the same division k1; focal length scales it by (R / f)^2
    assert abs(division_from_brown(-0.01, 0, 0, 400.0, SIZE) + 0.01) < 5e-4
    assert abs(division_from_brown(-0.01, 0, 0, 800.0, SIZE) + 0.0025) < 2e-4
    with pytest.raises(ValueError, match="focal"):
        division_from_brown(-0.1, 0, 0, 0.0, SIZE)


# --------------------------------------------------------------------------------------------
# the estimator on real frames


def test_matches_opencv_chessboard_calibration(boards: list[np.ndarray]) -> None:
    """OpenCV calibrates the lens from the board corners; the plumb-line estimate from the
    same frames' lines (no knowledge of the board) must agree in sign and magnitude."""
    pattern = (9, 6)
    obj = np.zeros((54, 3), np.float32)
    obj[:, :2] = np.mgrid[0:9, 0:6].T.reshape(-1, 2)
    objs, imgs = [], []
    for f in boards:
        g = gray8(f)
        ok, corners = cv2.findChessboardCorners(g, pattern)
        if ok:
            crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 1e-3)
            imgs.append(cv2.cornerSubPix(g, corners, (11, 11), (-1, -1), crit))
            objs.append(obj)
    assert len(imgs) >= 8
    flags = cv2.CALIB_FIX_K3 | cv2.CALIB_ZERO_TANGENT_DIST
    rms, k_mat, dist, _, _ = cv2.calibrateCamera(objs, imgs, SIZE, None, None, flags=flags)
    assert rms < 1.0
    focal = float(k_mat[0, 0] + k_mat[1, 1]) / 2
    expected = division_from_brown(float(dist[0, 0]), float(dist[0, 1]), 0.0, focal, SIZE)
    assert expected < -0.1  # the sample set's known barrel distortion
    est = estimate_lens([gray8(f) for f in boards[:6]])
    assert est.ok and est.lines >= 8 and est.confidence > 0.7, est
    assert abs(est.k1 - expected) < 0.03, (est.k1, expected)
    assert est.residual_after < 0.5 * est.residual_before
    assert est.extra["mattes"] >= 1  # the dark frame line along the top of these images
    two = estimate_lens([gray8(f) for f in boards[:6]], params=2)
    assert abs(two.k1 + two.k2 * 0.5 - expected) < 0.04  # same bend at mid-radius


@pytest.mark.parametrize("k", [-0.12, 0.12])
def test_synthetic_distortion_is_recovered(boards: list[np.ndarray], k: float) -> None:
    frames = [gray8(f) for f in boards[6:9]]
    base = estimate_lens([crop(f) for f in frames])
    made = estimate_lens([crop(remap_image(f, k, direction="distort")) for f in frames])
    assert base.ok and made.ok, (base, made)
    k0 = base.k1 / CROP**2  # back to full-frame normalisation
    got = made.k1 / CROP**2
    assert abs(got - composite(k0, k)) < 0.025, (k0, got, composite(k0, k))
    assert np.sign(got - k0) == np.sign(k)


def test_letterbox_mattes_do_not_pull_k1_to_zero(boards: list[np.ndarray]) -> None:
    frames = [crop(gray8(f)) for f in boards[:3]]
    plain = estimate_lens(frames)
    boxed = []
    for f in frames:
        g = f.copy()
        g[:40] = 0
        g[-40:] = 0
        boxed.append(g)
    est = estimate_lens(boxed)
    assert est.extra["mattes"] >= 2 and abs(est.k1 - plain.k1) < 0.02, (est, plain)


def test_curves_only_give_no_estimate() -> None:
    rng = np.random.default_rng(3)
    tex = cv2.GaussianBlur(rng.random((480, 640), dtype=np.float32), (0, 0), 3)
    img = np.dstack([(tex - tex.min()) / np.ptp(tex)] * 3).astype(np.float32)
    for _ in range(12):
        c = (int(rng.integers(60, 580)), int(rng.integers(60, 420)))
        cv2.circle(img, c, int(rng.integers(30, 150)), (1.0, 0.9, 0.2), 3)
    est = estimate_lens([img, np.full((480, 640, 3), 0.5, np.float32)])
    assert not est.ok and est.confidence == 0.0 and est.k1 == 0.0
    assert "not enough straight lines" in est.note and est.frames == 2
    assert fit_lens(LineSet.empty(4 / 3)).note.startswith("no straight lines")


def test_find_lines_normalises_and_subsamples(boards: list[np.ndarray]) -> None:
    lines = find_lines(boards[0])
    assert lines.count > 5 and lines.points.shape[1] == 2
    assert np.abs(lines.points).max() <= 1.0 and lines.aspect == pytest.approx(4 / 3)
    assert np.bincount(lines.chain).max() <= 200
    half = find_lines(cv2.resize(boards[0], (320, 240), interpolation=cv2.INTER_AREA))
    both = LineSet.concat([lines, half])
    assert both.count == lines.count + half.count and both.frames == 2
    assert both.longest(3).count == 3
    with pytest.raises(ValueError, match="aspect"):
        LineSet.concat([lines, find_lines(boards[0][:, :400])])


def test_record_round_trip() -> None:
    est = LensEstimate(k1=-0.1234567, lines=9, confidence=0.8, note="")
    d = est.to_dict()
    assert d["version"] == LENS_VERSION and d["model"] == "division"
    again = LensEstimate.from_dict(d)
    assert again.k1 == pytest.approx(-0.123457) and again.lines == 9
    with pytest.raises(ValueError, match="learn the project model again"):
        LensEstimate.from_dict(d | {"version": "lens.0"})


def test_bad_input_raises() -> None:
    ok = np.zeros((64, 64, 3), np.float32)
    for bad, match in [
        (np.zeros((2, 64, 64, 3), np.float32), "shape"),
        (np.zeros((16, 16, 3), np.float32), "at least 32x32"),
        (np.full((64, 64, 3), np.nan, np.float32), "NaN"),
        (np.zeros((64, 64), np.int16), "dtype"),
    ]:
        with pytest.raises(ValueError, match=match):
            find_lines(bad)
    with pytest.raises(ValueError, match="no frames"):
        estimate_lens([])
    with pytest.raises(ValueError, match="params"):
        estimate_lens([ok], params=3)
    with pytest.raises(ValueError, match="long_side"):
        find_lines(ok, long_side=10)
    with pytest.raises(ValueError, match="direction"):
        remap_maps((64, 64), 0.1, direction="sideways")
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        undistort_points(np.zeros((3, 3)), (64, 64), 0.1)
    with pytest.raises(ValueError, match="size"):
        undistort_points(np.zeros((3, 2)), (1, 64), 0.1)
