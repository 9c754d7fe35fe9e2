"""Shot boundaries by change, blend and blank analysis (method ``"blend"``, the default).

Each pushed frame is reduced once, by area averaging, to a 64 px image (long side) for an HSV
histogram (16 hues x 3 saturations x 4 values, plus 4 values for the greys) and a detail
measure (mean absolute luma gradient), a 32 px RGB thumbnail for cuts and a 16 px one for
dissolves (kept as decoded and in approximate linear light, ``x ** 2.2``). These and the mean
luma go into ring buffers of fixed length, so memory is constant in the length of the clip.
Three detectors read the buffers:

- **Cuts.** The change between two frames is the mean of their histogram distance (half the L1
  distance, in [0, 1]) and the larger of their thumbnail difference (mean absolute difference
  / 0.2) and their layout difference (1 - structure correlation of the 16 px thumbnails, as
  far as both have contrast), at most 1: so two shots of one palette still differ. A frame is
  a cut when its change from the frame before is at least ``cut_threshold`` and ``cut_ratio``
  times the mean change of the 4 frames either side (so fast camera motion, whose every frame
  changes a lot, does not cut), and when every frame of the next ``flash_frames`` still
  differs from every frame of the last ``flash_frames`` (so a flash does not cut).
- **Dissolves.** In a cross-fade each frame is a linear mix of the frames either side, so the
  thumbnails move on a straight line from one shot to the other. For each centre frame ``c``
  and half-widths ``k`` up to ``dissolve_half``, the frames between ``c - k`` and ``c + k`` are
  projected on the line between the end thumbnails. A window is a dissolve when the path is
  nearly straight, the residuals are small, the mixing weights rise steadily through about 0.5
  at the centre, and the end frames are different shots: low structure correlation (one view
  under a change of light correlates near 1) or distant hue/saturation histograms (one view in
  motion or re-exposed keeps its colours). The windows are fitted as decoded and in linear
  light, since editing systems mix in either. Motion, zooms and objects crossing the frame wind
  or leave large residuals. A run of accepted windows is one dissolve; its weights are fitted
  again over the whole run to place the centre (where the weight reaches 0.5) and the span.
  When the accepted windows fall into separate runs close together (a veil of spray or light
  coming over one shot fits a mix too), the run that places the dissolve is the one over which
  the picture loses most of its contrast in the middle, as a mix of two different pictures
  does (the variance curve of a dissolve sags), if one clearly does.
- **Fades and dips.** A run of blank frames between pictures is one boundary of kind
  ``"fade"`` at the centre of its blankest frames, its span widened by the ramps either side.
  Blank is black (mean luma at most ``black_level`` and 95th percentile at most twice it) or
  flat: near-uniform in any colour, white included (RMS contrast of the 16 px thumbnail at
  most ``flat_level`` and detail at most half of it), as in a dip to white or a flash frame
  between two shots. Runs through black are measured by luma and may be of any length; runs
  of flat frames by contrast, and only up to ``flat_frames``: a longer one is a view (fog, a
  wall), a shot of its own. A fade in at the start of the clip or out at its end is not a
  boundary (and mutes cuts there); nor is a short blank with one view either side (a
  photographic flash or a dropped frame within a shot).

**Interruptions.** When the view from before a boundary comes back after it (the same colours,
or nearly and the same layout; the camera may have moved on), the boundaries in between are
dropped if the interruption was short (``revert_frames``: a flash, a long flash, a quick pass
in front of the lens) or, up to ``occlusion_frames``, had no detail (a body or a hand out of
focus in front of the lens; cuts into such a view are held back until it is over). A black run
or flat run with the same view either side is a lens cap or a body, not a fade.

A fade wins over cuts and dissolves in its span, a dissolve over cuts in its span (a mix in
linear light changes fastest at its ends), and of two boundaries closer than ``min_shot``
frames the stronger is kept.

Latency: a boundary is returned about ``2 * dissolve_half + 8`` frames after its span ends
at most, i.e. about 32 frames after a cut and 40 after the centre of a 12-frame dissolve at
24 fps, 48 for a 1 s dissolve; a cut into a view without detail up to ``occlusion_frames +
flash_frames + 2`` after it; a fade once its blank run and fade in have ended (a fade in ends
at most ``2 * dissolve_half`` frames after the blank run; a run of flat frames is given up as a
dip after ``flat_frames``, a black one never).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from rushes.analysis.boundaries import Boundary, BoundaryDetector, check_finite
from rushes.analysis.color_stats import REC709_LUMA

_LUMA = REC709_LUMA[0]  # (3,) Rec.709 luma weights
_HIST_BINS = (16, 4, 4)  # hue, saturation, value
_HIST_LEN = 16 * 3 * 4 + 4
_GAMMA = np.float32(2.2)  # display encoding to approximate linear light
_LAYOUT_CONTRAST = 0.05  # RMS contrast from which the layout of a frame counts in full
_OCCLUDER_DETAIL = 0.03  # most detail of an occluder near the lens (luma gradient at 64 px)
_RUN_GAP = 3  # accepted dissolve windows whose centres are further apart are separate runs
_MIX_SAG = 0.7  # a mix of two pictures: the least contrast inside, relative to its ends
_MUTE = "mute"  # an internal candidate that only suppresses others (a blank at a clip's ends)


def hsv_histogram(small: np.ndarray) -> np.ndarray:
    """Normalised HSV histogram: 16 hues x 3 saturations x 4 values, plus 4 values for greys.

    The lowest saturation quarter is counted by value only (hue is noise there).

    Args:
        small: Display-encoded RGB in [0, 1].

    Shape:
        small: (h, w, 3) float32 -> (196,) float32 summing to 1
    """
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    h = cv2.calcHist([hsv], [0, 1, 2], None, list(_HIST_BINS), [0, 360, 0, 1.0001, 0, 1.0001])
    grey = h[:, 0, :].sum(axis=0)
    out = np.concatenate([h[:, 1:, :].ravel(), grey])
    total = float(out.sum())
    return out / total if total > 0 else out


def hist_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Half the L1 distance of two normalised histograms, in [0, 1].

    Shape:
        a, b: (B,) -> ()
    """
    return float(0.5 * np.abs(a - b).sum())


