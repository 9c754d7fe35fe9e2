"""Proposals: the catalog row plus its files under ``proposals/<id>/``.

:func:`propose` is the only way a fix becomes a proposal: lock check, plan, guard, store.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from rushes.atomic import atomic_path, write_bytes_atomic, write_text_atomic
from rushes.color import Lut3d, read_cube, write_cube
from rushes.errors import NotFoundError, RushesError
from rushes.guard.check import PerformersLike, Verdict, assess, check
from rushes.guard.decisions import decision_rows
from rushes.guard.locks import check_unlocked
from rushes.guard.performers import PERFORMERS_FILE
from rushes.guard.stale import record_inputs
from rushes.ops.base import Operation, Plan
from rushes.project import Lock, Project, Proposal, Shot, query
from rushes.project.catalog import PROPOSAL_STATES


def artifact_dir(project: Project, proposal_id: int) -> Path:
    """Folder holding a proposal's files."""
    return project.path("proposals", str(proposal_id))


def _write_artifacts(folder: Path, artifacts: dict[str, Any]) -> None:
    for name, obj in artifacts.items():
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


def fix_key(plan: Plan) -> str:
    """What makes two proposals versions of the same fix: the op on the shot (and, for a
    taught effect, the effect's name)."""
    name = plan.params.get("name") if plan.op == "taught" else None
    return f"{plan.op}:{name}" if name else plan.op


def propose(
    project: Project,
    op: Operation,
    shot_ref: str,
    params: BaseModel,
    *,
    allow_performer_region: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, Plan, Verdict]:
    """Make a fix a proposal: the one way in, through the lock check and the guard.

    The shot must not be locked; the operation plans (cheap, no pixel written); its files are
    staged; :func:`rushes.guard.check.check` decides with the shot's performers found per
    frame; only then the proposal row is written and its folder moved into place. A newer
    proposal of the same fix supersedes a pending one (both kept, linked).

    Args:
        project: The open project.
        op: The operation.
        shot_ref: Shot name or id.
        params: The operation's ``Params``.
        allow_performer_region: The note of a ``--allow-performer-region`` override (recorded
            in the audit log); ``None``: no override.
        progress: Called with frames done while the guard looks at the shot.

    Returns:
        ``(proposal id, plan, guard verdict)``.

    Raises:
        LockedError: the shot is locked.
        PerformerRegionError: the guard refused the plan.
        RushesError: the operation's own checks (bad matte, ...); an empty override note.
    """
    override = None
    if allow_performer_region is not None:
        note = allow_performer_region.strip()
        if not note:
            raise RushesError('--allow-performer-region needs a note saying why: add --note "..."')
        override = {"by": project.check_user("override the performer guard"), "note": note}
    with _staged(project, op, shot_ref, params, progress) as (plan, shot_name, staging, found):
        verdict = check(op, plan, shot_name, found, override=override, progress=progress)
        plan.result["guard"] = verdict.to_dict()
        pid = _store(project, plan, staging, shot_name)
    plan.folder = artifact_dir(project, pid)
    return pid, plan, verdict


def assess_fix(
    project: Project,
    op: Operation,
    shot_ref: str,
    params: BaseModel,
    progress: Callable[[int], None] | None = None,
) -> Verdict:
    """What the guard would decide for this fix, and why; nothing is stored
    (``rushes guard check``). The shot's lock is reported as a refusal too."""
    with project.session() as s:
        shot = query.find_shot(s, shot_ref)
        lock = s.get(Lock, shot.id)
        if lock is not None:
            return Verdict(
                op=op.name,
                shot=shot.name,
                allowed=False,
                rule="locked",
                reasons=[f"{shot.name} is locked by {lock.user} ({lock.note})"],
            )
    with _staged(project, op, shot_ref, params, progress) as (plan, shot_name, _, found):
        return assess(op, plan, shot_name, found, progress=progress)


@contextmanager
def _staged(
    project: Project,
    op: Operation,
    shot_ref: str,
    params: BaseModel,
    progress: Callable[[int], None] | None,
) -> Iterator[tuple[Plan, str, Path, PerformersLike | None]]:
    """Plan the fix, write its files to a staging folder (removed afterwards unless moved
    into place) and find the shot's performers when the op synthesizes pixels."""
    with project.session() as s:
        shot = query.find_shot(s, shot_ref)
        check_unlocked(s, shot)
        plan = op.plan(shot, params, project)
        shot_name = shot.name
        shot_id = shot.id
    staging = project.path("proposals", f".staging-{uuid.uuid4().hex}")
    try:
        staging.mkdir(parents=True)
        _write_artifacts(staging, plan.artifacts)
        plan.folder = staging
        found = None
        if op.synthesizes_pixels:
            found = find_performers(project, shot_id, progress)
            write_text_atomic(staging / PERFORMERS_FILE, json.dumps(found.to_dict()))
        yield plan, shot_name, staging, found
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def find_performers(
    project: Project, shot_id: int, progress: Callable[[int], None] | None = None
) -> PerformersLike:
    """The performers of a shot, per frame (tracked; cached under ``cache/``)."""
    from rushes.guard.tracking import shot_performers

    with project.session() as s:
        shot = s.get(Shot, shot_id)
        assert shot is not None
        return shot_performers(project, shot, progress=progress)


