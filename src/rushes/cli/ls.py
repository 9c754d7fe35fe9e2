"""``rushes ls clips|shots|setups``."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from rushes.cli.common import console, open_project, print_json
from rushes.ops.proposals import list_proposals
from rushes.project import query


class What(StrEnum):
    """What to list."""

    clips = "clips"
    shots = "shots"
    setups = "setups"
    proposals = "proposals"


COLUMNS: dict[What, tuple[str, ...]] = {
    What.clips: (
        "name",
        "kind",
        "width",
        "height",
        "frames",
        "fps",
        "codec",
        "bit_depth",
        "timecode",
        "colorspace",
        "camera",
        "scene",
        "take",
        "shots",
        "status",
    ),
    What.shots: (
        "name",
        "frames",
        "scene",
        "take",
        "camera",
        "setup",
        "motion",
        "exposure",
        "faces",
        "people",
    ),
    What.setups: ("name", "scene", "camera", "shots"),
    What.proposals: (
        "id",
        "op",
        "shot",
        "to",
        "status",
        "summary",
        "confidence",
        "created_by",
    ),
}


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return ", ".join(map(str, v))
    if isinstance(v, bool):
        return "yes" if v else ""
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def ls(
    what: Annotated[What, typer.Argument(help="clips, shots, setups or proposals")],
    scene: Annotated[str | None, typer.Option(help="Only this scene (shots).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the catalog's clips, shots or camera setups."""
    project = open_project()
    with project.session() as s:
        if what is What.clips:
            rows = [query.clip_row(c) for c in query.list_clips(s)]
        elif what is What.shots:
            rows = [query.shot_row(x) for x in query.list_shots(s, scene)]
        elif what is What.setups:
            rows = [query.setup_row(x) for x in query.list_setups(s)]
        else:
            rows = list_proposals(project)
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} {what.value}", header_style="bold")
    for col in COLUMNS[what]:
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(*(_cell(r.get(c)) for c in COLUMNS[what]))
    console.print(table)
