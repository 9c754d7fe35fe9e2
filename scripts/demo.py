"""`make demo`: set up a project and run the main job on sample dailies.

Uses the shared footage beside the repo (``RUSHES_FOOTAGE`` or ``../shared/footage``) when it is
there, presented as camera originals through symbolic links (the originals are never copied or
written); otherwise makes a small procedural sample of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "demo"
RUSHES = [sys.executable, "-m", "rushes"]

# Three takes of one locked-off setup, cut from one shared clip into the demo's own dailies
# folder (re-encoded there; the shared original is only read). Take 2 is given the kind of
# drift a day brings (most of a stop under, a cooler white balance) for the look tools.
TAKES = (
    "face_woman_lp_d3",
    "11",
    ("E001C001_261121_R5IJ", "E001C002_261121_R5IJ", "E001C003_261121_R5IJ"),
)
DRIFT = (0.52, 0.6, 0.75)  # per-channel gains on display values

# (shared clip, camera-roll name, scene, take): each presented through a symbolic link
PICKS = [
    ("talkinghead_vr3_woman_flag", "A001C001_261121_R1AB", "7", "1"),
    ("talkinghead_vr5_woman_glasses", "A001C002_261121_R1AB", "7", "2"),
    ("juggle_sam2", "B001C001_261121_R2CD", "8", "1"),
    ("dog_walk_sam2", "B001C002_261121_R2CD", "8", "2"),
    ("running_car", "C001C001_261121_R3EF", "9", "1"),
    ("shaky_park_walkway", "C001C002_261121_R3EF", "9", "2"),
    ("bmx-trees", "D001C001_261121_R4GH", "10", "1"),
]


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a rushes command as a user would, echoing it."""
    print(f"\n$ rushes {' '.join(args)}", flush=True)
    return subprocess.run(
        [*RUSHES, *args],
        cwd=DEMO / "my_film" if args[0] != "init" else DEMO,
        check=check,
        text=True,
    )


def rushes_json(*args: str) -> Any:
    """Run a rushes command quietly in the project; what it prints with ``--json``."""
    done = subprocess.run(
        [*RUSHES, *args, "--json"], cwd=DEMO / "my_film", check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout)


def shared_dailies(footage: Path, out: Path) -> Path:
    """Camera-roll-named links to shared clips, and an ALE giving scene and take."""
    from rushes.ingest.ale import AleFile, write_ale

    manifest = {c["name"]: c for c in json.loads((footage / "MANIFEST.json").read_text())}
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for clip, roll, scene, tk in PICKS:
        m = manifest[clip]
        src = footage / m["path"]
        if m["kind"] == "video":
            link = out / f"{roll}{src.suffix}"
            link.unlink(missing_ok=True)
            link.symlink_to(src)
        else:  # an image sequence: a folder of links named like a camera sequence
            seq = out / roll
            seq.mkdir(exist_ok=True)
            for i, f in enumerate(sorted(src.iterdir())):
                dst = seq / f"{roll}.{1001 + i:04d}{f.suffix.lower()}"
                if not dst.is_symlink():
                    dst.symlink_to(f)
        rows.append(
            {
                "Name": roll,
                "Scene": scene,
                "Take": tk,
                "Camera": roll[0],
                "Tape": roll[:4],
                "Comments": m["content"][:60],
            }
        )
    clip, scene, rolls = TAKES
    from rushes.media import open_media, write_h264

    with open_media(footage / manifest[clip]["path"]) as r:
        cuts = np.linspace(0, r.info.frames, len(rolls) + 1).astype(int)
        for k, roll in enumerate(rolls):
            a, b = int(cuts[k]), int(cuts[k + 1])
            gain = np.array(DRIFT if k == 1 else (1.0, 1.0, 1.0), np.float32)
            frames = (np.clip(f * gain, 0, 1) for _, f in r.iter_frames(a, b))
            write_h264(frames, out / f"{roll}.mp4", fps=r.info.fps or 24)
            rows.append(
                {
                    "Name": roll,
                    "Scene": scene,
                    "Take": str(k + 1),
                    "Camera": roll[0],
                    "Tape": roll[:4],
                    "Comments": f"{clip} frames {a}-{b - 1}",
                }
            )
    ale = out / "dailies.ale"
    write_ale(
        ale,
        AleFile(
            {"FIELD_DELIM": "TABS", "FPS": "24"},
            ["Name", "Scene", "Take", "Camera", "Tape", "Comments"],
            rows,
        ),
    )
    return ale


