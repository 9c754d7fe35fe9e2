"""Shared fixtures: the shared footage (skipped with a reason when absent) and generated media."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from rushes.media import write_exr_sequence, write_h264, write_prores

REPO = Path(__file__).resolve().parents[1]


def footage_root() -> Path:
    """``RUSHES_FOOTAGE`` or ``../shared/footage`` beside the repo."""
    return Path(os.environ.get("RUSHES_FOOTAGE", REPO.parent / "shared" / "footage"))


@pytest.fixture(scope="session")
def footage() -> Path:
    root = footage_root()
    if not (root / "MANIFEST.json").is_file():
        pytest.skip(f"shared footage not found at {root} (set RUSHES_FOOTAGE)")
    return root


@pytest.fixture(scope="session")
def manifest(footage: Path) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in json.loads((footage / "MANIFEST.json").read_text())}


def textured(h: int, w: int, seed: int, t: int = 0, dx: int = 3) -> np.ndarray:
    """A smooth random texture panned by ``t * dx`` pixels; float32 (H, W, 3) in [0, 1]."""
    rng = np.random.default_rng(seed)
    big = rng.random((h // 8 + 4, (w + 400) // 8 + 4, 3)).astype(np.float32)
    import cv2

    big = cv2.resize(big, (big.shape[1] * 8, big.shape[0] * 8), interpolation=cv2.INTER_CUBIC)
    x = (t * dx) % 300
    return np.clip(big[:h, x : x + w], 0, 1)


@pytest.fixture
def prores10(tmp_path: Path) -> Path:
    """A 10-bit ProRes 422 HQ clip, 12 frames 256x64, a fine ramp 8 bits cannot hold."""
    ramp = np.linspace(0.40, 0.50, 256, dtype=np.float32)
    frames = [np.tile((ramp + 0.001 * i)[None, :, None], (64, 1, 3)) for i in range(12)]
    return write_prores(
        frames,
        tmp_path / "A001C003_230115_R1AB.mov",
        fps=Fraction(24000, 1001),
        timecode="01:00:10:00",
    )


@pytest.fixture
def exr_gap(tmp_path: Path) -> Path:
    """A half-float EXR sequence 1001-1010 with frame 1005 missing; returns the pattern."""
    frames = [textured(48, 64, 1, t) * 4.0 for t in range(10)]
    write_exr_sequence(frames, tmp_path / "seq" / "plate.%04d.exr", fps=Fraction(24))
    (tmp_path / "seq" / "plate.1005.exr").unlink()
    return tmp_path / "seq" / "plate.%04d.exr"


@pytest.fixture
def h264_two_shots(tmp_path: Path) -> Path:
    """An H.264 clip of two panning shots with a hard cut at frame 30 (60 frames, 320x180)."""
    warm = np.array([1.0, 0.8, 0.55], np.float32)
    frames = [
        textured(180, 320, 1, t) if t < 30 else textured(180, 320, 2, t) * warm for t in range(60)
    ]
    return write_h264(frames, tmp_path / "B002C001_230116_R2CD.mp4", fps=Fraction(24))


@pytest.fixture
def truncated_mov(tmp_path: Path, h264_two_shots: Path) -> Path:
    """The two-shot clip with its second half cut off (as an interrupted copy leaves it)."""
    data = h264_two_shots.read_bytes()
    out = tmp_path / "C003C001_230117_R3EF.mov"
    out.write_bytes(data[: len(data) // 2])
    return out


def read_frames(
    footage: Path,
    manifest: dict[str, dict[str, Any]],
    name: str,
    indices: list[int],
    long_side: int,
) -> list[np.ndarray]:
    """Frames ``indices`` of a shared clip (video or image sequence) as float32 RGB in [0, 1],
    long side ``long_side``, read with PyAV/OpenCV directly (independent of rushes.media)."""
    entry = manifest.get(name)
    if entry is None or not (footage / entry["path"]).exists():
        pytest.skip(f"clip {name} not in the shared footage at {footage}")
    path = footage / entry["path"]
    raw: dict[int, np.ndarray] = {}
    if entry["kind"] == "video":
        with av.open(str(path)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if i in indices:
                    raw[i] = frame.to_ndarray(format="rgb24")
                if i >= max(indices):
                    break
    else:
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
        for i in indices:
            raw[i] = cv2.cvtColor(cv2.imread(str(files[i])), cv2.COLOR_BGR2RGB)
    out = []
    for i in indices:
        img = raw[i]
        s = long_side / max(img.shape[:2])
        size = (round(img.shape[1] * s), round(img.shape[0] * s))
        out.append(cv2.resize(img, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255)
    return out


def run_rushes(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the ``rushes`` command as a user would (a new process, wide terminal)."""
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "rushes", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
