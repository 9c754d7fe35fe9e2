"""Render provenance: where a render's pixels came from, written beside them and checked later.

Every render gets a ``provenance.json`` sidecar, a versioned record (schema
``rushes.provenance.1``)::

    {
      "schema": "rushes.provenance.1",
      "id": "8c4f...",                        # uuid4 of this render
      "created_at": "2026-...Z", "rushes": "0.1.0", "rendered_by": "alice",
      "project": {"name": "my_film"},
      "proposal": {"id", "op", "version" (params schema), "shot", "status" (at render time),
                   "created_by", "created_at", "summary", "params", "result",
                   "decisions": [{"verdict", "by", "at", "note"}]},
      "source": {"shot", "clip", "path", "checksum", "checksum_alg": "xxh64",
                 "start", "end" (exclusive, frames of the clip), "frames", "fps", "timecode"},
      "sources": [{"role": "take" | "look reference" | "grain reference", same fields}],
      "model": null | {"kind": "project" | "taught", "version", "weights", "weights_sha256",
                       "data_manifest_sha256", ...},
      "output": {"format", "colorspace", "first_frame", "timecode",
                 "files": [{"path" (relative to this file's folder), "role", "size", "sha256"}]},
      "fill": {...} | null,                   # the operation's report (shares of the fill)
      "c2pa": {"embedded": [...], "skipped": [{"files", "reason"}], "note"}
    }

This module is pure: it takes plain data (it never imports :mod:`rushes.ops`; the render
gathers the data and calls it). The render records the sidecar's sha256 and a full copy of the
manifest in the catalog's append-only audit log; :func:`verify` checks a render against both:
every listed file's size and sha256, the sidecar against the catalog's copy (naming each field
that differs), and any C2PA manifest embedded in a delivered movie
(:mod:`rushes.guard.c2pa_sign`).

Hashing is sha256 (what C2PA and delivery specs use), streamed in 1 MiB chunks; a render hashes
each image file on a background thread right after it is written (still in the page cache)
while the next frame renders, see :class:`OutputHasher` and :func:`hash_as_written`.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rushes.atomic import write_bytes_atomic
from rushes.errors import ProvenanceError

if TYPE_CHECKING:
    from rushes.project import Project

SCHEMA = "rushes.provenance.1"
"""The manifest schema this module writes (and reads, through :data:`UPGRADES`)."""

SIDECAR = "provenance.json"
"""The sidecar's name, in the render folder."""

HASH_CHUNK = 1 << 20
"""Bytes read per step while hashing (flat memory whatever the file size)."""

UPGRADES: dict[str, Any] = {}
"""Older schema name -> function turning such a manifest into the current schema (none yet)."""

T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# Hashing


