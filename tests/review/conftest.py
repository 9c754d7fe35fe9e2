"""Projects for the review server's tests: small generated dailies (and, for the browser test,
a few frames of the shared footage when it is there), ingested, with a degrain proposal."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from rushes.ingest import ingest
from rushes.media import write_h264
from rushes.ops.grain import Degrain, DegrainParams
from rushes.ops.proposals import propose
from rushes.project import Project, Shot
from tests.conftest import footage_root, textured

CLIPS = ("A001C001_261121_R1AB", "A001C002_261121_R1AB")
SHARED = "bmx-trees"  # a JPEG sequence: linked as a camera sequence for the browser test


@dataclass
class Review:
    """A project ready for review: its shots (by clip) and a pending proposal."""

    project: Project
    shots: list[str]
    pid: int


def _shared_sequence(out: Path, frames: int) -> bool:
    """Links to the first ``frames`` frames of the shared clip named like a camera sequence."""
    src = footage_root() / SHARED / "frames"
    if not src.is_dir():
        return False
    seq = out / "B001C001_261121_R2CD"
    seq.mkdir(parents=True)
    files = sorted(p for p in src.iterdir() if p.suffix.lower() in {".jpg", ".png"})[:frames]
    for i, f in enumerate(files):
        (seq / f"{seq.name}.{1001 + i:04d}{f.suffix.lower()}").symlink_to(f)
    return bool(files)


def make_review_project(root: Path, *, shared: bool = False, frames: int = 24) -> Review:
    """Generated clips (panning textures, 320x180), plus a shared clip when ``shared`` and the
    footage is there; ingested; a degrain proposal on the first shot (the shared one if any)."""
    dailies = root / "dailies"
    dailies.mkdir(parents=True)
    for k, name in enumerate(CLIPS):
        tint = np.array([1.0, 0.9 + 0.1 * k, 0.8], np.float32)
        write_h264(
            (textured(180, 320, 5 + k, t) * tint for t in range(frames)),
            dailies / f"{name}.mp4",
            fps=Fraction(24),
        )
    used_shared = shared and _shared_sequence(dailies, frames)
    project = Project.init(root / "film", fps="24")
    report = ingest(project, [dailies], workers=1)
    assert not report.failed, report.failed
    with project.session() as s:
        shots = s.scalars(select(Shot).order_by(Shot.id)).all()
        names = [sh.name for sh in shots]
        first = next((sh.name for sh in shots if sh.clip.kind == "sequence"), names[0])
    if used_shared:
        names = [first, *[n for n in names if n != first]]
    pid, _, _ = propose(project, Degrain(), names[0], DegrainParams())
    return Review(project, names, pid)


def wait_for(check: Callable[[], Any], timeout: float = 90.0, every: float = 0.2) -> Any:
    """Call ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {check}")
        time.sleep(every)
