"""Look profiles: every shot's look and the median look of each setup.

A shot's look is :func:`rushes.editorial.continuity.shot_look` (mean CIE Lab of the
non-clipped pixels as displayed, mean ACEScg, exposure in stops, clipped share, measured on
five 256-px frames in the clip's own colour space), taken from the catalog when already
measured and measured (and kept there) otherwise; the current model is not consulted, so a
new model never copies an old one. A setup's look is the per-component median of its shots'
looks (one odd take cannot move it), with the median CIEDE2000 of its shots from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rushes.color import delta_e_2000
from rushes.editorial.continuity import LOOK_VERSION, shot_look
from rushes.errors import RushesError
from rushes.project import Project
from rushes.project.catalog import Shot

if TYPE_CHECKING:
    from rushes.dialect.profiles import ClipInfo

__all__ = ["SHOT_KEYS", "look_profiles", "setup_look"]

SHOT_KEYS = ("clip", "start", "end", "setup")
"""Keys a stored shot look carries besides the look itself (where it came from)."""

SAMPLES = 5
"""Frames per shot a look is measured on (as ``rushes continuity``)."""


def setup_look(looks: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per-component median of ``looks`` (``lab``, ``acescg``, ``exposure_stops``,
    ``clipped``), plus ``shots``, ``space`` (the shots' colour space when they share one, else
    ``None``) and ``delta_e_median`` (median CIEDE2000 of the shots from the median Lab).

    Raises:
        ValueError: no looks.
    """
    if not looks:
        raise ValueError("no looks given; give the looks of the setup's shots")
    lab = np.array([lk["lab"] for lk in looks], np.float64)
    centre = np.median(lab, axis=0)
    spaces = {lk.get("space") for lk in looks}
    d = delta_e_2000(lab, np.broadcast_to(centre, lab.shape))
    return {
        "lab": [round(float(v), 4) for v in centre],
        "acescg": [
            round(float(v), 6)
            for v in np.median(np.array([lk["acescg"] for lk in looks], np.float64), axis=0)
        ],
        "exposure_stops": round(float(np.median([lk["exposure_stops"] for lk in looks])), 4),
        "clipped": round(float(np.median([lk["clipped"] for lk in looks])), 5),
        "version": LOOK_VERSION,
        "space": spaces.pop() if len(spaces) == 1 else None,
        "shots": len(looks),
        "delta_e_median": round(float(np.median(np.atleast_1d(d))), 3),
    }


def _measure(project: Project, shot_id: int) -> dict[str, Any] | None:
    with project.session() as s:
        shot = s.get(Shot, shot_id)
        if shot is None:
            return None
        return shot_look(project, shot, SAMPLES, use_model=False)


def look_profiles(
    project: Project,
    clips: Sequence[ClipInfo],
    hook: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Looks of every shot of ``clips`` and the median look per setup.

    A shot whose frames cannot be read is left out (the frame pass reports the clip).

    Returns:
        ``{"shots": {shot name: look + {"clip", "start", "end", "setup"}}, "setups": {setup
        name: :func:`setup_look`}}``.
    """
    shots = [(c, s) for c in clips for s in c.shots]
    out: dict[str, dict[str, Any]] = {}
    per_setup: dict[str, list[dict[str, Any]]] = {}
    for done, (clip, shot) in enumerate(shots, 1):
        cached = shot.analysis.get("look")
        if (
            isinstance(cached, dict)
            and cached.get("version") == LOOK_VERSION
            and cached.get("space") == clip.colorspace
        ):
            look: dict[str, Any] | None = dict(cached)
        else:
            try:
                look = _measure(project, shot.id)
            except (RushesError, OSError, ValueError):
                look = None
        if look is not None:
            out[shot.name] = look | {
                "clip": clip.checksum,
                "start": shot.start,
                "end": shot.end,
                "setup": shot.setup,
            }
            if shot.setup is not None:
                per_setup.setdefault(shot.setup, []).append(look)
        if hook is not None:
            hook("look", done, len(shots))
    return {
        "shots": out,
        "setups": {name: setup_look(lks) for name, lks in sorted(per_setup.items())},
    }
