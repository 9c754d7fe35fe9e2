"""Clean plates of locked-off shots: what the set looks like with everything that moves gone.

:func:`clean_plate` keeps at most ``max_frames`` frames spread over the shot (half-float, spilled
to a temporary file past a memory budget), checks that the camera did not move between them
(similarity motion of each kept frame against the first, :func:`rushes.analysis.motion.
estimate_motion`; a moving camera is refused: a plate needs the same pixel to see the same
place), then, block of rows by block of rows:

1. the per-pixel median over time is a first guess of the background (right wherever moving
   things cover a pixel in fewer than half the frames);
2. frames that differ from it by more than a tolerance (from the footage's own noise, at least
   ``tolerance``) are outliers at that pixel; the inliers are averaged (less noise than the
   median), and the test is repeated once against that average;
3. ``coverage`` is the share of frames that agreed with the result: near 1 where the
   background was seen all along, low where something stood or moved most of the time (those
   pixels are reported, never guessed).

:func:`make_plate` does this for a catalog shot and writes a half-float EXR in scene-linear
ACEScg (as renders are) plus a 16-bit PNG of the coverage, atomically, by default under the
project's ``renders/plates/``, and records an audit event.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import OpenImageIO as oiio

from rushes.analysis.motion import estimate_motion
from rushes.atomic import atomic_path, write_bytes_atomic
from rushes.color import WORKING_SPACE, convert
from rushes.color.cdl import LUMA_WEIGHTS
from rushes.errors import MediaError, NotLockedOffError, RushesError
from rushes.media import open_media
from rushes.ops.frames import shot_colorspace
from rushes.project import Project, Shot
from rushes.project.query import find_shot
from rushes.project.settings import parse_rate

__all__ = [
    "MAX_FRAMES",
    "NotLockedOffError",
    "camera_motion",
    "clean_plate",
    "make_plate",
]

MAX_FRAMES = 48
"""Frames kept for a plate (spread over the shot)."""

MIN_FRAMES = 3
"""Fewer frames cannot out-vote anything that moves."""

TOLERANCE = 0.02
"""Smallest difference (own-encoding code values, ~5/255) taken as "something else"."""

NOISE_K = 4.0
"""Differences up to this many times the footage's noise are the same background."""

MIN_COVERAGE = 0.25
"""Pixels agreed on by fewer than this share of frames are reported as uncovered."""

MOTION_FRACTION = 0.002
"""Camera motion allowed between kept frames, as a share of the long side (3.8 px at 1920)."""

MOTION_MIN_PX = 1.5
"""...but never less than this many pixels (small frames)."""

MOTION_LONG_SIDE = 320
"""Frames are tracked at this long side for the motion check."""

FLAT_LUMA = 0.01
"""Frames whose luma varies less than this (std) are blank: their motion cannot be told."""

MEMORY_MB = 512
"""Kept frames above this many MiB go to a temporary file instead of memory."""

BLOCK_MB = 48
"""Working set of one block of rows."""

_LUMA = np.asarray(LUMA_WEIGHTS, np.float32)
"""Rec.709 luma weights, for the motion check."""


# --------------------------------------------------------------------------------------------
# Kept frames


