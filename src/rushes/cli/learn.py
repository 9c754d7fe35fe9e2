"""``rushes learn``: the project model from the production's own dailies."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from rushes.cli.common import (
    Device,
    budget_progress,
    console,
    err_console,
    open_project,
    print_json,
)
from rushes.cli.model import print_card


def learn(
    minutes: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            max=10080,
            help="Wall-clock budget of the whole run, minutes [default: 15; with --resume, the "
            "interrupted run's].",
            show_default=False,
        ),
    ] = None,
    device: Annotated[
        Device, typer.Option(help="auto (CUDA when present), cpu or cuda.")
    ] = Device.auto,
    resume: Annotated[
        bool, typer.Option("--resume", help="Go on with an interrupted run from its checkpoint.")
    ] = False,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the split, crops and batches.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Learn the project model (profiles + plate network) from the ingested clips only."""
    from rushes.dialect.learn import learn as run

    project = open_project()
    with budget_progress(quiet=as_json) as bar:
        budget = (minutes or 15.0) * 60.0
        task = bar.add_task("learning", total=budget, info="")

        def hook(phase: str, info: dict[str, Any]) -> None:
            text = {
                "data": lambda: f"cutting crops: {info.get('clips')}/{info.get('total')} clips",
                "profiles": lambda: f"profiles {info.get('kind') or ''}".strip(),
                "train": lambda: (
                    f"step {info['step']}  loss {info['loss']:.4f}  "
                    f"{info['samples_per_s']:.0f} crops/s  {max(0, info['left']):.0f} s left"
                ),
                "checkpoint": lambda: f"checkpoint at step {info['step']}",
                "validate": lambda: f"validating on {info['crops']} held-out crops",
                "resume": lambda: f"resumed at step {info['step']}",
            }.get(phase, lambda: phase)()
            left = info.get("left")
            done = budget - left if isinstance(left, float) else None
            bar.update(task, description=phase, info=text, completed=done)

        try:
            card = run(project, minutes, device.value, resume, seed, hook)
        except KeyboardInterrupt:
            err_console.print(
                "interrupted; the checkpoint is kept: continue with 'rushes learn --resume'",
                highlight=False,
            )
            raise typer.Exit(130) from None
    if as_json:
        print_json(card)
        return
    print_card(card, console)
