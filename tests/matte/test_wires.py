"""Tests for rushes.matte.wires: synthetic wires of known geometry composited over real frames."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from rushes.errors import MatteError
from rushes.matte.shapes import render_shape
from rushes.matte.wires import (
    WireMatte,
    find_wire_shapes,
    find_wires,
    parse_region,
    ridge_strength,
    wire_mask,
)
from tests.conftest import read_frames, textured

#: (clip, frame, long side): snow and forest; a graffiti wall; trees, kerbs and lamp posts.
PLATES = {
    "car": ("running_car", 40, 972),
    "bmx": ("bmx-trees", 0, 432),
    "park": ("shaky_park_walkway", 0, 480),
}


@pytest.fixture(scope="module")
def plates(footage: Path, manifest: dict[str, dict[str, Any]]) -> dict[str, np.ndarray]:
    return {
        k: read_frames(footage, manifest, clip, [i], side)[0]
        for k, (clip, i, side) in PLATES.items()
    }


def wire_path(w: int, h: int, sag: float, n: int = 60) -> np.ndarray:
    """A wire across the frame from (15 %, 20 %) to (85 %, 45 %), sagging by ``sag`` px."""
    t = np.linspace(0, 1, n)[:, None]
    p = (1 - t) * np.array([0.15 * w, 0.2 * h]) + t * np.array([0.85 * w, 0.45 * h])
    p[:, 1] += sag * 4 * t[:, 0] * (1 - t[:, 0])
    return p


def composite(
    plate: np.ndarray, pts: np.ndarray, width: float, value: float
) -> tuple[np.ndarray, np.ndarray]:
    """The plate with an anti-aliased wire of ``value`` over it, and the wire's coverage."""
    h, w = plate.shape[:2]
    a = render_shape("polyline", pts, w, h, stroke=width)
    return plate * (1 - a[..., None]) + value * a[..., None], a


def around(pts: np.ndarray, margin: int = 24) -> tuple[int, int, int, int]:
    """A rough region: the wire's box plus a margin."""
    lo, hi = pts.min(axis=0) - margin, pts.max(axis=0) + margin
    return int(lo[0]), int(lo[1]), int(hi[0] - lo[0]), int(hi[1] - lo[1])


def scores(found: np.ndarray, coverage: np.ndarray) -> tuple[float, float]:
    """Recall: share of the wire's pixels (coverage >= 0.5) the mask covers (>= 0.5).
    Precision: share of the mask's pixels within 2 px of the wire."""
    truth = coverage >= 0.5
    on = found >= 0.5
    near = cv2.dilate(truth.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return float(on[truth].mean()), float((on & near).sum() / max(int(on.sum()), 1))


DARK, BRIGHT = 0.05, 0.97
CASES = (
    [("car", w, DARK, 0.0) for w in (1, 2, 3, 4.5, 6)]
    + [("car", w, BRIGHT, 40.0) for w in (1, 2, 3, 4.5, 6)]
    + [("bmx", w, DARK, 0.0) for w in (1, 3, 6)]
    + [("bmx", w, DARK, -30.0) for w in (2, 4.5)]
    + [("bmx", w, BRIGHT, 40.0) for w in (1, 2, 4.5, 6)]
    + [("park", w, BRIGHT, 40.0) for w in (2, 3, 4.5)]
    + [("park", w, BRIGHT, 0.0) for w in (2, 6)]
)


@pytest.mark.footage
@pytest.mark.parametrize(("plate", "width", "value", "sag"), CASES)
def test_finds_a_known_wire_over_a_real_frame(
    plates: dict[str, np.ndarray], plate: str, width: float, value: float, sag: float
) -> None:
    bg = plates[plate]
    h, w = bg.shape[:2]
    pts = wire_path(w, h, sag)
    frame, coverage = composite(bg, pts, width, value)
    wires = find_wires(frame, around(pts), frame_index=3)
    found = wire_mask(wires, w, h, pad=1.0)
    recall, precision = scores(found, coverage)
    assert recall >= 0.9, (recall, precision)
    assert precision >= 0.9, (recall, precision)
    best = wires[0]
    assert best.polarity == ("dark" if value == DARK else "bright")
    assert abs(best.width - width) <= (1.5 if width < 1.5 else 1.0)
    assert best.length >= 0.9 * float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())
    # little outside: no more than the wire's own band plus the pad and a pixel each side
    assert found.sum() <= (width + 4.0) * best.length


