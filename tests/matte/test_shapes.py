"""Tests for rushes.matte.shapes (the JSON shape format, interpolation and rasterising)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from rushes.errors import MatteError
from rushes.matte.shapes import Shape, ShapeMatte, ShapeSet, parse_shapes, render_shape

DOC: dict[str, Any] = {
    "version": 1,
    "width": 200,
    "height": 100,
    "shapes": [
        {
            "name": "wire1",
            "type": "polyline",
            "width": 3,
            "feather": 1,
            "keys": {"0": [[10, 20], [100, 30], [190, 22]], "40": [[14, 24], [110, 40], [186, 30]]},
        },
        {
            "name": "rig",
            "type": "polygon",
            "keys": {"12": [[50, 50], [90, 52], [88, 90], [52, 88]]},
        },
    ],
}


def test_interpolation_golden_values() -> None:
    s = parse_shapes(DOC)
    np.testing.assert_allclose(s.vertices("wire1", 0), [[10, 20], [100, 30], [190, 22]])
    np.testing.assert_allclose(s.vertices("wire1", 10), [[11, 21], [102.5, 32.5], [189, 24]])
    np.testing.assert_allclose(s.vertices("wire1", 30), [[13, 23], [107.5, 37.5], [187, 28]])
    # held before the first key and after the last
    np.testing.assert_allclose(s.vertices("wire1", 99), [[14, 24], [110, 40], [186, 30]])
    # one key: static
    for i in (0, 12, 500):
        np.testing.assert_allclose(s.vertices("rig", i), [[50, 50], [90, 52], [88, 90], [52, 88]])
    three = Shape(
        "t",
        "polygon",
        {
            0: [[0, 0], [4, 0], [0, 4]],
            10: [[10, 0], [14, 0], [10, 4]],
            20: [[10, 10], [14, 10], [10, 14]],
        },
    )
    np.testing.assert_allclose(three.vertices(15), [[10, 5], [14, 5], [10, 9]])
    np.testing.assert_allclose(three.vertices(2.5), [[2.5, 0], [6.5, 0], [2.5, 4]])
    assert three.key_frames == (0, 10, 20)
    with pytest.raises(MatteError, match="no shape named 'nope'; the shapes are wire1, rig"):
        s.vertices("nope", 0)


def measured_width(mask: np.ndarray, p0: np.ndarray, p1: np.ndarray) -> float:
    """Integrated width of a rasterised line: its mask's area over its length, away from ends."""
    d = (p1 - p0) / np.linalg.norm(p1 - p0)
    yy, xx = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]]
    t = (xx - p0[0]) * d[0] + (yy - p0[1]) * d[1]
    length = float(np.linalg.norm(p1 - p0))
    middle = (t >= 20) & (t < length - 20)
    return float(mask[middle].sum()) / (length - 40)


@pytest.mark.parametrize("width", [1.0, 2.0, 3.0, 4.5, 6.0])
@pytest.mark.parametrize("angle", [0.0, 17.0, 45.0, 80.0])
def test_polyline_width_matches_request(width: float, angle: float) -> None:
    c = np.array([100.3, 80.6])
    d = np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))])
    p0, p1 = c - 70 * d, c + 70 * d
    m = render_shape("polyline", np.stack([p0, p1]), 200, 160, stroke=width)
    assert m.dtype == np.float32 and m.min() >= 0.0 and m.max() <= 1.0
    assert measured_width(m, p0, p1) == pytest.approx(width, abs=0.05)
    # counted in whole pixels across the line (>= 0.5), still within a pixel of the request
    n = np.linalg.norm(np.array([-d[1], d[0]]))
    assert n == pytest.approx(1.0)
    across = np.array(
        [
            cv2.getRectSubPix(m, (1, 1), tuple(c + o * np.array([-d[1], d[0]])))[0, 0]
            for o in np.arange(-8, 8.01, 1.0)
        ]
    )
    assert abs(int((across >= 0.5).sum()) - width) <= 1.0


