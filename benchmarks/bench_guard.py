"""Benchmark the guard's per-frame performer detection and tracking (``rushes.guard.tracking``).

Ground truth: ``tests/data/guard/faces_truth.json``, faces hand-checked on sampled frames of
the shared clips that show people (every face of at least 20 px recorded with its box and
view: frontal, profile or turned away; crowds of small faces marked as ignore regions).

For each clip, in the same run:

* ``raw``: the full detector scan of ``rushes.guard.detect`` (frontal and profile Haar
  cascades, HOG bodies) on each sampled frame on its own, what a per-frame detector without
  tracking reports;
* ``tracked``: ``track_performers`` with its defaults over the whole shot when it has at most
  ``--whole`` frames, else over the frames within +-``--window`` of each sampled frame
  (overlapping windows merged; each window starts at a different phase of the key-frame
  cycle so sampled frames fall on key and in-between frames alike; a window sees less of the
  shot than the guard does, so it tends to under-rate tracking); separate stills are each a
  one-frame shot; read at the sampled frames. One run with ``min_hits=1`` gives both the
  default and the other choice of ``min_hits`` (1: keep tracks detected once, 2: drop them),
  as ``min_hits`` only filters finished tracks.

Scores, per clip and over all clips (a ground-truth face counts when frontal or profile and
its box is at least 40 px wide; it is found when a reported box covers its centre or
overlaps it with IoU >= 0.3):

* ``face rec``: share of those faces found by a reported face box (tracked: the guard's face
  regions, grown by a quarter for hair and padded for motion);
* ``any rec``: ... by any performer region (a face box or a body): is the face protected;
* ``face prec``: share of reported face boxes that match a labelled face (any size or view);
  boxes centred in an ignore region do not count; faces under 20 px were not labelled, so a
  box on one counts as wrong (a lower bound);
* ``away``: share of turned-away and 20-40 px faces covered by any region (information).

Cost, single process, OpenCV's own threading: ms per 1920x1080 frame of the raw full scan
(the 1080p stills of ``bgmatting_handheld_clean_plate``) and of tracking with the defaults
(``juggle_sam2`` upscaled from 1280x720 to 1920x1080, frames given as float32 like
``shot_performers`` does; decoding and upscaling are not counted).

Target: tracked face recall >= 0.95 on faces >= 40 px, all clips together.

Usage:
    python benchmarks/bench_guard.py [--quick] [--whole 300] [--window 8] [--every 8]
        [--only CLIP ...] [--cost-frames 48] [--no-cost]

Prints tables and writes ``benchmarks/results/guard.json``. Without the shared footage or the
ground truth it prints one line and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, footage_root, table, write_result
from rushes.guard.detect import detect_bodies, detect_faces, iou, prepare
from rushes.guard.tracking import DEFAULT_EVERY, PerformerTracks, TrackSettings, track_performers

TRUTH = REPO / "tests" / "data" / "guard" / "faces_truth.json"
QUICK_CLIPS = (
    "talkinghead_vr4_woman_bluebg",
    "portrait_woman_outdoor_lp_s32",
    "juggle_sam2",
    "dog_walk_sam2",
    "bgmatting_handheld_clean_plate",
    "schoolgirls",
)
WINDOW, QUICK_WINDOW = 8, 4
WHOLE, QUICK_WHOLE = 300, 0
COST_CLIP = "juggle_sam2"
COST_STILLS = "bgmatting_handheld_clean_plate"
COST_SIZE = (1920, 1080)
COST_FRAMES, QUICK_COST_FRAMES = 48, 16
TARGET_RECALL = 0.95
OTHER_MIN_HITS = 2 if TrackSettings().min_hits == 1 else 1
"""The ``min_hits`` compared with the default one."""
MIN_WIDTH = 40
VISIBLE = ("frontal", "profile")

Box = tuple[float, float, float, float]


def read_frames(root: Path, clip: dict[str, Any], start: int, stop: int) -> Iterator[np.ndarray]:
    """Frames ``start <= i < stop`` (decode order; image folders sorted by name) as float32
    RGB in [0, 1] at source size, read with PyAV / OpenCV as the ground truth was made."""
    path = root / clip["path"]
    if clip["kind"] == "video":
        with av.open(str(path)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if i >= stop:
                    break
                if i >= start:
                    yield frame.to_ndarray(format="rgb24").astype(np.float32) / 255.0
    else:
        exts = {".jpg", ".jpeg", ".png"}
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in exts)
        for p in files[start:stop]:
            bgr = cv2.imread(str(p))
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


def windows(
    clip: dict[str, Any], radius: int, every: int, whole: int
) -> list[tuple[int, int, list[int]]]:
    """Frame ranges ``[a, b)`` to track and the sampled frames read from each: the whole shot
    when it has at most ``whole`` frames, else +-``radius`` around each sampled frame."""
    if not clip.get("continuous", True):
        return [(f, f + 1, [f]) for f in clip["sampled"]]
    s0, s1 = clip["shot"]
    if s1 - s0 <= whole:
        return [(s0, s1, list(clip["sampled"]))]
    out: list[tuple[int, int, list[int]]] = []
    for j, f in enumerate(clip["sampled"]):
        a, b = max(s0, f - radius - j % every), min(s1, f + radius + 1)
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b), [*out[-1][2], f])
        else:
            out.append((a, b, [f]))
    return out


def _found(box: Box, g: dict[str, Any]) -> bool:
    cx, cy = g["x"] + g["w"] / 2, g["y"] + g["h"] / 2
    inside = box[0] <= cx <= box[0] + box[2] and box[1] <= cy <= box[1] + box[3]
    return inside or iou(box, (g["x"], g["y"], g["w"], g["h"])) >= 0.3


def score(
    label: dict[str, Any], faces: list[Box], regions: list[Box], counts: dict[str, int]
) -> None:
    """Add one frame's hits and misses to ``counts``."""
    truth = label["faces"]
    for g in truth:
        if g["view"] in VISIBLE and g["w"] >= MIN_WIDTH:
            counts["faces"] += 1
            counts["face_hits"] += any(_found(b, g) for b in faces)
            counts["any_hits"] += any(_found(b, g) for b in regions)
        else:
            counts["other"] += 1
            counts["other_hits"] += any(_found(b, g) for b in regions)
    for b in faces:
        if any(_found(b, g) for g in truth):
            counts["true_boxes"] += 1
        else:
            cx, cy = b[0] + b[2] / 2, b[1] + b[3] / 2
            ignored = any(
                x <= cx <= x + w and y <= cy <= y + h for x, y, w, h in label.get("ignore", [])
            )
            counts["false_boxes"] += 0 if ignored else 1


