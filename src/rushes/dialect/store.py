"""The project model on disk: ``models/<version>/`` folders, model cards and safetensors.

::

    models/
      v001/
        card.json        # model card: settings, data summary, validation scores, profiles summary
        manifest.json    # data manifest: every clip used (path, checksum, frames), train/validation
        profiles.json    # the learned profiles (look, grain, lens, motion, rhythm)
        plate.safetensors
      .partial/          # a run in progress: checkpoint.safetensors + state.json (``--resume``)
    taught/<name>/       # effects taught by example (card.json + weights.safetensors)

Versions are ``v001``, ``v002``...; the newest complete one is the current model. A version is
written into ``.partial`` and renamed into place when complete, so a folder ``vNNN`` is never
half-written. Weights are safetensors only: a checkpoint is never unpickled, and a file whose
metadata does not say it is a rushes network of the expected format is refused.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from rushes.atomic import atomic_path, write_text_atomic
from rushes.errors import ModelError
from rushes.project import Project

VERSION_RE = re.compile(r"^v(\d{3,})$")
PARTIAL = ".partial"
CARD = "card.json"
MANIFEST = "manifest.json"
PROFILES = "profiles.json"
WEIGHTS = "plate.safetensors"


def models_dir(project: Project) -> Path:
    """The project's ``models/`` folder (made if missing)."""
    folder = project.path("models")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def list_versions(project: Project) -> list[str]:
    """Complete model versions, oldest first (``["v001", "v002"]``)."""
    found = [
        p.name
        for p in models_dir(project).iterdir()
        if p.is_dir() and VERSION_RE.match(p.name) and (p / CARD).is_file()
    ]
    return sorted(found, key=lambda n: int(n[1:]))


def latest_version(project: Project) -> str | None:
    """The current model's version, or ``None`` before the first ``rushes learn``."""
    versions = list_versions(project)
    return versions[-1] if versions else None


def next_version(project: Project) -> str:
    """The name the next complete model will get."""
    used = [
        int(m.group(1)) for p in models_dir(project).iterdir() if (m := VERSION_RE.match(p.name))
    ]
    return f"v{max(used, default=0) + 1:03d}"


def version_dir(project: Project, version: str | None = None) -> Path:
    """Folder of ``version`` (default: the current model).

    Raises:
        ModelError: no model learned yet, or no such version.
    """
    if version is None:
        version = latest_version(project)
        if version is None:
            raise ModelError("no project model yet; run 'rushes learn' first")
    folder = models_dir(project) / version
    if not VERSION_RE.match(version) or not (folder / CARD).is_file():
        known = ", ".join(list_versions(project)) or "none"
        raise ModelError(f"no model version '{version}' (known: {known}); see 'rushes model ls'")
    return folder


def partial_dir(project: Project) -> Path:
    """Folder of the run in progress (checkpoints for ``--resume``)."""
    return models_dir(project) / PARTIAL


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``.

    Raises:
        ModelError: missing or not a JSON object.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: missing; the model folder is incomplete") from None
    except (OSError, ValueError) as e:
        raise ModelError(f"{path}: unreadable ({e}); remove the version and learn again") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: not a JSON object; remove the version and learn again")
    return data


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON, atomically."""
    write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def read_card(project: Project, version: str | None = None) -> dict[str, Any]:
    """The model card of ``version`` (default: current)."""
    return read_json(version_dir(project, version) / CARD)


def publish(project: Project, staging: Path) -> str:
    """Rename a complete ``staging`` folder to the next version; returns the version."""
    version = next_version(project)
    staging.rename(models_dir(project) / version)
    return version


def remove_version(project: Project, version: str) -> Path:
    """Delete a model version's folder; returns the path removed.

    Raises:
        ModelError: no such version.
    """
    folder = version_dir(project, version)
    shutil.rmtree(folder)
    return folder


# --------------------------------------------------------------------------------------------
# safetensors


def save_tensors(path: Path, tensors: dict[str, Any], metadata: dict[str, str]) -> None:
    """Write torch tensors to a safetensors file, atomically, with string ``metadata``."""
    from safetensors.torch import save_file

    with atomic_path(Path(path)) as tmp:
        cpu = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
        save_file(cpu, str(tmp), metadata)


def load_tensors(path: Path, expect_format: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Read a safetensors file whose metadata ``format`` is ``expect_format``.

    Returns:
        The tensors (on the CPU) and the metadata.

    Raises:
        ModelError: missing, not a safetensors file (a pickle, a truncated file), or another
            kind of file; it is never unpickled.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: missing; learn again or remove this version")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
            if meta.get("format") != expect_format:
                raise ModelError(
                    f"{path}: not a {expect_format} file (format "
                    f"{meta.get('format') or 'not stated'}); refusing to load it"
                )
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open API)
    except (SafetensorError, OSError, ValueError) as e:
        raise ModelError(
            f"{path}: not a valid safetensors file ({e}); it was not loaded "
            "(rushes never unpickles); learn again or remove this version"
        ) from None
    return tensors, meta


def load_state(module: Any, tensors: dict[str, Any], source: Path) -> None:
    """Load ``tensors`` into a torch module, refusing missing, extra or misshapen weights."""
    own = module.state_dict()
    missing = sorted(set(own) - set(tensors))
    extra = sorted(set(tensors) - set(own))
    bad = [k for k in own if k in tensors and tuple(tensors[k].shape) != tuple(own[k].shape)]
    if missing or extra or bad:
        what = (missing and f"missing {missing[0]}") or (extra and f"unexpected {extra[0]}")
        raise ModelError(
            f"{source}: weights do not fit the network ({what or f'wrong shape of {bad[0]}'}); "
            "the file is corrupt or from another version; learn again"
        )
    module.load_state_dict(tensors)
