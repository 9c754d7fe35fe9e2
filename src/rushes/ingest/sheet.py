"""Camera reports and script-supervisor sheets exported as CSV, and matching them to media.

Sheets come from spreadsheets in every regional flavour: comma, semicolon (European Excel)
or tab separated, UTF-8 with or without a BOM, or Windows-1252; a title line or two above
the header row; trailing empty columns. :func:`read_sheet` reads all of those into the same
:class:`~rushes.ingest.ale.ClipMetadata` records an ALE gives, and :func:`match_metadata`
finds the record for a media file, by exact name first and then by the camera-roll name
(same camera, roll and clip), never by a looser similarity.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from rushes.errors import MetadataError
from rushes.ingest.ale import (
    COLUMN_SYNONYMS,
    ClipMetadata,
    clip_metadata_from_table,
    normalize_column_name,
    read_metadata_text,
)
from rushes.ingest.names import CameraRollName, parse_clip_name, strip_media_name

__all__ = ["match_metadata", "read_sheet"]

_DELIMITERS: Final = (",", ";", "\t")
# How many non-empty rows above the header (titles, production name) a sheet may have.
_HEADER_SEARCH_ROWS: Final = 10
_NAME_COLUMNS: Final = (*COLUMN_SYNONYMS["clip_name"], *COLUMN_SYNONYMS["source_file"])
_BARE_CLIP: Final = re.compile(r"^C?(\d{1,4})$", re.IGNORECASE)


def _rows(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Parse CSV text into ``(line number, cells)`` pairs, skipping empty rows."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    for cells in reader:
        if any(cell.strip() for cell in cells):
            rows.append((start, cells))
        start = reader.line_num + 1
    return rows


def _header_index(rows: Sequence[tuple[int, list[str]]]) -> int | None:
    """Index of the first row (of the first few) that names a clip column."""
    for index, (_, cells) in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        if any(normalize_column_name(cell) in _NAME_COLUMNS for cell in cells):
            return index
    return None


def _sniff(text: str) -> tuple[str, list[tuple[int, list[str]]], int | None]:
    """Pick the delimiter whose parse has a header row with a clip column, else most fields."""
    best: tuple[str, list[tuple[int, list[str]]], int | None] | None = None
    best_fields = -1
    for delimiter in _DELIMITERS:
        try:
            rows = _rows(text, delimiter)
        except csv.Error:
            continue
        header = _header_index(rows)
        if header is not None:
            return delimiter, rows, header
        fields = len(rows[0][1]) if rows else 0
        if fields > best_fields:
            best, best_fields = (delimiter, rows, None), fields
    if best is None:
        return ",", [], None
    return best


def read_sheet(path: Path) -> list[ClipMetadata]:
    """Read a CSV camera report or script-supervisor sheet.

    The delimiter (comma, semicolon or tab) is chosen by which one yields a header row
    with a clip-name column; up to ten title rows above the header are skipped. Header
    names are matched case-insensitively with synonyms (``clip``/``clip name``/``name``/
    ``file``/``filename``, ``scene``/``sc``, ``take``/``tk``, ``camera``/``cam``,
    ``reel``/``tape``/``roll``, ``start tc``/``tc in``, ``end tc``/``tc out``,
    ``fps``/``frame rate``; see :data:`~rushes.ingest.ale.COLUMN_SYNONYMS`). Other columns
    go, verbatim, into ``extra``. Rows without a clip name are skipped.

    Args:
        path: the ``.csv`` (or ``.txt``/``.tsv``) file.

    Returns:
        One record per row that names a clip, in file order.

    Raises:
        MetadataError: the file is unreadable or empty, has no clip-name column (the message
            lists the columns found and the names accepted), or a row has more values than
            the header or an unreadable frame rate (the message names the line).
    """
    path = Path(path)
    text = read_metadata_text(path, "CSV sheet")
    _delimiter, rows, header_index = _sniff(text)
    if not rows:
        raise MetadataError(f"{path}: the sheet is empty; export it with a header row")
    if header_index is None:
        found = [cell.strip() for cell in rows[0][1] if cell.strip()]
        accepted = ", ".join(repr(name) for name in _NAME_COLUMNS)
        raise MetadataError(
            f"{path}: no clip-name column; found columns {found}; name the clip column one "
            f"of {accepted} (case and _/- do not matter)"
        )
    header_line, header_cells = rows[header_index]
    columns = _columns(header_cells)
    records_in: list[dict[str, str]] = []
    labels: list[str] = []
    for line_no, cells in rows[header_index + 1 :]:
        if len(cells) > len(columns):
            if any(cell.strip() for cell in cells[len(columns) :]):
                raise MetadataError(
                    f"{path}: line {line_no}: row has {len(cells)} values but the header "
                    f"(line {header_line}) names {len(columns)} columns; quote values that "
                    "contain the delimiter or add the missing column name"
                )
            cells = cells[: len(columns)]
        cells = cells + [""] * (len(columns) - len(cells))
        records_in.append(dict(zip(columns, cells, strict=True)))
        labels.append(f"line {line_no}")
    return clip_metadata_from_table(
        columns, records_in, source=str(path), tape_is_name=False, row_labels=labels
    )


def _columns(cells: Sequence[str]) -> list[str]:
    """Header names: stripped, trailing empties dropped, blanks and repeats made unique."""
    names = [cell.replace("\ufeff", "").strip() for cell in cells]
    while names and not names[-1]:
        names.pop()
    columns: list[str] = []
    seen: set[str] = set()
    for index, name in enumerate(names, start=1):
        column = name or f"column {index}"
        base, copy = column, 2
        while column in seen:
            column = f"{base} ({copy})"
            copy += 1
        seen.add(column)
        columns.append(column)
    return columns


def _reel_agrees(record_reel: str, reel: str) -> bool:
    """Same reel: equal ignoring case, or the same camera and roll (``A001`` ~ ``A001R1AB``)."""
    if record_reel.strip().casefold() == reel.strip().casefold():
        return True
    ours, theirs = parse_clip_name(record_reel), parse_clip_name(reel)
    return (
        ours is not None
        and theirs is not None
        and (ours.camera, ours.roll) == (theirs.camera, theirs.roll)
    )


def _with_reel_clip(name: str, reel: str | None) -> CameraRollName | None:
    """A bare clip token (``C003``, ``3``) read together with a roll name (``A001``)."""
    if reel is None:
        return None
    match = _BARE_CLIP.match(strip_media_name(name))
    roll = parse_clip_name(reel)
    if match is None or roll is None:
        return None
    return CameraRollName(
        camera=roll.camera,
        roll=roll.roll,
        clip=int(match[1]),
        date=None,
        suffix=None,
        raw=name,
    )


def _record_name(record: ClipMetadata) -> CameraRollName | None:
    """The camera-roll name a record stands for, if its name (or reel + clip) gives one."""
    for text in (record.clip_name, record.source_file):
        if text:
            parsed = parse_clip_name(text)
            if parsed is not None and parsed.clip is not None:
                return parsed
    return _with_reel_clip(record.clip_name, record.reel)


def _unique(candidates: Sequence[ClipMetadata], media_name: str) -> ClipMetadata | None:
    distinct: list[ClipMetadata] = []
    for record in candidates:
        if record not in distinct:
            distinct.append(record)
    if not distinct:
        return None
    if len(distinct) > 1:
        names = ", ".join(
            repr(r.clip_name) + (f" (reel {r.reel})" if r.reel else "") for r in distinct[:5]
        )
        raise MetadataError(
            f"{media_name!r} matches {len(distinct)} different metadata records: {names}; "
            "remove the duplicate rows or give the media's reel to tell them apart"
        )
    return distinct[0]


def match_metadata(
    records: Sequence[ClipMetadata], media_name: str, reel: str | None = None
) -> ClipMetadata | None:
    """Find the metadata record for a media file.

    Two rules, in order, and nothing looser:

    1. exact name: the media's stem (no folder, extension or sequence placeholder) equals a
       record's clip name or source-file stem, ignoring case;
    2. camera-roll name: both parse (:func:`~rushes.ingest.names.parse_clip_name`) to the
       same camera, roll and clip, and agree on date and card id where both carry one
       (``A001C003.mov`` matches ``A001C003_230115_R1AB``; a frame ``..._R1AB.0001.ari``
       matches its clip). A record that writes the clip alone (``C003``) is read with its
       reel (``A001``), and so is the media name when ``reel`` is given.

    When ``reel`` is given, records whose reel disagrees with it (neither equal ignoring
    case nor the same camera and roll) are never matched.

    Args:
        records: from :func:`read_sheet` or :func:`~rushes.ingest.ale.ale_clip_metadata`.
        media_name: the media's file name or path, or a sequence name
            (``A001C003_230115_R1AB.%04d.ari``).
        reel: the media's own reel/tape name, when it has one.

    Returns:
        The matching record, or ``None`` when none matches.

    Raises:
        MetadataError: more than one different record matches by the same rule.
    """
    stem = strip_media_name(media_name).casefold()
    eligible = [
        record
        for record in records
        if reel is None or not record.reel or _reel_agrees(record.reel, reel)
    ]

    exact = [
        record
        for record in eligible
        if strip_media_name(record.clip_name).casefold() == stem
        or (record.source_file and strip_media_name(record.source_file).casefold() == stem)
    ]
    found = _unique(exact, media_name)
    if found is not None:
        return found

    media = parse_clip_name(media_name)
    if media is None or media.clip is None:
        media = _with_reel_clip(media_name, reel)
    if media is None or media.clip is None:
        return None
    if reel is not None:
        roll = parse_clip_name(reel)
        if roll is not None and (roll.camera, roll.roll) != (media.camera, media.roll):
            return None
    by_name = [
        record
        for record in eligible
        if (parsed := _record_name(record)) is not None and parsed.same_clip(media)
    ]
    return _unique(by_name, media_name)