def sha256_file(path: Path) -> str:
    """The sha256 of a file's bytes as 64 lowercase hex digits, streamed in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """The sha256 of ``data`` as hex."""
    return hashlib.sha256(data).hexdigest()


def _file_entry(root: Path, path: Path, role: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    digest = sha256_file(path)
    return {
        "path": Path(os.path.relpath(path, root)).as_posix(),
        "role": role,
        "size": path.stat().st_size,
        "sha256": digest,
        "_seconds": time.perf_counter() - t0,
    }


class OutputHasher:
    """Hashes a render's files on one background thread while the render goes on.

    Files are added as soon as they are complete (an image sequence's frame once the writer
    asks for the next frame, a movie once it is written and signed); :meth:`entries` waits for
    the hashes. sha256 releases the GIL, so hashing overlaps the next frame's rendering.

    Example:
        >>> with OutputHasher(out) as hasher:                       # doctest: +SKIP
        ...     files = write_exr_sequence(hash_as_written(frames, pattern, 1001, hasher), ...)
        ...     hasher.add_all(files, "frame")                      # any not yet added
        ...     entries = hasher.entries()
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rushes-hash")
        self._jobs: dict[Path, Future[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.seconds = 0.0
        """Time spent hashing (on the background thread), set by :meth:`entries`."""

    def add(self, path: Path, role: str) -> None:
        """Hash ``path`` (a complete file under :attr:`root`) as ``role``; once per path."""
        path = Path(path)
        with self._lock:
            if path not in self._jobs:
                self._jobs[path] = self._pool.submit(_file_entry, self.root, path, role)

    def add_all(self, paths: Iterable[Path], role: str) -> None:
        """:meth:`add` each of ``paths``."""
        for p in paths:
            self.add(p, role)

    def entries(self) -> list[dict[str, Any]]:
        """Every file's ``{"path", "role", "size", "sha256"}``, sorted by path.

        Raises:
            ProvenanceError: a file could not be read (named).
        """
        out = []
        total = 0.0
        for path, job in self._jobs.items():
            try:
                entry = dict(job.result())
            except OSError as e:
                raise ProvenanceError(f"{path}: cannot hash the rendered file ({e})") from None
            total += entry.pop("_seconds")
            out.append(entry)
        self.seconds = total
        return sorted(out, key=lambda e: e["path"])

    def close(self) -> None:
        """Stop the background thread (waiting for the hashes in flight)."""
        self._pool.shutdown(wait=True)

    def __enter__(self) -> OutputHasher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def hash_as_written(
    frames: Iterable[T], pattern: Path, first_frame: int, hasher: OutputHasher, role: str
) -> Iterator[T]:
    """Pass ``frames`` through to a sequence writer, hashing each file it has written.

    A writer that writes file ``k`` before asking for frame ``k + 1`` (as
    :func:`rushes.media.write_exr_sequence` does) has finished file ``k`` when frame ``k + 1``
    is asked for: it is handed to ``hasher`` then, while it is still in the page cache. Files
    are named ``str(pattern) % (first_frame + k)``; call :meth:`OutputHasher.add_all` with the
    writer's own list afterwards so that a differently named file is never missed.
    """
    it = iter(frames)
    k = 0
    while True:
        if k > 0:  # the writer asks for frame k: file k - 1 is complete; hash it while frame k
            _add_if_written(hasher, Path(str(pattern) % (first_frame + k - 1)), role)  # renders
        try:
            frame = next(it)
        except StopIteration:
            return
        yield frame
        k += 1


def _add_if_written(hasher: OutputHasher, path: Path, role: str) -> None:
    if path.is_file():
        hasher.add(path, role)


# --------------------------------------------------------------------------------------------
# Building and writing the manifest


def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON data (datetimes and paths become strings), as it reads back."""
    return json.loads(json.dumps(obj, default=str))


def canonical(obj: Any) -> bytes:
    """Canonical JSON bytes of ``obj`` (sorted keys, no spaces, UTF-8) for hashing."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")


def decision_entry(d: dict[str, Any]) -> dict[str, Any]:
    """One approval or rejection as ``{"verdict", "by", "at", "note"}`` (from a catalog row's
    dict, whose user may be under ``by`` or ``user``)."""
    return jsonable(
        {
            "verdict": d.get("verdict"),
            "by": d.get("by") or d.get("user"),
            "at": d.get("at"),
            "note": d.get("note"),
        }
    )


def model_entry(
    kind: str,
    version: str | None,
    weights: Path | None,
    card: dict[str, Any] | None,
    **extra: Any,
) -> dict[str, Any]:
    """The ``model`` block: which network made pixels, and from what data it learned.

    Args:
        kind: ``"project"`` (the project model's plate network) or ``"taught"`` (an effect
            taught by example; ``version`` is then its base project model, if any).
        version: Project model version (``v001``), or ``None``.
        weights: The weights file used; hashed (sha256) here.
        card: The project model's card (``models/<version>/card.json``), whose
            ``data.manifest_sha256`` is the hash of the data manifest it learned from.
        **extra: More fields to record (a taught effect's name, examples, checksums).
    """
    entry: dict[str, Any] = {"kind": kind, "version": version}
    if weights is not None:
        weights = Path(weights)
        entry["weights"] = str(weights)
        entry["weights_sha256"] = sha256_file(weights) if weights.is_file() else None
        if not weights.is_file():
            entry["weights_missing"] = True
    data = (card or {}).get("data") or {}
    entry["data_manifest_sha256"] = data.get("manifest_sha256")
    if card:
        entry["card_sha256"] = sha256_bytes(canonical(card))
        entry["trained"] = {
            k: data.get(k) for k in ("clips", "train_frames", "footage_minutes") if k in data
        }
    entry.update(extra)
    return jsonable(entry)


def new_manifest(
    *,
    proposal: dict[str, Any],
    source: dict[str, Any],
    sources: list[dict[str, Any]],
    model: dict[str, Any] | None,
    output: dict[str, Any],
    fill: dict[str, Any] | None,
    rendered_by: str,
    rushes_version: str,
    project_name: str | None = None,
) -> dict[str, Any]:
    """A new manifest, without its output file list and C2PA section (added by
    :func:`finish_manifest` once the files are written, hashed and signed).

    Args:
        proposal: ``{"id", "op", "version", "shot", "status", "params", "result",
            "decisions", ...}`` (decisions as :func:`decision_entry` gives them).
        source: The shot's own clip: ``{"shot", "clip", "path", "checksum", "start", "end",
            "frames", "fps", "timecode"}`` (``end`` exclusive, in clip frames).
        sources: Other clips the render drew on, each with a ``role``.
        model: :func:`model_entry`, or ``None`` when no network made pixels.
        output: ``{"format", "colorspace", ...}`` (no ``files`` yet).
        fill: The operation's report, or ``None``.
        rendered_by: Who rendered.
        rushes_version: The rushes package version.
        project_name: The project's name.
    """
    manifest = {
        "schema": SCHEMA,
        "id": uuid.uuid4().hex,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "rushes": rushes_version,
        "rendered_by": rendered_by,
        "project": {"name": project_name},
        "proposal": {**proposal, "decisions": list(proposal.get("decisions") or [])},
        "source": {"checksum_alg": "xxh64", **source},
        "sources": [{"checksum_alg": "xxh64", **s} for s in sources],
        "model": model,
        "output": {**output},
        "fill": fill or None,
    }
    return jsonable(manifest)


def content_sha256(manifest: dict[str, Any]) -> str:
    """sha256 of what made the pixels: the manifest without its output file list and its C2PA
    section (so it can be embedded in the files before they are hashed)."""
    core = copy.deepcopy(manifest)
    core.pop("c2pa", None)
    if isinstance(core.get("output"), dict):
        core["output"].pop("files", None)
    return sha256_bytes(canonical(core))


def finish_manifest(
    manifest: dict[str, Any], files: list[dict[str, Any]], c2pa: dict[str, Any]
) -> dict[str, Any]:
    """``manifest`` with its hashed output files and its C2PA section."""
    out = copy.deepcopy(manifest)
    out["output"]["files"] = files
    out["c2pa"] = c2pa
    return jsonable(out)


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The sidecar's exact bytes (indented JSON, UTF-8, newline at the end)."""
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_sidecar(folder: Path, manifest: dict[str, Any]) -> tuple[Path, str]:
    """Write ``folder/provenance.json`` atomically.

    Returns:
        Its path and the sha256 of its bytes (what the catalog records).
    """
    data = manifest_bytes(manifest)
    path = Path(folder) / SIDECAR
    write_bytes_atomic(path, data)
    return path, sha256_bytes(data)


# --------------------------------------------------------------------------------------------
# Reading


def find_sidecar(target: Path) -> Path | None:
    """The ``provenance.json`` of ``target``: itself, the one in a render folder, or the one
    beside (or one folder above, for the ``matte/`` folder) a file of a render."""
    target = Path(target)
    if target.is_file() and target.name == SIDECAR:
        return target
    start = target if target.is_dir() else target.parent
    for folder in (start, start.parent):
        if (folder / SIDECAR).is_file():
            return folder / SIDECAR
    return None


def read_manifest(sidecar: Path) -> dict[str, Any]:
    """The manifest in ``sidecar``, upgraded to the current schema.

    Raises:
        ProvenanceError: unreadable, not JSON, or not a rushes provenance record.
    """
    try:
        data = json.loads(Path(sidecar).read_text(encoding="utf-8"))
    except OSError as e:
        raise ProvenanceError(f"{sidecar}: cannot read ({e.strerror})") from None
    except ValueError as e:
        raise ProvenanceError(f"{sidecar}: not valid JSON ({e}); the manifest is damaged") from None
    if not isinstance(data, dict):
        raise ProvenanceError(f"{sidecar}: not a JSON object; the manifest is damaged")
    schema = data.get("schema")
    if schema == SCHEMA:
        return data
    if schema in UPGRADES:
        upgraded: dict[str, Any] = UPGRADES[schema](data)
        return upgraded
    if schema is None and "proposal" in data and "output" in data:
        raise ProvenanceError(
            f"{sidecar}: written by an older rushes (no schema, no file hashes); render the "
            "proposal again to get a manifest that can be verified"
        )
    raise ProvenanceError(
        f"{sidecar}: schema {schema!r} unknown (this rushes reads {SCHEMA}); "
        "use the rushes version that rendered it"
    )


def summary(manifest: dict[str, Any]) -> dict[str, Any]:
    """The short story of a render: sources, frames, op and params, model, approvals."""
    prop = manifest.get("proposal") or {}
    src = manifest.get("source") or {}
    out = manifest.get("output") or {}
    files = out.get("files") or []
    model = manifest.get("model") or None
    roles: dict[str, int] = {}
    for f in files:
        roles[f.get("role", "file")] = roles.get(f.get("role", "file"), 0) + 1
    return {
        "id": manifest.get("id"),
        "created_at": manifest.get("created_at"),
        "rendered_by": manifest.get("rendered_by"),
        "rushes": manifest.get("rushes"),
        "proposal": {
            k: prop.get(k) for k in ("id", "op", "version", "shot", "status", "summary", "params")
        },
        "decisions": prop.get("decisions") or [],
        "source": {
            k: src.get(k)
            for k in ("shot", "path", "checksum", "start", "end", "frames", "fps", "timecode")
        },
        "sources": [
            {k: s.get(k) for k in ("role", "shot", "path", "checksum")}
            for s in manifest.get("sources") or []
        ],
        "model": None
        if model is None
        else {
            k: model.get(k)
            for k in ("kind", "name", "version", "weights_sha256", "data_manifest_sha256")
            if k in model
        },
        "output": {
            "format": out.get("format"),
            "colorspace": out.get("colorspace"),
            "files": len(files),
            "roles": roles,
            "bytes": sum(int(f.get("size") or 0) for f in files),
        },
        "fill": manifest.get("fill"),
        "c2pa": manifest.get("c2pa"),
    }


# --------------------------------------------------------------------------------------------
# Comparing with the catalog's copy


def _short(v: Any, limit: int = 60) -> str:
    text = json.dumps(v, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_MISSING = object()


def _by_path(items: list[Any]) -> dict[str, Any] | None:
    """List items keyed by their ``path`` when every item is a dict with a unique one."""
    if not all(isinstance(x, dict) and isinstance(x.get("path"), str) for x in items):
        return None
    keyed = {x["path"]: x for x in items}
    return keyed if len(keyed) == len(items) else None


def diff_fields(catalog: Any, file: Any, where: str = "") -> list[str]:
    """Every field where the sidecar (``file``) differs from the catalog's copy, one line each:
    ``"proposal.params.radius: 12 in the catalog, 30 in the file"``. Lists of files are
    matched by path (``output.files[A.1001.exr].sha256``), other lists by index."""
    if isinstance(catalog, dict) and isinstance(file, dict):
        out: list[str] = []
        for key in [*catalog, *(k for k in file if k not in catalog)]:
            sub = f"{where}.{key}" if where else str(key)
            if key not in file:
                out.append(f"{sub}: {_short(catalog[key])} in the catalog, missing from the file")
            elif key not in catalog:
                out.append(f"{sub}: not in the catalog, {_short(file[key])} in the file")
            else:
                out += diff_fields(catalog[key], file[key], sub)
        return out
    if isinstance(catalog, list) and isinstance(file, list):
        a, b = _by_path(catalog), _by_path(file)
        pairs: dict[Any, tuple[Any, Any]]
        if a is not None and b is not None:  # files: by path
            pairs = {k: (a.get(k, _MISSING), b.get(k, _MISSING)) for k in [*a, *b]}
        else:
            n = max(len(catalog), len(file))
            pairs = {
                i: (
                    catalog[i] if i < len(catalog) else _MISSING,
                    file[i] if i < len(file) else _MISSING,
                )
                for i in range(n)
            }
        out = []
        for key, (x, y) in pairs.items():
            sub = f"{where}[{key}]"
            if y is _MISSING:
                out.append(f"{sub}: {_short(x)} in the catalog, missing from the file")
            elif x is _MISSING:
                out.append(f"{sub}: not in the catalog, {_short(y)} in the file")
            else:
                out += diff_fields(x, y, sub)
        return out
    if catalog == file and isinstance(catalog, bool) == isinstance(file, bool):
        return []
    return [f"{where}: {_short(catalog)} in the catalog, {_short(file)} in the file"]


def catalog_copy(project: Project, manifest_id: str) -> dict[str, Any] | None:
    """The audit details the render recorded for ``manifest_id`` (``manifest_sha256``,
    ``manifest``, ``dir``), or ``None`` when this project never recorded it."""
    from sqlalchemy import select

    from rushes.project import AuditEvent

    with project.session() as s:
        rows = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "render")
            .where(AuditEvent.details["manifest_id"].as_string() == manifest_id)
            .order_by(AuditEvent.id)
        ).all()
        return dict(rows[-1].details) if rows else None


