"""The SSA intermediate representation: values, operations, graphs and a builder.

A :class:`Graph` is a function's parameters, a body of statements and a result.  A
statement is an :class:`Op` (which assigns one fresh :class:`Var` exactly once), or a
structured region: an :class:`If` or a :class:`Loop`, whose values flow out through
explicit phi lists (the value of each variable on each path).  Every statement
remembers the source :class:`~s2s.errors.Location` it came from.  ``str(graph)`` prints
one line per op and :func:`verify` checks the SSA invariants; the tests run it after
every stage.

:class:`Builder` appends ops and folds constants on the way (``1.0 * x -> x``), never
in a way that could change a shape (``0 * x`` stays).  :class:`Sym` wraps an operand
with Python operators so that derivative rules read like the numpy they generate.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Union

import numpy

from .errors import InternalError, Location, RuleError


@dataclass(eq=False)
class Var:
    """An SSA value. `name` is unique in its graph; `hint` is the name it would like
    in generated code; `role` is one of param, user, temp, adjoint.  Identity is the
    object itself, so a value can be renamed without disturbing the ops that use it."""

    name: str
    hint: str
    role: str = "temp"

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Const:
    """A compile-time constant: a Python number, bool, None, string or tuple of them."""

    value: Any

    def __repr__(self) -> str:
        return repr(self.value)


Operand = Union[Var, Const]


@dataclass(eq=False)
class Op:
    """`out = prim(*args, **params)`: one node of the computation graph.

    An op with several results (popping a tuple off a stack) lists them in `outs`.
    """

    prim: str
    args: tuple[Operand, ...]
    out: Var
    params: dict[str, Any] = field(default_factory=dict)
    loc: Location | None = None
    outs: tuple[Var, ...] = ()

    @property
    def defines(self) -> tuple[Var, ...]:
        return self.outs or (self.out,)

    def lines(self) -> list[str]:
        args = ", ".join(map(repr, self.args))
        if self.params:
            params = sorted(self.params.items())
            args += "; " + ", ".join(f"{k}={v!r}" for k, v in params)
        target = ", ".join(v.name for v in self.defines)
        text = f"{target} = {self.prim}({args})"
        return [f"{text:<40}# {self.loc.short()}" if self.loc else text]

    def __str__(self) -> str:
        return self.lines()[0]


def _phis(outs: list[Var], *sides: list[Operand | None]) -> list[str]:
    def show(v: Operand | None) -> str:
        return "undefined" if v is None else repr(v)

    return [
        f"{out.name} = phi({', '.join(map(show, vals))})"
        for out, *vals in zip(outs, *sides)
    ]


def _indent(stmts: list[Stmt]) -> list[str]:
    return ["    " + line for s in stmts for line in s.lines()]


@dataclass(eq=False)
class If:
    """`if cond: then else: orelse`; `outs[k]` is `then_vals[k]` or `else_vals[k]`.

    None in a vals list means the variable is not defined on that path.
    """

    cond: Operand
    then: list[Stmt]
    orelse: list[Stmt]
    outs: list[Var] = field(default_factory=list)
    then_vals: list[Operand | None] = field(default_factory=list)
    else_vals: list[Operand | None] = field(default_factory=list)
    loc: Location | None = None

    @property
    def defines(self) -> tuple[Var, ...]:
        return tuple(self.outs)

    def lines(self) -> list[str]:
        where = f"  # {self.loc.short()}" if self.loc else ""
        text = [f"if {self.cond!r}:{where}", *_indent(self.then)]
        text += ["else:", *_indent(self.orelse)]
        return text + _phis(self.outs, self.then_vals, self.else_vals)


@dataclass(eq=False)
class Loop:
    """A loop: `for index in iterable` (when `iterable` is set) or `while cond`.

    `carried[k]` holds a variable's value at the start of each iteration: `inits[k]`
    on entry (None: not defined before the loop), `nexts[k]` after each iteration;
    `outs[k]` is its value after the loop.  A while loop's `header` computes `cond`
    at the start of every iteration.  When `stop` (computed by the body: a `break`)
    is true, the loop ends after that iteration.
    """

    carried: list[Var]
    inits: list[Operand | None]
    body: list[Stmt]
    nexts: list[Operand | None]
    outs: list[Var]
    index: Var | None = None
    iterable: Operand | None = None
    header: list[Stmt] = field(default_factory=list)
    cond: Operand | None = None
    stop: Operand | None = None
    loc: Location | None = None

    @property
    def defines(self) -> tuple[Var, ...]:
        return tuple(self.outs)

    def lines(self) -> list[str]:
        where = f"  # {self.loc.short()}" if self.loc else ""
        stop = [f"    if {self.stop!r}: break"] if self.stop is not None else []
        if self.iterable is not None:
            head = [f"for {self.index!r} in {self.iterable!r}:{where}"]
        else:
            head = [f"while:{where}", *_indent(self.header)]
            head.append(f"    if not {self.cond!r}: break")
        carried = ["    " + c for c in _phis(self.carried, self.inits, self.nexts)]
        after = [
            f"{o.name} = {c.name} after the loop"
            for o, c in zip(self.outs, self.carried)
        ]
        return head[:1] + carried + head[1:] + _indent(self.body) + stop + after


Stmt = Union[Op, If, Loop]


def walk(stmts: list[Stmt]) -> Iterator[Stmt]:
    """Every statement, depth first, in program order (a region before its contents)."""
    for s in stmts:
        yield s
        if isinstance(s, If):
            yield from walk(s.then)
            yield from walk(s.orelse)
        elif isinstance(s, Loop):
            yield from walk(s.header)
            yield from walk(s.body)


def operands(s: Stmt) -> list[Operand | None]:
    """What a statement reads itself (not what the statements nested in it read)."""
    if isinstance(s, Op):
        return list(s.args)
    if isinstance(s, If):
        return [s.cond, *s.then_vals, *s.else_vals]
    return [*s.inits, *s.nexts, s.iterable, s.cond, s.stop]


@dataclass(eq=False)
class Graph:
    """A function in SSA form."""

    name: str
    params: list[Var]
    ops: list[Stmt]
    result: Operand
    defaults: tuple[Const, ...] = ()
    loc: Location | None = None

    def __str__(self) -> str:
        lines = [f"def {self.name}({', '.join(p.name for p in self.params)}):"]
        lines += _indent(self.ops)
        lines.append(f"    return {self.result!r}")
        return "\n".join(lines)


class Namespace:
    """Hands out unique, deterministic names: `mul`, `mul_1`, `mul_2`, ..."""

    def __init__(self, taken: Iterable[str] = ()):
        self._taken = set(taken)

    def fresh(self, hint: str) -> str:
        name, n = hint, 0
        while name in self._taken:
            n += 1
            name = f"{hint}_{n}"
        self._taken.add(name)
        return name

    def reserve(self, name: str) -> None:
        self._taken.add(name)

    def __contains__(self, name: str) -> bool:
        return name in self._taken


def verify(graph: Graph, extra: Iterable[Stmt] = ()) -> None:
    """Check SSA: every value is defined exactly once, before it is used (in program
    order), and a value made inside a loop is used only inside that loop."""
    defined: dict[str, Var] = {}
    scope: dict[Var, tuple[Loop, ...]] = {}

    def fail(message: str) -> None:
        raise InternalError(f"IR invalid: {message}\n{graph}")

    def use(x: Operand | None, where: str, loops: tuple[Loop, ...]) -> None:
        if not isinstance(x, Var):
            return
        if defined.get(x.name) is not x:
            fail(f"{x.name} used before its definition in {where}")
        if scope[x] != loops[: len(scope[x])]:
            fail(f"{x.name}, made inside a loop, is used outside it in {where}")

    def define(v: Var, where: str, loops: tuple[Loop, ...]) -> None:
        if v.name in defined:
            fail(f"{v.name} assigned twice ({where})")
        defined[v.name] = v
        scope[v] = loops

    def block(stmts: Iterable[Stmt], loops: tuple[Loop, ...]) -> None:
        for s in stmts:
            where = s.lines()[0]
            if isinstance(s, Op):
                for a in s.args:
                    use(a, where, loops)
                for v in s.defines:
                    define(v, where, loops)
            elif isinstance(s, If):
                use(s.cond, where, loops)
                block(s.then, loops)
                for v in s.then_vals:
                    use(v, where, loops)
                block(s.orelse, loops)
                for v in s.else_vals:
                    use(v, where, loops)
                for v in s.outs:
                    define(v, where, loops)
            else:
                inner = loops + (s,)
                for v in [s.iterable, *s.inits]:
                    use(v, where, loops)
                for v in s.carried + ([s.index] if s.index else []):
                    define(v, where, inner)
                block(s.header, inner)
                use(s.cond, where, inner)
                block(s.body, inner)
                for v in [*s.nexts, s.stop]:
                    use(v, where, inner)
                for v in s.outs:
                    define(v, where, loops)

    for p in graph.params:
        define(p, "parameters", ())
    block([*graph.ops, *extra], ())
    use(graph.result, "return", ())


# --- which values may hold integers --------------------------------------------------

#: Results that hold bools or integers whatever their operands.
INTEGRAL_RESULTS = frozenset(
    {"lt", "le", "gt", "ge", "eq", "ne", "and", "or", "not", "both", "either"}
    | {"len", "shape", "size", "ndim", "argmax", "argmin", "int", "arange", "range"}
    | {"builtin_round"}
)

#: Results that are floats (or complex) whatever their operands: the transcendental
#: functions and the divisions.  Any other op keeps an integer dtype of its operands.
FLOAT_RESULTS = frozenset(
    {"div", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "sin"}
    | {"cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh"}
    | {"hypot", "logaddexp", "mean", "var", "std", "norm", "float", "sigmoid"}
)


def pushed_values(stmts: list[Stmt]) -> dict[Var, list[tuple[Operand, ...]]]:
    """The values pushed on each tape, one tuple per push."""
    pushed: dict[Var, list[tuple[Operand, ...]]] = {}
    for s in walk(stmts):
        if isinstance(s, Op) and s.prim == "push":
            pushed.setdefault(s.args[0], []).append(s.args[1:])
    return pushed


def integral_result(
    prim: str, args: tuple, params: dict, maybe: Callable[[Operand], bool]
) -> bool:
    """Whether an op's result may hold integers, given which operands `maybe` do."""
    if prim in INTEGRAL_RESULTS:
        return True
    if prim in FLOAT_RESULTS or params.get("lib") == "math":
        return False
    return all(maybe(a) for a in args)


