"""The matte interface: where the pixels to remove are, frame by frame.

A :class:`Matte` answers one question, ``mask(index)``: a float32 ``(H, W)`` image in [0, 1]
for frame ``index`` of the shot (0-based, relative to the shot's first frame), white = remove,
values between 0 and 1 a soft edge. Everything else (bounding box, validation) has a default.
Mattes are lazy: a matte built from a thousand mask files or from shapes keyed on every frame
computes one frame's mask when asked, never the whole shot.

Implementations: :class:`~rushes.matte.images.ImageMatte` (mask files),
:class:`~rushes.matte.shapes.ShapeMatte` (drawn / tracked shapes),
:class:`~rushes.matte.wires.WireMatte` (wires found in a region), :class:`StaticMatte` (one
array for every frame) and :class:`UnionMatte` (several mattes at once).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from rushes.errors import MatteError

__all__ = [
    "FULL_COVERAGE",
    "ON_LEVEL",
    "Matte",
    "StaticMatte",
    "UnionMatte",
    "sample_indices",
]

#: A pixel counts as "to remove" (for emptiness, coverage and bounding boxes) at this level.
ON_LEVEL = 0.5
#: A matte covering more than this share of the frame leaves nothing to fill from.
FULL_COVERAGE = 0.9


def sample_indices(frames: int, sample: int) -> list[int]:
    """``sample`` frame indices spread evenly over ``frames`` (first and last included)."""
    if frames <= 0:
        return []
    if sample <= 0 or sample >= frames:
        return list(range(frames))
    if sample == 1:
        return [0]
    return sorted({round(i * (frames - 1) / (sample - 1)) for i in range(sample)})


class Matte(ABC):
    """A per-frame mask of what to remove from a shot.

    Attributes:
        width: Frame width in pixels.
        height: Frame height in pixels.
        frames: Number of frames of the shot (valid indices are ``0 .. frames - 1``).
        name: What the matte was made from, for messages (a file, a shape file ...).
    """

    width: int
    height: int
    frames: int
    name: str = "matte"

    @abstractmethod
    def mask(self, index: int) -> np.ndarray:
        """The mask of frame ``index``.

        Args:
            index: Frame index, 0-based from the shot's first frame.

        Returns:
            float32 mask, 1 = remove, 0 = keep, in between a soft edge.

        Shape:
            ``(height, width)``, values in [0, 1].

        Raises:
            MatteError: ``index`` is outside the shot, or the frame's mask cannot be made.
        """

    def describe(self, index: int) -> str:
        """Where frame ``index``'s mask comes from, for messages (a file name, a shape file)."""
        return self.name

    def check_index(self, index: int) -> int:
        """``index`` as an int, or MatteError when it is not a frame of the shot."""
        i = int(index)
        if not 0 <= i < self.frames:
            raise MatteError(
                f"{self.name}: frame {index} is outside the shot (frames 0-{self.frames - 1})"
            )
        return i

    def bbox(self, index: int) -> tuple[int, int, int, int] | None:
        """Bounding box ``(x, y, w, h)`` of the pixels of frame ``index`` with any weight.

        Returns:
            The box in pixels, or None when the mask of that frame is all zero.
        """
        return mask_bbox(self.mask(index))

    def coverage(self, index: int) -> float:
        """Share of frame ``index`` that is to be removed (pixels at or above :data:`ON_LEVEL`)."""
        return float(np.count_nonzero(self.mask(index) >= ON_LEVEL)) / (self.width * self.height)

    def validate(self, sample: int = 9) -> None:
        """Check a few frames (``sample`` of them, spread over the shot) are usable masks.

        A matte may be empty on some frames (a boom that dips in for part of the shot), not on
        every sampled one.

        Raises:
            MatteError: every sampled frame's mask is empty (nothing to remove), or one covers
                more than 90 % of the frame (nothing left to fill from); the message names the
                frame.
        """
        if self.frames <= 0:
            raise MatteError(f"{self.name}: the shot has no frames")
        empty = []
        picks = sample_indices(self.frames, sample)
        for i in picks:
            m = self.mask(i)
            if m.shape != (self.height, self.width):
                raise MatteError(
                    f"{self.describe(i)}: mask of frame {i} is {m.shape[1]}x{m.shape[0]} but "
                    f"the shot is {self.width}x{self.height}; give a mask of the shot's size"
                )
            on = float(np.count_nonzero(m >= ON_LEVEL)) / m.size
            if not np.any(m > 0):
                empty.append(i)
            if on > FULL_COVERAGE:
                raise MatteError(
                    f"{self.describe(i)}: the mask of frame {i} covers {on:.0%} of the frame, "
                    "nothing left to fill from; white must mark only what to remove "
                    "(an inverted mask?)"
                )
        if len(empty) == len(picks):
            i = empty[0]
            raise MatteError(
                f"{self.describe(i)}: the mask is empty on every frame checked ({len(picks)}, "
                f"from frame {i}): nothing to remove; white marks what to remove"
            )


