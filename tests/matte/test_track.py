"""Tests for rushes.matte.track (shapes drawn on one frame, tracked through the shot)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from rushes.errors import MatteError, TrackLostError
from rushes.matte.shapes import Shape, ShapeMatte, ShapeSet
from rushes.matte.track import track_shapes
from tests.conftest import read_frames, textured

H, W = 240, 320
N = 16


def camera_path(n: int = N, seed: int = 3) -> list[np.ndarray]:
    """Known camera moves: a 2x3 affine per frame (sub-pixel pan, a little rotation and zoom)."""
    rng = np.random.default_rng(seed)
    shift = np.cumsum(rng.uniform(-2.5, 2.5, (n, 2)), axis=0)
    angle = np.cumsum(rng.uniform(-0.4, 0.4, n))
    zoom = 1.0 + np.cumsum(rng.uniform(-0.004, 0.004, n))
    shift[0], angle[0], zoom[0] = 0.0, 0.0, 1.0
    out = []
    for i in range(n):
        m = cv2.getRotationMatrix2D((W / 2, H / 2), float(angle[i]), float(zoom[i]))
        m[:, 2] += shift[i]
        out.append(m)
    return out


@pytest.fixture(scope="module")
def plate() -> np.ndarray:
    """A large smooth texture the camera moves over, float32 RGB in [0, 1]."""
    return textured(H + 120, W + 120, seed=11)


def shot(plate: np.ndarray, moves: list[np.ndarray]) -> list[np.ndarray]:
    """Frames: the plate's centre ``W x H`` moved by each affine (sub-pixel, cubic); the plate
    is larger than the frame so no border comes in."""
    frames = []
    for m in moves:
        full = m.copy()
        full[:, 2] += full[:, :2] @ np.array([-60.0, -60.0])  # plate (60, 60) is frame (0, 0)
        frames.append(cv2.warpAffine(plate, full, (W, H), flags=cv2.INTER_CUBIC))
    return frames


def moved(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ m[:, :2].T + m[:, 2]


RIG = np.array([[130.0, 90.0], [200.0, 96.0], [196.0, 150.0], [126.0, 146.0]])


def test_follows_a_known_camera_move_within_a_pixel(plate: np.ndarray) -> None:
    moves = camera_path()
    frames = shot(plate, moves)
    shapes = ShapeSet((Shape("rig", "polygon", {0: RIG}, 0.0),))
    out = track_shapes(shapes, lambda i: frames[i], N)
    assert out.get("rig").key_frames == tuple(range(N))
    err = [float(np.abs(out.vertices("rig", i) - moved(moves[i], RIG)).max()) for i in range(N)]
    assert err[0] == 0.0
    assert max(err) < 1.0, err
    drift = float(np.abs(moved(moves[-1], RIG) - RIG).max())
    assert drift > 5.0  # the camera did move: a static shape would be off


def test_key_in_the_middle_with_an_iterator(plate: np.ndarray) -> None:
    moves = camera_path(seed=5)
    frames = shot(plate, moves)
    key = 9
    wire = np.array([[60.0, 200.0], [160.0, 180.0], [260.0, 196.0]])
    shapes = ShapeSet((Shape("w", "polyline", {key: moved(moves[key], wire)}, 3.0),))
    calls: list[int] = []

    def gen() -> Iterator[np.ndarray]:
        for i, f in enumerate(frames):
            calls.append(i)
            yield f

    out = track_shapes(shapes, gen(), N)
    assert calls == list(range(N))  # one pass over the iterator
    for i in range(N):
        assert np.abs(out.vertices("w", i) - moved(moves[i], wire)).max() < 1.0, i
    assert out.get("w").width == 3.0


def test_several_keys_are_honoured_and_drift_is_spread(plate: np.ndarray) -> None:
    moves = camera_path(seed=8)
    frames = shot(plate, moves)
    # the artist's second key is 2 px off the true motion: the track bends to meet it
    k2 = moved(moves[12], RIG) + 2.0
    shapes = ShapeSet((Shape("rig", "polygon", {2: moved(moves[2], RIG), 12: k2}, 0.0),))
    out = track_shapes(shapes, lambda i: frames[i], N)
    np.testing.assert_allclose(out.vertices("rig", 12), k2)
    np.testing.assert_allclose(out.vertices("rig", 2), moved(moves[2], RIG))
    mid = out.vertices("rig", 7) - moved(moves[7], RIG)
    assert np.abs(mid - 1.0).max() < 1.0  # half of the 2 px spread at half way
    assert np.abs(out.vertices("rig", 0) - moved(moves[0], RIG)).max() < 1.0  # backwards
    assert np.abs(out.vertices("rig", 15) - (moved(moves[15], RIG) + 2.0)).max() < 1.2


def test_a_cut_loses_the_track_naming_shape_and_frame(plate: np.ndarray) -> None:
    other = textured(H, W, seed=99)
    frames = shot(plate, camera_path(n=10)) + [other] * 4
    shapes = ShapeSet((Shape("rig", "polygon", {0: RIG}, 0.0),))
    with pytest.raises(TrackLostError) as e:
        track_shapes(shapes, lambda i: frames[i], 14)
    msg = str(e.value)
    assert msg.startswith("tracking 'rig' lost at frame 10 (") and "add a key there" in msg
    assert isinstance(e.value, MatteError)


def test_bad_inputs() -> None:
    flat = np.full((H, W, 3), 0.5, np.float32)
    shapes = ShapeSet((Shape("rig", "polygon", {0: RIG}, 0.0),))
    with pytest.raises(TrackLostError, match="tracking 'rig' cannot start at frame 0"):
        track_shapes(shapes, lambda i: flat, 5)
    with pytest.raises(MatteError, match="key 7 is outside the shot"):
        track_shapes(shapes, lambda i: flat, 5, key=7)
    with pytest.raises(MatteError, match="the frames ended at frame 3 but the shot has 6"):
        track_shapes(shapes, iter([textured(H, W, 1)] * 3), 6)
    with pytest.raises(MatteError, match="unknown tracking model"):
        track_shapes(shapes, lambda i: flat, 5, model="spline")  # type: ignore[arg-type]


def patch_ncc(a: np.ndarray, b: np.ndarray) -> float:
    x, y = a - a.mean(), b - b.mean()
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))


@pytest.mark.footage
def test_tracks_real_handheld_footage(footage: Path, manifest: dict[str, dict[str, Any]]) -> None:
    """A polygon on the trees and buildings of a shaky handheld walk (480x360), 16 frames.

    Checked against an independent method (normalised template matching of the drawn patch)
    and by the picture under the shape: it stays the drawn patch, while a static shape drifts.
    """
    frames = read_frames(footage, manifest, "shaky_park_walkway", list(range(N)), 480)
    poly = np.array([[250.0, 60.0], [330.0, 60.0], [330.0, 130.0], [250.0, 130.0]])
    shapes = ShapeSet((Shape("trees", "polygon", {0: poly}, 0.0),))
    out = track_shapes(shapes, lambda i: frames[i], N)
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    x0, y0 = poly.min(axis=0).astype(int)
    x1, y1 = poly.max(axis=0).astype(int)
    tpl = grey[0][y0:y1, x0:x1]
    moves = []
    for i in range(N):
        r = cv2.matchTemplate(grey[i], tpl, cv2.TM_CCOEFF_NORMED)
        _, score, _, loc = cv2.minMaxLoc(r)
        assert score > 0.95
        found = np.array(loc, float) - (x0, y0)
        tracked = out.vertices("trees", i).mean(axis=0) - poly.mean(axis=0)
        assert np.abs(tracked - found).max() <= 1.5, (i, tracked, found)
        moves.append(float(np.linalg.norm(found)))
    assert max(moves) > 10  # the camera moved enough for a static shape to be wrong
    # the patch under the tracked shape (shifted back) still is the drawn one
    worst = int(np.argmax(moves))
    shift = np.round(out.vertices("trees", worst).mean(axis=0) - poly.mean(axis=0)).astype(int)
    under = grey[worst][y0 + shift[1] : y1 + shift[1], x0 + shift[0] : x1 + shift[0]]
    static = grey[worst][y0:y1, x0:x1]
    assert patch_ncc(under, tpl) > 0.9
    assert patch_ncc(static, tpl) < patch_ncc(under, tpl) - 0.5
    # and the matte draws it there
    m = ShapeMatte(out, 480, 360, N).mask(worst)
    assert m[int(poly[:, 1].mean()) + shift[1], int(poly[:, 0].mean()) + shift[0]] == 1.0
