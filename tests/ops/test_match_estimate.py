"""Tests of shot matching: rushes.ops.match_estimate and its kernels (match_fit, match_frames,
match_regions, match_distribution, match_apply)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from rushes.color import Cdl, Lut3d, convert, delta_e_images
from rushes.errors import ColorError, RushesError
from rushes.ops.match_apply import apply_exact, apply_fast
from rushes.ops.match_distribution import counterpart_weights, support_pairs
from rushes.ops.match_estimate import (
    METHODS,
    MatchResult,
    apply_match,
    estimate_match,
)
from rushes.ops.match_fit import (
    IDENTITY_THETA,
    aggregate_pairs,
    cdl_jacobian,
    cdl_to_theta,
    fit_cdl,
    fit_residual_lut,
    gains_to_theta,
    theta_to_cdl,
)
from rushes.ops.match_frames import clipped_mask, prepare_frames
from tests.conftest import read_frames

WHITE = 0.5547  # ACEScct of display white (sRGB 1.0)
BLACK = 0.0729  # ACEScct of linear 0

# --------------------------------------------------------------------------------------------
# Synthetic footage: a textured scene (features for ORB, a spread of colours) seen in crops.


def scene(h: int = 400, w: int = 720, seed: int = 0) -> np.ndarray:
    """ACEScct float32 (h, w, 3) in ~[0.12, 0.7]: colour blobs, a mid texture and fine grain."""
    rng = np.random.default_rng(seed)
    blobs = rng.uniform(0.22, 0.5, (5, 8, 3)).astype(np.float32)
    blobs = cv2.resize(blobs, (w, h), interpolation=cv2.INTER_LINEAR)
    tex = cv2.resize(
        rng.random((h // 6, w // 6)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC
    )
    fine = cv2.resize(
        rng.random((h // 2, w // 2)).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR
    )
    img = blobs + 0.08 * (tex[..., None] - 0.5) + 0.03 * (fine[..., None] - 0.5)
    return np.clip(img, 0.12, 0.7).astype(np.float32)


VIEWS = [(0, 0), (20, 40), (40, 80), (60, 30)]


def crop(img: np.ndarray, y: int, x: int, h: int = 300, w: int = 540) -> np.ndarray:
    return img[y : y + h, x : x + w].copy()


#: A grade a single CDL inverts exactly in both directions (power 1).
GRADE = Cdl((1.08, 0.95, 1.02), (0.015, -0.01, 0.02), (1.0, 1.0, 1.0), 1.12)


@pytest.fixture(scope="module")
def big() -> np.ndarray:
    return scene()


@pytest.fixture(scope="module")
def views(big: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(shot, ref): shot = two crops, ungraded; ref = two other crops, graded by GRADE."""
    ref = [GRADE.apply(crop(big, *v)) for v in VIEWS[:2]]
    shot = [crop(big, *v) for v in VIEWS[2:]]
    return shot, ref