def mask_bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """Bounding box ``(x, y, w, h)`` of the non-zero pixels of a mask, None if all zero.

    Shape:
        mask: ``(H, W)``, any numeric type.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    y0, y1 = int(rows[0]), int(rows[-1])
    x0, x1 = int(cols[0]), int(cols[-1])
    return x0, y0, x1 - x0 + 1, y1 - y0 + 1


class StaticMatte(Matte):
    """One mask for every frame of the shot (held in memory, it is one frame).

    Args:
        mask: The mask. Shape: ``(H, W)``, values in [0, 1] (clipped; NaN becomes 0).
        frames: Number of frames of the shot.
        name: What it was made from, for messages.
    """

    def __init__(self, mask: np.ndarray, frames: int, name: str = "mask") -> None:
        m = np.asarray(mask, dtype=np.float32)
        if m.ndim != 2 or m.size == 0:
            raise MatteError(f"{name}: a mask must be a 2-D image, got shape {m.shape}")
        self._mask = np.clip(np.nan_to_num(m, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
        self._mask.setflags(write=False)
        self.height, self.width = self._mask.shape
        self.frames = int(frames)
        self.name = name

    def mask(self, index: int) -> np.ndarray:
        """The same mask for every frame (read-only). Shape: ``(height, width)``."""
        self.check_index(index)
        return self._mask


class UnionMatte(Matte):
    """Several mattes of one shot at once: each frame's mask is their pixelwise maximum.

    Args:
        mattes: At least one matte, all of the same size and frame count.

    Raises:
        MatteError: no mattes, or their sizes / frame counts differ.
    """

    def __init__(self, mattes: Sequence[Matte]) -> None:
        if not mattes:
            raise MatteError("no matte given; give a mask, shapes or a wire region")
        first = mattes[0]
        for m in mattes[1:]:
            if (m.width, m.height, m.frames) != (first.width, first.height, first.frames):
                raise MatteError(
                    f"{m.name} is {m.width}x{m.height} ({m.frames} frames) but {first.name} is "
                    f"{first.width}x{first.height} ({first.frames} frames); give mattes of one shot"
                )
        self.mattes = list(mattes)
        self.width, self.height, self.frames = first.width, first.height, first.frames
        self.name = " + ".join(m.name for m in self.mattes)

    def describe(self, index: int) -> str:
        """The names of every part, for messages."""
        return " + ".join(m.describe(index) for m in self.mattes)

    def mask(self, index: int) -> np.ndarray:
        """Pixelwise maximum of the parts' masks. Shape: ``(height, width)``, in [0, 1]."""
        self.check_index(index)
        out = np.array(self.mattes[0].mask(index), dtype=np.float32, copy=True)
        for m in self.mattes[1:]:
            np.maximum(out, m.mask(index), out=out)
        return out
