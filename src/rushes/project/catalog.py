"""The catalog: clips, shots, setups and the audit log (SQLAlchemy 2, SQLite in WAL mode).

Originals are referenced by path and checksum, never copied. One transaction per clip: a clip
and its shots are committed together or not at all.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SCHEMA_VERSION = 2
"""1: first release. 2: proposal states pending|approved|rejected|superseded, inputs, versions
(supersedes), decisions, locks; audit rows carry shot and note and are append-only."""

PROPOSAL_STATES = ("pending", "approved", "rejected", "superseded")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of the catalog."""


class Clip(Base):
    """One original: a movie file or an image sequence, referenced in place."""

    __tablename__ = "clips"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String, index=True)
    path: Mapped[str] = mapped_column(String, unique=True)
    kind: Mapped[str] = mapped_column(String)  # movie | sequence | still
    checksum: Mapped[str] = mapped_column(String(16), index=True)  # xxHash64
    size: Mapped[int] = mapped_column(Integer)
    mtime_ns: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    frames: Mapped[int] = mapped_column(Integer)
    fps: Mapped[str | None] = mapped_column(String, nullable=True)  # exact fraction "24000/1001"
    codec: Mapped[str] = mapped_column(String)
    pix_fmt: Mapped[str] = mapped_column(String)
    bit_depth: Mapped[int] = mapped_column(Integer)
    first_frame: Mapped[int] = mapped_column(Integer, default=0)
    timecode: Mapped[str | None] = mapped_column(String, nullable=True)
    reel: Mapped[str | None] = mapped_column(String, nullable=True)
    camera: Mapped[str | None] = mapped_column(String, nullable=True)
    roll: Mapped[str | None] = mapped_column(String, nullable=True)
    scene: Mapped[str | None] = mapped_column(String, nullable=True, index=True)
    take: Mapped[str | None] = mapped_column(String, nullable=True)
    colorspace: Mapped[str | None] = mapped_column(String, nullable=True)
    status: Mapped[str] = mapped_column(String, default="ok")  # ok | warning | changed | missing
    issues: Mapped[list[str]] = mapped_column(JSON, default=list)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    analysis: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ingested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    shots: Mapped[list[Shot]] = relationship(
        back_populates="clip", cascade="all, delete-orphan", order_by="Shot.index"
    )


class Setup(Base):
    """A camera setup: the shots of one angle/lens/framing, across takes."""

    __tablename__ = "setups"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    scene: Mapped[str | None] = mapped_column(String, nullable=True)
    camera: Mapped[str | None] = mapped_column(String, nullable=True)
    shots: Mapped[list[Shot]] = relationship(back_populates="setup")


class Shot(Base):
    """A continuous run of frames of one clip between two boundaries (``end`` exclusive)."""

    __tablename__ = "shots"
    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String, unique=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    transition_in: Mapped[str | None] = mapped_column(String, nullable=True)
    transition_out: Mapped[str | None] = mapped_column(String, nullable=True)
    setup_id: Mapped[int | None] = mapped_column(ForeignKey("setups.id"), nullable=True)
    thumbnail: Mapped[str | None] = mapped_column(String, nullable=True)  # relative to project
    signature: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    analysis: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    clip: Mapped[Clip] = relationship(back_populates="shots")
    setup: Mapped[Setup | None] = relationship(back_populates="shots")

    @property
    def frames(self) -> int:
        """Number of frames in the shot."""
        return self.end - self.start


class Proposal(Base):
    """A fix proposed for a shot: the operation, its versioned parameters and what it found.

    A person approves or rejects it; nothing is applied to media until they render it. States:
    ``pending`` -> ``approved`` | ``rejected``; a newer version of the same fix (same shot and
    ``fix_key``) makes a pending one ``superseded`` and is linked both ways; nothing is deleted.
    ``inputs`` holds the checksums the proposal was made from (source clips, its own files,
    model weights): a proposal whose inputs changed is stale and cannot be approved.
    """

    __tablename__ = "proposals"
    id: Mapped[int] = mapped_column(primary_key=True)
    op: Mapped[str] = mapped_column(String, index=True)  # "match"
    version: Mapped[str] = mapped_column(String)  # params schema, "match.1"
    shot_id: Mapped[int] = mapped_column(ForeignKey("shots.id", ondelete="CASCADE"), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String, default="pending", index=True)
    created_by: Mapped[str] = mapped_column(String)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    fix_key: Mapped[str | None] = mapped_column(String, nullable=True, index=True)
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    supersedes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    superseded_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    shot: Mapped[Shot] = relationship()


