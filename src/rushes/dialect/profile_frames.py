"""Grain and lens profiles, from one pass over a few full-resolution frames of each clip.

Per clip, :data:`FRAMES` frames are read at full resolution, spread over the clip (at 1/4, 1/2
and 3/4 of it):

- **grain**: :func:`rushes.analysis.grain.measure_grain` (``"flat"``) on the first and last of
  them, kept per clip (keyed by checksum); when a shot of the clip already has a grain
  profile in the catalog (``rushes grain``, degrain/regrain), that one is used instead. Clip
  records are pooled per *camera|exposure index* group (``"A|EI800"``; ``"unknown"`` for
  either part that no metadata gives) and, inside a group, per frame size (grain is per
  pixel): amplitudes weighted by the patches each clip measured, spectra and channel
  correlations averaged.
- **lens**: :func:`rushes.analysis.lens.find_lines` on all of them (long side at most 1280 px,
  scene-linear clips rendered to sRGB first); the lines of every clip of a
  *camera|lens|WxH* group are pooled (the longest :data:`MAX_CHAINS` kept) and fitted once
  (:func:`rushes.analysis.lens.fit_lens`); a group without enough straight lines gets an
  estimate of confidence 0 with its reason.

Camera comes from the catalog (names, ALE/CSV sheets); exposure index and lens from the sheet
columns and media metadata ingest kept in ``clip.meta`` (``EI``/``ISO``/``ASA``/``Exposure
Index``; ``Lens``/``Lens Type``/``Focal Length``...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from rushes.analysis.grain import GrainProfile, measure_grain
from rushes.analysis.lens import LensEstimate, LineSet, find_lines, fit_lens
from rushes.color import convert, is_scene_linear
from rushes.errors import RushesError
from rushes.media import open_media

if TYPE_CHECKING:
    from rushes.dialect.profiles import ClipInfo

__all__ = [
    "FRAMES",
    "exposure_index",
    "frame_profiles",
    "grain_key",
    "lens_key",
    "lens_name",
    "pool_grain",
]

FRAMES = 3
"""Full-resolution frames read per clip (lines on all, grain on the first and last)."""

LENS_LONG_SIDE = 1280
"""Lines are found on frames reduced to at most this long side."""

MAX_CHAINS = 400
"""Lines kept per lens group (the longest)."""

DISPLAY = "sRGB Encoded Rec.709 (sRGB)"

_EI_KEYS = {"ei", "iso", "asa", "exposureindex", "exposureindexasa", "isospeed", "isosetting"}
_LENS_KEYS = {"lens", "lenstype", "lensmodel", "lensname", "lenses"}
_FOCAL_KEYS = {"focallength", "focal", "lensfocallength", "focallengthmm"}


def _norm(key: str) -> str:
    """A metadata key reduced to letters and digits, without a ``video:``-style prefix and
    vendor path (``com.arri.camera.ExposureIndexAsa`` -> ``exposureindexasa``)."""
    last = re.split(r"[:.]", key)[-1]
    return re.sub(r"[^a-z0-9]", "", last.lower())


def _items(meta: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(normalised key, value)`` of the sheet columns, then the media metadata."""
    for part in ("sheet", "media"):
        sub = meta.get(part)
        if isinstance(sub, Mapping):
            for k, v in sub.items():
                if v not in (None, ""):
                    yield _norm(str(k)), str(v).strip()


def exposure_index(meta: Mapping[str, Any]) -> str | None:
    """Exposure index from sheet columns or media metadata (``"800"``), else ``None``."""
    for k, v in _items(meta):
        if k in _EI_KEYS or k.endswith("exposureindex") or k.endswith("exposureindexasa"):
            m = re.search(r"\d+(?:\.\d+)?", v)
            if m:
                num = float(m.group(0))
                return str(int(num)) if num.is_integer() else m.group(0)
    return None


def lens_name(meta: Mapping[str, Any]) -> str | None:
    """Lens from sheet columns or media metadata (``"Ultra Prime 32mm"``), else ``None``."""
    name = focal = None
    for k, v in _items(meta):
        if name is None and k in _LENS_KEYS:
            name = " ".join(v.split())
        elif focal is None and k in _FOCAL_KEYS:
            m = re.search(r"\d+(?:\.\d+)?", v)
            focal = f"{m.group(0)}mm" if m else None
    if name and focal and focal.lower() not in name.lower().replace(" ", ""):
        return f"{name} {focal}"
    return name or focal


