"""How an op is written as Python: one expression per op, over the expressions of its
operands.  The one home of each primitive's spelling, used by the emitter (which
names or inlines the operands), the op-by-op evaluator and the graph pictures."""

from __future__ import annotations

import ast
import math
from typing import Any, Callable

from ..ir import Const, Op, Var
from ..primitives import PRIMITIVES


def const_ast(value: Any) -> ast.expr:
    """A constant as an expression; never a negative number inside ast.Constant."""
    if isinstance(value, tuple):
        return ast.Tuple([const_ast(v) for v in value], ast.Load())
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return attr("np", "nan")
        node = attr("np", "inf")
        return node if value > 0 else ast.UnaryOp(ast.USub(), node)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0 or (value == 0 and math.copysign(1.0, value) < 0):
            return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


def attr(*path: str) -> ast.expr:
    """`np.linalg.norm` and the like, as an expression."""
    node: ast.expr = ast.Name(path[0], ast.Load())
    for part in path[1:]:
        node = ast.Attribute(node, part, ast.Load())
    return node


def name(name: str, store: bool = False) -> ast.Name:
    """A name, read or (with `store`) assigned."""
    return ast.Name(name, ast.Store() if store else ast.Load())


def is_matmul(node: ast.expr) -> bool:
    """Whether `node` is `a @ b`."""
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult)


def range_args(operands_: tuple, args: list[ast.expr]) -> list[ast.expr]:
    """range(0, n, 1) is written range(n); range(a, b, 1) is range(a, b)."""
    start, stop, step = operands_
    if step == Const(1):
        return [args[1]] if start == Const(0) else args[:2]
    return args


