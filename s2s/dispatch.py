"""Which compiled code a call of a gradient runs: what the code is specialized on.

Code is written for the shape patterns of the arguments (see :mod:`s2s.shapes`), and
for the layout of each argument that is a structure (see :mod:`s2s.structures`): a
call with a dict of arrays runs code written for that dict's keys.  This module
says what a call's arguments key the code by, and calls the code written for
structures (:class:`StructuredCalls`, a part of :class:`s2s.api.GradFunction`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np

from .errors import S2SError
from .frontend.declared import declared_layouts
from .shim import NARROW_FLOATS, as_real
from .structures import (
    Layout,
    StructureError,
    checked_layout,
    is_structure,
    layout_of,
    leaves_of,
    mapped,
)

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
    if _is_foreign(x):
        return _in_library_of(g, x)
    if _is_foreign(g):  # of a Python number, beside another library's arrays
        return g
    dtype = getattr(x, "dtype", None)
    if dtype not in NARROW_FLOATS:
        dtype = _FLOAT64
    if getattr(g, "dtype", _FLOAT64) == dtype:
        return g  # a Python float is a float64
    return dtype.type(g) if np.ndim(g) == 0 and np.ndim(x) == 0 else g.astype(dtype)


def _is_foreign(x: Any) -> bool:
    """Whether x is an array of another library than numpy (a torch tensor)."""
    return (
        not isinstance(x, (np.ndarray, np.generic))
        and hasattr(x, "shape")
        and hasattr(x, "dtype")
    )


def _in_library_of(g: Any, x: Any) -> Any:
    """The gradient `g` of another library's array `x` (backend="array_api") as an
    array of x's library, dtype, device and shape: a constant adjoint (`3.0`) or a
    float64 accumulation (`xp.zeros(...)`) made by the generated code included."""
    from array_api_compat import array_namespace

    xp = array_namespace(x)
    floating = xp.isdtype(x.dtype, "real floating")
    if type(g) is not type(x):
        dtype = x.dtype if floating else None
        g = xp.asarray(g, dtype=dtype, device=x.device)
    elif floating and g.dtype != x.dtype:
        g = xp.astype(g, x.dtype)
    if tuple(g.shape) != tuple(x.shape):
        g = xp.broadcast_to(g, tuple(x.shape))
    return g


def _is_narrow(x: Any) -> bool:
    """Whether a value holds floats narrower than float64."""
    return type(x) is not float and getattr(x, "dtype", None) in NARROW_FLOATS


class StructuredCalls:
    """How a gradient runs on arguments some of which are structures: code
    generated (once) for their layouts and leaf shape patterns, called with the
    structures themselves.  Needs of its host: `_parsed`, `_positions`, `_reals`,
    `many`,
    `options`, `_raise_failure`, `_regenerated`, `_keywords`, `_passed`, and
    `_load(options)` (the module generated with these options)."""

    _by_layouts: dict[tuple, StructuredCode]  # by layouts and leaf shapes
    _by_call: dict[tuple, StructuredCode]  # by call key (see call_key)

    def _structured_call(self, args: tuple) -> Any:
        """The gradient at `args`, where some are structures."""
        key = tuple(map(call_key, args))  # cheap: what the code depends on
        code = self._by_call.get(key)
        if code is None:
            found = self._structured_code(args)
            if found.compiled is None:  # lists of numbers read as arrays
                compiled = (
                    self._specialized(args) if self._specialize else self._compiled
                )
                found = replace(
                    found, compiled=compiled, keywords=self._readers(compiled)
                )
            leaves = [_read(a, lay) for a, lay in zip(args, found.layouts)]
            foreign = self.options.get("backend") == "array_api"
            code = self._by_call[key] = replace(
                found,
                reals=any(as_real(x) is not x for k in self._reals for x in leaves[k]),
                narrow=any(
                    _is_narrow(x) or foreign and _is_foreign(x)
                    for k in self._positions
                    for x in leaves[k]
                ),
            )
        if code.reals:
            args = tuple(
                (
                    (mapped(as_real, lay, a) if lay else as_real(a))
                    if k in self._reals
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
        if code.narrow:
            return self._in_argument_dtypes(result, args)
        return result

    def _structured_code(self, args: tuple) -> StructuredCode:
        """The code for arguments of these layouts and leaf shapes (specialized for
        their shape patterns), generated on first need."""
        names = self._parsed.params  # then tangents, or a cotangent
        layouts = tuple(
            (
                layout_of(a, names[k] if k < len(names) else f"argument {k + 1}")
                if is_structure(a)
                else None
            )
            for k, a in enumerate(args)
        )
        leaves = [_read(a, lay) for a, lay in zip(args, layouts)]
        key = (layouts, tuple(shape_key(leaf) for part in leaves for leaf in part))
        code = self._by_layouts.get(key)
        if code is not None:
            return code
        self._check_tangents(layouts)
        for k in self._positions:
            if layouts[k] is not None:
                _refuse_strings(layouts[k], names[k])
        declared = declared_layouts(self._parsed)
        for name, lay in zip(names, layouts):
            if name in declared:
                checked_layout(lay, declared[name], name)
        try:
            loaded = self._load(
                # the code of the signature's declarations, as `s2s generate`
                # writes it, checking the leaves' shapes on entry
                self.options
                if declared
                else self._specialized_options(names, layouts, leaves)
            )
        except S2SError:
            if not all(map(_array_like, (a for a, lay in zip(args, layouts) if lay))):
                raise
            # Lists of numbers the function reads as arrays (np.sin(x) of a
            # list): the code for arrays, as numpy reads them.
            code = StructuredCode(None, [], None, (None,) * len(args))
            self._by_layouts[key] = code
            return code
        compiled = loaded.namespace[self._name]
        code = StructuredCode(compiled, self._readers(compiled), loaded, layouts)
        self._by_layouts[key] = code
        return code

    def _specialized_options(
        self, names: list[str], layouts: tuple[Layout | None, ...], leaves: list
    ) -> dict[str, Any]:
        """Options for code written for these layouts and the shape patterns of
        the parameters' leaves."""
        paths = [
            path
            for name, lay in zip(names, layouts)
            for path in (_paths(name, lay) if lay else [name])
        ]
        primals = [leaf for part in leaves[: len(names)] for leaf in part]
        patterns = pattern_of([shape_key(leaf) for leaf in primals])
        known = {p: s for p, s in zip(paths, patterns) if s is not None}
        structured = {n: lay for n, lay in zip(names, layouts) if lay is not None}
        return dict(self.options, layouts=structured, shapes=known)

    def _readers(self, compiled: Callable) -> list[tuple[str, Callable[[], Any]]]:
        """How to read what compiled code takes by keyword when it is called."""
        return [
            (name, _reader(*self._passed[name]))
            for name, _, _ in self._keywords(compiled)
        ]

    def _check_tangents(self, layouts: tuple[Layout | None, ...]) -> None:
        """Refuse tangents whose layouts are not those of their parameters."""
        if self.options.get("mode") not in ("jvp", "hvp"):
            return
        names = self._parsed.params
        for position, layout in zip(self._positions, layouts[len(names) :]):
            meant = layouts[position]
            if layout != meant:
                raise StructureError(
                    f"the tangent of {names[position]} is "
                    f"{layout.describe() if layout else 'not a structure'}, but "
                    f"{names[position]} is {meant.describe() if meant else 'not one'}",
                    hint="Give each tangent the layout of its parameter.",
                )


