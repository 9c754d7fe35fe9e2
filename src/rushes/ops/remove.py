"""``remove``: paint out wires, rigs, markers and stray objects with what the production shot.

``plan`` resolves the matte once (mask images are copied into the proposal; tracked shapes and
found wires are stored as a keyed shape file an artist can open and correct) and measures the
shot's grain. The guard (:func:`rushes.ops.proposals.propose`) then checks the matte against the
performers found on every frame: where it crosses one, :meth:`Remove.unphotographed` (a dry run
of the fill) says which pixels no photographed source covers, and the fix is refused there
unless overridden; a matte over a large share of a face is refused outright. ``run`` streams the
shot through :func:`rushes.ops.remove_fill.fill_frames` (the shot's own frames, then other takes
of its setup, then spatial synthesis outside performers), then tops the fill's grain up to the
plate's.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, Field

from rushes.analysis.grain import GrainProfile
from rushes.color import GRADING_SPACE, convert, is_scene_linear
from rushes.errors import RushesError
from rushes.guard import performer_regions
from rushes.guard.performers import stored_protect
from rushes.matte import (
    Matte,
    ShapeMatte,
    UnionMatte,
    open_matte_images,
    parse_shapes,
    track_shapes,
)
from rushes.matte.base import sample_indices
from rushes.matte.images import ImageMatte
from rushes.matte.wires import find_wire_shapes, parse_region
from rushes.media import open_media
from rushes.ops.base import Chunks, Operation, Plan
from rushes.ops.frames import display_frames, shot_colorspace
from rushes.ops.grain import shot_grain
from rushes.ops.grain_kernels import regrain
from rushes.ops.remove_fill import FillOptions, FillSource, fill_frames
from rushes.project import Project, Shot
from rushes.project.settings import parse_rate


class RemoveParams(BaseModel):
    """Parameters of ``rushes fix remove`` (schema ``remove.1``)."""

    mask: str | None = Field(None, description="matte image, or per-frame pattern (%04d, ####)")
    shapes: str | None = Field(None, description="JSON shape file (polylines, polygons)")
    track: bool = Field(False, description="track the shapes from the frame they were drawn on")
    key: int | None = Field(None, ge=0, description="with --track: the frame drawn on (0-based)")
    wires: bool = Field(False, description="find thin wires inside --region")
    region: str | None = Field(None, description="x,y,w,h region for --wires")
    dilate: float = Field(0.0, ge=0, le=50, description="grow shapes and wires by this (px)")
    radius: int = Field(12, ge=1, le=60, description="frames searched each side")
    takes: bool = Field(True, description="use other takes of the setup before synthesis")
    regrain: bool = Field(True, description="top the fill's grain up to the plate's")
    network: bool = Field(
        True,
        description="synthesize what was never photographed with the project's plate network "
        "(when one was learned); else OpenCV Telea",
    )


class Remove(Operation):
    """Wire, rig and object removal; see the module docstring."""

    name: ClassVar[str] = "remove"
    version: ClassVar[str] = "remove.1"
    Params: ClassVar[type[BaseModel]] = RemoveParams
    synthesizes_pixels: ClassVar[bool] = True
    synthesizes: ClassVar[frozenset[str]] = frozenset({"background"})
    touches: ClassVar[str] = "masked"
    context_frames: ClassVar[int] = 12

    def __init__(self) -> None:
        self._report: dict[str, Any] = {}

    def plan(self, shot: Shot, params: BaseModel, project: Project) -> Plan:
        """Resolve and check the matte, find the performers and the grain; no pixel written."""
        assert isinstance(params, RemoveParams)
        p = params
        if p.wires and not p.region:
            raise RushesError("--wires needs --region x,y,w,h: the rough area the wires are in")
        if p.region and not p.wires:
            raise RushesError("--region goes with --wires")
        if p.dilate and not (p.shapes or p.wires):
            raise RushesError("--dilate grows shapes and found wires; draw the mask file wider")
        if p.track and not p.shapes:
            raise RushesError("--track needs --shapes: draw the shapes to track on one frame")
        if p.key is not None and not p.track:
            raise RushesError("--key goes with --track (the frame the shapes were drawn on)")
        clip = shot.clip
        width, height, frames = int(clip.width), int(clip.height), shot.frames
        space = shot_colorspace(shot, project.settings.color.input_colorspace)
        path, fps, start = Path(clip.path), parse_rate(clip.fps or "24"), shot.start
        artifacts: dict[str, Any] = {}
        files: dict[str, Any] = {}

        linear = is_scene_linear(space)

        def shot_frames() -> Iterator[np.ndarray]:
            """The shot in a display-like encoding, for tracking and wire finding."""
            return display_frames(shot, space)

        if p.mask:
            images = open_matte_images(
                p.mask, width, height, frames, clip_start=start, clip_frames=int(clip.frames)
            )
            files["mask"] = {"source": p.mask, "files": _copy_mattes(images, artifacts)}
        if p.shapes:
            drawn = parse_shapes(Path(p.shapes), frames=frames)
            if p.track:
                drawn = track_shapes(drawn, shot_frames(), frames, p.key)
            artifacts["shapes.json"] = drawn.to_json().encode()
            files["shapes"] = {"source": p.shapes, "file": "shapes.json", "tracked": p.track}
        if p.wires:
            assert p.region is not None
            found = find_wire_shapes(shot_frames(), frames, parse_region(p.region))
            artifacts["wires.json"] = found.to_json().encode()
            files["wires"] = {"region": p.region, "file": "wires.json", "count": len(found)}
        if not files:
            raise RushesError("no matte given; give --mask, --shapes or --wires --region")

        matte = _matte_from(files, artifacts, width, height, frames, p.dilate)
        matte.validate()
        regions = performer_regions(shot.analysis or {}, width, height)
        coverage = [matte.coverage(i) for i in sample_indices(frames, 9)]
        grain = shot_grain(project, shot).to_dict() if p.regrain else None
        takes = _sibling_takes(shot, project) if p.takes else []
        model = _plate_model(project) if p.network else None
        return Plan(
            op=self.name,
            version=self.version,
            shot_id=shot.id,
            params=p.model_dump(),
            result={
                "matte": files,
                "clip": str(path),
                "fps": str(fps),
                "start": start,
                "frames": frames,
                "width": width,
                "height": height,
                "source_space": space,
                "fill_space": GRADING_SPACE if linear else space,
                "coverage": round(float(np.mean(coverage)), 5),
                "performers": [r.to_dict() for r in regions],
                "takes": takes,
                "grain": grain,
                "model": model,
            },
            artifacts=artifacts,
        )

    def matte(self, plan: Plan) -> Callable[[int], np.ndarray]:
        """The stored matte of the proposal, frame by frame (0-based in the shot)."""
        r = plan.result
        assert plan.folder is not None, "a stored proposal knows its folder"
        m = _matte_from(
            r["matte"], plan.folder, r["width"], r["height"], r["frames"], plan.params["dilate"]
        )
        return m.mask

    def run(self, plan: Plan, chunks: Chunks, colorspace: str) -> Chunks:
        """Fill every frame (in a log or display encoding), regrain, return in ``colorspace``."""
        r = plan.result
        mask_of = self.matte(plan)
        start = int(r["start"])
        fill_space = r.get("fill_space") or colorspace
        verdict = r.get("guard") or {}
        protect = None if verdict.get("override") else stored_protect(plan.folder, r)
        grain = GrainProfile.from_dict(r["grain"]) if r.get("grain") else None
        sources: list[FillSource] = []
        takes = _open_takes(plan) if plan.params.get("takes") and r.get("takes") else None
        if takes is not None:
            sources.append(takes)

        def frames() -> Iterator[np.ndarray]:
            for _, block in chunks:
                for f in block:
                    yield f if fill_space == colorspace else convert(f, colorspace, fill_space)

        totals = {"masked": 0, "temporal": 0, "other": 0, "spatial": 0}
        per_frame: list[dict[str, Any]] = []
        model = r.get("model")
        opts = FillOptions(
            radius=int(plan.params.get("radius", 12)),
            synthesizer=_load_plate(model).fill if model else None,
        )
        buf: list[np.ndarray] = []
        idx = 0
        try:
            for filled in fill_frames(
                frames(),
                (mask_of(k) for k in itertools.count()),
                opts,
                protect=protect,
                sources=sources,
                first_index=0,
            ):
                out = filled.frame
                if fill_space != colorspace:
                    out = convert(out, fill_space, colorspace)
                if grain is not None and filled.stats.masked:
                    # in the clip's own encoding, where the grain was measured; under a soft
                    # matte the plate's share carries its own grain too
                    m = filled.mask
                    out = regrain(
                        out,
                        grain,
                        existing=(1.0 - m) ** 2 + m**2 * filled.grain_kept,
                        rng=np.random.default_rng([start + idx, 7]),
                    )
                st = filled.stats.to_dict()
                for key in totals:
                    totals[key] += int(st[key])
                per_frame.append(st)
                buf.append(out)
                idx += 1
                if len(buf) == 8:
                    yield start + idx - 8, np.stack(buf)
                    buf = []
            if buf:
                yield start + idx - len(buf), np.stack(buf)
        finally:
            if takes is not None:
                takes.close()
        n = max(totals["masked"], 1)
        self._report = {
            "pixels": totals,
            "photographed_in_shot": round(totals["temporal"] / n, 4),
            "photographed_other_takes": round(totals["other"] / n, 4),
            "synthesized": round(totals["spatial"] / n, 4),
            "synthesis": f"plate network {model['version']}" if model else "OpenCV Telea",
            "frames": per_frame,
        }

    def unphotographed(
        self,
        plan: Plan,
        protect: Callable[[int], np.ndarray | None],
        frames: set[int],
        progress: Callable[[int], None] | None = None,
    ) -> dict[int, int]:
        """Per frame of ``frames``: matte pixels inside ``protect`` that neither the shot's
        other frames nor other takes photographed (a dry run of the fill: nothing is
        synthesized). Reads only the frames within ``radius`` of those asked."""
        if not frames:
            return {}
        r = plan.result
        mask_of = self.matte(plan)
        radius = int(plan.params.get("radius", 12))
        n = int(r["frames"])
        lo, hi = max(0, min(frames) - radius), min(n, max(frames) + radius + 1)
        space, fill_space = str(r["source_space"]), str(r.get("fill_space") or r["source_space"])
        start = int(r["start"])

        def read() -> Iterator[np.ndarray]:
            with open_media(Path(r["clip"]), fps=parse_rate(r["fps"])) as reader:
                for _, f in reader.iter_frames(start + lo, start + hi):
                    yield f if fill_space == space else convert(f, space, fill_space)

        takes = _open_takes(plan) if plan.params.get("takes") and r.get("takes") else None
        opts = FillOptions(radius=radius, dry_run=True, only=frozenset(frames))
        out: dict[int, int] = {}
        try:
            for filled in fill_frames(
                read(),
                (mask_of(k) for k in range(lo, hi)),
                opts,
                protect=protect,
                sources=[takes] if takes is not None else None,
                first_index=lo,
            ):
                i = filled.stats.index
                if i in frames:
                    out[i] = filled.stats.protected_left
                    if progress:
                        progress(1)
        finally:
            if takes is not None:
                takes.close()
        return out

    def report(self, plan: Plan) -> dict[str, Any]:
        """Where the filled pixels came from (shares of the matte's pixels), per frame too."""
        return self._report


def _plate_model(project: Project) -> dict[str, Any] | None:
    """The current project model's plate network (version and weights file), if learned."""
    from rushes.dialect import store

    version = store.latest_version(project)
    if version is None:
        return None
    weights = store.version_dir(project, version) / store.WEIGHTS
    return {"version": version, "weights": str(weights)}


def _load_plate(model: dict[str, Any]) -> Any:
    """The plate network a proposal recorded (refused if its weights are gone or foreign)."""
    from rushes.compute.device import pick_device
    from rushes.dialect.plate import PlateModel, load_net

    net, _ = load_net(Path(model["weights"]))
    dev = pick_device("auto")
    return PlateModel(version=str(model["version"]), net=net.to(dev), device=dev)


def _copy_mattes(images: ImageMatte, artifacts: dict[str, Any]) -> list[str]:
    """Copy the user's matte file(s) into the proposal (the originals may change later)."""
    paths = {images.file(k) for k in range(images.frames)}
    if len(paths) == 1:
        src = paths.pop()
        artifacts[f"matte{src.suffix.lower()}"] = src
        return [f"matte{src.suffix.lower()}"]
    names = []
    for k in range(images.frames):
        src = images.file(k)
        name = f"matte/{k:05d}{src.suffix.lower()}"
        artifacts[name] = src
        names.append(name)
    return names


def _matte_from(
    files: dict[str, Any],
    store: dict[str, Any] | Path,
    width: int,
    height: int,
    frames: int,
    dilate: float,
) -> Matte:
    """The matte described by a plan's ``matte`` record, from its artifacts (in memory while
    planning, in the proposal folder afterwards)."""

    def text(name: str) -> str:
        if isinstance(store, Path):
            return (store / name).read_text()
        return bytes(store[name]).decode()

    parts: list[Matte] = []
    if "mask" in files:
        names = files["mask"]["files"]
        paths = [store / n if isinstance(store, Path) else Path(store[n]) for n in names]
        source = str(files["mask"]["source"])
        if len(paths) == 1:
            parts.append(ImageMatte(paths[0], width, height, frames, source))
        else:
            parts.append(ImageMatte(dict(enumerate(paths)), width, height, frames, source))
    for key in ("shapes", "wires"):
        if key in files:
            shapes = parse_shapes(text(files[key]["file"]), frames=frames)
            parts.append(ShapeMatte(shapes, width, height, frames, dilate=dilate, name=key))
    return parts[0] if len(parts) == 1 else UnionMatte(parts)


def _sibling_takes(shot: Shot, project: Project) -> list[dict[str, Any]]:
    """The other shots of the shot's setup, as records ``run`` can open without the catalog."""
    if shot.setup is None:
        return []
    default = project.settings.color.input_colorspace
    out = []
    for s in shot.setup.shots:
        if s.id == shot.id:
            continue
        c = s.clip
        out.append(
            {
                "name": s.name,
                "path": c.path,
                "fps": c.fps or "24",
                "start": s.start,
                "end": s.end,
                "colorspace": shot_colorspace(s, default),
            }
        )
    return out


def _open_takes(plan: Plan) -> Any:
    """The other takes as a fill source (aligned to each frame), or None without any."""
    from rushes.ops.remove_takes import TakeSource, take_from_record

    r = plan.result
    takes = [take_from_record(rec, r.get("fill_space")) for rec in r["takes"]]
    return TakeSource(takes, shot_frames=int(r["frames"])) if takes else None


__all__ = ["Remove", "RemoveParams"]
