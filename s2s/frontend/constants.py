"""Constant expressions, folded without running anything: what a module constant or
a default may be written with when a file is read statically (`A = 2 * 3.0`,
`G = math.sqrt(2)`, `TAU = 2 * np.pi`, earlier constants)."""

from __future__ import annotations

import ast
import builtins
import math
import numbers
import operator
from typing import Any, Callable

import numpy

from ..primitives import MATH_CONSTANTS, NUMPY_CONSTANTS
from .parsed import UNKNOWN, Binding

#: Arithmetic a module constant may be written with (`A = 2 * 3.0`, `B = -(1 + 2)`).
_FOLDED_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


_FOLDED_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}


#: Pure functions a module constant may call on numbers (`G = math.sqrt(2)`), by
#: the module they are reached through ("builtin": a built-in name).
_FOLDED_CALLS = {
    "math": ("sqrt", "exp", "log", "log2", "log10", "sin", "cos", "tan"),
    "numpy": ("sqrt", "exp", "log", "log2", "log10", "sin", "cos", "tan", "float64"),
    "builtin": ("float", "int", "abs"),
}


#: Larger integer exponents are refused rather than computed (`10 ** 10 ** 9`).
_LARGEST_EXPONENT = 10_000


Lookup = Callable[[str], "Binding | None"]


def constant_value(node: ast.expr, lookup: Lookup | None = None) -> Any:
    """The value of a constant expression: literals, arithmetic on numbers, numpy's
    and math's constants and a few of their pure functions, and (through `lookup`)
    names bound to constants; else raise ValueError (or the arithmetic's error)."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        pass
    if isinstance(node, ast.BinOp) and type(node.op) in _FOLDED_BINARY:
        left, right = _number(node.left, lookup), _number(node.right, lookup)
        if isinstance(node.op, ast.Pow) and isinstance(right, int):
            if abs(right) > _LARGEST_EXPONENT:
                raise ValueError("exponent too large to fold")
        return _FOLDED_BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _FOLDED_UNARY:
        return _FOLDED_UNARY[type(node.op)](_number(node.operand, lookup))
    if isinstance(node, ast.Tuple):
        return tuple(constant_value(item, lookup) for item in node.elts)
    if isinstance(node, ast.Name) and lookup is not None:
        binding = lookup(node.id)
        if binding is not None and binding.kind == "const":
            return binding.value
        if binding is not None and binding.kind == "data":
            if binding.value.value is not UNKNOWN:
                return binding.value.value
    if isinstance(node, ast.Attribute) and lookup is not None:
        constant = _module_constant(node, lookup)
        if constant is not None:
            return constant
    if isinstance(node, ast.Call) and lookup is not None:
        return _folded_call(node, lookup)
    raise ValueError("not a constant")


def _number(node: ast.expr, lookup: Lookup | None) -> Any:
    value = constant_value(node, lookup)
    if not isinstance(value, numbers.Real):
        raise ValueError("not a number")
    return value


def _module_of_name(node: ast.expr, lookup: Lookup) -> str | None:
    """'numpy' or 'math' when `node` is a name the file imports either as."""
    if isinstance(node, ast.Name):
        binding = lookup(node.id)
        if binding is not None and binding.kind in ("numpy", "math"):
            return binding.kind
    return None


def _module_constant(node: ast.Attribute, lookup: Lookup) -> float | None:
    """`np.pi`, `math.tau`, ... (under the file's own aliases), else None."""
    module = _module_of_name(node.value, lookup)
    names = {"numpy": NUMPY_CONSTANTS, "math": MATH_CONSTANTS}.get(module, ())
    value = getattr(numpy if module == "numpy" else math, node.attr, None)
    return value if node.attr in names and isinstance(value, float) else None


def _folded_call(node: ast.Call, lookup: Lookup) -> Any:
    """`math.sqrt(2)`, `np.float64(1.5)`, `float(3)`: a pure function of numbers."""
    func, module = node.func, None
    if isinstance(func, ast.Attribute):
        module, name = _module_of_name(func.value, lookup), func.attr
    elif isinstance(func, ast.Name) and lookup(func.id) == Binding("builtin", func.id):
        module, name = "builtin", func.id
    if module is None or name not in _FOLDED_CALLS[module] or node.keywords:
        raise ValueError("not a constant")
    function = {"numpy": numpy, "math": math, "builtin": builtins}[module]
    arguments = [_number(a, lookup) for a in node.args]
    with numpy.errstate(all="ignore"):  # np.log(0.0) is -inf at run time too
        value = getattr(function, name)(*arguments)
    if not isinstance(value, numbers.Number):
        raise ValueError("not a number")
    return value.item() if isinstance(value, numpy.generic) else value
