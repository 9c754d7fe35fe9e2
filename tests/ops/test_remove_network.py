"""The removal fill hands what was never photographed to the project's plate network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from rushes.dialect.net import PlateNet
from rushes.dialect.plate import PlateModel
from rushes.ops.remove_fill import FillOptions, fill_frames
from tests.conftest import read_frames


def test_never_photographed_pixels_go_to_the_network(
    footage: Path, manifest: dict[str, dict[str, Any]]
) -> None:
    frames = read_frames(footage, manifest, "schoolgirls", list(range(6)), 240)
    h, w = frames[0].shape[:2]
    mask = np.zeros((h, w), np.float32)
    mask[100:130, 200:230] = 1.0  # the same place in every frame: never photographed
    model = PlateModel("v001", PlateNet().eval(), torch.device("cpu"))
    calls: list[tuple[int, bool]] = []

    def synth(frame: np.ndarray, hole: np.ndarray, **kw: Any) -> np.ndarray:
        calls.append((int((hole > 0.5).sum()), kw.get("prev") is not None))
        return model.fill(frame, hole, **kw)

    out = list(fill_frames(frames, [mask] * 6, FillOptions(radius=2, synthesizer=synth)))
    assert len(out) == 6 and len(calls) == 6
    assert all(n == 900 for n, _ in calls) and any(has_prev for _, has_prev in calls)
    for f, src in zip(out, frames, strict=True):
        assert f.stats.spatial == 900 and f.synthesized.sum() == 900
        np.testing.assert_array_equal(f.frame[mask == 0], src[mask == 0])
        assert np.isfinite(f.frame).all()
        hole = f.frame[100:130, 200:230]
        assert hole.std() > 0  # filled, not one flat colour
        border = np.concatenate([src[98:100, 200:230], src[130:132, 200:230]]).reshape(-1, 3)
        assert np.abs(hole.reshape(-1, 3).mean(0) - border.mean(0)).max() < 0.15


def test_telea_without_a_network(footage: Path, manifest: dict[str, dict[str, Any]]) -> None:
    frames = read_frames(footage, manifest, "schoolgirls", [0, 1, 2], 240)
    mask = np.zeros(frames[0].shape[:2], np.float32)
    mask[100:110, 200:210] = 1.0
    out = list(fill_frames(frames, [mask] * 3, FillOptions(radius=1)))
    assert all(f.stats.spatial == 100 for f in out)


@pytest.mark.parametrize("align", [True, False])
def test_plate_fill_aligns_neighbours(align: bool) -> None:
    rng = np.random.default_rng(0)
    frame = rng.random((64, 80, 3)).astype(np.float32)
    mask = np.zeros((64, 80), np.float32)
    mask[30:34, 10:70] = 1
    model = PlateModel("v001", PlateNet().eval(), torch.device("cpu"))
    out = model.fill(frame, mask, prev=frame, next=frame, align=align)
    # a zero-initialised head is the naive guess: identical neighbours are copied exactly
    np.testing.assert_allclose(out, frame, atol=1e-5)
