"""The environment of the lowering: each Python name maps to its current value (an
operand, a tuple of them, a function defined in the function being lowered, or one
a parameter is given), and
keys that are not names carry a function's result, a loop body's `break`, and
whether the path raised."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Union

from ..frontend import ParsedFunction
from ..ir import Operand

RESULT = "<return>"  # the environment key holding the function's result
STOP = "<break>"  # the environment key holding whether the loop body said `break`
RAISED = "<raise>"  # present when the path ended in `raise`: it never goes on


@dataclass(eq=False)
class LocalFunction:
    """A function defined inside the function being lowered (`def`, `lambda`): inlined
    where it is called, reading the names of the function that defines it as they
    are at the call, as Python's closures do.  `owner` is the lowerer of that
    function; `defaults` its defaults, evaluated where it is defined."""

    node: ast.FunctionDef
    owner: Any
    defaults: tuple[Operand, ...]


#: A value in the environment: an operand, a tuple of them (from `return a, b`), a
#: local function, or the function a parameter is given (`act=np.tanh`, a Binding).
Value = Union[Operand, tuple, LocalFunction, Any]


def identity(fn: ParsedFunction) -> tuple[str, int, str]:
    """Where a function is defined: a call to one being lowered is a recursion."""
    return (fn.filename, fn.node.lineno, fn.name)