def possibly_integral(stmts: list[Stmt]) -> set[Var]:
    """The values that may hold bools or integers: parameters (anything read but not
    defined here), loop indices, comparisons and counts, and what follows from them
    by ops that keep an integer dtype (`mask * mask`, `img[i]`).  Derivative code
    folds `1.0 * v` to `v` only for the other values: for `v = x < 1.0` the product
    is a float array and `v` a bool one (bool + bool is a logical or)."""
    defined = {v for s in walk(stmts) for v in s.defines}
    for s in walk(stmts):
        if isinstance(s, Loop):
            defined.update(s.carried)
            defined.update([s.index] if s.index is not None else [])
    pushed = pushed_values(stmts)
    integral: set[Var] = set()

    def maybe(x: Operand | None) -> bool:
        if isinstance(x, Var):
            return x in integral or x not in defined
        return x is not None and type(x.value) is not float

    def made_integral(s: Stmt) -> list[Var]:
        if isinstance(s, If):
            sides = zip(s.outs, s.then_vals, s.else_vals)
            return [o for o, a, b in sides if maybe(a) or maybe(b)]
        if isinstance(s, Loop):
            index = [s.index] if s.index is not None else []
            pairs = zip(s.carried, s.inits, s.nexts, s.outs)
            return index + [
                v for c, i, n, o in pairs if maybe(i) or maybe(n) for v in (c, o)
            ]
        if s.prim == "pop":
            pushes = pushed.get(s.args[0], [])
            return [
                o
                for i, o in enumerate(s.defines)
                if any(maybe(p[i]) for p in pushes if i < len(p))
            ]
        return (
            list(s.defines) if integral_result(s.prim, s.args, s.params, maybe) else []
        )

    changed = True
    while changed:
        before = len(integral)
        for s in walk(stmts):
            integral.update(made_integral(s))
        changed = len(integral) != before
    read = {x for s in walk(stmts) for x in operands(s) if isinstance(x, Var)}
    return integral | (read - defined)


