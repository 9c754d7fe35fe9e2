"""``rushes init``: create a workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rushes.cli.common import console, print_json
from rushes.project import Project


def init(
    path: Annotated[Path, typer.Argument(help="Folder for the project (created if missing).")],
    fps: Annotated[
        str, typer.Option(help="Project frame rate: 24, 25, 23.976, 24000/1001.")
    ] = "24",
    name: Annotated[str | None, typer.Option(help="Project name (default: folder name).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Create a workspace: rushes.toml, catalog.sqlite, cache/, models/, renders/, exports/."""
    project = Project.init(path, fps=fps, name=name)
    if as_json:
        print_json({"root": str(project.root), **project.settings.model_dump()})
        return
    console.print(
        f"Created project [bold]{project.settings.name}[/] at {project.root} "
        f"({project.settings.fps} fps)",
        highlight=False,
    )
