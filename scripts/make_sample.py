"""Make a small set of sample dailies when the shared footage is not there.

Two scenes, two camera setups with two takes each, a clip holding two shots, a 10-bit ProRes
original and an EXR sequence, named like camera originals, plus an ALE giving scene and take.
Everything is procedural (no download): textured "sets" with a slow camera move.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from rushes.ingest.ale import AleFile, write_ale
from rushes.media import write_exr_sequence, write_h264, write_prores

W, H, N = 384, 216, 48


def set_plate(seed: int, hue: float) -> np.ndarray:
    """A wide textured 'set' (float32 (H, 2W, 3) display RGB in [0, 1])."""
    rng = np.random.default_rng(seed)
    base = rng.random((H // 12 + 2, 2 * W // 12 + 2, 3)).astype(np.float32)
    img = cv2.resize(base, (2 * W + 24, H + 24), interpolation=cv2.INTER_CUBIC)[:H, : 2 * W]
    tint = np.array([0.6 + 0.4 * np.cos(hue), 0.6, 0.6 + 0.4 * np.sin(hue)], np.float32)
    img = np.clip(0.15 + 0.7 * img * tint, 0, 1)
    for _ in range(6):  # some hard-edged props so setups have structure
        x, y = int(rng.integers(0, 2 * W - 60)), int(rng.integers(20, H - 60))
        cv2.rectangle(img, (x, y), (x + 50, y + 40), tuple(float(c) for c in rng.random(3)), -1)
    return img


def take(plate: np.ndarray, seed: int, speed: float, person: bool = True) -> list[np.ndarray]:
    """Frames of one take: a slow pan over the set, a 'performer' disc walking, sensor noise."""
    rng = np.random.default_rng(seed)
    frames = []
    for t in range(N):
        x = int(200 + speed * t)
        f = plate[:, x : x + W].copy()
        if person:
            cx = int(W * 0.3 + t * 2)
            cv2.circle(f, (cx, H // 2), 26, (0.8, 0.62, 0.5), -1)
            cv2.rectangle(f, (cx - 22, H // 2 + 24), (cx + 22, H), (0.2, 0.25, 0.5), -1)
        f += rng.normal(0, 0.01, f.shape).astype(np.float32)
        frames.append(np.clip(f, 0, 1))
    return frames


def main(out: Path) -> Path:
    """Write the sample dailies into ``out`` and return the ALE path."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    plates = {"A": set_plate(1, 0.3), "B": set_plate(2, 2.2), "C": set_plate(3, 4.0)}
    clips = [
        ("A001C001_261121_R1AB", "A", 1, "12", "1"),
        ("A001C002_261121_R1AB", "A", 2, "12", "2"),
        ("B001C001_261121_R2CD", "B", 3, "12", "1"),
        ("B001C002_261121_R2CD", "B", 4, "12", "2"),
    ]
    for name, setup, seed, scene, tk in clips:
        frames = take(plates[setup], seed, 1.5)
        if name == "A001C002_261121_R1AB":  # this take's white balance and exposure drifted
            frames = [np.clip(f * np.array([0.55, 0.62, 0.78], np.float32), 0, 1) for f in frames]
        write_h264(
            frames,
            out / f"{name}.mp4",
            fps=Fraction(24),
            timecode=f"1{seed}:00:00:00",
        )
        rows.append(
            {
                "Name": name,
                "Source File": f"{name}.mp4",
                "Scene": scene,
                "Take": tk,
                "Camera": name[0],
                "Tape": name[:4],
            }
        )
    # a 10-bit ProRes original holding two shots (a hard cut at frame 24)
    two = take(plates["C"], 5, 1.0)[:24] + take(plates["A"], 6, -1.0)[24:]
    write_prores(two, out / "A002C001_261121_R3EF.mov", fps=Fraction(24), timecode="14:00:00:00")
    rows.append(
        {
            "Name": "A002C001_261121_R3EF",
            "Source File": "A002C001_261121_R3EF.mov",
            "Scene": "14",
            "Take": "1",
            "Camera": "A",
            "Tape": "A002",
        }
    )
    # an EXR plate (scene-linear half float)
    lin = [np.power(f, 2.2) for f in take(plates["C"], 7, 0.5, person=False)[:24]]
    write_exr_sequence(lin, out / "plates" / "C001C001_261121_R4GH.%04d.exr", fps=Fraction(24))
    cols = ["Name", "Source File", "Scene", "Take", "Camera", "Tape"]
    heading = {"FIELD_DELIM": "TABS", "VIDEO_FORMAT": "CUSTOM", "FPS": "24"}
    ale = out / "dailies.ale"
    write_ale(ale, AleFile(heading=heading, columns=cols, rows=rows))
    return ale


if __name__ == "__main__":
    print(main(Path(sys.argv[1] if len(sys.argv) > 1 else "demo/dailies")))
