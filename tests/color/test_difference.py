"""Tests for rushes.color.difference (L*a*b* and CIEDE2000)."""

from __future__ import annotations

import colour
import numpy as np
import pytest

from rushes.color import delta_e_2000, delta_e_images, rgb_to_lab
from rushes.color.difference import D65_WHITE_XYZ, RGB_TO_XYZ, lab_to_xyz, xyz_to_lab
from rushes.errors import ColorError

RNG = np.random.default_rng(5)

# Sharma, Wu & Dalal (2005), Table 1: all 34 published test pairs and ΔE00 values.
SHARMA = np.array(
    [
        [50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425],
        [50.0000, 3.1571, -77.2803, 50.0000, 0.0000, -82.7485, 2.8615],
        [50.0000, 2.8361, -74.0200, 50.0000, 0.0000, -82.7485, 3.4412],
        [50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000],
        [50.0000, -1.1848, -84.8006, 50.0000, 0.0000, -82.7485, 1.0000],
        [50.0000, -0.9009, -85.5211, 50.0000, 0.0000, -82.7485, 1.0000],
        [50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669],
        [50.0000, -1.0000, 2.0000, 50.0000, 0.0000, 0.0000, 2.3669],
        [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792],
        [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0010, 7.1792],
        [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195],
        [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0012, 7.2195],
        [50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045],
        [50.0000, -0.0010, 2.4900, 50.0000, 0.0010, -2.4900, 4.8045],
        [50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461],
        [50.0000, 2.5000, 0.0000, 50.0000, 0.0000, -2.5000, 4.3065],
        [50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492],
        [50.0000, 2.5000, 0.0000, 61.0000, -5.0000, 29.0000, 22.8977],
        [50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030],
        [50.0000, 2.5000, 0.0000, 58.0000, 24.0000, 15.0000, 19.4535],
        [50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000],
        [50.0000, 2.5000, 0.0000, 50.0000, 3.2972, 0.0000, 1.0000],
        [50.0000, 2.5000, 0.0000, 50.0000, 1.8634, 0.5757, 1.0000],
        [50.0000, 2.5000, 0.0000, 50.0000, 3.2592, 0.3350, 1.0000],
        [60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644],
        [63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630],
        [61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731],
        [35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645],
        [22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373],
        [36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146],
        [90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441],
        [90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381],
        [6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377],
        [2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082],
    ]
)


def test_sharma_2005_pairs() -> None:
    de = delta_e_2000(SHARMA[:, :3], SHARMA[:, 3:6])
    np.testing.assert_allclose(de, SHARMA[:, 6], atol=1e-4)
    # symmetric
    np.testing.assert_allclose(delta_e_2000(SHARMA[:, 3:6], SHARMA[:, :3]), SHARMA[:, 6], atol=1e-4)


def test_matches_colour_science() -> None:
    lab1 = np.stack(
        [RNG.uniform(0, 100, 5000), RNG.uniform(-100, 100, 5000), RNG.uniform(-100, 100, 5000)],
        axis=-1,
    )
    lab2 = lab1 + RNG.normal(0, 8, lab1.shape)
    ours = delta_e_2000(lab1, lab2)
    ref = colour.difference.delta_E_CIE2000(lab1, lab2)
    np.testing.assert_allclose(ours, ref, atol=1e-8)
    np.testing.assert_allclose(
        delta_e_2000(lab1, lab2, k_l=2.0),
        colour.difference.delta_E_CIE2000(lab1, lab2, textiles=True),
        atol=1e-8,
    )


def test_shapes_zero_and_errors() -> None:
    lab = RNG.uniform(0, 60, (4, 5, 3))
    de = delta_e_2000(lab, lab)
    assert de.shape == (4, 5)
    np.testing.assert_array_equal(de, 0.0)
    assert delta_e_2000(lab, np.array([50.0, 0.0, 0.0])).shape == (4, 5)  # broadcasts
    assert np.isnan(delta_e_2000(np.array([np.nan, 0, 0]), np.array([50.0, 0, 0])))
    with pytest.raises(ColorError, match="last axis 3"):
        delta_e_2000(np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ColorError, match="broadcast"):
        delta_e_2000(np.zeros((3, 3)), np.zeros((4, 3)))


def test_lab_conversions() -> None:
    white = rgb_to_lab(np.ones(3, np.float32))
    np.testing.assert_allclose(white, [100.0, 0.0, 0.0], atol=1e-3)
    np.testing.assert_allclose(rgb_to_lab(np.zeros(3)), 0.0, atol=1e-4)
    grey = rgb_to_lab(np.full(3, 0.5))
    assert grey[0] == pytest.approx(53.389, abs=2e-3) and abs(grey[1]) < 1e-4
    assert rgb_to_lab(np.ones(3)).dtype == np.float64
    # against colour-science's sRGB -> XYZ -> Lab
    rgb = RNG.random((200, 3))
    ref = colour.XYZ_to_Lab(
        colour.sRGB_to_XYZ(rgb),
        colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D65"],
    )
    np.testing.assert_allclose(rgb_to_lab(rgb), ref, atol=0.02)
    # from another encoding: ACEScg linear gives the same Lab as its sRGB encoding
    lin709 = colour.cctf_decoding(rgb, function="sRGB")
    acescg = colour.RGB_to_RGB(
        lin709, colour.RGB_COLOURSPACES["sRGB"], colour.RGB_COLOURSPACES["ACEScg"], "Bradford"
    )
    np.testing.assert_allclose(rgb_to_lab(acescg, "ACEScg"), rgb_to_lab(rgb), atol=0.05)
    # xyz <-> lab round trip
    xyz = rgb @ RGB_TO_XYZ.T
    np.testing.assert_allclose(lab_to_xyz(xyz_to_lab(xyz)), xyz, atol=1e-10)
    np.testing.assert_allclose(D65_WHITE_XYZ, [0.95046, 1.0, 1.08906], atol=1e-4)


def test_delta_e_images() -> None:
    a = RNG.random((6, 8, 3)).astype(np.float32)
    b = a.copy()
    b[2, 3] = [a[2, 3, 0] * 0.8, a[2, 3, 1], a[2, 3, 2]]
    de = delta_e_images(a, b)
    assert de.shape == (6, 8)
    assert de[2, 3] > 0.5
    de[2, 3] = 0.0
    np.testing.assert_allclose(de, 0.0, atol=1e-9)
    with pytest.raises(ColorError, match="same size"):
        delta_e_images(a, b[:5])
    with pytest.raises(ColorError, match="unknown colour space"):
        delta_e_images(a, b, space="sRGB")
