"""Synthetic wires and blobs composited over clean frames, for the ``remove`` benchmark.

Every generator is deterministic for a given ``seed`` and returns ``(composited, masks)``:
the clean frames with the object composited over them, and the masks an artist would draw
(the object's footprint, dilated). Frames are float32 ``(H, W, 3)`` RGB in [0, 1] (display
encoded, as read from the clip); masks float32 ``(H, W)`` with values 0 or 1.

* :func:`wire_case`: a thin anti-aliased wire (1-6 px), straight or sagging (a quadratic
  catenary), dark or bright, crossing most of the frame, drifting a few pixels per frame and
  swinging; its edges are slightly translucent (a dense core, a softer rim) and a little soft.
* :func:`blob_case`: one or two opaque blobs (ellipses or irregular), each 3-8 % of the frame
  area, flat or textured, moving across the frame and turning slowly.

Outside its mask a composite differs from the clean frame by less than 1/255.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np

SUPERSAMPLE = 4  # wires are drawn at 4x and area-averaged: sub-pixel widths and positions
_SHIFT = 4  # fractional bits of the coordinates given to OpenCV's drawing functions
FOOTPRINT = 1.0 / 255.0  # alpha above which a pixel belongs to the object's footprint


def _check(frames: Sequence[np.ndarray]) -> tuple[int, int]:
    if len(frames) == 0:
        raise ValueError("got no frames; give at least one float32 (H, W, 3) frame")
    h, w = frames[0].shape[:2]
    for i, f in enumerate(frames):
        if f.shape != (h, w, 3):
            raise ValueError(f"frame {i} has shape {f.shape}, expected {(h, w, 3)}")
    return h, w


def _dilate(footprint: np.ndarray, radius: int) -> np.ndarray:
    """Binary float32 mask: ``footprint`` dilated by a disc of ``radius`` pixels."""
    binary = footprint.astype(np.uint8)
    if radius > 0:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        binary = cv2.dilate(binary, k)
    return binary.astype(np.float32)


def _composite(
    clean: np.ndarray, alpha: np.ndarray, colour: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``clean`` with ``colour`` over it at ``alpha``; alpha below 1/255 counts as none."""
    alpha = np.where(alpha < FOOTPRINT, 0.0, alpha).astype(np.float32)
    a = alpha[..., None]
    out = clean * (1.0 - a) + colour * a
    return np.clip(out, 0.0, 1.0).astype(np.float32), alpha


def _polyline_coverage(h: int, w: int, pts: np.ndarray, width: float) -> np.ndarray:
    """Area coverage in [0, 1] of a polyline ``pts`` (N, 2) (x, y) drawn ``width`` px wide."""
    s = SUPERSAMPLE
    canvas = np.zeros((h * s, w * s), np.uint8)
    thick = max(1, round(width * s))
    # pixel centres: x_hi = (x + 0.5) * s - 0.5
    hi = ((pts + 0.5) * s - 0.5) * (1 << _SHIFT)
    cv2.polylines(canvas, [np.round(hi).astype(np.int32)], False, 255, thick, cv2.LINE_8, _SHIFT)
    cov = cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA)
    return cov.astype(np.float32) / 255.0


def _wire_points(
    h: int, w: int, t: int, kind: str, p: dict[str, float], n: int = 256
) -> np.ndarray:
    """The wire's centre line at frame ``t`` as (n, 2) float points (x, y)."""
    diag = float(np.hypot(w, h))
    s = np.linspace(0.0, 1.0, n)[:, None]
    phase = 2 * np.pi * t / p["period"] + p["phase"]
    if kind == "straight":
        theta = p["theta"] + p["swing"] * np.sin(phase)
        d = np.array([np.cos(theta), np.sin(theta)])
        normal = np.array([-d[1], d[0]])
        centre = np.array([p["cx"] * w, p["cy"] * h])
        centre = centre + normal * (p["drift"] * t + p["sway"] * np.sin(phase))
        ends = (p["start"] - 0.5) * diag, (p["end"] - 0.5) * diag
        pts = centre + d * (ends[0] + s * (ends[1] - ends[0]))
        return pts
    # curved: a sagging wire between two points beyond opposite edges (a quadratic catenary)
    sag = p["sag"] * (1.0 + p["sag_swing"] * np.sin(phase))
    shift = p["drift"] * t + p["sway"] * np.sin(phase)
    if p["vertical"] > 0.5:  # hanging from above, bowed sideways
        a = np.array([p["a"] * w + shift, -0.05 * h])
        b = np.array([p["b"] * w + shift, 1.05 * h])
        bow = np.array([sag * w, 0.0])
    else:
        a = np.array([-0.05 * w, p["a"] * h + shift])
        b = np.array([1.05 * w, p["b"] * h + shift])
        bow = np.array([0.0, sag * h])
    return a + s * (b - a) + 4.0 * s * (1.0 - s) * bow


