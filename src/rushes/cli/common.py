"""What every command shares: finding the project, printing JSON and errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from rushes.project import Project

# Piped output is not cut to 80 columns: tables stay one row per item for grep and less.
console = Console(width=None if sys.stdout.isatty() else 240)
err_console = Console(stderr=True)


class State:
    """Global options, set by the app callback."""

    project: Path | None = None


state = State()


def open_project() -> Project:
    """The project from ``-p/--project``, else found by walking up from the current folder."""
    if state.project is not None:
        return Project.open(state.project)
    return Project.find()


def print_json(data: Any) -> None:
    """Print JSON to stdout (no colour, no wrapping: for scripts)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one error line to stderr and exit."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def frame_progress(label: str, *, quiet: bool = False) -> Iterator[Callable[[int], None]]:
    """A progress bar of frames done (total unknown) on stderr; yields ``advance(n)``."""
    with Progress(
        TextColumn("{task.description}"),
        TextColumn("{task.completed:.0f} frames"),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet or not err_console.is_terminal,
    ) as bar:
        task = bar.add_task(label, total=None)
        yield lambda n: bar.advance(task, n)


def spinner(message: str, *, quiet: bool = False) -> AbstractContextManager[object]:
    """A spinner with ``message`` on stderr while the block runs.

    Shown only when stderr is a terminal and ``quiet`` is false (e.g. ``quiet=as_json``);
    otherwise the block just runs.
    """
    if quiet or not err_console.is_terminal:
        return nullcontext()
    return err_console.status(message, spinner="dots")


class Device(StrEnum):
    """Where a network trains or runs (``rushes.compute.device.DEVICES``)."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


def budget_progress(*, quiet: bool = False) -> Progress:
    """A progress bar on stderr for work against a time budget: description, bar, a free
    ``info`` field and the elapsed time; hidden when ``quiet`` or stderr is not a terminal."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet or not err_console.is_terminal,
    )
