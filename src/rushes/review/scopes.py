"""Video scopes for the review page: waveform, vectorscope and histogram, drawn with numpy.

Each scope is a pure function from one display-encoded frame to a small uint8 RGB image;
:data:`SCOPES` lists them and :func:`scope_panel` lays the ones asked for side by side with
their labels (what the review server sends as one PNG per frame). Luma and chroma use the
Rec.709 coefficients on the encoded values, as a broadcast scope does; values outside [0, 1]
are clipped to the scope's edges.

Example:
    >>> frame = np.full((90, 160, 3), 0.5, np.float32)
    >>> scope_panel(frame).shape  # doctest: +SKIP
    (280, 920, 3)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

KR, KB = 0.2126, 0.0722
KG = 1.0 - KR - KB
_BG = 16
_GRID = (70, 70, 70)
_TRACE = np.array([120.0, 255.0, 140.0], np.float32)  # waveform / vectorscope trace colour


def _check(frame: np.ndarray) -> np.ndarray:
    """``frame`` as float32 ``(H, W, 3)`` in [0, 1] (NaN -> 0, inf clipped)."""
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3:
        shape = getattr(frame, "shape", type(frame).__name__)
        raise ValueError(f"a scope needs an (H, W, 3) RGB frame, got {shape}")
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(f"a scope needs a frame with pixels, got shape {frame.shape}")
    f = np.asarray(frame, np.float32)
    return np.clip(np.nan_to_num(f, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)


def _tone(counts: np.ndarray, scale: float) -> np.ndarray:
    """Counts to [0, 1] brightness on a log scale (one pixel is faint but visible)."""
    if scale <= 0:
        return np.zeros(counts.shape, np.float32)
    return np.clip(np.log1p(counts) / np.log1p(scale), 0.0, 1.0).astype(np.float32)


def luma(frame: np.ndarray) -> np.ndarray:
    """Rec.709 luma of display-encoded RGB.

    Args:
        frame: float32 ``(H, W, 3)`` RGB, display encoded, [0, 1].

    Returns:
        float32 ``(H, W)`` luma in [0, 1].
    """
    f = _check(frame)
    return (KR * f[..., 0] + KG * f[..., 1] + KB * f[..., 2]).astype(np.float32)


def waveform(frame: np.ndarray, height: int = 256, width: int = 384) -> np.ndarray:
    """Luma waveform: for each column of the frame, how many pixels sit at each level.

    Args:
        frame: float32 ``(H, W, 3)`` RGB, display encoded, [0, 1].
        height: Levels (rows) of the scope; the top row is 1.0 (100 %).
        width: Columns of the scope; the frame's columns are binned into them.

    Returns:
        uint8 ``(height, width, 3)`` RGB image; graticule every 10 %.
    """
    y = luma(frame)
    h, w = y.shape
    bins = min(w, width)  # a narrow frame: one bin per column, stretched to the width
    cols = np.minimum((np.arange(w) * bins) // w, bins - 1)
    col = np.broadcast_to(cols[None, :], (h, w)).ravel()
    lev = np.minimum((y.ravel() * (height - 1) + 0.5).astype(np.int64), height - 1)
    counts = np.bincount(col * height + lev, minlength=bins * height).reshape(bins, height)
    counts = counts[(np.arange(width) * bins) // width]
    tone = _tone(counts.T[::-1], h * w / bins * 0.25)  # (height, width), top = 1.0
    out = np.full((height, width, 3), _BG, np.uint8)
    for k in range(11):
        r = round((1.0 - k / 10) * (height - 1))
        out[r, :] = _GRID
    trace = tone[..., None] * _TRACE
    return np.maximum(out, trace.astype(np.uint8))


def _cbcr(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rec.709 Cb, Cr in [-0.5, 0.5] of display-encoded RGB ``(..., 3)``."""
    y = KR * rgb[..., 0] + KG * rgb[..., 1] + KB * rgb[..., 2]
    cb = (rgb[..., 2] - y) / (2.0 * (1.0 - KB))
    cr = (rgb[..., 0] - y) / (2.0 * (1.0 - KR))
    return cb, cr


