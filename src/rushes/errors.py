"""Errors raised by rushes.

One root, :class:`RushesError`, with flat subclasses. Every message says what was received and
what to do, in one line, so the CLI can print it as is (no traceback for a user mistake).
"""

from __future__ import annotations


class RushesError(Exception):
    """Root of every error rushes raises on purpose."""


class MediaError(RushesError):
    """A file could not be opened, probed or decoded as media."""


class UnsupportedMediaError(MediaError):
    """The file exists but is not a format rushes reads."""


class SequenceGapError(MediaError):
    """An image sequence has missing frames where a contiguous range was required."""


class ProjectError(RushesError):
    """The workspace is missing, malformed or cannot be created."""


class ProjectNotFoundError(ProjectError):
    """No rushes project at the given path or above the current folder."""


class MetadataError(RushesError):
    """An ALE/CSV or other metadata file is malformed or names unknown clips."""


class NotFoundError(RushesError):
    """A clip, shot or setup named by the user does not exist in the catalog."""


class ColorError(RushesError):
    """A colour space, display or view is unknown, or a colour conversion cannot be made."""


class CdlError(ColorError):
    """An ASC CDL is invalid or a CDL file (.cdl/.cc/.ccc) is malformed."""


class LutError(ColorError):
    """A LUT is invalid or a LUT file (.cube) is malformed."""


class FillError(RushesError):
    """A region to remove cannot be filled (nothing photographed, nothing allowed)."""


class PerformerRegionError(RushesError):
    """A fix would alter a performer: a mask over a face, or synthesized pixels on a person."""


class MatteError(RushesError):
    """A matte (mask image, shape file, tracked shape or found wire) is missing, malformed or
    unusable (empty, or covering the whole frame)."""


class TrackLostError(MatteError):
    """A shape drawn on one frame could not be followed to another frame of the shot."""


class NotLockedOffError(RushesError):
    """The camera moves: a clean plate by temporal voting needs a locked-off shot."""


class ModelError(RushesError):
    """The project model cannot be learned, found or loaded (too little footage, a corrupt or
    foreign checkpoint, an unknown version)."""


class DeviceError(RushesError):
    """A compute device was asked for that this machine does not have (CUDA without a GPU)."""


class TeachError(ModelError):
    """Before/after examples cannot be taught from (sizes or counts differ, a face is changed)."""


class ProvenanceError(RushesError):
    """A render's provenance cannot be found, read, written or signed."""


class ForbiddenOperationError(RushesError):
    """An operation declares a capability rushes refuses (face, lip, expression or voice
    synthesis), or does not declare what the guard needs to know."""


class LockedError(RushesError):
    """A shot is locked: no new fix and no approval until it is unlocked with a note."""


class DecisionError(RushesError):
    """A proposal cannot be decided: unknown, already decided, stale, rejected or superseded."""


class DecisionConflictError(DecisionError):
    """Someone else decided the proposal first; nothing was changed."""
