"""Random programs in the subset of Python + numpy that s2s differentiates.

A program is the text of a module: float (and int) constants, helper functions and a
function `f` whose parameters are Python floats and small float64 arrays, returning
a scalar.  The generator keeps an interval bound for every value it can name: it
runs an abstract interpreter over the statements it writes (a loop is run to its
largest trip count, branches are joined), so that every numpy and math call stays
inside its domain, divisions stay away from zero and no value grows past `LIMIT`.
The function is then smooth wherever its control flow is fixed, and central
differences of it are meaningful.

The grammar: assignments, tuple unpacking, `+= -= *= /=` on scalars and on arrays
the function made, `acc[i] += v` on `np.zeros` accumulators, `out[i] = v` into an
array the function made (filled by a loop, `out[i] = g(x[i])`, or a recurrence
`out[i] = a * out[i - 1] + ...`); `+ - * / **` with broadcasting over the shapes in
`SHAPES`; elementwise numpy and math functions, `maximum minimum clip where hypot
arctan2 logaddexp`, the built-ins `min max abs float round`; reductions with `axis`
and `keepdims`; indexing and slicing (integer, negative, steps, `[::-1]`, run-time
bounds, 2-D); matrix products, stacking, reshaping; comprehensions and generators
(`sum(e for i in range(n) if c)`, over an array, over a tuple of arrays, `max(e for
v in (a, b))`, `np.stack([e for k in range(3)])`, `np.array([[...] for i in ...])`,
`sum` of a list, `enumerate` and `zip` of tuples); `if`/`elif`/`else` and
conditional expressions on run-time values, conditions on `np.isnan/isinf/isfinite`;
`for` over ranges (constant, run-time, nested, `reversed`) and over a tuple of values
of one shape or several, `while` with a trip counter, `while True:` left by a return
or a break, `break`, `continue` and early `return` at any depth; the loop variable
read after its loop; `raise E(f"...")` and `assert c, "..."` (the program may raise
at its arguments: the oracle checks that the gradient raises the same); an optional
parameter `b=None` tested with `is None` / `is not None`, keyword-only parameters
(`*, scale=0.5`), each passed or left out; helper functions (nested, with
keyword-only parameters called by keyword, returning tuples read as `h(x)[0]`,
`pair = h(x); pair[1]` or `a, b = h(x)`); module constants.  `generate(rng)` returns
a :class:`Program`.
"""

from __future__ import annotations

import ast
import math
import random
import re
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

#: No value may exceed this magnitude.
LIMIT = 1e4
#: Expressions are scaled down when a bound passes this while being generated,
#: leaving room for loops to grow them.
SOFT = 300.0
#: Largest argument of exp, sinh, cosh.
EXP_MAX = 7.0
#: The smallest magnitude of a denominator, and of the argument of log or sqrt.
AWAY = 0.2
#: Parameters are sampled inside their interval; the generator assumes this much more.
MARGIN = 0.05

SHAPES: list[tuple] = [(), (2,), (3,), (1, 3), (3, 1), (2, 3), (3, 3), (2, 1)]
PARAM_SHAPES: list[tuple] = [(), (3,), (2, 3), (3, 1), (1, 3), (2,)]
PARAM_NAMES = ["x", "y", "z", "w", "u"]
PARAM_RANGES = [(-2.0, 2.0), (0.5, 2.5), (-1.5, 0.5), (-1.0, 1.0), (0.2, 1.2)]


#: What generated programs raise (`raise E(...)`; `assert` raises AssertionError).
EXCEPTIONS = [
    "ValueError",
    "FloatingPointError",
    "OverflowError",
    "ArithmeticError",
    "RuntimeError",
]


class Unsafe(Exception):
    """A value may leave its function's domain, grow past LIMIT, or be unbound."""


@dataclass(frozen=True)
class Val:
    """What the abstract interpreter knows of a value: its shape, a bound on every
    element, whether it is an int (a loop index), and whether it is an array this
    function made that no other name holds (so updating it in place is allowed)."""

    shape: tuple
    lo: float
    hi: float
    isint: bool = False
    fresh: bool = False
    active: bool = False  # depends on a differentiated parameter

    @property
    def mag(self) -> float:
        return max(abs(self.lo), abs(self.hi))


def mkval(
    shape: tuple, lo: float, hi: float, isint: bool = False, fresh: bool = False
) -> Val:
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi + 1e-12:
        raise Unsafe("not finite")
    if lo < -LIMIT or hi > LIMIT:
        raise Unsafe("too large")
    return Val(tuple(shape), lo, hi, isint, fresh)


def hull(a: Val, b: Val) -> Val:
    if a.shape != b.shape:
        raise Unsafe("shapes differ")
    return Val(
        a.shape,
        min(a.lo, b.lo),
        max(a.hi, b.hi),
        a.isint and b.isint,
        a.fresh and b.fresh,
        a.active or b.active,
    )


_IDENT = re.compile(r"[A-Za-z_]\w*")


def active_in(env: Env, src: str) -> bool:
    """Whether text reads a name that depends on a differentiated parameter."""
    return any(env[n].active for n in _IDENT.findall(src) if n in env)


Env = dict


def join(*envs: Optional[Env]) -> Optional[Env]:
    """The environment after paths meet: names bound on every path, bounds joined."""
    live = [e for e in envs if e is not None]
    if not live:
        return None
    out = dict(live[0])
    for e in live[1:]:
        for name in list(out):
            if name not in e:
                del out[name]
            else:
                try:
                    out[name] = hull(out[name], e[name])
                except Unsafe:
                    del out[name]
    return out


def lookup(env: Env, name: str) -> Val:
    try:
        return env[name]
    except KeyError:
        raise Unsafe(f"{name} unbound") from None


# --- interval arithmetic ---------------------------------------------------------------


def i_mul(a: tuple, b: tuple) -> tuple:
    ps = [a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]]
    return min(ps), max(ps)


def i_div(a: tuple, b: tuple) -> tuple:
    if not (b[0] >= AWAY or b[1] <= -AWAY):
        raise Unsafe("denominator near zero")
    return i_mul(a, (1.0 / b[1], 1.0 / b[0]))


def i_abs(lo: float, hi: float) -> tuple:
    if lo <= 0.0 <= hi:
        return 0.0, max(-lo, hi)
    return min(abs(lo), abs(hi)), max(abs(lo), abs(hi))


def i_sq(lo: float, hi: float) -> tuple:
    a, b = i_abs(lo, hi)
    return a * a, b * b


def i_sin(lo: float, hi: float) -> tuple:
    if hi - lo >= 2 * math.pi:
        return -1.0, 1.0
    values = [math.sin(lo), math.sin(hi)]
    k = math.ceil((lo - math.pi / 2) / math.pi)
    while math.pi / 2 + k * math.pi <= hi:
        values.append(math.sin(math.pi / 2 + k * math.pi))
        k += 1
    return min(values), max(values)


def mono(fn: Callable[[float], float], lo: float, hi: float) -> tuple:
    a, b = fn(lo), fn(hi)
    return min(a, b), max(a, b)


def need(condition: bool, why: str = "domain") -> None:
    if not condition:
        raise Unsafe(why)


def _exp_dom(lo, hi):
    need(hi <= EXP_MAX)
    return mono(math.exp, lo, hi)


def _exp_like(fn, lo, hi):
    need(hi <= EXP_MAX)
    return mono(fn, lo, hi)


def _sym_exp_dom(fn):
    def rule(lo, hi):
        need(max(abs(lo), abs(hi)) <= EXP_MAX)
        if fn is math.cosh:
            return (1.0 if lo <= 0 <= hi else min(fn(lo), fn(hi))), max(fn(lo), fn(hi))
        return mono(fn, lo, hi)

    return rule


def _pos_dom(fn, least=AWAY):
    def rule(lo, hi):
        need(lo >= least)
        return mono(fn, lo, hi)

    return rule


def _log1p(lo, hi):
    need(lo >= -0.8)
    return mono(math.log1p, lo, hi)


def _bounded_dom(fn, bound):
    def rule(lo, hi):
        need(-bound <= lo and hi <= bound)
        return mono(fn, lo, hi)

    return rule


#: Elementwise functions of one argument: numpy spelling, math spelling, interval
#: rule (raising Unsafe outside the domain), and the kind of domain (for repairs).
UNARY: dict[str, tuple] = {
    "sin": ("np.sin", "math.sin", i_sin, None),
    "cos": (
        "np.cos",
        "math.cos",
        lambda lo, hi: i_sin(lo + math.pi / 2, hi + math.pi / 2),
        None,
    ),
    "tanh": ("np.tanh", "math.tanh", lambda lo, hi: mono(math.tanh, lo, hi), None),
    "arctan": ("np.arctan", "math.atan", lambda lo, hi: mono(math.atan, lo, hi), None),
    "exp": ("np.exp", "math.exp", _exp_dom, "exp"),
    "expm1": ("np.expm1", None, lambda lo, hi: _exp_like(math.expm1, lo, hi), "exp"),
    "exp2": (
        "np.exp2",
        None,
        lambda lo, hi: _exp_like(lambda t: 2.0**t, lo, hi),
        "exp",
    ),
    "sinh": ("np.sinh", "math.sinh", _sym_exp_dom(math.sinh), "sym"),
    "cosh": ("np.cosh", "math.cosh", _sym_exp_dom(math.cosh), "sym"),
    "log": ("np.log", "math.log", _pos_dom(math.log), "pos"),
    "log2": ("np.log2", "math.log2", _pos_dom(math.log2), "pos"),
    "log10": ("np.log10", None, _pos_dom(math.log10), "pos"),
    "log1p": ("np.log1p", None, _log1p, "log1p"),
    "sqrt": ("np.sqrt", "math.sqrt", _pos_dom(math.sqrt), "pos"),
    "square": ("np.square", None, i_sq, None),
    "abs": ("np.abs", "math.fabs", i_abs, None),
    "arcsin": ("np.arcsin", "math.asin", _bounded_dom(math.asin, 0.85), "unit"),
    "arccos": ("np.arccos", "math.acos", _bounded_dom(math.acos, 0.85), "unit"),
    "tan": ("np.tan", "math.tan", _bounded_dom(math.tan, 1.2), "tan"),
    "negative": ("np.negative", None, lambda lo, hi: (-hi, -lo), None),
}
UNARY_WEIGHTS = {
    "sin": 5, "cos": 5, "tanh": 5, "exp": 5, "log": 5, "sqrt": 4, "abs": 3,
    "arctan": 2, "square": 2, "expm1": 1, "exp2": 1, "sinh": 1, "cosh": 1,
    "log2": 1, "log10": 1, "log1p": 2, "arcsin": 1, "arccos": 1, "tan": 1,
    "negative": 1,
}  # fmt: skip


def bshape(a: tuple, b: tuple) -> tuple:
    try:
        return tuple(np.broadcast_shapes(a, b))
    except ValueError:
        raise Unsafe("shapes do not broadcast") from None


def size(shape: tuple) -> int:
    return int(np.prod(shape)) if shape else 1


def _pairs() -> dict:
    table: dict = {s: [] for s in SHAPES}
    for a in SHAPES:
        for b in SHAPES:
            try:
                t = tuple(np.broadcast_shapes(a, b))
            except ValueError:
                continue
            if t in table:
                table[t].append((a, b))
    return table


#: For each shape, the operand shapes whose broadcast gives it.
PAIRS = _pairs()


def _shape_of(template: str, shape: tuple) -> Optional[tuple]:
    probe = np.zeros(shape)  # noqa: F841 (read by eval)
    try:
        out = eval("probe" + template, {"np": np, "probe": probe})  # our own strings
    except Exception:
        return None
    return tuple(np.shape(out))


#: Indexing and reshaping of an array: template, index variable slots.  `{i}` is a
#: run-time int (a loop index) and is checked against the dimension when used.
_INDEX_TEMPLATES_1D = [
    "[0]",
    "[1]",
    "[-1]",
    "[-2]",
    "[::-1]",
    "[::2]",
    "[1:]",
    "[:2]",
    "[-2:]",
    "[::-2]",
    "[1:3]",
    "[None, :]",
    "[:, None]",
    ".reshape(1, -1)",
    ".reshape((-1, 1))",
    "[{i}]",
    "[{i}:{i} + 2]",
    "[-1::-1]",
    "[[0, 2, 2]]",
    "[[1, 0]]",
    "[[-1, 0, 1]]",
]
_INDEX_TEMPLATES_2D = [
    "[0]", "[-1]", "[1]", "[:, 0]", "[:, -1]", "[0, 1]", "[-1, -1]", "[1, 0]",
    "[::-1]", "[:, ::-1]", "[::-1, ::-1]", "[1:]", "[:, 1:]", "[0:1]", "[:, 0:1]",
    "[:, ::2]", "[0][-1]", ".T", ".ravel()", ".flatten()", "[..., 0]", "[{i}]",
    "[:, {i}]", "[{i}, -1]", "[-1, {i}]", ".reshape(-1)", ".sum(axis=0)[::-1]",
    "[[1, 0]]", "[:, [2, 0, 1]]", "[[0, 1], [2, 0]]",
]  # fmt: skip


def _index_table() -> dict:
    """target shape -> [(source shape, template)]"""
    table: dict = {s: [] for s in SHAPES}
    for s in SHAPES:
        if s == ():
            continue
        templates = _INDEX_TEMPLATES_1D if len(s) == 1 else _INDEX_TEMPLATES_2D
        for t in templates:
            out = _shape_of(t.replace("{i}", "0"), s)
            if out is not None and out in table:
                table[out].append((s, t))
    return table


INDEX = _index_table()

#: Reductions: numpy spelling (or method), whether it is a method.
REDUCTIONS = ["sum", "mean", "max", "min", "prod", "var"]
REDUCTION_WEIGHTS = [6, 4, 2, 2, 1, 1]


def _reduce_table() -> dict:
    """target shape -> [(source shape, axis or None, keepdims)]"""
    table: dict = {s: [] for s in SHAPES}
    for s in SHAPES:
        if s == ():
            continue
        for axis in [None, 0, 1, -1]:
            if axis is not None and axis >= len(s):
                continue
            for keep in (False, True):
                out = np.sum(np.zeros(s), axis=axis, keepdims=keep).shape
                if out in table and (out, s) != ((), ()):
                    table[out].append((s, axis, keep))
        if len(s) == 2:
            table[()].append((s, (0, 1), False))
    return table


REDUCE = _reduce_table()


def _matmul_table() -> dict:
    table: dict = {s: [] for s in SHAPES}
    for a in SHAPES:
        for b in SHAPES:
            if a == () or b == ():
                continue
            for op in ("@", "np.dot", "np.matmul", "np.outer"):
                try:
                    if op == "@":
                        out = (np.zeros(a) @ np.zeros(b)).shape
                    elif op == "np.dot":
                        out = np.dot(np.zeros(a), np.zeros(b)).shape
                    elif op == "np.matmul":
                        out = np.matmul(np.zeros(a), np.zeros(b)).shape
                    else:
                        if len(a) != 1 or len(b) != 1:
                            continue
                        out = np.outer(np.zeros(a), np.zeros(b)).shape
                except ValueError:
                    continue
                if out in table:
                    k = 1 if op == "np.outer" else a[-1]
                    table[out].append((a, b, op, k))
    return table


MATMUL = _matmul_table()


def fmt_shape(shape: tuple) -> str:
    return str(shape[0]) if len(shape) == 1 else repr(tuple(shape))


def num(x: float, digits: int = 2) -> str:
    v = round(float(x), digits)
    if v == 0.0:
        v = 0.0
    return repr(v)


# --- expressions, conditions and statements --------------------------------------------


class Expr:
    """An expression: its text, its abstract value in an environment, and what it may
    alias: `kind` is "fresh" (a new value), "name" (a bare name), "view" (an index or
    reshape of `roots`) or "alias" (may be one of `roots`)."""

    __slots__ = ("src", "fn", "kind", "roots")

    def __init__(
        self, src: str, fn: Callable[[Env], Val], kind="fresh", roots=frozenset()
    ):
        self.src = src if atomic(src) else f"({src})"
        self.fn = fn
        self.kind = kind
        self.roots = frozenset(roots)

    def ev(self, env: Env) -> Val:
        return self.fn(env)


def atomic(src: str) -> bool:
    """Whether text can be an operand as it is: no space outside brackets (operators
    are written with spaces around them), and no leading unary minus."""
    if src.startswith("-") or src.startswith("not "):
        return False
    depth = 0
    quote = ""
    for ch in src:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == " " and depth == 0:
            return False
    return True


class Cond:
    """A run-time condition (a Python bool): its text, and a check of its operands."""

    __slots__ = ("src", "fn")

    def __init__(self, src: str, fn: Callable[[Env], None]):
        self.src = src
        self.fn = fn

    def ev(self, env: Env) -> None:
        self.fn(env)


@dataclass
class Flow:
    """Where control goes after a statement: on, out by break or continue, or out of
    the function (with the bounds of the values returned)."""

    fall: Optional[Env]
    brk: list = field(default_factory=list)
    cont: list = field(default_factory=list)
    ret: list = field(default_factory=list)


class Multi(tuple):
    """The shapes of the tuple a helper returns (its `ret_shape`)."""


class Stmt:
    def lines(self, ind: str) -> list[str]:
        raise NotImplementedError

    def run(self, env: Env) -> Flow:
        raise NotImplementedError


def run_block(stmts: list, env: Env) -> Flow:
    flow = Flow(env)
    for s in stmts:
        if flow.fall is None:
            break
        r = s.run(flow.fall)
        flow.fall = r.fall
        flow.brk += r.brk
        flow.cont += r.cont
        flow.ret += r.ret
    return flow


def block_lines(stmts: list, ind: str) -> list[str]:
    out = []
    for s in stmts:
        out += s.lines(ind)
    return out or [ind + "pass"]


