"""What a probe knows about a piece of media, before any pixel is decoded."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

MOVIE_EXTENSIONS = frozenset(
    {".mov", ".mp4", ".m4v", ".mxf", ".mkv", ".avi", ".mts", ".m2ts", ".webm", ".mpg", ".mpeg"}
)
IMAGE_EXTENSIONS = frozenset(
    {".exr", ".dpx", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".cin", ".bmp", ".tga"}
)

_GENERIC_FOLDERS = frozenset({"frames", "images", "plates", "exr", "dpx", "tiff", "jpg", "png"})


@dataclass
class MediaInfo:
    """Probed description of a movie or image sequence.

    Attributes:
        path: The movie file, or the sequence pattern (``name.%04d.exr``).
        kind: ``"movie"``, ``"sequence"`` (numbered frames) or ``"still"`` (one image).
        width: Picture width in pixels.
        height: Picture height in pixels.
        frames: Number of frames present (for a sequence with gaps: frames on disk).
        fps: Frame rate as an exact fraction (``24000/1001``); ``None`` when unknown.
        codec: Codec (``prores``, ``h264``) or image format (``openexr``, ``dpx``).
        pix_fmt: FFmpeg pixel format or OIIO channel format (``half``, ``uint16``).
        bit_depth: Bits per component of the source (8, 10, 12, 16, 32).
        first_frame: Frame number of the first frame (0 for movies, e.g. 1001 for sequences).
        timecode: Source start timecode ``HH:MM:SS:FF`` when the media carries one.
        reel: Reel / tape name when the media carries one.
        missing: Frame numbers missing from a numbered sequence.
        files: Paths of every file belonging to the media (one for a movie).
        metadata: Camera and container metadata, verbatim.
    """

    path: Path
    kind: str
    width: int
    height: int
    frames: int
    fps: Fraction | None
    codec: str
    pix_fmt: str
    bit_depth: int
    first_frame: int = 0
    timecode: str | None = None
    reel: str | None = None
    missing: list[int] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """Clip name: the file stem, or the sequence prefix without frame number."""
        stem = self.path.name
        if self.kind == "sequence":
            stem = stem.split("%", 1)[0].rstrip("._-")
            if stem:
                return stem
            folder = self.path.parent
            while folder.name.lower() in _GENERIC_FOLDERS and folder.parent != folder:
                folder = folder.parent
            return folder.name
        return self.path.stem

    @property
    def fps_float(self) -> float | None:
        """Frame rate as a float, for display only."""
        return float(self.fps) if self.fps else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable form."""
        d = asdict(self)
        d["path"] = str(self.path)
        d["fps"] = str(self.fps) if self.fps else None
        d["files"] = [str(f) for f in self.files]
        d["name"] = self.name
        return d
