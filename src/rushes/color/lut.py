"""3D LUTs: the :class:`Lut3d` record, trilinear/tetrahedral interpolation and ``.cube`` files.

Axis order: ``Lut3d.table[r, g, b]`` is the output RGB for the input lattice point
``(r, g, b)``. In a ``.cube`` file (Adobe/Resolve) the rows run with **red changing fastest**,
then green, then blue, so row ``r + N*g + N*N*b`` holds ``table[r, g, b]``; :func:`read_cube`
and :func:`write_cube` convert between the two.

Inputs are clamped to the LUT's domain (``DOMAIN_MIN``/``DOMAIN_MAX``, [0, 1] by default) before
interpolation, as Resolve does; a LUT therefore never extrapolates. NaN in gives NaN out.

Interpolation methods (:data:`METHODS`, chosen with ``method=``):

- ``"tetrahedral"`` (default): splits each lattice cube into 6 tetrahedra along its main
  diagonal and blends 4 corners; exact on the grey axis, what Resolve and OCIO use by default.
- ``"trilinear"``: blends the 8 corners of the cube.

Both are vectorized numpy and run in chunks of :data:`CHUNK` pixels to stay in cache.

Example:
    >>> import numpy as np
    >>> lut = Lut3d.from_function(lambda x: x**2.2, size=33)
    >>> px = np.array([0.5, 0.25, 1.0], np.float32)
    >>> bool(np.allclose(lut.apply(px), px**2.2, atol=1e-3))
    True
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rushes.atomic import write_text_atomic
from rushes.errors import LutError

__all__ = [
    "CHUNK",
    "MAX_SIZE",
    "METHODS",
    "MIN_SIZE",
    "Lut3d",
    "apply_lut3d",
    "read_cube",
    "write_cube",
]

#: Smallest and largest lattice size accepted (per axis).
MIN_SIZE = 2
MAX_SIZE = 256

#: Pixels interpolated per block (keeps the temporaries in cache).
CHUNK = 1 << 15

Triple = tuple[float, float, float]
Kernel = Callable[[np.ndarray, np.ndarray, np.ndarray, int], None]


# --------------------------------------------------------------------------------------------
# Kernels. Each fills ``out`` (M, 3) from lattice coordinates ``t`` (3, M) in [0, N-1] (one
# contiguous plane per input axis r, g, b) and the table as planes ``planes`` (3, N**3) (one per
# output channel) whose column for lattice point (r, g, b) is (r*N + g)*N + b.
# Planes rather than (M, 3) rows: 1D gathers and contiguous float32 arithmetic are several times
# faster in numpy than row gathers and strided channel slices.


def _split(t: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat base lattice index (int32) and float32 fractions of lattice coordinates."""
    with np.errstate(invalid="ignore"):
        i0 = t.astype(np.int32)  # t >= 0 after the domain clamp, so this is floor
    np.clip(i0, 0, n - 2, out=i0)  # NaN casts to a huge negative number: keep indices valid
    frac = np.subtract(t, i0, dtype=np.float32)  # NaN stays NaN
    base = i0[0] * np.int32(n * n)
    base += i0[1] * np.int32(n)
    base += i0[2]
    return base, frac


