"""Tests of rushes.ops.remove_takes: other takes of the setup as a fill source of ``remove``.

The shot is real footage (a locked-off lawn, ``juggle_sam2``) with a still blob to remove, so
its own frames never see behind it. "Another take" is the same footage re-photographed: read
at twice the size, warped by a known homography (slight rotation, zoom, shift, perspective),
darkened (x0.9 + 0.02), with its own moving object (a magenta disc) crossing the frame, then
downsampled like the shot, so the take is resampled once, as a real second photograph is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from rushes.color import convert
from rushes.errors import FillError
from rushes.media import write_h264
from rushes.ops.remove_fill import FillOptions, fill_frames
from rushes.ops.remove_takes import (
    Take,
    TakeOptions,
    TakeSource,
    take_from_record,
    takes_for_shot,
)
from rushes.project import Clip, Project, Setup, Shot
from tests.conftest import read_frames, textured

N = 12
GAIN, OFFSET = 0.9, 0.02
ANGLE = np.deg2rad(1.2)
# take -> shot is the inverse of this; defined on the 2x ("hi") frames
WARP_HI = np.array(
    [
        [np.cos(ANGLE) * 1.02, -np.sin(ANGLE), 9.0],
        [np.sin(ANGLE), np.cos(ANGLE) * 1.02, -6.0],
        [1e-5, -2e-5, 1.0],
    ]
)
DISC = (0.9, 0.1, 0.8)


@dataclass
class Scene:
    shot: list[np.ndarray]  # clean frames of the shot, 480 wide
    take: list[np.ndarray]  # the other take, same size
    take_hi: list[np.ndarray]  # the other take at twice the size
    hole: np.ndarray  # bool, still over the whole shot
    take_to_shot: np.ndarray  # true homography at the shot's size


def centre_scale(s: float) -> np.ndarray:
    return np.array([[s, 0.0, 0.5 * s - 0.5], [0.0, s, 0.5 * s - 0.5], [0.0, 0.0, 1.0]])


def disc_x(t: int) -> int:
    """Disc centre on the hi frames: it crosses the hole around frames 2-5."""
    return 100 + 40 * t


@pytest.fixture(scope="module")
def scene(footage: Path, manifest: dict[str, dict[str, Any]]) -> Scene:
    hi = read_frames(footage, manifest, "juggle_sam2", list(range(0, 2 * N, 2)), 960)
    h9, w9 = hi[0].shape[:2]
    size = (480, round(480 * h9 / w9))

    def small(f: np.ndarray) -> np.ndarray:
        return cv2.resize(f, size, interpolation=cv2.INTER_AREA)

    shot = [small(f) for f in hi]
    take_hi = []
    for t, f in enumerate(hi):
        g = cv2.warpPerspective(
            f, WARP_HI, (w9, h9), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT101
        )
        g = np.clip(g * GAIN + OFFSET, 0.0, 1.0)
        cv2.circle(g, (disc_x(t), 300), 40, DISC, -1)
        take_hi.append(g)
    h, w = shot[0].shape[:2]
    yy, xx = np.mgrid[:h, :w]
    hole = ((xx - 0.25 * w) / 40.0) ** 2 + ((yy - 0.6 * h) / 30.0) ** 2 < 1.0
    c = centre_scale(w / w9)
    true = np.linalg.inv(c @ WARP_HI @ np.linalg.inv(c))
    return Scene(shot, [small(f) for f in take_hi], take_hi, hole, true / true[2, 2])


def source(frames: list[np.ndarray], **options: Any) -> TakeSource:
    take = Take("B", len(frames), lambda i: frames[i])
    return TakeSource([take], shot_frames=N, options=TakeOptions(**options))


def psnr(a: np.ndarray, b: np.ndarray, m: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a[m] - b[m]) ** 2)))


def magenta(img: np.ndarray) -> np.ndarray:
    return (img[..., 0] > 0.6) & (img[..., 1] < 0.35) & (img[..., 2] > 0.5)


def union_fill(
    got: list[tuple[np.ndarray, np.ndarray]], hole: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """What the fill does with the candidates: first valid one wins, per pixel."""
    out = np.zeros((*hole.shape, 3), np.float32)
    left = hole.copy()
    for img, valid in got:
        use = left & valid
        out[use] = img[use]
        left &= ~use
    return out, hole & ~left


def test_the_take_fills_the_hole_like_the_clean_plate(scene: Scene) -> None:
    src = source(scene.take)
    for t in (0, 8, 11):  # the take's disc is away from the hole
        got = list(src.candidates(t, scene.shot[t], scene.hole))
        assert got, t
        img, valid = got[0]
        assert img.shape == scene.shot[t].shape and img.dtype == np.float32
        assert valid.shape == scene.hole.shape and valid.dtype == bool
        m = scene.hole & valid
        assert m.sum() > 0.97 * scene.hole.sum()
        assert psnr(img, scene.shot[t], m) > 33.0, t  # measured 37.5-37.6 dB
        best = src.last[0]
        assert best.take == "B" and best.frame == t  # the same relative position first
        assert np.allclose(best.gain, 1 / GAIN, atol=0.04)
        assert np.allclose(best.offset, -OFFSET / GAIN, atol=0.02)
        # the alignment: within half a pixel of the truth over the hole
        pts = np.argwhere(scene.hole)[::50, ::-1].astype(np.float32)[None]
        ours = cv2.perspectiveTransform(pts, np.linalg.inv(np.array(best.homography)))
        truth = cv2.perspectiveTransform(pts, np.linalg.inv(scene.take_to_shot))
        assert float(np.abs(ours - truth).max()) < 0.5
        json.dumps(best.to_dict())


def test_the_takes_own_moving_object_is_never_valid(scene: Scene) -> None:
    src = source(scene.take)
    for t in (3, 4):
        # the premise: aligned, the take's disc lies in the hole at this frame
        h, w = scene.hole.shape
        aligned = cv2.warpPerspective(scene.take[t], scene.take_to_shot, (w, h))
        assert (magenta(aligned) & scene.hole).sum() > 300
        got = list(src.candidates(t, scene.shot[t], scene.hole))
        assert len(got) >= 2
        for img, valid in got:
            assert not (magenta(img) & valid).any()
        out, covered = union_fill(got, scene.hole)
        assert covered.sum() > 0.97 * scene.hole.sum()  # other frames of the take cover it
        assert psnr(out, scene.shot[t], covered) > 33.0, t  # measured 36.9-37.1 dB
        assert all(m.frame != t or m.coverage < 0.8 for m in src.last)


def test_an_object_wholly_inside_the_hole_is_voted_out(scene: Scene) -> None:
    # take frame 4 holds a dark blob inside the hole that never touches the band around it:
    # only the other frames of the take can tell it is not the background
    take = [f.copy() for f in scene.take]
    h, w = scene.hole.shape
    cx, cy = round(0.25 * w), round(0.6 * h)
    at = np.float32([[[cx, cy]]])
    tx, ty = cv2.perspectiveTransform(at, np.linalg.inv(scene.take_to_shot))[0, 0]
    cv2.circle(take[4], (round(tx), round(ty)), 10, (0.15, 0.12, 0.1), -1)
    src = source(take)
    got = list(src.candidates(4, scene.shot[4], scene.hole))
    frames = [m.frame for m in src.last]
    assert 4 in frames and len(frames) >= 3
    blob = np.zeros_like(scene.hole)
    cv2.circle(blob.view(np.uint8), (cx, cy), 8, 1, -1)
    img, valid = got[frames.index(4)]
    assert (img[blob].mean(axis=1) < 0.2).all()  # the blob is there, aligned
    assert not (valid & blob).any()
    assert frames[0] != 4  # ranked after the frames that agree
    out, covered = union_fill(got, scene.hole)
    assert np.array_equal(covered, scene.hole)
    assert psnr(out, scene.shot[4], scene.hole) > 33.0  # measured 36.9 dB


def test_fill_frames_takes_what_the_shot_never_saw_from_the_take(scene: Scene) -> None:
    n = 6
    masks = [scene.hole.astype(np.float32)] * n
    dirty = [np.where(scene.hole[..., None], np.float32([0.2, 0.9, 0.2]), f) for f in scene.shot]
    opt = FillOptions(radius=3)
    alone = list(fill_frames(dirty[:n], masks, opt))
    assert all(f.stats.spatial == f.stats.masked for f in alone)  # never photographed here
    with source(scene.take) as src:
        filled = list(fill_frames(dirty[:n], masks, opt, sources=[src]))
    for t, f in enumerate(filled):
        assert f.stats.other > 0.97 * f.stats.masked, f.stats
        assert f.stats.spatial < 0.03 * f.stats.masked, f.stats
        assert f.synthesized[scene.hole].mean() < 0.03
        assert psnr(f.frame, scene.shot[t], scene.hole) > 32.0, t  # measured 36.2-37.1 dB
        assert psnr(alone[t].frame, scene.shot[t], scene.hole) < 28.0  # Telea: 23.5-23.6 dB


def test_the_band_must_show_plate(scene: Scene) -> None:
    # the hole is the left half of a matte whose right half still shows the object in the
    # frame passed: the band disagrees with every take frame there, and nothing is trusted
    # near it; with the rest of the matte already filled (as the fill should pass it), the
    # take covers the hole
    t = 9
    hole = scene.hole.copy()
    hole[:, 120:] = False
    paint = np.float32([0.2, 0.9, 0.2])
    src = source(scene.take)
    unfilled = np.where(scene.hole[..., None], paint, scene.shot[t])
    got = list(src.candidates(t, unfilled, hole))
    assert union_fill(got, hole)[1].sum() < 0.5 * hole.sum()
    staged = np.where(hole[..., None], paint, scene.shot[t])
    out, covered = union_fill(list(src.candidates(t, staged, hole)), hole)
    assert np.array_equal(covered, hole)
    assert psnr(out, scene.shot[t], hole) > 33.0  # measured 37.5 dB


def test_a_take_of_something_else_gives_nothing(
    scene: Scene, footage: Path, manifest: dict[str, dict[str, Any]]
) -> None:
    other = read_frames(footage, manifest, "schoolgirls", [0, 20, 40], 480)
    src = TakeSource([Take("elsewhere", len(other), lambda i: other[i])], shot_frames=N)
    for t in (0, 6):
        assert list(src.candidates(t, scene.shot[t], scene.hole)) == []
        assert src.last == []


@pytest.mark.parametrize(("scale", "floor"), [(2.0, 33.0), (0.75, 30.0)])
def test_a_take_at_another_resolution(scene: Scene, scale: float, floor: float) -> None:
    if scale == 2.0:
        frames = scene.take_hi
    else:
        frames = [
            cv2.resize(f, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            for f in scene.take
        ]
    src = source(frames)
    got = list(src.candidates(9, scene.shot[9], scene.hole))
    assert got
    img, valid = got[0]
    m = scene.hole & valid
    assert m.sum() > 0.97 * scene.hole.sum()
    assert psnr(img, scene.shot[9], m) > floor  # measured 36.7 (x2) and 32.7 dB (x0.75)


def test_what_the_take_never_framed_is_not_valid(scene: Scene) -> None:
    # the take framed 12 pixels further left (black beyond): the last 12 columns of the shot
    # were never in it
    h, w = scene.hole.shape
    shift = np.float32([[1, 0, 12], [0, 1, 5]])
    take = [cv2.warpAffine(f, shift, (w, h)) for f in scene.shot]
    hole = np.zeros_like(scene.hole)
    hole[100:200, w - 60 :] = True
    src = source(take)
    img, valid = next(iter(src.candidates(5, scene.shot[5], hole)))
    m = hole & valid
    assert np.array_equal(m[:, : w - 16], hole[:, : w - 16])  # within a few pixels of it
    assert not m[:, w - 12 :].any()
    assert psnr(img, scene.shot[5], m) > 40.0  # measured 47.1 dB (no resampling blur)


def test_dead_pixels_are_neither_plate_nor_fill(scene: Scene) -> None:
    t = 9
    frame = scene.shot[t].copy()
    ring = cv2.dilate(scene.hole.view(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    ys, xs = np.nonzero(ring & ~scene.hole)
    frame[ys[::40], xs[::40]] = np.nan  # dead pixels in the band around the hole
    frame[5, 5] = np.inf
    take = [f.copy() for f in scene.take]
    take[t][150:153, 110:113] = np.nan  # and in the take, where it lands in the hole
    src = source(take)
    got = list(src.candidates(t, frame, scene.hole))
    assert got
    for img, _ in got:
        assert np.isfinite(img).all()
    img, valid = got[0]
    m = scene.hole & valid
    assert m.sum() > 0.97 * scene.hole.sum()
    assert psnr(img, scene.shot[t], m) > 33.0


def test_the_same_relative_position_is_read_first(scene: Scene) -> None:
    asked: list[int] = []

    def read(i: int) -> np.ndarray:
        asked.append(i)
        return scene.take[i % N]

    src = TakeSource(
        [Take("long", 2 * N - 1, read)], shot_frames=N, options=TakeOptions(index_frames=0)
    )
    list(src.candidates(6, scene.shot[6], scene.hole))
    assert asked == [12]  # frame 6 of 0..11 is frame 12 of 0..22


def test_bad_input(scene: Scene) -> None:
    src = source(scene.take)
    with pytest.raises(FillError, match="hole"):
        list(src.candidates(0, scene.shot[0], scene.hole[:-1]))
    with pytest.raises(FillError, match=r"\(H, W, 3\)"):
        list(src.candidates(0, scene.shot[0][..., 0], scene.hole))
    grey = TakeSource([Take("grey", 3, lambda i: scene.take[0][..., 0])])
    with pytest.raises(FillError, match="take grey frame 0"):
        list(grey.candidates(0, scene.shot[0], scene.hole))
    # nothing to fill, or no take: nothing is read
    asked: list[int] = []
    lazy = TakeSource([Take("lazy", 3, lambda i: asked.append(i) or scene.take[i])])
    assert list(lazy.candidates(0, scene.shot[0], np.zeros_like(scene.hole))) == []
    assert asked == []
    assert list(TakeSource([]).candidates(0, scene.shot[0], scene.hole)) == []


def test_close_releases_every_take(scene: Scene) -> None:
    closed: list[str] = []
    takes = [
        Take(name, N, lambda i: scene.take[i], closer=lambda n=name: closed.append(n))
        for name in ("a", "b")
    ]
    with TakeSource(takes) as src:
        assert list(src.candidates(0, scene.shot[0], scene.hole))
    assert closed == ["a", "b"]


# -- takes_for_shot --------------------------------------------------------------------------


def add_clip(s: Any, path: Path, frames: int, colorspace: str) -> Clip:
    clip = Clip(
        name=path.stem, path=str(path), kind="movie", checksum="0" * 16, size=1, mtime_ns=0,
        width=128, height=72, frames=frames, fps="24", codec="h264", pix_fmt="yuv420p",
        bit_depth=8, colorspace=colorspace,
    )  # fmt: skip
    s.add(clip)
    return clip


def test_takes_for_shot_reads_the_other_shots_of_the_setup(tmp_path: Path) -> None:
    frames = [
        np.repeat(textured(72, 128, 3, t).mean(axis=2, keepdims=True), 3, 2) for t in range(10)
    ]
    a = write_h264(frames[:4], tmp_path / "A001.mp4", fps=Fraction(24))
    b = write_h264(frames, tmp_path / "A002.mp4", fps=Fraction(24))
    project = Project.init(tmp_path / "film", fps="24")
    rec709 = "Gamma 2.4 Encoded Rec.709"
    with project.session() as s:
        ca = add_clip(s, a, 4, rec709)
        cb = add_clip(s, b, 10, "ACEScct")  # another encoding: converted to the shot's
        setup = Setup(name="1A")
        shot = Shot(clip=ca, index=0, name="A001_s1", start=0, end=4, setup=setup)
        other = Shot(clip=cb, index=0, name="A002_s1", start=2, end=9, setup=setup)
        lone = Shot(clip=cb, index=1, name="A002_s2", start=9, end=10)
        s.add_all([setup, shot, other, lone])
        s.flush()
        takes = takes_for_shot(project, shot, long_side=64)
        assert takes_for_shot(project, lone) == []
    assert [t.name for t in takes] == ["A002_s1"]
    take = takes[0]
    assert take.frames == 7
    got = take.read(1)  # frame 3 of the clip, half size, in the shot's encoding
    assert got.shape == (36, 64, 3) and got.dtype == np.float32
    back = convert(got, rec709, "ACEScct")
    err = [
        float(np.abs(back - cv2.resize(f, (64, 36), interpolation=cv2.INTER_AREA)).mean())
        for f in frames
    ]
    assert int(np.argmin(err)) == 3 and err[3] < 0.02, err
    assert float(np.abs(got - back).mean()) > 0.05  # it was converted
    take.close()
    take.close()  # twice is fine
    assert take.read(0).shape == (36, 64, 3)  # reopens lazily
    take.close()
    project.close()
    # the same take from a stored record (what a plan keeps), in its own encoding, full size
    rec = {"name": "A002_s1", "path": str(b), "fps": "24", "start": 2, "end": 9}
    plain = take_from_record({**rec, "colorspace": "ACEScct"})
    assert plain.frames == 7
    full = plain.read(1)
    assert full.shape == (72, 128, 3)
    assert float(np.abs(full - frames[3]).mean()) < 0.02
    plain.close()
    with pytest.raises(FillError, match="needs name, path, start and end"):
        take_from_record({"name": "x", "path": str(b)})
    with pytest.raises(FillError, match="no frames"):
        take_from_record({**rec, "end": 2})
