"""Registering derivative rules: each primitive's :class:`~s2s.primitives.Derivative`
(its kind and its rules) is attached to its record.  Rules are written with `np`, a
symbolic numpy, and `rt`, which reaches the helpers of :mod:`s2s.runtime`."""

from __future__ import annotations

from typing import Callable, Iterator, Optional

from ..errors import NotTwiceDifferentiableError, RuleError
from ..ir import Sym, SymbolicNumpy
from ..primitives import PRIMITIVES, Derivative

np = SymbolicNumpy()
rt = SymbolicNumpy()

Rule = Callable[..., Optional[Sym]]

#: The kinds a rule's primitive may be of (see the module docstring of s2s.rules).
KIND_NAMES = ("linear", "bilinear", "elementwise", "other")


def along(axis, item):
    """An index that applies `item` on `axis` (static), e.g. (slice(None), k)."""
    full = slice(None)
    if axis >= 0:
        index = (full,) * axis + (item,)
    else:
        index = (Ellipsis, item) + (full,) * (-axis - 1)
    return index if len(index) > 1 else index[0]


class EachOperand:
    """The rules of a primitive that takes any number of operands: iterating gives,
    for operand k, ``rule(k, g, y, *operands, **params)``."""

    def __init__(self, rule: Callable[..., Optional[Sym]]):
        self.rule = rule

    def __iter__(self) -> Iterator[Rule]:
        k = 0
        while True:
            yield lambda g, y, *args, _k=k, **p: self.rule(_k, g, y, *args, **p)
            k += 1


def _record(prim: str):
    record = PRIMITIVES.get(prim)
    if record is None:
        raise RuleError(
            f"a derivative rule is registered for {prim!r}, which is not a primitive",
            hint="Register the primitive first (s2s.register does both).",
        )
    return record


def register_rules(
    prim: str,
    kind: str,
    rules: tuple[Optional[Rule], ...] | EachOperand,
    broadcasting: bool = False,
) -> None:
    """Attach a primitive's rules and kind to its record (built-in and custom
    alike); a primitive s2s does not know is an error."""
    if kind not in KIND_NAMES:
        raise ValueError(f"kind must be one of {', '.join(KIND_NAMES)}, not {kind!r}")
    if (
        isinstance(rules, tuple)
        and len(rules) == 1
        and isinstance(rules[0], EachOperand)
    ):
        rules = rules[0]
    _record(prim).derivative = Derivative(kind, rules, broadcasting)


def linear(prim: str, *rules: Optional[Rule], broadcasting: bool = False) -> None:
    register_rules(prim, "linear", rules, broadcasting)


def bilinear(prim: str, *rules: Optional[Rule], broadcasting: bool = False) -> None:
    register_rules(prim, "bilinear", rules, broadcasting)


def elementwise(prim: str, *rules: Optional[Rule]) -> None:
    """An elementwise op: its operands broadcast, so contributions are summed back."""
    register_rules(prim, "elementwise", rules, broadcasting=True)


def other(prim: str, *rules: Optional[Rule]) -> None:
    """An op that handles shapes in its own rule and is neither linear nor bilinear."""
    register_rules(prim, "other", rules)


def zero(*prims: str) -> None:
    """Steps: their derivative is zero wherever it exists (comparisons, shapes,
    rounding, indices of extrema)."""
    for prim in prims:
        _record(prim).derivative = Derivative("zero")


def tape(*prims: str) -> None:
    """The tape operations: what is popped is what was pushed, so derivatives flow
    through them; the reverse and forward passes handle them structurally."""
    for prim in prims:
        _record(prim).derivative = Derivative("tape")


def tangent(prim: str, rule: Callable[..., Optional[Sym]]) -> None:
    """An explicit tangent rule, for a primitive of kind "other":
    ``rule(tangents, y, *operands, **params)``, where tangents maps an operand's
    position to its tangent (operands without one are left out)."""
    _record(prim).derivative.tangent = rule


def not_twice(name, advice=None):
    """The rule of an operand whose derivative s2s does not take: it refuses,
    naming the user's line (a gradient that would need it is not generated)."""

    def rule(G, y, g, *args, **params):
        raise NotTwiceDifferentiableError(
            f"s2s cannot differentiate the gradient of {name} again",
            G.builder.loc,
            advice
            or "Second derivatives through it are not supported yet; write it with "
            "other operations (for example a product as np.exp(np.sum(np.log(x))) "
            "for positive x), or differentiate only once.",
        )

    return rule
