"""Tests for rushes.color.cdl (ASC CDL kernel, record, .cdl/.cc/.ccc files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rushes.color import Cdl, apply_cdl, read_cdl, write_cdl
from rushes.color.cdl import ASC_NAMESPACE, LUMA_WEIGHTS
from rushes.errors import CdlError, RushesError

RNG = np.random.default_rng(7)
PIXELS = (RNG.random((64, 3), dtype=np.float32) * 1.2).astype(np.float32)


def _pixels() -> np.ndarray:
    """Fixed float32 RGB (64, 3) in [0, 1.2]."""
    return PIXELS.copy()


# ---------------------------------------------------------------------------- kernel values


def test_identity_is_identity() -> None:
    x = _pixels()
    ident = Cdl.identity()
    assert ident.is_identity()
    np.testing.assert_array_equal(ident.apply(x), x)
    assert ident.apply(x).dtype == np.float32


def test_known_values_by_hand() -> None:
    cdl = Cdl(slope=(2.0, 2.0, 2.0), offset=(0.1, 0.1, 0.1), power=(0.5, 0.5, 0.5))
    x = np.array([[0.0, 0.12, 0.5], [0.2, 0.3, 0.45]], np.float32)
    expected = np.sqrt(np.array([[0.1, 0.34, 1.1], [0.5, 0.7, 1.0]]))
    np.testing.assert_allclose(cdl.apply(x), expected, atol=1e-6)
    # 1.1 ** 0.5 > 1: nothing is clamped above 1
    assert cdl.apply(x)[0, 2] > 1.0


def test_per_channel_values() -> None:
    cdl = Cdl(slope=(1.5, 1.0, 0.5), offset=(0.0, -0.1, 0.2), power=(1.0, 2.0, 0.8))
    x = np.array([0.4, 0.6, 0.8], np.float32)
    expected = [0.6, 0.5**2, 0.6**0.8]
    np.testing.assert_allclose(cdl.apply(x), expected, atol=1e-6)


def test_saturation_golden_values() -> None:
    x = np.array([0.8, 0.4, 0.2], np.float32)
    luma = 0.2126 * 0.8 + 0.7152 * 0.4 + 0.0722 * 0.2  # 0.4706
    assert luma == pytest.approx(0.4706)
    np.testing.assert_allclose(Cdl(saturation=0.0).apply(x), [luma] * 3, atol=1e-6)
    np.testing.assert_allclose(Cdl(saturation=0.5).apply(x), [0.6353, 0.4353, 0.3353], atol=1e-6)
    # saturation 2 pushes red above 1 and blue below 0: neither is clamped
    np.testing.assert_allclose(Cdl(saturation=2.0).apply(x), [1.1294, 0.3294, -0.0706], atol=1e-6)
    # saturation keeps Rec.709 luma
    out = Cdl(saturation=1.7).apply(_pixels())
    w = np.array(LUMA_WEIGHTS)
    np.testing.assert_allclose(out @ w, _pixels() @ w, atol=1e-5)


def test_sop_then_saturation_order() -> None:
    cdl = Cdl(
        slope=(1.2, 0.9, 1.0), offset=(0.05, 0.0, -0.02), power=(1.1, 0.9, 1.0), saturation=0.7
    )
    x = _pixels()
    sop = np.maximum(x * np.array(cdl.slope) + np.array(cdl.offset), 0) ** np.array(cdl.power)
    luma = sop @ np.array(LUMA_WEIGHTS)
    expected = luma[:, None] + 0.7 * (sop - luma[:, None])
    np.testing.assert_allclose(cdl.apply(x), expected, atol=1e-6)


def test_negatives_clamped_before_power() -> None:
    cdl = Cdl(offset=(-0.2, -0.2, -0.2), power=(2.0, 2.0, 2.0))
    x = np.array([0.1, 0.2, 0.5], np.float32)
    # 0.1 - 0.2 = -0.1 -> 0 (not (-0.1)**2 = 0.01); 0.5 - 0.2 = 0.3 -> 0.09
    np.testing.assert_allclose(cdl.apply(x), [0.0, 0.0, 0.09], atol=1e-7)
    # fractional power of a negative never makes NaN
    assert np.all(np.isfinite(Cdl(offset=(-1, -1, -1), power=(0.5, 0.5, 0.5)).apply(x)))
    # the identity CDL too maps negatives to 0 (clamp before power, whatever the power)
    np.testing.assert_array_equal(Cdl().apply(np.array([-0.5, 0.0, 2.0])), [0.0, 0.0, 2.0])


def test_no_upper_clamp_scene_values() -> None:
    x = np.array([4.0, 10.0, 1.5], np.float32)
    np.testing.assert_allclose(Cdl(slope=(2.0, 2.0, 2.0)).apply(x), [8.0, 20.0, 3.0])


def test_input_untouched_shapes_and_nan() -> None:
    x = RNG.random((4, 5, 3)).astype(np.float32)
    before = x.copy()
    out = Cdl(slope=(1.1, 1.0, 0.9), saturation=0.8).apply(x)
    np.testing.assert_array_equal(x, before)
    assert out.shape == x.shape and out.dtype == np.float32
    assert Cdl().apply(np.array([0.1, 0.2, 0.3])).shape == (3,)
    nan = Cdl(saturation=0.5).apply(np.array([np.nan, 0.2, 0.3], np.float32))
    assert np.all(np.isnan(nan))  # NaN spreads through luma: visible, not hidden
    with pytest.raises(CdlError, match="last axis of 3"):
        Cdl().apply(np.zeros((4, 4)))


def test_kernel_broadcasts_per_frame_params() -> None:
    frames = RNG.random((2, 3, 4, 3)).astype(np.float32)
    slope = np.array([[1.0, 1.0, 1.0], [2.0, 0.5, 1.0]], np.float32)[:, None, None, :]
    sat = np.array([1.0, 0.5], np.float32)[:, None, None, None]
    out = apply_cdl(frames, slope, 0.0, 1.0, sat)
    np.testing.assert_allclose(out[0], frames[0], atol=1e-7)
    np.testing.assert_allclose(
        out[1], Cdl(slope=(2.0, 0.5, 1.0), saturation=0.5).apply(frames[1]), atol=1e-6
    )


def test_validation() -> None:
    assert Cdl(slope=1.5).slope == (1.5, 1.5, 1.5)
    assert Cdl(slope=np.array([1, 2, 3])).slope == (1.0, 2.0, 3.0)
    for bad in (
        {"slope": (1.0, 1.0)},
        {"slope": (-1.0, 1.0, 1.0)},
        {"power": (0.0, 1.0, 1.0)},
        {"offset": (np.nan, 0.0, 0.0)},
        {"saturation": -0.1},
        {"slope": "abc"},
    ):
        with pytest.raises(CdlError):
            Cdl(**bad)  # type: ignore[arg-type]
    assert issubclass(CdlError, RushesError)


def test_is_identity_tolerance() -> None:
    assert Cdl(slope=(1.0 + 1e-8, 1.0, 1.0)).is_identity()
    assert not Cdl(slope=(1.001, 1.0, 1.0)).is_identity()
    assert Cdl(slope=(1.001, 1.0, 1.0)).is_identity(tol=1e-2)
    assert Cdl(id="A001").is_identity()


def test_inverse() -> None:
    x = RNG.random((100, 3)).astype(np.float32) * 0.8 + 0.1
    lin = Cdl(slope=(1.2, 0.8, 1.05), offset=(0.05, -0.02, 0.0))
    so_power = Cdl(slope=(1.2, 0.8, 1.05), power=(0.9, 1.2, 1.0))
    for cdl in (lin, so_power):
        inv = cdl.inverse()
        assert inv is not None
        np.testing.assert_allclose(inv.apply(cdl.apply(x)), x, atol=1e-5)
        np.testing.assert_allclose(cdl.apply(inv.apply(x)), x, atol=1e-5)
    assert Cdl(saturation=0.9).inverse() is None
    assert Cdl(offset=(0.1, 0, 0), power=(1.1, 1, 1)).inverse() is None
    assert Cdl(slope=(0.0, 1, 1)).inverse() is None
    assert Cdl().inverse() == Cdl(description="inverse")


def test_dict_round_trip() -> None:
    cdl = Cdl((1.1, 1.0, 0.9), (0.01, 0.0, -0.01), (1.0, 1.1, 0.95), 0.9, "A001", "warm")
    assert Cdl.from_dict(cdl.as_dict()) == cdl
    with pytest.raises(CdlError, match="unknown keys"):
        Cdl.from_dict({"slop": [1, 1, 1]})


# ---------------------------------------------------------------------------- files

CDLS = [
    Cdl((1.0234567, 0.98, 1.1), (0.0123456, -0.0213, 0.0), (1.05, 0.95, 1.0), 0.875, "A001C003"),
    Cdl((0.9, 1.0, 1.2), (-0.05, 0.02, 0.01), (1.2, 1.0, 0.8), 1.15, "B002", "night & <blue>"),
]


@pytest.mark.parametrize("ext", [".cdl", ".ccc", ".cc"])
def test_round_trip_all_formats(tmp_path: Path, ext: str) -> None:
    cdls = CDLS[:1] if ext == ".cc" else CDLS
    path = tmp_path / f"look{ext}"
    write_cdl(path, cdls)
    back = read_cdl(path)
    assert len(back) == len(cdls)
    x = RNG.random((256, 3)).astype(np.float32)
    for a, b in zip(cdls, back, strict=True):
        np.testing.assert_allclose(a.slope, b.slope, atol=1e-6)
        np.testing.assert_allclose(a.offset, b.offset, atol=1e-6)
        np.testing.assert_allclose(a.power, b.power, atol=1e-6)
        assert b.saturation == pytest.approx(a.saturation, abs=1e-6)
        assert (b.id, b.description) == (a.id, a.description)
        np.testing.assert_allclose(b.apply(x), a.apply(x), atol=1e-5)
    text = path.read_text()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert f'xmlns="{ASC_NAMESPACE}"' in text
    assert "1.023457 0.980000 1.100000" in text  # six decimals
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left


def test_write_forms(tmp_path: Path) -> None:
    write_cdl(tmp_path / "a.cdl", CDLS)
    write_cdl(tmp_path / "b.ccc", CDLS)
    write_cdl(tmp_path / "c.cc", CDLS[:1])
    write_cdl(tmp_path / "d.xml", CDLS, fmt="ccc")
    assert "<ColorDecisionList" in (tmp_path / "a.cdl").read_text()
    assert (tmp_path / "a.cdl").read_text().count("<ColorDecision>") == 2
    assert "<ColorCorrectionCollection" in (tmp_path / "b.ccc").read_text()
    assert (tmp_path / "c.cc").read_text().split("\n")[1].startswith("<ColorCorrection ")
    assert len(read_cdl(tmp_path / "d.xml")) == 2
    with pytest.raises(CdlError, match=r"\.cc file holds one"):
        write_cdl(tmp_path / "e.cc", CDLS)
    with pytest.raises(CdlError, match="not one of"):
        write_cdl(tmp_path / "e.txt", CDLS)
    with pytest.raises(CdlError, match="no CDLs"):
        write_cdl(tmp_path / "e.cdl", [])
    write_cdl(tmp_path / "sub" / "dir" / "f.cdl", CDLS)  # parents are created
    assert (tmp_path / "sub" / "dir" / "f.cdl").is_file()


RESOLVE_CDL = """<?xml version="1.0" encoding="UTF-8"?>
<ColorDecisionList xmlns="urn:ASC:CDL:v1.01">
    <ColorDecision>
        <ColorCorrection id="A003C012_220614_R2EC">
            <SOPNode>
                <Description>Shot 12</Description>
                <Slope>1.058000 0.985000 0.941000</Slope>
                <Offset>-0.012000 0.004000 0.021000</Offset>
                <Power>1.000000 1.020000 0.980000</Power>
            </SOPNode>
            <SATNode>
                <Saturation>0.920000</Saturation>
            </SATNode>
        </ColorCorrection>
    </ColorDecision>