class Decision(Base):
    """One person's verdict on a proposal (append-only; the proposal row holds the outcome)."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    verdict: Mapped[str] = mapped_column(String)  # approved | rejected
    user: Mapped[str] = mapped_column(String)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    note: Mapped[str | None] = mapped_column(String, nullable=True)


class Lock(Base):
    """A locked shot: no new fix and no approval until someone unlocks it with a note."""

    __tablename__ = "locks"
    shot_id: Mapped[int] = mapped_column(
        ForeignKey("shots.id", ondelete="CASCADE"), primary_key=True
    )
    user: Mapped[str] = mapped_column(String)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    note: Mapped[str] = mapped_column(String)


class Cut(Base):
    """An editor's cut imported from an EDL, FCP7 XML, FCPXML, OTIO or AAF timeline.

    Importing the same file again (same name, same checksum) matches its events again in place;
    a changed file under the same name becomes the next ``version`` (older ones are kept).
    ``rate`` is the cut's exact frame rate (``"24"``, ``"30000/1001"``); ``start`` the record
    frame of its first event counted from ``00:00:00:00``; ``otio`` the timeline as read, as
    OpenTimelineIO JSON.
    """

    __tablename__ = "cuts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    path: Mapped[str] = mapped_column(String)
    format: Mapped[str] = mapped_column(String)  # edl | fcp7xml | fcpxml | otio | aaf
    rate: Mapped[str] = mapped_column(String)
    drop_frame: Mapped[bool] = mapped_column(Boolean, default=False)
    start: Mapped[int] = mapped_column(Integer, default=0)
    checksum: Mapped[str] = mapped_column(String(16), index=True)  # xxHash64 of the file
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    imported_by: Mapped[str] = mapped_column(String)
    otio: Mapped[str] = mapped_column(Text)
    events: Mapped[list[CutEvent]] = relationship(
        back_populates="cut", cascade="all, delete-orphan", order_by="CutEvent.index"
    )


class CutEvent(Base):
    """One picture event of a cut and what it was matched to.

    ``source_in``/``source_out`` (exclusive) are the event's source timecode as frames from
    ``00:00:00:00`` at ``rate`` (drop-frame aware: real frame counts); ``record_in``/``record_out``
    the same on the cut's record side. A matched event names its clip, the clip frames it uses
    (``clip_in``/``clip_out``, exclusive), the shot it covers most (``shot_id``) and every shot it
    covers (``shots``, names); an unmatched one says why in ``reason``.
    """

    __tablename__ = "cut_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    cut_id: Mapped[int] = mapped_column(ForeignKey("cuts.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    track: Mapped[str] = mapped_column(String, default="V1")
    name: Mapped[str] = mapped_column(String)
    reel: Mapped[str | None] = mapped_column(String, nullable=True)
    source: Mapped[str | None] = mapped_column(String, nullable=True)  # media path/URL in the cut
    rate: Mapped[str] = mapped_column(String)
    drop_frame: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    source_in: Mapped[int] = mapped_column(Integer)
    source_out: Mapped[int] = mapped_column(Integer)
    record_in: Mapped[int] = mapped_column(Integer)
    record_out: Mapped[int] = mapped_column(Integer)
    matched: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    reason: Mapped[str | None] = mapped_column(String, nullable=True)
    clip_id: Mapped[int | None] = mapped_column(
        ForeignKey("clips.id", ondelete="SET NULL"), nullable=True, index=True
    )
    shot_id: Mapped[int | None] = mapped_column(
        ForeignKey("shots.id", ondelete="SET NULL"), nullable=True, index=True
    )
    clip_in: Mapped[int | None] = mapped_column(Integer, nullable=True)
    clip_out: Mapped[int | None] = mapped_column(Integer, nullable=True)
    shots: Mapped[list[str]] = mapped_column(JSON, default=list)
    cut: Mapped[Cut] = relationship(back_populates="events")
    clip: Mapped[Clip | None] = relationship()
    shot: Mapped[Shot | None] = relationship()


class AuditEvent(Base):
    """Who did what, when and why: every change to the catalog leaves one row. Append-only:
    the database itself refuses to update or delete a row (triggers made by
    :func:`make_engine`)."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    user: Mapped[str] = mapped_column(String)
    action: Mapped[str] = mapped_column(String, index=True)
    target: Mapped[str] = mapped_column(String)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    shot: Mapped[str | None] = mapped_column(String, nullable=True, index=True)
    note: Mapped[str | None] = mapped_column(String, nullable=True)


class Meta(Base):
    """Key/value facts about the catalog itself (schema version)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[str] = mapped_column(String)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


_APPEND_ONLY = ("audit", "decisions")


def _migrate(conn: Any) -> None:
    """Bring an older catalog up to :data:`SCHEMA_VERSION`: add the columns later versions
    introduced (all nullable), rename old states, and make the audit tables append-only."""
    for table in Base.metadata.sorted_tables:
        have = {row[1] for row in conn.execute(text(f"PRAGMA table_info({table.name})"))}
        for col in table.columns:
            if col.name not in have:
                kind = col.type.compile(dialect=conn.dialect)
                conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {col.name} {kind}"))
    conn.execute(text("UPDATE proposals SET status = 'pending' WHERE status = 'proposed'"))
    for name in _APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            conn.execute(
                text(
                    f"CREATE TRIGGER IF NOT EXISTS {name}_no_{verb.lower()} BEFORE {verb} ON "
                    f"{name} BEGIN SELECT RAISE(ABORT, '{name} is append-only'); END"
                )
            )
    conn.execute(
        text("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema', :v)"),
        {"v": str(SCHEMA_VERSION)},
    )


def make_engine(path: Path) -> Engine:
    """Engine for the SQLite catalog at ``path`` (WAL, foreign keys), creating the schema or
    migrating an older one."""
    engine = create_engine(f"sqlite:///{path}", future=True)
    event.listen(engine, "connect", _sqlite_pragmas)
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        found = conn.execute(text("SELECT value FROM meta WHERE key = 'schema'")).scalar()
        if found is None or int(found) < SCHEMA_VERSION:
            _migrate(conn)
    return engine


__all__ = [
    "PROPOSAL_STATES",
    "AuditEvent",
    "Base",
    "Clip",
    "Cut",
    "CutEvent",
    "Decision",
    "Lock",
    "Meta",
    "Proposal",
    "Setup",
    "Shot",
    "make_engine",
]
