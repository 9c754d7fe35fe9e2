"""Shot matching by corresponding regions: align the shot to the reference, compare pixels.

For shots of the same setup (another take, a punch-in, a slightly different angle) the frames
share content. Each shot frame is aligned to the reference frame it matches best (ORB features
on contrast-normalised luma, ratio test, RANSAC homography with OpenCV); ORB's binary tests
compare intensities, so a grade does not change the features. The aligned frames are compared
tile by tile: in each tile, pixels are ranked by luma in each frame and the mean colours of
equal rank bins are paired (robust to small misregistration). A tile weighs as much as the two
frames agree in local structure there (normalised cross-correlation of luma, which a grade does
not change but a moving person, parallax or a wrong alignment does), and clipped pixels of
either frame never count.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from rushes.color.cdl import LUMA_WEIGHTS
from rushes.ops.match_frames import PreparedFrame

__all__ = [
    "MIN_INLIERS",
    "Alignment",
    "Correspondence",
    "KeypointMatches",
    "align_frames",
    "keypoint_pairs",
    "region_pairs",
]

#: RANSAC inliers a frame pair needs to count as aligned.
MIN_INLIERS = 40
#: ... and the share of ratio-test matches that must be inliers.
MIN_INLIER_RATIO = 0.25
#: Share of the reference frame the convex hull of the inliers must cover.
MIN_SPREAD = 0.08
#: Lowe's ratio test.
RATIO = 0.8
#: Keypoint matches needed for an epipolar check, and the ones kept.
MIN_KEYPOINTS = 20
#: Largest Hamming distance of a keypoint match used for colours (of 256 bits).
MAX_HAMMING = 48
#: Fundamental-matrix RANSAC threshold, feature-image pixels.
EPIPOLAR_PX = 1.5
#: Patch radius around a matched keypoint, as a fraction of the keypoint's size.
PATCH_SCALE = 0.5
#: RANSAC iterations at most (a frame pair with few inliers would otherwise take the longest).
RANSAC_ITERS = 500
#: RANSAC reprojection threshold, feature-image pixels.
RANSAC_PX = 3.0
#: Tile size (analysis pixels) of the co-located colour statistics.
TILE = 12
#: Luma-rank bins per tile (pairs per tile).
RANK_BINS = 3
#: Share of a tile's pixels that must be valid in both frames.
MIN_TILE_SHARE = 0.5
#: Window (analysis pixels) of the local structural agreement (NCC of lumas).
NCC_WINDOW = 24
#: NCC at and below which a window disagrees, and at and above which it fully agrees.
NCC_LOW, NCC_HIGH = 0.3, 0.8
#: Local luma standard deviation (code values) under which a window is too flat to judge.
FLAT_SD = 0.006
#: Weight of flat windows, relative to the alignment's mean agreement.
FLAT_WEIGHT = 0.5
#: An alignment whose textured windows agree less than this on average is not used.
MIN_AGREEMENT = 0.2
#: Share of the reference frame the aligned shot frame must cover.
MIN_OVERLAP = 0.10

_ORB_FEATURES = 1500


@dataclass(frozen=True)
class Alignment:
    """A shot frame aligned to a reference frame by a homography.

    Attributes:
        shot: index of the shot frame.
        ref: index of the reference frame.
        homography: maps shot analysis pixels to reference analysis pixels. Shape: ``(3, 3)``.
        inliers: RANSAC inliers.
        matches: ratio-test matches.
        overlap: share of the reference frame covered by the shot frame.
    """

    shot: int
    ref: int
    homography: np.ndarray
    inliers: int
    matches: int
    overlap: float


@dataclass(frozen=True)
class KeypointMatches:
    """Matched keypoints of a shot frame and a reference frame that no homography explains
    (parallax, another angle), kept when they fit one epipolar geometry.

    Attributes:
        shot: index of the shot frame.
        ref: index of the reference frame.
        shot_points: keypoint centres, shot analysis pixels. Shape: ``(K, 2)``.
        ref_points: keypoint centres, reference analysis pixels. Shape: ``(K, 2)``.
        shot_radius: patch radius around each, shot analysis pixels. Shape: ``(K,)``.
        ref_radius: patch radius around each, reference analysis pixels. Shape: ``(K,)``.
    """

    shot: int
    ref: int
    shot_points: np.ndarray
    ref_points: np.ndarray
    shot_radius: np.ndarray
    ref_radius: np.ndarray


@dataclass(frozen=True)
class Correspondence:
    """What :func:`align_frames` found: homographies and, for the other frames, keypoints."""

    alignments: list[Alignment]
    keypoints: list[KeypointMatches]

    def __bool__(self) -> bool:
        return bool(self.alignments or self.keypoints)


_Features = tuple[np.ndarray, np.ndarray, np.ndarray | None]


def _features(frames: list[PreparedFrame]) -> list[_Features]:
    """ORB keypoint centres, sizes (feature-image pixels) and descriptors per frame."""
    orb = cv2.ORB.create(nfeatures=_ORB_FEATURES, fastThreshold=12)
    out: list[_Features] = []
    for f in frames:
        kps, des = orb.detectAndCompute(f.luma, None)
        pts = np.array([k.pt for k in kps], np.float32).reshape(-1, 2)
        sizes = np.array([k.size for k in kps], np.float32)
        out.append((pts, sizes, des))
    return out


def _to_analysis(scale: float) -> np.ndarray:
    """Feature-image pixel -> analysis pixel (pixel centres kept)."""
    off = 0.5 * scale - 0.5
    return np.array([[scale, 0.0, off], [0.0, scale, off], [0.0, 0.0, 1.0]])


def _overlap(h: np.ndarray, shot_hw: tuple[int, int], ref_hw: tuple[int, int]) -> float:
    """Share of the reference frame covered by the shot frame mapped through ``h``."""
    sh, sw = shot_hw
    rh, rw = ref_hw
    corners = np.array([[0, 0], [sw - 1, 0], [sw - 1, sh - 1], [0, sh - 1]], np.float32)
    mapped = cv2.perspectiveTransform(corners[None], h)[0]
    if not cv2.isContourConvex(mapped.astype(np.float32)):
        return 0.0
    ref_poly = np.array([[0, 0], [rw - 1, 0], [rw - 1, rh - 1], [0, rh - 1]], np.float32)
    area, _ = cv2.intersectConvexConvex(mapped.astype(np.float32), ref_poly)
    shot_area = abs(cv2.contourArea(mapped))
    if shot_area <= 0 or not 1 / 25 <= shot_area / (sw * sh) <= 25:
        return 0.0  # degenerate or absurd zoom
    return float(area) / float(rw * rh)


def _near_identity(h: np.ndarray, image: np.ndarray, tol: float = 0.1) -> bool:
    """True when ``h`` moves no corner of ``image`` by more than ``tol`` pixels."""
    rh, rw = image.shape[:2]
    corners = np.array([[0, 0], [rw - 1, 0], [rw - 1, rh - 1], [0, rh - 1]], np.float32)
    moved = cv2.perspectiveTransform(corners[None], h)[0]
    return bool(np.abs(moved - corners).max() < tol)


def _spread(points: np.ndarray, frame: PreparedFrame) -> float:
    """Share of the feature image covered by the convex hull of ``points``."""
    if len(points) < 3:
        return 0.0
    hull = cv2.convexHull(points.reshape(-1, 1, 2).astype(np.float32))
    return float(cv2.contourArea(hull)) / float(frame.luma.shape[0] * frame.luma.shape[1])


def _homography(
    i: int, j: int, shot: PreparedFrame, ref: PreparedFrame, src: np.ndarray, dst: np.ndarray
) -> Alignment | None:
    """A homography alignment of matched points, or None when none is credible."""
    h, mask = cv2.findHomography(
        src, dst, cv2.RANSAC, RANSAC_PX, maxIters=RANSAC_ITERS, confidence=0.995
    )
    if h is None or mask is None:
        return None
    inl = mask.ravel() > 0
    inliers = int(inl.sum())
    if inliers < MIN_INLIERS or inliers < MIN_INLIER_RATIO * len(src):
        return None
    if _spread(dst[inl], ref) < MIN_SPREAD:
        return None  # inliers bunched on one small thing (a logo, a burnt-in graphic)
    ha = np.asarray(
        _to_analysis(ref.align_to_analysis)
        @ np.asarray(h, np.float64)
        @ np.linalg.inv(_to_analysis(shot.align_to_analysis)),
        np.float64,
    )
    ha = ha / ha[2, 2]
    if shot.image.shape == ref.image.shape and _near_identity(ha, ref.image):
        ha = np.eye(3)  # the same framing: no resampling at all
    overlap = _overlap(ha, shot.image.shape[:2], ref.image.shape[:2])
    if overlap < MIN_OVERLAP:
        return None
    return Alignment(i, j, ha, inliers, len(src), overlap)


def _epipolar(
    i: int,
    j: int,
    shot: PreparedFrame,
    ref: PreparedFrame,
    fs: _Features,
    fr: _Features,
    good: list[cv2.DMatch],
) -> KeypointMatches | None:
    """Keypoint matches consistent with one fundamental matrix, or None when too few."""
    strict = [m for m in good if m.distance <= MAX_HAMMING]
    if len(strict) < MIN_KEYPOINTS:
        return None
    qi = np.array([m.queryIdx for m in strict])
    ti = np.array([m.trainIdx for m in strict])
    src, dst = fs[0][qi], fr[0][ti]
    _, mask = cv2.findFundamentalMat(
        src, dst, cv2.FM_RANSAC, EPIPOLAR_PX, 0.99, maxIters=RANSAC_ITERS
    )
    if mask is None:
        return None
    inl = mask.ravel() > 0
    if int(inl.sum()) < MIN_KEYPOINTS or _spread(dst[inl], ref) < MIN_SPREAD / 2:
        return None
    ss, sr = shot.align_to_analysis, ref.align_to_analysis
    return KeypointMatches(
        i,
        j,
        (src[inl] + 0.5) * ss - 0.5,
        (dst[inl] + 0.5) * sr - 0.5,
        np.maximum(PATCH_SCALE * fs[1][qi][inl] * ss, 2.0),
        np.maximum(PATCH_SCALE * fr[1][ti][inl] * sr, 2.0),
    )


def align_frames(shot: list[PreparedFrame], ref: list[PreparedFrame]) -> Correspondence:
    """Find where the shot frames show what the reference frames show.

    Each shot frame is aligned by homography to the reference frame with the most RANSAC
    inliers; a shot frame that no homography explains (parallax, another angle) keeps, for each
    reference frame, its keypoint matches that fit one epipolar geometry (fundamental-matrix
    RANSAC), which still pair the same surfaces.

    Args:
        shot: prepared shot frames.
        ref: prepared reference frames.

    Returns:
        The homography alignments and the keypoint matches (both possibly empty).
    """
    fs = _features(shot)
    fr = _features(ref)
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    alignments: list[Alignment] = []
    keypoints: list[KeypointMatches] = []
    for i, feat_s in enumerate(fs):
        pts_s, _, des_s = feat_s
        if des_s is None or len(pts_s) < MIN_KEYPOINTS:
            continue
        best: Alignment | None = None
        candidates: list[KeypointMatches] = []
        for j, feat_r in enumerate(fr):
            pts_r, _, des_r = feat_r
            if des_r is None or len(pts_r) < MIN_KEYPOINTS:
                continue
            knn = matcher.knnMatch(des_s, des_r, k=2)
            good = [m[0] for m in knn if len(m) == 2 and m[0].distance < RATIO * m[1].distance]
            if len(good) < MIN_KEYPOINTS:
                continue
            src = pts_s[[m.queryIdx for m in good]]
            dst = pts_r[[m.trainIdx for m in good]]
            found = _homography(i, j, shot[i], ref[j], src, dst)
            if found is not None and (best is None or found.inliers > best.inliers):
                best = found
            if best is None:
                kp = _epipolar(i, j, shot[i], ref[j], feat_s, feat_r, good)
                if kp is not None:
                    candidates.append(kp)
        if best is not None:
            alignments.append(best)
        else:
            keypoints.extend(candidates)
    return Correspondence(alignments, keypoints)


def _local_ncc(
    a: np.ndarray, b: np.ndarray, mask: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Local normalised cross-correlation of two luma images over ``size`` windows.

    Returns the NCC map and the smaller of the two local standard deviations (both ``(h, w)``).
    Only pixels under ``mask`` count.
    """
    m = mask.astype(np.float32)
    k = (size, size)
    n = np.maximum(cv2.blur(m, k), 1e-6)
    am, bm = a * m, b * m
    ma, mb = cv2.blur(am, k) / n, cv2.blur(bm, k) / n
    va = np.maximum(cv2.blur(am * a, k) / n - ma * ma, 0.0)
    vb = np.maximum(cv2.blur(bm * b, k) / n - mb * mb, 0.0)
    cov = cv2.blur(am * b, k) / n - ma * mb
    ncc = cov / np.sqrt(va * vb + 1e-12)
    return ncc, np.sqrt(np.minimum(va, vb))