# --- building ops -------------------------------------------------------------------

_FOLD: dict[str, Callable[..., Any]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "pow": operator.pow,
    "neg": operator.neg,
}


def _is_number(x: Operand) -> bool:
    return isinstance(x, Const) and type(x.value) in (int, float)


def _is(x: Operand, value: float) -> bool:
    return _is_number(x) and x.value == value


def single_indices(spec: tuple) -> list[bool]:
    """For each run-time part of an index spec (see :meth:`Sym.__getitem__`), whether
    it is a single index (rather than a slice bound)."""
    flags = []
    for item in spec[1:]:
        if item[0] == "slice":
            flags += [False] * sum(item[1:])
        elif item[0] in ("value", "list"):
            flags.append(item[0] == "value")
    return flags


# Temporaries are named after their op, except where that would shadow a built-in
# or be a keyword.
_TEMP_HINTS = {
    "sum": "total",
    "max": "largest",
    "min": "smallest",
    "abs": "magnitude",
    "and": "both",
    "or": "either",
    "pow": "power",
    "tuple": "dims",
    "copy": "copied",
    "div": "quotient",
    "neg": "negated",
    "not": "negation",
    "invert": "inverted",
    "all": "every",
    "any": "some",
    "range": "steps",
    "len": "length",
    "float": "as_float",
    "int": "as_int",
    "reversed": "backwards",
    "getitem": "part",
    "new_stack": "saved",
    "round": "rounded",
    "builtin_round": "rounded",
    "ravel": "flat",
    "var": "variance",
    "std": "deviation",
    "concatenate": "joined",
    "stack": "stacked",
    "hstack": "stacked",
    "vstack": "stacked",
    "eye": "identity",
    "arange": "counts",
}