def rates(c: dict[str, int]) -> dict[str, float | None]:
    """Recall and precision from counts (``None`` where nothing was there to count)."""

    def ratio(a: int, b: int) -> float | None:
        return a / b if b else None

    return {
        "face_recall": ratio(c["face_hits"], c["faces"]),
        "any_recall": ratio(c["any_hits"], c["faces"]),
        "face_precision": ratio(c["true_boxes"], c["true_boxes"] + c["false_boxes"]),
        "other_covered": ratio(c["other_hits"], c["other"]),
    }


def _counts() -> dict[str, int]:
    keys = ("faces", "face_hits", "any_hits", "other", "other_hits", "true_boxes", "false_boxes")
    return dict.fromkeys(keys, 0)


def _min_hits(t: PerformerTracks, need: int) -> PerformerTracks:
    """``t`` without the tracks detected fewer than ``need`` times (as ``min_hits`` does)."""
    need = min(need, t.frames)
    kept = [r for r in t.tracks if int(r.detected.sum()) >= need]
    return PerformerTracks(t.width, t.height, t.frames, kept, t.meta)


def run_clip(
    root: Path, clip: dict[str, Any], radius: int, whole: int, every: int = DEFAULT_EVERY
) -> tuple[dict[str, dict[str, int]], int]:
    """Raw and tracked counts of one clip, and the frames tracked."""
    raw, tracked, other = _counts(), _counts(), _counts()
    width, height = int(clip["width"]), int(clip["height"])
    default = TrackSettings(every=every)
    sampled = set(clip["sampled"])
    n = 0
    kept: dict[int, np.ndarray] = {}  # the sampled frames, for the raw scan

    def stream(a: int, b: int) -> Iterator[np.ndarray]:
        kept.clear()
        for i, f in enumerate(read_frames(root, clip, a, b), start=a):
            if i in sampled:
                kept[i] = f
            yield f

    for a, b, picks in windows(clip, radius, every, whole):
        # min_hits only filters finished tracks: one run keeping all gives both views
        keep_all = replace(default, min_hits=1)
        t = track_performers(stream(a, b), width, height, b - a, settings=keep_all)
        views = ((_min_hits(t, default.min_hits), tracked), (_min_hits(t, OTHER_MIN_HITS), other))
        n += b - a
        for f in picks:
            label = clip["labels"][str(f)]
            for view, counts in views:
                regions = view.regions(f - a)
                face_boxes = [(r.x, r.y, r.w, r.h) for r in regions if r.kind == "face"]
                score(label, face_boxes, [(r.x, r.y, r.w, r.h) for r in regions], counts)
            p = prepare(kept[f])
            hits = [h.box() for h in detect_faces(p)]
            bodies = [h.box() for h in detect_bodies(p)]
            score(label, hits, hits + bodies, raw)
    return {"raw": raw, "tracked": tracked, "other_min_hits": other}, n


