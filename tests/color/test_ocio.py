"""Tests for rushes.color.ocio (built-in ACES studio config, conversions, guessing)."""

from __future__ import annotations

import colour
import numpy as np
import pytest

from rushes.color import (
    DEFAULT_DISPLAY,
    DEFAULT_VIEW,
    GRADING_SPACE,
    WORKING_SPACE,
    canonical_colorspace,
    config,
    convert,
    from_working,
    guess_colorspace,
    list_colorspaces,
    to_display,
    to_working,
)
from rushes.color.ocio import STILL_SPACE, VIDEO_SPACE, list_displays, list_views
from rushes.errors import ColorError

RNG = np.random.default_rng(3)


def test_config_is_builtin_and_cached() -> None:
    cfg = config()
    assert cfg is config()
    assert "studio-config" in cfg.getName()
    names = list_colorspaces()
    for name in (WORKING_SPACE, GRADING_SPACE, "ACES2065-1", VIDEO_SPACE, STILL_SPACE):
        assert name in names


def test_default_display_and_view_are_the_configs() -> None:
    assert config().getDefaultDisplay() == DEFAULT_DISPLAY
    assert config().getDefaultView(DEFAULT_DISPLAY) == DEFAULT_VIEW
    assert DEFAULT_DISPLAY in list_displays()
    assert DEFAULT_VIEW in list_views(DEFAULT_DISPLAY)


def test_acescg_grey_to_acescct() -> None:
    grey = np.full((2, 2, 3), 0.18, np.float32)
    out = convert(grey, "ACEScg", "ACEScct")
    np.testing.assert_allclose(out, 0.4135884, atol=1e-5)
    # the ACEScct formula (S-2016-001): (log2(x) + 9.72) / 17.52
    assert (np.log2(0.18) + 9.72) / 17.52 == pytest.approx(0.4135884, abs=1e-6)


def test_srgb_decode_known_values() -> None:
    x = np.array([[1.0, 1.0, 1.0], [0.5, 0.2, 0.9], [0.0, 0.0, 0.0]], np.float32)
    out = convert(x, "sRGB Encoded Rec.709 (sRGB)", "Linear Rec.709 (sRGB)")
    np.testing.assert_allclose(out[0], 1.0, atol=1e-6)
    np.testing.assert_allclose(out[1], colour.cctf_decoding(x[1], function="sRGB"), atol=1e-6)
    np.testing.assert_allclose(out[2], 0.0, atol=1e-7)
    fast = convert(x, "sRGB Encoded Rec.709 (sRGB)", "Linear Rec.709 (sRGB)", fast=True)
    np.testing.assert_allclose(fast, out, rtol=1e-4, atol=1e-6)


def test_acescg_aces2065_round_trip_and_matrix() -> None:
    x = (RNG.random((64, 3)) * 4.0 - 0.5).astype(np.float32)
    ap0 = convert(x, "ACEScg", "ACES2065-1")
    np.testing.assert_allclose(convert(ap0, "ACES2065-1", "ACEScg"), x, atol=1e-5)
    ref = colour.RGB_to_RGB(
        x.astype(np.float64),
        colour.RGB_COLOURSPACES["ACEScg"],
        colour.RGB_COLOURSPACES["ACES2065-1"],
        chromatic_adaptation_transform=None,
    )
    np.testing.assert_allclose(ap0, ref, atol=1e-4)


def test_working_space_never_clamps() -> None:
    cct = np.array([[1.4, 0.0, -0.1]], np.float32)
    lin = to_working(cct, "ACEScct")
    assert lin[0, 0] > 10.0 and lin[0, 2] < 0.0
    np.testing.assert_allclose(from_working(lin, "ACEScct"), cct, atol=1e-5)
    hot = np.array([[8.0, -0.05, 0.3]], np.float32)
    np.testing.assert_allclose(
        to_working(from_working(hot, "ACES2065-1"), "ACES2065-1"), hot, atol=1e-5
    )


