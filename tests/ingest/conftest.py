"""Helpers shared by the ingest tests."""

from __future__ import annotations

from pathlib import Path


def write_encoded(directory: Path, text: str, name: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` encoded as ``encoding`` to ``directory / name``; returns the path."""
    path = directory / name
    path.write_bytes(text.encode(encoding))
    return path
