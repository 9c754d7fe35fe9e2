"""Estimate the grade that makes one shot look like another: exposure, white balance, CDL, LUT.

The two shots may frame different content (another angle, a punch-in, another take). From a few
sampled frames of each, in ACEScct (the grading space), :func:`estimate_match` finds:

1. **Correspondences** between shot colours and reference colours, by one of :data:`METHODS`:

   - ``"regions"`` (:mod:`rushes.ops.match_regions`): the shots share content; each shot frame
     is aligned to a reference frame (ORB + RANSAC homography) and co-located pixels are paired.
   - ``"distribution"`` (:mod:`rushes.ops.match_distribution`): the shots share a scene but no
     matching features; tiled samples of the graded shot and of the reference are paired with
     their nearest neighbours on the other side (iterative closest points on the colour
     clouds), and colours with no counterpart on the other side are faded out, round after
     round.

   ``"auto"`` uses regions when at least one shot frame aligns, distribution otherwise.
2. **Exposure and white balance**, in scene-linear ACEScg: per-channel gains from the median log
   ratio of corresponding values (regions) or of the two distributions (distribution), on
   unclipped values only.
3. **An ASC CDL** (slope, offset, power, saturation) fitted to the correspondences by robust
   least squares (soft-L1 loss, starting from the gains), in ACEScct.
4. **An optional residual 3D LUT** (ACEScct -> ACEScct, 33^3, applied after the CDL) for what a
   CDL cannot express, fitted smoothly on a coarse lattice and left out when negligible.

:func:`apply_match` applies the result (CDL, then LUT). Estimation and application are separate:
the result is a proposal that a colourist reviews.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> frame = (0.25 + 0.3 * rng.random((64, 64, 3))).astype(np.float32)
    >>> result = estimate_match([frame], [frame])
    >>> result.cdl.is_identity(1e-3), result.lut is None
    (True, True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rushes.color.cdl import Cdl, apply_cdl
from rushes.color.lut import Lut3d
from rushes.color.ocio import convert
from rushes.errors import ColorError
from rushes.ops.match_apply import apply_exact, apply_fast
from rushes.ops.match_distribution import counterpart_weights, support_pairs, tile_samples
from rushes.ops.match_fit import (
    CCT_PER_STOP,
    LOWER,
    UPPER,
    CdlFit,
    fit_cdl,
    fit_residual_lut,
    gains_to_theta,
    theta_to_cdl,
    weighted_median,
)
from rushes.ops.match_frames import PreparedFrame, prepare_frames
from rushes.ops.match_regions import MIN_AGREEMENT, align_frames, keypoint_pairs, region_pairs

__all__ = [
    "CLIP_HIGH",
    "CLIP_LOW",
    "METHODS",
    "MatchResult",
    "apply_match",
    "estimate_match",
]

#: Default crush level, ACEScct (linear -0.0057; linear 0 is 0.0729): only values that are not
#: pictures at all. Real crushes (an encoded black, a graded clamp) sit above it and are found
#: per frame as clip levels (see :func:`rushes.ops.match_frames.clipped_mask`); a grade may
#: legitimately put deep shadows between 0 and 0.0729.
CLIP_LOW = 0.01
#: Default clip level, ACEScct (linear ~222). Clips below it (display white is ACEScct 0.5547, a
#: camera's sensor clip is lower still) are found per frame as clip levels, see
#: :func:`rushes.ops.match_frames.clipped_mask`.
CLIP_HIGH = 1.0
#: Share of a side's pixels that must be unclipped.
MIN_VALID = 0.02
#: Correspondences the regions method needs.
MIN_PAIRS = 150
#: Share of colours (weighted) that must have a counterpart in the other shot (distribution).
MIN_OVERLAP = 0.25
#: Rounds of (weight, pair, fit) of the distribution method with 16 neighbours, then with 1.
DISTRIBUTION_ROUNDS = 5
FINAL_ROUNDS = 2
#: Over-relaxation of the distribution method's averaged rounds.
OVER_RELAX = 1.8
#: Residual-LUT lattice size.
LUT_SIZE = 33
#: ACES AP1 luminance weights (ACEScg), used to split the gains into exposure and balance.
AP1_LUMINANCE = np.array([0.2722287168, 0.6740817658, 0.0536895174])
#: Linear mid-tones used for the gains: ACEScg values in [2^-7, 2^2] (on ACEScct's log segment).
_MID_LO, _MID_HI = 2.0**-7, 4.0


@dataclass(frozen=True)
class MatchResult:
    """The grade that makes a shot look like its reference.

    Attributes:
        cdl: the ASC CDL, in the grading space (ACEScct code values).
        lut: optional residual 33^3 LUT, ACEScct -> ACEScct over [0, 1], applied after the CDL.
        exposure_stops: the exposure part of the correction (stops, + brightens), for display.
        white_balance: per-channel linear gains (ACEScg) after the exposure is taken out, for
            display; the total linear gain is ``2 ** exposure_stops * white_balance``.
        confidence: in [0, 1]; low when the shots overlap little in content or disagree.
        method: ``"regions"`` or ``"distribution"``.
        stats: residual error estimates and diagnostics, plain floats (JSON-ready):
            ``pairs`` (correspondences fitted), ``rms_cdl`` / ``rms_cdl_stops`` (weighted RMS
            residual after the CDL, code values / stops), ``rms_lut`` (after CDL + LUT, when
            ``residual_lut``), ``inlier_fraction`` (weight share of pairs within 0.03 code
            values); regions: ``tile_pairs``, ``keypoint_pairs``, ``aligned_frames`` (by
            homography), ``matched_frames``, ``agreement`` (mean structural agreement of the
            aligned frames); distribution: ``overlap`` (share of colours with a counterpart).
    """

    cdl: Cdl
    lut: Lut3d | None
    exposure_stops: float
    white_balance: tuple[float, float, float]
    confidence: float
    method: str
    stats: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class _Estimate:
    """What a method returns: the CDL, the pairs it was fitted on and diagnostics."""

    theta: np.ndarray
    gains: np.ndarray
    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    confidence: float
    stats: dict[str, float]


# --------------------------------------------------------------------------------------------
# Exposure and white balance (scene-linear)


def _to_linear(cct: np.ndarray) -> np.ndarray:
    return convert(np.asarray(cct, np.float32), "ACEScct", "ACEScg").astype(np.float64)


def _pair_gains(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per-channel gains ``y / x`` in ACEScg: weighted median log ratio on mid-tones."""
    xl, yl = _to_linear(x), _to_linear(y)
    gains = np.ones(3)
    for c in range(3):
        ok = (xl[:, c] > _MID_LO) & (xl[:, c] < _MID_HI) & (yl[:, c] > _MID_LO)
        ok &= yl[:, c] < _MID_HI
        if np.count_nonzero(ok) >= 16:
            ratio = np.log2(yl[ok, c]) - np.log2(xl[ok, c])
            gains[c] = 2.0 ** weighted_median(ratio, w[ok])
    return gains


