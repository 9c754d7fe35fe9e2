"""Tests for rushes.matte.images (mask images: one per shot or one per frame)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import OpenImageIO as oiio
import pytest

import rushes.matte.images as images
from rushes.errors import MatteError
from rushes.matte.images import open_matte_images, read_mask_image

W, H = 48, 32


def disc(cx: float, cy: float = 16.0, r: float = 6.0) -> np.ndarray:
    """A binary disc mask, float32 (H, W) in {0, 1}."""
    yy, xx = np.mgrid[0:H, 0:W]
    return ((xx - cx) ** 2 + (yy - cy) ** 2 <= r * r).astype(np.float32)


def write_png8(path: Path, m: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.round(m * 255).astype(np.uint8))
    return path


def write_exr(path: Path, pixels: np.ndarray) -> Path:
    """A float EXR with OpenImageIO; pixels (H, W) or (H, W, C)."""
    px = pixels if pixels.ndim == 3 else pixels[:, :, None]
    out = oiio.ImageOutput.create(str(path))
    assert out is not None
    spec = oiio.ImageSpec(px.shape[1], px.shape[0], px.shape[2], "float")
    assert out.open(str(path), spec)
    assert out.write_image(np.ascontiguousarray(px, np.float32))
    out.close()
    return path


def test_single_image_is_every_frame(tmp_path: Path) -> None:
    m = disc(20) * 0.8
    f = write_png8(tmp_path / "mask.png", m)
    matte = open_matte_images(f, W, H, 30)
    assert (matte.width, matte.height, matte.frames) == (W, H, 30)
    a, b = matte.mask(0), matte.mask(29)
    assert a.dtype == np.float32 and a.shape == (H, W)
    np.testing.assert_allclose(a, np.round(m * 255) / 255, atol=1e-6)
    np.testing.assert_array_equal(a, b)
    assert matte.bbox(3) == (14, 10, 13, 13)
    matte.validate()


@pytest.mark.parametrize(
    ("pattern", "name", "first"),
    [
        ("mattes/%04d.png", "mattes/{:04d}.png", 1001),
        ("mattes/sh010.####.png", "mattes/sh010.{:04d}.png", 1),
        ("mattes/m_%d.png", "mattes/m_{}.png", 0),
        ("mattes", "mattes/m.{:03d}.tif", 7),  # a folder holding one numbered sequence
    ],
)
def test_per_frame_sequence_maps_frame_k_to_first_plus_k(
    tmp_path: Path, pattern: str, name: str, first: int
) -> None:
    for k in range(6):
        write_png8(tmp_path / name.format(first + k), disc(8 + 5 * k))
    matte = open_matte_images(tmp_path / pattern, W, H, 6)
    for k in (0, 3, 5):
        m = matte.mask(k)
        bx = matte.bbox(k)
        assert bx is not None and bx[0] == 8 + 5 * k - 6, (k, bx)
        np.testing.assert_array_equal(m, disc(8 + 5 * k))
    assert str(first + 3) in matte.describe(3)


def test_sixteen_bit_keeps_its_precision(tmp_path: Path) -> None:
    m16 = np.zeros((H, W), np.uint16)
    m16[4:20, 4:30] = 30001  # not a multiple of 257: 8 bits cannot hold it
    m16[20:, 4:30] = 65535
    f = tmp_path / "mask16.png"
    assert cv2.imwrite(str(f), m16)
    got = open_matte_images(f, W, H, 2).mask(1)
    assert got[10, 10] == pytest.approx(30001 / 65535, abs=1e-6)
    assert got[25, 10] == pytest.approx(1.0, abs=1e-6)
    assert got[0, 0] == 0.0


def test_alpha_is_the_mask_when_it_varies(tmp_path: Path) -> None:
    rgba = np.zeros((H, W, 4), np.uint8)
    rgba[:, :, :3] = 255  # white everywhere (an unpremultiplied roto export)
    rgba[:, :, 3] = np.round(disc(24) * 255).astype(np.uint8)
    f = tmp_path / "alpha.png"
    assert cv2.imwrite(str(f), rgba)
    np.testing.assert_array_equal(read_mask_image(f), disc(24))
    # a constant alpha says nothing: the colour's luminance is the mask
    rgba[:, :, 3] = 255
    rgba[:, :, :3] = 0
    rgba[2:6, 2:6, 1] = 255  # pure green
    assert cv2.imwrite(str(f), rgba)
    got = read_mask_image(f)
    assert got[3, 3] == pytest.approx(0.7152, abs=1e-3)
    assert got[10, 10] == 0.0


def test_float_exr_is_clipped_and_nan_is_zero(tmp_path: Path) -> None:
    px = np.zeros((H, W), np.float32)
    px[5:10, 5:10] = 4.0
    px[12, 12] = np.nan
    px[14, 14] = 0.25
    px[16, 16] = -1.0
    matte = open_matte_images(write_exr(tmp_path / "m.exr", px), W, H, 1)
    m = matte.mask(0)
    assert m[7, 7] == 1.0 and m[12, 12] == 0.0 and m[14, 14] == 0.25 and m[16, 16] == 0.0


def test_jpeg_reads(tmp_path: Path) -> None:
    f = tmp_path / "m.jpg"
    assert cv2.imwrite(str(f), np.round(disc(24, r=10) * 255).astype(np.uint8))
    m = open_matte_images(f, W, H, 3).mask(2)
    assert m[16, 24] > 0.95 and m[2, 2] < 0.05


def test_wrong_size_says_both_sizes(tmp_path: Path) -> None:
    f = write_png8(tmp_path / "mattes" / "0001.png", np.ones((20, 30), np.float32))
    with pytest.raises(MatteError) as e:
        open_matte_images(f, W, H, 1)
    assert str(e.value) == (
        f"mask {f} is 30x20 but the shot is {W}x{H}; give a mask of the shot's size"
    )


def test_wrong_size_on_a_later_frame_names_its_file(tmp_path: Path) -> None:
    for k in range(1, 5):
        size = (H, W) if k != 3 else (H, W + 2)
        write_png8(tmp_path / f"m.{k:04d}.png", np.zeros(size, np.float32))
    matte = open_matte_images(tmp_path / "m.####.png", W, H, 4)
    matte.mask(0)
    with pytest.raises(MatteError, match=rf"m\.0003\.png is {W + 2}x{H} but the shot is"):
        matte.mask(2)


def test_missing_frame_names_the_frame_and_file(tmp_path: Path) -> None:
    for n in (1001, 1002, 1004, 1005):
        write_png8(tmp_path / f"{n:04d}.png", disc(20))
    with pytest.raises(MatteError) as e:
        open_matte_images(tmp_path / "%04d.png", W, H, 5)
    msg = str(e.value)
    assert f"mask {tmp_path / '1003.png'} for frame 2 is missing" in msg
    assert "\n" not in msg


def test_too_few_files_names_the_first_frame_without_one(tmp_path: Path) -> None:
    for n in range(3):
        write_png8(tmp_path / f"m{n}.png", disc(20))
    with pytest.raises(MatteError, match=r"m3\.png for frame 3 is missing"):
        open_matte_images(tmp_path / "m%d.png", W, H, 10)


def test_missing_or_unreadable_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(MatteError, match="no such file") as e:
        open_matte_images(tmp_path / "nope.png", W, H, 3)
    assert "\n" not in str(e.value)
    with pytest.raises(MatteError, match="no files match"):
        open_matte_images(tmp_path / "%04d.png", W, H, 3)
    with pytest.raises(MatteError, match="does not exist"):
        open_matte_images(tmp_path / "no_dir" / "%04d.png", W, H, 3)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"this is not a PNG at all")
    with pytest.raises(MatteError, match="cannot read it as an image") as e:
        open_matte_images(bad, W, H, 3)
    assert "\n" not in str(e.value)


def test_empty_and_full_masks_fail_validation_naming_the_frame(tmp_path: Path) -> None:
    for k in range(5):
        m = disc(20) if k != 3 else np.zeros((H, W), np.float32)
        write_png8(tmp_path / "seq" / f"{k:04d}.png", m)
        write_png8(tmp_path / "none" / f"{k:04d}.png", np.zeros((H, W), np.float32))
    # the object may leave the frame (frame 3), but a matte empty everywhere removes nothing
    open_matte_images(tmp_path / "seq" / "%04d.png", W, H, 5).validate(sample=5)
    matte = open_matte_images(tmp_path / "none" / "%04d.png", W, H, 5)
    with pytest.raises(MatteError, match=r"0000\.png: the mask is empty on every frame"):
        matte.validate(sample=5)
    full = write_png8(tmp_path / "full.png", np.ones((H, W), np.float32))
    with pytest.raises(MatteError, match="covers 100% of the frame"):
        open_matte_images(full, W, H, 5).validate()


def test_reads_lazily_with_a_tiny_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for k in range(20):
        write_png8(tmp_path / f"{k:04d}.png", disc(5 + 2 * k))
    reads: list[Path] = []
    real = images.read_mask_image

    def counting(path: str | Path) -> np.ndarray:
        reads.append(Path(path))
        return real(path)

    monkeypatch.setattr(images, "read_mask_image", counting)
    matte = open_matte_images(tmp_path / "%04d.png", W, H, 20)
    assert reads == []  # only the first file's header was looked at
    matte.mask(4)
    matte.mask(4)
    matte.mask(5)
    matte.mask(4)
    assert [p.name for p in reads] == ["0004.png", "0005.png"]
    for k in range(6, 12):
        matte.mask(k)
    matte.mask(4)  # evicted by now: read again
    assert len(reads) == 9
    assert len(matte._cache) <= 2


def test_an_existing_file_named_like_a_pattern_is_one_matte(tmp_path: Path) -> None:
    """Shot names hold '#' (B002C001_230116_R2CD#2): a matte file named after one is a file."""
    path = write_png8(tmp_path / "B002C001_230116_R2CD#2_matte.png", disc(10))
    matte = open_matte_images(path, W, H, 4)
    assert matte.mask(3).max() == 1.0
