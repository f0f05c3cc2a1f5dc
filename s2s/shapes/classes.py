"""Shape classes: which values provably have the same shape, and which are provably
scalars, without knowing any shape (a union-find over values, to a fixed point).  The
optimizer uses them to drop needless `_unbroadcast` calls from code for any shapes;
the reverse pass, to tell numbers from arrays."""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from ..ir import Const, FunctionSpec, If, Loop, Op, Operand, Stmt, Var, walk
from ..primitives import PRIMITIVES


class ShapeClasses:
    """Which values provably have the same shape, and which are provably scalars.

    A union-find over values, run to a fixed point.  Elementwise ops give their output
    the shape of their one non-scalar operand; a scalar output of an elementwise op
    makes every operand scalar; full reductions, `math` functions and the checked
    result are scalars; a phi whose inputs agree has their shape.  A loop-carried
    value is assumed to keep the shape it enters with, and the assumption is dropped
    (and everything recomputed) unless every iteration provably keeps it.
    """

    SCALAR = Var("<scalar>", "<scalar>")

    def __init__(self, stmts: list[Stmt], alike: Iterable[tuple[Var, Var]] = ()):
        walked = list(walk(stmts))  # every statement, nested ones too, once
        self._prepare(walked, alike)
        loops = [s for s in walked if isinstance(s, Loop)]
        assumed = {
            (loop, k)
            for loop in loops
            for k, init in enumerate(loop.inits)
            if init is not None
        }
        self.parent: dict[Var, Var] = {}
        self._touching = None
        for a, b in self.fixed:
            self.union(a, b)
        fixed = dict(self.parent)  # whatever the assumptions
        while True:
            self._solve(fixed, assumed)
            broken = {
                (loop, k)
                for loop, k in assumed
                if not self.same(loop.nexts[k], loop.carried[k])
            }
            if not broken:
                break
            assumed -= broken

    def _prepare(self, walked: list[Stmt], alike: Iterable[tuple[Var, Var]]) -> None:
        """Split what the statements say into `fixed`, pairs of one shape whatever
        else holds, and `conditional`, the statements whose pairs depend on other
        pairs (elementwise ops, indexing, branches): only these are walked to the
        fixed point."""
        defs = {s.out: s for s in walked if isinstance(s, Op)}
        pushes = [s for s in walked if isinstance(s, Op) and s.prim == "push"]
        sites = Counter(s.args[0] for s in pushes)
        # What is popped is what was pushed, when a tape is pushed in one place.
        pushed = {s.args[0]: s.args[1:] for s in pushes if sites[s.args[0]] == 1}
        fixed = list(alike)
        # shape_of[s] is an array whose shape the tuple s is (made by `shape`).
        self.shape_of: dict[Var, Operand] = {
            s.out: s.args[0] for s in walked if isinstance(s, Op) and s.prim == "shape"
        }
        for s in walked:  # a value popped off a tape is the value pushed
            if isinstance(s, Op) and s.prim == "pop":
                for a, b in zip(s.outs, pushed.get(s.args[0], ())):
                    fixed.append((a, b))
                    if b in self.shape_of:
                        self.shape_of[a] = self.shape_of[b]
        for s in walked:  # the index of a loop over a range is an int
            if isinstance(s, Loop) and s.index is not None:
                made = defs.get(s.iterable)
                if isinstance(made, Op) and made.prim in ("range", "reversed"):
                    fixed.append((s.index, self.SCALAR))
        self.conditional: list[Stmt] = []
        for s in walked:
            pairs = self._fixed_pairs(s) if isinstance(s, Op) else None
            if pairs is None and isinstance(s, (Op, If)):
                self.conditional.append(s)
            fixed += pairs or []
        self.fixed = fixed
        # The values each of those statements reads or makes.
        self._operands = [
            (
                (*s.args, s.out)
                if isinstance(s, Op)
                else (*s.outs, *s.then_vals, *s.else_vals)
            )
            for s in self.conditional
        ]

    def _fixed_pairs(self, op: Op) -> list[tuple[Operand, Operand]] | None:
        """The pairs an op makes one shape whatever else holds; None when they
        depend on other pairs."""
        record = PRIMITIVES[op.prim]
        # A number passes a guarded check; a `math` function takes and gives them.
        if record.guarded or op.params.get("lib") == "math":
            return [(x, self.SCALAR) for x in (*op.args, op.out)]
        if record.reduction:
            full = op.params.get("axis") is None and not op.params.get("keepdims")
            return [(op.out, self.SCALAR)] if full else []
        if record.shaped_like is not None:
            return [(op.out, op.args[record.shaped_like])]
        by = record.shaped_by
        if by is not None and op.args[by] in self.shape_of:
            return [(op.out, self.shape_of[op.args[by]])]
        if op.prim == "getitem" or record.elementwise:
            return None
        return [(op.out, self.SCALAR)] if record.scalar else []

    def _solve(self, fixed: dict[Var, Var], assumed: set) -> None:
        """Union-find `parent` from `fixed`, the classes of the fixed pairs, the
        loop assumptions and the conditional statements."""
        self.parent = dict(fixed)
        self._touching: dict[Var, list[int]] | None = None  # not while seeding
        for loop, k in assumed:
            self.union(loop.carried[k], loop.inits[k])
            self.union(loop.outs[k], loop.carried[k])
        self.rows: dict[tuple, Var] = {}  # x[i] and x[j] have one shape
        # A worklist: when a class joins another, only the statements reading its
        # values can conclude more (those of the class it joins see the same
        # representatives as before), so they are visited again, and no others.
        touching: dict[Var, list[int]] = {}
        for k, s in enumerate(self.conditional):
            for x in self._operands[k]:
                if x is not None:
                    touching.setdefault(self.find(x), []).append(k)
        self._touching = touching
        pending = self._revisit = list(range(len(self.conditional) - 1, -1, -1))
        self._queued = set(pending)
        while pending:
            k = pending.pop()
            self._queued.discard(k)
            s = self.conditional[k]
            if isinstance(s, Op):
                self._visit(s)
            else:
                for out, a, b in zip(s.outs, s.then_vals, s.else_vals):
                    sides = [x for x in (a, b) if x is not None]
                    if sides and all(self.same(x, sides[0]) for x in sides):
                        self.union(out, sides[0])
        self._touching = None

    def find(self, x: Operand | None) -> Var:
        if isinstance(x, Const):
            return self.SCALAR
        if x is None:
            return Var("<undefined>", "<undefined>")
        parent = self.parent
        while parent.get(x, x) is not x:
            up = parent[x]
            parent[x] = parent.get(up, up)  # path halving: later finds are short
            x = up
        return x

    def union(self, a: Operand, b: Operand) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra is rb:
            return False
        touching = self._touching
        if touching is None:
            if rb is self.SCALAR:
                ra, rb = rb, ra
            self.parent[rb] = ra
            return True
        # The smaller class joins the larger (a scalar class always joins
        # the scalars): each value's statements move a few times at most.
        moved_a, moved_b = touching.get(ra, ()), touching.get(rb, ())
        if rb is self.SCALAR or (ra is not self.SCALAR and len(moved_b) > len(moved_a)):
            ra, rb, moved_b = rb, ra, moved_a
        self.parent[rb] = ra
        if moved_b:
            touching.setdefault(ra, []).extend(moved_b)
            del touching[rb]
            queued = self._queued
            for k in moved_b:
                if k not in queued:
                    queued.add(k)
                    self._revisit.append(k)
        return True

    def same(self, a: Operand | None, b: Operand | None) -> bool:
        return self.find(a) is self.find(b)

    def is_scalar(self, a: Operand | None) -> bool:
        return a is not None and self.find(a) is self.SCALAR

    def _visit(self, op: Op) -> bool:
        """The pairs of an elementwise op or of an index, given those known."""
        if op.prim == "getitem" and all(self.is_scalar(a) for a in op.args[1:]):
            spec = op.params["spec"]
            key = (self.find(op.args[0]), repr(spec), _bounds(spec, op.args[1:]))
            return self.union(op.out, self.rows.setdefault(key, op.out))
        record = PRIMITIVES[op.prim]
        if record.scalar:
            return self.union(op.out, self.SCALAR)
        return record.elementwise and self._elementwise(op)

    def _elementwise(self, op: Op) -> bool:
        changed = False
        shapes = {self.find(a) for a in op.args} - {self.SCALAR}
        if len(shapes) <= 1:
            changed |= self.union(op.out, shapes.pop() if shapes else self.SCALAR)
        if self.find(op.out) is self.SCALAR:
            for a in op.args:
                changed |= self.union(a, self.SCALAR)
        return changed


def _bounds(spec: tuple, parts: tuple) -> tuple:
    """The slice bounds among an index's parts: x[i] and x[j] have one shape, but
    x[:-1] and x[:-2] do not (the same bounds, as values or as one value, do)."""
    bounds, parts = [], list(parts)
    for item in spec[1:]:
        if item[0] == "slice":
            taken = [parts.pop(0) for present in item[1:] if present]
            bounds += [repr(b) if isinstance(b, Const) else b for b in taken]
        elif item[0] in ("value", "list"):
            parts.pop(0)
    return tuple(bounds)


def shared_classes(stmts: list[Stmt], spec: FunctionSpec) -> ShapeClasses:
    """The shape classes of a function's statements as they are now, made once and
    shared by the optimizer's passes until one of them changes the statements."""
    if "classes" not in spec.analyses:
        spec.analyses["classes"] = ShapeClasses(stmts, spec.alike)
    return spec.analyses["classes"]
