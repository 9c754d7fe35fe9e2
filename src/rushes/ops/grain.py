"""``degrain`` and ``regrain``: remove a shot's grain, or add grain like its own or another's.

The grain is measured once per shot (:func:`shot_grain`, full-resolution frames spread over the
shot, :func:`rushes.analysis.grain.measure_grain`) and cached in the catalog on the shot
(``shot.analysis["grain"]``, a versioned ``grain.1`` record); ``rushes grain SHOT`` shows it.
Proposals carry the profile they used, so a render reproduces them even if the shot is measured
again later. Both operations work in the clip's own encoding, where the profile was measured.

- :class:`Degrain`: the DCT Wiener filter of :func:`rushes.ops.grain_kernels.degrain`,
  frame by frame.
- :class:`Regrain`: adds grain synthesized from a profile (:func:`regrain`); with ``--like``
  another shot's grain, topping up only what this shot lacks (its own measured grain counts as
  already present). The noise is seeded per frame from the proposal's seed and the frame
  number, so a render is reproducible to the bit and any frame can be rendered alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, Field, field_validator

from rushes.analysis.grain import METHODS, GrainProfile, measure_grain
from rushes.errors import RushesError
from rushes.media import open_media
from rushes.ops.base import Chunks, Operation, Plan
from rushes.ops.frames import shot_colorspace
from rushes.ops.grain_kernels import degrain, regrain
from rushes.project import Project, Shot
from rushes.project.query import find_shot
from rushes.project.settings import parse_rate

__all__ = [
    "Degrain",
    "DegrainParams",
    "Regrain",
    "RegrainParams",
    "shot_grain",
    "topped_up",
]

DEFAULT_SAMPLES = 4
"""Frames measured per shot (full resolution, spread over the shot)."""


class DegrainParams(BaseModel):
    """Parameters of ``rushes fix degrain`` (schema ``degrain.1``)."""

    strength: float = Field(1.0, ge=0.0, le=4.0, description="grain removed (1 = as measured)")
    samples: int = Field(DEFAULT_SAMPLES, ge=1, le=24, description="frames measured")
    method: str = Field("flat", description="grain measuring method: flat | temporal")
    refresh: bool = Field(False, description="measure again instead of the cached profile")

    @field_validator("method")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in METHODS:
            raise ValueError(f"method '{v}' unknown; use one of {', '.join(METHODS)}")
        return v


class RegrainParams(BaseModel):
    """Parameters of ``rushes fix regrain`` (schema ``regrain.1``)."""

    like: str | None = Field(None, description="shot whose grain to match (default: own)")
    amount: float = Field(1.0, ge=0.0, le=4.0, description="grain amplitude scale")
    top_up: bool = Field(
        True, description="with --like, count this shot's own grain as already there"
    )
    seed: int = Field(0, ge=0, description="noise seed (per frame: seed and frame number)")
    samples: int = Field(DEFAULT_SAMPLES, ge=1, le=24, description="frames measured")
    refresh: bool = Field(False, description="measure again instead of the cached profiles")


# --------------------------------------------------------------------------------------------
# The shot's grain profile (measured once, cached on the shot)


def _sample_frames(
    path: Path, fps: str | None, start: int, end: int, count: int, temporal: bool
) -> Iterator[np.ndarray]:
    """Full-resolution frames spread over [start, end): ``count`` of them, or ``count``
    consecutive pairs when ``temporal``; read one at a time."""
    last = end - (2 if temporal else 1)
    if last < start:
        raise RushesError(
            f"{path.name}: shot {start}-{end - 1} is too short to measure grain "
            f"({'two frames' if temporal else 'one frame'} needed)"
        )
    n = max(1, min(count, last - start + 1))
    picks = np.linspace(start, last, n + 2)[1:-1] if last - start + 1 > n else np.arange(n) + start
    indices = sorted({round(float(i)) for i in picks})
    with open_media(path, fps=parse_rate(fps or "24")) as reader:
        for i in indices:
            if temporal:
                for _, frame in reader.iter_frames(i, i + 2):
                    yield frame
            else:
                yield reader.read(i)


def shot_grain(
    project: Project,
    shot: Shot | str,
    samples: int = DEFAULT_SAMPLES,
    refresh: bool = False,
    method: str = "flat",
) -> GrainProfile:
    """The grain profile of ``shot``: the one cached in the catalog, else the project model's
    record of its clip (``rushes learn``; flat method only; its ``extra["source"]`` names the
    model version, and it is not copied onto the shot), else measured now (from ``samples``
    full-resolution frames) and stored on the shot with an audit event.

    Args:
        project: the open project.
        shot: a catalog shot, or its name / id.
        samples: frames (pairs for ``method="temporal"``) measured.
        refresh: measure again even when a profile is cached.
        method: measuring method (:data:`rushes.analysis.grain.METHODS`).

    Raises:
        NotFoundError: no such shot.
        RushesError: the shot's frames cannot be read or hold no flat area to measure.
    """
    with project.session() as s:
        row = s.get(Shot, shot.id) if isinstance(shot, Shot) else find_shot(s, shot)
        if row is None:
            raise RushesError(f"shot {getattr(shot, 'name', shot)} is no longer in the catalog")
        shot_id, name = row.id, row.name
        cached = (row.analysis or {}).get("grain")
        clip = row.clip
        path, fps, start, end = Path(clip.path), clip.fps, row.start, row.end
        learned = None if refresh or cached or method != "flat" else _model_grain(project, row)
    if cached and not refresh and (cached.get("method") == method or method == "flat"):
        try:
            return GrainProfile.from_dict(cached)
        except (ValueError, KeyError, TypeError):
            pass  # an older or damaged record: measure again
    if learned is not None:
        return learned
    frames = _sample_frames(path, fps, start, end, samples, temporal=method == "temporal")
    try:
        profile = measure_grain(frames, method=method)
    except ValueError as e:
        raise RushesError(f"cannot measure the grain of {name}: {e}") from None
    record = profile.to_dict()
    with project.session() as s:
        row = s.get(Shot, shot_id)
        assert row is not None
        row.analysis = {**(row.analysis or {}), "grain": record}
        project.audit(
            "measure",
            f"shot {name}",
            {"analysis": "grain", "method": method, "sigma_mean": record["sigma_mean"]},
            session=s,
        )
    return profile


def _model_grain(project: Project, shot: Shot) -> GrainProfile | None:
    """The current project model's grain record of ``shot``'s clip, or ``None``."""
    from rushes.dialect.profiles import current_profiles, grain_for_shot  # model is optional

    found = current_profiles(project)
    if found is None:
        return None
    profile = grain_for_shot(found[1], shot, fallback=False)
    if profile is not None:
        profile.extra = {**profile.extra, "source": f"model {found[0]}, clip record"}
    return profile


def _shot_size(shot: Shot) -> tuple[int, int]:
    return int(shot.clip.width), int(shot.clip.height)


# --------------------------------------------------------------------------------------------
# Degrain


class Degrain(Operation):
    """Grain removal; see the module docstring."""

    name: ClassVar[str] = "degrain"
    version: ClassVar[str] = "degrain.1"
    Params: ClassVar[type[BaseModel]] = DegrainParams
    touches: ClassVar[str] = "global"

    def plan(self, shot: Shot, params: BaseModel, project: Project) -> Plan:
        """Read (or measure) the shot's grain profile; nothing else to estimate."""
        assert isinstance(params, DegrainParams)
        space = shot_colorspace(shot, project.settings.color.input_colorspace)
        size = _shot_size(shot)
        profile = shot_grain(project, shot, params.samples, params.refresh, params.method)
        _check_size(profile, size, shot.name)
        return Plan(
            op=self.name,
            version=self.version,
            shot_id=shot.id,
            params=params.model_dump(),
            result={
                "profile": profile.to_dict(),
                "sigma_mean": round(profile.mean_sigma, 6),
                "source_space": space,
                "confidence": _confidence(profile),
            },
        )

    def run(self, plan: Plan, chunks: Chunks, colorspace: str) -> Chunks:
        """Degrain each frame of each chunk (own encoding in, own encoding out)."""
        profile = GrainProfile.from_dict(plan.result["profile"])
        strength = float(plan.params.get("strength", 1.0))
        for first, frames in chunks:
            yield first, degrain(np.asarray(frames, np.float32), profile, strength)


