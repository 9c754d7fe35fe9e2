"""Avid Log Exchange (ALE): read, write, and turn into per-clip metadata.

An ALE is a tab-delimited text file in three sections::

    Heading
    FIELD_DELIM	TABS
    VIDEO_FORMAT	1080
    AUDIO_FORMAT	48khz
    FPS	23.976

    Column
    Name	Tape	Start	End	Scene	Take	Source File

    Data
    A001C003_230115_R1AB	A001R1AB	10:21:33:12	10:22:01:04	12A	3	A001C003_230115_R1AB.mxf

Cameras (ARRI, Sony), dailies tools (Silverstack, Resolve) and Avid itself write them. The
reader is tolerant of what those tools really produce (CRLF or CR line ends, a UTF-8 BOM or
UTF-16, Windows-1252 text, trailing tabs, blank lines, short rows) and strict about what
would lose data (a row with more values than columns, a missing Column section), reporting
the file and line.

:func:`ale_clip_metadata` maps the columns onto :class:`ClipMetadata`, the record ingest
stores per clip; :mod:`rushes.ingest.sheet` produces the same records from CSV sheets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from rushes.atomic import write_bytes_atomic
from rushes.errors import MetadataError
from rushes.ingest.names import parse_clip_name, strip_media_name
from rushes.media.timecode import normalize_rate

__all__ = [
    "COLUMN_SYNONYMS",
    "AleFile",
    "ClipMetadata",
    "ale_clip_metadata",
    "clip_metadata_from_table",
    "normalize_column_name",
    "read_ale",
    "read_metadata_text",
    "write_ale",
]


@dataclass
class AleFile:
    """The three sections of an ALE, as written.

    Attributes:
        heading: ``Heading`` key/value pairs (``FIELD_DELIM``, ``VIDEO_FORMAT``,
            ``AUDIO_FORMAT``, ``FPS``, ...), keys as written.
        columns: the ``Column`` names, in order.
        rows: one dict per ``Data`` line, keyed by column, values verbatim; short rows are
            padded with ``""`` so every row has every column.
        source: the file it was read from (for messages); not compared.
    """

    heading: dict[str, str]
    columns: list[str]
    rows: list[dict[str, str]]
    source: Path | None = field(default=None, compare=False, repr=False)

    @property
    def fps(self) -> str | None:
        """The heading's ``FPS`` value as written (key matched case-insensitively)."""
        for key, value in self.heading.items():
            if key.strip().upper() == "FPS":
                return value
        return None


@dataclass(frozen=True)
class ClipMetadata:
    """What an ALE row or a camera/script sheet row says about one clip.

    Attributes:
        clip_name: the clip's name (Avid ``Name``; else the ``Source File``/``File Name``
            stem; for ALEs else the ``Tape``).
        source_file: ``Source File`` (else ``File Name``, ``Source Path``...) as written.
        scene: scene as written (``"12A"``).
        take: take as written (``"3"``, ``"2PK"``).
        camera: camera letter/name; when no column gives it, the letter parsed from the clip
            name or the reel (``A001C003...`` -> ``"A"``).
        reel: ``Tape``/``Reel``/camera roll as written.
        start_tc: start timecode as written (Avid's ``Start``).
        end_tc: end timecode as written (Avid's ``End``: exclusive, the frame after the last).
        fps: frame rate (row's own, else the ALE heading's ``FPS``), NTSC rates exact
            (``23.976`` -> ``24000/1001``).
        extra: every other column, verbatim (``Circled``, ``Comments``, ``Lens``, ``ISO``...).
    """

    clip_name: str
    source_file: str | None = None
    scene: str | None = None
    take: str | None = None
    camera: str | None = None
    reel: str | None = None
    start_tc: str | None = None
    end_tc: str | None = None
    fps: float | None = None
    extra: dict[str, str] = field(default_factory=dict)


