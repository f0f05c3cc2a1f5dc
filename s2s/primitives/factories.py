"""The kinds of record the catalogues are made of (an operator, a ufunc, a reduction,
a joining function, a runtime helper) and the static parameters they share; each
factory fills in the facts its kind always has."""

from __future__ import annotations

from typing import Any

from .record import Primitive

REDUCE = (("axis", None), ("keepdims", False))
LIKE = frozenset({"like"})
SHAPE = frozenset({"shape"})
DTYPE = (("dtype", None),)
SPREAD = (("axis", None), ("ddof", 0), ("keepdims", False))
BOOL = {"dtype": "bool", "cost": "number"}  # a condition
ARITHMETIC = {"cost": "number"}  # cheap on numbers (not on arrays)


def operator(
    name: str,
    node: type,
    ufunc: str,
    operands: tuple[str, ...] = ("x", "y"),
    **facts: Any,
) -> Primitive:
    """A Python operator, also the numpy ufunc `ufunc` (`np.add(x, y)`), which the
    array API standard calls the same unless `array_api` says otherwise."""
    facts.setdefault("array_api", ufunc)
    return Primitive(
        name, operands, operator=node, ufunc=ufunc, elementwise=True, **facts
    )


def ufunc(name: str, math_name: str | None = None, **facts: Any) -> Primitive:
    """A numpy ufunc of one argument (and its `math` counterpart)."""
    return Primitive(
        name, ("x",), numpy=name, math=math_name, elementwise=True, **facts
    )


def ufunc2(
    name: str,
    operands: tuple[str, ...] = ("x", "y"),
    math_name: str | None = None,
    **facts: Any,
) -> Primitive:
    """A numpy ufunc of several arguments."""
    return Primitive(
        name, operands, numpy=name, math=math_name, elementwise=True, **facts
    )


def transcendental(
    name: str, math_name: str | None = None, array_api: str | None = None
) -> Primitive:
    """A ufunc whose result is a float (of any operands), cheap to hoist; each is in
    the array API standard (as `array_api` where its name differs)."""
    return ufunc(
        name, math_name, dtype="float", hoistable=True, array_api=array_api or name
    )


def math_only(name: str) -> Primitive:
    """A function of `math` that numpy does not have (`math.erf`): of one Python
    float, to a float; it may raise (`math.gamma(0.0)`), so it is not hoisted."""
    return Primitive(name, ("x",), math=name, elementwise=True, dtype="float")


def reduction(
    name: str, static: tuple, **facts: Any
) -> Primitive:  # numpy puts dtype and out before keepdims
    return Primitive(
        name, ("a",), static, numpy=name, max_positional=2, reduction=True, **facts
    )


def _check_concatenate(static: dict[str, Any], count: int) -> tuple[str, str] | None:
    if count == 0:
        return (
            "nothing to join",
            "Pass a list of arrays, e.g. np.concatenate([a, b]).",
        )
    return None


def joining(
    name: str, operands: tuple[str, ...], static: tuple, array_api: str | None = None
) -> Primitive:
    """np.concatenate and its relatives: any number of arrays, passed as one list."""
    return Primitive(
        name,
        operands,
        static,
        numpy=name,
        variadic=True,
        sequence=True,
        max_positional=1 + len(static),
        check=_check_concatenate,
        hint="joined" if name == "concatenate" else "stacked",
        array_api=array_api,
    )


def helper(name: str, operands: tuple[str, ...], **facts: Any) -> Primitive:
    """A helper of :mod:`s2s.runtime`, written into the modules that call it."""
    return Primitive(name, operands, helper="_" + name, **facts)
