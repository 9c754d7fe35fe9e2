"""Shot boundaries: cuts, dissolves, fades and dips to a flat colour, in one streaming pass.

The front function :func:`detect_boundaries` runs a :class:`BoundaryDetector` over an iterable
of ``(index, frame)`` pairs; :func:`make_detector` builds one by name for callers that push
frames themselves (the ingest pipeline decodes once and feeds several analyses). Methods live
one per module and are listed in ``METHODS`` (a dict of name to :class:`BoundaryDetector`
subclass, built on first access):

- ``"blend"`` (also ``"default"``): cuts from an HSV histogram + thumbnail change measured
  against its rolling neighbourhood and checked for flashes; dissolves from the fit of each
  frame as a linear mix of the frames either side; fades and dips from runs of black or
  near-uniform frames of any colour (a dip to white, a flash frame between shots); all
  dropped when the view from before comes back after a short or featureless interruption
  (something passing in front of the lens).
- ``"histogram"``: cuts only, from the HSV histogram change against its rolling
  neighbourhood (cheaper, for rough splitting).

Frames are float32 ``(H, W, 3)`` RGB in [0, 1], display-encoded (sRGB / Rec.709 code values),
already downscaled by the caller to an analysis size (about 256-320 px on the long side).

Example:
    >>> import numpy as np
    >>> from rushes.analysis.boundaries import detect_boundaries
    >>> y, x = np.mgrid[0:72, 0:128] / 128.0
    >>> a = np.dstack([x, 0.5 * y, 0.2 + 0 * x]).astype(np.float32)  # two still shots
    >>> b = np.dstack([0.3 + 0 * x, y, 1 - x]).astype(np.float32)
    >>> frames = [a] * 30 + [b] * 30
    >>> [(x.frame, x.kind) for x in detect_boundaries(enumerate(frames), fps=24.0)]
    [(30, 'cut')]
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "KINDS",
    "METHODS",  # noqa: F822 (built on first access, see __getattr__)
    "Boundary",
    "BoundaryDetector",
    "detect_boundaries",
    "make_detector",
]

#: The kinds of boundary a detector reports.
KINDS = ("cut", "dissolve", "fade")


@dataclass(frozen=True)
class Boundary:
    """One shot boundary.

    Attributes:
        frame: First frame of the new shot; for a dissolve or a fade, the centre of the
            transition (rounded), for a fade the centre of its black or flat section.
        kind: ``"cut"``, ``"dissolve"`` or ``"fade"`` (a fade or dip through black, white or
            any near-uniform colour).
        start: First frame of the transition span (``== frame`` for a cut).
        end: Last frame of the transition span (``== frame`` for a cut).
        score: Confidence in [0, 1].
    """

    frame: int
    kind: str
    start: int
    end: int
    score: float


class BoundaryDetector(ABC):
    """A streaming shot-boundary detector: constant memory in the length of the clip.

    Push the frames of one clip in order with :meth:`push`, which returns the boundaries that
    became final (a bounded number of frames after they happened), then call :meth:`finish`
    for the rest. Subclasses implement :meth:`push`; :meth:`finish` defaults to nothing left.
    :meth:`check_frame` validates a pushed frame for them; they call ``super().__init__(fps)``.

    Args:
        fps: Frame rate of the clip (frames per second, > 0); methods scale time windows by it.
    """

    def __init__(self, fps: float = 24.0) -> None:
        fps = float(fps)
        if not np.isfinite(fps) or fps <= 0:
            raise ValueError(f"fps must be a positive number, got {fps}; give the clip's rate")
        self.fps = fps
        self._last_index: int | None = None
        self._shape: tuple[int, ...] | None = None

    @abstractmethod
    def push(self, index: int, frame: np.ndarray) -> list[Boundary]:
        """Add the next frame; return the boundaries that became final, in frame order.

        Args:
            index: Frame number; consecutive integers from the first frame pushed.
            frame: The frame, display-encoded RGB in [0, 1].

        Shape:
            frame: (H, W, 3) float32, the same for every frame of the clip.

        Returns:
            Boundaries that can no longer change, possibly empty.

        Raises:
            ValueError: The frame has the wrong shape, dtype or non-finite values, or the index
                does not follow the previous one.
        """

    def finish(self) -> list[Boundary]:
        """Flush at the end of the clip: the boundaries not returned yet, in frame order."""
        return []

    def check_frame(self, index: int, frame: np.ndarray) -> np.ndarray:
        """Validate one pushed frame and its index; return it as a float32 array.

        Non-finite values are looked for by the method on its reduced copy of the frame
        (cheaper); see :func:`check_finite`.

        Shape:
            frame: (H, W, 3) -> (H, W, 3) float32
        """
        if not isinstance(frame, np.ndarray):
            raise ValueError(f"frame {index} is a {type(frame).__name__}; give a numpy array")
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(
                f"frame {index} has shape {frame.shape}; give an (H, W, 3) RGB image "
                "(a grey frame can be repeated on 3 channels)"
            )
        if frame.shape[0] < 2 or frame.shape[1] < 2:
            raise ValueError(f"frame {index} is {frame.shape[1]}x{frame.shape[0]}; give >= 2x2")
        if not np.issubdtype(frame.dtype, np.floating):
            raise ValueError(
                f"frame {index} has dtype {frame.dtype}; give float RGB in [0, 1] "
                "(e.g. frame.astype(np.float32) / 255 for 8-bit)"
            )
        if self._shape is None:
            self._shape = frame.shape
        elif frame.shape != self._shape:
            raise ValueError(
                f"frame {index} is {frame.shape} but the clip's frames are {self._shape}; "
                "give every frame of one clip at the same size (one detector per clip)"
            )
        index = int(index)
        if self._last_index is not None and index != self._last_index + 1:
            raise ValueError(
                f"frame index {index} does not follow {self._last_index}; push consecutive "
                "frames of one clip (start a new detector for another clip)"
            )
        self._last_index = index
        return frame if frame.dtype == np.float32 else frame.astype(np.float32)


def check_finite(index: int, values: np.ndarray) -> None:
    """Raise ValueError when ``values`` (a reduced copy of frame ``index``) has NaN or inf.

    An area-average reduction propagates NaN and inf, so checking the reduced copy is enough.
    """
    if not np.isfinite(values).all():
        raise ValueError(
            f"frame {index} has NaN or infinite values; give finite RGB in [0, 1] "
            "(e.g. np.nan_to_num(frame) or clip the source)"
        )


@functools.cache
def _method_table() -> dict[str, type[BoundaryDetector]]:
    # Imported on first use: the method modules import this one for the base class.
    from rushes.analysis.boundaries_blend import BlendDetector
    from rushes.analysis.boundaries_histogram import HistogramDetector

    return {"default": BlendDetector, "blend": BlendDetector, "histogram": HistogramDetector}


def __getattr__(name: str) -> Any:
    # ``METHODS`` is built on first access (PEP 562) so method modules can import this one.
    if name == "METHODS":
        return _method_table()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_detector(method: str = "default", fps: float = 24.0, **options: Any) -> BoundaryDetector:
    """Build a streaming boundary detector.

    Args:
        method: A key of :data:`METHODS`.
        fps: Frame rate of the clip (> 0).
        **options: Keyword options of the method's class (see its docstring).

    Returns:
        A fresh detector for one clip.

    Raises:
        ValueError: Unknown method, bad fps or bad option value.
        TypeError: An option the method does not have.
    """
    table = _method_table()
    if method not in table:
        raise ValueError(f"unknown boundary method {method!r}; use one of {sorted(table)}")
    return table[method](fps=fps, **options)


def detect_boundaries(
    frames: Iterable[tuple[int, np.ndarray]],
    fps: float,
    method: str = "default",
    **options: Any,
) -> list[Boundary]:
    """Find the shot boundaries of one clip.

    Args:
        frames: ``(index, frame)`` pairs in order, indices consecutive; each frame
            display-encoded RGB in [0, 1] at an analysis size (about 256-320 px long side).
        fps: Frame rate of the clip (> 0).
        method: A key of :data:`METHODS`.
        **options: Keyword options of the method.

    Shape:
        frame: (H, W, 3) float32, the same for every frame.

    Returns:
        The boundaries sorted by frame.

    Raises:
        ValueError: Bad frames (shape, dtype, NaN/inf), non-consecutive indices, unknown method.
    """
    detector = make_detector(method, fps=fps, **options)
    found: list[Boundary] = []
    for index, frame in frames:
        found.extend(detector.push(index, frame))
    found.extend(detector.finish())
    return sorted(found, key=lambda b: b.frame)
