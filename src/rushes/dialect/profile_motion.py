"""Camera-motion style and editing rhythm, from what ingest measured.

**Motion.** Ingest keeps each clip's per-frame analysis table in
``cache/analysis/<checksum>.npz`` (see :mod:`rushes.ingest.catalog`), whose motion columns are
the :func:`rushes.analysis.motion.estimate_motion` rows: ``dx``, ``dy`` in frame widths /
heights per frame, ``scale``, ``confidence``. For each shot, its rows after the first (the
first is the motion across the boundary) with confidence at least
:data:`rushes.analysis.motion.RELIABLE_CONFIDENCE` are used, the others interpolated (a shot
with fewer than a quarter of its rows reliable falls back to its catalog summary, below).
Per shot:

- ``pan_speed`` / ``tilt_speed``: ``|mean dx|`` / ``|mean dy|`` times the frame rate: frame
  widths (heights) per second;
- ``speed``: mean magnitude of the translation smoothed over one second, frames per second;
- ``zoom_rate``: ``|mean log scale|`` per second;
- ``jitter_rms``: RMS of the translation per frame minus its one-second moving average
  (frame fractions per frame: the shake a stabiliser would take out);
- ``jitter_bands``: how that high-passed translation's power splits over :data:`BANDS_HZ`
  (shares summing to 1; a Hann-windowed periodogram; shots of at least :data:`MIN_ROWS`
  rows).

Groups (each setup, each camera, and the whole project) get the median of their shots'
values, their band powers pooled, the count of each motion label (the ingest summary's
``static``/``pan``/``tilt``/``zoom``/``handheld``/``unknown``) and the dominant known label
weighted by frames. When a clip's table is missing (the cache is safe to delete), its shots
use their catalog summaries (``mean_dx``, ``mean_dy``, ``jitter`` of a 7-frame window) and have
no bands; ``"source"`` says ``"per-frame"``, ``"summaries"`` or ``"mixed"``.

**Rhythm.** Shot lengths in seconds over the clips with detected cuts (more than one shot);
``None`` when no clip has any. The first and last shots of a clip are cut by the clip's own
ends, so they count as they are.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rushes.analysis.motion import MOTION_FIELDS, RELIABLE_CONFIDENCE
from rushes.project import Project

if TYPE_CHECKING:
    from rushes.dialect.profiles import ClipInfo, ShotInfo

__all__ = ["BANDS_HZ", "HISTOGRAM_EDGES_S", "motion_profiles", "rhythm_profile", "shot_motion"]

BANDS_HZ: tuple[tuple[float, float], ...] = (
    (0.5, 1.0),
    (1.0, 2.0),
    (2.0, 4.0),
    (4.0, 8.0),
    (8.0, 1e9),
)
"""Frequency bands of the jitter spectrum, in Hz (the last up to the Nyquist frequency)."""

BAND_NAMES = ("0.5-1Hz", "1-2Hz", "2-4Hz", "4-8Hz", "8Hz+")

MIN_ROWS = 32
"""Shots with fewer motion rows than this have no jitter spectrum."""

HISTOGRAM_EDGES_S = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
"""Shot-length histogram bin edges in seconds (the last bin is open)."""


def _moving_average(x: np.ndarray, win: int) -> np.ndarray:
    pad = win // 2
    return np.convolve(np.pad(x, (pad, win - 1 - pad), mode="edge"), np.ones(win) / win, "valid")


def _band_powers(hp: np.ndarray, fps: float) -> np.ndarray:
    """Power of the high-passed translation ``hp`` ``(N, 2)`` per band, per row."""
    n = hp.shape[0]
    win = np.hanning(n)[:, None]
    spec = np.abs(np.fft.rfft(hp * win, axis=0)) ** 2
    power = spec.sum(axis=1) / max(float((win**2).sum()), 1e-12)
    freq = np.fft.rfftfreq(n, 1.0 / fps)
    return np.array([power[(freq >= lo) & (freq < hi)].sum() for lo, hi in BANDS_HZ]) / n


def shot_motion(rows: np.ndarray, fps: float) -> dict[str, Any] | None:
    """Motion style of one shot from its motion rows (module docstring).

    Args:
        rows: the shot's :data:`~rushes.analysis.motion.MOTION_FIELDS` rows, without the
            first row across its boundary.
        fps: frame rate.

    Returns:
        ``{"rows", "pan_speed", "tilt_speed", "speed", "zoom_rate", "jitter_rms",
        "band_power"}`` (``band_power`` per :data:`BANDS_HZ`, or ``None`` for shots shorter
        than :data:`MIN_ROWS` or with fewer than half their rows reliable), or ``None`` when
        fewer than a quarter of the rows (or fewer than 4) are reliable.

    Shape:
        rows: ``(N, 5)`` float.
    """
    rows = np.asarray(rows, np.float64)
    if rows.ndim != 2 or rows.shape[1] != len(MOTION_FIELDS):
        raise ValueError(f"rows has shape {rows.shape}; give (N, {len(MOTION_FIELDS)}) motion rows")
    ok = np.isfinite(rows).all(axis=1) & (rows[:, 4] >= RELIABLE_CONFIDENCE) & (rows[:, 3] > 0)
    n = rows.shape[0]
    if int(ok.sum()) < max(4, n / 4):
        return None
    idx = np.arange(n)
    dx = np.interp(idx, idx[ok], rows[ok, 0])
    dy = np.interp(idx, idx[ok], rows[ok, 1])
    dz = np.interp(idx, idx[ok], np.log(rows[ok, 3]))
    win = max(3, min(n, round(fps)))
    sx, sy = _moving_average(dx, win), _moving_average(dy, win)
    hp = np.stack([dx - sx, dy - sy], axis=1)
    return {
        "rows": n,
        "pan_speed": abs(float(dx.mean())) * fps,
        "tilt_speed": abs(float(dy.mean())) * fps,
        "speed": float(np.hypot(sx, sy).mean()) * fps,
        "zoom_rate": abs(float(dz.mean())) * fps,
        "jitter_rms": math.sqrt(float((hp**2).sum(axis=1).mean())),
        "band_power": (
            _band_powers(hp, fps).tolist() if n >= MIN_ROWS and ok.sum() >= n / 2 else None
        ),
    }


def _from_summary(summary: dict[str, Any], fps: float) -> dict[str, Any] | None:
    if not summary or summary.get("label") in (None, "unknown"):
        return None
    return {
        "rows": int(summary.get("rows", 0)),
        "pan_speed": abs(float(summary.get("mean_dx", 0.0))) * fps,
        "tilt_speed": abs(float(summary.get("mean_dy", 0.0))) * fps,
        "speed": float(summary.get("speed", 0.0)) * fps,
        "zoom_rate": abs(float(summary.get("mean_zoom", 0.0))) * fps,
        "jitter_rms": float(summary.get("jitter", 0.0)),
        "band_power": None,
    }


def _clip_rows(project: Project, clip: ClipInfo) -> np.ndarray | None:
    """The clip's per-frame motion rows ``(N, 5)``, or ``None`` when the table is gone."""
    rel = clip.analysis.get("per_frame")
    if not rel:
        return None
    try:
        with np.load(project.path(rel)) as data:
            fields = [str(f) for f in data["fields"]]
            table = np.asarray(data["per_frame"], np.float64)
    except (OSError, KeyError, ValueError):
        return None
    try:
        cols = [fields.index(f) for f in MOTION_FIELDS]
    except ValueError:
        return None
    return table[:, cols]


