"""``rushes teach`` and ``rushes fix apply-taught`` as a user runs them: teach on three frames of
an ingested shot, propose the effect over the shot, render it; mistakes are one-line errors."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from rushes.ingest import ingest
from rushes.media import open_media, write_h264
from rushes.project import Project
from tests.conftest import read_frames, run_rushes
from tests.dialect.test_teach import add_markers, quantized, save_png

SHOT = "A008C001_261202_R8AB"


@pytest.fixture(scope="module")
def film(
    tmp_path_factory: pytest.TempPathFactory, footage: Path, manifest: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("teachcli")
    clean = [
        quantized(f)
        for f in read_frames(footage, manifest, "people_walkthrough_intel", list(range(6)), 256)
    ]
    dailies = root / "dailies"
    dailies.mkdir()
    write_h264([add_markers(f, t)[0] for t, f in enumerate(clean)], dailies / f"{SHOT}.mp4",
               fps=Fraction(24))  # fmt: skip
    project = Project.init(root / "film", fps="24")
    assert ingest(project, [dailies], workers=1).ok
    with open_media(dailies / f"{SHOT}.mp4") as reader:
        for k, f in reader.iter_frames(0, 6, None):
            if k % 2 == 0:
                save_png(root / "ex" / "before" / f"{k:04d}.png", f)
                save_png(root / "ex" / "after" / f"{k:04d}.png", clean[k])
    return {"project": project, "root": root}


def test_teach_apply_and_render(film: dict[str, Any], tmp_path: Path) -> None:
    project: Project = film["project"]
    ex = film["root"] / "ex"
    args = ["--before", str(ex / "before" / "%04d.png"), "--after", str(ex / "after" / "####.png")]
    cwd = project.root
    # ten steps need not beat the untouched frames (that refusal is tested on its own)
    r = run_rushes(
        "teach", "dots", *args, "--shot", SHOT, "--steps", "10", "--crop", "64", "--keep-worse",
        cwd=cwd,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "taught dots (rgb) from 3 pair(s) at 256x144" in r.stdout
    assert f"rushes fix apply-taught dots {SHOT}" in r.stdout
    assert "warning: no project model yet" in r.stderr

    again = run_rushes("teach", "dots", *args, "--steps", "1", cwd=cwd)
    assert again.returncode == 2
    assert "error: a taught effect 'dots' exists" in again.stderr and "--force" in again.stderr
    assert "Traceback" not in again.stderr

    forced = run_rushes(
        "teach", "dots", *args, "--steps", "3", "--crop", "32", "--seed", "2", "--force",
        "--keep-worse", "--json", cwd=cwd,
    )  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    card = json.loads(forced.stdout)
    assert card["name"] == "dots" and card["steps"] == 3 and card["seed"] == 2
    assert card["shot"] is None and len(card["examples"]) == 3

    bad = run_rushes("teach", "no good", *args, cwd=cwd)
    assert bad.returncode == 2 and "is not allowed" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1

    prop = run_rushes("fix", "apply-taught", "dots", SHOT, "--json", cwd=cwd)
    assert prop.returncode == 0, prop.stderr
    made = json.loads(prop.stdout)
    assert made["op"] == "taught" and made["effect"]["name"] == "dots" and made["frames"] == 6
    out = tmp_path / "render"
    rendered = run_rushes(
        "render", str(made["proposal"]), "--format", "mp4", "-o", str(out), "--json", cwd=cwd
    )
    assert rendered.returncode == 0, rendered.stderr
    prov = json.loads(rendered.stdout)
    assert prov["fill"]["frames_rendered"] == 6 and (out / f"{SHOT}.mp4").is_file()

    missing = run_rushes("fix", "apply-taught", "nope", SHOT, cwd=cwd)
    assert missing.returncode == 2 and "no taught effect 'nope' (known: dots)" in missing.stderr
