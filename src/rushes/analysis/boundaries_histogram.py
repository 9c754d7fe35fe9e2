"""Hard cuts from HSV histogram change against its neighbourhood (method ``"histogram"``).

A cheap cuts-only detector in the manner of PySceneDetect's ``AdaptiveDetector``, on histograms
rather than mean channel differences: frame ``t`` is a cut when the histogram distance from
``t - 1`` is at least ``threshold`` and at least ``ratio`` times the mean distance of the
``window`` frames either side. It reports no dissolves or fades and has no flash check; use the
default ``"blend"`` method unless speed matters more than those.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from rushes.analysis.boundaries import Boundary, BoundaryDetector, check_finite
from rushes.analysis.boundaries_blend import hist_distance, hsv_histogram


class HistogramDetector(BoundaryDetector):
    """Cuts only, from the HSV histogram distance between consecutive frames.

    Args:
        fps: Frame rate of the clip (> 0).
        threshold: Minimum histogram distance (in [0, 1]) for a cut.
        ratio: Minimum ratio to the mean distance of the neighbourhood.
        window: Neighbours either side (frames); also the latency.
        min_shot: Cuts closer than this (frames) to the previous cut are dropped.
    """

    def __init__(
        self,
        fps: float = 24.0,
        *,
        threshold: float = 0.3,
        ratio: float = 3.0,
        window: int = 3,
        min_shot: int = 4,
    ) -> None:
        super().__init__(fps)
        if not (threshold > 0 and ratio > 0 and window >= 1):
            raise ValueError(
                f"threshold and ratio must be > 0 and window >= 1; got {threshold}, {ratio}, "
                f"{window}"
            )
        self.threshold = float(threshold)
        self.ratio = float(ratio)
        self.window = int(window)
        self.min_shot = int(min_shot)
        self._size: tuple[int, int] | None = None
        self._prev: np.ndarray | None = None
        self._changes: deque[tuple[int, float]] = deque(maxlen=2 * self.window + 1)
        self._last_cut: int | None = None

    def push(self, index: int, frame: np.ndarray) -> list[Boundary]:
        """Add the next frame; return the cut decided ``window`` frames ago, if any.

        Shape:
            frame: (H, W, 3) float32 display-encoded RGB in [0, 1]
        """
        frame = self.check_frame(index, frame)
        if self._size is None:
            h, w = frame.shape[:2]
            s = 64 / max(h, w)
            self._size = (max(2, round(w * s)), max(2, round(h * s)))
        small = cv2.resize(frame, self._size, interpolation=cv2.INTER_AREA)
        check_finite(index, small)
        np.clip(small, 0.0, 1.0, out=small)
        hist = hsv_histogram(small)
        if self._prev is not None:
            self._changes.append((index, hist_distance(hist, self._prev)))
        self._prev = hist
        if len(self._changes) == self._changes.maxlen:
            return self._decide(self.window)
        return []

    def finish(self) -> list[Boundary]:
        """Decide the last frames with the neighbourhood that exists."""
        out: list[Boundary] = []
        start = self.window + 1 if len(self._changes) == self._changes.maxlen else 0
        for i in range(start, len(self._changes)):
            out += self._decide(i)
        return out

    def _decide(self, i: int) -> list[Boundary]:
        index, change = self._changes[i]
        others = [c for j, (_, c) in enumerate(self._changes) if j != i]
        base = sum(others) / len(others) if others else 0.0
        if change < self.threshold or change < self.ratio * base:
            return []
        if self._last_cut is not None and index - self._last_cut < self.min_shot:
            return []
        self._last_cut = index
        score = min(1.0, change / (2 * self.threshold))
        return [Boundary(index, "cut", index, index, round(score, 4))]