class Assign(Stmt):
    def __init__(self, targets: list[str], exprs: list[Expr], acc=False):
        self.targets, self.exprs, self.acc = targets, exprs, acc

    def lines(self, ind: str) -> list[str]:
        if len(self.targets) == 1:
            return [f"{ind}{self.targets[0]} = {self.exprs[0].src}"]
        return [
            f"{ind}{', '.join(self.targets)} = {', '.join(e.src for e in self.exprs)}"
        ]

    def run(self, env: Env) -> Flow:
        vals = [e.ev(env) for e in self.exprs]
        out = dict(env)
        for e in self.exprs:
            for r in e.roots:  # a bare name or view now shares its array
                if r in out and out[r].fresh:
                    raise Unsafe("aliasing a mutable array")
        for t, e, v in zip(self.targets, self.exprs, vals):
            fresh = (e.kind == "fresh" and v.shape != ()) or self.acc
            out[t] = Val(v.shape, v.lo, v.hi, v.isint, fresh, active_in(env, e.src))
        return Flow(out)


class AugAssign(Stmt):
    """`name op= expr` on a scalar (a rebinding) or on an array this function owns."""

    def __init__(self, name: str, op: str, expr: Expr):
        self.name, self.op, self.expr = name, op, expr

    def lines(self, ind: str) -> list[str]:
        return [f"{ind}{self.name} {self.op}= {self.expr.src}"]

    def run(self, env: Env) -> Flow:
        v = lookup(env, self.name)
        e = self.expr.ev(env)
        if bshape(v.shape, e.shape) != v.shape:
            raise Unsafe("in-place result would change shape")
        if v.shape != () and not v.fresh:
            raise Unsafe("in place on an array the function does not own")
        if self.op == "+":
            lo, hi = v.lo + e.lo, v.hi + e.hi
        elif self.op == "-":
            lo, hi = v.lo - e.hi, v.hi - e.lo
        elif self.op == "*":
            lo, hi = i_mul((v.lo, v.hi), (e.lo, e.hi))
        else:
            lo, hi = i_div((v.lo, v.hi), (e.lo, e.hi))
        out = dict(env)
        w = mkval(v.shape, lo, hi)
        active = v.active or active_in(env, self.expr.src)
        out[self.name] = Val(v.shape, w.lo, w.hi, v.isint and e.isint, v.fresh, active)
        return Flow(out)


class ItemAug(Stmt):
    """`acc[index] += expr` on an accumulator; `check(env)` validates run-time indices."""

    def __init__(self, name, index, op, expr, check, region):
        self.name, self.index, self.op, self.expr = name, index, op, expr
        self.check, self.region = check, region

    def lines(self, ind: str) -> list[str]:
        return [f"{ind}{self.name}[{self.index}] {self.op}= {self.expr.src}"]

    def run(self, env: Env) -> Flow:
        v = lookup(env, self.name)
        need(v.fresh, "acc not owned")
        self.check(env)
        e = self.expr.ev(env)
        if bshape(self.region, e.shape) != self.region:
            raise Unsafe("update does not fit the region")
        lo, hi = (
            (v.lo + e.lo, v.hi + e.hi) if self.op == "+" else (v.lo - e.hi, v.hi - e.lo)
        )
        out = dict(env)
        w = mkval(v.shape, min(lo, v.lo), max(hi, v.hi), False, True)
        out[self.name] = Val(
            w.shape, w.lo, w.hi, False, True, v.active or active_in(env, self.expr.src)
        )
        return Flow(out)


class If(Stmt):
    def __init__(self, cond: Cond, body: list, orelse: list):
        self.cond, self.body, self.orelse = cond, body, orelse

    def lines(self, ind: str, word: str = "if") -> list[str]:
        out = [f"{ind}{word} {self.cond.src}:"] + block_lines(self.body, ind + "    ")
        if len(self.orelse) == 1 and isinstance(self.orelse[0], If):
            out += self.orelse[0].lines(ind, "elif")
        elif self.orelse:
            out += [f"{ind}else:"] + block_lines(self.orelse, ind + "    ")
        return out

    def run(self, env: Env) -> Flow:
        self.cond.ev(env)
        a = run_block(self.body, env)
        b = run_block(self.orelse, env)
        return Flow(join(a.fall, b.fall), a.brk + b.brk, a.cont + b.cont, a.ret + b.ret)


class Loop(Stmt):
    """`for var in <range>` (`header`) or `while counter < bound and cond` (the body
    then starts with `counter += 1`): run abstractly for up to `trips` iterations.
    `forever` writes `while True:`, left only by a break or a return of its body;
    `keep` keeps the loop variable bound after the loop, as Python does (the loop is
    known to run at least once)."""

    def __init__(
        self,
        header,
        var,
        var_val,
        trips,
        body,
        cond=None,
        counter=None,
        forever=False,
        keep=False,
    ):
        self.header, self.var, self.var_val, self.trips = header, var, var_val, trips
        self.body, self.cond, self.counter = body, cond, counter
        self.forever, self.keep = forever, keep

    def lines(self, ind: str) -> list[str]:
        if self.counter is None:
            return [f"{ind}for {self.var} in {self.header}:"] + block_lines(
                self.body, ind + "    "
            )
        inner = [f"{ind}    {self.counter} += 1"] + (
            block_lines(self.body, ind + "    ") if self.body else []
        )
        return [f"{ind}while {'True' if self.forever else self.header}:"] + inner

    def run(self, env: Env) -> Flow:
        var_val = self.var_val(env) if callable(self.var_val) else self.var_val
        state = dict(env)
        state[self.var] = var_val
        exits, rets = [], []
        for _ in range(self.trips):
            if self.cond is not None:
                self.cond.ev(state)
            r = run_block(self.body, state)
            rets += r.ret
            exits += r.brk
            nxt = join(r.fall, *r.cont)
            if nxt is None:
                break
            state = join(state, nxt)
            state[self.var] = var_val
        if self.cond is not None:
            self.cond.ev(state)
        keys = set(env)
        after = join(*exits) if self.forever else join(state, *exits)
        if after is None:
            return Flow(None, [], [], rets)
        after = {k: v for k, v in after.items() if k in keys}
        if self.counter is not None:
            after[self.counter] = var_val
        elif self.keep:
            after[self.var] = var_val
        elif self.var in env:  # the loop variable shadows nothing we track
            del after[self.var]
        return Flow(after, [], [], rets)


class TupleLoop(Stmt):
    """`for var in (a, b, c):` over a tuple of values, of one shape or of several
    (the tuple is evaluated once, before the first iteration)."""

    def __init__(self, var: str, items: list, body: list):
        self.var, self.items, self.body = var, items, body

    def lines(self, ind: str) -> list[str]:
        inner = ", ".join(e.src for e in self.items)
        return [f"{ind}for {self.var} in ({inner}):"] + block_lines(
            self.body, ind + "    "
        )

    def run(self, env: Env) -> Flow:
        vals = [e.ev(env) for e in self.items]
        state = dict(env)
        exits, rets = [], []
        for v in vals:
            state[self.var] = Val(v.shape, v.lo, v.hi, v.isint, False, v.active)
            r = run_block(self.body, state)
            rets += r.ret
            exits += r.brk
            nxt = join(r.fall, *r.cont)
            if nxt is None:
                state = None
                break
            state = nxt
        after = join(state, *exits)
        if after is None:
            return Flow(None, [], [], rets)
        keys = set(env)
        return Flow({k: v for k, v in after.items() if k in keys}, [], [], rets)


class Jump(Stmt):
    def __init__(self, word: str):
        self.word = word

    def lines(self, ind: str) -> list[str]:
        return [ind + self.word]

    def run(self, env: Env) -> Flow:
        if self.word == "break":
            return Flow(None, brk=[env])
        return Flow(None, cont=[env])


class Return(Stmt):
    def __init__(self, expr: Expr):
        self.expr = expr

    def lines(self, ind: str) -> list[str]:
        return [f"{ind}return {self.expr.src}"]

    def run(self, env: Env) -> Flow:
        return Flow(None, ret=[self.expr.ev(env)])


class ReturnMany(Stmt):
    """`return a, b` (of a helper returning a tuple): the ret is a tuple of bounds."""

    def __init__(self, exprs: list):
        self.exprs = exprs

    def lines(self, ind: str) -> list[str]:
        return [f"{ind}return {', '.join(e.src for e in self.exprs)}"]

    def run(self, env: Env) -> Flow:
        return Flow(None, ret=[tuple(e.ev(env) for e in self.exprs)])


class Raise(Stmt):
    """`raise SomeError(...)`: the path ends (the oracle checks that the gradient
    raises where f raises).  `reads` are checked to be bound."""

    def __init__(self, text: str, reads: list):
        self.text, self.reads = text, reads

    def lines(self, ind: str) -> list[str]:
        return [f"{ind}{self.text}"]

    def run(self, env: Env) -> Flow:
        for n in self.reads:
            lookup(env, n)
        return Flow(None)


class Assert(Stmt):
    """`assert cond, "message"`: the path goes on where it holds."""

    def __init__(self, cond: Cond, message: str):
        self.cond, self.message = cond, message

    def lines(self, ind: str) -> list[str]:
        return [f"{ind}assert {self.cond.src}{self.message}"]

    def run(self, env: Env) -> Flow:
        self.cond.ev(env)
        return Flow(env)


class ItemSet(Stmt):
    """`arr[index] = expr` on an array this function owns; `check(env)` validates
    run-time indices.  The array's bound becomes the hull of both."""

    def __init__(self, name, index, expr, check, region):
        self.name, self.index, self.expr = name, index, expr
        self.check, self.region = check, region

    def lines(self, ind: str) -> list[str]:
        return [f"{ind}{self.name}[{self.index}] = {self.expr.src}"]

    def run(self, env: Env) -> Flow:
        v = lookup(env, self.name)
        need(v.fresh, "array not owned")
        self.check(env)
        e = self.expr.ev(env)
        if bshape(self.region, e.shape) != self.region:
            raise Unsafe("value does not fit the region")
        for r in self.expr.roots:  # `out[0] = out` would be a view of itself
            if r == self.name:
                raise Unsafe("assigning an array into itself")
        out = dict(env)
        w = mkval(v.shape, min(e.lo, v.lo), max(e.hi, v.hi), False, True)
        out[self.name] = Val(
            w.shape, w.lo, w.hi, False, True, v.active or active_in(env, self.expr.src)
        )
        return Flow(out)


class Bind(Stmt):
    """`name = call(...)` where the call returns a tuple the generator does not track
    as a value (it reads the items right after, as `name[0]`)."""

    def __init__(self, name: str, expr: Expr):
        self.name, self.expr = name, expr

    def lines(self, ind: str) -> list[str]:
        return [f"{ind}{self.name} = {self.expr.src}"]

    def run(self, env: Env) -> Flow:
        self.expr.ev(env)
        return Flow(dict(env))


class Unpack(Stmt):
    """`a, b = call(...)` of a helper returning a tuple (its Expr's bound is a tuple
    of bounds)."""

    def __init__(self, targets: list, expr: Expr):
        self.targets, self.expr = targets, expr

    def lines(self, ind: str) -> list[str]:
        return [f"{ind}{', '.join(self.targets)} = {self.expr.src}"]

    def run(self, env: Env) -> Flow:
        vals = self.expr.ev(env)
        out = dict(env)
        active = active_in(env, self.expr.src)
        for t, v in zip(self.targets, vals):
            out[t] = Val(v.shape, v.lo, v.hi, v.isint, False, active)
        return Flow(out)


class IfNone(Stmt):
    """`if name is None: ... else: ...` (or `is not None`, branches swapped) on an
    optional parameter: the branch where it is not None reads it, bounded by `val`;
    a branch that binds it (`name = ...` where it is None) leaves it bound after."""

    def __init__(self, name, val, none_first, when_none, when_given):
        self.name, self.val, self.none_first = name, val, none_first
        self.when_none, self.when_given = when_none, when_given

    def lines(self, ind: str) -> list[str]:
        first, second = (
            (self.when_none, self.when_given)
            if self.none_first
            else (self.when_given, self.when_none)
        )
        word = "is" if self.none_first else "is not"
        out = [f"{ind}if {self.name} {word} None:"] + block_lines(first, ind + "    ")
        if second:
            out += [f"{ind}else:"] + block_lines(second, ind + "    ")
        return out

    def run(self, env: Env) -> Flow:
        given = dict(env)
        given[self.name] = self.val
        a = run_block(self.when_given, given)
        b = run_block(self.when_none, dict(env))
        return Flow(join(a.fall, b.fall), a.brk + b.brk, a.cont + b.cont, a.ret + b.ret)


class Push(Stmt):
    """`stack.append(v)` or `stack.append((v, w))`: remembers the bounds it pushed."""

    def __init__(self, stack: str, exprs: list):
        self.stack, self.exprs = stack, exprs
        self.seen: list = [None] * len(exprs)
        self.active = False

    def lines(self, ind: str) -> list[str]:
        inner = (
            self.exprs[0].src
            if len(self.exprs) == 1
            else f"({', '.join(e.src for e in self.exprs)})"
        )
        return [f"{ind}{self.stack}.append({inner})"]

    def run(self, env: Env) -> Flow:
        out = dict(env)
        for k, e in enumerate(self.exprs):
            v = e.ev(env)
            self.seen[k] = v if self.seen[k] is None else hull(self.seen[k], v)
            self.active = self.active or active_in(env, e.src)
            for r in e.roots:  # the stack now holds the array too
                if r in out and out[r].fresh:
                    w = out[r]
                    out[r] = Val(w.shape, w.lo, w.hi, w.isint, False, w.active)
        return Flow(out)


class Pop(Stmt):
    """`a = stack.pop()` or `a, b = stack.pop()`, with the bounds `push` pushed."""

    def __init__(self, targets: list, push: Push):
        self.targets, self.push = targets, push

    def lines(self, ind: str) -> list[str]:
        return [f"{ind}{', '.join(self.targets)} = {self.push.stack}.pop()"]

    def run(self, env: Env) -> Flow:
        out = dict(env)
        for t, v in zip(self.targets, self.push.seen):
            if v is None:
                raise Unsafe("pop before push")
            out[t] = Val(v.shape, v.lo, v.hi, False, False, self.push.active)
        return Flow(out)


class Raw(Stmt):
    """Text whose effect is to unbind `drops` (a value overflowing to inf)."""

    def __init__(self, text: str, drops: list[str], check: Optional[Expr] = None):
        self.text, self.drops, self.check = text, drops, check

    def lines(self, ind: str) -> list[str]:
        return [ind + self.text]

    def run(self, env: Env) -> Flow:
        if self.check is not None:
            self.check.ev(env)
        return Flow({k: v for k, v in env.items() if k not in self.drops})


def _breaks(stmts: list) -> bool:
    """Whether a loop body has a `break` of its own loop (not of a nested one)."""
    for st in stmts:
        if isinstance(st, Jump) and st.word == "break":
            return True
        if isinstance(st, If) and (_breaks(st.body) or _breaks(st.orelse)):
            return True
        if isinstance(st, IfNone) and (_breaks(st.when_none) or _breaks(st.when_given)):
            return True
    return False


# --- the generator ---------------------------------------------------------------------


@dataclass
class Param:
    """A parameter of `f`: its name, shape, the interval its values are drawn from,
    and kind: "float" (a Python float), "array" (float64) or "int" (not differentiated).
    """

    name: str
    shape: tuple
    lo: float
    hi: float
    kind: str
    default: Optional[str] = None  # the default's text in f's signature
    kwonly: bool = False  # after `*`: passed by keyword
    passed: bool = True  # False: left out of the call, so the default is used


@dataclass
class Helper:
    """A helper function.  `ret` bounds its result, or is a tuple of bounds when it
    returns a tuple (`ret_shape` is then a :class:`Multi`); `kwonly` are keyword-only
    scalar parameters with a default: [(name, Val, default text)]."""

    name: str
    params: list  # [(name, Val)]
    ret_shape: tuple
    ret: object
    body: list
    level: int
    kwonly: list = field(default_factory=list)

    def lines(self) -> list[str]:
        sig = [p for p, _ in self.params]
        if self.kwonly:
            sig += ["*"] + [f"{p}={d}" for p, _, d in self.kwonly]
        return [f"def {self.name}({', '.join(sig)}):"] + block_lines(self.body, "    ")


@dataclass
class Program:
    """A generated module and how to call its function `name`."""

    source: str
    name: str
    params: list
    args: list
    wrt: tuple
    features: set = field(default_factory=set)
    special: str = ""

    @property
    def arg_params(self) -> list:
        """The parameters given an argument, in the order of `args`."""
        return [p for p in self.params if p.passed]

    @property
    def argnames(self) -> list:
        return [p.name for p in self.arg_params]

    @property
    def nkw(self) -> int:
        """How many of the last `args` are passed by keyword."""
        return sum(1 for p in self.arg_params if p.kwonly)

    @property
    def scalar_only(self) -> bool:
        return all(p.kind != "array" for p in self.arg_params)

    def draw(self, rng: random.Random) -> list:
        return draw_args(self.params, rng)


def draw_args(params: list, rng: random.Random) -> list:
    """Arguments for the parameters `params` passes (positional ones first, then
    keyword-only ones): uniform in each parameter's interval (a continuous
    distribution, so that no branch boundary or kink is hit on purpose)."""
    out = []
    for p in params:
        if not p.passed:
            continue
        if p.kind == "int":
            out.append(int(p.lo))
        elif p.kind == "float":
            out.append(rng.uniform(p.lo, p.hi))
        else:
            out.append(
                np.array(
                    [rng.uniform(p.lo, p.hi) for _ in range(size(p.shape))]
                ).reshape(p.shape)
            )
    return out


@dataclass
class Options:
    """Knobs of the generator."""

    scalar_only: bool = False  # every differentiated parameter a Python float
    max_stmts: int = 18
    max_depth: int = 3
    special_rate: float = 0.04  # a value overflowing to inf, then overwritten


