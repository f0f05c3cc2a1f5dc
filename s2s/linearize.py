"""Linearization: a parsed function becomes an SSA graph of primitive ops and regions.

Statements are visited in order; each expression becomes ops whose outputs are fresh
SSA values, and the environment maps every Python name to its current value, so a
rebinding (`x = x + 1`) simply makes a new value.  An `if` becomes an :class:`If`
whose branches are linearized separately and merged with phis; a `for` over `range`
or a `while` becomes a :class:`Loop` whose carried values are the names its body
assigns.  Calls to the user's own functions are inlined.

The visitor is an allowlist: an AST node without a `stmt_*` or `expr_*` method is
rejected with an :class:`~s2s.errors.UnsupportedSyntaxError` naming the construct and
saying what to do.
"""

from __future__ import annotations

import ast
import builtins
import math
import types
from typing import Any, Union

import numpy

from .errors import S2SError, UnknownFunctionError, UnsupportedSyntaxError
from .frontend import Binding, ParsedFunction, StaticGradient, parse_function
from .ir import (
    Builder,
    Const,
    Graph,
    If,
    Loop,
    Namespace,
    Op,
    Operand,
    Stmt,
    Var,
    single_indices,
)
from .normalize import normalize_block
from .shapes import ShapeInference
from .primitives import (
    BUILTINS,
    MATH_CONSTANTS,
    METHODS,
    NUMPY_CONSTANTS,
    PRIMITIVES,
    ArgumentError,
    bind,
    loaded_object,
    lookup_path,
)

_BINOPS = {
    ast.Add: "add",
    ast.Sub: "sub",
    ast.Mult: "mul",
    ast.Div: "div",
    ast.Pow: "pow",
    ast.MatMult: "matmul",
    ast.FloorDiv: "floordiv",
    ast.Mod: "mod",
    ast.BitAnd: "and",
    ast.BitOr: "or",
}
_AUG = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.BitAnd: "&",
    ast.BitOr: "|",
}
#: How to make an array a function may update part of in place.
_OWN_ARRAY = "Update an array made for it (`acc = x * 1.0`, `acc = np.zeros(n)`)"
#: Ops whose numpy result may be a view of an operand: updating it in place changes
#: the operand too.
_VIEWS = {"transpose", "reshape", "getitem", "expand_dims", "broadcast_to", "copy"}
_VIEWS |= {"ravel", "squeeze", "einsum"}  # numpy returns a view where it can
_COMPARE = {
    ast.Lt: "lt",
    ast.LtE: "le",
    ast.Gt: "gt",
    ast.GtE: "ge",
    ast.Eq: "eq",
    ast.NotEq: "ne",
}

_ADVICE = {
    "ListComp": "Write it with numpy array operations instead of a comprehension.",
    "SetComp": "Write it with numpy array operations instead of a comprehension.",
    "DictComp": "Pass the values as separate parameters.",
    "GeneratorExp": "Write it with numpy array operations instead of a generator.",
    "Lambda": "Define a module-level function with `def` instead.",
    "JoinedStr": "Strings are not differentiable; remove the f-string.",
    "List": "Build arrays with np.stack or np.concatenate of arrays, or use a tuple.",
    "Set": "Use numpy arrays instead.",
    "Dict": "Pass the values as separate parameters.",
    "Global": "Pass the value as a parameter.",
    "Nonlocal": "Pass the value as a parameter.",
    "Import": "Import at module level.",
    "ImportFrom": "Import at module level.",
    "Raise": "Check the inputs before calling the gradient.",
    "Try": "Check the inputs before calling the gradient.",
    "With": "Move the context manager outside the differentiated function.",
    "Delete": "Remove the `del`; unused values are dropped automatically.",
    "Assert": "Check the inputs before calling the gradient.",
    "Yield": "Generators cannot be differentiated; return a value instead.",
    "YieldFrom": "Generators cannot be differentiated; return a value instead.",
    "Await": "Async code cannot be differentiated.",
    "AsyncFunctionDef": "Use a plain `def`.",
    "NamedExpr": "Assign the value in a statement of its own.",
    "FunctionDef": "Define helper functions at module level; s2s inlines them.",
    "ClassDef": "Define classes outside the differentiated function.",
    "Match": "Use if/elif/else.",
}

_NAMES = {
    "ListComp": "a list comprehension",
    "SetComp": "a set comprehension",
    "DictComp": "a dict comprehension",
    "GeneratorExp": "a generator expression",
    "Lambda": "a lambda",
    "JoinedStr": "an f-string",
    "NamedExpr": "an assignment expression (:=)",
}

#: Primitives called as statements for what they do (a check that raises).
EFFECT_PRIMITIVES = frozenset({"check_scalar", "check_shapes"})

RESULT = "<return>"  # the environment key holding the function's result
STOP = "<break>"  # the environment key holding whether the loop body said `break`

#: A value in the environment: an operand, or a tuple of them (from `return a, b`).
Value = Union[Operand, tuple]


def _describe(node: ast.AST) -> str:
    kind = type(node).__name__
    return _NAMES.get(kind, f"`{kind}`")


def _assigned_names(body: list[ast.stmt]) -> list[str]:
    """Names a block assigns, in order of first assignment (nested blocks included)."""
    names: dict[str, None] = {}
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.setdefault(node.id)
            elif _updated_part(node) is not None:  # `acc[i] += v` assigns acc
                names.setdefault(_updated_part(node))
    return list(names)


def _updated_part(node: ast.AST) -> str | None:
    """The name of the array `name[index] += ...` updates, else None."""
    if (
        isinstance(node, ast.AugAssign)
        and isinstance(node.target, ast.Subscript)
        and isinstance(node.target.value, ast.Name)
    ):
        return node.target.value.id
    return None


