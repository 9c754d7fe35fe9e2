"""Tests for rushes.matte.base (the Matte interface, static and union mattes, validation)."""

from __future__ import annotations

import numpy as np
import pytest

from rushes.errors import MatteError, RushesError
from rushes.matte.base import (
    Matte,
    StaticMatte,
    UnionMatte,
    mask_bbox,
    sample_indices,
)


class Stripes(Matte):
    """A test matte whose mask moves one pixel right per frame; frame ``empty_at`` is empty."""

    def __init__(self, frames: int = 10, empty_at: int | None = None) -> None:
        self.width, self.height, self.frames = 40, 20, frames
        self.empty_at = empty_at
        self.name = "stripes"

    def mask(self, index: int) -> np.ndarray:
        i = self.check_index(index)
        m = np.zeros((self.height, self.width), np.float32)
        if i != self.empty_at:
            m[5:9, 3 + i : 6 + i] = 1.0
        return m


def test_sample_indices_spread_and_bounds() -> None:
    assert sample_indices(10, 3) == [0, 4, 9]  # round(4.5) is 4 (banker's rounding)
    assert sample_indices(5, 9) == [0, 1, 2, 3, 4]
    assert sample_indices(100, 1) == [0]
    assert sample_indices(0, 4) == []
    s = sample_indices(1000, 9)
    assert s[0] == 0 and s[-1] == 999 and len(s) == 9


def test_bbox_default_follows_the_mask() -> None:
    m = Stripes()
    assert m.bbox(0) == (3, 5, 3, 4)
    assert m.bbox(7) == (10, 5, 3, 4)
    assert mask_bbox(np.zeros((4, 4))) is None


def test_check_index_rejects_outside_frames() -> None:
    m = Stripes(frames=10)
    with pytest.raises(MatteError, match=r"frame 10 is outside the shot \(frames 0-9\)"):
        m.mask(10)
    with pytest.raises(MatteError, match="frame -1"):
        m.mask(-1)


def test_validate_allows_some_empty_frames_not_all() -> None:
    Stripes().validate()
    Stripes(frames=9, empty_at=4).validate(sample=9)  # the object left the frame on frame 4
    with pytest.raises(MatteError) as e:
        StaticMatte(np.zeros((20, 40), np.float32), frames=5).validate()
    msg = str(e.value)
    assert "empty on every frame" in msg and "frame 0" in msg and "\n" not in msg
    assert isinstance(e.value, RushesError)


def test_validate_refuses_a_mask_covering_the_frame() -> None:
    full = np.ones((20, 40), np.float32)
    full[0, 0] = 0.0
    with pytest.raises(MatteError, match="covers 100% of the frame, nothing left to fill from"):
        StaticMatte(full, frames=3).validate()
    nearly = np.zeros((20, 40), np.float32)
    nearly[:, :37] = 1.0  # 92.5 %
    with pytest.raises(MatteError, match="frame 0"):
        StaticMatte(nearly, frames=3).validate()
    fine = np.zeros((20, 40), np.float32)
    fine[:, :30] = 1.0  # 75 %: a big matte, still something to fill from
    StaticMatte(fine, frames=3).validate()


def test_static_matte_is_clean_and_read_only() -> None:
    raw = np.array([[np.nan, 2.0], [-1.0, 0.5]], np.float32)
    m = StaticMatte(raw, frames=2)
    out = m.mask(1)
    assert out.dtype == np.float32 and out.shape == (2, 2)
    assert out.tolist() == [[0.0, 1.0], [0.0, 0.5]]
    with pytest.raises(ValueError):
        out[0, 0] = 1.0
    with pytest.raises(MatteError, match="2-D"):
        StaticMatte(np.zeros((2, 2, 3)), frames=1)


def test_union_is_the_pixelwise_max_and_checks_sizes() -> None:
    a = np.zeros((20, 40), np.float32)
    a[:, :5] = 0.5
    u = UnionMatte([StaticMatte(a, 10, "a"), Stripes()])
    m = u.mask(2)
    assert m[6, 1] == 0.5 and m[6, 6] == 1.0 and m[15, 20] == 0.0
    assert "a" in u.describe(0) and "stripes" in u.describe(0)
    with pytest.raises(MatteError, match="give mattes of one shot"):
        UnionMatte([StaticMatte(np.zeros((5, 5)), 10), Stripes()])
    with pytest.raises(MatteError, match="no matte given"):
        UnionMatte([])
