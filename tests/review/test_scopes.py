"""Scopes: shapes, where known pixels land (golden positions), bad input, NaN, PNG round trip."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rushes.review.scopes import (
    SCOPES,
    encode_png,
    histogram,
    luma,
    scope_panel,
    vectorscope,
    waveform,
)


def flat(rgb: tuple[float, float, float], h: int = 36, w: int = 64) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, np.float32), (h, w, 3)).copy()


def test_luma_is_rec709() -> None:
    assert luma(flat((1, 0, 0)))[0, 0] == pytest.approx(0.2126, abs=1e-6)
    assert luma(flat((0, 1, 0)))[0, 0] == pytest.approx(0.7152, abs=1e-6)
    assert luma(flat((1, 1, 1)))[0, 0] == pytest.approx(1.0, abs=1e-6)


def test_waveform_puts_a_flat_grey_on_one_row() -> None:
    img = waveform(flat((0.5, 0.5, 0.5)), height=256, width=128)
    assert img.shape == (256, 128, 3) and img.dtype == np.uint8
    green = img[..., 1].astype(int)
    row = 255 - round(0.5 * 255)  # level 0.5 counted from the bottom
    assert (green[row] == 255).all()
    others = np.delete(green, row, axis=0)
    assert others.max() <= 70  # only the background and the graticule elsewhere


def test_waveform_follows_a_horizontal_ramp() -> None:
    ramp = np.tile(np.linspace(0, 1, 256, dtype=np.float32)[None, :, None], (16, 1, 3))
    img = waveform(ramp, height=256, width=256)
    top = np.argmax(img[..., 1] > 200, axis=0)  # the brightest trace per column
    assert top[0] == 255 and top[-1] == 0
    assert np.all(np.diff(top) <= 0)


def test_vectorscope_grey_at_centre_red_at_its_target() -> None:
    size = 257
    grey = vectorscope(flat((0.4, 0.4, 0.4)), size)
    ys, xs = np.nonzero(grey[..., 1] > 240)
    assert set(xs) == {128} and set(ys) == {128}
    red = vectorscope(flat((1.0, 0.0, 0.0)), size)
    ys, xs = np.nonzero(red[..., 1] > 240)
    cb, cr = -0.2126 / 1.8556, 0.5  # Rec.709 chroma of full red
    assert xs[0] == round((cb + 0.5) * 256) and ys[0] == round((0.5 - cr) * 256)


def test_histogram_of_black_and_white() -> None:
    frame = flat((0, 0, 0), 32, 64)
    frame[:, 32:] = 1.0
    img = histogram(frame, height=100, bins=64)
    assert img.shape == (100, 64, 3)
    lit = (img >= 200).all(axis=2).any(axis=0)  # columns with all three channels drawn
    assert lit[0] and lit[-1] and not lit[1:-1].any()
    assert (img[:, 0] >= 200).all()  # the tallest bins fill the height


def test_histogram_channels_are_separate() -> None:
    img = histogram(flat((1.0, 0.0, 0.0)), height=50, bins=32)
    assert img[-1, -1, 0] == 200 and img[-1, -1, 1] < 100  # red at 1.0
    assert img[-1, 0, 1] == 200 and img[-1, 0, 0] < 100  # green and blue at 0


def test_panel_bad_input_and_nan() -> None:
    frame = np.random.default_rng(0).random((45, 80, 3)).astype(np.float32)
    frame[0, 0] = np.nan
    frame[0, 1] = np.inf
    panel = scope_panel(frame)
    assert panel.ndim == 3 and panel.shape[1] > 384 + 256 + 256
    assert scope_panel(frame, ["histogram"]).shape[1] < panel.shape[1]
    with pytest.raises(ValueError, match="unknown"):
        scope_panel(frame, ["parade"])
    for kind in SCOPES:
        with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
            SCOPES[kind](np.zeros((10, 10), np.float32))
    with pytest.raises(ValueError, match="pixels"):
        waveform(np.zeros((0, 10, 3), np.float32))


def test_png_round_trip() -> None:
    img = vectorscope(flat((0.2, 0.6, 0.3)), 64)
    back = cv2.imdecode(np.frombuffer(encode_png(img), np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(cv2.cvtColor(back, cv2.COLOR_BGR2RGB), img)
