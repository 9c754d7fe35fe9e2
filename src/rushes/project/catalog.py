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
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SCHEMA_VERSION = 1


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

    A person approves or rejects it; nothing is applied to media until they render it.
    """

    __tablename__ = "proposals"
    id: Mapped[int] = mapped_column(primary_key=True)
    op: Mapped[str] = mapped_column(String, index=True)  # "match"
    version: Mapped[str] = mapped_column(String)  # params schema, "match.1"
    shot_id: Mapped[int] = mapped_column(ForeignKey("shots.id", ondelete="CASCADE"), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String, default="proposed")  # proposed|approved|rejected
    created_by: Mapped[str] = mapped_column(String)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    shot: Mapped[Shot] = relationship()


class AuditEvent(Base):
    """Who did what, when: every change to the catalog leaves one row."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    user: Mapped[str] = mapped_column(String)
    action: Mapped[str] = mapped_column(String, index=True)
    target: Mapped[str] = mapped_column(String)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


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


def make_engine(path: Path) -> Engine:
    """Engine for the SQLite catalog at ``path`` (WAL, foreign keys), creating the schema."""
    engine = create_engine(f"sqlite:///{path}", future=True)
    event.listen(engine, "connect", _sqlite_pragmas)
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', :v)"),
            {"v": str(SCHEMA_VERSION)},
        )
    return engine


__all__ = ["AuditEvent", "Base", "Clip", "Meta", "Proposal", "Setup", "Shot", "make_engine"]
