"""``rushes log``: the audit trail (append-only): who did what, when, and why."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import or_, select

from rushes.cli.common import console, open_project, print_json
from rushes.project import AuditEvent, query


def log(
    shot: Annotated[str | None, typer.Option("--shot", help="Only events about this shot.")] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Only this action (approve, lock, ...).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Newest N events.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show the audit trail, newest last."""
    project = open_project()
    with project.session() as s:
        q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if shot is not None:
            name = query.find_shot(s, shot).name
            q = q.where(or_(AuditEvent.shot == name, AuditEvent.target == f"shot {name}"))
        if action is not None:
            q = q.where(AuditEvent.action == action)
        rows: list[dict[str, Any]] = [
            {
                "id": e.id,
                "at": e.at,
                "user": e.user,
                "action": e.action,
                "target": e.target,
                "shot": e.shot,
                "note": e.note,
                "details": e.details,
            }
            for e in s.scalars(q)
        ][::-1]
    if as_json:
        print_json(rows)
        return
    table = Table(box=None, pad_edge=False)
    for col in ("at", "user", "action", "target", "shot", "note"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            f"{r['at']:%Y-%m-%d %H:%M:%S}",
            r["user"],
            r["action"],
            r["target"],
            r["shot"] or "",
            r["note"] or "",
        )
    console.print(table)
