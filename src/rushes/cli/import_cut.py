"""``rushes import-cut FILE`` and ``rushes cuts [NAME]``: the editor's cut in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from rushes.cli.common import console, err_console, open_project, print_json, spinner
from rushes.editorial.cut import cut_detail, list_cuts
from rushes.editorial.cut import import_cut as run_import
from rushes.media.timecode import show_rate

_EVENT_COLUMNS = (
    ("#", "index"),
    ("record in", "record_in"),
    ("name", "name"),
    ("reel", "reel"),
    ("source in", "source_in"),
    ("source out", "source_out"),
    ("frames", "frames"),
    ("clip", "clip"),
    ("shot", "shot"),
)


def _events_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    for title, _ in _EVENT_COLUMNS:
        table.add_column(title, no_wrap=True)
    table.add_column("match")
    for r in rows:
        cells = ["" if r.get(k) is None else str(r[k]) for _, k in _EVENT_COLUMNS]
        if len(r.get("shots") or []) > 1:
            cells[-1] += f" (+{len(r['shots']) - 1})"
        cells.append("ok" if r["matched"] else f"[red]NO MATCH[/]: {r['reason']}")
        table.add_row(*cells)
    return table


def import_cut(
    file: Annotated[
        Path, typer.Argument(help="The cut: .edl, .xml (FCP7 or FCPXML), .fcpxml, .otio or .aaf.")
    ],
    name: Annotated[
        str | None, typer.Option("--name", help="Name of the cut (default: the file's stem).")
    ] = None,
    rate: Annotated[
        str | None,
        typer.Option(help="An EDL's frame rate (EDLs carry none; default: the project's)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Import an editor's cut and match its events to the ingested clips and shots.

    Events that match nothing are stored and listed with the reason; the exit code is then 1.
    """
    project = open_project()
    with spinner(f"reading {file.name}", quiet=as_json):
        report = run_import(project, file, name=name, rate=rate)
    if as_json:
        print_json(report)
    else:
        console.print(_events_table(report["rows"]))
        again = " (same file: matched again)" if report["rematched"] else ""
        console.print(
            f"cut {report['name']} v{report['version']}{again}: {report['format']}, "
            f"{show_rate(report['rate'])} fps, starts {report['start']}; "
            f"{report['events']} events, {report['matched']} matched",
            highlight=False,
        )
        for w in report["warnings"]:
            err_console.print(f"note: {w}", highlight=False)
    if report["unmatched_events"]:
        n = len(report["unmatched_events"])
        err_console.print(
            f"[yellow]warning:[/] {n} event(s) match no clip (listed with the reason); ingest "
            "them or fix the cut, then import it again",
            highlight=False,
        )
        raise typer.Exit(1)


def cuts(
    name: Annotated[
        str | None, typer.Argument(help="A cut: list its events (default: list the cuts).")
    ] = None,
    version: Annotated[
        int | None, typer.Option(help="Version of the cut (default: the latest).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the imported cuts, or the events of one cut and what they matched."""
    project = open_project()
    if name is None:
        rows = list_cuts(project)
        if as_json:
            print_json(rows)
            return
        table = Table(show_edge=False, pad_edge=False)
        keys = ("name", "version", "format", "rate", "start", "events", "matched", "imported_at")
        for k in keys:
            table.add_column(k, no_wrap=True)
        for r in rows:
            cells = {k: str(r[k]) for k in keys} | {
                "imported_at": str(r["imported_at"])[:19],
                "rate": show_rate(r["rate"]),
            }
            table.add_row(*(cells[k] for k in keys))
        console.print(table)
        return
    detail = cut_detail(project, name, version)
    if as_json:
        print_json(detail)
        return
    console.print(_events_table(detail["rows"]))
    console.print(
        f"cut {detail['name']} v{detail['version']}: {detail['events']} events, "
        f"{detail['matched']} matched",
        highlight=False,
    )
