"""The workspace on disk: ``rushes.toml``, ``catalog.sqlite`` and the working folders."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from rushes.atomic import write_text_atomic
from rushes.errors import ProjectError, ProjectNotFoundError
from rushes.project.catalog import AuditEvent, make_engine
from rushes.project.settings import Settings, dump_settings, load_settings, parse_rate

SETTINGS_FILE = "rushes.toml"
CATALOG_FILE = "catalog.sqlite"
FOLDERS = ("cache", "models", "proposals", "renders", "exports")


class Project:
    """An open rushes workspace.

    Example:
        >>> project = Project.init(Path("my_film"), fps="24")  # doctest: +SKIP
        >>> with project.session() as s: ...                   # doctest: +SKIP
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.settings: Settings = load_settings(self.root / SETTINGS_FILE)
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None

    @classmethod
    def init(cls, root: Path, fps: str | float = "24", name: str | None = None) -> Project:
        """Create a workspace at ``root`` (made if missing; must not already be a project).

        Raises:
            ProjectError: ``root`` is already a project, is a file, or cannot be written.
        """
        root = Path(root)
        if (root / SETTINGS_FILE).exists():
            raise ProjectError(f"{root}: is already a rushes project; open it instead")
        if root.exists() and not root.is_dir():
            raise ProjectError(f"{root}: is a file; give a folder for the project")
        try:
            rate = parse_rate(fps)
        except (ValueError, ZeroDivisionError):
            raise ProjectError(
                f"fps {fps!r} is not a rate; give 24, 25, 23.976 or 24000/1001"
            ) from None
        try:
            root.mkdir(parents=True, exist_ok=True)
            for sub in FOLDERS:
                (root / sub).mkdir(exist_ok=True)
            settings = Settings(name=name or root.resolve().name, fps=str(rate))
            write_text_atomic(root / SETTINGS_FILE, dump_settings(settings))
        except OSError as e:
            raise ProjectError(f"{root}: cannot create the project ({e.strerror})") from None
        project = cls(root)
        project.audit("init", str(project.root), {"fps": str(rate)})
        return project

    @classmethod
    def open(cls, root: Path) -> Project:
        """Open the project whose ``rushes.toml`` is in ``root``."""
        root = Path(root)
        if not (root / SETTINGS_FILE).is_file():
            raise ProjectNotFoundError(
                f"{root}: is not a rushes project (no {SETTINGS_FILE}); run 'rushes init' first"
            )
        return cls(root)

    @classmethod
    def find(cls, start: Path | None = None) -> Project:
        """Open the project at ``start`` or the nearest folder above it (like git)."""
        here = Path(start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / SETTINGS_FILE).is_file():
                return cls(folder)
        raise ProjectNotFoundError(
            f"no rushes project in {here} or above; cd into one or pass -p/--project"
        )

    @property
    def engine(self) -> Engine:
        """The catalog's engine (created on first use)."""
        if self._engine is None:
            self._engine = make_engine(self.root / CATALOG_FILE)
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on any exception."""
        if self._sessions is None:
            self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        with self._sessions.begin() as s:
            yield s

    @property
    def user(self) -> str:
        """Who is acting: ``RUSHES_USER``, else the login name."""
        return os.environ.get("RUSHES_USER") or getpass.getuser()

    def check_user(self, what: str) -> str:
        """The acting user, refused when ``rushes.toml`` lists the project's ``users`` and
        this one is not among them.

        Raises:
            ProjectError: names the user and where to add them.
        """
        who = self.user
        if self.settings.users and who not in self.settings.users:
            raise ProjectError(
                f"user '{who}' may not {what} in this project (users: "
                f"{', '.join(self.settings.users)}); set RUSHES_USER or add the name to 'users' "
                f"in {self.root / SETTINGS_FILE}"
            )
        return who

    def audit(
        self,
        action: str,
        target: str,
        details: dict[str, Any] | None = None,
        session: Session | None = None,
        *,
        shot: str | None = None,
        note: str | None = None,
    ) -> None:
        """Append one audit event: who (:attr:`user`), when, what (``action`` on ``target``,
        ``details``), on which ``shot``, and why (``note``). Inside ``session`` when given, else
        in its own transaction. The log is append-only."""
        ev = AuditEvent(
            user=self.user,
            action=action,
            target=target,
            details=details or {},
            shot=shot,
            note=note,
        )
        if session is not None:
            session.add(ev)
            return
        with self.session() as s:
            s.add(ev)

    def path(self, *parts: str) -> Path:
        """A path inside the workspace."""
        return self.root.joinpath(*parts)

    def rel(self, path: Path) -> str:
        """``path`` relative to the workspace root, as stored in the catalog."""
        return os.path.relpath(path, self.root)

    def close(self) -> None:
        """Dispose of the engine (checkpoints the WAL)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