class Spelling:
    """Writes ops as expressions; `operand(x)` writes an operand (a name, or the
    expression of an op written into its reader)."""

    def __init__(self, operand: Callable[[Any], ast.expr]):
        self.operand = operand
        #: Whether an index of an op must name every axis (`x[t, ...]`, as the
        #: array API standard asks of a 2-D x): None for numpy's `x[t]`.
        self.every_axis: Callable[[Op], bool] | None = None

    def op(self, op: Op) -> ast.expr:
        """The expression of `op`."""
        prim = PRIMITIVES[op.prim]
        args = [self.operand(a) for a in op.args]
        if prim.operator is not None and op.params.get("lib") == "np":
            # Called as numpy's ufunc (np.add(x, y)): on Python numbers it returns a
            # numpy scalar, and divides by zero without raising, unlike `x + y`.
            return ast.Call(attr("np", prim.ufunc), args, [])
        if prim.operator is not None:
            if issubclass(prim.operator, ast.unaryop):
                return ast.UnaryOp(prim.operator(), args[0])
            if issubclass(prim.operator, ast.cmpop):
                return ast.Compare(args[0], [prim.operator()], [args[1]])
            if issubclass(prim.operator, ast.boolop):
                return ast.BoolOp(prim.operator(), args)
            left, right = args
            if op.prim == "mul" and is_matmul(left) and not is_matmul(right):
                # `(1 - h**2) * (W2.T @ do)`, not `W2.T @ do * (1 - h**2)`: * and @
                # bind alike, and only a right operand is written with parentheses.
                left, right = right, left
            return ast.BinOp(left, prim.operator(), right)
        if op.prim in ("copy", "float") and op.params.get("lib") != "builtin":
            return args[0]
        if op.prim == "tuple":
            return ast.Tuple(args, ast.Load())
        if (
            prim.effect == "raise"
        ):  # the exception; the emitter writes `raise` before it
            return ast.Call(name(op.param("exception")), args, [])
        if op.prim == "attribute":
            return ast.Attribute(args[0], op.params["name"], ast.Load())
        if op.prim == "getitem":
            base = args[0]
            if isinstance(op.args[0], Const):
                # Only where a check proved a value scalar that is not (the code
                # after the check never runs): `2.0[0]` would warn when compiled.
                base = ast.Call(attr("np", "asarray"), [base], [])
            index = self.index(op.params["spec"], args[1:])
            if self.every_axis is not None and self.every_axis(op):
                index = with_ellipsis(index)
            return ast.Subscript(base, index, ast.Load())
        if prim.takes_index:
            leading = len(prim.operands) - 1
            index = ast.Subscript(
                attr("np", "s_"), self.index(op.params["spec"], args[leading:])
            )
            return ast.Call(name(prim.helper), [*args[:leading], index], [])
        if op.prim == "transpose" and op.params.get("attr"):
            return ast.Attribute(args[0], "T", ast.Load())
        if op.prim == "range":
            return ast.Call(name("range"), range_args(op.args, args), [])
        if op.prim == "new_stack":
            return ast.List([], ast.Load())
        if op.prim == "pop":
            return ast.Call(ast.Attribute(args[0], "pop", ast.Load()), [], [])
        if op.prim == "push":
            value = args[1] if len(args) == 2 else ast.Tuple(args[1:], ast.Load())
            return ast.Call(ast.Attribute(args[0], "append", ast.Load()), [value], [])
        keywords = [
            ast.keyword(k, const_ast(op.params[k]))
            for k, default in prim.static
            if k in op.params and op.params[k] != default and k not in prim.leading
        ]
        if prim.sequence:
            args = [ast.List(args, ast.Load())]
        args = [const_ast(op.params.get(k)) for k in prim.leading] + args
        if op.params.get("method"):  # the array's own method: np.sum(x) calls it
            return ast.Call(ast.Attribute(args[0], op.prim, ast.Load()), [], keywords)
        if op.params.get("attr") and op.prim in ("shape", "size"):
            return ast.Attribute(args[0], op.prim, ast.Load())
        lib = op.params.get("lib", "np")
        if prim.helper:
            func = ast.Name(prim.helper, ast.Load())
        elif prim.python:
            func = attr(*prim.python.split("."))
        elif lib == "math":
            func = attr("math", prim.math)
        elif lib == "builtin":
            func = name(prim.builtin)
        else:
            func = attr("np", *prim.numpy.split("."))
        call = ast.Call(func, args, keywords)
        if prim.item is not None:  # `np.linalg.eigh(a)[1]`
            return ast.Subscript(call, ast.Constant(prim.item), ast.Load())
        return call

    def index(self, spec: tuple, parts: list[ast.expr]) -> ast.expr:
        """The subscript of `x[...]` from a getitem spec and its run-time parts."""
        as_tuple, *items = spec
        parts = list(parts)
        built: list[ast.expr] = []
        for item in items:
            if item[0] == "slice":
                bounds = [parts.pop(0) if present else None for present in item[1:]]
                built.append(ast.Slice(*bounds))
            elif item[0] == "list":
                built.append(ast.List(parts.pop(0).elts, ast.Load()))
            elif item[0] == "newaxis":
                built.append(ast.Constant(None))
            elif item[0] == "ellipsis":
                built.append(ast.Constant(Ellipsis))
            else:
                built.append(parts.pop(0))
        if as_tuple or len(built) != 1:
            return ast.Tuple(built, ast.Load())
        return built[0]


def with_ellipsis(index: ast.expr) -> ast.expr:
    """`t, ...` for the index `t` (unless it has an ellipsis or None already)."""
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    if any(isinstance(p, ast.Constant) and p.value in (None, Ellipsis) for p in parts):
        return index
    return ast.Tuple([*parts, ast.Constant(Ellipsis)], ast.Load())


def _plain_operand(name_of: Callable[[Var], str]) -> Callable[[Any], ast.expr]:
    def operand(x: Any) -> ast.expr:
        if isinstance(x, tuple):
            return ast.Tuple([operand(e) for e in x], ast.Load())
        if isinstance(x, Const):
            return const_ast(x.value)
        return ast.Name(name_of(x), ast.Load())

    return operand


def op_expression(op: Op, name_of: Callable[[Var], str]) -> ast.expr:
    """The expression the emitter writes for `op`, with operands named by `name_of`."""
    return Spelling(_plain_operand(name_of)).op(op)


def spell(op: Op, name_of: Callable[[Var], str]) -> str:
    """The Python text the emitter writes for `op` (see op_expression)."""
    return ast.unparse(op_expression(op, name_of))


def parameter_names(function: ast.FunctionDef) -> list[str]:
    """The names of a written function's parameters, keyword-only ones last."""
    args = function.args
    return [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
