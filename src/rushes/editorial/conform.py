"""Fixes out: approved renders as replacement media, in a timeline or bin the editor conforms.

:func:`export_timeline` gathers every approved proposal that nothing superseded, finds a render
of it whose provenance still matches (same proposal and parameters, same source clip by
checksum, same shot range, files present at their recorded sizes) or renders one, and writes a
timeline with one clip per fix:

* media: the render (ProRes MOV, an OTIO ``ExternalReference``; or an EXR sequence, an
  ``ImageSequenceReference``), referenced where it lies (absolute ``file://`` URL), its
  available range the shot's source timecode;
* source range: the shot's source timecode range, so the fix relinks or overcuts the original
  frames exactly; name ``<shot>_fix_v<proposal>``; reel: the original's reel (tape);
* metadata ``rushes``: proposal, op, approvals, provenance file, shot, clip, source timecode.

Kinds (OpenTimelineIO adapters; ``ale`` through :func:`rushes.ingest.ale.write_ale`):
``otio``, ``edl`` (CMX3600: one video track, one rate, 8-character reels: longer ones are
shortened to their first 8 letters and digits, said in ``warnings``, and collisions named;
the full name travels in ``* FROM CLIP NAME``; ``FCM`` line added), ``fcp7xml`` (FCP7
``xmeml``, reel in the file's ``<timecode><reel>``), ``fcpxml``, ``aaf`` (a composition with
master and tape mobs whose tape timecode is the source timecode, each linked to its MOV by a
network locator; no essence embedded) and ``ale`` (an Avid bin: Name, Tape, Start, End,
Source File/Path, ASC_SOP, ASC_SAT...). EXR sequences go to ``otio`` and ``edl`` only: the FCP7
XML, FCPXML and AAF adapters cannot reference an image sequence.

Placement: one fix after another from ``01:00:00:00``; or, with ``cut``, each fix where its
shot is used in that imported cut (trimmed to the frames the event uses, on a second track
where two fixes overlap), to overcut on top of the editor's sequence.

Grades: a ``match`` fix also gets its ASC CDL written beside the timeline
(``<stem>_cdl/<clip name>.cdl``, the exact numbers rendered, in the project's grading space
ACEScct) and referenced: ``*ASC_SOP``/``*ASC_SAT`` in the EDL, ``ASC_SOP``/``ASC_SAT`` columns in
the ALE, ``cdl`` metadata in OTIO (the convention of the CMX3600 adapter). The render already
carries the grade; the CDL is there to rebuild it on the original in the grading suite.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import opentimelineio as otio
from opentimelineio import opentime
from sqlalchemy import select

from rushes.atomic import atomic_path, write_text_atomic
from rushes.editorial.cut import find_cut
from rushes.editorial.cut_match import same_rate, show_tc
from rushes.errors import ProvenanceError, RushesError
from rushes.guard.decisions import check_stale, decision_rows
from rushes.guard.provenance import SIDECAR, read_manifest
from rushes.ingest.ale import AleFile, write_ale
from rushes.media.timecode import (
    is_drop_frame_rate,
    is_drop_frame_timecode,
    show_rate,
    timecode_to_frames,
)
from rushes.ops.export import export_cdl
from rushes.ops.render import render_proposal
from rushes.project import AuditEvent, Project, Proposal
from rushes.project.settings import parse_rate

__all__ = [
    "MEDIA_FORMATS",
    "TIMELINE_EXTENSIONS",
    "TIMELINE_KINDS",
    "Fix",
    "approved_fixes",
    "build_timeline",
    "export_timeline",
    "find_render",
]

TIMELINE_KINDS: Final = ("otio", "edl", "fcp7xml", "fcpxml", "aaf", "ale")
TIMELINE_EXTENSIONS: Final = {
    "otio": (".otio",),
    "edl": (".edl",),
    "fcp7xml": (".xml",),
    "fcpxml": (".fcpxml",),
    "aaf": (".aaf",),
    "ale": (".ale",),
}
MEDIA_FORMATS: Final = ("prores", "exr")
_ADAPTERS: Final = {
    "otio": "otio_json",
    "edl": "cmx_3600",
    "fcp7xml": "fcp_xml",
    "fcpxml": "fcpx_xml",
    "aaf": "AAF",
}
_SEQUENCE_KINDS: Final = ("otio", "edl")
_ONE_RATE_KINDS: Final = ("edl", "aaf", "ale")
_MOB_NAMESPACE: Final = uuid.UUID("5b0c1c2e-3f53-4f0e-9d1a-7e2f8c1b9a11")


@dataclass
class Fix:
    """An approved fix on its way to the editor.

    Attributes:
        proposal: proposal id; ``op`` its operation, ``shot`` the shot's name.
        start / end: the shot's clip frames (end exclusive).
        clip / clip_id / clip_path / checksum / reel / scene / take: the original.
        fps: the clip's rate; ``tc_start`` the timecode frame of the shot's first frame and
            ``drop_frame`` the original's drop-frame flag; ``width``/``height`` its raster.
        params: the proposal's parameters; ``cdl`` its grade for ``match`` fixes.
        approvals: who approved it, when, with which note.
        media: the movie, or the first frame of the EXR sequence, of its render.
        provenance: the render's ``provenance.json``; ``rendered`` whether this export made it.
        cdl_path: the ASC CDL written beside the timeline.
    """

    proposal: int
    op: str
    shot: str
    start: int
    end: int
    clip: str
    clip_id: int
    clip_path: str
    checksum: str
    reel: str | None
    scene: str | None
    take: str | None
    fps: Fraction
    tc_start: int
    drop_frame: bool
    width: int
    height: int
    params: dict[str, Any]
    cdl: dict[str, Any] | None
    approvals: list[dict[str, Any]]
    media: Path | None = None
    media_kind: str = "movie"
    seq_prefix: str = ""
    seq_first: int = 1001
    provenance: Path | None = None
    rendered: bool = False
    cdl_path: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def frames(self) -> int:
        """Frames of the shot (and of its render)."""
        return self.end - self.start

    @property
    def name(self) -> str:
        """The clip's name in the timeline: ``<shot>_fix_v<proposal>``."""
        return f"{self.shot}_fix_v{self.proposal}"


