"""Structured parameters: dicts, lists, tuples and namedtuples of arrays.

A parameter may hold a structure (`params = {"W1": ..., "b1": ...}`, a list of
`(W, b)` layers, a namedtuple) whose leaves are arrays and numbers (differentiated),
or `None`, strings and booleans (constants the code is written for).  Its
:class:`Layout` (the kinds, keys, lengths and constants, not the arrays) is a
compile-time fact, like a shape pattern: s2s writes code for one layout, which reads
each leaf from the structure on entry and returns the gradient as a structure of the
same layout.  This module is the one home of what a layout is: how it is read from a
value, from an annotation (for the command line) and checked, and how a structure is
taken apart into its leaves and put back together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from .errors import S2SError

#: A leaf the code reads as a value: an array or a number.
LEAF = "leaf"
#: Kinds of structures, named as Python names the types.
KINDS = ("dict", "list", "tuple", "namedtuple")


class StructureError(S2SError):
    """A structure s2s cannot take apart, or not the one the code was written for."""


@dataclass(frozen=True)
class Layout:
    """The layout of a value: a leaf (`kind` "leaf"), a constant leaf (`kind`
    "const": None, a string or a bool, held in `value`), or a structure of `kind`
    "dict", "list", "tuple" or "namedtuple" with `items` (each a Layout) under `keys`
    (dict keys, namedtuple fields; positions otherwise).  `cls` is a namedtuple's
    class; `shape` a leaf's shape pattern where one is declared."""

    kind: str
    keys: tuple = ()
    items: tuple[Layout, ...] = ()
    cls: Any = None
    value: Any = None
    shape: tuple | None = None

    @property
    def is_structure(self) -> bool:
        return self.kind in KINDS

    def __s2s_canonical__(self) -> tuple:
        """What a content key holds of a layout (see s2s.fingerprint)."""
        cls = None if self.cls is None else (self.cls.__module__, self.cls.__qualname__)
        items = tuple(i.__s2s_canonical__() for i in self.items)
        return (self.kind, self.keys, items, cls, self.value, self.shape)

    def leaves(self, path: str) -> Iterator[tuple[str, Layout]]:
        """Each leaf (constant leaves too) with its path, `params['W1']`, in order."""
        if not self.is_structure:
            yield path, self
            return
        for key, item in zip(self.keys, self.items):
            yield from item.leaves(path + step(self, key))

    def describe(self) -> str:
        """The layout as it reads in a message: `{'W1': array, 'b1': array}`."""
        if self.kind == LEAF:
            return "array"
        if self.kind == "const":
            return repr(self.value)
        inner = [i.describe() for i in self.items]
        if self.kind == "dict":
            return (
                "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(self.keys, inner)) + "}"
            )
        if self.kind == "namedtuple":
            fields = ", ".join(f"{k}={v}" for k, v in zip(self.keys, inner))
            return f"{self.cls.__name__}({fields})"
        comma = "," if self.kind == "tuple" and len(inner) == 1 else ""
        opened, closed = ("[", "]") if self.kind == "list" else ("(", ")")
        return opened + ", ".join(inner) + comma + closed


def step(layout: Layout, key: Any) -> str:
    """The Python that reads item `key` of a structure of this layout."""
    return f".{key}" if layout.kind == "namedtuple" else f"[{key!r}]"


def is_structure(value: Any) -> bool:
    """Whether an argument is a structure rather than an array or a number."""
    return isinstance(value, (dict, list, tuple))