class Linearizer:
    """Turns one :class:`ParsedFunction` into a :class:`Graph` (and inlines callees)."""

    def __init__(
        self,
        fn: ParsedFunction,
        builder: Builder | None = None,
        active_calls: tuple[Any, ...] = (),
    ):
        self.fn = fn
        if builder is None:
            builder = Builder(Namespace())
            builder.identities = False  # the user's values may be bools or ints
        self.builder = builder
        self.names = self.builder.names
        self.env: dict[str, Value] = {}
        self.loop_depth = 0
        self.active_calls = active_calls + (_identity(fn),)
        self.return_loc = fn.location(fn.node)
        self.top = self.builder.ops  # the function body's own block
        self.tapes: dict[Var, int | None] = (
            {}
        )  # tape -> values per append (None: none yet)
        self.range_slots: dict[Var, set[int]] = {}  # where a tape holds ranges
        self.popped_ranges: set[Var] = set()
        # For updates in place: the values this function did not make (its
        # arguments), what each phi merges, and the `acc[i] += v` to check at the end
        # (shared with the functions inlined into this one).
        self.borrowed: list[Operand] = []
        self.callers: list[dict[str, Value]] = []  # the environments of the callers
        self.merged: dict[Var, list[Operand]] = {}
        self.part_updates: list[tuple[ast.AST, str, str, list[Operand]]] = []
        self.updated: dict[Var, tuple[ast.AST, str, str]] = {}

    # --- driver ---------------------------------------------------------------------

    def run(self) -> Graph:
        node = self.fn.node
        self._check_signature(node.args)
        params = []
        for name in self.fn.params:
            var = Var(self.names.fresh(name), name, "param")
            self.env[name] = var
            params.append(var)
        self.borrowed = list(params)
        self.body(node)
        self.check_part_updates()
        result = self.env[RESULT]
        if isinstance(result, tuple):
            raise self.fn.error(
                node,
                f"{node.name} returns a tuple; a gradient needs a scalar result",
                "Return a single scalar (for example the sum of the parts).",
            )
        defaults = tuple(self._default(v, node) for v in self.fn.defaults)
        return Graph(
            node.name, params, self.builder.ops, result, defaults, self.return_loc
        )

    def body(self, node: ast.FunctionDef) -> None:
        """Linearize a function body; its result is left in env[RESULT]."""
        body = node.body[1:] if node.body and _is_docstring(node.body[0]) else node.body
        self.block(normalize_block(body))
        if RESULT not in self.env or self.env[RESULT] is None:
            raise self.fn.error(
                node,
                f"{node.name} does not return a value on every path",
                "End every path through the function with `return <value>`.",
            )

    def _check_signature(self, args: ast.arguments) -> None:
        for bad, what in (
            (args.vararg, "*args"),
            (args.kwarg, "**kwargs"),
            (
                args.kwonlyargs[0] if args.kwonlyargs else None,
                "keyword-only parameters",
            ),
        ):
            if bad is not None:
                raise self.fn.error(
                    bad,
                    f"{what} are not supported",
                    "Use ordinary positional parameters.",
                )

    def _default(self, value: Any, node: ast.AST) -> Const:
        if isinstance(value, (bool, int, float, str)) or value is None:
            return Const(value)
        if isinstance(value, numpy.generic) and value.dtype.kind in "biuf":
            return Const(value.item())
        raise self.fn.error(
            node,
            f"default value {value!r} is not a number",
            "Use numbers (or None) as defaults, or pass the value explicitly.",
        )

    # --- blocks and statements ------------------------------------------------------

    def block(self, stmts: list[ast.stmt]) -> None:
        for stmt in stmts:
            self.stmt(stmt)

    def sub_block(self, stmts: list[ast.stmt]) -> tuple[list[Stmt], dict[str, Value]]:
        """Linearize a nested block into its own op list; return the ops and the env."""
        saved_ops, saved_env = self.builder.ops, self.env
        self.builder.ops, self.env = [], dict(saved_env)
        try:
            self.block(stmts)
            return self.builder.ops, self.env
        finally:
            self.builder.ops, self.env = saved_ops, saved_env

    def stmt(self, node: ast.stmt) -> None:
        self.builder.loc = self.fn.location(node)
        visit = getattr(self, "stmt_" + type(node).__name__, None)
        if visit is None:
            self.unsupported(node)
        visit(node)

    def unsupported(self, node: ast.AST, hint: str = ""):
        kind = type(node).__name__
        hint = (
            hint
            or _ADVICE.get(kind, "")
            or (
                "s2s differentiates a subset of Python: assignments, arithmetic, calls to "
                "numpy/math functions and to your own functions, if/for/while. Rewrite this "
                "part with those."
            )
        )
        raise self.fn.error(node, f"unsupported syntax: {_describe(node)}", hint)

    def stmt_Assign(self, node: ast.Assign) -> None:
        if len(node.targets) != 1:
            raise self.fn.error(
                node,
                "chained assignment `a = b = ...` is not supported",
                "Assign each name separately.",
            )
        self.assign(node.targets[0], node.value)

    def stmt_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.assign(node.target, node.value)

    def stmt_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Subscript):
            self.update_part(node)
            return
        if not isinstance(node.target, ast.Name):
            raise self.fn.error(
                node.target,
                f"cannot update {_describe(node.target)} in place",
                "Update a name (`x += v`) or part of a named array (`x[i] += v`).",
            )
        name, symbol = node.target.id, _AUG.get(type(node.op), "?")
        origins = self._origins(self.env.get(name))
        fix = f"Write `{name} = {name} {symbol} ...`"
        self._refuse_shared(node, name, f"{name} {symbol}=", origins, fix)
        for env in self.callers:  # an argument's array is the caller's too
            self._refuse_shared(node, "", f"{name} {symbol}=", origins, fix, env)
        binop = ast.BinOp(ast.Name(node.target.id, ast.Load()), node.op, node.value)
        self.assign(node.target, ast.copy_location(binop, node))

    def update_part(self, node: ast.AugAssign) -> None:
        """`acc[i] += v` (or `-=`) on an array the function owns: the new value
        `acc + <v scattered into zeros like acc at i>`, as the adjoint of acc[i] is.

        The index must be basic (integers, slices, None, ...): through an index array
        numpy's `+=` adds once per repeated element, which no sum of arrays says.
        """
        target = node.target
        if not isinstance(target.value, ast.Name):
            raise self.fn.error(
                target,
                "cannot update part of an expression in place",
                "Name the array first: `acc = ...`, then `acc[i] += v`.",
            )
        if not isinstance(node.op, (ast.Add, ast.Sub)):
            raise self.fn.error(
                node,
                f"`{_AUG.get(type(node.op), '?')}=` on part of an array is not supported",
                "Only `+=` and `-=` update part of an array; compute the new array "
                "from the whole one instead.",
            )
        name, symbol = target.value.id, _AUG[type(node.op)]
        array = self.expr(target.value)
        if isinstance(array, Const):
            raise self.fn.error(
                target.value,
                f"'{name}' holds a number here, not an array",
                "Only arrays have parts to update.",
            )
        written = f"{name}[...] {symbol}="
        origins = self._origins(array)
        self._refuse_borrowed(node, name, written, origins)
        self._refuse_shared(node, name, written, origins, _OWN_ARRAY)
        for origin in origins:  # a loop's carried array: checked again at its end
            self.updated.setdefault(origin, (node, name, written))
        spec, parts = self._index(target.slice)
        if spec == (True,):  # `acc[()]`: the whole of a 0-d array
            raise self.fn.error(
                target,
                f"`{name}[()] {symbol}=` updates a 0-d array as a whole",
                f"Write `{name} = {name} {symbol} ...`.",
            )
        if any(item[0] == "list" for item in spec[1:]):
            raise self._index_array_error(target.slice, name, symbol)
        value = self.expr(node.value)
        scattered = self.emit(
            "unindex", value, array, *parts, spec=spec, broadcast=True
        )
        prim = "add" if isinstance(node.op, ast.Add) else "sub"
        self.env[name] = self.emit(prim, array, scattered, hint=name)
        indices = [p for p, single in zip(parts, single_indices(spec)) if single]
        self.part_updates.append((target.slice, name, symbol, indices))

    def _refuse_borrowed(
        self, node: ast.AST, name: str, written: str, origins: list[Operand]
    ) -> None:
        """Part of a parameter's array is the caller's: updating it would change the
        caller's array, which a gradient (treating arrays as values) would not."""
        for origin in origins:
            if any(origin is b for b in self.borrowed) or any(
                base is b for base in self._viewed(origin) for b in self.borrowed
            ):
                raise self.fn.error(
                    node,
                    f"`{written} ...` would update in place the array of a parameter "
                    f"('{name}' may be it, or a view of it)",
                    "Update a new array made inside the function instead (`acc = "
                    f"{name} * 1.0`, `acc = np.zeros(n)`): a gradient treats arrays as "
                    "values and would not change the caller's.",
                )

    def _refuse_shared(
        self,
        node: ast.AST,
        name: str,
        written: str,
        origins: list[Value],
        fix: str,
        env: dict[str, Value] | None = None,
    ) -> None:
        """An update in place is an update of every name holding (a view of) the
        same array: refuse it where a name other than `name` does."""
        env = self.env if env is None else env
        for current in origins:
            sharing = [
                n
                for n, v in env.items()
                if n != name and (v is current or current in self._viewed(v))
            ]
            if not sharing and not self._is_view(current):
                continue
            if not sharing:
                holder = "may be a view of another name's array"
            elif env[sharing[0]] is current:
                holder = f"'{sharing[0]}' also holds"
            else:
                holder = f"'{sharing[0]}' holds a view of"
            raise self.fn.error(
                node,
                f"`{written} ...` would update in place an array that {holder}",
                f"{fix}: s2s treats arrays as values and never updates one in place "
                "where another name sees it.",
            )

    def _check_next_update(
        self, phi: Var, next_value: Value | None, env: dict[str, Value]
    ) -> None:
        """An array the loop body updates in place is, in the next iteration, the
        value the body leaves in its name: that one must be the function's own too."""
        if phi not in self.updated or next_value is None:
            return
        node, name, written = self.updated[phi]
        origins = self._origins(next_value)
        self._refuse_borrowed(node, name, written, origins)
        self._refuse_shared(node, name, written, origins, _OWN_ARRAY, env)

    def _origins(self, value: Operand) -> list[Operand]:
        """The values `value` may be: itself and, through the merges of branches and
        loops (phis), the values merged into it."""
        found: list[Operand] = []
        pending = [value]
        while pending:
            v = pending.pop()
            if any(v is f for f in found):
                continue
            found.append(v)
            pending.extend(self.merged.get(v, ()) if isinstance(v, Var) else ())
        return found

    def _index_array_error(
        self, node: ast.AST, name: str, symbol: str, seen: bool = True
    ) -> UnsupportedSyntaxError:
        what = (
            "an index array"
            if seen
            else "an index s2s cannot tell is an int (it may be an index array or a mask)"
        )
        return self.fn.error(
            node,
            f"`{name}[...] {symbol}=` with {what}",
            "Through an index array numpy's `+=` adds once per repeated element, which "
            "no sum of arrays says. Index with ints and slices (a loop index and its "
            "arithmetic, len(x); `acc[int(k)]` for an int parameter k), or build the "
            "whole new array.",
        )

    def check_part_updates(self) -> None:
        """Each single index of an `acc[i] += v` must be a Python int (not an index
        array): proven by the same inference the emitter uses to write `dx[i] += g`."""
        if not self.part_updates:
            return
        ints = ShapeInference(self.builder.ops, {})
        for node, name, symbol, indices in self.part_updates:
            if not all(ints.is_int(i) for i in indices):
                raise self._index_array_error(node, name, symbol, seen=False)

    def _viewed(self, value: Value) -> list[Operand]:
        """The arrays `value` may be a view of (through transpose, reshape, ...)."""
        bases = []
        made = self.builder.defs.get(value) if isinstance(value, Var) else None
        while made is not None and made.prim in _VIEWS and not made.params.get("fresh"):
            bases.append(made.args[0])
            made = self.builder.defs.get(made.args[0])
        return bases

    def _is_view(self, value: Value) -> bool:
        """Whether `value` may share memory with an array that a name holds."""
        held = list(self.env.values())
        return any(any(v is base for v in held) for base in self._viewed(value))

    def _shared(self, value: Value) -> bool:
        """Whether some name already holds `value`, or it may be a view of another."""
        return any(v is value for v in self.env.values()) or self._is_view(value)

    def stmt_Return(self, node: ast.Return) -> None:
        if self.loop_depth:
            raise self.fn.error(
                node,
                "`return` inside a loop is not supported",
                "Leave the loop with `break` and return after it.",
            )
        if node.value is None:
            raise self.fn.error(
                node, "`return` without a value", "Return the value to differentiate."
            )
        self.return_loc = self.fn.location(node)
        if isinstance(node.value, ast.Tuple):
            self.env[RESULT] = tuple(self.expr(e) for e in node.value.elts)
        else:
            self.env[RESULT] = self.expr(node.value, hint=self.fn.name)

    def stmt_Pass(self, node: ast.Pass) -> None:
        pass

    def stmt_Break(self, node: ast.Break) -> None:
        self.env[STOP] = Const(True)

    def stmt_Continue(self, node: ast.Continue) -> None:
        pass  # after normalization, a continue ends its iteration anyway

    def stmt_Expr(self, node: ast.Expr) -> None:
        if _is_docstring(node):
            return
        if isinstance(node.value, (ast.Yield, ast.YieldFrom, ast.Await)):
            self.unsupported(node.value)
        if self._tape_call(node.value, "append") is not None:
            self.push(node.value)
            return
        if self._calls_effect(node.value):
            self.expr(node.value)
            return
        raise self.fn.error(
            node,
            "an expression statement has no effect in a differentiated function",
            "Assign its value to a name, or remove it.",
        )

    def assign(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(value, ast.List) and not value.elts:
            self.new_tape(target, value)
            return
        if self._tape_call(value, "pop") is not None:
            self.pop(target, value)
            return
        if isinstance(target, ast.Name):
            result = self.value(value, hint=target.id)
            if isinstance(value, (ast.BinOp, ast.UnaryOp)) and self._shared(result):
                # `v = --y` or `v = y * 1` folded to y, but Python made a new array:
                # v must not alias y when `v += ...` follows.
                result = self.emit("copy", result, hint=target.id, fresh=True)
            self.env[target.id] = result
            return
        if isinstance(target, ast.Tuple) and all(
            isinstance(t, ast.Name) for t in target.elts
        ):
            if isinstance(value, ast.Tuple):
                values = tuple(
                    self.expr(v, hint=t.id) for t, v in zip(target.elts, value.elts)
                )
            else:
                values = self.value(value)
                values = self._tuple_items(values) or values
            if not isinstance(values, tuple) or len(values) != len(target.elts):
                raise self.fn.error(
                    value,
                    "tuple unpacking needs a tuple of the same length on the right",
                    "Write `a, b = x, y` (or unpack what a helper returns), "
                    "or assign each name separately.",
                )
            for t, v in zip(target.elts, values):
                if isinstance(v, Var) and v.role == "temp":
                    v.hint, v.role = t.id, "user"
                self.env[t.id] = v
            return
        raise self.fn.error(
            target,
            f"cannot assign to {_describe(target)}",
            "Assign to plain names; arrays cannot be updated in place.",
        )

    # --- control flow ---------------------------------------------------------------

    def stmt_If(self, node: ast.If) -> None:
        if _is_float_guard(node) and self._calls_effect(node.body[0].value):
            self.expr(node.body[0].value)  # generated code: the guard only saves time
            return
        cond = self.expr(node.test)
        if isinstance(cond, Var) and cond.role == "temp":
            cond.hint = "cond"
        loc = self.fn.location(node)
        then, then_env = self.sub_block(node.body)
        orelse, else_env = self.sub_block(node.orelse)
        region = If(cond, then, orelse, loc=loc)
        self.merge(region, then_env, else_env)
        self.builder.loc = loc
        self.builder.ops.append(region)

    def merge(
        self, region: If, then_env: dict[str, Value], else_env: dict[str, Value]
    ) -> None:
        """Give every name the branches disagree on a phi: an out of the If."""
        for name in dict.fromkeys([*then_env, *else_env]):
            a, b = then_env.get(name), else_env.get(name)
            if a is b:
                if a is not None:
                    self.env[name] = a
                continue
            if isinstance(a, tuple) or isinstance(b, tuple):
                if not (
                    isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
                ):
                    raise self.fn.error(
                        region_node(region),
                        "the branches return tuples of different lengths",
                        "Return the same number of values on every path.",
                    )
                self.env[name] = tuple(
                    self._phi(region, name, x, y) for x, y in zip(a, b)
                )
            else:
                self.env[name] = self._phi(region, name, a, b)

    def _phi(self, region: If, name: str, a: Operand | None, b: Operand | None) -> Var:
        hint = {RESULT: self.fn.name, STOP: "stop"}.get(name, name)
        out = self.builder.var(hint, "user")
        region.outs.append(out)
        region.then_vals.append(a)
        region.else_vals.append(b)
        self.merged[out] = [v for v in (a, b) if v is not None]
        return out

    def expr_IfExp(self, node: ast.IfExp, hint: str | None) -> Operand:
        cond = self.expr(node.test)
        loc = self.builder.loc
        results = []
        for branch in (node.body, node.orelse):
            saved = self.builder.ops
            self.builder.ops = []
            results.append((self.expr(branch), self.builder.ops))
            self.builder.ops = saved
        (a, then), (b, orelse) = results
        region = If(cond, then, orelse, loc=loc)
        out = self.builder.var(hint or "chosen", "user" if hint else "temp")
        region.outs, region.then_vals, region.else_vals = [out], [a], [b]
        self.merged[out] = [a, b]
        self.builder.ops.append(region)
        return out

    def stmt_For(self, node: ast.For) -> None:
        if node.orelse:
            raise self.fn.error(
                node.orelse[0],
                "`for ... else` is not supported",
                "Track the condition with a variable instead.",
            )
        if not isinstance(node.target, ast.Name):
            raise self.fn.error(
                node.target,
                "the loop variable must be a single name",
                "Write `for i in range(n):` and index inside the body.",
            )
        iterable = self._range(node.iter)
        loop = Loop([], [], [], [], [], iterable=iterable, loc=self.fn.location(node))
        loop.index = self.builder.var(node.target.id, "user")
        self._loop_body(loop, node, {node.target.id: loop.index})
        self.env.pop(node.target.id, None)  # the index is not visible after the loop

    def _range(self, node: ast.expr) -> Operand:
        """The iterable of a for loop: `range(...)`, or (as generated gradients write
        them) a name holding a range, `reversed(...)` of one, or a slice of one."""
        if self._calls_builtin(node, "range"):
            return self._range_call(node)
        if self._calls_builtin(node, "reversed") or isinstance(
            node, (ast.Name, ast.Subscript)
        ):
            value = self.expr(node)
            if self._is_range(value):
                return value
        raise self._not_a_range(node)

    def _not_a_range(self, node: ast.expr) -> UnsupportedSyntaxError:
        return self.fn.error(
            node,
            "s2s loops only over range(...)",
            "Write `for i in range(n):` (start, stop and step may be run-time "
            "values) and index arrays with i inside the body.",
        )

    def _calls_builtin(self, node: ast.expr, name: str) -> bool:
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id not in self.env
            and self.fn.resolve(node.func.id) == Binding("builtin", name)
        )

    def _range_call(self, node: ast.Call) -> Operand:
        if node.keywords or not 1 <= len(node.args) <= 3:
            raise self._not_a_range(node)
        args = [self.expr(a) for a in node.args]
        if len(args) == 1:
            args = [Const(0), args[0]]
        if len(args) == 2:
            args.append(Const(1))
        return self.builder.emit("range", *args, lib="builtin")

    def _reversed_call(self, node: ast.Call) -> Operand:
        value = self.expr(node.args[0]) if len(node.args) == 1 else None
        if node.keywords or not self._is_range(value):
            raise self.fn.error(
                node,
                "reversed() is supported on a range only",
                "Loop over reversed(range(...)), or index the array backwards.",
            )
        return self.builder.emit("reversed", value, lib="builtin")

    def _is_range(self, value: Operand | None) -> bool:
        """Whether `value` is a range, reversed or sliced (re-iterable, or iterated
        once by the loop it was made for)."""
        if value in self.popped_ranges:  # a range a generated gradient saved
            return True
        made = self.builder.defs.get(value) if isinstance(value, Var) else None
        if made is None:
            return False
        if made.prim == "range":
            return True
        return made.prim in ("reversed", "getitem") and self._is_range(made.args[0])

    # --- tapes: lists used as stacks, as generated gradients use them ---------------

    def _tape_call(self, node: ast.expr, method: str) -> Var | None:
        """The tape that `node` calls `.method()` on (`saved.append(v)`), else None."""
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == method
            and isinstance(node.func.value, ast.Name)
        ):
            return None
        tape = self.env.get(node.func.value.id)
        return tape if isinstance(tape, Var) and tape in self.tapes else None

    def new_tape(self, target: ast.expr, value: ast.List) -> None:
        """`saved = []`: a list that the function appends values to and pops them from."""
        if not isinstance(target, ast.Name):
            raise self.fn.error(
                target,
                "an empty list can only be assigned to a name",
                "Write `saved = []` and use it with saved.append(v) and saved.pop().",
            )
        if self.builder.ops is not self.top or self.loop_depth:
            raise self.fn.error(
                value,
                "a list is created inside a branch or a loop",
                "Create the lists used as tapes at the top of the function body.",
            )
        tape = self.builder.emit("new_stack", hint=target.id, role="user")
        self.tapes[tape] = None
        self.env[target.id] = tape

    def push(self, node: ast.Call) -> None:
        """`saved.append(v)` or `saved.append((a, b))`: push values on a tape."""
        tape = self._tape_call(node, "append")
        if node.keywords or len(node.args) != 1:
            raise self.fn.error(node, "append() takes one value (or one tuple)")
        arg = node.args[0]
        items = arg.elts if isinstance(arg, ast.Tuple) else [arg]
        values = [self.expr(item) for item in items]
        self._tape_arity(tape, len(values), node)
        slots = self.range_slots.setdefault(tape, set())
        slots.update(k for k, v in enumerate(values) if self._is_range(v))
        self.builder.emit("push", tape, *values)

    def pop(self, target: ast.expr, value: ast.Call) -> None:
        """`v = saved.pop()` or `a, b = saved.pop()`: pop the values last pushed."""
        tape = self._tape_call(value, "pop")
        names = target.elts if isinstance(target, ast.Tuple) else [target]
        if (
            value.args
            or value.keywords
            or not all(isinstance(n, ast.Name) for n in names)
        ):
            raise self.fn.error(
                value,
                "a tape is popped as a whole into names",
                "Write `v = saved.pop()` or `a, b = saved.pop()`.",
            )
        self._tape_arity(tape, len(names), value, popping=True)
        outs = tuple(self.builder.var(n.id, "user") for n in names)
        op = Op("pop", (tape,), self.builder.var("popped"), {}, self.builder.loc, outs)
        self.builder.ops.append(op)
        for n, v in zip(names, outs):
            self.env[n.id] = v
        slots = self.range_slots.get(tape, set())
        self.popped_ranges.update(v for k, v in enumerate(outs) if k in slots)

    def _tape_arity(
        self, tape: Var, count: int, node: ast.AST, popping: bool = False
    ) -> None:
        """Every append to a tape pushes, and every pop takes, the same number of values."""
        known = self.tapes[tape]
        if known is None and popping:
            raise self.fn.error(
                node,
                f"pop from the list '{tape.hint}' before anything is appended to it",
                "Append to a tape before popping from it.",
            )
        if known is not None and known != count:
            raise self.fn.error(
                node,
                f"the list '{tape.hint}' holds {known} value(s) per append, here {count}",
                "Append and pop the same number of values each time.",
            )
        self.tapes[tape] = count

    def _calls_effect(self, node: ast.expr) -> bool:
        """A call kept for what it does, such as _check_scalar(y) in generated code."""
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            return False
        if node.func.id in self.env:
            return False
        binding = self.fn.resolve(node.func.id)
        return (
            binding is not None
            and binding.kind == "primitive"
            and binding.value[0] in EFFECT_PRIMITIVES
        )

    def stmt_While(self, node: ast.While) -> None:
        if node.orelse:
            raise self.fn.error(
                node.orelse[0],
                "`while ... else` is not supported",
                "Track the condition with a variable instead.",
            )
        loop = Loop([], [], [], [], [], loc=self.fn.location(node))
        self._loop_body(loop, node, {})

    def _loop_body(
        self, loop: Loop, node: ast.For | ast.While, bound: dict[str, Var]
    ) -> None:
        """Fill in a loop's carried values, header, body and outs."""
        names = [n for n in _assigned_names(node.body) if n not in bound]
        before = dict(self.env)
        for name in names:
            phi = self.builder.var(name, "user")
            loop.carried.append(phi)
            init = before.get(name)
            loop.inits.append(init if not isinstance(init, tuple) else None)
            self.merged[phi] = [init] if isinstance(init, (Var, Const)) else []
            self.env[name] = phi
        self.env.update(bound)
        self.env[STOP] = Const(False)
        saved_ops = self.builder.ops
        self.loop_depth += 1
        try:
            if isinstance(node, ast.While):
                self.builder.ops = loop.header
                self.builder.loc = loop.loc
                loop.cond = self.expr(node.test)
            body, env = self.sub_block(node.body)
        finally:
            self.builder.ops = saved_ops
            self.loop_depth -= 1
        loop.body = body
        stop = env.get(STOP)
        loop.stop = None if stop == Const(False) else stop
        for name, phi in zip(names, loop.carried):
            next_value = env.get(name)
            if isinstance(next_value, tuple):
                raise self.fn.error(
                    node,
                    f"'{name}' holds a tuple across loop iterations",
                    "Unpack the tuple into separate names.",
                )
            loop.nexts.append(next_value)
            self._check_next_update(phi, next_value, env)
            out = self.builder.var(name, "user")
            loop.outs.append(out)
            self.merged[out] = [phi] + ([next_value] if next_value is not None else [])
        self.env = {k: v for k, v in before.items()}
        for name, init, out in zip(names, loop.inits, loop.outs):
            self.env[name] = out
        self.builder.loc = loop.loc
        self.builder.ops.append(loop)

    # --- expressions ----------------------------------------------------------------

    def value(self, node: ast.expr, hint: str | None = None) -> Value:
        """An expression that may also be a call returning a tuple."""
        if isinstance(node, ast.Call):
            return self.expr_Call(node, hint, allow_tuple=True)
        return self.expr(node, hint)

    def expr(self, node: ast.expr, hint: str | None = None) -> Operand:
        visit = getattr(self, "expr_" + type(node).__name__, None)
        if visit is None:
            self.unsupported(node)
        return visit(node, hint)

    def emit(
        self, prim: str, *args: Operand, hint: str | None = None, **params: Any
    ) -> Operand:
        return self.builder.emit(prim, *args, hint=hint, role="user", **params)

    def expr_Constant(self, node: ast.Constant, hint: str | None) -> Operand:
        if isinstance(node.value, (bool, int, float, str)) or node.value is None:
            return Const(node.value)
        if node.value is Ellipsis:
            return Const(Ellipsis)
        raise self.fn.error(
            node,
            f"unsupported constant {node.value!r}",
            "Use numbers, booleans, None or strings.",
        )

    def expr_Name(self, node: ast.Name, hint: str | None) -> Operand:
        if node.id in self.env:
            value = self.env[node.id]
            if isinstance(value, Var) and value in self.tapes:
                raise self.fn.error(
                    node,
                    f"the list '{node.id}' is used as a value",
                    "s2s supports lists only as tapes: `saved = []`, "
                    "saved.append(v), v = saved.pop().",
                )
            if isinstance(value, tuple):
                raise self.fn.error(
                    node,
                    f"'{node.id}' holds a tuple of values here",
                    "Unpack it: `a, b = ...`.",
                )
            return value
        binding = self.fn.resolve(node.id)
        if binding is not None and binding.kind == "const":
            return Const(binding.value)
        raise self.fn.error(node, *self._name_problem(node.id, binding))

    def _name_problem(self, name: str, binding: Binding | None) -> tuple[str, str]:
        if binding is None:
            return (
                f"name '{name}' is not defined here",
                "Define it before use on every path, or pass it as a parameter. "
                "(A loop's index is not visible after the loop.)",
            )
        if binding.kind in ("numpy", "math"):
            return (
                f"the module '{name}' cannot be used as a value",
                "Call one of its functions.",
            )
        if binding.kind == "unsupported" and hasattr(binding.value, "shape"):
            return (
                f"'{name}' is a module-level array; s2s inlines only numbers",
                f"Pass '{name}' to the function as a parameter.",
            )
        return (
            f"'{name}' ({type(binding.value).__name__}) cannot be used as a value here",
            "Only numbers from outside the function are inlined; pass other values as "
            "parameters.",
        )

    def expr_Tuple(self, node: ast.Tuple, hint: str | None) -> Operand:
        items = [self.expr(e) for e in node.elts]
        if all(isinstance(i, Const) for i in items):
            return Const(tuple(i.value for i in items))
        return self.emit("tuple", *items, hint=hint)

    def expr_BinOp(self, node: ast.BinOp, hint: str | None) -> Operand:
        prim = _BINOPS.get(type(node.op))
        if prim is None:
            raise self.fn.error(
                node,
                f"unsupported operator {type(node.op).__name__}",
                "Use + - * / ** @ // % on numbers and arrays, and & | ~ to combine "
                "conditions (np.where((a > 0) & (b < 1), ...)); for an exclusive or "
                "of conditions write `a != b`.",
            )
        left, right = self.expr(node.left), self.expr(node.right)
        return self.emit(prim, left, right, hint=hint)

    def expr_UnaryOp(self, node: ast.UnaryOp, hint: str | None) -> Operand:
        operand = self.expr(node.operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(node.op, ast.USub):
            return self.emit("neg", operand, hint=hint)
        if isinstance(node.op, ast.Not):
            return self.emit("not", operand, hint=hint)
        return self.emit("invert", operand, hint=hint)  # `~`, the last unary operator

    def expr_BoolOp(self, node: ast.BoolOp, hint: str | None) -> Operand:
        prim = "both" if isinstance(node.op, ast.And) else "either"
        result = self.expr(node.values[0])
        for value in node.values[1:]:
            result = self.emit(prim, result, self.expr(value))
        return result

    def expr_Compare(self, node: ast.Compare, hint: str | None) -> Operand:
        left = self.expr(node.left)
        result = None
        for op, right_node in zip(node.ops, node.comparators):
            prim = _COMPARE.get(type(op))
            if prim is None:
                raise self.fn.error(
                    node,
                    f"unsupported comparison {type(op).__name__}",
                    "Compare values with < <= > >= == !=.",
                )
            right = self.expr(right_node)
            test = self.emit(prim, left, right)
            result = test if result is None else self.emit("both", result, test)
            left = right
        return result

    def expr_Attribute(self, node: ast.Attribute, hint: str | None) -> Operand:
        module = self._module_of(node.value)
        if module == "numpy" and node.attr in NUMPY_CONSTANTS:
            return Const(getattr(numpy, node.attr))
        if module == "math" and node.attr in MATH_CONSTANTS:
            return Const(getattr(math, node.attr))
        if module is not None:
            raise self.fn.error(
                node,
                f"{_dotted(node)} is not a constant s2s knows",
                "Use a numpy/math function call, or pass the value as a parameter.",
            )
        value = self.expr(node.value)
        if node.attr == "T":  # written back as .T: the value is an array
            return self.emit("transpose", value, hint=hint, attr=True)
        if node.attr in ("shape", "ndim", "size"):
            return self.emit(node.attr, value, hint=hint)
        raise self.fn.error(
            node,
            f"unsupported attribute .{node.attr}",
            "Supported array attributes are .T, .shape, .ndim and .size.",
        )

    def expr_Subscript(self, node: ast.Subscript, hint: str | None) -> Operand:
        x = self.expr(node.value)
        items = self._tuple_items(x)
        if items is not None:
            return self._tuple_item(node, items)
        spec, parts = self._index(node.slice)
        return self.emit("getitem", x, *parts, hint=hint, spec=spec)

    def _tuple_items(self, x: Operand) -> tuple[Operand, ...] | None:
        """The items of a tuple display (`t = (x, 2 * x)`), known while linearizing."""
        op = self.builder.defs.get(x) if isinstance(x, Var) else None
        return op.args if op is not None and op.prim == "tuple" else None

    def _tuple_item(self, node: ast.Subscript, items: tuple[Operand, ...]) -> Operand:
        """`t[1]`, `t[-1]`, `t[1:]` of a tuple display: its items, picked while
        linearizing (the graph has no tuple values to differentiate through)."""
        index = self.expr(node.slice) if not isinstance(node.slice, ast.Slice) else None
        try:
            if isinstance(node.slice, ast.Slice):
                bounds = [
                    None if b is None else self._static(b, "a tuple's slice bound")
                    for b in (node.slice.lower, node.slice.upper, node.slice.step)
                ]
                return self.emit("tuple", *items[slice(*bounds)])
            if isinstance(index, Const) and isinstance(index.value, int):
                return items[index.value]
        except IndexError:
            raise self.fn.error(
                node, f"tuple index out of range (the tuple has {len(items)} items)"
            ) from None
        raise self.fn.error(
            node,
            "a tuple is indexed with a value known only at run time",
            "Index tuples with constants (`t[0]`), or stack the values into an "
            "array (`np.stack(...)[i]`) and index that.",
        )

    def _index(self, index: ast.expr) -> tuple[tuple, list[Operand]]:
        """The `spec` of a subscript (see ir.Sym.__getitem__) and its run-time parts."""
        items = index.elts if isinstance(index, ast.Tuple) else [index]
        spec, parts = [], []
        for item in items:
            if isinstance(item, ast.Slice):
                bounds = (item.lower, item.upper, item.step)
                spec.append(("slice", *(b is not None for b in bounds)))
                parts.extend(self.expr(b) for b in bounds if b is not None)
                continue
            if isinstance(item, ast.List):  # x[[0, 2]]: integer-array indexing
                spec.append(("list",))
                parts.append(
                    Const(tuple(self._static(e, "a list index") for e in item.elts))
                )
                continue
            value = self.expr(item)
            if isinstance(value, Const) and value.value is None:
                spec.append(("newaxis",))
            elif isinstance(value, Const) and value.value is Ellipsis:
                spec.append(("ellipsis",))
            else:
                spec.append(("value",))
                parts.append(value)
        return (isinstance(index, ast.Tuple),) + tuple(spec), parts

    def _module_of(self, node: ast.expr) -> str | None:
        """The dotted name of the module `node` names (any alias): 'numpy', 'math',
        'numpy.linalg', 'scipy.special', ...; None when it names no module."""
        if isinstance(node, ast.Name) and node.id not in self.env:
            binding = self.fn.resolve(node.id)
            if binding is not None and binding.kind in ("numpy", "math"):
                return binding.kind
            if binding is not None and binding.kind == "module":
                return binding.value
        if isinstance(node, ast.Attribute):
            parent = self._module_of(node.value)
            if parent is None:
                return None
            path = f"{parent}.{node.attr}"
            found = loaded_object(path)
            if isinstance(found, types.ModuleType):
                return path
            # A submodule of a library that is not imported here (the CLI imports
            # nothing): assume a module, so that errors name the whole path.
            if found is None and parent.split(".")[0] not in ("numpy", "math"):
                return path
        return None

    # --- calls ----------------------------------------------------------------------

    def expr_Call(
        self, node: ast.Call, hint: str | None, allow_tuple: bool = False
    ) -> Value:
        func = node.func
        if isinstance(func, ast.Attribute):
            module = self._module_of(func.value)
            if module is not None:
                known = lookup_path(f"{module}.{func.attr}")
                if known is None:
                    raise self._unknown_function(node, _dotted(func))
                prim, lib = known
                return self.call(prim, node, [], lib, hint)
            return self.method(node, func, hint)
        if isinstance(func, ast.Name) and func.id not in self.env:
            binding = self.fn.resolve(func.id)
            kind = binding.kind if binding else None
            if kind == "primitive":
                prim, lib = binding.value
                return self.call(prim, node, [], lib, hint)
            if kind == "builtin" and func.id == "range":
                return self._range_call(node)
            if kind == "builtin" and func.id == "reversed":
                return self._reversed_call(node)
            if kind == "builtin" and func.id in BUILTINS:
                return self.call(BUILTINS[func.id], node, [], "builtin", hint)
            if kind == "function":
                result = self.inline(binding.value, node, hint)
                if isinstance(result, tuple) and not allow_tuple:
                    raise self.fn.error(
                        node,
                        f"{func.id}() returns a tuple, used here as a single value",
                        f"Unpack it first: `a, b = {func.id}(...)`.",
                    )
                return result
            raise self._unknown_function(node, func.id)
        self.unsupported(node, "Call functions by name, e.g. np.exp(x) or helper(x).")

    def inline(self, target: Any, node: ast.Call, hint: str | None) -> Value:
        """Linearize a call to one of the user's functions in place."""
        callee = self._parse_callee(target, node)
        if _identity(callee) in self.active_calls:
            raise self.fn.error(
                node,
                f"recursive call to {callee.name}() cannot be differentiated",
                "Rewrite the recursion as a loop.",
            )
        child = Linearizer(callee, self.builder, self.active_calls)
        child._check_signature(callee.node.args)
        params = callee.params
        defaults = dict(
            zip(params[len(params) - len(callee.defaults) :], callee.defaults)
        )
        args: dict[str, Operand] = {}
        if len(node.args) > len(params):
            raise self.fn.error(
                node,
                f"{callee.name}() takes {len(params)} arguments "
                f"but {len(node.args)} were given",
            )
        for name, arg in zip(params, node.args):
            if isinstance(arg, ast.Starred):
                self.unsupported(arg, "Pass the arguments one by one.")
            args[name] = self.expr(arg)
        for kw in node.keywords:
            if kw.arg not in params or kw.arg in args:
                raise self.fn.error(
                    kw.value if kw.arg else node,
                    f"{callee.name}() got an unexpected or repeated argument '{kw.arg}'",
                    f"Its parameters are: {', '.join(params)}.",
                )
            args[kw.arg] = self.expr(kw.value)
        for name in params:
            if name not in args:
                if name not in defaults:
                    raise self.fn.error(
                        node, f"{callee.name}() is missing the argument '{name}'"
                    )
                args[name] = child._default(defaults[name], node)
        child.env.update(args)
        child.borrowed = [a for a in args.values() if isinstance(a, Var)]
        child.callers = [self.env, *self.callers]
        child.merged, child.part_updates = self.merged, self.part_updates
        child.updated = self.updated
        saved_loc = self.builder.loc
        child.body(callee.node)
        self.builder.loc = saved_loc
        result = child.env[RESULT]
        if (
            hint
            and isinstance(result, Var)
            and result.role in ("temp", "user")
            and (result not in args.values())
        ):
            result.hint, result.role = hint, "user"
        return result

    def _parse_callee(self, target: Any, node: ast.Call) -> ParsedFunction:
        if isinstance(target, StaticGradient):  # a gradient, in a file read statically
            return target.parsed
        if isinstance(target, ast.FunctionDef):  # read statically from the same file
            parsed = ParsedFunction(
                target, self.fn.filename, self.fn.lines, self.fn.resolve
            )
            parsed.defaults = tuple(
                _literal_default(d, parsed) for d in target.args.defaults
            )
            return parsed
        if isinstance(target, types.FunctionType):
            try:
                return parse_function(target)
            except S2SError as e:
                raise UnsupportedSyntaxError(
                    f"cannot differentiate through {target.__name__}(): {e.message}",
                    self.fn.location(node),
                    f"{e.hint}\nOr register its derivative: "
                    f"s2s.register({target.__name__}, rule) (see the README).",
                ) from None
        raise self._unknown_function(node, _dotted(node.func))

    def method(self, node: ast.Call, func: ast.Attribute, hint: str | None) -> Operand:
        name = func.attr
        if name in METHODS:
            return self.call(METHODS[name], node, [func.value], "np", hint)
        if name == "reshape":
            x = self.expr(func.value)
            shape = self._shape_argument(node)
            return self.emit("reshape", x, shape, hint=hint)
        if name == "transpose":
            x = self.expr(func.value)
            axes = self._varargs_constant(node, "axes")
            return self.emit(
                "transpose", x, hint=hint, **({"axes": axes} if axes else {})
            )
        raise self.fn.error(
            node,
            f"unsupported method .{name}()",
            "Use the numpy function instead (for example np.sum(x) for x.sum()).",
        )

    def _shape_argument(self, node: ast.Call) -> Operand:
        if node.keywords:
            raise self.fn.error(
                node.keywords[0].value,
                "reshape takes the shape positionally",
                "Write x.reshape(a, b) or x.reshape((a, b)).",
            )
        if len(node.args) == 1:
            return self.expr(node.args[0])
        items = [self.expr(a) for a in node.args]
        if all(isinstance(i, Const) for i in items):
            return Const(tuple(i.value for i in items))
        return self.emit("tuple", *items)

    def _varargs_constant(self, node: ast.Call, what: str) -> Any:
        values = [self._static(a, what) for a in node.args]
        if len(values) == 1 and (values[0] is None or isinstance(values[0], tuple)):
            return values[0]
        return tuple(values) or None

    def _static(self, node: ast.expr, what: str) -> Any:
        value = self.expr(node)
        if isinstance(value, Const):
            return value.value
        raise self.fn.error(
            node,
            f"{what} must be a constant known when the gradient is generated",
            "Write it as a literal or a module-level constant.",
        )

    def _dtype(self, node: ast.expr) -> str | None:
        """A dtype argument (`float`, `np.float32`, `"int64"`), as numpy's name for it."""
        if isinstance(node, ast.Constant) and node.value is None:
            return None
        spelled: Any = None
        if isinstance(node, ast.Name) and node.id not in self.env:
            binding = self.fn.resolve(node.id)
            if binding is not None and binding.kind == "builtin":
                spelled = getattr(builtins, node.id)
        elif isinstance(node, ast.Attribute) and self._module_of(node.value) == "numpy":
            spelled = getattr(numpy, node.attr, None)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            spelled = node.value
        try:
            if spelled is not None:
                return numpy.dtype(spelled).name
        except TypeError:
            pass
        raise self.fn.error(
            node,
            f"dtype {_dotted(node)} is not a numpy dtype s2s can read",
            "Write float, int, bool, np.float32 (and the like) or a dtype name "
            "such as 'float64'.",
        )

    def call(
        self,
        prim_name: str,
        node: ast.Call,
        leading: list[ast.expr],
        lib: str,
        hint: str | None,
    ) -> Operand:
        """Bind a call's arguments to the primitive's operands and static parameters."""
        prim = PRIMITIVES[prim_name]
        spelled = _dotted(node.func)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.unsupported(arg, "Pass the arguments one by one.")
        keywords = [(kw.arg, kw.value) for kw in node.keywords]
        try:
            operand_nodes, static_nodes = bind(
                prim, spelled, leading + list(node.args), keywords, _display_items
            )
        except ArgumentError as e:
            raise self.fn.error(e.culprit or node, e.message, e.hint) from None
        spec = None
        if prim_name == "unindex":
            operands, spec = self._unindex_operands(node, operand_nodes)
        else:
            operands = [self.expr(a) for a in operand_nodes]
        static = {
            name: (
                self._dtype(value)
                if name == "dtype"
                else self._static(value, f"'{name}'")
            )
            for name, value in static_nodes.items()
        }
        if spec is not None:
            # g may be smaller than the part it fills (`acc[i] += v` is read back so)
            static.update(spec=spec, broadcast=True)
        if prim.check is not None:
            problem = prim.check(
                {n: static.get(n, d) for n, d in prim.static}, len(operands)
            )
            if problem is not None:
                raise self.fn.error(node, *problem)
        if lib != "np" or prim.operator is not None:  # np.add(x, y) is not x + y
            static["lib"] = lib
        return self.emit(prim_name, *operands, hint=hint, **static)

    def _unindex_operands(
        self, node: ast.Call, operand_nodes: list[ast.expr]
    ) -> tuple[list[Operand], tuple]:
        """`_unindex(g, x, np.s_[i, :])` in a generated gradient: g, x and the parts of
        the index, and the index's spec."""
        index = operand_nodes[-1] if len(operand_nodes) == 3 else None
        if not (
            isinstance(index, ast.Subscript)
            and isinstance(index.value, ast.Attribute)
            and index.value.attr == "s_"
            and self._module_of(index.value.value) == "numpy"
        ):
            raise self.fn.error(
                node,
                "_unindex takes the gradient, the indexed array and np.s_[index]",
                "Write it as s2s generates it: _unindex(g, x, np.s_[i, :]).",
            )
        spec, parts = self._index(index.slice)
        return [self.expr(operand_nodes[0]), self.expr(operand_nodes[1]), *parts], spec

    def _unknown_function(self, node: ast.Call, name: str) -> UnknownFunctionError:
        arguments = ", ".join(["x", "y", "z"][: max(1, min(len(node.args), 3))])
        rules = ", ".join(
            f"lambda g, out, {arguments}: g * <d{name.rsplit('.', 1)[-1]}/d{a}>"
            for a in arguments.split(", ")
        )
        return UnknownFunctionError(
            f"no derivative rule for {name}()",
            self.fn.location(node),
            f"Teach s2s its derivative (one rule per argument; g is the adjoint of "
            f"the result out), before differentiating:\n"
            f"    s2s.register({name}, {rules})\n"
            "See 'Custom derivative rules' in the README and the functions s2s knows "
            "in docs/rules.md; or write it with supported numpy operations.",
        )


def _display_items(node: ast.expr) -> list[ast.expr] | None:
    """The elements of a list or tuple display (`[a, b]`), else None."""
    if isinstance(node, (ast.List, ast.Tuple)) and not any(
        isinstance(e, ast.Starred) for e in node.elts
    ):
        return list(node.elts)
    return None


def _identity(fn: ParsedFunction) -> tuple[str, int, str]:
    return (fn.filename, fn.node.lineno, fn.name)


def region_node(region: If) -> ast.AST:
    node = ast.Pass()
    if region.loc is not None:
        node.lineno, node.col_offset = region.loc.lineno, region.loc.col
    return node


def _literal_default(node: ast.expr, parsed: ParsedFunction) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise parsed.error(
            node,
            "default values must be constants",
            "Use a number (or None) as the default.",
        ) from None


def _is_float_guard(node: ast.If) -> bool:
    """`if type(y) is not float: _check_scalar(y)`, as s2s writes a result's check."""
    test, body = node.test, node.body
    if node.orelse or len(body) != 1 or not isinstance(body[0], ast.Expr):
        return False
    call = body[0].value
    if not (isinstance(test, ast.Compare) and isinstance(call, ast.Call) and call.args):
        return False
    checked = test.left
    return (
        len(test.ops) == 1
        and isinstance(test.ops[0], ast.IsNot)
        and _dotted(test.comparators[0]) == "float"
        and isinstance(checked, ast.Call)
        and _dotted(checked.func) == "type"
        and len(checked.args) == 1
        and ast.dump(checked.args[0]) == ast.dump(call.args[0])
    )


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    return "<expression>"


def linearize(fn: ParsedFunction) -> Graph:
    """Build the SSA graph of a parsed function."""
    return Linearizer(fn).run()