def _approvals(s: Any, pid: int) -> list[dict[str, Any]]:
    return [
        {"by": d["by"], "at": d["at"].isoformat(), "note": d["note"]}
        for d in decision_rows(s, pid)
        if d["verdict"] == "approved"
    ]


def approved_fixes(
    project: Project, only: list[int] | None = None
) -> tuple[list[Fix], list[dict[str, Any]]]:
    """Approved proposals that nothing superseded (or the ``only`` ones), in clip-timecode
    order, and those left out with why (stale, or not approved).

    Raises:
        RushesError: a proposal in ``only`` does not exist.
    """
    skipped: list[dict[str, Any]] = []
    fixes: list[Fix] = []
    with project.session() as s:
        q = select(Proposal).order_by(Proposal.id)
        if only:
            q = q.where(Proposal.id.in_(only))
        rows = list(s.scalars(q))
        if only:
            missing = sorted(set(only) - {p.id for p in rows})
            if missing:
                raise RushesError(
                    f"no proposal {missing[0]}; list them with 'rushes proposals --status approved'"
                )
        for p in rows:
            if p.status != "approved" or p.superseded_by is not None:
                if only:
                    skipped.append(
                        {"proposal": p.id, "shot": p.shot.name, "why": f"it is {p.status}"}
                    )
                continue
            shot = p.shot
            clip = shot.clip
            fps = parse_rate(clip.fps) if clip.fps else project.settings.rate
            if clip.timecode:
                base = timecode_to_frames(clip.timecode, float(fps))
                drop = is_drop_frame_timecode(clip.timecode)
            else:
                base, drop = 0, False
            cdl = (p.result or {}).get("cdl") if p.op == "match" else None
            fixes.append(
                Fix(
                    proposal=p.id,
                    op=p.op,
                    shot=shot.name,
                    start=shot.start,
                    end=shot.end,
                    clip=clip.name,
                    clip_id=clip.id,
                    clip_path=clip.path,
                    checksum=clip.checksum,
                    reel=clip.reel,
                    scene=clip.scene,
                    take=clip.take,
                    fps=fps,
                    tc_start=base + shot.start,
                    drop_frame=drop,
                    width=clip.width,
                    height=clip.height,
                    params=dict(p.params or {}),
                    cdl=dict(cdl) if cdl else None,
                    approvals=_approvals(s, p.id),
                )
            )
    kept: list[Fix] = []
    for f in fixes:
        why = check_stale(project, f.proposal)
        if why:
            skipped.append({"proposal": f.proposal, "shot": f.shot, "why": f"stale: {why[0]}"})
        else:
            kept.append(f)
    kept.sort(key=lambda f: (f.clip, f.start, f.proposal))
    return kept, skipped


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def _render_dirs(project: Project, pid: int, fmt: str) -> list[Path]:
    """Folders a render of ``pid`` may be in: the default ones, then those the audit log
    recorded (newest first)."""
    out = [project.path("renders", str(pid)), project.path("renders", str(pid), fmt)]
    with project.session() as s:
        rows = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "render", AuditEvent.target == f"proposal {pid}")
            .order_by(AuditEvent.id.desc())
        )
        for ev in rows:
            d = (ev.details or {}).get("dir")
            if d and (ev.details or {}).get("format") == fmt and Path(d) not in out:
                out.append(Path(d))
    return out