def _tile_pairs(
    shot: np.ndarray, ref: np.ndarray, both: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank-binned colour pairs of co-located tiles.

    In every ``TILE x TILE`` tile, the pixels valid in both images are ranked by luma in each
    image separately and split into :data:`RANK_BINS` bins; the mean colours of the k-th bins
    form a pair. A local ranking does not care about small misregistration or about the grade
    (monotone in luma), unlike pixel-to-pixel pairs, whose slopes shrink towards the mean when
    the pixels are a little misaligned.
    """
    t = TILE
    h, w = (shot.shape[0] // t) * t, (shot.shape[1] // t) * t
    if h == 0 or w == 0:
        return np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0)

    def tiles(img: np.ndarray) -> np.ndarray:
        c = img.shape[2] if img.ndim == 3 else 1
        v = img[:h, :w].reshape(h // t, t, w // t, t, c).swapaxes(1, 2)
        return v.reshape(-1, t * t, c)

    ts, tr = tiles(shot), tiles(ref)
    tm = tiles(both.astype(np.float32))[..., 0] > 0.5
    tw = weight[t // 2 : h : t, t // 2 : w : t].reshape(-1)
    count = tm.sum(axis=1)
    keep = (count >= MIN_TILE_SHARE * t * t) & (tw > 0)
    ts, tr, tm, tw, count = ts[keep], tr[keep], tm[keep], tw[keep], count[keep]
    luma_w = np.asarray(LUMA_WEIGHTS, np.float32)
    out = []
    for img in (ts, tr):
        luma = np.where(tm, img @ luma_w, np.inf)
        order = np.argsort(luma, axis=1, kind="stable")
        srt = np.take_along_axis(img, order[..., None], axis=1).astype(np.float64)
        cum = np.concatenate([np.zeros((len(srt), 1, 3)), np.cumsum(srt, axis=1)], axis=1)
        means = []
        for k in range(RANK_BINS):
            lo = (k * count) // RANK_BINS
            hi = ((k + 1) * count) // RANK_BINS
            rows = np.arange(len(srt))
            sums = cum[rows, hi] - cum[rows, lo]
            means.append(sums / np.maximum(hi - lo, 1)[:, None])
        out.append(np.stack(means, axis=1).reshape(-1, 3))
    wt = np.repeat(tw * count / RANK_BINS, RANK_BINS)
    return out[0], out[1], wt


def region_pairs(
    shot: list[PreparedFrame],
    ref: list[PreparedFrame],
    alignments: list[Alignment],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[float]]:
    """Colour pairs of aligned frames, from co-located tiles that agree in structure.

    Each tile's weight is its structural agreement: the local normalised cross-correlation of
    the two lumas over :data:`NCC_WINDOW` pixels around it (a grade changes brightness and
    contrast, not structure; a moving person, parallax or a wrong alignment does). Windows too
    flat to tell weigh :data:`FLAT_WEIGHT` times the best agreement of a textured window near
    them.

    Args:
        shot: prepared shot frames.
        ref: prepared reference frames.
        alignments: from :func:`align_frames`.

    Returns:
        ``x`` (shot colours), ``y`` (reference colours), both ACEScct code values, ``w``
        (weight per pair), and the mean structural agreement of each alignment.

    Shape:
        - x, y: ``(N, 3)`` float64
        - w: ``(N,)`` float64
    """
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    ws: list[np.ndarray] = []
    agreement: list[float] = []
    kernel = np.ones((3, 3), np.uint8)
    luma_w = np.asarray(LUMA_WEIGHTS, np.float32)
    for a in alignments:
        s, r = shot[a.shot], ref[a.ref]
        rh, rw = r.image.shape[:2]
        warped = cv2.warpPerspective(
            s.image, a.homography, (rw, rh), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0)
        )
        s_valid = cv2.warpPerspective(
            s.valid.astype(np.uint8),
            a.homography,
            (rw, rh),
            flags=cv2.INTER_NEAREST,
            borderValue=0,
        )
        both = cv2.erode(s_valid & r.valid.astype(np.uint8), kernel).astype(bool)
        if not both.any():
            agreement.append(0.0)
            continue
        ncc, sd = _local_ncc(warped @ luma_w, r.image @ luma_w, both, NCC_WINDOW)
        textured = (sd > FLAT_SD) & both
        agree = np.clip((ncc - NCC_LOW) / (NCC_HIGH - NCC_LOW), 0.0, 1.0) ** 2
        mean_agree = float(agree[textured].mean()) if textured.any() else 0.0
        agreement.append(mean_agree)
        if mean_agree < MIN_AGREEMENT:
            continue
        # A flat window cannot show whether it is aligned; trust it as much as the best
        # textured window around it (none near: a wrong alignment could pair ice with wall).
        support = cv2.dilate(
            np.where(textured, agree, 0.0).astype(np.float32),
            cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * NCC_WINDOW + 1,) * 2),
        )
        weight = np.where(textured, agree, FLAT_WEIGHT * support).astype(np.float32)
        x, y, w = _tile_pairs(warped, r.image, both, weight)
        xs.append(x)
        ys.append(y)
        ws.append(w)
    if not xs:
        return np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0), agreement
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ws), agreement


def _patch_bins(
    image: np.ndarray, valid: np.ndarray, points: np.ndarray, radii: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Luma-rank-binned mean colours of square patches; counts 0 where a patch is unusable.

    Shape:
        - image: ``(h, w, 3)``; valid: ``(h, w)``; points: ``(K, 2)``; radii: ``(K,)``
        - outputs: ``(K, RANK_BINS, 3)`` and ``(K,)``
    """
    h, w = valid.shape
    luma_w = np.asarray(LUMA_WEIGHTS, np.float32)
    means = np.zeros((len(points), RANK_BINS, 3))
    counts = np.zeros(len(points), np.intp)
    for k in range(len(points)):
        px, py = float(points[k, 0]), float(points[k, 1])
        r = float(radii[k])
        x0, x1 = max(0, round(px - r)), min(w, round(px + r) + 1)
        y0, y1 = max(0, round(py - r)), min(h, round(py + r) + 1)
        m = valid[y0:y1, x0:x1].ravel()
        n = int(m.sum())
        if n < max(3 * RANK_BINS, MIN_TILE_SHARE * (2 * r + 1) ** 2):
            continue
        v = image[y0:y1, x0:x1].reshape(-1, 3)[m]
        v = v[np.argsort(v @ luma_w, kind="stable")]
        for b in range(RANK_BINS):
            means[k, b] = v[(b * n) // RANK_BINS : ((b + 1) * n) // RANK_BINS].mean(axis=0)
        counts[k] = n
    return means, counts


def keypoint_pairs(
    shot: list[PreparedFrame], ref: list[PreparedFrame], matches: list[KeypointMatches]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Colour pairs of patches around matched keypoints.

    Around each matched keypoint, a square patch (radius :data:`PATCH_SCALE` times the
    keypoint's size, so it covers the same surface at both zooms) is split into
    :data:`RANK_BINS` luma-rank bins in each frame; the k-th bins' mean colours form a pair.

    Args:
        shot: prepared shot frames.
        ref: prepared reference frames.
        matches: from :func:`align_frames`.

    Returns:
        ``x`` (shot colours), ``y`` (reference colours), ACEScct code values, and ``w``.

    Shape:
        - x, y: ``(N, 3)`` float64
        - w: ``(N,)`` float64
    """
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    ws: list[np.ndarray] = []
    for km in matches:
        s, r = shot[km.shot], ref[km.ref]
        ms, ns = _patch_bins(s.image, s.valid, km.shot_points, km.shot_radius)
        mr, nr = _patch_bins(r.image, r.valid, km.ref_points, km.ref_radius)
        ok = (ns > 0) & (nr > 0)
        if not ok.any():
            continue
        xs.append(ms[ok].reshape(-1, 3))
        ys.append(mr[ok].reshape(-1, 3))
        ws.append(np.repeat(np.minimum(ns[ok], nr[ok]) / RANK_BINS, RANK_BINS).astype(float))
    if not xs:
        return np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)
