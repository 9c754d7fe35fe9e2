"""``rushes grain SHOT``: the shot's grain profile (measured once, kept in the catalog)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from rushes.cli.common import console, open_project, print_json, spinner
from rushes.ops.grain import DEFAULT_SAMPLES, shot_grain
from rushes.project import query


class Method(StrEnum):
    """Grain measuring methods (rushes.analysis.grain.METHODS)."""

    flat = "flat"
    temporal = "temporal"


def grain(
    shot: Annotated[str, typer.Argument(help="Shot name or id (see 'rushes ls shots').")],
    samples: Annotated[
        int, typer.Option(min=1, max=24, help="Frames measured (full resolution).")
    ] = DEFAULT_SAMPLES,
    method: Annotated[
        Method, typer.Option(help="flat (flat areas of single frames) or temporal (pairs).")
    ] = Method.flat,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Measure again instead of the cached profile.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show the grain of SHOT: amplitude by intensity, spectrum, channel correlation."""
    project = open_project()
    with project.session() as s:
        name = query.find_shot(s, shot).name
    with spinner(f"measuring the grain of {name}", quiet=as_json):
        profile = shot_grain(project, name, samples, refresh, method.value)
    d = profile.to_dict()
    if as_json:
        print_json({"shot": name, **d})
        return
    console.print(
        f"grain of [bold]{name}[/] ({d['method']}, {d['frames']} frames at "
        f"{d['size'][0]}x{d['size'][1]}; own encoding)",
        highlight=False,
    )
    t = Table()
    for col in ("level", "sigma R", "sigma G", "sigma B", "patches"):
        t.add_column(col, justify="right")
    for level, amp, cnt in zip(profile.levels, profile.amplitude, profile.counts, strict=True):
        t.add_row(
            f"{level:.3f}",
            *(f"{a:.4f}" for a in amp),
            "/".join(str(int(c)) if c else "-" for c in cnt),
        )
    console.print(t)
    corr = profile.correlation
    console.print(
        f"mean sigma {profile.mean_sigma:.4f} ({profile.mean_sigma * 255:.2f}/255); "
        f"neighbour correlation R {profile.lag1[0]:.2f} G {profile.lag1[1]:.2f} "
        f"B {profile.lag1[2]:.2f} (0 = fine, 1 = coarse); channel correlation RG "
        f"{corr[0, 1]:.2f} RB {corr[0, 2]:.2f} GB {corr[1, 2]:.2f}",
        highlight=False,
    )
    radial = profile.radial.mean(axis=1)
    console.print(
        "spectrum (DC -> Nyquist): " + " ".join(f"{v:.2f}" for v in np.asarray(radial)),
        highlight=False,
    )
