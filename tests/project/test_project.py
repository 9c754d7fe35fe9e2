"""Workspace and catalog: init/open/find, settings validation, WAL, audit, atomic writes."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from sqlalchemy import select, text

from rushes.atomic import write_text_atomic
from rushes.errors import ProjectError, ProjectNotFoundError
from rushes.project import AuditEvent, Project, parse_rate


def test_init_open_find(tmp_path: Path) -> None:
    p = Project.init(tmp_path / "film", fps="23.976")
    assert p.settings.rate == Fraction(24000, 1001)
    assert Project.open(tmp_path / "film").settings.name == "film"
    deep = tmp_path / "film" / "cache" / "a" / "b"
    deep.mkdir(parents=True)
    assert Project.find(deep).root == p.root
    with pytest.raises(ProjectNotFoundError, match="run 'rushes init'"):
        Project.open(tmp_path)
    with pytest.raises(ProjectError, match="already a rushes project"):
        Project.init(tmp_path / "film")


def test_catalog_is_wal_and_audited(tmp_path: Path) -> None:
    p = Project.init(tmp_path / "film")
    with p.session() as s:
        assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        events = s.scalars(select(AuditEvent)).all()
    assert [e.action for e in events] == ["init"]


def test_session_rolls_back_on_error(tmp_path: Path) -> None:
    p = Project.init(tmp_path / "film")
    with pytest.raises(RuntimeError), p.session() as s:
        s.add(AuditEvent(user="x", action="half", target="t", details={}))
        raise RuntimeError("killed mid-way")
    with p.session() as s:
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "half")) is None


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('name = "f"\nfps = "abc"\n', "fps"),
        ('name = "f"\n[analysis]\nlong_side = 5\n', "analysis.long_side"),
        ("name = [unclosed\n", "not valid TOML"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "rushes.toml").write_text(toml)
    with pytest.raises(ProjectError, match=message) as e:
        Project.open(tmp_path)
    assert "rushes.toml" in str(e.value)


@pytest.mark.parametrize(
    ("value", "rate"),
    [
        ("24", Fraction(24)),
        ("23.976", Fraction(24000, 1001)),
        ("29.97", Fraction(30000, 1001)),
        ("25", Fraction(25)),
        ("24000/1001", Fraction(24000, 1001)),
        (59.94, Fraction(60000, 1001)),
    ],
)
def test_parse_rate(value: str, rate: Fraction) -> None:
    assert parse_rate(value) == rate


def test_atomic_write_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b.txt"
    write_text_atomic(target, "one")
    write_text_atomic(target, "two")
    assert target.read_text() == "two"
    assert [q.name for q in target.parent.iterdir()] == ["b.txt"]


def test_atomic_files_get_normal_permissions(tmp_path: Path) -> None:
    import os

    from rushes.atomic import write_bytes_atomic

    target = tmp_path / "f.bin"
    write_bytes_atomic(target, b"x")
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
