"""What may never happen (DESIGN.md): a performance altered, a decision taken for the artist.

- :mod:`rushes.guard.check`: the check every fix's plan passes before it becomes a proposal;
- :mod:`rushes.guard.tracking` (with :mod:`~rushes.guard.detect`): performers per frame;
- :mod:`rushes.guard.performers`: performer regions and protection maps;
- :mod:`rushes.guard.capabilities`: what an operation may declare (the registry's gate);
- :mod:`rushes.guard.decisions`, :mod:`~rushes.guard.locks`, :mod:`~rushes.guard.stale`:
  approvals, locked shots, proposals whose inputs changed;
- :mod:`rushes.guard.provenance`: render manifests and their verification (and C2PA).

Only the light, dependency-free names are imported here; import the modules for the rest.
"""

from rushes.errors import PerformerRegionError
from rushes.guard.check import Verdict, assess, check, frame_list
from rushes.guard.performers import (
    FACE_SHARE_LIMIT,
    Region,
    performer_regions,
    protect_map,
)

__all__ = [
    "FACE_SHARE_LIMIT",
    "PerformerRegionError",
    "Region",
    "Verdict",
    "assess",
    "check",
    "frame_list",
    "performer_regions",
    "protect_map",
]
