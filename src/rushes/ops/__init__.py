"""The fixes: one module per operation, pure kernels beside it, and the registry.

Built-in operations are listed in :data:`rushes.ops.registry.BUILTINS` (``match``); other
packages add theirs through the ``rushes.ops`` entry-point group.
"""

from rushes.ops.base import Operation, Plan
from rushes.ops.registry import BUILTINS, get_operation, registry

__all__ = ["BUILTINS", "Operation", "Plan", "get_operation", "registry"]