def test_polygon_area_and_partly_outside() -> None:
    pts = np.array([[30.2, 20.7], [90.1, 30.3], [70.8, 80.4], [20.5, 60.9]])
    m = render_shape("polygon", pts, 120, 100)
    assert float(m.sum()) == pytest.approx(cv2.contourArea(pts.astype(np.float32)), rel=0.002)
    # a square exactly on pixel edges covers exactly its pixels
    sq = render_shape(
        "polygon", np.array([[9.5, 9.5], [19.5, 9.5], [19.5, 29.5], [9.5, 29.5]]), 40, 40
    )
    assert sq.sum() == pytest.approx(200.0) and sq[10:30, 10:20].min() == 1.0
    # partly outside the frame: clipped, no error
    out = render_shape("polygon", np.array([[-50.0, -50.0], [20.0, -10.0], [10.0, 30.0]]), 40, 40)
    assert 0 < out.sum() < 40 * 40
    assert (
        render_shape("polygon", np.array([[500.0, 500], [600, 500], [550, 600]]), 40, 40).sum() == 0
    )


def test_feather_and_dilate_grow_outwards_only() -> None:
    pts = np.array([[20.0, 20.0], [80.0, 20.0], [80.0, 60.0], [20.0, 60.0]])
    core = render_shape("polygon", pts, 100, 80)
    soft = render_shape("polygon", pts, 100, 80, feather=4.0)
    assert np.all(soft >= core - 1e-6)  # the shape stays fully white
    assert soft[40, 50] == 1.0 and soft[40, 21] == 1.0
    row = soft[40, 79:88]  # leaving the right edge (x = 80: that pixel is half inside)
    assert np.all(np.diff(row) <= 1e-6) and row[0] == 1.0 and row[-1] == 0.0
    assert soft[40, 82] == pytest.approx(0.5, abs=0.05)  # linear over feather + 1 = 5 px
    extra = float(soft.sum() - core.sum())
    perimeter = 200.0
    # per unit of outline: the ramp (f + 0.5 - r) / (f + 1) over r in [0, f + 0.5], less the
    # anti-aliased half pixel the core already had; corners add a little
    per_px = (4.5**2 / 10) - 0.125
    assert extra == pytest.approx(perimeter * per_px, rel=0.15)
    assert extra > perimeter * per_px
    grown = render_shape("polygon", pts, 100, 80, dilate=3.0)
    assert grown.sum() == pytest.approx(66 * 46, rel=0.01)
    line = render_shape(
        "polyline", np.array([[10.0, 40.0], [90.0, 40.0]]), 100, 80, stroke=2, dilate=2
    )
    assert measured_width(line, np.array([10.0, 40.0]), np.array([90.0, 40.0])) == pytest.approx(
        6.0, abs=0.05
    )


def test_shape_matte_draws_every_shape_per_frame() -> None:
    matte = ShapeMatte(parse_shapes(DOC), 200, 100, 50)
    m0, m12 = matte.mask(0), matte.mask(12)
    assert m0.shape == (100, 200) and m0.dtype == np.float32
    assert m0[70, 70] == 1.0  # the static rig is there from frame 0
    assert m0[30, 100] == 1.0 and m12[33, 103] == 1.0  # the wire moves
    assert m0[45, 100] == 0.0
    matte.validate()
    with pytest.raises(MatteError, match="frame 50 is outside the shot"):
        matte.mask(50)


def test_round_trip(tmp_path: Path) -> None:
    s = parse_shapes(DOC)
    text = s.to_json()
    assert json.loads(text)["version"] == 1
    f = tmp_path / "shapes.json"
    f.write_text(text)
    back = parse_shapes(f)
    assert back.names == s.names and (back.width, back.height) == (200, 100)
    for a, b in zip(s, back, strict=True):
        assert (a.type, a.width, a.feather, a.key_frames) == (
            b.type,
            b.width,
            b.feather,
            b.key_frames,
        )
        for k in a.key_frames:
            np.testing.assert_allclose(a.keys[k], b.keys[k], atol=1e-3)
    dense = Shape(
        "d", "polyline", {k: np.array([[k / 3, 1.23456], [5, 7]]) for k in range(30)}, 2.5
    )
    s2 = ShapeSet((dense,))
    assert parse_shapes(s2.to_json()).get("d").keys[29].tolist() == [[9.667, 1.235], [5, 7]]


def test_scaled_to_the_shot_about_pixel_centres() -> None:
    s = parse_shapes(
        {
            "width": 1920,
            "height": 1080,
            "shapes": [
                {
                    "type": "polyline",
                    "width": 4,
                    "feather": 2,
                    "keys": {"0": [[-0.5, -0.5], [1919.5, 0]]},
                }
            ],
        }
    )
    m = ShapeMatte(s, 960, 540, 5)
    shape = m.shapes.get("shape1")
    np.testing.assert_allclose(shape.keys[0], [[-0.5, -0.5], [959.5, -0.25]])
    assert (shape.width, shape.feather) == (2.0, 1.0)
    with pytest.raises(MatteError, match=r"drawn on a 1920x1080 frame but the shot is 972x600"):
        ShapeMatte(s, 972, 600, 5)