def _distribution_gains(
    xs: np.ndarray, wx: np.ndarray, ys: np.ndarray, wy: np.ndarray
) -> np.ndarray:
    """Per-channel gains in ACEScg: ratio of the weighted medians of mid-tone samples."""
    xl, yl = _to_linear(xs), _to_linear(ys)
    gains = np.ones(3)
    for c in range(3):
        okx = (xl[:, c] > _MID_LO) & (xl[:, c] < _MID_HI)
        oky = (yl[:, c] > _MID_LO) & (yl[:, c] < _MID_HI)
        if np.count_nonzero(okx) >= 16 and np.count_nonzero(oky) >= 16:
            mx = weighted_median(np.log2(xl[okx, c]), wx[okx])
            my = weighted_median(np.log2(yl[oky, c]), wy[oky])
            gains[c] = 2.0 ** (my - mx)
    return gains


def _split_gains(gains: np.ndarray) -> tuple[float, tuple[float, float, float]]:
    """Exposure (stops, luminance-weighted log mean) and the remaining per-channel balance."""
    stops = float(AP1_LUMINANCE @ np.log2(gains))
    wb = gains / 2.0**stops
    return stops, (float(wb[0]), float(wb[1]), float(wb[2]))


# --------------------------------------------------------------------------------------------
# Methods


def _robust_refit(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, theta: np.ndarray
) -> tuple[CdlFit, np.ndarray]:
    """Fit, down-weight pairs the fit cannot explain (moving people, parallax), refit."""
    fit = fit_cdl(x, y, w, theta)
    sigma = max(0.004, 1.4826 * weighted_median(fit.residual, w))
    w2 = w / (1.0 + (fit.residual / (3.0 * sigma)) ** 2)
    fit = fit_cdl(x, y, w2, fit.theta)
    return fit, w2