WIRE_ROLL = "F001C001_261121_R6KL"


def wire_take(frames: list[np.ndarray], dailies: Path, mattes: Path) -> str:
    """A locked-off take with a swinging dark rig wire in front of it (composited, so the clean
    frames are known), written to the dailies as ProRes, and the artist's matte per frame.

    Returns:
        The wire's rough region ``x,y,w,h`` for the wire finder.
    """
    import cv2

    from rushes.media import write_prores

    h, w = frames[0].shape[:2]
    mattes.mkdir(parents=True, exist_ok=True)
    out = []
    for t, f in enumerate(frames):
        m = np.zeros((h, w), np.uint8)
        x = int(w * 0.35 + 2.5 * t)
        cv2.line(m, (x, 0), (x + int(0.15 * w), h - 1), 255, 3, cv2.LINE_AA)
        a = (m.astype(np.float32) / 255)[:, :, None]
        out.append(f * (1 - a) + 0.03 * a)
        grown = cv2.dilate((m > 0).astype(np.uint8) * 255, np.ones((5, 5), np.uint8))
        cv2.imwrite(str(mattes / f"wire.{1001 + t}.png"), grown)
    write_prores(out, dailies / f"{WIRE_ROLL}.mov", fps=Fraction(24))
    # three keyframes an artist painted the wire out of by hand: examples to teach from
    examples = mattes.parent / "examples"
    for side in ("before", "after"):
        (examples / side).mkdir(parents=True, exist_ok=True)
    for n, t in enumerate((6, 22, 38), start=1):
        for side, img in (("before", out[t]), ("after", frames[t])):
            bgr = np.clip(img[:, :, ::-1] * 65535 + 0.5, 0, 65535).astype(np.uint16)
            cv2.imwrite(str(examples / side / f"{n:04d}.png"), bgr)
    x0 = int(w * 0.3)
    return f"{x0},0,{int(w * 0.35 + 2.5 * len(frames) + 0.15 * w) - x0 + 8},{h}"


def wire_plate_frames(footage: Path | None) -> list[np.ndarray]:
    """48 frames of a locked-off plate: a shared clip if there, else a procedural set."""
    if footage is not None:
        from rushes.media import open_media

        manifest = {c["name"]: c for c in json.loads((footage / "MANIFEST.json").read_text())}
        with open_media(footage / manifest["people_walkthrough_intel"]["path"]) as r:
            return [f for _, f in r.iter_frames(0, 48)]
    from make_sample import set_plate

    plate = set_plate(5, 2.0)[:, :384]
    rng = np.random.default_rng(5)
    return [
        np.clip(plate + rng.normal(0, 0.01, plate.shape).astype(np.float32), 0, 1)
        for _ in range(48)
    ]


