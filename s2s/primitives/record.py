"""The record of a primitive operation: everything s2s knows about one primitive, in
one place, and the registry of them.

A pass that needs a fact about an op asks its record (``PRIMITIVES[op.prim]``):
what it takes, how it is written back as Python, what its result's shape and dtype
follow, what it costs, and (attached by :mod:`s2s.rules`) its derivative.  No module
keeps a set of primitive names of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(eq=False)
class Derivative:
    """How a primitive is differentiated (see :mod:`s2s.rules`).

    `kind` is "linear", "bilinear", "elementwise" or "other" (what a tangent rule
    may be derived from), "zero" (a step: derivative zero wherever it exists) or
    "tape" (push and pop: derivatives flow through them structurally).  `rules` holds
    one adjoint rule per operand (or an EachOperand for any number), and
    `broadcasting` says that operands broadcast, so that the reverse pass sums each
    contribution back to its operand's shape.  A primitive of kind "other" has an
    explicit `tangent` rule for forward mode; the others' tangents follow from
    their kind.
    """

    kind: str
    rules: Any = ()
    broadcasting: bool = False
    tangent: Callable[..., Any] | None = None


@dataclass(eq=False)
class Primitive:
    """One operation of the IR.

    `operands` are the run-time inputs in order; `static` are keyword parameters that
    must be compile-time constants (with their defaults); operands in `nondiff` never
    receive an adjoint (conditions, shapes).  Exactly one of `operator`, `numpy`,
    `math`, `builtin`, `helper` or `python` says how the op is written back (an
    operator is also the numpy `ufunc` named there, for calls spelled so; a numpy
    function other libraries lack is written by its `helper`: np.size as `_size`).

    How a call binds to the operands: when `variadic`, the last operand takes any
    number of values (`np.einsum("ij,j->i", a, b)`); when `sequence` too, they are
    passed as one list (`np.concatenate([a, b])`).  `leading` names static parameters
    written positionally before the operands (einsum's subscripts); the last
    `optional` operands may be left out (`np.eye(n)`); at most `max_positional`
    arguments bind by position; `internal` parameters are set by s2s only.  A numpy
    function that returns a tuple (`np.linalg.eigh`) is one primitive per `item`,
    each spelled as that item of the call (`np.linalg.eigh(a)[1]`): a call of the
    function is the tuple of all of them.
    `check(static, count)` returns (message, advice) for parameter values the rule
    does not handle, so that they are refused instead of differentiated wrongly.

    What the passes ask:

    - shapes: `elementwise` (the result has the broadcast shape of the operands),
      `scalar` (the result is one number, or a range, whatever the operands),
      `reduction` (over `axis`, all axes by default), `comparison` (a bool mask of
      the broadcast shape), `shaped_like` (the result has this operand's shape),
      `shaped_by` (this operand is the result's shape), `shape_only` (this operand
      is read for its shape only: any value of that shape may stand in);
    - dtypes: `dtype` is "bool", "int" or "float" when the result has that kind
      whatever the operands (None: it keeps theirs);
    - values: `counts` (operands from this position on are counts, indices or
      sizes, where a derivative cannot flow), `rounds` (the result is a whole
      number: a count may pass through it, `range(int(n))`), `view` (numpy may
      return a view of the first operand), `spread` (the result may be a read-only broadcast view),
      `fresh` (each call makes a new object: never merged with an equal op),
      `holder` (the result is an object whose attributes are read: a module),
      `shape_variant` (the helper that takes the shape itself where this one
      reads an operand for its shape: `_unbroadcast_to` for `_unbroadcast`);
    - effects: `effect` is "check" (a check that raises, written as a statement),
      "output" (print), "raise" (the user's `raise`, written as one), "tape" (a
      push or pop) or "marker" (where the reverse sweep starts): the op
      is kept for what it does; `has_value` is False for those written as
      statements of their own, and a `guarded` check of one value is written
      behind `if type(x) is not float:` (a Python float passes it at the cost of
      one comparison);
    - cost: `cost` is "constant" (views and sizes), "number" (cheap on numbers, not
      on arrays) or "array"; `hoistable` (worth computing once outside a loop that
      does not change its operands, and cannot fail: a ufunc at worst warns, where
      a Python operator may raise, as 1.0 / 0.0 does), `allocates` (makes a new array),
      `array_method` (generated code calls it as a method of an array numpy made:
      `x.sum()`, half the cost of `np.sum(x)` on a small array);
    - names: `hint` names its temporaries in generated code;
    - other array libraries: `array_api` is how the array_api backend writes it
      (see :mod:`s2s.emit.portable`): the array API standard's function of that
      name in the arguments' namespace (`"asin"` for np.arcsin, `xp.asin(x)`), or
      a helper of :mod:`s2s.runtime.portable` (`"_ravel"`).  None, for a primitive
      written with numpy or a numpy helper: there is no portable spelling, and the
      backend refuses it.  Operators, built-ins and `math` need none.
    """

    name: str
    operands: tuple[str, ...] = ("x",)
    static: tuple[tuple[str, Any], ...] = ()
    nondiff: frozenset[str] = frozenset()
    operator: type | None = None
    ufunc: str | None = None
    numpy: str | None = None
    math: str | None = None
    helper: str | None = None
    builtin: str | None = None
    python: str | None = None
    item: int | None = None
    variadic: bool = False
    sequence: bool = False
    leading: tuple[str, ...] = ()
    optional: int = 0
    max_positional: int | None = None
    internal: frozenset[str] = frozenset()
    check: Callable[[dict[str, Any], int], tuple[str, str] | None] | None = None
    elementwise: bool = False
    scalar: bool = False
    reduction: bool = False
    comparison: bool = False
    shaped_like: int | None = None
    shaped_by: int | None = None
    shape_only: int | None = None
    dtype: str | None = None
    counts: int | None = None
    rounds: bool = False
    view: bool = False
    spread: bool = False
    fresh: bool = False
    holder: bool = False
    shape_variant: str | None = None
    effect: str | None = None
    has_value: bool = True
    guarded: bool = False
    cost: str = "array"
    hoistable: bool = False
    allocates: bool = False
    array_method: bool = False
    hint: str | None = None
    array_api: str | None = None
    origin: Any = field(default=None, repr=False)  # a registered function object
    derivative: Derivative | None = field(default=None, repr=False)

    @property
    def static_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.static)

    def without_defaults(self, params: dict[str, Any]) -> dict[str, Any]:
        """`params` without the static parameters given at their default value, so
        that a call that spells a default out (`UPLO="L"`) is the same op as one
        that leaves it off.  A value of another type (`keepdims=0`) is kept."""
        defaults = dict(self.static)
        dropped = [
            k for k, v in params.items() if k in defaults and _is(v, defaults[k])
        ]
        if not dropped:
            return params
        return {k: v for k, v in params.items() if k not in dropped}

    @property
    def takes_index(self) -> bool:
        """A helper whose last operand is an index, written `np.s_[...]`: its parts
        are operands, their layout the static `spec` (`_unindex`, `_setitem`)."""
        return self.helper is not None and "spec" in self.static_names

    @property
    def temp_hint(self) -> str:
        """The name of its temporaries: `hint`, else its name (a registered
        function's last dotted part: `scipy.special.expit` makes `expit`)."""
        return self.hint or self.name.rsplit(".", 1)[-1]

    @property
    def kind(self) -> str | None:
        """How it is differentiated (see :class:`Derivative`); None: it is not."""
        return self.derivative.kind if self.derivative is not None else None

    @property
    def broadcasting(self) -> bool:
        """Whether its operands broadcast against each other."""
        return self.derivative is not None and self.derivative.broadcasting


def _is(value: Any, default: Any) -> bool:
    """Whether a parameter's value is its default (of the same type: numbers, strings,
    None, and tuples of them)."""
    if type(value) is not type(default):
        return False
    try:
        return bool(value == default)
    except Exception:  # an array compares elementwise: not a default
        return False


#: Every primitive s2s knows, by name: the built-in catalogue and registered ones.
PRIMITIVES: dict[str, Primitive] = {}
#: The registered ones by the identity of their function object (an index of the
#: registry, kept by define and forget).
_BY_ORIGIN: dict[int, Primitive] = {}


def define(prim: Primitive) -> Primitive:
    """Enter a primitive in the registry (a registered function replaces its own
    earlier record)."""
    forget(prim.name)
    PRIMITIVES[prim.name] = prim
    if prim.origin is not None:
        _BY_ORIGIN[id(prim.origin)] = prim
    return prim


def forget(name: str) -> None:
    """Remove a registered primitive (nothing happens for an unknown name)."""
    prim = PRIMITIVES.pop(name, None)
    if prim is not None and prim.origin is not None:
        _BY_ORIGIN.pop(id(prim.origin), None)


def registered(obj: object) -> Primitive | None:
    """The primitive registered for the function object `obj`, if any."""
    prim = _BY_ORIGIN.get(id(obj))
    return prim if prim is not None and prim.origin is obj else None
