"""The workspace on disk and the catalog."""

from rushes.project.catalog import (
    AuditEvent,
    Clip,
    Cut,
    CutEvent,
    Decision,
    Lock,
    Proposal,
    Setup,
    Shot,
)
from rushes.project.settings import Settings, parse_rate
from rushes.project.workspace import Project

__all__ = [
    "AuditEvent",
    "Clip",
    "Cut",
    "CutEvent",
    "Decision",
    "Lock",
    "Project",
    "Proposal",
    "Settings",
    "Setup",
    "Shot",
    "parse_rate",
]
