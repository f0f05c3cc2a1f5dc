"""Which inputs an array's type may come from, and which surely decide it: what the
emitter asks before it adds into an array in place.

`acc += c` is numpy's `np.add(acc, c, out=acc)` when acc is a numpy array: where c
is a Dask array (numpy parameters, Dask data) that fails, and where it worked it
would pull c into memory.  So an update is written in place only where c can be of
another library than numpy's only if acc is too: every input c's array may come from
(`sources`) is one that surely makes acc's array of its library (`decides`).  An
input is a value the function reads from outside (a parameter, a closure variable,
a module's data); an array of another library stays one through the arithmetic on
it (`numpy + dask` is a Dask array), but not through a shape or a size, nor through
`np.zeros(shape)`, which is a numpy array whatever the shape was read from.  In
code written for the shapes of numpy arguments, those are numpy's: there every
update the function's own arrays allow is in place."""

from __future__ import annotations

from typing import Any

from ..ir import If, Loop, Op, Stmt, Var, pushed_values
from ..primitives import PRIMITIVES

#: Results that are Python numbers, bools or tuples of them, whatever the operands.
_NUMBERS = frozenset({"shape", "size", "ndim", "len", "range", "float", "int"})
_NUMBERS |= frozenset({"is", "is_not", "not"})
#: Data read from outside the function: an input of its own.
_READS = frozenset({"attribute", "closure_variable", "global_variable"})
#: Ops whose result has the library of their first operand (a view or a part of it,
#: or the adjoint g undone to another shape).
_FIRST = frozenset({"getitem", "copy", "transpose", "reshape", "expand_dims"})
_FIRST |= frozenset({"squeeze", "ravel", "broadcast_to", "swapaxes", "array_copy"})
_FIRST |= frozenset({"unbroadcast", "unbroadcast_to", "unreduce", "unreduce_to"})
_LIKE = frozenset({"zeros_like", "ones_like", "full_like"})


class ArrayTypes:
    """For each value of a function body, the inputs its array may take its type
    from (`sources`) and those any of which surely decides it (`decides`)."""

    def __init__(self, stmts: list[Stmt], numpy: frozenset[Var] = frozenset()):
        self.numpy = numpy  # inputs known to hold numpy arrays or numbers
        self.may: dict[Var, frozenset[Var]] = {}
        self.must: dict[Var, frozenset[Var]] = {}
        pushed = pushed_values(stmts)
        self.pushed = [x for pushes in pushed.values() for p in pushes for x in p]
        changed = True
        while changed:  # loops: until what each carried value holds settles
            before = (dict(self.may), dict(self.must))
            self.popped: frozenset[Var] | None = None  # once per round, on need
            self.block(stmts)
            changed = before != (self.may, self.must)

    def sources(self, x: Any) -> frozenset[Var]:
        """The inputs x's array may take its type from (an over-estimate)."""
        if isinstance(x, tuple):
            return _union(map(self.sources, x))
        if not isinstance(x, Var) or x in self.numpy:
            return frozenset()
        return self.may.get(x, frozenset({x}))  # not defined here: an input

    def decides(self, x: Any) -> frozenset[Var]:
        """Inputs any of which, of another library, surely makes x's array of it (an
        under-estimate)."""
        if isinstance(x, tuple):
            return _union(map(self.decides, x))
        if not isinstance(x, Var):
            return frozenset()
        return self.must.get(x, frozenset({x}))

    def follows(self, acc: Any, c: Any) -> bool:
        """Whether acc's array is of c's library wherever c is not a numpy array."""
        return self.sources(c) <= self.decides(acc)

    def block(self, stmts: list[Stmt]) -> None:
        for s in stmts:
            if isinstance(s, Op):
                self.op(s)
            elif isinstance(s, If):
                self.block(s.then)
                self.block(s.orelse)
                for m in s.merges:
                    sides = [x for x in (m.then, m.orelse) if x is not None]
                    self.may[m.out] = _union(map(self.sources, sides))
                    self.must[m.out] = _meet(map(self.decides, sides))
            elif isinstance(s, Loop):
                self.loop(s)

    def loop(self, s: Loop) -> None:
        for c in s.carries:  # on entry, or after an iteration (once one ran)
            sides = [x for x in (c.init, c.next) if x is not None]
            ran = c.next is not None and c.next in self.may
            self.may[c.var] = _union(map(self.sources, sides if ran else sides[:1]))
            self.must[c.var] = _meet(map(self.decides, sides if ran else sides[:1]))
        if s.index is not None:
            self.may[s.index] = self.sources(s.iterable)
            self.must[s.index] = frozenset()
        self.block(s.header)
        self.block(s.body)
        for c in s.carries:
            self.may[c.out], self.must[c.out] = self.may[c.var], self.must[c.var]

    def op(self, s: Op) -> None:
        prim = PRIMITIVES[s.prim]
        lib = s.params.get("lib")
        if s.prim in _NUMBERS or lib == "math":
            may: frozenset[Var] = frozenset()
        elif s.prim == "pop":  # anything pushed on a tape
            if self.popped is None:
                self.popped = _union(map(self.sources, self.pushed))
            may = self.popped
        else:
            may = _union(map(self.sources, s.args))
            if s.prim in _READS:
                may |= {s.out}
        if s.prim in _READS:
            must = frozenset({s.out})
        elif lib in ("math", "builtin") or s.prim in _NUMBERS:
            must = frozenset()
        elif (
            prim.operator is not None
            or prim.elementwise
            or prim.comparison
            or s.prim == "matmul"
        ) and s.prim not in ("both", "either"):
            must = _union(map(self.decides, s.args))
        elif prim.reduction or s.prim in _FIRST:
            must = self.decides(s.args[0]) if s.args else frozenset()
        elif s.prim in _LIKE:
            must = self.decides(s.args[0])
        else:
            must = frozenset()
        for v in s.defines:
            self.may[v], self.must[v] = may, must


def _union(sets: Any) -> frozenset[Var]:
    return frozenset().union(*sets)


def _meet(sets: Any) -> frozenset[Var]:
    sets = list(sets)
    return frozenset.intersection(*sets) if sets else frozenset()