def mean_de(result: MatchResult, frame: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean ΔE2000 between the matched frame and the frame under the true grade."""
    de = delta_e_images(apply_match(frame, result), GRADE.apply(frame), "ACEScct")
    return float(de[mask].mean() if mask is not None else de.mean())


def assert_params(cdl: Cdl, truth: Cdl, slope: float, offset: float, power: float, sat: float):
    np.testing.assert_allclose(cdl.slope, truth.slope, atol=slope)
    np.testing.assert_allclose(cdl.offset, truth.offset, atol=offset)
    np.testing.assert_allclose(cdl.power, truth.power, atol=power)
    assert abs(cdl.saturation - truth.saturation) <= sat


# --------------------------------------------------------------------------------------------
# Identity


@pytest.mark.parametrize("method", ["auto", "distribution"])
def test_shot_matched_to_itself_is_identity(views: Any, method: str) -> None:
    shot, _ = views
    result = estimate_match(shot, shot, method=method)
    assert result.cdl.is_identity(1e-3), result.cdl
    assert result.lut is None
    assert abs(result.exposure_stops) < 1e-3
    np.testing.assert_allclose(result.white_balance, 1.0, atol=1e-3)
    out = apply_match(shot[0], result)
    np.testing.assert_allclose(out, shot[0], atol=1e-4)
    assert 0.5 < result.confidence <= 1.0  # every pixel has its exact counterpart


def test_identity_result_is_a_copy(views: Any) -> None:
    shot, _ = views
    result = estimate_match(shot[:1], shot[:1])
    assert result.method == "regions" and result.confidence > 0.9
    out = apply_match(shot[0], result)
    assert out is not shot[0] and np.array_equal(out, shot[0])


# --------------------------------------------------------------------------------------------
# Known grades


def test_known_grade_recovered_by_regions(views: Any) -> None:
    shot, ref = views
    result = estimate_match(shot, ref)
    assert result.method == "regions"
    assert result.confidence > 0.5
    assert_params(result.cdl, GRADE, slope=0.04, offset=0.015, power=0.03, sat=0.05)
    assert mean_de(result, shot[0]) < 0.5
    assert all(isinstance(v, float) for v in result.stats.values())
    json.dumps(result.stats)  # JSON-ready for the proposal


def test_known_grade_with_power_and_exposure_recovered(big: np.ndarray) -> None:
    """Exposure in linear + a CDL with powers: the CDL (+ LUT) reproduces it closely."""
    grade = Cdl((0.92, 1.05, 1.1), (0.03, 0.0, -0.02), (1.1, 0.95, 0.9), 0.9)

    def graded(img: np.ndarray) -> np.ndarray:
        lin = convert(img, "ACEScct", "ACEScg") * np.float32(2.0**0.7)
        return grade.apply(convert(lin, "ACEScg", "ACEScct"))

    ref = [graded(crop(big, *v)) for v in VIEWS[:2]]
    shot = [crop(big, *v) for v in VIEWS[2:]]
    result = estimate_match(shot, ref)
    de = delta_e_images(apply_match(shot[0], result), graded(shot[0]), "ACEScct")
    assert float(de.mean()) < 0.6
    assert result.exposure_stops > 0.3  # the reference is brighter


def test_known_grade_recovered_by_distribution(views: Any) -> None:
    shot, ref = views
    result = estimate_match(shot, ref, method="distribution")
    assert result.method == "distribution"
    assert mean_de(result, shot[0]) < 2.0
    assert_params(result.cdl, GRADE, slope=0.1, offset=0.04, power=0.05, sat=0.1)


def test_exposure_and_white_balance_reported(big: np.ndarray) -> None:
    """A pure linear gain: exposure and balance come out as the gains; the CDL as offsets."""
    gains = np.array([1.3, 1.0, 0.8], np.float32) * np.float32(2.0**-0.5)

    def graded(img: np.ndarray) -> np.ndarray:
        return convert(convert(img, "ACEScct", "ACEScg") * gains, "ACEScg", "ACEScct")

    shot = [crop(big, *v) for v in VIEWS[2:]]
    ref = [graded(crop(big, *v)) for v in VIEWS[:2]]
    result = estimate_match(shot, ref)
    total = 2.0**result.exposure_stops * np.asarray(result.white_balance)
    np.testing.assert_allclose(total, gains, rtol=0.03)
    np.testing.assert_allclose(result.cdl.offset, np.log2(gains) / 17.52, atol=0.01)
    np.testing.assert_allclose(result.cdl.slope, 1.0, atol=0.03)


# --------------------------------------------------------------------------------------------
# Clipping and content that has no counterpart


def test_clipped_pixels_ignored(views: Any) -> None:
    shot, ref = views
    ref_c = [r.copy() for r in ref]
    ref_c[0][:120, :250] = WHITE  # blown highlights
    ref_c[1][150:, 300:] = WHITE
    shot_c = [s.copy() for s in shot]
    shot_c[0][200:, :200] = BLACK  # crushed blacks
    shot_c[1][:, :60] = 1.2  # above clip_high
    for method in ("regions", "distribution"):
        clean = estimate_match(shot, ref, method=method)
        clipped = estimate_match(shot_c, ref_c, method=method)
        limit = 0.5 if method == "regions" else 2.0
        assert mean_de(clipped, shot[0]) < limit
        assert mean_de(clipped, shot[0]) < mean_de(clean, shot[0]) + 0.3
        np.testing.assert_allclose(clipped.cdl.offset, clean.cdl.offset, atol=0.02)


def test_clipped_mask_finds_clip_levels() -> None:
    img = scene(120, 200, 3)
    img[:30, :50] = WHITE  # a clip level inside [clip_low, clip_high]
    img[100:, 150:] = BLACK + 0.02  # crushed to a level above clip_low
    mask = clipped_mask(img, 0.08, 1.0)
    assert mask[:30, :50].all() and mask[100:, 150:].all()
    assert mask.mean() < 0.2  # grown by one pixel only
    assert not clipped_mask(scene(120, 200, 4), 0.08, 1.0).any()


def _red_object(frames: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Paint a large textured red object (~23% of the frame) into copies of ``frames``."""
    rng = np.random.default_rng(5)
    out = []
    for f in frames:
        g = f.copy()
        tex = cv2.resize(
            rng.random((15, 25)).astype(np.float32), (250, 150), interpolation=cv2.INTER_CUBIC
        )
        g[60:210, 150:400] = np.array([0.55, 0.2, 0.17], np.float32) + 0.06 * (tex[..., None] - 0.5)
        out.append(g)
    mask = np.ones(frames[0].shape[:2], bool)
    mask[60:210, 150:400] = False
    return out, mask


def test_large_coloured_object_only_in_shot_does_not_drag_regions(views: Any) -> None:
    shot, ref = views
    shot_obj, mask = _red_object(shot)
    result = estimate_match(shot_obj, ref, method="regions")
    assert mean_de(result, shot[0], mask) < 0.5
    assert_params(result.cdl, GRADE, slope=0.04, offset=0.015, power=0.03, sat=0.05)


def test_large_coloured_object_only_in_shot_does_not_drag_distribution(views: Any) -> None:
    shot, ref = views
    shot_obj, mask = _red_object(shot)
    clean = estimate_match(shot, ref, method="distribution")
    dragged = estimate_match(shot_obj, ref, method="distribution")
    assert mean_de(dragged, shot[0], mask) < mean_de(clean, shot[0], mask) + 0.6
    np.testing.assert_allclose(dragged.cdl.slope, clean.cdl.slope, atol=0.03)
    np.testing.assert_allclose(dragged.cdl.offset, clean.cdl.offset, atol=0.015)
    assert dragged.stats["overlap"] < clean.stats["overlap"]


def test_counterpart_weights_fade_colours_without_counterpart() -> None:
    rng = np.random.default_rng(0)
    ref = rng.uniform(0.2, 0.5, (3000, 3))
    shot = np.concatenate(
        [rng.uniform(0.2, 0.5, (2000, 3)), rng.normal([0.6, 0.15, 0.12], 0.01, (800, 3))]
    )
    w = counterpart_weights(shot, ref)
    assert w.shape == (2800,)
    assert w[:2000].mean() > 0.8 and w[2000:].max() < 0.2


def test_no_overlap_in_content_raises() -> None:
    """A green ramp (shot) cannot be graded into a ring of hues (reference), nor aligned."""
    rng = np.random.default_rng(1)
    h, w = 120, 160
    t = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    ramp = np.array([0.15, 0.2, 0.12]) + t * np.array([0.2, 0.4, 0.15])
    yy, xx = np.mgrid[0:h, 0:w]
    ang = np.arctan2(yy - h / 2, xx - w / 2)
    ring = np.stack([0.4 + 0.15 * np.cos(ang + p) for p in (0.0, -2.1, 2.1)], axis=-1)

    def noisy(img: np.ndarray) -> np.ndarray:
        return np.clip(img + 0.01 * rng.standard_normal((h, w, 3)), 0.1, 0.9).astype(np.float32)

    green = [noisy(np.broadcast_to(ramp, (h, w, 3))) for _ in range(2)]
    hues = [noisy(ring) for _ in range(2)]
    with pytest.raises(ColorError, match="share almost no colours"):
        estimate_match(green, hues)
    with pytest.raises(ColorError, match="could be aligned"):
        estimate_match(green, hues, method="regions")


# --------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("ref", "match"),
    [
        ([np.full((90, 120, 3), BLACK, np.float32)] * 2, "all black"),
        ([np.zeros((90, 120, 3), np.float32)] * 2, "all black"),
        ([np.full((90, 120, 3), WHITE, np.float32)] * 2, "blown out"),
        ([np.full((90, 120, 3), 1.3, np.float32)] * 2, "blown out"),
    ],
)
def test_unusable_reference_raises(views: Any, ref: list[np.ndarray], match: str) -> None:
    shot, _ = views
    with pytest.raises(ColorError, match=match):
        estimate_match(shot, ref)