class _FrameStore:
    """Up to ``limit`` frames, half-float, in memory or (past ``memory_mb``) in a temp file;
    stride doubling keeps them spread over however many frames arrive."""

    def __init__(self, limit: int, memory_mb: float, spill_dir: Path | None) -> None:
        self.limit = limit
        self.budget = memory_mb * 2**20
        self.spill_dir = spill_dir
        self.frames: list[np.ndarray] = []
        self.small: list[np.ndarray] = []
        self.stride = 1
        self.seen = 0
        self.shape: tuple[int, ...] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._n_files = 0

    def add(self, frame: np.ndarray, k: int) -> None:
        if self.shape is None:
            self.shape = frame.shape
        elif frame.shape != self.shape:
            raise ValueError(
                f"frame {k} is {frame.shape[1]}x{frame.shape[0]} but frame 0 is "
                f"{self.shape[1]}x{self.shape[0]}; give frames of one shot at one size"
            )
        self.seen += 1
        if (self.seen - 1) % self.stride:
            return
        self.frames.append(self._keep(frame))
        self.small.append(_tracking_luma(frame))
        if len(self.frames) > self.limit:
            self.frames = self.frames[::2]
            self.small = self.small[::2]
            self.stride *= 2

    def _keep(self, frame: np.ndarray) -> np.ndarray:
        half = frame.astype(np.float16)
        if (len(self.frames) + 1) * half.nbytes <= self.budget:
            return half
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="rushes-plate-", dir=self.spill_dir)
        path = Path(self._tmp.name) / f"{self._n_files}.f16"
        self._n_files += 1
        mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=half.shape)
        mm[...] = half
        mm.flush()
        return mm

    def rows(self, r0: int, r1: int) -> np.ndarray:
        return np.stack([np.asarray(f[r0:r1], np.float32) for f in self.frames])

    def close(self) -> None:
        self.frames = []
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _tracking_luma(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    s = min(1.0, MOTION_LONG_SIDE / max(h, w))
    small = cv2.resize(
        frame, (max(2, round(w * s)), max(2, round(h * s))), interpolation=cv2.INTER_AREA
    )
    luma = small @ _LUMA
    return np.clip(luma, 0.0, 1.0).astype(np.float32)


def camera_motion(lumas: list[np.ndarray], full_long_side: int) -> float | None:
    """Largest camera move (full-resolution pixels at the frame corners) of each frame
    against the first, over the reliably tracked frames (the second largest of three or more,
    so one mis-tracked frame does not count); ``None`` for blank frames (nothing to track),
    ``inf`` when pictures with detail could not be tracked against each other.

    Shape:
        lumas: each ``(h, w)`` float32 Rec.709 luma in [0, 1] at tracking size.
    """
    if len(lumas) < 2:
        return 0.0
    ref = lumas[0]
    h, w = ref.shape
    half_diag = math.hypot(w, h) / 2
    moves = []
    for luma in lumas[1:]:
        dx, dy, rot, scale, conf = (float(v) for v in estimate_motion(ref, luma))
        if conf < 0.3:
            continue
        corner = (
            math.hypot(dx * w, dy * h)
            + abs(scale - 1.0) * half_diag
            + abs(math.radians(rot)) * half_diag
        )
        moves.append(corner)
    if not moves:
        # nothing tracked: blank frames cannot show a move; pictures that cannot be tracked
        # against each other (fast moves, cuts) are not a locked-off shot
        return None if max(float(x.std()) for x in lumas) < FLAT_LUMA else math.inf
    # the second largest: one frame mis-tracked (a subject filling it) is not a camera move
    ordered = sorted(moves)
    worst = ordered[-2] if len(ordered) >= 3 else ordered[-1]
    return worst * full_long_side / max(h, w)


# --------------------------------------------------------------------------------------------
# The plate


def _noise_level(store: _FrameStore, h: int, w: int) -> float:
    """Robust temporal noise of the footage (own code values), from a sparse pixel grid."""
    step = max(1, int(math.sqrt(h * w / 40000)))
    grid = np.stack([np.asarray(f[::step, ::step], np.float32) for f in store.frames])
    diff = np.abs(grid - np.median(grid, axis=0))
    dev = np.maximum(np.maximum(diff[..., 0], diff[..., 1]), diff[..., 2])
    return float(1.4826 * np.median(dev))


def _vote(stack: np.ndarray, tau: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Median, then average of inliers, twice. stack: (n, h, w, 3)."""
    centre = np.median(stack, axis=0)
    count = np.zeros(stack.shape[1:3], np.float32)
    for _ in range(2):
        diff = np.abs(stack - centre)
        dev = np.maximum(np.maximum(diff[..., 0], diff[..., 1]), diff[..., 2])
        inl = (dev <= tau).astype(np.float32)
        count = inl.sum(axis=0)
        total = (stack * inl[..., None]).sum(axis=0)
        mean = total / np.maximum(count, 1.0)[..., None]
        centre = np.where(count[..., None] > 0, mean, centre)
    return centre.astype(np.float32), count


def clean_plate(
    frames: Iterable[np.ndarray],
    max_frames: int = MAX_FRAMES,
    tolerance: float = TOLERANCE,
    check_motion: bool = True,
    motion_tolerance_px: float | None = None,
    memory_mb: float = MEMORY_MB,
    spill_dir: Path | None = None,
    info: dict[str, Any] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The background of a locked-off shot, with everything that moves voted out.

    Args:
        frames: frames of one shot in order (all or a subsample), own encoding; at most
            ``max_frames`` are kept, spread over them.
        max_frames: frames kept (memory: ``6 * W * H`` bytes each).
        tolerance: smallest difference taken as another object (code values); the
            footage's own noise raises it.
        check_motion: refuse a moving camera.
        motion_tolerance_px: camera motion allowed (full-resolution pixels); default
            :data:`MOTION_FRACTION` of the long side, at least :data:`MOTION_MIN_PX`.
        memory_mb: past this, kept frames go to a temporary file.
        spill_dir: folder for that file (default: the system's temporary folder).
        info: when given, filled with ``frames_used``, ``camera_motion_px``, ``noise``.

    Returns:
        ``(plate, coverage)``: the plate in the frames' encoding, and per pixel the share of
        kept frames that agreed with it.

    Raises:
        NotLockedOffError: the camera moves more than allowed between kept frames.
        ValueError: fewer than 3 frames, bad frames (shape, dtype, NaN/inf, sizes differ),
            bad arguments.

    Shape:
        frames: each ``(H, W, 3)`` float32, own encoding. plate: ``(H, W, 3)`` float32.
        coverage: ``(H, W)`` float32 in [0, 1].
    """
    if max_frames < MIN_FRAMES:
        raise ValueError(f"max_frames is {max_frames}; give at least {MIN_FRAMES}")
    if not (math.isfinite(tolerance) and tolerance > 0):
        raise ValueError(f"tolerance is {tolerance}; give a positive code-value difference")
    store = _FrameStore(max_frames, memory_mb, spill_dir)
    try:
        for k, f in enumerate(frames):
            store.add(_check_frame(f, k), k)
        n = len(store.frames)
        if n < MIN_FRAMES:
            raise ValueError(
                f"got {store.seen} frame(s); a clean plate needs at least {MIN_FRAMES} frames "
                "in which moving things are somewhere else"
            )
        assert store.shape is not None
        h, w = store.shape[:2]
        long_side = max(h, w)
        motion = camera_motion(store.small, long_side)
        if info is not None:
            info.update(frames_used=n, camera_motion_px=motion)
        if check_motion and motion is not None:
            limit = (
                motion_tolerance_px
                if motion_tolerance_px is not None
                else max(MOTION_MIN_PX, MOTION_FRACTION * long_side)
            )
            if math.isinf(motion):
                raise NotLockedOffError(
                    "its frames cannot be tracked against each other (fast camera moves or "
                    "cuts); a clean plate needs a locked-off shot"
                )
            if motion > limit:
                raise NotLockedOffError(
                    f"the camera moves {motion:.1f} px (more than {limit:.1f} px) between "
                    "frames; a clean plate needs a locked-off shot (stabilize it first, or "
                    "pick a locked-off shot)"
                )
        noise = _noise_level(store, h, w)
        if info is not None:
            info["noise"] = noise
        tau = max(tolerance, NOISE_K * noise)
        plate = np.empty((h, w, 3), np.float32)
        coverage = np.empty((h, w), np.float32)
        rows = max(1, int(BLOCK_MB * 2**20 / (n * w * 3 * 4 * 3)))
        for r0 in range(0, h, rows):
            r1 = min(h, r0 + rows)
            p, c = _vote(store.rows(r0, r1), tau)
            plate[r0:r1] = p
            coverage[r0:r1] = c / n
        return plate, coverage
    finally:
        store.close()


def _check_frame(frame: Any, k: int) -> np.ndarray:
    a = np.asarray(frame)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"frame {k} has shape {a.shape}; give (H, W, 3) RGB frames")
    if not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"frame {k} has dtype {a.dtype}; give float32 frames")
    if min(a.shape[:2]) < 8:
        raise ValueError(f"frame {k} is {a.shape[1]}x{a.shape[0]}; give frames of 8x8 or more")
    a = np.asarray(a, np.float32)
    if not np.isfinite(a).all():
        raise ValueError(f"frame {k} holds NaN or infinite values; give finite pixel values")
    return a


