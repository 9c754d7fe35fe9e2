"""Contact sheets: a grid of shot thumbnails with their labels."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def contact_sheet(
    images: Sequence[np.ndarray],
    labels: Sequence[Sequence[str]],
    columns: int = 4,
    cell_width: int = 320,
    title: str | None = None,
) -> np.ndarray:
    """Lay thumbnails out in a grid, each with up to three lines of label beneath.

    Args:
        images: uint8 ``(H, W, 3)`` display RGB thumbnails, any sizes (letterboxed per cell).
        labels: Label lines per image.
        columns: Cells per row.
        cell_width: Width of a cell in pixels; cells are 16:9 plus the label band.
        title: Optional heading.

    Returns:
        uint8 ``(H, W, 3)`` display RGB sheet.
    """
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels; give one label per image")
    if not images:
        raise ValueError("no thumbnails to lay out")
    columns = max(1, min(columns, len(images)))
    pic_h = cell_width * 9 // 16
    line_h = 18
    band = line_h * 3 + 6
    pad = 8
    head = 40 if title else 0
    rows = (len(images) + columns - 1) // columns
    sheet_w = columns * (cell_width + pad) + pad
    sheet_h = head + rows * (pic_h + band + pad) + pad
    sheet = np.full((sheet_h, sheet_w, 3), 24, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    if title:
        cv2.putText(sheet, title, (pad, 28), font, 0.8, (235, 235, 235), 1, cv2.LINE_AA)
    for i, (img, lines) in enumerate(zip(images, labels, strict=True)):
        r, c = divmod(i, columns)
        x0 = pad + c * (cell_width + pad)
        y0 = head + pad + r * (pic_h + band + pad)
        h, w = img.shape[:2]
        s = min(cell_width / w, pic_h / h)
        tw, th = max(1, round(w * s)), max(1, round(h * s))
        thumb = cv2.resize(img, (tw, th), interpolation=cv2.INTER_AREA)
        ox, oy = x0 + (cell_width - tw) // 2, y0 + (pic_h - th) // 2
        sheet[y0 : y0 + pic_h, x0 : x0 + cell_width] = 0
        sheet[oy : oy + th, ox : ox + tw] = thumb
        for k, line in enumerate(list(lines)[:3]):
            y = y0 + pic_h + line_h * (k + 1)
            color = (255, 255, 255) if k == 0 else (170, 170, 170)
            cv2.putText(sheet, str(line)[:48], (x0 + 2, y), font, 0.42, color, 1, cv2.LINE_AA)
    return sheet
