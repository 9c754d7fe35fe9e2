"""Helpers shared by the benchmarks: footage location, result tables, atomic JSON."""

from __future__ import annotations

import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def footage_root() -> Path:
    """``RUSHES_FOOTAGE`` or ``../shared/footage`` beside the repo."""
    return Path(os.environ.get("RUSHES_FOOTAGE", REPO.parent / "shared" / "footage"))


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
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    fd, tmp = tempfile.mkstemp(dir=RESULTS, prefix=f".{name}.")
    with os.fdopen(fd, "w") as f:
        json.dump({"machine": machine(), **data}, f, indent=2, default=str)
    os.replace(tmp, path)
    return path


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A plain-text table."""
    cells = [[f"{c:.3f}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "-" * len(line)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(out)
