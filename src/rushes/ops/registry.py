"""The operation registry: built-ins here, third parties through the ``rushes.ops`` entry points."""

from __future__ import annotations

from importlib.metadata import entry_points

from rushes.errors import RushesError
from rushes.ops.base import Operation
from rushes.ops.grain import Degrain, Regrain
from rushes.ops.match import Match
from rushes.ops.remove import Remove
from rushes.ops.taught import Taught

BUILTINS: dict[str, type[Operation]] = {
    "match": Match,
    "remove": Remove,
    "degrain": Degrain,
    "regrain": Regrain,
    "taught": Taught,
}


def registry() -> dict[str, type[Operation]]:
    """Built-in operations plus those installed packages declare under ``rushes.ops``."""
    ops = dict(BUILTINS)
    for ep in entry_points(group="rushes.ops"):
        ops.setdefault(ep.name, ep.load())
    return ops


def get_operation(name: str) -> Operation:
    """An instance of the operation called ``name``."""
    ops = registry()
    if name not in ops:
        raise RushesError(f"no operation '{name}'; known: {', '.join(sorted(ops))}")
    return ops[name]()