def _to_scope(cb: np.ndarray, cr: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Cb/Cr to scope pixel columns/rows (Cb to the right, Cr up)."""
    x = np.clip(((cb + 0.5) * (size - 1) + 0.5).astype(np.int64), 0, size - 1)
    y = np.clip(((0.5 - cr) * (size - 1) + 0.5).astype(np.int64), 0, size - 1)
    return x, y


def vectorscope(frame: np.ndarray, size: int = 256) -> np.ndarray:
    """Vectorscope: the frame's pixels placed by their Rec.709 chroma (Cb right, Cr up).

    The graticule has the outer circle (full chroma), targets for 75 % colour bars (R, Mg, B,
    Cy, G, Yl) and the skin-tone line.

    Args:
        frame: float32 ``(H, W, 3)`` RGB, display encoded, [0, 1].
        size: Width and height of the scope.

    Returns:
        uint8 ``(size, size, 3)`` RGB image.
    """
    f = _check(frame)
    cb, cr = _cbcr(f.reshape(-1, 3))
    x, y = _to_scope(cb, cr, size)
    counts = np.bincount(y * size + x, minlength=size * size).reshape(size, size)
    tone = _tone(counts, f.shape[0] * f.shape[1] / 400.0)
    out = np.full((size, size, 3), _BG, np.uint8)
    c = (size - 1) / 2.0
    center = (round(c), round(c))
    cv2.circle(out, center, round(c), _GRID, 1, cv2.LINE_AA)
    cv2.line(out, (0, center[1]), (size - 1, center[1]), _GRID, 1)
    cv2.line(out, (center[0], 0), (center[0], size - 1), _GRID, 1)
    # skin-tone line: the hue of typical skin (about 123 degrees from +Cb, counter-clockwise)
    a = np.deg2rad(123.0)
    end = (round(c + c * np.cos(a)), round(c - c * np.sin(a)))
    cv2.line(out, center, end, (110, 90, 70), 1, cv2.LINE_AA)
    bars = 0.75 * np.array(
        [[1, 0, 0], [1, 0, 1], [0, 0, 1], [0, 1, 1], [0, 1, 0], [1, 1, 0]], np.float32
    )
    bx, by = _to_scope(*_cbcr(bars), size)
    box = max(3, size // 40)
    for px, py, colour in zip(bx, by, bars, strict=True):
        col = tuple(int(v) for v in (colour / 0.75 * 150 + 60))
        cv2.rectangle(out, (int(px) - box, int(py) - box), (int(px) + box, int(py) + box), col, 1)
    trace = tone[..., None] * _TRACE
    return np.maximum(out, trace.astype(np.uint8))


def histogram(frame: np.ndarray, height: int = 256, bins: int = 256) -> np.ndarray:
    """RGB histogram: one curve per channel, added (where all three agree it is white).

    Bars are scaled so the tallest bin away from the clip points (the first and last bins)
    fills the height; clipped bins are drawn to full height when they are taller.

    Args:
        frame: float32 ``(H, W, 3)`` RGB, display encoded, [0, 1].
        height: Height of the scope.
        bins: Levels (columns); 0 on the left.

    Returns:
        uint8 ``(height, bins, 3)`` RGB image.
    """
    f = _check(frame)
    idx = np.minimum((f.reshape(-1, 3) * (bins - 1) + 0.5).astype(np.int64), bins - 1)
    counts = np.stack([np.bincount(idx[:, ch], minlength=bins) for ch in range(3)])
    inner = counts[:, 1:-1] if bins > 2 else counts
    peak = float(inner.max()) if inner.size else 0.0
    peak = peak if peak > 0 else float(max(counts.max(), 1))
    bar = np.clip(np.round(counts / peak * height), 0, height).astype(np.int64)
    bar = np.where(counts > 0, np.maximum(bar, 1), 0)  # a level that occurs is always seen
    rows = np.arange(height)[::-1][:, None]  # row r shows level height-1-r
    out = np.full((height, bins, 3), _BG, np.uint8)
    for k in range(1, 4):
        out[:, round(k * (bins - 1) / 4)] = _GRID
    fill = np.zeros((height, bins, 3), np.float32)
    for ch in range(3):
        fill[..., ch] = (rows < bar[ch][None, :]) * 200.0
    return np.maximum(out, fill.astype(np.uint8))


SCOPES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "waveform": waveform,
    "vectorscope": vectorscope,
    "histogram": histogram,
}
"""The scopes by name; each takes a display-encoded float32 ``(H, W, 3)`` frame."""


def scope_panel(
    frame: np.ndarray, kinds: Sequence[str] = ("waveform", "vectorscope", "histogram")
) -> np.ndarray:
    """The scopes ``kinds`` of one frame side by side, each under its name.

    Args:
        frame: float32 ``(H, W, 3)`` RGB, display encoded, [0, 1].
        kinds: Names from :data:`SCOPES`.

    Returns:
        uint8 ``(H', W', 3)`` RGB image.

    Raises:
        ValueError: an unknown scope name, or a frame that is not ``(H, W, 3)``.
    """
    unknown = [k for k in kinds if k not in SCOPES]
    if unknown or not kinds:
        raise ValueError(f"scope {unknown or kinds!r} unknown; use some of {', '.join(SCOPES)}")
    images = [SCOPES[k](frame) for k in kinds]
    label, pad = 22, 8
    height = max(im.shape[0] for im in images) + label
    width = sum(im.shape[1] for im in images) + pad * (len(images) + 1)
    out = np.full((height + pad, width, 3), 8, np.uint8)
    x = pad
    for name, im in zip(kinds, images, strict=True):
        out[label : label + im.shape[0], x : x + im.shape[1]] = im
        cv2.putText(
            out, name, (x + 2, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (200, 200, 200), 1, cv2.LINE_AA
        )
        x += im.shape[1] + pad
    return out


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of a uint8 ``(H, W, 3)`` RGB image."""
    ok, buf = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"could not encode a {image.shape} {image.dtype} image as PNG")
    return buf.tobytes()


__all__ = [
    "SCOPES",
    "encode_png",
    "histogram",
    "luma",
    "scope_panel",
    "vectorscope",
    "waveform",
]
