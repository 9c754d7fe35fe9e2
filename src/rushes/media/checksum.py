"""xxHash64 checksums of originals, as offload tools (Silverstack, ShotPut, MHL) record them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import xxhash

CHUNK = 8 << 20


def xxh64_file(path: Path) -> str:
    """Return the xxHash64 of a file's bytes as 16 lowercase hex digits.

    The file is opened read-only and streamed in 8 MiB chunks, so memory is flat in file size.
    """
    h = xxhash.xxh64()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def xxh64_files(paths: Iterable[Path]) -> str:
    """Checksum of a set of files (an image sequence): xxHash64 over the ordered file hashes."""
    h = xxhash.xxh64()
    for p in paths:
        h.update(p.name.encode())
        h.update(bytes.fromhex(xxh64_file(p)))
    return h.hexdigest()
