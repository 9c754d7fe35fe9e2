"""Optical flow for the fill: DIS flow between neighbouring frames with the masked object
removed first, completed inside the mask so it follows the background, not the wire."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from rushes.ops.fill_interp import push_pull

FLOW_LONG_SIDE = 960
"""Flow is computed with the frame's long side at most this (a 1080p frame at half size)."""


TRUST = 1
"""Pixels (flow grid) around an inpainted hole where the flow is re-interpolated, not trusted
(the reach of the hole into DIS's 8-pixel patches, beyond what the inpainting continues)."""


@dataclass(frozen=True)
class FlowGrid:
    """Where flow is computed: the reduced size and its scale from full-size pixels."""

    width: int
    height: int
    sx: float
    sy: float

    @classmethod
    def for_frame(cls, width: int, height: int, long_side: int = FLOW_LONG_SIDE) -> FlowGrid:
        """The grid for a ``width`` x ``height`` frame, long side at most ``long_side``."""
        s = min(1.0, long_side / max(width, height))
        w, h = max(8, round(width * s)), max(8, round(height * s))
        return cls(w, h, w / width, h / height)


def _hole(mask: np.ndarray, grid: FlowGrid, grow: int) -> np.ndarray:
    """The mask on the flow grid, any coverage counted, grown by ``grow`` pixels. Bool."""
    small = cv2.resize(
        mask.astype(np.float32), (grid.width, grid.height), interpolation=cv2.INTER_AREA
    )
    hole = (small > 0.01).astype(np.uint8)
    if grow > 0:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        return np.asarray(cv2.dilate(hole, k)) > 0
    return hole > 0


