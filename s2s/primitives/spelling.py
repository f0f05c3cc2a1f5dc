"""How user code spells the primitives: numpy and math functions, array methods,
built-ins, operators called as numpy ufuncs (`np.add(x, y)`), and registered
functions; and the module constants that are inlined (`np.pi`).  Names are looked up
by dotted path or, for aliases (`from numpy.linalg import norm as l2`), by the
identity of the function object."""

from __future__ import annotations

import functools
import sys
from typing import Any

from .catalogue import CATALOGUE
from .record import PRIMITIVES, registered

#: numpy functions lowered as the primitives they are made of (see
#: :mod:`s2s.lower.rewrites`), with their parameters in order.  np.asarray and
#: np.array with a dtype are the cast it names (np.asarray spells the casts' records).
REWRITTEN: dict[str, tuple[str, ...]] = {
    "trapezoid": ("y", "x", "dx", "axis"),
    "average": ("a", "axis", "weights", "returned", "keepdims"),
    "logspace": ("start", "stop", "num", "endpoint", "base"),
    "asarray": ("a", "dtype"),
    "array": ("object", "dtype"),
}

#: numpy's name of each function -> its primitive.
NUMPY_FUNCTIONS: dict[str, str] = {
    **{p.numpy: p.name for p in CATALOGUE if p.numpy and p.numpy not in REWRITTEN},
    **{p.ufunc: p.name for p in CATALOGUE if p.ufunc},
    "absolute": "abs",
    "amax": "max",
    "amin": "min",
    "true_divide": "div",
    "around": "round",
    "bitwise_not": "invert",
}

#: numpy's name of each function that returns a tuple -> the primitive of each item,
#: in order (the name itself leads to the first of them).
NUMPY_TUPLES: dict[str, tuple[str, ...]] = {
    name: tuple(
        p.name
        for p in sorted(CATALOGUE, key=lambda p: p.item or 0)
        if p.numpy == name and p.item is not None
    )
    for name in {p.numpy for p in CATALOGUE if p.item is not None}
}
NUMPY_FUNCTIONS.update({name: items[0] for name, items in NUMPY_TUPLES.items()})

MATH_FUNCTIONS: dict[str, str] = {p.math: p.name for p in CATALOGUE if p.math}
MATH_FUNCTIONS["pow"] = "pow"

#: Array methods with the same operands and parameters as the numpy function.
METHODS: dict[str, str] = {
    name: name
    for name in (
        *("sum", "mean", "prod", "max", "min", "var", "std", "cumsum", "trace"),
        *("dot", "clip", "ravel", "squeeze", "argmax", "argmin", "round"),
        *("all", "any", "cumprod", "take", "repeat", "swapaxes"),
    )
}
METHODS["flatten"] = "ravel"  # a copy rather than a view: the same value
METHODS["copy"] = "array_copy"

#: Python built-ins, written back as the built-in.
BUILTINS: dict[str, str] = {
    "abs": "abs",
    "max": "maximum",
    "min": "minimum",
    "len": "len",
    "float": "float",
    "int": "int",
    "round": "builtin_round",
    "print": "print",
}

#: The name of each runtime helper (copied into generated modules) -> its primitive,
#: so that generated code read back by s2s calls primitives, not user functions.
HELPERS: dict[str, str] = {p.helper: p.name for p in CATALOGUE if p.helper}

#: Dotted path of each built-in function s2s knows -> (primitive, library).
_PATHS: dict[str, tuple[str, str]] = {
    **{f"numpy.{name}": (prim, "np") for name, prim in NUMPY_FUNCTIONS.items()},
    **{f"math.{name}": (prim, "math") for name, prim in MATH_FUNCTIONS.items()},
}

#: Module attributes that are constants, inlined into the generated code.
NUMPY_CONSTANTS = ("pi", "e", "inf", "nan", "newaxis")
MATH_CONSTANTS = ("pi", "e", "inf", "nan", "tau")


def loaded_object(path: str) -> Any:
    """The object at a dotted path, reached through modules already imported (none is
    imported here: reading a file must not run code), or None."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is not None:
            value = module
            for attr in parts[cut:]:
                value = getattr(value, attr, None)
            return value
    return None


@functools.lru_cache(maxsize=None)
def _builtin_objects() -> dict[int, tuple[Any, str, str]]:
    found = {}
    for path, (prim, lib) in _PATHS.items():
        obj = loaded_object(path)
        if obj is not None:
            found.setdefault(id(obj), (obj, prim, lib))
    return found


def lookup_object(obj: Any) -> tuple[str, str] | None:
    """(primitive, library) of a function object s2s knows, by identity: so aliases
    such as `np.concat` or `from numpy.linalg import norm as l2` are found too."""
    custom = registered(obj)
    if custom is not None:
        return custom.name, "np"
    found = _builtin_objects().get(id(obj))
    if found is not None and found[0] is obj:
        return found[1:]
    return None


def lookup_path(path: str) -> tuple[str, str] | None:
    """(primitive, library) of the function at a dotted path such as
    `numpy.linalg.norm` or `scipy.special.expit`, else None."""
    if path in _PATHS:
        return _PATHS[path]
    custom = PRIMITIVES.get(path)
    if custom is not None and custom.origin is not None:
        return path, "np"
    obj = loaded_object(path)
    return lookup_object(obj) if obj is not None else None


def import_roots() -> set[str]:
    """Names that generated modules import registered functions through (`scipy`)."""
    return {p.python.split(".")[0] for p in PRIMITIVES.values() if p.python}
