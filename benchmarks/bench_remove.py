"""Benchmark wire / rig / object removal (``rushes.ops.remove_fill``) against inpainting peers.

Over the first frames of shared clips (static and moving cameras, textured and flat; videos
and frame sequences; native size capped at a long side of 960) the benchmark composites
synthetic objects (``remove_synth``): thin moving wires 1-6 px wide, straight and curved,
dark and bright (a rotation over the 16 combinations gives every clip two of them), and one
or two moving opaque blobs. Each method then fills the composite under the masks, in the same
run, and is scored against the clean frames (``remove_metrics``):

* ``rushes``: ``rushes.ops.remove_fill.fill_sequence(frames, masks)`` with its defaults
  (skipped with a note when it cannot be imported or fails);
* ``telea`` and ``ns``: OpenCV's ``cv2.inpaint`` (Telea 2004 / Navier-Stokes, radius 3) on
  each frame on its own, in 8 bits (only the masked pixels are replaced);
* ``tmedian``: for each masked pixel, the median of the same pixel over the frames within
  +-10 where it is not masked; Telea where it is masked throughout;
* ``unfilled``: the composite as is (PSNR only), for scale.

Scores per method and family (wires, blobs), averaged over cases: PSNR and SSIM inside the
mask, the warping error the fill adds over the clean frames' own (flow of the clean frames,
x 1e-3, lower is steadier), the grain match (high-band energy of the fill over that of the
plate around it; the clean frames' own value is shown as ``clean``) and frames per second.
Targets: rushes at least 6 dB PSNR above the best peer on wires and 3 dB on blobs.

Speed: 24 frames of a 720p clip resized to 1920x1080 with two wire masks, filled by rushes
end to end (frames already in memory); target at least 4 frames per second on this machine.

Prints tables and writes ``benchmarks/results/remove.json``.

Usage:
    python benchmarks/bench_remove.py [--quick] [--frames N] [--only CLIP ...] [--seed 0]

Without the shared footage (``$RUSHES_FOOTAGE`` or ``shared/footage`` beside the repository)
it prints one line and exits 0.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import traceback
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import footage_root, manifest, table, write_result
from remove_metrics import CaseScore, Warp, clean_warps
from remove_synth import blob_case, wire_case

# static / moving camera, textured / flat, videos and frame sequences
CLIPS = (
    "bmx-trees",
    "schoolgirls",
    "tennis",
    "running_car",
    "parkour",
    "dog_walk_sam2",
    "talkinghead_vr4_woman_bluebg",
    "figure_skating",
)
QUICK_CLIPS = ("bmx-trees", "schoolgirls")
SPEED_CLIPS = ("juggle_sam2", "dog_walk_sam2")  # when the footage has no 1920x1080 video
LONG_SIDE = 960
FRAMES, QUICK_FRAMES = 32, 12
SPEED_FRAMES, QUICK_SPEED_FRAMES = 24, 8
SPEED_SIZE = (1920, 1080)
WIDTHS = (1, 2, 4, 6)
Kind = Literal["straight", "curved"]
Polarity = Literal["dark", "bright"]
WIRE_KINDS: tuple[Kind, Kind] = ("straight", "curved")
POLARITIES: tuple[Polarity, Polarity] = ("dark", "bright")
TMEDIAN_RADIUS = 10
INPAINT_RADIUS = 3
PEERS = ("telea", "ns", "tmedian")
TARGET_DB = {"wires": 6.0, "blobs": 3.0}
TARGET_FPS = 4.0
PSNR_CAP = 100.0  # a case filled exactly (inf dB) counts as this in the means

Fill = Callable[[Sequence[np.ndarray], Sequence[np.ndarray]], Iterator[np.ndarray]]


# --------------------------------------------------------------------------------------------
# Footage


def read_clip(root: Path, entry: dict[str, Any], n: int, long_side: int | None) -> list[np.ndarray]:
    """The first ``n`` frames of a shared clip as float32 RGB in [0, 1], read with PyAV / OpenCV
    directly, shrunk (never enlarged) to ``long_side`` when given."""
    import av

    path = root / entry["path"]
    raw: list[np.ndarray] = []
    if entry["kind"] == "video":
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                raw.append(frame.to_ndarray(format="rgb24"))
                if len(raw) >= n:
                    break
    else:
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
        raw = [cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB) for f in files[:n]]
    out = []
    for img in raw:
        s = 1.0 if long_side is None else min(1.0, long_side / max(img.shape[:2]))
        if s < 1.0:
            size = (round(img.shape[1] * s), round(img.shape[0] * s))
            img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        out.append(img.astype(np.float32) / 255.0)
    return out


# --------------------------------------------------------------------------------------------
# Cases


@dataclass
class Case:
    """One composite to fill: ``frames`` (float32 RGB [0, 1]) and ``masks`` (float32 0/1)."""

    clip: str
    family: str  # "wires" or "blobs"
    label: str
    params: dict[str, Any]
    frames: list[np.ndarray]
    masks: list[np.ndarray]

    @property
    def coverage(self) -> float:
        """Mean share of the frame under the mask."""
        return float(np.mean([m.mean() for m in self.masks]))


def wire_combo(k: int) -> tuple[int, Kind, Polarity]:
    """Combination ``k`` (0-15) of width, kind and polarity."""
    return WIDTHS[k % 4], WIRE_KINDS[(k // 4) % 2], POLARITIES[(k // 8) % 2]


def make_cases(clip: str, index: int, clean: list[np.ndarray], seed: int) -> list[Case]:
    """Two wire cases (combinations ``index`` and ``15 - index``: one dark and one bright, one
    straight and one curved, a thin and a thick one) and one blob case."""
    base = seed * 1_000_003 + zlib.crc32(clip.encode()) % 1_000_000
    cases = []
    for j, k in enumerate((index % 8, 15 - index % 8)):
        width, kind, pol = wire_combo(k)
        frames, masks = wire_case(clean, base + j, width, kind, pol)
        params = {"width_px": width, "kind": kind, "polarity": pol, "seed": base + j}
        cases.append(Case(clip, "wires", f"wire {width}px {kind} {pol}", params, frames, masks))
    frames, masks = blob_case(clean, base + 2)
    cases.append(Case(clip, "blobs", "blobs", {"seed": base + 2}, frames, masks))
    return cases


# --------------------------------------------------------------------------------------------
# Methods


def _inpaint(frame: np.ndarray, mask: np.ndarray, flag: int) -> np.ndarray:
    m = mask > 0.5
    if not m.any():
        return frame
    u8 = np.clip(frame * 255.0 + 0.5, 0, 255).astype(np.uint8)
    filled = cv2.inpaint(u8, m.astype(np.uint8) * 255, INPAINT_RADIUS, flag)
    out = frame.copy()
    out[m] = filled[m].astype(np.float32) / 255.0
    return out


def fill_telea(frames: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> Iterator[np.ndarray]:
    """``cv2.inpaint`` (Telea) on each frame."""
    for f, m in zip(frames, masks, strict=True):
        yield _inpaint(f, m, cv2.INPAINT_TELEA)


def fill_ns(frames: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> Iterator[np.ndarray]:
    """``cv2.inpaint`` (Navier-Stokes) on each frame."""
    for f, m in zip(frames, masks, strict=True):
        yield _inpaint(f, m, cv2.INPAINT_NS)


def fill_tmedian(
    frames: Sequence[np.ndarray], masks: Sequence[np.ndarray], radius: int = TMEDIAN_RADIUS
) -> Iterator[np.ndarray]:
    """Per masked pixel, the median over the frames within ``radius`` where it is unmasked;
    Telea for the pixels masked in all of them."""
    bins = [m > 0.5 for m in masks]
    for t, (f, m) in enumerate(zip(frames, bins, strict=True)):
        if not m.any():
            yield f
            continue
        ys, xs = np.nonzero(m)
        window = [k for k in range(max(0, t - radius), min(len(frames), t + radius + 1)) if k != t]
        vals = np.stack([frames[k][ys, xs] for k in window])  # (K, P, 3)
        hidden = np.stack([bins[k][ys, xs] for k in window])  # (K, P)
        vals[hidden] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-nan slices
            med = np.nanmedian(vals, axis=0)
        out = f.copy()
        out[ys, xs] = med
        never = np.isnan(med[:, 0])
        if never.any():
            out[ys[never], xs[never]] = 0.0  # unknown to Telea, which fills them
            rest = np.zeros(m.shape, np.float32)
            rest[ys[never], xs[never]] = 1.0
            out = _inpaint(out, rest, cv2.INPAINT_TELEA)
        yield out


def load_rushes() -> tuple[Fill | None, str]:
    """``rushes.ops.remove_fill.fill_sequence`` with its defaults, or None and why not."""
    try:
        from rushes.ops.remove_fill import fill_sequence
    except Exception as exc:  # not written yet, or broken: the peers still run
        return None, f"{type(exc).__name__}: {exc}"

    def fill(frames: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> Iterator[np.ndarray]:
        return iter(fill_sequence(iter(frames), iter(masks)))

    return fill, ""


def load_rushes_grain() -> Fill | None:
    """What ``rushes fix remove`` renders: the fill, then its grain topped up to the plate's
    (profile measured on the composite's first frames, as the op measures the shot)."""
    try:
        from rushes.analysis.grain import measure_grain
        from rushes.ops.grain_kernels import regrain
        from rushes.ops.remove_fill import fill_frames
    except Exception:
        return None

    def fill(frames: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> Iterator[np.ndarray]:
        profile = measure_grain(list(frames[:4]))
        for t, done in enumerate(fill_frames(iter(frames), iter(masks))):
            rng = np.random.default_rng([t, 7])
            yield regrain(done.frame, profile, mask=masks[t], existing=done.grain_kept, rng=rng)

    return fill


# --------------------------------------------------------------------------------------------
# Running and scoring


def run_case(
    case: Case, clean: list[np.ndarray], warps: list[Warp], methods: dict[str, Fill]
) -> dict[str, dict[str, Any]]:
    """Fill ``case`` with every method in lock step (frame t of each, then t+1) and score
    each frame as it comes; a method that raises or yields too few frames is reported failed."""
    gens: dict[str, Iterator[np.ndarray]] = {}
    seconds = dict.fromkeys(methods, 0.0)
    scores = {name: CaseScore() for name in methods}
    errors: dict[str, str] = {}
    for name, fill in methods.items():
        t0 = time.perf_counter()
        try:
            gens[name] = fill(case.frames, case.masks)
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
        seconds[name] += time.perf_counter() - t0
    truth = CaseScore(ssim=False)
    unfilled = CaseScore(ssim=False)
    for t, (c, m) in enumerate(zip(clean, case.masks, strict=True)):
        warp = warps[t - 1] if t else None
        truth.add(c, c, m, warp)
        unfilled.add(case.frames[t], c, m, None)
        for name, gen in gens.items():
            if name in errors:
                continue
            t0 = time.perf_counter()
            try:
                out = next(gen)
            except StopIteration:
                errors[name] = f"yielded {t} frames of {len(clean)}"
                continue
            except Exception as exc:
                errors[name] = f"{type(exc).__name__}: {exc}"
                traceback.print_exc()
                continue
            seconds[name] += time.perf_counter() - t0
            out = np.asarray(out, np.float32)
            if out.shape != c.shape:
                errors[name] = f"frame {t} has shape {out.shape}, expected {c.shape}"
                continue
            scores[name].add(out, c, m, warp)
    result: dict[str, dict[str, Any]] = {}
    for name in methods:
        if name in errors:
            result[name] = {"error": errors[name]}
            continue
        result[name] = {**scores[name].result(), "fps": len(clean) / max(seconds[name], 1e-9)}
    result["clean"] = truth.result()
    result["unfilled"] = {"psnr": unfilled.result()["psnr"]}
    return result


def speed(root: Path, info: dict[str, dict[str, Any]], n: int, seed: int) -> dict[str, Any]:
    """Frames per second of rushes (and Telea, for reference) on 1920x1080 frames with wire
    masks, the frames already in memory."""
    full = [
        c
        for c in info.values()
        if c["kind"] == "video" and (c["width"], c["height"]) == SPEED_SIZE and c["frames"] >= n
    ]
    names = [c["name"] for c in full] + [c for c in SPEED_CLIPS if c in info]
    if not names:
        return {"error": "no clip for the speed test"}
    entry = info[names[0]]
    frames = [
        f
        if f.shape[1::-1] == SPEED_SIZE
        else cv2.resize(f, SPEED_SIZE, interpolation=cv2.INTER_CUBIC)
        for f in read_clip(root, entry, n, None)
    ]
    frames = [np.clip(f, 0.0, 1.0) for f in frames]
    frames, m1 = wire_case(frames, seed + 11, 3, "straight", "dark")
    frames, m2 = wire_case(frames, seed + 12, 2, "curved", "bright")
    masks = [np.maximum(a, b) for a, b in zip(m1, m2, strict=True)]
    out: dict[str, Any] = {
        "clip": entry["name"],
        "source_size": [entry["width"], entry["height"]],
        "size": list(SPEED_SIZE),
        "frames": len(frames),
        "mask_coverage": float(np.mean([m.mean() for m in masks])),
    }
    rushes, why = load_rushes()
    for name, fill in (("rushes", rushes), ("telea", fill_telea)):
        if fill is None:
            out[name] = {"error": why}
            continue
        t0 = time.perf_counter()
        try:
            count = sum(1 for _ in fill(frames, masks))
        except Exception as exc:
            traceback.print_exc()
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        dt = time.perf_counter() - t0
        if count != len(frames):
            out[name] = {"error": f"yielded {count} frames of {len(frames)}"}
            continue
        out[name] = {"fps": count / dt, "seconds": dt}
    return out


# --------------------------------------------------------------------------------------------
# Report


def _mean(values: Iterable[float], cap: float = math.inf) -> float:
    v = [min(x, cap) for x in values if not math.isnan(x)]
    return float(np.mean(v)) if v else math.nan


def summarize(cases: list[dict[str, Any]], methods: list[str]) -> dict[str, dict[str, Any]]:
    """Per family and method: mean PSNR, SSIM, warping error (excess), grain, fps."""
    out: dict[str, dict[str, Any]] = {}
    for family in ("wires", "blobs"):
        fam = [c for c in cases if c["family"] == family]
        out[family] = {}
        for name in [*methods, "clean", "unfilled"]:
            rows = [c["scores"][name] for c in fam if "error" not in c["scores"].get(name, {})]
            failed = sum(1 for c in fam if "error" in c["scores"].get(name, {"error": ""}))
            keys = ("psnr", "ssim", "warp", "warp_clean", "warp_excess", "grain", "fps")
            means = {
                k: _mean((r[k] for r in rows), PSNR_CAP if k == "psnr" else math.inf)
                for k in keys
                if rows and all(k in r for r in rows)
            }
            out[family][name] = {**means, "cases": len(rows), "failed": failed}
    return out


def _fmt(x: Any, spec: str = ".2f") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return format(x, spec)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the tables, write ``benchmarks/results/remove.json``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 clips, 12 frames, 8 at 1080p")
    parser.add_argument("--frames", type=int, default=0, help="frames per clip (default 32)")
    parser.add_argument("--only", nargs="*", default=None, help="clip names to run")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic objects")
    parser.add_argument("--no-speed", action="store_true", help="skip the 1080p speed part")
    args = parser.parse_args(argv)

    root = footage_root()
    if not (root / "MANIFEST.json").is_file():
        print(f"bench_remove: no footage at {root} (set RUSHES_FOOTAGE); skipped")
        return 0
    info = manifest()
    names = list(args.only) if args.only else list(QUICK_CLIPS if args.quick else CLIPS)
    names = [n for n in names if n in info and (root / info[n]["path"]).exists()]
    if not names:
        print(f"bench_remove: none of the clips {CLIPS} under {root}; skipped")
        return 0
    n_frames = args.frames or (QUICK_FRAMES if args.quick else FRAMES)

    methods: dict[str, Fill] = {}
    rushes, why = load_rushes()
    if rushes is None:
        print(f"  note: rushes.ops.remove_fill not importable ({why}); running the peers only")
    else:
        methods["rushes"] = rushes
        with_grain = load_rushes_grain()
        if with_grain is not None:
            methods["rushes+grain"] = with_grain
    methods |= {"telea": fill_telea, "ns": fill_ns, "tmedian": fill_tmedian}
    order = list(methods)

    t_start = time.perf_counter()
    cases: list[dict[str, Any]] = []
    case_rows: list[list[Any]] = []
    for index, name in enumerate(names):
        entry = info[name]
        clean = read_clip(root, entry, n_frames, LONG_SIDE)
        if len(clean) < 3:
            print(f"  {name}: only {len(clean)} frames; skipped")
            continue
        t0 = time.perf_counter()
        h, w = clean[0].shape[:2]
        warps = clean_warps(clean)
        for case in make_cases(name, index, clean, args.seed):
            scores = run_case(case, clean, warps, methods)
            cases.append(
                {
                    "clip": name,
                    "size": [w, h],
                    "frames": len(clean),
                    "family": case.family,
                    "case": case.label,
                    "params": case.params,
                    "mask_coverage": case.coverage,
                    "scores": scores,
                }
            )
            psnrs = [
                _fmt(scores[m].get("psnr")) if "error" not in scores[m] else "fail" for m in order
            ]
            unfilled = _fmt(scores["unfilled"]["psnr"])
            cover = f"{100 * case.coverage:.1f}"
            case_rows.append([name, f"{w}x{h}", case.label, cover, *psnrs, unfilled])
            for m in order:
                if "error" in scores[m]:
                    print(f"  {name} / {case.label}: {m} failed: {scores[m]['error']}")
        print(
            f"  {name} ({w}x{h}, {len(clean)} frames): {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
    if not cases:
        print("bench_remove: no usable clips; skipped")
        return 0

    speed_result: dict[str, Any] = {}
    if not args.no_speed:
        n_speed = QUICK_SPEED_FRAMES if args.quick else SPEED_FRAMES
        speed_result = speed(root, info, n_speed, args.seed)

    summary = summarize(cases, order)
    print()
    print("PSNR in mask per case (dB)")
    print(table(["clip", "size", "case", "mask %", *order, "unfilled"], case_rows))
    print()
    print(
        "Per family, mean over cases (warp: error added over the clean frames' own, x 1e-3; "
        "grain: fill / plate high-band energy; clean: the truth's own, unfilled: the composite)"
    )
    rows = []
    for family, by_method in summary.items():
        for m in [*order, "clean", "unfilled"]:
            s = by_method[m]
            rows.append(
                [
                    family,
                    m,
                    s["cases"],
                    s["failed"] or "",
                    _fmt(s.get("psnr")) if m != "clean" else "",
                    _fmt(s.get("ssim"), ".4f"),
                    _fmt(1e3 * s["warp_excess"] if "warp_excess" in s else None, ".3f"),
                    _fmt(s.get("grain"), ".3f"),
                    _fmt(s.get("fps"), ".1f"),
                ]
            )
    headers = ["family", "method", "cases", "failed", "PSNR", "SSIM", "warp", "grain", "fps"]
    print(table(headers, rows))

    checks: list[list[Any]] = []
    margins: dict[str, Any] = {}
    for family, target in TARGET_DB.items():
        fam = summary[family]
        peers = [p for p in PEERS if "psnr" in fam[p]]
        best = max(peers, key=lambda p: fam[p]["psnr"]) if peers else None
        ours = fam.get("rushes", {})
        failed = ours.get("failed", 0)
        margin = ours["psnr"] - fam[best]["psnr"] if "psnr" in ours and best else None
        margins[family] = {
            "best_peer": best,
            "margin_db": margin,
            "target_db": target,
            "rushes_failed_cases": failed,
        }
        if margin is None:
            verdict = "FAIL (rushes missing)" if "rushes" not in fam else "FAIL (rushes failed)"
        elif failed:
            verdict = f"FAIL (rushes failed on {failed} cases)"
        else:
            verdict = "PASS" if margin >= target else "FAIL"
        checks.append(
            [
                f"{family}: rushes PSNR - best peer ({best})",
                _fmt(margin),
                f">= {target} dB",
                verdict,
            ]
        )
    fps = speed_result.get("rushes", {}).get("fps")
    if speed_result:
        checks.append(
            [
                f"rushes fps, {SPEED_SIZE[0]}x{SPEED_SIZE[1]} wires ({speed_result.get('clip')})",
                _fmt(fps, ".2f"),
                f">= {TARGET_FPS}",
                "FAIL (rushes missing or failed)"
                if fps is None
                else ("PASS" if fps >= TARGET_FPS else "FAIL"),
            ]
        )
        telea_fps = speed_result.get("telea", {}).get("fps")
        checks.append(["telea fps, same frames (reference)", _fmt(telea_fps, ".2f"), "", ""])
    print()
    print(table(["check", "value", "target", "met"], checks))
    total = time.perf_counter() - t_start
    print(f"\n{len(cases)} cases on {len({c['clip'] for c in cases})} clips in {total:.0f} s")
    path = write_result(
        "remove",
        {
            "methods": order,
            "rushes_missing": why or None,
            "cases": cases,
            "summary": summary,
            "margins": margins,
            "speed": speed_result,
            "targets": {"psnr_margin_db": TARGET_DB, "fps_1080p": TARGET_FPS},
            "settings": {
                "frames": n_frames,
                "long_side": LONG_SIDE,
                "tmedian_radius": TMEDIAN_RADIUS,
                "inpaint_radius": INPAINT_RADIUS,
                "psnr_cap": PSNR_CAP,
                "quick": args.quick,
            },
            "seed": args.seed,
            "seconds": total,
        },
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
