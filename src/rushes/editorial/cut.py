"""The editor's cut in: read an EDL, FCP7 XML, FCPXML, OTIO or AAF timeline and match it.

Every format is read through OpenTimelineIO and its adapter packages (``otio-cmx3600-adapter``,
``otio-fcp-adapter``, ``otio-fcpx-xml-adapter``, ``otio-aaf-adapter``). The format comes from
the extension: ``.edl``; ``.xml`` is FCP7 XML (``<xmeml>``) or FCPXML (``<fcpxml>``), told
apart by its root element; ``.fcpxml`` (or an ``.fcpxmld`` bundle); ``.otio``; ``.aaf``.

Checks made before anything is stored, each a one-line :class:`~rushes.errors.MetadataError`
naming the file:

* **Rate.** An EDL carries no rate: it is read at ``rate`` (default: the project's). Every
  timecode in it is checked at that rate, so an EDL cut at 25 fps read at 24 fails on its
  first ``..:24`` frame with the line named. Other formats carry their rate; a cut whose rate
  is not the project's is refused rather than converted, because source timecode counted at
  25 fps does not name the same frames of 24 fps media (re-export the cut from a sequence at
  the project's rate).
* **Drop-frame.** ``HH:MM:SS;FF`` timecode is drop-frame (29.97/59.94 only); an EDL with
  ``FCM: DROP FRAME`` and ``:`` separators is read as drop-frame too. Frame numbers stored
  are real frame counts, so they compare with clips' timecode whatever the labels.
* **Malformed files.** Broken XML names the line and column; an EDL or AAF the adapter cannot
  read says so with the adapter's reason.

Events are matched to clips and shots by :mod:`rushes.editorial.cut_match`; events that match
nothing are stored and reported with the reason. The cut goes into the catalog (``Cut`` and
``CutEvent``, with the timeline as OTIO JSON): the same file imported again is matched again in
place (after ingesting missing clips, say); a changed file under the same name becomes its next
version.

Example:
    >>> report = import_cut(project, Path("reel1.edl"))        # doctest: +SKIP
    >>> report["matched"], report["events"]                    # doctest: +SKIP
    (12, 12)
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import opentimelineio as otio
from sqlalchemy import select
from sqlalchemy.orm import Session

from rushes.editorial.cut_match import ClipIndex, EventMatch, EventSpec, same_rate, show_tc
from rushes.errors import MetadataError, NotFoundError, RushesError
from rushes.ingest.ale import read_metadata_text
from rushes.media.checksum import xxh64_file
from rushes.media.timecode import is_drop_frame_rate, parse_timecode, show_rate
from rushes.project import Cut, CutEvent, Project
from rushes.project.settings import parse_rate

__all__ = [
    "CUT_FORMATS",
    "ParsedCut",
    "cut_detail",
    "cut_row",
    "detect_format",
    "event_row",
    "find_cut",
    "import_cut",
    "list_cuts",
    "read_cut",
]

CUT_FORMATS: Final[dict[str, str]] = {
    "edl": "cmx_3600",
    "fcp7xml": "fcp_xml",
    "fcpxml": "fcpx_xml",
    "otio": "otio_json",
    "aaf": "AAF",
}
"""rushes' name of each cut format -> the OpenTimelineIO adapter that reads it."""

_ADAPTER_PACKAGES: Final = {
    "cmx_3600": "otio-cmx3600-adapter",
    "fcp_xml": "otio-fcp-adapter",
    "fcpx_xml": "otio-fcpx-xml-adapter",
    "AAF": "otio-aaf-adapter",
}
_TC = r"\d{1,2}[:;.]\d{2}[:;.]\d{2}[:;.,]\d{2}"
_EDL_EVENT = re.compile(
    rf"^\s*\d+\s+\S+\s+\S+\s+\S+(?:\s+\d+)?\s+(?P<tcs>{_TC}\s+{_TC}\s+{_TC}\s+{_TC})\s*$"
)
_TC_ONLY = re.compile(_TC)


@dataclass
class ParsedCut:
    """A cut as read from its file, before matching.

    Attributes:
        path: the file read.
        format: one of :data:`CUT_FORMATS`.
        name: the timeline's name (else the file's stem).
        rate: the cut's (record) frame rate.
        drop_frame: its timecode is drop-frame.
        start: record frame of its start, from ``00:00:00:00``.
        events: its picture events in order.
        timeline: the OpenTimelineIO timeline.
        warnings: things read but left out (audio tracks, generators, disabled clips).
    """

    path: Path
    format: str
    name: str
    rate: Fraction
    drop_frame: bool
    start: int
    events: list[EventSpec]
    timeline: otio.schema.Timeline
    warnings: list[str]


