"""``rushes ingest``: bring camera media into the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rushes.cli.common import console, err_console, open_project, print_json
from rushes.ingest import ingest as run_ingest


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of camera media.")],
    ale: Annotated[Path | None, typer.Option(help="Avid ALE with scene/take/camera.")] = None,
    csv: Annotated[Path | None, typer.Option(help="CSV sheet with scene/take/camera.")] = None,
    workers: Annotated[int | None, typer.Option(help="Clips analysed in parallel.")] = None,
    verify: Annotated[bool, typer.Option(help="Re-checksum files that look unchanged.")] = False,
    colorspace: Annotated[
        str | None, typer.Option(help="OCIO input colour space of the new clips (default: guess).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report.")] = False,
) -> None:
    """Checksum, probe and analyse media; catalog clips, shots and setups. Re-runnable."""
    project = open_project()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=as_json or not err_console.is_terminal,
    ) as bar:
        clips = bar.add_task("clips", total=None)
        frames = bar.add_task("frames", total=None)

        def hook(event: str, n: int, total: int) -> None:
            if event == "start":
                bar.update(frames, total=total or None)
            elif event == "frames":
                bar.advance(frames, n)
            elif event == "clip":
                bar.update(clips, total=total)
                bar.advance(clips, n)

        report = run_ingest(
            project,
            paths,
            ale=ale,
            sheet=csv,
            workers=workers,
            verify=verify,
            colorspace=colorspace,
            hook=hook,
        )
    if as_json:
        print_json(report.to_dict())
    else:
        for line in report.failed:
            err_console.print(f"[red]error:[/] {line}", highlight=False, soft_wrap=True)
        for line in report.damaged:
            err_console.print(f"[red]damaged:[/] {line}", highlight=False, soft_wrap=True)
        for line in report.warnings + report.changed:
            err_console.print(f"[yellow]warning:[/] {line}", highlight=False, soft_wrap=True)
        console.print(
            f"{len(report.added)} added, {len(report.unchanged)} unchanged, "
            f"{len(report.moved)} moved, {len(report.changed)} changed, "
            f"{len(report.damaged)} damaged, {len(report.failed)} failed "
            f"({report.frames} frames analysed)",
            highlight=False,
        )
    if not report.ok:
        raise typer.Exit(1)
