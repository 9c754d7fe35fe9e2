"""The work done for one source in a worker process: checksum, probe, analyse."""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field
from typing import Any

import cv2

from rushes.analysis.clip import ClipAnalysis, analyze_clip
from rushes.errors import RushesError
from rushes.ingest.scan import Source
from rushes.media import MediaInfo, open_media, xxh64_file, xxh64_files
from rushes.project.settings import parse_rate


@dataclass
class Job:
    """One source to ingest, with what the worker needs to know of the catalog."""

    source: Source
    known_checksums: frozenset[str]
    long_side: int
    people_every: int
    fps: str
    decode_threads: int = 0  # FFmpeg decode threads for movies (0: one per core)


@dataclass
class WorkResult:
    """What a worker found: ``status`` is ``new``, ``known`` (checksum already catalogued)
    or ``error``."""

    source: Source
    status: str
    checksum: str = ""
    size: int = 0
    mtime_ns: int = 0
    info: MediaInfo | None = None
    analysis: ClipAnalysis | None = None
    error: str = ""
    warnings: list[str] = field(default_factory=list)


def stat_source(source: Source) -> tuple[int, int]:
    """``(total bytes, newest mtime_ns)`` of a source's files: the cheap change signature."""
    size, mtime = 0, 0
    for f in source.files:
        st = os.stat(f)
        size += st.st_size
        mtime = max(mtime, st.st_mtime_ns)
    return size, mtime


def checksum_source(source: Source) -> str:
    """xxHash64 of a movie file, or of the ordered files of a sequence."""
    return xxh64_file(source.path) if source.spec is None else xxh64_files(source.files)


def run_job(job: Job, progress: Any = None) -> WorkResult:
    """Checksum, probe and analyse one source. Never raises for bad media: returns ``error``."""
    # Clips run in parallel processes and FFmpeg has its own decode threads: OpenCV's thread
    # pool on top only adds contention on frames this small.
    cv2.setNumThreads(1)
    src = job.source
    try:
        size, mtime = stat_source(src)
        if size == 0:
            return WorkResult(
                src, "error", error=f"{src.path}: file is empty (0 bytes); re-copy it"
            )
        checksum = checksum_source(src)
        if checksum in job.known_checksums:
            return WorkResult(src, "known", checksum, size, mtime)
        reader = open_media(
            src.spec or src.path, fps=parse_rate(job.fps), threads=job.decode_threads
        )
        with reader:
            info = reader.info
            warnings = []
            if info.missing:
                gaps = _ranges(info.missing)
                warnings.append(f"{info.path}: {len(info.missing)} missing frame(s) {gaps}")
            tick = progress.put if progress is not None else None
            analysis = analyze_clip(
                reader, long_side=job.long_side, people_every=job.people_every, progress=tick
            )
        warnings += [f"{info.path}: {w}" for w in analysis.warnings]
        if analysis.frames == 0:
            return WorkResult(src, "error", error=f"{src.path}: no frame could be decoded")
        return WorkResult(src, "new", checksum, size, mtime, info, analysis, warnings=warnings)
    except RushesError as e:
        return WorkResult(src, "error", error=str(e))
    except PermissionError as e:
        return WorkResult(src, "error", error=f"{e.filename or src.path}: permission denied")
    except OSError as e:
        return WorkResult(src, "error", error=f"{e.filename or src.path}: {e.strerror}")
    except Exception as e:  # a bug, not a user mistake: keep the trace for the report
        tb = traceback.format_exc(limit=3)
        return WorkResult(src, "error", error=f"{src.path}: internal error {e!r}\n{tb}")


def _ranges(numbers: list[int]) -> str:
    out: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(out)
