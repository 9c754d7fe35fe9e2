"""Render a proposal: stream the shot's frames through the operation and write them out.

Output formats: ``exr`` (half-float ACEScg scene-linear sequence, numbered from 1001),
``prores`` (ProRes 422 HQ MOV in the clip's own encoding, source timecode kept) and ``mp4``
(H.264 review proxy). A ``provenance.json`` beside the frames says what made them (schema
``rushes.provenance.1``, :mod:`rushes.guard.provenance`): the source clips and their checksums,
the frame range, the operation and its parameters, the model and its data manifest, the
approvals, and every written file with its sha256 (hashed while the render goes on). The
catalog's audit log keeps the manifest's sha256 and a full copy of it; when ``rushes.toml``
configures a signing certificate, MOV/MP4 files also get an embedded C2PA manifest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from rushes.color import WORKING_SPACE, convert
from rushes.errors import ModelError, RushesError
from rushes.guard import c2pa_sign
from rushes.guard.provenance import (
    OutputHasher,
    canonical,
    content_sha256,
    decision_entry,
    finish_manifest,
    hash_as_written,
    model_entry,
    new_manifest,
    sha256_bytes,
    write_sidecar,
)
from rushes.media import open_media, write_exr_sequence, write_h264, write_prores
from rushes.media.timecode import frames_to_timecode, is_drop_frame_timecode, timecode_to_frames
from rushes.ops.base import Operation, Plan
from rushes.ops.frames import shot_colorspace
from rushes.ops.proposals import load_plan
from rushes.ops.registry import get_operation
from rushes.project import Project, Shot
from rushes.project.query import find_shot
from rushes.project.settings import parse_rate
from rushes.project.workspace import SETTINGS_FILE

FORMATS = ("exr", "prores", "mp4")


def _shot_timecode(tc: str | None, fps: str, start: int) -> str | None:
    """Source timecode of the shot's first frame; a clip without timecode counts from
    00:00:00:00, so a render of a later shot still lines up with the cut's source range."""
    try:
        if not tc:
            rate = float(parse_rate(fps))
            return frames_to_timecode(start, rate, drop_frame=False)
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
        The provenance manifest written beside the frames (``provenance.json``).

    Raises:
        RushesError: unknown format or proposal; ``ProvenanceError`` for a configured signing
            certificate or key that cannot be used (checked before any pixel is rendered).
    """
    if fmt not in FORMATS:
        raise RushesError(f"format '{fmt}' unknown; use one of {', '.join(FORMATS)}")
    plan, row = load_plan(project, proposal_id)
    op = get_operation(plan.op)
    signing = c2pa_sign.read_settings(project.root / SETTINGS_FILE)
    signer = c2pa_sign.prepare_signer(signing) if signing.signing and fmt != "exr" else None
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
            "fps": clip.fps or project.settings.fps,
            "timecode": _shot_timecode(clip.timecode, clip.fps or "24", shot.start),
        }
        source = {
            "shot": shot.name,
            "clip": clip.name,
            "path": clip.path,
            "checksum": clip.checksum,
            "start": shot.start,
            "end": shot.end,
            "frames": shot.end - shot.start,
            "fps": info["fps"],
            "timecode": info["timecode"],
        }
        sources = _other_sources(s, plan)
        decisions = row["decisions"]
    out = Path(out_dir) if out_dir else project.path("renders", str(proposal_id))
    out.mkdir(parents=True, exist_ok=True)
    rate = parse_rate(info["fps"])
    safe = info["name"].replace("#", "_").replace("/", "_")
    model = _model(project, plan)

    with OutputHasher(out) as hasher, open_media(Path(info["path"]), fps=rate) as reader:
        chunks = reader.iter_chunks(chunk, info["start"], info["end"])

        def frames() -> Iterator[np.ndarray]:
            for _, block in op.run(plan, chunks, space):
                yield from block
                if progress:
                    progress(len(block))

        movie: Path | None = None
        output: dict[str, Any] = {"format": fmt}
        if fmt == "exr":
            pattern = out / f"{safe}.%04d.exr"
            linear = (convert(f, space, WORKING_SPACE) for f in frames())
            files = write_exr_sequence(
                hash_as_written(linear, pattern, 1001, hasher, "frame"),
                pattern,
                first_frame=1001,
                fps=rate,
            )
            hasher.add_all(files, "frame")
            output |= {"colorspace": WORKING_SPACE, "first_frame": 1001}
        elif fmt == "prores":
            movie = write_prores(frames(), out / f"{safe}.mov", fps=rate, timecode=info["timecode"])
            output |= {"colorspace": space, "timecode": info["timecode"]}
        else:
            movie = write_h264(frames(), out / f"{safe}.mp4", fps=rate, timecode=info["timecode"])
            output |= {"colorspace": space, "timecode": info["timecode"]}
        images = [f"{safe}.####.exr"] if fmt == "exr" else []
        # hand-off formats carry the matte for compositors
        if fmt != "mp4" and _write_matte(op, plan, out, safe, info, rate, hasher):
            images.append(f"matte/{safe}_matte.####.exr")
        core = new_manifest(
            proposal=_proposal_record(row, plan, decisions),
            source=source,
            sources=sources,
            model=model,
            output=output,
            fill=op.report(plan) or None,
            rendered_by=project.user,
            rushes_version=_version(),
            project_name=project.settings.name,
        )
        c2pa = _sign(core, movie, images, signer, op.synthesizes_pixels)
        if movie is not None:
            hasher.add(movie, "movie")  # after signing: the delivered bytes
        entries = hasher.entries()
    manifest = finish_manifest(core, entries, c2pa)
    _, digest = write_sidecar(out, manifest)
    project.audit(
        "render",
        f"proposal {proposal_id}",
        {
            "format": fmt,
            "dir": str(out.resolve()),
            "manifest_id": manifest["id"],
            "manifest_sha256": digest,
            "manifest": manifest,
        },
        shot=info["name"],
    )
    return manifest


def _proposal_record(
    row: dict[str, Any], plan: Plan, decisions: list[dict[str, Any]]
) -> dict[str, Any]:
    """The proposal as the manifest records it (its row at render time, params, result)."""
    keep = ("id", "op", "version", "shot", "status", "created_by", "created_at", "summary")
    return {
        **{k: row.get(k) for k in keep},
        "params": plan.params,
        "result": plan.result,
        "decisions": [decision_entry(d) for d in decisions],
    }


def _clip_record(s: Any, name: str, role: str, path: str | None = None) -> dict[str, Any]:
    """Another clip a render drew on (a take, a reference), as the manifest lists it."""
    try:
        other = find_shot(s, name)
    except RushesError:
        return {"role": role, "shot": name, "path": path, "checksum": None, "missing": True}
    c = other.clip
    return {
        "role": role,
        "shot": other.name,
        "clip": c.name,
        "path": c.path,
        "checksum": c.checksum,
        "start": other.start,
        "end": other.end,
        "frames": other.end - other.start,
        "fps": c.fps,
    }


def _other_sources(s: Any, plan: Plan) -> list[dict[str, Any]]:
    """The clips besides the shot's own that the render drew pixels or statistics from."""
    out = [
        _clip_record(s, str(t.get("name")), "take", t.get("path"))
        for t in plan.result.get("takes") or []
        if plan.params.get("takes", True)
    ]
    for key, role in (("to", "look reference"), ("like", "grain reference")):
        name = plan.params.get(key)
        if name:
            out.append(_clip_record(s, str(name), role))
    return out


