"""Derivative rules: the adjoint of every primitive, one small function per operand.

A rule is called as ``rule(g, y, *operands, **params)`` with Syms for the output
adjoint `g`, the output `y` and the operands, and returns the adjoint contribution for
its operand (or None for a zero).  Rules are written with `np` bound to a symbolic
numpy (:class:`s2s.ir.SymbolicNumpy`), so each rule reads exactly like the code it
generates; `rt` reaches the helpers of :mod:`s2s.runtime`.

Broadcasting is not undone here: for the primitives in :data:`BROADCASTING` the
reverse pass sums each contribution back to its operand's shape, in one place.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

from .ir import Sym, SymbolicNumpy

np = SymbolicNumpy()
rt = SymbolicNumpy()

Rule = Callable[..., Optional[Sym]]

#: prim -> one rule per operand (None where the operand never gets an adjoint).
ADJOINTS: dict[str, tuple[Optional[Rule], ...]] = {}

#: Primitives whose operands broadcast against each other.
BROADCASTING: set[str] = set()

#: Primitives whose derivative is zero wherever it exists (steps, comparisons, shapes).
NONDIFFERENTIABLE: set[str] = {
    *("sign", "floor", "ceil", "floordiv", "lt", "le", "gt", "ge", "eq", "ne"),
    *("and", "or", "not", "both", "either", "shape", "ndim", "size", "zeros_like"),
    *("zeros", "tuple", "len", "range", "reversed", "int", "new_stack", "push", "pop"),
}


def elementwise(prim: str, *rules: Rule) -> None:
    """An elementwise op: its operands broadcast, so contributions are summed back."""
    ADJOINTS[prim] = rules
    BROADCASTING.add(prim)


def structural(prim: str, *rules: Optional[Rule]) -> None:
    """An op that moves, reduces or contracts values: its rule handles shapes itself."""
    ADJOINTS[prim] = rules


# --- linear ---------------------------------------------------------------------------

elementwise("add", lambda g, y, a, b: g, lambda g, y, a, b: g)
elementwise("sub", lambda g, y, a, b: g, lambda g, y, a, b: -g)
elementwise("neg", lambda g, y, x: -g)
structural("copy", lambda g, y, x: g)
structural("float", lambda g, y, x: g)
structural("getitem", lambda g, y, x, *index, spec: rt.unindex(g, x, *index, spec=spec))

# --- bilinear ---------------------------------------------------------------------------

elementwise("mul", lambda g, y, a, b: g * b, lambda g, y, a, b: g * a)
structural(
    "matmul",
    lambda g, y, a, b: rt.matmul_adjoint_a(g, a, b),
    lambda g, y, a, b: rt.matmul_adjoint_b(g, a, b),
)
structural(
    "dot",
    lambda g, y, a, b: rt.dot_adjoint_a(g, a, b),
    lambda g, y, a, b: rt.dot_adjoint_b(g, a, b),
)

# --- elementwise, one argument ----------------------------------------------------------

LN2, LN10 = math.log(2.0), math.log(10.0)

elementwise("exp", lambda g, y, x: g * y)
elementwise("exp2", lambda g, y, x: g * y * LN2)
elementwise("log", lambda g, y, x: g / x)
elementwise("log2", lambda g, y, x: g / (x * LN2))
elementwise("log10", lambda g, y, x: g / (x * LN10))
elementwise("log1p", lambda g, y, x: g / (1 + x))
elementwise("expm1", lambda g, y, x: g * (y + 1))
elementwise("sqrt", lambda g, y, x: g / (2 * y))
elementwise("square", lambda g, y, x: g * 2 * x)
elementwise("sin", lambda g, y, x: g * np.cos(x))
elementwise("cos", lambda g, y, x: -g * np.sin(x))
elementwise("tan", lambda g, y, x: g * (1 + y**2))
elementwise("arcsin", lambda g, y, x: g / np.sqrt(1 - x**2))
elementwise("arccos", lambda g, y, x: -g / np.sqrt(1 - x**2))
elementwise("arctan", lambda g, y, x: g / (1 + x**2))
elementwise("sinh", lambda g, y, x: g * np.cosh(x))
elementwise("cosh", lambda g, y, x: g * np.sinh(x))
elementwise("tanh", lambda g, y, x: g * (1 - y**2))
elementwise("abs", lambda g, y, x: g * np.sign(x))

# --- elementwise, several arguments -----------------------------------------------------


def _pow_base(g, y, a, b):
    if b.is_const and b.value == 0:
        return None  # x ** 0 is constant (and 0 * 0.0 ** -1 would divide by zero)
    if b.is_const:
        return g * b * a ** (b - 1)
    # Where an exponent is 0 the term is 0 * a ** -1: use a ** 1 so that a == 0 is finite.
    return g * b * a ** np.where(b == 0, 1.0, b - 1)


def _pow_exponent(g, y, a, b):
    # At a == 0 the term is 0 * log(0); take its limit, 0 (as central differences do).
    return g * y * np.log(np.where(a == 0, 1.0, a))


elementwise("div", lambda g, y, a, b: g / b, lambda g, y, a, b: -g * y / b)
elementwise("pow", _pow_base, _pow_exponent)
elementwise("mod", lambda g, y, a, b: g, lambda g, y, a, b: -g * np.floor(a / b))
# At a tie both operands get half, which is what central differences see.
elementwise(
    "maximum",
    lambda g, y, a, b: g * ((a > b) + 0.5 * (a == b)),
    lambda g, y, a, b: g * ((b > a) + 0.5 * (a == b)),
)
elementwise(
    "minimum",
    lambda g, y, a, b: g * ((a < b) + 0.5 * (a == b)),
    lambda g, y, a, b: g * ((b < a) + 0.5 * (a == b)),
)
elementwise(
    "arctan2",
    lambda g, out, y, x: g * x / (x**2 + y**2),
    lambda g, out, y, x: -g * y / (x**2 + y**2),
)
elementwise("hypot", lambda g, y, a, b: g * a / y, lambda g, y, a, b: g * b / y)
elementwise(
    "logaddexp",
    lambda g, y, a, b: g * np.exp(a - y),
    lambda g, y, a, b: g * np.exp(b - y),
)
elementwise(
    "where",
    None,
    lambda g, y, c, a, b: np.where(c, g, 0.0),
    lambda g, y, c, a, b: np.where(c, 0.0, g),
)


def _clip_inside(a, lo, hi):
    if lo.is_const and lo.value is None:
        return a <= hi
    if hi.is_const and hi.value is None:
        return a >= lo
    return (a >= lo) & (a <= hi)


elementwise(
    "clip",
    lambda g, y, a, lo, hi: g * _clip_inside(a, lo, hi),
    lambda g, y, a, lo, hi: g * (a < lo),
    lambda g, y, a, lo, hi: g * (a > hi),
)

# --- reductions -------------------------------------------------------------------------


def _mean(g, y, a, axis=None, keepdims=False):
    count = np.size(a) if axis is None else np.size(a) / np.size(y)
    return rt.unreduce(g / count, a, axis=axis, keepdims=keepdims)


structural("sum", lambda g, y, a, **p: rt.unreduce(g, a, **p))
structural("mean", _mean)
structural("prod", lambda g, y, a, **p: rt.prod_adjoint(g, a, **p))
structural("max", lambda g, y, a, **p: rt.extremum_adjoint(g, a, y, **p))
structural("min", lambda g, y, a, **p: rt.extremum_adjoint(g, a, y, **p))

# --- shapes -----------------------------------------------------------------------------


def _transpose(g, y, a, axes=None, attr=False):
    if axes is None:  # np.transpose, not .T: the adjoint may be a Python float
        return np.transpose(g)
    n = len(axes)  # a permutation names every axis, so n is the rank
    inverse = tuple(sorted(range(n), key=lambda i: axes[i] % n))
    return np.transpose(g, axes=inverse)


structural("transpose", _transpose)
structural("reshape", lambda g, y, a, shape: np.reshape(g, np.shape(a)), None)
structural("expand_dims", lambda g, y, a, axis: np.reshape(g, np.shape(a)))
structural("broadcast_to", lambda g, y, a, shape: rt.unbroadcast(g, a), None)