def catalog_copy_for_dir(project: Project, folder: Path) -> dict[str, Any] | None:
    """The last render the catalog recorded into ``folder`` (when its sidecar is gone)."""
    from sqlalchemy import select

    from rushes.project import AuditEvent

    want = str(Path(folder).resolve())
    with project.session() as s:
        rows = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "render")
            .where(AuditEvent.details["dir"].as_string() == want)
            .order_by(AuditEvent.id)
        ).all()
        for ev in reversed(rows):
            if isinstance((ev.details or {}).get("manifest"), dict):
                return dict(ev.details)
    return None


def _proposal_now(project: Project, proposal_id: Any) -> str | None:
    """The proposal's status in the catalog today, or ``None`` when it is gone."""
    from rushes.project import Proposal

    if not isinstance(proposal_id, int):
        return None
    with project.session() as s:
        prop = s.get(Proposal, proposal_id)
        return None if prop is None else str(prop.status)


# --------------------------------------------------------------------------------------------
# Verifying


@dataclass
class Verification:
    """What :func:`verify` found.

    Attributes:
        ok: True when every listed file is intact, the manifest matches the catalog's copy
            (when a project was given) and every embedded C2PA manifest validates.
        sidecar: The ``provenance.json`` checked (``None`` when it is missing and the
            catalog's copy was used).
        manifest: The manifest (from the sidecar, else the catalog's copy).
        problems: One line per failure, naming the file or field.
        notes: Things worth knowing that do not fail the check (unlisted files, an untrusted
            C2PA certificate, the proposal's status today).
        files_checked: Listed files whose hashes were recomputed.
        catalog: ``"matches"``, ``"differs"``, ``"not recorded"`` or ``"not checked"``.
        c2pa: Per movie with an embedded C2PA manifest: path, validation state, signer.
    """

    ok: bool
    sidecar: Path | None
    manifest: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files_checked: int = 0
    catalog: str = "not checked"
    c2pa: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (with the manifest's :func:`summary`)."""
        return {
            "ok": self.ok,
            "sidecar": str(self.sidecar) if self.sidecar else None,
            "problems": self.problems,
            "notes": self.notes,
            "files_checked": self.files_checked,
            "catalog": self.catalog,
            "c2pa": self.c2pa,
            "summary": summary(self.manifest) if self.manifest else None,
        }


def _check_file(root: Path, entry: dict[str, Any]) -> str | None:
    """The problem with one listed file, or ``None`` when it is intact."""
    rel = str(entry.get("path", ""))
    path = root / rel
    if not rel or Path(rel).is_absolute() or ".." in Path(rel).parts:
        return f"{rel or '(no path)'}: not a path inside the render folder; the manifest is damaged"
    if not path.is_file():
        return f"{rel}: missing"
    size = path.stat().st_size
    if entry.get("size") is not None and size != int(entry["size"]):
        return f"{rel}: content changed (size {size} bytes, the manifest says {entry['size']})"
    digest = sha256_file(path)
    if digest != entry.get("sha256"):
        return (
            f"{rel}: content changed (sha256 {digest[:16]}..., the manifest says "
            f"{str(entry.get('sha256'))[:16]}...)"
        )
    return None


def _list_names(names: list[str], limit: int = 5) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def verify(
    path: Path,
    project: Project | None = None,
    *,
    trust_anchors: Path | None = None,
    workers: int = 2,
) -> Verification:
    """Check a render: every listed file, the manifest against the catalog, embedded C2PA.

    Args:
        path: A render folder, any file in one (the ``matte/`` folder too), or its
            ``provenance.json``.
        project: The project whose catalog recorded the render; without it the manifest
            itself cannot be checked (only the files against it).
        trust_anchors: PEM file of certificate authorities trusted for C2PA signatures.
        workers: Files hashed in parallel.

    Returns:
        The :class:`Verification` (``ok`` False with one problem line per failure).

    Raises:
        ProvenanceError: ``path`` does not exist, or is not part of a render (no sidecar, and
            no render into that folder recorded by ``project``).
    """
    path = Path(path)
    if not path.exists():
        raise ProvenanceError(f"{path}: no such file or folder")
    sidecar = find_sidecar(path)
    problems: list[str] = []
    notes: list[str] = []
    manifest: dict[str, Any] | None = None
    recorded: dict[str, Any] | None = None
    catalog = "not checked"
    raw: bytes | None = None
    if sidecar is not None:
        root = sidecar.parent
        try:
            manifest = read_manifest(sidecar)
            raw = sidecar.read_bytes()
        except ProvenanceError as e:
            problems.append(str(e))
    else:
        root = path if path.is_dir() else path.parent
    if manifest is None and project is not None:
        for folder in (root, root.parent) if sidecar is None else (root,):
            recorded = catalog_copy_for_dir(project, folder)
            if recorded is not None:
                root = Path(folder)
                manifest = recorded["manifest"]
                if sidecar is None:
                    problems.append(
                        f"{root / SIDECAR}: missing (checked against the catalog's copy of "
                        f"manifest {manifest.get('id')})"
                    )
                else:
                    problems[-1] += " (checked against the catalog's copy)"
                break
    if manifest is None:
        if sidecar is None:
            raise ProvenanceError(
                f"{path}: not a render (no {SIDECAR} in it or beside it); give a render "
                "folder, a file in one, or its provenance.json"
            )
        return Verification(False, sidecar, {}, problems, notes)

    # the files
    entries = list((manifest.get("output") or {}).get("files") or [])
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        found = list(pool.map(lambda e: _check_file(root, e), entries))
    problems += [p for p in found if p]
    if not entries:
        problems.append(f"{SIDECAR}: lists no files; the manifest is damaged or not a render's")
    listed = {str(e.get("path")) for e in entries}
    if path.is_file() and path.name != SIDECAR:
        rel = Path(os.path.relpath(path.resolve(), root.resolve())).as_posix()
        if rel not in listed:
            problems.append(f"{rel}: not listed in {SIDECAR}; it is not part of this render")
    extra = sorted(
        Path(os.path.relpath(p, root)).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.name != SIDECAR
    )
    extra = [p for p in extra if p not in listed]
    if extra:
        notes.append(f"{len(extra)} file(s) not listed in the manifest: {_list_names(extra)}")

    # the catalog's copy
    mid = str(manifest.get("id"))
    if project is not None:
        if recorded is None:
            recorded = catalog_copy(project, mid)
        if recorded is None:
            catalog = "not recorded"
            problems.append(f"manifest {mid}: not recorded by this project ({project.root})")
        elif raw is not None and sha256_bytes(raw) == recorded.get("manifest_sha256"):
            catalog = "matches"
        elif sidecar is not None and raw is not None:
            diffs = diff_fields(recorded.get("manifest"), manifest)
            if diffs:
                catalog = "differs"
                problems += [f"{SIDECAR}: {d}" for d in diffs]
            else:
                catalog = "matches"
                notes.append(f"{SIDECAR}: reformatted, same content as the catalog's copy")
        else:
            catalog = "matches"  # the catalog's own copy was used
        now = _proposal_now(project, (manifest.get("proposal") or {}).get("id"))
        then = (manifest.get("proposal") or {}).get("status")
        pid = (manifest.get("proposal") or {}).get("id")
        if now is None and pid is not None:
            notes.append(f"proposal {pid} is no longer in the catalog")
        elif now is not None and now != then:
            notes.append(f"proposal {pid} is now {now} ({then} when rendered)")
    else:
        notes.append("no project: the manifest itself was not checked against a catalog")

    # embedded C2PA manifests
    c2pa_found = _check_c2pa(root, manifest, entries, trust_anchors, problems, notes)
    return Verification(
        ok=not problems,
        sidecar=sidecar,
        manifest=manifest,
        problems=problems,
        notes=notes,
        files_checked=len(entries),
        catalog=catalog,
        c2pa=c2pa_found,
    )


def _check_c2pa(
    root: Path,
    manifest: dict[str, Any],
    entries: list[dict[str, Any]],
    trust_anchors: Path | None,
    problems: list[str],
    notes: list[str],
) -> list[dict[str, Any]]:
    """Validate the C2PA manifest of each listed movie; append to ``problems``/``notes``."""
    from rushes.guard import c2pa_sign

    listed = {str(x.get("path")) for x in (manifest.get("c2pa") or {}).get("embedded") or []}
    mid = str(manifest.get("id"))
    content = content_sha256(manifest)
    found: list[dict[str, Any]] = []
    for e in entries:
        rel = str(e.get("path"))
        if Path(rel).suffix.lower() not in c2pa_sign.C2PA_TYPES or not (root / rel).is_file():
            continue
        if not c2pa_sign.available():
            if rel in listed:
                notes.append(f"{rel}: has a C2PA manifest; install c2pa-python to check it")
            continue
        got = c2pa_sign.read_embedded(root / rel, trust_anchors)
        if got is None:
            if rel in listed:
                problems.append(f"{rel}: its C2PA manifest is gone (the sidecar lists one)")
            continue
        problems += c2pa_sign.problems_of(got, rel, mid, content)
        notes += c2pa_sign.notes_of(got, rel)
        if rel not in listed:
            notes.append(f"{rel}: has a C2PA manifest the sidecar does not list")
        found.append({"path": rel, **{k: v for k, v in got.items() if k != "rushes"}})
    return found
