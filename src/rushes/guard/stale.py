"""What a proposal was made from, and whether that has changed since (a stale proposal).

At proposal time :func:`record_inputs` notes the checksums of every input: the source clips
(the shot's own and any other takes the fix borrows from), the files stored with the proposal
(mattes, shapes, taught weights) and the project-model weights it names. Before an approval
:func:`stale_reasons` checks them again: a changed byte anywhere makes the proposal stale, and a
stale proposal cannot be approved (make it again).

Source clips are checked cheaply first (size and modification time against the catalog); only
when those differ is the clip checksummed again (xxHash64, streamed).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes.errors import MediaError
from rushes.ingest.scan import Source
from rushes.ingest.worker import checksum_source, stat_source
from rushes.media import xxh64_file
from rushes.media.sequence import spec_from_pattern
from rushes.project import Clip


def _source(clip_kind: str, path: str) -> Source:
    if clip_kind == "sequence":
        return Source("sequence", Path(path), spec_from_pattern(Path(path)))
    return Source(clip_kind, Path(path))


def _folder_files(folder: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    if folder.is_dir():
        for root, _dirs, names in os.walk(folder):
            for n in sorted(names):
                p = Path(root) / n
                out[p.relative_to(folder).as_posix()] = xxh64_file(p)
    return out


def record_inputs(
    session: Session, clip_paths: list[str], folder: Path, model_weights: str | None
) -> dict[str, Any]:
    """The checksums a proposal is made from.

    Args:
        session: Open catalog session.
        clip_paths: Paths (as catalogued) of every source clip the fix reads.
        folder: The proposal's own folder (its files are checksummed).
        model_weights: The project-model weights file it uses, if any.
    """
    clips = []
    for path in dict.fromkeys(clip_paths):
        c = session.scalars(select(Clip).where(Clip.path == path)).first()
        if c is None:
            continue
        clips.append(
            {
                "path": c.path,
                "kind": c.kind,
                "checksum": c.checksum,
                "size": c.size,
                "mtime_ns": c.mtime_ns,
            }
        )
    out: dict[str, Any] = {"clips": clips, "files": _folder_files(folder)}
    if model_weights:
        w = Path(model_weights)
        out["model"] = {"path": str(w), "xxh64": xxh64_file(w) if w.is_file() else None}
    return out


def stale_reasons(session: Session, inputs: dict[str, Any] | None, folder: Path) -> list[str]:
    """Why a proposal made from ``inputs`` no longer matches them (empty: still current)."""
    if not inputs:
        return ["made before rushes recorded its inputs; propose it again"]
    why: list[str] = []
    for rec in inputs.get("clips", []):
        path = rec["path"]
        c = session.scalars(select(Clip).where(Clip.path == path)).first()
        if c is None:
            why.append(f"{path}: no longer in the catalog")
            continue
        if c.checksum != rec["checksum"]:
            why.append(f"{path}: re-ingested with other content since the proposal")
            continue
        if c.status == "changed":
            why.append(f"{path}: changed on disk since ingest")
            continue
        try:
            src = _source(rec.get("kind", c.kind), path)
            size, mtime = stat_source(src)
            if (size, mtime) != (rec["size"], rec["mtime_ns"]) and checksum_source(src) != rec[
                "checksum"
            ]:
                why.append(f"{path}: its content changed since the proposal (checksum differs)")
        except (OSError, MediaError):
            why.append(f"{path}: missing or unreadable")
    now = _folder_files(folder)
    for name, digest in inputs.get("files", {}).items():
        if name not in now:
            why.append(f"proposal file {name}: missing")
        elif now[name] != digest:
            why.append(f"proposal file {name}: changed since the proposal")
    model = inputs.get("model")
    if model:
        w = Path(model["path"])
        if not w.is_file():
            why.append(f"{w}: the model weights it uses are gone")
        elif model.get("xxh64") and xxh64_file(w) != model["xxh64"]:
            why.append(f"{w}: the model weights it uses changed")
    return why
