"""Movies (MOV, MP4, MXF, MKV; ProRes, DNx, H.264/5 ...) through PyAV / FFmpeg."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from rushes.errors import MediaError, UnsupportedMediaError
from rushes.media.info import MediaInfo
from rushes.media.reader import MediaReader, Size
from rushes.media.yuv import yuv_preview

_TC_KEYS = ("timecode",)
# FFmpeg's names of the stream's colour tags (AVColorTransferCharacteristic, AVColorPrimaries)
_TRC = {
    1: "bt709",
    4: "gamma22",
    5: "gamma28",
    6: "smpte170m",
    8: "linear",
    13: "iec61966-2-1",
    14: "bt2020-10",
    15: "bt2020-12",
    16: "smpte2084",
    18: "arib-std-b67",
}
_PRIMARIES = {1: "bt709", 5: "bt470bg", 6: "smpte170m", 9: "bt2020", 11: "smpte431", 12: "smpte432"}
_REEL_KEYS = ("reel_name", "reel", "tape", "com.apple.proapps.reel")


def _bit_depth(pix_fmt: str) -> int:
    try:
        return max(c.bits for c in av.VideoFormat(pix_fmt).components)
    except (ValueError, TypeError):
        return 8


def _open(path: Path) -> Any:
    if not path.exists():
        raise MediaError(f"{path}: no such file; check the path")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: file is empty (0 bytes); re-copy it from the camera card")
    try:
        return av.open(str(path), mode="r", metadata_errors="replace")
    except av.error.FFmpegError as e:
        raise MediaError(
            f"{path}: cannot be read as a movie ({e.strerror or e}); "
            "the file is truncated, corrupt or not a movie"
        ) from None


class MovieReader(MediaReader):
    """Frames of a movie's first video stream.

    Decoding is threaded inside FFmpeg. Random access seeks to the nearest key frame before the
    target and decodes forward, so :meth:`read` is exact on long-GOP media as well as intra.
    """

    def __init__(self, path: Path, threads: int = 0) -> None:
        """Open ``path``; ``threads`` decode threads (0: FFmpeg picks, one per core)."""
        self.path = Path(path)
        self.threads = threads
        self.decode_error: str | None = None
        self.info = probe_movie(self.path)
        self._container: Any = None

    def _stream(self) -> Any:
        if self._container is None:
            self._container = _open(self.path)
            stream = self._container.streams.video[0]
            stream.thread_type = "AUTO"
            stream.thread_count = self.threads
        return self._container.streams.video[0]

    def _index(self, frame: Any, stream: Any) -> int:
        if frame.pts is None:
            return -1
        start = stream.start_time or 0
        rate = self.info.fps or Fraction(24)
        return round((frame.pts - start) * stream.time_base * rate)

    def _seek(self, stream: Any, index: int) -> None:
        rate = self.info.fps or Fraction(24)
        pts = int((stream.start_time or 0) + Fraction(index) / rate / stream.time_base)
        self._container.seek(pts, stream=stream, backward=True, any_frame=False)

    def _decode(self, start: int, stop: int | None) -> Iterator[tuple[int, Any]]:
        """Decoded frames with their indices. The first frame after a seek is placed by its
        timestamp; the frames after it are counted, so jittery or variable timestamps never
        leave holes or repeats in the numbering."""
        stream = self._stream()
        stop = self.info.frames if stop is None else min(stop, self.info.frames)
        try:
            idx: int | None = None
            if start > 0:
                self._seek(stream, start)
            else:
                self._container.seek(0, stream=stream)
                idx = -1
            for frame in self._container.decode(stream):
                if idx is None:
                    idx = self._index(frame, stream)
                    if idx < 0:
                        raise MediaError(
                            f"{self.path}: frames carry no timestamps; random access is "
                            "impossible, read it from the start"
                        )
                else:
                    idx += 1
                if idx < start:
                    continue
                if idx >= stop:
                    break
                yield idx, frame
        except av.error.FFmpegError as e:
            msg = f"{self.path}: decoding failed ({e.strerror or e}); the file may be truncated"
            if idx is None or idx < start:
                raise MediaError(msg) from None
            # frames before the damage were delivered; the caller sees the short count
            self.decode_error = msg

    def iter_frames(
        self, start: int = 0, stop: int | None = None, size: Size | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Float32 frames; see :meth:`MediaReader.iter_frames`. >8-bit sources go via rgb48."""
        deep = self.info.bit_depth > 8
        fmt, scale = ("rgb48le", 1.0 / 65535.0) if deep else ("rgb24", 1.0 / 255.0)
        w, h = size if size else (None, None)
        for idx, frame in self._decode(start, stop):
            rgb = frame.reformat(width=w, height=h, format=fmt, interpolation="AREA")
            out = rgb.to_ndarray().astype(np.float32)
            out *= np.float32(scale)  # in place: one frame-size allocation, not two
            yield idx, out

    def iter_frames_u8(
        self, start: int = 0, stop: int | None = None, size: Size | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """uint8 display frames at the target size (the fast analysis path): 8-bit planar YUV
        is scaled plane by plane and converted small; other formats go through swscale."""
        w, h = size if size else (self.info.width, self.info.height)
        for idx, frame in self._decode(start, stop):
            small = yuv_preview(frame, (w, h))
            if small is None:
                small = frame.reformat(
                    width=w, height=h, format="rgb24", interpolation="AREA"
                ).to_ndarray()
            yield idx, small

    def close(self) -> None:
        """Close the container."""
        if self._container is not None:
            self._container.close()
            self._container = None


def _count_frames(container: Any, stream: Any) -> int:
    """Count video packets by demuxing (no decoding) when the header does not say."""
    n = 0
    for packet in container.demux(stream):
        if packet.size:
            n += 1
    return n


def probe_movie(path: Path) -> MediaInfo:
    """Probe a movie's first video stream: size, rate, codec, bit depth, timecode, reel.

    Raises:
        MediaError: the file is missing, empty, truncated or corrupt.
        UnsupportedMediaError: the file has no video stream.
    """
    path = Path(path)
    container = _open(path)
    try:
        if not container.streams.video:
            raise UnsupportedMediaError(f"{path}: has no video stream; give a movie with picture")
        stream = container.streams.video[0]
        cc = stream.codec_context
        rate = stream.average_rate or stream.base_rate or stream.guessed_rate
        fps = Fraction(rate).limit_denominator(1001) if rate else None
        frames = int(stream.frames or 0)
        if frames <= 0:
            frames = _count_frames(container, stream)
        if frames <= 0:
            raise MediaError(f"{path}: contains no decodable video frames; the file is corrupt")
        meta: dict[str, str] = {}
        for src in (container.metadata, stream.metadata):
            meta.update({str(k): str(v) for k, v in src.items()})
        for s in container.streams:
            if s.type == "data":
                meta.update({f"{s.type}:{k}": str(v) for k, v in s.metadata.items()})
        if cc.color_trc in _TRC:
            meta["color_trc"] = _TRC[cc.color_trc]
        if cc.color_primaries in _PRIMARIES:
            meta["color_primaries"] = _PRIMARIES[cc.color_primaries]
        tc = next((v for k, v in meta.items() if k.split(":")[-1] in _TC_KEYS), None)
        reel = next((v for k, v in meta.items() if k.split(":")[-1].lower() in _REEL_KEYS), None)
        pix_fmt = cc.pix_fmt or (stream.format.name if stream.format else "unknown")
        return MediaInfo(
            path=path,
            kind="movie",
            width=int(cc.width),
            height=int(cc.height),
            frames=frames,
            fps=fps,
            codec=cc.name,
            pix_fmt=pix_fmt,
            bit_depth=_bit_depth(pix_fmt),
            timecode=tc,
            reel=reel,
            files=[path],
            metadata=meta,
        )
    finally:
        container.close()
