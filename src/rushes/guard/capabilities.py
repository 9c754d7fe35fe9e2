"""What an operation may declare: the registry's gate (DESIGN.md, "Operations").

rushes never synthesizes or alters a performance, and a plugin cannot add that capability:
every operation, built-in or installed under the ``rushes.ops`` entry points, is checked here
before it is registered. An operation declares what it synthesizes in ``synthesizes`` (a set of
words such as ``{"background"}``); one that names a face, lips, an expression, a voice or any
synonym is refused, as is one whose declaration is missing or malformed.
"""

from __future__ import annotations

import re
from typing import Any

from rushes.errors import ForbiddenOperationError

FORBIDDEN: frozenset[str] = frozenset(
    {
        "face",
        "faces",
        "facial",
        "lip",
        "lips",
        "lipsync",
        "mouth",
        "expression",
        "expressions",
        "emotion",
        "voice",
        "speech",
        "dialogue",
        "performance",
        "performer",
        "likeness",
        "identity",
        "deepfake",
        "faceswap",
        "reenactment",
        "gaze",
        "eyes",
    }
)
"""Words that name a performance; an operation declaring any of them cannot register."""

TOUCHES = ("global", "masked")


def _words(value: str) -> set[str]:
    return {w for w in re.split(r"[^a-z]+", value.lower()) if w} | {
        re.sub(r"[^a-z]", "", value.lower())
    }


def check_operation(name: str, cls: Any) -> None:
    """Refuse an operation class that may not be registered under ``name``.

    Raises:
        ForbiddenOperationError: one line naming the operation and what it declared.
    """
    for attr in ("name", "version", "Params", "touches"):
        if not hasattr(cls, attr):
            raise ForbiddenOperationError(
                f"operation '{name}': does not declare '{attr}'; every operation declares its "
                "name, version, Params and what it touches"
            )
    if cls.touches not in TOUCHES:
        raise ForbiddenOperationError(
            f"operation '{name}': touches={cls.touches!r}; declare 'global' or 'masked'"
        )
    declared: Any = getattr(cls, "synthesizes", frozenset())
    if isinstance(declared, str) or not all(isinstance(x, str) for x in declared):
        raise ForbiddenOperationError(
            f"operation '{name}': synthesizes={declared!r}; declare a set of words"
        )
    bad = sorted(w for item in declared for w in _words(item) if w in FORBIDDEN)
    if bad:
        raise ForbiddenOperationError(
            f"operation '{name}' declares {', '.join(bad)} synthesis; rushes does not "
            "synthesize or alter performances, and no plugin can add that"
        )
    if declared and not getattr(cls, "synthesizes_pixels", False):
        raise ForbiddenOperationError(
            f"operation '{name}': declares synthesizes={sorted(declared)} but "
            "synthesizes_pixels=False; the guard needs both to agree"
        )