def flow_image(
    frame: np.ndarray, mask: np.ndarray, grid: FlowGrid, guide: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The frame as flow input: grey, reduced to the grid, the masked object taken away.

    Without a ``guide`` (the first, sketch pass) the masked object is inpainted away (Telea on
    the reduced grey frame) and the flow is not trusted in the matte grown by the inpainting's
    and DIS's reach. With a ``guide`` (a first fill of this frame, on the grid) the guide is the
    flow input: its filled pixels carry the background's texture, so DIS measures the motion
    up to the matte's edge, and only the matte itself is re-interpolated.

    Args:
        frame: Shape ``(H, W, 3)`` float32, display-referred or log encoding in about [0, 1].
        mask: Shape ``(H, W)`` float32 in [0, 1], 1 = to remove.
        grid: The flow grid.
        guide: Shape ``(h, w, 3)`` float32, the frame filled once (on the grid or smaller:
            then only its matte's pixels are used), same encoding; or ``None``.

    Returns:
        ``(grey, hole)``: uint8 ``(h, w)`` grey image and bool ``(h, w)`` hole where the flow
        will not be trusted.
    """
    size = (grid.width, grid.height)
    small = (
        frame
        if frame.shape[1::-1] == size
        else cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    )
    if guide is not None:
        if guide.shape[1::-1] == size:
            small = guide
        else:  # a smaller sketch: the frame, its matte's pixels from the sketch
            up = cv2.resize(guide, size, interpolation=cv2.INTER_LINEAR)
            small = np.where(_hole(mask, grid, 1)[:, :, None], up, small)
        grey = cv2.cvtColor(np.clip(small, 0.0, 1.0), cv2.COLOR_RGB2GRAY)
        return (grey * 255.0 + 0.5).astype(np.uint8), _hole(mask, grid, 0)
    grey = cv2.cvtColor(np.clip(small, 0.0, 1.0), cv2.COLOR_RGB2GRAY)
    g8 = (grey * 255.0 + 0.5).astype(np.uint8)
    hole = _hole(mask, grid, 1)
    if not hole.any():
        return g8, hole
    # Telea continues the edges that cross the matte, so DIS finds texture up to it
    g8 = np.asarray(cv2.inpaint(g8, hole.astype(np.uint8), 3, cv2.INPAINT_TELEA), np.uint8)
    hole = cv2.dilate(hole.astype(np.uint8), np.ones((2 * TRUST + 1,) * 2, np.uint8)) > 0
    return g8, hole


class FlowEstimator:
    """DIS optical flow (OpenCV) with completion inside the holes; safe to call from several
    threads (each gets its own DIS instance, which is not thread-safe)."""

    def __init__(self, preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM) -> None:
        self._preset = preset
        self._local = threading.local()

    @property
    def _dis(self) -> cv2.DISOpticalFlow:
        dis = getattr(self._local, "dis", None)
        if dis is None:
            dis = cv2.DISOpticalFlow_create(self._preset)  # type: ignore[attr-defined]
            self._local.dis = dis
        return dis

    def pair(
        self, a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Flows ``a -> b`` and ``b -> a`` between two :func:`flow_image` results.

        Returns:
            Two float32 ``(h, w, 2)`` flows in grid pixels (x, y); inside each frame's hole the
            flow is interpolated from around it, so it follows the background. The hole is
            both frames' holes: where either frame was smoothed, the flow is not trusted.
        """
        ga, ha = a
        gb, hb = b
        dis = self._dis
        fab = np.asarray(dis.calc(ga, gb, None), np.float32)  # type: ignore[call-overload]
        fba = np.asarray(dis.calc(gb, ga, None), np.float32)  # type: ignore[call-overload]
        both = ha | hb  # the flow is unreliable where either frame was smoothed
        done = complete_flows(np.concatenate([fab, fba], axis=2), both)
        return np.ascontiguousarray(done[:, :, :2]), np.ascontiguousarray(done[:, :, 2:])


def global_model(flow: np.ndarray, hole: np.ndarray, step: int = 12) -> np.ndarray | None:
    """The flow of the camera's global motion: a homography fitted (RANSAC) to the flow
    outside ``hole``; exactly zero for a locked-off camera. ``None`` if no fit.

    Shape: ``flow`` ``(h, w, 2)`` pixels, ``hole`` bool ``(h, w)``; returns ``(h, w, 2)``.
    """
    h, w = hole.shape
    ys, xs = np.mgrid[step // 2 : h : step, step // 2 : w : step]
    keep = ~hole[ys, xs]
    if keep.sum() < 16:
        return None
    src = np.stack([xs[keep], ys[keep]], axis=1).astype(np.float32)
    dst = src + flow[ys[keep], xs[keep]]
    if float(np.median(np.abs(dst - src))) < 0.05:
        still = np.abs(dst - src).max(axis=1) < 0.25
        if still.mean() > 0.5:
            return np.zeros_like(flow)
    hom, inl = cv2.findHomography(src, dst, cv2.RANSAC, 0.5)
    if hom is None or inl is None or inl.mean() < 0.3:
        return None
    m = hom.astype(np.float32)
    gx = np.arange(w, dtype=np.float32)[None, :]
    gy = np.arange(h, dtype=np.float32)[:, None]
    z = m[2, 0] * gx + (m[2, 1] * gy + m[2, 2])
    model = np.empty((h, w, 2), np.float32)
    model[:, :, 0] = (m[0, 0] * gx + (m[0, 1] * gy + m[0, 2])) / z - gx
    model[:, :, 1] = (m[1, 0] * gx + (m[1, 1] * gy + m[1, 2])) / z - gy
    return model


def fill_hole(values: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``values`` with ``hole`` interpolated from around it: push-pull on a half-size grid
    (the pull's last level), read back bilinearly inside the hole only.

    Shape: ``values`` ``(h, w, C)`` float32 (C <= 4), ``hole`` bool ``(h, w)``; returns the same.
    """
    h, w = hole.shape
    if min(h, w) < 32:
        return push_pull(values, (~hole).astype(np.float32))
    known = (~hole).astype(np.float32)
    size = ((w + 1) // 2, (h + 1) // 2)
    wsum = np.asarray(cv2.resize(known, size, interpolation=cv2.INTER_AREA), np.float32)
    prem = cv2.resize(values * known[:, :, None], size, interpolation=cv2.INTER_AREA)
    prem = np.asarray(prem, np.float32).reshape(size[1], size[0], -1)
    small = push_pull(prem / np.maximum(wsum, 1e-8)[:, :, None], np.minimum(1.0, 4.0 * wsum))
    up = np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)
    out = values.copy()
    out[hole] = up.reshape(h, w, -1)[hole]
    return out


def complete_flow(flow: np.ndarray, hole: np.ndarray, snap: float = 0.5) -> np.ndarray:
    """Regularize ``flow`` by the camera's global motion and complete it inside ``hole``.

    Where the flow agrees with the global model within ``snap`` pixels it is replaced by the
    model (a locked-off camera gets exactly zero motion: no resampling blur); inside the hole
    the deviation from the model is interpolated from around it (push-pull) and added back.

    Shape: ``flow`` ``(h, w, 2)`` pixels, ``hole`` bool ``(h, w)``; returns ``(h, w, 2)``.
    """
    return complete_flows(flow, hole, snap)


def complete_flows(flows: np.ndarray, hole: np.ndarray, snap: float = 0.5) -> np.ndarray:
    """:func:`complete_flow` for one or two flows of the same frames at once (the median,
    snap and hole interpolation run on their channels together).

    Shape: ``flows`` ``(h, w, 2)`` or ``(h, w, 4)`` pixels, ``hole`` bool ``(h, w)``; returns
    the same shape, float32.
    """
    n = flows.shape[2] // 2
    models = [global_model(flows[:, :, 2 * k : 2 * k + 2], hole) for k in range(n)]
    if any(m is None for m in models):
        if not hole.any():
            return np.asarray(flows, np.float32)
        return fill_hole(np.asarray(flows, np.float32), hole)
    model = np.concatenate([m for m in models if m is not None], axis=2)
    still = not model.any()  # a locked-off camera: the model is exactly zero
    dev = np.ascontiguousarray(flows if still else flows - model, dtype=np.float32)
    # DIS leaves isolated wrong vectors near the hole; a 5x5 median keeps real local motion
    if n == 2:
        dev = np.asarray(cv2.medianBlur(dev, 5), np.float32)
    else:
        chans = [cv2.medianBlur(np.ascontiguousarray(dev[:, :, c]), 5) for c in range(2)]
        dev = np.asarray(cv2.merge(chans), np.float32)
    for k in range(n):
        u, v = dev[:, :, 2 * k], dev[:, :, 2 * k + 1]
        keep = (cv2.magnitude(u, v) >= snap).astype(np.float32)
        dev[:, :, 2 * k] = u * keep
        dev[:, :, 2 * k + 1] = v * keep
    if hole.any():
        dev = fill_hole(dev, hole)
    if still:
        return dev
    return np.asarray(model + dev, dtype=np.float32)