def test_video_space_inverse_is_well_defined() -> None:
    x = np.array([[0.0, 0.5, 1.0], [1.2, 0.09, 0.7]], np.float32)
    lin = to_working(x, VIDEO_SPACE)
    np.testing.assert_allclose(from_working(lin, VIDEO_SPACE), x, atol=1e-5)
    grey = to_working(np.full(3, 0.5, np.float32), VIDEO_SPACE)
    # gamma 2.4 decode of 0.5, then Rec.709 -> AP1 keeps neutrals neutral
    np.testing.assert_allclose(grey, 0.5**2.4, atol=1e-5)


def test_aliases_roles_and_case() -> None:
    x = np.full((1, 3), 0.18, np.float32)
    ref = convert(x, "ACEScg", "ACEScct")
    np.testing.assert_allclose(convert(x, "lin_ap1", "acescct_ap1"), ref)
    np.testing.assert_allclose(convert(x, "scene_linear", "color_timing"), ref)
    np.testing.assert_allclose(convert(x, "acescg", "ACESCCT"), ref)
    assert canonical_colorspace("srgb_tx") == "sRGB Encoded Rec.709 (sRGB)"
    same = convert(x, "ACEScg", "lin_ap1")
    np.testing.assert_array_equal(same, x)
    assert same is not x


def test_unknown_name_lists_close_matches() -> None:
    x = np.zeros((1, 3), np.float32)
    with pytest.raises(ColorError, match=r"unknown colour space 'ACEScgg'.*'ACEScg'"):
        convert(x, "ACEScgg", "ACEScct")
    with pytest.raises(ColorError, match="S-Log3"):
        to_working(x, "Slog3 SGamut3")
    with pytest.raises(ColorError, match="list_colorspaces"):
        to_working(x, "completely unrelated")
    with pytest.raises(ColorError, match="last axis of 3"):
        convert(np.zeros((2, 2)), "ACEScg", "ACEScct")


def test_shapes_and_input_untouched() -> None:
    img = RNG.random((5, 7, 3)).astype(np.float32)
    before = img.copy()
    out = to_working(img, STILL_SPACE)
    assert out.shape == img.shape and out.dtype == np.float32
    np.testing.assert_array_equal(img, before)
    flat = to_working(img.reshape(-1, 3), STILL_SPACE).reshape(img.shape)
    np.testing.assert_allclose(flat, out, atol=1e-7)
    assert to_working(np.array([0.5, 0.5, 0.5]), STILL_SPACE).shape == (3,)
    assert to_working(np.zeros((0, 3)), STILL_SPACE).shape == (0, 3)
    nonc = img.transpose(1, 0, 2)
    np.testing.assert_allclose(to_working(nonc, STILL_SPACE), out.transpose(1, 0, 2), atol=1e-7)


def test_to_display() -> None:
    x = np.array([[0.18, 0.18, 0.18], [0.0, 0.0, 0.0], [50.0, 50.0, 50.0]], np.float32)
    out = to_display(x, WORKING_SPACE)
    assert out.dtype == np.float32 and out.shape == x.shape
    assert 0.3 < out[0, 0] < 0.45  # mid grey lands mid-screen
    assert out[1, 0] == pytest.approx(0.0, abs=1e-4)
    assert 0.95 < out[2, 0] <= 1.0  # highlights roll off below display white
    plain = to_display(x[:1], WORKING_SPACE, view="Un-tone-mapped")
    assert plain[0, 0] != pytest.approx(out[0, 0], abs=1e-3)
    with pytest.raises(ColorError, match="unknown display"):
        to_display(x, WORKING_SPACE, display="sRGB")
    with pytest.raises(ColorError, match="unknown view"):
        to_display(x, WORKING_SPACE, view="ACES 1.0 SDR-video")