def layout_of(value: Any, path: str) -> Layout:
    """The layout of an argument (`path` names it in messages)."""
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise StructureError(
                    f"{path} has the key {key!r}; s2s reads dicts with string keys",
                    hint="Key the parameters by name: {'W1': ..., 'b1': ...}.",
                )
        keys = tuple(value)
        items = tuple(layout_of(value[k], path + f"[{k!r}]") for k in keys)
        return Layout("dict", keys, items)
    if isinstance(value, tuple) and hasattr(type(value), "_fields"):
        keys = tuple(type(value)._fields)
        items = tuple(layout_of(v, f"{path}.{k}") for k, v in zip(keys, value))
        return Layout("namedtuple", keys, items, cls=type(value))
    if isinstance(value, (list, tuple)):
        kind = "list" if isinstance(value, list) else "tuple"
        items = tuple(layout_of(v, f"{path}[{k}]") for k, v in enumerate(value))
        return Layout(kind, tuple(range(len(value))), items)
    if value is None or isinstance(value, (str, bool, np.bool_)):
        return Layout(
            "const", value=value if not isinstance(value, np.bool_) else bool(value)
        )
    if isinstance(value, (int, float, complex, np.ndarray, np.generic)):
        return Layout(LEAF)
    if all(hasattr(value, a) for a in ("shape", "dtype", "ndim")):
        return Layout(LEAF)  # another library's array: Dask, CuPy, torch
    raise StructureError(
        f"{path} is a {type(value).__name__}, which s2s cannot read as part of "
        "a parameter",
        hint="Structures hold arrays, numbers, None, strings and booleans, in "
        "dicts (string keys), lists, tuples and namedtuples.",
    )


def leaves_of(value: Any, layout: Layout) -> list[Any]:
    """The leaves of a structure of this layout (constant leaves included), in order."""
    if not layout.is_structure:
        return [value]
    found: list[Any] = []
    items = value.values() if layout.kind == "dict" else value
    for item, inner in zip(items, layout.items):
        found += leaves_of(item, inner)
    return found


def rebuilt(layout: Layout, leaves: Iterator[Any], lists: type = list) -> Any:
    """A structure of this layout holding `leaves` (consumed in order), its lists
    made by `lists` (`tuple`: as the lowering holds them, item by item)."""
    if not layout.is_structure:
        return next(leaves)
    items = [rebuilt(inner, leaves, lists) for inner in layout.items]
    if layout.kind == "dict":
        return dict(zip(layout.keys, items))
    if layout.kind == "namedtuple":
        return layout.cls(*items)
    return lists(items) if layout.kind == "list" else tuple(items)


def mapped(function: Callable[[Any, Any], Any], layout: Layout, *values: Any) -> Any:
    """`function` applied leaf by leaf to structures of this layout."""
    columns = zip(*(leaves_of(v, layout) for v in values))
    return rebuilt(layout, iter([function(*column) for column in columns]))


def checked_layout(found: Layout | None, expected: Layout, path: str) -> None:
    """Refuse an argument of layout `found` (None: not a structure) that is not
    the declared one, naming the first place they differ."""
    if found is None:
        raise StructureError(
            f"{path} is not a structure, but is declared as {expected.describe()}",
            hint="Pass a structure of the layout the parameter is annotated with, "
            "or change the annotation.",
        )
    where = _first_difference(found, expected, path)
    if where is not None:
        raise StructureError(
            f"{where[0]} is {where[1]}, but the code was written for {where[2]}",
            hint="Pass a structure of the layout the parameter is annotated with, "
            "or change the annotation.",
        )


def _first_difference(
    found: Layout, expected: Layout, path: str
) -> tuple[str, str, str] | None:
    if found.kind != expected.kind or found.keys != expected.keys:
        return path, found.describe(), expected.describe()
    if expected.kind == "const" and found.value != expected.value:
        return path, repr(found.value), repr(expected.value)
    for key, a, b in zip(expected.keys, found.items, expected.items):
        difference = _first_difference(a, b, path + step(expected, key))
        if difference is not None:
            return difference
    return None


def leaf_hint(path: str) -> str:
    """The name a leaf takes in generated code: its key or field where that is a
    Python name (`W1` for `params['W1']`), else the path spelled as a name
    (`layers_0_1` for `layers[0][1]`)."""
    last = path.replace("]", "").replace("[", ".").rsplit(".", 1)[-1].strip("'\"")
    if last.isidentifier():
        return last
    spelled = "".join(c if c.isalnum() else "_" for c in path)
    return "_".join(part for part in spelled.split("_") if part) or "leaf"
