"""The project model: ``rushes learn`` on the shared footage with the default CPU budget.

Ingests every shared movie and frame sequence into a scratch project, runs ``learn`` (default:
15 minutes, everything included) and reports what its model card measured on the held-out
clips: PSNR inside synthetic wire/rig/object mattes for the plate network vs OpenCV Telea (and
the naive temporal guess it starts from), middle-frame PSNR vs flow-warp blending, training
crops per second and inference frames per second, and the run's wall time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from common import footage_root, manifest, table, write_result

KINDS = ("video", "frames")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--minutes", type=float, default=15.0, help="learn budget (default: 15)")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda")
    args = ap.parse_args(argv)
    root = footage_root()
    if not (root / "MANIFEST.json").is_file():
        print(f"bench_learn: skipped, no shared footage at {root}")
        return 0
    from rushes.dialect.learn import learn
    from rushes.ingest import ingest
    from rushes.project import Project

    clips = [c for c in manifest().values() if c["kind"] in KINDS]
    with tempfile.TemporaryDirectory(prefix="rushes_bench_learn_") as tmp:
        project = Project.init(Path(tmp) / "film", fps="25")
        t0 = time.perf_counter()
        report = ingest(project, [root / c["path"] for c in clips])
        t_ingest = time.perf_counter() - t0
        phases: dict[str, float] = {}
        start = time.perf_counter()

        def hook(phase: str, info: dict[str, Any]) -> None:
            phases.setdefault(phase, round(time.perf_counter() - start, 1))
            if phase == "train" and info["step"] % 2000 == 0:
                print(f"  step {info['step']} loss {info['loss']:.4f} left {info['left']:.0f} s")

        card = learn(project, minutes=args.minutes, device=args.device, hook=hook)
        wall = time.perf_counter() - start
    v, t, d = card["validation"], card["training"], card["data"]
    rows = [
        [k, r["crops"], r["network_db"], r["telea_db"], r["naive_db"], r["margin_db"]]
        for k, r in v["masked"].items()
    ]
    print(
        f"{d['clips']} clips ({d['train_clips']} train, {d['validation_clips']} held out), "
        f"{d['footage_minutes']} min of footage; ingest {t_ingest:.0f} s; learn {wall:.0f} s "
        f"(budget {args.minutes} min) on {card['device']}"
    )
    print(table(["matte", "crops", "network dB", "Telea dB", "naive dB", "margin dB"], rows))
    m = v["middle"]
    print(
        table(
            ["middle frame", "network dB", "flow-warp blend dB", "average dB", "margin dB"],
            [["held-out", m["network_db"], m["flow_blend_db"], m["average_db"], m["margin_db"]]],
        )
    )
    print(
        f"training: {t['steps']} steps, {t['samples']} crops in {t['seconds']} s = "
        f"{t['samples_per_second']} crops/s; inference {v['inference_fps_960x540']} fps at "
        f"960x540; phases started at {phases}"
    )
    target = v["masked"]["all"]["margin_db"] >= 1.5 and wall <= args.minutes * 60 + 5
    print(f"target (>= +1.5 dB over Telea on held-out clips, within budget): {target}")
    write_result(
        "learn",
        {
            "card": card,
            "ingest_seconds": round(t_ingest, 1),
            "ingest_failed": report.failed,
            "learn_wall_seconds": round(wall, 1),
            "phases": phases,
            "target_met": target,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
