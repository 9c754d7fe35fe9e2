"""Colour: OCIO colour management, ASC CDL, 3D LUTs and colour differences.

- :mod:`rushes.color.ocio`: the built-in ACES studio config, conversions to and from the
  ACEScg working space, display rendering, input colour space guessing.
- :mod:`rushes.color.cdl`: ASC CDL v1.2 (:class:`Cdl`) and its ``.cdl/.cc/.ccc`` files.
- :mod:`rushes.color.lut`: 3D LUTs (:class:`Lut3d`) and ``.cube`` files.
- :mod:`rushes.color.difference`: CIE L*a*b* and CIEDE2000.
"""

from __future__ import annotations

from rushes.color.cdl import Cdl, apply_cdl, read_cdl, write_cdl
from rushes.color.difference import delta_e_2000, delta_e_images, rgb_to_lab
from rushes.color.lut import Lut3d, apply_lut3d, read_cube, write_cube
from rushes.color.ocio import (
    DEFAULT_DISPLAY,
    DEFAULT_VIEW,
    GRADING_SPACE,
    WORKING_SPACE,
    canonical_colorspace,
    config,
    convert,
    from_working,
    guess_colorspace,
    is_scene_linear,
    list_colorspaces,
    to_display,
    to_working,
)

__all__ = [
    "DEFAULT_DISPLAY",
    "DEFAULT_VIEW",
    "GRADING_SPACE",
    "WORKING_SPACE",
    "Cdl",
    "Lut3d",
    "apply_cdl",
    "apply_lut3d",
    "canonical_colorspace",
    "config",
    "convert",
    "delta_e_2000",
    "delta_e_images",
    "from_working",
    "guess_colorspace",
    "is_scene_linear",
    "list_colorspaces",
    "read_cdl",
    "read_cube",
    "rgb_to_lab",
    "to_display",
    "to_working",
    "write_cdl",
    "write_cube",
]
