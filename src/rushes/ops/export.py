"""Export a proposal's grade: ASC CDL XML and baked .cube LUTs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rushes.color import GRADING_SPACE, Lut3d, convert, write_cdl, write_cube
from rushes.errors import RushesError
from rushes.ops.match import cdl_from_dict, match_result
from rushes.ops.match_estimate import apply_match
from rushes.ops.proposals import load_plan
from rushes.project import Project


def _match_plan(project: Project, proposal_id: int) -> Any:
    plan, row = load_plan(project, proposal_id)
    if plan.op != "match":
        raise RushesError(f"proposal {proposal_id} is a '{plan.op}' fix; only grades export")
    return plan, row


def export_cdl(project: Project, proposal_id: int, path: Path) -> dict[str, Any]:
    """Write the proposal's CDL (``.cdl``, ``.cc`` or ``.ccc`` by extension)."""
    plan, row = _match_plan(project, proposal_id)
    cdl = cdl_from_dict(plan.result["cdl"], id=row["shot"])
    write_cdl(Path(path), [cdl])
    note = None
    if plan.result.get("lut"):
        note = "the CDL alone leaves out the residual LUT; 'rushes export lut' has the full grade"
    project.audit("export", f"proposal {proposal_id}", {"kind": "cdl", "path": str(path)})
    return {"path": str(path), "space": GRADING_SPACE, "note": note}


def export_lut(
    project: Project, proposal_id: int, path: Path, space: str = "grading", size: int = 33
) -> dict[str, Any]:
    """Bake the whole grade (CDL then residual LUT) into a ``size``^3 ``.cube``.

    ``space="grading"``: ACEScct in, ACEScct out (domain 0..1). ``space="source"``: the clip's
    own encoding in and out, for a Rec.709 timeline.
    """
    plan, row = _match_plan(project, proposal_id)
    result = match_result(plan.result, plan.artifacts.get(plan.result.get("lut") or ""))
    if space == "grading":

        def fn(rgb: np.ndarray) -> np.ndarray:
            return apply_match(rgb.astype(np.float32), result, fast=False)

        domain = GRADING_SPACE
    else:
        src = plan.result["source_space"]

        def fn(rgb: np.ndarray) -> np.ndarray:
            cct = convert(rgb.astype(np.float32), src, GRADING_SPACE)
            return convert(apply_match(cct, result, fast=False), GRADING_SPACE, src)

        domain = src
    title = f"rushes proposal {proposal_id} {row['shot']} ({domain})"
    lut = Lut3d.from_function(fn, size=size, title=title)
    write_cube(Path(path), lut)
    project.audit("export", f"proposal {proposal_id}", {"kind": "lut", "path": str(path)})
    return {"path": str(path), "space": domain, "size": size}
