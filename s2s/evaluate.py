"""Run SSA statements on concrete values, recording the value each SSA value took.

Pictures of the computation graph (:mod:`s2s.draw`) show every node's value and its
adjoint, but the generated module cannot show them: the optimizer folds temporaries
into expressions and names share variables.  So the statements are run here, one op
at a time.  Each op is evaluated by compiling the very Python expression that
:mod:`s2s.emit` writes for it, so an op means here exactly what it means in generated
code, with no second table of operations to keep in step.

A value defined inside a loop takes one value per iteration; the :class:`Trace` keeps
the first and the last, how many iterations each run of a loop made, and which way
each branch went.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import math
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import runtime
from .emit.spelling import op_expression, spell
from .errors import InternalError, S2SError
from .ir import Const, If, Loop, Op, Operand, Stmt, Var, walk
from .primitives import PRIMITIVES

_GLOBALS: dict[str, Any] = {
    "__builtins__": builtins,
    "np": np,
    "math": math,
    **{
        name: getattr(runtime, name)
        for name in dir(runtime)
        if name.startswith("_") and callable(getattr(runtime, name))
    },
}


class EvaluationError(S2SError):
    """The function fails at the given inputs (a shape mismatch, a bad index...)."""


@dataclass
class Trace:
    """What running some statements did.

    `first` and `last` hold each value's first and last value (they differ only for
    values made inside loops); `trips[loop]` lists the iterations of each run of the
    loop; `taken[region]` lists, for each time the `if` ran, whether it took `then`.
    """

    first: dict[Var, Any] = field(default_factory=dict)
    last: dict[Var, Any] = field(default_factory=dict)
    trips: dict[Loop, list[int]] = field(default_factory=dict)
    taken: dict[If, list[bool]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Compiled:
    code: Any
    operands: tuple[Var, ...]
    names: dict[str, Any]  # the globals the expression reads


def _globals(op: Op) -> dict[str, Any]:
    """What the expression of `op` reads: numpy, math and s2s's helpers, and for a
    function with a custom rule the package its module path starts with, as the
    generated module's `import scipy.special` binds `scipy`."""
    path = PRIMITIVES[op.prim].python if op.prim in PRIMITIVES else None
    if not path or "." not in path:
        return _GLOBALS
    module = path.rsplit(".", 1)[0]
    importlib.import_module(module)  # registered from it, so already imported
    top = module.split(".")[0]
    return {**_GLOBALS, top: sys.modules[top]}


def _compile(op: Op) -> _Compiled:
    operands = tuple(dict.fromkeys(a for a in op.args if isinstance(a, Var)))
    slot = {v: f"_{k}" for k, v in enumerate(operands)}
    tree = ast.Expression(op_expression(op, slot.__getitem__))
    for node in ast.walk(tree):
        # astor unparses a node without a context, compile needs one: all are loads.
        if "ctx" in node._fields and getattr(node, "ctx", None) is None:
            node.ctx = ast.Load()
    ast.fix_missing_locations(tree)
    code = compile(tree, f"<s2s op {op.prim}>", "eval")
    return _Compiled(code, operands, _globals(op))


class _Runner:
    def __init__(self, env: dict[Var, Any]):
        self.trace = Trace()
        self.env: dict[Var, Any] = {}
        self.compiled: dict[Op, _Compiled] = {}
        for v, value in env.items():
            self.set(v, value)

    def set(self, v: Var, value: Any) -> None:
        self.env[v] = value
        self.trace.first.setdefault(v, value)
        self.trace.last[v] = value

    def read(self, x: Operand) -> Any:
        if isinstance(x, Const):
            return x.value
        try:
            return self.env[x]
        except KeyError:
            raise InternalError(f"{x.name} is read before it has a value") from None

    def block(self, stmts: list[Stmt]) -> None:
        for s in stmts:
            if isinstance(s, Op):
                self.op(s)
            elif isinstance(s, If):
                self.branch(s)
            else:
                self.loop(s)

    def op(self, op: Op) -> None:
        if op.prim == "section":
            return
        compiled = self.compiled.get(op)
        if compiled is None:
            compiled = self.compiled[op] = _compile(op)
        slots = {f"_{k}": self.read(v) for k, v in enumerate(compiled.operands)}
        try:
            value = eval(compiled.code, compiled.names, slots)
        except Exception as e:
            raise EvaluationError(
                f"{spell(op, lambda v: v.name)} fails at the given inputs: "
                f"{type(e).__name__}: {e}",
                op.loc,
                hint="Check the shapes and values of the inputs you gave.",
            ) from None
        if isinstance(value, BaseException) and PRIMITIVES[op.prim].effect == "raise":
            raise EvaluationError(
                f"the function raises {type(value).__name__}: {value}",
                op.loc,
                hint="Give inputs the function accepts.",
            )
        if len(op.defines) > 1:
            for v, part in zip(op.defines, value):
                self.set(v, part)
        else:
            self.set(op.defines[0], value)

    def assign(
        self, targets: list[Var], sources: list[Operand | None], record: bool = True
    ) -> None:
        """Parallel assignment (phis): read every source before writing any target."""
        values = [(t, self.read(s)) for t, s in zip(targets, sources) if s is not None]
        for target, value in values:
            if record:
                self.set(target, value)
            else:
                self.env[target] = value

    def _recorded(self, stmts: list[Stmt]) -> dict[Var, Any]:
        return {v: self.trace.last[v] for v in _defined(stmts) if v in self.trace.last}

    def _restore(self, stmts: list[Stmt], saved: dict[Var, Any]) -> None:
        """Forget the values `stmts` just recorded, going back to those `saved`."""
        for v in _defined(stmts):
            self.trace.last.pop(v, None)
        self.trace.last.update(saved)

    def branch(self, s: If) -> None:
        then = bool(self.read(s.cond))
        self.trace.taken.setdefault(s, []).append(then)
        self.block(s.then if then else s.orelse)
        self.assign(s.outs, s.then_vals if then else s.else_vals)

    def loop(self, s: Loop) -> None:
        self.assign(s.carried, s.inits, record=False)
        trips = 0
        indices = iter(self.read(s.iterable)) if s.iterable is not None else None
        while True:
            if indices is not None:
                index = next(indices, _DONE)
                if index is _DONE:
                    break
                if s.index is not None:
                    self.set(s.index, index)
            else:
                before = self._recorded(s.header)
                self.block(s.header)
                if not self.read(s.cond):
                    if trips:  # keep the header's values from the last iteration
                        self._restore(s.header, before)
                    break
            # A carried value is recorded as it is when the body starts, so that it
            # reads together with the values that iteration makes.
            for c in s.carried:
                if c in self.env:
                    self.set(c, self.env[c])
            self.block(s.body)
            trips += 1
            self.assign(s.carried, s.nexts, record=False)
            if s.stop is not None and self.read(s.stop):
                break
        self.trace.trips.setdefault(s, []).append(trips)
        done = [c for c in s.carried if c in self.env]
        self.assign([s.outs[s.carried.index(c)] for c in done], done)


_DONE = object()


def _defined(stmts: list[Stmt]) -> list[Var]:
    return [v for s in walk(stmts) for v in s.defines]


def run(stmts: list[Stmt], env: dict[Var, Any]) -> Trace:
    """Run `stmts` with the values `env` bound (parameters); numpy warnings about
    overflow or division by zero are silenced, their results (inf, nan) kept."""
    runner = _Runner(env)
    with np.errstate(all="ignore"):
        runner.block(stmts)
    return runner.trace
