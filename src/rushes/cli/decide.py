"""``rushes proposals``, ``rushes approve``, ``rushes reject``: the decisions stay with people."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from rushes.cli.common import console, open_project, print_json
from rushes.guard.decisions import check_stale, decide
from rushes.ops.proposals import list_proposals, parse_proposal_id


class Status(StrEnum):
    """Proposal states."""

    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    superseded = "superseded"


def proposals(
    shot: Annotated[str | None, typer.Option("--shot", help="Only this shot's proposals.")] = None,
    status: Annotated[Status | None, typer.Option("--status", help="Only in this state.")] = None,
    stale: Annotated[
        bool, typer.Option("--stale", help="Check each pending proposal's inputs (slower).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List proposals (newest first) with their state and the guard's rule."""
    project = open_project()
    rows: list[dict[str, Any]] = list_proposals(
        project, shot, status.value if status is not None else None
    )
    if stale:
        for r in rows:
            r["stale"] = check_stale(project, r["id"]) if r["status"] == "pending" else []
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no proposals" + (" matching" if shot or status else ""))
        return
    table = Table(box=None, pad_edge=False)
    for col in ("id", "op", "shot", "status", "guard", "summary", "by", "at"):
        table.add_column(col)
    for r in rows:
        state = r["status"]
        if r.get("superseded_by"):
            state += f" (by {r['superseded_by']})"
        if r.get("stale"):
            state += " STALE"
        table.add_row(
            str(r["id"]),
            r["op"],
            r["shot"],
            state,
            r.get("guard") or "",
            r.get("summary") or "",
            r["created_by"],
            f"{r['created_at']:%Y-%m-%d %H:%M}",
        )
    console.print(table)


def _print_decision(d: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(d)
        return
    note = f"  ({d['note']})" if d.get("note") else ""
    console.print(
        f"proposal [bold]{d['proposal']}[/] ({d['shot']}) {d['verdict']} by {d['by']}{note}",
        highlight=False,
    )


def approve(
    proposal: Annotated[str, typer.Argument(help="Proposal id (see 'rushes proposals').")],
    note: Annotated[str | None, typer.Option("--note", help="Why (goes into the audit).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Approve a pending proposal (refused when stale, decided, superseded or locked)."""
    project = open_project()
    _print_decision(decide(project, parse_proposal_id(proposal), "approved", note), as_json)


def reject(
    proposal: Annotated[str, typer.Argument(help="Proposal id (see 'rushes proposals').")],
    note: Annotated[str | None, typer.Option("--note", help="Why (required).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Reject a pending proposal, with a note saying why."""
    project = open_project()
    _print_decision(decide(project, parse_proposal_id(proposal), "rejected", note), as_json)
