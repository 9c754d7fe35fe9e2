"""``rushes export cdl|lut PROPOSAL -o FILE``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from rushes.cli.common import console, fail, open_project, print_json
from rushes.ops.export import export_cdl, export_lut
from rushes.ops.proposals import parse_proposal_id


class Kind(StrEnum):
    """What to export."""

    cdl = "cdl"
    lut = "lut"


def export(
    kind: Annotated[Kind, typer.Argument(help="cdl (.cdl/.cc/.ccc) or lut (.cube)")],
    proposal: Annotated[str, typer.Argument(help="Proposal id.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
    space: Annotated[
        str,
        typer.Option(
            help="LUT domain: 'grading' (ACEScct in/out) or "
            "'source' (the clip's own encoding in/out)."
        ),
    ] = "grading",
    size: Annotated[int, typer.Option(min=2, max=129, help="LUT size.")] = 33,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Write a proposal's grade as ASC CDL XML or as a .cube 3D LUT."""
    project = open_project()
    pid = parse_proposal_id(proposal)
    if kind is Kind.cdl:
        if output.suffix.lower() not in (".cdl", ".cc", ".ccc"):
            fail(f"{output}: give a .cdl, .cc or .ccc file for a CDL")
        info = export_cdl(project, pid, output)
    else:
        if output.suffix.lower() != ".cube":
            fail(f"{output}: give a .cube file for a LUT")
        if space not in ("grading", "source"):
            fail(f"--space {space!r}: use 'grading' or 'source'")
        info = export_lut(project, pid, output, space=space, size=size)
    if as_json:
        print_json(info)
    else:
        console.print(
            f"wrote {output}" + (f" ({info['note']})" if info.get("note") else ""), highlight=False
        )