def _estimate_regions(shot: list[PreparedFrame], ref: list[PreparedFrame]) -> _Estimate | None:
    """Corresponding regions; None when the shots share too little content."""
    corr = align_frames(shot, ref)
    if not corr:
        return None
    x1, y1, w1, agreement = region_pairs(shot, ref, corr.alignments)
    x2, y2, w2 = keypoint_pairs(shot, ref, corr.keypoints)
    x, y, w = np.concatenate([x1, x2]), np.concatenate([y1, y2]), np.concatenate([w1, w2])
    if len(x) < MIN_PAIRS:
        return None
    gains = _pair_gains(x, y, w)
    fit, w_fit = _robust_refit(x, y, w, gains_to_theta(gains))
    used = [a for a, g in zip(corr.alignments, agreement, strict=True) if g >= MIN_AGREEMENT]
    frames = {a.shot for a in used} | {k.shot for k in corr.keypoints}
    share = len(frames) / len(shot)
    # evidence: homography inliers, or matched keypoints (fewer, noisier: half as strong)
    inliers = [float(a.inliers) for a in used]
    inliers += [0.5 * len(k.shot_points) for k in corr.keypoints]
    strength = min(1.0, float(np.median(inliers)) / 150.0) if inliers else 0.0
    agree = float(np.mean([g for g in agreement if g >= MIN_AGREEMENT])) if used else 0.7
    confidence = float(np.sqrt(share) * strength * agree * fit.inlier_fraction)
    stats = {
        "pairs": float(len(x)),
        "tile_pairs": float(len(x1)),
        "keypoint_pairs": float(len(x2)),
        "aligned_frames": float(len(used)),
        "matched_frames": float(len(frames)),
        "agreement": agree,
        "rms_cdl": fit.rms,
        "inlier_fraction": fit.inlier_fraction,
    }
    return _Estimate(fit.theta, gains, x, y, w_fit, confidence, stats)


def _estimate_distribution(shot: list[PreparedFrame], ref: list[PreparedFrame]) -> _Estimate:
    """Support matching of colour clouds (ICP) with counterpart weighting; raises when the
    colours of the two shots hardly overlap."""
    xs, tx = tile_samples(shot, seed=0)
    ys, ty = tile_samples(ref, seed=0)
    if len(xs) < MIN_PAIRS or len(ys) < MIN_PAIRS:
        raise ColorError(
            f"too few usable pixels to match colours ({len(xs)} in the shot, {len(ys)} in the "
            "reference sample); give more or larger frames"
        )
    gains = _distribution_gains(xs, tx, ys, ty)
    theta = gains_to_theta(gains)
    x, y, w = xs, ys, tx
    wx, wy = tx, ty
    fit = None
    for k in (16,) * DISTRIBUTION_ROUNDS + (1,) * FINAL_ROUNDS:
        graded = apply_cdl(xs, theta[0:3], theta[3:6], theta[6:9], theta[9])
        wx = tx * counterpart_weights(graded, ys)
        wy = ty * counterpart_weights(ys, graded)
        x, y, w = support_pairs(xs, graded, wx, ys, wy, k=k)
        fit = fit_cdl(x, y, w, theta)
        step = float(np.abs(fit.theta - theta).max())
        # Nearest-neighbour pairs only see part of a shift inside a dense cloud, so each round
        # undershoots: over-relax the averaged rounds (not the last, exact ones).
        relax = OVER_RELAX if k > 1 else 1.0
        theta = np.clip(theta + relax * (fit.theta - theta), LOWER, UPPER)
        if k == 1 and step < 1e-5:
            break
    assert fit is not None
    overlap = min(float(wx.sum() / tx.sum()), float(wy.sum() / ty.sum()))
    if overlap < MIN_OVERLAP:
        raise ColorError(
            f"the shot and the reference share almost no colours (only {overlap:.0%} have a "
            "counterpart after matching): they do not look like the same scene; pick a "
            "reference of the same scene"
        )
    confidence = float(0.8 * overlap * fit.inlier_fraction)
    stats = {
        "pairs": float(len(x)),
        "overlap": overlap,
        "rms_cdl": fit.rms,
        "inlier_fraction": fit.inlier_fraction,
    }
    return _Estimate(theta, gains, x, y, w, confidence, stats)


Estimator = Callable[[list[PreparedFrame], list[PreparedFrame]], "_Estimate | None"]

#: Correspondence methods by name (``"auto"`` picks one; see the module docstring).
METHODS: dict[str, Estimator] = {
    "regions": _estimate_regions,
    "distribution": _estimate_distribution,
}


# --------------------------------------------------------------------------------------------
# Front functions


def _check_usable(
    frames: list[PreparedFrame], name: str, clip_low: float, clip_high: float
) -> None:
    """Raise when too few pixels of one side are usable (all black or blown out)."""
    valid = sum(int(f.valid.sum()) for f in frames)
    total = sum(f.valid.size for f in frames)
    if valid < MIN_VALID * total:
        mean = float(np.mean([f.image.mean() for f in frames]))
        what = "all black" if mean < 0.5 * (clip_low + clip_high) else "blown out"
        raise ColorError(
            f"the {name} is {what}: only {valid / total:.1%} of its pixels are between "
            f"{clip_low:g} and {clip_high:g} ACEScct and not clipped; give frames with usable "
            "exposure"
        )


