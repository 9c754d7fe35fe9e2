"""``match``: make a shot look like a reference shot of the scene (CDL + residual LUT).

The grade is estimated in ACEScct (where colourists apply CDLs), as exposure and white balance,
then an ASC CDL, then an optional residual 3D LUT; it is proposed, never applied on its own.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from rushes.color import GRADING_SPACE, Cdl, Lut3d, convert
from rushes.errors import RushesError
from rushes.ops.base import Chunks, Operation, Plan
from rushes.ops.frames import sample_frames, shot_colorspace, to_grading
from rushes.ops.match_estimate import MatchResult, apply_match, estimate_match
from rushes.project import Project, Shot
from rushes.project.query import find_shot


class MatchParams(BaseModel):
    """Parameters of ``rushes fix match`` (schema ``match.1``)."""

    to: str = Field(description="reference shot (name or id)")
    samples: int = Field(5, ge=1, le=50, description="frames sampled from each shot")
    residual_lut: bool = Field(True, description="fit a 33^3 LUT for what a CDL cannot do")
    method: str = Field("auto", description="auto | regions | distribution")


def cdl_to_dict(cdl: Cdl) -> dict[str, Any]:
    """JSON form of a CDL, rounded to the 6 decimals ASC CDL files carry, so the proposal,
    its render and its exported .cdl/.cc/.ccc are the same grade to the last digit."""
    return {
        "slope": [round(v, 6) for v in cdl.slope],
        "offset": [round(v, 6) for v in cdl.offset],
        "power": [round(v, 6) for v in cdl.power],
        "saturation": round(cdl.saturation, 6),
    }


def cdl_from_dict(d: dict[str, Any], id: str | None = None) -> Cdl:
    """Inverse of :func:`cdl_to_dict`."""
    return Cdl(
        slope=tuple(d["slope"]),
        offset=tuple(d["offset"]),
        power=tuple(d["power"]),
        saturation=float(d["saturation"]),
        id=id,
    )


class Match(Operation):
    """Shot matching; see the module docstring."""

    name: ClassVar[str] = "match"
    version: ClassVar[str] = "match.1"
    Params: ClassVar[type[BaseModel]] = MatchParams

    def plan(self, shot: Shot, params: BaseModel, project: Project) -> Plan:
        """Estimate the grade from sampled frames of the shot and its reference."""
        assert isinstance(params, MatchParams)
        with project.session() as s:
            ref = find_shot(s, params.to)
            ref_space = shot_colorspace(ref, project.settings.color.input_colorspace)
            ref_frames = sample_frames(ref, params.samples)
            ref_name = ref.name
        # matching a shot to itself is allowed: it proposes the identity
        space = shot_colorspace(shot, project.settings.color.input_colorspace)
        shot_frames = sample_frames(shot, params.samples)
        try:
            found = estimate_match(
                to_grading(shot_frames, space),
                to_grading(ref_frames, ref_space),
                method=params.method,
                residual_lut=params.residual_lut,
            )
        except (ValueError, RushesError) as e:
            raise RushesError(f"cannot match {shot.name} to {ref_name}: {e}") from None
        result = replace(found, cdl=cdl_from_dict(cdl_to_dict(found.cdl)))
        return Plan(
            op=self.name,
            version=self.version,
            shot_id=shot.id,
            params=params.model_dump() | {"to": ref_name},
            result={
                "cdl": cdl_to_dict(result.cdl),
                "space": GRADING_SPACE,
                "source_space": space,
                "reference_space": ref_space,
                "exposure_stops": result.exposure_stops,
                "white_balance": list(result.white_balance),
                "confidence": result.confidence,
                "method": result.method,
                "stats": result.stats,
                "lut": "residual.cube" if result.lut is not None else None,
            },
            artifacts={"residual.cube": result.lut} if result.lut is not None else {},
        )

    def run(self, plan: Plan, chunks: Chunks, colorspace: str) -> Chunks:
        """Apply CDL then residual LUT in ACEScct; frames come and go in ``colorspace``.

        Renders use the exact path (the CDL formula, then the LUT's tetrahedral
        interpolation), so a grading system given our CDL and cube reproduces them.
        """
        result = match_result(plan.result, plan.artifacts.get("residual.cube"))
        for first, frames in chunks:
            cct = convert(frames, colorspace, GRADING_SPACE)
            graded = apply_match(cct, result, fast=False)
            yield first, convert(graded, GRADING_SPACE, colorspace)


def match_result(result: dict[str, Any], lut: Lut3d | None) -> MatchResult:
    """Rebuild the estimator's result from a stored proposal."""
    return MatchResult(
        cdl=cdl_from_dict(result["cdl"]),
        lut=lut,
        exposure_stops=float(result.get("exposure_stops", 0.0)),
        white_balance=tuple(result.get("white_balance", (1.0, 1.0, 1.0))),
        confidence=float(result.get("confidence", 1.0)),
        method=str(result.get("method", "")),
        stats=dict(result.get("stats", {})),
    )
