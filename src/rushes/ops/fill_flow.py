"""Optical flow for the fill: DIS flow between neighbouring frames with the masked object
removed first, completed inside the mask so it follows the background, not the wire."""

from __future__ import annotations

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
        guide: Shape ``(grid.height, grid.width, 3)`` float32, the frame filled once, same
            encoding; or ``None``.

    Returns:
        ``(grey, hole)``: uint8 ``(h, w)`` grey image and bool ``(h, w)`` hole where the flow
        will not be trusted.
    """
    if guide is not None:
        grey = cv2.cvtColor(np.clip(guide, 0.0, 1.0), cv2.COLOR_RGB2GRAY)
        return (grey * 255.0 + 0.5).astype(np.uint8), _hole(mask, grid, 0)
    small = cv2.resize(frame, (grid.width, grid.height), interpolation=cv2.INTER_AREA)
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
    """DIS optical flow (OpenCV) with completion inside the holes."""

    def __init__(self, preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM) -> None:
        self._dis = cv2.DISOpticalFlow_create(preset)  # type: ignore[attr-defined]

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
        fab = self._dis.calc(ga, gb, None)
        fba = self._dis.calc(gb, ga, None)
        both = ha | hb  # the flow is unreliable where either frame was smoothed
        return complete_flow(fab, both), complete_flow(fba, both)


def global_model(flow: np.ndarray, hole: np.ndarray, step: int = 8) -> np.ndarray | None:
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
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    pts = cv2.perspectiveTransform(np.stack([gx, gy], axis=2).reshape(-1, 1, 2), hom)
    model = pts.reshape(h, w, 2) - np.stack([gx, gy], axis=2)
    return model.astype(np.float32)


def complete_flow(flow: np.ndarray, hole: np.ndarray, snap: float = 0.5) -> np.ndarray:
    """Regularize ``flow`` by the camera's global motion and complete it inside ``hole``.

    Where the flow agrees with the global model within ``snap`` pixels it is replaced by the
    model (a locked-off camera gets exactly zero motion: no resampling blur); inside the hole
    the deviation from the model is interpolated from around it (push-pull) and added back.

    Shape: ``flow`` ``(h, w, 2)`` pixels, ``hole`` bool ``(h, w)``; returns ``(h, w, 2)``.
    """
    model = global_model(flow, hole)
    if model is None:
        if not hole.any():
            return flow
        return push_pull(flow, (~hole).astype(np.float32))
    dev = np.ascontiguousarray(flow - model)
    # DIS leaves isolated wrong vectors near the hole; a 5x5 median keeps real local motion
    dev = np.stack([cv2.medianBlur(dev[:, :, c], 5) for c in range(2)], axis=2)
    close = np.hypot(dev[:, :, 0], dev[:, :, 1]) < snap
    dev[close] = 0.0
    if hole.any():
        dev = push_pull(dev, (~hole).astype(np.float32))
    return np.asarray(model + dev, dtype=np.float32)