# --------------------------------------------------------------------------------------------
# For a catalog shot


def _read_picks(path: Path, fps: str | None, indices: list[int]) -> Iterator[np.ndarray]:
    """Frames ``indices`` (sorted): decoded in one pass when dense, by seeking when sparse."""
    with open_media(path, fps=parse_rate(fps or "24")) as reader:
        span = indices[-1] - indices[0] + 1
        if span <= 6 * len(indices):
            wanted = set(indices)
            for i, frame in reader.iter_frames(indices[0], indices[-1] + 1):
                if i in wanted:
                    yield frame
        else:
            for i in indices:
                yield reader.read(i)


def _write_exr(path: Path, image: np.ndarray, attrs: dict[str, Any]) -> None:
    spec = oiio.ImageSpec(image.shape[1], image.shape[0], 3, "half")
    spec.attribute("compression", "zip")
    for k, v in attrs.items():
        spec.attribute(k, v)
    with atomic_path(path) as tmp:
        o = oiio.ImageOutput.create(str(tmp))
        if o is None or not o.open(str(tmp), spec):
            raise MediaError(f"{path}: cannot write EXR ({oiio.geterror()})")
        ok = o.write_image(np.ascontiguousarray(image, dtype=np.float32))
        o.close()
        if not ok:
            raise MediaError(f"{path}: EXR write failed ({o.geterror()})")