def grain_key(camera: str | None, meta: Mapping[str, Any]) -> str:
    """The grain group of a clip: ``"camera|EI"`` (``"A|EI800"``, ``"unknown|unknown"``)."""
    ei = exposure_index(meta)
    return f"{camera or 'unknown'}|{'EI' + ei if ei else 'unknown'}"


def lens_key(camera: str | None, meta: Mapping[str, Any], size: Sequence[int]) -> str:
    """The lens group of a clip: ``"camera|lens|WxH"`` (``"A|32mm|1920x1080"``)."""
    return f"{camera or 'unknown'}|{lens_name(meta) or 'unknown'}|{int(size[0])}x{int(size[1])}"


def _picks(frames: int) -> list[int]:
    if frames <= 0:
        return []
    return sorted({min(frames - 1, max(0, round(frames * q))) for q in (0.25, 0.5, 0.75)})


def _cached_grain(clip: ClipInfo) -> dict[str, Any] | None:
    for shot in clip.shots:
        rec = shot.analysis.get("grain")
        if isinstance(rec, dict) and rec.get("method") == "flat":
            try:
                GrainProfile.from_dict(rec)
            except (ValueError, KeyError, TypeError):
                continue
            return dict(rec) | {"extra": {**rec.get("extra", {}), "measured": f"shot {shot.name}"}}
    return None


def _clip_pass(clip: ClipInfo) -> tuple[dict[str, Any] | None, LineSet | None, str | None]:
    """Grain record, lines and (when something failed) why, for one clip."""
    picks = _picks(clip.frames)
    if not picks:
        return None, None, "no frames"
    cached = _cached_grain(clip)
    grain_frames: list[np.ndarray] = []
    sets: list[LineSet] = []
    with open_media(clip.path, fps=clip.fps) as reader:
        for k, i in enumerate(picks):
            frame = reader.read(i)
            if cached is None and (k == 0 or k == len(picks) - 1):
                grain_frames.append(frame)
            shown = frame
            if is_scene_linear(clip.colorspace):
                shown = np.clip(convert(_small(frame), clip.colorspace, DISPLAY, fast=True), 0, 1)
            sets.append(find_lines(shown, LENS_LONG_SIDE))
    lines = LineSet.concat(sets)
    if cached is not None:
        return cached, lines, None
    try:
        profile = measure_grain(grain_frames, method="flat")
    except ValueError as e:
        return None, lines, f"grain not measured: {e}"
    record = profile.to_dict()
    record["extra"] = {**record["extra"], "measured": f"clip frames {picks[0]}, {picks[-1]}"}
    return record, lines, None


