"""Find the media under a set of paths: movies, numbered image sequences and stills."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from rushes.media.info import IMAGE_EXTENSIONS, MOVIE_EXTENSIONS
from rushes.media.sequence import SequenceSpec, group_sequences

# Sidecars that live beside camera media and are not media themselves.
SIDECARS = frozenset(
    {
        ".ale",
        ".csv",
        ".xml",
        ".mhl",
        ".md5",
        ".xxh",
        ".txt",
        ".json",
        ".log",
        ".rmd",
        ".rdc",
        ".rtn",
        ".cdl",
        ".cc",
        ".ccc",
        ".cube",
        ".edl",
        ".otio",
        ".aaf",
        ".wav",
        ".bwf",
        ".pdf",
        ".md",
        ".ds_store",
        ".lut",
        ".3dl",
        ".mp3",
    }
)


@dataclass
class Source:
    """One piece of media to ingest: a movie, a sequence or a still."""

    kind: str  # movie | sequence | still
    path: Path  # movie/still file, or sequence pattern
    spec: SequenceSpec | None = None

    @property
    def files(self) -> list[Path]:
        """Every file belonging to the source."""
        if self.spec is not None:
            return [self.spec.file(n) for n in self.spec.numbers]
        return [self.path]


@dataclass
class ScanResult:
    """What a scan found, and what it could not read (one line per problem)."""

    sources: list[Source] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)


def _folder(folder: Path, result: ScanResult) -> None:
    images: list[Path] = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except PermissionError:
        result.errors.append(f"{folder}: permission denied; grant read access to ingest it")
        return
    except OSError as e:
        result.errors.append(f"{folder}: cannot be listed ({e.strerror})")
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        p = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                _folder(p, result)
                continue
        except OSError as err:
            result.errors.append(f"{p}: cannot be read ({err.strerror})")
            continue
        _classify(p, result, images)
    seqs, stills = group_sequences(images)
    result.sources += [Source("sequence", s.pattern, s) for s in seqs]
    result.sources += [Source("still", s) for s in sorted(stills)]


def _classify(p: Path, result: ScanResult, images: list[Path]) -> None:
    ext = p.suffix.lower()
    if ext in IMAGE_EXTENSIONS:
        images.append(p)
    elif ext in MOVIE_EXTENSIONS:
        result.sources.append(Source("movie", p))
    elif ext in SIDECARS or p.name.lower() in SIDECARS:
        result.skipped.append(p)
    else:
        result.errors.append(
            f"{p}: {ext or 'no extension'} is not a media format rushes reads; skipped"
        )


def scan(paths: list[Path]) -> ScanResult:
    """Walk ``paths`` recursively (files are taken as given) and group image sequences.

    Hidden files and known sidecars (ALE, MHL, CSV, ...) are skipped; unreadable folders and
    unknown files become one error line each, and the scan goes on.
    """
    result = ScanResult()
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            result.errors.append(f"{path}: no such file or folder; check the path")
        elif path.is_dir():
            _folder(path, result)
        else:
            images: list[Path] = []
            _classify(path, result, images)
            if images:
                result.sources.append(Source("still", images[0]))
    return result