def make_plate(
    project: Project,
    shot: Shot | str,
    out: Path | None = None,
    frames: int = MAX_FRAMES,
    min_coverage: float = MIN_COVERAGE,
) -> dict[str, Any]:
    """Make and write the clean plate of a locked-off catalog shot.

    Args:
        project: the open project.
        shot: a catalog shot, or its name / id.
        out: the plate's path (``.exr``); default ``renders/plates/<shot>.plate.exr``. The
            coverage goes beside it as ``<stem>.coverage.png`` (16-bit, 65535 = every frame).
        frames: frames sampled over the shot.
        min_coverage: pixels agreed on by fewer than this share of frames count as uncovered.

    Returns:
        JSON-able report: paths, frames used, camera motion, coverage statistics.

    Raises:
        NotLockedOffError: the camera moves.
        RushesError: unknown shot, too short, unreadable, or a bad output path.
    """
    if out is not None and Path(out).suffix.lower() != ".exr":
        raise RushesError(f"output {out} is not an .exr; give a path ending in .exr")
    if not 0.0 <= min_coverage <= 1.0:
        raise RushesError(f"min coverage {min_coverage} is not in [0, 1]")
    with project.session() as s:
        row = s.get(Shot, shot.id) if isinstance(shot, Shot) else find_shot(s, shot)
        if row is None:
            raise RushesError(f"shot {getattr(shot, 'name', shot)} is no longer in the catalog")
        name, start, end = row.name, row.start, row.end
        space = shot_colorspace(row, project.settings.color.input_colorspace)
        path, fps = Path(row.clip.path), row.clip.fps
        label = ((row.analysis or {}).get("motion") or {}).get("label")
    n_frames = end - start
    if n_frames < MIN_FRAMES:
        raise RushesError(
            f"shot {name} has {n_frames} frame(s); a clean plate needs at least {MIN_FRAMES}"
        )
    count = max(MIN_FRAMES, min(frames, n_frames))
    indices = sorted({round(float(i)) for i in np.linspace(start, end - 1, count)})
    info: dict[str, Any] = {}
    try:
        plate, coverage = clean_plate(
            _read_picks(path, fps, indices),
            max_frames=count,
            info=info,
            spill_dir=project.path("cache"),
        )
    except NotLockedOffError as e:
        seen = f" (ingest classed it '{label}')" if label and label != "static" else ""
        raise NotLockedOffError(f"shot {name}{seen}: {e}") from None
    except ValueError as e:
        raise RushesError(f"cannot make a plate of {name}: {e}") from None
    safe = name.replace("#", "_").replace("/", "_")
    plate_path = (
        Path(out) if out is not None else project.path("renders", "plates", f"{safe}.plate.exr")
    )
    cov_path = plate_path.with_name(
        plate_path.name[: -len(".exr")].removesuffix(".plate") + ".coverage.png"
    )
    linear = convert(plate, space, WORKING_SPACE)
    uncovered = float((coverage < min_coverage).mean())
    _write_exr(
        plate_path,
        linear,
        {
            "rushes:shot": name,
            "rushes:frames": str(info.get("frames_used", 0)),
            "rushes:colorspace": WORKING_SPACE,
            "rushes:uncovered": f"{uncovered:.6f}",
        },
    )
    ok, png = cv2.imencode(".png", np.round(np.clip(coverage, 0, 1) * 65535).astype(np.uint16))
    if not ok:
        raise MediaError(f"{cov_path}: cannot encode the coverage PNG")
    write_bytes_atomic(cov_path, png.tobytes())
    motion = info.get("camera_motion_px")
    report: dict[str, Any] = {
        "shot": name,
        "plate": str(plate_path),
        "coverage": str(cov_path),
        "colorspace": WORKING_SPACE,
        "source_space": space,
        "size": [int(plate.shape[1]), int(plate.shape[0])],
        "frames_used": int(info.get("frames_used", 0)),
        "camera_motion_px": None if motion is None else round(float(motion), 3),
        "noise": round(float(info.get("noise", 0.0)), 6),
        "coverage_mean": round(float(coverage.mean()), 4),
        "uncovered_fraction": round(uncovered, 6),
        "min_coverage": min_coverage,
    }
    project.audit("plate", f"shot {name}", {k: v for k, v in report.items() if k != "shot"})
    return report
