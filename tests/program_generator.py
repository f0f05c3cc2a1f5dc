"""Random numpy programs for property tests of s2s (used by test_programs.py).

`programs()` is a hypothesis strategy of :class:`Program`: a function `f` of one to
three parameters (Python floats or small float64 arrays whose shapes broadcast against
each other), a body of straight-line statements, and a scalar `return`, together with
the arguments to call it at.

The generator keeps, for every name in scope, its shape, a bound on the magnitude of
its elements and whether it may share its buffer with another name, so that every
program is valid numpy, stays within safe domains (no division by values near zero,
no log or sqrt of values near zero, no overflow) and means the same thing in numpy as
in s2s's value semantics.  Kinks (max, min, abs) are allowed: the arguments are drawn
from a continuous distribution (seeded, never shrunk), so ties and zeros have
probability zero.

Statements are produced by `stmt_<kind>` methods of :class:`ProgramBuilder`, chosen by
:meth:`ProgramBuilder.statement_kinds`; control flow (if/for/while) and calls to helper
functions can be added later as new kinds that emit indented blocks (`self.indent`) and
merge the scopes of their branches (`self.env`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np
from hypothesis import strategies as st

# --- known s2s bugs: constructs left out until they are fixed -------------------------

#: `x.T`, `np.transpose(x)` and `x.transpose()` (transpose without axes) fail with
#: InternalError: `Sym.T` in s2s/ir.py calls `self.apply("transpose")` without passing
#: `self` as the operand, so the adjoint rule's `g.T` emits an op with no arguments.
#: While True, only the spellings with explicit axes (`np.transpose(x, (1, 0))`) are
#: generated.
KNOWN_BUG_TRANSPOSE_NO_AXES = False


# --- parameters of the generator ------------------------------------------------------

PARAM_NAMES = ("x", "y", "z")
#: Shapes of the parameters; "float" is a Python float.
PARAM_KINDS = ("float", (), (3,), (2, 3), (3, 1), (1, 3))
ARG_RANGE = 2.0  # arguments are uniform in [-ARG_RANGE, ARG_RANGE]
LIMIT = 10.0  # bound on the magnitude of every value a program computes
MAX_STATEMENTS = 8
#: Depth of the expression on the right of an assignment (0: a plain name).
DEPTHS = (1, 2, 1, 3, 2, 0)
CONSTANTS = ("2.0", "0.5", "3.0", "1.5", "2", "0.25")
#: Functions also spelled `math.<name>` on scalars (with a Python float result).
MATH_NAMES = {n: n for n in ("sin", "cos", "tanh", "exp", "log", "sqrt")}
MATH_NAMES["abs"] = "fabs"

# Python precedence levels, to parenthesize only where needed.
ADD, MUL, UNARY, POW, ATOM = 60, 70, 80, 90, 100
_PREC = {"+": ADD, "-": ADD, "*": MUL, "/": MUL, "**": POW}

Shape = tuple[int, ...]


def broadcast(*shapes: Shape) -> Shape | None:
    """The broadcast shape, or None when the shapes do not broadcast."""
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


@dataclass(frozen=True)
class Value:
    """What the generator knows about a name in scope."""

    shape: Shape
    bound: float  # every element has magnitude at most this
    pyfloat: bool  # a Python float, which has no array methods
    buffer: int  # identity of the object; names sharing it see in-place updates
    view: bool = False  # made by a view op (transpose): s2s refuses `v op= e` on it


@dataclass(frozen=True)
class Expr:
    """A generated expression: its text, precedence and what it evaluates to."""

    text: str
    prec: int
    shape: Shape
    bound: float
    pyfloat: bool = False
    buffer: int | None = None  # the object it may evaluate to, None when fresh
    view: bool = False  # a view (of a name or of a temporary)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def wrap(self, prec: int, strict: bool = False) -> str:
        """The text as an operand of an operator of precedence `prec`."""
        needs = self.prec <= prec if strict else self.prec < prec
        return f"({self.text})" if needs else self.text


def const(text: str) -> Expr:
    prec = UNARY if text.startswith("-") else ATOM
    return Expr(text, prec, (), abs(float(text)), pyfloat=True)


def binop(a: Expr, op: str, b: Expr, bound: float | None = None) -> Expr:
    prec = _PREC[op]
    if op == "**":  # right-associative, and `-a ** b` is `-(a ** b)`
        left, right = a.wrap(prec, strict=True), b.wrap(UNARY)
    else:
        left, right = a.wrap(prec), b.wrap(prec, strict=True)
    if bound is None:
        bound = {
            "+": a.bound + b.bound,
            "-": a.bound + b.bound,
            "*": a.bound * b.bound,
        }[op]
    shape = broadcast(a.shape, b.shape)
    assert shape is not None, (a, b)
    return Expr(f"{left} {op} {right}", prec, shape, bound, a.pyfloat and b.pyfloat)


def neg(a: Expr) -> Expr:
    return Expr(f"-{a.wrap(UNARY)}", UNARY, a.shape, a.bound, a.pyfloat)


def call(name: str, *args: Expr | str, shape: Shape, bound: float, **kw: Any) -> Expr:
    """`name(args, key=value)`: a numpy function or a method, never a Python float."""
    parts = [a.text if isinstance(a, Expr) else a for a in args]
    parts += [f"{k}={v!r}" for k, v in kw.items()]
    return Expr(f"{name}({', '.join(parts)})", ATOM, shape, bound)


def method(a: Expr, name: str, *args: str, shape: Shape, bound: float, **kw) -> Expr:
    return call(f"{a.wrap(ATOM)}.{name}", *args, shape=shape, bound=bound, **kw)


@dataclass(frozen=True)
class Param:
    name: str
    shape: Shape
    pyfloat: bool


class Program:
    """A generated function and the arguments to call it at."""

    def __init__(self, name: str, params: list[Param], body: list[str], args: tuple):
        self.name = name
        self.params = params
        self.body = body  # lines, indented
        self.args = args

    def function_source(self) -> str:
        header = f"def {self.name}({', '.join(p.name for p in self.params)}):"
        return "\n".join([header, *self.body]) + "\n"

    def args_source(self) -> str:
        items = []
        for a in self.args:
            if isinstance(a, np.ndarray):
                items.append(f"np.array({a.tolist()!r})")
            else:
                items.append(repr(a))
        return f"ARGS = ({', '.join(items)},)\n"

    def module_source(self) -> str:
        """A self-contained module: numpy, the helpers, the function, and ARGS."""
        return (
            "import math\n\nimport numpy as np\n\n\n"
            + HELPERS
            + "\n\n"
            + self.function_source()
            + "\n\n"
            + self.args_source()
        )

    @property
    def wrt(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def __repr__(self) -> str:  # how hypothesis shows a falsifying example
        return f"Program(<<<\n{self.module_source()}>>>)"


#: Module-level functions the programs may call (s2s inlines them).
HELPERS = """\
def helper_mix(a, b):
    return a * np.tanh(b) + 0.5 * b