@functools.lru_cache(maxsize=16)
def _tetra_offsets(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat offsets of the 2nd and 3rd tetrahedron corners, by comparison code.

    The code is ``4 (fr >= fg) + 2 (fg >= fb) + (fr >= fb)``. Corner 1 adds the axis with the
    largest fraction to the base corner; corner 2 adds every axis but the one with the smallest.
    Ties are broken so the two differ unless all fractions are equal (then only the base and
    the far corner carry weight).
    """
    d = (n * n, n, 1)
    off1 = np.zeros(8, np.int32)
    off2 = np.zeros(8, np.int32)
    for code in range(8):
        rg, gb, rb = bool(code & 4), bool(code & 2), bool(code & 1)
        amax = 0 if (rg and rb) else (1 if gb else 2)
        amin = 2 if (gb and rb) else (1 if rg else 0)
        off1[code] = d[amax]
        off2[code] = sum(d) - d[amin]
    return off1, off2


def _tetrahedral(t: np.ndarray, planes: np.ndarray, out: np.ndarray, n: int) -> None:
    base, f = _split(t, n)
    fr, fg, fb = f[0], f[1], f[2]
    code = np.greater_equal(fr, fg).view(np.uint8) << 2
    code |= np.greater_equal(fg, fb).view(np.uint8) << 1
    code |= np.greater_equal(fr, fb).view(np.uint8)
    off1, off2 = _tetra_offsets(n)
    i1 = off1.take(code)
    i1 += base
    i2 = off2.take(code)
    i2 += base
    i3 = base + np.int32(n * n + n + 1)
    # sorted fractions f1 >= f2 >= f3:
    # out = c0 + f1 (c1 - c0) + f2 (c2 - c1) + f3 (c3 - c2)
    f1 = np.maximum(fr, fg)
    np.maximum(f1, fb, out=f1)
    f3 = np.minimum(fr, fg)
    np.minimum(f3, fb, out=f3)
    f2 = fr + fg
    f2 += fb
    f2 -= f1
    f2 -= f3
    m = len(base)
    c0, c1, c2, c3 = (np.empty(m, np.float32) for _ in range(4))
    for c in range(3):
        p = planes[c]
        p.take(base, out=c0, mode="wrap")  # indices are always valid: "wrap" skips the check
        p.take(i1, out=c1, mode="wrap")
        p.take(i2, out=c2, mode="wrap")
        p.take(i3, out=c3, mode="wrap")
        c3 -= c2
        c3 *= f3
        c2 -= c1
        c2 *= f2
        c1 -= c0
        c1 *= f1
        c0 += c1
        c0 += c2
        np.add(c0, c3, out=out[:, c])


def _trilinear(t: np.ndarray, planes: np.ndarray, out: np.ndarray, n: int) -> None:
    base, f = _split(t, n)
    fr, fg, fb = f[0], f[1], f[2]
    dr, dg = np.int32(n * n), np.int32(n)
    corners = [base, base + dg, base + dr, base + (dr + dg)]  # (r, g) corners; blue is +1
    corners1 = [i + np.int32(1) for i in corners]
    m = len(base)
    v = [np.empty(m, np.float32) for _ in range(4)]
    w = np.empty(m, np.float32)
    for c in range(3):
        p = planes[c]
        for k in range(4):  # along blue
            p.take(corners[k], out=v[k], mode="wrap")
            p.take(corners1[k], out=w, mode="wrap")
            w -= v[k]
            w *= fb
            v[k] += w
        c00, c01, c10, c11 = v
        c01 -= c00  # along green
        c01 *= fg
        c00 += c01
        c11 -= c10
        c11 *= fg
        c10 += c11
        c10 -= c00  # along red
        c10 *= fr
        np.add(c00, c10, out=out[:, c])


#: Interpolation kernels by name.
METHODS: dict[str, Kernel] = {
    "tetrahedral": _tetrahedral,
    "trilinear": _trilinear,
}


def _planes(table: np.ndarray) -> np.ndarray:
    """The table as float32 (3, N**3) planes, column (r*N + g)*N + b."""
    n = int(table.shape[0])
    return np.ascontiguousarray(np.asarray(table, np.float32).reshape(n**3, 3).T)


def apply_lut3d(
    rgb: np.ndarray,
    table: np.ndarray,
    domain_min: Sequence[float] = (0.0, 0.0, 0.0),
    domain_max: Sequence[float] = (1.0, 1.0, 1.0),
    method: str = "tetrahedral",
) -> np.ndarray:
    """Apply a 3D LUT table to RGB values; the pure kernel behind :meth:`Lut3d.apply`.

    Args:
        rgb: RGB values in the LUT's input encoding; clamped to ``[domain_min, domain_max]``.
        table: float32 lattice indexed ``[r, g, b]`` -> output RGB.
        domain_min: input value mapped to lattice index 0, per channel.
        domain_max: input value mapped to lattice index N-1, per channel.
        method: a key of :data:`METHODS`.

    Returns:
        float32 RGB in the LUT's output encoding. The input is never modified; NaN gives NaN.

    Shape:
        - rgb: ``(..., 3)``
        - table: ``(N, N, N, 3)``
        - output: same as ``rgb``

    Raises:
        LutError: unknown method, a table that is not ``(N, N, N, 3)``, or ``rgb`` that does
            not end in an axis of 3.
    """
    tab = np.asarray(table)
    if tab.ndim != 4 or tab.shape[3] != 3 or not tab.shape[0] == tab.shape[1] == tab.shape[2]:
        raise LutError(f"3D LUT table has shape {tab.shape}; give (N, N, N, 3)")
    return _apply(rgb, _planes(tab), int(tab.shape[0]), domain_min, domain_max, method)


def _apply(
    rgb: np.ndarray,
    planes: np.ndarray,
    n: int,
    domain_min: Sequence[float],
    domain_max: Sequence[float],
    method: str,
) -> np.ndarray:
    kernel = METHODS.get(method)
    if kernel is None:
        raise LutError(f"unknown LUT interpolation {method!r}; use one of {sorted(METHODS)}")
    x = np.asarray(rgb)
    if x.ndim == 0 or x.shape[-1] != 3:
        raise LutError(f"LUT input has shape {x.shape}; give RGB values with a last axis of 3")
    lo = np.asarray(domain_min, np.float32)
    hi = np.asarray(domain_max, np.float32)
    scale = np.float32(n - 1) / (hi - lo)

    src = x.reshape(-1, 3)
    out = np.empty(src.shape, np.float32)
    t = np.empty((3, min(CHUNK, len(src))), np.float32)
    for start in range(0, len(src), CHUNK):
        stop = min(start + CHUNK, len(src))
        tc = t[:, : stop - start]
        for c in range(3):
            np.clip(src[start:stop, c], lo[c], hi[c], out=tc[c], casting="unsafe")
            tc[c] -= lo[c]
            tc[c] *= scale[c]
        kernel(tc, planes, out[start:stop], n)
    return out.reshape(x.shape)


# --------------------------------------------------------------------------------------------
# Record


def _domain(name: str, value: Any) -> Triple:
    try:
        arr = np.asarray(value, np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise LutError(f"LUT {name} is {value!r}; give 3 numbers") from exc
    if arr.size == 1:
        arr = np.repeat(arr, 3)
    if arr.size != 3 or not np.all(np.isfinite(arr)):
        raise LutError(f"LUT {name} is {value!r}; give 3 finite numbers")
    return (float(arr[0]), float(arr[1]), float(arr[2]))


@dataclass(frozen=True, eq=False)
class Lut3d:
    """A 3D LUT: an ``N x N x N`` lattice of output RGB over an input domain.

    The table is copied to a read-only, C-contiguous float32 array on construction.

    Attributes:
        table: output RGB indexed ``[r, g, b]``; in a ``.cube`` file red changes fastest.
        domain_min: input value at lattice index 0, per channel (R, G, B).
        domain_max: input value at lattice index N-1, per channel; > ``domain_min``.
        title: the ``.cube`` TITLE, or None.

    Shape:
        - table: ``(N, N, N, 3)`` with ``2 <= N <= 256``

    Raises:
        LutError: a table of the wrong shape or size, non-finite values, or an empty domain.
    """

    table: np.ndarray
    domain_min: Triple = (0.0, 0.0, 0.0)
    domain_max: Triple = (1.0, 1.0, 1.0)
    title: str | None = None

    def __post_init__(self) -> None:
        try:
            table = np.array(self.table, dtype=np.float32, order="C", copy=True)
        except (TypeError, ValueError) as exc:
            raise LutError(
                f"3D LUT table is not numeric ({exc}); give (N, N, N, 3) floats"
            ) from exc
        shape = table.shape
        if table.ndim != 4 or shape[3] != 3 or not (shape[0] == shape[1] == shape[2]):
            raise LutError(f"3D LUT table has shape {shape}; give (N, N, N, 3)")
        if not MIN_SIZE <= shape[0] <= MAX_SIZE:
            raise LutError(
                f"3D LUT size {shape[0]} is outside {MIN_SIZE}..{MAX_SIZE}; resample the LUT"
            )
        if not np.all(np.isfinite(table)):
            raise LutError("3D LUT table has NaN or infinite values; give finite outputs")
        table.setflags(write=False)
        lo = _domain("domain_min", self.domain_min)
        hi = _domain("domain_max", self.domain_max)
        if any(h <= low for low, h in zip(lo, hi, strict=True)):
            raise LutError(f"LUT domain {lo}..{hi} is empty; domain_max must exceed domain_min")
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "_planes", _planes(table))
        object.__setattr__(self, "domain_min", lo)
        object.__setattr__(self, "domain_max", hi)
        if self.title is not None:
            object.__setattr__(self, "title", str(self.title))

    @property
    def size(self) -> int:
        """Lattice points per axis (N)."""
        return int(self.table.shape[0])

    def apply(self, rgb: np.ndarray, method: str = "tetrahedral") -> np.ndarray:
        """Apply the LUT with :func:`apply_lut3d`; inputs outside the domain are clamped to it.

        Args:
            rgb: RGB values in the LUT's input encoding (e.g. ACEScct or display code values).
            method: ``"tetrahedral"`` (default) or ``"trilinear"``.

        Returns:
            float32 RGB in the LUT's output encoding.

        Shape:
            - rgb: ``(..., 3)``
            - output: same as ``rgb``
        """
        planes: np.ndarray = self._planes  # type: ignore[attr-defined]
        return _apply(rgb, planes, self.size, self.domain_min, self.domain_max, method)

    def __call__(self, rgb: np.ndarray, method: str = "tetrahedral") -> np.ndarray:
        """Same as :meth:`apply`."""
        return self.apply(rgb, method)

    @staticmethod
    def lattice(
        size: int = 33,
        domain_min: Sequence[float] | float = (0.0, 0.0, 0.0),
        domain_max: Sequence[float] | float = (1.0, 1.0, 1.0),
    ) -> np.ndarray:
        """The input RGB of every lattice point, float32 ``(N, N, N, 3)`` indexed ``[r, g, b]``."""
        if not isinstance(size, int | np.integer) or not MIN_SIZE <= size <= MAX_SIZE:
            raise LutError(f"3D LUT size {size!r} is outside {MIN_SIZE}..{MAX_SIZE}")
        lo = _domain("domain_min", domain_min)
        hi = _domain("domain_max", domain_max)
        axes = [np.linspace(lo[c], hi[c], int(size), dtype=np.float64) for c in range(3)]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
        return grid.astype(np.float32)

    @staticmethod
    def identity(size: int = 33) -> Lut3d:
        """The LUT that returns its input (on [0, 1]), with ``size`` points per axis."""
        return Lut3d(Lut3d.lattice(size), title="identity")

    @staticmethod
    def from_function(
        fn: Callable[[np.ndarray], np.ndarray],
        size: int = 33,
        domain_min: Sequence[float] | float = (0.0, 0.0, 0.0),
        domain_max: Sequence[float] | float = (1.0, 1.0, 1.0),
        title: str | None = None,
    ) -> Lut3d:
        """Bake an RGB -> RGB function into a LUT by sampling it on the lattice.

        Args:
            fn: a vectorized function taking float32 ``(..., 3)`` RGB (here ``(N, N, N, 3)``)
                and returning the same shape, e.g. ``Cdl.apply`` or a colour conversion.
            size: points per axis (2..256); 33 is the usual trade-off, 65 for strong curves.
            domain_min: input value at lattice index 0, per channel (or one for all three).
            domain_max: input value at lattice index N-1, per channel (or one for all three).
            title: the TITLE to write in a ``.cube``.

        Returns:
            The baked LUT.

        Raises:
            LutError: ``fn`` returns the wrong shape or non-finite values.
        """
        grid = Lut3d.lattice(size, domain_min, domain_max)
        table = np.asarray(fn(grid.copy()))
        if table.shape != grid.shape:
            raise LutError(
                f"function baked into a LUT returned shape {table.shape} for input "
                f"{grid.shape}; it must return RGB of the same shape"
            )
        lo, hi = _domain("domain_min", domain_min), _domain("domain_max", domain_max)
        return Lut3d(table, lo, hi, title)


# --------------------------------------------------------------------------------------------
# .cube files


def write_cube(path: Path, lut: Lut3d, decimals: int = 6) -> None:
    """Write a Resolve/Adobe ``.cube`` 3D LUT, atomically.

    Writes ``TITLE`` (when set), ``LUT_3D_SIZE``, ``DOMAIN_MIN``/``DOMAIN_MAX`` and ``N**3``
    rows of ``decimals`` decimals with red changing fastest.

    Args:
        path: the file to write.
        lut: the LUT.
        decimals: decimals per value (6 or more; 6 is what Resolve writes).

    Raises:
        LutError: ``lut`` is not a :class:`Lut3d` or ``decimals < 6``.
    """
    if not isinstance(lut, Lut3d):
        raise LutError(f"cannot write {type(lut).__name__} as a .cube; give a Lut3d")
    if decimals < 6:
        raise LutError(f"{decimals} decimals is too coarse for a .cube; use 6 or more")
    lines: list[str] = []
    if lut.title:
        title = lut.title.replace('"', "'").replace("\n", " ")
        lines.append(f'TITLE "{title}"')
    lines.append(f"LUT_3D_SIZE {lut.size}")
    lo = " ".join(f"{v:.{decimals}f}" for v in lut.domain_min)
    hi = " ".join(f"{v:.{decimals}f}" for v in lut.domain_max)
    lines.append(f"DOMAIN_MIN {lo}")
    lines.append(f"DOMAIN_MAX {hi}")
    rows = lut.table.transpose(2, 1, 0, 3).reshape(-1, 3).astype(np.float64)
    rows = np.round(rows, decimals) + 0.0  # no "-0.000000"
    fmt = f"{{:.{decimals}f}} {{:.{decimals}f}} {{:.{decimals}f}}"
    body = "\n".join(fmt.format(*row) for row in rows.tolist())
    write_text_atomic(Path(path), "\n".join(lines) + "\n\n" + body + "\n")


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def read_cube(path: Path) -> Lut3d:
    """Read a Resolve/Adobe ``.cube`` 3D LUT.

    Understands ``TITLE``, ``LUT_3D_SIZE``, ``DOMAIN_MIN``/``DOMAIN_MAX``, Resolve's older
    ``LUT_3D_INPUT_RANGE lo hi``, ``#`` comments and blank lines; other keywords before the data
    are ignored. Rows run with red changing fastest.

    Args:
        path: the ``.cube`` file.

    Returns:
        The LUT, table indexed ``[r, g, b]``.

    Raises:
        LutError: naming the file (and line where there is one) for an unreadable file, a
            missing ``LUT_3D_SIZE``, a 1D-only (or 1D + 3D) cube, a size outside 2..256, a
            malformed keyword, a row that is not 3 numbers, non-finite values, or a number of
            rows that does not match the size ("LUT of the wrong size").
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise LutError(f"cannot read LUT file {path}: {exc.strerror or exc}") from exc

    title: str | None = None
    size: int | None = None
    size_line = 0
    has_1d = False
    lo: list[float] = [0.0, 0.0, 0.0]
    hi: list[float] = [1.0, 1.0, 1.0]
    rows: list[str] = []
    row_lines: list[int] = []

    def bad(lineno: int, what: str) -> LutError:
        return LutError(f"LUT file {path}, line {lineno}: {what}")

    def floats(lineno: int, key: str, parts: list[str], count: int) -> list[float]:
        if len(parts) != count or not all(_is_number(p) for p in parts):
            raise bad(lineno, f"{key} needs {count} numbers, got {' '.join(parts)!r}")
        return [float(p) for p in parts]

    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        first = line.split(None, 1)[0]
        if rows or _is_number(first):
            rows.append(line)
            row_lines.append(lineno)
            continue
        key = first.upper()
        parts = line.split()[1:]
        if key == "TITLE":
            title = line[len(first) :].strip().strip('"') or None
        elif key == "LUT_3D_SIZE":
            (n,) = floats(lineno, key, parts, 1)
            if n != int(n) or not MIN_SIZE <= n <= MAX_SIZE:
                raise bad(lineno, f"LUT_3D_SIZE {parts[0]} is outside {MIN_SIZE}..{MAX_SIZE}")
            size, size_line = int(n), lineno
        elif key == "LUT_1D_SIZE":
            has_1d = True
        elif key == "DOMAIN_MIN":
            lo = floats(lineno, key, parts, 3)
        elif key == "DOMAIN_MAX":
            hi = floats(lineno, key, parts, 3)
        elif key == "LUT_3D_INPUT_RANGE":
            a, b = floats(lineno, key, parts, 2)
            lo, hi = [a] * 3, [b] * 3
        # other keywords (LUT_1D_INPUT_RANGE, vendor extensions) are ignored

    if size is None:
        if has_1d:
            raise LutError(f"LUT file {path} is a 1D LUT (LUT_1D_SIZE); rushes reads 3D cubes")
        raise LutError(f"LUT file {path} has no LUT_3D_SIZE line; it is not a 3D .cube")
    if has_1d:
        raise LutError(
            f"LUT file {path} has a 1D shaper and a 3D LUT; rushes reads 3D-only cubes, "
            "export the LUT without a shaper"
        )
    split = [r.split() for r in rows]
    for parts, lineno in zip(split, row_lines, strict=True):
        if len(parts) != 3:
            raise bad(lineno, f"a LUT row needs 3 numbers, got {' '.join(parts)!r}")
    try:
        flat = [float(v) for v in " ".join(rows).split()]
    except ValueError:
        for parts, lineno in zip(split, row_lines, strict=True):
            if not all(_is_number(p) for p in parts):
                raise bad(lineno, f"non-numeric LUT row {' '.join(parts)!r}") from None
        raise
    values = np.array(flat, dtype=np.float64).reshape(-1, 3)
    if not np.all(np.isfinite(values)):
        k = int(np.argmin(np.isfinite(values).all(axis=1)))
        raise bad(row_lines[k], f"non-finite LUT row {rows[k]!r}")
    expected = size**3
    if len(rows) != expected:
        raise LutError(
            f"LUT file {path}: LUT of the wrong size: LUT_3D_SIZE {size} (line {size_line}) "
            f"needs {expected} rows but the file has {len(rows)}"
        )
    table = values.reshape(size, size, size, 3).transpose(2, 1, 0, 3)
    if any(h <= low for low, h in zip(lo, hi, strict=True)):
        raise LutError(f"LUT file {path}: domain {lo}..{hi} is empty; DOMAIN_MAX must exceed MIN")
    return Lut3d(table, (lo[0], lo[1], lo[2]), (hi[0], hi[1], hi[2]), title)
