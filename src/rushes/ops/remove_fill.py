"""The fill of the ``remove`` fix, fidelity first (DESIGN.md, "Fidelity before synthesis").

For every frame the pixels under the matte are taken, in this order, from:

1. **the shot's own frames**: each masked pixel follows the background's optical flow frame by
   frame, back and forward up to ``radius`` frames, until it lands where that frame
   photographed the background. The nearest photographed sample on each side is corrected by
   that side's own seam offset, and the two are weighted by how well each side predicts the
   plate ring around the matte (inverse residual variance). The flow is measured in two
   passes: a sketch fill at up to ``SKETCH_LONG_SIDE`` pixels (flow computed with the object
   inpainted away and interpolated across a band around it) gives frames whose filled
   background DIS can follow up to the matte's edge; the final fill uses that flow,
   interpolated only inside the matte;
2. **other sources** (other takes of the setup, aligned to this frame), when given;
3. **spatial synthesis** (the project's plate network when one was learned and given as
   ``FillOptions.synthesizer``, else OpenCV Telea) only for what was never photographed, and
   never inside a protected performer region.

A seam offset, measured on a thin ring of plate around the matte and interpolated inside it
(push-pull), absorbs exposure flicker and light changes between the frames used. Frames stream
through two windows of ``2 * radius + 1 + LOOKAHEAD`` frames (the sketch's at its reduced
size); nothing else of the shot is held.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

import cv2
import numpy as np

from rushes.errors import FillError, PerformerRegionError
from rushes.matte.base import mask_bbox
from rushes.ops.fill_flow import FLOW_LONG_SIDE, FlowEstimator, FlowGrid, flow_image
from rushes.ops.fill_interp import bilinear_weight_energy, gather, push_pull, sample

SEAM_CELL = 2
"""Cell size in pixels of the grid the seam offset is averaged on (finer follows local light
changes closer; it stays smooth through push-pull)."""

FLOW_WORKERS = 2
"""Threads computing optical flow beside the fill (OpenCV releases the GIL). A pair's task
only waits on the two flow inputs submitted before it, so any number of workers is safe."""

LOOKAHEAD = 4
"""Frames read beyond what the fill needs, so the flow threads work ahead of it."""

SKETCH_LONG_SIDE = 640
"""The sketch pass runs with the frame's long side at most this."""

MAX_COVERAGE = 0.9
"""A matte covering more of the frame than this leaves nothing to fill from."""


@dataclass(frozen=True)
class FillOptions:
    """How the fill searches and blends.

    Attributes:
        radius: Frames searched on each side of the frame being filled.
        hits: Photographed samples gathered on each side per pixel (more = less noise).
        seam: Width in pixels of the plate ring used for the seam offset.
        blend: Apply the seam offset (exposure/light changes between frames).
        flow_long_side: Long side of the grid optical flow is computed on.
        spatial_radius: Telea radius for what was never photographed.
        spatial: ``"telea"``, or ``"smooth"``: a push-pull interpolation from around (the
            sketch pass's quick stand-in; never used for what is rendered).
        synthesizer: The project's plate network (:meth:`rushes.dialect.plate.PlateModel.fill`)
            for what was never photographed; ``None``: OpenCV Telea.
        dry_run: Only find what is photographed (the guard's check): nothing is synthesized,
            and never-photographed pixels inside a protected region are counted in
            ``FillStats.protected_left`` instead of raising.
        only: Fill only these frames (numbered from ``first_index``); the others pass through
            untouched (their mattes still tell what the neighbours photographed).
        guided: Fill twice: a quick sketch fill at ``SKETCH_LONG_SIDE``, whose filled frames then
            give the final fill its optical flow (measured up to the matte's edge instead of
            interpolated across a wide band around it). ``False``: the sketch alone.
    """

    radius: int = 12
    hits: int = 1
    seam: int = 2
    blend: bool = True
    flow_long_side: int = FLOW_LONG_SIDE
    spatial_radius: int = 5
    spatial: Literal["telea", "smooth"] = "telea"
    synthesizer: Synthesizer | None = None
    dry_run: bool = False
    only: frozenset[int] | None = None
    guided: bool = True