def find_render(project: Project, fix: Fix, fmt: str) -> tuple[Path, dict[str, Any]] | None:
    """A render of ``fix`` as ``fmt`` whose provenance still matches it, or ``None``.

    Matching: the manifest names this proposal, format and parameters, the same source clip
    (checksum) and shot range, and every listed file is there at its recorded size (not
    re-hashed: ``rushes provenance`` verifies the bytes).
    """
    for folder in _render_dirs(project, fix.proposal, fmt):
        sidecar = folder / SIDECAR
        if not sidecar.is_file():
            continue
        try:
            m = read_manifest(sidecar)
        except ProvenanceError:
            continue
        prop = m.get("proposal") or {}
        src = m.get("source") or {}
        out = m.get("output") or {}
        if (
            prop.get("id") != fix.proposal
            or out.get("format") != fmt
            or _canonical(prop.get("params")) != _canonical(fix.params)
            or src.get("checksum") != fix.checksum
            or (src.get("start"), src.get("end")) != (fix.start, fix.end)
        ):
            continue
        files = out.get("files") or []
        role = "movie" if fmt == "prores" else "frame"
        media = [f for f in files if f.get("role") == role]
        if fmt == "exr" and len(media) != fix.frames:
            continue
        if not media or not all(
            (folder / f["path"]).is_file() and (folder / f["path"]).stat().st_size == f.get("size")
            for f in files
        ):
            continue
        return folder, m
    return None


def _attach(fix: Fix, folder: Path, manifest: dict[str, Any], fmt: str) -> None:
    files = (manifest.get("output") or {}).get("files") or []
    fix.provenance = folder / SIDECAR
    if fmt == "prores":
        movie = next(f for f in files if f.get("role") == "movie")
        fix.media = (folder / movie["path"]).resolve()
        fix.media_kind = "movie"
        return
    frames = sorted(f["path"] for f in files if f.get("role") == "frame")
    first = (folder / frames[0]).resolve()
    stem, number = first.name[: -len(".exr")].rsplit(".", 1)
    fix.media = first
    fix.media_kind = "sequence"
    fix.seq_prefix = f"{stem}."
    fix.seq_first = int(number)


def _render_target(project: Project, pid: int, fmt: str) -> Path:
    base = project.path("renders", str(pid))
    if not (base / SIDECAR).is_file():
        return base
    return base / fmt


def _asc(cdl: dict[str, Any]) -> dict[str, Any]:
    return {
        "asc_sop": {
            "slope": [float(v) for v in cdl["slope"]],
            "offset": [float(v) for v in cdl["offset"]],
            "power": [float(v) for v in cdl["power"]],
        },
        "asc_sat": float(cdl["saturation"]),
    }


def _edl_reel(fix: Fix) -> str:
    base = fix.reel or fix.clip
    return "".join(ch for ch in base if ch.isascii() and ch.isalnum())[:8] or "AX"