def main() -> int:
    footage = Path(os.environ.get("RUSHES_FOOTAGE", REPO.parent / "shared" / "footage"))
    if DEMO.exists():
        shutil.rmtree(DEMO)
    dailies = DEMO / "dailies"
    if (footage / "MANIFEST.json").is_file():
        print(f"Using the shared footage at {footage} (linked, never copied)")
        ale = shared_dailies(footage, dailies)
        look = ("11", TAKES[2][1], TAKES[2][0])  # scene, drifting take, reference take
        region = wire_take(wire_plate_frames(footage), dailies, DEMO / "mattes")
    else:
        print(f"No shared footage at {footage}: making a procedural sample")
        sys.path.insert(0, str(REPO / "scripts"))
        from make_sample import main as make_sample

        ale = make_sample(dailies)
        look = ("12", "A001C002_261121_R1AB", "A001C001_261121_R1AB")
        region = wire_take(wire_plate_frames(None), dailies, DEMO / "mattes")
    sh("init", "my_film", "--fps", "24")
    sh("ingest", str(dailies), "--ale", str(ale))
    sh("ls", "clips")
    sh("ls", "shots")
    sh("ls", "setups")
    shots = rushes_json("ls", "shots")
    sh("show", shots[0]["name"])
    sh("contact-sheet", "-o", str(DEMO / "contact_sheet.png"))
    # the look: which take drifts, a proposed match, its render, CDL and LUT
    scene, shot, ref = look
    sh("continuity", "--scene", scene, "-o", str(DEMO / "continuity.png"))
    made = rushes_json("fix", "match", shot, "--to", ref)
    pid = str(made[0]["proposal"])
    sh("ls", "proposals")
    sh("render", pid, "--format", "mp4", "-o", str(DEMO / "render"))
    sh("export", "cdl", pid, "-o", str(DEMO / "match.cdl"))
    sh("export", "lut", pid, "-o", str(DEMO / "match.cube"))
    # cleanup: the wire take's grain, its removal with the artist's mattes, rendered with the
    # matte for compositors; the wire finder on a rough region; a clean plate of the take
    sh("grain", WIRE_ROLL)
    made = rushes_json("fix", "remove", WIRE_ROLL, "--mask", str(DEMO / "mattes" / "wire.####.png"))
    sh("render", str(made["proposal"]), "--format", "exr", "-o", str(DEMO / "remove"))
    sh("fix", "remove", WIRE_ROLL, "--wires", "--region", region)
    sh("plate", WIRE_ROLL, "-o", str(DEMO / "plate.exr"))
    # the project model: learned from these dailies only (a short budget for the demo), then
    # an effect taught from three hand-painted keyframes and proposed over the whole shot
    sh("learn", "--minutes", "1.5")
    sh("model", "ls")
    examples = DEMO / "examples"
    sh(
        "teach",
        "wire_paint",
        "--before",
        str(examples / "before" / "%04d.png"),
        "--after",
        str(examples / "after" / "%04d.png"),
        "--shot",
        WIRE_ROLL,
        "--minutes",
        "1",
        check=False,  # refused, and says so, if a minute did not beat the untouched frames
    )
    sh("fix", "apply-taught", "wire_paint", WIRE_ROLL, check=False)
    sh("fix", "remove", WIRE_ROLL, "--mask", str(DEMO / "mattes" / "wire.####.png"))
    creative_control(pid)
    editorial()
    review_page()
    print(
        f"\nDone. Project: {DEMO / 'my_film'}; contact sheet {DEMO / 'contact_sheet.png'}; "
        f"continuity {DEMO / 'continuity.png'}; render, CDL and LUT in {DEMO}; the wire "
        f"removal (frames + matte + provenance.json) in {DEMO / 'remove'}, the plate "
        f"{DEMO / 'plate.exr'}; the project model in {DEMO / 'my_film' / 'models'} "
        "('rushes model show')"
    )
    return 0