def test_bad_input_raises_clear_errors(views: Any) -> None:
    shot, ref = views
    nan = shot[0].copy()
    nan[10, 10, 1] = np.nan
    cases: list[tuple[Any, Any, dict[str, Any], str]] = [
        ([nan], ref, {}, "NaN"),
        (shot, [np.full((90, 120, 3), np.inf, np.float32)], {}, "NaN or infinite"),
        ([shot[0][..., 0]], ref, {}, r"shape \(300, 540\)"),
        ([np.ones((90, 120, 4), np.float32)], ref, {}, "give \\(H, W, 3\\)"),
        ([], ref, {}, "no shot frames"),
        (shot, [], {}, "no reference frames"),
        (shot[0], ref, {}, "one array"),
        ([(shot[0] * 255).astype(np.uint8)], ref, {}, "uint8"),
        ([shot[0][:8, :8]], ref, {}, "at least 16x16"),
        (shot, ref, {"method": "magic"}, "unknown match method"),
        (shot, ref, {"clip_low": 0.6, "clip_high": 0.5}, "clip_low"),
        (None, ref, {}, "NoneType"),
    ]
    for s, r, kw, match in cases:
        with pytest.raises(ColorError, match=match):
            estimate_match(s, r, **kw)
    assert issubclass(ColorError, RushesError)


