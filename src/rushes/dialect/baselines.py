"""Validation of the plate network next to classical baselines, on held-out clips.

- Masked task: PSNR inside the matte of the network's fill vs OpenCV's Telea inpainting of the
  same frame (and the naive temporal guess the network starts from).
- Middle frame: PSNR of the network's middle frame vs flow-warp blending (DIS optical flow
  between the neighbours, each warped halfway and averaged) and a plain average.

Scores are means of per-crop PSNR in dB (capped at 60), per matte kind and overall.
"""

from __future__ import annotations

import time
from typing import Any

import cv2
import numpy as np
import torch

from rushes.dialect.data import ALIGNED_9, RAW_9
from rushes.dialect.net import PlateNet, naive_guess, pad_to_multiple, predict, stack_input
from rushes.dialect.tensors import to_numpy

PSNR_CAP = 60.0


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    """PSNR in dB of images in [0, 1] (``(H, W, 3)``), over ``where`` (``(H, W)`` bool) if given."""
    d = (np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2
    if where is not None:
        if not where.any():
            return PSNR_CAP
        d = d[where]
    mse = float(d.mean())
    return PSNR_CAP if mse <= 10 ** (-PSNR_CAP / 10) else min(PSNR_CAP, -10.0 * np.log10(mse))


def telea(frame: np.ndarray, mask: np.ndarray, radius: int = 5) -> np.ndarray:
    """OpenCV Telea inpainting of an RGB frame in [0, 1] through 8 bits (OpenCV's own path)."""
    u8 = np.clip(frame * 255.0 + 0.5, 0, 255).astype(np.uint8)
    out = cv2.inpaint(u8, (mask > 0.5).astype(np.uint8), radius, cv2.INPAINT_TELEA)
    return out.astype(np.float32) / 255.0


def flow_blend(prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """Middle frame by flow-warp blending: DIS flow prev->next, both warped halfway, averaged.

    Args:
        prev, nxt: float32 ``(H, W, 3)`` in [0, 1].
    """
    g0 = cv2.cvtColor(np.clip(prev * 255 + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
    g1 = cv2.cvtColor(np.clip(nxt * 255 + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
    dis = cv2.DISOpticalFlow_create(  # type: ignore[attr-defined]
        cv2.DISOPTICAL_FLOW_PRESET_MEDIUM
    )
    flow = dis.calc(g0, g1, None)
    h, w = g0.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    half = 0.5 * flow
    a = cv2.remap(
        prev,
        gx - half[..., 0],
        gy - half[..., 1],
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    b = cv2.remap(
        nxt, gx + half[..., 0], gy + half[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return 0.5 * (a + b)


@torch.no_grad()
def _net(
    net: PlateNet, f: np.ndarray, m: np.ndarray, device: torch.device
) -> tuple[np.ndarray, np.ndarray]:
    """Network output and naive guess for one crop (f ``(9, H, W)``, m ``(3, H, W)``)."""
    ft = torch.from_numpy(f[None]).to(device)
    mt = torch.from_numpy(m[None]).to(device)
    x = stack_input(ft[:, 0:3], ft[:, 3:6], ft[:, 6:9], mt[:, 0:1], mt[:, 1:2], mt[:, 2:3])
    x, h, w = pad_to_multiple(x)
    out = predict(net, x)[..., :h, :w].clamp(0, 1)
    guess = naive_guess(x)[..., :h, :w].clamp(0, 1)
    return to_numpy(out)[0], to_numpy(guess)[0]


def score_validation(
    net: PlateNet,
    bank: np.ndarray,
    masks: np.ndarray,
    kinds: list[str],
    device: torch.device,
) -> dict[str, Any]:
    """Scores of ``net`` on the validation crops (see the module docstring).

    Args:
        bank: ``(N, 15, S, S)`` integer crops (:data:`rushes.dialect.data.CHANNELS`).
        masks: ``(N, 3, S, S)`` mask triples, one per crop; ``kinds`` their matte kinds.

    Returns:
        JSON-serializable dict: ``masked`` (per kind and ``all``: network, telea, naive, margin
        dB), ``middle`` (network, flow_blend, average, margin dB), ``crops``,
        ``inference_fps_960x540``.
    """
    net.eval()
    scale = 65535.0 if bank.dtype == np.uint16 else 255.0
    rows: dict[str, list[tuple[float, float, float]]] = {}
    mids: list[tuple[float, float, float]] = []
    for i in range(bank.shape[0]):
        crop = bank[i].astype(np.float32) / scale
        f, raw = crop[ALIGNED_9], crop[RAW_9]
        truth = f[3:6].transpose(1, 2, 0)
        m = masks[i].astype(np.float32)
        hole = m[1] > 0.5
        out, guess = _net(net, f, m, device)
        rows.setdefault(kinds[i], []).append(
            (
                psnr(out, truth, hole),
                psnr(telea(truth, m[1]), truth, hole),
                psnr(guess, truth, hole),
            )
        )
        mm = np.zeros_like(m)
        mm[1] = 1.0
        mid, _ = _net(net, raw, mm, device)
        prev, nxt = raw[0:3].transpose(1, 2, 0), raw[6:9].transpose(1, 2, 0)
        mids.append(
            (psnr(mid, truth), psnr(flow_blend(prev, nxt), truth), psnr(0.5 * (prev + nxt), truth))
        )
    masked: dict[str, Any] = {}
    every = [r for v in rows.values() for r in v]
    for kind, vals in [*sorted(rows.items()), ("all", every)]:
        a = np.array(vals)
        masked[kind] = {
            "crops": len(vals),
            "network_db": round(float(a[:, 0].mean()), 2),
            "telea_db": round(float(a[:, 1].mean()), 2),
            "naive_db": round(float(a[:, 2].mean()), 2),
            "margin_db": round(float(a[:, 0].mean() - a[:, 1].mean()), 2),
        }
    b = np.array(mids)
    middle = {
        "network_db": round(float(b[:, 0].mean()), 2),
        "flow_blend_db": round(float(b[:, 1].mean()), 2),
        "average_db": round(float(b[:, 2].mean()), 2),
        "margin_db": round(float(b[:, 0].mean() - b[:, 1].mean()), 2),
    }
    return {
        "crops": int(bank.shape[0]),
        "masked": masked,
        "middle": middle,
        "inference_fps_960x540": round(inference_fps(net, device), 2),
    }


@torch.no_grad()
def inference_fps(net: PlateNet, device: torch.device, size: tuple[int, int] = (544, 960)) -> float:
    """Frames per second of the network on one ``size`` frame (after one warm-up run)."""
    x = torch.rand(1, 12, *size, device=device)
    predict(net, x)
    n, t = 0, time.perf_counter()
    while n < 2 or time.perf_counter() - t < 1.0:
        predict(net, x)
        n += 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - t)
