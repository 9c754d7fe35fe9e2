"""``rushes show SHOT``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from rushes.cli.common import console, open_project, print_json
from rushes.project import query


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict):
        return ", ".join(f"{k}={_fmt(x)}" for k, x in v.items() if not isinstance(x, list | dict))
    return "" if v is None else str(v)


def show(
    shot: Annotated[str, typer.Argument(help="Shot name or id (see 'rushes ls shots').")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show one shot: its clip's metadata, its analyses and its thumbnail."""
    project = open_project()
    with project.session() as s:
        detail = query.shot_detail(query.find_shot(s, shot), str(project.root))
    if as_json:
        print_json(detail)
        return
    clip = detail["clip"]
    t = Table(title=f"shot {detail['name']}", show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column(overflow="fold")
    rows = [
        ("clip", f"{clip['name']} ({clip['kind']}, {clip['codec']}, {clip['bit_depth']}-bit)"),
        ("path", clip["path"]),
        ("size", f"{clip['width']}x{clip['height']} @ {clip['fps']} fps"),
        ("frames", f"{detail['start']}-{detail['end'] - 1} ({detail['frames']})"),
        ("timecode", clip["timecode"]),
        ("reel / camera", f"{clip['reel'] or ''} / {clip['camera'] or ''}"),
        ("scene / take", f"{clip['scene'] or ''} / {clip['take'] or ''}"),
        ("setup", detail["setup"]),
        ("checksum", f"xxh64 {clip['checksum']}"),
        (
            "transitions",
            f"in {detail['transition_in'] or '-'}, out {detail['transition_out'] or '-'}",
        ),
    ]
    for key, block in detail["analysis"].items():
        rows.append((key, _fmt(block)))
    rows += [("thumbnail", detail["thumbnail"]), ("status", clip["status"])]
    rows += [("issue", i) for i in clip["issues"]]
    for k, v in rows:
        t.add_row(k, _fmt(v))
    console.print(t)
