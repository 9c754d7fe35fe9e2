"""``rushes continuity``: which shots drift from the scene's look, and by how much."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import cv2
import typer
from rich.table import Table

from rushes.atomic import write_bytes_atomic
from rushes.cli.common import console, fail, open_project, print_json
from rushes.editorial.continuity import rank_shots
from rushes.project import query
from rushes.review.sheet import contact_sheet


def continuity(
    scene: Annotated[str, typer.Option(help="Scene to check.")],
    hero: Annotated[
        str | None, typer.Option(help="Reference shot (default: scene median).")
    ] = None,
    threshold: Annotated[float, typer.Option(help="ΔE2000 above which a shot is flagged.")] = 3.0,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Contact sheet PNG (hero + outliers).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Rank the shots of a scene by ΔE2000 from the scene's look."""
    project = open_project()
    with project.session() as s:
        shots = query.list_shots(s, scene)
        if len(shots) < 2:
            fail(f"scene {scene} has {len(shots)} shot(s); continuity needs two or more")
        hero_idx = None
        if hero is not None:
            h = query.find_shot(s, hero)
            ids = [x.id for x in shots]
            if h.id not in ids:
                fail(f"hero {h.name} is not in scene {scene}")
            hero_idx = ids.index(h.id)
        drifts, centre, k = rank_shots(project, shots, hero_idx)
        thumbs = {x.name: x.thumbnail for x in shots}
        hero_name = shots[k].name
    flagged = [d for d in drifts if d.delta_e > threshold and d.shot != hero_name]
    sheet = output or project.path("exports", f"continuity_scene_{scene}.png")
    items = [(hero_name, "hero")] + [(d.shot, f"ΔE {d.delta_e:.1f}") for d in flagged]
    images, labels = [], []
    for name, label in items:
        img = cv2.imread(str(project.path(thumbs[name] or "")))
        if img is not None:
            images.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            labels.append([name, label.replace("ΔE", "dE")])
    if images:
        grid = contact_sheet(images, labels, columns=4, title=f"scene {scene}: hero + outliers")
        ok, buf = cv2.imencode(".png", cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
        if ok:
            write_bytes_atomic(sheet, buf.tobytes())
    if as_json:
        print_json(
            {
                "scene": scene,
                "hero": hero_name,
                "scene_lab": centre,
                "threshold": threshold,
                "sheet": str(sheet),
                "shots": [d.to_dict() | {"flagged": d in flagged} for d in drifts],
            }
        )
        return
    t = Table(title=f"scene {scene}: ΔE2000 from the scene look (hero {hero_name})")
    for c in ("shot", "setup", "ΔE scene", "ΔE setup", "exposure", "flag"):
        t.add_column(c)
    for d in drifts:
        t.add_row(
            d.shot,
            d.setup or "",
            f"{d.delta_e:.2f}",
            "" if d.delta_e_setup is None else f"{d.delta_e_setup:.2f}",
            f"{d.exposure_stops:+.2f} st",
            "drifts" if d in flagged else "",
        )
    console.print(t)
    console.print(f"contact sheet: {sheet}", highlight=False)
