"""``rushes export cdl|lut PROPOSAL -o FILE`` and
``rushes export otio|edl|fcp7xml|fcpxml|aaf|ale -o FILE``: grades and approved fixes out."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rushes.cli.common import console, err_console, fail, frame_progress, open_project, print_json
from rushes.editorial.conform import TIMELINE_EXTENSIONS, export_timeline
from rushes.ops.export import export_cdl, export_lut
from rushes.ops.proposals import parse_proposal_id


class Kind(StrEnum):
    """What to export."""

    cdl = "cdl"
    lut = "lut"
    otio = "otio"
    edl = "edl"
    fcp7xml = "fcp7xml"
    fcpxml = "fcpxml"
    aaf = "aaf"
    ale = "ale"


class MediaFormat(StrEnum):
    """Replacement media a timeline export links to."""

    prores = "prores"
    exr = "exr"


def export(
    kind: Annotated[
        Kind,
        typer.Argument(
            help="cdl (.cdl/.cc/.ccc) or lut (.cube) of one proposal; or the approved fixes as "
            "otio, edl, fcp7xml (.xml), fcpxml, aaf or ale (an Avid bin)"
        ),
    ],
    proposal: Annotated[
        str | None,
        typer.Argument(help="Proposal id (cdl/lut; for a timeline: only this approved fix)."),
    ] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write.")] = None,
    space: Annotated[
        str,
        typer.Option(
            help="LUT domain: 'grading' (ACEScct in/out) or "
            "'source' (the clip's own encoding in/out)."
        ),
    ] = "grading",
    size: Annotated[int, typer.Option(min=2, max=129, help="LUT size.")] = 33,
    render: Annotated[
        bool,
        typer.Option(
            "--render/--no-render",
            help="Timelines: render fixes with no matching render (--no-render leaves them out).",
        ),
    ] = True,
    fmt: Annotated[
        MediaFormat,
        typer.Option(
            "--format", help="Timelines: replacement media, prores (MOV) or exr (otio/edl/ale)."
        ),
    ] = MediaFormat.prores,
    cut: Annotated[
        str | None,
        typer.Option(help="Timelines: place each fix where this imported cut uses its shot."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Write a proposal's grade as ASC CDL XML or a .cube 3D LUT, or every approved fix as a
    timeline (OTIO, EDL, FCP7 XML, FCPXML, AAF) or an ALE bin for the editor to conform."""
    if output is None:
        fail("give the file to write with -o/--output")
    project = open_project()
    if kind in (Kind.cdl, Kind.lut):
        if proposal is None:
            fail(f"'rushes export {kind.value}' needs a PROPOSAL id")
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
                f"wrote {output}" + (f" ({info['note']})" if info.get("note") else ""),
                highlight=False,
            )
        return
    want = TIMELINE_EXTENSIONS[kind.value]
    if output.suffix.lower() not in want:
        fail(f"{output}: give a {' or '.join(want)} file for {kind.value}")
    only = [parse_proposal_id(proposal)] if proposal is not None else None
    with frame_progress("rendering fixes", quiet=as_json) as advance:
        report = export_timeline(
            project,
            kind.value,
            output,
            render=render,
            fmt=fmt.value,
            cut=cut,
            proposals=only,
            progress=advance,
        )
    if as_json:
        print_json(report)
        return
    table = Table(show_edge=False, pad_edge=False)
    keys = ("proposal", "name", "op", "source_tc_in", "source_tc_out", "frames", "rendered")
    for k in keys:
        table.add_column(k.replace("_", " "), no_wrap=True)
    for r in report["fixes"]:
        table.add_row(*(("yes" if r[k] else "") if k == "rendered" else str(r[k]) for k in keys))
    console.print(table)
    where = f" placed in cut {report['cut']}" if "cut" in report else ""
    console.print(
        f"wrote {output}: {report['clips']} clip(s) of {len(report['fixes'])} approved fix(es)"
        f"{where} on {report['tracks']} track(s)"
        + (f"; CDLs in {Path(report['cdl'][0]).parent}" if report["cdl"] else ""),
        highlight=False,
    )
    for s in report["skipped"]:
        err_console.print(f"note: proposal {s['proposal']} ({s['shot']}) left out: {s['why']}")
    for w in report["warnings"]:
        err_console.print(f"note: {w}", highlight=False)
    for n in report.get("not_in_cut", []):
        err_console.print(
            f"note: proposal {n['proposal']} ({n['shot']}) is on a shot the cut does not use",
            highlight=False,
        )
