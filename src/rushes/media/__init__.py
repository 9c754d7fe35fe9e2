"""Reading and writing pixels and time: PyAV for movies, OpenImageIO for image sequences."""

from rushes.media.checksum import xxh64_file, xxh64_files
from rushes.media.info import IMAGE_EXTENSIONS, MOVIE_EXTENSIONS, MediaInfo
from rushes.media.movie import MovieReader, probe_movie
from rushes.media.open import open_media
from rushes.media.reader import MediaReader, fit_size
from rushes.media.sequence import SequenceReader, SequenceSpec, group_sequences, spec_from_pattern
from rushes.media.writers import write_exr_sequence, write_h264, write_prores

__all__ = [
    "IMAGE_EXTENSIONS",
    "MOVIE_EXTENSIONS",
    "MediaInfo",
    "MediaReader",
    "MovieReader",
    "SequenceReader",
    "SequenceSpec",
    "fit_size",
    "group_sequences",
    "open_media",
    "probe_movie",
    "spec_from_pattern",
    "write_exr_sequence",
    "write_h264",
    "write_prores",
    "xxh64_file",
    "xxh64_files",
]