@pytest.mark.footage
@pytest.mark.parametrize(
    ("plate", "region"),
    [
        ("car", (0, 300, 600, 240)),  # snow with tyre marks
        ("park", (100, 230, 350, 120)),  # paving and grass
        ("bmx", (0, 190, 432, 50)),  # grass
    ],
)
def test_no_wire_says_so_naming_the_frame(
    plates: dict[str, np.ndarray], plate: str, region: tuple[int, int, int, int]
) -> None:
    with pytest.raises(MatteError) as e:
        find_wires(plates[plate], region, frame_index=12)
    msg = str(e.value)
    assert msg.startswith(f"no wire found in region {','.join(map(str, region))} of frame 12;")
    assert "min_contrast" in msg and "--shapes" in msg and "\n" not in msg


def test_region_checks_and_parsing() -> None:
    frame = textured(120, 160, seed=1)
    with pytest.raises(
        MatteError, match=r"wire region 200,10,50,50 is outside the frame \(160x120"
    ):
        find_wires(frame, (200, 10, 50, 50))
    with pytest.raises(MatteError, match="is empty"):
        find_wires(frame, (10, 10, 0, 50))
    with pytest.raises(MatteError, match="polarity must be"):
        find_wires(frame, (0, 0, 100, 100), polarity="grey")  # type: ignore[arg-type]
    assert parse_region(" 10, 20,300 ,40") == (10, 20, 300, 40)
    with pytest.raises(MatteError, match="four integers x,y,w,h"):
        parse_region("10,20,300")
    with pytest.raises(MatteError, match="is empty"):
        parse_region("1,2,0,4")


def test_ridge_strength_is_about_half_the_contrast_at_the_centre() -> None:
    img = np.full((60, 80), 0.6, np.float32)
    a = render_shape("polyline", np.array([[0.0, 30.0], [79.0, 30.0]]), 80, 60, stroke=3)
    img = img * (1 - a) + 0.2 * a  # a dark line of contrast 0.4
    dark, bright, scale, _ = ridge_strength(img)
    assert dark[30, 40] == pytest.approx(0.5 * 0.4, rel=0.25)
    assert bright[30, 40] == 0.0
    assert dark[10, 40] == 0.0  # flat
    assert 1.4 <= scale[30, 40] <= 2.8


@pytest.mark.footage
def test_wire_matte_and_shapes_over_a_few_frames(plates: dict[str, np.ndarray]) -> None:
    bg = plates["bmx"]
    h, w = bg.shape[:2]
    paths = [wire_path(w, h, 20.0) + np.array([2.0 * k, 1.0 * k]) for k in range(4)]  # sways
    frames = [composite(bg, p, 3.0, DARK)[0] for p in paths]
    region = around(np.concatenate(paths))
    calls: list[int] = []

    def source(i: int) -> np.ndarray:
        calls.append(i)
        return frames[i]

    # the graffiti has bright strokes too: say the wire is dark (as --wires would let a user)
    matte = WireMatte(source, 4, region, w, h, polarity="dark")
    assert calls == []  # lazy
    m2 = matte.mask(2)
    assert calls == [2]
    recall, precision = scores(m2, composite(bg, paths[2], 3.0, DARK)[1])
    assert recall >= 0.9 and precision >= 0.9
    matte.mask(2)
    assert calls == [2]  # cached
    shapes = find_wire_shapes(frames, 4, region, polarity="dark")
    assert shapes.names[0] == "wire1" and shapes.get("wire1").key_frames == (0, 1, 2, 3)
    for k in range(4):
        v = shapes.vertices("wire1", k)
        truth = wire_path(w, h, 20.0, n=3000) + np.array([2.0 * k, 1.0 * k])
        # every vertex lies on the true wire (within a pixel); the ends may run a little long
        d = np.min(np.linalg.norm(v[:, None, :] - truth[None, :, :], axis=2), axis=1)
        assert d[1:-1].max() <= 1.0, d
        assert d.max() <= 6.0, d
    with pytest.raises(MatteError, match="outside the frame"):
        WireMatte(source, 4, (5000, 0, 10, 10), w, h)


@pytest.mark.footage
def test_speed_on_a_600x400_region(plates: dict[str, np.ndarray]) -> None:
    """Reported on the reference machine: >= 10 frames/s; here only a loose bound (shared CI)."""
    bg = plates["car"]
    pts = wire_path(bg.shape[1], bg.shape[0], 30.0)
    frame, _ = composite(bg, pts, 3.0, DARK)
    find_wires(frame, (190, 60, 600, 400))
    t = time.perf_counter()
    for _ in range(3):
        find_wires(frame, (190, 60, 600, 400))
    assert (time.perf_counter() - t) / 3 < 0.5
