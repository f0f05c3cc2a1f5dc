"""The array functions: scans (cumsum, cumprod, diff), sorting, and the functions
that select, rearrange, repeat or pad an array's elements."""

from __future__ import annotations

from typing import Any, Optional

from .record import Primitive

Problem = Optional[tuple[str, str]]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _ints(value: Any) -> bool:
    """An int, or a tuple of ints."""
    return _is_int(value) or (
        isinstance(value, tuple) and all(_is_int(v) for v in value)
    )


def _check_diff(static: dict[str, Any], count: int) -> Problem:
    n = static.get("n")
    if not _is_int(n) or n < 0:
        return (
            f"np.diff: n={n!r} must be a non-negative integer",
            "Pass the order of the difference as an integer, e.g. np.diff(x, n=2).",
        )
    for name in ("prepend", "append"):
        value = static.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float))
        ):
            return (
                f"np.diff: {name}={value!r} is not handled by s2s's rule, which "
                "takes a number there",
                "Join the values to the array first: np.diff(np.concatenate([v, x])).",
            )
    return _check_axes(static, ("axis",))


def _check_axes(static: dict[str, Any], names: tuple[str, ...]) -> Problem:
    for name in names:
        value = static.get(name)
        if not _ints(value) and not (name == "axis" and value is None):
            return (
                f"the {name} {value!r} must be an integer (or a tuple of them)",
                f"Pass {name} as a constant integer, e.g. {name}=0.",
            )
    return None


def _check_swapaxes(static: dict[str, Any], count: int) -> Problem:
    return _check_axes(static, ("axis1", "axis2"))


def _check_moveaxis(static: dict[str, Any], count: int) -> Problem:
    problem = _check_axes(static, ("source", "destination"))
    source, destination = static.get("source"), static.get("destination")
    if problem is None and isinstance(source, tuple) != isinstance(destination, tuple):
        return (
            f"np.moveaxis: source {source!r} and destination {destination!r} must "
            "both be integers or both tuples",
            "Write np.moveaxis(a, (0, 1), (-1, -2)) or np.moveaxis(a, 0, -1).",
        )
    return problem


def _check_tile(static: dict[str, Any], count: int) -> Problem:
    reps = static.get("reps")
    if not _ints(reps) or any(
        r < 0 for r in (reps if isinstance(reps, tuple) else (reps,))
    ):
        return (
            f"np.tile: reps={reps!r} must be a non-negative integer or a tuple of them",
            "Pass the number of copies along each axis, e.g. np.tile(a, (2, 1)).",
        )
    return None


def _check_repeat(static: dict[str, Any], count: int) -> Problem:
    repeats = static.get("repeats")
    if not _is_int(repeats) or repeats < 0:
        return (
            f"np.repeat: repeats={repeats!r} is not handled by s2s's rule, which "
            "repeats every element the same (constant) number of times",
            "Pass one non-negative integer, e.g. np.repeat(a, 3, axis=0); for "
            "counts that differ, index: a[np.repeat(np.arange(len(a)), counts)].",
        )
    return _check_axes(static, ("axis",))


def _check_pad(static: dict[str, Any], count: int) -> Problem:
    mode, value = static.get("mode"), static.get("constant_values")
    if mode != "constant":
        return (
            f"np.pad with mode={mode!r} is not handled by s2s's rule",
            "Use mode='constant' (the default), or build the padding from slices "
            "and np.concatenate, e.g. np.concatenate([x[1:0:-1], x, x[-2:-3:-1]]) "
            "for mode='reflect' by one element.",
        )
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return (
            f"np.pad: constant_values={value!r} is not handled by s2s's rule, which "
            "pads with one number",
            "Pad with one number, e.g. constant_values=0.0.",
        )
    return None


def _check_triangle(static: dict[str, Any], count: int) -> Problem:
    k, m = static.get("k"), static.get("m")
    if not _is_int(k):
        return (
            f"the diagonal offset k={k!r} must be an integer",
            "Pass k as a constant integer, e.g. k=1 for the part above the diagonal.",
        )
    if m is not None and not (_is_int(m) and m >= 0):
        return (
            f"the number of columns m={m!r} must be a non-negative integer",
            "Pass m as a constant integer, or leave it off for a square matrix.",
        )
    return None


