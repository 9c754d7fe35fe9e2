"""Ingest: scan, checksum, analyse in parallel, catalog one clip per transaction.

Idempotent: a file already catalogued with the same size and modification time is skipped;
a catalogued checksum found at a new path is recorded as moved; a catalogued path whose bytes
changed is flagged ``changed`` (its analysis is kept, nothing is overwritten). Killing the
command loses at most the clips in flight; running it again finishes the job.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes.analysis import setups as setup_grouping
from rushes.analysis.clip import ClipAnalysis
from rushes.errors import MetadataError
from rushes.ingest.ale import ClipMetadata, ale_clip_metadata, read_ale
from rushes.ingest.names import parse_clip_name
from rushes.ingest.scan import Source, scan
from rushes.ingest.sheet import match_metadata, read_sheet
from rushes.ingest.worker import Job, WorkResult, checksum_source, run_job, stat_source
from rushes.media import MediaInfo
from rushes.project.atomic import write_bytes_atomic
from rushes.project.catalog import Clip, Setup, Shot
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


ProgressHook = Callable[[str, int, int], None]  # (event, amount, total)


def _load_metadata(ale: Path | None, sheet: Path | None) -> list[ClipMetadata]:
    records: list[ClipMetadata] = []
    if ale is not None:
        records += ale_clip_metadata(read_ale(Path(ale)))
    if sheet is not None:
        records += read_sheet(Path(sheet))
    return records


def _apply_metadata(clip: Clip, records: Sequence[ClipMetadata]) -> ClipMetadata | None:
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
    import io

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


def _catalog_new(
    project: Project, res: WorkResult, records: Sequence[ClipMetadata]
) -> tuple[Clip, ClipMetadata | None]:
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
            status="warning" if res.warnings else "ok",
            issues=list(res.warnings),
            meta={"media": info.metadata, "missing_frames": info.missing[:1000]},
            analysis={
                "per_frame": per_frame,
                "analysis_size": list(analysis.size),
                "boundaries": [b.__dict__ for b in analysis.boundaries],
            },
        )
        rec = _apply_metadata(clip, records)
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
    return clip, rec


def regroup_setups(project: Project) -> int:
    """Group every shot of the project into camera setups; returns the number of setups."""
    with project.session() as s:
        shots = s.scalars(select(Shot).join(Clip).order_by(Clip.scene, Clip.name, Shot.index)).all()
        shots = [sh for sh in shots if sh.signature]
        for sh in shots:
            sh.setup_id = None
        s.flush()
        for old in s.scalars(select(Setup)).all():
            s.delete(old)
        s.flush()
        if not shots:
            return 0
        sigs = np.stack([np.frombuffer(sh.signature or b"", dtype=np.float32) for sh in shots])
        labels = setup_grouping.group_setups(
            sigs, cameras=[sh.clip.camera for sh in shots], scenes=[sh.clip.scene for sh in shots]
        )
        made: dict[int, Setup] = {}
        counters: dict[str, int] = {}
        for sh, label in zip(shots, labels, strict=True):
            if label not in made:
                scene, cam = sh.clip.scene, sh.clip.camera
                key = scene or "setup"
                counters[key] = counters.get(key, 0) + 1
                name = (
                    f"{scene}-{cam or ''}{counters[key]}" if scene else f"setup{counters[key]:03d}"
                )
                made[label] = Setup(name=name, scene=scene, camera=cam)
                s.add(made[label])
            sh.setup = made[label]
        return len(made)


def ingest(
    project: Project,
    paths: Sequence[Path],
    ale: Path | None = None,
    sheet: Path | None = None,
    workers: int | None = None,
    verify: bool = False,
    hook: ProgressHook | None = None,
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

    Returns:
        The report; ``report.failed`` lists one line per file that could not be ingested.

    Raises:
        MetadataError: the ALE/CSV cannot be read.
    """
    report = IngestReport()
    records = _load_metadata(ale, sheet)
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
            decode_threads=1 if n_workers > 1 else 0,
        )
        for src in todo
    ]
    for res in _run_jobs(jobs, n_workers, hook):
        _finish(project, res, records, known, report)
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
    _catalog_new(project, res, records)
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
            rec = _apply_metadata(clip, records)
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


def _run_jobs(jobs: list[Job], workers: int, hook: ProgressHook | None) -> Any:
    """Yield results as they finish; in-process when there is one job or one worker.

    Workers come from a fork server that has already imported the analysis stack, so a worker
    starts in milliseconds; progress comes back over one queue handed over at start.
    """
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            q: Any = _Tick(hook)
            yield run_job(job, q if hook else None)
        return
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["rushes.ingest.worker"])
    q = ctx.Queue()
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)),
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(q,),
    )
    try:
        futures: set[Future[WorkResult]] = {pool.submit(_pooled_job, j) for j in jobs}
        while futures:
            done, futures = wait(futures, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(q, hook)
            for f in done:
                yield f.result()
        _drain(q, hook)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        q.close()


_progress_queue: Any = None


def _init_worker(q: Any) -> None:
    global _progress_queue
    _progress_queue = q


def _pooled_job(job: Job) -> WorkResult:
    return run_job(job, _progress_queue)


class _Tick:
    def __init__(self, hook: ProgressHook | None) -> None:
        self.hook = hook

    def put(self, n: int) -> None:
        if self.hook:
            self.hook("frames", n, 0)


def _drain(q: Any, hook: ProgressHook | None) -> None:
    while True:
        try:
            n = q.get_nowait()
        except queue.Empty:
            return
        if hook:
            hook("frames", n, 0)
