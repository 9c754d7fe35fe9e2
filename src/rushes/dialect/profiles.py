"""Profiles: what the production's own dailies say about its look, grain, lenses, camera moves
and cutting, learned from the catalog by ``rushes learn`` and read back by the fixes.

:func:`build_profiles` makes one JSON-serialisable dict (schema :data:`PROFILES_VERSION`),
stored by the model store as ``models/vNNN/profiles.json``::

    {
      "version": "profiles.1",
      "clips":  {checksum: {"name", "camera", "ei", "lens", "size", "fps", "shots",
                            "grain_group", "lens_group"}},
      "look":   {"shots":  {shot name: look + {"clip", "start", "end", "setup"}},
                 "setups": {setup name: median look + {"shots", "space", "delta_e_median"}}},
      "grain":  {"clips":  {checksum: grain.1 record + {"group"}},
                 "groups": {"camera|EI": {"clips", "sigma_mean", "size" (most common),
                                          "sizes": {"WxH": {"profile": grain.1 record,
                                                            "clips", "sigma_mean"}}}}},
      "lens":   {"groups": {"camera|lens|WxH": lens.1 estimate + {"clips", "camera", "lens",
                                                                  "size"}}},
      "motion": {"source", "overall", "setups": {...}, "cameras": {...}},
      "rhythm": {"shots", "clips", "median_s", "mean_s", "p10_s", "p90_s", "histogram"} | null,
      "skipped": [{"clip", "reason"}]
    }

Everything is keyed by stable names (clip checksum, shot and setup names, ``camera|EI`` and
``camera|lens|WxH`` groups), never by catalog row ids, so look-ups survive re-ingest. Each
kind is built by its own module:

- look (:mod:`rushes.dialect.profile_look`): every shot's look (``shot_look``: mean Lab,
  ACEScg and exposure of a few frames), and the per-component median per setup;
- grain and lens (:mod:`rushes.dialect.profile_frames`): one pass per clip over three
  full-resolution frames: grain measured on two of them, straight lines found on all three
  (at most 1280 px); grain records per clip, pooled per camera/exposure index; one lens fit
  per camera/lens/frame size from the lines of all its clips;
- motion and rhythm (:mod:`rushes.dialect.profile_motion`): pan/tilt speeds and handheld
  jitter (RMS and band powers) from the per-frame motion rows ingest stored, per setup, per
  camera and overall; shot lengths of clips with detected cuts.

The fixes read the current model's profiles through :func:`current_profiles` and the
look-ups :func:`grain_for_shot`, :func:`look_for_shot` and :func:`lens_for_clip`;
:func:`summarize_profiles` makes the short summary of the model card.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from rushes.analysis.grain import GrainProfile
from rushes.color import guess_colorspace
from rushes.dialect import profile_frames, profile_look, profile_motion
from rushes.dialect.profile_frames import grain_key, lens_key
from rushes.errors import ModelError
from rushes.project import Project
from rushes.project.catalog import Clip, Shot
from rushes.project.settings import parse_rate

__all__ = [
    "PROFILES_VERSION",
    "ClipInfo",
    "ShotInfo",
    "build_profiles",
    "current_profiles",
    "grain_for_shot",
    "lens_for_clip",
    "look_for_shot",
    "summarize_profiles",
]

PROFILES_VERSION = "profiles.1"
"""Schema of the dict :func:`build_profiles` returns."""

Hook = Callable[[str, int, int], None]


# --------------------------------------------------------------------------------------------
# A plain snapshot of the catalog (no session held while pixels are read)


@dataclass
class ShotInfo:
    """What the profiles need of one shot."""

    id: int
    name: str
    index: int
    start: int
    end: int
    setup: str | None
    analysis: dict[str, Any]

    @property
    def frames(self) -> int:
        """Frames in the shot."""
        return self.end - self.start


@dataclass
class ClipInfo:
    """What the profiles need of one clip."""

    id: int
    name: str
    path: Path
    checksum: str
    width: int
    height: int
    frames: int
    fps: Fraction
    camera: str | None
    scene: str | None
    colorspace: str
    meta: dict[str, Any]
    analysis: dict[str, Any]
    shots: list[ShotInfo] = field(default_factory=list)


def _snapshot(project: Project, clip_ids: Sequence[int] | None) -> list[ClipInfo]:
    default_space = project.settings.color.input_colorspace
    with project.session() as s:
        q = select(Clip).options(selectinload(Clip.shots).selectinload(Shot.setup))
        if clip_ids is not None:
            q = q.where(Clip.id.in_(list(clip_ids)))
        rows = s.scalars(q.order_by(Clip.scene, Clip.name)).all()
        out = []
        for c in rows:
            space = (
                c.colorspace
                or default_space
                or guess_colorspace(c.codec, c.pix_fmt, c.bit_depth, {}, c.kind)
            )
            out.append(
                ClipInfo(
                    id=c.id,
                    name=c.name,
                    path=Path(c.path),
                    checksum=c.checksum,
                    width=c.width,
                    height=c.height,
                    frames=c.frames,
                    fps=parse_rate(c.fps or project.settings.fps or "24"),
                    camera=c.camera,
                    scene=c.scene,
                    colorspace=space,
                    meta=dict(c.meta or {}),
                    analysis=dict(c.analysis or {}),
                    shots=[
                        ShotInfo(
                            id=sh.id,
                            name=sh.name,
                            index=sh.index,
                            start=sh.start,
                            end=sh.end,
                            setup=sh.setup.name if sh.setup else None,
                            analysis=dict(sh.analysis or {}),
                        )
                        for sh in sorted(c.shots, key=lambda x: x.index)
                    ],
                )
            )
    return out


# --------------------------------------------------------------------------------------------
# Building


def build_profiles(
    project: Project,
    clip_ids: Sequence[int] | None = None,
    hook: Hook | None = None,
) -> dict[str, Any]:
    """Learn the profiles of the project's clips (all, or ``clip_ids``).

    Reads three full-resolution frames per clip (grain on two, straight lines on all three at
    most 1280 px), five small frames per shot whose look is not yet in the catalog (measured
    looks are kept there, as ``rushes continuity`` does), and the per-frame motion tables
    ingest stored in ``cache/analysis``. A clip whose media cannot be read is listed under
    ``"skipped"`` and left out of grain and lens; it still counts for motion and rhythm.

    Args:
        project: the open project.
        clip_ids: catalog ids of the clips to learn from (default: every clip).
        hook: progress callback ``hook(kind, done, total)``; kinds, in order: ``"look"``
            (per shot), ``"frames"`` (per clip: grain and lines), ``"lens"`` (per lens
            group), ``"motion"`` (per clip), ``"rhythm"`` (once).

    Returns:
        The profiles (see the module docstring), JSON-serialisable.

    Raises:
        ModelError: no clips to learn from.
    """
    clips = _snapshot(project, clip_ids)
    if not clips:
        what = "the given clip ids" if clip_ids is not None else "the catalog"
        raise ModelError(f"no clips in {what}; ingest dailies first ('rushes ingest')")
    skipped: list[dict[str, str]] = []
    looks = profile_look.look_profiles(project, clips, hook)
    grain, lens = profile_frames.frame_profiles(clips, skipped, hook)
    motion = profile_motion.motion_profiles(project, clips, hook)
    rhythm = profile_motion.rhythm_profile(clips)
    if hook is not None:
        hook("rhythm", 1, 1)
    return {
        "version": PROFILES_VERSION,
        "clips": {
            c.checksum: {
                "name": c.name,
                "camera": c.camera,
                "scene": c.scene,
                "ei": profile_frames.exposure_index(c.meta),
                "lens": profile_frames.lens_name(c.meta),
                "size": [c.width, c.height],
                "fps": str(c.fps),
                "colorspace": c.colorspace,
                "shots": [s.name for s in c.shots],
                "grain_group": grain_key(c.camera, c.meta),
                "lens_group": lens_key(c.camera, c.meta, (c.width, c.height)),
            }
            for c in clips
        },
        "look": looks,
        "grain": grain,
        "lens": lens,
        "motion": motion,
        "rhythm": rhythm,
        "skipped": skipped,
    }


# --------------------------------------------------------------------------------------------
# Reading the current model's profiles (for the fixes)

_CACHE: dict[str, tuple[tuple[int, int], tuple[str, dict[str, Any]]]] = {}


def current_profiles(project: Project) -> tuple[str, dict[str, Any]] | None:
    """The current model's version and profiles, or ``None`` when there is no model, it has no
    profiles, or they cannot be read (fixes then measure for themselves).

    The parsed file is kept in memory while it is unchanged on disk (size and mtime), so a fix
    that looks up many shots parses it once.
    """
    from rushes.dialect import store  # the store is the lead's; import it only when asked

    try:
        version = store.latest_version(project)
        if version is None:
            return None
        path = store.version_dir(project, version) / store.PROFILES
        st = os.stat(path)
    except (ModelError, OSError):
        return None
    key = str(path)
    stamp = (st.st_size, st.st_mtime_ns)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    try:
        data = store.read_json(path)
    except ModelError:
        return None
    if data.get("version") != PROFILES_VERSION:
        return None
    _CACHE[key] = (stamp, (version, data))
    return version, data


def _section(profiles: dict[str, Any] | None, kind: str, part: str) -> dict[str, Any]:
    if not profiles:
        return {}
    sec = profiles.get(kind)
    if not isinstance(sec, dict):
        return {}
    sub = sec.get(part)
    return sub if isinstance(sub, dict) else {}


def _clip_of(obj: Any) -> Any:
    return obj.clip if isinstance(obj, Shot) or hasattr(obj, "clip") else obj


def grain_for_shot(
    profiles: dict[str, Any] | None, shot: Shot, fallback: bool = True
) -> GrainProfile | None:
    """The model's grain for ``shot``: its clip's own record, else (with ``fallback``) the
    pooled profile of its camera/exposure-index group at the clip's frame size.

    Args:
        profiles: from :func:`current_profiles` (``None``: no model).
        shot: a catalog shot (its clip is read: checksum, camera, metadata, size).
        fallback: use the group's profile when the clip has no record of its own.

    Returns:
        The profile (its ``extra["source"]`` says which record), or ``None``.
    """
    clip = _clip_of(shot)
    size = (int(clip.width), int(clip.height))
    own = _section(profiles, "grain", "clips").get(clip.checksum)
    if isinstance(own, dict):
        profile = _grain(own, size)
        if profile is not None:
            profile.extra = {**profile.extra, "source": "model clip record"}
            return profile
    if not fallback:
        return None
    entry = (profiles or {}).get("clips", {}).get(clip.checksum) or {}
    key = entry.get("grain_group") or grain_key(clip.camera, clip.meta or {})
    group = _section(profiles, "grain", "groups").get(key) or {}
    sized = (
        (group.get("sizes") or {}).get(f"{size[0]}x{size[1]}") if isinstance(group, dict) else None
    )
    if isinstance(sized, dict) and isinstance(sized.get("profile"), dict):
        profile = _grain(sized["profile"], size)
        if profile is not None:
            profile.extra = {**profile.extra, "source": f"model group {key}"}
            return profile
    return None


def _grain(record: dict[str, Any], size: tuple[int, int]) -> GrainProfile | None:
    try:
        profile = GrainProfile.from_dict(record)
    except (ValueError, KeyError, TypeError):
        return None
    return profile if profile.size in (size, (0, 0)) else None


def look_for_shot(profiles: dict[str, Any] | None, shot: Shot) -> dict[str, Any] | None:
    """The model's look of ``shot`` (as :func:`rushes.editorial.continuity.shot_look` returns
    it: ``lab``, ``acescg``, ``exposure_stops``, ``clipped``, ``version``, ``space``), or
    ``None`` when the model has none for this shot of this clip (same checksum and frames)."""
    rec = _section(profiles, "look", "shots").get(shot.name)
    if not isinstance(rec, dict):
        return None
    if (
        rec.get("clip") != shot.clip.checksum
        or rec.get("start") != shot.start
        or rec.get("end") != shot.end
    ):
        return None
    return {k: v for k, v in rec.items() if k not in profile_look.SHOT_KEYS}


def look_for_setup(profiles: dict[str, Any] | None, setup: str) -> dict[str, Any] | None:
    """The model's median look of the setup named ``setup``, or ``None``."""
    rec = _section(profiles, "look", "setups").get(setup)
    return dict(rec) if isinstance(rec, dict) else None