def detect_format(path: Path) -> str:
    """The cut format of ``path`` from its extension (and, for ``.xml``, its root element).

    Returns:
        One of :data:`CUT_FORMATS`.

    Raises:
        MetadataError: unknown extension, or an ``.xml`` that is neither FCP7 XML nor FCPXML,
            or malformed XML (line and column named).
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext == ".edl":
        return "edl"
    if ext in (".fcpxml", ".fcpxmld"):
        return "fcpxml"
    if ext == ".otio":
        return "otio"
    if ext == ".aaf":
        return "aaf"
    if ext == ".xml":
        root = _xml_root(path)
        if root == "xmeml":
            return "fcp7xml"
        if root == "fcpxml":
            return "fcpxml"
        raise MetadataError(
            f"{path}: is XML but neither FCP7 XML (<xmeml>) nor FCPXML (<fcpxml>): its root is "
            f"<{root}>; export the cut as FCP7 XML, FCPXML, EDL, OTIO or AAF"
        )
    raise MetadataError(
        f"{path}: '{ext or 'no extension'}' is not a cut format rushes reads; give an .edl, "
        ".xml (FCP7 or FCPXML), .fcpxml, .otio or .aaf"
    )


def _xml_root(path: Path) -> str:
    """The root element's name, or a MetadataError naming the line of the first XML error."""
    if not path.is_file():
        raise MetadataError(f"{path}: no such file; check the path")
    try:
        for _, elem in ET.iterparse(path, events=("start",)):
            tag = str(elem.tag)
            return tag.rsplit("}", 1)[-1]
    except ET.ParseError as e:
        raise _malformed(path, e) from None
    raise MetadataError(f"{path}: is empty; re-export the cut")


def _malformed(path: Path, e: ET.ParseError) -> MetadataError:
    """The one-line error for XML that does not parse, naming its line and column."""
    line, col = e.position
    msg = str(e).split(":", 1)[0]
    return MetadataError(
        f"{path}: malformed XML at line {line}, column {col} ({msg}); re-export the cut "
        "from the editing system"
    )


def _check_xml(path: Path) -> None:
    """Parse the whole file once so broken XML is reported with its line, not deep in OTIO."""
    try:
        for _ in ET.iterparse(path, events=("end",)):
            pass
    except ET.ParseError as e:
        raise _malformed(path, e) from None


def _check_fcpxml_rates(path: Path, source: Path) -> None:
    """Refuse FCPXML at NTSC rates: otio-fcpx-xml-adapter 1.0 reads 29.97 fps as 29 and
    23.976 as 23 (it truncates the rate), which would misplace every frame."""
    for _, elem in ET.iterparse(source, events=("end",)):
        if str(elem.tag).rsplit("}", 1)[-1] == "format":
            duration = elem.get("frameDuration") or ""
            if duration.startswith("1001/"):
                raise MetadataError(
                    f"{path}: FCPXML at an NTSC rate ({duration}) is misread by the OpenTimelineIO "
                    "FCPXML adapter (it truncates 29.97 to 29); export the cut as FCP7 XML or EDL"
                )


def _adapter_error(path: Path, kind: str, e: Exception) -> MetadataError:
    first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
    return MetadataError(f"{path}: not a readable {kind} ({first}); re-export the cut")


