"""``rushes render PROPOSAL``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from rushes.cli.common import console, err_console, open_project, print_json
from rushes.ops.proposals import parse_proposal_id
from rushes.ops.render import render_proposal

SYNTH_WARN = 0.02
"""Warn when more than this share of a removal's matte had to be synthesized."""


class Format(StrEnum):
    """Render formats."""

    exr = "exr"
    prores = "prores"
    mp4 = "mp4"


def render(
    proposal: Annotated[str, typer.Argument(help="Proposal id ('rushes proposals').")],
    fmt: Annotated[Format, typer.Option("--format", help="exr, prores or mp4.")] = Format.exr,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Folder.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Render a proposal's frames (plus provenance.json) for review or hand-off."""
    project = open_project()
    pid = parse_proposal_id(proposal)
    with Progress(console=err_console, disable=as_json or not err_console.is_terminal) as bar:
        task = bar.add_task("rendering", total=None)
        prov = render_proposal(
            project, pid, fmt.value, output, progress=lambda n: bar.advance(task, n)
        )
    fill = prov.get("fill") or {}
    if fill.get("synthesized", 0) > SYNTH_WARN:
        frames = [f["index"] for f in fill.get("frames", []) if f.get("spatial")]
        err_console.print(
            f"[yellow]warning:[/] {100 * fill['synthesized']:.1f}% of the matte's pixels were "
            f"never photographed and were synthesized (frames {frames[0]}-{frames[-1]}, "
            "0-based in the shot); review them, or give another take of the setup",
            highlight=False,
        )
    if as_json:
        print_json(prov)
    else:
        files = prov["output"]["files"]
        first = files[0]["path"] if files else "no files"
        console.print(
            f"rendered proposal {pid} as {fmt.value} in "
            f"{output or project.path('renders', str(pid))}: "
            f"{first} ({len(files)} file(s), provenance.json beside them)",
            highlight=False,
        )