def wire_case(
    frames: Sequence[np.ndarray],
    seed: int,
    width_px: float,
    kind: Literal["straight", "curved"] = "straight",
    polarity: Literal["dark", "bright"] = "dark",
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Composite a moving wire over ``frames``.

    The wire crosses most of the frame, drifts 0.5-3 px per frame across itself and swings
    (a straight wire turns by up to 3 degrees, a curved one sways and its sag breathes). Its
    alpha is a dense core (half the width) inside a translucent rim, blurred by 0.4 px; its
    colour is near black (``dark``) or near white (``bright``) with a slow shading along it.

    Args:
        frames: the clean frames, float32 RGB display-encoded in [0, 1].
        seed: seeds the wire's placement, motion and colour.
        width_px: the wire's width in pixels (1-6 in the benchmark; fractions allowed).
        kind: ``"straight"`` or ``"curved"`` (a sagging quadratic through the frame).
        polarity: ``"dark"`` or ``"bright"``.

    Returns:
        The composited frames (float32 RGB [0, 1]) and the masks (float32 0/1): the wire's
        footprint (alpha >= 1/255) dilated by 1 or 2 px, as an artist would draw it.

    Shape:
        frames: each (H, W, 3); returned frames (H, W, 3) and masks (H, W).
    """
    if kind not in ("straight", "curved"):
        raise ValueError(f"kind is {kind!r}; give 'straight' or 'curved'")
    if polarity not in ("dark", "bright"):
        raise ValueError(f"polarity is {polarity!r}; give 'dark' or 'bright'")
    if not 0.25 <= width_px <= 32:
        raise ValueError(f"width_px is {width_px}; give a width between 0.25 and 32 pixels")
    h, w = _check(frames)
    rng = np.random.default_rng([seed, 1, round(width_px * 100)])
    p = {
        "theta": float(rng.uniform(0, np.pi)),
        "swing": float(np.deg2rad(rng.uniform(0.5, 3.0))),
        "cx": float(rng.uniform(0.35, 0.65)),
        "cy": float(rng.uniform(0.35, 0.65)),
        "start": float(rng.uniform(-0.1, 0.1)),
        "end": float(rng.uniform(0.9, 1.1)),
        "drift": float(rng.uniform(0.5, 3.0) * rng.choice([-1, 1])),
        "sway": float(rng.uniform(1.0, 6.0)),
        "period": float(rng.uniform(18, 40)),
        "phase": float(rng.uniform(0, 2 * np.pi)),
        "sag": float(rng.uniform(0.05, 0.15)),
        "sag_swing": float(rng.uniform(0.05, 0.2)),
        "vertical": float(rng.random() < 0.35),
        "a": float(rng.uniform(0.2, 0.45)),
        "b": float(rng.uniform(0.2, 0.45)),
    }
    if p["vertical"] > 0.5:
        p["a"], p["b"] = float(rng.uniform(0.25, 0.75)), float(rng.uniform(0.25, 0.75))
    base = rng.uniform(0.03, 0.12) if polarity == "dark" else rng.uniform(0.82, 0.95)
    tint = rng.uniform(-0.02, 0.02, 3)
    shade_phase, shade_freq = rng.uniform(0, 2 * np.pi), rng.uniform(0.5, 2.0)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    shade = 0.06 * np.sin(2 * np.pi * shade_freq * (xx / w + yy / h) + shade_phase)
    colour = np.clip((base + tint)[None, None, :] + shade[..., None], 0, 1).astype(np.float32)
    dilation = int(rng.integers(1, 3))

    out: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    for t, clean in enumerate(frames):
        pts = _wire_points(h, w, t, kind, p)
        rim = _polyline_coverage(h, w, pts, width_px)
        core = _polyline_coverage(h, w, pts, max(0.5, 0.5 * width_px))
        alpha = cv2.GaussianBlur(0.6 * rim + 0.35 * core, (0, 0), 0.4)
        comp, alpha = _composite(np.asarray(clean, np.float32), alpha, colour)
        out.append(comp)
        masks.append(_dilate(alpha > 0, dilation))
    return out, masks


def _blob_polygon(
    radius: float, aspect: float, harmonics: np.ndarray, phases: np.ndarray, n: int = 128
) -> np.ndarray:
    """Blob outline (n, 2) in local coordinates around (0, 0), before rotation."""
    phi = np.linspace(0, 2 * np.pi, n, endpoint=False)
    k = np.arange(2, 2 + len(harmonics))[:, None]
    r = 1.0 + (harmonics[:, None] * np.cos(k * phi[None, :] + phases[:, None])).sum(0)
    pts = np.stack([r * np.cos(phi) * aspect, r * np.sin(phi) / aspect], axis=1)
    x, y = pts[:, 0], pts[:, 1]
    area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
    return pts * radius * np.sqrt(np.pi / area)  # scaled so its area is pi * radius^2


def blob_case(frames: Sequence[np.ndarray], seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Composite one or two moving opaque blobs over ``frames``.

    Each blob covers 3-8 % of the frame, is an ellipse or an irregular shape (low harmonics
    on its radius), flat-coloured or textured (a smooth two-colour pattern with fine detail
    that moves with it), enters near one side and crosses the frame at 0.6-1.5 % of the
    frame's width per frame while turning slowly. Its edge is anti-aliased.

    Args:
        frames: the clean frames, float32 RGB display-encoded in [0, 1].
        seed: seeds the blobs' shapes, colours and motion.

    Returns:
        The composited frames (float32 RGB [0, 1]) and the masks (float32 0/1): the blobs'
        footprints dilated by 2 px.

    Shape:
        frames: each (H, W, 3); returned frames (H, W, 3) and masks (H, W).
    """
    h, w = _check(frames)
    rng = np.random.default_rng([seed, 2])
    blobs = []
    for _ in range(1 + int(rng.random() < 0.5)):
        radius = float(np.sqrt(rng.uniform(0.03, 0.08) * h * w / np.pi))
        irregular = rng.random() < 0.5
        harmonics = rng.uniform(0.04, 0.14, 3) if irregular else np.zeros(3)
        poly = _blob_polygon(radius, rng.uniform(0.75, 1.35), harmonics, rng.uniform(0, 6.3, 3))
        heading = rng.uniform(-0.5, 0.5) + (np.pi if rng.random() < 0.5 else 0.0)
        speed = rng.uniform(0.006, 0.015) * w
        vel = speed * np.array([np.cos(heading), np.sin(heading)])
        # start so that the blob is on screen and moves towards the far side
        start = np.array(
            [
                w * (0.25 if vel[0] > 0 else 0.75) + rng.uniform(-0.1, 0.1) * w,
                h * rng.uniform(0.3, 0.7),
            ]
        )
        size = int(np.ceil(2.2 * np.abs(poly).max())) + 4
        c0, c1 = rng.uniform(0.05, 0.95, 3), rng.uniform(0.05, 0.95, 3)
        if rng.random() < 0.5:  # textured: smooth pattern + fine detail, in blob coordinates
            low = rng.random((size // 16 + 2, size // 16 + 2)).astype(np.float32)
            low = cv2.resize(low, (size, size), interpolation=cv2.INTER_CUBIC)
            fine = rng.normal(0, 0.04, (size, size, 3)).astype(np.float32)
            tex = c0 + (c1 - c0) * np.clip(low, 0, 1)[..., None] + fine
        else:
            tex = np.broadcast_to(c0, (size, size, 3)).copy()
        blobs.append(
            {
                "poly": poly,
                "start": start,
                "vel": vel,
                "angle": rng.uniform(0, 2 * np.pi),
                "spin": rng.uniform(-0.02, 0.02),
                "tex": np.clip(tex, 0, 1).astype(np.float32),
            }
        )

    out: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    for t, clean in enumerate(frames):
        comp = np.asarray(clean, np.float32)
        footprint = np.zeros((h, w), bool)
        for b in blobs:
            centre = b["start"] + b["vel"] * t
            ang = b["angle"] + b["spin"] * t
            rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
            pts = b["poly"] @ rot.T + centre
            canvas = np.zeros((h, w), np.uint8)
            cv2.fillPoly(
                canvas,
                [np.round(pts * (1 << _SHIFT)).astype(np.int32)],
                255,
                cv2.LINE_AA,
                _SHIFT,
            )
            alpha = canvas.astype(np.float32) / 255.0
            size = b["tex"].shape[0]
            m = np.hstack([rot, (centre - rot @ np.array([size / 2, size / 2]))[:, None]])
            colour = cv2.warpAffine(
                b["tex"], m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
            )
            comp, alpha = _composite(comp, alpha, colour)
            footprint |= alpha > 0
        out.append(comp)
        masks.append(_dilate(footprint, 2))
    return out, masks
