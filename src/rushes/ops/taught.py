"""``taught``: apply an effect taught by example (``rushes teach``) to every frame of a shot.

``plan`` checks that the effect exists and was taught at the shot's size, copies its weights
and card into the proposal (so a render reproduces the proposal even if the effect is taught
again later; the weights' xxh64 is recorded and checked when they are loaded) and notes the
performers found at ingest. ``run`` applies the effect frame by frame
(:func:`rushes.dialect.teach.apply_taught`, tiled on big frames), in the clip's own encoding,
or in ACEScct for scene-linear clips (the encoding the examples must be in).

- RGB effects: inside performer regions (faces and bodies found at ingest) the original pixels
  are kept: rushes never alters a performance. :meth:`Taught.report` counts the pixels there
  that the effect would have changed.
- Matte effects: ``run`` yields the shot's frames unchanged and :meth:`Taught.matte` gives the
  predicted matte of each frame, so a render as ``exr`` or ``prores`` writes it beside the
  frames as the matte EXR sequence (an ``mp4`` render carries no matte).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import BaseModel, Field, field_validator

from rushes.color import GRADING_SPACE, convert, is_scene_linear
from rushes.dialect.store import models_dir, read_json
from rushes.dialect.teach_data import (
    NAME_RE,
    OUTPUTS,
    TAUGHT_CARD,
    TAUGHT_WEIGHTS,
    taught_dir,
)
from rushes.errors import ModelError, TeachError
from rushes.guard import performer_regions
from rushes.guard.performers import stored_protect
from rushes.media import open_media, xxh64_file
from rushes.ops.base import Chunks, Operation, Plan
from rushes.ops.frames import shot_colorspace
from rushes.project import Project, Shot
from rushes.project.settings import parse_rate

if TYPE_CHECKING:
    from rushes.dialect.teach import TaughtModel

__all__ = ["Taught", "TaughtParams"]

WEIGHTS_ARTIFACT = "taught.safetensors"
CARD_ARTIFACT = "taught_card.json"
CHANGED = 1.0 / 255.0
"""A pixel the effect moves by more than this (any channel) counts as changed."""


class TaughtParams(BaseModel):
    """Parameters of ``rushes fix apply-taught`` (schema ``taught.1``)."""

    name: str = Field(description="the taught effect's name (rushes teach NAME ...)")

    @field_validator("name")
    @classmethod
    def _valid(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError(f"effect name {v!r} is not allowed; use letters, digits, - and _")
        return v


class Taught(Operation):
    """An effect taught by example; see the module docstring."""

    name: ClassVar[str] = "taught"
    version: ClassVar[str] = "taught.1"
    Params: ClassVar[type[BaseModel]] = TaughtParams
    synthesizes_pixels: ClassVar[bool] = True
    synthesizes: ClassVar[frozenset[str]] = frozenset({"taught effect"})
    touches: ClassVar[str] = "global"
    keeps_performers: ClassVar[bool] = True

    def __init__(self) -> None:
        self._report: dict[str, Any] = {}

    def plan(self, shot: Shot, params: BaseModel, project: Project) -> Plan:
        """Check the effect (exists, taught at the shot's size, weights intact); no pixel read.

        Raises:
            TeachError: no such effect, or taught at another size.
            ModelError: its weights changed since it was taught (checksum).
        """
        assert isinstance(params, TaughtParams)
        folder = taught_dir(models_dir(project), params.name)
        card = read_json(folder / TAUGHT_CARD)
        output = card.get("output")
        if output not in OUTPUTS:
            raise ModelError(
                f"{folder / TAUGHT_CARD}: output {output!r} unknown; teach the effect again"
            )
        clip = shot.clip
        width, height = int(clip.width), int(clip.height)
        size = tuple(int(v) for v in card.get("size") or (0, 0))
        if size != (width, height):
            raise TeachError(
                f"effect '{params.name}' was taught on {size[0]}x{size[1]} examples but shot "
                f"{shot.name} is {width}x{height}; teach it on frames of this shot "
                f"(rushes teach {params.name} --shot {shot.name} ... --force)"
            )
        weights = folder / TAUGHT_WEIGHTS
        if not weights.is_file():
            raise ModelError(f"{weights}: missing; teach '{params.name}' again with --force")
        checksum = xxh64_file(weights)
        if card.get("weights_xxh64") and card["weights_xxh64"] != checksum:
            raise ModelError(
                f"{weights}: its checksum differs from its card's; the effect is damaged: "
                f"teach '{params.name}' again with --force"
            )
        space = shot_colorspace(shot, project.settings.color.input_colorspace)
        regions = performer_regions(shot.analysis or {}, width, height)
        effect = {
            "name": params.name,
            "output": output,
            "base_model": card.get("base_model"),
            "weights_xxh64": checksum,
            "weights": str(weights),
            "examples": len(card.get("examples") or []),
            "taught_on": card.get("shot"),
            "steps": card.get("steps"),
            "scores": card.get("scores"),
            "warnings": card.get("warnings") or [],
            "created_at": card.get("created_at"),
            "created_by": card.get("created_by"),
        }
        return Plan(
            op=self.name,
            version=self.version,
            shot_id=shot.id,
            params=params.model_dump(),
            result={
                "effect": effect,
                "output": output,
                "source_space": space,
                "work_space": GRADING_SPACE if is_scene_linear(space) else space,
                "clip": str(clip.path),
                "fps": clip.fps or project.settings.fps,
                "start": shot.start,
                "frames": shot.frames,
                "width": width,
                "height": height,
                "performers": [r.to_dict() for r in regions],
            },
            artifacts={
                WEIGHTS_ARTIFACT: weights,
                CARD_ARTIFACT: json.dumps(card, indent=2, default=str).encode(),
            },
        )

    def _model(self, plan: Plan) -> TaughtModel:
        """The proposal's copy of the weights (or the effect's own file for a plan not yet
        stored), checked against the checksum recorded at plan time."""
        from rushes.dialect.teach import load_taught_file

        effect = plan.result["effect"]
        path = Path(effect["weights"])
        if plan.folder is not None and (plan.folder / WEIGHTS_ARTIFACT).is_file():
            path = plan.folder / WEIGHTS_ARTIFACT
        return load_taught_file(path, "auto", effect["name"], effect["weights_xxh64"])

    def run(self, plan: Plan, chunks: Chunks, colorspace: str) -> Chunks:
        """RGB effects: apply to each frame, keeping performer regions as they were shot;
        matte effects: the frames unchanged (the matte comes from :meth:`matte`)."""
        r = plan.result
        self._report = {}
        if r["output"] == "matte":
            n = 0
            for first, frames in chunks:
                n += len(frames)
                yield first, frames
            self._report.update({"output": "matte", "frames_rendered": n})
            return
        from rushes.dialect.teach import apply_taught

        model = self._model(plan)
        work = r.get("work_space") or colorspace
        protect_of = stored_protect(plan.folder, r)
        start = int(r.get("start", 0))
        frames_done = kept = changed = protected = 0
        for first, frames in chunks:
            out = np.empty_like(frames, dtype=np.float32)
            for k, frame in enumerate(frames):
                guard = protect_of(first - start + k)
                f = np.asarray(frame, np.float32)
                src = f if work == colorspace else convert(f, colorspace, work)
                got = apply_taught(model, src)
                moved = np.abs(got - src).max(axis=2) > CHANGED
                if work != colorspace:
                    got = convert(got, work, colorspace)
                if guard is not None:
                    protected += int(guard.sum())
                    kept += int(np.count_nonzero(moved & guard))
                    got = np.where(guard[:, :, None], f, got)
                    moved &= ~guard
                changed += int(np.count_nonzero(moved))
                out[k] = got
                frames_done += 1
            yield first, out
        area = int(r["width"]) * int(r["height"])
        self._report = {
            "output": "rgb",
            "frames_rendered": frames_done,
            "changed_share": round(changed / max(frames_done * area, 1), 6),
            "performer_pixels_per_frame": round(protected / max(frames_done, 1)),
            "kept_in_performers": kept,
        }

    def matte(self, plan: Plan) -> Callable[[int], np.ndarray] | None:
        """For matte effects, the predicted matte of frame ``i`` of the shot (0-based),
        float32 ``(H, W)`` in [0, 1]; frames are read in order (a jump reopens the clip).
        ``None`` for RGB effects."""
        r = plan.result
        if r["output"] != "matte":
            return None
        from rushes.dialect.teach import apply_taught

        model = self._model(plan)
        start, count = int(r["start"]), int(r["frames"])
        space, work = r["source_space"], r.get("work_space") or r["source_space"]
        path, fps = Path(r["clip"]), parse_rate(str(r["fps"]))
        state: dict[str, Any] = {"next": None, "frames": None}
        stats = {"frames": 0, "coverage": 0.0}

        def frames_from(i: int) -> Iterator[np.ndarray]:
            with open_media(path, fps=fps) as reader:
                for _, f in reader.iter_frames(start + i, start + count):
                    yield f

        def mask_of(i: int) -> np.ndarray:
            if not 0 <= i < count:
                raise IndexError(f"frame {i} is outside the shot (0..{count - 1})")
            if state["next"] != i:
                if state["frames"] is not None:
                    state["frames"].close()
                state["frames"] = frames_from(i)
            f = next(state["frames"])
            state["next"] = i + 1
            if i == count - 1:
                state["frames"].close()
                state["frames"], state["next"] = None, None
            src = f if work == space else convert(f, space, work)
            m = apply_taught(model, src)
            stats["frames"] += 1
            stats["coverage"] += float((m > 0.5).mean())
            self._report.update(
                {
                    "output": "matte",
                    "matte_frames": stats["frames"],
                    "coverage": round(stats["coverage"] / stats["frames"], 5),
                }
            )
            return m

        return mask_of

    def report(self, plan: Plan) -> dict[str, Any]:
        """What the last render did: frames, share of pixels changed, pixels kept inside
        performer regions (RGB); the mattes' mean coverage (matte)."""
        return self._report