def helper_pair(a, b=1.0):
    s = 0.5 * (a + b)
    if np.sum(s) > 0:
        return s, a * helper_mix(b, a)
    return -s, a - b
"""


def make_args(params: list[Param], seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    args = []
    for p in params:
        value = rng.uniform(-ARG_RANGE, ARG_RANGE, p.shape)
        args.append(float(value) if p.pyfloat else np.asarray(value, np.float64))
    return tuple(args)


class ProgramBuilder:
    """Draws one program, statement by statement, tracking the names in scope."""

    def __init__(
        self,
        draw: Callable,
        max_statements: int = MAX_STATEMENTS,
        straight_line: bool = False,
    ):
        self.draw = draw
        self.max_statements = max_statements
        self.straight_line = straight_line  # no if, for or while (calls are inlined)
        self.env: dict[str, Value] = {}  # in order of last assignment
        self.lines: list[str] = []
        self.indent = 1
        self.new_names = (f"v{i}" for i in itertools.count(1))
        self.buffers = itertools.count()
        self.param_buffers: set[int] = set()  # the arrays of the caller
        self.last: str | None = None  # the name assigned last
        self.forced: str | None = None  # the name the next leaf must be

    # --- drawing ------------------------------------------------------------------------

    def choose(self, options):
        return self.draw(st.sampled_from(tuple(options)))

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)

    # --- the program --------------------------------------------------------------------

    def build(self) -> Program:
        params = []
        for name in PARAM_NAMES[: self.draw(st.integers(1, len(PARAM_NAMES)))]:
            kind = self.choose(PARAM_KINDS)
            pyfloat = kind == "float"
            shape = () if pyfloat else kind
            params.append(Param(name, shape, pyfloat))
            buffer = next(self.buffers)
            if not pyfloat:
                self.param_buffers.add(buffer)
            self.env[name] = Value(shape, ARG_RANGE, pyfloat, buffer)
        for _ in range(self.draw(st.integers(1, self.max_statements))):
            self.statement()
        self.emit(self.return_statement())
        seed = self.draw(st.integers(0, 2**32 - 1))
        return Program("f", params, self.lines, make_args(params, seed))

    def statement_kinds(self) -> tuple[str, ...]:
        kinds = ("assign", "assign", "rebind", "assign", "update", "call")
        if self.indent == 1 and not self.straight_line:  # regions nest one level deep
            kinds += ("if", "for", "while")
        return kinds

    # --- control flow and calls ---------------------------------------------------------

    def condition(self) -> str:
        """A scalar test on run-time values (ties have probability zero)."""
        e = self.expr(self.choose((0, 1)))
        if e.ndim:
            e = self.to_scalar(e)
        test = f"{e.wrap(ADD)} {self.choose(('>', '<', '>='))} {self.choose(('0.0', '0.5'))}"
        if self.draw(st.booleans()):
            other = self.leaf()
            other = self.to_scalar(other) if other.ndim else other
            test = f"{test} {self.choose(('and', 'or'))} not {other.wrap(ADD)} < -1.0"
        return test

    def contract(self, name: str) -> None:
        """`name = 0.5 * name + 0.25 * tanh(e)`: a bounded update keeping name's shape."""
        target = self.env[name]
        e = self.squash(self.expr(self.choose((0, 1, 2))))
        if broadcast(target.shape, e.shape) != target.shape:
            e = self.squash(self.to_scalar(e))
        self.emit(f"{name} = 0.5 * {name} + 0.25 * {e.text}")
        bound = 0.5 * target.bound + 0.25
        self.env.pop(name)
        self.env[name] = Value(
            target.shape,
            max(bound, target.bound),
            target.pyfloat or e.pyfloat,
            target.buffer,  # when the branch is not taken, or the loop not run
            target.view,
        )
        self.last = name

    def nested(self, body: Callable[[], None]) -> None:
        self.indent += 1
        body()
        self.indent -= 1

    def stmt_if(self) -> None:
        """if/elif/else, each branch updating a name (some branches only)."""
        name = self.choose(reversed(self.env))
        self.emit(f"if {self.condition()}:")
        self.nested(lambda: self.contract(name))
        if self.draw(st.booleans()):
            self.emit(f"elif {self.condition()}:")
            self.nested(lambda: self.contract(name))
        if self.draw(st.booleans()):
            self.emit("else:")
            self.nested(lambda: self.contract(name))

    def stmt_for(self) -> None:
        """A for loop over a small range (maybe empty, maybe backwards), with an
        optional continue or break."""
        name = self.choose(reversed(self.env))
        bounds = self.choose(("3", "0", "1, 4", "4, 0, -2", "2, 2"))
        self.emit(f"for i in range({bounds}):")

        def body() -> None:
            exit_ = self.choose(("", "", "continue", "break"))
            if exit_ == "continue":
                self.emit("if i % 2 == 1:")
                self.nested(lambda: self.emit("continue"))
            self.contract(name)
            if exit_ == "break":
                self.emit(f"if {self.condition()}:")
                self.nested(lambda: self.emit("break"))
            self.emit(f"{name} = {name} + 0.125 * i")
            value = self.env[name]
            self.env[name] = replace(value, bound=value.bound + 0.5)

        self.nested(body)

    def stmt_while(self) -> None:
        """A while loop counting up to a small bound."""
        name = self.choose(reversed(self.env))
        counter = f"k{len(self.lines)}"
        trips = self.choose(("0", "2", "3"))
        self.emit(f"{counter} = 0")
        self.emit(f"while {counter} < {trips}:")

        def body() -> None:
            self.contract(name)
            self.emit(f"{counter} = {counter} + 1")

        self.nested(body)

    def stmt_call(self) -> None:
        """A call to a helper defined in the module (inlined by s2s)."""
        a = self.squash(self.expr(self.choose((0, 1))))
        b = self.fit(self.squash(self.expr(self.choose((0, 1)))), a.shape)
        shape = broadcast(a.shape, b.shape)
        pyfloat = a.pyfloat and b.pyfloat
        if self.draw(st.booleans()):
            name = next(self.new_names)
            self.emit(f"{name} = helper_mix({a.text}, {b.text})")
            self.bind(name, Expr(name, ATOM, shape, 1.5, pyfloat))
        else:
            first, second = next(self.new_names), next(self.new_names)
            self.emit(f"{first}, {second} = helper_pair({a.text}, b={b.text})")
            self.bind(first, Expr(first, ATOM, shape, 1.0, pyfloat))
            self.bind(second, Expr(second, ATOM, shape, 2.0, pyfloat))

    def statement(self) -> None:
        getattr(self, "stmt_" + self.choose(self.statement_kinds()))()

    def bind(self, name: str, e: Expr) -> None:
        buffer = e.buffer if e.buffer is not None else next(self.buffers)
        self.env.pop(name, None)
        self.env[name] = Value(e.shape, e.bound, e.pyfloat, buffer, e.view)
        self.last = name

    def stmt_assign(self) -> None:
        """`vK = expr`: a new name."""
        name = next(self.new_names)
        e = self.expr(self.choose(DEPTHS))
        self.emit(f"{name} = {e.text}")
        self.bind(name, e)

    def stmt_rebind(self) -> None:
        """`x = <expr of x>`: a name (a parameter too) rebound to a function of itself."""
        name = self.choose(reversed(self.env))
        self.forced = name
        e = self.expr(self.choose(d for d in DEPTHS if d))
        self.forced = None
        self.emit(f"{name} = {e.text}")
        self.bind(name, e)

    def updatable(self, name: str) -> bool:
        """Whether s2s accepts `name op= e`, and it means in numpy what it means in s2s:
        `name = name op e`."""
        value = self.env[name]
        if value.view or value.buffer in self.param_buffers:
            return False  # s2s refuses a view; the caller's array must stay unchanged
        others = [n for n, v in self.env.items() if v.buffer == value.buffer]
        others.remove(name)
        # s2s refuses when another name holds the value (floats too) or a view of it:
        # numpy would change that name's array as well.
        return not others

    def stmt_update(self) -> None:
        """`v += expr`, `v -= expr`, `v *= expr`, keeping v's shape."""
        names = [n for n in reversed(self.env) if self.updatable(n)]
        if not names:
            return self.stmt_assign()
        name = self.choose(names)
        target = self.env[name]
        e = self.expr(self.choose(DEPTHS[:-1]))
        if broadcast(target.shape, e.shape) != target.shape:
            e = self.to_scalar(e)
        op = self.choose(("+=", "-=", "*="))
        if op != "*=" and target.bound + e.bound > LIMIT:
            op = "*="
        if op == "*=" and e.bound > 1.0:
            e = self.squash(e)
        bound = target.bound * e.bound if op == "*=" else target.bound + e.bound
        self.emit(f"{name} {op} {e.text}")
        pyfloat = target.pyfloat and e.pyfloat
        self.env.pop(name)
        self.env[name] = Value(target.shape, bound, pyfloat, target.buffer)
        self.last = name

    def return_statement(self) -> str:
        name = self.last
        value = self.env[name]
        if value.shape == ():
            return f"return {name}"
        return "return " + self.choose(
            (f"np.sum({name})", f"np.mean({name})", f"{name}.sum()", f"{name}.mean()")
        )

    # --- expressions --------------------------------------------------------------------

    FAMILIES = (
        "arith",
        "scale",
        "unary",
        "arith",
        "div",
        "power",
        "extremum",
        "reduce",
        "neg",
        "transpose",
    )

    def expr(self, depth: int) -> Expr:
        """An expression of about `depth` nested operations, its magnitude <= LIMIT."""
        if depth <= 0:
            return self.leaf()
        e = getattr(self, "expr_" + self.choose(self.FAMILIES))(depth - 1)
        if e.bound > LIMIT:
            e = self.squash(e)
        return e

    def sub(self, depth: int) -> Expr:
        """A second operand: any depth up to `depth`."""
        return self.expr(self.draw(st.integers(0, depth)))

    def leaf(self) -> Expr:
        if self.forced is not None:
            name, self.forced = self.forced, None
        else:
            name = self.choose(reversed(self.env))  # the most recent first
        v = self.env[name]
        return Expr(name, ATOM, v.shape, v.bound, v.pyfloat, v.buffer, v.view)

    def ufunc(self, name: str, a: Expr, bound: float) -> Expr:
        """`np.<name>(a)`; for a scalar also `math.<name>(a)`, a Python float."""
        spellings = ["np"]
        if a.shape == () and name in MATH_NAMES:
            spellings.append("math")
        if name == "abs":
            spellings.append("builtin")
        spelling = self.choose(spellings)
        if spelling == "math":
            e = call("math." + MATH_NAMES[name], a, shape=(), bound=bound)
            return replace(e, pyfloat=True)
        if spelling == "builtin":
            return replace(call(name, a, shape=a.shape, bound=bound), pyfloat=a.pyfloat)
        return call("np." + name, a, shape=a.shape, bound=bound)

    def squash(self, e: Expr) -> Expr:
        """e mapped into [-1, 1] (by tanh alone when e may be large: sin or cos of a
        large value has a large derivative, too large for finite differences)."""
        names = ("tanh", "sin", "cos") if e.bound <= 4 * LIMIT else ("tanh",)
        return self.ufunc(self.choose(names), e, bound=1)

    def fit(self, e: Expr, shape: Shape) -> Expr:
        """e, changed if needed so that it broadcasts against `shape`."""
        if broadcast(e.shape, shape) is not None:
            return e
        options = [self.to_scalar(e)]
        if e.ndim == 2 and broadcast(e.shape[::-1], shape) is not None:
            options.append(self.transposed(e))
        for axis in range(e.ndim):
            for keepdims in (False, True):
                r = self.reduction(e, "np.sum", axis, keepdims)
                if broadcast(r.shape, shape) is not None:
                    options.append(r)
        return self.choose(options)

    def to_scalar(self, e: Expr) -> Expr:
        name = self.choose(("np.sum", "np.mean", "np.max"))
        return self.reduction(e, name, None, False)

    def reduction(self, e: Expr, name: str, axis, keepdims: bool, spelling="np"):
        if axis is None:
            axes = tuple(range(e.ndim))
        else:
            axes = tuple(a % e.ndim for a in np.atleast_1d(axis))
        if keepdims:
            shape = tuple(1 if i in axes else n for i, n in enumerate(e.shape))
        else:
            shape = tuple(n for i, n in enumerate(e.shape) if i not in axes)
        count = math.prod(e.shape[i] for i in axes)
        bound = e.bound * count if name.endswith("sum") else e.bound
        kw = {}
        if axis is not None:
            kw["axis"] = axis
        if keepdims:
            kw["keepdims"] = True
        if spelling == "method":
            return method(e, name.split(".")[-1], shape=shape, bound=bound, **kw)
        return call(name, e, shape=shape, bound=bound, **kw)

    def transposed(self, e: Expr) -> Expr:
        """A 2-D e with its axes swapped (a view of e)."""
        spellings = ["np.transpose(a, (1, 0))", "np.transpose(a, axes=(1, 0))"]
        if not e.pyfloat:
            spellings.append("a.transpose(1, 0)")
        if not KNOWN_BUG_TRANSPOSE_NO_AXES:
            spellings.append("np.transpose(a)")
            if not e.pyfloat:
                spellings += ["a.T", "a.transpose()"]
        spelling = self.choose(spellings)
        if spelling.startswith("a."):
            text = e.wrap(ATOM) + spelling[1:]
        else:
            text = spelling.replace("(a", f"({e.text}", 1)
        return Expr(text, ATOM, e.shape[::-1], e.bound, buffer=e.buffer, view=True)

    # Each family builds an expression from subexpressions of depth at most `d`.

    def expr_arith(self, d: int) -> Expr:
        a = self.expr(d)
        b = self.fit(self.sub(d), a.shape)
        op = self.choose("+-*")
        e = binop(a, op, b)
        if self.choose((False, False, False, True)):  # the numpy function instead
            fn = {"+": "np.add", "-": "np.subtract", "*": "np.multiply"}[op]
            return call(fn, a, b, shape=e.shape, bound=e.bound)
        return e

    def expr_scale(self, d: int) -> Expr:
        a, c = self.expr(d), const(self.choose(CONSTANTS))
        form = self.choose(("a * c", "c * a", "a + c", "c - a", "a / c", "a - c"))
        if form == "a / c":
            return binop(a, "/", c, bound=a.bound / c.bound)
        if form.startswith("c"):
            return binop(c, form[2], a)
        return binop(a, form[2], c)

    def expr_neg(self, d: int) -> Expr:
        return neg(self.expr(d))

    def expr_div(self, d: int) -> Expr:
        """Division by something at least 1 (or at least 1/e) in magnitude."""
        form = self.choose(("1 + b * b", "2 + cos b", "exp tanh b", "c / (1 + b^2)"))
        if form == "c / (1 + b^2)":
            b, a = self.expr(d), const(self.choose(CONSTANTS))
        else:
            a = self.expr(d)
            b = self.fit(self.sub(d), a.shape)
        one = const("1.0")
        if form == "1 + b * b":
            den = binop(one, "+", binop(b, "*", b))
        elif form == "2 + cos b":
            den = binop(const("2.0"), "+", self.ufunc("cos", b, bound=1))
        elif form == "exp tanh b":
            den = self.ufunc("exp", self.ufunc("tanh", b, bound=1), bound=math.e)
        else:
            den = binop(one, "+", self.ufunc("square", b, bound=b.bound**2))
        bound = a.bound * (math.e if form == "exp tanh b" else 1.0)
        return binop(a, "/", den, bound=bound)

    def expr_power(self, d: int) -> Expr:
        a = self.expr(d)
        form = self.choose(
            ("a ** 2", "a ** 3", "a ** 2.0", "p ** 0.5", "p ** -1.5")
            + ("(2 + sin a) ** -1", "1.5 ** tanh a", "0.5 ** sin a")
        )
        if form.startswith("a **"):
            k = const(form[5:])
            e = binop(a, "**", k, bound=a.bound ** float(k.text))
            if self.choose((False, False, False, True)):
                return call("np.power", a, k, shape=a.shape, bound=e.bound)
            return e
        if form.startswith("p **"):  # a positive base
            base = binop(const("1.0"), "+", binop(a, "*", a))
            k = form[5:]
            exponent = Expr(k, UNARY if k.startswith("-") else ATOM, (), 1.5, True)
            bound = math.sqrt(base.bound) if k == "0.5" else 1.0
            return binop(base, "**", exponent, bound=bound)
        if form == "(2 + sin a) ** -1":
            base = binop(const("2.0"), "+", self.ufunc("sin", a, bound=1))
            return binop(base, "**", Expr("-1", UNARY, (), 1.0, True), bound=1.0)
        base, fn = form.split(" ** ")[0], form.split()[2]  # a constant base
        exponent = self.ufunc(fn, a, bound=1)
        return binop(const(base), "**", exponent, bound=2.0)

    def expr_unary(self, d: int) -> Expr:
        a = self.expr(d)
        fn = self.choose(
            ("sin", "cos", "tanh", "exp", "square", "log", "sqrt", "abs", "exp tanh")
        )
        if fn in ("sin", "cos", "tanh"):
            return self.ufunc(fn, a, bound=1)
        if fn == "square":
            return self.ufunc("square", a, bound=a.bound**2)
        if fn == "abs":
            return self.ufunc("abs", a, bound=a.bound)
        if fn == "exp" and a.bound <= 2.5:
            return self.ufunc("exp", a, bound=math.exp(a.bound))
        if fn in ("exp", "exp tanh"):
            return self.ufunc("exp", self.ufunc("tanh", a, bound=1), bound=math.e)
        # log and sqrt of things at least 0.5
        inner = self.choose(("c + a * a", "c + np.square(a)", "2 + cos a", "exp a"))
        if inner == "exp a" and a.bound <= 3:
            inner = self.ufunc("exp", a, bound=math.exp(a.bound))
            bound = a.bound if fn == "log" else math.exp(a.bound / 2)
            return self.ufunc(fn, inner, bound=bound)
        if inner in ("2 + cos a", "exp a"):
            inner = binop(const("2.0"), "+", self.ufunc("cos", a, bound=1))
        else:
            if inner == "c + a * a":
                square = binop(a, "*", a)
            else:
                square = self.ufunc("square", a, bound=a.bound**2)
            inner = binop(const(self.choose(("1.0", "0.5", "2.0"))), "+", square)
        bound = math.log(2 + inner.bound) if fn == "log" else math.sqrt(inner.bound)
        return self.ufunc(fn, inner, bound=bound)

    def expr_extremum(self, d: int) -> Expr:
        name = self.choose(("maximum", "minimum"))
        a = self.expr(d)
        if self.choose((False, True)):
            b = const(self.choose(("0.0", "0.5", "-0.5")))
            args = (a, b) if self.choose((True, False)) else (b, a)
        else:
            b = self.fit(self.sub(d), a.shape)
            args = (a, b)
        shape, bound = broadcast(a.shape, b.shape), max(a.bound, b.bound)
        # Built-in min/max need scalars (pyfloat alone is conservative for methods:
        # it is also set on a value that is an array on some paths).
        scalars = a.pyfloat and b.pyfloat and shape == ()
        if scalars and self.choose((False, True)):
            builtin = {"maximum": "max", "minimum": "min"}[name]
            return replace(call(builtin, *args, shape=shape, bound=bound), pyfloat=True)
        return call("np." + name, *args, shape=shape, bound=bound)

    def expr_reduce(self, d: int) -> Expr:
        a = self.expr(d)
        name = self.choose(("np.sum", "np.mean", "np.max", "np.min"))
        axes: list = [None]
        if a.ndim:
            axes += list(range(a.ndim)) + list(range(-a.ndim, 0))
            if a.ndim == 2:
                axes += [(0, 1), (1,)]
        axis = self.choose(axes)
        keepdims = self.choose((False, True))
        spelling = "np" if a.pyfloat else self.choose(("np", "method"))
        return self.reduction(a, name, axis, keepdims, spelling)

    def expr_transpose(self, d: int) -> Expr:
        a = self.expr(d)
        if a.ndim == 2:
            return self.transposed(a)
        if KNOWN_BUG_TRANSPOSE_NO_AXES:
            return neg(a)
        if a.pyfloat:  # a new 0-d array in numpy, but s2s cannot tell it from a view
            e = call("np.transpose", a, shape=a.shape, bound=a.bound)
            return replace(e, buffer=a.buffer, view=True)
        spelling = self.choose(("a.T", "np.transpose(a)", "a.transpose()"))
        if spelling == "np.transpose(a)":
            e = call("np.transpose", a, shape=a.shape, bound=a.bound)
            return replace(e, buffer=a.buffer, view=True)
        text = a.wrap(ATOM) + spelling[1:]
        return Expr(text, ATOM, a.shape, a.bound, buffer=a.buffer, view=True)


@st.composite
def programs(
    draw, max_statements: int = MAX_STATEMENTS, straight_line: bool = False
) -> Program:
    """A random program with its arguments (`straight_line`: without if, for and
    while)."""
    return ProgramBuilder(draw, max_statements, straight_line).build()
