"""Which compiled code a call of a gradient runs: what the code is specialized on.

Code is written for the shape patterns of the arguments (see :mod:`s2s.shapes`), and
for the layout of each argument that is a structure (see :mod:`s2s.structures`): a
call with a dict of arrays runs code written for that dict's keys.  This module
says what a call's arguments key the code by, and calls the code written for
structures (:class:`StructuredCalls`, a part of :class:`s2s.api.GradFunction`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .shim import NARROW_FLOATS, as_real
from .structures import Layout, is_structure, layout_of, leaves_of, mapped

_FLOAT64 = np.dtype(np.float64)


def shape_key(x: Any) -> tuple | None:
    """What specialization needs to know of an argument: an array's shape, `()` for a
    number, None for anything else (a list: generic code)."""
    if type(x) is np.ndarray:
        return x.shape
    if isinstance(x, (float, int, np.generic)):
        return ()
    return None


def pattern_of(shapes: Sequence[tuple | None]) -> tuple:
    """The shape patterns of arguments of these shapes: each size other than 1 becomes
    a name, equal sizes the same name (named in order of appearance), so arguments of
    other sizes but the same pattern reuse the same specialized code."""
    names: dict[int, str] = {}
    return tuple(
        (
            None
            if shape is None
            else tuple(
                1 if n == 1 else names.setdefault(n, f"n{len(names)}") for n in shape
            )
        )
        for shape in shapes
    )


def in_dtype_of(g: Any, x: Any) -> Any:
    """The gradient `g` of `x` in x's float dtype (float64 for Python numbers and
    other dtypes), where narrow float data made numpy compute it in another; leaf
    by leaf for a structure (None stays None)."""
    if is_structure(x):
        return mapped(in_dtype_of, layout_of(x, "x"), g, x)
    if g is None:
        return g
    dtype = getattr(x, "dtype", None)
    if dtype not in NARROW_FLOATS:
        dtype = _FLOAT64
    if getattr(g, "dtype", dtype) == dtype:
        return g  # a Python float is a float64
    return dtype.type(g) if np.ndim(g) == 0 and np.ndim(x) == 0 else g.astype(dtype)


def has_narrow_floats(x: Any) -> bool:
    """Whether an argument (a structure's leaves) holds floats narrower than float64."""
    if is_structure(x):
        return any(has_narrow_floats(leaf) for leaf in leaves_of(x, layout_of(x, "x")))
    return type(x) is not float and getattr(x, "dtype", None) in NARROW_FLOATS


class StructuredCalls:
    """How a gradient runs on arguments some of which are structures: code
    generated (once) for their layouts and leaf shape patterns, called with the
    structures themselves.  Needs of its host: `_parsed`, `_positions`, `many`,
    `options`, `_raise_failure`, `_regenerated`, `_keywords`, `_passed`, and
    `_load(options)` (the module generated with these options)."""

    _by_layouts: dict[tuple, StructuredCode]

    def _structured_call(self, args: tuple) -> Any:
        """The gradient at `args`, where some are structures."""
        code = self._structured_code(args)
        args = tuple(
            (
                (mapped(as_real, lay, a) if lay else as_real(a))
                if k in self._positions
                else a
            )
            for k, (a, lay) in enumerate(zip(args, code.layouts))
        )
        try:
            result = code.compiled(*args, **{k: read() for k, read in code.keywords})
        except Exception as e:
            if hasattr(e, "s2s_stale"):
                return self._regenerated(e.s2s_stale, args)
            self._raise_failure(e, args)
            raise
        if any(has_narrow_floats(args[k]) for k in self._positions):
            return self._in_argument_dtypes(result, args)
        return result

    def _structured_code(self, args: tuple) -> StructuredCode:
        """The code for arguments of these layouts and leaf shapes (specialized for
        their shape patterns), generated on first need."""
        names = self._parsed.params
        layouts = tuple(
            layout_of(a, n) if is_structure(a) else None for n, a in zip(names, args)
        )
        leaves = [leaf for a, lay in zip(args, layouts) for leaf in _read(a, lay)]
        key = (layouts, tuple(map(shape_key, leaves)))
        code = self._by_layouts.get(key)
        if code is not None:
            return code
        paths = [
            path
            for name, lay in zip(names, layouts)
            for path in (_paths(name, lay) if lay else [name])
        ]
        patterns = pattern_of([shape_key(leaf) for leaf in leaves])
        known = {p: s for p, s in zip(paths, patterns) if s is not None}
        structured = {n: lay for n, lay in zip(names, layouts) if lay is not None}
        loaded = self._load(dict(self.options, layouts=structured, shapes=known))
        compiled = loaded.namespace[self._name]
        keywords = [
            (name, _reader(*self._passed[name]))
            for name, _, _ in self._keywords(compiled)
        ]
        code = StructuredCode(compiled, keywords, loaded, layouts)
        self._by_layouts[key] = code
        return code


@dataclass
class StructuredCode:
    """Code written for arguments of some layouts: the compiled function, how to
    read what it takes by keyword (data the function reads from outside), the
    module, and the layouts (None for an argument that is not a structure)."""

    compiled: Callable
    keywords: list[tuple[str, Callable[[], Any]]]
    loaded: Any
    layouts: tuple[Layout | None, ...]


def _paths(name: str, layout: Layout) -> list[str]:
    """The paths of a structure's leaves that are values (not constants)."""
    return [path for path, leaf in layout.leaves(name) if leaf.kind == "leaf"]


def _read(arg: Any, layout: Layout | None) -> list[Any]:
    """The values the code reads of an argument: the leaves of a structure that
    are not constants, else the argument itself."""
    if layout is None:
        return [arg]
    kinds = [leaf.kind for _, leaf in layout.leaves("")]
    return [v for v, kind in zip(leaves_of(arg, layout), kinds) if kind == "leaf"]


def _reader(access: str, holder: Any) -> Callable[[], Any]:
    """What reads a value passed by keyword from its holder (a cell, a module's
    dictionary) when the gradient is called."""
    code = compile(f"_holder{access}", "<s2s keyword>", "eval")
    return lambda: eval(code, {"_holder": holder})