def test_methods_table() -> None:
    assert set(METHODS) == {"regions", "distribution"}


# --------------------------------------------------------------------------------------------
# Application


def _result(lut: Lut3d | None) -> MatchResult:
    cdl = Cdl((1.1, 0.9, 1.05), (0.02, -0.01, 0.0), (1.15, 0.9, 1.0), 1.2)
    return MatchResult(cdl, lut, 0.0, (1.0, 1.0, 1.0), 1.0, "regions")


def test_apply_match_fast_path_equals_exact() -> None:
    lut = Lut3d.from_function(lambda v: v + 0.02 * np.sin(5 * v), size=33)
    rgb = scene(64, 96, 7)
    rgb[0, :4] = [[-0.1, 0.3, 0.3], [1.3, 0.5, 0.4], [0.5, np.nan, 0.4], [0.0, 1.0, 0.5]]
    for res in (_result(None), _result(lut)):
        exact = apply_match(rgb, res, fast=False)
        fast = apply_match(rgb, res)
        np.testing.assert_allclose(fast, exact, atol=3e-4)
        assert np.isnan(fast[0, 2]).any() and np.isnan(exact[0, 2]).any()
        # out-of-domain pixels go through the exact path bit for bit
        np.testing.assert_array_equal(fast[0, :2], exact[0, :2])
    np.testing.assert_allclose(
        apply_exact(rgb[1:], res.cdl, lut), lut.apply(res.cdl.apply(rgb[1:])), atol=0
    )


