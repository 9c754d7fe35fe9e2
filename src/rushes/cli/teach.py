"""``rushes teach NAME``: teach an effect from before/after frames (see rushes.dialect.teach)."""

from __future__ import annotations

from enum import StrEnum
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


class Output(StrEnum):
    """What the effect makes."""

    rgb = "rgb"
    matte = "matte"


def teach(
    name: Annotated[str, typer.Argument(help="Effect name (letters, digits, - and _).")],
    before: Annotated[
        str,
        typer.Option(
            "--before", help="Frames as shot: ex/before/%04d.png, ####, a folder or one image."
        ),
    ],
    after: Annotated[
        str,
        typer.Option("--after", help="The same frames as fixed by hand (or their mattes)."),
    ],
    shot: Annotated[
        str | None, typer.Option("--shot", help="Shot the effect is for (examples at its size).")
    ] = None,
    minutes: Annotated[
        float, typer.Option(min=0.01, max=1440, help="Training budget, wall clock.")
    ] = 5.0,
    steps: Annotated[
        int | None, typer.Option("--steps", min=1, help="Stop after this many steps.")
    ] = None,
    output: Annotated[Output, typer.Option(help="rgb (a fixed frame) or matte.")] = Output.rgb,
    device: Annotated[
        Device, typer.Option(help="auto (CUDA when present), cpu or cuda.")
    ] = Device.auto,
    crop: Annotated[int, typer.Option(min=32, max=512, help="Training crop side, pixels.")] = 96,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the init, crops and batches.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Replace an effect of this name.")] = False,
    keep_worse: Annotated[
        bool,
        typer.Option(
            "--keep-worse", help="Keep the effect even if it ends worse than the untouched frames."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Teach effect NAME from a few before/after frame pairs made by hand.

    Apply it to a shot with 'rushes fix apply-taught NAME SHOT'.
    """
    from rushes.dialect.teach import teach as run

    project = open_project()
    budget = minutes * 60.0
    with budget_progress(quiet=as_json) as bar:
        task = bar.add_task(f"teaching {name}", total=budget, info="")

        def hook(step: int, loss: float, elapsed: float) -> None:
            done = elapsed if steps is None else max(elapsed, budget * step / steps)
            bar.update(task, completed=min(done, budget), info=f"step {step}  loss {loss:.5f}")

        card = run(
            project,
            name,
            before,
            after,
            shot=shot,
            minutes=minutes,
            output=output.value,
            device=device.value,
            seed=seed,
            force=force,
            progress=hook,
            max_steps=steps,
            crop=crop,
            keep_worse=keep_worse,
        )
    for w in card["warnings"]:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
    if as_json:
        print_json(card)
        return
    _print(card)


def _print(card: dict[str, Any]) -> None:
    s = card["scores"]
    base = f"model {card['base_model']}" if card["base_model"] else "a fresh network"
    iou = f", IoU {s['iou']:.3f}" if "iou" in s else ""
    console.print(
        f"taught [bold]{card['name']}[/] ({card['output']}) from {len(card['examples'])} pair(s) "
        f"at {card['size'][0]}x{card['size'][1]}, starting from {base}: {card['steps']} steps in "
        f"{card['seconds']:.1f} s ({card['steps_per_second']:.2f}/s, {card['device']}), loss "
        f"{card['loss']:.5f}; examples PSNR {s['psnr_before']:.2f} -> {s['psnr_after']:.2f} dB"
        f"{iou}\napply it: rushes fix apply-taught {card['name']} "
        f"{card['shot'] or 'SHOT'}",
        highlight=False,
    )
