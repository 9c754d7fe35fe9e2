"""Performer protection: where the people of a shot are, and what a matte may do there.

DESIGN.md, "Fidelity before synthesis": inside a performer's face or body only photographed
pixels may fill a matte, and a matte that covers a real part of a face (a large share of it)
is refused whatever the source. Regions come from the faces and people found at ingest
(``shot.analysis["people"]["boxes"]``, frame fractions).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FACE_SHARE_LIMIT = 0.2
"""A matte covering more of a face box than this is refused (it would change the face)."""


@dataclass(frozen=True)
class Region:
    """A performer region in pixels: ``kind`` is ``face`` or ``person``."""

    kind: str
    x: int
    y: int
    w: int
    h: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"kind": self.kind, "x": self.x, "y": self.y, "w": self.w, "h": self.h}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Region:
        """Inverse of :meth:`to_dict`."""
        return cls(str(d["kind"]), int(d["x"]), int(d["y"]), int(d["w"]), int(d["h"]))


def performer_regions(analysis: dict[str, Any], width: int, height: int) -> list[Region]:
    """Face and person boxes of a shot's ingest analysis, in pixels of a ``width`` x ``height``
    frame. Faces are grown by a quarter (hair, chin); an analysis without people gives none."""
    boxes = ((analysis or {}).get("people") or {}).get("boxes") or []
    out = []
    for b in boxes:
        kind = str(b.get("kind", "person"))
        x, y, w, h = (float(b[k]) for k in ("x", "y", "w", "h"))
        if kind == "face":
            x, y, w, h = x - w / 8, y - h / 8, w * 1.25, h * 1.25
        x0, y0 = max(0, round(x * width)), max(0, round(y * height))
        x1, y1 = min(width, round((x + w) * width)), min(height, round((y + h) * height))
        if x1 > x0 and y1 > y0:
            out.append(Region("face" if kind == "face" else "person", x0, y0, x1 - x0, y1 - y0))
    return out


def protect_map(regions: list[Region], width: int, height: int) -> np.ndarray | None:
    """Bool ``(H, W)``: where only photographed pixels may be used (faces and bodies)."""
    if not regions:
        return None
    out = np.zeros((height, width), bool)
    for r in regions:
        out[r.y : r.y + r.h, r.x : r.x + r.w] = True
    return out


PERFORMERS_FILE = "performers.json"
"""Where a proposal keeps the per-frame performer regions the guard checked."""


def stored_protect(
    folder: Path | None, result: dict[str, Any]
) -> Callable[[int], np.ndarray | None]:
    """The protection map per frame (0-based in the shot) a stored proposal was checked with:
    the guard's per-frame tracks (``performers.json``) when present, else the shot-level
    regions of ``result["performers"]`` on every frame (proposals made before tracking)."""
    f = folder / PERFORMERS_FILE if folder is not None else None
    if f is not None and f.is_file():
        from rushes.guard.tracking import PerformerTracks

        return PerformerTracks.from_dict(json.loads(f.read_text(encoding="utf-8"))).protect
    regions = [Region.from_dict(d) for d in result.get("performers", [])]
    static = protect_map(regions, int(result["width"]), int(result["height"]))
    return lambda _i: static
