"""Where tensors live: ``auto`` picks CUDA when a GPU is present, else the CPU."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from rushes.errors import DeviceError

if TYPE_CHECKING:
    import torch

DEVICES = ("auto", "cpu", "cuda")


def pick_device(name: str = "auto") -> torch.device:
    """The torch device for ``name`` (``auto``, ``cpu`` or ``cuda``).

    Raises:
        DeviceError: an unknown name, or ``cuda`` on a machine without a usable GPU.
    """
    import torch

    if name not in DEVICES:
        raise DeviceError(f"device '{name}' unknown; use one of {', '.join(DEVICES)}")
    has_cuda = bool(torch.cuda.is_available())
    if name == "cuda" and not has_cuda:
        raise DeviceError(
            "--device cuda was asked for but this machine has no usable CUDA GPU; "
            "use --device cpu (or auto)"
        )
    if name == "cuda" or (name == "auto" and has_cuda):
        return torch.device("cuda")
    return torch.device("cpu")


def describe(device: torch.device) -> str:
    """A short human name for ``device`` (``cpu (2 threads)``, ``cuda: NVIDIA H100``)."""
    import torch

    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return f"cpu ({torch.get_num_threads()} threads)"


def autocast(device: torch.device) -> AbstractContextManager[object]:
    """Mixed precision where it pays: bfloat16 autocast on CUDA; plain float32 on the CPU."""
    import torch

    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()
