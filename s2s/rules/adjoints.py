"""The adjoint rules of the built-in primitives: one small function per operand.

A rule is called as ``rule(g, y, *operands, **params)`` with Syms for the output
adjoint `g`, the output `y` and the operands, and returns the adjoint contribution for
its operand (or None for a zero).  Rules are written with `np` bound to a symbolic
numpy (:class:`s2s.ir.SymbolicNumpy`), so each rule reads exactly like the code it
generates; `rt` reaches the helpers of :mod:`s2s.runtime`.

Every primitive is registered with its kind (:data:`KINDS`), which says how its
derivative acts on a perturbation, for the passes that need more than the adjoint:

- ``linear``: the derivative is the op itself applied to the perturbations of its
  differentiable operands (add, sum, transpose, reshape, getitem, concatenate);
- ``bilinear``: linear in each operand separately, so the derivative is the sum of
  the op with one operand replaced by its perturbation (mul, matmul, dot, outer,
  einsum, for any number of operands);
- ``elementwise``: each output element depends on the matching input elements only,
  so each rule is ``g`` times a partial derivative and applies to a perturbation as
  it does to an adjoint (exp, div, maximum, clip);
- ``other``: none of these (prod, max, var, norm).

Broadcasting is not undone here: for the primitives in :data:`BROADCASTING` the
reverse pass sums each contribution back to its operand's shape, in one place.
"""

from __future__ import annotations

import math
import string

from ..primitives import parse_einsum
from .registry import (
    EachOperand,
    along,
    bilinear,
    elementwise,
    linear,
    not_twice,
    np,
    other,
    register_rules,
    rt,
    tape,
    zero,
)

zero(
    *("sign", "floor", "ceil", "floordiv", "lt", "le", "gt", "ge", "eq", "ne"),
    *("and", "or", "not", "both", "either", "shape", "ndim", "size", "zeros_like"),
    *("zeros", "tuple", "len", "range", "reversed", "int", "new_stack"),
    *("ones_like", "ones", "eye", "arange", "round", "builtin_round"),
    *("argmax", "argmin", "check_scalar", "check_shapes", "check_unshared"),
    *("section", "module", "attribute", "check_unchanged", "check_shape"),
    *("closure_variable", "global_variable", "print", "format", "raise"),
    *("isnan", "isinf", "isfinite", "is", "is_not"),
    *("invert", "logical_not", "logical_and", "logical_or", "all", "any"),
)
tape("push", "pop")

# --- linear ---------------------------------------------------------------------------

linear("add", lambda g, y, a, b: g, lambda g, y, a, b: g, broadcasting=True)
linear("sub", lambda g, y, a, b: g, lambda g, y, a, b: -g, broadcasting=True)
linear("neg", lambda g, y, x: -g, broadcasting=True)
linear("copy", lambda g, y, x: g)
linear("float", lambda g, y, x: g)
linear("getitem", lambda g, y, x, *index, spec: rt.unindex(g, x, *index, spec=spec))

# --- bilinear ---------------------------------------------------------------------------

bilinear("mul", lambda g, y, a, b: g * b, lambda g, y, a, b: g * a, broadcasting=True)
bilinear(
    "matmul",
    lambda g, y, a, b: rt.matmul_adjoint_a(g, a, b),
    lambda g, y, a, b: rt.matmul_adjoint_b(g, a, b),
)
bilinear(
    "dot",
    lambda g, y, a, b: rt.dot_adjoint_a(g, a, b),
    lambda g, y, a, b: rt.dot_adjoint_b(g, a, b),
)
# np.outer flattens its arguments: out[i, j] = a.flat[i] * b.flat[j].
bilinear(
    "outer",
    lambda g, y, a, b: np.reshape(g @ np.ravel(b), np.shape(a)),
    lambda g, y, a, b: np.reshape(np.ravel(a) @ g, np.shape(b)),
)


