"""Pulls: the cut's shots with handles, as EXR sequences or ProRes, for VFX.

Each matched picture event of an imported cut (:mod:`rushes.editorial.cut`) becomes one pull:
its source range plus ``handles`` frames each side, clamped to the clip (a clamp is said in the
pull's ``notes``). Names follow the VFX convention of a sequence code, a shot number counted in
tens along the cut, an element and a version; the default pattern
:data:`PULL_PATTERN` ``"{seq}_{vfx:04d}_plate_v001"`` gives ``reel1_0010_plate_v001`` for the
first event of cut ``reel1`` (fields: ``seq`` the cut's name, ``vfx`` event number x 10,
``event``, ``shot``, ``clip``, ``reel``; anything but letters, digits, ``_ - .`` becomes ``_``).

* ``exr``: ``DIR/<name>/<name>.####.exr``, half-float ACEScg scene-linear, numbered from 1001
  (the first handle frame), each frame's source timecode in its header (``smpte:TimeCode``)
  with ``FramesPerSecond``; the cut's in point is frame ``1001 + head handles``.
* ``prores``: ``DIR/<name>.mov``, ProRes 422 HQ in the clip's own encoding, with the source
  timecode of its first frame in the MOV's timecode track.

Beside them go ``pull_list.csv`` and ``pull_list.ale`` (name, clip, reel, source timecode in
and out with handles and without, frames, handles, file). Frames stream from the original a
few at a time, never the whole clip; each file is written atomically. ``pulls.json`` in
``DIR`` records every finished pull (source checksum, range, format, files and sizes): running
the same command again skips the pulls already there and intact and finishes the others.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import numpy as np
import OpenImageIO as oiio
from sqlalchemy import select

from rushes.atomic import atomic_path, write_text_atomic
from rushes.color import WORKING_SPACE, convert
from rushes.editorial.cut import find_cut
from rushes.editorial.cut_match import show_tc
from rushes.errors import MediaError, RushesError
from rushes.ingest.ale import AleFile, write_ale
from rushes.media import open_media, write_prores
from rushes.media.timecode import (
    frames_to_timecode,
    is_drop_frame_rate,
    is_drop_frame_timecode,
    show_rate,
    timecode_to_frames,
)
from rushes.ops.frames import clip_colorspace
from rushes.project import Project, Proposal, Shot
from rushes.project.settings import parse_rate

__all__ = [
    "PULL_FORMATS",
    "PULL_PATTERN",
    "PullItem",
    "plan_pulls",
    "pull",
    "smpte_timecode_bits",
]

PULL_PATTERN: Final = "{seq}_{vfx:04d}_plate_v001"
"""Default pull name: sequence code, shot number (event x 10), element, version."""
PULL_FORMATS: Final = ("exr", "prores")
STATE_FILE: Final = "pulls.json"
FIRST_FRAME: Final = 1001
_STATE_VERSION: Final = 1
_SAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


@dataclass
class PullItem:
    """One planned pull.

    Attributes:
        name: the pull's name (files are named after it).
        event: the cut event's number; ``vfx`` the shot number (event x 10).
        shot: the shot the event covers most; ``shots`` every shot it covers.
        clip / clip_path / checksum / reel: the original it is pulled from.
        fps: the clip's rate; ``tc_start`` the timecode frame of its frame 0 and
            ``drop_frame`` its timecode's drop-frame flag.
        cut_in / cut_out: the event's clip frames (out exclusive).
        pull_in / pull_out: the same with handles, clamped to the clip.
        head / tail: handle frames actually pulled each side (``handles`` asked).
        colorspace: the clip's input colour space (EXR pulls are converted to ACEScg).
        notes: clamped handles and the like.
    """

    name: str
    event: int
    vfx: int
    shot: str | None
    shots: list[str]
    clip: str
    clip_path: str
    checksum: str
    reel: str | None
    fps: Fraction
    tc_start: int
    drop_frame: bool
    cut_in: int
    cut_out: int
    pull_in: int
    pull_out: int
    head: int
    tail: int
    handles: int
    colorspace: str
    record_in: str = ""
    record_out: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def frames(self) -> int:
        """Frames pulled, handles included."""
        return self.pull_out - self.pull_in

    def tc(self, clip_frame: int) -> str:
        """Source timecode of a clip frame (as text)."""
        return show_tc(self.tc_start + clip_frame, self.fps, self.drop_frame)


def smpte_timecode_bits(label: str) -> int:
    """A timecode as the 32-bit BCD word of SMPTE 12M (``smpte:TimeCode`` in EXR headers).

    Args:
        label: ``"HH:MM:SS:FF"`` or drop-frame ``"HH:MM:SS;FF"``.

    Returns:
        The packed word (frames in the low byte, drop-frame flag at bit 6).

    Example:
        >>> hex(smpte_timecode_bits("10:21:33:12"))
        '0x10213312'
    """
    h, m, s, f = (int(label[i : i + 2]) for i in (0, 3, 6, 9))

    def bcd(v: int) -> int:
        return (v // 10) << 4 | (v % 10)

    word = bcd(f) | bcd(s) << 8 | bcd(m) << 16 | bcd(h) << 24
    if label[8] == ";":
        word |= 1 << 6
    return word


def _safe(text: str) -> str:
    return _SAFE.sub("_", text).strip("_") or "x"


def plan_pulls(
    project: Project,
    cut: str | None = None,
    handles: int = 8,
    only_with_proposals: bool = False,
    pattern: str = PULL_PATTERN,
) -> tuple[dict[str, Any], list[PullItem], list[dict[str, Any]]]:
    """The pulls of a cut's matched events (nothing is read or written).

    Args:
        project: the open project.
        cut: the cut's name (default: the cut imported last; its latest version).
        handles: frames added each side, clamped to the clip.
        only_with_proposals: only events covering a shot with a pending or approved fix.
        pattern: the pull name pattern (see the module docstring).

    Returns:
        The cut (name, version, rate), the pulls, and the events left out with why.

    Raises:
        NotFoundError: no such cut.
        RushesError: a negative ``handles``, a bad ``pattern``, two pulls with one name.
    """
    if handles < 0:
        raise RushesError(f"--handles {handles}: give 0 or more frames")
    with project.session() as s:
        c = find_cut(s, cut)
        info = {"cut": c.name, "version": c.version, "rate": c.rate, "id": c.id}
        rate = parse_rate(c.rate)
        wanted: set[str] | None = None
        if only_with_proposals:
            rows = s.execute(
                select(Shot.name)
                .join(Proposal, Proposal.shot_id == Shot.id)
                .where(Proposal.status.in_(("pending", "approved")))
            )
            wanted = {r[0] for r in rows}
        items: list[PullItem] = []
        left: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        for e in c.events:
            if not e.matched or e.clip is None or e.clip_in is None or e.clip_out is None:
                left.append({"event": e.index, "name": e.name, "why": e.reason or "not matched"})
                continue
            if wanted is not None and not (set(e.shots or []) & wanted):
                left.append({"event": e.index, "name": e.name, "why": "no pending/approved fix"})
                continue
            clip = e.clip
            fps = parse_rate(clip.fps) if clip.fps else project.settings.rate
            if clip.timecode:
                tc_start = timecode_to_frames(clip.timecode, float(fps))
                drop = is_drop_frame_timecode(clip.timecode)
            else:  # no timecode of its own: the one the cut counted it from
                tc_start = e.source_in - e.clip_in
                drop = bool(e.drop_frame) and is_drop_frame_rate(float(fps))
            try:
                name = pattern.format(
                    seq=_safe(c.name),
                    vfx=e.index * 10,
                    event=e.index,
                    shot=_safe(e.shot.name if e.shot else clip.name),
                    clip=_safe(clip.name),
                    reel=_safe(clip.reel or e.reel or clip.name),
                )
            except (KeyError, IndexError, ValueError) as err:
                raise RushesError(
                    f"pull name pattern {pattern!r}: {err}; use the fields seq, vfx, event, "
                    "shot, clip, reel (e.g. '{seq}_{vfx:04d}_plate_v001')"
                ) from None
            name = _safe(name)
            if name in seen:
                raise RushesError(
                    f"the pattern {pattern!r} names events {seen[name]} and {e.index} both "
                    f"'{name}'; put {{vfx}} or {{event}} in it"
                )
            seen[name] = e.index
            pull_in = max(0, e.clip_in - handles)
            pull_out = min(clip.frames, e.clip_out + handles)
            head, tail = e.clip_in - pull_in, pull_out - e.clip_out
            notes = []
            if head < handles:
                notes.append(f"head handles {head} of {handles}: the clip starts there")
            if tail < handles:
                notes.append(f"tail handles {tail} of {handles}: the clip ends there")
            items.append(
                PullItem(
                    name=name,
                    event=e.index,
                    vfx=e.index * 10,
                    shot=e.shot.name if e.shot else None,
                    shots=list(e.shots or []),
                    clip=clip.name,
                    clip_path=clip.path,
                    checksum=clip.checksum,
                    reel=clip.reel or e.reel,
                    fps=fps,
                    tc_start=tc_start,
                    drop_frame=drop,
                    cut_in=e.clip_in,
                    cut_out=e.clip_out,
                    pull_in=pull_in,
                    pull_out=pull_out,
                    head=head,
                    tail=tail,
                    handles=handles,
                    colorspace=clip_colorspace(clip, project.settings.color.input_colorspace),
                    record_in=show_tc(e.record_in, rate, e.drop_frame),
                    record_out=show_tc(e.record_out, rate, e.drop_frame),
                    notes=notes,
                )
            )
    return info, items, left


def _state_key(item: PullItem, fmt: str) -> dict[str, Any]:
    return {
        "checksum": item.checksum,
        "clip": item.clip_path,
        "pull_in": item.pull_in,
        "pull_out": item.pull_out,
        "format": fmt,
        "first_frame": FIRST_FRAME,
        "colorspace": item.colorspace if fmt == "prores" else WORKING_SPACE,
    }


def _read_state(out: Path) -> dict[str, Any]:
    path = out / STATE_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a damaged record only costs pulling again
    pulls = data.get("pulls") if isinstance(data, dict) else None
    return pulls if isinstance(pulls, dict) else {}


def _intact(out: Path, record: dict[str, Any]) -> bool:
    files = record.get("files") or {}
    if not files:
        return False
    for rel, size in files.items():
        p = out / rel
        if not p.is_file() or p.stat().st_size != size:
            return False
    return True


def _frames(item: PullItem, exr: bool) -> Iterator[np.ndarray]:
    with open_media(Path(item.clip_path), fps=item.fps) as reader:
        for _, frame in reader.iter_frames(item.pull_in, item.pull_out):
            yield convert(frame, item.colorspace, WORKING_SPACE) if exr else frame


def _write_exr(path: Path, frame: np.ndarray, fps: Fraction, tc: str | None, clip: str) -> int:
    """One half-float EXR frame with its source timecode and rate in the header; its size.

    ``frame`` is converted to float16 here (OpenImageIO's own float-to-half conversion is
    slower than numpy's and doubled the write time)."""
    spec = oiio.ImageSpec(frame.shape[1], frame.shape[0], 3, "half")
    spec.attribute("compression", "zip")
    spec.attribute("FramesPerSecond", oiio.TypeDesc("rational"), (fps.numerator, fps.denominator))
    if tc is not None:
        spec.attribute("smpte:TimeCode", oiio.TypeTimeCode, (smpte_timecode_bits(tc), 0))
    spec.attribute("rushes:source_clip", clip)
    with atomic_path(path) as tmp:
        o = oiio.ImageOutput.create(str(tmp))
        if o is None or not o.open(str(tmp), spec):
            raise MediaError(f"{path}: cannot write EXR ({oiio.geterror()})")
        ok = o.write_image(np.ascontiguousarray(frame, dtype=np.float16))
        o.close()
        if not ok:
            raise MediaError(f"{path}: EXR write failed ({o.geterror()})")
    return path.stat().st_size


def _label(item: PullItem, clip_frame: int) -> str | None:
    """Source timecode of a clip frame, or ``None`` where timecode does not exist at the rate."""
    try:
        return frames_to_timecode(
            item.tc_start + clip_frame, float(item.fps), drop_frame=item.drop_frame, wrap=True
        )
    except RushesError:
        return None


def _pull_one(
    item: PullItem, out: Path, fmt: str, progress: Callable[[int], None] | None
) -> dict[str, int]:
    """Write one pull; returns its files (relative to ``out``) and sizes."""
    files: dict[str, int] = {}
    if fmt == "exr":
        folder = out / item.name
        folder.mkdir(parents=True, exist_ok=True)
        # one writer thread: decoding and the colour conversion of the next frames overlap
        # the compression of this one; at most a few frames wait in memory
        pending: deque[tuple[str, Future[int]]] = deque()

        def settle(limit: int) -> None:
            while len(pending) > limit:
                rel, job = pending.popleft()
                files[rel] = job.result()
                if progress:
                    progress(1)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rushes-pull") as pool:
            for k, frame in enumerate(_frames(item, exr=True)):
                path = folder / f"{item.name}.{FIRST_FRAME + k:04d}.exr"
                label = _label(item, item.pull_in + k)
                job = pool.submit(_write_exr, path, frame, item.fps, label, item.clip)
                pending.append((path.relative_to(out).as_posix(), job))
                settle(2)
            settle(0)
        expected = item.frames
    else:
        path = out / f"{item.name}.mov"

        def counted() -> Iterator[np.ndarray]:
            for frame in _frames(item, exr=False):
                yield frame
                if progress:
                    progress(1)

        write_prores(counted(), path, fps=item.fps, timecode=_label(item, item.pull_in))
        files[path.name] = path.stat().st_size
        expected = 1
    if len(files) != expected:
        raise MediaError(
            f"{item.clip_path}: gave {len(files)} of the {item.frames} frames of pull "
            f"{item.name}; the original is shorter than catalogued (re-ingest it)"
        )
    return files


def _row(item: PullItem, fmt: str, status: str) -> dict[str, Any]:
    first = FIRST_FRAME
    return {
        "name": item.name,
        "event": item.event,
        "vfx": item.vfx,
        "shot": item.shot,
        "shots": item.shots,
        "clip": item.clip,
        "reel": item.reel,
        "source_tc_in": item.tc(item.pull_in),
        "source_tc_out": item.tc(item.pull_out),
        "cut_tc_in": item.tc(item.cut_in),
        "cut_tc_out": item.tc(item.cut_out),
        "record_tc_in": item.record_in,
        "record_tc_out": item.record_out,
        "frames": item.frames,
        "cut_frames": item.cut_out - item.cut_in,
        "handles": item.handles,
        "handles_head": item.head,
        "handles_tail": item.tail,
        "first_frame": first,
        "last_frame": first + item.frames - 1,
        "cut_in_frame": first + item.head,
        "cut_out_frame": first + item.head + (item.cut_out - item.cut_in) - 1,
        "clip_in": item.pull_in,
        "clip_out": item.pull_out,
        "format": fmt,
        "path": (f"{item.name}/{item.name}.####.exr" if fmt == "exr" else f"{item.name}.mov"),
        "colorspace": WORKING_SPACE if fmt == "exr" else item.colorspace,
        "status": status,
        "notes": "; ".join(item.notes),
    }


_CSV_COLUMNS: Final = (
    "name",
    "event",
    "shot",
    "clip",
    "reel",
    "source_tc_in",
    "source_tc_out",
    "cut_tc_in",
    "cut_tc_out",
    "record_tc_in",
    "record_tc_out",
    "frames",
    "handles_head",
    "handles_tail",
    "first_frame",
    "last_frame",
    "cut_in_frame",
    "cut_out_frame",
    "format",
    "colorspace",
    "path",
    "notes",
)


def _write_lists(out: Path, rows: list[dict[str, Any]], fps: Fraction) -> tuple[Path, Path]:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(_CSV_COLUMNS), extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    csv_path = out / "pull_list.csv"
    write_text_atomic(csv_path, buf.getvalue())
    ale_rows = [
        {
            "Name": r["name"],
            "Tape": str(r["reel"] or r["clip"]),
            "Start": r["source_tc_in"],
            "End": r["source_tc_out"],
            "Source File": r["path"],
            "Clip": r["clip"],
            "Shot": str(r["shot"] or ""),
            "VFX Event": str(r["event"]),
            "Frames": str(r["frames"]),
            "Handles": f"{r['handles_head']}+{r['handles_tail']}",
            "Cut In": r["cut_tc_in"],
            "Cut Out": r["cut_tc_out"],
            "First Frame": str(r["first_frame"]),
            "Comments": r["notes"],
        }
        for r in rows
    ]
    columns = list(ale_rows[0]) if ale_rows else ["Name", "Tape", "Start", "End"]
    ale_path = out / "pull_list.ale"
    heading = {"FIELD_DELIM": "TABS", "VIDEO_FORMAT": "CUSTOM", "FPS": show_rate(fps)}
    write_ale(ale_path, AleFile(heading, columns, ale_rows))
    return csv_path, ale_path


def pull(
    project: Project,
    out_dir: Path,
    cut: str | None = None,
    handles: int = 8,
    fmt: str = "exr",
    only_with_proposals: bool = False,
    pattern: str = PULL_PATTERN,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Pull the cut's shots with handles into ``out_dir`` (see the module docstring).

    Args:
        project: the open project.
        out_dir: the folder to write (made if missing).
        cut: the cut's name (default: the cut imported last).
        handles: frames each side, clamped to the clip.
        fmt: ``exr`` (half ACEScg, from 1001, timecode in the header) or ``prores``.
        only_with_proposals: only events covering a shot with a pending or approved fix.
        pattern: pull name pattern (:data:`PULL_PATTERN`).
        progress: called with the number of frames written.

    Returns:
        ``cut``, ``version``, ``format``, ``handles``, ``out``, ``pulls`` (one row per pull, as in
        the pull list, with ``status`` written|skipped), ``left_out`` (events not pulled and
        why), ``written``/``skipped`` counts, ``frames`` written, ``seconds``, ``fps`` (frames
        written per second) and the ``pull_list``/``ale`` paths.

    Raises:
        RushesError: unknown format; see :func:`plan_pulls`. MediaError: an original cannot be
            read.
    """
    if fmt not in PULL_FORMATS:
        raise RushesError(f"pull format '{fmt}' unknown; use one of {', '.join(PULL_FORMATS)}")
    info, items, left = plan_pulls(project, cut, handles, only_with_proposals, pattern)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = _read_state(out)
    rows: list[dict[str, Any]] = []
    written = skipped = frames = 0
    t0 = time.perf_counter()
    for item in items:
        key = _state_key(item, fmt)
        record = state.get(item.name)
        if isinstance(record, dict) and record.get("key") == key and _intact(out, record):
            skipped += 1
            rows.append(_row(item, fmt, "skipped"))
            continue
        files = _pull_one(item, out, fmt, progress)
        written += 1
        frames += item.frames
        state[item.name] = {"key": key, "files": files, "item": _jsonable(item)}
        write_text_atomic(
            out / STATE_FILE,
            json.dumps({"version": _STATE_VERSION, "pulls": state}, indent=1, sort_keys=True),
        )
        rows.append(_row(item, fmt, "written"))
    seconds = time.perf_counter() - t0
    fps = parse_rate(str(info["rate"]))
    csv_path, ale_path = _write_lists(out, rows, fps)
    report = {
        "cut": info["cut"],
        "version": info["version"],
        "format": fmt,
        "handles": handles,
        "out": str(out.resolve()),
        "pulls": rows,
        "left_out": left,
        "written": written,
        "skipped": skipped,
        "frames": frames,
        "seconds": round(seconds, 3),
        "fps": round(frames / seconds, 2) if frames and seconds > 0 else None,
        "pull_list": str(csv_path),
        "ale": str(ale_path),
    }
    project.audit(
        "pull",
        f"cut {info['cut']} v{info['version']}",
        {
            "out": report["out"],
            "format": fmt,
            "handles": handles,
            "pulls": [r["name"] for r in rows],
            "written": written,
            "skipped": skipped,
        },
    )
    return report


def _jsonable(item: PullItem) -> dict[str, Any]:
    d = asdict(item)
    d["fps"] = str(item.fps)
    return d
