"""Proposals, decisions, locks and the audit log: states, stale inputs, supersession, conflicts
between two processes deciding at once, and the append-only log."""

from __future__ import annotations

import multiprocessing as mp
import os
import sqlite3
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel
from sqlalchemy import select, text

from rushes.errors import (
    DecisionConflictError,
    DecisionError,
    LockedError,
    NotFoundError,
    ProjectError,
    RushesError,
)
from rushes.guard.decisions import check_stale, decide
from rushes.guard.locks import lock_shot, unlock_shot
from rushes.ingest import ingest
from rushes.media import write_prores
from rushes.ops.base import Chunks, Operation, Plan
from rushes.ops.proposals import list_proposals, load_plan, propose
from rushes.project import AuditEvent, Decision, Project, Proposal, Shot
from tests.conftest import textured

CLIPS = ("A001C001_261121_R1AB", "A001C002_261121_R1AB")


class NoteParams(BaseModel):
    """Parameters of the test operation."""

    gain: float = 1.0


class Gain(Operation):
    """A global, non-synthesizing test operation: a gain."""

    name: ClassVar[str] = "gain"
    version: ClassVar[str] = "gain.1"
    Params: ClassVar[type[BaseModel]] = NoteParams

    def plan(self, shot: Shot, params: BaseModel, project: Project) -> Plan:
        assert isinstance(params, NoteParams)
        return Plan(
            self.name,
            self.version,
            shot.id,
            params.model_dump(),
            {"gain": params.gain},
            artifacts={"note.txt": b"gain"},
        )

    def run(self, plan: Plan, chunks: Chunks, colorspace: str) -> Chunks:
        for first, block in chunks:
            yield first, block * float(plan.params["gain"])


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("decide")
    dailies = root / "dailies"
    dailies.mkdir()
    for k, name in enumerate(CLIPS):
        frames = [textured(72, 128, 3 + k, t) for t in range(6)]
        write_prores(frames, dailies / f"{name}.mov", fps=Fraction(24))
    p = Project.init(root / "film", fps="24")
    ingest(p, [dailies])
    return p


def _shot(project: Project, k: int = 0) -> str:
    with project.session() as s:
        shots = s.scalars(select(Shot).order_by(Shot.id)).all()
        return shots[k].name


def test_propose_then_approve_once(project: Project) -> None:
    pid, _, verdict = propose(project, Gain(), _shot(project), NoteParams(gain=1.1))
    assert verdict.allowed and verdict.rule == "global"
    rows = list_proposals(project, status="pending")
    assert pid in [r["id"] for r in rows]
    d = decide(project, pid, "approved", "looks right")
    assert d["verdict"] == "approved" and d["note"] == "looks right"
    with pytest.raises(DecisionError, match="already approved"):
        decide(project, pid, "approved")
    with pytest.raises(DecisionConflictError, match="already approved"):
        decide(project, pid, "rejected", "changed my mind")
    _, row = load_plan(project, pid)
    assert [x["verdict"] for x in row["decisions"]] == ["approved"]
    with project.session() as s:
        acts = [
            e.action
            for e in s.scalars(select(AuditEvent).where(AuditEvent.target == f"proposal {pid}"))
        ]
    assert acts == ["propose", "approve"]


def test_reject_needs_note_and_rejected_cannot_be_approved(project: Project) -> None:
    pid, _, _ = propose(project, Gain(), _shot(project), NoteParams(gain=0.9))
    with pytest.raises(DecisionError, match="needs a note"):
        decide(project, pid, "rejected", "  ")
    decide(project, pid, "rejected", "too dark")
    with pytest.raises(DecisionConflictError, match="rejected"):
        decide(project, pid, "approved")
    with pytest.raises(NotFoundError, match="no proposal 9999"):
        decide(project, 9999, "approved")


def test_new_version_supersedes_pending(project: Project) -> None:
    shot = _shot(project, 1)
    first, _, _ = propose(project, Gain(), shot, NoteParams(gain=1.2))
    second, _, _ = propose(project, Gain(), shot, NoteParams(gain=1.3))
    with project.session() as s:
        a, b = s.get(Proposal, first), s.get(Proposal, second)
        assert a is not None and b is not None
        assert (a.status, a.superseded_by) == ("superseded", second)
        assert b.supersedes == first and b.status == "pending"
    with pytest.raises(DecisionError, match=f"superseded by proposal {second}"):
        decide(project, first, "approved")
    assert (project.path("proposals", str(first)) / "note.txt").is_file()  # kept


