"""Profiles learned from a small real catalog (a panning, a locked-off, a cut and a chessboard
clip), and the fixes reading them from the model instead of measuring again."""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from rushes.analysis.grain import GrainProfile
from rushes.dialect import profile_frames, store
from rushes.dialect.profile_motion import rhythm_profile, shot_motion
from rushes.dialect.profiles import (
    PROFILES_VERSION,
    build_profiles,
    current_profiles,
    grain_for_shot,
    lens_for_clip,
    look_for_shot,
    summarize_profiles,
)
from rushes.editorial import continuity
from rushes.errors import ModelError
from rushes.ingest import ingest
from rushes.ingest.ale import AleFile, write_ale
from rushes.media import write_prores
from rushes.ops import grain as grain_op
from rushes.project import Clip, Project, Shot
from rushes.project.catalog import AuditEvent
from rushes.project.query import find_shot

pytestmark = pytest.mark.footage

BOARD = "C001C001_230101_R1AB"


class Film:
    """The module's project, its profiles and what building them cost."""

    def __init__(self, root: Path, profiles: dict[str, Any], calls: list[tuple[str, int, int]]):
        self.root = root
        self.profiles = profiles
        self.calls = calls
        self.project = Project.open(root)

    def clip(self, name: str) -> Clip:
        with self.project.session() as s:
            clip = s.scalar(select(Clip).where(Clip.name == name))
            assert clip is not None
            _ = [(sh.setup, sh.clip) for sh in clip.shots]
            return clip


@pytest.fixture(scope="module")
def film(footage: Path, tmp_path_factory: pytest.TempPathFactory) -> Film:
    root = tmp_path_factory.mktemp("profiles")
    dailies = root / "dailies"
    dailies.mkdir()
    boards = sorted((footage / "chessboard_opencv_left" / "images").glob("*.jpg"))[:3]
    frames = [
        np.asarray(cv2.cvtColor(np.asarray(cv2.imread(str(p))), cv2.COLOR_BGR2RGB), np.float32)
        / 255
        for p in boards
        for _ in range(4)
    ]
    write_prores(frames, dailies / f"{BOARD}.mov", fps=Fraction(24))
    ale = dailies / "sheet.ale"
    write_ale(
        ale,
        AleFile(
            {"FPS": "24"},
            ["Name", "Scene", "Take", "Lens", "ISO"],
            [{"Name": BOARD, "Scene": "1", "Take": "1", "Lens": "Sample 3.5mm", "ISO": "800"}],
        ),
    )
    project = Project.init(root / "film", fps="24")
    sources = [
        footage / "bmx-trees" / "frames",
        footage / "schoolgirls" / "schoolgirls.mp4",
        footage / "running_car" / "running_car.mp4",
        dailies / f"{BOARD}.mov",
    ]
    report = ingest(project, sources, ale=ale, workers=2)
    assert report.ok, report.failed
    calls: list[tuple[str, int, int]] = []
    t = time.perf_counter()
    profiles = build_profiles(project, hook=lambda k, d, n: calls.append((k, d, n)))
    took = time.perf_counter() - t
    assert took < 4 * 2.0, f"build_profiles took {took:.1f} s for 4 small clips"
    return Film(root / "film", profiles, calls)


@pytest.fixture
def model(film: Film) -> Iterator[Path]:
    """The module's profiles published as model v001 (removed afterwards)."""
    folder = store.models_dir(film.project) / "v001"
    folder.mkdir()
    store.write_json(folder / store.CARD, {"version": "v001"})
    store.write_json(folder / store.PROFILES, film.profiles)
    yield folder
    shutil.rmtree(folder)


def _catalog(film: Film) -> list[Clip]:
    with film.project.session() as s:
        clips = list(s.scalars(select(Clip)).all())
        for c in clips:
            _ = [(sh.name, sh.setup.name if sh.setup else None) for sh in c.shots]
        return clips


# --------------------------------------------------------------------------------------------
# building