def bad(doc: Any) -> str:
    with pytest.raises(MatteError) as e:
        parse_shapes(doc if isinstance(doc, str) else json.dumps(doc), frames=50)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("shapes ")
    return msg


def one(**shape: Any) -> dict[str, Any]:
    return {"version": 1, "shapes": [shape]}


POLY = [[0, 0], [10, 0], [10, 10]]


def test_malformed_files_say_what_is_wrong(tmp_path: Path) -> None:
    assert "not valid JSON (Expecting ',' delimiter at line 1 column" in bad('{"shapes": [1 2]}')
    assert "must be a JSON object" in bad("[1, 2]")
    assert "shapes must be a non-empty list" in bad({"version": 1})
    assert "version 2 is newer" in bad({"version": 2, "shapes": []})
    assert "unknown field 'shape'" in bad({"shape": []})
    assert "give both width and height" in bad({"width": 100, "shapes": [{}]})
    assert "width must be a positive integer" in bad({"width": -3, "height": 2, "shapes": []})
    assert "shape 1 must be an object" in bad({"shapes": [3]})
    assert 'shape \'a\': type must be "polyline" or "polygon", got missing' in bad(
        one(name="a", keys={"0": POLY})
    )
    assert 'got "circle"' in bad(one(type="circle", keys={"0": POLY}))
    assert "shape 'shape1': keys must be an object" in bad(one(type="polygon"))
    assert "shape 'r': key 'x' is not a frame index" in bad(
        one(name="r", type="polygon", keys={"x": POLY})
    )
    msg = bad(one(name="rig", type="polygon", keys={"0": POLY, "57": POLY}))
    assert "shape 'rig': key 57 is outside the shot (frames 0-49)" in msg
    assert "key -1 is outside the shot" in bad(one(type="polygon", keys={"-1": POLY}))
    assert "shape 'w' key 3 vertex 1 must be [x, y] numbers, got [1]" in bad(
        one(name="w", type="polyline", keys={"3": [[0, 0], [1]]})
    )
    assert "vertex 0 must be [x, y] numbers, got [true, 1]" in bad(
        one(type="polyline", keys={"3": [[True, 1], [1, 2]]})
    )
    assert "vertex 1 must be [x, y] numbers, got [NaN, 1]" in bad(
        '{"shapes": [{"type": "polyline", "keys": {"0": [[0, 0], [NaN, 1]]}}]}'
    )
    assert "key 0 must be a list of at least 3 [x, y] vertices" in bad(
        one(type="polygon", keys={"0": [[0, 0], [1, 1]]})
    )
    assert "shape 'w' width must be a number, got \"3\"" in bad(
        one(name="w", type="polyline", width="3", keys={"0": POLY})
    )
    assert "width must be more than 0 pixels" in bad(
        one(type="polyline", width=0, keys={"0": POLY})
    )
    assert "feather must be at least 0" in bad(one(type="polyline", feather=-1, keys={"0": POLY}))
    assert "a polygon has no stroke width" in bad(one(type="polygon", width=3, keys={"0": POLY}))
    assert "unknown field 'colour'" in bad(one(type="polygon", colour=1, keys={"0": POLY}))
    msg = bad(one(name="w", type="polyline", keys={"0": POLY, "9": [[0, 0], [1, 1]]}))
    assert "shape 'w': keys have different vertex counts (key 0: 3, key 9: 2)" in msg
    dup = {"shapes": [{"name": "a", "type": "polygon", "keys": {"0": POLY}}] * 2}
    assert "two shapes are named 'a'" in bad(dup)
    with pytest.raises(MatteError, match="no such file"):
        parse_shapes(tmp_path / "missing.json")


def test_keys_beyond_the_shot_are_refused_by_the_matte() -> None:
    with pytest.raises(MatteError, match="shape 'wire1' key 40 is outside the shot"):
        ShapeMatte(parse_shapes(DOC), 200, 100, 30)
    with pytest.raises(MatteError, match="dilate must be 0 or more"):
        ShapeMatte(parse_shapes(DOC), 200, 100, 50, dilate=-1)
