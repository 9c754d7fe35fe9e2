"""Writing one analysed clip into the catalog: thumbnails and tables first, then one
transaction holding the clip, its shots and the audit event."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes.analysis.clip import ClipAnalysis
from rushes.atomic import write_bytes_atomic
from rushes.color import guess_colorspace
from rushes.ingest.ale import ClipMetadata
from rushes.ingest.metadata import apply_metadata
from rushes.ingest.worker import WorkResult
from rushes.media import MediaInfo
from rushes.project.catalog import Clip, Shot
from rushes.project.workspace import Project


def _write_thumbnail(project: Project, checksum: str, k: int, image: np.ndarray) -> str:
    path = project.path("cache", "thumbs", f"{checksum}_{k:03d}.jpg")
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90]
    )
    if not ok:
        raise RuntimeError("thumbnail encode failed")
    write_bytes_atomic(path, buf.tobytes())
    return project.rel(path)


def _write_per_frame(project: Project, checksum: str, analysis: ClipAnalysis) -> str:
    path = project.path("cache", "analysis", f"{checksum}.npz")
    bio = io.BytesIO()
    np.savez_compressed(bio, per_frame=analysis.per_frame, fields=np.array(analysis.fields))
    write_bytes_atomic(path, bio.getvalue())
    return project.rel(path)


def _shot_name(session: Session, clip_name: str, k: int, n: int) -> str:
    base = clip_name if n == 1 else f"{clip_name}#{k + 1}"
    name, i = base, 1
    while session.scalar(select(Shot.id).where(Shot.name == name)) is not None:
        i += 1
        name = f"{base}~{i}"
    return name


def catalog_new(
    project: Project,
    res: WorkResult,
    records: Sequence[ClipMetadata],
    colorspace: str | None = None,
) -> None:
    """Catalog one newly analysed clip: its cached tables and thumbnails, then in one
    transaction the clip (with sheet metadata applied), its shots and the audit event."""
    info: MediaInfo = res.info  # type: ignore[assignment]
    analysis: ClipAnalysis = res.analysis  # type: ignore[assignment]
    per_frame = _write_per_frame(project, res.checksum, analysis)
    thumbs = [
        _write_thumbnail(project, res.checksum, k, s.thumbnail)
        for k, s in enumerate(analysis.shots)
    ]
    with project.session() as s:
        clip = Clip(
            name=info.name,
            path=str(Path(info.path).resolve()),
            kind=info.kind,
            checksum=res.checksum,
            size=res.size,
            mtime_ns=res.mtime_ns,
            width=info.width,
            height=info.height,
            frames=analysis.frames,
            fps=str(info.fps) if info.fps else project.settings.fps,
            codec=info.codec,
            pix_fmt=info.pix_fmt,
            bit_depth=info.bit_depth,
            first_frame=info.first_frame,
            timecode=info.timecode,
            reel=info.reel,
            colorspace=colorspace
            or project.settings.color.input_colorspace
            or guess_colorspace(info.codec, info.pix_fmt, info.bit_depth, info.metadata, info.kind),
            status="warning" if res.warnings else "ok",
            issues=list(res.warnings),
            meta={"media": info.metadata, "missing_frames": info.missing[:1000]},
            analysis={
                "per_frame": per_frame,
                "analysis_size": list(analysis.size),
                "boundaries": [b.__dict__ for b in analysis.boundaries],
            },
        )
        apply_metadata(clip, records)
        s.add(clip)
        s.flush()
        n = len(analysis.shots)
        for k, shot in enumerate(analysis.shots):
            s.add(
                Shot(
                    clip_id=clip.id,
                    index=k,
                    name=_shot_name(s, clip.name, k, n),
                    start=shot.start,
                    end=shot.end,
                    transition_in=shot.transition_in,
                    transition_out=shot.transition_out,
                    thumbnail=thumbs[k],
                    signature=shot.signature.astype(np.float32).tobytes(),
                    analysis=shot.summary,
                )
            )
        project.audit("ingest", clip.path, {"checksum": res.checksum, "shots": n}, session=s)
