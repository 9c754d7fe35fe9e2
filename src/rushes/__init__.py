"""rushes: learn a production from its own dailies and help fix its footage.

The facade below is the short way in; each function imports its layer on first use.

Example:
    >>> import rushes  # doctest: +SKIP
    >>> project = rushes.open_project("my_film")  # doctest: +SKIP
    >>> rushes.ingest(project, ["/mnt/card/A001"], ale="dailies.ale")  # doctest: +SKIP
    >>> pid = rushes.fix(project, "match", "A001C002_230115_R1AB", to="A001C001_230115_R1AB")
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rushes.ingest import IngestReport
    from rushes.project import Project

# The subpackage rushes.ingest shares its name with the facade function below: load it first,
# so that importing it later (already in sys.modules) does not replace the function.
import rushes.ingest as _ingest_package  # noqa: F401

__version__ = "0.1.0"


def open_project(path: str | Path | None = None) -> Project:
    """The project at ``path``, or found above the current folder."""
    from rushes.project import Project

    return Project.open(Path(path)) if path is not None else Project.find()


def ingest(project: Project, paths: list[str | Path], **options: Any) -> IngestReport:
    """Ingest camera media; see :func:`rushes.ingest.ingest`."""
    from rushes.ingest import ingest as run

    return run(project, [Path(p) for p in paths], **options)


def fix(project: Project, op: str, shot: str, **params: Any) -> int:
    """Propose a fix for ``shot`` with operation ``op``; returns the proposal id."""
    from rushes.ops import get_operation
    from rushes.ops.proposals import propose

    operation = get_operation(op)
    return propose(project, operation, shot, operation.Params(**params))[0]


def export(project: Project, kind: str, proposal: int, path: str | Path) -> dict[str, Any]:
    """Export a proposal as ``cdl`` or ``lut``; see :mod:`rushes.ops.export`."""
    from rushes.ops.export import export_cdl, export_lut

    if kind == "cdl":
        return export_cdl(project, proposal, Path(path))
    if kind == "lut":
        return export_lut(project, proposal, Path(path))
    from rushes.errors import RushesError

    raise RushesError(f"export kind '{kind}' unknown; use cdl or lut")
