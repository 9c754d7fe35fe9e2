"""Atomic writes (kept here for the project layer; the code lives in :mod:`rushes.atomic`)."""

from rushes.atomic import atomic_path, write_bytes_atomic, write_text_atomic

__all__ = ["atomic_path", "write_bytes_atomic", "write_text_atomic"]