def _prepare_edl(path: Path, rate: Fraction) -> tuple[str, bool]:
    """The EDL's text with every timecode checked at ``rate`` and drop-frame made explicit.

    Returns:
        The text to give the adapter and whether the EDL is drop-frame.
    """
    text = read_metadata_text(path, "EDL")
    lines = text.splitlines()
    fcm_drop = any(
        re.match(r"^\s*FCM:\s*DROP\s*FRAME", line, re.IGNORECASE) is not None for line in lines
    )
    fps = float(rate)
    shown = show_rate(rate)
    if fcm_drop and not is_drop_frame_rate(fps):
        raise MetadataError(
            f"{path}: says FCM: DROP FRAME but is read at {shown} fps; drop-frame exists at "
            "29.97 and 59.94 only: pass --rate 29.97 (or 59.94)"
        )
    events = 0
    any_df = False
    out: list[str] = []
    for no, line in enumerate(lines, start=1):
        m = _EDL_EVENT.match(line)
        if m is None:
            out.append(line)
            continue
        events += 1
        fixed = line
        for tc in _TC_ONLY.findall(m["tcs"]):
            label = tc[:-3] + ";" + tc[-2:] if fcm_drop and tc[-3] == ":" else tc
            try:
                parse_timecode(label, fps)
            except RushesError as e:
                hint = ""
                if int(tc[-2:]) >= round(fps):
                    hint = (
                        f"; the EDL looks cut at a higher rate than {shown} fps: pass --rate "
                        "with its rate (a cut at another rate than the project's is refused)"
                    )
                raise MetadataError(f"{path}: line {no}: {e}{hint}") from None
            any_df = any_df or label[-3] == ";"
            if label != tc:
                fixed = fixed.replace(tc, label, 1)
        out.append(fixed)
    if events == 0 and not any(line.strip()[:1].isdigit() for line in lines):
        raise MetadataError(
            f"{path}: has no CMX3600 events (lines like '001  A001 V C 01:00:00:00 ...'); "
            "is it an EDL?"
        )
    return "\n".join(out) + "\n", fcm_drop or any_df


def _read_timeline(path: Path, fmt: str, rate: Fraction) -> tuple[Any, bool | None]:
    """The OTIO object in ``path`` and, for an EDL, whether it is drop-frame."""
    adapter = CUT_FORMATS[fmt]
    try:
        otio.adapters.from_name(adapter)
    except Exception:  # the plugin system raises its own exception types
        pkg = _ADAPTER_PACKAGES.get(adapter, adapter)
        raise MetadataError(
            f"{path}: reading {fmt} needs the OpenTimelineIO adapter '{adapter}'; pip install {pkg}"
        ) from None
    if fmt == "edl":
        text, drop = _prepare_edl(path, rate)
        try:
            return otio.adapters.read_from_string(text, adapter, rate=float(rate)), drop
        except Exception as e:  # adapters raise anything on bad input
            raise _adapter_error(path, "CMX3600 EDL", e) from None
    source = path
    if fmt == "fcpxml" and path.is_dir():
        source = path / "Info.fcpxml"
        if not source.is_file():
            raise MetadataError(f"{path}: an .fcpxmld bundle without Info.fcpxml; re-export it")
    if not source.is_file():
        raise MetadataError(f"{path}: no such file; check the path")
    if fmt in ("fcp7xml", "fcpxml"):
        _check_xml(source)
    if fmt == "fcpxml":
        _check_fcpxml_rates(path, source)
    kind = {"fcp7xml": "FCP7 XML", "fcpxml": "FCPXML", "otio": "OTIO file", "aaf": "AAF"}[fmt]
    try:
        return otio.adapters.read_from_file(str(source), adapter), None
    except Exception as e:  # adapters raise anything on bad input
        raise _adapter_error(path, kind, e) from None


def _one_timeline(path: Path, obj: Any) -> otio.schema.Timeline:
    if isinstance(obj, otio.schema.Timeline):
        return obj
    found: list[otio.schema.Timeline] = []
    if hasattr(obj, "find_children"):
        found = list(obj.find_children(descended_from_type=otio.schema.Timeline))
    if isinstance(obj, otio.schema.SerializableCollection):
        found = [t for t in obj if isinstance(t, otio.schema.Timeline)] or found
    if len(found) == 1:
        return found[0]
    if not found:
        raise MetadataError(f"{path}: holds no timeline; export the cut's sequence")
    names = ", ".join(repr(t.name) for t in found[:5])
    raise MetadataError(
        f"{path}: holds {len(found)} timelines ({names}); export the one cut to import"
    )


def _rate_of(t: float) -> Fraction:
    return parse_rate(repr(float(t)))


def _timeline_rate(tl: otio.schema.Timeline) -> Fraction | None:
    if tl.global_start_time is not None:
        return _rate_of(tl.global_start_time.rate)
    for track in tl.video_tracks():
        for clip in track.find_clips():
            return _rate_of(clip.range_in_parent().duration.rate)
    return None


