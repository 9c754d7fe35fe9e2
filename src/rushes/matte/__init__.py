"""Mattes: where the pixels to remove come from (the ``remove`` fix's ``--mask`` / ``--shapes``
/ ``--track`` / ``--wires`` options).

A :class:`Matte` gives a float32 ``(H, W)`` mask in [0, 1] (white = remove) for any frame of a
shot, lazily. Sources:

- mask images: one for the whole shot or one per frame (:func:`open_matte_images`);
- drawn shapes, keyframed polylines with a width and polygons (:func:`parse_shapes`,
  :class:`ShapeMatte`), optionally tracked from the frame they were drawn on through the shot
  (:func:`track_shapes`);
- wires found in a rough region (:func:`find_wires`, :class:`WireMatte`,
  :func:`find_wire_shapes`).

:func:`open_matte` is the front door the CLI uses. Frame indices are 0-based from the shot's
first frame everywhere.

Example:
    >>> matte = open_matte("mattes/%04d.png", None, 1920, 1080, 120)  # doctest: +SKIP
    >>> m = matte.mask(7)  # float32 (1080, 1920), 1 = remove  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from rushes.errors import MatteError
from rushes.matte.base import Matte, StaticMatte, UnionMatte, mask_bbox, sample_indices
from rushes.matte.images import ImageMatte, open_matte_images, read_mask_image
from rushes.matte.shapes import (
    SHAPES_VERSION,
    Shape,
    ShapeMatte,
    ShapeSet,
    parse_shapes,
    render_shape,
)
from rushes.matte.track import TRACK_MODELS, FrameSource, track_shapes
from rushes.matte.wires import (
    Wire,
    WireMatte,
    find_wire_shapes,
    find_wires,
    parse_region,
    wire_mask,
)

__all__ = [
    "SHAPES_VERSION",
    "TRACK_MODELS",
    "FrameSource",
    "ImageMatte",
    "Matte",
    "Shape",
    "ShapeMatte",
    "ShapeSet",
    "StaticMatte",
    "UnionMatte",
    "Wire",
    "WireMatte",
    "find_wire_shapes",
    "find_wires",
    "mask_bbox",
    "open_matte",
    "open_matte_images",
    "parse_region",
    "parse_shapes",
    "read_mask_image",
    "render_shape",
    "sample_indices",
    "track_shapes",
    "wire_mask",
]


def open_matte(
    mask: str | Path | None,
    shapes: str | Path | None,
    width: int,
    height: int,
    frames: int,
    *,
    track: bool = False,
    key: int | None = None,
    wires_region: tuple[int, int, int, int] | str | None = None,
    source: Callable[[int], np.ndarray] | None = None,
    dilate: float = 0.0,
    validate: bool = True,
) -> Matte:
    """The matte of a shot from what the user gave (several sources are combined).

    Args:
        mask: A mask image or per-frame pattern (``--mask``), or None.
        shapes: A JSON shape file (``--shapes``), or None.
        width: Shot width in pixels.
        height: Shot height in pixels.
        frames: Number of frames of the shot.
        track: Track the shapes through the shot from the frame they were drawn on
            (``--track``; needs ``source``).
        key: With ``track``: start from this frame (0-based) instead of the shapes' own keys.
        wires_region: Find wires in this ``(x, y, w, h)`` region, or ``"x,y,w,h"``
            (``--wires --region``; needs ``source``).
        source: The shot's frames by index, float32 RGB ``(H, W, 3)`` in [0, 1], display-like
            encoding (for tracking and wire finding).
        dilate: Grow shapes by this many pixels.
        validate: Check a few frames' masks now (not empty, not the whole frame).

    Returns:
        The matte (lazy: masks are made when asked for).

    Raises:
        MatteError: nothing given, a source missing its frames, or any source's own error
            (bad file, wrong size, lost track, no wire found ...).
        TrackLostError: tracking lost a shape (names the shape and the frame).
    """
    parts: list[Matte] = []
    if track and shapes is None:
        raise MatteError("--track needs --shapes: draw the shapes to track on one frame")
    if (track or wires_region is not None) and source is None:
        raise MatteError("tracking shapes and finding wires need the shot's frames")
    if mask is not None:
        parts.append(open_matte_images(mask, width, height, frames))
    if shapes is not None:
        drawn = parse_shapes(shapes, frames=frames)
        if track:
            assert source is not None
            drawn = track_shapes(drawn, source, frames, key)
        parts.append(ShapeMatte(drawn, width, height, frames, dilate=dilate, name=str(shapes)))
    if wires_region is not None:
        assert source is not None
        region = parse_region(wires_region) if isinstance(wires_region, str) else wires_region
        parts.append(WireMatte(source, frames, region, width, height, pad=1.0 + max(dilate, 0)))
    if not parts:
        raise MatteError("no matte given; give --mask, --shapes or --wires --region")
    matte = parts[0] if len(parts) == 1 else UnionMatte(parts)
    if validate:
        matte.validate()
    return matte
