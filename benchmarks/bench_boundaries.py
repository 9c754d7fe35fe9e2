"""Benchmark shot-boundary detection on edits built from the shared footage.

Builds test edits from real clips of ``shared/footage`` (hard cuts, 12-frame dissolves, fades
through black, dips to white), encodes each as H.264 MP4 in a temporary folder, then runs, in
the same run, ``rushes.analysis.boundaries`` and PySceneDetect's ContentDetector and
AdaptiveDetector (both with their defaults) on the file. A detection within ``--tolerance``
frames of a true boundary is a true positive (one-to-one matching); a dip to white is expected
as a boundary of kind ``"fade"`` (a dip to a uniform colour). Prints a plain-text table and
writes ``benchmarks/results/boundaries.json`` atomically.

Usage:
    python benchmarks/bench_boundaries.py [--seeds 0 1] [--clips 13] [--tolerance 2]

The footage root is ``$RUSHES_FOOTAGE`` or ``shared/footage`` beside the repository; without
it the benchmark prints why and exits 0.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import footage_root

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:  # run from a checkout without an installed package
    sys.path.append(str(REPO / "src"))
RESULTS_PATH = REPO / "benchmarks" / "results" / "boundaries.json"

#: Clips never used: ``running_car`` is itself an edit with cuts.
EXCLUDED_CLIPS = frozenset({"running_car"})
#: Transition kinds of the edits; ``"white"`` is a dip to white (reported as a ``"fade"``).
KINDS = ("cut", "dissolve", "fade", "white")
#: The kind a detector should report for each transition kind (where it differs).
REPORTED_KIND = {"white": "fade"}
EDIT_SIZE = (640, 360)  # width, height of the edit
EDIT_FPS = 24
DISSOLVE_FRAMES = 12
FADE_OUT_FRAMES = 8
FADE_IN_FRAMES = 8
WHITE_FRAMES = (4, 2, 4)  # a dip to white: frames mixing up to white, white, mixing down
SPAN_RANGE = (44, 76)  # frames taken from each clip (inclusive range)
MAX_START = 360  # latest first frame of a span (bounds decode time on long clips)
ANALYSIS_WIDTH = 256  # our detector's analysis size (long side of a 16:9 edit)


# --------------------------------------------------------------------------------------------
# Building the edit


@dataclass(frozen=True)
class Truth:
    """One true boundary of a built edit (frame = cut frame or transition centre)."""

    frame: int
    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Piece:
    """The span of one source clip used in an edit."""

    name: str
    first: int
    length: int


@dataclass
class Edit:
    """A built test edit: its file, pieces, true boundaries and frame count."""

    path: Path
    seed: int
    pieces: list[Piece] = field(default_factory=list)
    truths: list[Truth] = field(default_factory=list)
    frames: int = 0


def video_clips(root: Path) -> list[dict[str, Any]]:
    """Video clips of the manifest usable in an edit (existing, long enough, no own cuts)."""
    manifest = json.loads((root / "MANIFEST.json").read_text())
    clips = []
    for entry in manifest:
        if entry.get("kind") != "video" or entry["name"] in EXCLUDED_CLIPS:
            continue
        if int(entry.get("frames") or 0) < SPAN_RANGE[0] + 2 or not (root / entry["path"]).exists():
            continue
        clips.append(entry)
    return clips


def _fit_frame(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Centre-crop an RGB uint8 frame to the aspect of ``size`` and resize it to ``size``.

    Shape:
        rgb: (H, W, 3) uint8 -> (size[1], size[0], 3) uint8
    """
    h, w = rgb.shape[:2]
    tw, th = size
    if w * th > h * tw:  # too wide: crop the width
        cw = max(1, round(h * tw / th))
        x0 = (w - cw) // 2
        rgb = rgb[:, x0 : x0 + cw]
    else:
        ch = max(1, round(w * th / tw))
        y0 = (h - ch) // 2
        rgb = rgb[y0 : y0 + ch]
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def read_span(path: Path, first: int, length: int, size: tuple[int, int]) -> list[np.ndarray]:
    """Decode ``length`` frames from ``first`` with PyAV, fitted to ``size`` (uint8 RGB)."""
    frames: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for i, frame in enumerate(container.decode(stream)):
            if i < first:
                continue
            frames.append(_fit_frame(frame.to_ndarray(format="rgb24"), size))
            if len(frames) >= length:
                break
    return frames