def _store(project: Project, plan: Plan, staging: Path, shot_name: str) -> int:
    """Write the proposal row and move its staged folder into place, in one transaction.

    The folder is renamed before the row commits: a killed command leaves at worst an orphan
    folder (removed when its id is next used), never a proposal whose files are missing.
    """
    key = fix_key(plan)
    with project.session() as s:
        shot = s.get(Shot, plan.shot_id)
        assert shot is not None
        check_unlocked(s, shot)  # locked while we were planning
        prop = Proposal(
            op=plan.op,
            version=plan.version,
            shot_id=plan.shot_id,
            params=plan.params,
            result=plan.result,
            status="pending",
            created_by=project.user,
            fix_key=key,
        )
        s.add(prop)
        s.flush()
        clips = [shot.clip.path, *(t["path"] for t in plan.result.get("takes") or [])]
        model = plan.result.get("model") or {}
        prop.inputs = record_inputs(s, clips, staging, model.get("weights"))
        older = s.scalars(
            select(Proposal)
            .where(
                Proposal.shot_id == plan.shot_id,
                Proposal.fix_key == key,
                Proposal.id != prop.id,
                Proposal.superseded_by.is_(None),
            )
            .order_by(Proposal.id.desc())
        ).all()
        for old in older:
            old.superseded_by = prop.id
            if old.status == "pending":
                old.status = "superseded"
        if older:
            prop.supersedes = older[0].id
        folder = artifact_dir(project, prop.id)
        if folder.exists():  # an orphan of a killed run: no row owns it
            shutil.rmtree(folder)
        os.replace(staging, folder)
        details = {"op": plan.op, "version": plan.version, "guard": plan.result["guard"]["rule"]}
        if prop.supersedes:
            details["supersedes"] = prop.supersedes
        project.audit("propose", f"proposal {prop.id}", details, session=s, shot=shot_name)
        guard = plan.result["guard"]
        if guard.get("override"):
            project.audit(
                "override",
                f"proposal {prop.id}",
                {"rule": "performer-region", "frames": sorted(guard["unphotographed"])},
                session=s,
                shot=shot_name,
                note=guard["override"]["note"],
            )
        return prop.id


def load_plan(project: Project, proposal_id: int) -> tuple[Plan, dict[str, Any]]:
    """The plan of a stored proposal, artifacts loaded, and a summary of the row."""
    with project.session() as s:
        prop = s.get(Proposal, proposal_id)
        if prop is None:
            raise NotFoundError(f"no proposal {proposal_id}; list them with 'rushes proposals'")
        plan = Plan(
            op=prop.op,
            version=prop.version,
            shot_id=prop.shot_id,
            params=dict(prop.params),
            result=dict(prop.result),
        )
        row = proposal_row(prop)
        row["decisions"] = decision_rows(s, proposal_id)
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
        "supersedes": p.supersedes,
        "superseded_by": p.superseded_by,
        "guard": (r.get("guard") or {}).get("rule"),
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


def list_proposals(
    project: Project, shot: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """Proposals, newest first; only those of ``shot`` and/or in ``status`` when given.

    Raises:
        NotFoundError: unknown shot.
        RushesError: unknown status.
    """
    if status is not None and status not in PROPOSAL_STATES:
        raise RushesError(f"status '{status}' unknown; use one of {', '.join(PROPOSAL_STATES)}")
    with project.session() as s:
        q = select(Proposal).order_by(Proposal.id.desc())
        if shot is not None:
            q = q.where(Proposal.shot_id == query.find_shot(s, shot).id)
        if status is not None:
            q = q.where(Proposal.status == status)
        return [proposal_row(p) for p in s.scalars(q)]


def parse_proposal_id(text: str) -> int:
    """Proposal ids are integers (``12``, ``#12``, ``p12``)."""
    t = text.strip().lstrip("#pP")
    if not t.isdigit():
        raise NotFoundError(
            f"'{text}' is not a proposal id; give the number 'rushes proposals' shows"
        )
    return int(t)
