"""``rushes pull -o DIR``: the cut's shots with handles, for VFX."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rushes.cli.common import console, err_console, frame_progress, open_project, print_json
from rushes.editorial.pulls import PULL_PATTERN
from rushes.editorial.pulls import pull as run_pull


class PullFormat(StrEnum):
    """What a pull is written as."""

    exr = "exr"
    prores = "prores"


def pull(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder to write the pulls to.")],
    cut: Annotated[
        str | None, typer.Option(help="The cut's name (default: the cut imported last).")
    ] = None,
    handles: Annotated[int, typer.Option(min=0, help="Frames added each side.")] = 8,
    fmt: Annotated[
        PullFormat,
        typer.Option(
            "--format",
            help="exr: half-float ACEScg from 1001, timecode in the header; prores: 422 HQ.",
        ),
    ] = PullFormat.exr,
    only_with_proposals: Annotated[
        bool,
        typer.Option(
            "--only-with-proposals", help="Only events on shots with a pending/approved fix."
        ),
    ] = False,
    name: Annotated[
        str, typer.Option("--name", help="Pull name pattern (seq, vfx, event, shot, clip, reel).")
    ] = PULL_PATTERN,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Pull the cut's shots with handles as EXR sequences or ProRes, with a pull list.

    Re-runnable: pulls already written and intact are skipped.
    """
    project = open_project()
    with frame_progress("pulling", quiet=as_json) as advance:
        report = run_pull(
            project,
            output,
            cut=cut,
            handles=handles,
            fmt=fmt.value,
            only_with_proposals=only_with_proposals,
            pattern=name,
            progress=advance,
        )
    if as_json:
        print_json(report)
        return
    table = Table(show_edge=False, pad_edge=False)
    keys = ("name", "shot", "source_tc_in", "source_tc_out", "frames", "status", "notes")
    for k in keys:
        table.add_column(k.replace("_", " "), no_wrap=k != "notes")
    for r in report["pulls"]:
        table.add_row(*("" if r[k] is None else str(r[k]) for k in keys))
    console.print(table)
    speed = f" at {report['fps']} frames/s" if report["fps"] else ""
    console.print(
        f"{report['written']} pulled, {report['skipped']} already there; "
        f"{report['frames']} frames written{speed}; list: {report['pull_list']}",
        highlight=False,
    )
    for left in report["left_out"]:
        err_console.print(
            f"note: event {left['event']} ({left['name']}) not pulled: {left['why']}",
            highlight=False,
        )
