"""Render a proposal: stream the shot's frames through the operation and write them out.

Output formats: ``exr`` (half-float ACEScg scene-linear sequence, numbered from 1001),
``prores`` (ProRes 422 HQ MOV in the clip's own encoding, source timecode kept) and ``mp4``
(H.264 review proxy). A ``provenance.json`` beside the frames says what made them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from rushes.atomic import write_text_atomic
from rushes.color import WORKING_SPACE, convert
from rushes.errors import RushesError
from rushes.media import open_media, write_exr_sequence, write_h264, write_prores
from rushes.media.timecode import frames_to_timecode, is_drop_frame_timecode, timecode_to_frames
from rushes.ops.base import Operation, Plan
from rushes.ops.frames import shot_colorspace
from rushes.ops.proposals import load_plan
from rushes.ops.registry import get_operation
from rushes.project import Project, Shot
from rushes.project.settings import parse_rate

FORMATS = ("exr", "prores", "mp4")


def _shot_timecode(tc: str | None, fps: str, start: int) -> str | None:
    if not tc:
        return None
    try:
        rate = float(parse_rate(fps))
        return frames_to_timecode(
            timecode_to_frames(tc, rate) + start, rate, drop_frame=is_drop_frame_timecode(tc)
        )
    except RushesError:
        return None


def render_proposal(
    project: Project,
    proposal_id: int,
    fmt: str,
    out_dir: Path | None = None,
    chunk: int = 8,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Render ``proposal_id`` as ``fmt`` into ``out_dir`` (default ``renders/<id>/``).

    Returns:
        The provenance record written beside the frames.
    """
    if fmt not in FORMATS:
        raise RushesError(f"format '{fmt}' unknown; use one of {', '.join(FORMATS)}")
    plan, row = load_plan(project, proposal_id)
    op = get_operation(plan.op)
    with project.session() as s:
        shot = s.get(Shot, plan.shot_id)
        assert shot is not None
        clip = shot.clip
        space = plan.result.get("source_space") or shot_colorspace(
            shot, project.settings.color.input_colorspace
        )
        info: dict[str, Any] = {
            "name": shot.name,
            "start": shot.start,
            "end": shot.end,
            "path": clip.path,
            "checksum": clip.checksum,
            "fps": clip.fps or project.settings.fps,
            "timecode": _shot_timecode(clip.timecode, clip.fps or "24", shot.start),
        }
    out = Path(out_dir) if out_dir else project.path("renders", str(proposal_id))
    out.mkdir(parents=True, exist_ok=True)
    rate = parse_rate(info["fps"])
    safe = info["name"].replace("#", "_").replace("/", "_")

    with open_media(Path(info["path"]), fps=rate) as reader:
        chunks = reader.iter_chunks(chunk, info["start"], info["end"])

        def frames() -> Iterator[np.ndarray]:
            for _, block in op.run(plan, chunks, space):
                yield from block
                if progress:
                    progress(len(block))

        if fmt == "exr":
            files = write_exr_sequence(
                (convert(f, space, WORKING_SPACE) for f in frames()),
                out / f"{safe}.%04d.exr",
                first_frame=1001,
                fps=rate,
            )
            written = [str(files[0]), f"... {len(files)} files"] if files else []
            colour = WORKING_SPACE
        elif fmt == "prores":
            written = [
                str(
                    write_prores(frames(), out / f"{safe}.mov", fps=rate, timecode=info["timecode"])
                )
            ]
            colour = space
        else:
            written = [
                str(write_h264(frames(), out / f"{safe}.mp4", fps=rate, timecode=info["timecode"]))
            ]
            colour = space
        if fmt != "mp4":  # hand-off formats carry the matte for compositors
            matte = _write_matte(op, plan, out, safe, info, rate)
            if matte:
                written.append(matte)
    provenance = {
        "proposal": row,
        "params": plan.params,
        "result": plan.result,
        "source": info,
        "output": {"format": fmt, "files": written, "colorspace": colour},
        "fill": op.report(plan) or None,
        "rendered_by": project.user,
        "rendered_at": dt.datetime.now(dt.UTC).isoformat(),
        "rushes": _version(),
    }
    write_text_atomic(out / "provenance.json", json.dumps(provenance, indent=2, default=str))
    project.audit("render", f"proposal {proposal_id}", {"format": fmt, "dir": str(out)})
    return provenance


def _write_matte(
    op: Operation, plan: Plan, out: Path, safe: str, info: dict[str, Any], rate: Fraction
) -> str | None:
    """The matte a masked op used, as a single-channel half EXR sequence for compositors."""
    mask_of = op.matte(plan)
    if mask_of is None:
        return None
    n = int(info["end"]) - int(info["start"])
    files = write_exr_sequence(
        (mask_of(i) for i in range(n)), out / "matte" / f"{safe}_matte.%04d.exr", fps=rate
    )
    return f"{files[0]} ... {len(files)} matte files" if files else None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rushes")
    except PackageNotFoundError:
        return "unknown"
