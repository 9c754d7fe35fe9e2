"""``rushes guard check``: what the guard would allow for a removal, and why (nothing stored)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rushes.cli.common import console, frame_progress, open_project, print_json
from rushes.guard.check import frame_list
from rushes.ops.proposals import assess_fix
from rushes.ops.remove import Remove, RemoveParams

app = typer.Typer(help="The performer guard: what it allows and why.", no_args_is_help=True)


@app.command()
def check(
    shot: Annotated[str, typer.Argument(help="Shot (name or id).")],
    mask: Annotated[
        str | None, typer.Option("--mask", help="Matte image, or per-frame pattern.")
    ] = None,
    shapes: Annotated[
        Path | None, typer.Option("--shapes", help="JSON shapes (polylines with width, polygons).")
    ] = None,
    dilate: Annotated[float, typer.Option(min=0.0, max=50.0, help="Grow shapes (px).")] = 0.0,
    radius: Annotated[int, typer.Option(min=1, max=60, help="Frames searched each side.")] = 12,
    takes: Annotated[
        bool, typer.Option("--takes/--no-takes", help="Count other takes as photographed.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Would a removal under this matte be allowed? Names the frames and the rule.

    Exit code 0 when allowed, 1 when refused.
    """
    project = open_project()
    params = RemoveParams(
        mask=mask,
        shapes=str(shapes) if shapes else None,
        dilate=dilate,
        radius=radius,
        takes=takes,
        regrain=False,
        network=False,
    )
    with frame_progress(f"guard: {shot}", quiet=as_json) as advance:
        v = assess_fix(project, Remove(), shot, params, progress=advance)
    if as_json:
        print_json(v.to_dict())
    else:
        word = "[green]allowed[/]" if v.allowed else "[bold red]refused[/]"
        console.print(f"{v.shot}: {word} (rule: {v.rule})")
        console.print(f"  performers found on {v.performer_frames} frame(s)", highlight=False)
        if v.touching:
            console.print(
                f"  the matte meets a performer on {len(v.touching)} frame(s): "
                f"{frame_list(v.touching)}",
                highlight=False,
            )
        for reason in v.reasons:
            console.print(f"  {reason}", highlight=False)
        if not v.allowed and v.rule == "refused" and v.face_share <= 0.2:
            console.print(
                "  to proceed anyway: rushes fix remove ... --allow-performer-region "
                '--note "why" (recorded in the audit log)',
                highlight=False,
            )
    raise typer.Exit(0 if v.allowed else 1)
