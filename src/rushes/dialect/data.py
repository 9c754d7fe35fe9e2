"""Training data for the plate network: triples of consecutive frames cut into crops.

:func:`plan_sources` picks the catalog's usable clips and holds whole clips out for validation
(never frames of a clip used in training). :func:`cut_crops` streams one clip (never holding
more than three frames) and cuts square crops of frame triples ``(t - 1, t, t + 1)`` inside a
shot at evenly spread moments. Crops of large frames are cut from a half-size copy half of the
time, so the network also sees wider context and larger motions.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from sqlalchemy import select

from rushes.dialect.align import camera_homography, warp_to
from rushes.errors import MediaError, ModelError
from rushes.media import open_media
from rushes.project import Clip, Project
from rushes.project.settings import parse_rate

CHANNELS = 15
"""A crop holds five RGB images: the previous frame as photographed (0-2) and aligned to this
one by the camera's global motion (3-5), this frame (6-8), the next frame aligned (9-11) and as
photographed (12-14). The masked task learns on the aligned neighbours, the middle frame on the
raw ones (the middle frame is unknown, so nothing can be aligned to it)."""
ALIGNED_9 = [3, 4, 5, 6, 7, 8, 9, 10, 11]
"""Channels of the (previous, this, next) triple with aligned neighbours."""
RAW_9 = [0, 1, 2, 6, 7, 8, 12, 13, 14]
"""Channels of the triple as photographed."""


@dataclass
class Source:
    """One clip as training data: where it is and which frame ranges are shots."""

    clip_id: int
    name: str
    path: str
    checksum: str
    fps: str | None
    width: int
    height: int
    frames: int
    shots: list[tuple[int, int]]
    role: str = "train"  # train | validation
    crops: int = 0
    moments: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the data manifest's row)."""
        return asdict(self)

    @property
    def usable_frames(self) -> int:
        """Frames that have both neighbours in the same shot."""
        return sum(max(0, e - s - 2) for s, e in self.shots)


def plan_sources(project: Project, holdout: float = 0.2, seed: int = 0) -> list[Source]:
    """The catalog's clips usable for learning, a share of them marked for validation.

    The validation clips are chosen by a hash of their checksum and ``seed`` (stable when
    clips are added), at least one, and never all.

    Raises:
        ModelError: no clips, or fewer than two usable ones (one must be held out).
    """
    with project.session() as s:
        clips = list(s.scalars(select(Clip).order_by(Clip.id)).all())
        sources = [
            Source(
                clip_id=c.id,
                name=c.name,
                path=c.path,
                checksum=c.checksum,
                fps=c.fps,
                width=c.width,
                height=c.height,
                frames=c.frames,
                shots=[(sh.start, sh.end) for sh in c.shots],
                extra={"bit_depth": c.bit_depth},
            )
            for c in clips
            if c.status in ("ok", "warning") and c.kind != "still"
        ]
    if not clips:
        raise ModelError("no clips ingested; run 'rushes ingest' on the production's footage first")
    sources = [x for x in sources if x.usable_frames >= 3 and _reachable(x.path)]
    if len(sources) < 2:
        raise ModelError(
            f"too little footage to learn from: {len(sources)} usable clip(s) of 5+ frames; "
            "learning needs at least two (whole clips are held out for validation); ingest more"
        )

    def rank(x: Source) -> str:
        return hashlib.sha256(f"{seed}:{x.checksum}".encode()).hexdigest()

    order = sorted(sources, key=rank)
    n_val = min(len(sources) - 1, max(1, round(holdout * len(sources))))
    for x in order[:n_val]:
        x.role = "validation"
    return sources


def _reachable(path: str) -> bool:
    """The original is there (a movie file, or the folder of an image sequence's pattern)."""
    p = Path(path)
    return p.exists() or (("%" in p.name or "#" in p.name) and p.parent.is_dir())


def allot(sources: list[Source], total: int) -> list[int]:
    """Moments (frame triples) to cut from each source, ``total`` in all, by usable frames
    (every source gets at least one, none more than it has)."""
    weights = np.array([x.usable_frames for x in sources], np.float64)
    raw = np.maximum(1, np.floor(total * weights / max(weights.sum(), 1)))
    return [int(min(r, x.usable_frames)) for r, x in zip(raw, sources, strict=True)]


def _moments(src: Source, count: int) -> list[int]:
    """``count`` middle-frame indices spread evenly over the shots' inner frames."""
    inner = np.concatenate(
        [np.arange(s + 1, e - 1) for s, e in src.shots if e - s >= 3] or [np.zeros(0, int)]
    )
    if inner.size == 0 or count <= 0:
        return []
    picks = np.linspace(0, inner.size - 1, min(count, inner.size)).round().astype(int)
    return sorted({int(inner[i]) for i in picks})


