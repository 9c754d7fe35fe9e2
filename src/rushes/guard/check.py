"""The guard: every fix's plan passes through :func:`check` before it can become a proposal.

Rules (DESIGN.md, "Fidelity before synthesis"; issue "Creative control"):

- global operations (grade, grain, lens, stabilize) are allowed: they synthesize nothing;
- an operation that synthesizes pixels but leaves performer regions as photographed
  (``keeps_performers``, e.g. a taught effect) is allowed; the performer regions it must keep
  are stored with the proposal;
- a masked operation that synthesizes (removal) may use, inside a performer's face or body, only
  pixels photographed in the production (other frames of the shot, other takes). Where its matte
  crosses a performer, the guard asks the operation which of those pixels no photographed source
  covers (:meth:`rushes.ops.base.Operation.unphotographed`); if any, the fix is refused with the
  frames named, unless the user overrides with ``--allow-performer-region --note`` (recorded in
  the audit log);
- a matte covering a large share of a face (:data:`FACE_SHARE_LIMIT`) is refused whatever the
  source and whatever the override: pasting another moment's face over this one would change
  the performance.

The guard does not import the operations (they import it): it sees them through the small
protocols below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np

from rushes.errors import PerformerRegionError
from rushes.guard.performers import FACE_SHARE_LIMIT, Region


class PerformersLike(Protocol):
    """Per-frame performer regions of a shot (see :mod:`rushes.guard.tracking`)."""

    width: int
    height: int
    frames: int

    def regions(self, i: int) -> list[Region]: ...

    def faces(self, i: int) -> list[Region]: ...

    def protect(self, i: int) -> np.ndarray | None: ...

    def frames_with_people(self) -> list[int]: ...

    def to_dict(self) -> dict[str, Any]: ...


class PlanLike(Protocol):
    """What the guard reads of a plan (:class:`rushes.ops.base.Plan`)."""

    op: str
    result: dict[str, Any]


class OperationLike(Protocol):
    """What the guard reads of an operation (:class:`rushes.ops.base.Operation`)."""

    name: ClassVar[str]
    touches: ClassVar[str]
    synthesizes_pixels: ClassVar[bool]
    keeps_performers: ClassVar[bool]

    def matte(self, plan: Any) -> Callable[[int], np.ndarray] | None: ...

    def unphotographed(
        self,
        plan: Any,
        protect: Callable[[int], np.ndarray | None],
        frames: set[int],
        progress: Callable[[int], None] | None = None,
    ) -> dict[int, int] | None: ...


@dataclass
class Verdict:
    """What the guard decided for one plan, and why (stored with the proposal).

    Attributes:
        op: The operation.
        shot: The shot's name.
        allowed: Whether the plan may become a proposal.
        rule: ``global``, ``keeps-performers``, ``no-performers``, ``clear-of-performers``,
            ``photographed``, ``override`` or ``refused``.
        reasons: Plain sentences: why.
        touching: Frames (0-based in the shot) where the matte meets a performer region.
        unphotographed: Frame -> matte pixels on a performer no photographed source covers.
        face_share: Largest share of a face box the matte covers on any frame.
        override: ``{"by": user, "note": text}`` when the user overrode the refusal.
        performer_frames: Frames with at least one performer found.
    """

    op: str
    shot: str
    allowed: bool
    rule: str
    reasons: list[str] = field(default_factory=list)
    touching: list[int] = field(default_factory=list)
    unphotographed: dict[int, int] = field(default_factory=dict)
    face_share: float = 0.0
    override: dict[str, str] | None = None
    performer_frames: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form (frame keys as strings)."""
        return {
            "op": self.op,
            "shot": self.shot,
            "allowed": self.allowed,
            "rule": self.rule,
            "reasons": self.reasons,
            "touching": self.touching,
            "unphotographed": {str(k): v for k, v in sorted(self.unphotographed.items())},
            "face_share": round(self.face_share, 4),
            "override": self.override,
            "performer_frames": self.performer_frames,
        }


def frame_list(frames: list[int], most: int = 8) -> str:
    """``3-7, 12, 40-41`` (runs collapsed; at most ``most`` runs, then ``...``)."""
    runs: list[tuple[int, int]] = []
    for f in sorted(frames):
        if runs and f == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], f)
        else:
            runs.append((f, f))
    text = [f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:most]]
    return ", ".join(text) + (", ..." if len(runs) > most else "")