def lens_for_clip(profiles: dict[str, Any] | None, clip: Any) -> dict[str, Any] | None:
    """The lens estimate (``lens.1`` record, see :class:`rushes.analysis.lens.LensEstimate`,
    plus its group's ``clips``/``camera``/``lens``/``size``) of the camera/lens/frame-size
    group of ``clip`` (a :class:`~rushes.project.catalog.Clip` or a shot), or ``None`` when
    the group had too few straight lines."""
    clip = _clip_of(clip)
    entry = (profiles or {}).get("clips", {}).get(clip.checksum) or {}
    key = entry.get("lens_group") or lens_key(
        clip.camera, clip.meta or {}, (int(clip.width), int(clip.height))
    )
    rec = _section(profiles, "lens", "groups").get(key)
    if not isinstance(rec, dict) or float(rec.get("confidence", 0.0)) <= 0.0:
        return None
    return dict(rec) | {"group": key}


# --------------------------------------------------------------------------------------------
# The model card's summary


def summarize_profiles(profiles: dict[str, Any]) -> dict[str, Any]:
    """A short summary for the model card: counts per kind and the headline numbers.

    Returns:
        ``{"clips", "skipped", "look": {"shots", "setups"}, "grain": {"clips", "groups":
        {key: {"clips", "sigma_mean"}}}, "lens": {key: {"k1", "lines", "confidence"} | None},
        "motion": {"overall", "setups": {name: label}}, "rhythm": {"shots", "median_s"} |
        None}``.
    """
    look = profiles.get("look") or {}
    grain = profiles.get("grain") or {}
    lens = (profiles.get("lens") or {}).get("groups") or {}
    motion = profiles.get("motion") or {}
    rhythm = profiles.get("rhythm")
    return {
        "version": profiles.get("version"),
        "clips": len(profiles.get("clips") or {}),
        "skipped": len(profiles.get("skipped") or []),
        "look": {
            "shots": len(look.get("shots") or {}),
            "setups": len(look.get("setups") or {}),
        },
        "grain": {
            "clips": len(grain.get("clips") or {}),
            "groups": {
                k: {"clips": g.get("clips"), "sigma_mean": g.get("sigma_mean")}
                for k, g in (grain.get("groups") or {}).items()
            },
        },
        "lens": {
            k: (
                {
                    "k1": g.get("k1"),
                    "lines": g.get("lines"),
                    "confidence": g.get("confidence"),
                }
                if float(g.get("confidence", 0.0)) > 0
                else None
            )
            for k, g in lens.items()
        },
        "motion": {
            "overall": (motion.get("overall") or {}).get("label"),
            "setups": {k: v.get("label") for k, v in (motion.get("setups") or {}).items()},
        },
        "rhythm": (
            {"shots": rhythm.get("shots"), "median_s": rhythm.get("median_s")}
            if isinstance(rhythm, dict)
            else None
        ),
    }
