"""Symbolic numpy: :class:`Sym` wraps an operand with Python operators and numpy's
dispatch, so that derivative rules are written as the numpy they generate and each
operation they perform appends an op to the graph being built."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

import numpy

from ..errors import InternalError, RuleError
from ..primitives import (
    METHODS,
    NUMPY_TUPLES,
    PRIMITIVES,
    ArgumentError,
    bind,
    lookup_object,
)
from .build import Builder
from .nodes import Const, Operand, Var


class Sym:
    """An operand plus the builder it lives in, with numpy-like operators.

    Derivative rules are ordinary Python functions of Syms: `g * np.cos(x)` in a rule
    appends a `cos` op and a `mul` op to the adjoint graph.
    """

    __slots__ = ("operand", "builder")
    __array_priority__ = 1000  # keep numpy scalars from swallowing a Sym

    def __init__(self, operand: Operand, builder: Builder):
        self.operand = operand
        self.builder = builder

    def apply(self, prim: str, *args: Any, **params: Any) -> Sym:
        operands = [as_operand(a) for a in args]
        return Sym(self.builder.emit(prim, *operands, **params), self.builder)

    def __add__(self, o):
        return self.apply("add", self, o)

    def __radd__(self, o):
        return self.apply("add", o, self)

    def __sub__(self, o):
        return self.apply("sub", self, o)

    def __rsub__(self, o):
        return self.apply("sub", o, self)

    def __mul__(self, o):
        return self.apply("mul", self, o)

    def __rmul__(self, o):
        return self.apply("mul", o, self)

    def __truediv__(self, o):
        return self.apply("div", self, o)

    def __rtruediv__(self, o):
        return self.apply("div", o, self)

    def __pow__(self, o):
        return self.apply("pow", self, o)

    def __rpow__(self, o):
        return self.apply("pow", o, self)

    def __matmul__(self, o):
        return self.apply("matmul", self, o)

    def __rmatmul__(self, o):
        return self.apply("matmul", o, self)

    def __neg__(self):
        return self.apply("neg", self)

    def __abs__(self):
        return self.apply("abs", self)

    def __floordiv__(self, o):
        return self.apply("floordiv", self, o)

    def __mod__(self, o):
        return self.apply("mod", self, o)

    def __and__(self, o):
        return self.apply("and", self, o)

    def __or__(self, o):
        return self.apply("or", self, o)

    def __invert__(self):
        return self.apply("invert", self)

    def __gt__(self, o):
        return self.apply("gt", self, o)

    def __ge__(self, o):
        return self.apply("ge", self, o)

    def __lt__(self, o):
        return self.apply("lt", self, o)

    def __le__(self, o):
        return self.apply("le", self, o)

    def __eq__(self, o):
        return self.apply("eq", self, o)  # type: ignore[override]

    def __ne__(self, o):
        return self.apply("ne", self, o)  # type: ignore[override]

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        # A symbolic value has no truth yet: `if x > 0` in a rule would pick one
        # branch for every element, silently.
        raise RuleError(
            "a derivative rule used a symbolic value as a condition (`if`, `and`, "
            "`or`, `not`, or `a if c else b`): it has no value while the gradient is "
            "generated",
            hint="Choose elementwise with np.where(condition, a, b).",
        )

    def __getitem__(self, index: Any) -> Sym:
        """`g[:, k]`, `g[..., ::-1]`: indexing with static or symbolic parts."""
        items = index if isinstance(index, tuple) else (index,)
        spec: list[tuple] = []
        parts: list[Any] = []
        for item in items:
            if isinstance(item, slice):
                bounds = (item.start, item.stop, item.step)
                spec.append(("slice", *(b is not None for b in bounds)))
                parts.extend(b for b in bounds if b is not None)
            elif item is None:
                spec.append(("newaxis",))
            elif item is Ellipsis:
                spec.append(("ellipsis",))
            else:
                spec.append(("value",))
                parts.append(item)
        spec_tuple = (isinstance(index, tuple), *spec)
        return self.apply("getitem", self, *parts, spec=spec_tuple)

    @property
    def T(self) -> Sym:
        return self.apply("transpose", self)  # np.transpose: g may be a float

    @property
    def shape(self) -> Sym:
        return self.apply("shape", self)

    @property
    def ndim(self) -> Sym:
        return self.apply("ndim", self)

    @property
    def size(self) -> Sym:
        return self.apply("size", self)

    def reshape(self, *shape: Any) -> Sym:
        return self.apply("reshape", self, shape[0] if len(shape) == 1 else shape)

    def __getattr__(self, name: str) -> Callable[..., Sym]:
        """Array methods (`g.sum(axis=0)`), for rules written with real numpy."""

        if name not in METHODS:
            raise AttributeError(f"s2s rules cannot use the array method .{name}()")
        return lambda *args, **kwargs: call_primitive(
            PRIMITIVES[METHODS[name]], f".{name}", (self, *args), kwargs
        )

    # Real numpy functions called on Syms (in custom rules) append ops as well.

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any):
        if method != "__call__":
            raise RuleError(
                f"a derivative rule used np.{ufunc.__name__}.{method}",
                hint="Rules can call numpy functions directly, not ufunc methods.",
            )
        return call_function(ufunc, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any):
        return call_function(func, args, kwargs)

    @property
    def is_const(self) -> bool:
        return isinstance(self.operand, Const)

    @property
    def value(self) -> Any:
        """The constant's value (only for constants)."""
        return self.operand.value  # type: ignore[union-attr]