def guard_mattes(clip: dict[str, object], out: Path) -> tuple[Path, Path]:
    """A thin static line across the middle of the frame (over a talking head's face) and a
    small box in the top-left corner (background), at the clip's size."""
    import cv2

    w, h = int(str(clip["width"])), int(str(clip["height"]))
    out.mkdir(parents=True, exist_ok=True)
    line = np.zeros((h, w), np.uint8)
    cv2.line(line, (w // 4, h // 3), (3 * w // 4, h // 3 + h // 10), 255, max(2, w // 200))
    corner = np.zeros((h, w), np.uint8)
    cv2.rectangle(corner, (w // 40, h // 40), (w // 40 + w // 12, h // 40 + h // 12), 255, -1)
    cv2.imwrite(str(out / "over_face.png"), line)
    cv2.imwrite(str(out / "background.png"), corner)
    return out / "over_face.png", out / "background.png"


def creative_control(match_pid: str) -> None:
    """Decisions, locks, the performer guard, the audit trail and provenance."""
    clips = rushes_json("ls", "clips")
    head = next((c for c in clips if c["name"] == PICKS[0][1]), clips[0])
    shot = f"{head['name']}#1" if head["shots"] > 1 else head["name"]
    over_face, background = guard_mattes(head, DEMO / "mattes" / "guard")
    sh("proposals", "--status", "pending")
    sh("approve", match_pid, "--note", "matches the hero take")
    sh("approve", match_pid, check=False)  # refused: decided already
    sh("guard", "check", shot, "--mask", str(background), check=False)
    sh("guard", "check", shot, "--mask", str(over_face), check=False)
    sh("fix", "remove", shot, "--mask", str(over_face), check=False)  # refused unless ...
    sh(
        "fix",
        "remove",
        shot,
        "--mask",
        str(over_face),
        "--allow-performer-region",
        "--note",
        "boom shadow across the face; director signed off",
        check=False,
    )
    sh("lock", WIRE_ROLL, "--note", "picture locked")
    sh("fix", "degrain", WIRE_ROLL, check=False)  # refused: locked
    sh("unlock", WIRE_ROLL, "--note", "reopened for the wire paint")
    sh("proposals")
    sh("log", "--limit", "12")
    sh("provenance", str(DEMO / "remove"), check=False)


def editor_cut(path: Path) -> Path:
    """An EDL an editor might send: a middle stretch of three 24 fps takes from 01:00:00:00."""
    from rushes.media.timecode import frames_to_timecode, timecode_to_frames

    clips = rushes_json("ls", "clips")
    picked = [c for c in clips if c["fps"] in (None, "24")][:3]
    lines = ["TITLE: reel1", "FCM: NON-DROP FRAME", ""]
    rec = timecode_to_frames("01:00:00:00", 24)
    for k, c in enumerate(picked, start=1):
        base = timecode_to_frames(c["timecode"], 24) if c["timecode"] else 0
        a, b = c["frames"] // 4, c["frames"] // 4 + min(24, c["frames"] // 2)
        tc = [frames_to_timecode(v, 24) for v in (base + a, base + b, rec, rec + b - a)]
        reel = "".join(ch for ch in c["name"] if ch.isalnum())[:8]
        lines += [
            f"{k:03d}  {reel:8} V     C        {' '.join(tc)}",
            f"* FROM CLIP NAME:  {c['name']}",
        ]
        rec += b - a
    path.write_text("\n".join(lines) + "\n")
    return path


def editorial() -> None:
    """The editor's cut in, the cut's shots pulled for VFX, approved fixes out to the NLE."""
    sh("import-cut", str(editor_cut(DEMO / "reel1.edl")), check=False)
    sh("cuts")
    sh("pull", "--handles", "8", "-o", str(DEMO / "pulls"))
    rows = rushes_json("cuts", "reel1")["rows"]
    shot = next(r["shot"] for r in rows if r.get("shot"))
    made = rushes_json("fix", "degrain", shot)
    sh("approve", str(made["proposal"]), "--note", "grain calmer, ok for the cut")
    conform = DEMO / "conform"
    conform.mkdir(exist_ok=True)
    sh("export", "otio", "-o", str(conform / "fixes.otio"))
    sh("export", "edl", "--cut", "reel1", "-o", str(conform / "overcut.edl"))
    sh("export", "fcp7xml", "-o", str(conform / "fixes.xml"))
    sh("export", "ale", "-o", str(conform / "fixes.ale"))


def review_page() -> None:
    """Start the review server, open its page with the printed token, show it answers."""
    import re
    import time
    import urllib.error
    import urllib.request

    print("\n$ rushes review --port 0 --no-open   (started, checked, stopped)", flush=True)
    proc = subprocess.Popen(
        [*RUSHES, "review", "--port", "0", "--no-open"],
        cwd=DEMO / "my_film",
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        print(line.rstrip(), flush=True)
        m = re.search(r"(http://\S+\?token=\S+)", line)
        if m is None:
            print("the review server did not print its URL", flush=True)
            return
        url = m.group(1)
        for _ in range(50):
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    print(f"GET page with the token: HTTP {r.status}, {len(r.read())} bytes")
                    break
            except OSError:
                time.sleep(0.2)
        bare = url.split("?", 1)[0] + "api/shots"
        try:
            urllib.request.urlopen(bare, timeout=5)
        except urllib.error.HTTPError as e:
            print(f"GET {bare} without the token: HTTP {e.code} (refused)")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