@dataclass
class Ctx:
    env: Env
    ret_shape: tuple
    loops: int = 0  # enclosing loops of the function being written
    depth: int = 0  # enclosing compound statements
    level: int = 0  # 0 in f, 1 in a helper f calls, 2 in a helper it calls
    kinds: tuple = ()  # the enclosing loops: "range", "while", "while_true", "tuple"
    no_continue: bool = False  # a `continue` here would skip a loop's only exit

    def child(self, env=None, kind=None, no_continue=None) -> "Ctx":
        """The context of a nested block (of a new loop of `kind`, if given)."""
        return Ctx(
            dict(self.env if env is None else env),
            self.ret_shape,
            self.loops + (kind is not None),
            self.depth + 1,
            self.level,
            self.kinds + ((kind,) if kind else ()),
            (
                (self.no_continue and kind is None)
                if no_continue is None
                else no_continue
            ),
        )


class Generator:
    """Writes one program; `rng` decides everything, so a seed reproduces it."""

    def __init__(self, rng: random.Random, options: Optional[Options] = None):
        self.r = rng
        self.o = options or Options()
        self.counter = 0
        self.helpers: list[Helper] = []
        self.consts: list[tuple[str, str]] = []
        self.features: set[str] = set()
        self.budget = 0
        self.special = ""
        self.want_special = self.r.random() < self.o.special_rate
        self.optionals: dict = {}  # parameters that may be None -> their bound
        self.raises: set = set()  # the exceptions the program raises

    # ---- small utilities ----

    def fresh_name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def pick(self, items: list, weights: Optional[list] = None):
        return self.r.choices(items, weights=weights, k=1)[0]

    def feature(self, name: str) -> None:
        self.features.add(name)

    # ---- expressions ----

    def names_of(self, env: Env, shape: tuple, allow_int=True) -> list[str]:
        return [
            n
            for n, v in env.items()
            if v.shape == shape and (allow_int or not v.isint) and not n.startswith("_")
        ]

    def expr(self, ctx: Ctx, shape: tuple, depth: int) -> Expr:
        """An expression of `shape` whose value is safe in ctx.env."""
        builders = [(6 if depth <= 0 else 2, self.b_leaf)]
        if depth > 0:
            builders += [
                (8, self.b_binary),
                (6, self.b_unary),
                (3, self.b_binary_fn),
                (4, self.b_reduce),
                (4, self.b_index),
                (1, self.b_matmul),
                (1, self.b_stack),
                (1, self.b_ifexp),
                (1 if ctx.level < 2 else 0, self.b_call),
                (1, self.b_step),
                (1.5, self.b_misc),
                (1.5, self.b_comp),
            ]
            if shape == ():
                builders += [(3, self.b_builtin), (2, self.b_math)]
        tried = 0
        while builders and tried < 6:
            tried += 1
            weights = [w for w, _ in builders]
            if sum(weights) <= 0:
                break
            i = self.r.choices(range(len(builders)), weights=weights, k=1)[0]
            w, builder = builders[i]
            saved = set(self.features)  # an expression dropped counts for none
            try:
                e = builder(ctx, shape, depth)
                v = e.ev(ctx.env)
                if v.mag > SOFT and not v.isint:
                    e = self.scaled(e, v)
                    e.ev(ctx.env)
                return e
            except Unsafe:
                self.features = saved
                builders[i] = (w * 0.3, builder)
        return self.safe_leaf(ctx, shape)

    def scaled(self, e: Expr, v: Val) -> Expr:
        k = 10.0 ** math.ceil(math.log10(v.mag / SOFT * 3.0))
        return self.wrap1(
            f"({e.src}) / {num(k, 1)}", e, lambda a: mkval(a.shape, a.lo / k, a.hi / k)
        )

    def wrap1(self, src: str, e: Expr, fn: Callable, kind: str = "fresh") -> Expr:
        return Expr(
            src, lambda env: fn(e.ev(env)), kind, e.roots if kind != "fresh" else ()
        )

    def name_expr(self, name: str) -> Expr:
        return Expr(name, lambda env: lookup(env, name), "name", [name])

    def const_expr(self, c: float) -> Expr:
        text = num(c)
        value = float(text)
        if value < 0:
            text = f"({text})"  # so that `(-1.5) ** 2` keeps its meaning
        return Expr(text, lambda env: mkval((), value, value))

    def pick_name(self, env: Env, names: list[str]) -> str:
        """A name, favouring parameters and values computed from them over loop
        indices and module constants."""

        def weight(n):
            if n in self.global_names or env[n].isint:
                return 0.5
            if n in self.param_names:
                return 3.0
            return 3.0 if env[n].active else 0.7

        return self.pick(names, [weight(n) for n in names])

    def safe_leaf(self, ctx: Ctx, shape: tuple) -> Expr:
        names = [
            n
            for n in self.names_of(ctx.env, shape, allow_int=shape == ())
            if ctx.env[n].mag <= SOFT
        ]
        if names and self.chance(0.8):
            return self.name_expr(self.pick_name(ctx.env, names))
        scalars = [n for n in self.names_of(ctx.env, ()) if ctx.env[n].mag <= SOFT]
        if shape == ():
            if scalars and self.chance(0.7):
                return self.name_expr(self.pick_name(ctx.env, scalars))
            return self.const_expr(self.r.uniform(-2, 2))
        s = (
            self.name_expr(self.pick_name(ctx.env, scalars))
            if scalars
            else self.const_expr(self.r.uniform(-2, 2))
        )
        src = f"np.ones({fmt_shape(shape)}) * {s.src}"
        return Expr(src, lambda env: (lambda v: mkval(shape, v.lo, v.hi))(s.ev(env)))

    def b_leaf(self, ctx: Ctx, shape: tuple, depth: int) -> Expr:
        names = self.names_of(ctx.env, shape, allow_int=shape == ())
        if shape == ():
            options = [(8, "name"), (2, "const"), (1, "module")]
        else:
            options = [(6, "name"), (2, "ones"), (1, "full_like"), (1, "arange")]
        kind = self.pick([k for _, k in options], [w for w, _ in options])
        if kind == "name" and names:
            return self.name_expr(self.pick_name(ctx.env, names))
        if kind == "module" and self.consts:
            name, text = self.pick(self.consts)
            if "." in text:
                value = float(text)
                self.feature("module_constant")
                return Expr(name, lambda env: mkval((), value, value))
        if kind == "full_like" and names:
            s = self.expr(ctx, (), 0)
            like = self.pick(names)
            self.feature("full_like")
            return Expr(
                f"np.full_like({like}, {s.src})",
                lambda env: (
                    lookup(env, like),
                    mkval(shape, *(lambda v: (v.lo, v.hi))(s.ev(env))),
                )[1],
            )
        if kind == "arange" and len(shape) == 1:
            s = self.expr(ctx, (), 0)
            n = shape[0]
            src = (
                f"np.arange({n}.0) * {s.src}"
                if self.chance(0.5)
                else f"np.arange({n}) * {s.src}"
            )
            return Expr(
                src,
                lambda env: (lambda v: mkval(shape, *i_mul((0, n - 1), (v.lo, v.hi))))(
                    s.ev(env)
                ),
            )
        return self.safe_leaf(ctx, shape)

    def binop(self, op: str, a: Expr, b: Expr) -> Expr:
        def fn(env):
            x, y = a.ev(env), b.ev(env)
            shape = bshape(x.shape, y.shape)
            if op == "+":
                lo, hi = x.lo + y.lo, x.hi + y.hi
            elif op == "-":
                lo, hi = x.lo - y.hi, x.hi - y.lo
            elif op == "*":
                lo, hi = i_mul((x.lo, x.hi), (y.lo, y.hi))
            else:
                lo, hi = i_div((x.lo, x.hi), (y.lo, y.hi))
            return mkval(shape, lo, hi)

        if self.r.random() < 0.08:
            name = {
                "+": "np.add",
                "-": "np.subtract",
                "*": "np.multiply",
                "/": "np.divide",
            }[op]
            self.feature("ufunc_" + name[3:])
            return Expr(f"{name}({a.src}, {b.src})", fn)
        return Expr(f"({a.src} {op} {b.src})", fn)

    def away_from_zero(self, ctx: Ctx, e: Expr) -> Expr:
        """e itself if it stays away from zero, else a shifted or squared form."""
        v = e.ev(ctx.env)
        if v.lo >= AWAY or v.hi <= -AWAY:
            return e
        choice = self.r.randrange(4)
        if choice == 0:
            c = math.ceil((AWAY + 0.1 - v.lo) * 10) / 10
            return self.binop("+", e, self.const_expr(c))
        if choice == 1:
            return Expr(
                f"(1.0 + {e.src} * {e.src})",
                lambda env: (
                    lambda w: mkval(w.shape, 1.0, 1.0 + max(i_sq(w.lo, w.hi)))
                )(e.ev(env)),
            )
        if choice == 2 and v.mag <= EXP_MAX:
            return Expr(
                f"np.cosh({e.src})",
                lambda env: (
                    lambda w: mkval(w.shape, *_sym_exp_dom(math.cosh)(w.lo, w.hi))
                )(e.ev(env)),
            )
        return Expr(
            f"(np.abs({e.src}) + 0.5)",
            lambda env: (
                lambda w: mkval(
                    w.shape, i_abs(w.lo, w.hi)[0] + 0.5, i_abs(w.lo, w.hi)[1] + 0.5
                )
            )(e.ev(env)),
        )

    def b_binary(self, ctx: Ctx, shape: tuple, depth: int) -> Expr:
        sa, sb = self.pick(
            PAIRS[shape],
            [4 if p == (shape, shape) else 2 if () in p else 1 for p in PAIRS[shape]],
        )
        op = self.pick(["+", "-", "*", "/", "**"], [4, 3, 4, 2, 2])
        if sa != sb:
            self.feature("broadcast")
        if op == "**":
            return self.power(ctx, shape, depth)
        a = self.expr(ctx, sa, depth - 1)
        b = self.expr(ctx, sb, depth - 1)
        if op == "/":
            b = self.away_from_zero(ctx, b)
        return self.binop(op, a, b)

    def power(self, ctx: Ctx, shape: tuple, depth: int) -> Expr:
        a = self.expr(ctx, shape, depth - 1)
        form = self.r.randrange(5)
        if form <= 1:
            k = self.pick([2, 3, 2.0])
            self.feature("pow_int")

            def fn(env, k=k):
                v = a.ev(env)
                lo, hi = i_sq(v.lo, v.hi) if k != 3 else (v.lo**3, v.hi**3)
                return mkval(v.shape, lo, hi)

            return Expr(f"({a.src} ** {k})", fn)
        if form == 2:
            p = self.pick([0.5, 1.5, 2.5, -0.5, -1.0])
            base = self.positive(ctx, a)
            self.feature("pow_frac")
            return Expr(
                f"({base.src} ** {p})",
                lambda env: (
                    lambda v: (
                        need(v.lo >= AWAY),
                        mkval(v.shape, *mono(lambda t: t**p, v.lo, v.hi)),
                    )[1]
                )(base.ev(env)),
            )
        if form == 3:
            c = self.pick([2.0, 0.5, 1.5, 3.0])
            self.feature("pow_const_base")

            def fn(env, c=c):
                v = a.ev(env)
                need(abs(v.mag * math.log(c)) <= EXP_MAX)
                return mkval(v.shape, *mono(lambda t: c**t, v.lo, v.hi))

            return Expr(f"({c} ** {a.src})", fn)
        base = self.positive(ctx, a)
        sb = self.pick([s for s in SHAPES if bshape_ok(s, shape)])
        b = self.expr(ctx, sb, depth - 1)
        self.feature("pow_general")

        def fn(env):
            x, y = base.ev(env), b.ev(env)
            out = bshape(x.shape, y.shape)
            need(out == shape and x.lo >= AWAY and y.mag <= 3.0)
            corners = [xx**yy for xx in (x.lo, x.hi) for yy in (y.lo, y.hi)]
            return mkval(out, min(corners), max(corners))

        return Expr(f"({base.src} ** {b.src})", fn)

    def positive(self, ctx: Ctx, e: Expr, least: float = AWAY) -> Expr:
        """e if it is at least `least`, else a shifted or squared form that is."""
        v = e.ev(ctx.env)
        if v.lo >= least:
            return e
        choice = self.r.randrange(3)
        if choice == 0:
            c = math.ceil((least + 0.1 - v.lo) * 10) / 10
            return self.binop("+", e, self.const_expr(c))
        if choice == 1:
            return Expr(
                f"({e.src} ** 2 + 0.5)",
                lambda env: (
                    lambda w: mkval(
                        w.shape, 0.5 + i_sq(w.lo, w.hi)[0], 0.5 + i_sq(w.lo, w.hi)[1]
                    )
                )(e.ev(env)),
            )
        return Expr(
            f"np.exp(np.tanh({e.src}))",
            lambda env: (
                lambda w: mkval(
                    w.shape, math.exp(math.tanh(w.lo)), math.exp(math.tanh(w.hi))
                )
            )(e.ev(env)),
        )

    def in_domain(self, ctx: Ctx, name: str, e: Expr) -> Expr:
        """Repair the argument of a unary function so that it is in its domain."""
        npname, mname, rule, dom = UNARY[name]
        v = e.ev(ctx.env)
        try:
            rule(v.lo, v.hi)
            return e
        except Unsafe:
            pass
        if dom in ("pos",):
            return self.positive(ctx, e)
        if dom == "log1p":
            return self.positive(ctx, e, -0.7)
        bound = {"exp": EXP_MAX, "sym": EXP_MAX, "unit": 0.8, "tan": 1.1}[dom]
        if self.chance(0.3):
            t = Expr(
                f"np.tanh({e.src})",
                lambda env: (lambda w: mkval(w.shape, *mono(math.tanh, w.lo, w.hi)))(
                    e.ev(env)
                ),
            )
            if dom in ("unit",):
                return Expr(
                    f"({t.src} * 0.8)",
                    lambda env: (lambda w: mkval(w.shape, w.lo * 0.8, w.hi * 0.8))(
                        t.ev(env)
                    ),
                )
            return t
        k = math.ceil(v.mag / bound * 10) / 10
        return Expr(
            f"({e.src} / {k})",
            lambda env: (lambda w: mkval(w.shape, w.lo / k, w.hi / k))(e.ev(env)),
        )

    def b_unary(self, ctx: Ctx, shape: tuple, depth: int) -> Expr:
        names = list(UNARY)
        name = self.pick(names, [UNARY_WEIGHTS[n] for n in names])
        npname, mname, rule, dom = UNARY[name]
        use_math = shape == () and mname is not None and self.chance(0.35)
        a = self.in_domain(ctx, name, self.expr(ctx, shape, depth - 1))
        spelling = mname if use_math else npname
        if use_math:
            self.feature("math_fn")
        if name == "abs" and not use_math and self.chance(0.3):
            spelling = "abs"
            self.feature("builtin_abs")
        self.feature("fn_" + name)

        def fn(env):
            v = a.ev(env)
            lo, hi = rule(v.lo, v.hi)
            return mkval(v.shape, lo, hi)

        return Expr(f"{spelling}({a.src})", fn)

    def b_binary_fn(self, ctx: Ctx, shape: tuple, depth: int) -> Expr:
        kind = self.pick(
            [
                "maximum",
                "minimum",
                "clip",
                "where",
                "hypot",
                "arctan2",
                "logaddexp",
                "clip_method",
            ],
            [3, 3, 3, 2, 1, 1, 1, 1 if shape != () else 0],
        )
        self.feature("fn_" + kind)
        if kind in ("clip", "clip_method"):
            a = self.expr(ctx, shape, depth - 1)
            v = a.ev(ctx.env)
            c1 = v.lo + (v.hi - v.lo) * self.r.uniform(0.0, 0.5)
            c2 = c1 + (v.hi - c1) * self.r.uniform(0.3, 1.0) + 0.1
            c1, c2 = float(num(c1)), float(num(c2))
            src = (
                f"np.clip({a.src}, {c1}, {c2})"
                if kind == "clip"
                else f"{a.src}.clip({c1}, {c2})"
            )
            if kind == "clip_method" and a.kind == "fresh" and not a.src.endswith(")"):
                src = f"({a.src}).clip({c1}, {c2})"
            return Expr(
                src,
                lambda env: (
                    lambda w: mkval(
                        w.shape, min(max(w.lo, c1), c2), max(min(w.hi, c2), c1)
                    )
                )(a.ev(env)),
            )
        sa, sb = self.pick(PAIRS[shape])
        a = self.expr(ctx, sa, depth - 1)
        b = self.expr(ctx, sb, depth - 1)
        if kind == "where":
            sc = self.pick([s for s in SHAPES if bshape_ok(s, shape)])
            c = self.expr(ctx, sc, depth - 1)
            cv = c.ev(ctx.env)
            t = num(cv.lo + (cv.hi - cv.lo) * self.r.uniform(0.2, 0.8))
            op = self.pick([">", "<", ">=", "<="])

            def fn(env):
                c.ev(env)
                x, y = a.ev(env), b.ev(env)
                out = bshape(bshape(x.shape, y.shape), c.ev(env).shape)
                need(out == shape)
                return mkval(out, min(x.lo, y.lo), max(x.hi, y.hi))

            return Expr(f"np.where({c.src} {op} {t}, {a.src}, {b.src})", fn)
        if kind == "hypot":
            a = self.away_from_zero(ctx, a)
        if kind == "arctan2":
            b = self.positive(ctx, b)

        def fn(env):
            x, y = a.ev(env), b.ev(env)
            out = bshape(x.shape, y.shape)
            if kind == "maximum":
                lo, hi = max(x.lo, y.lo), max(x.hi, y.hi)
            elif kind == "minimum":
                lo, hi = min(x.lo, y.lo), min(x.hi, y.hi)
            elif kind == "hypot":
                need(x.lo >= AWAY or x.hi <= -AWAY)
                lo, hi = i_abs(x.lo, x.hi)[0], math.hypot(x.mag, y.mag)
            elif kind == "arctan2":
                need(y.lo >= AWAY)
                lo, hi = -math.pi / 2, math.pi / 2
            else:
                lo, hi = max(x.lo, y.lo), max(x.hi, y.hi) + math.log(2.0)
            return mkval(out, lo, hi)

        return Expr(f"np.{kind}({a.src}, {b.src})", fn)

    def b_builtin(self, ctx: Ctx, shape: tuple, depth: int) -> Expr:
        kind = self.pick(["min", "max", "abs", "float"], [3, 3, 1, 1])
        self.feature("builtin_" + kind)
        a = self.expr(ctx, (), depth - 1)
        if kind in ("abs", "float"):
            if kind == "abs":
                return Expr(
                    f"abs({a.src})",
                    lambda env: (lambda w: mkval((), *i_abs(w.lo, w.hi)))(a.ev(env)),
                )
            return Expr(
                f"float({a.src})",
                lambda env: (lambda w: mkval((), w.lo, w.hi))(a.ev(env)),
            )
        b = self.expr(ctx, (), depth - 1)

        def fn(env):
            x, y = a.ev(env), b.ev(env)
            if kind == "min":
                return mkval((), min(x.lo, y.lo), min(x.hi, y.hi))
            return mkval((), max(x.lo, y.lo), max(x.hi, y.hi))

        return Expr(f"{kind}({a.src}, {b.src})", fn)

    def b_math(self, ctx: Ctx, shape: tuple, depth: int) -> Expr:
        kind = self.pick(["pow", "hypot"])
        self.feature("math_" + kind)
        a = self.expr(ctx, (), depth - 1)
        if kind == "pow":
            base = self.positive(ctx, a)
            p = self.pick([2.0, 0.5, 1.5, 3.0])
            return Expr(
                f"math.pow({base.src}, {p})",
                lambda env: (
                    lambda v: (
                        need(v.lo >= AWAY),
                        mkval((), *mono(lambda t: t**p, v.lo, v.hi)),
                    )[1]
                )(base.ev(env)),
            )
        b = self.expr(ctx, (), depth - 1)
        a = self.away_from_zero(ctx, a)

        def fn(env):
            x, y = a.ev(env), b.ev(env)
            need(x.lo >= AWAY or x.hi <= -AWAY)
            return mkval((), i_abs(x.lo, x.hi)[0], math.hypot(x.mag, y.mag))

        return Expr(f"math.hypot({a.src}, {b.src})", fn)

    def b_step(self, ctx: Ctx, shape: tuple, depth: int) -> Expr:
        """A factor whose derivative is zero almost everywhere (floor, round, sign, //)."""
        kind = self.pick(["floor", "round", "sign", "floordiv", "mod"])
        self.feature("step_" + kind)
        a = self.expr(ctx, shape, depth - 1)
        b = self.expr(ctx, shape, depth - 1)
        if kind == "mod":
            c = self.pick([1.5, 2.0, 0.75])
            return Expr(
                f"({a.src} % {c})",
                lambda env: (lambda v: mkval(v.shape, 0.0, c))(a.ev(env)),
            )
        if kind == "floordiv":
            inner = f"({a.src} // 1.0)"
        elif kind == "round":
            inner = (
                f"round(float({a.src}))"
                if shape == () and self.chance(0.5)
                else f"np.round({a.src})"
            )
        else:
            inner = f"np.{kind}({a.src})"

        def fn(env):
            v, w = a.ev(env), b.ev(env)
            lo, hi = math.floor(v.lo) - 1, math.ceil(v.hi) + 1
            if kind == "sign":
                lo, hi = -1.0, 1.0
            return mkval(bshape(v.shape, w.shape), *i_mul((lo, hi), (w.lo, w.hi)))

        return Expr(f"({inner} * {b.src})", fn)

    def b_reduce(self, ctx: Ctx, shape: tuple, depth: int) -> Expr:
        options = REDUCE[shape]
        if not options:
            raise Unsafe("no reduction to this shape")
        s, axis, keep = self.pick(options)
        fn_name = self.pick(REDUCTIONS, REDUCTION_WEIGHTS)
        feats = set(self.features)  # restored if `a` is not used after all
        a = self.expr(ctx, s, depth - 1)
        args = []
        if axis is not None:
            args.append(f"axis={axis}")
        if keep:
            args.append("keepdims=True")
            self.feature("keepdims")
        if axis is not None:
            self.feature("axis_tuple" if isinstance(axis, tuple) else "axis")
        full = size(s)
        n = full if axis is None or isinstance(axis, tuple) else s[axis]
        style = self.r.randrange(3)
        if fn_name in ("std",) or (fn_name == "var" and n < 2):
            fn_name = "sum"
        if style == 0 and fn_name in ("sum", "mean", "max", "min", "prod", "var"):
            text = f"({a.src}).{fn_name}({', '.join(args)})"
            self.feature("method_" + fn_name)
        else:
            text = f"np.{fn_name}({', '.join([a.src] + args)})"
        self.feature("reduce_" + fn_name)

        def fn(env):
            v = a.ev(env)
            need(v.shape == s)
            if fn_name == "sum":
                lo, hi = n * v.lo, n * v.hi
            elif fn_name in ("mean", "max", "min"):
                lo, hi = v.lo, v.hi
            elif fn_name == "var":
                lo, hi = 0.0, (v.hi - v.lo) ** 2 / 4 + 1e-9
            else:
                need(n <= 3)
                lo, hi = v.lo, v.hi
                for _ in range(n - 1):
                    lo, hi = i_mul((lo, hi), (v.lo, v.hi))
            return mkval(shape, lo, hi)

        extra = self.r.random()
        if shape == () and extra < 0.12:
            # norm and std of a parameter (never a constant array: a kink at zero)
            params = [
                p
                for p, v in ctx.env.items()
                if v.shape != ()
                and not v.fresh
                and size(v.shape) >= 2
                and p in self.param_names
            ]
            if params:
                self.features = feats
                p = self.pick(params)
                which = self.pick(["np.linalg.norm", "np.std"])
                self.feature("reduce_" + which.split(".")[-1])

                def fn2(env, p=p, which=which):
                    v = lookup(env, p)
                    m = v.mag * math.sqrt(size(v.shape))
                    return mkval((), 0.0, m)

                return Expr(f"{which}({p})", fn2)
        if shape == () and extra < 0.2:
            # the trace of a square matrix
            mats = self.names_of(ctx.env, (3, 3))
            if mats:
                self.features = feats
                m = self.pick(mats)
                self.feature("trace")
                return Expr(
                    f"np.trace({m})",
                    lambda env: (lambda v: mkval((), 3 * v.lo, 3 * v.hi))(
                        lookup(env, m)
                    ),
                )
        if len(shape) == 1 and extra < 0.25 and shape[0] == 3:
            self.features = feats
            b = self.expr(ctx, shape, depth - 1)
            axis_text = ""
            self.feature("cumsum")
            return Expr(
                f"np.cumsum({b.src}{axis_text})",
                lambda env: (
                    lambda v: mkval(shape, min(v.lo, 3 * v.lo), max(v.hi, 3 * v.hi))
                )(b.ev(env)),
            )
        return Expr(text, fn)

    def b_misc(self, ctx: Ctx, shape: tuple, depth: int) -> Expr:
        """Rarer spellings: masks, diag, broadcast_to, eye, *_like, sizes, 2-D cumsum."""
        forms = []
        if shape == ():
            forms += ["mask_sum", "size", "size"]
        if shape != ():
            forms += ["broadcast_to", "like", "mask_mul", "where_and"]
        if shape == (3, 3):
            forms += ["diag_of_vector", "eye"]
        if shape == (3,):
            forms += ["diag_of_matrix"]
        if len(shape) == 2:
            forms += ["cumsum_axis"]
        form = self.pick(forms)
        self.feature(form)
        if form == "mask_sum":
            s = self.pick([t for t in SHAPES if t != ()])
            a = self.expr(ctx, s, depth - 1)
            v = a.ev(ctx.env)
            c = num(v.lo + (v.hi - v.lo) * self.r.uniform(0.2, 0.8))
            n = size(s)
            src = (
                f"np.sum({a.src}[{a.src} > {c}])"
                if a.kind == "name"
                else f"np.sum(np.where({a.src} > {c}, {a.src}, 0.0))"
            )
            return Expr(
                src,
                lambda env: (
                    lambda w: mkval((), n * min(w.lo, 0.0), n * max(w.hi, 0.0))
                )(a.ev(env)),
            )
        if form == "size":
            arrays = [n for n, v in ctx.env.items() if v.shape != ()]
            if not arrays:
                raise Unsafe("no array")
            n = self.pick(arrays)
            sh = ctx.env[n].shape
            spelling, value = self.pick(
                [
                    (f"len({n})", sh[0]),
                    (f"{n}.shape[0]", sh[0]),
                    (f"{n}.size", size(sh)),
                    (f"np.size({n})", size(sh)),
                    (f"{n}.ndim", len(sh)),
                    (f"{n}.shape[-1]", sh[-1]),
                ]
            )
            return Expr(
                spelling,
                lambda env: (lookup(env, n), Val((), float(value), float(value), True))[
                    1
                ],
            )
        if form == "broadcast_to":
            sub = self.pick([t for t in SHAPES if bshape_ok(t, shape)])
            a = self.expr(ctx, sub, depth - 1)
            return Expr(
                f"np.broadcast_to({a.src}, {shape!r})",
                lambda env: (lambda w: mkval(shape, w.lo, w.hi))(a.ev(env)),
                "view",
                a.roots,
            )
        if form == "like":
            names = self.names_of(ctx.env, shape, allow_int=False)
            if not names:
                raise Unsafe("no array of the shape")
            n = self.pick(names)
            b = self.expr(ctx, (), depth - 1)
            src = self.pick(
                [f"np.ones_like({n}) * {b.src}", f"np.zeros_like({n}) + {b.src}"]
            )
            return Expr(
                src,
                lambda env: (
                    lookup(env, n),
                    (lambda w: mkval(shape, w.lo, w.hi))(b.ev(env)),
                )[1],
            )
        if form == "mask_mul":
            sc = self.pick([t for t in SHAPES if bshape_ok(t, shape)])
            c = self.expr(ctx, sc, depth - 1)
            b = self.expr(ctx, shape, depth - 1)
            cv = c.ev(ctx.env)
            t = num(cv.lo + (cv.hi - cv.lo) * self.r.uniform(0.2, 0.8))
            op = self.pick([">", "<"])
            return Expr(
                f"(({c.src}) {op} {t}) * {b.src}",
                lambda env: (
                    c.ev(env),
                    (lambda w: mkval(shape, min(w.lo, 0.0), max(w.hi, 0.0)))(b.ev(env)),
                )[1],
            )
        if form == "where_and":
            c = self.expr(ctx, shape, depth - 1)
            a = self.expr(ctx, shape, depth - 1)
            b = self.expr(ctx, shape, depth - 1)
            cv = c.ev(ctx.env)
            t1 = num(cv.lo + (cv.hi - cv.lo) * self.r.uniform(0.1, 0.5))
            t2 = num(cv.lo + (cv.hi - cv.lo) * self.r.uniform(0.5, 0.9))
            cond = self.pick(
                [
                    f"np.logical_and({c.src} > {t1}, {c.src} < {t2})",
                    f"({c.src} > {t1}) & ({c.src} < {t2})",
                    f"({c.src} < {t1}) | ({c.src} > {t2})",
                    f"np.logical_or({c.src} < {t1}, {c.src} > {t2})",
                    f"~({c.src} > {t1})",
                ]
            )
            return Expr(
                f"np.where({cond}, {a.src}, {b.src})",
                lambda env: (c.ev(env), hull(a.ev(env), b.ev(env)))[1],
            )
        if form == "diag_of_vector":
            a = self.expr(ctx, (3,), depth - 1)
            return Expr(
                f"np.diag({a.src})",
                lambda env: (lambda w: mkval(shape, min(w.lo, 0.0), max(w.hi, 0.0)))(
                    a.ev(env)
                ),
            )
        if form == "diag_of_matrix":
            a = self.expr(ctx, (3, 3), depth - 1)
            return Expr(
                f"np.diag({a.src})",
                lambda env: (lambda w: mkval(shape, w.lo, w.hi))(a.ev(env)),
                "view",
                a.roots,
            )
        if form == "eye":
            b = self.expr(ctx, (), depth - 1)
            return Expr(
                f"np.eye(3) * {b.src}",
                lambda env: (lambda w: mkval(shape, min(w.lo, 0.0), max(w.hi, 0.0)))(
                    b.ev(env)
                ),
            )
        a = self.expr(ctx, shape, depth - 1)
        axis = self.r.randrange(2)
        n = shape[axis]
        return Expr(
            f"np.cumsum({a.src}, axis={axis})",
            lambda env: (
                lambda w: mkval(shape, min(w.lo, n * w.lo), max(w.hi, n * w.hi))
            )(a.ev(env)),
        )

    def index_var(self, ctx: Ctx, dim: int, width: int = 1) -> Optional[str]:
        """An int variable whose every value indexes a dimension of `dim` (and leaves
        room for a slice of `width`)."""
        cands = [
            n
            for n, v in ctx.env.items()
            if v.isint and v.shape == () and -dim <= v.lo and v.hi <= dim - width
        ]
        if cands and self.chance(0.8):
            return self.pick(cands)
        # an int that may be too large, reduced into range: `i % 2`
        wide = [
            n for n, v in ctx.env.items() if v.isint and v.shape == () and v.lo >= 0
        ]
        if wide and dim - width + 1 >= 1:
            self.feature("index_modulo")
            return f"{self.pick(wide)} % {dim - width + 1}"
        return self.pick(cands) if cands else None

    def b_index(self, ctx: Ctx, shape: tuple, depth: int) -> Expr:
        options = INDEX[shape]
        if not options:
            raise Unsafe("no index to this shape")
        s, template = self.pick(options, [4 if "::" in t else 1 for _, t in options])
        width = 2 if ":{i} + 2" in template else 1
        dim = 0
        if "{i}" in template:
            dim = s[0] if template.startswith("[{i}") else s[-1]
            var = self.index_var(ctx, dim, width)
            if var is None:
                raise Unsafe("no index variable")
            self.feature("index_loop_var")
            if width == 2:
                self.feature("runtime_slice")
            template = template.replace("{i}", var)
        else:
            var = None
        # prefer indexing a name (a view of an existing array)
        names = self.names_of(ctx.env, s, allow_int=False)
        if names and self.chance(0.7):
            a = self.name_expr(self.pick(names))
        else:
            a = self.expr(ctx, s, depth - 1)
        src = f"{a.src}{template}" if a.kind == "name" else f"({a.src}){template}"
        tag = {
            "[::-1]": "slice_reverse",
            "[::2]": "slice_step",
            "[-1]": "index_negative",
        }.get(template, "")
        self.feature(tag or ("index_2d" if len(s) == 2 else "index"))
        if template.startswith("["):
            self.feature("subscript")
        view = shape != () and template not in (".flatten()",) and "sum" not in template

        def fn(env):
            v = a.ev(env)
            need(v.shape == s)
            if var is not None and " % " in var:
                lookup(env, var.split()[0])
            elif var is not None:
                iv = lookup(env, var)
                need(-dim <= iv.lo and iv.hi <= dim - width)
            return mkval(
                shape,
                v.lo * (s[0] if "sum" in template else 1),
                v.hi * (s[0] if "sum" in template else 1),
            )

        return Expr(src, fn, "view" if view else "fresh", a.roots if view else ())

    def b_matmul(self, ctx: Ctx, shape: tuple, depth: int) -> Expr:
        options = MATMUL[shape]
        if not options:
            raise Unsafe("no product gives this shape")
        sa, sb, op, k = self.pick(options)
        a = self.expr(ctx, sa, depth - 1)
        b = self.expr(ctx, sb, depth - 1)
        src = f"({a.src} @ {b.src})" if op == "@" else f"{op}({a.src}, {b.src})"
        self.feature("matmul" if op in ("@", "np.matmul") else op.split(".")[-1])
        spelling = self.r.random()
        if spelling < 0.2 and len(sa) <= 2 and len(sb) <= 2:
            if op == "np.outer":
                spec = "i,j->ij"
            else:
                la = "ij" if len(sa) == 2 else "j"
                lb = "j" if len(sb) == 1 else "jk"
                out_letters = (la[:-1] if len(sa) == 2 else "") + (
                    lb[1:] if len(sb) == 2 else ""
                )
                spec = f"{la},{lb}->{out_letters}"
            if np.einsum(spec, np.zeros(sa), np.zeros(sb)).shape == shape:
                src = f"np.einsum({spec!r}, {a.src}, {b.src})"
                self.feature("einsum")
        elif spelling < 0.35 and op in ("@", "np.dot", "np.matmul"):
            src = f"({a.src}).dot({b.src})"
            self.feature("method_dot")

        def fn(env):
            x, y = a.ev(env), b.ev(env)
            need(x.shape == sa and y.shape == sb)
            lo, hi = i_mul((x.lo, x.hi), (y.lo, y.hi))
            return mkval(shape, k * lo, k * hi)

        return Expr(src, fn)

    def b_stack(self, ctx: Ctx, shape: tuple, depth: int) -> Expr:
        feats = set(self.features)  # restored if the parts are not used after all
        if shape in ((2,), (3,)):
            parts = [self.expr(ctx, (), depth - 1) for _ in range(shape[0])]
            src = f"np.stack([{', '.join(p.src for p in parts)}])"
            self.feature("stack")
        elif shape == (2, 3):
            parts = [self.expr(ctx, (3,), depth - 1) for _ in range(2)]
            fn_name = self.pick(["np.stack", "np.vstack"])
            src = f"{fn_name}([{', '.join(p.src for p in parts)}])"
            self.feature(fn_name.split(".")[-1])
        elif shape == (3, 3):
            parts = [self.expr(ctx, (3,), depth - 1) for _ in range(3)]
            src = f"np.stack([{', '.join(p.src for p in parts)}], axis=1)"
            self.feature("stack")
        elif shape == (1, 3) or shape == (3, 1):
            p = self.expr(ctx, (3,), depth - 1)
            parts = [p]
            src = f"np.expand_dims({p.src}, {0 if shape == (1, 3) else 1})"
            self.feature("expand_dims")
        else:
            raise Unsafe("no stack gives this shape")
        if shape == (3,) and self.chance(0.3):
            self.features = feats
            a = self.expr(ctx, (2,), depth - 1)
            b = self.expr(ctx, (), depth - 1)
            parts = [a, b]
            src = f"np.concatenate([{a.src}, np.ones(1) * {b.src}])"
            self.feature("concatenate")

        def fn(env):
            vals = [p.ev(env) for p in parts]
            return mkval(shape, min(v.lo for v in vals), max(v.hi for v in vals))

        return Expr(src, fn)

    def b_ifexp(self, ctx: Ctx, shape: tuple, depth: int) -> Expr:
        cond = self.cond(ctx, depth - 1)
        a = self.expr(ctx, shape, depth - 1)
        b = self.expr(ctx, shape, depth - 1)
        self.feature("ifexp")

        def fn(env):
            cond.ev(env)
            return hull(a.ev(env), b.ev(env))

        kind = "fresh" if a.kind == b.kind == "fresh" else "alias"
        return Expr(
            f"({a.src} if {cond.src} else {b.src})", fn, kind, a.roots | b.roots
        )

    def b_call(self, ctx: Ctx, shape: tuple, depth: int) -> Expr:
        if self.chance(0.2):
            # an item of a tuple a helper returns: `h(x)[0]`
            k = self.r.randrange(2)
            shapes = [self.target_shape(), self.target_shape()]
            shapes[k] = shape
            c = self.call(ctx, Multi(shapes), depth)
            index = self.pick([k, k - 2])
            self.feature("helper_tuple_item")
            return Expr(f"{c.src}[{index}]", lambda env: c.ev(env)[k], "alias", c.roots)
        return self.call(ctx, shape, depth)

    def call(self, ctx: Ctx, shape: tuple, depth: int) -> Expr:
        """A call of a helper returning `shape` (a Multi: a tuple of values; the
        Expr's bound is then a tuple of bounds)."""
        nargs = self.pick([1, 2, 3], [3, 4, 1])
        arg_shapes = [
            (
                shape
                if self.chance(0.4) and not isinstance(shape, Multi)
                else self.pick(SHAPES, [4, 1, 3, 1, 1, 1, 1, 1])
            )
            for _ in range(nargs)
        ]
        args = [
            self.unaliased(ctx, self.expr(ctx, s, max(depth - 1, 0)))
            for s in arg_shapes
        ]
        nkw = self.pick([0, 1, 2], [8, 2, 1]) if self.chance(0.25) else 0
        kw_args = [self.expr(ctx, (), max(depth - 1, 0)) for _ in range(nkw)]
        vals = [a.ev(ctx.env) for a in args]
        kw_vals = [a.ev(ctx.env) for a in kw_args]

        def fits(pv, v):
            return pv.shape == v.shape and pv.lo <= v.lo and v.hi <= pv.hi

        helper = None
        for h in self.helpers:
            if (
                type(h.ret_shape) is type(shape)
                and h.ret_shape == shape
                and len(h.params) == nargs
                and len(h.kwonly) == nkw
                and h.level > ctx.level
                and all(fits(pv, v) for (_, pv), v in zip(h.params, vals))
                and all(fits(pv, v) for (_, pv, _), v in zip(h.kwonly, kw_vals))
            ):
                helper = h
                break
        if helper is None or self.chance(0.3):
            helper = self.make_helper(ctx, shape, vals, kw_vals)
        else:
            self.feature("helper_reused")
        self.feature("helper" if ctx.level == 0 else "nested_helper")
        passed = [self.chance(0.7) for _ in kw_args]
        if any(passed):
            self.feature("helper_kwonly")  # called by keyword
        if not all(passed):
            self.feature("helper_kwonly_default")
        texts = [a.src for a in args] + [
            f"{p}={a.src}"
            for (p, _, _), a, ok in zip(helper.kwonly, kw_args, passed)
            if ok
        ]

        def fn(env):
            got = [a.ev(env) for a in args]
            for (_, pv), v in zip(helper.params, got):
                need(fits(pv, v), "helper argument out of bounds")
            for (_, pv, _), a, ok in zip(helper.kwonly, kw_args, passed):
                if ok:
                    need(fits(pv, a.ev(env)), "helper argument out of bounds")
            return helper.ret

        roots = frozenset().union(*[a.roots for a in args])
        return Expr(f"{helper.name}({', '.join(texts)})", fn, "alias", roots)

    def unaliased(self, ctx: Ctx, e: Expr) -> Expr:
        """e, or a copy of it when it is (a view of) an array the function updates in place."""
        if any(r in ctx.env and ctx.env[r].fresh for r in e.roots):
            self.feature("np_copy")
            return Expr(f"np.copy({e.src})", e.fn, "fresh")
        return e

    def make_helper(
        self, ctx: Ctx, shape: tuple, vals: list, kw_vals: Optional[list] = None
    ) -> Helper:
        """A new helper taking arguments bounded by `vals` (and keyword-only scalars
        bounded by `kw_vals`, with a default inside their bounds), returning `shape`
        (a Multi: a tuple)."""
        name = self.fresh_name("h")

        def widened(v):
            widen = 0.1 * (v.hi - v.lo) + 0.05
            lo, hi = v.lo - widen, v.hi + widen
            if v.lo >= AWAY:  # keep arguments away from zero as they were
                lo = max(lo, AWAY)
            if v.hi <= -AWAY:
                hi = min(hi, -AWAY)
            return Val(v.shape, lo, hi)

        params = [(self.fresh_name("p"), widened(v)) for v in vals]
        kwonly = []
        for v in kw_vals or []:
            w = widened(v)
            default = num(self.r.uniform(w.lo, w.hi))
            d = float(default)
            w = Val((), min(w.lo, d), max(w.hi, d))
            kwonly.append((self.fresh_name("p"), w, default))
        env = {n: v for n, v in ctx.env.items() if n in self.global_names}
        env.update(dict(params))
        env.update({p: v for p, v, _ in kwonly})
        multi = isinstance(shape, Multi)
        saved_budget = self.budget
        self.budget = self.r.randint(1, 5)
        feats = set(self.features)
        for _ in range(4):
            self.features = set(feats)  # a body dropped counts for none
            try:
                hctx = Ctx(dict(env), shape, 0, 0, ctx.level + 1)
                body = self.block(hctx, self.r.randint(0, 3))
                flow = run_block(body, dict(env))
                if flow.fall is not None:
                    end_ctx = Ctx(flow.fall, shape, 0, 0, ctx.level + 1)
                    if multi:
                        body.append(
                            ReturnMany(
                                [
                                    self.expr(end_ctx, s, self.r.randint(0, 2))
                                    for s in shape
                                ]
                            )
                        )
                    else:
                        body.append(
                            Return(self.expr(end_ctx, shape, self.r.randint(1, 2)))
                        )
                flow = run_block(body, dict(env))
                rv = flow.ret[0]
                for r in flow.ret[1:]:
                    rv = (
                        tuple(hull(a, b) for a, b in zip(rv, r))
                        if multi
                        else hull(rv, r)
                    )
                if multi:
                    need(tuple(v.shape for v in rv) == tuple(shape))
                else:
                    need(rv.shape == shape)
                break
            except Unsafe:
                continue
        else:
            self.features = set(feats)
            leaf_ctx = Ctx(dict(env), shape)
            if multi:
                body = [ReturnMany([self.safe_leaf(leaf_ctx, s) for s in shape])]
                rv = tuple(e.ev(env) for e in body[0].exprs)
            else:
                body = [Return(self.safe_leaf(leaf_ctx, shape))]
                rv = body[0].expr.ev(env)
        self.budget = saved_budget
        ret = (
            tuple(Val(v.shape, v.lo, v.hi) for v in rv)
            if multi
            else Val(shape, rv.lo, rv.hi)
        )
        helper = Helper(name, params, shape, ret, body, ctx.level + 1, kwonly)
        if multi:
            self.feature("helper_returns_tuple")
        self.helpers.append(helper)
        return helper

    # ---- conditions ----

    def cond(self, ctx: Ctx, depth: int) -> Cond:
        if self.chance(0.04):
            try:
                return self.finite_cond(ctx, self.chance(0.5))
            except Unsafe:
                pass
        r = self.r.random()
        ints = [
            n for n, v in ctx.env.items() if v.isint and v.shape == () and v.hi > v.lo
        ]
        if r < 0.12 and ints:
            n = self.pick(ints)
            v = ctx.env[n]
            c = self.r.randint(int(v.lo), int(v.hi))
            form = self.pick(
                [
                    f"{n} == {c}",
                    f"{n} > {c}",
                    f"{n} % 2 == 0",
                    f"{n} != {c}",
                    f"{n} >= {c}",
                ]
            )
            self.feature("cond_int")
            return Cond(form, lambda env: (lookup(env, n), None)[1])
        if r < 0.24 and depth >= 0:
            a, b = self.cond(ctx, depth - 1), self.cond(ctx, depth - 1)
            op = self.pick(["and", "or"])
            self.feature("cond_" + op)
            if self.chance(0.2):
                self.feature("cond_not")
                return Cond(
                    f"not ({a.src} {op} {b.src})",
                    lambda env: (a.ev(env), b.ev(env), None)[2],
                )
            return Cond(
                f"({a.src} {op} {b.src})", lambda env: (a.ev(env), b.ev(env), None)[2]
            )
        if r < 0.30:
            arrays = [n for n, v in ctx.env.items() if v.shape != () and not v.isint]
            if arrays:
                n = self.pick(arrays)
                v = ctx.env[n]
                c = num(v.lo + (v.hi - v.lo) * self.r.uniform(0.3, 0.7))
                fn_name = self.pick(["np.all", "np.any"])
                op = self.pick(["<", ">"])
                self.feature("cond_array")
                return Cond(
                    f"{fn_name}({n} {op} {c})", lambda env: (lookup(env, n), None)[1]
                )
        a = self.expr(ctx, (), max(depth, 0) + self.r.randint(0, 1))
        v = a.ev(ctx.env)
        if r < 0.40:
            b = self.expr(ctx, (), max(depth, 0))
            op = self.pick(["<", ">", "<=", ">="])
            self.feature("cond_two")
            return Cond(
                f"{a.src} {op} {b.src}", lambda env: (a.ev(env), b.ev(env), None)[2]
            )
        c1 = v.lo + (v.hi - v.lo) * self.r.uniform(0.2, 0.8)
        if r < 0.46 and v.hi > v.lo:
            c2 = c1 + (v.hi - c1) * self.r.uniform(0.3, 0.9)
            self.feature("cond_chain")
            return Cond(
                f"{num(c1)} < {a.src} < {num(c2)}", lambda env: (a.ev(env), None)[1]
            )
        op = self.pick(["<", ">", "<=", ">="])
        return Cond(f"{a.src} {op} {num(c1)}", lambda env: (a.ev(env), None)[1])

    # ---- statements ----

    def block(self, ctx: Ctx, n: int) -> list:
        """Up to n statements (fewer when the budget runs out or control leaves)."""
        out = []
        for _ in range(max(n, 1)):
            if self.budget <= 0 and out:
                break
            self.budget -= 1
            stmt = None
            for _ in range(5):
                saved = set(self.features)  # a statement dropped counts for none
                try:
                    stmt = self.stmt(ctx)
                    if stmt is None:
                        self.features = saved
                        continue
                    stmts = stmt if isinstance(stmt, list) else [stmt]
                    flow = run_block(stmts, ctx.env)
                    break
                except Unsafe:
                    self.features = saved
                    stmt = None
            if stmt is None:
                continue
            out += stmts
            if flow.fall is None:
                break
            ctx.env = flow.fall
        return out

    def stmt(self, ctx: Ctx):
        compound = ctx.depth < self.o.max_depth and self.budget > 1
        loops_ok = compound and ctx.loops < 3
        choices = [
            (8, self.s_assign),
            (3, self.s_rebind),
            (3, self.s_aug),
            (2, self.s_acc),
            (1, self.s_unpack),
            (4 if compound else 0, self.s_if),
            (4 if loops_ok else 0, self.s_for),
            (2 if loops_ok else 0, self.s_while),
            (3 if ctx.loops else 0, self.s_jump),
            (0.8 if ctx.loops else 1.5, self.s_return),
            (3 if self.want_special and not self.special else 0, self.s_overflow),
            (0.7 if ctx.depth == 0 and self.budget > 2 else 0, self.s_stack),
            (0.6, self.s_raise),
            (0.3, self.s_assert),
            (
                (
                    5
                    if ctx.level == 0 and any(n not in ctx.env for n in self.optionals)
                    else 0
                ),
                self.s_optional,
            ),
            (1.2 if loops_ok else 0, self.s_tuple_loop),
            (1.0 if loops_ok else 0, self.s_while_true),
            (1.2, self.s_setitem),
            (1.0 if loops_ok else 0, self.s_fill),
            (0.6 if ctx.level < 2 else 0, self.s_pair),
        ]
        f = self.pick([c for _, c in choices], [w for w, _ in choices])
        return f(ctx)

    def target_shape(self) -> tuple:
        return self.pick(SHAPES, [6, 1, 4, 1, 1, 2, 1, 1])

    def s_assign(self, ctx: Ctx):
        shape = self.target_shape()
        e = self.unaliased(ctx, self.expr(ctx, shape, self.r.randint(1, 3)))
        return Assign([self.fresh_name("v")], [e])

    def s_rebind(self, ctx: Ctx):
        names = [
            n for n, v in ctx.env.items() if not v.isint and n not in self.global_names
        ]
        if not names:
            return self.s_assign(ctx)
        n = self.pick(names)
        shape = ctx.env[n].shape
        if ctx.loops and self.chance(0.5):
            # a damped update, so that a loop-carried value stays bounded
            a = self.pick([0.5, 0.7, 0.9, -0.5])
            b = self.pick([0.1, 0.3, 0.5])
            e = self.expr(ctx, shape, self.r.randint(1, 2))
            squash = self.pick(["np.tanh", "np.sin", "np.cos"])
            src = f"{a} * {n} + {b} * {squash}({e.src})"
            self.feature("damped_update")
            vn = ctx.env[n]

            def fn(env):
                v = lookup(env, n)
                e.ev(env)
                lo, hi = i_mul((a, a), (v.lo, v.hi))
                return mkval(bshape(v.shape, e.ev(env).shape), lo - b, hi + b)

            expr = Expr(src, fn)
        else:
            expr = self.unaliased(ctx, self.expr(ctx, shape, self.r.randint(1, 3)))
            if n in self.param_names:
                self.feature("rebind_param")
        if ctx.depth:
            self.feature("rebind_in_block")
        return Assign([n], [expr])

    def s_aug(self, ctx: Ctx):
        scalars = [
            n
            for n, v in ctx.env.items()
            if v.shape == () and not v.isint and n not in self.global_names
        ]
        arrays = [n for n, v in ctx.env.items() if v.shape != () and v.fresh]
        if arrays and self.chance(0.3):
            n = self.pick(arrays)
            shape = ctx.env[n].shape
            sub = self.pick(
                [s for s in SHAPES if bshape_ok(s, shape) and bshape(s, shape) == shape]
            )
            op = self.pick(["+", "-", "*"])
            self.feature("aug_array")
        elif scalars:
            n = self.pick(scalars)
            sub = ()
            op = self.pick(["+", "-", "*", "/"], [4, 2, 2, 1])
            self.feature("aug_scalar")
            if n in self.param_names:
                self.feature("aug_param")
        else:
            return self.s_assign(ctx)
        e = self.expr(ctx, sub, self.r.randint(0, 2))
        if op == "/":
            e = self.away_from_zero(ctx, e)
        return AugAssign(n, op, e)

    def s_acc(self, ctx: Ctx):
        accs = [
            n
            for n, v in ctx.env.items()
            if v.fresh and v.shape != () and n.startswith("acc")
        ]
        if not accs or self.chance(0.25):
            shape = self.pick([(3,), (2,), (2, 3), (3, 3)])
            name = self.fresh_name("acc")
            self.feature("acc_new")
            text = f"np.zeros({fmt_shape(shape)})"
            return Assign(
                [name], [Expr(text, lambda env: mkval(shape, 0.0, 0.0))], acc=True
            )
        n = self.pick(accs)
        shape = ctx.env[n].shape
        forms = []
        var = self.index_var(ctx, shape[0])
        if var:
            forms += [(f"{var}", shape[1:])] * 3
            if len(shape) == 2:
                var2 = self.index_var(ctx, shape[1])
                if var2:
                    forms.append((f"{var}, {var2}", ()))
        c = self.r.randint(-shape[0], shape[0] - 1)
        forms.append((str(c), shape[1:]))
        if len(shape) == 1:
            forms += [
                ("1:", (shape[0] - 1,)),
                ("::2", ((shape[0] + 1) // 2,)),
                (":2", (2,)),
            ]
            var2 = self.index_var(ctx, shape[0], 2)
            if var2:
                forms += [(f"{var2}:{var2} + 2", (2,))] * 2
        else:
            j = self.r.randint(-shape[1], shape[1] - 1)
            forms += [
                (f":, {j}", (shape[0],)),
                (f"{c}, {j}", ()),
                ("1:", (shape[0] - 1, shape[1])),
            ]
        index, region = self.pick(forms)
        if "+ 2" in index:
            self.feature("acc_runtime_slice")
        if region not in SHAPES:
            region = ()
            index = str(c) if len(shape) == 1 else f"{c}, 0"
        sub = self.pick(
            [s for s in SHAPES if bshape_ok(s, region) and bshape(s, region) == region]
        )
        e = self.expr(ctx, sub, self.r.randint(0, 2))
        self.feature("acc_update")
        if var and var in index:
            self.feature("acc_update_loop_index")

        def check(env, index=index):
            for name in _IDENT.findall(index):
                lookup(env, name)

        return ItemAug(n, index, self.pick(["+", "-"], [3, 1]), e, check, region)

    def s_unpack(self, ctx: Ctx):
        shapes = [self.target_shape() for _ in range(2)]
        exprs = [
            self.unaliased(ctx, self.expr(ctx, s, self.r.randint(0, 2))) for s in shapes
        ]
        self.feature("tuple_unpack")
        return Assign([self.fresh_name("v"), self.fresh_name("v")], exprs)

    def s_if(self, ctx: Ctx):
        cond = self.cond(ctx, 1)
        body = self.block(ctx.child(), self.r.randint(1, 3))
        orelse = []
        r = self.r.random()
        if r < 0.35:
            orelse = self.block(ctx.child(), self.r.randint(1, 3))
            self.feature("else")
        elif r < 0.5:
            cond2 = self.cond(ctx, 1)
            inner_else = (
                self.block(ctx.child(), self.r.randint(1, 2))
                if self.chance(0.6)
                else []
            )
            orelse = [
                If(cond2, self.block(ctx.child(), self.r.randint(1, 2)), inner_else)
            ]
            self.feature("elif")
        stmts = [If(cond, body, orelse)]
        if ctx.loops:
            self.feature("if_in_loop")
        # sometimes bind a new name on both paths of an if/else, used after it
        if orelse and not isinstance(orelse[0], If) and self.chance(0.3):
            falls = [
                run_block(b, dict(ctx.env)).fall is not None for b in (body, orelse)
            ]
            if all(falls):
                shape = self.target_shape()
                name = self.fresh_name("t")
                a = self.unaliased(ctx, self.expr(ctx, shape, 1))
                b = self.unaliased(ctx, self.expr(ctx, shape, 1))
                body.append(Assign([name], [a]))
                orelse.append(Assign([name], [b]))
                self.feature("bound_in_both_branches")
        return stmts

    def s_for(self, ctx: Ctx):
        var = self.fresh_name("i")
        ints = [
            n
            for n, v in ctx.env.items()
            if v.isint
            and v.shape == ()
            and 0 <= v.lo
            and v.hi <= 3
            and not n.startswith("k")
        ]
        forms = ["n", "n", "ab", "abs", "rev", "len"] + (
            ["dep", "dep_rev"] * 2 if ints else []
        )
        forms += (
            ["param"]
            if any(p.kind == "int" and p.name in ctx.env for p in self.params)
            else []
        )
        forms += ["const"] if any(t == "int" for t, _ in self.consts_kind) else []
        forms += ["empty"]
        form = self.pick(forms)
        reversed_ = False
        if form == "n":
            n = self.r.randint(1, 4)
            header, lo, hi, trips = f"range({n})", 0, n - 1, n
        elif form == "ab":
            a = self.r.randint(0, 2)
            b = self.r.randint(a + 1, 4)
            header, lo, hi, trips = f"range({a}, {b})", a, b - 1, b - a
        elif form == "abs":
            if self.chance(0.5):
                a, b, s = self.pick([(0, 4, 2), (0, 3, 2), (1, 4, 2), (0, 4, 3)])
                header, lo, hi, trips = (
                    f"range({a}, {b}, {s})",
                    a,
                    b - 1,
                    len(range(a, b, s)),
                )
            else:
                a, b, s = self.pick([(3, 0, -1), (2, -1, -1), (3, -1, -2)])
                header, lo, hi, trips = (
                    f"range({a}, {b}, {s})",
                    b + 1,
                    a,
                    len(range(a, b, s)),
                )
                self.feature("range_negative_step")
            self.feature("range_step")
        elif form == "rev":
            n = self.r.randint(1, 4)
            header, lo, hi, trips = f"reversed(range({n}))", 0, n - 1, n
            reversed_ = True
        elif form == "len":
            arrays = [
                n for n, v in ctx.env.items() if len(v.shape) >= 1 and not v.isint
            ]
            if not arrays:
                n = self.r.randint(1, 3)
                header, lo, hi, trips = f"range({n})", 0, n - 1, n
            else:
                a = self.pick(arrays)
                d = ctx.env[a].shape[0]
                header = (
                    f"range(len({a}))" if self.chance(0.6) else f"range({a}.shape[0])"
                )
                lo, hi, trips = 0, d - 1, d
                self.feature("range_len")
        elif form in ("dep", "dep_rev"):
            j = self.pick(ints)
            jv = ctx.env[j]
            hi = int(jv.hi)
            header = f"range({j} + 1)" if form == "dep" else f"reversed(range({j} + 1))"
            lo, trips = 0, hi + 1
            reversed_ = form == "dep_rev"
            self.feature("range_dependent")
        elif form == "param":
            p = next(p for p in self.params if p.kind == "int")
            header, lo, hi, trips = f"range({p.name})", 0, int(p.hi) - 1, int(p.hi)
            self.feature("range_param")
        elif form == "const":
            name, text = next((n, t) for n, t in self.consts if "." not in t)
            k = int(text)
            header, lo, hi, trips = f"range({name})", 0, k - 1, k
            self.feature("range_module_constant")
        else:
            header, lo, hi, trips = "range(2, 2)", 2, 2, 0
            self.feature("range_empty")
        if reversed_:
            self.feature("reversed_range")
            if ctx.loops:
                self.feature("reversed_in_loop")
        if ctx.loops:
            self.feature("nested_loop")
        if ctx.depth and not ctx.loops:
            self.feature("loop_in_branch")
        var_val = Val((), float(lo), float(hi), True)
        # the loop variable read after the loop (it runs at least once)
        keep = form != "empty" and self.chance(0.3)
        saved = self.budget
        feats = set(self.features)
        for attempt in range(4):
            self.budget = saved
            self.features = set(feats)  # a body dropped counts for none
            body_ctx = ctx.child(kind="range")
            body_ctx.env[var] = var_val
            body = self.block(body_ctx, self.r.randint(1, 4))
            loop = Loop(header, var, var_val, trips, body, keep=keep)
            try:
                flow = loop.run(ctx.env)
                self.feature("for")
                if keep and flow.fall is not None:
                    after = Ctx(
                        flow.fall,
                        ctx.ret_shape,
                        ctx.loops,
                        ctx.depth,
                        ctx.level,
                        ctx.kinds,
                        ctx.no_continue,
                    )
                    return [loop, self.loop_var_read(after, var, body)]
                return loop
            except Unsafe:
                continue
        raise Unsafe("loop body unsafe")

    def loop_var_read(self, ctx: Ctx, var: str, body: list) -> Stmt:
        """`v = <expr reading the loop variable>`, right after its loop."""
        iv = ctx.env[var]
        arrays = [
            n
            for n, w in ctx.env.items()
            if len(w.shape) == 1
            and not w.isint
            and -w.shape[0] <= iv.lo
            and iv.hi <= w.shape[0] - 1
        ]
        if arrays and self.chance(0.6):
            m = self.pick(arrays)

            def item(env, m=m):
                lookup(env, var)
                w = lookup(env, m)
                return Val((), w.lo, w.hi, False, False, w.active)

            e = self.around(ctx, Expr(f"{m}[{var}]", item, "view", [m]), (), 1)
        else:
            s = self.expr(ctx, (), 1)

            def fn(env, s=s):
                iv, sv = lookup(env, var), s.ev(env)
                return mkval((), *i_mul((iv.lo, iv.hi), (sv.lo, sv.hi)))

            e = Expr(f"{s.src} * {var}", fn)
        self.feature("loop_var_after_loop")
        if _breaks(body):
            self.feature("loop_var_after_break")
        return Assign([self.fresh_name("v")], [e])

    def s_while(self, ctx: Ctx):
        counter = self.fresh_name("k")
        bound = self.r.randint(1, 5)
        var_val = Val((), 0.0, float(bound), True)
        saved = self.budget
        feats = set(self.features)
        for attempt in range(4):
            self.budget = saved
            self.features = set(feats)  # a body dropped counts for none
            body_ctx = ctx.child(kind="while")
            body_ctx.env[counter] = var_val
            test = f"{counter} < {bound}"
            cond = None
            if self.chance(0.75):
                cond = self.cond(body_ctx, 1)
                test = (
                    f"{test} and {cond.src}"
                    if self.chance(0.6)
                    else f"{cond.src} and {test}"
                )
                self.feature("while_compound")
            body = self.block(body_ctx, self.r.randint(1, 4))
            loop = Loop(test, counter, var_val, bound, body, cond, counter)
            init = Assign([counter], [Expr("0", lambda env: Val((), 0.0, 0.0, True))])
            try:
                run_block([init, loop], ctx.env)
                self.feature("while")
                if ctx.loops:
                    self.feature("nested_loop")
                if any(isinstance(s, Loop) and s.counter for s in body):
                    self.feature("nested_while")
                return [init, loop]
            except Unsafe:
                continue
        raise Unsafe("while body unsafe")

    def s_jump(self, ctx: Ctx):
        word = "break" if ctx.no_continue else self.pick(["break", "continue"], [3, 2])
        self.feature(word)
        if ctx.kinds and ctx.kinds[-1] in ("tuple", "while_true"):
            self.feature(f"{word}_in_{ctx.kinds[-1]}")
        if self.chance(0.25):
            self.feature("bare_" + word)
            return Jump(word)
        cond = self.cond(ctx, 1)
        body = []
        if self.chance(0.3):
            body = self.block(ctx.child(), 1)
        if ctx.depth > 1:
            self.feature(word + "_deep")
        return If(cond, body + [Jump(word)], [])

    def s_stack(self, ctx: Ctx):
        """A list used as a stack: pushed in one loop, popped in another."""
        if ctx.depth != 0:
            return None
        stack = self.fresh_name("stk")
        n = self.r.randint(1, 4)
        pair = self.chance(0.4)
        i, j = self.fresh_name("i"), self.fresh_name("i")
        env1 = dict(ctx.env)
        env1[i] = Val((), 0.0, float(n - 1), True)
        c1 = Ctx(
            env1,
            ctx.ret_shape,
            ctx.loops + 1,
            ctx.depth + 1,
            ctx.level,
            ctx.kinds + ("range",),
        )
        shapes = [self.pick([(), (), (3,), (2, 3)]) for _ in range(2 if pair else 1)]
        names = [self.fresh_name("v") for _ in shapes]
        assigns = [
            Assign([nm], [self.unaliased(c1, self.expr(c1, sh, self.r.randint(1, 2)))])
            for nm, sh in zip(names, shapes)
        ]
        push = Push(stack, [self.name_expr(nm) for nm in names])
        push_loop = Loop(
            f"range({n})", i, Val((), 0.0, float(n - 1), True), n, assigns + [push]
        )
        scalars = [
            m
            for m, v in ctx.env.items()
            if v.shape == () and not v.isint and m not in self.global_names
        ]
        total = self.pick(scalars) if scalars and self.chance(0.6) else None
        init = []
        if total is None:
            total = self.fresh_name("v")
            init = [Assign([total], [self.const_expr(0.0)])]
        popped = [self.fresh_name("t") for _ in shapes]
        pop = Pop(popped, push)
        terms = [p if sh == () else f"np.sum({p})" for p, sh in zip(popped, shapes)]
        k = self.pick([0.5, 0.3, -0.4])
        src = (
            f"{total} + {k} * {' * '.join(terms)}"
            if len(terms) == 1 or self.chance(0.5)
            else f"{total} + {k} * ({' + '.join(terms)})"
        )

        def fn(env, src=src, total=total, popped=popped, shapes=shapes):
            t = lookup(env, total)
            vals = [lookup(env, p) for p in popped]
            lo, hi = 1.0, 1.0
            if " * (" in src:
                lo = sum(size(sh) * v.lo for sh, v in zip(shapes, vals))
                hi = sum(size(sh) * v.hi for sh, v in zip(shapes, vals))
            else:
                for sh, v in zip(shapes, vals):
                    lo, hi = i_mul((lo, hi), (size(sh) * v.lo, size(sh) * v.hi))
            lo, hi = i_mul((k, k), (lo, hi))
            return mkval((), t.lo + lo, t.hi + hi)

        accumulate = Assign([total], [Expr(src, fn)])
        pop_loop = Loop(
            f"range({n})", j, Val((), 0.0, float(n - 1), True), n, [pop, accumulate]
        )
        self.feature("list_stack")
        if pair:
            self.feature("list_stack_tuple")
        return init + [Raw(f"{stack} = []", []), push_loop, pop_loop]

    def s_return(self, ctx: Ctx):
        if ctx.depth == 0:
            return None  # the final return is written by the caller
        self.feature("early_return")
        if ctx.loops:
            self.feature("return_in_loop")
        if "tuple" in ctx.kinds:
            self.feature("return_in_tuple_loop")
        if "while_true" in ctx.kinds:
            self.feature("return_in_while_true")
        return self.return_stmt(ctx, self.r.randint(0, 2))

    def return_stmt(self, ctx: Ctx, depth: int) -> Stmt:
        """`return e` of the function's result shape (`return a, b` in a helper that
        returns a tuple)."""
        if isinstance(ctx.ret_shape, Multi):
            self.feature("return_tuple_early")
            return ReturnMany([self.expr(ctx, s, depth) for s in ctx.ret_shape])
        return Return(self.expr(ctx, ctx.ret_shape, depth))

    def s_overflow(self, ctx: Ctx):
        """A value that overflows to inf, then is overwritten before it is read."""
        scalars = [
            n
            for n, v in ctx.env.items()
            if v.shape == () and not v.isint and v.mag <= 10
        ]
        if not scalars:
            return None
        s = self.pick(scalars)
        name = self.fresh_name("big")
        shape = self.pick([(), (3,)])
        text = (
            f"np.exp({s} * 0.01 + 800.0)"
            if shape == ()
            else f"np.exp(np.ones(3) * {s} * 0.01 + 800.0)"
        )
        self.special = "overflow"
        self.feature("overflow_then_overwrite")
        e = self.unaliased(ctx, self.expr(ctx, shape, 2))
        raw = Raw(f"{name} = {text}", [name], self.name_expr(s))
        if self.chance(0.4):
            # overwritten only where it is inf (which it always is)
            test = f"np.isinf({name})" if shape == () else f"np.any(np.isinf({name}))"
            other = self.unaliased(ctx, self.expr(ctx, shape, 1))
            self.feature("isinf_guard")
            return [
                raw,
                If(
                    Cond(test, lambda env: None),
                    [Assign([name], [e])],
                    [Assign([name], [other])],
                ),
            ]
        return [raw, Assign([name], [e])]

    # ---- raise, assert, optional parameters ----

    def rare_cond(self, ctx: Ctx) -> tuple:
        """A condition that holds on a small part of a value's range, and its
        negation (which holds on most of it)."""
        a = self.expr(ctx, (), self.r.randint(0, 1))
        v = a.ev(ctx.env)
        if not v.hi - v.lo > 1e-6 or not active_in(ctx.env, a.src):
            raise Unsafe("a constant")
        if self.chance(0.5):
            c = num(v.lo + (v.hi - v.lo) * self.r.uniform(0.75, 1.0))
            rare, usual = f"{a.src} > {c}", f"{a.src} <= {c}"
        else:
            c = num(v.lo + (v.hi - v.lo) * self.r.uniform(0.0, 0.25))
            rare, usual = f"{a.src} < {c}", f"{a.src} >= {c}"
        check = lambda env: (a.ev(env), None)[1]  # noqa: E731
        return Cond(rare, check), Cond(usual, check)

    def finite_cond(self, ctx: Ctx, truth: bool) -> Cond:
        """np.isnan / np.isinf / np.isfinite of a value (finite, so the condition is
        always `truth`)."""
        names = [
            n for n, v in ctx.env.items() if not v.isint and n not in self.global_names
        ]
        if not names:
            raise Unsafe("no value")
        n = self.pick(names)
        if ctx.env[n].shape == ():
            forms = (
                [f"np.isfinite({n})", f"not np.isnan({n})", f"not np.isinf({n})"]
                if truth
                else [f"np.isnan({n})", f"np.isinf({n})", f"not np.isfinite({n})"]
            )
        else:
            forms = (
                [
                    f"np.all(np.isfinite({n}))",
                    f"np.isfinite({n}).all()",
                    f"not np.any(np.isnan({n}))",
                ]
                if truth
                else [
                    f"np.any(np.isnan({n}))",
                    f"np.isnan({n}).any()",
                    f"np.any(np.isinf({n}))",
                    f"not np.all(np.isfinite({n}))",
                ]
            )
        src = self.pick(forms)
        self.feature("cond_" + re.search(r"is(nan|inf|finite)", src).group(0))
        return Cond(src, lambda env: (lookup(env, n), None)[1])

    def message(self, ctx: Ctx, what: str) -> tuple:
        """The text of an exception's message (an f-string of a value, or plain), and
        the names it reads."""
        names = [
            n for n, v in ctx.env.items() if not v.isint and n not in self.global_names
        ]
        form = self.pick(["fstring", "spec", "plain"], [3, 2, 2])
        if form == "plain" or not names:
            return f'"{what}"', []
        n = self.pick(names)
        self.feature("raise_fstring")
        if form == "spec" and ctx.env[n].shape == ():
            return f'f"{what}: {n} = {{{n}:.3f}}"', [n]
        return f'f"{what}: {{{n}}}"', [n]

    def raise_stmt(self, ctx: Ctx, what: str) -> Raise:
        exc = self.pick(EXCEPTIONS)
        self.raises.add(exc)
        if self.chance(0.12):
            self.feature("raise_bare_class")
            return Raise(f"raise {exc}", [])
        text, reads = self.message(ctx, what)
        return Raise(f"raise {exc}({text})", reads)

    def live_cond(self, ctx: Ctx) -> Cond:
        """A condition that reads a value computed from the arguments (so that it
        is not the same at every point)."""
        for _ in range(3):
            cond = self.cond(ctx, 1)
            if active_in(ctx.env, cond.src):
                return cond
        raise Unsafe("no condition on the arguments")

    def s_raise(self, ctx: Ctx):
        """`if c: raise E(...)` (c usually false, sometimes always false: np.isnan of
        a value), or `if c: ... else: raise E(...)`."""
        form = self.pick(["guard", "rare", "finite", "else"], [2, 3, 1, 1])
        if form == "finite":
            cond = self.finite_cond(ctx, False)
        elif form == "rare":
            cond = self.rare_cond(ctx)[0]
        else:
            cond = self.live_cond(ctx)
        self.feature("raise")
        if ctx.loops:
            self.feature("raise_in_loop")
        if ctx.level:
            self.feature("raise_in_helper")
        if form == "else":
            body = self.block(ctx.child(), self.r.randint(1, 2))
            self.feature("raise_in_else")
            return If(cond, body, [self.raise_stmt(ctx, "out of range")])
        return If(cond, [self.raise_stmt(ctx, "out of range")], [])

    def s_assert(self, ctx: Ctx):
        if self.chance(0.25):
            cond = self.finite_cond(ctx, True)
        else:
            cond = self.rare_cond(ctx)[1] if self.chance(0.7) else self.live_cond(ctx)
        self.raises.add("AssertionError")
        self.feature("assert")
        r = self.r.random()
        if r < 0.3:
            message = ""
        else:
            text, reads = self.message(ctx, "assertion")
            message = f", {text}"
            check = cond.fn
            cond = Cond(
                cond.src,
                lambda env: (check(env), [lookup(env, n) for n in reads], None)[2],
            )
        return Assert(cond, message)

    def s_optional(self, ctx: Ctx):
        """`if b is None: b = ...`, `if b is not None: <uses b>`, and both arms."""
        pending = [n for n in self.optionals if n not in ctx.env]
        if not pending:
            return None
        name = self.pick(pending)
        val = self.optionals[name]
        form = self.pick(["fill", "use", "both"], [3, 3, 2])
        self.feature("is_none")
        if form == "fill":
            e = self.unaliased(ctx, self.expr(ctx, val.shape, self.r.randint(0, 2)))
            before = self.block(ctx.child(), 1) if self.chance(0.2) else []
            self.feature("optional_filled")
            return IfNone(name, val, True, before + [Assign([name], [e])], [])
        given = ctx.child()
        given.env[name] = val
        # first a statement that reads it: `z = z + b`, or a new value of it
        same = [
            n
            for n, v in ctx.env.items()
            if bshape_ok(val.shape, v.shape)
            and not v.isint
            and n not in self.global_names
            and not v.fresh
        ]
        if same and self.chance(0.5):
            n = self.pick(same)
            op = self.pick(["+", "*", "-"])
            read = Assign(
                [n], [self.binop(op, self.name_expr(n), self.name_expr(name))]
            )
        else:
            e = self.around(given, self.name_expr(name), val.shape, 1)
            read = Assign([self.fresh_name("v")], [e])
        given.env = read.run(given.env).fall
        when_given = [read] + self.block(given, self.r.randint(0, 2))
        when_none = (
            self.block(ctx.child(), self.r.randint(1, 2)) if form == "both" else []
        )
        self.feature("optional_used")
        return IfNone(
            name, val, form == "both" and self.chance(0.5), when_none, when_given
        )

    # ---- new loops: over a tuple, `while True` ----

    def item_reduction(self, var: str) -> Expr:
        """A scalar of `var`, whatever its shape (an item of a tuple of values)."""
        form = self.pick(["sumsq", "tanh", "sin", "absmax", "lin", "cos"])
        c = self.pick([0.5, 0.3, -0.7, 1.5])
        text = {
            "sumsq": f"np.mean({var} ** 2)",
            "tanh": f"np.sum(np.tanh({var}))",
            "sin": f"np.mean(np.sin({var})) * {c}",
            "absmax": f"np.max(np.abs({var}))",
            "lin": f"np.sum({var} * {c})",
            "cos": f"float(np.sum(np.cos({var})))",
        }[form]

        def fn(env):
            v = lookup(env, var)
            n = size(v.shape)
            if form == "sumsq":
                lo, hi = i_sq(v.lo, v.hi)
            elif form == "tanh":
                lo, hi = n * math.tanh(v.lo), n * math.tanh(v.hi)
            elif form == "sin":
                lo, hi = -abs(c), abs(c)
            elif form == "absmax":
                lo, hi = i_abs(v.lo, v.hi)
            elif form == "lin":
                lo, hi = i_mul((n * v.lo, n * v.hi), (c, c))
            else:
                lo, hi = -n, n
            return mkval((), lo, hi)

        return Expr(text, fn)

    def tuple_items(self, ctx: Ctx) -> tuple:
        """Two or three values for `for W in (a, b)`: of one shape, or of several;
        and whether their shapes agree."""
        names = [
            n
            for n, v in ctx.env.items()
            if not v.isint and n not in self.global_names and v.mag <= 30.0
        ]
        if not names:
            raise Unsafe("no values")
        k = self.pick([2, 3], [3, 1])
        if self.chance(0.45):
            shape = ctx.env[self.pick_name(ctx.env, names)].shape
            pool = [n for n in names if ctx.env[n].shape == shape]
            items = [self.name_expr(self.pick(pool)) for _ in range(k)]
            if self.chance(0.3):
                items[-1] = self.expr(ctx, shape, 1)
        else:
            items = [self.name_expr(self.pick_name(ctx.env, names)) for _ in range(k)]
        items = [self.unaliased(ctx, e) for e in items]
        vals = [e.ev(ctx.env) for e in items]
        same = len({v.shape for v in vals}) == 1
        return items, vals, same

    def s_tuple_loop(self, ctx: Ctx):
        items, vals, same = self.tuple_items(ctx)
        var = self.fresh_name("W")
        saved = self.budget
        feats = set(self.features)
        for attempt in range(4):
            self.budget = saved
            self.features = set(feats)  # a body dropped counts for none
            body_ctx = ctx.child(kind="tuple")
            pre = []
            if same:
                w = vals[0]
                for v in vals[1:]:
                    w = hull(w, v)
                body_ctx.env[var] = Val(w.shape, w.lo, w.hi, False, False, w.active)
            if not same or self.chance(0.4):
                t = self.fresh_name("v")
                red = self.item_reduction(var)
                bound = None
                for v in vals:
                    r = red.ev({var: v})
                    bound = r if bound is None else hull(bound, r)
                body_ctx.env[t] = Val((), bound.lo, bound.hi, active=True)
                pre = [Assign([t], [red])]
            body = pre + self.block(body_ctx, self.r.randint(1, 3))
            loop = TupleLoop(var, items, body)
            try:
                loop.run(ctx.env)
            except Unsafe:
                continue
            self.feature("tuple_loop")
            if not same:
                self.feature("tuple_loop_mixed_shapes")
            if ctx.loops:
                self.feature("nested_loop")
            return loop
        raise Unsafe("tuple loop body unsafe")

    def s_while_true(self, ctx: Ctx):
        """`while True:` left by a `return` (or a `break`) when a counter reaches its
        bound or a condition holds: the exit first in the body, or last (then no
        `continue` of the body may skip it)."""
        counter = self.fresh_name("k")
        bound = self.r.randint(1, 4)
        top = self.chance(0.5)
        var_val = Val((), 0.0, float(bound + top), True)
        saved = self.budget
        feats = set(self.features)
        for attempt in range(4):
            self.budget = saved
            self.features = set(feats)  # a body dropped counts for none
            body_ctx = ctx.child(kind="while_true", no_continue=not top)
            body_ctx.env[counter] = var_val
            test = f"{counter} > {bound}" if top else f"{counter} >= {bound}"
            if self.chance(0.6):
                c = self.cond(body_ctx, 0)
                test = (
                    f"{test} or {c.src}" if self.chance(0.5) else f"{c.src} or {test}"
                )
                check = c.fn
            else:
                check = lambda env: None  # noqa: E731
            exit_cond = Cond(test, check)
            use_return = self.chance(0.65)

            def leave(env_ctx):
                if use_return:
                    return self.return_stmt(env_ctx, self.r.randint(0, 2))
                return Jump("break")

            exits = True
            if top:
                body = [If(exit_cond, [leave(body_ctx)], [])]
                body += self.block(body_ctx, self.r.randint(1, 3))
            else:
                start = dict(body_ctx.env)
                body = self.block(body_ctx, self.r.randint(1, 3))
                env = run_block(body, start).fall
                exits = env is not None  # else the body leaves on every path
                if exits:
                    end_ctx = body_ctx.child(env=env)
                    body.append(If(exit_cond, [leave(end_ctx)], []))
            init = Assign([counter], [Expr("0", lambda env: Val((), 0.0, 0.0, True))])
            loop = Loop(
                "True",
                counter,
                var_val,
                bound + top,
                body,
                counter=counter,
                forever=True,
            )
            try:
                run_block([init, loop], ctx.env)
            except Unsafe:
                continue
            self.feature("while_true")
            if exits:
                self.feature("while_true_" + ("return" if use_return else "break"))
            if ctx.loops:
                self.feature("nested_loop")
            return [init, loop]
        raise Unsafe("while True body unsafe")

    # ---- filling arrays, tuples from helpers ----

    def item_forms(self, ctx: Ctx, shape: tuple) -> tuple:
        """An index into an array of `shape` (basic: ints, slices, loop indices) and
        the shape of the part it selects."""
        forms = []
        var = self.index_var(ctx, shape[0])
        if var:
            forms += [(f"{var}", shape[1:])] * 3
            if len(shape) == 2:
                var2 = self.index_var(ctx, shape[1])
                if var2:
                    forms.append((f"{var}, {var2}", ()))
        c = self.r.randint(-shape[0], shape[0] - 1)
        forms.append((str(c), shape[1:]))
        if len(shape) == 1:
            forms += [
                ("1:", (shape[0] - 1,)),
                ("::2", ((shape[0] + 1) // 2,)),
                (":2", (2,)),
                ("1:3", (min(shape[0], 3) - 1,)),
                (":", shape),
            ]
            var2 = self.index_var(ctx, shape[0], 2)
            if var2:
                forms += [(f"{var2}:{var2} + 2", (2,))] * 2
        else:
            j = self.r.randint(-shape[1], shape[1] - 1)
            forms += [
                (f":, {j}", (shape[0],)),
                (f"{c}, {j}", ()),
                ("1:", (shape[0] - 1, shape[1])),
                (f"{c}, 1:", (shape[1] - 1,)),
            ]
        index, region = self.pick(forms)
        if region not in SHAPES:
            region = ()
            index = str(c) if len(shape) == 1 else f"{c}, 0"
        return index, region

    def s_setitem(self, ctx: Ctx):
        """`y[index] = value` on an array the function made (`y = x * 2.0`)."""
        arrays = [
            n for n, v in ctx.env.items() if v.fresh and v.shape != () and not v.isint
        ]
        if not arrays:
            return None
        n = self.pick(arrays)
        shape = ctx.env[n].shape
        index, region = self.item_forms(ctx, shape)
        if region == () and self.chance(0.25):
            e = self.const_expr(self.r.uniform(-3.0, 3.0))
        else:
            sub = self.pick(
                [
                    s
                    for s in SHAPES
                    if bshape_ok(s, region) and bshape(s, region) == region
                ]
            )
            e = self.expr(ctx, sub, self.r.randint(0, 2))
        self.feature("setitem")
        if ":" in index:
            self.feature("setitem_slice")
        if any(ctx.env.get(m, Val((), 0, 0)).isint for m in _IDENT.findall(index)):
            self.feature("setitem_loop_index")
        if ctx.loops:
            self.feature("setitem_in_loop")

        def check(env, index=index):
            for name in _IDENT.findall(index):
                lookup(env, name)

        return ItemSet(n, index, e, check, region)

    def around(self, ctx: Ctx, base: Expr, shape: tuple, depth: int) -> Expr:
        """An expression of `shape` that reads `base`: `u(base)` or `u(base) op e`."""
        names = list(UNARY)
        name = self.pick(names, [UNARY_WEIGHTS[n] for n in names])
        npname, _, rule, _ = UNARY[name]
        a = self.in_domain(ctx, name, base)
        u = Expr(
            f"{npname}({a.src})",
            lambda env: (lambda v: mkval(v.shape, *rule(v.lo, v.hi)))(a.ev(env)),
        )
        if u.ev(ctx.env).shape == shape and self.chance(0.4):
            return u
        e = self.expr(ctx, shape, depth)
        return self.binop(self.pick(["+", "*", "-"], [2, 2, 1]), u, e)

    def s_fill(self, ctx: Ctx):
        """`out = np.zeros(n)`, then a loop `out[i] = g(x[i])` (or a recurrence
        `out[i] = a * out[i - 1] + ...`, or a double loop `out[i, j] = ...`)."""
        two_d = self.chance(0.3)
        shape = self.pick([(2, 3), (3, 3)]) if two_d else (self.pick([2, 3]),)
        n = shape[0]
        name = self.fresh_name("out")
        vals = {m: v for m, v in ctx.env.items() if not v.isint}
        firsts = [m for m, v in vals.items() if len(v.shape) >= 1 and v.shape[0] == n]
        same = [m for m, v in vals.items() if v.shape == shape]
        allocs = [(f"np.zeros({fmt_shape(shape)})", 0.0)] * 2
        if firsts and not two_d:
            m = self.pick(firsts)
            allocs += [(f"np.zeros(len({m}))", 0.0), (f"np.zeros({m}.shape[0])", 0.0)]
        if same:
            allocs.append((f"np.zeros_like({self.pick(same)})", 0.0))
        allocs.append((f"np.ones({fmt_shape(shape)})", 1.0))
        text, c = self.pick(allocs)
        reads = [m for m in _IDENT.findall(text) if m in ctx.env]

        def alloc_fn(env, c=c):
            for m in reads:
                lookup(env, m)
            return mkval(shape, c, c)

        alloc = Assign([name], [Expr(text, alloc_fn)], acc=True)
        stmts = [alloc]
        env = alloc.run(ctx.env).fall
        recur = not two_d and self.chance(0.4)
        start = 0
        if recur:
            e0 = self.expr(
                Ctx(env, ctx.ret_shape, ctx.loops, ctx.depth, ctx.level), (), 1
            )
            first = ItemSet(name, "0", e0, lambda env: None, ())
            stmts.append(first)
            env = first.run(env).fall
            start = 1
        i = self.fresh_name("i")
        header = self.pick(
            [f"range({start}, {n})" if start else f"range({n})"]
            + [f"range({start}, len({name}))" if start else f"range(len({name}))"]
            + ([f"range({self.pick(firsts)}.shape[0])"] if firsts and not start else [])
        )
        i_val = Val((), float(start), float(n - 1), True)
        body_ctx = Ctx(
            dict(env),
            ctx.ret_shape,
            ctx.loops + 1,
            ctx.depth + 1,
            ctx.level,
            ctx.kinds + ("range",),
        )
        body_ctx.env[i] = i_val
        inner = None
        if two_d and self.chance(0.4):
            j = self.fresh_name("i")
            j_val = Val((), 0.0, float(shape[1] - 1), True)
            inner_ctx = body_ctx.child(kind="range")
            inner_ctx.env[j] = j_val
            index, item_shape, at_ctx = f"{i}, {j}", (), inner_ctx
            inner = (j, j_val)
            self.feature("fill_double_loop")
        else:
            index, item_shape, at_ctx = i, shape[1:], body_ctx
        if recur:
            a = self.pick([0.5, 0.9, -0.5, 0.7])
            b = self.pick([0.3, 0.5, 1.0])
            e = self.expr(at_ctx, (), self.r.randint(1, 2))

            def rec_fn(env, a=a, b=b, e=e):
                prev = lookup(env, name)
                e.ev(env)
                lo, hi = i_mul((a, a), (prev.lo, prev.hi))
                return mkval((), lo - b, hi + b)

            value = Expr(f"{a} * {name}[{i} - 1] + {b} * np.tanh({e.src})", rec_fn)
            self.feature("fill_recurrence")
        else:

            def fits(v):
                if inner:
                    return v.shape == shape
                return v.shape[:1] == (n,) and v.shape[1:] == item_shape

            srcs = [
                m
                for m, v in at_ctx.env.items()
                if not v.isint and m != name and m not in self.global_names and fits(v)
            ]
            if srcs and self.chance(0.8):
                m = self.pick(srcs)

                def item_fn(env, m=m):
                    w = lookup(env, m)
                    return Val(item_shape, w.lo, w.hi, False, False, w.active)

                base = Expr(f"{m}[{index}]", item_fn, "view", [m])
                value = self.around(at_ctx, base, item_shape, 1)
                self.feature("fill_from_items")
            else:
                value = self.expr(at_ctx, item_shape, self.r.randint(1, 2))

        def check(env, index=index):
            for m in _IDENT.findall(index):
                lookup(env, m)

        body = [ItemSet(name, index, value, check, item_shape)]
        if self.chance(0.3):
            after = at_ctx.child(env=body[0].run(at_ctx.env).fall)
            body += self.block(after, 1)
        if inner:
            j, j_val = inner
            body = [Loop(f"range({shape[1]})", j, j_val, shape[1], body)]
        loop = Loop(header, i, i_val, n - start, body, keep=self.chance(0.2))
        stmts.append(loop)
        self.feature("fill_loop")
        if two_d:
            self.feature("fill_2d")
        return stmts

    def s_pair(self, ctx: Ctx):
        """`pair = h(x)` then `pair[0]`, `pair[1]` read; or `a, b = h(x)`."""
        if ctx.level >= 2:
            return None
        shapes = Multi([self.target_shape(), self.target_shape()])
        c = self.call(ctx, shapes, self.r.randint(1, 2))
        if self.chance(0.35) or ctx.depth:
            # (s2s refuses a name holding a tuple in a branch or a loop)
            self.feature("helper_tuple_unpack")
            return Unpack([self.fresh_name("v"), self.fresh_name("v")], c)
        rets = c.ev(ctx.env)
        pair = self.fresh_name("pair")
        out = [Bind(pair, c)]
        ks = self.pick([[0], [1], [0, 1], [1, 0]])
        for k in ks:
            idx = self.pick([k, k - 2], [3, 1])

            def fn(env, v=rets[k]):
                return Val(v.shape, v.lo, v.hi, False, False, True)

            item = Expr(f"{pair}[{idx}]", fn, "alias", c.roots)
            value = self.around(ctx, item, rets[k].shape, 1)
            out.append(Assign([self.fresh_name("v")], [value]))
        self.feature("helper_tuple_bound")
        return out

    # ---- comprehensions and generators ----

    def comp_var(self, ctx: Ctx, prefix: str) -> str:
        """A name for a comprehension's variable; sometimes one the function already
        uses (the comprehension has its own scope, so the outer value is kept)."""
        taken = [
            n
            for n, v in ctx.env.items()
            if n not in self.global_names and n not in self.param_names
        ]
        if taken and self.chance(0.08):
            self.feature("comprehension_shadows_name")
            return self.pick(taken)
        return self.fresh_name(prefix)

    def b_comp(self, ctx: Ctx, shape: tuple, depth: int) -> Expr:
        forms = [(3, "sum_range")]
        arrays = [
            n
            for n, v in ctx.env.items()
            if len(v.shape) >= 1 and not v.isint and v.mag <= SOFT / 4
        ]
        if arrays:
            forms.append((3, "sum_over_array"))
        if shape == ():
            forms += [
                (2, "sum_over_tuple"),
                (2, "max_over"),
                (1, "sum_list"),
                (1, "sum_enumerate"),
            ]
        if shape in ((2,), (3,)):
            forms.append((2, "stack_range"))
        if len(shape) == 2 and shape[0] in (2, 3):
            forms.append((2, "nested_array"))
            if (shape[1],) in SHAPES:
                forms.append((1, "stack_rows"))
        form = self.pick([f for _, f in forms], [w for w, _ in forms])
        self.feature("comp_" + form)
        sub = lambda env: Ctx(
            env, ctx.ret_shape, ctx.loops, ctx.depth, ctx.level
        )  # noqa: E731

        def ranged():
            n = self.r.randint(1, 4)
            a = 0 if self.chance(0.7) else self.r.randint(0, 1)
            b = a + n
            return (f"range({n})" if a == 0 else f"range({a}, {b})"), a, b - 1, n

        if form == "sum_range":
            var = self.comp_var(ctx, "i")
            header, lo, hi, n = ranged()
            var_val = Val((), float(lo), float(hi), True)
            inner_env = dict(ctx.env)
            inner_env[var] = var_val
            e = self.expr(sub(inner_env), shape, max(depth - 1, 0))
            filt = ""
            fcond = None
            if shape == () and self.chance(0.4):
                if self.chance(0.6):
                    c = self.r.randint(lo, hi)
                    filt = " if " + self.pick(
                        [
                            f"{var} != {c}",
                            f"{var} % 2 == 0",
                            f"{var} > {c}",
                            f"{var} <= {c}",
                        ]
                    )
                else:
                    fcond = self.cond(sub(inner_env), 0)
                    filt = f" if {fcond.src}"
                self.feature("comp_filtered")

            def fn(env):
                inner = dict(env)
                inner[var] = var_val
                if fcond is not None:
                    fcond.ev(inner)
                v = e.ev(inner)
                if filt:
                    return mkval(v.shape, n * min(v.lo, 0.0), n * max(v.hi, 0.0))
                return mkval(v.shape, n * v.lo, n * v.hi)

            return Expr(f"sum({e.src} for {var} in {header}{filt})", fn)
        if form == "sum_over_array":
            m = self.pick(arrays)
            s = ctx.env[m].shape
            over = m
            if len(s) == 2 and self.chance(0.25):
                over, s = f"np.ravel({m})", (size(s),)
                self.feature("comp_over_ravel")
            var = self.comp_var(ctx, "v")
            item = s[1:]
            if bshape(item, shape) != shape:
                raise Unsafe("items do not broadcast to the shape")
            inner_env = dict(ctx.env)
            w = ctx.env[m]
            inner_env[var] = Val(item, w.lo, w.hi, False, False, w.active)
            if self.chance(0.6):
                e = self.around(
                    sub(inner_env), self.name_expr(var), shape, max(depth - 1, 0)
                )
            else:
                e = self.expr(sub(inner_env), shape, max(depth - 1, 0))
            n = s[0]

            def fn(env):
                w = lookup(env, m)
                inner = dict(env)
                inner[var] = Val(item, w.lo, w.hi, False, False, w.active)
                v = e.ev(inner)
                return mkval(v.shape, n * v.lo, n * v.hi)

            return Expr(f"sum({e.src} for {var} in {over})", fn)
        if form == "sum_over_tuple":
            items, vals, same = self.tuple_items(ctx)
            var = self.comp_var(ctx, "W")
            red = self.item_reduction(var)
            tup = ", ".join(e.src for e in items)

            def fn(env):
                lo = hi = 0.0
                for e in items:
                    inner = dict(env)
                    inner[var] = e.ev(env)
                    r = red.ev(inner)
                    lo, hi = lo + r.lo, hi + r.hi
                return mkval((), lo, hi)

            if not same:
                self.feature("comp_over_mixed_shapes")
            return Expr(f"sum({red.src} for {var} in ({tup}))", fn)
        if form == "max_over":
            which = self.pick(["max", "min"])
            var = self.comp_var(ctx, "v")
            if self.chance(0.5):
                items = [self.expr(ctx, (), 0) for _ in range(self.r.randint(2, 3))]
                header = f"({', '.join(e.src for e in items)})"
                item_val = lambda env: [e.ev(env) for e in items]  # noqa: E731
            else:
                h, lo, hi, n = ranged()
                header = h
                item_val = lambda env, lo=lo, hi=hi: [
                    Val((), float(lo), float(hi), True)
                ]  # noqa: E731
            vs = item_val(ctx.env)
            w = vs[0]
            for v in vs[1:]:
                w = hull(w, v)
            inner_env = dict(ctx.env)
            inner_env[var] = Val((), w.lo, w.hi, w.isint, False, w.active)
            e = self.expr(sub(inner_env), (), max(depth - 1, 0))

            def fn(env):
                vs = item_val(env)
                w = vs[0]
                for v in vs[1:]:
                    w = hull(w, v)
                inner = dict(env)
                inner[var] = Val((), w.lo, w.hi, w.isint, False, w.active)
                v = e.ev(inner)
                return mkval((), v.lo, v.hi)

            gen = f"{e.src} for {var} in {header}"
            return Expr(
                f"{which}([{gen}])" if self.chance(0.3) else f"{which}({gen})", fn
            )
        if form == "sum_list":
            parts = [
                self.expr(ctx, (), max(depth - 1, 0))
                for _ in range(self.r.randint(2, 3))
            ]

            def fn(env):
                vs = [p.ev(env) for p in parts]
                return mkval((), sum(v.lo for v in vs), sum(v.hi for v in vs))

            return Expr(f"sum([{', '.join(p.src for p in parts)}])", fn)
        if form == "sum_enumerate":
            consts = [
                num(self.r.uniform(-1.5, 1.5)) for _ in range(self.r.randint(2, 3))
            ]
            cvals = [float(c) for c in consts]
            k = self.comp_var(ctx, "i")
            cv = self.fresh_name("c")
            inner_env = dict(ctx.env)
            inner_env[k] = Val((), 0.0, float(len(consts) - 1), True)
            inner_env[cv] = Val((), min(cvals), max(cvals))
            e = self.expr(sub(inner_env), (), max(depth - 1, 0))
            n = len(consts)
            if self.chance(0.5):
                gen = f"{e.src} for {k}, {cv} in enumerate(({', '.join(consts)}))"
            else:
                gen = f"{e.src} for {cv}, {k} in zip(({', '.join(consts)}), range({n}))"

            def fn(env):
                inner = dict(env)
                inner[k] = Val((), 0.0, float(n - 1), True)
                inner[cv] = Val((), min(cvals), max(cvals))
                v = e.ev(inner)
                return mkval((), n * v.lo, n * v.hi)

            return Expr(f"sum({gen})", fn)
        if form == "stack_range":
            m = shape[0]
            var = self.comp_var(ctx, "i")
            var_val = Val((), 0.0, float(m - 1), True)
            inner_env = dict(ctx.env)
            inner_env[var] = var_val
            e = self.expr(sub(inner_env), (), max(depth - 1, 0))
            spelling = self.pick(["np.stack", "np.array"])

            def fn(env):
                inner = dict(env)
                inner[var] = var_val
                v = e.ev(inner)
                need(v.shape == ())
                return mkval(shape, v.lo, v.hi)

            return Expr(f"{spelling}([{e.src} for {var} in range({m})])", fn)
        if form == "stack_rows":
            r, c = shape
            var = self.comp_var(ctx, "i")
            var_val = Val((), 0.0, float(r - 1), True)
            inner_env = dict(ctx.env)
            inner_env[var] = var_val
            e = self.expr(sub(inner_env), (c,), max(depth - 1, 0))
            spelling = self.pick(["np.stack", "np.array"])

            def fn(env):
                inner = dict(env)
                inner[var] = var_val
                v = e.ev(inner)
                need(v.shape == (c,))
                return mkval(shape, v.lo, v.hi)

            return Expr(f"{spelling}([{e.src} for {var} in range({r})])", fn)
        # nested: np.array([[e for j in range(c)] for i in range(r)])
        r, c = shape
        i, j = self.comp_var(ctx, "i"), self.fresh_name("i")
        i_val = Val((), 0.0, float(r - 1), True)
        j_val = Val((), 0.0, float(c - 1), True)
        inner_env = dict(ctx.env)
        inner_env[i], inner_env[j] = i_val, j_val
        e = self.expr(sub(inner_env), (), max(depth - 1, 0))

        def fn(env):
            inner = dict(env)
            inner[i], inner[j] = i_val, j_val
            v = e.ev(inner)
            need(v.shape == ())
            return mkval(shape, v.lo, v.hi)

        return Expr(
            f"np.array([[{e.src} for {j} in range({c})] for {i} in range({r})])", fn
        )

    # ---- the program ----

    def optional_params(self, r: random.Random) -> None:
        """Sometimes an optional parameter `b=None` (positional or keyword-only) and
        keyword-only floats with a default (`*, scale=0.5`), each passed or left out
        of the call."""

        def shape():
            return () if self.o.scalar_only else r.choice(PARAM_SHAPES)

        if r.random() < 0.15:
            lo, hi = r.choice(PARAM_RANGES)
            sh = shape()
            p = Param(
                "b",
                sh,
                lo,
                hi,
                "float" if sh == () else "array",
                default="None",
                kwonly=r.random() < 0.35,
                passed=r.random() < 0.55,
            )
            self.feature("optional_param")
            self.feature("optional_param_" + ("passed" if p.passed else "left_out"))
            if p.kwonly:
                self.feature("optional_param_kwonly")
            self.params.append(p)
        if r.random() < 0.12:
            for name in ["scale", "shift"][: r.choice([1, 1, 2])]:
                lo, hi = r.choice(PARAM_RANGES)
                required = r.random() < 0.2
                p = Param(
                    name,
                    (),
                    lo,
                    hi,
                    "float",
                    default=None if required else num(r.uniform(lo, hi)),
                    kwonly=True,
                    passed=required or r.random() < 0.6,
                )
                self.feature("kwonly_param")
                if required:
                    self.feature("kwonly_required")
                elif not p.passed:
                    self.feature("kwonly_default_used")
                self.params.append(p)
        # positional parameters with a default come last among the positional ones
        pos = [p for p in self.params if not p.kwonly]
        pos.sort(key=lambda p: p.default is not None)
        self.params = pos + [p for p in self.params if p.kwonly]
        # s2s refuses a keyword-only parameter without a default after one with a
        # default (Python allows it): give it one (it is passed all the same)
        for k, p in enumerate(self.params):
            if p.kwonly and p.default is None:
                if any(q.default is not None for q in self.params[:k]):
                    p.default = num((p.lo + p.hi) / 2)

    def final_expr(self, ctx: Ctx) -> Expr:
        names = [
            n for n, v in ctx.env.items() if not v.isint and n not in self.global_names
        ]
        self.r.shuffle(names)
        names.sort(
            key=lambda n: not ctx.env[n].active
        )  # values of the parameters first
        terms = []
        feats = set(self.features)
        for n in names[: self.r.randint(1, 3)]:
            v = ctx.env[n]
            if v.shape == ():
                terms.append(self.name_expr(n))
            else:
                how = self.pick(["np.sum", "np.mean", ".sum()", "np.max"], [4, 2, 1, 1])
                src = f"{n}{how}" if how.startswith(".") else f"{how}({n})"
                k = size(v.shape) if "sum" in how else 1
                terms.append(
                    Expr(
                        src,
                        lambda env, n=n, k=k: (lambda w: mkval((), k * w.lo, k * w.hi))(
                            lookup(env, n)
                        ),
                    )
                )
        if self.chance(0.4) or not terms:
            terms.append(self.expr(ctx, (), 2))
        out = terms[0]
        for t in terms[1:]:
            out = self.binop(self.pick(["+", "-", "*"], [4, 2, 1]), out, t)
        try:
            v = out.ev(ctx.env)
            if v.mag > SOFT:
                out = self.scaled(out, v)
        except Unsafe:
            self.features = feats  # (terms[0] is a name, or an expression of names)
            out = Expr(f"np.tanh({terms[0].src})", lambda env: mkval((), -1, 1))
        return out

    def program(self) -> Program:
        o = self.o
        r = self.r
        nparams = r.choice([1, 2, 2, 3, 3])
        self.params = []
        for k in range(nparams):
            shape = () if o.scalar_only else r.choice(PARAM_SHAPES)
            lo, hi = r.choice(PARAM_RANGES)
            self.params.append(
                Param(
                    PARAM_NAMES[k], shape, lo, hi, "float" if shape == () else "array"
                )
            )
        if r.random() < 0.12:
            n = r.randint(2, 4)
            self.params.append(Param("n", (), n, n, "int"))
            self.feature("int_param")
        if self.params[-1].kind == "float" and r.random() < 0.1:
            # a default (the argument is still passed)
            self.params[-1].default = num(r.uniform(-1, 1))
            self.feature("default_parameter")
        self.optional_params(r)
        self.param_names = {p.name for p in self.params}
        self.consts = []
        self.consts_kind = []
        for k in range(r.randint(0, 2)):
            self.consts.append((f"C{k}", num(r.uniform(-1.5, 1.5))))
            self.consts_kind.append(("float", f"C{k}"))
        if r.random() < 0.2:
            self.consts.append(("K", str(r.randint(2, 4))))
            self.consts_kind.append(("int", "K"))
        const_lines = [f"{n} = {t}" for n, t in self.consts]
        if r.random() < 0.2:
            # a constant written as a constant expression (inlined by s2s)
            floats = [n for n, t in self.consts if "." in t]
            text = r.choice(
                ["np.pi / 4", "math.sqrt(2.0)", "math.e / 3", "2 ** -1.5"]
                + ([f"{floats[0]} * 2.0 - 0.5", f"-{floats[0]}"] if floats else [])
            )
            value = eval(
                text, {"np": np, "math": math, **{n: float(t) for n, t in self.consts}}
            )
            self.consts.append((f"C{len(self.consts)}", repr(float(value))))
            self.consts_kind.append(("float", self.consts[-1][0]))
            const_lines.append(f"{self.consts[-1][0]} = {text}")
            self.feature("module_constant_expression")
        self.global_names = {n for n, _ in self.consts}
        env: Env = {}
        for p in self.params:
            if p.kind == "int":
                env[p.name] = Val((), p.lo, p.hi, True)
            elif p.default == "None":
                self.optionals[p.name] = Val(
                    p.shape, p.lo - MARGIN, p.hi + MARGIN, active=True
                )
            else:
                env[p.name] = Val(p.shape, p.lo - MARGIN, p.hi + MARGIN, active=True)
        for n, t in self.consts:
            env[n] = Val((), float(t), float(t), "." not in t)
        env0 = dict(env)
        self.budget = r.randint(3, o.max_stmts)
        ctx = Ctx(env, ())
        body = self.block(ctx, r.randint(2, 6))
        flow = run_block(body, dict(env0))
        if flow.fall is not None:
            body.append(Return(self.final_expr(Ctx(flow.fall, ()))))
        flow = run_block(body, dict(env0))
        for v in flow.ret:
            need(v.shape == (), "f returns a non-scalar")
        lines = ["import math", "import numpy as np", ""]
        lines += const_lines
        for h in self.helpers:
            lines += ["", ""] + h.lines()
        names = [
            p.name if p.default is None else f"{p.name}={p.default}"
            for p in self.params
            if not p.kwonly
        ]
        kwonly = [
            p.name if p.default is None else f"{p.name}={p.default}"
            for p in self.params
            if p.kwonly
        ]
        sig = ", ".join(names + (["*"] + kwonly if kwonly else []))
        lines += ["", "", f"def f({sig}):"] + block_lines(body, "    ")
        text = "\n".join(lines) + "\n"
        source = ast.unparse(ast.parse(text)) + "\n"
        if r.random() < 0.08:
            source = re.sub(r"\bnp\.", "xp.", source).replace(
                "import numpy as np", "import numpy as xp"
            )
            self.feature("numpy_alias")
        if r.random() < 0.08:
            source = re.sub(r"\bmath\.", "mt.", source).replace(
                "import math", "import math as mt"
            )
            self.feature("math_alias")
        passed = [p for p in self.params if p.passed]
        wrt = tuple(k for k, p in enumerate(passed) if p.kind != "int")
        return Program(
            source=source,
            name="f",
            params=self.params,
            args=draw_args(self.params, r),
            wrt=wrt,
            features=set(self.features),
            special=self.special,
        )


def bshape_ok(a: tuple, target: tuple) -> bool:
    try:
        return tuple(np.broadcast_shapes(a, target)) == tuple(target)
    except ValueError:
        return False


def generate(rng: random.Random, options: Optional[Options] = None) -> Program:
    """A random program (retrying the rare draw whose bounds cannot be kept)."""
    for _ in range(20):
        try:
            return Generator(rng, options).program()
        except Unsafe:
            continue
    raise RuntimeError("could not generate a program")
