"""``rushes fix remove``: propose painting out wires, rigs and objects (see rushes.ops.remove)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rushes.cli.common import console, fail, frame_progress, open_project, print_json
from rushes.ops.proposals import propose
from rushes.ops.remove import Remove, RemoveParams


def remove(
    shot: Annotated[str, typer.Argument(help="Shot to clean (name or id).")],
    mask: Annotated[
        str | None,
        typer.Option("--mask", help="Matte image, or per-frame pattern (mattes/%04d.png)."),
    ] = None,
    shapes: Annotated[
        Path | None, typer.Option("--shapes", help="JSON shapes (polylines with width, polygons).")
    ] = None,
    track: Annotated[
        bool, typer.Option("--track", help="Track the shapes from the frame they were drawn on.")
    ] = False,
    key: Annotated[
        int | None, typer.Option("--key", min=0, help="With --track: frame drawn on (0-based).")
    ] = None,
    wires: Annotated[bool, typer.Option("--wires", help="Find thin wires in --region.")] = False,
    region: Annotated[
        str | None, typer.Option("--region", help="x,y,w,h where the wires are (with --wires).")
    ] = None,
    dilate: Annotated[
        float, typer.Option(min=0.0, max=50.0, help="Grow shapes and wires by this (px).")
    ] = 0.0,
    radius: Annotated[int, typer.Option(min=1, max=60, help="Frames searched each side.")] = 12,
    takes: Annotated[
        bool, typer.Option("--takes/--no-takes", help="Use other takes of the setup.")
    ] = True,
    network: Annotated[
        bool,
        typer.Option(
            "--network/--no-network",
            help="Synthesize what was never photographed with the project's plate network "
            "(after 'rushes learn'); --no-network: OpenCV Telea.",
        ),
    ] = True,
    regrain: Annotated[
        bool, typer.Option("--regrain/--no-regrain", help="Match the fill's grain to the plate.")
    ] = True,
    allow_performer_region: Annotated[
        bool,
        typer.Option(
            "--allow-performer-region",
            help="Let the fill synthesize on a performer where nothing was photographed "
            "(needs --note; recorded in the audit log). A face is never replaced.",
        ),
    ] = False,
    note: Annotated[
        str | None, typer.Option("--note", help="Why, with --allow-performer-region.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Propose removing what the matte covers, with pixels the production photographed.

    Nothing is painted until the proposal is rendered ('rushes render PROPOSAL').
    """
    project = open_project()
    params = RemoveParams(
        mask=mask,
        shapes=str(shapes) if shapes else None,
        track=track,
        key=key,
        wires=wires,
        region=region,
        dilate=dilate,
        radius=radius,
        takes=takes,
        regrain=regrain,
        network=network,
    )
    if note is not None and not allow_performer_region:
        fail("--note goes with --allow-performer-region")
    if allow_performer_region and not (note or "").strip():
        fail('--allow-performer-region needs --note "why" (it is recorded in the audit log)')
    with frame_progress(f"remove: matte and guard for {shot}", quiet=as_json) as advance:
        pid, plan, verdict = propose(
            project,
            Remove(),
            shot,
            params,
            allow_performer_region=note if allow_performer_region else None,
            progress=advance,
        )
    name = verdict.shot
    r = plan.result
    made = {
        "proposal": pid,
        "op": "remove",
        "shot": name,
        "params": plan.params,
        **{k: v for k, v in r.items() if k != "grain"},
        "grain_sigma": (r["grain"] or {}).get("sigma_mean"),
    }
    if as_json:
        print_json(made)
        return
    what = ", ".join(
        f"{k} {v.get('source') or v.get('region') or ''}".strip() for k, v in r["matte"].items()
    )
    console.print(
        f"proposal [bold]{pid}[/]: remove from {name} ({r['frames']} frames)  matte: {what}; "
        f"covers {100 * r['coverage']:.2f}% of the frame; "
        f"guard: {verdict.rule} ({verdict.reasons[-1]}); "
        f"{len(r['takes'])} other take(s) of the setup\n"
        f"render it to review: rushes render {pid} --format exr",
        highlight=False,
    )
