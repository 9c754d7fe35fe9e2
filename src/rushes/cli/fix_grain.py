"""``rushes fix degrain`` and ``rushes fix regrain``: grain proposals (see rushes.ops.grain)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from rushes.cli.common import console, open_project, print_json, spinner
from rushes.cli.grain import Method
from rushes.ops.base import Operation
from rushes.ops.grain import DEFAULT_SAMPLES, Degrain, DegrainParams, Regrain, RegrainParams
from rushes.ops.proposals import propose
from rushes.project import Project


def _propose(project: Project, op: Operation, shot: str, params: Any) -> dict[str, Any]:
    with spinner(f"{op.name}: measuring {shot}"):
        pid, plan, verdict = propose(project, op, shot, params)
    name = verdict.shot
    r = {k: v for k, v in plan.result.items() if k not in ("profile", "own_profile")}
    return {"proposal": pid, "op": op.name, "shot": name, "params": plan.params, **r}


def degrain(
    shot: Annotated[str, typer.Argument(help="Shot to degrain (name or id).")],
    strength: Annotated[
        float, typer.Option(min=0.0, max=4.0, help="Grain removed (1 = as measured).")
    ] = 1.0,
    samples: Annotated[
        int, typer.Option(min=1, max=24, help="Frames measured if not cached.")
    ] = DEFAULT_SAMPLES,
    method: Annotated[Method, typer.Option(help="Grain measuring method.")] = Method.flat,
    refresh: Annotated[bool, typer.Option("--refresh", help="Measure the grain again.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Propose removing SHOT's grain (Wiener filter tuned by its measured grain)."""
    project = open_project()
    params = DegrainParams(strength=strength, samples=samples, method=method.value, refresh=refresh)
    made = _propose(project, Degrain(), shot, params)
    if as_json:
        print_json(made)
        return
    console.print(
        f"proposal [bold]{made['proposal']}[/]: degrain {made['shot']}  grain sigma "
        f"{made['sigma_mean']:.4f} ({made['sigma_mean'] * 255:.2f}/255), strength {strength:g}"
        f"  (confidence {made['confidence']:.2f})",
        highlight=False,
    )


def regrain(
    shot: Annotated[str, typer.Argument(help="Shot to regrain (name or id).")],
    like: Annotated[
        str | None, typer.Option("--like", help="Match this shot's grain (default: own).")
    ] = None,
    amount: Annotated[
        float, typer.Option(min=0.0, max=4.0, help="Grain amplitude scale (1 = as measured).")
    ] = 1.0,
    top_up: Annotated[
        bool,
        typer.Option("--top-up/--no-top-up", help="With --like, add only what SHOT lacks."),
    ] = True,
    seed: Annotated[int, typer.Option(min=0, help="Noise seed.")] = 0,
    samples: Annotated[
        int, typer.Option(min=1, max=24, help="Frames measured if not cached.")
    ] = DEFAULT_SAMPLES,
    refresh: Annotated[bool, typer.Option("--refresh", help="Measure the grain again.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Propose adding grain to SHOT like its own measured grain or that of --like SHOT2."""
    project = open_project()
    params = RegrainParams(
        like=like, amount=amount, top_up=top_up, seed=seed, samples=samples, refresh=refresh
    )
    made = _propose(project, Regrain(), shot, params)
    if as_json:
        print_json(made)
        return
    source = made["params"].get("like") or "its own"
    console.print(
        f"proposal [bold]{made['proposal']}[/]: regrain {made['shot']} like {source} grain  "
        f"sigma {made['sigma_mean']:.4f} x {amount:g} (shot has {made['own_sigma_mean']:.4f}"
        f"{', topped up' if made['top_up'] else ''})",
        highlight=False,
    )