def _small(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    if max(h, w) <= LENS_LONG_SIDE:
        return frame
    s = LENS_LONG_SIDE / max(h, w)
    return np.asarray(cv2.resize(frame, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA))


def pool_grain(records: Sequence[dict[str, Any]]) -> GrainProfile:
    """One profile from the grain records (``grain.1``) of several clips of one frame size:
    per bin and channel, amplitudes weighted by the patches each clip measured there (plain
    mean where none measured); spectra and correlations averaged.

    Raises:
        ValueError: no records, or records of different bin or spectrum shapes.
    """
    if not records:
        raise ValueError("no grain records given; give the records of the group's clips")
    profiles = [GrainProfile.from_dict(r) for r in records]
    first = profiles[0]
    if any(
        p.amplitude.shape != first.amplitude.shape or p.psd.shape != first.psd.shape
        for p in profiles
    ):
        raise ValueError("grain records of different bins or spectrum sizes; measure them alike")
    amp = np.stack([p.amplitude for p in profiles]).astype(np.float64)
    cnt = np.stack([p.counts for p in profiles]).astype(np.float64)
    total = cnt.sum(axis=0)
    weighted = (amp * cnt).sum(axis=0) / np.maximum(total, 1.0)
    pooled = np.where(total > 0, weighted, amp.mean(axis=0))
    psd = np.mean([p.psd for p in profiles], axis=0)
    psd = psd / np.maximum(psd.mean(axis=(0, 1), keepdims=True), 1e-12)
    corr = np.mean([p.correlation for p in profiles], axis=0)
    return GrainProfile(
        levels=first.levels,
        amplitude=pooled.astype(np.float32),
        counts=total.astype(np.int64),
        psd=psd.astype(np.float32),
        correlation=corr.astype(np.float32),
        size=first.size,
        frames=sum(p.frames for p in profiles),
        method=first.method,
        extra={"clips": len(profiles), "pooled": "patch-weighted mean"},
    )


def _grain_groups(
    clips: Sequence[ClipInfo], records: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    groups: dict[str, list[ClipInfo]] = {}
    for c in clips:
        if c.checksum in records:
            groups.setdefault(grain_key(c.camera, c.meta), []).append(c)
    out: dict[str, Any] = {}
    for key, members in sorted(groups.items()):
        by_size: dict[str, list[dict[str, Any]]] = {}
        for c in members:
            by_size.setdefault(f"{c.width}x{c.height}", []).append(records[c.checksum])
        sizes: dict[str, Any] = {}
        for size, recs in sorted(by_size.items(), key=lambda kv: -len(kv[1])):
            try:
                pooled = pool_grain(recs)
            except ValueError:
                continue
            sizes[size] = {
                "profile": pooled.to_dict(),
                "clips": len(recs),
                "sigma_mean": round(pooled.mean_sigma, 6),
            }
        if not sizes:
            continue
        n = sum(v["clips"] for v in sizes.values())
        out[key] = {
            "clips": n,
            "sigma_mean": round(sum(v["sigma_mean"] * v["clips"] for v in sizes.values()) / n, 6),
            "size": next(iter(sizes)),
            "sizes": sizes,
        }
    return out


def frame_profiles(
    clips: Sequence[ClipInfo],
    skipped: list[dict[str, str]],
    hook: Callable[[str, int, int], None] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Grain and lens profiles of ``clips`` (module docstring).

    Args:
        clips: the clips.
        skipped: clips that could not be read (or measured) are appended here, with why.
        hook: progress, ``("frames", done, total)`` per clip and ``("lens", done, total)``
            per lens group.

    Returns:
        ``(grain, lens)``: ``{"clips": {checksum: record + {"group"}}, "groups": {...}}`` and
        ``{"groups": {key: lens.1 record + {"clips", "camera", "lens", "size"}}}``.
    """
    records: dict[str, dict[str, Any]] = {}
    lines: dict[str, list[LineSet]] = {}
    members: dict[str, list[ClipInfo]] = {}
    for done, clip in enumerate(clips, 1):
        try:
            record, found, problem = _clip_pass(clip)
        except (RushesError, OSError, ValueError) as e:
            record, found, problem = None, None, f"frames not read or measured: {e}"
        if problem is not None:
            skipped.append({"clip": clip.name, "reason": problem})
        if record is not None:
            records[clip.checksum] = record | {"group": grain_key(clip.camera, clip.meta)}
        if found is not None:
            key = lens_key(clip.camera, clip.meta, (clip.width, clip.height))
            pooled = lines.setdefault(key, [])
            pooled.append(found)
            if sum(s.count for s in pooled) > MAX_CHAINS:
                lines[key] = [LineSet.concat(pooled).longest(MAX_CHAINS)]
            members.setdefault(key, []).append(clip)
        if hook is not None:
            hook("frames", done, len(clips))
    lens_groups: dict[str, Any] = {}
    for done, (key, sets) in enumerate(sorted(lines.items()), 1):
        estimate: LensEstimate = fit_lens(LineSet.concat(sets))
        first = members[key][0]
        lens_groups[key] = estimate.to_dict() | {
            "clips": len(members[key]),
            "camera": first.camera,
            "lens": lens_name(first.meta),
            "size": [first.width, first.height],
        }
        if hook is not None:
            hook("lens", done, len(lines))
    grain = {"clips": records, "groups": _grain_groups(clips, records)}
    return grain, {"groups": lens_groups}
