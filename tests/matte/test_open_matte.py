"""Tests for rushes.matte.open_matte (the front door the CLI uses)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import rushes.matte as matte_pkg
from rushes.errors import MatteError, TrackLostError
from rushes.matte import (
    ImageMatte,
    ShapeMatte,
    UnionMatte,
    WireMatte,
    open_matte,
    render_shape,
)
from tests.conftest import textured

W, H, N = 160, 120, 6


def png(path: Path, m: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), np.round(m * 255).astype(np.uint8))
    return path


def box_mask() -> np.ndarray:
    m = np.zeros((H, W), np.float32)
    m[10:30, 10:40] = 1.0
    return m


def shapes_file(tmp_path: Path, key: int = 0) -> Path:
    doc = {
        "version": 1,
        "shapes": [
            {
                "name": "rig",
                "type": "polygon",
                "keys": {str(key): [[60, 40], [110, 42], [108, 90], [62, 88]]},
            }
        ],
    }
    f = tmp_path / "rig.json"
    f.write_text(json.dumps(doc))
    return f


def test_exports() -> None:
    for name in matte_pkg.__all__:
        assert hasattr(matte_pkg, name), name


def test_mask_shapes_and_both(tmp_path: Path) -> None:
    f = png(tmp_path / "mask.png", box_mask())
    m = open_matte(str(f), None, W, H, N)
    assert isinstance(m, ImageMatte) and m.mask(3)[20, 20] == 1.0
    s = open_matte(None, shapes_file(tmp_path), W, H, N, dilate=2)
    assert isinstance(s, ShapeMatte) and s.mask(0)[65, 85] == 1.0
    # the left edge is at x ~ 61 on row 65: grown by 2 px it covers pixel 60 and not 57
    assert s.mask(0)[65, 60] == 1.0 and s.mask(0)[65, 57] == 0.0
    assert open_matte(None, shapes_file(tmp_path), W, H, N).mask(0)[65, 60] == 0.0
    both = open_matte(str(f), str(shapes_file(tmp_path)), W, H, N)
    assert isinstance(both, UnionMatte)
    mk = both.mask(5)
    assert mk[20, 20] == 1.0 and mk[65, 85] == 1.0 and mk[100, 150] == 0.0


def test_nothing_or_missing_frames_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MatteError, match="no matte given; give --mask, --shapes or --wires"):
        open_matte(None, None, W, H, N)
    with pytest.raises(MatteError, match="--track needs --shapes"):
        open_matte(None, None, W, H, N, track=True)
    with pytest.raises(MatteError, match="need the shot's frames"):
        open_matte(None, shapes_file(tmp_path), W, H, N, track=True)
    with pytest.raises(MatteError, match="need the shot's frames"):
        open_matte(None, None, W, H, N, wires_region="0,0,50,50")


def test_validation_runs_by_default(tmp_path: Path) -> None:
    f = png(tmp_path / "empty.png", np.zeros((H, W), np.float32))
    with pytest.raises(MatteError, match="empty"):
        open_matte(f, None, W, H, N)
    assert open_matte(f, None, W, H, N, validate=False).mask(0).max() == 0.0


def test_track_through_the_shot(tmp_path: Path) -> None:
    frames = [textured(H, W, seed=4, t=i, dx=2) for i in range(N)]  # pans 2 px left a frame
    m = open_matte(
        None, shapes_file(tmp_path, key=2), W, H, N, track=True, source=frames.__getitem__
    )
    assert isinstance(m, ShapeMatte)
    for i in range(N):
        v = m.shapes.vertices("rig", i)
        np.testing.assert_allclose(v[0], [60 - 2 * (i - 2), 40], atol=0.5)
    cut = frames[:4] + [textured(H, W, seed=77)] * 2
    with pytest.raises(TrackLostError, match="tracking 'rig' lost at frame 4"):
        open_matte(None, shapes_file(tmp_path), W, H, N, track=True, source=cut.__getitem__)


def test_wires_from_a_region_string() -> None:
    bg = np.full((H, W, 3), 0.8, np.float32) * textured(H, W, 2) ** 0.1
    a = render_shape("polyline", np.array([[10.0, 30.0], [150.0, 80.0]]), W, H, stroke=2)
    frame = bg * (1 - a[..., None])
    m = open_matte(None, None, W, H, N, wires_region="0,10,160,90", source=lambda i: frame)
    assert isinstance(m, WireMatte)
    got = m.mask(1)
    assert got[a >= 0.5].min() >= 0.5
    assert got.sum() < 3 * a.sum() + 40
