"""numpy <-> torch, in one place (DESIGN: frames ``(H, W, C)`` numpy, ``(N, C, H, W)`` torch)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def to_tensor(
    images: Sequence[np.ndarray] | np.ndarray, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Stack float32 images into one ``(N, C, H, W)`` tensor on ``device``.

    Args:
        images: ``(H, W, C)`` or ``(H, W)`` arrays (masks get one channel), or one
            ``(N, H, W, C)`` array. Any encoding; values are copied as they are.

    Shape:
        ``(N, H, W, C)`` -> ``(N, C, H, W)``.
    """
    arr = np.asarray(images, dtype=np.float32)
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4:
        raise ValueError(f"images have shape {arr.shape}; give (N, H, W, C) or (N, H, W)")
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(0, 3, 1, 2))).to(device)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """A ``(N, C, H, W)`` tensor as a float32 ``(N, H, W, C)`` array on the CPU."""
    return t.detach().to("cpu", torch.float32).permute(0, 2, 3, 1).contiguous().numpy()