def test_profiles_cover_the_catalog(film: Film) -> None:
    p = film.profiles
    assert p["version"] == PROFILES_VERSION and p["skipped"] == []
    assert json.loads(json.dumps(p)) == p  # JSON as is
    clips = _catalog(film)
    assert set(p["clips"]) == {c.checksum for c in clips}
    # grain: a record per clip, and the groups cover every clip exactly once
    assert set(p["grain"]["clips"]) == {c.checksum for c in clips}
    groups = p["grain"]["groups"]
    assert sum(g["clips"] for g in groups.values()) == len(clips)
    for c in clips:
        key = p["clips"][c.checksum]["grain_group"]
        assert f"{c.width}x{c.height}" in groups[key]["sizes"]
        assert p["grain"]["clips"][c.checksum]["size"] == [c.width, c.height]
    assert p["clips"][film.clip(BOARD).checksum]["grain_group"] == "C|EI800"  # camera, ALE ISO
    # looks: every shot, and each setup's median over exactly its shots
    shots = [sh for c in clips for sh in c.shots]
    assert set(p["look"]["shots"]) == {sh.name for sh in shots}
    for name, setup in p["look"]["setups"].items():
        assert setup["shots"] == sum(1 for sh in shots if sh.setup and sh.setup.name == name)
    # rhythm: every shot of the clips with cuts, in seconds
    cut = [c for c in clips if len(c.shots) > 1]
    assert cut and p["rhythm"]["shots"] == sum(len(c.shots) for c in cut)
    total = math.fsum(sh.frames / float(Fraction(c.fps or "24")) for c in cut for sh in c.shots)
    assert p["rhythm"]["mean_s"] * p["rhythm"]["shots"] == pytest.approx(total, rel=1e-3)
    assert sum(p["rhythm"]["histogram"]["counts"]) == p["rhythm"]["shots"]


def test_hook_reports_every_kind(film: Film) -> None:
    kinds = [k for k, _, _ in film.calls]
    order = [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k]
    assert order == ["look", "frames", "lens", "motion", "rhythm"]
    for kind in order:
        last = [c for c in film.calls if c[0] == kind][-1]
        assert last[1] == last[2]
    assert [c for c in film.calls if c[0] == "frames"][-1][2] == 4


def test_motion_tells_the_pan_from_the_locked_off_shot(film: Film) -> None:
    setups = film.profiles["motion"]["setups"]
    pan_setup = film.clip("bmx-trees").shots[0].setup
    still_setup = film.clip("schoolgirls").shots[0].setup
    assert pan_setup is not None and still_setup is not None
    pan, still = setups[pan_setup.name], setups[still_setup.name]
    assert pan["label"] == "pan" and still["label"] == "static"
    assert pan["pan_speed"] > 10 * max(still["pan_speed"], 1e-4)
    assert pan["jitter_rms"] > still["jitter_rms"]
    assert film.profiles["motion"]["source"] == "per-frame"
    for group in (pan, still, film.profiles["motion"]["overall"]):
        assert sum(group["jitter_bands"].values()) == pytest.approx(1.0, abs=1e-3)
    assert film.profiles["motion"]["overall"]["shots"] == sum(len(c.shots) for c in _catalog(film))


def test_lens_of_the_chessboard_camera(film: Film) -> None:
    board = film.clip(BOARD)
    lens = lens_for_clip(film.profiles, board)
    assert lens is not None and lens["group"] == "C|Sample 3.5mm|640x480"
    assert -0.25 < lens["k1"] < -0.1 and lens["lines"] >= 4  # the sample set's barrel
    assert lens_for_clip(film.profiles, film.clip("schoolgirls")) is None  # no straight lines
    summary = summarize_profiles(film.profiles)
    assert summary["lens"]["C|Sample 3.5mm|640x480"]["k1"] == lens["k1"]
    assert summary["clips"] == 4 and summary["look"]["shots"] == len(film.profiles["look"]["shots"])
    assert summary["rhythm"]["shots"] == film.profiles["rhythm"]["shots"]
    pan_setup = film.clip("bmx-trees").shots[0].setup
    assert pan_setup is not None and summary["motion"]["setups"][pan_setup.name] == "pan"


def test_no_cuts_no_rhythm_and_unknown_clip_ids(film: Film) -> None:
    still = film.clip("schoolgirls")
    one = build_profiles(film.project, clip_ids=[still.id])
    assert one["rhythm"] is None and list(one["clips"]) == [still.checksum]
    assert rhythm_profile([]) is None
    with pytest.raises(ModelError, match="no clips"):
        build_profiles(film.project, clip_ids=[10_000])


def test_missing_media_and_tables_are_reported_not_fatal(film: Film) -> None:
    board = film.clip(BOARD)
    media = Path(board.path)
    table = film.project.path(board.analysis["per_frame"])
    media.rename(media.with_suffix(".away"))
    table.rename(table.with_suffix(".away"))
    try:
        got = build_profiles(film.project, clip_ids=[board.id])
    finally:
        media.with_suffix(".away").rename(media)
        table.with_suffix(".away").rename(table)
    assert [s["clip"] for s in got["skipped"]] == [BOARD]
    assert got["grain"]["clips"] == {} and got["lens"]["groups"] == {}
    assert got["motion"]["source"] == "summaries"
    assert got["motion"]["overall"]["shots"] == len(board.shots)
    assert set(got["look"]["shots"]) == {sh.name for sh in board.shots}  # kept in the catalog