def _triangle_indices(name: str, source: str) -> list[Primitive]:
    """`rows, columns = np.triu_indices(n, k, m)` (or of an array's shape, `_from`):
    one primitive per item, int arrays that index; no derivative flows in them."""
    operands, static = (
        (("n",), (("k", 0), ("m", None))) if source == "n" else (("arr",), (("k", 0),))
    )
    return [
        Primitive(
            f"{name}_{part}",
            operands,
            static,
            nondiff=frozenset(operands),
            numpy=name,
            item=item,
            counts=0 if source == "n" else None,
            shape_only=0 if source == "arr" else None,
            check=_check_triangle,
            dtype="int",
            allocates=True,
            hint=part,
        )
        for item, part in enumerate(("rows", "columns"))
    ]


#: The array functions, in the order docs/rules.md lists them.
ARRAYS = [
    Primitive("cumsum", ("a",), (("axis", None),), numpy="cumsum", max_positional=2),
    Primitive("cumprod", ("a",), (("axis", None),), numpy="cumprod", max_positional=2),
    Primitive(
        "diff",
        ("a",),
        (("n", 1), ("axis", -1), ("prepend", None), ("append", None)),
        numpy="diff",
        max_positional=3,
        check=_check_diff,
        hint="differences",
    ),
    # `kind` picks numpy's algorithm: the sorted values are the same.
    Primitive(
        "sort",
        ("a",),
        (("axis", -1), ("kind", None)),
        numpy="sort",
        max_positional=3,
        hint="ordered",
    ),
    Primitive(
        "argsort",
        ("a",),
        (("axis", -1), ("kind", None)),
        numpy="argsort",
        max_positional=3,
        dtype="int",
        hint="order",
    ),
    Primitive(
        "take",
        ("a", "indices"),
        (("axis", None),),
        nondiff=frozenset({"indices"}),
        numpy="take",
        max_positional=3,
        counts=1,
        hint="taken",
    ),
    Primitive(
        "take_along_axis",
        ("arr", "indices"),
        (("axis", -1),),
        nondiff=frozenset({"indices"}),
        numpy="take_along_axis",
        max_positional=3,
        counts=1,
        hint="taken",
    ),
    Primitive(
        "flip",
        ("m",),
        (("axis", None),),
        numpy="flip",
        max_positional=2,
        view=True,
        hint="flipped",
    ),
    Primitive(
        "roll",
        ("a", "shift"),
        (("axis", None),),
        nondiff=frozenset({"shift"}),
        numpy="roll",
        max_positional=3,
        counts=1,
        hint="rolled",
    ),
    Primitive(
        "swapaxes",
        ("a",),
        (("axis1", None), ("axis2", None)),
        numpy="swapaxes",
        max_positional=3,
        check=_check_swapaxes,
        view=True,
        hint="swapped",
    ),
    Primitive(
        "moveaxis",
        ("a",),
        (("source", None), ("destination", None)),
        numpy="moveaxis",
        max_positional=3,
        check=_check_moveaxis,
        view=True,
        hint="moved",
    ),
    Primitive(
        "tile",
        ("A",),
        (("reps", None),),
        numpy="tile",
        max_positional=2,
        check=_check_tile,
        allocates=True,
        hint="tiled",
    ),
    Primitive(
        "repeat",
        ("a",),
        (("repeats", None), ("axis", None)),
        numpy="repeat",
        max_positional=3,
        check=_check_repeat,
        allocates=True,
        hint="repeated",
    ),
    Primitive(
        "pad",
        ("array", "pad_width"),
        (("mode", "constant"), ("constant_values", 0)),
        nondiff=frozenset({"pad_width"}),
        numpy="pad",
        max_positional=3,
        counts=1,
        check=_check_pad,
        allocates=True,
        hint="padded",
    ),
    *(
        Primitive(name, ("m",), (("k", 0),), numpy=name, max_positional=2)
        for name in ("triu", "tril")
    ),
    *_triangle_indices("triu_indices", "n"),
    *_triangle_indices("tril_indices", "n"),
    *_triangle_indices("triu_indices_from", "arr"),
    *_triangle_indices("tril_indices_from", "arr"),
]
