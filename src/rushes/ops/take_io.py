"""Other takes as frame providers for the fill: a take read frame by frame, opened lazily,
converted to the encoding of the shot being filled, from the catalog or from a stored plan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rushes.color import convert
from rushes.errors import FillError
from rushes.media import MediaReader, fit_size, open_media
from rushes.ops.frames import shot_colorspace
from rushes.project import Project, Shot, parse_rate


@dataclass
class Take:
    """Another take of the setup, read frame by frame.

    Attributes:
        name: Shown in messages and in :class:`TakeMatch` (e.g. the shot's name).
        frames: Number of frames; ``read`` accepts ``0 .. frames - 1``.
        read: Frame number -> float32 ``(H, W, 3)`` RGB in the same encoding as the shot being
            filled (display-referred or log, about [0, 1]); any size (resized to the shot's).
        closer: Releases what ``read`` holds open (a media reader); called by :meth:`close`.
    """

    name: str
    frames: int
    read: Callable[[int], np.ndarray]
    closer: Callable[[], None] | None = None

    def close(self) -> None:
        """Release the take's reader (it reopens on the next read)."""
        if self.closer is not None:
            self.closer()


class _ShotFrames:
    """Frames of one shot, opened on first read, converted to the target encoding."""

    def __init__(
        self,
        path: Path,
        fps: str,
        start: int,
        size: tuple[int, int] | None,
        src_space: str | None,
        dst_space: str | None,
    ) -> None:
        self.path = path
        self.fps = fps
        self.start = start
        self.size = size
        self.src_space = src_space
        self.dst_space = dst_space
        self._reader: MediaReader | None = None

    def __call__(self, i: int) -> np.ndarray:
        if self._reader is None:
            self._reader = open_media(self.path, fps=parse_rate(self.fps))
        size = self.size
        if size is not None and size == (self._reader.info.width, self._reader.info.height):
            size = None
        img = self._reader.read(self.start + i, size=size)
        if self.src_space and self.dst_space and self.src_space != self.dst_space:
            img = convert(img, self.src_space, self.dst_space)
        return img

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def take_from_record(
    record: dict[str, Any], colorspace: str | None = None, long_side: int | None = None
) -> Take:
    """A take from a plain record of a shot, so a stored plan opens it without the catalog.

    Args:
        record: ``name``, ``path`` (the clip), ``start`` and ``end`` (frames of the clip,
            ``end`` exclusive), and optionally ``fps`` (for sequences) and ``colorspace`` (the
            clip's input colour space).
        colorspace: The encoding the shot is filled in; the take is converted to it from its
            own ``colorspace``. ``None``: the take's own encoding, unconverted.
        long_side: Read the take with at most this long side (the shot's working size), or
            full size.

    Raises:
        FillError: A record missing a key or with an empty range.
    """
    try:
        name, path = str(record["name"]), Path(record["path"])
        start, end = int(record["start"]), int(record["end"])
    except (KeyError, TypeError, ValueError):
        raise FillError(
            f"take record {record!r} needs name, path, start and end; re-plan the fix"
        ) from None
    if end <= start:
        raise FillError(f"take {name} has no frames ({start}..{end}); re-plan the fix")
    size = None
    if long_side is not None and record.get("width") and record.get("height"):
        size = fit_size(int(record["width"]), int(record["height"]), long_side)
    reader = _ShotFrames(
        path, str(record.get("fps") or "24"), start, size, record.get("colorspace"), colorspace
    )
    return Take(name=name, frames=end - start, read=reader, closer=reader.close)


def takes_for_shot(
    project: Project,
    shot: Shot,
    long_side: int | None = None,
    colorspace: str | None = None,
) -> list[Take]:
    """The other shots of ``shot``'s camera setup, as takes to fill from.

    Call it inside a catalog session (it follows ``shot.setup.shots``); the takes it returns
    keep only paths and numbers (:func:`take_from_record`), and open their media lazily on the
    first read.

    Args:
        project: The project (its default colour space and rate).
        shot: The shot being filled.
        long_side: Read the takes with at most this long side (as the shot is read), or full
            size.
        colorspace: The encoding the shot is filled in; takes in another input colour space
            are converted to it. ``None``: the shot's own input colour space.

    Returns:
        One :class:`Take` per other shot of the setup, by name; empty when the shot has no
        setup. Close them (or the :class:`TakeSource` holding them) when done.
    """
    setup = shot.setup
    if setup is None:
        return []
    default = project.settings.color.input_colorspace
    target = colorspace or shot_colorspace(shot, default)
    takes: list[Take] = []
    for other in sorted(setup.shots, key=lambda s: s.name):
        if other is shot or (shot.id is not None and other.id == shot.id) or other.frames <= 0:
            continue
        clip = other.clip
        record = {
            "name": other.name,
            "path": clip.path,
            "fps": clip.fps or project.settings.fps,
            "start": other.start,
            "end": other.end,
            "width": clip.width,
            "height": clip.height,
            "colorspace": shot_colorspace(other, default),
        }
        takes.append(take_from_record(record, target, long_side))
    return takes


__all__ = ["Take", "take_from_record", "takes_for_shot"]
