"""Tests for rushes.color.lut (3D LUT interpolation and .cube files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rushes.color import Cdl, Lut3d, apply_lut3d, read_cube, write_cube
from rushes.color.lut import METHODS
from rushes.errors import LutError

RNG = np.random.default_rng(11)
METHOD_NAMES = sorted(METHODS)
MATRIX = np.array([[0.9, 0.08, 0.02], [0.05, 0.9, 0.05], [0.01, 0.1, 0.89]], np.float32)


def _rgb(n: int = 4096) -> np.ndarray:
    return RNG.random((n, 3), dtype=np.float32)


def _smooth(x: np.ndarray) -> np.ndarray:
    """A smooth look: a colour matrix then a gentle per-channel curve."""
    y = np.clip(x @ MATRIX.T, 0.0, None)
    return (y**0.9 * np.array([1.02, 1.0, 0.97], np.float32)).astype(np.float32)


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_identity_reproduces_input(method: str) -> None:
    x = _rgb()
    for size in (2, 17, 33):
        np.testing.assert_allclose(Lut3d.identity(size).apply(x, method), x, atol=1e-6)


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_identity_cube_round_trip(tmp_path: Path, method: str) -> None:
    write_cube(tmp_path / "id.cube", Lut3d.identity(33))
    lut = read_cube(tmp_path / "id.cube")
    assert lut.size == 33 and lut.title == "identity"
    x = _rgb()
    np.testing.assert_allclose(lut.apply(x, method), x, atol=1e-6)


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_baked_gamma(method: str) -> None:
    lut = Lut3d.from_function(lambda x: x**2.2, size=33)
    x = _rgb()
    np.testing.assert_allclose(lut.apply(x, method), x**2.2, atol=1e-3)


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_linear_functions_are_exact(method: str) -> None:
    lut = Lut3d.from_function(lambda x: x @ MATRIX.T + 0.01, size=9)
    x = _rgb()
    np.testing.assert_allclose(lut.apply(x, method), x @ MATRIX.T + 0.01, atol=1e-5)


def test_tetrahedral_and_trilinear_agree_on_smooth_functions() -> None:
    lut = Lut3d.from_function(_smooth, size=33)
    x = _rgb(20000)
    tet, tri = lut.apply(x, "tetrahedral"), lut.apply(x, "trilinear")
    np.testing.assert_allclose(tet, tri, atol=1e-3)
    # both are close to the function away from 0 (where x**0.9 is steep)
    x = x * 0.9 + 0.1
    for m in METHOD_NAMES:
        np.testing.assert_allclose(lut.apply(x, m), _smooth(x), atol=2e-3)


def test_tetrahedral_is_exact_on_the_grey_axis() -> None:
    lut = Lut3d.from_function(lambda x: x**2.2 * 0.0 + x.mean(-1, keepdims=True) ** 2.2, size=5)
    g = np.linspace(0, 1, 101, dtype=np.float32)
    grey = np.stack([g, g, g], -1)
    # on the diagonal tetrahedral blends only the two diagonal corners
    ref = np.interp(g, np.linspace(0, 1, 5), np.linspace(0, 1, 5) ** 2.2)
    np.testing.assert_allclose(lut.apply(grey, "tetrahedral")[:, 0], ref, atol=1e-6)


def test_matches_a_reference_implementation() -> None:
    """Vectorized kernels against a plain per-pixel implementation."""
    lut = Lut3d(RNG.random((5, 5, 5, 3)).astype(np.float32))
    x = _rgb(300)
    n = 5
    t = x.astype(np.float64) * (n - 1)
    i0 = np.minimum(np.floor(t).astype(int), n - 2)
    f = t - i0
    tab = lut.table.astype(np.float64)
    tri = np.zeros_like(t)
    tet = np.zeros_like(t)
    for k in range(len(x)):
        r, g, b = i0[k]
        fr, fg, fb = f[k]
        c = tab[r : r + 2, g : g + 2, b : b + 2]
        for dr in (0, 1):
            for dg in (0, 1):
                for db in (0, 1):
                    w = (fr if dr else 1 - fr) * (fg if dg else 1 - fg) * (fb if db else 1 - fb)
                    tri[k] += w * c[dr, dg, db]
        order = np.argsort(-f[k], kind="stable")
        corner = np.zeros(3, int)
        fs = [1.0, *sorted(f[k], reverse=True), 0.0]
        acc = (fs[0] - fs[1]) * c[0, 0, 0]
        for j, axis in enumerate(order):
            corner[axis] = 1
            acc = acc + (fs[j + 1] - fs[j + 2]) * c[tuple(corner)]
        tet[k] = acc
    np.testing.assert_allclose(lut.apply(x, "trilinear"), tri, atol=1e-5)
    np.testing.assert_allclose(lut.apply(x, "tetrahedral"), tet, atol=1e-5)


def test_domain_clamp_and_custom_domain() -> None:
    lut = Lut3d.identity(9)
    x = np.array([[-0.5, 0.5, 1.5], [2.0, -1.0, 0.25]], np.float32)
    np.testing.assert_allclose(lut.apply(x), np.clip(x, 0, 1), atol=1e-6)
    wide = Lut3d.from_function(lambda v: v * 2.0, size=9, domain_min=(-1, -1, -1), domain_max=3)
    assert wide.domain_min == (-1.0, -1.0, -1.0) and wide.domain_max == (3.0, 3.0, 3.0)
    np.testing.assert_allclose(wide.apply(x), x * 2.0, atol=1e-5)
    np.testing.assert_allclose(wide.apply(np.array([5.0, -3.0, 0.0])), [6.0, -2.0, 0.0])


def test_shapes_dtype_input_untouched_nan() -> None:
    lut = Lut3d.from_function(_smooth, size=17)
    img = RNG.random((6, 7, 3)).astype(np.float32)
    before = img.copy()
    out = lut.apply(img)
    assert out.shape == (6, 7, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(img, before)
    # non-contiguous and float64 inputs
    view = img.transpose(1, 0, 2)
    np.testing.assert_allclose(lut.apply(view), out.transpose(1, 0, 2), atol=1e-6)
    np.testing.assert_allclose(lut.apply(img.astype(np.float64)), out, atol=1e-6)
    assert lut.apply(np.array([0.2, 0.3, 0.4])).shape == (3,)
    assert lut.apply(np.zeros((0, 3), np.float32)).shape == (0, 3)
    nan = lut.apply(np.array([[np.nan, 0.5, 0.5], [0.5, 0.5, 0.5]], np.float32))
    assert np.isnan(nan[0]).any() and np.all(np.isfinite(nan[1]))
    with pytest.raises(LutError, match="unknown LUT interpolation"):
        lut.apply(img, method="cubic")
    with pytest.raises(LutError, match="last axis of 3"):
        lut.apply(np.zeros((4, 4)))


def test_big_frame_chunks_match_small() -> None:
    lut = Lut3d.from_function(_smooth, size=33)
    img = RNG.random((300, 400, 3)).astype(np.float32)  # several chunks
    full = lut.apply(img)
    np.testing.assert_array_equal(full[123], lut.apply(img[123]))


def test_pure_kernel_and_bake_a_cdl() -> None:
    cdl = Cdl(slope=(1.1, 1.0, 0.9), offset=(0.02, 0.0, -0.01), power=(1.0, 1.05, 0.95))
    lut = Lut3d.from_function(cdl.apply, size=65)
    x = _rgb() * 0.9 + 0.05
    np.testing.assert_allclose(apply_lut3d(x, lut.table), lut.apply(x), atol=1e-7)
    np.testing.assert_allclose(lut.apply(x), cdl.apply(x), atol=2e-4)


def test_record_validation() -> None:
    with pytest.raises(LutError, match=r"\(N, N, N, 3\)"):
        Lut3d(np.zeros((4, 4, 3, 3), np.float32))
    with pytest.raises(LutError, match=r"outside 2\.\.256"):
        Lut3d(np.zeros((1, 1, 1, 3), np.float32))
    with pytest.raises(LutError, match="NaN"):
        Lut3d(np.full((2, 2, 2, 3), np.nan, np.float32))
    with pytest.raises(LutError, match="empty"):
        Lut3d(np.zeros((2, 2, 2, 3)), domain_min=(1, 0, 0), domain_max=(1, 1, 1))
    with pytest.raises(LutError, match="returned shape"):
        Lut3d.from_function(lambda x: x[..., :2], size=5)
    lut = Lut3d.identity(5)
    assert not lut.table.flags.writeable
    with pytest.raises(ValueError):
        lut.table[0, 0, 0, 0] = 1.0


# ---------------------------------------------------------------------------- .cube files


def test_cube_axis_order_red_fastest(tmp_path: Path) -> None:
    n = 3
    table = np.zeros((n, n, n, 3), np.float32)
    r, g, b = np.meshgrid(*[np.arange(n)] * 3, indexing="ij")
    table[..., 0], table[..., 1], table[..., 2] = r / 10, g / 10, b / 10
    write_cube(tmp_path / "order.cube", Lut3d(table, title="order"))
    lines = (tmp_path / "order.cube").read_text().splitlines()
    assert lines[:4] == [
        'TITLE "order"',
        "LUT_3D_SIZE 3",
        "DOMAIN_MIN 0.000000 0.000000 0.000000",
        "DOMAIN_MAX 1.000000 1.000000 1.000000",
    ]
    rows = [ln for ln in lines[4:] if ln]
    assert len(rows) == 27
    assert rows[0] == "0.000000 0.000000 0.000000"
    assert rows[1] == "0.100000 0.000000 0.000000"  # red changes fastest
    assert rows[3] == "0.000000 0.100000 0.000000"
    assert rows[9] == "0.000000 0.000000 0.100000"
    back = read_cube(tmp_path / "order.cube")
    np.testing.assert_allclose(back.table, table, atol=1e-7)


HAND_CUBE = """# written by hand, the way Resolve exports
TITLE "warm 2x2"
LUT_3D_SIZE 2

