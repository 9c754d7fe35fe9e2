"""Benchmark shot matching (``rushes.ops.match_estimate``) against colour-transfer peers.

For each shared clip of kind "video" or "frames": frames of the first half are the reference,
frames of the second half the shot. The second half gets a known random grade (seeded):
exposure (+-1.5 stops) and white-balance gains in scene-linear ACEScg, then an ASC CDL (slope,
offset, power, saturation) in ACEScct. Each method then matches the graded second half back to
the reference, in the same run:

* ``rushes``: :func:`estimate_match` on ACEScct frames (5 sampled per side, native size), then
  :func:`apply_match` on ACEScct;
* ``cm-mkl`` and ``cm-hm-mvgd-hm``: color-matcher's ``ColorMatcher`` (methods "mkl" and
  "hm-mvgd-hm");
* ``reinhard-lab``: Reinhard et al. 2001 mean/std transfer in CIE L*a*b* (written here);
* ``skimage-hist``: ``skimage.exposure.match_histograms(..., channel_axis=-1)``;
* ``none``: the graded shot as is (the size of the grade);
* ``rushes-ungraded``: ours matching the *ungraded* second half to the first half, scored the
  same way: how much the halves differ on their own (camera auto-exposure drift, different
  content) plus our estimation noise, a floor under which no method can be expected to go.

The peers get display-encoded frames in [0, 1] (the graded frames clipped, as they expect; the
5 sampled frames of each side tiled into one image so they see the same statistics as ours).
Scoring: CIEDE2000 (``rushes.color.difference``) between the matched graded second half and the
ungraded second half, both display-encoded and clipped to [0, 1], on the 5 sampled frames of the
second half at a long side of 480 (the peers transfer those very frames), pixels pooled over
all clips.
The clip's encoding is what ``rushes.color.ocio.guess_colorspace`` gives for its codec (Rec.709
gamma 2.4 for H.264, sRGB for JPEG/PNG frames).

Also reported: our estimation time per shot (wall and CPU, one OpenCV thread), the time on
1920x1080 input, and the speed of applying a grade (CDL + 33^3 residual LUT) to a 1920x1080
float32 frame on one core. Prints tables and writes ``benchmarks/results/match.json``.

Usage:
    python benchmarks/bench_match.py [--clips N] [--seed 0]

Without the shared footage (``$RUSHES_FOOTAGE`` or ``shared/footage`` beside the repository)
it prints one line and exits 0.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import footage_root, manifest, table, write_result

SAMPLES = 5
EVAL_LONG_SIDE = 480
KINDS = ("video", "frames")
TARGET_MEAN_DE = 1.5
TARGET_RATIO = 0.7
TARGET_ESTIMATE_S = 2.0
TARGET_APPLY_FPS = 30.0
PEER_NAMES = ("cm-mkl", "cm-hm-mvgd-hm", "reinhard-lab", "skimage-hist")


# --------------------------------------------------------------------------------------------
# Footage


@dataclass
class ClipFrames:
    """Frames of one clip, in its own display encoding (float32 [0, 1])."""

    name: str
    space: str
    ref: list[np.ndarray]  # sampled from the first half, native size
    shot: list[np.ndarray]  # sampled from the second half, native size


def _indices(lo: int, hi: int, n: int, phase: float) -> list[int]:
    """``n`` frame indices spread over ``[lo, hi)``, shifted by ``phase`` of a step."""
    step = (hi - lo) / n
    return sorted({min(hi - 1, int(lo + (k + phase) * step)) for k in range(n)})


def _small(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    s = EVAL_LONG_SIDE / max(h, w)
    if s >= 1:
        return frame
    return cv2.resize(frame, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)


def load_clip(root: Path, clip: dict[str, Any]) -> ClipFrames | None:
    """Read the sampled frames of one clip; None when it is too short."""
    from rushes.color import guess_colorspace
    from rushes.media import open_media

    path = root / clip["path"]
    if path.is_dir():
        members = sorted(p for p in path.iterdir() if p.suffix.lower() in {".jpg", ".png"})
        if not members:
            return None
        first = members[0]
        path = path / f"%0{len(first.stem)}d{first.suffix}"
    with open_media(path) as reader:
        info = reader.info
        n = info.frames
        if n < 4 * SAMPLES:
            return None
        kind = "sequence" if info.kind != "movie" else "movie"
        space = guess_colorspace(info.codec, info.pix_fmt, info.bit_depth, {}, kind)
        half = n // 2
        ref_i = _indices(0, half, SAMPLES, 0.5)
        shot_i = _indices(half, n, SAMPLES, 0.5)
        want = set(ref_i) | set(shot_i)
        got: dict[int, np.ndarray] = {}
        for i, frame in reader.iter_frames(0, max(want) + 1):
            if i in want:
                got[i] = np.clip(frame, 0.0, 1.0)
    return ClipFrames(
        name=clip["name"],
        space=space,
        ref=[got[i] for i in ref_i],
        shot=[got[i] for i in shot_i],
    )


# --------------------------------------------------------------------------------------------
# The known grade


@dataclass(frozen=True)
class Grade:
    """A random grade: linear exposure and white balance, then a CDL in ACEScct."""

    stops: float
    wb: tuple[float, float, float]
    slope: tuple[float, float, float]
    offset: tuple[float, float, float]
    power: tuple[float, float, float]
    saturation: float

    @staticmethod
    def random(rng: np.random.Generator) -> Grade:
        def t3(lo: float, hi: float) -> tuple[float, float, float]:
            v = rng.uniform(lo, hi, 3)
            return (float(v[0]), float(v[1]), float(v[2]))

        wb = np.exp(rng.uniform(-0.2, 0.2, 3))
        wb /= wb[1]
        return Grade(
            stops=float(rng.uniform(-1.5, 1.5)),
            wb=(float(wb[0]), float(wb[1]), float(wb[2])),
            slope=t3(0.85, 1.15),
            offset=t3(-0.03, 0.03),
            power=t3(0.85, 1.15),
            saturation=float(rng.uniform(0.75, 1.25)),
        )

    def apply(self, cct: np.ndarray) -> np.ndarray:
        """Grade ACEScct frames (float32, unclipped)."""
        from rushes.color import apply_cdl, convert

        lin = convert(cct, "ACEScct", "ACEScg") * np.float32(2.0**self.stops)
        lin *= np.asarray(self.wb, np.float32)
        out = convert(lin, "ACEScg", "ACEScct")
        return apply_cdl(out, self.slope, self.offset, self.power, self.saturation)


# --------------------------------------------------------------------------------------------
# Peers (display-encoded [0, 1])


def _tile(frames: Sequence[np.ndarray]) -> np.ndarray:
    """Stack frames vertically (resized to the first one's width)."""
    w = frames[0].shape[1]
    rows = [
        f if f.shape[1] == w else cv2.resize(f, (w, round(f.shape[0] * w / f.shape[1])))
        for f in frames
    ]
    return np.concatenate(rows, axis=0)


def reinhard_lab(shot: np.ndarray, ref: np.ndarray, apply_to: np.ndarray, space: str) -> np.ndarray:
    """Reinhard et al. 2001: match per-channel mean and std in CIE L*a*b*.

    Statistics from ``shot`` and ``ref`` (display-encoded ``space``), applied to ``apply_to``.
    """
    from rushes.color import convert, rgb_to_lab
    from rushes.color.difference import RGB_TO_XYZ, lab_to_xyz

    ls, lr = rgb_to_lab(shot, space), rgb_to_lab(ref, space)
    ms, ss = ls.reshape(-1, 3).mean(0), ls.reshape(-1, 3).std(0) + 1e-6
    mr, sr = lr.reshape(-1, 3).mean(0), lr.reshape(-1, 3).std(0)
    lab = (rgb_to_lab(apply_to, space) - ms) / ss * sr + mr
    lin = lab_to_xyz(lab) @ np.linalg.inv(RGB_TO_XYZ).T
    return convert(lin.astype(np.float32), "Linear Rec.709 (sRGB)", space)


class Peers:
    """The peer methods: each transfers the tiled sampled shot frames to the reference's."""

    def __init__(self) -> None:
        from color_matcher import ColorMatcher
        from skimage.exposure import match_histograms

        self._cm = ColorMatcher
        self._hist = match_histograms

    def run(
        self, name: str, shot: list[np.ndarray], ref: list[np.ndarray], space: str
    ) -> list[np.ndarray]:
        """Match ``shot`` (graded, display [0, 1], EVAL size) to ``ref`` (display [0, 1])."""
        src, dst = _tile(shot), _tile([_small(f) for f in ref])
        if name == "reinhard-lab":
            res = reinhard_lab(src, dst, src, space)
        elif name == "skimage-hist":
            res = self._hist(src, dst, channel_axis=-1)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = self._cm().transfer(src=src, ref=dst, method=name[3:])
        res = np.asarray(res, np.float32)
        bounds = np.cumsum([0] + [f.shape[0] for f in shot])
        return [res[a:b] for a, b in itertools.pairwise(bounds)]


# --------------------------------------------------------------------------------------------
# Scoring


def delta_e(pred: list[np.ndarray], truth: list[np.ndarray], space: str) -> np.ndarray:
    """Pooled per-pixel ΔE2000 of display-encoded frames (clipped to [0, 1])."""
    from rushes.color import delta_e_images

    return np.concatenate(
        [
            delta_e_images(np.clip(p, 0, 1), np.clip(t, 0, 1), space).ravel()
            for p, t in zip(pred, truth, strict=True)
        ]
    )


def apply_speed(result: Any, repeats: int = 8) -> float:
    """Frames per second of apply_match on a 1920x1080 float32 ACEScct frame (one thread)."""
    from rushes.ops.match_estimate import apply_match

    rng = np.random.default_rng(0)
    base = rng.random((68, 120, 3), dtype=np.float32)
    frame = (0.1 + 0.5 * cv2.resize(base, (1920, 1080), interpolation=cv2.INTER_CUBIC)).astype(
        np.float32
    )
    apply_match(frame, result)  # bake + build the processor once
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        apply_match(frame, result)
        times.append(time.perf_counter() - t0)
    return 1.0 / float(np.median(times))


def _ungraded_cct(frames: list[np.ndarray], space: str) -> list[np.ndarray]:
    from rushes.color import convert

    return [convert(f, space, "ACEScct") for f in frames]


def _display(frames: list[np.ndarray], space: str) -> list[np.ndarray]:
    from rushes.color import convert

    return [np.clip(convert(f, "ACEScct", space), 0.0, 1.0) for f in frames]


def run_clip(clip: ClipFrames, grade: Grade, peers: Peers) -> dict[str, Any]:
    """Grade, match with every method, score; returns per-method ΔE arrays and timings."""
    from rushes.ops.match_estimate import apply_match, estimate_match

    ref_cct = _ungraded_cct(clip.ref, clip.space)
    plain_cct = _ungraded_cct(clip.shot, clip.space)
    shot_cct = [grade.apply(f) for f in plain_cct]
    truth = [_small(f) for f in clip.shot]
    truth_cct = _ungraded_cct(truth, clip.space)
    small_cct = [grade.apply(f) for f in truth_cct]

    t0, c0 = time.perf_counter(), time.process_time()
    result = estimate_match(shot_cct, ref_cct)
    est_s, est_cpu = time.perf_counter() - t0, time.process_time() - c0
    ours = _display([apply_match(f, result) for f in small_cct], clip.space)

    graded = _display(small_cct, clip.space)
    clipped = float(np.mean([np.any(f >= 1.0, axis=-1).mean() for f in graded]))
    # The same match without a grade: how far the halves differ on their own (exposure drift,
    # content) plus our estimation error; no method can be expected to do better.
    drift = estimate_match(plain_cct, ref_cct)
    plain = _display([apply_match(f, drift) for f in truth_cct], clip.space)
    errors: dict[str, np.ndarray] = {
        "rushes": delta_e(ours, truth, clip.space),
        "none": delta_e(graded, truth, clip.space),
        "rushes-ungraded": delta_e(plain, truth, clip.space),
    }
    peer_s: dict[str, float] = {}
    for name in PEER_NAMES:
        t1 = time.perf_counter()
        matched = peers.run(name, graded, clip.ref, clip.space)
        peer_s[name] = time.perf_counter() - t1
        errors[name] = delta_e(matched, truth, clip.space)
    return {
        "result": result,
        "errors": errors,
        "estimate_s": est_s,
        "estimate_cpu_s": est_cpu,
        "peer_s": peer_s,
        "clipped_share": clipped,
    }


def estimate_1080p(clip: ClipFrames, grade: Grade) -> float:
    """Seconds to estimate from 5 + 5 frames upscaled to 1920x1080."""
    from rushes.ops.match_estimate import estimate_match

    def up(frames: list[np.ndarray]) -> list[np.ndarray]:
        return [cv2.resize(f, (1920, 1080), interpolation=cv2.INTER_LINEAR) for f in frames]

    ref = up(_ungraded_cct(clip.ref, clip.space))
    shot = up([grade.apply(f) for f in _ungraded_cct(clip.shot, clip.space)])
    t0 = time.perf_counter()
    estimate_match(shot, ref)
    return time.perf_counter() - t0


# --------------------------------------------------------------------------------------------


def _stats(e: np.ndarray) -> tuple[float, float]:
    return float(e.mean()), float(np.percentile(e, 95))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the tables, write ``benchmarks/results/match.json``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clips", type=int, default=0, help="at most this many clips (0: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random grades")
    parser.add_argument("--only", nargs="*", default=None, help="clip names to run")
    args = parser.parse_args(argv)

    root = footage_root()
    if not (root / "MANIFEST.json").is_file():
        print(f"bench_match: no footage at {root} (set RUSHES_FOOTAGE); skipped")
        return 0
    cv2.setNumThreads(1)
    from rushes.color.lut import Lut3d
    from rushes.ops.match_estimate import MatchResult

    clips = [c for c in manifest().values() if c["kind"] in KINDS]
    if args.only:
        clips = [c for c in clips if c["name"] in set(args.only)]
    if args.clips:
        clips = clips[: args.clips]
    peers = Peers()
    methods = ["rushes", *PEER_NAMES, "none", "rushes-ungraded"]
    pooled: dict[str, list[np.ndarray]] = {m: [] for m in methods}
    per_clip: list[dict[str, Any]] = []
    rows: list[list[Any]] = []
    est_times: list[float] = []
    est_cpu: list[float] = []
    lut_result: MatchResult | None = None
    first: tuple[ClipFrames, Grade] | None = None
    t_start = time.perf_counter()
    for clip_info in clips:
        clip = load_clip(root, clip_info)
        grade = Grade.random(
            np.random.default_rng([args.seed, zlib.crc32(clip_info["name"].encode())])
        )
        if clip is None:
            continue
        first = first or (clip, grade)
        out = run_clip(clip, grade, peers)
        res = out["result"]
        if res.lut is not None and lut_result is None:
            lut_result = res
        est_times.append(out["estimate_s"])
        est_cpu.append(out["estimate_cpu_s"])
        means = {m: _stats(out["errors"][m]) for m in methods}
        for m in methods:
            pooled[m].append(out["errors"][m])
        best_peer = min(means[p][0] for p in PEER_NAMES)

        rows.append(
            [
                clip.name,
                res.method,
                f"{res.confidence:.2f}",
                "yes" if res.lut is not None else "no",
                *(means[m][0] for m in methods),
                best_peer,
                out["estimate_s"],
            ]
        )
        per_clip.append(
            {
                "clip": clip.name,
                "space": clip.space,
                "grade": grade.__dict__,
                "method": res.method,
                "confidence": res.confidence,
                "lut": res.lut is not None,
                "cdl": res.cdl.as_dict(),
                "exposure_stops": res.exposure_stops,
                "white_balance": list(res.white_balance),
                "stats": res.stats,
                "estimate_s": out["estimate_s"],
                "estimate_cpu_s": out["estimate_cpu_s"],
                "peer_s": out["peer_s"],
                "clipped_share_for_peers": out["clipped_share"],
                "delta_e": {m: {"mean": means[m][0], "p95": means[m][1]} for m in methods},
            }
        )
        print(
            f"  {clip.name}: {res.method}, rushes {means['rushes'][0]:.2f}, best peer "
            f"{best_peer:.2f}, none {means['none'][0]:.2f} ({out['estimate_s']:.2f} s)",
            flush=True,
        )
    if not per_clip:
        print(f"bench_match: no usable clips of kind {KINDS} under {root}; skipped")
        return 0

    if lut_result is None:  # time the apply with a LUT anyway
        base = per_clip[0]
        lut = Lut3d.from_function(lambda v: v + 0.01 * np.sin(6 * v), size=33)
        from rushes.color import Cdl

        lut_result = MatchResult(
            Cdl.from_dict(base["cdl"]), lut, 0.0, (1.0, 1.0, 1.0), 1.0, "regions"
        )
    fps = apply_speed(lut_result)
    assert first is not None
    est_1080 = estimate_1080p(*first)

    summary = {m: _stats(np.concatenate(pooled[m])) for m in methods}
    best_peer_name = min(PEER_NAMES, key=lambda p: summary[p][0])
    ours = summary["rushes"][0]
    ratio = ours / summary[best_peer_name][0]
    headers = ["clip", "method", "conf", "lut", *methods, "best peer", "est s"]
    print()
    print(f"Mean ΔE2000 per clip (display-encoded, the {SAMPLES} graded second-half frames)")
    print(table(headers, rows))
    print()
    print("Pooled over all clips")
    print(
        table(
            ["method", "mean ΔE2000", "p95 ΔE2000"],
            [[m, summary[m][0], summary[m][1]] for m in methods],
        )
    )
    print()
    checks = [
        ["mean ΔE2000 (rushes)", f"{ours:.3f}", f"<= {TARGET_MEAN_DE}", ours <= TARGET_MEAN_DE],
        [
            f"ratio to best peer ({best_peer_name})",
            f"{ratio:.3f}",
            f"<= {TARGET_RATIO}",
            ratio <= TARGET_RATIO,
        ],
        [
            "estimation s/shot (median wall)",
            f"{np.median(est_times):.3f}",
            f"< {TARGET_ESTIMATE_S}",
            float(np.median(est_times)) < TARGET_ESTIMATE_S,
        ],
        [
            "estimation s/shot (max wall)",
            f"{max(est_times):.3f}",
            f"< {TARGET_ESTIMATE_S}",
            max(est_times) < TARGET_ESTIMATE_S,
        ],
        ["estimation CPU s/shot (median)", f"{np.median(est_cpu):.3f}", "", ""],
        [
            "estimation s, 5+5 frames 1920x1080",
            f"{est_1080:.3f}",
            f"< {TARGET_ESTIMATE_S}",
            est_1080 < TARGET_ESTIMATE_S,
        ],
        [
            "apply CDL+33^3 LUT, 1920x1080 fps",
            f"{fps:.1f}",
            f">= {TARGET_APPLY_FPS}",
            fps >= TARGET_APPLY_FPS,
        ],
    ]
    print(table(["check", "value", "target", "met"], checks))
    total = time.perf_counter() - t_start
    print(f"\n{len(per_clip)} clips in {total:.0f} s")
    path = write_result(
        "match",
        {
            "clips": per_clip,
            "pooled": {m: {"mean": summary[m][0], "p95": summary[m][1]} for m in methods},
            "best_peer": best_peer_name,
            "ratio_to_best_peer": ratio,
            "estimate_s": {
                "median": float(np.median(est_times)),
                "max": max(est_times),
                "cpu_median": float(np.median(est_cpu)),
                "1080p": est_1080,
            },
            "apply_fps_1080p": fps,
            "targets": {
                "mean_delta_e": TARGET_MEAN_DE,
                "ratio": TARGET_RATIO,
                "estimate_s": TARGET_ESTIMATE_S,
                "apply_fps": TARGET_APPLY_FPS,
            },
            "seed": args.seed,
            "seconds": total,
        },
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