def _group(entries: Sequence[tuple[ShotInfo, str, dict[str, Any] | None]]) -> dict[str, Any]:
    labels = Counter(label for _, label, _ in entries)
    by_frames: Counter[str] = Counter()
    for shot, label, _ in entries:
        if label != "unknown":
            by_frames[label] += shot.frames
    measured = [m for _, _, m in entries if m is not None]
    out: dict[str, Any] = {
        "shots": len(entries),
        "labels": dict(sorted(labels.items())),
        "label": by_frames.most_common(1)[0][0] if by_frames else "unknown",
        "measured": len(measured),
    }
    for key in ("pan_speed", "tilt_speed", "speed", "zoom_rate", "jitter_rms"):
        vals = [m[key] for m in measured]
        out[key] = round(float(np.median(vals)), 6) if vals else None
    pan = [m["pan_speed"] for m in measured]
    out["pan_speed_p90"] = round(float(np.percentile(pan, 90)), 6) if pan else None
    bands = [np.asarray(m["band_power"]) for m in measured if m["band_power"] is not None]
    if bands:
        total = np.sum(bands, axis=0)
        share = total / max(float(total.sum()), 1e-30)
        out["jitter_bands"] = {
            name: round(float(v), 4) for name, v in zip(BAND_NAMES, share, strict=True)
        }
    else:
        out["jitter_bands"] = None
    return out