@pytest.mark.parametrize(
    ("codec", "pix_fmt", "bits", "meta", "kind", "expected"),
    [
        ("h264", "yuv420p", 8, {}, "movie", "Gamma 2.4 Encoded Rec.709"),
        ("hevc", "yuv420p10le", 10, {"encoder": "Lavc"}, "movie", "Gamma 2.4 Encoded Rec.709"),
        ("prores", "yuv422p10le", 10, {}, "movie", "Gamma 2.4 Encoded Rec.709"),
        ("dnxhd", "yuv422p10le", 10, {}, "movie", "Gamma 2.4 Encoded Rec.709"),
        (
            "prores",
            "yuv444p12le",
            12,
            {"com.arri.camera.ColorGammaSxS": "LOG-C"},
            "movie",
            "ARRI LogC3 (EI800)",
        ),
        ("prores", "yuv444p12le", 12, {"gamma": "LogC4"}, "movie", "ARRI LogC4"),
        (
            "prores",
            "yuv422p10le",
            10,
            {"comment": "S-Log3/S-Gamut3.Cine"},
            "movie",
            "S-Log3 S-Gamut3.Cine",
        ),
        ("h264", "yuv420p10le", 10, {"gamma": "s-log3"}, "movie", "S-Log3 S-Gamut3"),
        ("hevc", "yuv422p10le", 10, {"transfer": "V-Log"}, "movie", "V-Log V-Gamut"),
        ("prores", "yuv444p12le", 12, {"red:gamma": "Log3G10"}, "movie", "Log3G10 REDWideGamutRGB"),
        (
            "prores",
            "yuv422p10le",
            10,
            {"com.apple.proapps.color": "Apple Log"},
            "movie",
            "Apple Log",
        ),
        (
            "prores",
            "yuv422p10le",
            10,
            {"color_trc": "log", "make": "ARRI"},
            "movie",
            "ARRI LogC3 (EI800)",
        ),
        ("prores", "yuv422p10le", 10, {"color_trc": "log"}, "movie", VIDEO_SPACE),
        (
            "hevc",
            "yuv420p10le",
            10,
            {"color_trc": "arib-std-b67"},
            "movie",
            "Rec.2100-HLG - Display",
        ),
        (
            "hevc",
            "yuv420p10le",
            10,
            {"color_transfer": "smpte2084"},
            "movie",
            "Rec.2100-PQ - Display",
        ),
        ("h264", "yuv420p", 8, {"title": "catalog dialog"}, "movie", VIDEO_SPACE),
        ("openexr", "half", 16, {}, "sequence", "Linear Rec.709 (sRGB)"),
        ("openexr", "half", 16, {"acesImageContainerFlag": "1"}, "sequence", "ACES2065-1"),
        (
            "openexr",
            "float",
            32,
            {"chromaticities": "(0.713, 0.293, 0.165, 0.83, 0.128, 0.044, 0.32168, 0.33767)"},
            "sequence",
            "ACEScg",
        ),
        (
            "openexr",
            "half",
            16,
            {"chromaticities": "(0.7347, 0.2653, 0.0, 1.0, 0.0001, -0.077, 0.32168, 0.33767)"},
            "sequence",
            "ACES2065-1",
        ),
        (
            "openexr",
            "half",
            16,
            {"oiio:ColorSpace": "srgb_rec709_scene"},
            "still",
            "Linear Rec.709 (sRGB)",
        ),
        ("png", "uint8", 8, {"oiio:ColorSpace": "srgb_rec709_scene"}, "still", STILL_SPACE),
        ("jpeg", "uint8", 8, {}, "still", STILL_SPACE),
        ("tiff", "uint16", 16, {}, "sequence", STILL_SPACE),
        ("tiff", "float", 32, {}, "still", "Linear Rec.709 (sRGB)"),
        ("dpx", "uint16", 10, {"dpx:Transfer": "Printing density"}, "sequence", "ADX10"),
        ("dpx", "uint16", 10, {"dpx:Transfer": "Undefined"}, "sequence", VIDEO_SPACE),
        ("dpx", "uint16", 10, {"ocio:colorspace": "ACEScct"}, "sequence", "ACEScct"),
    ],
)
def test_guess_colorspace(
    codec: str, pix_fmt: str, bits: int, meta: dict[str, str], kind: str, expected: str
) -> None:
    got = guess_colorspace(codec, pix_fmt, bits, meta, kind)
    assert got == expected
    assert got in list_colorspaces()


def test_to_display_fast_is_close() -> None:
    lin = (2.0 ** RNG.uniform(-10, 6, (2000, 1)) * RNG.uniform(0.3, 1.0, (2000, 3))).astype(
        np.float32
    )
    exact = to_display(lin, WORKING_SPACE)
    fast = to_display(lin, WORKING_SPACE, fast=True)
    assert fast.shape == exact.shape and fast.dtype == np.float32
    assert np.abs(fast - exact).mean() < 3e-3
    assert np.abs(fast - exact).max() < 0.06