def _card(project: Project, version: str | None) -> dict[str, Any] | None:
    from rushes.dialect import store

    if not version:
        return None
    try:
        return store.read_card(project, version)
    except ModelError:
        return None


def _model(project: Project, plan: Plan) -> dict[str, Any] | None:
    """The network that made pixels, when the proposal used one: its version, weights and the
    hash of the data manifest it learned from."""
    r = plan.result
    if r.get("model"):
        m = r["model"]
        version = str(m.get("version"))
        return model_entry("project", version, Path(m["weights"]), _card(project, version))
    effect = r.get("effect")
    if effect:
        from rushes.ops.taught import CARD_ARTIFACT, WEIGHTS_ARTIFACT

        weights = Path(effect["weights"])
        examples = None
        if plan.folder is not None and (plan.folder / WEIGHTS_ARTIFACT).is_file():
            weights = plan.folder / WEIGHTS_ARTIFACT
        if plan.folder is not None and (plan.folder / CARD_ARTIFACT).is_file():
            import json

            examples = json.loads((plan.folder / CARD_ARTIFACT).read_text()).get("examples")
        base = effect.get("base_model")
        return model_entry(
            "taught",
            base,
            weights,
            _card(project, base),
            name=effect.get("name"),
            output=effect.get("output"),
            weights_xxh64=effect.get("weights_xxh64"),
            examples=len(examples) if examples is not None else effect.get("examples"),
            examples_sha256=sha256_bytes(canonical(examples)) if examples is not None else None,
        )
    return None


def _sign(
    core: dict[str, Any],
    movie: Path | None,
    images: list[str],
    signer: c2pa_sign.PreparedSigner | None,
    synthesizes: bool,
) -> dict[str, Any]:
    """Embed a C2PA manifest in the delivered movie when a signer is configured; say what was
    signed and what was not, and why (``images``: the EXR files written, as glob patterns)."""
    record: dict[str, Any] = {"embedded": [], "skipped": []}
    if signer is not None and movie is not None:
        definition = c2pa_sign.definition(core, content_sha256(core), movie.name, synthesizes)
        record["embedded"].append(c2pa_sign.embed(movie, signer, definition))
    elif movie is not None:
        record["skipped"].append(
            {
                "files": movie.name,
                "reason": "no signing certificate in rushes.toml ([provenance] sign_cert)",
            }
        )
    for pattern in images:
        record["skipped"].append(
            {"files": pattern, "reason": "OpenEXR is not a C2PA format; this manifest covers it"}
        )
    return record


def _write_matte(
    op: Operation,
    plan: Plan,
    out: Path,
    safe: str,
    info: dict[str, Any],
    rate: Fraction,
    hasher: OutputHasher,
) -> list[Path]:
    """The matte a masked op used, as a single-channel half EXR sequence for compositors."""
    mask_of = op.matte(plan)
    if mask_of is None:
        return []
    n = int(info["end"]) - int(info["start"])
    pattern = out / "matte" / f"{safe}_matte.%04d.exr"
    files = write_exr_sequence(
        hash_as_written((mask_of(i) for i in range(n)), pattern, 1001, hasher, "matte"),
        pattern,
        fps=rate,
    )
    hasher.add_all(files, "matte")
    return files


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rushes")
    except PackageNotFoundError:
        return "unknown"
