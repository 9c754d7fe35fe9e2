"""``rushes model show|ls|rm``: the project model's versions and their cards."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rushes.cli.common import console, open_project, print_json

app = typer.Typer(help="The project model: versions and model cards.", no_args_is_help=True)


def print_card(card: dict[str, Any], out: Console) -> None:
    """A model card, readable."""
    d, t, v = card.get("data", {}), card.get("training", {}), card.get("validation", {})
    out.print(
        f"model [bold]{card.get('version')}[/] by {card.get('created_by')} at "
        f"{card.get('created_at')} on {card.get('device')}",
        highlight=False,
    )
    out.print(
        f"data: {d.get('clips')} clips ({d.get('train_clips')} train, "
        f"{d.get('validation_clips')} held out), {d.get('footage_minutes')} min of footage, "
        f"{d.get('train_crops')} training crops; manifest sha256 "
        f"{str(d.get('manifest_sha256'))[:16]}",
        highlight=False,
    )
    out.print(
        f"training: {t.get('steps')} steps, {t.get('samples')} crops in {t.get('seconds')} s "
        f"({t.get('samples_per_second')} crops/s); validation loss "
        + " -> ".join(
            f"{b:.4f}"
            for _, b in t.get("validation_curve", [])[:1] + t.get("validation_curve", [])[-1:]
        ),
        highlight=False,
    )
    masked = v.get("masked", {})
    if masked:
        table = Table(title="held-out clips: PSNR inside the matte (dB)")
        for col in ("matte", "crops", "network", "OpenCV Telea", "naive", "margin"):
            table.add_column(col, justify="right")
        for kind, r in masked.items():
            table.add_row(
                kind,
                str(r["crops"]),
                f"{r['network_db']:.2f}",
                f"{r['telea_db']:.2f}",
                f"{r['naive_db']:.2f}",
                f"{r['margin_db']:+.2f}",
            )
        out.print(table)
    mid = v.get("middle")
    if mid:
        out.print(
            f"middle frame: network {mid['network_db']:.2f} dB, flow-warp blend "
            f"{mid['flow_blend_db']:.2f} dB, average {mid['average_db']:.2f} dB "
            f"(margin {mid['margin_db']:+.2f} dB); inference {v.get('inference_fps_960x540')} "
            "fps at 960x540",
            highlight=False,
        )
    prof = card.get("profiles") or {}
    if prof:
        out.print(
            "profiles: " + ", ".join(f"{k}: {_short(val)}" for k, val in prof.items()),
            highlight=False,
        )


def _short(v: Any) -> str:
    if isinstance(v, dict):
        return (
            "{"
            + ", ".join(f"{k}={_short(x)}" for k, x in list(v.items())[:4])
            + (", ...}" if len(v) > 4 else "}")
        )
    if isinstance(v, list):
        return f"[{len(v)}]"
    return str(v)


@app.command()
def show(
    version: Annotated[
        str | None, typer.Argument(help="Version (default: the current model).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show a model card: data manifest summary, profiles, validation scores."""
    from rushes.dialect import store

    project = open_project()
    card = store.read_card(project, version)
    if as_json:
        manifest = store.read_json(store.version_dir(project, version) / store.MANIFEST)
        print_json({**card, "manifest": manifest})
        return
    print_card(card, console)


@app.command("ls")
def ls(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the model versions (the newest is the current one)."""
    from rushes.dialect import store

    project = open_project()
    rows = []
    versions = store.list_versions(project)
    for version in versions:
        card = store.read_card(project, version)
        masked = card.get("validation", {}).get("masked", {}).get("all", {})
        rows.append(
            {
                "version": version,
                "created_at": card.get("created_at"),
                "created_by": card.get("created_by"),
                "clips": card.get("data", {}).get("clips"),
                "steps": card.get("training", {}).get("steps"),
                "masked_db": masked.get("network_db"),
                "telea_db": masked.get("telea_db"),
                "current": version == versions[-1],
            }
        )
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no model yet; run 'rushes learn'")
        return
    table = Table()
    for col in rows[0]:
        table.add_column(col)
    for r in rows:
        table.add_row(*("" if v is None else str(v) for v in r.values()))
    console.print(table)


@app.command("rm")
def rm(
    version: Annotated[str, typer.Argument(help="Version to delete (see 'rushes model ls').")],
) -> None:
    """Delete a model version (its card, manifest, profiles and weights)."""
    from rushes.dialect import store

    project = open_project()
    folder = store.remove_version(project, version)
    project.audit("model-rm", f"model {version}", {"path": str(folder)})
    console.print(f"removed model {version}", highlight=False)