</ColorDecisionList>
"""

BASELIGHT_CCC = """<?xml version="1.0" encoding="UTF-8"?>
<ColorCorrectionCollection>
  <InputDescription>ACEScct</InputDescription>
  <ViewingDescription>ACES 2.0 Rec.709</ViewingDescription>
  <ColorCorrection id="sh010">
    <SOPNode>
      <Slope>1.1 1.0 0.9</Slope>
      <Offset>0 0 0</Offset>
      <Power>1 1 1</Power>
    </SOPNode>
    <SatNode><Saturation>1.05</Saturation></SatNode>
  </ColorCorrection>
  <ColorCorrection id="sh020">
    <Description>no sat node: saturation 1</Description>
    <SOPNode>
      <Slope>1 1 1</Slope>
      <Offset>0.01 0.01 0.01</Offset>
      <Power>1 1 1</Power>
    </SOPNode>
  </ColorCorrection>
</ColorCorrectionCollection>
"""

NAMESPACED_CC = """<?xml version="1.0" encoding="UTF-8"?>
<cdl:ColorCorrection xmlns:cdl="urn:ASC:CDL:v1.2" id="x">
  <cdl:SOPNode>
    <cdl:Slope>0.5 0.5 0.5</cdl:Slope>
    <cdl:Offset>0.1 0.1 0.1</cdl:Offset>
    <cdl:Power>2 2 2</cdl:Power>
  </cdl:SOPNode>
  <cdl:SatNode><cdl:Saturation>0.0</cdl:Saturation></cdl:SatNode>
