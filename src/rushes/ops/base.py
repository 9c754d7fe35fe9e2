"""The operation interface: versioned parameters, a cheap plan, a streaming run."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import BaseModel

if TYPE_CHECKING:
    from rushes.project import Project, Shot

Chunks = Iterator[tuple[int, np.ndarray]]  # (first frame index, float32 (N, H, W, 3))


@dataclass
class Plan:
    """What an operation decided for one shot, before any pixel is written.

    ``result`` is JSON-serializable and goes into the proposal; ``artifacts`` are objects
    the proposal stores as files beside it (a :class:`~rushes.color.Lut3d` as a .cube, ``bytes``
    as they are; names may hold sub-folders, ``matte/00001.png``). A stored plan knows its
    ``folder``.
    """

    op: str
    version: str
    shot_id: int
    params: dict[str, Any]
    result: dict[str, Any]
    artifacts: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None


class Operation(ABC):
    """A fix. Subclasses set the class attributes and implement :meth:`plan` and :meth:`run`.

    Attributes:
        name: Registry name (``match``).
        version: Parameter schema version (``match.1``); stored in every proposal.
        Params: The pydantic model of the parameters.
        synthesizes_pixels: True when the op invents pixels (inpainting, outpainting).
        synthesizes: What the invented pixels are of (``{"background"}``, ``{"matte"}``). The
            registry refuses any operation declaring a face, lip, expression or voice: rushes
            does not synthesize performances (:mod:`rushes.guard.capabilities`).
        touches: ``"global"`` (whole frame) or ``"masked"``.
        keeps_performers: True when :meth:`run` leaves performer regions as photographed
            (the guard then allows an op that synthesizes pixels elsewhere).
        context_frames: Frames of temporal context each side that :meth:`run` needs.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    Params: ClassVar[type[BaseModel]]
    synthesizes_pixels: ClassVar[bool] = False
    synthesizes: ClassVar[frozenset[str]] = frozenset()
    touches: ClassVar[str] = "global"
    keeps_performers: ClassVar[bool] = False
    context_frames: ClassVar[int] = 0

    @abstractmethod
    def plan(self, shot: Shot, params: BaseModel, project: Project) -> Plan:
        """Validate, estimate what the fix needs; cheap, writes nothing."""

    @abstractmethod
    def run(self, plan: Plan, chunks: Chunks, colorspace: str) -> Chunks:
        """Apply the plan to chunks of source frames (float32 ``(N, H, W, 3)`` in
        ``colorspace``, the clip's own encoding) and yield chunks in the same encoding."""

    def matte(self, plan: Plan) -> Callable[[int], np.ndarray] | None:
        """For ``touches == "masked"`` ops: the matte of frame ``i`` of the shot (0-based),
        float32 ``(H, W)`` in [0, 1], rendered beside the frames for compositors."""
        return None

    def unphotographed(
        self,
        plan: Plan,
        protect: Callable[[int], np.ndarray | None],
        frames: set[int],
        progress: Callable[[int], None] | None = None,
    ) -> dict[int, int] | None:
        """For ops that synthesize under a matte: per frame of ``frames`` (0-based in the
        shot), how many matte pixels inside ``protect(i)`` (bool ``(H, W)`` performer regions)
        no photographed source covers. ``None``: the op cannot tell (the guard then assumes
        every such pixel would be synthesized)."""
        return None

    def report(self, plan: Plan) -> dict[str, Any]:
        """What the last :meth:`run` of ``plan`` did, for the render's provenance record."""
        return {}
