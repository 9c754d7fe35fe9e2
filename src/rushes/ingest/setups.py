"""Grouping every shot of the project into camera setups."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from rushes.analysis import setups as setup_grouping
from rushes.project import query
from rushes.project.catalog import Setup
from rushes.project.workspace import Project


def regroup_setups(project: Project) -> int:
    """Group every shot of the project into camera setups; returns the number of setups."""
    with project.session() as s:
        shots = [sh for sh in query.list_shots(s) if sh.signature]
        for sh in shots:
            sh.setup_id = None
        s.flush()
        for old in s.scalars(select(Setup)).all():
            s.delete(old)
        s.flush()
        if not shots:
            return 0
        sigs = np.stack([np.frombuffer(sh.signature or b"", dtype=np.float32) for sh in shots])
        labels = setup_grouping.group_setups(
            sigs, cameras=[sh.clip.camera for sh in shots], scenes=[sh.clip.scene for sh in shots]
        )
        made: dict[int, Setup] = {}
        counters: dict[str, int] = {}
        for sh, label in zip(shots, labels, strict=True):
            if label not in made:
                scene, cam = sh.clip.scene, sh.clip.camera
                key = scene or "setup"
                counters[key] = counters.get(key, 0) + 1
                name = (
                    f"{scene}-{cam or ''}{counters[key]}" if scene else f"setup{counters[key]:03d}"
                )
                made[label] = Setup(name=name, scene=scene, camera=cam)
                s.add(made[label])
            sh.setup = made[label]
        return len(made)
