"""Small previews straight from YUV planes: right colours, right size, other formats refused."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from rushes.media import write_h264
from rushes.media.yuv import yuv_preview


@pytest.mark.parametrize(("w", "h"), [(320, 180), (1280, 720)])
def test_flat_colour_recovered(tmp_path: Path, w: int, h: int) -> None:
    colour = np.array([200, 100, 50], np.float32) / 255
    frames = [np.tile(colour, (h, w, 1)).astype(np.float32)] * 3
    path = write_h264(frames, tmp_path / "flat.mp4", fps=Fraction(24), crf=1)
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
    small = yuv_preview(frame, (w // 4, h // 4))
    assert small is not None and small.shape == (h // 4, w // 4, 3)
    # encoder matrix is BT.601 for RGB input unless told; accept a few levels of difference
    swscale = frame.reformat(format="rgb24").to_ndarray().reshape(-1, 3).mean(0)
    assert np.abs(small.reshape(-1, 3).mean(0) - swscale).max() < 6
    assert np.abs(small.reshape(-1, 3).mean(0) - colour * 255).max() < 12


def test_non_planar_formats_fall_back(tmp_path: Path) -> None:
    frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
    assert yuv_preview(frame, (8, 8)) is None
