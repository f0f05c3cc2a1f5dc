"""The SSA intermediate representation: values, operations, graphs and a builder.

A :class:`Graph` is a function's parameters, a list of :class:`Op` (each assigns one
fresh :class:`Var` exactly once) and a result.  Every op remembers the source
:class:`~s2s.errors.Location` it came from.  ``str(graph)`` prints one line per op and
:func:`verify` checks the SSA invariants; the tests run it after every stage.

:class:`Builder` appends ops and folds constants on the way (``1.0 * x -> x``), never
in a way that could change a shape (``0 * x`` stays).  :class:`Sym` wraps an operand
with Python operators so that derivative rules read like the numpy they generate.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Union

from .errors import InternalError, Location


@dataclass(eq=False)
class Var:
    """An SSA value. `name` is unique in its graph; `hint` is the name it would like
    in generated code; `role` is one of param, user, temp, adjoint.  Identity is the
    object itself, so a value can be renamed without disturbing the ops that use it."""

    name: str
    hint: str
    role: str = "temp"

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Const:
    """A compile-time constant: a Python number, bool, None, string or tuple of them."""

    value: Any

    def __repr__(self) -> str:
        return repr(self.value)


Operand = Union[Var, Const]


@dataclass(eq=False)
class Op:
    """`out = prim(*args, **params)`: one node of the computation graph."""

    prim: str
    args: tuple[Operand, ...]
    out: Var
    params: dict[str, Any] = field(default_factory=dict)
    loc: Location | None = None

    def __str__(self) -> str:
        args = ", ".join(map(repr, self.args))
        if self.params:
            args += "; " + ", ".join(
                f"{k}={v!r}" for k, v in sorted(self.params.items())
            )
        text = f"{self.out.name} = {self.prim}({args})"
        return f"{text:<40}# {self.loc.short()}" if self.loc else text


@dataclass(eq=False)
class Graph:
    """A straight-line function in SSA form."""

    name: str
    params: list[Var]
    ops: list[Op]
    result: Operand
    defaults: tuple[Const, ...] = ()
    loc: Location | None = None

    def __str__(self) -> str:
        lines = [f"def {self.name}({', '.join(p.name for p in self.params)}):"]
        lines += [f"    {op}" for op in self.ops]
        lines.append(f"    return {self.result!r}")
        return "\n".join(lines)


class Namespace:
    """Hands out unique, deterministic names: `mul`, `mul_1`, `mul_2`, ..."""

    def __init__(self, taken: Iterable[str] = ()):
        self._taken = set(taken)

    def fresh(self, hint: str) -> str:
        name, n = hint, 0
        while name in self._taken:
            n += 1
            name = f"{hint}_{n}"
        self._taken.add(name)
        return name

    def reserve(self, name: str) -> None:
        self._taken.add(name)

    def __contains__(self, name: str) -> bool:
        return name in self._taken


def verify(graph: Graph, extra_ops: Iterable[Op] = ()) -> None:
    """Check SSA: every value is defined exactly once, and before it is used."""
    defined: dict[str, Var] = {}

    def use(x: Operand, where: str) -> None:
        if isinstance(x, Var) and defined.get(x.name) is not x:
            raise InternalError(
                f"IR invalid: {x.name} used before definition in {where}\n{graph}"
            )

    def define(v: Var, where: str) -> None:
        if v.name in defined:
            raise InternalError(
                f"IR invalid: {v.name} assigned twice ({where})\n{graph}"
            )
        defined[v.name] = v

    for p in graph.params:
        define(p, "parameters")
    for op in [*graph.ops, *extra_ops]:
        for a in op.args:
            use(a, str(op))
        define(op.out, str(op))
    use(graph.result, "return")


# --- building ops -------------------------------------------------------------------

_FOLD: dict[str, Callable[..., Any]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "pow": operator.pow,
    "neg": operator.neg,
}


def _is_number(x: Operand) -> bool:
    return isinstance(x, Const) and type(x.value) in (int, float)


def _is(x: Operand, value: float) -> bool:
    return _is_number(x) and x.value == value


# Temporaries are named after their op, except where that would shadow a built-in
# or be a keyword.
_TEMP_HINTS = {
    "sum": "total",
    "max": "largest",
    "min": "smallest",
    "abs": "magnitude",
    "and": "both",
    "or": "either",
    "pow": "power",
    "tuple": "dims",
    "copy": "copied",
    "div": "quotient",
    "neg": "negated",
}


def temp_hint(prim: str) -> str:
    return _TEMP_HINTS.get(prim, prim)


class Builder:
    """Appends ops to a list, naming their outputs from one :class:`Namespace`."""

    def __init__(self, names: Namespace, ops: list[Op] | None = None):
        self.names = names
        self.ops: list[Op] = [] if ops is None else ops
        self.loc: Location | None = None
        self.lib = "np"  # which library calls made by rules should use
        self.defs: dict[Var, Op] = {}

    def var(self, hint: str, role: str = "temp") -> Var:
        return Var(self.names.fresh(hint), hint, role)

    def emit(
        self,
        prim: str,
        *args: Operand,
        hint: str | None = None,
        role: str = "temp",
        **params: Any,
    ) -> Operand:
        folded = self._fold(prim, args)
        if folded is not None:
            return folded
        out = self.var(hint or temp_hint(prim), role if hint else "temp")
        op = Op(prim, tuple(args), out, params, self.loc)
        self.ops.append(op)
        self.defs[out] = op
        return out

    def _fold(self, prim: str, args: tuple[Operand, ...]) -> Operand | None:
        """Constant folding and identities that cannot change a value's shape."""
        if prim in _FOLD and all(_is_number(a) for a in args):
            try:
                value = _FOLD[prim](*(a.value for a in args))
            except (ArithmeticError, ValueError):
                return None
            if isinstance(value, (int, float)) and math.isfinite(value):
                return Const(value)
            return None
        if prim == "mul":
            a, b = args
            if _is(a, 1):
                return b
            if _is(b, 1):
                return a
            if _is(a, -1):
                return self.emit("neg", b)
            if _is(b, -1):
                return self.emit("neg", a)
        if prim == "add":
            a, b = args
            if _is(a, 0):
                return b
            if _is(b, 0):
                return a
        if prim == "sub":
            a, b = args
            if _is(b, 0):
                return a
            if _is(a, 0):
                return self.emit("neg", b)
        if prim == "div" and _is(args[1], 1):
            return args[0]
        if prim == "pow" and _is(args[1], 1):
            return args[0]
        if prim == "neg":
            inner = self._negated(args[0])
            if inner is not None:
                return inner
        if prim in ("mul", "div"):
            # Pull signs outward so that they can cancel: (-a) * b -> -(a * b).
            a, b = args
            if self._negated(a) is not None:
                return self.emit("neg", self.emit(prim, self._negated(a), b))
            if self._negated(b) is not None:
                return self.emit("neg", self.emit(prim, a, self._negated(b)))
        return None

    def _negated(self, x: Operand) -> Operand | None:
        """y when x was made by `-y` in this builder, else None."""
        op = self.defs.get(x) if isinstance(x, Var) else None
        return op.args[0] if op is not None and op.prim == "neg" else None


