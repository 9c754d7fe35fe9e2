"""``open_media()``: one entry point for movies, sequences and stills."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from rushes.errors import MediaError, UnsupportedMediaError
from rushes.media.info import IMAGE_EXTENSIONS, MOVIE_EXTENSIONS
from rushes.media.movie import MovieReader
from rushes.media.reader import MediaReader
from rushes.media.sequence import SequenceReader, SequenceSpec, spec_from_pattern


def open_media(
    source: Path | str | SequenceSpec, fps: Fraction | None = None, threads: int = 0
) -> MediaReader:
    """Open a movie, an image sequence (``name.####.exr``, ``%05d.jpg`` or one member) or a still.

    Args:
        source: Path of a movie or image, a sequence pattern, or a :class:`SequenceSpec`.
        fps: Rate for sequences whose files do not carry one.
        threads: Decode threads for movies (0: one per core).

    Raises:
        MediaError: missing, empty, truncated or corrupt media.
        UnsupportedMediaError: a file rushes does not read.
    """
    if isinstance(source, SequenceSpec):
        return SequenceReader(source, fps)
    path = Path(source)
    ext = path.suffix.lower()
    if "%" in path.name or "#" in path.name:
        return SequenceReader(spec_from_pattern(path), fps)
    if path.is_dir():
        raise MediaError(f"{path}: is a folder; give a movie, an image or a sequence pattern")
    if not path.exists():
        raise MediaError(f"{path}: no such file; check the path")
    if ext in IMAGE_EXTENSIONS:
        return SequenceReader(path, fps)
    if ext in MOVIE_EXTENSIONS or ext == "":
        return MovieReader(path, threads)
    try:  # unknown extension: let FFmpeg sniff it
        return MovieReader(path, threads)
    except MediaError:
        raise UnsupportedMediaError(
            f"{path}: {ext or 'this'} is not a media format rushes reads "
            "(movies: MOV/MP4/MXF/MKV; images: EXR/DPX/TIFF/PNG/JPEG)"
        ) from None