def colour_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Distance of two :func:`hsv_histogram` s that a change of exposure hardly moves, in [0, 1].

    Hue and saturation do not change with a gain, so the distance is that of the hue x
    saturation histograms (greys as one bin); only as far as both frames are grey (where hue
    says nothing) does the full histogram, values included, count.

    Shape:
        a, b: (196,) -> ()
    """
    ca = a[:192].reshape(16, 3, 4).sum(axis=2).ravel()
    cb = b[:192].reshape(16, 3, 4).sum(axis=2).ravel()
    ga, gb = float(a[192:].sum()), float(b[192:].sum())
    hue_sat = 0.5 * (float(np.abs(ca - cb).sum()) + abs(ga - gb))
    return max(hue_sat, min(ga, gb) * hist_distance(a, b))


def blend_fit(window: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Fit each inner row of ``window`` as a linear mix of its first and last rows.

    Row ``i`` is modelled as ``(1 - alpha_i) * first + alpha_i * last``.

    Args:
        window: Thumbnails in time order, flattened.

    Shape:
        window: (K, N), K >= 3 -> alphas (K - 2,)

    Returns:
        ``(alphas, residual, change)``: the mixing weights of the inner rows, the RMS residual
        relative to the distance between the end rows, and that distance (RMS per value).
    """
    first, last = window[0], window[-1]
    d = last - first
    dd = float(d @ d)
    change = math.sqrt(dd / d.size)
    if dd <= 1e-12:
        return np.zeros(len(window) - 2, dtype=np.float32), math.inf, change
    x = window[1:-1] - first
    alphas = (x @ d) / dd
    res = x - alphas[:, None] * d
    residual = math.sqrt(float(np.einsum("ij,ij->", res, res)) / (len(x) * dd))
    return alphas, residual, change


def structure_vector(a: np.ndarray) -> np.ndarray:
    """A thumbnail with each channel's mean removed, scaled to unit length (zero if flat).

    The dot product of two such vectors is their :func:`structure_correlation`.

    Shape:
        a: (N * 3,) flattened RGB thumbnail (channel last) -> (N * 3,) float32
    """
    a2 = a.reshape(-1, 3)
    am = (a2 - a2.mean(axis=0)).ravel()
    norm2 = float(am @ am)
    if norm2 <= 1e-8 * a2.shape[0]:  # flat (RMS contrast below 1e-4): no structure
        return np.zeros(a.size, np.float32)
    return (am / math.sqrt(norm2)).astype(np.float32)


