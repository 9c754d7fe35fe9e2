"""Ingest + analysis throughput against FFmpeg decode-only, and peak memory vs clip length.

Builds 1080p H.264 clips from the shared 720p footage (upscaled, re-encoded with libx264),
then in the same run measures:
  * decode-only: every frame of every file decoded by libavcodec (PyAV, threaded), nothing else;
    plus the ``ffmpeg -f null`` command when one is on PATH;
  * ``rushes ingest`` of the same files into a fresh project (checksums, probe, analysis,
    thumbnails, catalog), clips in parallel;
  * peak resident memory of analysing a clip of N and of 4N frames (each in its own process).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import footage_root, manifest, table, write_result

SOURCES = ["juggle_sam2", "dog_walk_sam2", "portrait_woman_outdoor_lp_s32"]


def make_1080p(src: Path, dst: Path, frames: int) -> int:
    """Upscale ``src`` to 1920x1080 H.264, looping it until it is ``frames`` long."""
    n = 0
    with av.open(str(dst), "w") as out:
        s = out.add_stream("libx264", rate=Fraction(24))
        s.width, s.height, s.pix_fmt = 1920, 1080, "yuv420p"
        s.options = {"crf": "20", "preset": "veryfast"}
        while n < frames:
            with av.open(str(src)) as inp:
                for fr in inp.decode(video=0):
                    if n >= frames:
                        break
                    big = fr.reformat(width=1920, height=1080, format="yuv420p")
                    big.pts, big.time_base = n, Fraction(1, 24)
                    for pkt in s.encode(big):
                        out.mux(pkt)
                    n += 1
        for pkt in s.encode():
            out.mux(pkt)
    return n


def decode_only(files: list[Path]) -> tuple[float, int]:
    """Seconds and frames to decode every file with libavcodec, threaded, nothing else."""
    t, n = time.perf_counter(), 0
    for f in files:
        with av.open(str(f)) as c:
            st = c.streams.video[0]
            st.thread_type = "AUTO"
            for _ in c.decode(st):
                n += 1
    return time.perf_counter() - t, n


def ffmpeg_null(files: list[Path]) -> float | None:
    """Seconds for ``ffmpeg -i f -f null -`` over the files, when ffmpeg is installed."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        return None
    t = time.perf_counter()
    for f in files:
        subprocess.run(
            [exe, "-v", "error", "-i", str(f), "-map", "0:v:0", "-f", "null", "-"], check=True
        )
    return time.perf_counter() - t


def ingest_time(files: list[Path], work: Path, workers: int) -> tuple[float, int]:
    """Seconds and frames for a full ingest of ``files`` into a fresh project."""
    from rushes.ingest import ingest
    from rushes.project import Project

    proj_dir = work / f"proj_{workers}"
    shutil.rmtree(proj_dir, ignore_errors=True)
    project = Project.init(proj_dir, fps="24")
    t = time.perf_counter()
    report = ingest(project, files, workers=workers)
    dt = time.perf_counter() - t
    if report.failed:
        raise RuntimeError(report.failed)
    return dt, report.frames


PEAK_SNIPPET = """
import resource, sys
from rushes.media import open_media
from rushes.analysis.clip import analyze_clip
with open_media(sys.argv[1]) as r:
    a = analyze_clip(r)
print(a.frames, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss(path: Path) -> tuple[int, float]:
    """(frames, peak RSS in MiB) of analysing one clip in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", PEAK_SNIPPET, str(path)], check=True, capture_output=True, text=True
    ).stdout.split()
    return int(out[0]), int(out[1]) / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=480, help="frames per 1080p clip")
    args = ap.parse_args(argv)
    root = footage_root()
    if not (root / "MANIFEST.json").is_file():
        print(f"bench_ingest: skipped, no shared footage at {root}")
        return 0
    m = manifest()
    with tempfile.TemporaryDirectory(prefix="rushes_bench_") as tmp:
        work = Path(tmp)
        files = []
        for i, name in enumerate(SOURCES):
            dst = work / f"A00{i + 1}C001_261121_R1AB.mp4"
            make_1080p(root / m[name]["path"], dst, args.frames)
            files.append(dst)
        decode_only(files[:1])  # warm the page cache for everyone alike
        d_s, d_n = decode_only(files)
        ff = ffmpeg_null(files)
        i1_s, i1_n = ingest_time(files, work, workers=1)
        i2_s, i2_n = ingest_time(files, work, workers=2)
        short = work / "short.mp4"
        long = work / "long.mp4"
        make_1080p(root / m[SOURCES[0]]["path"], short, 120)
        make_1080p(root / m[SOURCES[0]]["path"], long, 960)
        n_short, rss_short = peak_rss(short)
        n_long, rss_long = peak_rss(long)
    rows = [
        ["FFmpeg decode-only (libavcodec via PyAV)", d_n, d_s, d_n / d_s, 1.0],
    ]
    if ff is not None:
        rows.append(["ffmpeg -f null (CLI)", d_n, ff, d_n / ff, (d_n / ff) / (d_n / d_s)])
    rows += [
        ["rushes ingest, 1 worker", i1_n, i1_s, i1_n / i1_s, (i1_n / i1_s) / (d_n / d_s)],
        ["rushes ingest, 2 workers", i2_n, i2_s, i2_n / i2_s, (i2_n / i2_s) / (d_n / d_s)],
    ]
    print(f"\nIngest throughput, {len(files)} clips of 1920x1080 H.264, {d_n} frames")
    print(table(["method", "frames", "seconds", "fps", "ratio to decode-only"], rows))
    mem = [
        [f"{n_short} frames", rss_short],
        [f"{n_long} frames", rss_long],
        ["ratio long/short", rss_long / rss_short],
    ]
    print("\nPeak memory of analysing one 1080p clip (MiB)")
    print(table(["clip", "peak RSS MiB"], mem))
    best = max(i1_n / i1_s, i2_n / i2_s) / (d_n / d_s)
    write_result(
        "ingest",
        {
            "clips": len(files),
            "frames": d_n,
            "decode_only": {"seconds": d_s, "fps": d_n / d_s},
            "ffmpeg_cli_seconds": ff,
            "ingest_1_worker": {"seconds": i1_s, "fps": i1_n / i1_s},
            "ingest_2_workers": {"seconds": i2_s, "fps": i2_n / i2_s},
            "ratio_to_decode_only": best,
            "target": 0.5,
            "peak_rss_mib": {
                "short": [n_short, rss_short],
                "long": [n_long, rss_long],
                "ratio": rss_long / rss_short,
            },
        },
    )
    print(f"\nbest ratio to decode-only: {best:.2f} (target >= 0.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