def cost(
    root: Path, truth: dict[str, Any], n_frames: int, every: int = DEFAULT_EVERY
) -> dict[str, Any]:
    """ms per 1920x1080 frame: raw full scan and tracking with the defaults."""
    out: dict[str, Any] = {"size": list(COST_SIZE), "opencv_threads": cv2.getNumThreads()}
    stills = truth["clips"].get(COST_STILLS)
    if stills and (root / stills["path"]).exists():
        times = []
        for f in read_frames(root, stills, 0, len(stills["sampled"])):
            if f.shape[1::-1] != COST_SIZE:
                continue
            t0 = time.perf_counter()
            detect_faces(p := prepare(f))
            detect_bodies(p)
            times.append(time.perf_counter() - t0)
        if times:
            out["raw_full_scan_ms"] = 1e3 * float(np.mean(times))
            out["raw_frames"] = len(times)
            out["raw_source"] = f"{COST_STILLS} ({len(times)} stills, native 1920x1080)"
    clip = truth["clips"].get(COST_CLIP)
    if clip and (root / clip["path"]).exists():
        outside = [0.0]

        def upscaled() -> Iterator[np.ndarray]:
            it = read_frames(root, clip, 0, n_frames)
            while True:
                t0 = time.perf_counter()
                f = next(it, None)
                if f is None:
                    return
                f = cv2.resize(f, COST_SIZE, interpolation=cv2.INTER_LINEAR)
                outside[0] += time.perf_counter() - t0
                yield f

        t0 = time.perf_counter()
        t = track_performers(upscaled(), *COST_SIZE, n_frames, every=every)
        spent = time.perf_counter() - t0 - outside[0]
        out["tracked_ms"] = 1e3 * spent / max(t.frames, 1)
        out["tracked_frames"] = t.frames
        out["tracked_every"] = every
        out["tracked_source"] = f"{COST_CLIP} frames 0-{t.frames - 1}, 1280x720 upscaled"
        out["tracked_faces_per_frame"] = float(np.mean([len(t.faces(i)) for i in range(t.frames)]))
    return out


