"""The plate network's inference API: fill a masked region, or make a middle frame.

Fixes call these, never the network directly::

    model = load_plate(project)            # None before the first 'rushes learn'
    if model is not None:
        filled = model.fill(frame, mask, prev=p, next=n)
        middle = model.middle(p, n)

Frames are float32 ``(H, W, 3)`` RGB in the clip's own encoding (display or log, [0, 1]: what
the network was trained on); masks float32 ``(H, W)`` in [0, 1]. Work runs on the mask's
bounding box plus a margin, on the GPU when there is one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rushes.compute.device import autocast, pick_device
from rushes.dialect.align import camera_homography, warp_to
from rushes.dialect.net import FORMAT, IN_CHANNELS, NetConfig, PlateNet, pad_to_multiple, predict
from rushes.dialect.store import WEIGHTS, latest_version, load_state, load_tensors, version_dir
from rushes.dialect.tensors import to_numpy, to_tensor
from rushes.errors import ModelError
from rushes.project import Project

MARGIN = 48
"""Context around the mask's bounding box given to the network, pixels."""


def load_net(path: Path, expect_format: str = FORMAT) -> tuple[PlateNet, dict[str, str]]:
    """A network from a safetensors file (refused unless it is ``expect_format``).

    Raises:
        ModelError: missing, corrupt or foreign file; weights that do not fit.
    """
    tensors, meta = load_tensors(path, expect_format)
    try:
        config = NetConfig.from_json(meta["config"])
    except (KeyError, ValueError, TypeError):
        raise ModelError(f"{path}: its metadata has no valid network config; learn again") from None
    net = PlateNet(config)
    load_state(net, tensors, path)
    return net.eval(), meta


@dataclass
class PlateModel:
    """A loaded plate network (see the module docstring)."""

    version: str
    net: PlateNet
    device: torch.device

    @classmethod
    def load(cls, project: Project, version: str | None = None, device: str = "auto") -> PlateModel:
        """The plate network of ``version`` (default: the current model).

        Raises:
            ModelError: no model, no such version, or unusable weights.
            DeviceError: ``device="cuda"`` without a GPU.
        """
        folder = version_dir(project, version)
        net, _ = load_net(folder / WEIGHTS)
        dev = pick_device(device)
        return cls(version=folder.name, net=net.to(dev), device=dev)

    @torch.no_grad()
    def run(self, x: np.ndarray) -> np.ndarray:
        """Run on one stacked input.

        Args:
            x: float32 ``(H, W, 12)`` in the layout of :mod:`rushes.dialect.net`.

        Returns:
            float32 ``(H, W, 3)``: known pixels kept, masked ones predicted, clipped to [0, 1].
        """
        t, h, w = pad_to_multiple(to_tensor(x[None], self.device))
        with autocast(self.device):
            out = predict(self.net, t)
        return np.clip(to_numpy(out[..., :h, :w])[0], 0.0, 1.0)

    def fill(
        self,
        frame: np.ndarray,
        mask: np.ndarray,
        prev: np.ndarray | None = None,
        next: np.ndarray | None = None,
        prev_mask: np.ndarray | None = None,
        next_mask: np.ndarray | None = None,
        align: bool = True,
    ) -> np.ndarray:
        """Fill the masked region of ``frame`` from the frame and its neighbours.

        Args:
            frame: float32 ``(H, W, 3)``, the clip's own encoding, [0, 1].
            mask: float32 ``(H, W)`` in [0, 1]; > 0.5 is filled.
            prev, next: the neighbouring frames (same shape), when there are any; a missing
                one counts as fully masked.
            prev_mask, next_mask: their own masks (what is not usable there).
            align: align the neighbours to ``frame`` by the camera's global motion first (what
                the network was trained on).

        Returns:
            float32 ``(H, W, 3)``: ``frame`` with the masked region filled (a new array).
        """
        h, w = mask.shape
        if frame.shape[:2] != (h, w):
            raise ValueError(f"frame is {frame.shape[1]}x{frame.shape[0]}, mask {w}x{h}")
        hole = mask > 0.5
        out = frame.astype(np.float32, copy=True)
        if not hole.any():
            return out
        ys, xs = np.nonzero(hole)
        y0, y1 = max(0, ys.min() - MARGIN), min(h, ys.max() + 1 + MARGIN)
        x0, x1 = max(0, xs.min() - MARGIN), min(w, xs.max() + 1 + MARGIN)
        box = (slice(y0, y1), slice(x0, x1))
        x = np.zeros((y1 - y0, x1 - x0, IN_CHANNELS), np.float32)
        m = hole[box].astype(np.float32)
        x[..., 3:6] = frame[box] * (1.0 - m[..., None])
        x[..., 10] = m
        for img, msk, rgb, ch in ((prev, prev_mask, 0, 9), (next, next_mask, 6, 11)):
            if img is None:
                x[..., ch] = 1.0
                continue
            if align:  # as in training: neighbours aligned by the camera's global motion
                hm = camera_homography(img, frame, msk, mask)
                img = warp_to(img, hm, (w, h))
                if msk is not None:
                    msk = warp_to(msk.astype(np.float32), hm, (w, h))
            usable = np.ones(m.shape, np.float32)
            if msk is not None:
                x[..., ch] = (msk[box] > 0.5).astype(np.float32)
                usable -= x[..., ch]
            x[..., rgb : rgb + 3] = img[box] * usable[..., None]  # as stack_input: zeroed
        out[box] = np.where(hole[box][..., None], self.run(x), out[box])
        return out

    def middle(self, prev: np.ndarray, next: np.ndarray) -> np.ndarray:
        """The frame halfway between ``prev`` and ``next`` (float32 ``(H, W, 3)``, [0, 1])."""
        if prev.shape != next.shape:
            raise ValueError(f"frames differ in shape: {prev.shape} and {next.shape}")
        h, w = prev.shape[:2]
        x = np.zeros((h, w, IN_CHANNELS), np.float32)
        x[..., 0:3], x[..., 6:9], x[..., 10] = prev, next, 1.0
        return self.run(x)


def load_plate(
    project: Project, version: str | None = None, device: str = "auto"
) -> PlateModel | None:
    """The current (or ``version``) plate network, or ``None`` when no model was learned."""
    if version is None and latest_version(project) is None:
        return None
    return PlateModel.load(project, version, device)