def motion_profiles(
    project: Project,
    clips: Sequence[ClipInfo],
    hook: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Motion style per setup, per camera and overall (module docstring).

    Returns:
        ``{"source", "overall", "setups": {name: group}, "cameras": {name: group}}``; each
        group as the module docstring says.
    """
    entries: list[tuple[ShotInfo, str, dict[str, Any] | None, ClipInfo]] = []
    sources: set[str] = set()
    for done, clip in enumerate(clips, 1):
        fps = float(clip.fps)
        table = _clip_rows(project, clip)
        sources.add("summaries" if table is None else "per-frame")
        for shot in clip.shots:
            summary = shot.analysis.get("motion") or {}
            label = str(summary.get("label", "unknown"))
            measured: dict[str, Any] | None
            measured = None
            if table is not None and shot.end <= table.shape[0] and shot.frames > 1:
                measured = shot_motion(table[shot.start + 1 : shot.end], fps)
            if measured is None:
                measured = _from_summary(summary, fps)
            entries.append((shot, label, measured, clip))
        if hook is not None:
            hook("motion", done, len(clips))
    setups: dict[str, list[Any]] = {}
    cameras: dict[str, list[Any]] = {}
    for shot, label, measured, clip in entries:
        if shot.setup is not None:
            setups.setdefault(shot.setup, []).append((shot, label, measured))
        cameras.setdefault(clip.camera or "unknown", []).append((shot, label, measured))
    return {
        "source": sources.pop() if len(sources) == 1 else ("mixed" if sources else None),
        "overall": _group([(s, lab, m) for s, lab, m, _ in entries]),
        "setups": {k: _group(v) for k, v in sorted(setups.items())},
        "cameras": {k: _group(v) for k, v in sorted(cameras.items())},
    }


def rhythm_profile(clips: Sequence[ClipInfo]) -> dict[str, Any] | None:
    """Shot-length statistics (seconds) over the clips with detected cuts, or ``None``.

    Returns:
        ``{"clips", "shots", "median_s", "mean_s", "p10_s", "p90_s", "min_s", "max_s",
        "cuts_per_minute", "histogram": {"edges_s", "counts"}}``.
    """
    lengths: list[float] = []
    cut_clips = [c for c in clips if len(c.shots) > 1]
    for clip in cut_clips:
        fps = float(clip.fps)
        lengths += [s.frames / fps for s in clip.shots]
    if not lengths:
        return None
    arr = np.asarray(lengths)
    edges = np.array([*HISTOGRAM_EDGES_S, np.inf])
    counts, _ = np.histogram(arr, bins=edges)
    cuts = sum(len(c.shots) - 1 for c in cut_clips)
    return {
        "clips": len(cut_clips),
        "shots": int(arr.size),
        "median_s": round(float(np.median(arr)), 4),
        "mean_s": round(float(arr.mean()), 4),
        "p10_s": round(float(np.percentile(arr, 10)), 4),
        "p90_s": round(float(np.percentile(arr, 90)), 4),
        "min_s": round(float(arr.min()), 4),
        "max_s": round(float(arr.max()), 4),
        "cuts_per_minute": round(cuts / max(float(arr.sum()) / 60.0, 1e-9), 3),
        "histogram": {"edges_s": list(HISTOGRAM_EDGES_S), "counts": counts.tolist()},
    }
