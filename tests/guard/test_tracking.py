"""Per-frame performer tracking (rushes.guard.tracking) and its ground truth file."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from rushes.guard import tracking
from rushes.guard.detect import Hit, Prepared
from rushes.guard.tracking import PerformerTracks, TrackSettings, track_performers
from tests.conftest import read_frames

TRUTH = Path(__file__).resolve().parents[1] / "data" / "guard" / "faces_truth.json"
W, H = 320, 180


def _frames(n: int) -> list[np.ndarray]:
    """Flat frames whose luma code value is their index (read back by the scripted detector)."""
    return [np.full((H, W, 3), i / 255.0, np.float32) for i in range(n)]


def _script(monkeypatch: pytest.MonkeyPatch, faces: dict[int, list[tuple[int, ...]]]) -> None:
    """Replace the detectors: frame i (read from its pixels) holds the face boxes faces[i]."""

    def detect_faces(p: Prepared, settings: Any = None, roi: Any = None, phase: float = 0.0):
        i = int(p.gray[0, 0])
        return [Hit("face", *map(float, b), 0.9) for b in faces.get(i, [])]

    monkeypatch.setattr(tracking, "detect_faces", detect_faces)
    monkeypatch.setattr(tracking, "detect_bodies", lambda p: [])


def _path(i: int) -> tuple[int, int, int, int]:
    return (40 + 12 * i, 60, 40, 40)


def _covers(r: Any, x: float, y: float) -> bool:
    return r.x <= x < r.x + r.w and r.y <= y < r.y + r.h


@pytest.mark.parametrize("every", [1, 4])
def test_missed_detection_is_filled(monkeypatch: pytest.MonkeyPatch, every: int) -> None:
    _script(monkeypatch, {i: [_path(i)] for i in range(12) if i != 5})
    t = track_performers(_frames(12), W, H, 12, every=every)
    assert len(t.tracks) == 1
    for i in range(12):
        (face,) = t.faces(i)
        x, y, w, h = _path(i)
        assert _covers(face, x + w / 2, y + h / 2), (i, face)
        assert face.w < 2.5 * w  # grown for hair and motion, not swallowing the frame
    assert t.to_dict()["tracks"][0]["detected"] == [[0, 5], [6, 12]]
    assert t.frames_with_people() == list(range(12))


def test_far_box_is_not_merged(monkeypatch: pytest.MonkeyPatch) -> None:
    faces = {i: [_path(i)] for i in range(12) if i != 5}
    faces[5] = [(250, 120, 40, 40)]  # the face is missed and something far away is found
    _script(monkeypatch, faces)
    t = track_performers(_frames(12), W, H, 12, every=1)
    assert len(t.tracks) == 2  # kept as a track of its own (min_hits=1 by default)
    assert sum(_covers(f, 270, 140) for f in t.faces(5)) == 1
    assert sum(_covers(f, 40 + 12 * 5 + 20, 80) for f in t.faces(5)) == 1
    assert not any(_covers(f, 270, 140) for f in t.faces(11))  # not extended far
    # dropped when tracks need two detections
    t = track_performers(_frames(12), W, H, 12, settings=TrackSettings(every=1, min_hits=2))
    assert len(t.tracks) == 1
    (face,) = t.faces(5)
    assert _covers(face, 40 + 12 * 5 + 20, 80) and not _covers(face, 270, 140)


def test_long_gap_is_not_bridged(monkeypatch: pytest.MonkeyPatch) -> None:
    st = TrackSettings(every=1, max_gap=3, extend=1)
    _script(monkeypatch, {i: [(60, 60, 40, 40)] for i in (*range(0, 4), *range(10, 14))})
    t = track_performers(_frames(14), W, H, 14, settings=st)
    assert len(t.tracks) == 2
    assert [i for i in range(14) if not t.faces(i)] == [5, 6, 7, 8]  # 4 and 9: extended
    _script(monkeypatch, {i: [(60, 60, 40, 40)] for i in (*range(0, 4), *range(7, 14))})
    t = track_performers(_frames(14), W, H, 14, settings=st)
    assert len(t.tracks) == 1 and all(t.faces(i) for i in range(14))


def test_still_gets_every_phase(monkeypatch: pytest.MonkeyPatch) -> None:
    phases: list[float] = []

    def detect_faces(p: Prepared, settings: Any = None, roi: Any = None, phase: float = 0.0):
        if roi is None:
            phases.append(phase)
        return [Hit("face", 60.0, 60.0, 40.0, 40.0, 0.9)]

    monkeypatch.setattr(tracking, "detect_faces", detect_faces)
    monkeypatch.setattr(tracking, "detect_bodies", lambda p: [])
    t = track_performers(_frames(1), W, H, 1)
    assert phases == [0.0, 0.5] and len(t.faces(0)) == 1  # one detection, kept: a still
    phases.clear()
    track_performers(_frames(17), W, H, 17, every=8)
    assert phases == [0.0, 0.5, 0.0]  # key frames 0, 8 and the last, 16


def test_round_trip_and_protect(monkeypatch: pytest.MonkeyPatch) -> None:
    _script(monkeypatch, {i: [_path(i)] for i in range(3, 10)})
    t = track_performers(_frames(20), W, H, 20, every=4)
    back = PerformerTracks.from_dict(json.loads(json.dumps(t.to_dict())))
    assert (back.width, back.height, back.frames, back.meta) == (W, H, 20, t.meta)
    for i in range(20):
        assert back.regions(i) == t.regions(i)
    m = t.protect(6)
    assert m is not None and m.shape == (H, W) and m.dtype == bool
    x, y, w, h = _path(6)
    assert m[y + h // 2, x + w // 2] and not m[5, 5]
    assert t.protect(19) is None  # past the track and its extension
    assert t.frames_with_people() == list(range(0, 14))  # 3..9 extended by 4 each side
    bad = t.to_dict() | {"version": 0}
    with pytest.raises(ValueError, match="version"):
        PerformerTracks.from_dict(bad)
    with pytest.raises(IndexError):
        t.regions(20)


def test_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    _script(monkeypatch, {})
    with pytest.raises(ValueError, match="160x90 but the shot is 320x180"):
        track_performers([np.zeros((90, 160, 3), np.float32)], W, H, 1)
    with pytest.raises(ValueError, match="every"):
        track_performers(_frames(2), W, H, 2, every=0)
    nan = np.full((H, W, 3), np.nan, np.float32)
    with pytest.raises(ValueError, match="NaN"):
        track_performers([nan], W, H, 1)
    empty = track_performers(_frames(3), W, H, 3)
    assert empty.frames_with_people() == [] and empty.protect(0) is None


def test_talking_head_face_on_every_frame(
    footage: Path, manifest: dict[str, dict[str, Any]]
) -> None:
    name = "talkinghead_vr5_woman_glasses"
    truth = json.loads(TRUTH.read_text())["clips"][name]
    size = int(truth["width"])
    frames = read_frames(footage, manifest, name, list(range(10)), size)
    done: list[int] = []
    t = track_performers(frames, size, size, 10, progress=done.append)
    assert done == list(range(1, 11))
    # the hand-checked face of frame 7: the head barely moves in this clip
    g = truth["labels"]["7"]["faces"][0]
    cx, cy = g["x"] + g["w"] / 2, g["y"] + g["h"] / 2
    for i in range(10):
        assert any(_covers(f, cx, cy) for f in t.faces(i)), i
    m = t.protect(0)
    assert m is not None and not m[:, :20].any()  # the frame edge is not a face


def test_shot_performers_caches(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, h264_two_shots: Path
) -> None:
    project = SimpleNamespace(
        path=lambda *parts: tmp_path.joinpath(*parts),
        settings=SimpleNamespace(color=SimpleNamespace(input_colorspace=None)),
    )
    clip = SimpleNamespace(
        path=str(h264_two_shots),
        checksum="0123456789abcdef",
        width=320,
        height=180,
        fps="24",
        colorspace=None,
        codec="h264",
        pix_fmt="yuv420p",
        bit_depth=8,
        kind="movie",
    )
    shot = SimpleNamespace(clip=clip, start=30, end=36)
    done: list[int] = []
    first = tracking.shot_performers(project, shot, done.append)  # type: ignore[arg-type]
    path = tracking.cache_path(project, shot)  # type: ignore[arg-type]
    assert path.name == f"0123456789abcdef_30_36_v{tracking.VERSION}.json"
    assert path.is_file() and first.frames == 6 and done[-1] == 6

    def fail(*a: Any, **k: Any) -> None:
        raise AssertionError("tracked again instead of reading the cache")

    monkeypatch.setattr(tracking, "track_performers", fail)
    again = tracking.shot_performers(project, shot)  # type: ignore[arg-type]
    assert again.to_dict() == first.to_dict()
    monkeypatch.undo()
    path.write_text('{"version": 1, "tra')  # a damaged cache is ignored and rebuilt
    rebuilt = tracking.shot_performers(project, shot)  # type: ignore[arg-type]
    assert rebuilt.to_dict() == first.to_dict()
    assert json.loads(path.read_text())["frames"] == 6


def test_truth_file_has_what_the_bench_uses() -> None:
    gt = json.loads(TRUTH.read_text())
    assert gt["date"] == "2026-11-21" and "hand-checked" in gt["about"].lower()
    assert "looked at" in gt["method"]
    views = {"frontal", "profile", "turned-away"}
    big = 0
    for name, c in gt["clips"].items():
        w, h = int(c["width"]), int(c["height"])
        a, b = c["shot"]
        assert 0 <= a < b <= c["frames"], name
        assert c["sampled"] == sorted(c["sampled"]) and all(a <= f < b for f in c["sampled"])
        assert sorted(map(int, c["labels"])) == c["sampled"], name
        assert c["path"] and c["notes"] and isinstance(c["continuous"], bool)
        for f, lab in c["labels"].items():
            for g in lab["faces"]:
                assert g["view"] in views and isinstance(g["occluded"], bool), (name, f)
                assert g["x"] >= 0 and g["x"] + g["w"] <= w and g["w"] >= 20, (name, f)
                assert g["y"] >= 0 and g["y"] + g["h"] <= h and g["h"] >= 20, (name, f)
                big += g["w"] >= 40 and g["view"] != "turned-away"
            for x, y, iw, ih in lab.get("ignore", []):
                assert x >= 0 and y >= 0 and x + iw <= w and y + ih <= h
    assert big >= 100