def _reel_of(clip: otio.schema.Clip) -> str | None:
    meta = clip.metadata
    reel = (meta.get("cmx_3600") or {}).get("reel")
    if not reel:
        ref_meta = clip.media_reference.metadata if clip.media_reference else {}
        tc = ((ref_meta.get("fcp_xml") or {}).get("timecode") or {}) if ref_meta else {}
        reel_el = tc.get("reel") if isinstance(tc, Mapping) else None
        if isinstance(reel_el, Mapping):
            reel = reel_el.get("name")
    if not reel:
        reel = (meta.get("rushes") or {}).get("reel") or meta.get("reel")
    return str(reel) if reel else None


def _fcp_drop(clip: otio.schema.Clip) -> bool | None:
    ref_meta = clip.media_reference.metadata if clip.media_reference else {}
    tc = (ref_meta.get("fcp_xml") or {}).get("timecode") if ref_meta else None
    if isinstance(tc, Mapping) and tc.get("displayformat"):
        return str(tc["displayformat"]).upper() == "DF"
    return None


def _source_of(clip: otio.schema.Clip) -> str | None:
    ref = clip.media_reference
    if isinstance(ref, otio.schema.ExternalReference):
        return str(ref.target_url) if ref.target_url else None
    if isinstance(ref, otio.schema.ImageSequenceReference):
        return str(ref.abstract_target_url("#"))
    return None


def _events(
    tl: otio.schema.Timeline, rate: Fraction, drop: bool | None
) -> tuple[list[EventSpec], int, list[str]]:
    """The picture events of ``tl`` in track then record order, its start, and warnings."""
    warnings: list[str] = []
    audio = len(tl.audio_tracks())
    if audio:
        warnings.append(f"{audio} audio track(s) left out (pictures only)")
    offset = 0
    if tl.global_start_time is not None:
        offset = round(tl.global_start_time.rescaled_to(float(rate)).value)
    out: list[EventSpec] = []
    skipped = 0
    for t_index, track in enumerate(tl.video_tracks(), start=1):
        if not track.enabled:
            warnings.append(f"track {track.name or t_index} is disabled; left out")
            continue
        rows: list[EventSpec] = []
        for clip in track.find_clips():
            if not clip.enabled or isinstance(clip.media_reference, otio.schema.GeneratorReference):
                skipped += 1
                continue
            problem = None
            try:
                src = clip.trimmed_range()
                rec = clip.transformed_time_range(src, tl.tracks)
            except Exception:  # OTIO raises on clips without any range
                src = rec = otio.opentime.TimeRange(
                    otio.opentime.RationalTime(0, float(rate)),
                    otio.opentime.RationalTime(0, float(rate)),
                )
                problem = "the cut gives no source range for this event"
            src_rate = _rate_of(src.start_time.rate)
            s_in = round(src.start_time.value)
            s_out = s_in + round(src.duration.rescaled_to(src.start_time.rate).value)
            r_in = offset + round(rec.start_time.rescaled_to(float(rate)).value)
            r_out = r_in + round(rec.duration.rescaled_to(float(rate)).value)
            ev_drop = drop if drop is not None else _fcp_drop(clip)
            rows.append(
                EventSpec(
                    index=0,
                    track=str(track.name or f"V{t_index}"),
                    name=str(clip.name or ""),
                    reel=_reel_of(clip),
                    source=_source_of(clip),
                    rate=src_rate,
                    drop_frame=ev_drop,
                    source_in=s_in,
                    source_out=s_out,
                    record_in=r_in,
                    record_out=r_out,
                    problem=problem,
                )
            )
        rows.sort(key=lambda e: e.record_in)
        out += rows
    if skipped:
        warnings.append(f"{skipped} generator (black, bars) or disabled clip(s) left out")
    for i, ev in enumerate(out, start=1):
        ev.index = i
    start = min((e.record_in for e in out), default=offset)
    if tl.global_start_time is not None:
        start = offset
    return out, start, warnings


