"""The ``taught`` operation: an effect taught on a few frames of an ingested H.264 shot (markers
added to real footage) is proposed over the whole shot and rendered; performers are left as
shot; a matte effect renders its matte beside the unchanged frames."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import OpenImageIO as oiio
import pytest

from rushes.color import WORKING_SPACE, convert
from rushes.dialect.teach import teach
from rushes.errors import TeachError
from rushes.guard import performer_regions, protect_map
from rushes.ingest import ingest
from rushes.media import open_media, write_h264
from rushes.ops.proposals import load_plan, propose
from rushes.ops.registry import get_operation
from rushes.ops.render import render_proposal
from rushes.ops.taught import Taught, TaughtParams
from rushes.project import Project, Shot, query
from tests.conftest import read_frames
from tests.dialect.test_teach import add_markers, quantized, save_png, tiny

SHOT = "A007C001_261201_R7AB"
N = 12
KEYS = [0, 5, 10]


@pytest.fixture(scope="module")
def film(
    tmp_path_factory: pytest.TempPathFactory, footage: Path, manifest: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("taught")
    clean = [
        quantized(f)
        for f in read_frames(footage, manifest, "people_walkthrough_intel", list(range(N)), 320)
    ]
    marked = [add_markers(f, t)[0] for t, f in enumerate(clean)]
    mattes = [add_markers(f, t)[1] for t, f in enumerate(clean)]
    dailies = root / "dailies"
    dailies.mkdir()
    write_h264(marked, dailies / f"{SHOT}.mp4", fps=Fraction(24))
    project = Project.init(root / "film", fps="24")
    report = ingest(project, [dailies], workers=1)
    assert report.ok, report.failed
    with open_media(dailies / f"{SHOT}.mp4") as reader:
        shot_frames = [f for _, f in reader.iter_frames()]
    for k in KEYS:  # the artist's examples: frames of the shot, cleaned by hand
        save_png(root / "before" / f"{k:04d}.png", shot_frames[k])
        save_png(root / "after" / f"{k:04d}.png", clean[k])
        save_png(root / "matte" / f"{k:04d}.png", mattes[k])
    card = teach(
        project,
        "dots",
        root / "before" / "%04d.png",
        root / "after" / "%04d.png",
        shot=SHOT,
        max_steps=120,
        crop=64,
    )
    return {"project": project, "root": root, "clean": clean, "card": card, "source": shot_frames}


def test_registered() -> None:
    assert isinstance(get_operation("taught"), Taught)


def test_plan_and_render_remove_markers_on_frames_never_shown(
    film: dict[str, Any], tmp_path: Path
) -> None:
    project: Project = film["project"]
    assert film["card"]["shot"] == SHOT
    with project.session() as s:
        shot = query.find_shot(s, SHOT)
        plan = Taught().plan(shot, TaughtParams(name="dots"), project)
        regions = performer_regions(shot.analysis or {}, 320, 180)
    e = plan.result["effect"]
    assert e["name"] == "dots" and e["output"] == "rgb" and e["base_model"] is None
    assert e["weights_xxh64"] == film["card"]["weights_xxh64"] and e["examples"] == 3
    assert plan.result["frames"] == N and plan.result["output"] == "rgb"
    pid, _, verdict = propose(project, Taught(), SHOT, TaughtParams(name="dots"))
    assert verdict.allowed and verdict.rule == "keeps-performers"
    stored, _ = load_plan(project, pid)
    assert stored.folder is not None and (stored.folder / "taught.safetensors").is_file()
    prov = render_proposal(project, pid, "exr", tmp_path / "out")
    report = prov["fill"]
    assert report["frames_rendered"] == N and report["changed_share"] > 0
    space = plan.result["source_space"]
    files = sorted((tmp_path / "out").glob(f"{SHOT}.*.exr"))
    assert len(files) == N
    keep = protect_map(regions, 320, 180)
    free = np.ones((180, 320), bool) if keep is None else ~keep
    gains = []
    for t, path in enumerate(files):
        if t in KEYS:
            continue
        got = convert(oiio.ImageBuf(str(path)).get_pixels(oiio.FLOAT), WORKING_SPACE, space)
        clean, src = film["clean"][t], film["source"][t]
        err_before = float(np.mean((src[free] - clean[free]) ** 2))
        err_after = float(np.mean((got[free] - clean[free]) ** 2))
        gains.append(10 * np.log10(err_before / err_after))
    # measured: +2.7 to +4.6 dB (mean +3.9) on the 9 frames never shown
    assert np.mean(gains) > 1.5 and min(gains) > 0.5, gains


def test_performer_regions_are_left_as_shot(film: dict[str, Any]) -> None:
    project: Project = film["project"]
    with project.session() as s:
        shot = query.find_shot(s, SHOT)
        saved = dict(shot.analysis or {})
        row = s.get(Shot, shot.id)
        assert row is not None
        boxes = [{"kind": "person", "x": 0.0, "y": 0.0, "w": 0.5, "h": 1.0}]
        row.analysis = {**saved, "people": {"boxes": boxes}}
    try:
        with project.session() as s:
            plan = Taught().plan(query.find_shot(s, SHOT), TaughtParams(name="dots"), project)
        assert plan.result["performers"] == [{"kind": "person", "x": 0, "y": 0, "w": 160, "h": 180}]
        op = Taught()
        src = np.stack(film["source"][:4])
        (first, out), *_ = list(op.run(plan, iter([(0, src)]), plan.result["source_space"]))
        assert first == 0 and out.shape == src.shape
        assert np.array_equal(out[:, :, :160], src[:, :, :160])  # the performer: untouched
        assert not np.allclose(out[:, :, 160:], src[:, :, 160:], atol=1 / 255)
        assert op.report(plan)["kept_in_performers"] > 0
        assert op.report(plan)["performer_pixels_per_frame"] == 160 * 180
    finally:
        with project.session() as s:
            row = s.get(Shot, query.find_shot(s, SHOT).id)
            assert row is not None
            row.analysis = saved


def test_an_effect_of_another_size_is_refused(film: dict[str, Any], tmp_path: Path) -> None:
    project: Project = film["project"]
    small = tiny(tmp_path / "small", 1)
    teach(project, "small", small, small, max_steps=1, crop=32)
    with project.session() as s:
        shot = query.find_shot(s, SHOT)
        with pytest.raises(TeachError, match=r"taught on 64x48 examples but shot .* is 320x180"):
            Taught().plan(shot, TaughtParams(name="small"), project)
        with pytest.raises(TeachError, match="no taught effect 'nope'"):
            Taught().plan(shot, TaughtParams(name="nope"), project)
    with pytest.raises(TeachError, match=r"is 64x48 but the shot is 320x180"):
        teach(project, "small2", small, small, shot=SHOT, max_steps=1)
    with pytest.raises(ValueError, match="not allowed"):
        TaughtParams(name="../x")


def test_a_matte_effect_renders_its_matte_beside_unchanged_frames(
    film: dict[str, Any], tmp_path: Path
) -> None:
    project: Project = film["project"]
    root = film["root"]
    teach(
        project,
        "dots-matte",
        root / "before",
        root / "matte",
        shot=SHOT,
        output="matte",
        max_steps=30,
        crop=64,
    )
    with project.session() as s:
        plan = Taught().plan(query.find_shot(s, SHOT), TaughtParams(name="dots-matte"), project)
    assert plan.result["output"] == "matte"
    pid, _, _ = propose(project, Taught(), SHOT, TaughtParams(name="dots-matte"))
    prov = render_proposal(project, pid, "exr", tmp_path / "out")
    space = plan.result["source_space"]
    frames = sorted((tmp_path / "out").glob(f"{SHOT}.*.exr"))
    mattes = sorted((tmp_path / "out" / "matte").glob("*.exr"))
    assert len(frames) == N and len(mattes) == N
    got = convert(oiio.ImageBuf(str(frames[3])).get_pixels(oiio.FLOAT), WORKING_SPACE, space)
    assert np.abs(got - film["source"][3]).max() < 0.01  # frames as shot (half-float EXR)
    m = oiio.ImageBuf(str(mattes[3])).get_pixels(oiio.FLOAT)
    assert m.shape[:2] == (180, 320) and m.min() >= 0.0 and m.max() <= 1.0
    report = prov["fill"]
    assert report["output"] == "matte" and report["matte_frames"] == N
    assert 0.0 <= report["coverage"] < 0.5