# Accepted column names per field, normalised (see normalize_column_name), in order of
# preference when a file has more than one of them.
COLUMN_SYNONYMS: Final[Mapping[str, tuple[str, ...]]] = {
    "clip_name": ("name", "clip name", "clip", "clipname", "clip id", "media", "media name"),
    # A file name also names the clip: its stem is the clip name when no column above gives one.
    "source_file": (
        "source file",
        "sourcefile",
        "source file name",
        "file",
        "filename",
        "file name",
        "clip file",
        "source path",
        "sourcepath",
        "file path",
        "filepath",
        "path",
    ),
    "scene": ("scene", "sc", "scn", "scene number", "scene no", "sc no"),
    "take": ("take", "tk", "take number", "take no", "tk no"),
    "camera": ("camera", "cam", "camera letter", "camera index", "cam index", "cam letter"),
    "reel": (
        "tape",
        "reel",
        "reel name",
        "tape name",
        "camroll",
        "cam roll",
        "camera roll",
        "roll",
        "reel id",
    ),
    "start_tc": (
        "start",
        "start tc",
        "tc in",
        "start timecode",
        "timecode in",
        "tc start",
        "timecode start",
        "src start",
        "source start",
        "in",
        "timecode",
        "tc",
    ),
    "end_tc": (
        "end",
        "end tc",
        "tc out",
        "end timecode",
        "timecode out",
        "tc end",
        "timecode end",
        "src end",
        "source end",
        "out",
    ),
    "fps": (
        "fps",
        "frame rate",
        "framerate",
        "project fps",
        "project frame rate",
        "timecode rate",
        "tc rate",
        "rate",
    ),
}

_SECTIONS: Final = frozenset({"heading", "column", "data"})
_LINE_BREAK: Final = re.compile(r"\r\n|\r|\n")


def normalize_column_name(name: str) -> str:
    """A column or header name in the form :data:`COLUMN_SYNONYMS` uses.

    Lower case, ``_ - . # :`` as spaces, spaces collapsed: ``"Reel_Name"`` -> ``"reel
    name"``, ``"Tk#"`` -> ``"tk"``, ``"Sc."`` -> ``"sc"``.

    Args:
        name: a column name as written.

    Returns:
        The normalised name.
    """
    return " ".join(re.sub(r"[_\-.#:]+", " ", name.replace("\ufeff", "")).lower().split())