def _einsum(k, g, y, *operands, subscripts):
    """Contract the output adjoint with the other operands back to operand k's labels.

    Labels only operand k has are summed over in the forward einsum: its adjoint is
    constant along them, so they come back as size-1 axes that `_unbroadcast`
    stretches.  It also sums what the einsum broadcast: size-1 axes and `...`.  A
    label repeated in operand k (a diagonal, `ii->i`) is put back on the diagonal.
    """
    inputs, output = parse_einsum(subscripts, len(operands))
    mine = inputs[k]
    others = [s for j, s in enumerate(inputs) if j != k]
    known = set(output).union(*others)
    target = [c for c in dict.fromkeys(mine) if c in known]
    if "..." in known and "..." not in mine:
        target.insert(0, "...")  # numpy cannot sum `...` away: _unbroadcast does
    spec = ",".join("".join(s) for s in [output, *others]) + "->" + "".join(target)
    rest = [x for j, x in enumerate(operands) if j != k]
    # (`j->j` gives g as it is: only a diagonal of the operand has the output's labels)
    part = g if target == output and not rest else np.einsum(g, *rest, subscripts=spec)
    # Count from the end where a `...` of unknown length comes before the label.
    dots = mine.index("...") if "..." in mine else len(mine)
    if "..." in target and "..." not in mine:
        dots = -1
    axes = [i if i < dots else i - len(mine) for i in range(len(mine))]
    if len(set(mine)) < len(mine):
        part = _on_diagonals(part, target, mine, known, operands[k], axes)
    missing = [i for i, c in enumerate(mine) if c not in known and mine.count(c) == 1]
    if missing:
        part = np.expand_dims(part, axis=tuple(axes[i] for i in missing))
    return rt.unbroadcast(part, operands[k])


def _on_diagonals(part, labels, mine, known, x, axes):
    """`part` (with the distinct labels of `mine` it has) laid out like `mine`: each
    repeat of a label is another axis, part's values on the diagonal (an identity
    matrix of the label's size per repeat).  Labels of `mine` that appear once and
    are summed away stay out (expand_dims puts them back)."""
    spare = iter(c for c in string.ascii_letters if c not in set(mine) | known)
    layout, eyes, seen = [], [], {}
    for i, c in enumerate(mine):
        if c not in known and mine.count(c) == 1:
            continue
        if c in seen:  # a repeat: a new label, tied to the first by an identity
            fresh = next(spare)
            eyes.append((c + fresh, np.eye(np.shape(x)[seen[c]])))
            layout.append(fresh)
        else:
            seen[c] = axes[i]
            layout.append(c)
    if "..." in labels and "..." not in mine:
        layout.insert(0, "...")
    spec = ",".join(["".join(labels), *(s for s, _ in eyes)]) + "->" + "".join(layout)
    return np.einsum(part, *(eye for _, eye in eyes), subscripts=spec)


register_rules("einsum", "bilinear", EachOperand(_einsum))

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
elementwise("arcsinh", lambda g, y, x: g / np.sqrt(x**2 + 1))
elementwise("arccosh", lambda g, y, x: g / np.sqrt(x**2 - 1))
elementwise("arctanh", lambda g, y, x: g / (1 - x**2))
elementwise("reciprocal", lambda g, y, x: -g * y**2)
elementwise("cbrt", lambda g, y, x: g / (3 * y**2))


def _sinc(g, y, x):
    """sinc'(x) = (cos(u) - sinc(x)) / x with u = pi x, which loses the digits it
    has near 0: there (|u| < 0.1) its series, -pi u (1/3 - u**2/30 + ...), exact to
    rounding and in its own derivative (a second derivative at 0 is -pi**2 / 3)."""
    u = math.pi * x
    near = np.abs(u) < 0.1
    u2 = u * u
    series = math.pi * u * (u2 * (u2 * (u2 / 45360 - 1 / 840) + 1 / 30) - 1 / 3)
    slope = (np.cos(u) - y) / np.where(near, 1.0, x)
    return g * np.where(near, series, slope)


elementwise("sinc", _sinc)
# math.erf and its relatives, of Python floats: exp is math.exp in these rules.
TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
elementwise("erf", lambda g, y, x: g * TWO_OVER_SQRT_PI * np.exp(-(x**2)))
elementwise("erfc", lambda g, y, x: -g * TWO_OVER_SQRT_PI * np.exp(-(x**2)))
elementwise("gamma", lambda g, y, x: g * y * rt.digamma(x))
elementwise("lgamma", lambda g, y, x: g * rt.digamma(x))
elementwise("digamma", lambda g, y, x: g * rt.polygamma(x, n=1))
elementwise("polygamma", lambda g, y, x, n: g * rt.polygamma(x, n=n + 1))

# --- elementwise, several arguments -----------------------------------------------------