def temp_hint(prim: str) -> str:
    # A custom rule's primitive is named by its import path: `scipy.special.expit`.
    return _TEMP_HINTS.get(prim, prim.rsplit(".", 1)[-1])


def fold(
    prim: str,
    args: tuple[Operand, ...],
    identities: bool = True,
    integral: set[Var] | frozenset = frozenset(),
) -> Operand | None:
    """The value of an op on constants, or (with `identities`) the operand an
    identity op returns (`x * 1`, `x + 0`, `x ** 1`): rewrites that cannot change a
    shape.  Identities hold only where values are floats, as in derivative code, and
    not for the `integral` values there: `x * 1.0` of a bool or int array is a float
    array."""
    if prim in _FOLD and all(_is_number(a) for a in args):
        try:
            value = _FOLD[prim](*(a.value for a in args))
        except (ArithmeticError, ValueError):
            return None
        if isinstance(value, (int, float)) and math.isfinite(value):
            return Const(value)
        return None
    if not identities:
        return None
    if prim in ("mul", "add") and len(args) == 2:
        unit = 1 if prim == "mul" else 0
        a, b = args
        if _is(a, unit) and _keeps_dtype(a, b, integral):
            return b
        if _is(b, unit) and _keeps_dtype(b, a, integral):
            return a
    if prim in ("sub", "div", "pow") and len(args) == 2:
        x, unit = args
        if _is(unit, 0 if prim == "sub" else 1):
            if _keeps_dtype(Const(0.0) if prim == "div" else unit, x, integral):
                return x
    return None


def _keeps_dtype(unit: Const, x: Operand, integral: set[Var] | frozenset) -> bool:
    """Whether `x op unit` has x's dtype: `mask * 1.0` is a float array, `mask * 1`
    and `mask ** 1` are bool ones."""
    return type(unit.value) is int or x not in integral