@dataclass
class StructuredCode:
    """Code written for arguments of some layouts: the compiled function, how to
    read what it takes by keyword (data the function reads from outside), the
    module, and the layouts (None for an argument that is not a structure); for
    the arguments of a call key (see :func:`call_key`), whether integers are made
    reals first and whether the gradients are returned in narrower floats."""

    compiled: Callable
    keywords: list[tuple[str, Callable[[], Any]]]
    loaded: Any
    layouts: tuple[Layout | None, ...]
    reals: bool = True
    narrow: bool = True


def call_key(x: Any) -> Any:
    """What the code run for an argument depends on, computed quickly on every
    call: a structure's kinds and keys, its constants, and each leaf's shape and
    dtype (equal keys: the same code, the same conversions)."""
    kind = type(x)
    if kind is np.ndarray:
        return (x.shape, x.dtype.char)
    if kind is float or kind is int:
        return kind
    if kind is dict:
        return (dict, tuple(x), tuple(map(call_key, x.values())))
    if kind is list or isinstance(x, tuple):
        return (kind, tuple(map(call_key, x)))
    if x is None or kind is str or kind is bool:
        return (kind, x)
    return (kind, id(x))  # anything else: its own key (refused, or data)


def _refuse_strings(layout: Layout, name: str) -> None:
    """Refuse a differentiated structure holding a string: it has no derivative."""
    for path, leaf in layout.leaves(name):
        if leaf.kind == "const" and isinstance(leaf.value, str):
            raise StructureError(
                f"{path} is the string {leaf.value!r}, in the differentiated "
                f"parameter {name}",
                hint="Keep settings apart from the parameters: pass them in "
                "another argument, or differentiate with respect to the others "
                "(wrt=...).",
            )


def _array_like(value: Any) -> bool:
    """Whether a list or tuple holds numbers numpy reads as one array."""
    try:
        return np.asarray(value).dtype.kind in "biuf"
    except ValueError:  # ragged
        return False


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
