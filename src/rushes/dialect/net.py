"""The plate network: a compact U-Net that fills a masked region of a frame from the frame and
its two neighbours, or makes the middle frame from the neighbours alone.

One network serves both tasks through its input, 12 channels at the frame's resolution:

====  ==================================================================
0-2   previous frame, RGB, the clip's own encoding (display/log), [0, 1]
3-5   this frame, RGB, with the masked region zeroed
6-8   next frame, RGB
9     mask of the previous frame (1 = not usable: a wire there too)
10    mask of this frame (1 = to fill); all ones for the middle-frame task
11    mask of the next frame
====  ==================================================================

It predicts a correction to a naive guess (this frame where it is known, the average of the
usable neighbours elsewhere), and the result is composited: known pixels are never changed.
Sizes: ``(N, 12, H, W)`` in, ``(N, 3, H, W)`` out, ``H`` and ``W`` multiples of
:data:`MULTIPLE` (pad with :func:`pad_to_multiple`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

IN_CHANNELS = 12
MULTIPLE = 8
FORMAT = "rushes.platenet.1"


@dataclass(frozen=True)
class NetConfig:
    """Widths of the four levels (full, 1/2, 1/4, 1/8 resolution) and the output channels."""

    widths: tuple[int, int, int, int] = (16, 32, 64, 96)
    out_channels: int = 3

    def to_json(self) -> str:
        """Compact JSON (stored in the weights' metadata)."""
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> NetConfig:
        """Inverse of :meth:`to_json`."""
        d = json.loads(text)
        return cls(widths=tuple(int(w) for w in d["widths"]), out_channels=int(d["out_channels"]))  # type: ignore[arg-type]


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation),
        nn.LeakyReLU(0.1, inplace=True),
    )


class PlateNet(nn.Module):
    """The U-Net; see the module docstring for the input layout."""

    def __init__(self, config: NetConfig | None = None) -> None:
        super().__init__()
        self.config = config or NetConfig()
        c0, c1, c2, c3 = self.config.widths
        self.enc0 = nn.Sequential(_conv(IN_CHANNELS, c0), _conv(c0, c0))
        self.enc1 = nn.Sequential(_conv(c0, c1, 2), _conv(c1, c1))
        self.enc2 = nn.Sequential(_conv(c1, c2, 2), _conv(c2, c2))
        self.enc3 = nn.Sequential(
            _conv(c2, c3, 2), _conv(c3, c3, dilation=2), _conv(c3, c3, dilation=4), _conv(c3, c3)
        )
        self.dec2 = _conv(c3 + c2, c2)
        self.dec1 = _conv(c2 + c1, c1)
        self.dec0 = _conv(c1 + c0, c0)
        self.head = nn.Conv2d(c0, self.config.out_channels, 3, padding=1)
        nn.init.zeros_(self.head.weight)  # starts as the naive guess; learns corrections
        if self.head.bias is not None:
            nn.init.zeros_(self.head.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last full-resolution feature map, ``(N, widths[0], H, W)``."""
        e0 = self.enc0(x)
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        d2 = self.dec2(torch.cat([_up(e3, e2), e2], 1))
        d1 = self.dec1(torch.cat([_up(d2, e1), e1], 1))
        return self.dec0(torch.cat([_up(d1, e0), e0], 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw head output (a correction to :func:`naive_guess`), ``(N, out_channels, H, W)``."""
        return self.head(self.features(x))


def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


def stack_input(
    prev: torch.Tensor,
    cur: torch.Tensor,
    nxt: torch.Tensor,
    m_prev: torch.Tensor,
    m_cur: torch.Tensor,
    m_next: torch.Tensor,
) -> torch.Tensor:
    """The network's input from three frames ``(N, 3, H, W)`` and their masks ``(N, 1, H, W)``
    (1 = not usable / to fill); masked pixels are zeroed so what is under a wire never leaks
    in. Returns ``(N, 12, H, W)``."""
    return torch.cat(
        [prev * (1 - m_prev), cur * (1 - m_cur), nxt * (1 - m_next), m_prev, m_cur, m_next], 1
    )


def push_pull(img: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Fill the unknown pixels of ``img`` ``(N, C, H, W)`` from the known ones (``known``
    ``(N, 1, H, W)`` in [0, 1]) by a pyramid of weighted averages, coarse to fine: a smooth
    spatial guess, like a heavily blurred inpainting."""
    sums, weights = [img * known], [known]
    while min(sums[-1].shape[-2:]) > 1:
        sums.append(F.avg_pool2d(sums[-1], 2, ceil_mode=True))
        weights.append(F.avg_pool2d(weights[-1], 2, ceil_mode=True))
    est = sums[-1] / weights[-1].clamp_min(1e-6)
    for s, w in zip(reversed(sums[:-1]), reversed(weights[:-1]), strict=True):
        up = F.interpolate(est, size=s.shape[-2:], mode="bilinear", align_corners=False)
        wc = w.clamp(0.0, 1.0)
        est = torch.where(w > 0, s / w.clamp_min(1e-6), up) * wc + up * (1 - wc)
    return est


def naive_guess(x: torch.Tensor) -> torch.Tensor:
    """This frame where known; elsewhere the mean of the neighbours where they are usable
    (either one alone, or both averaged), else a spatial push-pull fill. ``(N, 3, H, W)``."""
    prev, cur, nxt = x[:, 0:3], x[:, 3:6], x[:, 6:9]
    wp, m, wn = 1.0 - x[:, 9:10], x[:, 10:11], 1.0 - x[:, 11:12]
    both = wp + wn
    blend = (prev * wp + nxt * wn) / both.clamp_min(1e-6)
    spatial = push_pull(cur, 1.0 - m)
    temporal = torch.where(both > 0, blend, spatial)
    return cur * (1.0 - m) + temporal * m


def predict(net: PlateNet, x: torch.Tensor) -> torch.Tensor:
    """The composited result: known pixels kept, masked ones from the network. ``(N, 3, H, W)``,
    same encoding as the input frames (not clamped; callers clip to their range)."""
    m = x[:, 10:11]
    guess = naive_guess(x)
    out = guess + net(x)
    return guess * (1.0 - m) + out * m


def pad_to_multiple(x: torch.Tensor, multiple: int = MULTIPLE) -> tuple[torch.Tensor, int, int]:
    """Replicate-pad ``(N, C, H, W)`` on the bottom/right to multiples of ``multiple``;
    returns the padded tensor and the original ``H``, ``W``."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x, int(h), int(w)
