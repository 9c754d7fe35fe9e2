"""Colour continuity: each shot's look, its setup's and scene's looks, and who drifts.

A shot's look is measured on a few sampled frames: the mean CIE L*a*b* (D65) of its
non-clipped pixels as displayed, plus its mean ACEScg scene-linear RGB and exposure in stops.
A scene's look is the per-component median of its shots' looks (or the hero's), so one odd
shot cannot move it; shots are ranked by their CIEDE2000 distance from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rushes.color import WORKING_SPACE, convert, delta_e_2000, rgb_to_lab
from rushes.ops.frames import sample_frames, shot_colorspace
from rushes.project import Project, Shot

LOOK_VERSION = 1
CLIP_LOW, CLIP_HIGH = 0.02, 0.98  # display code values treated as clipped


def measure_look(frames: Sequence[np.ndarray], colorspace: str) -> dict[str, Any]:
    """Look of a shot from frames in ``colorspace``.

    Args:
        frames: float32 ``(H, W, 3)`` frames in the clip's own encoding.
        colorspace: Their OCIO colour space.

    Returns:
        ``{"lab": [L, a, b], "acescg": [r, g, b], "exposure_stops": float, "clipped": float}``.
    """
    labs, lins, clipped, total = [], [], 0, 0
    for f in frames:
        display = np.clip(convert(f, colorspace, "sRGB Encoded Rec.709 (sRGB)"), 0.0, 1.0)
        ok = np.all((display > CLIP_LOW) & (display < CLIP_HIGH), axis=-1)
        clipped += int((~ok).sum())
        total += ok.size
        if ok.any():
            labs.append(rgb_to_lab(display[ok]))
            lins.append(convert(f, colorspace, WORKING_SPACE)[ok])
    if not labs:
        return {
            "lab": [0.0, 0.0, 0.0],
            "acescg": [0.0, 0.0, 0.0],
            "exposure_stops": -99.0,
            "clipped": 1.0,
            "version": LOOK_VERSION,
        }
    lab = np.concatenate(labs).mean(axis=0)
    lin = np.concatenate(lins).astype(np.float64).mean(axis=0)
    y = float(lin @ np.array([0.2722287, 0.6740818, 0.0536895]))  # AP1 luminance
    return {
        "lab": [float(v) for v in lab],
        "acescg": [float(v) for v in lin],
        "exposure_stops": float(np.log2(max(y, 1e-6) / 0.18)),
        "clipped": clipped / max(total, 1),
        "version": LOOK_VERSION,
    }


def shot_look(
    project: Project, shot: Shot, samples: int = 5, use_model: bool = True
) -> dict[str, Any]:
    """The shot's look, measured once and kept in the catalog (``analysis['look']``); when the
    catalog has none, the project model's look of the shot (``rushes learn``) if it was
    measured in the same colour space (``use_model=False`` skips the model)."""
    space = shot_colorspace(shot, project.settings.color.input_colorspace)
    cached = (shot.analysis or {}).get("look")
    if cached and cached.get("version") == LOOK_VERSION and cached.get("space") == space:
        return dict(cached)
    if use_model:
        from rushes.dialect.profiles import current_profiles, look_for_shot  # model is optional

        found = current_profiles(project)
        if found is not None:
            learned = look_for_shot(found[1], shot)
            if learned and (learned.get("version"), learned.get("space")) == (LOOK_VERSION, space):
                return learned | {"source": f"model {found[0]}"}
    look = measure_look(sample_frames(shot, samples, long_side=256), space) | {"space": space}
    shot.analysis = {**(shot.analysis or {}), "look": look}
    return look


@dataclass
class Drift:
    """How far one shot's look is from its scene's."""

    shot: str
    setup: str | None
    delta_e: float
    delta_e_setup: float | None
    exposure_stops: float
    lab: list[float]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return self.__dict__.copy()


def rank_drift(
    names: Sequence[str],
    setups: Sequence[str | None],
    looks: Sequence[dict[str, Any]],
    hero: int | None = None,
) -> tuple[list[Drift], list[float], int]:
    """Rank shots by ΔE2000 from the scene look (median of looks, or the hero's).

    Returns:
        ``(drifts sorted worst first, scene Lab, index of the hero)``; the hero, when not
        given, is the shot closest to the median look.
    """
    labs = np.array([lk["lab"] for lk in looks], np.float64)
    centre = np.median(labs, axis=0) if hero is None else labs[hero]
    d = delta_e_2000(labs, np.broadcast_to(centre, labs.shape))
    if hero is None:
        hero = int(np.argmin(d))  # d is the distance from the median here
    by_setup: dict[str | None, list[int]] = {}
    for i, st in enumerate(setups):
        by_setup.setdefault(st, []).append(i)
    drifts = []
    for i, name in enumerate(names):
        members = by_setup[setups[i]]
        d_setup = None
        if setups[i] is not None and len(members) > 1:
            setup_lab = np.median(labs[members], axis=0)
            d_setup = float(delta_e_2000(labs[i], setup_lab))
        drifts.append(
            Drift(
                name,
                setups[i],
                float(d[i]),
                d_setup,
                float(looks[i]["exposure_stops"]),
                [float(v) for v in labs[i]],
            )
        )
    drifts.sort(key=lambda x: -x.delta_e)
    return drifts, [float(v) for v in centre], hero


def rank_shots(
    project: Project, shots: Sequence[Shot], hero: int | None = None
) -> tuple[list[Drift], list[float], int]:
    """:func:`rank_drift` over catalog shots: their looks (see :func:`shot_look`) and setups."""
    return rank_drift(
        [x.name for x in shots],
        [x.setup.name if x.setup else None for x in shots],
        [shot_look(project, x) for x in shots],
        hero,
    )
