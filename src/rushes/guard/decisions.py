"""Approve or reject a proposal: one decision per proposal, never lost, never taken twice.

A decision is a single conditional write (``pending`` -> ``approved``/``rejected``) made as the
first statement of its transaction, so SQLite serializes two people (or two processes) deciding
at once: the first wins, the second finds the proposal already decided and gets a
:class:`~rushes.errors.DecisionConflictError` naming who decided and when; nothing is changed
for them. Before approving, the proposal's inputs are checked again (:mod:`rushes.guard.stale`);
a locked shot refuses approvals. Every decision goes into ``decisions`` and the audit log, both
append-only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rushes.errors import DecisionConflictError, DecisionError, NotFoundError
from rushes.guard.locks import check_unlocked
from rushes.guard.stale import stale_reasons
from rushes.project import Decision, Project, Proposal

VERDICTS = ("approved", "rejected")


def _folder(project: Project, proposal_id: int) -> Path:
    return project.path("proposals", str(proposal_id))


def decision_rows(session: Session, proposal_id: int) -> list[dict[str, Any]]:
    """The decisions taken on a proposal, oldest first: ``verdict``, ``by``, ``at``, ``note``."""
    rows = session.scalars(
        select(Decision).where(Decision.proposal_id == proposal_id).order_by(Decision.id)
    )
    return [{"verdict": d.verdict, "by": d.user, "at": d.at, "note": d.note} for d in rows]


def check_stale(project: Project, proposal_id: int) -> list[str]:
    """Why proposal ``proposal_id`` is stale (empty list: its inputs are unchanged)."""
    with project.session() as s:
        prop = s.get(Proposal, proposal_id)
        if prop is None:
            raise NotFoundError(f"no proposal {proposal_id}; list them with 'rushes proposals'")
        return stale_reasons(s, prop.inputs, _folder(project, proposal_id))


def decide(
    project: Project, proposal_id: int, verdict: str, note: str | None = None
) -> dict[str, Any]:
    """Record ``verdict`` (``approved`` or ``rejected``) on a pending proposal.

    Args:
        project: The open project.
        proposal_id: The proposal.
        verdict: ``"approved"`` or ``"rejected"``.
        note: Why; required to reject.

    Returns:
        The decision: proposal, shot, verdict, by, at, note.

    Raises:
        NotFoundError: no such proposal.
        DecisionError: empty note on a rejection; the proposal is stale, rejected, superseded
            or already approved (by you).
        DecisionConflictError: someone else decided it first.
        LockedError: approving on a locked shot.
    """
    if verdict not in VERDICTS:
        raise DecisionError(f"verdict '{verdict}' unknown; use approved or rejected")
    text = (note or "").strip() or None
    if verdict == "rejected" and text is None:
        raise DecisionError('a rejection needs a note saying why: add --note "..."')
    who = project.check_user("decide on proposals")
    with project.session() as s:
        prop = s.get(Proposal, proposal_id)
        if prop is None:
            raise NotFoundError(f"no proposal {proposal_id}; list them with 'rushes proposals'")
        shot_name = prop.shot.name
        status = prop.status
    if status == "pending" and verdict == "approved":
        why = check_stale(project, proposal_id)
        if why:
            raise DecisionError(
                f"proposal {proposal_id} is stale and cannot be approved: {why[0]}"
                + (f" (and {len(why) - 1} more)" if len(why) > 1 else "")
                + f"; make the fix again for {shot_name}"
            )
    with project.session() as s:
        # the conditional write comes first: it takes SQLite's write lock, so a concurrent
        # decision waits for ours and then finds the proposal decided
        hit = s.execute(
            update(Proposal)
            .where(Proposal.id == proposal_id, Proposal.status == "pending")
            .values(status=verdict)
            .execution_options(synchronize_session=False)
        )
        if getattr(hit, "rowcount", 0) != 1:
            raise _not_pending(s, proposal_id, verdict, who)
        prop = s.get(Proposal, proposal_id)
        assert prop is not None
        if verdict == "approved":
            check_unlocked(s, prop.shot)
        d = Decision(proposal_id=proposal_id, verdict=verdict, user=who, note=text)
        s.add(d)
        s.flush()
        project.audit(
            {"approved": "approve", "rejected": "reject"}[verdict],
            f"proposal {proposal_id}",
            {"op": prop.op, "version": prop.version},
            session=s,
            shot=shot_name,
            note=text,
        )
        return {
            "proposal": proposal_id,
            "shot": shot_name,
            "verdict": verdict,
            "by": who,
            "at": d.at,
            "note": text,
        }


def _not_pending(s: Any, proposal_id: int, verdict: str, who: str) -> DecisionError:
    """The error for a decision on a proposal that is no longer pending."""
    s.expire_all()
    prop = s.get(Proposal, proposal_id)
    assert prop is not None
    if prop.status == "superseded":
        return DecisionError(
            f"proposal {proposal_id} was superseded by proposal {prop.superseded_by}; "
            f"decide on that one"
        )
    last = s.scalars(
        select(Decision).where(Decision.proposal_id == proposal_id).order_by(Decision.id.desc())
    ).first()
    by = f"{last.user} at {last.at:%Y-%m-%d %H:%M:%S}" if last else "someone"
    if last is not None and last.user == who and prop.status == verdict:
        return DecisionError(f"proposal {proposal_id} is already {prop.status} (by you, {by})")
    if prop.status == "rejected" and verdict == "approved":
        return DecisionConflictError(
            f"proposal {proposal_id} was rejected by {by}; your approval was not recorded "
            "(a rejected proposal cannot be approved: make the fix again)"
        )
    return DecisionConflictError(
        f"proposal {proposal_id} was already {prop.status} by {by}; your decision "
        f"({verdict}) was not recorded"
    )
