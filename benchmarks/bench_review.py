"""Load on the review server: concurrent clients browsing thumbnails and proxies.

Builds a project from a few shared clips (presented as camera originals through symbolic
links, as ``make demo`` does) and starts the real review server in its own process
(``python -m rushes.review.server``: uvicorn on localhost, a fresh token). The shot proxies are
built first through the server's own lazy path (their build time is reported). Then N clients
(default 50, each its own HTTP connection and token cookie, asyncio + httpx in one process) browse
for the given time (default 60 s) without pause, each repeating what a reviewer's browser does:

* ``api``: the shot list (``/api/shots``) and, before playing a shot, its media record;
* ``thumbnail``: 8 thumbnails of the grid, picked at random;
* ``proxy``: 4 HTTP range requests of 256 KiB into one shot's proxy (the first from byte 0, as a
  video element starts; the others at random offsets, as seeking does).

Latency is measured per request to the last byte. Reported per kind: requests, p50 / p99 / max
latency (ms), errors (any status other than 200/206, or a failed connection) and throughput.
Target: thumbnail p99 < 300 ms and no errors at all.

Prints a table and writes ``benchmarks/results/review.json``.

Usage:
    python benchmarks/bench_review.py [--seconds 60] [--clients 50] [--quick] [--keep]

Without the shared footage (``$RUSHES_FOOTAGE`` or ``shared/footage`` beside the repository)
it prints one line and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import footage_root, manifest, table, write_result

# a clip with cuts (several shots), a frame sequence and two short videos
CLIPS = (
    ("running_car", "A001C001_261121_R1AB"),
    ("bmx-trees", "B001C001_261121_R2CD"),
    ("figure_skating", "C001C001_261121_R3EF"),
    ("schoolgirls", "D001C001_261121_R4GH"),
)
SECONDS, CLIENTS = 60.0, 50
QUICK_SECONDS, QUICK_CLIENTS = 10.0, 20
THUMBS_PER_PAGE = 8
RANGES_PER_PLAY = 4
RANGE_BYTES = 256 * 1024
TARGET_P99_MS = 300.0
KINDS = ("thumbnail", "proxy", "api")


# --------------------------------------------------------------------------------------------
# The project and the server


def link_dailies(root: Path, out: Path) -> list[Path]:
    """Camera-roll-named links to the shared clips (sequences as folders of links)."""
    m = manifest()
    out.mkdir(parents=True, exist_ok=True)
    for clip, roll in CLIPS:
        src = root / m[clip]["path"]
        if m[clip]["kind"] == "video":
            (out / f"{roll}{src.suffix}").symlink_to(src)
        else:
            seq = out / roll
            seq.mkdir()
            for i, f in enumerate(sorted(src.iterdir())):
                (seq / f"{roll}.{1001 + i:04d}{f.suffix.lower()}").symlink_to(f)
    return [out]


def make_project(work: Path) -> tuple[Path, float, int]:
    """Ingest the clips into a new project; its folder, the ingest time and shot count."""
    from rushes.ingest import ingest
    from rushes.project import Project, Shot

    dailies = link_dailies(footage_root(), work / "dailies")
    project = Project.init(work / "film", fps="24")
    t = time.perf_counter()
    report = ingest(project, dailies)
    took = time.perf_counter() - t
    if report.failed:
        raise RuntimeError(f"ingest failed: {report.failed}")
    with project.session() as s:
        from sqlalchemy import func, select

        shots = int(s.scalar(select(func.count()).select_from(Shot)) or 0)
    project.close()
    return project.root, took, shots


def start_server(root: Path) -> tuple[subprocess.Popen[str], str, str]:
    """The review server in its own process; the process, its base URL and its token."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rushes.review.server", str(root), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        found = re.search(r"(http://[^/\s]+)/\?token=(\S+)", line)
        if found:
            return proc, found.group(1), found.group(2)
    proc.kill()
    raise RuntimeError("the review server did not print its URL")