0.0 0.0 0.0
1.0 0.1 0.0
0.0 1.0 0.0
1.0 1.0 0.1
0.0 0.0 1.0
1.0 0.0 1.0
0.0 1.0 1.0
1.0 1.0 1.0
"""


def test_read_hand_written_cube(tmp_path: Path) -> None:
    path = tmp_path / "hand.cube"
    path.write_text(HAND_CUBE)
    lut = read_cube(path)
    assert lut.title == "warm 2x2" and lut.size == 2
    np.testing.assert_allclose(lut.table[1, 0, 0], [1.0, 0.1, 0.0])
    np.testing.assert_allclose(lut.table[1, 1, 0], [1.0, 1.0, 0.1])
    np.testing.assert_allclose(lut.table[0, 0, 1], [0.0, 0.0, 1.0])
    np.testing.assert_allclose(lut.apply(np.array([1.0, 0.0, 0.0])), [1.0, 0.1, 0.0])


def test_read_input_range_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "range.cube"
    body = "\n".join(
        " ".join(f"{v:.6f}" for v in row)
        for row in Lut3d.identity(2).table.transpose(2, 1, 0, 3).reshape(-1, 3)
    )
    path.write_text(f"LUT_3D_SIZE 2\nLUT_3D_INPUT_RANGE -0.5 1.5\n# a comment\n\n{body}\n")
    lut = read_cube(path)
    assert lut.domain_min == (-0.5,) * 3 and lut.domain_max == (1.5,) * 3


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_cube_round_trip_values(tmp_path: Path, method: str) -> None:
    lut = Lut3d.from_function(_smooth, size=17, domain_min=(-0.1, 0, 0), domain_max=(1.2, 1, 1))
    write_cube(tmp_path / "look.cube", lut)
    back = read_cube(tmp_path / "look.cube")
    assert back.domain_min == pytest.approx(lut.domain_min)
    np.testing.assert_allclose(back.table, lut.table, atol=1e-6)
    x = _rgb()
    np.testing.assert_allclose(back.apply(x, method), lut.apply(x, method), atol=2e-6)
    assert [p.name for p in tmp_path.iterdir()] == ["look.cube"]


def _cube_rows(n: int) -> str:
    return "\n".join("0.5 0.5 0.5" for _ in range(n))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (f"LUT_3D_SIZE 3\n{_cube_rows(26)}\n", r"LUT of the wrong size: LUT_3D_SIZE 3 .*27 rows"),
        (f"LUT_3D_SIZE 2\n{_cube_rows(9)}\n", "LUT of the wrong size"),
        (f"LUT_3D_SIZE 2\n{_cube_rows(3)}\n0.5 x 0.5\n{_cube_rows(4)}\n", "line 5: non-numeric"),
        (
            f"LUT_3D_SIZE 2\n{_cube_rows(3)}\n0.5 0.5\n{_cube_rows(4)}\n",
            "line 5: a LUT row needs 3",
        ),
        (f"{_cube_rows(8)}\n", "no LUT_3D_SIZE"),
        (f"LUT_1D_SIZE 8\n{_cube_rows(8)}\n", "1D LUT"),
        (f"LUT_1D_SIZE 8\nLUT_3D_SIZE 2\n{_cube_rows(16)}\n", "1D shaper"),
        (f"LUT_3D_SIZE 1\n{_cube_rows(1)}\n", "line 1: LUT_3D_SIZE 1 is outside 2..256"),
        ("LUT_3D_SIZE 300\n", "outside 2..256"),
        ("LUT_3D_SIZE big\n", "line 1: LUT_3D_SIZE needs 1 numbers"),
        (f"LUT_3D_SIZE 2\nDOMAIN_MIN 0 0\n{_cube_rows(8)}\n", "line 2: DOMAIN_MIN needs 3"),
        (f"LUT_3D_SIZE 2\n{_cube_rows(7)}\nnan 0 0\n", "line 9: non-finite"),
    ],
)
def test_malformed_cubes(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "broken.cube"
    path.write_text(text)
    with pytest.raises(LutError, match=match) as info:
        read_cube(path)
    assert "broken.cube" in str(info.value)


def test_write_cube_checks(tmp_path: Path) -> None:
    with pytest.raises(LutError, match="give a Lut3d"):
        write_cube(tmp_path / "x.cube", np.zeros((2, 2, 2, 3)))  # type: ignore[arg-type]
    with pytest.raises(LutError, match="too coarse"):
        write_cube(tmp_path / "x.cube", Lut3d.identity(2), decimals=4)
    write_cube(tmp_path / "x.cube", Lut3d.identity(2), decimals=8)
    assert "0.00000000 0.00000000 0.00000000" in (tmp_path / "x.cube").read_text()
    with pytest.raises(LutError, match="cannot read"):
        read_cube(tmp_path / "missing.cube")
