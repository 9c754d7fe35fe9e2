"""The reader interface shared by movies and image sequences."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from types import TracebackType

import numpy as np

from rushes.media.info import MediaInfo

Size = tuple[int, int]


def fit_size(width: int, height: int, long_side: int | None) -> Size:
    """Scale ``(width, height)`` so its long side is at most ``long_side``; even dimensions.

    Never upscales. ``None`` keeps the size.
    """
    if long_side is None or max(width, height) <= long_side:
        return width, height
    s = long_side / max(width, height)
    return max(2, round(width * s / 2) * 2), max(2, round(height * s / 2) * 2)


class MediaReader(ABC):
    """Random access and streaming over the frames of one movie or image sequence.

    Frames are numbered from 0 to ``info.frames - 1`` whatever the source's own numbering
    (a sequence starting at 1001 has frame 0 = file 1001; ``info.first_frame`` keeps 1001).
    Pixels come back as float32 ``(H, W, 3)`` RGB in the source's own encoding, scaled to
    [0, 1] for integer sources (10-bit stays 10-bit: it is read through 16-bit, never 8)
    and unscaled for float sources (scene-linear EXR values above 1 are kept).

    Subclasses implement :meth:`iter_frames`; :meth:`read` and :meth:`iter_chunks` have
    defaults built on it.
    """

    info: MediaInfo

    @abstractmethod
    def iter_frames(
        self, start: int = 0, stop: int | None = None, size: Size | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, frame)`` for frames ``start <= index < stop`` in order.

        Args:
            start: First frame index.
            stop: One past the last index; ``None`` for the end.
            size: ``(width, height)`` to resize to (area filter), or ``None`` for full size.

        Yields:
            Index and float32 frame. Shape: ``(H, W, 3)``.
        """

    def iter_frames_u8(
        self, start: int = 0, stop: int | None = None, size: Size | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Like :meth:`iter_frames` but uint8 ``(H, W, 3)`` display previews (analysis, thumbs).

        Float sources are clipped to [0, 1] before quantizing. Subclasses may override with a
        faster path (a movie converts straight from YUV to 8-bit RGB at the target size).
        """
        for i, f in self.iter_frames(start, stop, size):
            yield i, (np.clip(f, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)

    def read(self, index: int, size: Size | None = None) -> np.ndarray:
        """Return one frame by index. Shape: ``(H, W, 3)`` float32."""
        if not 0 <= index < self.info.frames:
            raise IndexError(
                f"frame {index} is out of range for {self.info.path} (0..{self.info.frames - 1})"
            )
        for _, frame in self.iter_frames(index, index + 1, size):
            return frame
        raise IndexError(f"frame {index} of {self.info.path} could not be decoded")

    def iter_chunks(
        self, chunk: int = 16, start: int = 0, stop: int | None = None, size: Size | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(first_index, frames)`` chunks of at most ``chunk`` frames.

        Shape: frames are ``(N, H, W, 3)`` float32.
        """
        buf: list[np.ndarray] = []
        first = start
        for i, frame in self.iter_frames(start, stop, size):
            if not buf:
                first = i
            buf.append(frame)
            if len(buf) == chunk:
                yield first, np.stack(buf)
                buf = []
        if buf:
            yield first, np.stack(buf)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release file handles."""

    def __enter__(self) -> MediaReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
