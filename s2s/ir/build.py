"""Building ops: :class:`Builder` appends ops to a block, names their outputs and folds
constants on the way (``1.0 * x -> x``), never in a way that could change a shape
(``0 * x`` stays)."""

from __future__ import annotations

import math
import operator
from typing import Any, Callable

from ..errors import Location
from ..primitives import PRIMITIVES
from .analysis import integral_result
from .nodes import Const, Namespace, Op, Operand, Role, Var

_FOLD: dict[str, Callable[..., Any]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "pow": operator.pow,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "neg": operator.neg,
}


def _is_number(x: Operand) -> bool:
    return isinstance(x, Const) and type(x.value) in (int, float)


def _is(x: Operand, value: float) -> bool:
    return _is_number(x) and x.value == value


def single_indices(spec: tuple) -> list[bool]:
    """For each run-time part of an index spec (see :meth:`Sym.__getitem__`), whether
    it is a single index (rather than a slice bound)."""
    flags = []
    for item in spec[1:]:
        if item[0] == "slice":
            flags += [False] * sum(item[1:])
        elif item[0] in ("value", "list"):
            flags.append(item[0] == "value")
    return flags


def temp_hint(prim: str) -> str:
    """What a temporary made by `prim` is named after (see Primitive.temp_hint)."""
    record = PRIMITIVES.get(prim)
    return record.temp_hint if record is not None else prim.rsplit(".", 1)[-1]


def fold(
    prim: str,
    args: tuple[Operand, ...],
    identities: bool = True,
    integral: set[Var] | frozenset = frozenset(),
) -> Operand | None:
    """The value of an op on constants, or (with `identities`) the operand an
    identity op returns (`x * 1`, `x + 0`, `x ** 1`): rewrites that cannot change a
    shape.  Identities hold only where values are floats, as in derivative code, and
    not for the `integral` values there: `x * 1.0` of a bool or int array is a float
    array."""
    if prim in _FOLD and all(_is_number(a) for a in args):
        try:
            value = _FOLD[prim](*(a.value for a in args))
        except (ArithmeticError, ValueError):
            return None
        if isinstance(value, (int, float)) and math.isfinite(value):
            return Const(value)
        return None
    if not identities:
        return None
    if prim in ("mul", "add") and len(args) == 2:
        unit = 1 if prim == "mul" else 0
        a, b = args
        if _is(a, unit) and _keeps_dtype(a, b, integral):
            return b
        if _is(b, unit) and _keeps_dtype(b, a, integral):
            return a
    if prim in ("sub", "div", "pow") and len(args) == 2:
        x, unit = args
        if _is(unit, 0 if prim == "sub" else 1):
            if _keeps_dtype(Const(0.0) if prim == "div" else unit, x, integral):
                return x
    return None


def _keeps_dtype(unit: Const, x: Operand, integral: set[Var] | frozenset) -> bool:
    """Whether `x op unit` has x's dtype: `mask * 1.0` is a float array, `mask * 1`
    and `mask ** 1` are bool ones."""
    return type(unit.value) is int or x not in integral


class Builder:
    """Appends ops to a list, naming their outputs from one :class:`Namespace`."""

    def __init__(self, names: Namespace, ops: list[Op] | None = None):
        self.names = names
        self.ops: list[Op] = [] if ops is None else ops
        self.loc: Location | None = None
        self.lib = "np"  # which library calls made by rules should use
        self.defs: dict[Var, Op] = {}
        # Identities with a constant (x * 1, x + 0, x / 1) hold for float values, as
        # derivatives are; in user code x may be a bool or int array whose type the
        # operation changes (True + True is True, True * 1.0 + True is 2.0).
        self.identities = True
        self.integral: set[Var] = set()  # values identities must keep (see fold)

    def var(self, hint: str, role: str = Role.TEMP) -> Var:
        if not hint.isidentifier():  # a name the lowering made up: `<total 1234>`
            word = hint.strip("<>").split(" ")[0]
            hint = word if word.isidentifier() else "value"
        return Var(self.names.fresh(hint), hint, role)

    def emit(
        self,
        prim: str,
        *args: Operand,
        hint: str | None = None,
        role: str = Role.TEMP,
        **params: Any,
    ) -> Operand:
        folded = self._fold(prim, args)
        if folded is not None:
            return folded
        out = self.var(hint or temp_hint(prim), role if hint else Role.TEMP)
        op = Op(prim, tuple(args), out, params, self.loc)
        self.ops.append(op)
        self.defs[out] = op
        if self.integral and integral_result(prim, op.args, params, self._integral):
            self.integral.add(out)
        return out

    def _integral(self, x: Operand) -> bool:
        if isinstance(x, Var):
            return x in self.integral
        return type(x.value) is not float

    def _fold(self, prim: str, args: tuple[Operand, ...]) -> Operand | None:
        """Constant folding and identities that cannot change a value's shape."""
        if prim in _FOLD and all(_is_number(a) for a in args):
            return fold(prim, args)
        if self.identities:
            return self._identity(prim, args)
        return None

    def _identity(self, prim: str, args: tuple[Operand, ...]) -> Operand | None:
        same = fold(prim, args, integral=self.integral)  # x * 1, x + 0, x ** 1, ...
        if same is not None:
            return same
        if prim == "mul":
            a, b = args
            if _is(a, -1) and b not in self.integral:  # -(uint8) wraps, -1.0 * does not
                return self.emit("neg", b)
            if _is(b, -1) and a not in self.integral:
                return self.emit("neg", a)
        if prim == "add":
            a, b = args
            if self._negated(b) is not None:
                return self.emit("sub", a, self._negated(b))
        if prim == "sub" and _is(args[0], 0) and args[1] not in self.integral:
            return self.emit("neg", args[1])
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