def read_metadata_text(path: Path, what: str = "metadata file") -> str:
    """Read a small text file whatever its encoding, for ALE and sheet readers.

    UTF-16 (with BOM) and UTF-8 (with or without BOM) are decoded as such; anything else as
    Windows-1252, then Latin-1, as older Avid and spreadsheet exports are.

    Args:
        path: the file.
        what: what the file is, for messages (``"ALE"``, ``"CSV sheet"``).

    Returns:
        The text, without BOM.

    Raises:
        MetadataError: the file cannot be read or is binary.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise MetadataError(f"{what} {path} does not exist; check the path") from None
    except OSError as exc:
        raise MetadataError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise MetadataError(f"{what} {path} is not valid UTF-16 text: {exc}") from exc
    if b"\x00" in data:
        raise MetadataError(f"{path} is a binary file, not a text {what}; check the path")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _section(line: str) -> str | None:
    """The section keyword a line is (``heading``/``column``/``data``), if any."""
    word = line.strip().lower()
    return word if word in _SECTIONS else None


def read_ale(path: Path) -> AleFile:
    """Read an Avid Log Exchange file.

    Args:
        path: the ``.ale`` file.

    Returns:
        Its heading, columns and rows; see :class:`AleFile`.

    Raises:
        MetadataError: the file is unreadable, is not an ALE (does not start with
            ``Heading``), has no ``Column`` section or an empty one, repeats a column name,
            declares a ``FIELD_DELIM`` other than ``TABS``, or has a row with more values
            than columns. The message names the file and the line.

    Example:
        >>> ale = read_ale(Path("day01.ale"))  # doctest: +SKIP
        >>> ale.columns[:3]  # doctest: +SKIP
        ['Name', 'Tape', 'Start']
    """
    path = Path(path)
    text = read_metadata_text(path, "ALE")
    heading: dict[str, str] = {}
    columns: list[str] | None = None
    rows: list[dict[str, str]] = []
    state = "start"
    column_line = 0

    def fail(line_no: int, message: str) -> MetadataError:
        return MetadataError(f"{path}: line {line_no}: {message}")

    for line_no, line in enumerate(_LINE_BREAK.split(text), start=1):
        if not line.strip():
            continue
        section = _section(line) if state != "data" else None
        if state == "start":
            if section not in ("heading", "column"):
                raise fail(
                    line_no,
                    f"expected 'Heading', found {line.strip()[:40]!r}; this is not an Avid "
                    "ALE file (an ALE starts with Heading, then Column and Data sections)",
                )
            state = "heading" if section == "heading" else "column"
            column_line = line_no
        elif state == "heading":
            if section == "column":
                state = "column"
                column_line = line_no
            elif section is not None:
                raise fail(line_no, f"found {line.strip()!r} before the Column section")
            else:
                key, sep, value = line.partition("\t")
                if not sep:
                    key, sep, value = line.strip().partition(" ")
                key = key.strip()
                value = value.strip("\t ")
                if key.upper() == "FIELD_DELIM" and value.upper() != "TABS":
                    raise fail(
                        line_no,
                        f"FIELD_DELIM is {value!r}; only TABS-delimited ALEs exist (re-export "
                        "the ALE from its tool)",
                    )
                heading[key] = value
        elif state == "column":
            if section is not None:
                raise fail(
                    line_no,
                    f"the Column section (line {column_line}) has no column names before "
                    f"{line.strip()!r}; add a tab-separated line of column names",
                )
            columns = _parse_columns(line, line_no, path)
            state = "after_columns"
        elif state == "after_columns":
            if section == "data":
                state = "data"
            elif section == "column":
                raise fail(line_no, "a second Column section; an ALE has one")
            else:
                raise fail(
                    line_no,
                    f"unexpected line {line.strip()[:40]!r} between the Column names and "
                    "'Data'; an ALE has one line of column names",
                )
        else:  # data
            assert columns is not None
            rows.append(_parse_row(line, line_no, columns, path))

    if columns is None:
        if state == "column":
            raise MetadataError(
                f"{path}: line {column_line}: the Column section has no column names; add a "
                "tab-separated line of column names"
            )
        raise MetadataError(
            f"{path}: no Column section; an ALE needs 'Column' followed by a tab-separated "
            "line of column names, then 'Data'"
            if state != "start"
            else f"{path}: is empty; an ALE starts with 'Heading', then 'Column' and 'Data'"
        )
    return AleFile(heading=heading, columns=columns, rows=rows, source=path)


def _parse_columns(line: str, line_no: int, path: Path) -> list[str]:
    names = [name.strip() for name in line.split("\t")]
    while names and not names[-1]:
        names.pop()
    for index, name in enumerate(names, start=1):
        if not name:
            raise MetadataError(
                f"{path}: line {line_no}: column {index} has no name; name it or remove the "
                "extra tab"
            )
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise MetadataError(
                f"{path}: line {line_no}: column {name!r} appears twice; rename one of them"
            )
        seen.add(name)
    return names


def _parse_row(line: str, line_no: int, columns: Sequence[str], path: Path) -> dict[str, str]:
    values = line.split("\t")
    if len(values) > len(columns):
        extra = values[len(columns) :]
        if any(value.strip() for value in extra):
            raise MetadataError(
                f"{path}: line {line_no}: row has {len(values)} fields but the Column section "
                f"names {len(columns)}; a value contains a tab or a column name is missing"
            )
        values = values[: len(columns)]
    values += [""] * (len(columns) - len(values))
    return dict(zip(columns, values, strict=True))


def _check_cell(text: str, what: str) -> None:
    if not isinstance(text, str):
        raise MetadataError(f"ALE {what} must be text, got {type(text).__name__} {text!r}")
    if any(ch in text for ch in "\t\r\n"):
        raise MetadataError(
            f"ALE {what} {text!r} contains a tab or line break, which would break the ALE; "
            "replace them with spaces"
        )


def write_ale(path: Path, ale: AleFile, *, newline: str = "\r\n") -> None:
    """Write an ALE atomically (temporary file in the same folder, fsync, rename).

    ``FIELD_DELIM TABS`` is written first in the heading even when ``ale.heading`` lacks it.
    Rows may omit columns (written empty).

    Args:
        path: where to write; replaced atomically if it exists.
        ale: the heading, columns and rows to write.
        newline: line ending; CRLF by default, which every Avid version reads.

    Raises:
        MetadataError: a value contains a tab or line break, a row has a key that is not a
            column, there are no columns, or the file cannot be written.
    """
    path = Path(path)
    if not ale.columns:
        raise MetadataError(f"cannot write ALE {path}: it has no columns; give at least 'Name'")
    if len(set(ale.columns)) != len(ale.columns):
        raise MetadataError(f"cannot write ALE {path}: a column name appears twice")
    lines = ["Heading"]
    if not any(key.strip().upper() == "FIELD_DELIM" for key in ale.heading):
        lines.append("FIELD_DELIM\tTABS")
    for key, value in ale.heading.items():
        _check_cell(key, "heading key")
        _check_cell(value, f"heading {key!r} value")
        if not key.strip() or key.strip().lower() in _SECTIONS:
            raise MetadataError(f"cannot write ALE {path}: heading key {key!r} is not allowed")
        lines.append(f"{key}\t{value}")
    lines += ["", "Column"]
    for name in ale.columns:
        _check_cell(name, "column name")
        if not name.strip():
            raise MetadataError(f"cannot write ALE {path}: a column name is empty")
    lines.append("\t".join(ale.columns))
    lines += ["", "Data"]
    known = set(ale.columns)
    for index, row in enumerate(ale.rows, start=1):
        unknown = [key for key in row if key not in known]
        if unknown:
            raise MetadataError(
                f"cannot write ALE {path}: row {index} has {unknown} which are not columns; "
                "add them to columns"
            )
        cells = [row.get(name, "") for name in ale.columns]
        for name, cell in zip(ale.columns, cells, strict=True):
            _check_cell(cell, f"row {index} {name!r} value")
        lines.append("\t".join(cells))
    text = newline.join(lines) + newline
    _atomic_write(path, text.encode("utf-8"))


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` atomically; an OS failure becomes a MetadataError naming the file."""
    try:
        write_bytes_atomic(path, data)
    except OSError as exc:
        raise MetadataError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _resolve_columns(columns: Iterable[str]) -> dict[str, list[str]]:
    """For each field, the columns that may give it, best first."""
    by_norm: dict[str, str] = {}
    for column in columns:
        by_norm.setdefault(normalize_column_name(column), column)
    return {
        name: [by_norm[syn] for syn in synonyms if syn in by_norm]
        for name, synonyms in COLUMN_SYNONYMS.items()
    }