def _transition_kinds(rng: np.random.Generator, n: int) -> list[str]:
    kinds = [KINDS[i % len(KINDS)] for i in range(n)]
    return [kinds[i] for i in rng.permutation(n)]


def _towards_white(rgb: np.ndarray, alpha: float) -> np.ndarray:
    """Mix an RGB uint8 frame with white (``alpha`` of white), linear in code values.

    Shape:
        rgb: (H, W, 3) uint8 -> (H, W, 3) uint8
    """
    mix = (1.0 - alpha) * rgb.astype(np.float32) + alpha * 255.0
    return np.clip(np.rint(mix), 0, 255).astype(np.uint8)


def build_edit(root: Path, seed: int, n_clips: int, out_path: Path) -> Edit:
    """Build one seeded test edit and encode it as H.264 MP4 at ``out_path``.

    Clips and their order, span lengths and first frames, and the order of the transition kinds
    all come from ``seed``. Cuts join two spans; a dissolve cross-fades the last 12 frames of one
    span with the first 12 of the next (linear in code values); a fade takes the last 8 frames of
    one span down to black and the first 8 of the next up from black; a dip to white mixes the
    last 4 frames of one span up to white (20 % to 80 %), holds 2 white frames and mixes the first
    4 of the next down from white (80 % to 20 %).
    """
    rng = np.random.default_rng(seed)
    pool = video_clips(root)
    chosen = [pool[i] for i in rng.permutation(len(pool))[: min(n_clips, len(pool))]]
    kinds = _transition_kinds(rng, len(chosen) - 1)
    edit = Edit(path=out_path, seed=seed)

    out = av.open(str(out_path), "w")
    stream = out.add_stream("libx264", rate=EDIT_FPS)
    stream.width, stream.height = EDIT_SIZE
    stream.pix_fmt = "yuv420p"
    stream.options = {"crf": "18", "preset": "veryfast"}
    written = 0

    def write(rgb: np.ndarray) -> None:
        nonlocal written
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        for packet in stream.encode(frame):
            out.mux(packet)
        written += 1

    pending: list[np.ndarray] = []  # frames of the previous span not written yet
    for i, clip in enumerate(chosen):
        total = int(clip["frames"])
        length = int(rng.integers(SPAN_RANGE[0], SPAN_RANGE[1] + 1))
        length = min(length, total - 1)
        first = int(rng.integers(0, max(1, min(MAX_START, total - length)) + 1))
        frames = read_span(root / clip["path"], first, length, EDIT_SIZE)
        edit.pieces.append(Piece(clip["name"], first, len(frames)))
        if i == 0:
            pending = frames
            continue
        kind = kinds[i - 1]
        if kind == "cut":
            for f in pending:
                write(f)
            edit.truths.append(Truth(written, "cut", written, written))
            rest = frames
        elif kind == "dissolve":
            n = DISSOLVE_FRAMES
            for f in pending[:-n]:
                write(f)
            start = written
            for j in range(n):
                alpha = (j + 1) / (n + 1)
                mix = (1.0 - alpha) * pending[len(pending) - n + j] + alpha * frames[j]
                write(np.clip(np.rint(mix), 0, 255).astype(np.uint8))
            edit.truths.append(Truth(start + n // 2, "dissolve", start, written - 1))
            rest = frames[n:]
        elif kind == "white":
            n_up, n_hold, n_down = WHITE_FRAMES
            for f in pending[:-n_up]:
                write(f)
            start = written
            for j in range(n_up):
                alpha = (j + 1) / (n_up + 1)
                write(_towards_white(pending[len(pending) - n_up + j], alpha))
            white = np.full_like(frames[0], 255)
            for _ in range(n_hold):
                write(white)
            for j in range(n_down):
                alpha = 1.0 - (j + 1) / (n_down + 1)
                write(_towards_white(frames[j], alpha))
            # the centre of the white frames (the later of the two middle ones, as for fades)
            edit.truths.append(Truth(start + n_up + n_hold // 2, "white", start, written - 1))
            rest = frames[n_down:]
        else:
            n_out, n_in = FADE_OUT_FRAMES, FADE_IN_FRAMES
            for f in pending[:-n_out]:
                write(f)
            start = written
            for j in range(n_out):
                gain = 1.0 - (j + 1) / n_out
                src = pending[len(pending) - n_out + j].astype(np.float32)
                write(np.clip(np.rint(gain * src), 0, 255).astype(np.uint8))
            for j in range(n_in):
                gain = j / n_in
                write(
                    np.clip(np.rint(gain * frames[j].astype(np.float32)), 0, 255).astype(np.uint8)
                )
            edit.truths.append(Truth(start + n_out, "fade", start, written - 1))
            rest = frames[n_in:]
        pending = rest
    for f in pending:
        write(f)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    edit.frames = written
    return edit


# --------------------------------------------------------------------------------------------
# Detectors under test


@dataclass
class Run:
    """Detections of one method on one edit, with timing."""

    method: str
    frames: list[int]
    kinds: list[str | None]
    seconds: float
    n_frames: int
    detect_seconds: float | None = None


def _decode_analysis_frames(path: Path, width: int) -> Iterator[tuple[int, np.ndarray]]:
    """Decode with PyAV at ``width`` px wide (aspect kept) as float32 RGB in [0, 1]."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        w, h = stream.codec_context.width, stream.codec_context.height
        height = max(2, round(width * h / w / 2) * 2)
        for i, frame in enumerate(container.decode(stream)):
            small = frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA")
            rgb = small.to_ndarray()
            yield i, rgb.astype(np.float32) * np.float32(1.0 / 255.0)


def bare_decode_seconds(path: Path) -> float:
    """Seconds PyAV takes to decode every frame of ``path`` (no conversion): the reference."""
    t0 = time.perf_counter()
    with av.open(str(path)) as container:
        for _ in container.decode(video=0):
            pass
    return time.perf_counter() - t0


def run_ours(path: Path, fps: float, method: str = "default") -> Run:
    """Decode ``path`` and run ``rushes.analysis.boundaries`` on it, timing both."""
    from rushes.analysis.boundaries import make_detector

    detector = make_detector(method, fps=fps)
    found = []
    t0 = time.perf_counter()
    detect = 0.0
    n = 0
    for index, frame in _decode_analysis_frames(path, ANALYSIS_WIDTH):
        t1 = time.perf_counter()
        found.extend(detector.push(index, frame))
        detect += time.perf_counter() - t1
        n += 1
    t1 = time.perf_counter()
    found.extend(detector.finish())
    detect += time.perf_counter() - t1
    seconds = time.perf_counter() - t0
    found.sort(key=lambda b: b.frame)
    return Run(
        f"rushes[{method}]",
        [b.frame for b in found],
        [b.kind for b in found],
        seconds,
        n,
        detect,
    )


def run_scenedetect(path: Path, name: str) -> Run:
    """Run a PySceneDetect detector (defaults) through ``scenedetect.detect``."""
    from scenedetect import AdaptiveDetector, ContentDetector, detect, open_video

    factories: dict[str, Callable[[], Any]] = {
        "ContentDetector": ContentDetector,
        "AdaptiveDetector": AdaptiveDetector,
    }
    t0 = time.perf_counter()
    scenes = detect(str(path), factories[name]())
    seconds = time.perf_counter() - t0
    starts = [int(start.frame_num) for start, _ in scenes[1:]]
    n = int(open_video(str(path)).duration.frame_num)
    return Run(f"scenedetect.{name}", starts, [None] * len(starts), seconds, n)


# --------------------------------------------------------------------------------------------
# Scoring


def match(truth: Sequence[int], found: Sequence[int], tolerance: int) -> list[tuple[int, int]]:
    """One-to-one matching of detections to truths within ``tolerance`` frames.

    Greedy on distance (closest pairs first), which is optimal for points on a line when the
    true boundaries are further apart than twice the tolerance.

    Returns:
        (truth index, detection index) pairs.
    """
    pairs = sorted(
        (abs(t - f), i, j)
        for i, t in enumerate(truth)
        for j, f in enumerate(found)
        if abs(t - f) <= tolerance
    )
    used_t: set[int] = set()
    used_f: set[int] = set()
    out = []
    for _, i, j in pairs:
        if i not in used_t and j not in used_f:
            used_t.add(i)
            used_f.add(j)
            out.append((i, j))
    return out


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall, "f1": f1}


def score(truths: Sequence[Truth], run: Run, tolerance: int) -> dict[str, Any]:
    """Precision, recall and F1 of ``run``, overall and per transition kind.

    Per kind, a true positive counts for the kind of its truth; a false positive counts for the
    kind of the nearest true boundary (what most likely provoked it).
    """
    t_frames = [t.frame for t in truths]
    pairs = match(t_frames, run.frames, tolerance)
    matched_f = {j for _, j in pairs}
    tp_kind = {k: 0 for k in KINDS}
    for i, _ in pairs:
        tp_kind[truths[i].kind] += 1
    fp_kind = {k: 0 for k in KINDS}
    for j, f in enumerate(run.frames):
        if j in matched_f or not truths:
            continue
        nearest = min(truths, key=lambda t: abs(t.frame - f))
        fp_kind[nearest.kind] += 1
    n_kind = {k: sum(t.kind == k for t in truths) for k in KINDS}
    result: dict[str, Any] = {
        "overall": _prf(len(pairs), len(run.frames) - len(pairs), len(truths) - len(pairs))
    }
    for k in KINDS:
        result[k] = _prf(tp_kind[k], fp_kind[k], n_kind[k] - tp_kind[k])
    kind_ok = sum(
        run.kinds[j] == REPORTED_KIND.get(truths[i].kind, truths[i].kind) for i, j in pairs
    )
    result["kind_accuracy"] = kind_ok / len(pairs) if pairs and run.kinds[0] is not None else None
    result["misses"] = [
        asdict(truths[i]) for i in range(len(truths)) if i not in {a for a, _ in pairs}
    ]
    result["false_positives"] = [
        {"frame": f, "kind": run.kinds[j]} for j, f in enumerate(run.frames) if j not in matched_f
    ]
    return result


# --------------------------------------------------------------------------------------------
# Report


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(
        c.ljust(w) if i == 0 else c.rjust(w)
        for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )


def format_table(report: dict[str, Any]) -> str:
    """The plain-text table of a report (one block per edit, then the mean over edits)."""
    head = ["edit", "method", "P", "R", "F1", "cut F1", "diss F1", "fade F1", "white F1"]
    head += ["s", "frames/s"]
    rows = []
    for edit in report["edits"]:
        for name, res in edit["methods"].items():
            s = res["scores"]
            rows.append(
                [
                    f"seed {edit['seed']}",
                    name,
                    f"{s['overall']['precision']:.3f}",
                    f"{s['overall']['recall']:.3f}",
                    f"{s['overall']['f1']:.3f}",
                    f"{s['cut']['f1']:.3f}",
                    f"{s['dissolve']['f1']:.3f}",
                    f"{s['fade']['f1']:.3f}",
                    f"{s['white']['f1']:.3f}",
                    f"{res['seconds']:.2f}",
                    f"{res['frames_per_second']:.0f}",
                ]
            )
    for name, m in report["mean"].items():
        rows.append(
            [
                "mean",
                name,
                f"{m['precision']:.3f}",
                f"{m['recall']:.3f}",
                f"{m['f1']:.3f}",
                f"{m['cut_f1']:.3f}",
                f"{m['dissolve_f1']:.3f}",
                f"{m['fade_f1']:.3f}",
                f"{m['white_f1']:.3f}",
                f"{m['seconds']:.2f}",
                f"{m['frames_per_second']:.0f}",
            ]
        )
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [_row(head, widths), _row(["-" * w for w in widths], widths)]
    lines += [_row(r, widths) for r in rows]
    return "\n".join(lines)


def _mean(edits: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name in edits[0]["methods"]:
        res = [e["methods"][name] for e in edits]
        n_frames = sum(r["frames"] for r in res)
        seconds = sum(r["seconds"] for r in res)
        out[name] = {
            "precision": float(np.mean([r["scores"]["overall"]["precision"] for r in res])),
            "recall": float(np.mean([r["scores"]["overall"]["recall"] for r in res])),
            "f1": float(np.mean([r["scores"]["overall"]["f1"] for r in res])),
            "cut_f1": float(np.mean([r["scores"]["cut"]["f1"] for r in res])),
            "dissolve_f1": float(np.mean([r["scores"]["dissolve"]["f1"] for r in res])),
            "fade_f1": float(np.mean([r["scores"]["fade"]["f1"] for r in res])),
            "white_f1": float(np.mean([r["scores"]["white"]["f1"] for r in res])),
            "seconds": seconds / len(res),
            "frames_per_second": n_frames / seconds if seconds else math.inf,
        }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Build the edits, run every method, print the table and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="one edit per seed")
    parser.add_argument("--clips", type=int, default=13, help="clips per edit")
    parser.add_argument("--tolerance", type=int, default=2, help="frames either side")
    parser.add_argument("--method", default="default", help="rushes boundary method")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="JSON report path")
    args = parser.parse_args(argv)

    root = footage_root()
    if not (root / "MANIFEST.json").is_file():
        print(f"bench_boundaries: no footage at {root} (set RUSHES_FOOTAGE); skipped")
        return 0
    if len(video_clips(root)) < 3:
        print(f"bench_boundaries: fewer than 3 usable video clips under {root}; skipped")
        return 0

    edits = []
    with tempfile.TemporaryDirectory(prefix="rushes-bench-boundaries-") as tmp:
        for seed in args.seeds:
            t0 = time.perf_counter()
            edit = build_edit(root, seed, args.clips, Path(tmp) / f"edit_{seed}.mp4")
            build_s = time.perf_counter() - t0
            runs = [
                run_ours(edit.path, EDIT_FPS, args.method),
                run_scenedetect(edit.path, "ContentDetector"),
                run_scenedetect(edit.path, "AdaptiveDetector"),
            ]
            methods = {}
            for run in runs:
                methods[run.method] = {
                    "scores": score(edit.truths, run, args.tolerance),
                    "seconds": run.seconds,
                    "frames": run.n_frames,
                    "frames_per_second": run.n_frames / run.seconds if run.seconds else math.inf,
                    "detect_ms_per_frame": (
                        1000 * run.detect_seconds / run.n_frames
                        if run.detect_seconds is not None and run.n_frames
                        else None
                    ),
                    "detections": [
                        {"frame": f, "kind": k} for f, k in zip(run.frames, run.kinds, strict=True)
                    ],
                }
            edits.append(
                {
                    "seed": seed,
                    "frames": edit.frames,
                    "build_seconds": build_s,
                    "bare_decode_seconds": bare_decode_seconds(edit.path),
                    "pieces": [asdict(p) for p in edit.pieces],
                    "truths": [asdict(t) for t in edit.truths],
                    "methods": methods,
                }
            )

    report = {
        "benchmark": "boundaries",
        "version": 2,
        "tolerance_frames": args.tolerance,
        "edit": {
            "size": list(EDIT_SIZE),
            "fps": EDIT_FPS,
            "codec": "libx264 yuv420p crf 18",
            "dissolve_frames": DISSOLVE_FRAMES,
            "fade_frames": [FADE_OUT_FRAMES, FADE_IN_FRAMES],
            "white_frames": list(WHITE_FRAMES),
            "analysis_width": ANALYSIS_WIDTH,
        },
        "edits": edits,
        "mean": _mean(edits),
    }
    print(format_table(report))
    ours = next(iter(report["mean"]))
    ms = [e["methods"][ours]["detect_ms_per_frame"] for e in edits]
    print(f"{ours}: detector alone {np.mean(ms):.3f} ms/frame at {ANALYSIS_WIDTH} px wide")
    n_frames = sum(e["frames"] for e in edits)
    bare = sum(e["bare_decode_seconds"] for e in edits)
    print(f"PyAV bare decode of the edits: {bare:.2f} s, {n_frames / bare:.0f} frames/s")
    acc = [e["methods"][ours]["scores"]["kind_accuracy"] for e in edits]
    if all(a is not None for a in acc):
        print(f"{ours}: kind right for {np.mean(acc):.1%} of the true positives")
    for e in edits:
        s = e["methods"][ours]["scores"]
        for miss in s["misses"]:
            print(f"  seed {e['seed']} {ours} missed {miss['kind']} at {miss['frame']}")
        for fp in s["false_positives"]:
            print(f"  seed {e['seed']} {ours} false {fp['kind']} at {fp['frame']}")
    from rushes.atomic import write_text_atomic

    write_text_atomic(args.output, json.dumps(report, indent=1))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