def cut_crops(
    src: Source, count: int, size: int, per_moment: int, seed: int, dtype: str = "uint16"
) -> np.ndarray:
    """Crops of frame triples from one clip.

    Args:
        src: the clip.
        count: moments (triples) to cut.
        size: crop side, pixels.
        per_moment: crops per moment (different places in the frame).
        seed: places are drawn from ``seed`` and the clip's checksum.
        dtype: ``uint8`` or ``uint16`` storage (16 bits keep 10/12-bit sources).

    Returns:
        ``(N, 15, size, size)`` of ``dtype`` (:data:`CHANNELS`), RGB in the clip's own
        encoding scaled to the integer range. ``N`` may be 0 (a clip smaller than a crop).

    Raises:
        MediaError: the clip cannot be read.
    """
    scale = 65535.0 if dtype == "uint16" else 255.0
    rng = np.random.default_rng([seed, int(src.checksum, 16) & 0xFFFFFFFF])
    wanted = set(_moments(src, count))
    out: list[np.ndarray] = []
    ring: dict[int, np.ndarray] = {}
    with open_media(Path(src.path), fps=parse_rate(src.fps or "24"), threads=1) as reader:
        for s, e in src.shots:
            if not any(s < t < e - 1 for t in wanted):
                continue
            last = max(t for t in wanted if s < t < e - 1) + 2
            for i, frame in reader.iter_frames(s, min(e, last)):
                ring[i] = frame
                ring.pop(i - 3, None)
                t = i - 1
                if t in wanted and t - 1 in ring:
                    out.extend(_crops_of(ring[t - 1], ring[t], frame, size, per_moment, rng))
            ring.clear()
    if not out:
        return np.zeros((0, CHANNELS, size, size), dtype)
    return np.clip(np.stack(out) * scale + 0.5, 0, scale).astype(dtype)


def _crops_of(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, size: int, n: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """``n`` random crops of one moment (float32 ``(15, size, size)`` each; see
    :data:`CHANNELS`). Only the crops are warped, never the whole frame."""
    h_a, h_c = camera_homography(a, b), camera_homography(c, b)
    h, w = b.shape[:2]
    if max(h, w) >= 4 * size and rng.random() < 0.5:
        half = np.diag([0.5, 0.5, 1.0])
        h_a, h_c = half @ h_a @ np.linalg.inv(half), half @ h_c @ np.linalg.inv(half)
        a, b, c = (cv2.resize(f, (w // 2, h // 2), interpolation=cv2.INTER_AREA) for f in (a, b, c))
        h, w = b.shape[:2]
    if h < size or w < size:
        return []
    out = []
    for y, x in zip(
        rng.integers(0, h - size + 1, n), rng.integers(0, w - size + 1, n), strict=True
    ):
        shift = np.array([[1.0, 0.0, x], [0.0, 1.0, y], [0.0, 0.0, 1.0]])
        box = (slice(y, y + size), slice(x, x + size))
        parts = [
            a[box],
            warp_to(a, h_a @ shift, (size, size)),
            b[box],
            warp_to(c, h_c @ shift, (size, size)),
            c[box],
        ]
        out.append(np.concatenate(parts, axis=-1).transpose(2, 0, 1))
    return out


def _cut_job(args: tuple[Source, int, int, int, int, str]) -> tuple[int, np.ndarray | str]:
    src, count, size, per, seed, dtype = args
    try:
        return src.clip_id, cut_crops(src, count, size, per, seed, dtype)
    except MediaError as e:
        return src.clip_id, str(e)


def build_bank(
    sources: list[Source],
    moments: int,
    size: int,
    per_moment: int,
    seed: int,
    workers: int = 2,
    dtype: str = "uint16",
    progress: Any = None,
) -> np.ndarray:
    """Crops from all ``sources`` (in parallel worker processes), concatenated.

    ``sources`` get their ``crops``/``moments`` counts filled in; a clip that cannot be read
    is skipped with its error in ``extra["error"]``.

    Returns:
        ``(N, 15, size, size)`` of ``dtype``.
    """
    counts = allot(sources, moments)
    jobs = [(s, n, size, per_moment, seed, dtype) for s, n in zip(sources, counts, strict=True)]
    by_id = {s.clip_id: s for s in sources}
    parts: list[np.ndarray] = []
    if workers > 1 and len(jobs) > 1:
        ctx = mp.get_context("forkserver")  # as ingest: never fork a process holding torch
        ctx.set_forkserver_preload(["rushes.dialect.data"])
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx) as pool:
            results = list(_tracked(pool.map(_cut_job, jobs), progress))
    else:
        results = list(_tracked(map(_cut_job, jobs), progress))
    for (clip_id, res), n in zip(results, counts, strict=True):
        src = by_id[clip_id]
        if isinstance(res, str):
            src.extra["error"] = res
            continue
        src.crops, src.moments = int(res.shape[0]), min(n, src.usable_frames)
        parts.append(res)
    if not parts:
        return np.zeros((0, CHANNELS, size, size), dtype)
    return np.concatenate(parts)


def _tracked(it: Any, progress: Any) -> Any:
    for r in it:
        if progress is not None:
            progress(1)
        yield r
