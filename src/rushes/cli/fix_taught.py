"""``rushes fix apply-taught``: propose a taught effect over a shot (see rushes.ops.taught)."""

from __future__ import annotations

from typing import Annotated

import typer

from rushes.cli.common import console, frame_progress, open_project, print_json
from rushes.ops.proposals import propose
from rushes.ops.taught import Taught, TaughtParams


def apply_taught(
    name: Annotated[str, typer.Argument(help="Taught effect (rushes teach NAME ...).")],
    shot: Annotated[str, typer.Argument(help="Shot to apply it to (name or id).")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Propose effect NAME over every frame of SHOT (performers are left as shot).

    Nothing changes until the proposal is rendered ('rushes render PROPOSAL').
    """
    project = open_project()
    params = TaughtParams(name=name)
    with frame_progress("guard: finding performers", quiet=as_json) as advance:
        pid, plan, verdict = propose(project, Taught(), shot, params, progress=advance)
    shot_name = verdict.shot
    r = plan.result
    made = {
        "proposal": pid,
        "op": "taught",
        "shot": shot_name,
        "params": plan.params,
        "effect": r["effect"],
        "output": r["output"],
        "frames": r["frames"],
        "performers": len(r["performers"]),
    }
    if as_json:
        print_json(made)
        return
    e = r["effect"]
    base = f"model {e['base_model']}" if e["base_model"] else "a fresh network"
    fmt = "exr" if r["output"] == "matte" else "mp4"
    console.print(
        f"proposal [bold]{pid}[/]: {name} ({r['output']}) over {shot_name} ({r['frames']} "
        f"frames); taught from {e['examples']} pair(s) on {base}; "
        f"{len(r['performers'])} performer region(s) left as shot\n"
        f"render it to review: rushes render {pid} --format {fmt}"
        f"{' (the matte comes as EXR files beside the frames)' if fmt == 'exr' else ''}",
        highlight=False,
    )