def as_operand(x: Any) -> Operand:
    if isinstance(x, Sym):
        return x.operand
    if isinstance(x, (Var, Const)):
        return x
    if isinstance(x, (bool, int, float, str, tuple)) or x is None:
        return Const(x)
    raise InternalError(f"cannot use {x!r} as an operand")


class Sym:
    """An operand plus the builder it lives in, with numpy-like operators.

    Derivative rules are ordinary Python functions of Syms: `g * np.cos(x)` in a rule
    appends a `cos` op and a `mul` op to the adjoint graph.
    """

    __slots__ = ("operand", "builder")
    __array_priority__ = 1000  # keep numpy scalars from swallowing a Sym

    def __init__(self, operand: Operand, builder: Builder):
        self.operand = operand
        self.builder = builder

    def apply(self, prim: str, *args: Any, **params: Any) -> Sym:
        operands = [as_operand(a) for a in args]
        return Sym(self.builder.emit(prim, *operands, **params), self.builder)

    def __add__(self, o):
        return self.apply("add", self, o)

    def __radd__(self, o):
        return self.apply("add", o, self)

    def __sub__(self, o):
        return self.apply("sub", self, o)

    def __rsub__(self, o):
        return self.apply("sub", o, self)

    def __mul__(self, o):
        return self.apply("mul", self, o)

    def __rmul__(self, o):
        return self.apply("mul", o, self)

    def __truediv__(self, o):
        return self.apply("div", self, o)

    def __rtruediv__(self, o):
        return self.apply("div", o, self)

    def __pow__(self, o):
        return self.apply("pow", self, o)

    def __rpow__(self, o):
        return self.apply("pow", o, self)

    def __matmul__(self, o):
        return self.apply("matmul", self, o)

    def __rmatmul__(self, o):
        return self.apply("matmul", o, self)

    def __neg__(self):
        return self.apply("neg", self)

    def __and__(self, o):
        return self.apply("and", self, o)

    def __gt__(self, o):
        return self.apply("gt", self, o)

    def __ge__(self, o):
        return self.apply("ge", self, o)

    def __lt__(self, o):
        return self.apply("lt", self, o)

    def __le__(self, o):
        return self.apply("le", self, o)

    def __eq__(self, o):
        return self.apply("eq", self, o)  # type: ignore[override]

    def __ne__(self, o):
        return self.apply("ne", self, o)  # type: ignore[override]

    __hash__ = None  # type: ignore[assignment]

    @property
    def T(self) -> Sym:
        return self.apply("transpose")

    @property
    def is_const(self) -> bool:
        return isinstance(self.operand, Const)

    @property
    def value(self) -> Any:
        """The constant's value (only for constants)."""
        return self.operand.value  # type: ignore[union-attr]


class SymbolicNumpy:
    """`np.cos(x)` for rules: appends the op, using `math` when the primal op did."""

    def __getattr__(self, name: str) -> Callable[..., Sym]:
        def call(*args: Any, **params: Any) -> Sym:
            builder = next(a.builder for a in args if isinstance(a, Sym))
            from .primitives import PRIMITIVES  # late: primitives imports ir

            prim = PRIMITIVES.get(name)
            if prim is not None and builder.lib == "math" and prim.math:
                params["lib"] = "math"
            return Sym(builder.emit(name, *map(as_operand, args), **params), builder)

        return call
