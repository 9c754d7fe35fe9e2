"""ASC Color Decision List (CDL v1.2): the kernel, the :class:`Cdl` record and its XML files.

A CDL is ten numbers applied per pixel, in this order:

1. SOP, per channel: ``out = max(in * slope + offset, 0) ** power``. Negative values are clamped
   to 0 before the power (as the ASC spec and DaVinci Resolve do); there is **no upper clamp**,
   so scene-linear or log values above 1 pass through.
2. Saturation with Rec.709 luma weights ``(0.2126, 0.7152, 0.0722)``:
   ``luma = w . out``; ``out = luma + saturation * (out - luma)``. No clamp afterwards either
   (saturation > 1 can push a channel below 0; the ASC spec's final [0, 1] clamp is left out on
   purpose, as in OCIO's "no clamp" CDL styles, so a CDL never destroys scene-linear range).

The numbers are meant for the grading (log) encoding of the project, ACEScct
(:data:`rushes.color.GRADING_SPACE`); the kernel itself is encoding-agnostic.

Files: ``.cdl`` (ColorDecisionList), ``.cc`` (a single ColorCorrection) and ``.ccc``
(ColorCorrectionCollection), namespace ``urn:ASC:CDL:v1.01``, six decimals, the forms DaVinci
Resolve, Baselight and Avid read. :func:`read_cdl` accepts all three, namespaced or not, with the
tag spellings of older writers (``SATNode``/``SatNode``, any case).

Example:
    >>> import numpy as np
    >>> cdl = Cdl(slope=(2.0, 2.0, 2.0), offset=(0.1, 0.1, 0.1), power=(0.5, 0.5, 0.5))
    >>> [round(float(v), 4) for v in cdl.apply(np.array([0.0, 0.12, 0.5], np.float32))]
    [0.3162, 0.5831, 1.0488]
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rushes.atomic import write_text_atomic
from rushes.errors import CdlError

__all__ = [
    "ASC_NAMESPACE",
    "FORMATS",
    "LUMA_WEIGHTS",
    "Cdl",
    "apply_cdl",
    "read_cdl",
    "write_cdl",
]

#: XML namespace written in every CDL file (the ASC CDL 1.01 schema, still current in v1.2).
ASC_NAMESPACE = "urn:ASC:CDL:v1.01"

#: Rec.709 luma weights used by the saturation step (ASC CDL v1.2).
LUMA_WEIGHTS: tuple[float, float, float] = (0.2126, 0.7152, 0.0722)

#: File forms by extension: ColorDecisionList, single ColorCorrection, ColorCorrectionCollection.
FORMATS: dict[str, str] = {
    "cdl": "ColorDecisionList",
    "cc": "ColorCorrection",
    "ccc": "ColorCorrectionCollection",
}

Triple = tuple[float, float, float]


# --------------------------------------------------------------------------------------------
# Kernel


def apply_cdl(
    rgb: np.ndarray,
    slope: Any = (1.0, 1.0, 1.0),
    offset: Any = (0.0, 0.0, 0.0),
    power: Any = (1.0, 1.0, 1.0),
    saturation: Any = 1.0,
) -> np.ndarray:
    """Apply an ASC CDL (SOP then saturation) to RGB values; the pure, vectorized kernel.

    ``out = max(rgb * slope + offset, 0) ** power``, then
    ``out = luma + saturation * (out - luma)`` with Rec.709 luma weights. Negatives are clamped
    to 0 before the power only; nothing is ever clamped above 1 and nothing after saturation.
    NaN propagates. The input is never modified.

    Args:
        rgb: RGB values in any encoding and range (usually ACEScct code values, ~[0, 1.5]).
        slope: per-channel slope, broadcastable against ``rgb`` (e.g. shape ``(3,)``, or
            ``(N, 1, 1, 3)`` for one CDL per frame of an ``(N, H, W, 3)`` stack).
        offset: per-channel offset, broadcastable like ``slope``.
        power: per-channel power (> 0), broadcastable like ``slope``.
        saturation: scalar, or broadcastable against ``rgb[..., 0]`` with a trailing axis of 1
            (e.g. ``(N, 1, 1, 1)``).

    Returns:
        float32 RGB in the same encoding as ``rgb``.

    Shape:
        - rgb: ``(..., 3)``
        - output: ``(..., 3)`` (the broadcast shape)

    Raises:
        CdlError: ``rgb`` does not end in an axis of 3.
    """
    x = np.asarray(rgb)
    if x.ndim == 0 or x.shape[-1] != 3:
        raise CdlError(f"CDL input has shape {x.shape}; give RGB values with a last axis of 3")
    s = np.asarray(slope, np.float32)
    o = np.asarray(offset, np.float32)
    p = np.asarray(power, np.float32)
    sat = np.asarray(saturation, np.float32)

    out = np.multiply(x, s, dtype=np.float32)  # always a new array: the input is untouched
    if np.any(o != 0.0):
        out += o
    np.maximum(out, 0.0, out=out)  # NaN propagates through maximum
    if np.any(p != 1.0):
        np.power(out, p, out=out)
    if np.any(sat != 1.0):
        w = np.asarray(LUMA_WEIGHTS, np.float32)
        luma = np.matmul(out, w)[..., None]  # BLAS: ~50x faster than (out * w).sum(-1)
        out -= luma
        out *= sat
        out += luma
    return out


# --------------------------------------------------------------------------------------------
# Record


def _triple(name: str, value: Any) -> Triple:
    """Coerce a scalar or 3 numbers into a tuple of 3 finite floats."""
    try:
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise CdlError(f"CDL {name} is {value!r}; give 3 numbers") from exc
    if arr.size == 1:
        arr = np.repeat(arr, 3)
    if arr.size != 3:
        raise CdlError(f"CDL {name} has {arr.size} values ({value!r}); give 3 (R, G, B)")
    if not np.all(np.isfinite(arr)):
        raise CdlError(f"CDL {name} is {value!r}; give finite numbers")
    return (float(arr[0]), float(arr[1]), float(arr[2]))


@dataclass(frozen=True)
class Cdl:
    """One ASC CDL v1.2 correction (a ColorCorrection): slope, offset, power, saturation.

    Values are validated and normalised on construction: each of slope/offset/power becomes a
    tuple of 3 floats (a scalar is repeated), all finite, ``slope >= 0``, ``power > 0``,
    ``saturation >= 0`` (the ASC ranges).

    Attributes:
        slope: per-channel gain (R, G, B), >= 0.
        offset: per-channel offset (R, G, B), added after the slope.
        power: per-channel power (R, G, B), > 0, applied after clamping negatives to 0.
        saturation: Rec.709-luma saturation, >= 0 (1 = unchanged, 0 = grey).
        id: the ColorCorrection ``id`` attribute (e.g. a shot or clip name), or None.
        description: a free-text ``<Description>``, or None.

    Raises:
        CdlError: a value is not 3 finite numbers or is outside the ASC range.
    """

    slope: Triple = (1.0, 1.0, 1.0)
    offset: Triple = (0.0, 0.0, 0.0)
    power: Triple = (1.0, 1.0, 1.0)
    saturation: float = 1.0
    id: str | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        slope = _triple("slope", self.slope)
        offset = _triple("offset", self.offset)
        power = _triple("power", self.power)
        try:
            sat = float(self.saturation)
        except (TypeError, ValueError) as exc:
            raise CdlError(f"CDL saturation is {self.saturation!r}; give one number") from exc
        if min(slope) < 0:
            raise CdlError(f"CDL slope is {slope}; slopes must be >= 0")
        if min(power) <= 0:
            raise CdlError(f"CDL power is {power}; powers must be > 0")
        if not math.isfinite(sat) or sat < 0:
            raise CdlError(f"CDL saturation is {sat}; give a finite number >= 0")
        object.__setattr__(self, "slope", slope)
        object.__setattr__(self, "offset", offset)
        object.__setattr__(self, "power", power)
        object.__setattr__(self, "saturation", sat)
        if self.id is not None:
            object.__setattr__(self, "id", str(self.id))
        if self.description is not None:
            object.__setattr__(self, "description", str(self.description))

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """Apply this CDL with :func:`apply_cdl`; the input is never modified.

        Args:
            rgb: RGB values in the grading encoding (usually ACEScct code values), any range.

        Returns:
            float32 RGB in the same encoding; never clamped above 1.

        Shape:
            - rgb: ``(..., 3)``
            - output: same as ``rgb``
        """
        return apply_cdl(rgb, self.slope, self.offset, self.power, self.saturation)

    __call__ = apply

    def is_identity(self, tol: float = 1e-6) -> bool:
        """True when every value is within ``tol`` of the identity CDL (ids are ignored)."""
        vals = np.array([*self.slope, *self.offset, *self.power, self.saturation])
        ident = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
        return bool(np.all(np.abs(vals - ident) <= tol))

    def inverse(self) -> Cdl | None:
        """The CDL that undoes this one, when a single CDL can; otherwise None.

        A CDL applies SOP then saturation, so its inverse (saturation⁻¹ then SOP⁻¹) is itself a
        CDL only when ``saturation == 1``. Per channel, ``y = (x s + o) ** p`` inverts to
        ``x = (y ** (1/p) - o) / s``, which has the CDL form ``(y s' + o') ** p'`` only when
        ``p == 1`` (``s' = 1/s, o' = -o/s``) or ``o == 0`` (``s' = s ** -p, p' = 1/p``).
        ``slope == 0`` is never invertible. The inverse is exact for values the forward CDL did
        not clamp (``x s + o >= 0``); clamped values come back as ``-o/s``.

        Returns:
            The inverse CDL (same id, description prefixed "inverse of"), or None when
            ``saturation != 1``, a slope is 0, or a channel has both an offset and a power.
        """
        if self.saturation != 1.0:
            return None
        slope: list[float] = []
        offset: list[float] = []
        power: list[float] = []
        for s, o, p in zip(self.slope, self.offset, self.power, strict=True):
            if s == 0.0:
                return None
            if p == 1.0:
                slope.append(1.0 / s)
                offset.append(-o / s)
                power.append(1.0)
            elif o == 0.0:
                slope.append(s ** (-p))
                offset.append(0.0)
                power.append(1.0 / p)
            else:
                return None
        desc = f"inverse of {self.description}" if self.description else "inverse"
        return Cdl(
            (slope[0], slope[1], slope[2]),
            (offset[0], offset[1], offset[2]),
            (power[0], power[1], power[2]),
            1.0,
            id=self.id,
            description=desc,
        )

    @staticmethod
    def identity() -> Cdl:
        """The CDL that changes nothing."""
        return Cdl()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict (lists for the triples), the inverse of :meth:`from_dict`."""
        return {
            "slope": list(self.slope),
            "offset": list(self.offset),
            "power": list(self.power),
            "saturation": self.saturation,
            "id": self.id,
            "description": self.description,
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Cdl:
        """Build a CDL from :meth:`as_dict` output; missing keys take identity values."""
        unknown = set(data) - {"slope", "offset", "power", "saturation", "id", "description"}
        if unknown:
            raise CdlError(f"CDL dict has unknown keys {sorted(unknown)}")
        return Cdl(
            slope=tuple(data.get("slope", (1.0, 1.0, 1.0))),
            offset=tuple(data.get("offset", (0.0, 0.0, 0.0))),
            power=tuple(data.get("power", (1.0, 1.0, 1.0))),
            saturation=data.get("saturation", 1.0),
            id=data.get("id"),
            description=data.get("description"),
        )


# --------------------------------------------------------------------------------------------
# Files


def _fmt3(values: Iterable[float]) -> str:
    return " ".join(f"{v:.6f}" for v in values)


def _correction_element(cdl: Cdl, *, namespace: bool) -> ET.Element:
    cc = ET.Element("ColorCorrection")
    if namespace:
        cc.set("xmlns", ASC_NAMESPACE)
    if cdl.id is not None:
        cc.set("id", cdl.id)
    if cdl.description:
        ET.SubElement(cc, "Description").text = cdl.description
    sop = ET.SubElement(cc, "SOPNode")
    ET.SubElement(sop, "Slope").text = _fmt3(cdl.slope)
    ET.SubElement(sop, "Offset").text = _fmt3(cdl.offset)
    ET.SubElement(sop, "Power").text = _fmt3(cdl.power)
    sat = ET.SubElement(cc, "SatNode")
    ET.SubElement(sat, "Saturation").text = f"{cdl.saturation:.6f}"
    return cc


def _resolve_format(path: Path, fmt: str | None) -> str:
    key = (fmt if fmt is not None else Path(path).suffix).lower().lstrip(".")
    if key not in FORMATS:
        got = f"format {fmt!r}" if fmt is not None else f"extension {Path(path).suffix!r}"
        raise CdlError(
            f"cannot write CDL {path}: {got} is not one of .cdl, .cc, .ccc; "
            "name the file with one of them or pass fmt="
        )
    return key


def write_cdl(path: Path, cdls: Sequence[Cdl], fmt: str | None = None) -> None:
    """Write CDLs as ASC CDL XML, atomically (temporary name, fsync, rename).

    Args:
        path: the file to write; its extension picks the form unless ``fmt`` is given.
        cdls: the corrections, in order. A ``.cc`` file holds exactly one.
        fmt: ``"cdl"`` (ColorDecisionList, one ColorDecision per CDL), ``"cc"`` (a single
            ColorCorrection) or ``"ccc"`` (ColorCorrectionCollection); a leading dot is
            accepted. None: from the extension of ``path``.

    Raises:
        CdlError: no CDLs, more than one for ``.cc``, an unknown format, or an item that is not
            a :class:`Cdl`.
    """
    path = Path(path)
    kind = _resolve_format(path, fmt)
    items = list(cdls)
    if not items:
        raise CdlError(f"no CDLs to write to {path}; give at least one")
    for c in items:
        if not isinstance(c, Cdl):
            raise CdlError(f"cannot write {type(c).__name__} to {path}; give Cdl objects")
    if kind == "cc":
        if len(items) != 1:
            raise CdlError(
                f"a .cc file holds one ColorCorrection but {len(items)} CDLs were given for "
                f"{path}; write a .ccc or .cdl instead"
            )
        root = _correction_element(items[0], namespace=True)
    else:
        root = ET.Element(FORMATS[kind])
        root.set("xmlns", ASC_NAMESPACE)
        for c in items:
            cc = _correction_element(c, namespace=False)
            if kind == "cdl":
                ET.SubElement(root, "ColorDecision").append(cc)
            else:
                root.append(cc)
    ET.indent(root, space="    ")
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
    write_text_atomic(path, text)


def _local(tag: Any) -> str:
    """Tag name without namespace, lower case (comments/PIs give "")."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def _children(elem: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in elem if _local(c.tag) == name]


def _child(elem: ET.Element, name: str) -> ET.Element | None:
    found = _children(elem, name)
    return found[0] if found else None


def _numbers(path: Path, where: str, elem: ET.Element | None, count: int) -> list[float]:
    if elem is None:
        raise CdlError(f"CDL file {path}: {where} is missing; every SOPNode needs it")
    text = (elem.text or "").replace(",", " ").split()
    if len(text) != count:
        raise CdlError(
            f"CDL file {path}: {where} has {len(text)} values ({(elem.text or '').strip()!r}); "
            f"it needs {count}"
        )
    try:
        vals = [float(t) for t in text]
    except ValueError as exc:
        raise CdlError(
            f"CDL file {path}: {where} has non-numeric values ({(elem.text or '').strip()!r})"
        ) from exc
    if not all(math.isfinite(v) for v in vals):
        raise CdlError(f"CDL file {path}: {where} has non-finite values {vals}")
    return vals


def _parse_correction(path: Path, cc: ET.Element, index: int) -> Cdl:
    cc_id = cc.get("id")
    label = f"ColorCorrection {cc_id!r}" if cc_id else f"ColorCorrection #{index + 1}"
    sop = _child(cc, "sopnode")
    if sop is None:
        raise CdlError(f"CDL file {path}: {label} has no <SOPNode>; add Slope/Offset/Power")
    slope = _numbers(path, f"{label} <Slope>", _child(sop, "slope"), 3)
    offset = _numbers(path, f"{label} <Offset>", _child(sop, "offset"), 3)
    power = _numbers(path, f"{label} <Power>", _child(sop, "power"), 3)
    sat_node = _child(cc, "satnode")
    saturation = 1.0
    if sat_node is not None:
        saturation = _numbers(path, f"{label} <Saturation>", _child(sat_node, "saturation"), 1)[0]
    desc_elem = _child(cc, "description")
    if desc_elem is None:
        desc_elem = _child(sop, "description")
    description = None
    if desc_elem is not None:
        description = (desc_elem.text or "").strip() or None
    try:
        return Cdl(
            (slope[0], slope[1], slope[2]),
            (offset[0], offset[1], offset[2]),
            (power[0], power[1], power[2]),
            saturation,
            id=cc_id,
            description=description,
        )
    except CdlError as exc:
        raise CdlError(f"CDL file {path}: {label}: {exc}") from exc


def read_cdl(path: Path) -> list[Cdl]:
    """Read every ColorCorrection of a ``.cdl``, ``.cc`` or ``.ccc`` file.

    The form is taken from the XML root (ColorDecisionList, ColorCorrectionCollection or
    ColorCorrection), not the extension. Namespaced and non-namespaced files are read; tag names
    are matched without regard to case (``SATNode`` as written by older tools). A missing
    ``<SatNode>`` means saturation 1. The description is the ColorCorrection's first
    ``<Description>``, else the SOPNode's.

    Args:
        path: the CDL file.

    Returns:
        The CDLs in file order (ids from the ``id`` attributes).

    Raises:
        CdlError: naming the file and what is wrong: unreadable file, malformed XML, unknown
            root, no ColorCorrection, a ColorDecision with only a ColorCorrectionRef, a missing
            SOPNode or Slope/Offset/Power, a wrong number of values, non-numeric values or
            values outside the ASC ranges.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CdlError(f"cannot read CDL file {path}: {exc.strerror or exc}") from exc
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise CdlError(f"CDL file {path} is not well-formed XML ({exc})") from exc

    kind = _local(root.tag)
    corrections: list[ET.Element] = []
    if kind == "colorcorrection":
        corrections = [root]
    elif kind == "colorcorrectioncollection":
        corrections = _children(root, "colorcorrection")
    elif kind == "colordecisionlist":
        for n, decision in enumerate(_children(root, "colordecision")):
            found = _children(decision, "colorcorrection")
            if not found and _child(decision, "colorcorrectionref") is not None:
                raise CdlError(
                    f"CDL file {path}: ColorDecision #{n + 1} only references a correction "
                    "(ColorCorrectionRef); give a file with the ColorCorrection inline"
                )
            corrections.extend(found)
    else:
        raise CdlError(
            f"CDL file {path} has root <{_local(root.tag) or root.tag}>; expected "
            "ColorDecisionList, ColorCorrectionCollection or ColorCorrection"
        )
    if not corrections:
        raise CdlError(f"CDL file {path} holds no ColorCorrection")
    return [_parse_correction(path, cc, i) for i, cc in enumerate(corrections)]
