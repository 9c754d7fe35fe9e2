"""The guard on real footage with a performer (a talking head from the shared footage): a removal
matte over the face is refused unless what it covers was photographed in other frames or the
override is given; the same matte over the background passes; a matte over most of the face is
refused whatever the override; a locked shot refuses the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from rushes.errors import LockedError, PerformerRegionError
from rushes.guard.locks import lock_shot, unlock_shot
from rushes.guard.performers import Region
from rushes.ingest import ingest
from rushes.media import open_media, write_h264
from rushes.ops.proposals import assess_fix, find_performers, propose
from rushes.ops.remove import Remove, RemoveParams
from rushes.project import AuditEvent, Project, Shot

CLIP = "talkinghead_vr3_woman_flag"
ROLL = "A001C001_261121_R1AB"
N = 24


@pytest.fixture(scope="module")
def film(footage: Path, manifest: dict[str, dict[str, Any]], tmp_path_factory: Any) -> dict:
    entry = manifest.get(CLIP)
    if entry is None or not (footage / entry["path"]).exists():
        pytest.skip(f"{CLIP} not in the shared footage at {footage}")
    root = tmp_path_factory.mktemp("guard")
    (root / "dailies").mkdir()
    with open_media(footage / entry["path"]) as r:  # a short excerpt, re-encoded
        write_h264((f for _, f in r.iter_frames(0, N)), root / "dailies" / f"{ROLL}.mp4",
                   fps=r.info.fps or 25)  # fmt: skip
    project = Project.init(root / "film", fps="25")
    assert ingest(project, [root / "dailies"], workers=1).ok
    with project.session() as s:
        shot = s.scalars(select(Shot)).one()
        size = (shot.clip.width, shot.clip.height)
        sid = shot.id
    tracks = find_performers(project, sid)
    faces = [tracks.faces(i) for i in range(N)]
    assert all(faces), "the talking head's face is found on every frame"
    face: Region = faces[0][0]
    return {"project": project, "root": root, "size": size, "face": face, "tracks": tracks}


def _write(folder: Path, masks: list[np.ndarray]) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    for i, m in enumerate(masks):
        cv2.imwrite(str(folder / f"m.{i:04d}.png"), m)
    return str(folder / "m.%04d.png")


def _line(size: tuple[int, int], face: Region, dy: float) -> np.ndarray:
    """A 3-px horizontal wire across the face's lower half, ``dy`` pixels below its middle."""
    w, h = size
    m = np.zeros((h, w), np.uint8)
    y = int(face.y + face.h * 0.55 + dy)
    cv2.line(m, (max(0, face.x - 20), y), (min(w - 1, face.x + face.w + 20), y), 255, 3)
    return m


def test_static_wire_over_a_face_is_refused_unless_overridden(film: dict) -> None:
    project: Project = film["project"]
    masks = [_line(film["size"], film["face"], 0) for _ in range(N)]
    params = RemoveParams(mask=_write(film["root"] / "static", masks), regrain=False)
    v = assess_fix(project, Remove(), ROLL, params)
    assert not v.allowed and v.rule == "refused" and v.unphotographed
    with pytest.raises(PerformerRegionError, match="frame") as err:
        propose(project, Remove(), ROLL, params)
    assert "--allow-performer-region" in str(err.value)
    pid, _, verdict = propose(
        project, Remove(), ROLL, params, allow_performer_region="boom shadow, approved by DP"
    )
    assert verdict.rule == "override" and verdict.override is not None
    with project.session() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "override")).one()
        assert ev.target == f"proposal {pid}" and ev.note == "boom shadow, approved by DP"


def test_moving_wire_photographed_elsewhere_passes(film: dict) -> None:
    """A wire sweeping down across the face uncovers every pixel it covers a few frames later:
    the fill uses only photographed pixels, and the guard allows it."""
    project: Project = film["project"]
    face: Region = film["face"]
    step = max(6.0, face.h / 12)
    masks = [_line(film["size"], face, (i - N / 2) * step / 2) for i in range(N)]
    params = RemoveParams(mask=_write(film["root"] / "moving", masks), regrain=False)
    v = assess_fix(project, Remove(), ROLL, params)
    assert v.touching, "the wire crosses the performer"
    assert v.allowed and v.rule == "photographed", v.reasons


def test_background_matte_passes_and_large_face_share_never_does(film: dict) -> None:
    project: Project = film["project"]
    w, h = film["size"]
    tracks = film["tracks"]
    box = np.zeros((h, w), np.uint8)
    cv2.rectangle(box, (4, 4), (4 + w // 14, 4 + h // 14), 255, -1)
    assert not any(
        (box > 0)[tracks.protect(i)].any() for i in range(N) if tracks.protect(i) is not None
    )
    params = RemoveParams(mask=_write(film["root"] / "bg", [box] * N), regrain=False)
    v = assess_fix(project, Remove(), ROLL, params)
    assert v.allowed and v.rule in ("clear-of-performers", "no-performers")
    face: Region = film["face"]
    big = np.zeros((h, w), np.uint8)
    cv2.rectangle(big, (face.x, face.y), (face.x + face.w, face.y + face.h // 2), 255, -1)
    params = RemoveParams(mask=_write(film["root"] / "face", [big] * N), regrain=False)
    with pytest.raises(PerformerRegionError, match="face") as err:
        propose(project, Remove(), ROLL, params, allow_performer_region="please")
    assert "--allow-performer-region" not in str(err.value)


def test_locked_shot_refuses_the_fix(film: dict) -> None:
    project: Project = film["project"]
    w, h = film["size"]
    box = np.zeros((h, w), np.uint8)
    cv2.rectangle(box, (4, 4), (24, 24), 255, -1)
    params = RemoveParams(mask=_write(film["root"] / "lock", [box] * N), regrain=False)
    lock_shot(project, ROLL, "picture locked")
    try:
        with pytest.raises(LockedError, match="picture locked"):
            propose(project, Remove(), ROLL, params)
    finally:
        unlock_shot(project, ROLL, "test over")
    propose(project, Remove(), ROLL, params)