def test_apply_match_shapes_and_purity() -> None:
    res = _result(Lut3d.from_function(lambda v: v**1.05, size=17))
    chunk = np.stack([scene(32, 48, s) for s in range(3)])
    before = chunk.copy()
    out = apply_match(chunk, res)
    assert out.shape == chunk.shape and out.dtype == np.float32
    np.testing.assert_array_equal(chunk, before)
    exact = apply_match(chunk, res, fast=False)
    np.testing.assert_array_equal(exact[1], apply_match(chunk[1], res, fast=False))
    np.testing.assert_allclose(out, exact, atol=3e-4)
    flat = apply_fast(chunk.reshape(-1, 3), res.cdl, res.lut)
    np.testing.assert_allclose(flat.reshape(chunk.shape), out, atol=1e-6)
    with pytest.raises(ColorError, match="last axis 3"):
        apply_match(np.zeros((4, 4, 4), np.float32), res)


def test_distinct_grades_do_not_share_a_processor() -> None:
    """OCIO caches processors by transform without the LUT data; ours must not mix grades."""
    rgb = scene(70, 80, 2)
    a = Lut3d.from_function(lambda v: v * 0.9, size=17)
    b = Lut3d.from_function(lambda v: v * 0.8 + 0.1, size=17)
    ident = Cdl()
    out_a = apply_match(rgb, MatchResult(ident, a, 0, (1, 1, 1), 1, "regions"))
    out_b = apply_match(rgb, MatchResult(ident, b, 0, (1, 1, 1), 1, "regions"))
    np.testing.assert_allclose(out_a, rgb * 0.9, atol=2e-4)
    np.testing.assert_allclose(out_b, rgb * 0.8 + 0.1, atol=2e-4)


# --------------------------------------------------------------------------------------------
# Kernels


def test_fit_cdl_recovers_parameters_from_pairs() -> None:
    rng = np.random.default_rng(0)
    truth = Cdl((1.1, 0.95, 1.05), (0.02, -0.01, 0.0), (1.1, 1.0, 0.9), 1.15)
    x = rng.uniform(0.08, 0.9, (6000, 3)).astype(np.float32)
    y = truth.apply(x).astype(np.float64)
    y[:600] += rng.normal(0, 0.2, (600, 3))  # 10% gross outliers
    fit = fit_cdl(x, y, np.ones(len(x)), IDENTITY_THETA)
    assert_params(theta_to_cdl(fit.theta), truth, slope=0.02, offset=0.01, power=0.02, sat=0.02)
    assert 0.85 < fit.inlier_fraction < 0.95


def test_fit_cdl_of_agreeing_pairs_keeps_the_start() -> None:
    x = scene(40, 50, 1).reshape(-1, 3)
    fit = fit_cdl(x, x, np.ones(len(x)), IDENTITY_THETA)
    np.testing.assert_allclose(fit.theta, IDENTITY_THETA, atol=1e-9)
    assert fit.rms == 0.0


def test_cdl_jacobian_matches_finite_differences() -> None:
    rng = np.random.default_rng(2)
    x = rng.uniform(0.1, 0.8, (50, 3))
    theta = np.array([1.1, 0.9, 1.05, 0.02, -0.01, 0.01, 1.2, 0.9, 1.0, 1.3])
    jac = cdl_jacobian(x, theta)
    eps = 1e-3  # the kernel computes in float32
    for m in range(10):
        tp, tm = theta.copy(), theta.copy()
        tp[m] += eps
        tm[m] -= eps
        num = (
            theta_to_cdl(tp).apply(x.astype(np.float64))
            - theta_to_cdl(tm).apply(x.astype(np.float64))
        ) / (2 * eps)
        np.testing.assert_allclose(jac[:, :, m], num, atol=2e-4)


def test_theta_round_trip_and_gains() -> None:
    cdl = Cdl((1.1, 0.9, 1.0), (0.01, 0.02, -0.03), (1.2, 0.8, 1.0), 0.7)
    assert theta_to_cdl(cdl_to_theta(cdl)) == cdl
    theta = gains_to_theta(np.array([2.0, 1.0, 0.5]))
    np.testing.assert_allclose(theta[3:6], [1 / 17.52, 0.0, -1 / 17.52])