def assess(
    op: OperationLike,
    plan: PlanLike,
    shot: str,
    performers: PerformersLike | None,
    *,
    override: dict[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Verdict:
    """What the guard allows for ``plan``, and why; never raises for a refusal (see
    :func:`check`).

    Args:
        op: The operation that made the plan.
        plan: The plan; a masked op's :meth:`matte` must work on it (its files stored).
        shot: The shot's name, for messages.
        performers: The shot's performers per frame (``None``: none were looked for, only
            allowed for operations that touch no performer by construction).
        override: ``{"by", "note"}`` when the user asked ``--allow-performer-region``.
        progress: Called with a number of frames done (matte scan and coverage check).
    """
    n_people = len(performers.frames_with_people()) if performers is not None else 0
    v = Verdict(op=op.name, shot=shot, allowed=True, rule="global", performer_frames=n_people)
    if not op.synthesizes_pixels:
        v.reasons.append(
            f"{op.name} synthesizes no pixels ({op.touches} operation): performers untouched"
        )
        return v
    if op.keeps_performers:
        v.rule = "keeps-performers"
        v.reasons.append(
            f"{op.name} leaves the performer regions of {n_people} frame(s) as photographed"
        )
        return v
    if performers is None or n_people == 0:
        v.rule = "no-performers"
        v.reasons.append("no performer found in the shot")
        return v
    mask_of = op.matte(plan) if op.touches == "masked" else None
    if mask_of is None:
        v.allowed, v.rule = False, "refused"
        v.reasons.append(
            f"{op.name} synthesizes pixels over the whole frame and {n_people} frame(s) show "
            "performers"
        )
        return _overridden(v, override)
    touching: dict[int, int] = {}
    face_frames: list[int] = []
    for i in range(performers.frames):
        regions = performers.regions(i)
        if regions:
            m = mask_of(i) > 0
            for r in regions:
                if r.kind == "face":
                    share = float(m[r.y : r.y + r.h, r.x : r.x + r.w].mean())
                    v.face_share = max(v.face_share, share)
                    if share > FACE_SHARE_LIMIT:
                        face_frames.append(i)
            prot = performers.protect(i)
            hit = int((m & prot).sum()) if prot is not None else 0
            if hit:
                touching[i] = hit
        if progress:
            progress(1)
    v.touching = sorted(touching)
    if face_frames:
        v.allowed, v.rule = False, "refused"
        v.reasons.append(
            f"the matte covers {100 * v.face_share:.0f}% of a performer's face on frame(s) "
            f"{frame_list(face_frames)} (limit {100 * FACE_SHARE_LIMIT:.0f}%): rushes does not "
            "replace a face, whatever the source; keep the matte to the wire or rig crossing it"
        )
        return v  # no override for this one
    if not touching:
        v.rule = "clear-of-performers"
        v.reasons.append(f"the matte stays clear of the performers found on {n_people} frame(s)")
        return v
    left = op.unphotographed(plan, performers.protect, set(touching), progress)
    v.unphotographed = {i: n for i, n in (left or touching).items() if n > 0}
    if not v.unphotographed:
        v.rule = "photographed"
        v.reasons.append(
            f"the matte crosses performers on {len(touching)} frame(s) "
            f"({frame_list(v.touching)}); every pixel there was photographed in other frames "
            "or takes and is filled from them"
        )
        return v
    how = "no photographed source covers" if left is not None else "nothing shows what is behind"
    v.allowed, v.rule = False, "refused"
    v.reasons.append(
        f"on frame(s) {frame_list(sorted(v.unphotographed))} the matte covers performer pixels "
        f"that {how} (up to {max(v.unphotographed.values())} px a frame); rushes synthesizes "
        "nothing on a performer"
    )
    return _overridden(v, override)


def _overridden(v: Verdict, override: dict[str, str] | None) -> Verdict:
    if override is not None:
        v.allowed, v.rule, v.override = True, "override", override
        v.reasons.append(
            f"allowed by {override['by']} with --allow-performer-region: {override['note']}"
        )
    return v


def check(
    op: OperationLike,
    plan: PlanLike,
    shot: str,
    performers: PerformersLike | None,
    *,
    override: dict[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Verdict:
    """:func:`assess`, raising when the plan is refused.

    Raises:
        PerformerRegionError: one line: the shot, the frames and what to do.
    """
    v = assess(op, plan, shot, performers, override=override, progress=progress)
    if not v.allowed:
        hint = (
            ""
            if v.face_share > FACE_SHARE_LIMIT
            else '; shrink the matte there, or give --allow-performer-region --note "why"'
        )
        raise PerformerRegionError(f"{shot}: {v.reasons[-1]}{hint}")
    return v