def _parse_fps(text: str, where: str) -> float:
    try:
        return normalize_rate(text)
    except MetadataError as exc:
        raise MetadataError(f"{where}: {exc}") from None


def _camera_from_names(clip_name: str, reel: str | None) -> str | None:
    """Camera letter from a full clip name, else from the reel, else from a roll name.

    ``C003`` with reel ``A001`` is camera A's clip 3, not camera C's roll 3.
    """
    named = parse_clip_name(clip_name)
    if named is not None and named.clip is not None:
        return named.camera
    rolled = parse_clip_name(reel) if reel else None
    if rolled is not None:
        return rolled.camera
    return named.camera if named is not None else None


def clip_metadata_from_table(
    columns: Sequence[str],
    rows: Iterable[Mapping[str, str]],
    *,
    default_fps: float | None = None,
    source: str = "table",
    tape_is_name: bool = True,
    row_labels: Sequence[str] | None = None,
) -> list[ClipMetadata]:
    """Map a table of metadata (ALE or CSV sheet) onto :class:`ClipMetadata` records.

    Column names are matched through :data:`COLUMN_SYNONYMS` after
    :func:`normalize_column_name`; for each field the first synonym present wins and the
    others stay in ``extra``. Rows without any clip name are skipped (a sheet's notes lines).

    Args:
        columns: column names as written.
        rows: one mapping per row, keyed by those names.
        default_fps: rate for rows without their own (an ALE heading's ``FPS``).
        source: the file, for messages.
        tape_is_name: use the ``Tape``/``Reel`` column as the clip name when a row has no
            ``Name`` or ``Source File`` (tape-based ALEs).
        row_labels: how to name each row in messages (``"line 12"``); defaults to
            ``"row N"``.

    Returns:
        One record per row that has a clip name.

    Raises:
        MetadataError: no column can give a clip name, or a row's frame rate is not a
            number. The message lists the columns found and the names accepted.
    """
    resolved = _resolve_columns(columns)
    name_chain = resolved["clip_name"] + resolved["source_file"]
    if tape_is_name:
        name_chain += resolved["reel"]
    if not name_chain:
        accepted = COLUMN_SYNONYMS["clip_name"] + COLUMN_SYNONYMS["source_file"]
        if tape_is_name:
            accepted += COLUMN_SYNONYMS["reel"]
        raise MetadataError(
            f"{source}: no clip-name column; found columns {list(columns)}; name one of "
            f"{', '.join(repr(a) for a in accepted)} (case and _/- do not matter)"
        )
    first = {name: (cols[0] if cols else None) for name, cols in resolved.items()}
    used = {col for col in first.values() if col is not None}
    stem_columns = set(resolved["source_file"])

    def cell(row: Mapping[str, str], column: str | None) -> str | None:
        if column is None:
            return None
        value = (row.get(column) or "").strip()
        return value or None

    records: list[ClipMetadata] = []
    for index, row in enumerate(rows):
        clip_name: str | None = None
        row_used = used
        for column in name_chain:
            value = cell(row, column)
            if value is not None:
                clip_name = strip_media_name(value) if column in stem_columns else value
                row_used = used | {column}
                break
        if not clip_name:
            continue
        label = row_labels[index] if row_labels is not None else f"row {index + 1}"
        fps_text = cell(row, first["fps"])
        fps = _parse_fps(fps_text, f"{source}: {label}") if fps_text else default_fps
        reel = cell(row, first["reel"])
        camera = cell(row, first["camera"])
        if camera is None:
            camera = _camera_from_names(clip_name, reel)
        records.append(
            ClipMetadata(
                clip_name=clip_name,
                source_file=cell(row, first["source_file"]),
                scene=cell(row, first["scene"]),
                take=cell(row, first["take"]),
                camera=camera,
                reel=reel,
                start_tc=cell(row, first["start_tc"]),
                end_tc=cell(row, first["end_tc"]),
                fps=fps,
                extra={col: row.get(col, "") for col in columns if col not in row_used},
            )
        )
    return records


def ale_clip_metadata(ale: AleFile) -> list[ClipMetadata]:
    """One :class:`ClipMetadata` per ALE row that names a clip.

    Columns are matched case-insensitively with common synonyms (:data:`COLUMN_SYNONYMS`):
    the clip name comes from ``Name``, else the ``Source File``/``Source Path`` stem, else
    ``Tape``; rows with none of them are skipped. A row's ``FPS`` column wins over the
    heading's ``FPS``.

    Args:
        ale: a file from :func:`read_ale` (or built in memory).

    Returns:
        The records, in row order.

    Raises:
        MetadataError: the ALE has no column that can name a clip, or an FPS is not a
            number.
    """
    source = str(ale.source) if ale.source is not None else "ALE"
    heading_fps = ale.fps
    default_fps = (
        _parse_fps(heading_fps, f"{source}: heading FPS")
        if heading_fps and heading_fps.strip()
        else None
    )
    return clip_metadata_from_table(
        ale.columns, ale.rows, default_fps=default_fps, source=source, tape_is_name=True
    )
