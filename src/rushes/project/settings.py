"""``rushes.toml``: the project's settings, validated by one pydantic model."""

from __future__ import annotations

import tomllib
from fractions import Fraction
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator

from rushes.errors import ProjectError


class AnalysisSettings(BaseModel):
    """How ingest analyses footage."""

    long_side: int = Field(320, ge=64, le=1920, description="analysis frame long side, pixels")
    people_every: int = Field(48, ge=1, description="run face/people detection every N frames")
    workers: int = Field(0, ge=0, description="clips analysed in parallel; 0 = one per core")


class ColorSettings(BaseModel):
    """Colour defaults; per-clip overrides live in the catalog."""

    input_colorspace: str | None = Field(None, description="OCIO name; None = guess per clip")
    working_space: str = "ACEScg"


class ProvenanceSettings(BaseModel):
    """C2PA signing of delivered renders (paths relative to the project; see
    :mod:`rushes.guard.c2pa_sign`, which reads and checks this table)."""

    sign_cert: str | None = Field(None, description="PEM certificate chain")
    sign_key: str | None = Field(None, description="PEM private key")
    sign_alg: str | None = Field(None, description="es256, es384, ps256, ...")
    tsa_url: str | None = Field(None, description="time-stamp authority (none: no network)")
    trust_anchors: str | None = Field(None, description="PEM CA certificates trusted")


class Settings(BaseModel):
    """The whole of ``rushes.toml``."""

    name: str
    fps: str = "24"
    color: ColorSettings = Field(default_factory=ColorSettings)
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)
    users: list[str] = Field(default_factory=list)
    provenance: ProvenanceSettings = Field(default_factory=ProvenanceSettings)

    @field_validator("fps")
    @classmethod
    def _fps(cls, v: str) -> str:
        try:
            f = Fraction(str(v)).limit_denominator(1001)
        except (ValueError, ZeroDivisionError):
            raise ValueError(
                f"fps {v!r} is not a rate; write 24, 25, 23.976 or 24000/1001"
            ) from None
        if not 1 <= f <= 1000:
            raise ValueError(f"fps {v!r} is out of range 1..1000")
        return str(f)

    @property
    def rate(self) -> Fraction:
        """Project frame rate as an exact fraction (23.976 -> 24000/1001)."""
        return parse_rate(self.fps)


def parse_rate(value: str | float) -> Fraction:
    """Parse a frame rate: ``24``, ``23.976`` (-> 24000/1001), ``29.97``, ``24000/1001``."""
    f = Fraction(str(value))
    for nominal in (24, 30, 48, 60, 120):
        ntsc = Fraction(nominal * 1000, 1001)
        if abs(f - ntsc) < Fraction(1, 500):
            return ntsc
    return f.limit_denominator(1001)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    s = str(v).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{s}"'


def dump_settings(s: Settings) -> str:
    """Render settings as TOML (tables after top-level keys; ``None`` values omitted)."""
    data = s.model_dump()
    top = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    lines = ["# rushes project settings", *top]
    for k, v in data.items():
        if isinstance(v, dict):
            items = {kk: vv for kk, vv in v.items() if vv is not None}
            if items:  # a table with nothing set is left out
                lines += ["", f"[{k}]"]
                lines += [f"{kk} = {_toml_value(vv)}" for kk, vv in items.items()]
    return "\n".join(lines) + "\n"


def load_settings(path: Path) -> Settings:
    """Read and validate ``rushes.toml``.

    Raises:
        ProjectError: unreadable TOML or an invalid value, naming the file and the key.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ProjectError(f"{path}: cannot read ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise ProjectError(f"{path}: not valid TOML ({e}); fix the file") from None
    try:
        return Settings.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        key = ".".join(str(x) for x in err["loc"])
        raise ProjectError(f"{path}: {key}: {err['msg']}") from None