def _mob_id(fix: Fix) -> str:
    import aaf2.mobid

    mob = aaf2.mobid.MobID.new()
    mob.material = uuid.uuid5(_MOB_NAMESPACE, f"{fix.proposal}:{fix.media}")
    return str(mob)


@dataclass
class _Placement:
    fix: Fix
    record_in: int
    src_in: int
    frames: int


def _media_reference(fix: Fix) -> otio.core.MediaReference:
    rate = float(fix.fps)
    available = opentime.TimeRange(
        opentime.RationalTime(fix.tc_start, rate), opentime.RationalTime(fix.frames, rate)
    )
    assert fix.media is not None
    tc_meta = {
        "timecode": {
            "reel": {"name": fix.reel or fix.clip},
            "displayformat": "DF" if fix.drop_frame else "NDF",
        }
    }
    if fix.media_kind == "sequence":
        folder = fix.media.parent.as_uri() + "/"
        ref: otio.core.MediaReference = otio.schema.ImageSequenceReference(
            target_url_base=folder,
            name_prefix=fix.seq_prefix,
            name_suffix=".exr",
            start_frame=fix.seq_first,
            frame_zero_padding=4,
            rate=rate,
            available_range=available,
        )
    else:
        ref = otio.schema.ExternalReference(
            target_url=fix.media.as_uri(), available_range=available
        )
    ref.name = fix.media.name
    ref.metadata["fcp_xml"] = tc_meta
    return ref


def _clip(p: _Placement) -> otio.schema.Clip:
    fix = p.fix
    rate = float(fix.fps)
    clip = otio.schema.Clip(
        name=fix.name,
        media_reference=_media_reference(fix),
        source_range=opentime.TimeRange(
            opentime.RationalTime(p.src_in, rate), opentime.RationalTime(p.frames, rate)
        ),
    )
    clip.metadata["rushes"] = {
        "proposal": fix.proposal,
        "op": fix.op,
        "shot": fix.shot,
        "clip": fix.clip,
        "reel": fix.reel,
        "source_tc_in": show_tc(p.src_in, fix.fps, fix.drop_frame),
        "source_tc_out": show_tc(p.src_in + p.frames, fix.fps, fix.drop_frame),
        "approvals": fix.approvals,
        "provenance": str(fix.provenance) if fix.provenance else None,
        "cdl_file": str(fix.cdl_path) if fix.cdl_path else None,
    }
    clip.metadata["cmx_3600"] = {"reel": _edl_reel(fix)}
    clip.metadata["AAF"] = {"MobID": _mob_id(fix)}
    if fix.cdl:
        clip.metadata["cdl"] = _asc(fix.cdl)
    return clip


def _place_in_cut(
    project: Project, fixes: list[Fix], cut: str
) -> tuple[list[list[_Placement]], int, list[Fix], dict[str, Any]]:
    """Each fix where its shot's frames are used in ``cut``: tracks of placements, the cut's
    start, the fixes the cut does not use, and the cut's name and version."""
    placements: list[_Placement] = []
    with project.session() as s:
        c = find_cut(s, cut)
        info = {"cut": c.name, "version": c.version}
        start = c.start
        events = [(e.clip_id, e.clip_in, e.clip_out, e.record_in) for e in c.events if e.matched]
    used: set[int] = set()
    for clip_id, a, b, rec in events:
        if clip_id is None or a is None or b is None:
            continue
        for fix in fixes:
            if fix.clip_id != clip_id:
                continue
            lo, hi = max(a, fix.start), min(b, fix.end)
            if hi <= lo:
                continue
            used.add(fix.proposal)
            placements.append(
                _Placement(fix, rec + (lo - a), fix.tc_start + (lo - fix.start), hi - lo)
            )
    placements.sort(key=lambda p: (p.record_in, p.fix.proposal))
    tracks: list[list[_Placement]] = []
    ends: list[int] = []
    for p in placements:
        for k, end in enumerate(ends):
            if end <= p.record_in:
                tracks[k].append(p)
                ends[k] = p.record_in + p.frames
                break
        else:
            tracks.append([p])
            ends.append(p.record_in + p.frames)
    unused = [f for f in fixes if f.proposal not in used]
    return tracks, start, unused, info