def test_stale_when_a_source_or_proposal_file_changes(project: Project, tmp_path: Path) -> None:
    shot = _shot(project, 1)
    pid, _, _ = propose(project, Gain(), shot, NoteParams(gain=1.4))
    assert check_stale(project, pid) == []
    note = project.path("proposals", str(pid), "note.txt")
    note.write_bytes(b"gaim")
    why = check_stale(project, pid)
    assert why and "note.txt" in why[0]
    with pytest.raises(DecisionError, match="stale"):
        decide(project, pid, "approved")
    note.write_bytes(b"gain")
    # the source clip changes on disk (one byte, same size, new mtime)
    with project.session() as s:
        clip_path = Path(s.scalars(select(Shot).where(Shot.name == shot)).one().clip.path)
    saved = clip_path.read_bytes()
    try:
        data = bytearray(saved)
        data[len(data) // 2] ^= 0xFF
        clip_path.write_bytes(bytes(data))
        why = check_stale(project, pid)
        assert why and "content changed" in why[0]
    finally:
        clip_path.write_bytes(saved)
    assert check_stale(project, pid) == []
    decide(project, pid, "approved")


def test_lock_refuses_fixes_and_approvals(project: Project) -> None:
    shot = _shot(project)
    pid, _, _ = propose(project, Gain(), shot, NoteParams(gain=1.05))
    with pytest.raises(RushesError, match="needs a note"):
        lock_shot(project, shot, "")
    lock_shot(project, shot, "picture locked")
    with pytest.raises(LockedError, match="already locked"):
        lock_shot(project, shot, "again")
    with pytest.raises(LockedError, match="picture locked"):
        propose(project, Gain(), shot, NoteParams(gain=1.01))
    with pytest.raises(LockedError, match="locked"):
        decide(project, pid, "approved")
    with project.session() as s:  # the refused approval changed nothing
        prop = s.get(Proposal, pid)
        assert prop is not None and prop.status == "pending"
    with pytest.raises(RushesError, match="needs a note"):
        unlock_shot(project, shot, None)
    unlock_shot(project, shot, "reopened for VFX")
    decide(project, pid, "approved")
    with project.session() as s:
        ev = s.scalars(
            select(AuditEvent).where(AuditEvent.shot == shot, AuditEvent.action == "unlock")
        ).one()
        assert ev.note == "reopened for VFX" and ev.details["lock_note"] == "picture locked"


def test_audit_is_append_only(project: Project) -> None:
    con = sqlite3.connect(project.path("catalog.sqlite"))
    try:
        for sql in (
            "UPDATE audit SET user = 'mallory'",
            "DELETE FROM audit",
            "DELETE FROM decisions",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                con.execute(sql)
    finally:
        con.close()


def test_users_listed_in_settings_are_enforced(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid, _, _ = propose(project, Gain(), _shot(project, 1), NoteParams(gain=2.0))
    monkeypatch.setattr(project.settings, "users", ["alice", "bob"])
    monkeypatch.setenv("RUSHES_USER", "mallory")
    with pytest.raises(ProjectError, match="mallory"):
        decide(project, pid, "approved")
    monkeypatch.setenv("RUSHES_USER", "bob")
    assert decide(project, pid, "approved")["by"] == "bob"


def _decide_in_process(
    root: str, pid: int, verdict: str, user: str, barrier: Any, out: Any
) -> None:
    os.environ["RUSHES_USER"] = user
    project = Project.open(Path(root))
    barrier.wait()
    try:
        decide(project, pid, verdict, f"{user} says {verdict}")
        out.put((user, "ok"))
    except DecisionConflictError as e:
        out.put((user, f"conflict: {e}"))
    except Exception as e:  # anything else is a failure of the test
        out.put((user, f"error: {type(e).__name__}: {e}"))


def test_two_processes_deciding_at_once(project: Project) -> None:
    ctx = mp.get_context("spawn")
    for round_ in range(2):
        pid, _, _ = propose(project, Gain(), _shot(project, 1), NoteParams(gain=3.0 + round_))
        barrier, out = ctx.Barrier(2), ctx.Queue()
        procs = [
            ctx.Process(
                target=_decide_in_process,
                args=(str(project.root), pid, verdict, user, barrier, out),
            )
            for user, verdict in (("alice", "approved"), ("bob", "rejected"))
        ]
        for p in procs:
            p.start()
        got = dict(out.get(timeout=120) for _ in procs)
        for p in procs:
            p.join(60)
        oks = [u for u, r in got.items() if r == "ok"]
        conflicts = [r for r in got.values() if r.startswith("conflict")]
        assert len(oks) == 1 and len(conflicts) == 1, got
        assert "not recorded" in conflicts[0]
        with project.session() as s:
            ds = s.scalars(select(Decision).where(Decision.proposal_id == pid)).all()
            assert [d.user for d in ds] == oks
            prop = s.get(Proposal, pid)
            assert prop is not None
            assert prop.status == ("approved" if oks == ["alice"] else "rejected")


def test_old_catalog_is_migrated(tmp_path: Path) -> None:
    db = tmp_path / "old" / "catalog.sqlite"
    db.parent.mkdir()
    con = sqlite3.connect(db)
    con.executescript(
        """
        CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
        INSERT INTO meta VALUES ('schema', '1');
        CREATE TABLE audit (id INTEGER PRIMARY KEY, at DATETIME, user VARCHAR, action VARCHAR,
                            target VARCHAR, details JSON);
        CREATE TABLE proposals (id INTEGER PRIMARY KEY, op VARCHAR, version VARCHAR,
            shot_id INTEGER, params JSON, result JSON, status VARCHAR, created_by VARCHAR,
            created_at DATETIME);
        INSERT INTO proposals (op, version, shot_id, params, result, status, created_by)
            VALUES ('match', 'match.1', 1, '{}', '{}', 'proposed', 'x');
        """
    )
    con.commit()
    con.close()
    from rushes.project.catalog import make_engine

    engine = make_engine(db)
    with engine.begin() as c:
        assert c.execute(text("SELECT status, fix_key FROM proposals")).one() == ("pending", None)
        assert c.execute(text("SELECT value FROM meta WHERE key='schema'")).scalar() == "2"
        cols = {r[1] for r in c.execute(text("PRAGMA table_info(audit)"))}
        assert {"shot", "note"} <= cols
    engine.dispose()
