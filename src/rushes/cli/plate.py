"""``rushes plate SHOT``: the clean plate of a locked-off shot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rushes.cli.common import console, open_project, print_json, spinner
from rushes.ops.plate import MAX_FRAMES, MIN_COVERAGE, make_plate
from rushes.project import query


def plate(
    shot: Annotated[str, typer.Argument(help="A locked-off shot (name or id).")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Plate .exr (default renders/plates/SHOT.plate.exr)."),
    ] = None,
    frames: Annotated[int, typer.Option(min=3, max=200, help="Frames sampled.")] = MAX_FRAMES,
    min_coverage: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of frames a pixel needs to count.")
    ] = MIN_COVERAGE,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Make the clean plate of SHOT (moving things voted out) as an ACEScg EXR + coverage."""
    project = open_project()
    with project.session() as s:
        name = query.find_shot(s, shot).name
    with spinner(f"plate of {name}", quiet=as_json):
        report = make_plate(project, name, output, frames, min_coverage)
    if as_json:
        print_json(report)
        return
    console.print(
        f"plate of {report['shot']}: {report['plate']}  ({report['frames_used']} frames, "
        f"camera motion {_px(report['camera_motion_px'])}, coverage {report['coverage_mean']:.3f}"
        f", {report['uncovered_fraction'] * 100:.2f}% never uncovered -> {report['coverage']})",
        highlight=False,
    )


def _px(v: float | None) -> str:
    return "not measurable" if v is None else f"{v:.2f} px"
