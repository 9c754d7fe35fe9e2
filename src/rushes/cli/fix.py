"""``rushes fix <op>``: propose fixes. Nothing is applied until a person renders them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import Progress

from rushes.cli.common import console, err_console, fail, open_project, print_json
from rushes.editorial.continuity import rank_shots
from rushes.ops.match import Match, MatchParams
from rushes.ops.proposals import propose
from rushes.project import query

app = typer.Typer(help="Propose fixes (each is a proposal a person reviews).", no_args_is_help=True)


@app.command()
def match(
    shot: Annotated[str | None, typer.Argument(help="Shot to match (omit with --scene).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Reference shot.")] = None,
    scene: Annotated[str | None, typer.Option(help="Match every shot of this scene.")] = None,
    hero: Annotated[
        str | None,
        typer.Option(help="Scene reference (default: the shot closest to the scene's look)."),
    ] = None,
    samples: Annotated[int, typer.Option(min=1, max=50, help="Frames sampled per shot.")] = 5,
    lut: Annotated[bool, typer.Option("--lut/--no-lut", help="Fit a residual 3D LUT.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Propose a CDL (+ residual LUT) making SHOT look like the reference."""
    project = open_project()
    op = Match()
    pairs: list[tuple[str, str]] = []
    with project.session() as s:
        if scene is not None:
            if shot is not None or to is not None:
                fail("give either SHOT --to REF, or --scene (with an optional --hero)")
            shots = query.list_shots(s, scene)
            if not shots:
                fail(f"no shots in scene {scene}; see 'rushes ls shots'")
            if hero is not None:
                ref = query.find_shot(s, hero)
                if ref.id not in {x.id for x in shots}:
                    fail(f"hero {ref.name} is not in scene {scene}")
            else:
                ref = shots[rank_shots(project, shots)[2]]
            pairs = [(x.name, ref.name) for x in shots if x.id != ref.id]
        else:
            if shot is None or to is None:
                fail("give SHOT --to REF (or --scene N)")
            pairs = [(query.find_shot(s, shot).name, query.find_shot(s, to).name)]
    made = []
    with Progress(console=err_console, disable=as_json or not err_console.is_terminal) as bar:
        task = bar.add_task("matching", total=len(pairs))
        for name, ref_name in pairs:
            params = MatchParams(to=ref_name, samples=samples, residual_lut=lut)
            pid, plan, _ = propose(project, op, name, params)
            r = plan.result
            made.append({"proposal": pid, "shot": name, "to": ref_name, **r})
            bar.advance(task)
    if as_json:
        print_json(made)
        return
    for m in made:
        c = m["cdl"]
        console.print(
            f"proposal [bold]{m['proposal']}[/]: {m['shot']} -> {m['to']}  "
            f"exposure {m['exposure_stops']:+.2f} st, slope {_v(c['slope'])} offset "
            f"{_v(c['offset'])} power {_v(c['power'])} sat {c['saturation']:.3f}"
            f"{', residual LUT' if m['lut'] else ''}  (confidence {m['confidence']:.2f}, "
            f"{m['method']})",
            highlight=False,
        )


def _v(x: list[float]) -> str:
    return "(" + " ".join(f"{v:.3f}" for v in x) + ")"


from rushes.cli import fix_grain  # noqa: E402  (registers the grain commands)

app.command()(fix_grain.degrain)
app.command()(fix_grain.regrain)

from rushes.cli import fix_remove  # noqa: E402  (registers the removal command)

app.command()(fix_remove.remove)

from rushes.cli import fix_taught  # noqa: E402  (registers the taught-effect command)

app.command("apply-taught")(fix_taught.apply_taught)