def estimate_match(
    shot: Sequence[np.ndarray],
    ref: Sequence[np.ndarray],
    *,
    method: str = "auto",
    residual_lut: bool = True,
    clip_low: float = CLIP_LOW,
    clip_high: float = CLIP_HIGH,
) -> MatchResult:
    """Estimate the grade (CDL + optional residual LUT) that makes ``shot`` look like ``ref``.

    Args:
        shot: a few sampled frames of the shot to grade, ACEScct code values (float32; any
            size, downscaled inside to a long side of 256). Shape: each ``(H, W, 3)``.
        ref: a few sampled frames of the reference shot, same encoding; sizes may differ from
            the shot's. Shape: each ``(H, W, 3)``.
        method: ``"auto"``, ``"regions"`` or ``"distribution"`` (see :data:`METHODS`).
        residual_lut: also fit a residual 33^3 LUT for what the CDL cannot express.
        clip_low: ACEScct code values at or below this are ignored as crushed.
        clip_high: ACEScct code values at or above this are ignored as clipped (clip levels
            below it are detected per frame).

    Returns:
        The :class:`MatchResult`; ``apply_match(shot_frame, result)`` then looks like ``ref``.

    Raises:
        ColorError: no frames, frames that are not ``(H, W, 3)`` floats, NaN/inf values, an
            unknown method, an all-black or blown-out shot or reference, shots that share no
            content (``"regions"`` finds no alignment; ``"distribution"`` finds too few
            colours with a counterpart).
    """
    if method != "auto" and method not in METHODS:
        raise ColorError(f"unknown match method {method!r}; use 'auto' or one of {sorted(METHODS)}")
    if not clip_low < clip_high:
        raise ColorError(f"clip_low {clip_low} must be below clip_high {clip_high}")
    sp = prepare_frames(shot, "shot", clip_low, clip_high)
    rp = prepare_frames(ref, "reference", clip_low, clip_high)
    _check_usable(rp, "reference", clip_low, clip_high)
    _check_usable(sp, "shot", clip_low, clip_high)

    est: _Estimate | None = None
    used = method
    if method in ("auto", "regions"):
        est = METHODS["regions"](sp, rp)
        used = "regions"
        if est is None and method == "regions":
            raise ColorError(
                "no shot frame could be aligned to a reference frame (too few matching "
                "features): the shots do not share content; use method='distribution' for "
                "shots of the same scene from different views"
            )
    if est is None:
        est = METHODS["distribution"](sp, rp)
        used = "distribution"
    assert est is not None  # the distribution method raises rather than return None

    cdl = theta_to_cdl(est.theta)
    graded = cdl.apply(est.x)
    residual = est.y.astype(np.float64) - graded
    lut: Lut3d | None = None
    stats = dict(est.stats)
    wsum = float(est.w.sum())
    if residual_lut:
        lut, fitted = fit_residual_lut(graded, residual, est.w, size=LUT_SIZE)
        rest = residual - fitted
        stats["rms_lut"] = float(np.sqrt((est.w * (rest**2).sum(axis=1)).sum() / wsum))
    stats["rms_cdl_stops"] = stats["rms_cdl"] / CCT_PER_STOP
    stops, wb = _split_gains(est.gains)
    return MatchResult(
        cdl=cdl,
        lut=lut,
        exposure_stops=stops,
        white_balance=wb,
        confidence=float(np.clip(est.confidence, 0.0, 1.0)),
        method=used,
        stats={k: float(v) for k, v in stats.items()},
    )


def apply_match(rgb: np.ndarray, result: MatchResult, *, fast: bool = True) -> np.ndarray:
    """Apply a match grade: the CDL, then the residual LUT; ACEScct in, ACEScct out.

    Args:
        rgb: ACEScct code values (float32), any range. Shape: ``(..., 3)``, e.g. a frame
            ``(H, W, 3)`` or a chunk ``(N, H, W, 3)``.
        result: from :func:`estimate_match`.
        fast: bake CDL and LUT into one 65^3 lattice applied by OpenColorIO (within ~2e-4
            code values of the exact path, 10x faster); False: :meth:`Cdl.apply` then
            :meth:`Lut3d.apply`.

    Returns:
        float32 ACEScct code values; a new array (the input is never modified).

    Shape:
        - rgb: ``(..., 3)``
        - output: same as ``rgb``

    Raises:
        ColorError: ``rgb`` does not end in an axis of 3.
    """
    x = np.asarray(rgb)
    if x.ndim == 0 or x.shape[-1] != 3:
        raise ColorError(f"apply_match got shape {x.shape}; give ACEScct RGB with a last axis 3")
    x = x.astype(np.float32, copy=False)
    if result.lut is None and result.cdl.is_identity(0.0):
        return x.copy()
    if fast and x.size >= 3 * 4096:
        return apply_fast(x, result.cdl, result.lut)
    return apply_exact(x, result.cdl, result.lut)