def build_timeline(
    name: str, rate: Fraction, start: int, tracks: list[list[_Placement]]
) -> otio.schema.Timeline:
    """An OTIO timeline of placed fixes: tracks ``V1``, ``V2``... from record frame ``start``
    (frames from ``00:00:00:00`` at ``rate``), gaps where nothing is placed."""
    r = float(rate)
    tl = otio.schema.Timeline(name=name)
    tl.global_start_time = opentime.RationalTime(start, r)
    for k, placed in enumerate(tracks, start=1):
        track = otio.schema.Track(name=f"V{k}", kind=otio.schema.TrackKind.Video)
        at = start
        for p in placed:
            if p.record_in > at:
                track.append(otio.schema.Gap(duration=opentime.RationalTime(p.record_in - at, r)))
            track.append(_clip(p))
            at = p.record_in + p.frames
        tl.tracks.append(track)
    return tl


def _write_edl(tl: otio.schema.Timeline, path: Path, rate: Fraction) -> None:
    if len(tl.video_tracks()) > 1:
        raise RushesError(
            f"{path}: fixes overlap in the cut ({len(tl.video_tracks())} tracks) but an EDL holds "
            "one video track; export otio or fcp7xml instead"
        )
    edl = copy.deepcopy(tl)
    start = edl.global_start_time or opentime.RationalTime(0, float(rate))
    for track in edl.tracks:
        # record timecode from the timeline's start (the adapter writes from 00:00:00:00
        # otherwise): the track's range starts at -start, as the adapter's own reader makes it
        track.source_range = opentime.TimeRange(-start, track.duration())
    text = otio.adapters.write_to_string(edl, "cmx_3600", rate=float(rate), reelname_len=8)
    fcm = "FCM: DROP FRAME" if is_drop_frame_rate(float(rate)) else "FCM: NON-DROP FRAME"
    lines = text.splitlines()
    at = 1 if lines and lines[0].startswith("TITLE:") else 0
    lines.insert(at, fcm)
    write_text_atomic(path, "\n".join(lines) + "\n")


def _fix_fcpxml_formats(text: str, rate: Fraction, fixes: list[Fix]) -> str:
    """Fill what the FCPXML adapter leaves empty in ``<format>``: its frame-duration table
    misses the exact NTSC rates (``frameDuration=""`` at 29.97), and it asks ``ffprobe`` for the
    raster; give the duration from the rate and the raster when every fix shares one."""
    import xml.etree.ElementTree as ET

    head, sep, body = text.partition("<fcpxml")
    root = ET.fromstring(sep + body)
    sizes = {(f.width, f.height) for f in fixes}
    for fmt in root.iter("format"):
        if not fmt.get("frameDuration"):
            fmt.set("frameDuration", f"{rate.denominator}/{rate.numerator}s")
        if len(sizes) == 1 and not fmt.get("width"):
            width, height = next(iter(sizes))
            fmt.set("width", str(width))
            fmt.set("height", str(height))
    ET.indent(root, space="    ")
    return head + ET.tostring(root, encoding="unicode") + "\n"


def _write_ale(path: Path, placements: list[_Placement], rate: Fraction) -> None:
    rows = []
    for p in placements:
        f = p.fix
        sop = sat = ""
        if f.cdl:
            a = _asc(f.cdl)["asc_sop"]
            sop = "".join(
                "(" + " ".join(f"{v:.6f}" for v in a[k]) + ")" for k in ("slope", "offset", "power")
            )
            sat = f"{float(f.cdl['saturation']):.6f}"
        assert f.media is not None
        media = f.media if f.media_kind == "movie" else f.media.parent
        rows.append(
            {
                "Name": f.name,
                "Tracks": "V",
                "Start": show_tc(p.src_in, f.fps, f.drop_frame),
                "End": show_tc(p.src_in + p.frames, f.fps, f.drop_frame),
                "Tape": f.reel or f.clip,
                "Source File": media.name,
                "Source Path": str(media),
                "Scene": f.scene or "",
                "Take": f.take or "",
                "ASC_SOP": sop,
                "ASC_SAT": sat,
                "Shot": f.shot,
                "Clip": f.clip,
                "Proposal": str(f.proposal),
                "Op": f.op,
                "Approved By": ", ".join(a["by"] for a in f.approvals),
                "CDL File": f.cdl_path.name if f.cdl_path else "",
                "Comments": "; ".join(a["note"] for a in f.approvals if a.get("note")),
            }
        )
    columns = list(rows[0]) if rows else ["Name", "Tracks", "Start", "End", "Tape"]
    heading = {"FIELD_DELIM": "TABS", "VIDEO_FORMAT": "CUSTOM", "FPS": show_rate(rate)}
    write_ale(path, AleFile(heading, columns, rows))