def read_cut(path: Path, project_rate: Fraction, rate: Fraction | None = None) -> ParsedCut:
    """Read and check a cut (see the module docstring); nothing is matched or stored.

    Args:
        path: the cut file.
        project_rate: the project's frame rate; a cut at another rate is refused.
        rate: an EDL's rate (default ``project_rate``); for other formats, if given, it must
            be the file's own.

    Returns:
        The parsed cut.

    Raises:
        MetadataError: unknown format, malformed file, wrong or mismatched rate, no events.
    """
    path = Path(path)
    fmt = detect_format(path)
    if not path.exists():
        raise MetadataError(f"{path}: no such file; check the path")
    project_rate = parse_rate(str(project_rate))
    asked = parse_rate(str(rate)) if rate is not None else None
    read_rate = asked if (fmt == "edl" and asked is not None) else project_rate
    obj, drop = _read_timeline(path, fmt, read_rate)
    tl = _one_timeline(path, obj)
    cut_rate = read_rate if fmt == "edl" else _timeline_rate(tl)
    if cut_rate is None:
        raise MetadataError(f"{path}: has no picture events; export the cut with its video track")
    if asked is not None and fmt != "edl" and not same_rate(asked, cut_rate):
        raise MetadataError(
            f"{path}: --rate {show_rate(asked)} but the {fmt} file says {show_rate(cut_rate)} "
            "fps; --rate is for EDLs, which carry no rate"
        )
    if not same_rate(cut_rate, project_rate):
        edl_hint = (
            f", or pass --rate {show_rate(project_rate)} if the EDL was cut at the project's rate"
            if fmt == "edl"
            else ""
        )
        raise MetadataError(
            f"{path}: the cut is at {show_rate(cut_rate)} fps but the project is "
            f"{show_rate(project_rate)} fps; source timecode at {show_rate(cut_rate)} fps does "
            f"not name the same frames, so it is not converted: re-export the cut from a "
            f"{show_rate(project_rate)} fps sequence{edl_hint}"
        )
    events, start, warnings = _events(tl, cut_rate, drop)
    if not events:
        raise MetadataError(f"{path}: has no picture events; export the cut with its video track")
    is_df = bool(drop) if drop is not None else any(bool(e.drop_frame) for e in events)
    return ParsedCut(
        path=path,
        format=fmt,
        name=str(tl.name or path.stem),
        rate=cut_rate,
        drop_frame=is_df,
        start=start,
        events=events,
        timeline=tl,
        warnings=warnings,
    )


def event_row(e: CutEvent, rate: Fraction | None = None) -> dict[str, Any]:
    """Listing view of a stored cut event (timecode as text)."""
    r = parse_rate(e.rate)
    rec_rate = rate or r
    df = e.drop_frame
    return {
        "index": e.index,
        "track": e.track,
        "name": e.name,
        "reel": e.reel,
        "source": e.source,
        "source_in": show_tc(e.source_in, r, df),
        "source_out": show_tc(e.source_out, r, df),
        "record_in": show_tc(e.record_in, rec_rate, df),
        "record_out": show_tc(e.record_out, rec_rate, df),
        "frames": e.source_out - e.source_in,
        "matched": e.matched,
        "clip": e.clip.name if e.clip is not None else None,
        "clip_in": e.clip_in,
        "clip_out": e.clip_out,
        "shot": e.shot.name if e.shot is not None else None,
        "shots": list(e.shots or []),
        "reason": e.reason,
    }


def cut_row(c: Cut) -> dict[str, Any]:
    """Listing view of a stored cut."""
    rate = parse_rate(c.rate)
    matched = sum(1 for e in c.events if e.matched)
    return {
        "id": c.id,
        "name": c.name,
        "version": c.version,
        "format": c.format,
        "rate": str(rate),
        "drop_frame": c.drop_frame,
        "start": show_tc(c.start, rate, c.drop_frame),
        "events": len(c.events),
        "matched": matched,
        "unmatched": len(c.events) - matched,
        "path": c.path,
        "checksum": c.checksum,
        "imported_at": c.imported_at,
        "imported_by": c.imported_by,
    }


def find_cut(session: Session, name: str | None = None, version: int | None = None) -> Cut:
    """A stored cut: the latest version of ``name`` (or that ``version``), or without a name
    the cut imported last.

    Raises:
        NotFoundError: no such cut, or no cut imported yet.
    """
    q = select(Cut)
    if name is not None:
        q = q.where(Cut.name == name)
        if version is not None:
            q = q.where(Cut.version == version)
        q = q.order_by(Cut.version.desc(), Cut.id.desc())
    else:
        q = q.order_by(Cut.id.desc())
    cut = session.scalars(q.limit(1)).first()
    if cut is None:
        if name is None:
            raise NotFoundError("no cut imported yet; run 'rushes import-cut FILE' first")
        which = f"'{name}'" + (f" version {version}" if version is not None else "")
        raise NotFoundError(f"no cut named {which}; list them with 'rushes cuts'")
    return cut


