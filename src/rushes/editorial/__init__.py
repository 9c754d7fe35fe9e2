"""Editorial: continuity across shots (takes, assembly and NLE interchange come later)."""
