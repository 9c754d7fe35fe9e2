"""Locked shots: a lock (with a note) refuses new fixes and approvals until it is lifted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes.errors import LockedError, RushesError
from rushes.project import Lock, Project, Shot, query


def _note(note: str | None, what: str) -> str:
    text = (note or "").strip()
    if not text:
        raise RushesError(f'{what} needs a note saying why: add --note "..."')
    return text


def lock_row(lock: Lock, shot: str) -> dict[str, Any]:
    """Listing view of a lock."""
    return {"shot": shot, "by": lock.user, "at": lock.at, "note": lock.note}


def check_unlocked(session: Session, shot: Shot) -> None:
    """Refuse work on a locked shot.

    Raises:
        LockedError: names the shot, who locked it, when and why, and how to unlock.
    """
    lock = session.get(Lock, shot.id)
    if lock is not None:
        raise LockedError(
            f"{shot.name} is locked by {lock.user} since {lock.at:%Y-%m-%d %H:%M} "
            f'({lock.note}); unlock it first: rushes unlock {shot.name} --note "..."'
        )


def lock_shot(project: Project, ref: str, note: str | None) -> dict[str, Any]:
    """Lock shot ``ref`` with ``note`` (required).

    Raises:
        RushesError: empty note, or the shot is already locked (says by whom).
    """
    text = _note(note, "locking a shot")
    who = project.check_user("lock shots")
    with project.session() as s:
        shot = query.find_shot(s, ref)
        old = s.get(Lock, shot.id)
        if old is not None:
            raise LockedError(
                f"{shot.name} is already locked by {old.user} since {old.at:%Y-%m-%d %H:%M} "
                f"({old.note})"
            )
        lock = Lock(shot_id=shot.id, user=who, note=text)
        s.add(lock)
        s.flush()
        project.audit("lock", f"shot {shot.name}", {}, session=s, shot=shot.name, note=text)
        return lock_row(lock, shot.name)


def unlock_shot(project: Project, ref: str, note: str | None) -> dict[str, Any]:
    """Lift the lock of shot ``ref``; ``note`` (required) goes into the audit log.

    Raises:
        RushesError: empty note, or the shot is not locked.
    """
    text = _note(note, "unlocking a shot")
    project.check_user("unlock shots")
    with project.session() as s:
        shot = query.find_shot(s, ref)
        lock = s.get(Lock, shot.id)
        if lock is None:
            raise RushesError(f"{shot.name} is not locked")
        row = lock_row(lock, shot.name)
        s.delete(lock)
        project.audit(
            "unlock",
            f"shot {shot.name}",
            {"locked_by": lock.user, "lock_note": lock.note},
            session=s,
            shot=shot.name,
            note=text,
        )
        return row


def list_locks(project: Project) -> list[dict[str, Any]]:
    """Every lock, by shot name."""
    with project.session() as s:
        rows = s.execute(select(Lock, Shot.name).join(Shot, Shot.id == Lock.shot_id)).all()
        return sorted((lock_row(lk, name) for lk, name in rows), key=lambda r: r["shot"])