async def build_proxies(base: str, token: str, names: list[str]) -> tuple[float, dict[str, str]]:
    """Ask for every shot's proxy and wait until all are built; seconds taken and the URLs."""
    import httpx

    urls: dict[str, str] = {}
    t = time.perf_counter()
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as c:
        while len(urls) < len(names):
            for name in names:
                if name in urls:
                    continue
                m = (await c.get(f"/api/shots/{quote(name, safe='')}/media")).json()
                if m["state"] == "ready":
                    urls[name] = m["url"]
                elif m["state"] == "failed":
                    raise RuntimeError(f"proxy of {name} failed: {m.get('error')}")
            await asyncio.sleep(0.5)
    return time.perf_counter() - t, urls


# --------------------------------------------------------------------------------------------
# The clients


class Log:
    """Latencies (seconds) and errors per kind of request."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {k: [] for k in KINDS}
        self.errors: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.samples: list[str] = []
        self.bytes = 0

    def error(self, kind: str, what: str) -> None:
        self.errors[kind] += 1
        if len(self.samples) < 10:
            self.samples.append(f"{kind}: {what}")


async def client(
    k: int,
    base: str,
    token: str,
    shots: list[dict[str, Any]],
    proxies: dict[str, tuple[str, int]],
    deadline: float,
    log: Log,
) -> None:
    """One reviewer's browser: log in with the token, then browse until ``deadline``."""
    import httpx

    rng = random.Random(k)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as c:
        r = await c.get(f"/?token={token}", follow_redirects=True)
        if r.status_code != 200:
            log.error("api", f"login {r.status_code}")
            return

        async def timed(kind: str, url: str, headers: dict[str, str] | None = None) -> None:
            t = time.perf_counter()
            try:
                r = await c.get(url, headers=headers)
                body = r.content
            except httpx.HTTPError as e:
                log.error(kind, f"{url}: {type(e).__name__} {e}")
                return
            log.times[kind].append(time.perf_counter() - t)
            log.bytes += len(body)
            if r.status_code not in (200, 206):
                log.error(kind, f"{url}: HTTP {r.status_code} {r.text[:120]}")

        while time.perf_counter() < deadline:
            await timed("api", "/api/shots")
            for s in rng.sample(shots, min(THUMBS_PER_PAGE, len(shots))):
                await timed("thumbnail", s["thumbnail"])
            shot = rng.choice(shots)
            await timed("api", f"/api/shots/{quote(shot['name'], safe='')}/media")
            url, size = proxies[shot["name"]]
            for j in range(RANGES_PER_PLAY):
                start = 0 if j == 0 else rng.randrange(0, max(1, size - RANGE_BYTES))
                end = min(size, start + RANGE_BYTES) - 1
                await timed("proxy", url, {"Range": f"bytes={start}-{end}"})


async def load(
    base: str, token: str, proxies: dict[str, tuple[str, int]], clients: int, seconds: float
) -> tuple[Log, float]:
    """``clients`` browsing for ``seconds``; the log and the wall time."""
    import httpx

    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as c:
        shots = (await c.get("/api/shots")).json()["shots"]
    log = Log()
    t = time.perf_counter()
    deadline = t + seconds
    await asyncio.gather(
        *(client(k, base, token, shots, proxies, deadline, log) for k in range(clients))
    )
    return log, time.perf_counter() - t