def structure_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two thumbnails after removing each channel's mean, in [-1, 1].

    Near 1 for one view under a change of exposure or light (or a small move), low for two
    different shots. A flat thumbnail correlates with nothing (0).

    Shape:
        a, b: (N * 3,) flattened RGB thumbnails (channel last)
    """
    return float(structure_vector(a) @ structure_vector(b))


def ramp_centre(alphas: np.ndarray) -> tuple[np.ndarray, float]:
    """Clip mixing weights to [0, 1] and find where they reach 0.5.

    The crossing is measured as the area above the weight curve, which is exact for a step or
    a symmetric ramp and averages noise out.

    Shape:
        alphas: (K,) weights of consecutive frames -> (K,) clipped, and a position in [0, K]
        (0 at the first frame; frame ``i`` of the window has position ``i``).

    Returns:
        ``(clipped, position)``: the weights and the position of the first frame of the new
        shot (weights of frames ``>= position`` are mostly ``>= 0.5``).
    """
    a = np.clip(alphas, 0.0, 1.0)
    return a, float((1.0 - a).sum())


@dataclass
class _BlankRun:
    start: int  # first blank frame
    end: int  # last blank frame so far
    dark: bool  # holds black frames (measured by luma, any length); else flat frames only


@dataclass
class _Candidate:
    frame: int
    kind: str
    start: int
    end: int
    score: float
    strength: float = 0.0  # cuts: the change at the cut; dissolves: the window half-width
    at: int = 0  # dissolves: the centre of the fitted window
    hold: int = 0  # cuts: may be dropped until this frame (something may pass the lens)


class BlendDetector(BoundaryDetector):
    """Cuts, dissolves, fades and dips (through black, white or any flat colour) in one
    streaming pass (see module docstring).

    Args:
        fps: Frame rate of the clip (> 0); the flash, revert and dissolve windows scale with it.
        cut_threshold: Minimum change (in [0, 1]) between two frames for a cut.
        cut_ratio: Minimum ratio of a cut's change to the mean change of the 4 frames either
            side.
        flash_frames: Longest flash (frames) that is not a cut; default ``0.2 * fps`` within
            2..8.
        revert_frames: A view that comes back within this many frames after a cut (or a
            dissolve or a fade) was only interrupted: the boundaries in between are dropped.
            Default ``0.5 * fps`` within ``flash_frames + 1``..16.
        occlusion_frames: The same for an interruption by something without detail (a body
            or a hand out of focus in front of the lens) for up to this many frames; cuts into
            such a view are held back that long. Default ``2 * fps`` within
            ``revert_frames``..120.
        dissolve_half: Largest half-width (frames) of the windows fitted for dissolves; longer
            dissolves are found from their middle part. Default ``0.5 * fps`` within 4..16.
        dissolve_residual: Largest RMS residual of the blend fit, relative to the distance
            between the end frames.
        dissolve_correlation: The end frames of a dissolve must differ in structure (their
            correlation at most this; one view under a change of light correlates near 1) or
            in colours (see ``dissolve_colours``), and neither may say they are one shot:
            correlation at most ``dissolve_correlation + 0.3``.
        dissolve_colours: The end frames of a dissolve must differ in colours (the distance of
            their hue x saturation histograms at least this, in [0, 1]; one view in motion or
            under a change of exposure keeps its colours) or in structure, and their colour
            distance must be at least two thirds of this.
        min_change: Smallest RMS difference (in [0, 1] code values) between the end frames of
            a dissolve.
        dissolve_score: Smallest score of a dissolve: the product of its margins on the
            residual, the change and the shot difference (each in [0, 1]); a run of windows
            that only just pass every test is motion, not a mix.
        black_level: Largest mean luma of a black frame (its 95th percentile may be twice it).
        flat_level: Largest RMS contrast (mean over R, G, B of the standard deviation of the
            16 px thumbnail, in [0, 1] code values) of a flat frame of any colour, whose detail
            (mean absolute luma gradient at 64 px) must also be at most half of it.
        flat_frames: Longest run of flat frames that is a dip (a fade through a colour);
            a longer one is a view, a shot of its own. Default ``fps`` within 4..48.
        min_shot: Of two boundaries closer than this (frames), the weaker is dropped.

    Example:
        >>> det = BlendDetector(fps=25.0)
        >>> found = []
        >>> for i, frame in enumerate(frames):  # doctest: +SKIP
        ...     found += det.push(i, frame)
        >>> found += det.finish()  # doctest: +SKIP
    """

    def __init__(
        self,
        fps: float = 24.0,
        *,
        cut_threshold: float = 0.3,
        cut_ratio: float = 3.0,
        flash_frames: int | None = None,
        revert_frames: int | None = None,
        occlusion_frames: int | None = None,
        dissolve_half: int | None = None,
        dissolve_residual: float = 0.35,
        dissolve_correlation: float = 0.4,
        dissolve_colours: float = 0.3,
        min_change: float = 0.05,
        dissolve_score: float = 0.2,
        black_level: float = 0.05,
        flat_level: float = 0.05,
        flat_frames: int | None = None,
        min_shot: int = 4,
    ) -> None:
        super().__init__(fps)
        for name, value in (
            ("cut_threshold", cut_threshold),
            ("cut_ratio", cut_ratio),
            ("dissolve_residual", dissolve_residual),
            ("dissolve_correlation", dissolve_correlation),
            ("dissolve_colours", dissolve_colours),
            ("min_change", min_change),
            ("dissolve_score", dissolve_score),
            ("black_level", black_level),
            ("flat_level", flat_level),
        ):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value}")
        self.cut_threshold = float(cut_threshold)
        self.cut_ratio = float(cut_ratio)
        self.flash_frames = int(
            min(8, max(2, round(0.2 * self.fps))) if flash_frames is None else flash_frames
        )
        self.revert_frames = int(
            min(16, max(self.flash_frames + 1, round(0.5 * self.fps)))
            if revert_frames is None
            else revert_frames
        )
        self.occlusion_frames = int(
            min(120, max(self.revert_frames, round(2.0 * self.fps)))
            if occlusion_frames is None
            else occlusion_frames
        )
        self.dissolve_half = int(
            min(16, max(4, round(0.5 * self.fps))) if dissolve_half is None else dissolve_half
        )
        self.flat_frames = int(
            min(48, max(4, round(self.fps))) if flat_frames is None else flat_frames
        )
        if (
            self.flat_frames < 1
            or self.flash_frames < 1
            or self.revert_frames < 1
            or self.occlusion_frames < self.revert_frames
            or self.dissolve_half < 3
        ):
            raise ValueError(
                "flat_frames, flash_frames and revert_frames must be >= 1, occlusion_frames >= "
                f"revert_frames and dissolve_half >= 3; got {self.flat_frames}, "
                f"{self.flash_frames}, {self.revert_frames}, {self.occlusion_frames}, "
                f"{self.dissolve_half}"
            )
        self.dissolve_residual = float(dissolve_residual)
        self.dissolve_correlation = float(dissolve_correlation)
        self.dissolve_colours = float(dissolve_colours)
        self.min_change = float(min_change)
        self.dissolve_score = float(dissolve_score)
        self.black_level = float(black_level)
        self.flat_level = float(flat_level)
        self.min_shot = int(min_shot)
        half = self.dissolve_half
        self._ks = sorted({k for k in (3, 4, 6, 8, 11, 16) if k < half} | {half})
        self._window = 4  # neighbours either side for the cut ratio
        self._cut_lag = max(self._window, self.flash_frames)
        self._cap = max(3 * half, self.occlusion_frames) + 2 * self.flash_frames + 8
        self._first: int | None = None
        self._t = -1
        self._sizes: tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None = None
        # ring buffers (frame i at row i % cap), allocated on the first frame
        self._thumb = np.zeros((0, 0), np.float32)  # 32 px thumbnails (cuts)
        # 16 px thumbnails (dissolves), as decoded [0] and in approximate linear light [1]
        self._mini = np.zeros((2, 0, 0), np.float32)
        self._struct = np.zeros((0, 0), np.float32)  # structure vectors of the 16 px thumbnails
        self._contrast = np.zeros(0, np.float32)  # RMS contrast of the 16 px thumbnails
        self._hist = np.zeros((0, 0), np.float32)
        self._ymean = np.zeros(0, np.float32)
        self._detail = np.zeros(0, np.float32)  # mean absolute luma gradient (64 px)
        self._dark = np.zeros(0, bool)
        self._blank = np.zeros(0, bool)  # black or near-uniform (flat)
        self._change = np.zeros(0, np.float32)  # combined change from frame i - 1 to i
        self._path = np.zeros((2, 0), np.float64)  # cumulated mini-thumbnail steps to frame i
        # candidates and state
        self._pending: list[_Candidate] = []
        self._cluster: list[_Candidate] = []
        self._cluster_last = 0  # last centre with an accepted dissolve window
        self._run: _BlankRun | None = None  # the open run of blank frames
        self._flat_view = False  # inside a flat view too long to be a dip
        # a fade in under way: (span start, boundary frame or -1, the blank run before it)
        self._fade_wait: tuple[int, int, _BlankRun] | None = None
        self._last_out: Boundary | None = None
        self._quiet_until = -1  # the end of the last interruption found (no cuts up to it)

    # ---------------------------------------------------------------------------------------
    # features

    def _setup(self, shape: tuple[int, ...]) -> None:
        h, w = shape[:2]

        def fit(long: int) -> tuple[int, int]:
            s = long / max(h, w)
            return max(2, round(w * s)), max(2, round(h * s))

        self._sizes = (fit(64), fit(32), fit(16))
        cap = self._cap
        t, m = self._sizes[1], self._sizes[2]
        self._thumb = np.zeros((cap, t[0] * t[1] * 3), np.float32)
        self._mini = np.zeros((2, cap, m[0] * m[1] * 3), np.float32)
        self._struct = np.zeros((cap, m[0] * m[1] * 3), np.float32)
        self._contrast = np.zeros(cap, np.float32)
        self._hist = np.zeros((cap, _HIST_LEN), np.float32)
        self._ymean = np.zeros(cap, np.float32)
        self._detail = np.zeros(cap, np.float32)
        self._dark = np.zeros(cap, bool)
        self._blank = np.zeros(cap, bool)
        self._change = np.zeros(cap, np.float32)
        self._path = np.zeros((2, cap), np.float64)

    def _pair_change(self, a: int, b: int) -> float:
        """Combined change in [0, 1] between buffered frames ``a`` and ``b`` (see module)."""
        return float(self._pair_changes(a, np.array([b]))[0])

    def push(self, index: int, frame: np.ndarray) -> list[Boundary]:
        """Add the next frame; return the boundaries that became final (see the base class).

        Shape:
            frame: (H, W, 3) float32 display-encoded RGB in [0, 1]
        """
        frame = self.check_frame(index, frame)
        if self._sizes is None:
            self._setup(frame.shape)
            self._first = index
        assert self._sizes is not None and self._first is not None
        small = cv2.resize(frame, self._sizes[0], interpolation=cv2.INTER_AREA)
        check_finite(index, small)
        np.clip(small, 0.0, 1.0, out=small)
        thumb = cv2.resize(small, self._sizes[1], interpolation=cv2.INTER_AREA)
        mini = cv2.resize(thumb, self._sizes[2], interpolation=cv2.INTER_AREA)
        t = int(index)
        cap = self._cap
        r = t % cap
        self._t = t
        self._thumb[r] = thumb.ravel()
        self._mini[0, r] = mini.ravel()
        np.power(self._mini[0, r], _GAMMA, out=self._mini[1, r])
        self._struct[r] = structure_vector(self._mini[0, r])
        self._contrast[r] = float(self._mini[0, r].reshape(-1, 3).std(axis=0).mean())
        self._hist[r] = hsv_histogram(small)
        ys = small @ _LUMA
        self._detail[r] = float(
            np.abs(np.diff(ys, axis=0)).mean() + np.abs(np.diff(ys, axis=1)).mean()
        )
        y = thumb @ _LUMA
        ym = float(y.mean())
        self._ymean[r] = ym
        self._dark[r] = ym <= self.black_level and float(np.percentile(y, 95)) <= (
            2 * self.black_level
        )
        self._blank[r] = self._dark[r] or (
            self._contrast[r] <= self.flat_level and self._detail[r] <= 0.5 * self.flat_level
        )
        if t > self._first:
            rp = (t - 1) % cap
            self._change[r] = self._pair_change(t - 1, t)
            step = self._mini[:, r] - self._mini[:, rp]
            self._path[:, r] = self._path[:, rp] + np.sqrt(np.einsum("ij,ij->i", step, step))
        else:
            self._change[r] = 0.0
            self._path[:, r] = 0.0

        self._track_blank(t)
        self._find_cut(t - self._cut_lag)
        self._find_dissolve(t - self.dissolve_half)
        self._watch_held_cuts(t)
        return self._emit(final=False)

    def _watch_held_cuts(self, t: int) -> None:
        """Drop a held cut (into a view without detail) once the view before it comes back.

        This catches the end of an interruption that was too gradual to be a cut itself.
        """
        cap = self._cap
        for x in self._pending:
            if x.kind != "cut" or x.hold <= x.frame + self.revert_frames or x.hold < t:
                continue
            before = float(self._detail[(x.frame - 1) % cap])
            if float(self._detail[t % cap]) >= 0.5 * before and self._comes_back(
                t, x.strength, latest=x.frame - 1
            ):
                return  # the pending list changed

    def finish(self) -> list[Boundary]:
        """Flush at the end of the clip: the boundaries not returned yet, in frame order."""
        if self._first is None:
            return []
        last = self._t
        # the last frames, with the future that exists
        for p in range(max(self._first + 1, last - self._cut_lag + 1), last + 1):
            self._find_cut(p)
        for c in range(max(self._first + 1, last - self.dissolve_half + 1), last):
            self._find_dissolve(c)
        self._close_cluster(force=True)
        if self._fade_wait is not None:  # blank ended, fade in under way: a boundary
            self._add_fade(*self._fade_wait[:2], last, self._fade_wait[2])
            self._fade_wait = None
        if self._run is not None:  # blank up to the end: a fade out, not a boundary
            self._add_fade(self._fade_out_start(self._run), -1, last, self._run)
            self._run = None
        return self._emit(final=True)

    # ---------------------------------------------------------------------------------------
    # fades

    def _level(self, run: _BlankRun, i: int) -> float:
        """How far buffered frame ``i`` is from the blank of ``run``: its mean luma for a run
        through black, its RMS contrast for one through a flat colour."""
        return float((self._ymean if run.dark else self._contrast)[i % self._cap])

    def _track_blank(self, t: int) -> None:
        """Follow runs of blank frames (black or flat) and the fades either side of them."""
        assert self._first is not None
        cap = self._cap
        blank, dark = bool(self._blank[t % cap]), bool(self._dark[t % cap])
        if self._fade_wait is not None:
            # the fade in ends when the picture stops coming back (or after a long ramp)
            run = self._fade_wait[2]
            prev, cur = self._level(run, t - 1), self._level(run, t)
            if blank or cur <= prev * 1.01 or t - run.end > 2 * self.dissolve_half:
                self._add_fade(*self._fade_wait[:2], t - 1, run)
                self._fade_wait = None
        if self._run is None:
            if blank and (dark or not self._flat_view):
                self._run = _BlankRun(t, t, dark)
            self._flat_view = self._flat_view and blank and not dark
            return
        run = self._run
        if blank:
            run.end, run.dark = t, run.dark or dark
            if not run.dark and run.end - run.start >= self.flat_frames:
                self._run, self._flat_view = None, True  # a flat view (fog, a wall), not a dip
            return
        self._run = None
        if run.start == self._first:  # a fade in from the start of the clip: no boundary,
            self._fade_wait = (run.start, -1, run)  # but no cut either
            return
        # the boundary is the centre of the blankest frames of the run
        if run.start > t - cap:
            levels = [self._level(run, i) for i in range(run.start, run.end + 1)]
            floor = min(levels) + 0.2 * (self.black_level if run.dark else self.flat_level)
            blankest = [run.start + i for i, y in enumerate(levels) if y <= floor]
            frame = (blankest[0] + blankest[-1] + 1) // 2
        else:  # longer than the buffer: the centre of the whole run
            frame = (run.start + run.end + 1) // 2
        self._fade_wait = (self._fade_out_start(run), frame, run)

    def _fade_out_start(self, run: _BlankRun) -> int:
        """First frame of the ramp into the blank ``run`` (the picture fading away)."""
        assert self._first is not None
        start = run.start
        lo = max(self._first, self._t - self._cap + 1, run.start - self.dissolve_half)
        while start - 1 >= lo and self._level(run, start - 1) > self._level(run, start):
            start -= 1
        return start

    def _add_fade(self, start: int, frame: int, end: int, run: _BlankRun) -> None:
        """Add a fade (``frame >= 0``) spanning ``start..end`` around the blank ``run``, or
        only mute cuts there (``frame < 0``, or the same view either side of it)."""
        oldest = max(self._first or 0, self._t - self._cap + 1)
        if frame >= 0 and start - 1 >= oldest:
            after = min(end + 1, self._t)
            if self._same_view(np.array([start - 1]), np.array([after]))[1][0, 0]:
                frame = -1  # the same view before and after: a lens cap or a body, no boundary
            elif self._flash(run):
                frame = -1
        if frame < 0:  # no boundary (a clip's ends, a flash): only mutes cuts in its span
            self._pending.append(_Candidate(start, _MUTE, start, end, 0.0))
            return
        self._pending.append(_Candidate(frame, "fade", min(start, frame), max(end, frame), 1.0))

    def _flash(self, run: _BlankRun) -> bool:
        """Whether the short blank ``run`` is a flash within one shot (or a dropped frame).

        The frames either side of it must show one view: loosely (see :meth:`_same_view`;
        the camera may move fast) when the blank came and went at once, so that they are
        whole pictures, strictly (much the same colours and layout) when they are part of a
        fade, whose frames keep the layout of their shot but lose its colours.
        """
        a, b = run.start - 1, run.end + 1
        cap = self._cap
        oldest = max(self._first or 0, self._t - cap + 1)
        if run.end - run.start >= self.flash_frames or a < oldest or b > self._t:
            return False
        contrast = self._contrast

        def whole(i: int, step: int) -> bool:  # frame i is not part of a fade (as far as known)
            out = [j % cap for j in range(i + step, i + 4 * step, step) if oldest <= j <= self._t]
            return not out or float(contrast[i % cap]) >= 0.7 * float(contrast[out].max())

        if whole(a, -1) and whole(b, 1):
            return bool(self._same_view(np.array([a]), np.array([b]))[1][0, 0])
        ra, rb = a % cap, b % cap
        corr = float(self._struct[ra] @ self._struct[rb])
        return hist_distance(self._hist[ra], self._hist[rb]) < 0.3 and corr > 0.6

    # ---------------------------------------------------------------------------------------
    # cuts

    def _find_cut(self, p: int) -> None:
        """Decide whether frame ``p`` starts a new shot (the future is known up to ``_t``)."""
        assert self._first is not None
        last, cap = self._t, self._cap
        if p <= self._first or p > last:
            return
        c = float(self._change[p % cap])
        if c < self.cut_threshold or p <= self._quiet_until:
            return
        lo = max(self._first + 1, p - self._window, last - cap + 1)
        hi = min(last, p + self._window)
        around = [float(self._change[i % cap]) for i in range(lo, hi + 1) if i != p]
        base = sum(around) / len(around) if around else 0.0
        if c < self.cut_ratio * base:
            return
        # flash / occlusion: every frame after must differ from every frame before
        f = self.flash_frames
        before = range(max(self._first, p - f, last - cap + 1), p)
        after = range(p, min(last, p + f) + 1)
        cross = min(
            (self._pair_change(a, b) for a in before for b in after if (a, b) != (p - 1, p)),
            default=c,
        )
        if cross < 0.5 * c:
            return
        if self._comes_back(p, c):
            return
        score = min(1.0, c / (2 * self.cut_threshold)) * min(1.0, cross / c)
        # a cut into a view without detail may be something in front of the lens: hold it
        # until the view before could have come back
        hold = self.revert_frames
        ahead = [float(self._detail[i % cap]) for i in after]
        if _featureless(ahead, float(self._detail[(p - 1) % cap])):
            hold = self.occlusion_frames
        self._pending.append(_Candidate(p, "cut", p, p, score, strength=c, hold=p + hold))

    def _comes_back(self, p: int, change: float, latest: int | None = None) -> bool:
        """Whether the view from frame ``p`` on is one of shortly before: an interruption ends.

        Frames ``p`` to ``p + flash_frames`` (as far as known) are compared with the frames
        from ``latest`` (default ``p - 2``) back. The interruption lies between the last
        earlier frame ``m`` that shows the same view and frame ``p`` (``q``, the first frame
        that matches ``m``, may come a little later); its frames must differ from that view
        (something came between), and it must be short (``revert_frames``), or up to
        ``occlusion_frames`` long and mostly without detail (out of focus in front of the
        lens). Pending cuts and dissolves inside it are dropped.
        """
        assert self._first is not None
        cap = self._cap
        latest = p - 2 if latest is None else latest
        lo = max(self._first, p - self.occlusion_frames - 1, self._t - cap + 1)
        if latest < lo:
            return False
        ms = np.arange(latest, lo - 1, -1)
        qs = np.arange(p, min(self._t, p + self.flash_frames) + 1)
        # the same view, and much more alike than the interruption was
        rm = ms % cap
        hist = self._hist
        dgap = 0.5 * np.abs(hist[rm] - hist[(p - 1) % cap]).sum(axis=1)
        dq, alike = self._same_view(ms, qs)
        alike &= dq < 0.5 * np.maximum(dgap, change)[:, None]
        rows = np.flatnonzero(alike.any(axis=1))
        if rows.size == 0:
            return False
        m = int(ms[rows[0]])  # the last frame of the view before the interruption
        q = int(qs[np.flatnonzero(alike[rows[0]])[0]])
        gap = np.arange(m + 1, p)  # what came between (frames p.. are the view coming back)
        if gap.size == 0:
            return False
        if float(np.median(self._pair_changes(m, gap))) < self.cut_threshold:
            return False  # nothing came between: one view all along (or two much alike)
        if gap.size > self.revert_frames:
            ref = max(float(self._detail[m % cap]), float(self._detail[q % cap]))
            if not _featureless(self._detail[gap % cap], ref):
                return False  # a real shot in between
        self._pending = [
            x for x in self._pending if x.kind not in ("cut", "dissolve") or not m < x.frame <= q
        ]
        self._quiet_until = max(self._quiet_until, q)
        return True

    def _pair_changes(self, a: int, bs: np.ndarray) -> np.ndarray:
        """Combined changes in [0, 1] between buffered frame ``a`` and frames ``bs``.

        Shape:
            bs: (B,) -> (B,)
        """
        ra, rb = a % self._cap, bs % self._cap
        dh = 0.5 * np.abs(self._hist[rb] - self._hist[ra]).sum(axis=1)
        dp = np.abs(self._thumb[rb] - self._thumb[ra]).mean(axis=1)
        # layout counts as far as both frames have contrast (noise on a flat view has none)
        seen = np.minimum(self._contrast[rb], self._contrast[ra]) / _LAYOUT_CONTRAST
        layout = (1.0 - self._struct[rb] @ self._struct[ra]) * np.minimum(1.0, seen)
        return 0.5 * dh + 0.5 * np.clip(np.maximum(dp / 0.2, layout), 0.0, 1.0)

    def _same_view(self, ms: np.ndarray, qs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether buffered frames ``ms`` and ``qs`` show the same view (the camera may move).

        The same view keeps its colours (histogram distance below 0.15) and something of its
        layout (structure correlation above 0.2), or nearly its colours (below 0.3) and its
        layout (above 0.6).

        Shape:
            ms: (M,), qs: (Q,) -> distances (M, Q), same (M, Q) bool
        """
        rm, rq = ms % self._cap, qs % self._cap
        dh = 0.5 * np.abs(self._hist[rm][:, None] - self._hist[rq][None]).sum(axis=2)
        corr = self._struct[rm] @ self._struct[rq].T
        return dh, ((dh < 0.15) & (corr > 0.2)) | ((dh < 0.3) & (corr > 0.6))

    # ---------------------------------------------------------------------------------------
    # dissolves

    def _find_dissolve(self, c: int) -> None:
        """Test frame ``c`` as the centre of a dissolve with every window half-width.

        Each window is fitted as decoded and in approximate linear light (editing systems mix
        in either); the better fit counts.
        """
        assert self._first is not None
        cap = self._cap
        for k in self._ks:
            s, e = c - k, c + k
            if s < self._first or e > self._t or e - s >= cap:
                continue
            rs, re_ = s % cap, e % cap
            corr = float(self._struct[rs] @ self._struct[re_])
            if corr > self.dissolve_correlation + 0.3:
                continue  # one view under a change of light, or a small move
            colours = colour_distance(self._hist[rs], self._hist[re_])
            if colours < 2 * self.dissolve_colours / 3:
                continue  # the same colours: one shot moving, or re-lit
            if corr > self.dissolve_correlation and colours < self.dissolve_colours:
                continue  # not different enough in either
            rows = [i % cap for i in range(s, e + 1)]
            if self._blank[rows].any():
                continue  # through black or a flat colour: a fade
            fits = [self._fit_window(space, rs, re_, rows, k) for space in (0, 1)]
            best = min((f for f in fits if f is not None), key=lambda f: f[0], default=None)
            if best is None:
                continue
            residual, alphas, change = best
            # where the weight reaches 0.5, and the span where it moves
            a, centre = ramp_centre(alphas)
            ramp = np.flatnonzero((a > 0.1) & (a < 0.9))
            score = (
                (1.0 - residual / self.dissolve_residual)
                * min(1.0, change / (3 * self.min_change))
                * min(
                    1.0,
                    max(
                        (1.0 - corr) / (1.0 - self.dissolve_correlation),
                        colours / (2 * self.dissolve_colours),
                    ),
                )
            )
            self._cluster.append(
                _Candidate(
                    math.floor(s + 1 + centre + 0.5),
                    "dissolve",
                    s + 1 + int(ramp[0]),
                    s + 1 + int(ramp[-1]),
                    max(0.0, min(1.0, score)),
                    strength=k,
                    at=c,
                )
            )
            self._cluster_last = c
        self._close_cluster(force=False)

    def _fit_window(
        self, space: int, rs: int, re_: int, rows: list[int], k: int
    ) -> tuple[float, np.ndarray, float] | None:
        """Blend fit of one window in one space; ``None`` when it does not look like a mix.

        Returns:
            ``(residual, alphas, change)`` as from :func:`blend_fit`.
        """
        mini = self._mini[space]
        d = mini[re_] - mini[rs]
        dist = math.sqrt(float(d @ d))
        if dist / math.sqrt(d.size) < self.min_change:
            return None
        path = float(self._path[space, re_] - self._path[space, rs])
        if path <= 0 or dist < 0.4 * path:
            return None  # a winding path: motion, not a mix
        alphas, residual, change = blend_fit(mini[rows])
        if residual > self.dissolve_residual:
            return None
        if not 0.3 <= float(alphas[k - 1]) <= 0.7:
            return None
        if int(((alphas > 0.15) & (alphas < 0.85)).sum()) < 3:
            return None
        if float(np.clip(-np.diff(alphas), 0, None).sum()) > 0.25:
            return None  # the weights go back and forth
        return residual, alphas, change

    def _close_cluster(self, force: bool) -> None:
        """Turn a run of accepted dissolve windows into one dissolve once the run is over.

        The mixing weights are fitted again over the union of the accepted windows that score
        at least half the best, whose end frames lie in the two shots; the dissolve's centre
        is where the weight reaches 0.5, measured as the area above the weight curve (robust
        to noise), and its span is where the weight moves between 0.04 and 0.96. A dissolve
        after which the view from before it comes back is dropped (see :meth:`_comes_back`).
        """
        if not self._cluster:
            return
        assert self._first is not None
        now = self._t - self.dissolve_half
        if not force and now - self._cluster_last <= self.dissolve_half:
            return
        cluster, self._cluster = self._cluster, []
        score = max(x.score for x in cluster)
        if score < self.dissolve_score:
            return
        cluster = self._mixing_run(cluster)
        # weak windows at the fringes (motion that just passed) would stretch the refit
        top = max(x.score for x in cluster)
        cluster = [x for x in cluster if x.score >= 0.5 * top]
        lo = max(min(x.at - int(x.strength) for x in cluster), self._t - self._cap + 1)
        hi = max(x.at + int(x.strength) for x in cluster)
        rows = [i % self._cap for i in range(lo, hi + 1)]
        if hi - lo >= 2 and not self._blank[rows].any():
            # measured as decoded: in linear light a mix made as decoded bends (and one made
            # in linear light bends less as decoded than the other way round)
            a, centre = ramp_centre(blend_fit(self._mini[0, rows])[0])
            frame = math.floor(lo + 1 + centre + 0.5)
            moving = np.flatnonzero((a > 0.04) & (a < 0.96))
            start = lo + 1 + int(moving[0]) if moving.size else frame
            end = lo + 1 + int(moving[-1]) if moving.size else frame
        else:  # the union runs into black or out of the buffer: trust the widest window
            widest = max(x.strength for x in cluster)
            best = max((x for x in cluster if x.strength == widest), key=lambda x: x.score)
            frame = best.frame
            start = min(x.start for x in cluster)
            end = max(x.end for x in cluster)
        start, end = min(start, frame), max(end, frame)
        after = min(end + 1, self._t)
        if start - 1 >= self._t - self._cap + 1 and self._comes_back(
            after, self._pair_change(start - 1, after), latest=start - 1
        ):
            return  # the view before came back: something passed, not a dissolve
        self._pending.append(_Candidate(frame, "dissolve", start, end, score))

    def _mixing_run(self, cluster: list[_Candidate]) -> list[_Candidate]:
        """The windows of a cluster that place its dissolve.

        When the accepted windows fall into separate runs of centres (a gradual change within
        a shot, such as a veil of spray or light, fits a mix too), the run kept is the one over
        which the picture loses the most contrast in the middle: a mix of two different
        pictures does (their details partly cancel; the variance curve of a dissolve sags),
        a change within one picture hardly does. Without a clear sag the whole cluster counts.
        The dissolve keeps the score of the cluster's best window either way.
        """
        cap = self._cap
        runs: list[list[_Candidate]] = []
        for x in sorted(cluster, key=lambda x: x.at):
            if runs and x.at - runs[-1][-1].at <= _RUN_GAP:
                runs[-1].append(x)
            else:
                runs.append([x])
        if len(runs) < 2:
            return cluster
        kept, sag = cluster, _MIX_SAG
        for run in runs:
            lo = max(min(x.at - int(x.strength) for x in run), self._t - cap + 1)
            hi = max(x.at + int(x.strength) for x in run)
            if hi - lo < 2:
                continue
            ends = min(float(self._contrast[lo % cap]), float(self._contrast[hi % cap]))
            inner = float(self._contrast[[i % cap for i in range(lo + 1, hi)]].min())
            if inner < sag * ends:
                kept, sag = run, inner / ends
        return kept

    # ---------------------------------------------------------------------------------------
    # resolution and output

    def _emit(self, final: bool) -> list[Boundary]:
        """Resolve the candidates that can no longer change and return them as boundaries.

        Candidates are grouped by overlapping spans; a group is resolved once every candidate
        that could still join it would start after it (the horizon): a fade wins over what it
        spans, a dissolve over a cut in its span (a mix in linear light changes fastest at
        its ends, and a short mix in its middle), and of two boundaries closer than
        ``min_shot`` the stronger is kept.
        """
        t, half = self._t, self.dissolve_half
        if final:
            horizon = t + 2
        else:
            horizon = t - max(self._cut_lag, 2 * half) - 2
            if self._cluster:
                horizon = min(horizon, min(x.start for x in self._cluster) - 1)
            if self._run is not None:
                horizon = min(horizon, self._run.start - half - 2)
            if self._fade_wait is not None:
                horizon = min(horizon, self._fade_wait[0] - 1)
        horizon -= self.min_shot + 1
        if not self._pending:
            return []
        self._pending.sort(key=lambda x: x.start)
        groups: list[list[_Candidate]] = []
        reach = -math.inf
        for cand in self._pending:
            if cand.start - 1 - self.min_shot > reach:
                groups.append([])
            groups[-1].append(cand)
            reach = max(reach, cand.end)
        result: list[Boundary] = []
        done = 0
        for group in groups:
            if max(x.end for x in group) >= horizon:
                break
            if not final and max(x.hold for x in group) + self._cut_lag >= t:
                break
            done += len(group)
            result += self._resolve(group)
        self._pending = self._pending[done:]
        return result

    def _resolve(self, group: list[_Candidate]) -> list[Boundary]:
        fades = [x for x in group if x.kind in ("fade", _MUTE)]
        dissolves = [
            x
            for x in group
            if x.kind == "dissolve" and not any(f.start - 1 <= x.frame <= f.end + 1 for f in fades)
        ]
        cuts = [
            x
            for x in group
            if x.kind == "cut"
            and not any(f.start - 1 <= x.frame <= f.end + 1 for f in fades)
            and not any(d.start - 1 <= x.frame <= d.end + 1 for d in dissolves)
        ]
        result: list[Boundary] = []
        kept = [x for x in fades if x.kind == "fade"] + cuts + dissolves
        for x in sorted(kept, key=lambda x: x.frame):
            b = Boundary(x.frame, x.kind, x.start, x.end, round(float(x.score), 4))
            last = self._last_out
            if last is not None and b.frame - last.frame < self.min_shot:
                if b.score <= last.score or not result or result[-1] is not last:
                    continue
                result.pop()  # the weaker one was not returned yet: replace it
            result.append(b)
            self._last_out = b
        return result


def _featureless(details: Sequence[float] | np.ndarray, reference: float) -> bool:
    """Whether frames look like something out of focus in front of the lens.

    Their median detail (mean absolute luma gradient at 64 px) must be low in absolute terms
    and well below the ``reference`` view's: real shots, even soft ones, keep edges.
    """
    level = float(np.median(details))
    return level < _OCCLUDER_DETAIL and level < 0.4 * reference