def _store_events(cut: Cut, parsed: ParsedCut, matches: list[EventMatch]) -> None:
    for ev, m in zip(parsed.events, matches, strict=True):
        cut.events.append(
            CutEvent(
                index=ev.index,
                track=ev.track,
                name=ev.name,
                reel=ev.reel,
                source=ev.source,
                rate=str(ev.rate),
                drop_frame=ev.drop_frame,
                source_in=ev.source_in,
                source_out=ev.source_out,
                record_in=ev.record_in,
                record_out=ev.record_out,
                matched=m.matched,
                reason=m.reason,
                clip_id=m.clip_id,
                shot_id=m.shot_id,
                clip_in=m.clip_in,
                clip_out=m.clip_out,
                shots=list(m.shots),
            )
        )


def import_cut(
    project: Project, path: Path, name: str | None = None, rate: Fraction | str | None = None
) -> dict[str, Any]:
    """Read ``path``, match its events to the catalog and store the cut.

    Args:
        project: the open project.
        path: the cut file (``.edl``, ``.xml``, ``.fcpxml``, ``.otio``, ``.aaf``).
        name: the cut's name in the catalog (default: the file's stem).
        rate: an EDL's frame rate (default: the project's).

    Returns:
        :func:`cut_row` of the stored cut plus ``rows`` (every event, :func:`event_row`),
        ``unmatched_events`` (those that match nothing, with the reason), ``warnings`` and
        ``rematched`` (the same file was imported before and was matched again in place).

    Raises:
        MetadataError: see :func:`read_cut`.
    """
    path = Path(path)
    project_rate = project.settings.rate
    parsed = read_cut(path, project_rate, parse_rate(str(rate)) if rate is not None else None)
    cut_name = name or path.stem
    checksum = xxh64_file(path / "Info.fcpxml" if path.is_dir() else path)
    text = otio.adapters.write_to_string(parsed.timeline, "otio_json")
    with project.session() as s:
        index = ClipIndex.from_session(s, project_rate)
        matches = [index.match(ev) for ev in parsed.events]
        prev = s.scalars(
            select(Cut).where(Cut.name == cut_name).order_by(Cut.version.desc()).limit(1)
        ).first()
        rematched = prev is not None and prev.checksum == checksum and prev.rate == str(parsed.rate)
        if rematched:
            assert prev is not None
            cut = prev
            cut.events.clear()
            s.flush()
            cut.path = str(path.resolve())
        else:
            cut = Cut(
                name=cut_name,
                version=(prev.version + 1) if prev is not None else 1,
                path=str(path.resolve()),
                format=parsed.format,
                rate=str(parsed.rate),
                drop_frame=parsed.drop_frame,
                start=parsed.start,
                checksum=checksum,
                imported_by=project.user,
                otio=text,
            )
            s.add(cut)
        _store_events(cut, parsed, matches)
        s.flush()
        unmatched = sum(1 for m in matches if not m.matched)
        project.audit(
            "import-cut",
            f"cut {cut_name} v{cut.version}",
            {
                "path": str(path.resolve()),
                "format": parsed.format,
                "rate": str(parsed.rate),
                "checksum": checksum,
                "events": len(matches),
                "unmatched": unmatched,
                "rematched": rematched,
            },
            session=s,
        )
        rows = [event_row(e, parsed.rate) for e in cut.events]
        report = cut_row(cut)
    report |= {
        "rows": rows,
        "unmatched_events": [r for r in rows if not r["matched"]],
        "warnings": parsed.warnings,
        "rematched": rematched,
    }
    return report


def list_cuts(project: Project) -> list[dict[str, Any]]:
    """Every stored cut (all versions), newest first."""
    with project.session() as s:
        return [cut_row(c) for c in s.scalars(select(Cut).order_by(Cut.id.desc()))]


def cut_detail(
    project: Project, name: str | None = None, version: int | None = None
) -> dict[str, Any]:
    """A stored cut (:func:`find_cut`) with its events (``rows``)."""
    with project.session() as s:
        cut = find_cut(s, name, version)
        rate = parse_rate(cut.rate)
        return cut_row(cut) | {"rows": [event_row(e, rate) for e in cut.events]}