def test_metadata_keys() -> None:
    meta = {"sheet": {"Exposure Index": "EI 1280", "Lens Type": "Cooke S4", "Focal Length": "50"}}
    assert profile_frames.exposure_index(meta) == "1280"
    assert profile_frames.lens_name(meta) == "Cooke S4 50mm"
    arri = {"media": {"video:com.arri.camera.ExposureIndexAsa": "800"}}
    assert profile_frames.grain_key("A", arri) == "A|EI800"
    assert profile_frames.grain_key(None, {}) == "unknown|unknown"
    assert profile_frames.lens_key("B", {}, (1920, 1080)) == "B|unknown|1920x1080"


def test_shot_motion_bands_and_bad_rows() -> None:
    rng = np.random.default_rng(0)
    n, fps = 96, 24.0
    t = np.arange(n) / fps
    rows = np.zeros((n, 5))
    rows[:, 0] = 0.004 + 0.003 * np.sin(2 * np.pi * 6.0 * t)  # a pan with 6 Hz shake
    rows[:, 1] = rng.normal(0, 1e-5, n)
    rows[:, 3], rows[:, 4] = 1.0, 1.0
    got = shot_motion(rows, fps)
    assert got is not None and got["pan_speed"] == pytest.approx(0.004 * fps, rel=0.05)
    bands = np.asarray(got["band_power"])
    assert int(np.argmax(bands)) == 3  # 4-8 Hz
    rows[: n - 10, 4] = 0.0  # mostly unreliable
    assert shot_motion(rows, fps) is None
    with pytest.raises(ValueError, match="motion rows"):
        shot_motion(np.zeros((4, 3)), fps)


# --------------------------------------------------------------------------------------------
# the fixes read the model


def test_shot_grain_uses_the_model_record(
    film: Film, model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_measuring(*_: Any, **__: Any) -> GrainProfile:
        raise AssertionError("grain measured again although the model has it")

    monkeypatch.setattr(grain_op, "measure_grain", no_measuring)
    found = current_profiles(film.project)
    assert found is not None and found[0] == "v001"
    name = film.clip("schoolgirls").shots[0].name
    profile = grain_op.shot_grain(film.project, name)
    record = film.profiles["grain"]["clips"][film.clip("schoolgirls").checksum]
    assert profile.mean_sigma == pytest.approx(record["sigma_mean"], abs=1e-6)
    assert profile.extra["source"] == "model v001, clip record"
    with film.project.session() as s:
        assert find_shot(s, name).analysis.get("grain") is None  # not copied onto the shot
        assert not s.scalars(select(AuditEvent).where(AuditEvent.action == "measure")).all()
    # --refresh measures (and so does the temporal method)
    with pytest.raises(AssertionError, match="measured again"):
        grain_op.shot_grain(film.project, name, refresh=True)
    with pytest.raises(AssertionError, match="measured again"):
        grain_op.shot_grain(film.project, name, method="temporal")


def test_shot_grain_measures_a_clip_the_model_lacks(
    film: Film, model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    partial = json.loads(json.dumps(film.profiles))
    board = film.clip(BOARD)
    del partial["grain"]["clips"][board.checksum]
    store.write_json(model / store.PROFILES, partial)

    def measuring(*_: Any, **__: Any) -> GrainProfile:
        raise RuntimeError("measured")

    monkeypatch.setattr(grain_op, "measure_grain", measuring)
    with pytest.raises(RuntimeError, match="measured"):
        grain_op.shot_grain(film.project, board.shots[0].name)
    # the look-up itself falls back to the camera/EI group (same size), unless told not to
    with film.project.session() as s:
        shot = s.get(Shot, board.shots[0].id)
        assert shot is not None
        group = grain_for_shot(partial, shot)
        assert group is not None and group.extra["source"] == "model group C|EI800"
        assert grain_for_shot(partial, shot, fallback=False) is None
        assert grain_for_shot(None, shot) is None


def test_shot_look_uses_the_model_look(
    film: Film, model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_measuring(*_: Any, **__: Any) -> dict[str, Any]:
        raise AssertionError("look measured again although the model has it")

    monkeypatch.setattr(continuity, "measure_look", no_measuring)
    name = film.clip("bmx-trees").shots[0].name
    with film.project.session() as s:
        shot = find_shot(s, name)
        kept = dict(shot.analysis)
        shot.analysis = {k: v for k, v in kept.items() if k != "look"}
        look = continuity.shot_look(film.project, shot)
        assert look["source"] == "model v001"
        assert look["lab"] == film.profiles["look"]["shots"][name]["lab"]
        learned = look_for_shot(film.profiles, shot)
        assert learned is not None and "clip" not in learned and "space" in learned
        with pytest.raises(AssertionError, match="measured again"):
            continuity.shot_look(film.project, shot, use_model=False)
        shot.analysis = kept
    # another clip's shot of the same name is not given this look
    other = json.loads(json.dumps(film.profiles))
    other["look"]["shots"][name]["clip"] = "0" * 16
    with film.project.session() as s:
        assert look_for_shot(other, find_shot(s, name)) is None
