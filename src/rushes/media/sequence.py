"""Numbered image sequences (EXR, DPX, TIFF, PNG, JPEG ...) and stills through OpenImageIO."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import OpenImageIO as oiio

from rushes.errors import MediaError, UnsupportedMediaError
from rushes.media.info import IMAGE_EXTENSIONS, MediaInfo
from rushes.media.reader import MediaReader, Size

_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<digits>\d+)(?P<suffix>\.[A-Za-z0-9]+)$")
_PRINTF = re.compile(r"%0?(\d*)d")
_HASHES = re.compile(r"(#+|@+)")
_BITS = {"uint8": 8, "int8": 8, "uint16": 16, "int16": 16, "half": 16, "float": 32, "uint32": 32}


@dataclass(frozen=True)
class SequenceSpec:
    """Where the frames of a sequence are: ``folder/prefix + number + suffix``.

    ``padding`` is the zero-padded width (``name.0001.exr`` -> 4); 0 means unpadded.
    """

    folder: Path
    prefix: str
    suffix: str
    padding: int
    numbers: tuple[int, ...]

    def file(self, number: int) -> Path:
        """Path of the file holding frame ``number``."""
        return self.folder / f"{self.prefix}{number:0{self.padding}d}{self.suffix}"

    @property
    def pattern(self) -> Path:
        """printf-style pattern, e.g. ``plate.%04d.exr``."""
        pad = f"%0{self.padding}d" if self.padding else "%d"
        return self.folder / f"{self.prefix}{pad}{self.suffix}"

    @property
    def missing(self) -> list[int]:
        """Frame numbers between the first and last that have no file."""
        have = set(self.numbers)
        return [n for n in range(self.numbers[0], self.numbers[-1] + 1) if n not in have]


def group_sequences(files: list[Path]) -> tuple[list[SequenceSpec], list[Path]]:
    """Group image files of one folder into numbered sequences.

    Returns:
        ``(sequences, stills)``: files sharing prefix, suffix and padding form a sequence;
        an image with no frame number, or the only one of its pattern, is a still.
    """
    groups: dict[tuple[Path, str, str, int], list[int]] = {}
    stills: list[Path] = []
    for f in files:
        m = _NUMBERED.match(f.name)
        if not m:
            stills.append(f)
            continue
        digits = m["digits"]
        pad = len(digits) if digits.startswith("0") or len(digits) > 1 else 0
        key = (f.parent, m["prefix"], m["suffix"], pad)
        groups.setdefault(key, []).append(int(digits))
    seqs: list[SequenceSpec] = []
    for (folder, prefix, suffix, pad), nums in groups.items():
        if len(nums) == 1:
            stills.append(folder / f"{prefix}{nums[0]:0{pad}d}{suffix}")
            continue
        seqs.append(SequenceSpec(folder, prefix, suffix, pad, tuple(sorted(nums))))
    return seqs, stills


def spec_from_pattern(pattern: Path) -> SequenceSpec:
    """Find the files of ``name.####.exr``, ``name.%04d.exr`` or one member ``name.0001.exr``.

    Raises:
        MediaError: no file matches.
    """
    pattern = Path(pattern)
    name = pattern.name
    m = _PRINTF.search(name) or _HASHES.search(name)
    if m is None:
        num = _NUMBERED.match(name)
        if num is None:
            raise MediaError(f"{pattern}: not a numbered image sequence")
        prefix, suffix = num["prefix"], num["suffix"]
    else:
        prefix, suffix = name[: m.start()], name[m.end() :]
    folder = pattern.parent
    try:
        names = os.listdir(folder)
    except OSError as e:
        raise MediaError(f"{folder}: cannot list folder ({e.strerror})") from None
    rx = re.compile(re.escape(prefix) + r"(\d+)" + re.escape(suffix) + "$")
    hits = [(int(mm[1]), len(mm[1])) for n in names if (mm := rx.match(n))]
    if not hits:
        raise MediaError(f"{pattern}: no files match this sequence pattern")
    pad = max(p for _, p in hits) if any(len(str(n)) < p for n, p in hits) else 0
    return SequenceSpec(folder, prefix, suffix, pad, tuple(sorted(n for n, _ in hits)))


def _attr(spec: Any, *names: str) -> Any:
    for n in names:
        v = spec.getattribute(n)
        if v is not None:
            return v
    return None


def _fps(v: Any) -> Fraction | None:
    if v is None:
        return None
    try:
        if isinstance(v, tuple | list):
            return Fraction(int(v[0]), int(v[1])) if int(v[1]) else None
        f = float(v)
        return Fraction(f).limit_denominator(1001) if f > 0 else None
    except (TypeError, ValueError):
        return None


def _timecode(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    try:  # SMPTE 12M packed BCD pair as OIIO returns it for EXR/DPX
        word = int(v[0]) if isinstance(v, tuple | list) else int(v)
        digits = [(word >> s) & 0xF for s in range(28, -4, -4)]
        hh, mm, ss, ff = (
            (digits[0] & 0x3) * 10 + digits[1],
            (digits[2] & 0x7) * 10 + digits[3],
            (digits[4] & 0x7) * 10 + digits[5],
            (digits[6] & 0x3) * 10 + digits[7],
        )
        return f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}"
    except (TypeError, ValueError, IndexError):
        return None


def _read_file(path: Path) -> np.ndarray:
    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        raise MediaError(f"{path}: cannot be read as an image ({oiio.geterror() or 'corrupt'})")
    try:
        spec = inp.spec()
        # every source is read as float: integer codes come back scaled to [0, 1]
        pixels = inp.read_image(0, 0, 0, min(spec.nchannels, 3), oiio.FLOAT)
        if pixels is None:
            raise MediaError(f"{path}: pixels cannot be decoded ({inp.geterror() or 'corrupt'})")
    finally:
        inp.close()
    img = np.asarray(pixels, dtype=np.float32)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.shape[2] < 3:  # grey (or grey + alpha): repeat the grey channel
        img = np.repeat(img[:, :, :1], 3, axis=2)
    return np.ascontiguousarray(img[:, :, :3])


class SequenceReader(MediaReader):
    """Frames of a numbered image sequence, or of one still (a one-frame clip).

    Frame index ``i`` is the ``i``-th file present on disk; :attr:`MediaInfo.missing` lists the
    frame numbers with no file, so a gap is reported, not silently filled.
    """

    def __init__(self, spec: SequenceSpec | Path, fps: Fraction | None = None) -> None:
        self.spec = spec if isinstance(spec, SequenceSpec) else None
        self.files = (
            [spec.file(n) for n in spec.numbers] if isinstance(spec, SequenceSpec) else [Path(spec)]
        )
        self.info = self._probe(fps)

    def _probe(self, fps: Fraction | None) -> MediaInfo:
        first = self.files[0]
        if not first.exists():
            raise MediaError(f"{first}: no such file; check the path")
        if first.stat().st_size == 0:
            raise MediaError(f"{first}: file is empty (0 bytes); re-copy it")
        inp = oiio.ImageInput.open(str(first))
        if inp is None:
            raise UnsupportedMediaError(
                f"{first}: cannot be read as an image ({oiio.geterror() or 'unknown format'})"
            )
        try:
            spec = inp.spec()
            fmt_name = inp.format_name()
            basetype = str(spec.format)
            bits = int(_attr(spec, "oiio:BitsPerSample") or _BITS.get(basetype, 8))
            meta = {a.name: str(a.value) for a in spec.extra_attribs}
            rate = _fps(_attr(spec, "FramesPerSecond", "dpx:FrameRate")) or fps
            tc = _timecode(_attr(spec, "smpte:TimeCode", "dpx:TimeCode"))
            reel = _attr(spec, "dpx:InputDevice", "reelName")
            width, height = spec.width, spec.height
        finally:
            inp.close()
        seq = self.spec
        return MediaInfo(
            path=seq.pattern if seq else first,
            kind="sequence" if seq else "still",
            width=width,
            height=height,
            frames=len(self.files),
            fps=rate,
            codec=fmt_name,
            pix_fmt=basetype,
            bit_depth=bits,
            first_frame=seq.numbers[0] if seq else 0,
            timecode=tc,
            reel=str(reel) if reel else None,
            missing=seq.missing if seq else [],
            files=list(self.files),
            metadata=meta,
        )

    def iter_frames(
        self, start: int = 0, stop: int | None = None, size: Size | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Float32 frames; see :meth:`MediaReader.iter_frames`."""
        stop = len(self.files) if stop is None else min(stop, len(self.files))
        for i in range(max(0, start), stop):
            img = _read_file(self.files[i])
            if img.shape[1] != self.info.width or img.shape[0] != self.info.height:
                raise MediaError(
                    f"{self.files[i]}: is {img.shape[1]}x{img.shape[0]} but the sequence is "
                    f"{self.info.width}x{self.info.height}; remove or re-render this frame"
                )
            if size and (size[0], size[1]) != (img.shape[1], img.shape[0]):
                img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
            yield i, img


def is_image(path: Path) -> bool:
    """True when the extension is an image format read as a sequence or still."""
    return path.suffix.lower() in IMAGE_EXTENSIONS