def test_aggregate_pairs_keeps_identity_and_caps_weight() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (5000, 3))
    x[:3000] = 0.5  # one huge uniform area
    xa, ya, wa = aggregate_pairs(x, x, np.ones(len(x)))
    np.testing.assert_array_equal(xa, ya)
    assert wa.max() <= 0.02 * 5000 + 1e-9  # the uniform area weighs 2% of all, not 60%


def test_fit_residual_lut_none_when_nothing_to_fix_and_smooth_otherwise() -> None:
    rng = np.random.default_rng(4)
    u = rng.uniform(0.15, 0.6, (4000, 3))
    lut, fitted = fit_residual_lut(u, np.zeros_like(u), np.ones(len(u)))
    assert lut is None and not fitted.any()
    r = 0.03 * np.sin(6 * u) * np.array([1.0, -0.5, 0.7]) + rng.normal(0, 0.003, u.shape)
    lut, fitted = fit_residual_lut(u, r, np.ones(len(u)))
    assert lut is not None and lut.size == 33
    truth = 0.03 * np.sin(6 * u) * np.array([1.0, -0.5, 0.7])
    assert np.sqrt(((fitted - truth) ** 2).mean()) < 0.004
    # far from the data (bright saturated corner) it is (close to) the identity
    corner = np.array([[0.95, 0.02, 0.95]], np.float32)
    np.testing.assert_allclose(lut.apply(corner), corner, atol=0.01)


def test_support_pairs_of_identical_clouds_pair_each_sample_with_itself() -> None:
    rng = np.random.default_rng(6)
    c = rng.uniform(0.1, 0.6, (500, 3))
    x, y, w = support_pairs(c, c, np.ones(500), c, np.ones(500), k=1)
    np.testing.assert_array_equal(x, y)
    assert x.shape == (1000, 3) and w.shape == (1000,)


def test_prepare_frames_downscales_and_keeps_aspect() -> None:
    frames = prepare_frames([scene(1080 // 4, 1920 // 4, 0)], "shot", 0.08, 1.0)
    f = frames[0]
    assert max(f.image.shape[:2]) == 256 and f.image.dtype == np.float32
    assert f.valid.shape == f.image.shape[:2] and f.luma.dtype == np.uint8


# --------------------------------------------------------------------------------------------
# Real footage


@pytest.mark.footage
def test_known_grade_recovered_on_real_footage(
    footage: Path, manifest: dict[str, dict[str, Any]]
) -> None:
    from rushes.color import guess_colorspace

    n = manifest["juggle_sam2"]["frames"] if "juggle_sam2" in manifest else 0
    indices = [n // 8, n // 4, 3 * n // 8, 5 * n // 8, 3 * n // 4, 7 * n // 8]
    frames = read_frames(footage, manifest, "juggle_sam2", indices, 480)
    space = guess_colorspace("h264", "yuv420p", 8, {}, "movie")
    cct = [convert(f, space, "ACEScct") for f in frames]
    grade = Cdl((1.1, 0.95, 1.0), (-0.02, 0.015, 0.03), (1.0, 1.0, 1.0), 1.0)
    inverse = grade.inverse()
    assert inverse is not None
    ref, shot = cct[:3], [grade.apply(f) for f in cct[3:]]
    result = estimate_match(shot, ref)
    assert result.method == "regions" and result.confidence > 0.4
    assert_params(result.cdl, inverse, slope=0.05, offset=0.02, power=0.05, sat=0.05)
    out = [convert(apply_match(f, result), "ACEScct", space) for f in shot]
    de = np.concatenate(
        [
            delta_e_images(np.clip(o, 0, 1), np.clip(t, 0, 1), space).ravel()
            for o, t in zip(out, frames[3:], strict=True)
        ]
    )
    assert float(de.mean()) < 1.0
