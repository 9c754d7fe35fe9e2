"""Helpers shared by the benchmarks: footage location, result tables, atomic JSON."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def footage_root() -> Path:
    """``RUSHES_FOOTAGE`` (when set and not empty) or ``../shared/footage`` beside the repo."""
    env = os.environ.get("RUSHES_FOOTAGE")
    return Path(env) if env else REPO.parent / "shared" / "footage"


def manifest() -> dict[str, dict[str, Any]]:
    """The shared footage's MANIFEST.json, by clip name."""
    data = json.loads((footage_root() / "MANIFEST.json").read_text())
    return {c["name"]: c for c in data}


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def write_result(name: str, data: dict[str, Any]) -> Path:
    """Write ``benchmarks/results/<name>.json`` atomically."""
    from rushes.atomic import write_text_atomic  # late: bench_boundaries may add src/ first

    path = RESULTS / f"{name}.json"
    write_text_atomic(path, json.dumps({"machine": machine(), **data}, indent=2, default=str))
    return path


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A plain-text table."""
    cells = [[f"{c:.3f}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "-" * len(line)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(out)
