"""``rushes lock`` / ``rushes unlock`` / ``rushes locks``: freeze a shot's fixes, with a note."""

from __future__ import annotations

from typing import Annotated

import typer

from rushes.cli.common import console, open_project, print_json
from rushes.guard.locks import list_locks, lock_shot, unlock_shot


def lock(
    shot: Annotated[str, typer.Argument(help="Shot to lock (name or id).")],
    note: Annotated[str | None, typer.Option("--note", help="Why (required).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Lock SHOT: no new fix and no approval until it is unlocked with a note."""
    row = lock_shot(open_project(), shot, note)
    if as_json:
        print_json(row)
        return
    console.print(f"{row['shot']} locked by {row['by']} ({row['note']})", highlight=False)


def unlock(
    shot: Annotated[str, typer.Argument(help="Shot to unlock (name or id).")],
    note: Annotated[str | None, typer.Option("--note", help="Why (required).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Unlock SHOT; the note goes into the audit log."""
    row = unlock_shot(open_project(), shot, note)
    if as_json:
        print_json(row)
        return
    console.print(f"{row['shot']} unlocked (it was locked by {row['by']})", highlight=False)


def locks(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List locked shots."""
    rows = list_locks(open_project())
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no shot is locked")
    for r in rows:
        console.print(
            f"{r['shot']}  locked by {r['by']} {r['at']:%Y-%m-%d %H:%M}  ({r['note']})",
            highlight=False,
        )
