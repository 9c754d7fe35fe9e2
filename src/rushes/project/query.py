"""Look-ups and plain-dict views of catalog rows (what ``ls`` and ``show`` print)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from rushes.errors import NotFoundError
from rushes.project.catalog import Clip, Setup, Shot


def find_shot(session: Session, ref: str) -> Shot:
    """A shot by name (``A001C003_230115_R1AB``, ``clip#2``), numeric id, or its clip's name
    when that clip has one shot.

    Raises:
        NotFoundError: nothing matches, or a clip name matches several shots.
    """
    shot = session.scalar(select(Shot).where(Shot.name == ref))
    if shot is None and ref.isdigit():
        shot = session.get(Shot, int(ref))
    if shot is None:
        shots = session.scalars(
            select(Shot)
            .join(Clip)
            .where(or_(Clip.name == ref, func.lower(Shot.name) == ref.lower()))
        ).all()
        if len(shots) == 1:
            shot = shots[0]
        elif len(shots) > 1:
            names = ", ".join(s.name for s in shots[:5])
            raise NotFoundError(f"'{ref}' is a clip with {len(shots)} shots; name one: {names}")
    if shot is None:
        raise NotFoundError(f"no shot named '{ref}'; list them with 'rushes ls shots'")
    return shot


def clip_row(c: Clip) -> dict[str, Any]:
    """Listing view of a clip."""
    return {
        "id": c.id,
        "name": c.name,
        "kind": c.kind,
        "width": c.width,
        "height": c.height,
        "frames": c.frames,
        "fps": c.fps,
        "codec": c.codec,
        "bit_depth": c.bit_depth,
        "timecode": c.timecode,
        "reel": c.reel,
        "camera": c.camera,
        "scene": c.scene,
        "take": c.take,
        "colorspace": c.colorspace,
        "shots": len(c.shots),
        "status": c.status,
        "checksum": c.checksum,
        "path": c.path,
    }


def shot_row(s: Shot) -> dict[str, Any]:
    """Listing view of a shot."""
    a = s.analysis or {}
    people = a.get("people", {})
    return {
        "id": s.id,
        "name": s.name,
        "clip": s.clip.name,
        "start": s.start,
        "end": s.end,
        "frames": s.frames,
        "scene": s.clip.scene,
        "take": s.clip.take,
        "camera": s.clip.camera,
        "setup": s.setup.name if s.setup else None,
        "motion": a.get("motion", {}).get("label"),
        "exposure": a.get("color", {}).get("exposure"),
        "faces": bool(people.get("faces_present")),
        "people": bool(people.get("people_present")),
    }


def setup_row(st: Setup) -> dict[str, Any]:
    """Listing view of a setup."""
    return {
        "id": st.id,
        "name": st.name,
        "scene": st.scene,
        "camera": st.camera,
        "shots": [s.name for s in st.shots],
    }


def shot_detail(s: Shot, root: str) -> dict[str, Any]:
    """Everything about one shot: clip metadata, analyses, thumbnail path."""
    return {
        **shot_row(s),
        "transition_in": s.transition_in,
        "transition_out": s.transition_out,
        "thumbnail": f"{root}/{s.thumbnail}" if s.thumbnail else None,
        "clip": clip_row(s.clip) | {"issues": s.clip.issues, "metadata": s.clip.meta},
        "analysis": s.analysis,
    }


def list_clips(session: Session) -> list[Clip]:
    """Clips ordered by scene, then name."""
    return list(session.scalars(select(Clip).order_by(Clip.scene, Clip.name)).all())


def list_shots(session: Session, scene: str | None = None) -> list[Shot]:
    """Shots ordered by scene, clip name and index; only ``scene`` when given."""
    q = select(Shot).join(Clip).order_by(Clip.scene, Clip.name, Shot.index)
    if scene is not None:
        q = q.where(Clip.scene == scene)
    return list(session.scalars(q).all())


def list_setups(session: Session) -> list[Setup]:
    """Setups ordered by name."""
    return list(session.scalars(select(Setup).order_by(Setup.name)).all())