</cdl:ColorCorrection>
"""


def test_read_resolve_export(tmp_path: Path) -> None:
    path = tmp_path / "resolve.cdl"
    path.write_text(RESOLVE_CDL)
    (cdl,) = read_cdl(path)
    assert cdl.id == "A003C012_220614_R2EC"
    assert cdl.description == "Shot 12"
    assert cdl.slope == (1.058, 0.985, 0.941)
    assert cdl.offset == (-0.012, 0.004, 0.021)
    assert cdl.power == (1.0, 1.02, 0.98)
    assert cdl.saturation == 0.92
    # and back out: our file reads the same
    write_cdl(tmp_path / "again.cdl", [cdl])
    assert read_cdl(tmp_path / "again.cdl") == [cdl]


def test_read_other_forms(tmp_path: Path) -> None:
    (tmp_path / "b.ccc").write_text(BASELIGHT_CCC)
    a, b = read_cdl(tmp_path / "b.ccc")
    assert (a.id, a.slope, a.saturation) == ("sh010", (1.1, 1.0, 0.9), 1.05)
    assert (b.id, b.offset, b.saturation) == ("sh020", (0.01, 0.01, 0.01), 1.0)
    assert b.description == "no sat node: saturation 1"
    (tmp_path / "n.cc").write_text(NAMESPACED_CC)
    (c,) = read_cdl(tmp_path / "n.cc")
    assert (c.id, c.slope, c.offset, c.power, c.saturation) == (
        "x",
        (0.5, 0.5, 0.5),
        (0.1, 0.1, 0.1),
        (2.0, 2.0, 2.0),
        0.0,
    )


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("<ColorDecisionList><ColorDecision>", "not well-formed XML"),
        ("not xml at all", "not well-formed XML"),
        ("<Foo/>", "root <foo>"),
        ("<ColorCorrectionCollection/>", "holds no ColorCorrection"),
        (
            "<ColorCorrection id='a'><SatNode><Saturation>1</Saturation></SatNode>"
            "</ColorCorrection>",
            "no <SOPNode>",
        ),
        (
            "<ColorCorrection><SOPNode><Slope>1 1</Slope><Offset>0 0 0</Offset>"
            "<Power>1 1 1</Power></SOPNode></ColorCorrection>",
            "Slope> has 2 values",
        ),
        (
            "<ColorCorrection><SOPNode><Slope>1 1 1</Slope><Offset>0 zero 0</Offset>"
            "<Power>1 1 1</Power></SOPNode></ColorCorrection>",
            "non-numeric",
        ),
        (
            "<ColorCorrection><SOPNode><Slope>1 1 1</Slope><Offset>0 0 0</Offset>"
            "</SOPNode></ColorCorrection>",
            "<Power> is missing",
        ),
        (
            "<ColorCorrection><SOPNode><Slope>1 1 1</Slope><Offset>0 0 0</Offset>"
            "<Power>1 1 1</Power></SOPNode><SatNode><Saturation>a</Saturation></SatNode>"
            "</ColorCorrection>",
            "non-numeric",
        ),
        (
            "<ColorCorrection><SOPNode><Slope>-1 1 1</Slope><Offset>0 0 0</Offset>"
            "<Power>1 1 1</Power></SOPNode></ColorCorrection>",
            "slopes must be >= 0",
        ),
        (
            "<ColorDecisionList><ColorDecision><ColorCorrectionRef ref='a'/></ColorDecision>"
            "</ColorDecisionList>",
            "ColorCorrectionRef",
        ),
    ],
)
def test_malformed_files_name_the_file(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad_look.cdl"
    path.write_text(text)
    with pytest.raises(CdlError, match=match) as info:
        read_cdl(path)
    assert "bad_look.cdl" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CdlError, match=r"nope\.cdl"):
        read_cdl(tmp_path / "nope.cdl")
