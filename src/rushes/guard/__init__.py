"""What may never happen: performer protection (this issue keeps the hook; the
creative-control issue makes it a rule for every fix)."""

from rushes.errors import PerformerRegionError
from rushes.guard.performers import (
    FACE_SHARE_LIMIT,
    Region,
    check_matte_on_faces,
    performer_regions,
    protect_map,
)

__all__ = [
    "FACE_SHARE_LIMIT",
    "PerformerRegionError",
    "Region",
    "check_matte_on_faces",
    "performer_regions",
    "protect_map",
]