# --------------------------------------------------------------------------------------------
# Regrain


def topped_up(own: GrainProfile, target: GrainProfile, image: np.ndarray) -> np.ndarray:
    """Share of ``target``'s grain variance that ``own`` grain already gives each pixel.

    Shape:
        image: ``(H, W, 3)`` float32, own encoding. return: ``(H, W)`` float32 in [0, 1].
    """
    have = (own.sigma_map(image) ** 2).sum(axis=2)
    want = (target.sigma_map(image) ** 2).sum(axis=2)
    return np.clip(have / np.maximum(want, 1e-12), 0.0, 1.0).astype(np.float32)


class Regrain(Operation):
    """Grain synthesis; see the module docstring."""

    name: ClassVar[str] = "regrain"
    version: ClassVar[str] = "regrain.1"
    Params: ClassVar[type[BaseModel]] = RegrainParams
    touches: ClassVar[str] = "global"
    synthesizes_pixels: ClassVar[bool] = False

    def plan(self, shot: Shot, params: BaseModel, project: Project) -> Plan:
        """Read (or measure) the target profile (``like`` or the shot's own) and, to top up,
        the shot's own."""
        assert isinstance(params, RegrainParams)
        space = shot_colorspace(shot, project.settings.color.input_colorspace)
        size = _shot_size(shot)
        own = shot_grain(project, shot, params.samples, params.refresh)
        like_name = None
        if params.like is not None:
            with project.session() as s:
                ref = find_shot(s, params.like)
                like_name, like_id = ref.name, ref.id
                like_size = _shot_size(ref)
            if like_size != size:
                raise RushesError(
                    f"{shot.name} is {size[0]}x{size[1]} but {like_name} is "
                    f"{like_size[0]}x{like_size[1]}; grain is per pixel: regrain --like needs a "
                    "shot of the same size"
                )
            target = (
                own
                if like_id == shot.id
                else shot_grain(project, like_name, params.samples, params.refresh)
            )
        else:
            target = own
        _check_size(target, size, like_name or shot.name)
        top_up = params.like is not None and params.top_up
        return Plan(
            op=self.name,
            version=self.version,
            shot_id=shot.id,
            params=params.model_dump() | {"like": like_name},
            result={
                "profile": target.to_dict(),
                "own_profile": own.to_dict() if top_up else None,
                "sigma_mean": round(target.mean_sigma, 6),
                "own_sigma_mean": round(own.mean_sigma, 6),
                "top_up": top_up,
                "source_space": space,
                "confidence": _confidence(target),
            },
        )

    def run(self, plan: Plan, chunks: Chunks, colorspace: str) -> Chunks:
        """Add grain to each frame; frame ``i`` is seeded with ``(seed, i)``."""
        target = GrainProfile.from_dict(plan.result["profile"])
        own_d = plan.result.get("own_profile")
        own = GrainProfile.from_dict(own_d) if own_d else None
        amount = float(plan.params.get("amount", 1.0))
        seed = int(plan.params.get("seed", 0))
        for first, frames in chunks:
            out = np.empty_like(frames, dtype=np.float32)
            for k, frame in enumerate(frames):
                rng = np.random.default_rng([seed, first + k])
                existing: Any = topped_up(own, target, frame) if own is not None else 0.0
                out[k] = regrain(frame, target, amount, existing=existing, rng=rng)
            yield first, out


# --------------------------------------------------------------------------------------------


def _check_size(profile: GrainProfile, size: tuple[int, int], name: str) -> None:
    if profile.size not in ((0, 0), size):
        raise RushesError(
            f"the grain profile of {name} was measured at {profile.size[0]}x{profile.size[1]} "
            f"but the shot is {size[0]}x{size[1]}; measure again with 'rushes grain {name} "
            "--refresh'"
        )


def _confidence(profile: GrainProfile) -> float:
    """Share of intensity bins (over channels) measured rather than interpolated."""
    return round(float((profile.counts > 0).mean()), 3)
