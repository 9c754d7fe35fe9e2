"""Proposals on disk: the catalog row plus its artifacts under ``proposals/<id>/``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select

from rushes.atomic import atomic_path, write_bytes_atomic
from rushes.color import Lut3d, read_cube, write_cube
from rushes.errors import NotFoundError
from rushes.ops.base import Plan
from rushes.project import Project, Proposal


def artifact_dir(project: Project, proposal_id: int) -> Path:
    """Folder holding a proposal's files."""
    return project.path("proposals", str(proposal_id))


def save_plan(project: Project, plan: Plan) -> int:
    """Store a plan as a proposal (row and artifacts together); returns its id.

    The artifacts are written (atomically) before the row is committed: a killed command
    leaves at worst an orphan folder, never a proposal whose files are missing.
    """
    with project.session() as s:
        prop = Proposal(
            op=plan.op,
            version=plan.version,
            shot_id=plan.shot_id,
            params=plan.params,
            result=plan.result,
            status="proposed",
            created_by=project.user,
        )
        s.add(prop)
        s.flush()
        folder = artifact_dir(project, prop.id)
        for name, obj in plan.artifacts.items():
            if isinstance(obj, Lut3d):
                write_cube(folder / name, obj)
            elif isinstance(obj, bytes):
                write_bytes_atomic(folder / name, obj)
            elif isinstance(obj, Path):  # a file copied in (a user's matte), streamed
                target = folder / name
                with atomic_path(target) as tmp, obj.open("rb") as src, tmp.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
            else:
                raise TypeError(f"artifact {name}: cannot store a {type(obj).__name__}")
        project.audit(
            "propose", f"proposal {prop.id}", {"op": plan.op, "shot": plan.shot_id}, session=s
        )
        return prop.id


def load_plan(project: Project, proposal_id: int) -> tuple[Plan, dict[str, Any]]:
    """The plan of a stored proposal, artifacts loaded, and a summary of the row."""
    with project.session() as s:
        prop = s.get(Proposal, proposal_id)
        if prop is None:
            raise NotFoundError(f"no proposal {proposal_id}; list them with 'rushes ls proposals'")
        plan = Plan(
            op=prop.op,
            version=prop.version,
            shot_id=prop.shot_id,
            params=dict(prop.params),
            result=dict(prop.result),
        )
        row = proposal_row(prop)
    folder = artifact_dir(project, proposal_id)
    plan.folder = folder
    lut_name = plan.result.get("lut")
    if lut_name:
        plan.artifacts[lut_name] = read_cube(folder / lut_name)
    return plan, row


def proposal_row(p: Proposal) -> dict[str, Any]:
    """Listing view of a proposal."""
    r = p.result or {}
    return {
        "id": p.id,
        "op": p.op,
        "version": p.version,
        "shot": p.shot.name,
        "to": (p.params or {}).get("to"),
        "status": p.status,
        "created_by": p.created_by,
        "created_at": p.created_at,
        "confidence": r.get("confidence"),
        "exposure_stops": r.get("exposure_stops"),
        "method": r.get("method"),
        "summary": _summary(p.op, p.params or {}, r),
    }


def _summary(op: str, params: dict[str, Any], r: dict[str, Any]) -> str:
    """One line saying what a proposal does, for listings."""
    if op == "match":
        return f"to {params.get('to')}, {float(r.get('exposure_stops') or 0):+.2f} stops"
    if op == "remove":
        matte = ", ".join(sorted(r.get("matte") or {}))
        takes = len(r.get("takes") or [])
        cover = 100 * float(r.get("coverage") or 0)
        return f"{matte} matte, {cover:.2f}% of frame, {takes} other take(s)"
    if "sigma_mean" in r:
        return f"grain sigma {float(r['sigma_mean']):.4f}"
    return ""


def list_proposals(project: Project) -> list[dict[str, Any]]:
    """Every proposal, newest first."""
    with project.session() as s:
        return [proposal_row(p) for p in s.scalars(select(Proposal).order_by(Proposal.id.desc()))]


def parse_proposal_id(text: str) -> int:
    """Proposal ids are integers (``12``, ``#12``, ``p12``)."""
    t = text.strip().lstrip("#pP")
    if not t.isdigit():
        raise NotFoundError(
            f"'{text}' is not a proposal id; give the number 'rushes ls proposals' shows"
        )
    return int(t)
