"""Applying camera-roll names and ALE/CSV sheets to catalogued clips."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rushes.errors import MetadataError
from rushes.ingest.ale import ClipMetadata, ale_clip_metadata, read_ale
from rushes.ingest.names import parse_clip_name
from rushes.ingest.sheet import match_metadata, read_sheet
from rushes.project.catalog import Clip


def load_metadata(ale: Path | None, sheet: Path | None) -> list[ClipMetadata]:
    records: list[ClipMetadata] = []
    if ale is not None:
        records += ale_clip_metadata(read_ale(Path(ale)))
    if sheet is not None:
        records += read_sheet(Path(sheet))
    return records


def apply_metadata(clip: Clip, records: Sequence[ClipMetadata]) -> ClipMetadata | None:
    parsed = parse_clip_name(clip.name)
    if parsed is not None:
        clip.camera = clip.camera or parsed.camera
        clip.roll = clip.roll or f"{parsed.camera}{parsed.roll:03d}"
    try:
        rec = match_metadata(records, Path(clip.path).name, clip.reel) if records else None
        if rec is None and records:
            rec = match_metadata(records, clip.name, clip.reel)
    except MetadataError as e:  # two sheet rows claim this clip: flag it, apply neither
        clip.issues = [*(clip.issues or []), str(e)]
        clip.status = "warning"
        return None
    if rec is not None:
        clip.scene = rec.scene or clip.scene
        clip.take = rec.take or clip.take
        clip.camera = rec.camera or clip.camera
        clip.reel = clip.reel or rec.reel
        clip.meta = {**(clip.meta or {}), "sheet": {"clip_name": rec.clip_name, **rec.extra}}
    return rec
