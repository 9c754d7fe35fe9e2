"""The short way in: open a project, ingest, propose a fix, export it."""

from __future__ import annotations

from pathlib import Path

import pytest

import rushes
from rushes.color import read_cdl
from rushes.errors import RushesError
from rushes.project import Project


def test_facade_round_trip(tmp_path: Path, prores10: Path) -> None:
    Project.init(tmp_path / "film")
    project = rushes.open_project(tmp_path / "film")
    report = rushes.ingest(project, [prores10], workers=1)
    assert report.added == [prores10.name]
    pid = rushes.fix(project, "match", "A001C003_230115_R1AB", to="A001C003_230115_R1AB")
    rushes.export(project, "cdl", pid, tmp_path / "g.cc")
    (cdl,) = read_cdl(tmp_path / "g.cc")
    assert cdl.is_identity(1e-3)
    with pytest.raises(RushesError, match="cdl or lut"):
        rushes.export(project, "aaf", pid, tmp_path / "x")