class Synthesizer(Protocol):
    """Fills ``mask`` of ``frame`` from the frame and its (optional) neighbours; the
    signature of :meth:`rushes.dialect.plate.PlateModel.fill`."""

    def __call__(
        self,
        frame: np.ndarray,
        mask: np.ndarray,
        prev: np.ndarray | None = ...,
        next: np.ndarray | None = ...,
        prev_mask: np.ndarray | None = ...,
        next_mask: np.ndarray | None = ...,
    ) -> np.ndarray: ...


@dataclass
class FillStats:
    """What one frame's fill used. Pixel counts are of the matte's footprint (mask > 0)."""

    index: int
    masked: int = 0
    temporal: int = 0
    other: int = 0
    spatial: int = 0
    mean_distance: float = 0.0
    protected_left: int = 0

    def to_dict(self) -> dict[str, float | int]:
        """JSON form."""
        return {
            "index": self.index,
            "masked": self.masked,
            "temporal": self.temporal,
            "other": self.other,
            "spatial": self.spatial,
            "mean_distance": round(self.mean_distance, 3),
        }


@dataclass
class Filled:
    """One filled frame and how it was made.

    Attributes:
        frame: float32 ``(H, W, 3)``, same encoding as the input.
        stats: Counts per source.
        synthesized: bool ``(H, W)``: pixels made by spatial synthesis.
        grain_kept: float32 ``(H, W)`` in [0, 1]: share of the plate's grain variance the fill
            already carries (1 outside the matte; lower where samples were averaged or
            resampled; 0 where synthesized). A regrain tops up the rest.
        mask: float32 ``(H, W)`` in [0, 1]: the matte the frame was filled under.
    """

    frame: np.ndarray
    stats: FillStats
    synthesized: np.ndarray
    grain_kept: np.ndarray
    mask: np.ndarray