def summary(log: Log, wall: float) -> list[dict[str, Any]]:
    """Per kind: requests, p50 / p99 / max latency in ms, errors, requests per second."""
    rows = []
    for kind in KINDS:
        ms = np.array(log.times[kind]) * 1000.0
        rows.append(
            {
                "kind": kind,
                "requests": len(ms),
                "p50_ms": float(np.percentile(ms, 50)) if len(ms) else None,
                "p99_ms": float(np.percentile(ms, 99)) if len(ms) else None,
                "max_ms": float(ms.max()) if len(ms) else None,
                "errors": log.errors[kind],
                "per_s": len(ms) / wall,
            }
        )
    return rows


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far (Linux ``/proc``; else ``None``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table, write ``benchmarks/results/review.json``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0, help="browsing time (default 60)")
    parser.add_argument("--clients", type=int, default=0, help="concurrent clients (default 50)")
    parser.add_argument("--quick", action="store_true", help="20 clients for 10 s")
    parser.add_argument("--keep", action="store_true", help="keep the project (path printed)")
    args = parser.parse_args(argv)
    seconds = args.seconds or (QUICK_SECONDS if args.quick else SECONDS)
    clients = args.clients or (QUICK_CLIENTS if args.quick else CLIENTS)

    root = footage_root()
    if not (root / "MANIFEST.json").is_file():
        print(f"bench_review: no footage at {root} (set RUSHES_FOOTAGE); skipped")
        return 0
    try:
        import httpx
    except ImportError:
        print("bench_review: httpx is not installed (pip install -e '.[dev]'); skipped")
        return 0

    work = Path(tempfile.mkdtemp(prefix="rushes-bench-review-"))
    proc = None
    try:
        project, ingest_s, n_shots = make_project(work)
        print(f"project: {n_shots} shots from {len(CLIPS)} clips, ingested in {ingest_s:.1f} s")
        proc, base, token = start_server(project)
        import httpx

        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as c:
            shots = c.get("/api/shots").json()["shots"]
        names = [s["name"] for s in shots]
        build_s, urls = asyncio.run(build_proxies(base, token, names))
        sizes = {
            n: (u, (project / u.removeprefix("/files/")).stat().st_size) for n, u in urls.items()
        }
        total_mb = sum(s for _, s in sizes.values()) / 1e6
        print(f"proxies: {len(urls)} built in {build_s:.1f} s ({total_mb:.1f} MB)")
        print(f"load: {clients} clients for {seconds:.0f} s on {base} ...", flush=True)
        cpu0, own0 = cpu_seconds(proc.pid), time.process_time()
        log, wall = asyncio.run(load(base, token, sizes, clients, seconds))
        cpu1, own1 = cpu_seconds(proc.pid), time.process_time()
        server_cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
        client_cpu = own1 - own0
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        if args.keep:
            print(f"project kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    rows = summary(log, wall)
    errors = sum(log.errors.values())
    thumb = next(r for r in rows if r["kind"] == "thumbnail")
    passed = errors == 0 and thumb["p99_ms"] is not None and thumb["p99_ms"] < TARGET_P99_MS
    print(
        table(
            ["kind", "requests", "p50 ms", "p99 ms", "max ms", "errors", "req/s"],
            [
                [
                    r["kind"],
                    r["requests"],
                    r["p50_ms"] or 0.0,
                    r["p99_ms"] or 0.0,
                    r["max_ms"] or 0.0,
                    r["errors"],
                    r["per_s"],
                ]
                for r in rows
            ],
        )
    )
    mb_s = log.bytes / wall / 1e6
    verdict = "PASS" if passed else "FAIL"
    print(
        f"{sum(r['requests'] for r in rows)} requests in {wall:.1f} s, {mb_s:.1f} MB/s; "
        f"target thumbnail p99 < {TARGET_P99_MS:.0f} ms and no errors: {verdict}"
    )
    n_req = sum(r["requests"] for r in rows)
    per_req = {
        "server_cpu_ms": 1000 * server_cpu / n_req if server_cpu is not None and n_req else None,
        "client_cpu_ms": 1000 * client_cpu / n_req if n_req else None,
    }
    if per_req["server_cpu_ms"] is not None:
        print(
            f"CPU per request: server {per_req['server_cpu_ms']:.2f} ms, load clients "
            f"{per_req['client_cpu_ms']:.2f} ms ({os.cpu_count()} cores, shared by both); "
            f"load average {os.getloadavg()[0]:.1f}"
        )
    for line in log.samples:
        print(f"  error: {line}")
    path = write_result(
        "review",
        {
            "clips": [c for c, _ in CLIPS],
            "shots": n_shots,
            "ingest_s": ingest_s,
            "proxies": {"count": len(sizes), "build_s": build_s, "mb": total_mb},
            "clients": clients,
            "seconds": seconds,
            "wall_s": wall,
            "mb_per_s": mb_s,
            "per_kind": rows,
            "cpu_per_request": per_req,
            "load_average_1min": os.getloadavg()[0],
            "errors": errors,
            "error_samples": log.samples,
            "target": {"thumbnail_p99_ms": TARGET_P99_MS, "errors": 0},
            "pass": passed,
        },
    )
    print(f"wrote {path}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
