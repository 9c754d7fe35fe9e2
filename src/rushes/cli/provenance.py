"""``rushes provenance RENDER_OR_FILE``: where these pixels came from, and are they intact."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from rushes.cli.common import console, open_project, print_json
from rushes.errors import ProjectError
from rushes.guard import c2pa_sign
from rushes.guard.provenance import ProvenanceError, Verification, summary, verify
from rushes.project import Project
from rushes.project.workspace import SETTINGS_FILE


def _project_for(target: Path) -> Project | None:
    """The project given with ``-p`` or found above the current folder, else the one the
    render sits in; ``None`` outside any project."""
    try:
        return open_project()
    except ProjectError:
        pass
    try:
        return Project.find(target if target.is_dir() else target.parent)
    except ProjectError:
        return None


def _resolve(target: Path, project: Project | None) -> Path:
    """``target`` as given, or a proposal id's default render folder (``renders/<id>``)."""
    if target.exists() or project is None:
        return target
    text = str(target).strip().lstrip("#pP")
    if text.isdigit() and project.path("renders", text).is_dir():
        return project.path("renders", text)
    return target


def _trust(project: Project | None) -> Path | None:
    if project is None:
        return None
    return c2pa_sign.read_settings(project.root / SETTINGS_FILE).trust_anchors


def provenance(
    target: Annotated[
        Path,
        typer.Argument(
            metavar="RENDER_OR_FILE",
            help="A render folder, a file in one, its provenance.json, or a proposal id.",
            show_default=False,
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Where these pixels came from, and whether they are intact (exit code 1 when not).

    Sources, frames, fix, model and approvals; the files, the manifest and any C2PA signature
    are checked.
    """
    project = _project_for(target)
    path = _resolve(target, project)
    if not path.exists():
        raise ProvenanceError(f"{target}: no such file, folder or rendered proposal")
    result = verify(path, project, trust_anchors=_trust(project))
    if as_json:
        print_json(result.to_dict())
    else:
        _print(result)
    if not result.ok:
        raise typer.Exit(1)


def _frames(src: dict[str, Any]) -> str:
    start, end = src.get("start"), src.get("end")
    if start is None or end is None:
        return "frames ?"
    tc = f", TC {src['timecode']}" if src.get("timecode") else ""
    return f"frames {start}-{int(end) - 1} ({int(end) - int(start)} @ {src.get('fps')} fps{tc})"


def _params(params: dict[str, Any] | None) -> str:
    items = [f"{k}={v}" for k, v in (params or {}).items() if v not in (None, "", [], {})]
    text = ", ".join(items)
    return text if len(text) <= 160 else text[:157] + "..."


def _print(v: Verification) -> None:
    """The story of the render, then the verdict."""

    def line(text: str, style: str | None = None) -> None:
        console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)

    if v.manifest:
        s = summary(v.manifest)
        p, src = s["proposal"], s["source"]
        line(f"render     {v.sidecar.parent if v.sidecar else '(sidecar missing)'}")
        line(f"           manifest {s['id']}, {s['created_at']} by {s['rendered_by']}, "
             f"rushes {s['rushes']}")  # fmt: skip
        line(f"fix        proposal {p['id']}: {p['op']} ({p['version']}) on {p['shot']}, "
             f"{p['status']} when rendered")  # fmt: skip
        if p.get("summary"):
            line(f"           {p['summary']}")
        line(f"params     {_params(p.get('params'))}")
        line(f"source     {src['path']}  xxh64 {src['checksum']}  {_frames(src)}")
        for o in s["sources"]:
            line(f"also       {o['role']}: {o['shot']} ({o['path']}, xxh64 {o['checksum']})")
        m = s["model"]
        if m:
            name = f" '{m['name']}'" if m.get("name") else ""
            line(f"model      {m.get('kind')}{name} {m.get('version') or ''}  weights sha256 "
                 f"{str(m.get('weights_sha256'))[:16]}...  data manifest sha256 "
                 f"{str(m.get('data_manifest_sha256') or 'none')[:16]}")  # fmt: skip
        for d in s["decisions"] or []:
            note = f': "{d["note"]}"' if d.get("note") else ""
            line(f"decision   {d.get('verdict')} by {d.get('by')} at {d.get('at')}{note}")
        if not s["decisions"]:
            line("decision   none when rendered")
        o = s["output"]
        roles = ", ".join(f"{n} {r}" for r, n in sorted(o["roles"].items()))
        line(f"output     {o['format']} ({o['colorspace']}): {o['files']} file(s), {roles}, "
             f"{o['bytes'] / 1e6:.1f} MB")  # fmt: skip
        fill = s["fill"] or {}
        if "synthesized" in fill:
            line(
                f"fill       {100 * fill.get('photographed_in_shot', 0):.1f}% photographed in "
                f"the shot, {100 * fill.get('photographed_other_takes', 0):.1f}% in other takes, "
                f"{100 * fill['synthesized']:.1f}% synthesized ({fill.get('synthesis')})"
            )
        c2pa = s["c2pa"] or {}
        for e in c2pa.get("embedded") or []:
            line(f"c2pa       {e['path']}: signed ({e.get('alg')}) by {e.get('signer')}")
        for e in c2pa.get("skipped") or []:
            line(f"c2pa       {e['files']}: not signed: {e['reason']}")
    for n in v.notes:
        line(f"note: {n}", "dim")
    if v.ok:
        line(f"verified: {v.files_checked} file(s) intact, catalog {v.catalog}", "green")
    else:
        line(f"verification failed: {len(v.problems)} problem(s)", "bold red")
        for p in v.problems:
            line(f"problem: {p}", "red")