def _pow_base(g, y, a, b):
    if b.is_const and b.value == 0:
        return None  # x ** 0 is constant (and 0 * 0.0 ** -1 would divide by zero)
    if b.is_const:
        return g * b * a ** (b - 1)
    # Where the base and the exponent are 0 the term is 0 * 0 ** -1: use 1 ** -1 there.
    # (Only the base is replaced, so the term's derivative in b is still right at b == 0.)
    return g * b * np.where((a == 0) & (b == 0), 1.0, a) ** (b - 1)


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
linear(
    "where",
    None,
    lambda g, y, c, a, b: np.where(c, g, 0.0),
    lambda g, y, c, a, b: np.where(c, 0.0, g),
    broadcasting=True,
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


def _count(a, y, axis):
    """How many elements of `a` each element of its reduction `y` summarizes."""
    return np.size(a) if axis is None else np.size(a) / np.size(y)


def _mean(g, y, a, axis=None, keepdims=False):
    return rt.unreduce(g / _count(a, y, axis), a, axis=axis, keepdims=keepdims)


def _centred(a, axis):
    return a - np.mean(a, axis=axis, keepdims=True)


def _var(g, y, a, axis=None, ddof=0, keepdims=False):
    spread = rt.unreduce(g, a, axis=axis, keepdims=keepdims) * _centred(a, axis)
    return spread * (2 / (_count(a, y, axis) - ddof))


def _std(g, y, a, axis=None, ddof=0, keepdims=False):
    # Where every element is equal, std has a kink; both sides agree on 0.
    safe = np.where(y == 0, 1.0, y)
    spread = rt.unreduce(g / safe, a, axis=axis, keepdims=keepdims) * _centred(a, axis)
    return spread / (_count(a, y, axis) - ddof)


def _norm(g, y, x, ord=None, axis=None, keepdims=False):
    if ord == 2 and not isinstance(axis, int):  # the spectral norm of a matrix
        direction = rt.spectral_direction(x, axis=axis)
        return rt.unreduce(g, x, axis=axis, keepdims=keepdims) * direction
    if ord == 1:
        return rt.unreduce(g, x, axis=axis, keepdims=keepdims) * np.sign(x)
    # At the origin the 2-norm has a kink; central differences see 0 there.
    safe = np.where(y == 0, 1.0, y)
    return rt.unreduce(g / safe, x, axis=axis, keepdims=keepdims) * x


linear("sum", lambda g, y, a, **p: rt.unreduce(g, a, **p))
linear("mean", _mean)
other("prod", lambda g, y, a, **p: rt.prod_adjoint(g, a, **p))
other("max", lambda g, y, a, **p: rt.extremum_adjoint(g, a, y, **p))
other("min", lambda g, y, a, **p: rt.extremum_adjoint(g, a, y, **p))
other("var", _var)
other("std", _std)
other("norm", _norm)


def _flip(x, axis):
    return x[along(axis, slice(None, None, -1))]


def _cumsum(g, y, a, axis=None):
    # Each input element feeds every later output: sum the adjoint from the end.
    if axis is None:
        return np.reshape(_flip(np.cumsum(_flip(g, 0)), 0), np.shape(a))
    return _flip(np.cumsum(_flip(g, axis), axis=axis), axis)


linear("cumsum", _cumsum)
linear("trace", lambda g, y, a, **p: rt.trace_adjoint(g, a, **p))
linear("diag", lambda g, y, v, k=0: rt.diag_adjoint(g, v, k=k))

# --- shapes -----------------------------------------------------------------------------


def _transpose(g, y, a, axes=None, attr=False):
    if axes is None:  # np.transpose, not .T: the adjoint may be a Python float
        return np.transpose(g)
    n = len(axes)  # a permutation names every axis, so n is the rank
    inverse = tuple(sorted(range(n), key=lambda i: axes[i] % n))
    return np.transpose(g, axes=inverse)


def _like(g, y, a, *rest, **params):
    """Adjoint of an op that only rearranges a's elements into a new shape."""
    return np.reshape(g, np.shape(a))


linear("transpose", _transpose)
linear("reshape", _like, None)
linear("expand_dims", _like)
linear("squeeze", _like)
linear("ravel", _like)
linear("array_copy", lambda g, y, a: g)
linear("broadcast_to", lambda g, y, a, shape: rt.unbroadcast(g, a), None)


def _concatenate(k, g, y, *arrays, axis=0):
    """The slice of g that holds arrays[k]: it starts after the arrays before it."""
    size = (lambda a: np.size(a)) if axis is None else (lambda a: np.shape(a)[axis])
    start = sum((size(a) for a in arrays[:k]), 0)
    stop = None if k == len(arrays) - 1 else start + size(arrays[k])
    part = g[along(0 if axis is None else axis, slice(None if k == 0 else start, stop))]
    return np.reshape(part, np.shape(arrays[k])) if axis is None else part


def _stack(k, g, y, *arrays, axis=0):
    return g[along(axis, k)]


linear("concatenate", EachOperand(_concatenate))
linear("stack", EachOperand(_stack))
linear("hstack", EachOperand(lambda k, g, y, *a: rt.hstack_adjoint(g, *a, part=k)))
linear("vstack", EachOperand(lambda k, g, y, *a: rt.vstack_adjoint(g, *a, part=k)))

# --- constructors -----------------------------------------------------------------------

other("full_like", None, lambda g, y, a, fill, dtype=None: rt.fill_adjoint(g, y, fill))
other("full", None, lambda g, y, shape, fill, dtype=None: rt.fill_adjoint(g, y, fill))

# --- the helpers that generated gradients call ------------------------------------------
#
# A gradient s2s generates is itself differentiated (s2s.grad of s2s.grad, Hessian-vector
# products), so the adjoint helpers of s2s.runtime have rules too.  Each is linear in its
# first operand, the adjoint `g` it transforms; the other operands are read for their
# shapes only (nondiff in primitives.py), except where said.  The adjoint of a helper
# that sums back (transposes) a linear map is the map itself, and vice versa.


def _summed_back(helper):
    """Rule for `g` of a helper that is `unreduce(g) * weights(a)`: the weights summed
    over the reduced axes (np.ones_like(g) as g gives the weights themselves)."""

    def rule(G, y, g, *args, axis=None, keepdims=False):
        weights = helper(np.ones_like(g), *args, axis=axis, keepdims=keepdims)
        return rt.unbroadcast(np.sum(G * weights, axis=axis, keepdims=keepdims), g)

    return rule


def _unreduce_back(G, y, g, like, axis=None, keepdims=False):
    return rt.unbroadcast(np.sum(G, axis=axis, keepdims=keepdims), g)


linear("unbroadcast", lambda G, y, g, like: rt.unbroadcast(G, g), None)
linear("unbroadcast_to", lambda G, y, g, shape: rt.unbroadcast(G, g), None)
linear("unreduce", _unreduce_back, None)
linear("unreduce_to", _unreduce_back, None)
other(
    "prod_adjoint",
    _summed_back(lambda g, a, **p: rt.prod_adjoint(g, a, **p)),
    not_twice("np.prod"),
)
linear(
    "extremum_adjoint",
    _summed_back(lambda g, a, y, **p: rt.extremum_adjoint(g, a, y, **p)),
    None,
    None,
)
# A bilinear op B(a, b) with adjoints A_a(g, a, b) and A_b(g, a, b): A_a is bilinear in
# g and b (a gives only its shape), with adjoints B(G, b) for g and A_b(g, G, b) for b.
bilinear(
    "matmul_adjoint_a",
    lambda G, y, g, a, b: rt.unbroadcast(G @ b, g),
    None,
    lambda G, y, g, a, b: rt.matmul_adjoint_b(g, G, b),
)
bilinear(
    "matmul_adjoint_b",
    lambda G, y, g, a, b: rt.unbroadcast(a @ G, g),
    lambda G, y, g, a, b: rt.matmul_adjoint_a(g, a, G),
    None,
)
bilinear(
    "dot_adjoint_a",
    lambda G, y, g, a, b: rt.unbroadcast(np.dot(G, b), g),
    None,
    lambda G, y, g, a, b: rt.dot_adjoint_b(g, G, b),
)
bilinear(
    "dot_adjoint_b",
    lambda G, y, g, a, b: rt.unbroadcast(np.dot(a, G), g),
    lambda G, y, g, a, b: rt.dot_adjoint_a(g, a, G),
    None,
)
linear(
    "trace_adjoint",
    lambda G, y, g, a, **p: rt.unbroadcast(np.trace(G, **p), g),
    None,
)
linear("diag_adjoint", lambda G, y, g, v, k=0: np.diag(G, k=k), None)
linear(
    "fill_adjoint", lambda G, y, g, out, fill: rt.fill_adjoint(G, out, g), None, None
)


def _unindex(k, G, y, g, like, *index, spec, broadcast=False):
    if k != 0:
        return None
    part = G.apply("getitem", G, *index, spec=spec)
    # g was spread over the part it fills (`acc[1:3] += t`): sum it back
    return rt.unbroadcast(part, g) if broadcast else part


def _stack_back(join):
    """Rule for `g` of hstack_adjoint/vstack_adjoint: G in its part's place, zeros in
    the others'."""

    def rule(k, G, y, g, *arrays, part=0):
        if k != 0:
            return None
        parts = [
            G if j == part else np.zeros(np.shape(a)) for j, a in enumerate(arrays)
        ]
        return G.apply(join, *parts)

    return rule


linear("unindex", EachOperand(_unindex))


def _setitem(k, G, y, x, value, *index, spec):
    """x's adjoint is G without the part the value replaced; the value's is that
    part (summed back where the value was spread over it)."""
    if k == 0:
        return rt.setitem(G, 0.0, *index, spec=spec)
    if k == 1:
        return rt.unbroadcast(G.apply("getitem", G, *index, spec=spec), value)
    return None


linear("setitem", EachOperand(_setitem))
linear("hstack_adjoint", EachOperand(_stack_back("hstack")))
linear("vstack_adjoint", EachOperand(_stack_back("vstack")))
