"""The operation registry: built-ins here, third parties through the ``rushes.ops`` entry points.

Every operation passes :func:`rushes.guard.capabilities.check_operation` before it is listed: one
that declares face, lip, expression or voice synthesis (or hides what it synthesizes) is never
registered; a refused plugin is reported by :func:`refused`, and asking for it by name says why.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from rushes.errors import ForbiddenOperationError, RushesError
from rushes.guard.capabilities import check_operation
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


def _load() -> tuple[dict[str, type[Operation]], dict[str, str]]:
    ops: dict[str, type[Operation]] = {}
    refused: dict[str, str] = {}
    for name, cls in BUILTINS.items():
        check_operation(name, cls)  # a built-in that fails is a bug: raise
        ops[name] = cls
    for ep in entry_points(group="rushes.ops"):
        if ep.name in ops:
            refused[ep.name] = f"plugin '{ep.value}' may not replace the operation '{ep.name}'"
            continue
        try:
            cls = ep.load()
        except Exception as e:  # a broken plugin must not take rushes down
            refused[ep.name] = f"plugin '{ep.value}' failed to load ({type(e).__name__}: {e})"
            continue
        if not (isinstance(cls, type) and issubclass(cls, Operation)):
            refused[ep.name] = f"plugin '{ep.value}' is not a rushes.ops.base.Operation"
            continue
        try:
            check_operation(ep.name, cls)
        except ForbiddenOperationError as e:
            refused[ep.name] = str(e)
            continue
        ops[ep.name] = cls
    return ops, refused


def registry() -> dict[str, type[Operation]]:
    """Built-in operations plus the installed plugins that passed the guard's checks."""
    return _load()[0]


def refused() -> dict[str, str]:
    """Plugins that declared themselves under ``rushes.ops`` but were refused, with why."""
    return _load()[1]


def get_operation(name: str) -> Operation:
    """An instance of the operation called ``name``.

    Raises:
        ForbiddenOperationError: ``name`` is a plugin the guard refused (says why).
        RushesError: no operation has that name.
    """
    ops, no = _load()
    if name in no:
        raise ForbiddenOperationError(no[name])
    if name not in ops:
        raise RushesError(f"no operation '{name}'; known: {', '.join(sorted(ops))}")
    return ops[name]()
