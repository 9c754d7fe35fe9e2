"""Tests for rushes.analysis.people (faces and people present)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from rushes.analysis import people
from rushes.analysis.people import Detection, detect_people, summarize_people
from tests.conftest import read_frames

H, W = 360, 640


def det(kind: str, x: float, y: float, w: float, h: float, score: float = 0.8) -> Detection:
    return Detection(kind, x, y, w, h, score)


# --------------------------------------------------------------------------------------------
# detect_people on synthetic frames


def test_blank_and_noise_frames_have_nobody() -> None:
    assert detect_people(np.zeros((H, W, 3), np.float32)) == []
    assert detect_people(np.full((H, W, 3), 0.5, np.float32)) == []
    rng = np.random.default_rng(0)
    noise = cv2.GaussianBlur(rng.random((H, W, 3), dtype=np.float32), (0, 0), 1.5)
    assert [d for d in detect_people(noise) if d.kind == "face"] == []


def test_flags_and_small_frames() -> None:
    frame = np.zeros((H, W, 3), np.float32)
    assert detect_people(frame, faces=False, bodies=False) == []
    assert detect_people(np.zeros((16, 16, 3), np.float32)) == []  # smaller than any detector


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros((H, W), np.float32), "shape"),
        (np.zeros((H, W, 4), np.float32), "shape"),
        (np.zeros((H, W, 3), np.uint8), "dtype"),
    ],
)
def test_bad_input_raises(bad: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        detect_people(bad)


def test_nan_raises() -> None:
    frame = np.zeros((H, W, 3), np.float32)
    frame[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        detect_people(frame)


def test_detectors_are_cached() -> None:
    assert people._cascade(people._FRONTAL) is people._cascade(people._FRONTAL)
    assert people._hog() is people._hog()


def test_detection_dict() -> None:
    d = det("face", 0.1, 0.2, 0.3, 0.4, 0.5)
    assert d.to_dict() == {"kind": "face", "x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4, "score": 0.5}
    assert d.box() == pytest.approx((0.1, 0.2, 0.4, 0.6))
    json.dumps(d.to_dict())


# --------------------------------------------------------------------------------------------
# summarize_people


def test_summary_counts() -> None:
    face = det("face", 0.40, 0.20, 0.10, 0.15)
    body = det("person", 0.35, 0.15, 0.20, 0.70)
    other_face = det("face", 0.80, 0.30, 0.08, 0.12)
    s = summarize_people([[face, body], [face, body, other_face], [], [body]])
    json.dumps(s)
    assert s["frames"] == 4
    assert s["faces_present"] and s["people_present"]
    assert s["max_faces"] == 2
    assert s["max_people"] == 2  # the face inside the body box is the same person
    assert s["face_fraction"] == 0.5 and s["people_fraction"] == 0.75
    kinds = [(b["kind"], b["support"]) for b in s["boxes"]]
    assert kinds[0] == ("person", 0.75)
    assert ("face", 0.5) in kinds and ("face", 0.25) in kinds


def test_summary_merges_a_moving_box_into_one() -> None:
    frames = [[det("face", 0.30 + 0.01 * i, 0.2, 0.2, 0.3, 0.5 + 0.1 * (i % 2))] for i in range(6)]
    s = summarize_people(frames)
    assert len(s["boxes"]) == 1
    box = s["boxes"][0]
    assert box["support"] == 1.0 and box["x"] == pytest.approx(0.325, abs=1e-3)
    assert box["score"] == pytest.approx(0.55, abs=1e-3)


def test_summary_empty() -> None:
    for per_frame in ([], [[], []]):
        s = summarize_people(per_frame)
        json.dumps(s)
        assert not s["faces_present"] and not s["people_present"]
        assert s["max_faces"] == 0 and s["boxes"] == []


@pytest.mark.parametrize("bad", ["faces", [["face"]], [None], 3])
def test_summary_bad_input_raises(bad: Any) -> None:
    with pytest.raises(ValueError, match="per_frame"):
        summarize_people(bad)


# --------------------------------------------------------------------------------------------
# real footage


@pytest.mark.footage
@pytest.mark.parametrize("name", ["talkinghead_vr2_man_map", "talkinghead_vr4_woman_bluebg"])
def test_real_talking_head_has_a_face(
    footage: Path, manifest: dict[str, dict[str, Any]], name: str
) -> None:
    frames = read_frames(footage, manifest, name, [0, 40], 640)
    per_frame = [detect_people(f) for f in frames]
    for dets in per_frame:
        faces = [d for d in dets if d.kind == "face"]
        assert len(faces) >= 1
        f = faces[0]
        assert f.x >= 0 and f.x + f.w <= 1 and f.y >= 0 and f.y + f.h <= 1 and 0 < f.score <= 1
        cx, cy = f.x + f.w / 2, f.y + f.h / 2
        assert 0.3 < cx < 0.7 and 0.2 < cy < 0.6  # a centred talking head
        assert 0.2 < f.w < 0.7  # a close shot
    s = summarize_people(per_frame)
    assert s["faces_present"] and s["face_fraction"] == 1.0


@pytest.mark.footage
def test_real_face_found_on_a_small_analysis_frame(
    footage: Path, manifest: dict[str, dict[str, Any]]
) -> None:
    (frame,) = read_frames(footage, manifest, "talkinghead_vr3_woman_flag", [10], 320)
    assert any(d.kind == "face" for d in detect_people(frame, bodies=False))


@pytest.mark.footage
@pytest.mark.parametrize(("name", "indices"), [("running_car", [50, 200]), ("bmx-trees", [0, 40])])
def test_real_no_face_without_faces(
    footage: Path, manifest: dict[str, dict[str, Any]], name: str, indices: list[int]
) -> None:
    for frame in read_frames(footage, manifest, name, indices, 640):
        assert [d for d in detect_people(frame) if d.kind == "face"] == []


@pytest.mark.footage
def test_real_walking_people_found(footage: Path, manifest: dict[str, dict[str, Any]]) -> None:
    frames = read_frames(footage, manifest, "schoolgirls", [0, 20, 40], 432)
    s = summarize_people([detect_people(f, faces=False) for f in frames])
    assert s["people_present"] and s["max_people"] >= 1
