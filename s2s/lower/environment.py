"""The environment of the lowering: each Python name maps to its current value, and
two keys that are not names carry a function's result and a loop body's `break`."""

from __future__ import annotations

from typing import Union

from ..frontend import ParsedFunction
from ..ir import Operand

RESULT = "<return>"  # the environment key holding the function's result
STOP = "<break>"  # the environment key holding whether the loop body said `break`

#: A value in the environment: an operand, or a tuple of them (from `return a, b`).
Value = Union[Operand, tuple]


def identity(fn: ParsedFunction) -> tuple[str, int, str]:
    """Where a function is defined: a call to one being lowered is a recursion."""
    return (fn.filename, fn.node.lineno, fn.name)
