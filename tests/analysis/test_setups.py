"""Tests for rushes.analysis.setups (shot signatures and setup grouping)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from rushes.analysis.setups import (
    DEFAULT_THRESHOLD,
    SIGNATURE_LENGTH,
    group_setups,
    setup_distances,
    shot_signature,
)

H, W = 180, 320


def set_frame(seed: int, h: int = H, w: int = W) -> np.ndarray:
    """A synthetic 'set': coloured blocks and a gradient, float32 RGB in [0, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([xx / w, yy / h, 1 - xx / w], axis=-1) * rng.uniform(0.2, 0.8, 3)
    for _ in range(8):
        x, y = int(rng.integers(0, w - 60)), int(rng.integers(0, h - 40))
        img[y : y + int(rng.integers(20, 60)), x : x + int(rng.integers(30, 90))] = rng.random(3)
    return np.clip(img, 0, 1).astype(np.float32)


def take(seed: int, variant: int) -> list[np.ndarray]:
    """Three thumbnails of one take of setup ``seed``: an actor (a block) moves, noise, a
    slightly different exposure per take."""
    rng = np.random.default_rng(1000 * seed + variant)
    base = set_frame(seed) * rng.uniform(0.93, 1.07)
    out = []
    for t in range(3):
        img = base.copy()
        x = 40 + 60 * t + int(rng.integers(0, 20))
        img[60:160, x : x + 40] = (0.8, 0.6, 0.5)
        img += rng.normal(0, 0.01, img.shape).astype(np.float32)
        out.append(np.clip(img, 0, 1))
    return out


# --------------------------------------------------------------------------------------------
# shot_signature


def test_signature_shape_and_norm() -> None:
    sig = shot_signature(take(1, 0))
    assert sig.shape == (SIGNATURE_LENGTH,) and sig.dtype == np.float32
    assert float(np.linalg.norm(sig)) == pytest.approx(1.0, abs=1e-5)


def test_signature_takes_any_size_and_a_single_frame() -> None:
    one = shot_signature([set_frame(2)])
    small = shot_signature([cv2.resize(set_frame(2), (160, 90), interpolation=cv2.INTER_AREA)])
    assert float(np.linalg.norm(one - small)) < 0.05
    assert shot_signature([np.zeros((H, W, 3), np.float32)]).shape == (SIGNATURE_LENGTH,)


def test_same_setup_close_different_far() -> None:
    a1, a2, b1 = shot_signature(take(1, 0)), shot_signature(take(1, 1)), shot_signature(take(2, 0))
    d_same = float(np.linalg.norm(a1 - a2))
    d_diff = float(np.linalg.norm(a1 - b1))
    assert d_same < 0.2 < DEFAULT_THRESHOLD < d_diff


def test_mirrored_framing_is_another_setup() -> None:
    frame = set_frame(3)
    d = float(np.linalg.norm(shot_signature([frame]) - shot_signature([frame[:, ::-1]])))
    assert d > DEFAULT_THRESHOLD


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ([], "empty"),
        (np.zeros((H, W, 3), np.float32), "sequence"),
        ([np.zeros((H, W), np.float32)], "thumbnails\\[0\\]"),
        ([np.zeros((H, W, 3), np.uint8)], "dtype"),
    ],
)
def test_signature_bad_input_raises(bad: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        shot_signature(bad)


def test_signature_nan_raises() -> None:
    frame = set_frame(1)
    frame[1, 1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        shot_signature([set_frame(2), frame])


# --------------------------------------------------------------------------------------------
# group_setups


def test_grouping_golden() -> None:
    # shots in order: A, B, A, C, B, A (A, B, C three setups)
    order = [1, 2, 1, 3, 2, 1]
    sigs = np.stack([shot_signature(take(s, i)) for i, s in enumerate(order)])
    assert group_setups(sigs) == [0, 1, 0, 2, 1, 0]


def test_labels_follow_first_appearance() -> None:
    sigs = np.stack([shot_signature(take(s, i)) for i, s in enumerate([5, 4, 4, 5])])
    assert group_setups(sigs) == [0, 1, 1, 0]


def test_threshold_controls_merging() -> None:
    sigs = np.stack([shot_signature(take(s, i)) for i, s in enumerate([1, 2, 1])])
    assert group_setups(sigs, threshold=1e-4) == [0, 1, 2]
    assert group_setups(sigs, threshold=2.0) == [0, 0, 0]


def test_metadata_never_merges_different_cameras_or_scenes() -> None:
    sig = shot_signature(take(1, 0))
    sigs = np.stack([sig, sig, sig, sig])
    assert group_setups(sigs) == [0, 0, 0, 0]
    labels = group_setups(sigs, cameras=["A", "B", "a", None])  # letters are case-blind
    assert labels[:3] == [0, 1, 0] and labels[3] in (0, 1)  # unknown joins either
    labels = group_setups(sigs, scenes=["12", "12", "13", ""])  # blank is unknown
    assert labels[:3] == [0, 0, 1] and labels[3] in (0, 1)
    labels = group_setups(sigs, cameras=["A", "A", "B", "B"], scenes=["1", "2", "1", "2"])
    assert labels == [0, 1, 2, 3]


def test_unknown_metadata_does_not_bridge() -> None:
    # U (unknown camera) is identical to both A and B; A and B must still stay apart
    sig = shot_signature(take(1, 0))
    sigs = np.stack([sig, sig, sig])
    labels = group_setups(sigs, cameras=["A", None, "B"], threshold=2.0)
    assert labels[0] != labels[2]
    assert labels[1] in (labels[0], labels[2])


def test_many_shots_with_constraints() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(4, 32))
    sigs = np.concatenate([base[i % 4] + rng.normal(0, 0.01, (1, 32)) for i in range(200)])
    cams = ["A" if i % 2 else "B" for i in range(200)]
    labels = group_setups(sigs, cameras=cams, threshold=0.5)
    assert len(labels) == 200 and max(labels) == 3  # 4 centres; odd/even split coincides
    for k in set(labels):
        assert len({c for c, lab in zip(cams, labels, strict=True) if lab == k}) == 1


def test_trivial_sizes() -> None:
    assert group_setups(np.zeros((0, 8))) == []
    assert group_setups(np.zeros((1, 8))) == [0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"signatures": np.zeros(8)}, "shape"),
        ({"signatures": np.full((2, 8), np.nan)}, "NaN"),
        ({"signatures": np.zeros((2, 8)), "cameras": ["A"]}, "cameras"),
        ({"signatures": np.zeros((2, 8)), "scenes": "12"}, "scenes"),
        ({"signatures": np.zeros((2, 8)), "threshold": 0.0}, "threshold"),
        ({"signatures": np.array([["a", "b"]])}, "dtype"),
    ],
)
def test_group_bad_input_raises(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        group_setups(**kwargs)


def test_setup_distances() -> None:
    sigs = np.stack([shot_signature(take(s, 0)) for s in (1, 2, 3)])
    d = setup_distances(sigs)
    assert d.shape == (3, 3)
    np.testing.assert_allclose(d, d.T)
    np.testing.assert_allclose(np.diag(d), 0, atol=1e-6)
    assert d[0, 1] == pytest.approx(float(np.linalg.norm(sigs[0] - sigs[1])), rel=1e-6)


# --------------------------------------------------------------------------------------------
# real footage


def halves(
    footage: Path, manifest: dict[str, dict[str, Any]], name: str, per_half: int = 3
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``per_half`` thumbnails (long side 160) from each half of a shared video clip."""
    entry = manifest.get(name)
    if entry is None or not (footage / entry["path"]).exists():
        pytest.skip(f"clip {name} not in the shared footage at {footage}")
    n = int(entry["frames"])
    first = np.linspace(0, n // 2 - 1, per_half).astype(int).tolist()
    second = np.linspace(n // 2, n - 2, per_half).astype(int).tolist()
    wanted = set(first + second)
    thumbs: dict[int, np.ndarray] = {}
    with av.open(str(footage / entry["path"])) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in wanted:
                img = frame.to_ndarray(format="rgb24")
                s = 160 / max(img.shape[:2])
                size = (round(img.shape[1] * s), round(img.shape[0] * s))
                small = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
                thumbs[i] = small.astype(np.float32) / 255
            if i >= max(wanted):
                break
    return [thumbs[i] for i in first], [thumbs[i] for i in second]


@pytest.mark.footage
def test_real_halves_of_static_clips_group_and_clips_do_not(
    footage: Path, manifest: dict[str, dict[str, Any]]
) -> None:
    names = ["talkinghead_vr3_woman_flag", "schoolgirls", "talkinghead_vr5_woman_glasses"]
    sigs = []
    for name in names:
        first, second = halves(footage, manifest, name)
        sigs += [shot_signature(first), shot_signature(second)]
    labels = group_setups(np.stack(sigs))
    assert labels == [0, 0, 1, 1, 2, 2]
    # with camera letters telling the halves apart, they are separate setups
    labels = group_setups(np.stack(sigs), cameras=["A", "B"] * 3)
    assert len(set(labels)) == 6


@pytest.mark.footage
def test_a_take_whose_grade_drifted_stays_in_its_setup(
    footage: Path, manifest: dict[str, dict[str, Any]]
) -> None:
    names = ["face_woman_lp_d3", "talkinghead_vr3_woman_flag", "juggle_sam2"]
    drift = np.array([0.55, 0.62, 0.78], np.float32)  # under-exposed, cooler
    sigs = []
    for name in names:
        first, second = halves(footage, manifest, name)
        sigs += [shot_signature(first), shot_signature([np.clip(f * drift, 0, 1) for f in second])]
    assert group_setups(np.stack(sigs)) == [0, 0, 1, 1, 2, 2]
