"""`make bench`: run every benchmark; each prints a table and writes benchmarks/results/*.json."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_boundaries
import bench_guard
import bench_ingest
import bench_learn
import bench_match
import bench_remove
import bench_review


def main() -> int:
    code = 0
    for mod in (
        bench_boundaries,
        bench_ingest,
        bench_match,
        bench_remove,
        bench_learn,
        bench_guard,
        bench_review,
    ):
        print(f"\n=== {mod.__name__} ===", flush=True)
        code |= mod.main([])
    return code


if __name__ == "__main__":
    sys.exit(main())