class Builder:
    """Appends ops to a list, naming their outputs from one :class:`Namespace`."""

    def __init__(self, names: Namespace, ops: list[Op] | None = None):
        self.names = names
        self.ops: list[Op] = [] if ops is None else ops
        self.loc: Location | None = None
        self.lib = "np"  # which library calls made by rules should use
        self.defs: dict[Var, Op] = {}
        # Identities with a constant (x * 1, x + 0, x / 1) hold for float values, as
        # derivatives are; in user code x may be a bool or int array whose type the
        # operation changes (True + True is True, True * 1.0 + True is 2.0).
        self.identities = True
        self.integral: set[Var] = set()  # values identities must keep (see fold)

    def var(self, hint: str, role: str = "temp") -> Var:
        return Var(self.names.fresh(hint), hint, role)

    def emit(
        self,
        prim: str,
        *args: Operand,
        hint: str | None = None,
        role: str = "temp",
        **params: Any,
    ) -> Operand:
        folded = self._fold(prim, args)
        if folded is not None:
            return folded
        out = self.var(hint or temp_hint(prim), role if hint else "temp")
        op = Op(prim, tuple(args), out, params, self.loc)
        self.ops.append(op)
        self.defs[out] = op
        if self.integral and integral_result(prim, op.args, params, self._integral):
            self.integral.add(out)
        return out

    def _integral(self, x: Operand) -> bool:
        if isinstance(x, Var):
            return x in self.integral
        return type(x.value) is not float

    def _fold(self, prim: str, args: tuple[Operand, ...]) -> Operand | None:
        """Constant folding and identities that cannot change a value's shape."""
        if prim in _FOLD and all(_is_number(a) for a in args):
            return fold(prim, args)
        if self.identities:
            return self._identity(prim, args)
        return None

    def _identity(self, prim: str, args: tuple[Operand, ...]) -> Operand | None:
        same = fold(prim, args, integral=self.integral)  # x * 1, x + 0, x ** 1, ...
        if same is not None:
            return same
        if prim == "mul":
            a, b = args
            if _is(a, -1) and b not in self.integral:  # -(uint8) wraps, -1.0 * does not
                return self.emit("neg", b)
            if _is(b, -1) and a not in self.integral:
                return self.emit("neg", a)
        if prim == "add":
            a, b = args
            if self._negated(b) is not None:
                return self.emit("sub", a, self._negated(b))
        if prim == "sub" and _is(args[0], 0) and args[1] not in self.integral:
            return self.emit("neg", args[1])
        if prim == "neg":
            inner = self._negated(args[0])
            if inner is not None:
                return inner
        if prim in ("mul", "div"):
            # Pull signs outward so that they can cancel: (-a) * b -> -(a * b).
            a, b = args
            if self._negated(a) is not None:
                return self.emit("neg", self.emit(prim, self._negated(a), b))
            if self._negated(b) is not None:
                return self.emit("neg", self.emit(prim, a, self._negated(b)))
        return None

    def _negated(self, x: Operand) -> Operand | None:
        """y when x was made by `-y` in this builder, else None."""
        op = self.defs.get(x) if isinstance(x, Var) else None
        return op.args[0] if op is not None and op.prim == "neg" else None


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
        from .primitives import METHODS, PRIMITIVES  # late: primitives imports ir

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
            from .primitives import PRIMITIVES  # late: primitives imports ir

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
    from .primitives import PRIMITIVES, lookup_object  # late: primitives imports ir

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
) -> Sym:
    """Bind the arguments of a call on Syms to `prim` and append its op."""
    from .primitives import ArgumentError, bind  # late: primitives imports ir

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
    return Sym(builder.emit(prim.name, *map(as_operand, operands), **static), builder)


def maybe_undefined(stmts: list[Stmt]) -> set[Var]:
    """Values that may not exist when read: a name assigned on one path of a branch
    (or only inside a loop), merged with the paths where it is not."""
    found: set[Var] = set()
    changed = True
    while changed:
        changed = False
        for s in walk(stmts):
            if isinstance(s, If):
                pairs = zip(s.outs, s.then_vals, s.else_vals)
                new = {
                    o
                    for o, *sides in pairs
                    if any(v is None or v in found for v in sides)
                }
            elif isinstance(s, Loop):
                new = {
                    v
                    for k, init in enumerate(s.inits)
                    if init is None or init in found
                    for v in (s.carried[k], s.outs[k])
                }
            else:
                continue
            if not new <= found:
                found |= new
                changed = True
    return found