class SymbolicNumpy:
    """`np.cos(x)` for rules: appends the op, using `math` when the primal op did."""

    def __getattr__(self, name: str) -> Callable[..., Sym]:
        def call(*args: Any, **params: Any) -> Sym:
            builder = next(a.builder for a in args if isinstance(a, Sym))

            prim = PRIMITIVES.get(name)
            if prim is not None and builder.lib == "math" and prim.math:
                params["lib"] = "math"
            return Sym(builder.emit(name, *map(as_operand, args), **params), builder)

        return call


def _syms(values: Iterable[Any]) -> Iterator[Sym]:
    for v in values:
        if isinstance(v, Sym):
            yield v
        elif isinstance(v, (list, tuple)):
            yield from _syms(v)


def call_function(func: Any, args: Iterable[Any], kwargs: dict[str, Any]) -> Sym:
    """`func(*args, **kwargs)` on Syms: the op of the primitive s2s knows `func` as."""

    name = getattr(func, "__name__", repr(func))
    try:
        found = lookup_object(func)
    except TypeError:
        found = None
    if found is None:
        raise RuleError(
            f"a derivative rule called {name}(), which s2s has no rule for",
            hint="Rules can use Python operators, the numpy functions s2s knows (see "
            "docs/rules.md) and functions registered with s2s.register; call a "
            "registered function that is not a ufunc as s2s.call(f, x).",
        )
    prim, lib = found
    return call_primitive(PRIMITIVES[prim], name, args, kwargs, lib)


def call_primitive(
    prim: Any, spelled: str, args: Iterable[Any], kwargs: dict[str, Any], lib="np"
) -> Sym | tuple[Sym, ...]:
    """Bind the arguments of a call on Syms to `prim` and append its op (one op per
    item of a function that returns a tuple)."""

    args = list(args)
    builder = next(_syms([args, list(kwargs.values())])).builder
    try:
        operands, static = bind(
            prim,
            spelled,
            args,
            list(kwargs.items()),
            lambda x: list(x) if isinstance(x, (list, tuple)) else None,
        )
    except ArgumentError as e:
        raise RuleError(f"a derivative rule called {e.message}", hint=e.hint) from None
    for key, value in static.items():
        if next(_syms([value]), None) is not None:
            raise RuleError(
                f"a derivative rule passed a computed value as {spelled}()'s '{key}'",
                hint=f"'{key}' must be a constant such as 0 or (0, 1).",
            )
        if isinstance(value, numpy.generic):
            static[key] = value.item()
    if prim.check is not None:
        problem = prim.check(
            {n: static.get(n, d) for n, d in prim.static}, len(operands)
        )
        if problem is not None:
            raise RuleError(*problem)
    if builder.lib == "math" and prim.math and lib == "np":
        lib = "math"
    if lib != "np":
        static["lib"] = lib
    if prim.item is not None:  # `w, V = np.linalg.eigh(x)` in a rule: each item
        return tuple(
            Sym(builder.emit(name, *map(as_operand, operands), **static), builder)
            for name in NUMPY_TUPLES[prim.numpy]
        )
    return Sym(builder.emit(prim.name, *map(as_operand, operands), **static), builder)


def as_operand(x: Any) -> Operand:
    if isinstance(x, Sym):
        return x.operand
    if isinstance(x, (Var, Const)):
        return x
    if isinstance(x, numpy.generic) and x.ndim == 0:
        x = x.item()  # written back as 2.0, not np.float64(2.0)
    if isinstance(x, (bool, int, float, str, tuple)) or x is None:
        return Const(x)
    raise InternalError(f"cannot use {x!r} as an operand")
