"""Ingest: scan, checksum, analyse in parallel, catalog one clip per transaction.

Idempotent: a file already catalogued with the same size and modification time is skipped;
a catalogued checksum found at a new path is recorded as moved; a catalogued path whose bytes
changed is flagged ``changed`` (its analysis is kept, nothing is overwritten). Killing the
command loses at most the clips in flight; running it again finishes the job.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from rushes.color import canonical_colorspace
from rushes.ingest.ale import ClipMetadata
from rushes.ingest.catalog import catalog_new
from rushes.ingest.metadata import apply_metadata, load_metadata
from rushes.ingest.pool import ProgressHook, run_jobs
from rushes.ingest.scan import Source, scan
from rushes.ingest.setups import regroup_setups
from rushes.ingest.worker import Job, WorkResult, checksum_source, stat_source
from rushes.project.catalog import Clip
from rushes.project.workspace import Project


@dataclass
class IngestReport:
    """What an ingest did, one line per item.

    ``failed``: not ingested. ``damaged``: ingested, but the media is incomplete (a truncated
    movie, a sequence with missing frames): catalogued with ``status = warning`` so nothing is
    lost, and reported so the copy can be checked. ``warnings``: everything else worth a look.
    """

    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    frames: int = 0

    @property
    def ok(self) -> bool:
        """True when every file was ingested whole."""
        return not self.failed and not self.damaged

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable form."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__} | {"ok": self.ok}


def ingest(
    project: Project,
    paths: Sequence[Path],
    ale: Path | None = None,
    sheet: Path | None = None,
    workers: int | None = None,
    verify: bool = False,
    hook: ProgressHook | None = None,
    colorspace: str | None = None,
) -> IngestReport:
    """Ingest camera media into the project's catalog.

    Args:
        project: Open project.
        paths: Files and folders (scanned recursively).
        ale: Avid ALE giving scene/take/camera per clip.
        sheet: CSV sheet with the same.
        workers: Clips analysed in parallel (default: settings, else one per core).
        verify: Re-checksum files whose size and date did not change.
        hook: Progress callback ``(event, amount, total)``; events ``frames``, ``clip``.
        colorspace: OCIO input colour space of every new clip (default: ``rushes.toml``'s
            ``color.input_colorspace``, else guessed per clip from codec and metadata).

    Returns:
        The report; ``report.failed`` lists one line per file that could not be ingested.

    Raises:
        MetadataError: the ALE/CSV cannot be read.
    """
    report = IngestReport()
    if colorspace is not None:
        colorspace = canonical_colorspace(colorspace)  # ColorError with close matches
    records = load_metadata(ale, sheet)
    found = scan([Path(p) for p in paths])
    report.failed += found.errors
    todo: list[Source] = []
    with project.session() as s:
        by_path = {c.path: c for c in s.scalars(select(Clip)).all()}
        known = {c.checksum: c.path for c in by_path.values()}
    for src in found.sources:
        key = str(Path(src.path).resolve())
        clip = by_path.get(key)
        if clip is None:
            todo.append(src)
            continue
        try:
            size, mtime = stat_source(src)
        except OSError as e:
            report.failed.append(f"{src.path}: cannot be read ({e.strerror})")
            continue
        if (size, mtime) == (clip.size, clip.mtime_ns) and not verify:
            report.unchanged.append(clip.name)
            continue
        if checksum_source(src) == clip.checksum:
            report.unchanged.append(clip.name)
            continue
        with project.session() as s:
            c = s.get(Clip, clip.id)
            assert c is not None
            c.status = "changed"
            msg = f"{src.path}: changed since ingest (checksum differs); the original was modified"
            c.issues = [*c.issues, msg]
            project.audit("changed", c.path, {"old_checksum": c.checksum}, session=s)
        report.changed.append(msg)

    total = sum(_estimate_frames(src) for src in todo)
    if hook:
        hook("start", 0, total)
    n_workers = min(workers or project.settings.analysis.workers or os.cpu_count() or 1, len(todo))
    jobs = [
        Job(
            src,
            frozenset(known),
            project.settings.analysis.long_side,
            project.settings.analysis.people_every,
            project.settings.fps,
            decode_threads=0,
        )
        for src in todo
    ]
    for res in run_jobs(jobs, n_workers, hook):
        _finish(project, res, records, known, report, colorspace)
        if hook:
            hook("clip", 1, len(jobs))

    if records:
        _apply_to_catalog(project, records, report, ale or sheet)
    regroup_setups(project)
    return report


def _finish(
    project: Project,
    res: WorkResult,
    records: Sequence[ClipMetadata],
    known: dict[str, str],
    report: IngestReport,
    colorspace: str | None = None,
) -> None:
    name = Path(res.source.path).name
    if res.status == "error":
        report.failed.append(res.error)
        return
    if res.status == "known":
        old = known[res.checksum]
        if Path(old).exists() and Path(old).resolve() != Path(res.source.path).resolve():
            report.warnings.append(
                f"{res.source.path}: identical to catalogued {old}; not added again"
            )
            return
        with project.session() as s:
            clip = s.scalars(select(Clip).where(Clip.checksum == res.checksum)).first()
            assert clip is not None
            clip.path = str(Path(res.source.path).resolve())
            clip.size, clip.mtime_ns = res.size, res.mtime_ns
            if clip.status == "missing":
                clip.status = "ok"
            project.audit("moved", clip.path, {"from": old}, session=s)
        report.moved.append(f"{old} -> {res.source.path}")
        return
    if res.checksum in known:
        report.warnings.append(
            f"{res.source.path}: identical to {known[res.checksum]} ingested in this run; not added"
        )
        return
    catalog_new(project, res, records, colorspace)
    known[res.checksum] = str(res.source.path)
    report.added.append(name)
    report.damaged += res.warnings
    report.frames += res.analysis.frames if res.analysis else 0


def _apply_to_catalog(
    project: Project, records: Sequence[ClipMetadata], report: IngestReport, source: Path | None
) -> None:
    """Apply sheet metadata to every catalogued clip; report rows that match no clip."""
    matched: set[int] = set()
    with project.session() as s:
        for clip in s.scalars(select(Clip)).all():
            rec = apply_metadata(clip, records)
            if rec is not None:
                matched.add(id(rec))
    for rec in records:
        if id(rec) not in matched:
            report.failed.append(
                f"{source}: row '{rec.clip_name}' names a clip that is not in the catalog; "
                "check the name or ingest that clip"
            )


def _estimate_frames(src: Source) -> int:
    if src.spec is not None:
        return len(src.spec.numbers)
    if src.kind == "still":
        return 1
    return 0  # movies: learned when the worker probes; the bar grows
