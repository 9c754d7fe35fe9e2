"""The ``remove`` operation through the API: a rig that never moves in one take is painted out
with the pixels another take of the same setup photographed (fidelity before synthesis)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import OpenImageIO as oiio
import pytest

from rushes.color import WORKING_SPACE, convert
from rushes.errors import RushesError
from rushes.ingest import ingest
from rushes.media import write_prores
from rushes.ops.proposals import propose
from rushes.ops.remove import Remove, RemoveParams
from rushes.ops.render import render_proposal
from rushes.project import Project, query
from tests.conftest import read_frames, run_rushes

TAKE1 = "A004C001_261121_R4AB"
TAKE2 = "A004C002_261121_R4AB"
N = 10


def rig_mask(h: int, w: int) -> np.ndarray:
    """A grey rig box in the middle of the frame (uint8 0/255)."""
    m = np.zeros((h, w), np.uint8)
    cv2.rectangle(m, (w // 3, h // 4), (w // 3 + w // 8, h // 4 + h // 5), 255, -1)
    return m


@pytest.fixture(scope="module")
def takes(
    tmp_path_factory: pytest.TempPathFactory, footage: Path, manifest: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("takes")
    name = "people_walkthrough_intel"
    clean = read_frames(footage, manifest, name, list(range(N)), long_side=320)
    other = read_frames(footage, manifest, name, list(range(40, 40 + N)), long_side=320)
    h, w = clean[0].shape[:2]
    rig = rig_mask(h, w) > 0
    shot = [np.where(rig[:, :, None], np.float32(0.45), f) for f in clean]
    dailies = root / "dailies"
    dailies.mkdir()
    write_prores(shot, dailies / f"{TAKE1}.mov", fps=Fraction(24))
    write_prores(other, dailies / f"{TAKE2}.mov", fps=Fraction(24))
    matte = root / "rig.png"
    grown = cv2.dilate(rig_mask(h, w), np.ones((5, 5), np.uint8))
    cv2.imwrite(str(matte), grown)
    project = Project.init(root / "film", fps="24")
    report = ingest(project, [dailies], workers=1)
    assert report.ok, report.failed
    return {"project": project, "clean": clean, "matte": matte, "mask": grown > 127}


def test_a_rig_that_never_moves_is_filled_from_the_other_take(
    takes: dict[str, Any], tmp_path: Path
) -> None:
    project: Project = takes["project"]
    with project.session() as s:
        shot = query.find_shot(s, TAKE1)
        assert shot.setup is not None and len(shot.setup.shots) == 2  # one setup, two takes
    pid, plan, _ = propose(project, Remove(), TAKE1, RemoveParams(mask=str(takes["matte"])))
    assert [t["name"] for t in plan.result["takes"]] == [TAKE2]
    prov = render_proposal(project, pid, "exr", tmp_path / "out")
    fill = prov["fill"]
    assert fill["photographed_other_takes"] > 0.9, fill  # never seen in its own shot
    assert fill["synthesized"] < 0.1
    space = plan.result["source_space"]
    mask = takes["mask"]
    se = n = 0.0
    for t, path in enumerate(sorted((tmp_path / "out").glob(f"{TAKE1}.*.exr"))):
        got = convert(oiio.ImageBuf(str(path)).get_pixels(oiio.FLOAT), WORKING_SPACE, space)
        se += float(((got[mask] - takes["clean"][t][mask]) ** 2).sum())
        n += mask.sum() * 3
    assert 10 * np.log10(n / se) > 40.0  # measured 46.9 dB (a locked-off setup)


def test_without_takes_it_is_synthesized_and_says_so(takes: dict[str, Any], tmp_path: Path) -> None:
    project: Project = takes["project"]
    params = RemoveParams(mask=str(takes["matte"]), takes=False)
    pid, _, _ = propose(project, Remove(), TAKE1, params)
    r = run_rushes("render", str(pid), "-o", str(tmp_path / "out"), "--json", cwd=project.root)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["fill"]["synthesized"] > 0.9
    assert "never photographed" in r.stderr  # not silent: the render says so


def test_region_without_wires_flag_is_refused(takes: dict[str, Any]) -> None:
    project: Project = takes["project"]
    with project.session() as s:
        shot = query.find_shot(s, TAKE1)
        with pytest.raises(RushesError, match="--wires"):
            Remove().plan(shot, RemoveParams(region="0,0,10,10"), project)


def test_tracked_shapes_are_stored_keyed_on_every_frame(
    takes: dict[str, Any], tmp_path: Path
) -> None:
    """A polygon drawn on frame 3 over the rig is tracked through the (locked-off) take: the
    proposal stores it keyed on every frame, where it stays put."""
    project: Project = takes["project"]
    ys, xs = np.nonzero(takes["mask"])
    box = [[int(xs.min()), int(ys.min())], [int(xs.max()), int(ys.min())],
           [int(xs.max()), int(ys.max())], [int(xs.min()), int(ys.max())]]  # fmt: skip
    h, w = takes["mask"].shape
    path = tmp_path / "rig.json"
    path.write_text(
        json.dumps(
            {"version": 1, "width": w, "height": h,
             "shapes": [{"name": "rig", "type": "polygon", "keys": {"3": box}}]}
        )
    )  # fmt: skip
    with project.session() as s:
        shot = query.find_shot(s, TAKE1)
        plan = Remove().plan(shot, RemoveParams(shapes=str(path), track=True, key=3), project)
    stored = json.loads(plan.artifacts["shapes.json"])
    keys = stored["shapes"][0]["keys"]
    assert sorted(int(k) for k in keys) == list(range(N))
    for k in keys.values():
        assert np.abs(np.asarray(k, float) - np.asarray(box, float)).max() < 1.0
    assert plan.result["matte"]["shapes"]["tracked"] is True


def _box(t: int, h: int, w: int) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    x = 180 + 4 * t  # in the bright half
    cv2.rectangle(m, (x, 70), (x + 30, 110), 255, -1)
    return m


def test_scene_linear_plates_get_their_own_grain_back(tmp_path: Path) -> None:
    """A linear EXR plate (fill in ACEScct, grain measured on the linear frames): the grain
    added to the fill is the plate's own (1 % relative), not a linear sigma applied in log."""
    from rushes.media import write_exr_sequence
    from tests.conftest import textured

    h, w, n, sig = 180, 320, 16, 0.01
    rng = np.random.default_rng(0)
    frames = []
    for t in range(n):
        base = textured(h, w, 3, t) * 0.5 + 0.02
        base[:, w // 2 :] *= 8.0  # the right half bright, as linear highlights are
        f = base * (1 + sig * rng.standard_normal(base.shape).astype(np.float32))
        f[_box(t, h, w) > 0] = 0.001
        frames.append(f)
    write_exr_sequence(frames, tmp_path / "seq" / "A005C001_261121_R5AB.%04d.exr", fps=Fraction(24))
    (tmp_path / "m").mkdir()
    for t in range(n):
        m = cv2.dilate(_box(t, h, w), np.ones((7, 7), np.uint8))
        cv2.imwrite(str(tmp_path / "m" / f"m.{t:04d}.png"), m)
    project = Project.init(tmp_path / "film", fps="24")
    assert ingest(project, [tmp_path / "seq"], workers=1).ok
    renders = {}
    for regrain in (True, False):
        params = RemoveParams(mask=str(tmp_path / "m" / "m.%04d.png"), regrain=regrain)
        pid, plan, _ = propose(project, Remove(), "A005C001_261121_R5AB", params)
        assert plan.result["fill_space"] != plan.result["source_space"]  # filled in log
        out = tmp_path / f"out{regrain}"
        render_proposal(project, pid, "exr", out)
        renders[regrain] = sorted(out.glob("A005*.exr"))
    rel = []
    for t, (a, b) in enumerate(zip(renders[True], renders[False], strict=True)):
        ga = oiio.ImageBuf(str(a)).get_pixels(oiio.FLOAT)
        gb = oiio.ImageBuf(str(b)).get_pixels(oiio.FLOAT)
        inside = _box(t, h, w) > 0
        inside[:, : w // 2] = False
        if inside.any():
            rel.append(float(np.std((ga[inside] - gb[inside]) / gb[inside])))
    added = float(np.mean(rel))
    assert 0.002 < added < 0.03, added  # the plate's grain is 1 % relative


def test_clip_numbered_mattes_give_the_second_shot_its_own(
    tmp_path: Path, h264_two_shots: Path
) -> None:
    """Mattes delivered for the whole clip (one per clip frame) are read from the shot's own
    frames; a sequence longer than the shot but not the clip is refused."""
    project = Project.init(tmp_path / "film", fps="24")
    assert ingest(project, [h264_two_shots], workers=1).ok
    whole, short = tmp_path / "whole", tmp_path / "short"
    whole.mkdir()
    short.mkdir()
    for k in range(60):
        m = np.zeros((180, 320), np.uint8)
        cv2.rectangle(m, (10 + 4 * k, 20), (30 + 4 * k, 60), 255, -1)
        cv2.imwrite(str(whole / f"c.{1001 + k}.png"), m)
        if k < 45:
            cv2.imwrite(str(short / f"c.{1001 + k}.png"), m)
    with project.session() as s:
        second = next(x for x in query.list_shots(s) if x.start == 30)
        plan = Remove().plan(second, RemoveParams(mask=str(whole / "c.####.png")), project)
        assert plan.artifacts["matte/00000.png"] == whole / "c.1031.png"
        assert plan.artifacts["matte/00029.png"] == whole / "c.1060.png"
        with pytest.raises(RushesError, match="45 files but the shot has 30 frames"):
            Remove().plan(second, RemoveParams(mask=str(short / "c.####.png")), project)
