"""Reading a shot's frames for estimation: a few samples, small, in the grading space."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from rushes.color import GRADING_SPACE, convert, guess_colorspace, is_scene_linear
from rushes.media import fit_size, open_media
from rushes.project import Clip, Shot
from rushes.project.settings import parse_rate


def shot_colorspace(shot: Shot, default: str | None = None) -> str:
    """The shot's clip's input colour space; see :func:`clip_colorspace`."""
    return clip_colorspace(shot.clip, default)


def clip_colorspace(clip: Clip, default: str | None = None) -> str:
    """The clip's input colour space (catalog value, else the project's default, else a guess)."""
    if clip.colorspace:
        return clip.colorspace
    if default:
        return default
    return guess_colorspace(clip.codec, clip.pix_fmt, clip.bit_depth, {}, clip.kind)


def display_frames(shot: Shot, colorspace: str) -> Iterator[np.ndarray]:
    """The whole shot at full resolution in a display-like encoding, for tracking, wire finding
    and performer detection: scene-linear sources are converted to the grading space; float32
    ``(H, W, 3)`` clipped to [0, 1]. The clip is opened on the first ``next()``."""
    clip = shot.clip
    path, fps, start, stop = Path(clip.path), parse_rate(clip.fps or "24"), shot.start, shot.end
    linear = is_scene_linear(colorspace)

    def frames() -> Iterator[np.ndarray]:
        with open_media(path, fps=fps) as reader:
            for _, f in reader.iter_frames(start, stop):
                yield np.clip(convert(f, colorspace, GRADING_SPACE) if linear else f, 0.0, 1.0)

    return frames()


def sample_frames(shot: Shot, count: int = 5, long_side: int | None = 512) -> list[np.ndarray]:
    """``count`` frames spread evenly over the shot, in the clip's own encoding.

    Returns:
        float32 ``(H, W, 3)`` frames, long side at most ``long_side``.
    """
    clip = shot.clip
    n = max(1, min(count, shot.frames))
    picks = np.linspace(shot.start, shot.end - 1, n + 2)[1:-1] if shot.frames > n else None
    indices = (
        sorted({round(float(i)) for i in picks})
        if picks is not None
        else list(range(shot.start, shot.end))
    )
    size = fit_size(clip.width, clip.height, long_side)
    with open_media(Path(clip.path), fps=parse_rate(clip.fps or "24")) as reader:
        return [reader.read(i, size=size) for i in indices]


def to_grading(frames: list[np.ndarray], colorspace: str) -> list[np.ndarray]:
    """Convert frames from ``colorspace`` to the grading space (ACEScct)."""
    return [convert(f, colorspace, GRADING_SPACE) for f in frames]
