"""``rushes contact-sheet``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import cv2
import typer

from rushes.atomic import write_bytes_atomic
from rushes.cli.common import console, fail, open_project, print_json
from rushes.project import query
from rushes.review.sheet import contact_sheet as layout


def contact_sheet(
    output: Annotated[Path, typer.Option("-o", "--output", help="PNG or JPEG to write.")],
    scene: Annotated[str | None, typer.Option(help="Only this scene.")] = None,
    columns: Annotated[int, typer.Option(min=1, max=16, help="Thumbnails per row.")] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Write a contact sheet of shot thumbnails, grouped by scene and setup."""
    if output.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        fail(f"{output}: give a .png or .jpg output file")
    project = open_project()
    with project.session() as s:
        shots = query.list_shots(s, scene)
        items = []
        for sh in sorted(
            shots, key=lambda x: (x.clip.scene or "", x.setup.name if x.setup else "", x.name)
        ):
            if not sh.thumbnail:
                continue
            img = cv2.imread(str(project.path(sh.thumbnail)))
            if img is None:
                continue
            tc = sh.clip.timecode or ""
            setup = sh.setup.name if sh.setup else ""
            items.append(
                (
                    cv2.cvtColor(img, cv2.COLOR_BGR2RGB),
                    [
                        sh.name,
                        f"sc {sh.clip.scene or '-'} tk {sh.clip.take or '-'}  {setup}",
                        f"{sh.frames} fr  {tc}",
                    ],
                    sh.name,
                )
            )
    if not items:
        where = f"scene {scene}" if scene else "the catalog"
        fail(f"no shots with thumbnails in {where}; ingest media first ('rushes ls shots')")
    title = f"{project.settings.name}" + (f" - scene {scene}" if scene else "")
    sheet = layout([i[0] for i in items], [i[1] for i in items], columns=columns, title=title)
    ok, buf = cv2.imencode(output.suffix.lower(), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    if not ok:
        fail(f"{output}: cannot encode the image")
    write_bytes_atomic(output, buf.tobytes())
    if as_json:
        print_json({"output": str(output), "shots": [i[2] for i in items]})
    else:
        console.print(f"Wrote {output} ({len(items)} shots)", highlight=False)
