"""Mattes drawn as shapes: polylines with a width (wires) and polygons (rigs), keyframed.

The shape file (``--shapes wires.json``) is JSON::

    {"version": 1, "width": 1920, "height": 1080,
     "shapes": [
       {"name": "wire1", "type": "polyline", "width": 3, "feather": 1,
        "keys": {"0": [[100, 40], [900, 60], [1800, 52]],
                 "40": [[110, 44], [905, 66], [1810, 50]]}},
       {"name": "rig", "type": "polygon",
        "keys": {"12": [[400, 700], [520, 690], [530, 900], [410, 910]]}}]}

Fields:

- ``version`` (int, optional, default 1): the format's version; files of a newer version are
  refused, older ones are upgraded when read.
- ``width``, ``height`` (int, optional, together): the frame size the coordinates were drawn
  on. When they differ from the shot's, the coordinates are scaled to the shot (about pixel
  centres: ``x' = (x + 0.5) * W / width - 0.5``) and stroke widths / feathers by the mean
  factor; a different aspect ratio (more than 1 %) is refused. Without them, coordinates are in
  the shot's pixels.
- ``shapes`` (non-empty list), each with:

  - ``name`` (str, optional, unique; default ``shape1``, ``shape2`` ...): used in messages.
  - ``type``: ``"polyline"`` (an open line of ``width`` pixels, at least 2 vertices) or
    ``"polygon"`` (a filled closed outline, at least 3 vertices).
  - ``width`` (number > 0, polylines only, default 3): the stroke width in pixels.
  - ``feather`` (number >= 0, default 0): a soft edge, in pixels, *outside* the shape (the
    shape itself stays fully white, the mask falls linearly to 0 over ``feather + 1`` px).
  - ``keys``: frame index (0-based from the shot's first frame, as a string) -> vertices
    ``[[x, y], ...]`` in pixels, ``(0, 0)`` the centre of the top-left pixel. Every key of a
    shape has the same number of vertices. Between two keys vertices move linearly; before the
    first key and after the last the nearest key holds. A shape with one key is static.

Rasterisation is exact and anti-aliased: a pixel's value is its distance to the polyline (or
the polygon's outline) turned into coverage, so a polyline of width ``w`` covers ``w`` pixels
across (integrated), whatever its angle or sub-pixel position.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from rushes.errors import MatteError
from rushes.matte.base import Matte

__all__ = [
    "SHAPES_VERSION",
    "Shape",
    "ShapeMatte",
    "ShapeSet",
    "parse_shapes",
    "render_shape",
]

#: Version written by :meth:`ShapeSet.to_json`.
SHAPES_VERSION = 1
#: Shape types.
KINDS = ("polyline", "polygon")
#: Stroke width of a polyline that gives none, in pixels.
DEFAULT_WIDTH = 3.0
#: Largest aspect-ratio difference between the file's frame and the shot that is scaled.
ASPECT_TOLERANCE = 0.01

ShapeKind = Literal["polyline", "polygon"]
_SHAPE_FIELDS = frozenset({"name", "type", "width", "feather", "keys"})
_TOP_FIELDS = frozenset({"version", "width", "height", "shapes"})


@dataclass(frozen=True, eq=False)
class Shape:
    """One keyframed shape.

    Attributes:
        name: Unique name in its set, used in messages.
        type: ``"polyline"`` or ``"polygon"``.
        keys: Frame index -> vertices, float64 ``(N, 2)`` ``(x, y)`` pixels; same ``N`` for
            every key. Read-only.
        width: Stroke width of a polyline in pixels (ignored for polygons).
        feather: Soft edge outside the shape, in pixels.
    """

    name: str
    type: ShapeKind
    keys: Mapping[int, np.ndarray]
    width: float = DEFAULT_WIDTH
    feather: float = 0.0
    _frames: np.ndarray = field(init=False, repr=False)
    _stack: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise MatteError(f"shape '{self.name}' has no keys; give at least one key frame")
        order = sorted(int(k) for k in self.keys)
        arrays = []
        for k in order:
            a = np.array(self.keys[k], dtype=np.float64, copy=True).reshape(-1, 2)
            a.setflags(write=False)
            arrays.append(a)
        n = {len(a) for a in arrays}
        if len(n) > 1:
            counts = ", ".join(f"key {k}: {len(a)}" for k, a in zip(order, arrays, strict=True))
            raise MatteError(
                f"shape '{self.name}' has keys with different vertex counts ({counts}); "
                "every key of a shape needs the same number of vertices"
            )
        object.__setattr__(self, "keys", dict(zip(order, arrays, strict=True)))
        frames = np.array(order, dtype=np.int64)
        stack = np.stack(arrays)
        stack.setflags(write=False)
        object.__setattr__(self, "_frames", frames)
        object.__setattr__(self, "_stack", stack)

    @property
    def key_frames(self) -> tuple[int, ...]:
        """The key frame indices, ascending."""
        return tuple(int(k) for k in self._frames)

    @property
    def closed(self) -> bool:
        """True for polygons."""
        return self.type == "polygon"

    def vertices(self, index: float) -> np.ndarray:
        """Vertices at frame ``index``: linear between keys, held outside them.

        Returns:
            float64 ``(x, y)`` pixels. Shape: ``(N, 2)``.
        """
        f = self._frames
        if index <= f[0]:
            return self._stack[0].copy()
        if index >= f[-1]:
            return self._stack[-1].copy()
        j = int(np.searchsorted(f, index, side="right"))
        f0, f1 = float(f[j - 1]), float(f[j])
        t = (float(index) - f0) / (f1 - f0)
        return (1.0 - t) * self._stack[j - 1] + t * self._stack[j]

    def with_keys(self, keys: Mapping[int, np.ndarray]) -> Shape:
        """The same shape with other keys (e.g. tracked ones)."""
        return replace(self, keys=keys)


@dataclass(frozen=True, eq=False)
class ShapeSet:
    """The shapes of one shot, and the frame size their coordinates are in (if known).

    Attributes:
        shapes: The shapes, names unique.
        width: Frame width the coordinates were drawn on, or None (the shot's).
        height: Frame height, or None.
    """

    shapes: tuple[Shape, ...]
    width: int | None = None
    height: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "shapes", tuple(self.shapes))
        if not self.shapes:
            raise MatteError("the shape set is empty; draw at least one shape")
        seen: set[str] = set()
        for s in self.shapes:
            if s.name in seen:
                raise MatteError(f"two shapes are named '{s.name}'; give each a unique name")
            seen.add(s.name)
        if (self.width is None) != (self.height is None):
            raise MatteError("shapes give only one of width / height; give both or neither")

    def __iter__(self) -> Iterator[Shape]:
        return iter(self.shapes)

    def __len__(self) -> int:
        return len(self.shapes)

    @property
    def names(self) -> list[str]:
        """Shape names, in order."""
        return [s.name for s in self.shapes]

    def get(self, name: str) -> Shape:
        """The shape called ``name``, MatteError if there is none."""
        for s in self.shapes:
            if s.name == name:
                return s
        raise MatteError(f"no shape named '{name}'; the shapes are {', '.join(self.names)}")

    def vertices(self, name: str, index: float) -> np.ndarray:
        """Vertices of shape ``name`` at frame ``index``. Shape: ``(N, 2)`` ``(x, y)`` px."""
        return self.get(name).vertices(index)

    @property
    def key_frames(self) -> tuple[int, ...]:
        """Every key frame of every shape, ascending."""
        return tuple(sorted({k for s in self.shapes for k in s.key_frames}))

    def replace_shapes(self, shapes: Iterable[Shape]) -> ShapeSet:
        """The same set (frame size) with other shapes."""
        return ShapeSet(tuple(shapes), self.width, self.height)

    def scaled_to(self, width: int, height: int) -> ShapeSet:
        """The set in a ``width`` x ``height`` frame (scaled if drawn on another size).

        Raises:
            MatteError: the file's frame has another aspect ratio than the shot's.
        """
        if self.width is None or self.height is None:
            return ShapeSet(self.shapes, width, height)
        if (self.width, self.height) == (width, height):
            return self
        sx, sy = width / self.width, height / self.height
        if abs(sx / sy - 1.0) > ASPECT_TOLERANCE:
            raise MatteError(
                f"shapes were drawn on a {self.width}x{self.height} frame but the shot is "
                f"{width}x{height} (another aspect ratio); draw them on the shot's frames"
            )
        scale = np.array([sx, sy])
        s_mean = 0.5 * (sx + sy)
        out = []
        for s in self.shapes:
            keys = {k: (v + 0.5) * scale - 0.5 for k, v in s.keys.items()}
            out.append(replace(s, keys=keys, width=s.width * s_mean, feather=s.feather * s_mean))
        return ShapeSet(tuple(out), width, height)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready record (see the module docstring)."""
        out: dict[str, Any] = {"version": SHAPES_VERSION}
        if self.width is not None:
            out["width"], out["height"] = self.width, self.height
        shapes = []
        for s in self.shapes:
            d: dict[str, Any] = {"name": s.name, "type": s.type}
            if s.type == "polyline":
                d["width"] = _num(s.width)
            if s.feather:
                d["feather"] = _num(s.feather)
            d["keys"] = {str(k): [[_num(x), _num(y)] for x, y in v] for k, v in s.keys.items()}
            shapes.append(d)
        out["shapes"] = shapes
        return out

    def to_json(self) -> str:
        """The set as the JSON text :func:`parse_shapes` reads (one line per key)."""
        d = self.to_dict()
        head = {k: v for k, v in d.items() if k != "shapes"}
        lines = ["{" + json.dumps(head)[1:-1] + ', "shapes": [']
        shape_texts = []
        for s in d["shapes"]:
            attrs = json.dumps({k: v for k, v in s.items() if k != "keys"})[1:-1]
            keys = ",\n".join(
                f"    {json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}"
                for k, v in s["keys"].items()
            )
            shape_texts.append("  {" + attrs + ', "keys": {\n' + keys + "}}")
        lines.append(",\n".join(shape_texts))
        lines.append("]}")
        return "\n".join(lines) + "\n"


def _num(v: float) -> float | int:
    """A coordinate for JSON: 1/1000 px, integers without a decimal point."""
    r = round(float(v), 3)
    return int(r) if r == int(r) else r


# ---------------------------------------------------------------------------------- parsing


def _fail(src: str, msg: str) -> MatteError:
    return MatteError(f"shapes {src}: {msg}")


def _number(v: Any, src: str, what: str, *, minimum: float | None = None) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise _fail(src, f"{what} must be a number, got {json.dumps(v)}")
    if minimum is not None and v < minimum:
        raise _fail(src, f"{what} must be at least {minimum:g}, got {v:g}")
    return float(v)


def _vertices(v: Any, src: str, where: str, least: int) -> np.ndarray:
    if not isinstance(v, list) or len(v) < least:
        raise _fail(src, f"{where} must be a list of at least {least} [x, y] vertices")
    out = np.empty((len(v), 2), np.float64)
    for i, p in enumerate(v):
        if (
            not isinstance(p, list | tuple)
            or len(p) != 2
            or any(isinstance(c, bool) or not isinstance(c, int | float) for c in p)
            or not all(math.isfinite(c) for c in p)
        ):
            raise _fail(src, f"{where} vertex {i} must be [x, y] numbers, got {json.dumps(p)}")
        out[i] = p
    return out


def _upgrade(d: dict[str, Any], src: str) -> dict[str, Any]:
    """Bring a record of an older version to :data:`SHAPES_VERSION` (only 1 exists so far)."""
    version = d.get("version", SHAPES_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _fail(src, f"version must be a positive integer, got {json.dumps(version)}")
    if version > SHAPES_VERSION:
        raise _fail(
            src,
            f"version {version} is newer than this rushes reads ({SHAPES_VERSION}); "
            "update rushes or save the shapes as version 1",
        )
    return d


def _parse_shape(i: int, d: Any, src: str, frames: int | None) -> Shape:
    if not isinstance(d, dict):
        raise _fail(src, f"shape {i + 1} must be an object with type and keys")
    name = d.get("name", f"shape{i + 1}")
    if not isinstance(name, str) or not name:
        raise _fail(src, f"shape {i + 1}: name must be a non-empty string")
    label = f"shape '{name}'"
    extra = sorted(set(d) - _SHAPE_FIELDS)
    if extra:
        raise _fail(
            src, f"{label}: unknown field {extra[0]!r} (fields: {', '.join(sorted(_SHAPE_FIELDS))})"
        )
    kind = d.get("type")
    if kind not in KINDS:
        got = "missing" if kind is None else json.dumps(kind)
        raise _fail(src, f'{label}: type must be "polyline" or "polygon", got {got}')
    if "width" in d and kind == "polygon":
        raise _fail(src, f"{label}: a polygon has no stroke width (it is filled); remove 'width'")
    width = _number(d.get("width", DEFAULT_WIDTH), src, f"{label} width", minimum=0.0)
    if kind == "polyline" and width <= 0:
        raise _fail(src, f"{label} width must be more than 0 pixels")
    feather = _number(d.get("feather", 0.0), src, f"{label} feather", minimum=0.0)
    raw = d.get("keys")
    if not isinstance(raw, dict) or not raw:
        raise _fail(src, f'{label}: keys must be an object {{"frame": [[x, y], ...]}}, not empty')
    least = 2 if kind == "polyline" else 3
    keys: dict[int, np.ndarray] = {}
    for k, v in raw.items():
        try:
            f = int(k)
        except ValueError:
            raise _fail(src, f"{label}: key {k!r} is not a frame index (an integer)") from None
        if f < 0 or (frames is not None and f >= frames):
            rng = f"0-{frames - 1}" if frames is not None else "0 and up"
            raise _fail(
                src,
                f"{label}: key {k} is outside the shot (frames {rng}); keys are 0-based frame "
                "indices from the shot's first frame",
            )
        if f in keys:
            raise _fail(src, f"{label}: key {f} is given twice")
        keys[f] = _vertices(v, src, f"{label} key {k}", least)
    counts = {len(v) for v in keys.values()}
    if len(counts) > 1:
        detail = ", ".join(f"key {k}: {len(v)}" for k, v in sorted(keys.items()))
        raise _fail(
            src,
            f"{label}: keys have different vertex counts ({detail}); every key of a shape "
            "needs the same number of vertices",
        )
    return Shape(name, kind, keys, width if kind == "polyline" else 0.0, feather)


def parse_shapes(source: str | Path | Mapping[str, Any], *, frames: int | None = None) -> ShapeSet:
    """Read a shape file (or its text, or its parsed record).

    Args:
        source: A path to a JSON file, JSON text (starting with ``{``) or a parsed dict.
        frames: The shot's frame count, to refuse keys outside it (None: not checked).

    Returns:
        The shapes.

    Raises:
        MatteError: missing or unreadable file, malformed JSON, missing fields, bad types or
            keys outside the shot; one line naming the file, the shape and the key.

    Example:
        >>> s = parse_shapes('{"shapes": [{"type": "polygon", "keys": '
        ...                  '{"0": [[0, 0], [9, 0], [9, 9]]}}]}')
        >>> s.vertices("shape1", 5).tolist()
        [[0.0, 0.0], [9.0, 0.0], [9.0, 9.0]]
    """
    if isinstance(source, Mapping):
        src, data = "record", dict(source)
    else:
        text_given = isinstance(source, str) and source.lstrip()[:1] in ("{", "[")
        if text_given:
            src, text = "text", str(source)
        else:
            path = Path(source)
            src = str(path)
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise _fail(src, "no such file; give a JSON shape file") from None
            except (OSError, UnicodeDecodeError) as e:
                raise _fail(src, f"cannot read it ({e})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise _fail(
                src, f"not valid JSON ({e.msg} at line {e.lineno} column {e.colno})"
            ) from None
    if not isinstance(data, dict):
        raise _fail(src, 'must be a JSON object {"version": 1, "shapes": [...]}')
    data = _upgrade(data, src)
    extra = sorted(set(data) - _TOP_FIELDS)
    if extra:
        raise _fail(src, f"unknown field {extra[0]!r} (fields: {', '.join(sorted(_TOP_FIELDS))})")
    size: list[int | None] = []
    for k in ("width", "height"):
        v = data.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v <= 0):
            raise _fail(src, f"{k} must be a positive integer (pixels), got {json.dumps(v)}")
        size.append(v)
    if (size[0] is None) != (size[1] is None):
        raise _fail(src, "give both width and height of the frame the shapes were drawn on")
    shapes_raw = data.get("shapes")
    if not isinstance(shapes_raw, list) or not shapes_raw:
        raise _fail(src, "shapes must be a non-empty list of shapes")
    shapes = [_parse_shape(i, d, src, frames) for i, d in enumerate(shapes_raw)]
    names = [s.name for s in shapes]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise _fail(src, f"two shapes are named '{dup}'; give each a unique name")
    return ShapeSet(tuple(shapes), size[0], size[1])


# ---------------------------------------------------------------------------- rasterising


def _segment_distance(
    pts: np.ndarray, closed: bool, x0: int, y0: int, w: int, h: int, reach: float
) -> np.ndarray:
    """Distance of each pixel centre of a canvas to a polyline (inf beyond ``reach``).

    The canvas covers pixels ``x0 .. x0 + w - 1``, ``y0 .. y0 + h - 1`` of the frame.
    """
    d = np.full((h, w), np.inf, np.float32)
    p = np.asarray(pts, np.float64)
    segs = list(itertools.pairwise(p))
    if closed and len(p) > 2:
        segs.append((p[-1], p[0]))
    if len(p) == 1:
        segs = [(p[0], p[0])]
    for a, b in segs:
        lo = np.floor(np.minimum(a, b) - reach).astype(int)
        hi = np.ceil(np.maximum(a, b) + reach).astype(int) + 1
        cx0, cy0 = max(lo[0] - x0, 0), max(lo[1] - y0, 0)
        cx1, cy1 = min(hi[0] - x0, w), min(hi[1] - y0, h)
        if cx0 >= cx1 or cy0 >= cy1:
            continue
        xs = (np.arange(cx0, cx1, dtype=np.float32) + (x0 - a[0]))[None, :]
        ys = (np.arange(cy0, cy1, dtype=np.float32) + (y0 - a[1]))[:, None]
        ab = (b - a).astype(np.float32)
        l2 = float(ab @ ab)
        if l2 > 1e-12:
            t = np.clip((xs * ab[0] + ys * ab[1]) / l2, 0.0, 1.0)
            dx, dy = xs - t * ab[0], ys - t * ab[1]
        else:
            dx, dy = xs + 0 * ys, ys + 0 * xs
        dist = np.sqrt(dx * dx + dy * dy)
        sub = d[cy0:cy1, cx0:cx1]
        np.minimum(sub, dist, out=sub)
    return d


def _inside(poly: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Even-odd test of points ``(x, y)`` against a closed polygon (exact, vectorised)."""
    a = poly
    b = np.roll(poly, -1, axis=0)
    ax, ay, bx, by = a[:, 0][:, None], a[:, 1][:, None], b[:, 0][:, None], b[:, 1][:, None]
    crosses = (ay > y[None, :]) != (by > y[None, :])
    dy = np.where(by == ay, 1.0, by - ay)
    xint = ax + (y[None, :] - ay) * (bx - ax) / dy
    hit = crosses & (x[None, :] < xint)
    return np.asarray(np.count_nonzero(hit, axis=0) % 2 == 1)


def render_shape(
    kind: ShapeKind,
    vertices: np.ndarray,
    width: int,
    height: int,
    *,
    stroke: float = DEFAULT_WIDTH,
    feather: float = 0.0,
    dilate: float = 0.0,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Rasterise one shape, anti-aliased, into a mask (pixelwise maximum with ``out``).

    Args:
        kind: ``"polyline"`` (a line ``stroke`` px wide) or ``"polygon"`` (filled).
        vertices: ``(x, y)`` pixel coordinates, ``(0, 0)`` the top-left pixel's centre.
            Shape: ``(N, 2)``.
        width: Frame width.
        height: Frame height.
        stroke: Polyline width in pixels.
        feather: Soft edge outside the shape, pixels (linear fall over ``feather + 1`` px).
        dilate: Grow the shape by this many pixels on every side first.
        out: A mask to draw into (float32 ``(height, width)``); a new one if None.

    Returns:
        ``out`` (or the new mask). Shape: ``(height, width)``, float32 in [0, 1].
    """
    if out is None:
        out = np.zeros((height, width), np.float32)
    pts = np.asarray(vertices, np.float64).reshape(-1, 2)
    if pts.size == 0 or not np.isfinite(pts).all():
        return out
    half = 0.5 * stroke if kind == "polyline" else 0.0
    dilate, feather = max(float(dilate), 0.0), max(float(feather), 0.0)
    reach = half + dilate + feather + 1.5
    lo = np.floor(pts.min(axis=0) - reach).astype(int)
    hi = np.ceil(pts.max(axis=0) + reach).astype(int) + 1
    x0, y0 = max(int(lo[0]), 0), max(int(lo[1]), 0)
    x1, y1 = min(int(hi[0]), width), min(int(hi[1]), height)
    if x0 >= x1 or y0 >= y1:
        return out
    w, h = x1 - x0, y1 - y0
    d = _segment_distance(pts, kind == "polygon", x0, y0, w, h, reach)
    if kind == "polygon":
        inside = np.zeros((h, w), np.uint8)
        shift = 8
        local = np.round((pts - (x0, y0)) * (1 << shift)).astype(np.int32)
        cv2.fillPoly(inside, [local], 1, cv2.LINE_8, shift)
        ins = inside.astype(bool)
        # fillPoly's rule is off by up to a pixel at the outline: decide there exactly
        by, bx = np.nonzero(d <= 1.5)
        if by.size:
            ins[by, bx] = _inside(pts, bx.astype(np.float64) + x0, by.astype(np.float64) + y0)
        r = np.where(ins, -d, d)
    else:
        r = d - half
    r -= dilate
    value = np.clip((feather + 0.5 - r) / (feather + 1.0), 0.0, 1.0)
    sub = out[y0:y1, x0:x1]
    np.maximum(sub, value.astype(np.float32, copy=False), out=sub)
    return out


class ShapeMatte(Matte):
    """The matte of a shape set: every shape rasterised at the frame's interpolated vertices.

    Args:
        shapes: The shapes (scaled to the shot if drawn on another frame size).
        width: Shot width in pixels.
        height: Shot height in pixels.
        frames: Number of frames of the shot.
        dilate: Grow every shape by this many pixels.
        name: What the shapes came from, for messages.

    Raises:
        MatteError: a key is outside the shot, or the file's aspect ratio differs.
    """

    def __init__(
        self,
        shapes: ShapeSet,
        width: int,
        height: int,
        frames: int,
        dilate: float = 0.0,
        name: str = "shapes",
    ) -> None:
        self.width, self.height, self.frames = int(width), int(height), int(frames)
        self.name = name
        self.dilate = float(dilate)
        if self.dilate < 0:
            raise MatteError(f"{name}: dilate must be 0 or more pixels, got {dilate:g}")
        for s in shapes:
            late = [k for k in s.key_frames if k >= frames]
            if late:
                raise MatteError(
                    f"{name}: shape '{s.name}' key {late[0]} is outside the shot (frames "
                    f"0-{frames - 1}); keys are 0-based frame indices from the shot's first frame"
                )
        self.shapes = shapes.scaled_to(self.width, self.height)

    def mask(self, index: int) -> np.ndarray:
        """All shapes at frame ``index``. Shape: ``(height, width)``, float32 in [0, 1]."""
        i = self.check_index(index)
        out = np.zeros((self.height, self.width), np.float32)
        for s in self.shapes:
            render_shape(
                s.type,
                s.vertices(i),
                self.width,
                self.height,
                stroke=s.width,
                feather=s.feather,
                dilate=self.dilate,
                out=out,
            )
        return out