def _fmt(v: float | None, spec: str = ".3f") -> str:
    return "-" if v is None else format(v, spec)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the tables, write ``benchmarks/results/guard.json``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 clips, window 4, 16 cost frames")
    parser.add_argument(
        "--window", type=int, default=0, help=f"frames each side (default {WINDOW})"
    )
    parser.add_argument(
        "--whole", type=int, default=WHOLE, help="track whole shots up to this many frames"
    )
    parser.add_argument(
        "--every", type=int, default=DEFAULT_EVERY, help="tracker key-frame spacing to compare"
    )
    parser.add_argument("--only", nargs="*", default=None, help="clip names to run")
    parser.add_argument("--cost-frames", type=int, default=0, help=f"default {COST_FRAMES}")
    parser.add_argument("--no-cost", action="store_true", help="skip the 1080p cost part")
    args = parser.parse_args(argv)

    root = footage_root()
    if not (root / "MANIFEST.json").is_file() or not TRUTH.is_file():
        print(f"bench_guard: no footage at {root} or no {TRUTH.name}; skipped")
        return 0
    truth = json.loads(TRUTH.read_text())
    names = list(args.only) if args.only else list(truth["clips"])
    if args.quick and not args.only:
        names = [n for n in names if n in QUICK_CLIPS]
    names = [
        n for n in names if n in truth["clips"] and (root / truth["clips"][n]["path"]).exists()
    ]
    if not names:
        print(f"bench_guard: none of the ground-truth clips under {root}; skipped")
        return 0
    radius = args.window or (QUICK_WINDOW if args.quick else WINDOW)
    whole = QUICK_WHOLE if args.quick else args.whole
    load_before = os.getloadavg()

    t_start = time.perf_counter()
    per_clip: dict[str, Any] = {}
    totals = {"raw": _counts(), "tracked": _counts(), "other_min_hits": _counts()}
    frames_tracked = 0
    for name in names:
        clip = truth["clips"][name]
        t0 = time.perf_counter()
        counts, n = run_clip(root, clip, radius, whole, args.every)
        frames_tracked += n
        for k in totals:
            for key, v in counts[k].items():
                totals[k][key] += v
        per_clip[name] = {
            "size": [clip["width"], clip["height"]],
            "sampled": len(clip["sampled"]),
            "frames_tracked": n,
            "counts": counts,
            "raw": rates(counts["raw"]),
            "tracked": rates(counts["tracked"]),
            "other_min_hits": rates(counts["other_min_hits"]),
        }
        print(f"  {name}: {n} frames tracked, {time.perf_counter() - t0:.1f} s", flush=True)

    headers = [
        "clip",
        "size",
        "faces>=40",
        "raw face rec",
        "trk face rec",
        "raw any rec",
        "trk any rec",
        "raw face prec",
        "trk face prec",
        "trk away",
    ]
    rows = []
    for name, r in [*per_clip.items(), ("ALL", None)]:
        c = totals if r is None else r["counts"]
        raw, trk = rates(c["raw"]), rates(c["tracked"])
        size = "" if r is None else "{}x{}".format(*r["size"])
        rows.append(
            [
                name,
                size,
                c["tracked"]["faces"],
                _fmt(raw["face_recall"]),
                _fmt(trk["face_recall"]),
                _fmt(raw["any_recall"]),
                _fmt(trk["any_recall"]),
                _fmt(raw["face_precision"]),
                _fmt(trk["face_precision"]),
                _fmt(trk["other_covered"]),
            ]
        )
    print()
    print(
        f"Faces on sampled frames (tracked: whole shots of up to {whole} frames, "
        f"else +-{radius} frames around each sampled frame)"
    )
    print(table(headers, rows))

    print()
    print("Tracks detected only once: kept (min_hits=1) or dropped (min_hits=2)")
    rows = []
    default_hits = TrackSettings().min_hits
    for label, key in (
        (f"min_hits={default_hits} (default)", "tracked"),
        (f"min_hits={OTHER_MIN_HITS}", "other_min_hits"),
    ):
        r = rates(totals[key])
        rows.append(
            [
                label,
                _fmt(r["face_recall"]),
                _fmt(r["any_recall"]),
                _fmt(r["face_precision"]),
                totals[key]["false_boxes"],
            ]
        )
    print(table(["tracks", "face rec", "any rec", "face prec", "false boxes"], rows))

    cost_result: dict[str, Any] = {}
    if not args.no_cost:
        n_cost = args.cost_frames or (QUICK_COST_FRAMES if args.quick else COST_FRAMES)
        cost_result = cost(root, truth, n_cost, args.every)
        print()
        print(
            table(
                ["cost per 1920x1080 frame", "ms", "source"],
                [
                    [
                        "raw full scan (faces + bodies)",
                        _fmt(cost_result.get("raw_full_scan_ms"), ".0f"),
                        cost_result.get("raw_source", "-"),
                    ],
                    [
                        f"tracked (full scan every {cost_result.get('tracked_every')})",
                        _fmt(cost_result.get("tracked_ms"), ".0f"),
                        cost_result.get("tracked_source", "-"),
                    ],
                ],
            )
        )
    overall = rates(totals["tracked"])
    recall = overall["face_recall"]
    met = recall is not None and recall >= TARGET_RECALL
    print()
    print(
        table(
            ["check", "value", "target", "met"],
            [
                [
                    "tracked face recall, faces >= 40 px, all clips",
                    _fmt(recall),
                    f">= {TARGET_RECALL}",
                    "met" if met else "not met",
                ]
            ],
        )
    )
    total = time.perf_counter() - t_start
    load_after = os.getloadavg()
    print(f"\n{len(per_clip)} clips, {frames_tracked} frames tracked in {total:.0f} s")
    print(f"load average before / after: {load_before[0]:.1f} / {load_after[0]:.1f}")
    path = write_result(
        "guard",
        {
            "truth": {"file": str(TRUTH.relative_to(REPO)), "date": truth.get("date")},
            "clips": per_clip,
            "overall": {
                "raw": rates(totals["raw"]),
                "tracked": overall,
                "other_min_hits": rates(totals["other_min_hits"]),
                "counts": totals,
            },
            "cost": cost_result,
            "target": {"face_recall": TARGET_RECALL, "min_width": MIN_WIDTH, "met": met},
            "settings": {
                "every": args.every,
                "window": radius,
                "whole": whole,
                "quick": args.quick,
                "views": list(VISIBLE),
                "tracker": repr(TrackSettings()),
            },
            "load_average": {"before": load_before, "after": load_after},
            "seconds": total,
        },
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