class FillSource(Protocol):
    """More photographed pixels for a frame, e.g. another take aligned to it."""

    def candidates(
        self, index: int, frame: np.ndarray, hole: np.ndarray
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(image, valid)`` pairs aligned to ``frame``: float32 ``(H, W, 3)`` in the
        frame's encoding and bool ``(H, W)`` where the image holds photographed background."""
        ...


Protect = Callable[[int], "np.ndarray | None"]
"""Frame index -> bool ``(H, W)`` performer region where nothing may be synthesized."""


@dataclass
class _Window:
    frames: dict[int, np.ndarray] = field(default_factory=dict)
    masks: dict[int, np.ndarray] = field(default_factory=dict)
    bad: dict[int, np.ndarray] = field(default_factory=dict)
    flow_in: dict[int, Future[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    pairs: dict[int, Future[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)

    def fwd(self, i: int) -> np.ndarray:
        """Flow from frame ``i`` to ``i + 1``."""
        return self.pairs[i + 1].result()[0]

    def bwd(self, i: int) -> np.ndarray:
        """Flow from frame ``i`` to ``i - 1``."""
        return self.pairs[i].result()[1]

    def evict(self, below: int) -> None:
        for d in (self.frames, self.masks, self.bad, self.flow_in):
            for k in [k for k in d if k < below]:
                del d[k]
        for k in [k for k in self.pairs if k <= below]:
            del self.pairs[k]


def fill_sequence(
    frames: Iterable[np.ndarray],
    masks: Iterable[np.ndarray],
    options: FillOptions | None = None,
) -> Iterator[np.ndarray]:
    """Fill the masked pixels of every frame; yields the filled frames in order.

    The pixels of :func:`fill_frames` alone (same arguments, no protection or other sources).

    Shape: frames float32 ``(H, W, 3)`` (display-referred or log encoding, about [0, 1]); masks
    float32 ``(H, W)`` in [0, 1], 1 = remove.
    """
    for filled in fill_frames(frames, masks, options):
        yield filled.frame


def fill_frames(
    frames: Iterable[np.ndarray],
    masks: Iterable[np.ndarray],
    options: FillOptions | None = None,
    protect: Protect | None = None,
    sources: list[FillSource] | None = None,
    first_index: int = 0,
) -> Iterator[Filled]:
    """Fill the masked pixels of a stream of frames, fidelity first (see the module docstring).

    Args:
        frames: float32 ``(H, W, 3)`` frames in a display-referred or log encoding (the clip's
            own, or ACEScct), about [0, 1]; consumed lazily.
        masks: float32 ``(H, W)`` mattes in [0, 1] (1 = remove), one per frame; soft edges
            blend the fill with the plate.
        options: Search and blend settings.
        protect: Performer regions per frame where only photographed pixels are allowed.
        sources: Further photographed sources (other takes) tried before synthesis.
        first_index: Frame number of the first frame, used in messages.

    Yields:
        One :class:`Filled` per input frame, in order, ``2 * (radius + LOOKAHEAD)`` frames
        behind the input (``radius + LOOKAHEAD`` without ``guided``).

    Raises:
        FillError: A matte of the wrong size, covering (almost) the whole frame, or fewer
            mattes than frames.
        PerformerRegionError: Pixels inside a protected region were never photographed.
    """
    opt = options or FillOptions()
    with ThreadPoolExecutor(FLOW_WORKERS, thread_name_prefix="rushes-flow") as pool:
        items = _checked(frames, masks, first_index)
        if opt.guided:
            items = _sketched(items, opt, first_index, pool)
        yield from _fill_stream(items, opt, protect, sources, first_index, pool)


_Item = tuple[np.ndarray, np.ndarray, "np.ndarray | None"]
"""A frame (float32 ``(H, W, 3)``), its checked matte (float32 ``(H, W)``) and its sketch
(float32 ``(h, w, 3)`` at the sketch's size, or ``None``)."""


def _checked(
    frames: Iterable[np.ndarray], masks: Iterable[np.ndarray], first_index: int
) -> Iterator[_Item]:
    """The frames with their mattes, checked; no sketch yet."""
    mask_iter = iter(masks)
    for i, frame in enumerate(frames):
        try:
            mask = next(mask_iter)
        except StopIteration:
            raise FillError(
                f"no matte for frame {first_index + i}; give one matte per frame"
            ) from None
        f = np.asarray(frame, dtype=np.float32)
        yield f, _check_mask(mask, f, first_index + i), None


def _sketched(
    items: Iterator[_Item], opt: FillOptions, first_index: int, pool: ThreadPoolExecutor
) -> Iterator[_Item]:
    """The frames with a sketch: the fill run once at ``SKETCH_LONG_SIDE`` (the matte's object
    inpainted away for the flow, a push-pull interpolation for what was never photographed,
    nothing protected or taken from other takes), ``radius + LOOKAHEAD`` frames behind the
    input."""
    pending: deque[tuple[np.ndarray, np.ndarray]] = deque()
    sketch_opt = replace(
        opt,
        guided=False,
        dry_run=False,
        synthesizer=None,
        spatial="smooth",
        only=None
        if opt.only is None
        else frozenset(i + d for i in opt.only for d in range(-opt.radius, opt.radius + 1)),
    )

    def small() -> Iterator[_Item]:
        grid: FlowGrid | None = None
        for frame, mask, _ in items:
            if grid is None:
                side = min(opt.flow_long_side, SKETCH_LONG_SIDE)
                grid = FlowGrid.for_frame(frame.shape[1], frame.shape[0], side)
            pending.append((frame, mask))
            size = (grid.width, grid.height)
            footprint = (mask > 0).astype(np.float32)  # a soft edge does not change the flow
            if size == frame.shape[1::-1]:
                yield frame, footprint, None
            else:
                yield (
                    cv2.resize(frame, size, interpolation=cv2.INTER_AREA),
                    cv2.resize(footprint, size, interpolation=cv2.INTER_AREA),
                    None,
                )

    for sketch in _fill_stream(small(), sketch_opt, None, None, first_index, pool):
        frame, mask = pending.popleft()
        # a frame the sketch left alone (outside ``only``) gives its flow the sketch's way
        yield frame, mask, sketch.frame if sketch.stats.masked else None


def _fill_stream(
    items: Iterable[_Item],
    opt: FillOptions,
    protect: Protect | None,
    sources: list[FillSource] | None,
    first_index: int,
    pool: ThreadPoolExecutor,
) -> Iterator[Filled]:
    est = FlowEstimator()
    win = _Window()
    grid: FlowGrid | None = None
    n_in = 0
    n_out = 0
    for frame, mask, guide in items:
        if grid is None:
            grid = FlowGrid.for_frame(frame.shape[1], frame.shape[0], opt.flow_long_side)
        _add(win, n_in, frame, mask, guide, grid, est, pool)
        n_in += 1
        while n_out <= n_in - 1 - opt.radius - LOOKAHEAD:
            yield _fill_one(win, n_out, n_in, grid, opt, protect, sources, first_index)
            win.evict(n_out + 1 - opt.radius)
            n_out += 1
    while n_out < n_in:
        assert grid is not None
        yield _fill_one(win, n_out, n_in, grid, opt, protect, sources, first_index)
        win.evict(n_out + 1 - opt.radius)
        n_out += 1


def _check_mask(mask: np.ndarray, frame: np.ndarray, index: int) -> np.ndarray:
    m = np.asarray(mask, dtype=np.float32)
    if m.ndim == 3:
        m = m[:, :, 0]
    if m.shape != frame.shape[:2]:
        raise FillError(
            f"the matte of frame {index} is {m.shape[1]}x{m.shape[0]} but the frame is "
            f"{frame.shape[1]}x{frame.shape[0]}; give a matte of the shot's size"
        )
    if not np.isfinite(m).all():
        raise FillError(f"the matte of frame {index} holds NaN or infinite values")
    m = np.clip(m, 0.0, 1.0)
    if float((m > 0.5).mean()) > MAX_COVERAGE:
        raise FillError(
            f"the matte of frame {index} covers {100 * float((m > 0.5).mean()):.0f}% of the "
            "frame; nothing is left to fill from: draw the matte around what to remove"
        )
    return m


def _add(
    win: _Window,
    i: int,
    frame: np.ndarray,
    mask: np.ndarray,
    guide: np.ndarray | None,
    grid: FlowGrid,
    est: FlowEstimator,
    pool: ThreadPoolExecutor,
) -> None:
    win.frames[i] = frame.copy()  # filled in place later; the caller's array is not touched
    win.masks[i] = mask
    need = (mask > 0).astype(np.uint8)
    win.bad[i] = cv2.dilate(need, np.ones((3, 3), np.uint8)).astype(bool)
    # flow input and flow run beside the fill (OpenCV releases the GIL); the workers take the
    # tasks in order, so a pair's two inputs have started when it starts
    win.flow_in[i] = pool.submit(flow_image, frame, mask, grid, guide)
    if i - 1 in win.flow_in:
        a, b = win.flow_in[i - 1], win.flow_in[i]
        win.pairs[i] = pool.submit(lambda: est.pair(a.result(), b.result()))


def _fill_one(
    win: _Window,
    t: int,
    n_in: int,
    grid: FlowGrid,
    opt: FillOptions,
    protect: Protect | None,
    sources: list[FillSource] | None,
    first_index: int,
) -> Filled:
    frame = win.frames[t]  # our own copy: filled in place (its masked pixels are never a source)
    mask = win.masks[t]
    h, w = mask.shape
    need = mask > 0
    stats = FillStats(index=first_index + t)
    kept = np.ones((h, w), np.float32)
    synth = np.zeros((h, w), bool)
    if opt.only is not None and first_index + t not in opt.only:
        return Filled(frame, stats, synth, kept, mask)
    box = mask_bbox(need)
    if box is None:
        return Filled(frame, stats, synth, kept, mask)
    pad = opt.seam + 2
    y0, y1 = max(0, box[1] - pad), min(h, box[1] + box[3] + pad)
    x0, x1 = max(0, box[0] - pad), min(w, box[0] + box[2] + pad)
    need_c = need[y0:y1, x0:x1]
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * opt.seam + 1, 2 * opt.seam + 1))
    ring_c = cv2.dilate(need_c.astype(np.uint8), k).astype(bool) & ~need_c
    ys, xs = np.nonzero(need_c | ring_c)
    ys += y0
    xs += x0
    inner = need[ys, xs]
    acc, wsum, energy, dist = _temporal(
        win, t, n_in, xs.astype(np.float32), ys.astype(np.float32), grid, opt
    )
    plate = frame[ys, xs]  # (N, 3)
    # the seam grid's cells are SEAM_CELL pixels of the flow grid (4 px of a 1080p frame)
    cell = max(SEAM_CELL, round(SEAM_CELL / min(grid.sx, grid.sy)))
    temporal, cand, grain = _sides(ys, xs, plate, inner, acc, wsum, energy, opt.blend, cell)
    ok = wsum.sum(axis=0) > 0
    stats.masked = int(inner.sum())
    stats.temporal = int(temporal.sum())
    stats.mean_distance = float(dist[temporal].mean()) if temporal.any() else 0.0
    fill = plate.copy()
    fill[temporal] = cand[temporal]

    left = inner & ~ok
    if left.any() and sources:
        hole = np.zeros((h, w), bool)
        hole[ys[left], xs[left]] = True
        staged = frame.copy()  # the matte's filled part shown as filled: sources see plate
        staged[ys[temporal], xs[temporal]] = fill[temporal]
        for src in sources:
            for image, valid in src.candidates(first_index + t, staged, hole):
                got = image[ys, xs]
                fine = valid[ys, xs]
                use = left & fine
                if not use.any():
                    continue
                fill[use] = got[use]
                if opt.blend:
                    fill[use] += _seam_offset(ys, xs, plate - got, ~inner & fine, use)
                stats.other += int(use.sum())
                grain[use] = 1.0
                left &= ~use
                if not left.any():
                    break
            if not left.any():
                break

    if left.any():
        if protect is not None:
            region = protect(first_index + t)
            if region is not None and region[ys[left], xs[left]].any():
                n = int(region[ys[left], xs[left]].sum())
                if opt.dry_run:
                    stats.protected_left = n
                    return Filled(frame, stats, synth, kept, mask)
                raise PerformerRegionError(
                    f"frame {first_index + t}: {n} pixels under the matte on a performer were "
                    "never photographed, and rushes does not synthesize pixels on a performer; "
                    "shrink the matte there"
                )
        if opt.dry_run:
            stats.spatial = int(left.sum())
            return Filled(frame, stats, synth, kept, mask)
        if opt.synthesizer is not None:
            fill[left] = _network(opt.synthesizer, win, t, frame, ys, xs, fill, left)
        elif opt.spatial == "smooth":
            fill[left] = _smooth(frame, ys, xs, fill, left)
        else:
            fill[left] = _spatial(frame, ys, xs, fill, left, opt.spatial_radius)
        grain[left] = 0.0
        stats.spatial = int(left.sum())
        synth[ys[left], xs[left]] = True

    m = mask[ys[inner], xs[inner]][:, None]
    under = np.nan_to_num(plate[inner])  # a dead (NaN) pixel under an opaque matte is replaced
    blended = under * (1.0 - m) + fill[inner] * m
    frame[ys[inner], xs[inner]] = np.where(m >= 1.0, fill[inner], blended)
    kept[ys[inner], xs[inner]] = grain[inner]
    return Filled(frame, stats, synth, kept, mask)


def _temporal(
    win: _Window,
    t: int,
    n_in: int,
    xs: np.ndarray,
    ys: np.ndarray,
    grid: FlowGrid,
    opt: FillOptions,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Follow the flow from each point back and forward until photographed background.

    Returns:
        ``(acc (2, N, 3), wsum (2, N), energy (2, N), distance (N,))``: per side (back, then
        forward) weighted colour sums, weight sums and sums of squared weights times each
        sample's kept-grain share; and the distance in frames of the nearest sample (inf if
        none).
    """
    n = xs.size
    acc = np.zeros((2, n, 3), np.float32)
    wsum = np.zeros((2, n), np.float32)
    energy = np.zeros((2, n), np.float32)
    dist = np.full(n, np.inf, np.float32)
    h, w = win.masks[t].shape
    for side, d in enumerate((-1, 1)):
        px, py = xs.copy(), ys.copy()
        idx = np.arange(n)
        got = np.zeros(n, np.int32)
        for k in range(1, opt.radius + 1):
            s, u = t + d * (k - 1), t + d * k
            if u < 0 or u >= n_in:
                break
            flow = win.bwd(s) if d < 0 else win.fwd(s)
            f = sample(flow, (px + 0.5) * grid.sx - 0.5, (py + 0.5) * grid.sy - 0.5)
            px = px + f[:, 0] / grid.sx
            py = py + f[:, 1] / grid.sy
            inside = (px >= 0) & (px <= w - 1) & (py >= 0) & (py <= h - 1)
            ri = np.clip(np.rint(py).astype(np.int32), 0, h - 1)
            ci = np.clip(np.rint(px).astype(np.int32), 0, w - 1)
            hit = inside & ~win.bad[u][ri, ci]
            if hit.any():
                j = idx[hit]
                wt = np.float32(1.0 / k)
                hx, hy = px[hit], py[hit]
                acc[side, j] += wt * sample(win.frames[u], hx, hy)
                wsum[side, j] += wt
                energy[side, j] += wt * wt * bilinear_weight_energy(hx, hy)
                dist[j] = np.minimum(dist[j], k)
                got[hit] += 1
            alive = inside & (got < opt.hits)
            if not alive.any():
                break
            px, py, idx, got = px[alive], py[alive], idx[alive], got[alive]
    return acc, wsum, energy, dist


def _sides(
    ys: np.ndarray,
    xs: np.ndarray,
    plate: np.ndarray,
    inner: np.ndarray,
    acc: np.ndarray,
    wsum: np.ndarray,
    energy: np.ndarray,
    blend: bool,
    cell: int = SEAM_CELL,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Combine the samples found back and forward in time into one candidate per point.

    Each side's candidate is corrected by its own seam offset (measured on the plate ring,
    where the truth is known), and the two are weighted by how well each side predicts the
    ring near the point (inverse of its residual variance there, push-pull interpolated): a
    side that saw the background occluded or changed gives way to the other.

    Shape: ``ys``, ``xs``, ``inner`` ``(N,)``; ``plate`` ``(N, 3)``; ``acc`` ``(2, N, 3)``;
    ``wsum``, ``energy`` ``(2, N)``.

    Returns:
        ``(temporal (N,) bool, candidate (N, 3), kept grain share (N,))``; the candidate is
        only meaningful where ``temporal`` (inner points with a sample).
    """
    n = ys.size
    ring = ~inner
    cands, weights, grains = [], [], []
    plate = np.nan_to_num(plate)  # a dead pixel under the matte weighs nothing (share 0)
    seen = [plate[ring]]  # photographed values: the offsets may not pass them
    for side in range(2):
        ok = wsum[side] > 0
        c = np.where(ok[:, None], acc[side] / np.maximum(wsum[side], 1e-12)[:, None], plate)
        seen.append(c[inner & ok])
        g = np.where(ok, np.minimum(1.0, energy[side] / np.maximum(wsum[side], 1e-12) ** 2), 1.0)
        wgt = wsum[side].astype(np.float32)
        if blend and (ring & ok).any():
            r = plate - c
            known = ring & ok
            everywhere = np.ones(n, bool)
            both = np.concatenate([r, (r * r).sum(axis=1, keepdims=True)], axis=1)
            field = _seam_offset(ys, xs, both, known, everywhere, cell)
            mean, sq = field[:, :3], field[:, 3]
            c = c + mean
            var = np.maximum(sq - (mean * mean).sum(axis=1), 0.0) + 1e-5
            wgt = wgt / var
        cands.append(c)
        weights.append(wgt)
        grains.append(g)
    total = weights[0] + weights[1]
    temporal = inner & (total > 0)
    share = np.where(total > 0, weights[0] / np.maximum(total, 1e-30), 0.0)[:, None]
    cand = share * cands[0] + (1.0 - share) * cands[1]
    values = np.concatenate(seen)
    if values.size:
        cand = np.clip(cand, values.min(axis=0), values.max(axis=0))
    s0 = share[:, 0]
    grain = np.minimum(1.0, s0**2 * grains[0] + (1.0 - s0) ** 2 * grains[1])
    return temporal, cand.astype(np.float32), grain.astype(np.float32)


def _seam_offset(
    ys: np.ndarray,
    xs: np.ndarray,
    diff: np.ndarray,
    ring: np.ndarray,
    inside: np.ndarray,
    cell: int = SEAM_CELL,
) -> np.ndarray:
    """The plate-minus-fill offset measured on ``ring`` points, interpolated at ``inside``.

    The offset is smooth by construction: ring samples are averaged into a grid of
    ``cell``-pixel cells, interpolated there by push-pull and read back bilinearly.

    Shape: ``ys``, ``xs``, ``ring``, ``inside`` ``(N,)``; ``diff`` ``(N, C)``; returns ``(M, C)``
    for the ``M`` inside points.
    """
    nc = diff.shape[1]
    if not ring.any():
        return np.zeros((int(inside.sum()), nc), np.float32)
    oy, ox = int(ys.min()), int(xs.min())
    gh, gw = (int(ys.max()) - oy) // cell + 1, (int(xs.max()) - ox) // cell + 1
    flat = ((ys[ring] - oy) // cell) * gw + (xs[ring] - ox) // cell
    count = np.bincount(flat, minlength=gh * gw).astype(np.float32)
    sums = np.stack(
        [np.bincount(flat, diff[ring, c], minlength=gh * gw) for c in range(nc)], axis=1
    ).astype(np.float32)
    mean = (sums / np.maximum(count, 1.0)[:, None]).reshape(gh, gw, nc)
    grid = push_pull(mean, (count > 0).astype(np.float32).reshape(gh, gw))
    gy = (ys[inside] - oy + 0.5) / cell - 0.5
    gx = (xs[inside] - ox + 0.5) / cell - 0.5
    return gather(grid, gx, gy)


def _network(
    synth: Synthesizer,
    win: _Window,
    t: int,
    frame: np.ndarray,
    ys: np.ndarray,
    xs: np.ndarray,
    fill: np.ndarray,
    left: np.ndarray,
) -> np.ndarray:
    """The project's plate network on the ``left`` points, from this frame (what is filled so
    far shown as filled) and its neighbours (their own mattes marked unusable).

    Returns:
        ``(M, 3)`` values for the ``M`` left points.
    """
    h, w = frame.shape[:2]
    staged = frame.copy()
    staged[ys, xs] = fill
    hole = np.zeros((h, w), np.float32)
    hole[ys[left], xs[left]] = 1.0
    nb = {d: (win.frames.get(t + d), win.masks.get(t + d)) for d in (-1, 1)}
    out = synth(
        np.nan_to_num(staged),
        hole,
        prev=nb[-1][0],
        next=nb[1][0],
        prev_mask=None if nb[-1][1] is None else (nb[-1][1] > 0).astype(np.float32),
        next_mask=None if nb[1][1] is None else (nb[1][1] > 0).astype(np.float32),
    )
    return out[ys[left], xs[left]].astype(np.float32)


def _smooth(
    frame: np.ndarray, ys: np.ndarray, xs: np.ndarray, fill: np.ndarray, left: np.ndarray
) -> np.ndarray:
    """Push-pull interpolation of the ``left`` points from everything around them.

    Returns:
        ``(M, 3)`` values for the ``M`` left points.
    """
    h, w = frame.shape[:2]
    y0, y1 = max(0, int(ys.min()) - 2), min(h, int(ys.max()) + 3)
    x0, x1 = max(0, int(xs.min()) - 2), min(w, int(xs.max()) + 3)
    sub = np.nan_to_num(frame[y0:y1, x0:x1]).copy()
    sub[ys - y0, xs - x0] = fill
    known = np.ones(sub.shape[:2], np.float32)
    known[ys[left] - y0, xs[left] - x0] = 0.0
    return push_pull(sub, known)[ys[left] - y0, xs[left] - x0]


def _spatial(
    frame: np.ndarray,
    ys: np.ndarray,
    xs: np.ndarray,
    fill: np.ndarray,
    left: np.ndarray,
    radius: int,
) -> np.ndarray:
    """OpenCV Telea inpainting of the ``left`` points, per channel through 16 bits (no 8-bit
    squeeze; OpenCV's float path overshoots), scaled to the value range around them.

    Returns:
        ``(M, 3)`` values for the ``M`` left points.
    """
    h, w = frame.shape[:2]
    m = 2 * radius + 2
    y0, y1 = max(0, int(ys[left].min()) - m), min(h, int(ys[left].max()) + 1 + m)
    x0, x1 = max(0, int(xs[left].min()) - m), min(w, int(xs[left].max()) + 1 + m)
    sub = frame[y0:y1, x0:x1].copy()
    sel = (ys >= y0) & (ys < y1) & (xs >= x0) & (xs < x1)
    sub[ys[sel] - y0, xs[sel] - x0] = fill[sel]
    hole = np.zeros(sub.shape[:2], np.uint8)
    hole[ys[left] - y0, xs[left] - x0] = 1
    known = sub[hole == 0]
    if known.size == 0:
        raise FillError("nothing around the matte to fill from")
    lo = known.min(axis=0)
    span = np.maximum(known.max(axis=0) - lo, 1e-6)
    out = np.empty((int(left.sum()), 3), np.float32)
    for c in range(3):
        u16 = np.clip((sub[:, :, c] - lo[c]) / span[c], 0.0, 1.0) * 65535.0 + 0.5
        got = cv2.inpaint(u16.astype(np.uint16), hole, radius, cv2.INPAINT_TELEA)
        out[:, c] = got[ys[left] - y0, xs[left] - x0].astype(np.float32) / 65535.0 * span[c] + lo[c]
    return out
