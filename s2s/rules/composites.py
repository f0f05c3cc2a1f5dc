"""Composite rules: patterns of ops whose derivative is simpler and more stable than
the chain of their single rules (the reverse pass uses them instead)."""

from __future__ import annotations

from typing import Any, Callable

from ..ir import Const

# Some patterns of ops have a derivative that is simpler and more stable than the chain
# of their single rules: d log(sigmoid(z))/dz = 1 - sigmoid(z), where the chain computes
# g / a * a * (1 - a) and fails once a underflows to 0.  Each entry matches its pattern
# ending at an op of the forward graph (`made(x, prim)` is the op of that primitive that
# made x, or None) and returns the contributions to the pattern's inputs, as rules of
# the op's adjoint `g` and `value` (which turns a forward value into a symbolic one).
# The reverse pass uses them instead of the op's own rule.

Made = Callable[[Any, str], Any]


def _is_const(x: Any, value: float) -> bool:
    return isinstance(x, Const) and type(x.value) in (int, float) and x.value == value


def _sigmoid_input(x: Any, made: Made) -> Any:
    """z when x = 1 / (1 + exp(-z)) (or 1 / (exp(-z) + 1)), else None."""
    div = made(x, "div")
    if div is None or not _is_const(div.args[0], 1):
        return None
    add = made(div.args[1], "add")
    if add is None:
        return None
    terms = [a for a in add.args if not _is_const(a, 1)]
    exp = made(terms[0], "exp") if len(terms) == 1 else None
    neg = made(exp.args[0], "neg") if exp is not None else None
    return neg.args[0] if neg is not None else None


def _one_minus(x: Any, made: Made) -> Any:
    """y when x = 1 - y, else None."""
    sub = made(x, "sub")
    return sub.args[1] if sub is not None and _is_const(sub.args[0], 1) else None


def _log_sigmoid(op, made: Made):
    """log(a) and log(1 - a) with a = sigmoid(z): d/dz is 1 - a and -a."""
    a = op.args[0]
    z = _sigmoid_input(a, made)
    if z is not None:
        return [(z, lambda g, value: g * (1 - value(a)))]
    a = _one_minus(a, made)
    z = _sigmoid_input(a, made) if a is not None else None
    if z is not None:
        return [(z, lambda g, value: -g * value(a))]
    return None


def _factors(x: Any, made: Made) -> list[tuple[Any, Any]]:
    """The (log argument, other factor) pairs x = other * log(arg) can be read as."""
    mul = made(x, "mul")
    if mul is None:
        return []
    pairs = []
    for k in (0, 1):
        log = made(mul.args[k], "log")
        if log is not None:
            pairs.append((log.args[0], mul.args[1 - k]))
    return pairs


def _binary_cross_entropy(op, made: Made):
    """y * log(a) + (1 - y) * log(1 - a) with a = sigmoid(z), the log-likelihood of
    logistic regression: d/dz = y - a, d/dy = z (the chain divides by a and 1 - a)."""
    for first, second in (op.args, op.args[::-1]):
        for a, y in _factors(first, made):
            z = _sigmoid_input(a, made)
            for rest, not_y in _factors(second, made):
                if z is not None and _one_minus(rest, made) is a:
                    if _one_minus(not_y, made) is y:
                        return [
                            (z, lambda g, value: g * (value(y) - value(a))),
                            (y, lambda g, value: g * value(z)),
                        ]
    return None


def _log_sum_exp(op, made: Made):
    """m + log(sum(exp(o - m), axis, keepdims=True)) with m = max(o, axis,
    keepdims=True), the stable log-sum-exp: d/do = softmax(o); m only shifts."""
    for m, log_s in (op.args, op.args[::-1]):
        log = made(log_s, "log")
        total = made(log.args[0], "sum") if log is not None else None
        exp = made(total.args[0], "exp") if total is not None else None
        sub = made(exp.args[0], "sub") if exp is not None else None
        peak = made(m, "max")
        if sub is None or peak is None or sub.args[1] is not m:
            continue
        o, axis = sub.args[0], total.params.get("axis")
        same_axis = peak.params.get("axis") == axis and peak.args[0] is o
        if same_axis and total.params.get("keepdims") and peak.params.get("keepdims"):
            e, s = exp.out, total.out
            return [(o, lambda g, value: g * value(e) / value(s))]
    return None


#: Outer op -> the composite rules that may apply to it, tried in order.
COMPOSITES: dict[str, tuple[Callable, ...]] = {
    "log": (_log_sigmoid,),
    "add": (_binary_cross_entropy, _log_sum_exp),
}