def _edl_reel_warnings(fixes: list[Fix]) -> list[str]:
    out: list[str] = []
    by_reel: dict[str, set[str]] = {}
    for f in fixes:
        full = f.reel or f.clip
        short = _edl_reel(f)
        by_reel.setdefault(short, set()).add(full)
        if short != full:
            out.append(
                f"{f.name}: reel '{full}' written as '{short}' (CMX3600 keeps 8 letters and "
                "digits); the full name is in * FROM CLIP NAME"
            )
    for short, fulls in sorted(by_reel.items()):
        if len(fulls) > 1:
            out.append(
                f"reels {', '.join(sorted(fulls))} all become EDL reel '{short}'; match by clip "
                "name and timecode, not reel, in the NLE"
            )
    return list(dict.fromkeys(out))


def export_timeline(
    project: Project,
    kind: str,
    path: Path,
    *,
    render: bool = True,
    fmt: str = "prores",
    cut: str | None = None,
    proposals: list[int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Write the approved fixes as a timeline or bin of ``kind`` at ``path``.

    Args:
        project: the open project.
        kind: one of :data:`TIMELINE_KINDS`.
        path: the file to write (extension as the kind wants: .otio .edl .xml .fcpxml .aaf .ale).
        render: render fixes that have no matching render (else they are left out, said so).
        fmt: replacement media: ``prores`` (MOV, the clip's own encoding) or ``exr``
            (half-float ACEScg sequence; otio and edl only).
        cut: place fixes where their shots are used in this imported cut (default: one after
            another from 01:00:00:00).
        proposals: only these proposals (each must be approved).
        progress: frames rendered, for a progress bar.

    Returns:
        ``kind``, ``path``, ``fixes`` (one row per fix: proposal, shot, name, op, media,
        rendered, source timecode, frames, cdl), ``skipped`` (with why), ``warnings``,
        ``cdl`` files, ``tracks``, ``clips`` placed and, with ``cut``, ``not_in_cut``.

    Raises:
        RushesError: unknown kind or format, wrong extension, EXR with a kind that cannot
            reference sequences, overlapping fixes in an EDL, nothing to export.
    """
    path = Path(path)
    if kind not in TIMELINE_KINDS:
        raise RushesError(f"export kind '{kind}' unknown; use one of {', '.join(TIMELINE_KINDS)}")
    if fmt not in MEDIA_FORMATS:
        raise RushesError(f"--format {fmt}: use prores or exr for replacement media")
    if path.suffix.lower() not in TIMELINE_EXTENSIONS[kind]:
        raise RushesError(
            f"{path}: give a {' or '.join(TIMELINE_EXTENSIONS[kind])} file for {kind}"
        )
    if fmt == "exr" and kind not in (*_SEQUENCE_KINDS, "ale"):
        raise RushesError(
            f"{kind} cannot reference an EXR sequence (the OpenTimelineIO {kind} adapter links "
            "movie files only); export with --format prores, or as otio or edl"
        )
    rate = project.settings.rate
    fixes, skipped = approved_fixes(project, proposals)
    warnings: list[str] = []
    if kind in _ONE_RATE_KINDS:
        keep = []
        for f in fixes:
            if same_rate(f.fps, rate):
                keep.append(f)
            else:
                skipped.append(
                    {
                        "proposal": f.proposal,
                        "shot": f.shot,
                        "why": f"{f.clip} is {show_rate(f.fps)} fps; {kind} carries the "
                        f"project's {show_rate(rate)} fps only (export otio or fcp7xml)",
                    }
                )
        fixes = keep
    ready: list[Fix] = []
    for f in fixes:
        found = find_render(project, f, fmt)
        if found is None and render:
            render_proposal(
                project,
                f.proposal,
                fmt,
                _render_target(project, f.proposal, fmt),
                progress=progress,
            )
            found = find_render(project, f, fmt)
            f.rendered = True
        if found is None:
            why = (
                f"no {fmt} render matching it (render it, or drop --no-render)"
                if not render
                else f"its {fmt} render does not match its provenance"
            )
            skipped.append({"proposal": f.proposal, "shot": f.shot, "why": why})
            continue
        _attach(f, found[0], found[1], fmt)
        ready.append(f)
    if not ready:
        reasons = "; ".join(f"{s['proposal']}: {s['why']}" for s in skipped[:3])
        raise RushesError(
            "no approved fix to export"
            + (f" ({reasons})" if reasons else "; approve proposals with 'rushes approve'")
        )
    cdl_files: list[str] = []
    for f in ready:
        if f.op == "match" and f.cdl:
            f.cdl_path = path.parent / f"{path.stem}_cdl" / f"{f.name}.cdl"
            f.cdl_path.parent.mkdir(parents=True, exist_ok=True)
            export_cdl(project, f.proposal, f.cdl_path)
            cdl_files.append(str(f.cdl_path))
    not_in_cut: list[dict[str, Any]] = []
    cut_info: dict[str, Any] | None = None
    if cut is not None:
        tracks, start, unused, cut_info = _place_in_cut(project, ready, cut)
        not_in_cut = [{"proposal": f.proposal, "shot": f.shot} for f in unused]
        if not tracks:
            raise RushesError(
                f"none of the {len(ready)} approved fixes is on a shot the cut "
                f"'{cut_info['cut']}' uses; export without --cut"
            )
    else:
        hour = "01:00:00;00" if is_drop_frame_rate(float(rate)) else "01:00:00:00"
        start = timecode_to_frames(hour, float(rate))
        at = start
        seq: list[_Placement] = []
        for f in ready:
            seq.append(_Placement(f, at, f.tc_start, f.frames))
            at += f.frames
        tracks = [seq]
    name = path.stem
    tl = build_timeline(name, rate, start, tracks)
    placed = [p for t in tracks for p in t]
    if kind == "edl":
        warnings += _edl_reel_warnings([p.fix for p in placed])
    if kind == "ale":
        _write_ale(path, placed, rate)
    elif kind == "edl":
        _write_edl(tl, path, rate)
    elif kind == "aaf":
        with atomic_path(path) as tmp:
            otio.adapters.write_to_file(tl, str(tmp), adapter_name="AAF")
    else:
        text = otio.adapters.write_to_string(tl, _ADAPTERS[kind])
        if kind == "fcpxml":
            text = _fix_fcpxml_formats(text, rate, ready)
        write_text_atomic(path, text if text.endswith("\n") else text + "\n")
    rows = [
        {
            "proposal": f.proposal,
            "shot": f.shot,
            "name": f.name,
            "op": f.op,
            "media": str(f.media),
            "rendered": f.rendered,
            "source_tc_in": show_tc(f.tc_start, f.fps, f.drop_frame),
            "source_tc_out": show_tc(f.tc_start + f.frames, f.fps, f.drop_frame),
            "frames": f.frames,
            "cdl": str(f.cdl_path) if f.cdl_path else None,
            "provenance": str(f.provenance),
        }
        for f in ready
    ]
    report: dict[str, Any] = {
        "kind": kind,
        "path": str(path),
        "format": fmt,
        "fixes": rows,
        "skipped": skipped,
        "warnings": warnings,
        "cdl": cdl_files,
        "tracks": len(tracks),
        "clips": len(placed),
    }
    if cut_info is not None:
        report |= {"cut": cut_info["cut"], "cut_version": cut_info["version"]}
        report["not_in_cut"] = not_in_cut
    project.audit(
        "export",
        f"timeline {path.name}",
        {
            "kind": kind,
            "path": str(path.resolve()),
            "format": fmt,
            "proposals": [f.proposal for f in ready],
            "rendered": [f.proposal for f in ready if f.rendered],
            "skipped": skipped,
            "cut": cut_info,
        },
    )
    return report
