"""Graph clean-up passes run before emission: each takes ops, returns (ops, changed).

Constant folding and the identities that are safe whatever the shapes happen while
ops are built (:class:`s2s.ir.Builder`); here are the passes that need the whole
program: common subexpressions and dead code.
"""

from __future__ import annotations

from dataclasses import replace as copy_op
from typing import Any, Iterable

from .ir import Const, Op, Operand, Var
from .primitives import PRIMITIVES

EFFECTS = {"check_scalar"}  # ops kept for what they do, not for their value


def _key(op: Op) -> tuple[Any, ...] | None:
    try:
        params = tuple(sorted(op.params.items()))
        hash(params)
    except TypeError:
        return None
    return (
        op.prim,
        tuple(a.name if isinstance(a, Var) else ("c", repr(a)) for a in op.args),
        params,
    )


def eliminate_common_subexpressions(
    ops: list[Op], roots: list[Any]
) -> tuple[list[Op], list[Any], bool]:
    """Reuse the first of several identical ops (same primitive, operands, params)."""
    seen: dict[tuple[Any, ...], Var] = {}
    replace: dict[Var, Operand] = {}
    kept: list[Op] = []
    for op in ops:
        if any(a in replace for a in op.args if isinstance(a, Var)):
            args = tuple(
                replace.get(a, a) if isinstance(a, Var) else a for a in op.args
            )
            op = copy_op(op, args=args)
        key = _key(op) if op.prim not in EFFECTS else None
        if key is not None and key in seen and op.out.role == "temp":
            replace[op.out] = seen[key]
            continue
        if key is not None:
            seen.setdefault(key, op.out)
        kept.append(op)
    return kept, _substitute(roots, replace), bool(replace)


def _substitute(tree: Any, replace: dict[Var, Operand]) -> Any:
    if isinstance(tree, tuple):
        return tuple(_substitute(t, replace) for t in tree)
    return replace.get(tree, tree) if isinstance(tree, Var) else tree


def operands_of(tree: Any) -> Iterable[Var]:
    """The variables in a (possibly nested) tuple of operands."""
    if isinstance(tree, tuple):
        for t in tree:
            yield from operands_of(t)
    elif isinstance(tree, Var):
        yield tree


def eliminate_dead_code(ops: list[Op], roots: list[Any]) -> tuple[list[Op], bool]:
    """Drop ops whose value reaches neither a root nor an effect."""
    live = set(operands_of(tuple(roots)))
    kept = []
    for op in reversed(ops):
        if op.out in live or op.prim in EFFECTS:
            kept.append(op)
            live.update(a for a in op.args if isinstance(a, Var))
    kept.reverse()
    return kept, len(kept) != len(ops)


_REDUCTIONS = {"sum", "mean", "prod", "max", "min"}
#: Helpers whose result has the shape of one operand (given by position).
_SHAPED_LIKE = {
    "copy": 0,
    "unbroadcast": 1,
    "unreduce": 1,
    "prod_adjoint": 1,
    "extremum_adjoint": 1,
    "matmul_adjoint_a": 1,
    "matmul_adjoint_b": 2,
    "dot_adjoint_a": 1,
    "dot_adjoint_b": 2,
}


class ShapeClasses:
    """Which values provably have the same shape, and which are provably scalars.

    A union-find over values, run to a fixed point.  Elementwise ops give their output
    the shape of their one non-scalar operand; a scalar output of an elementwise op
    makes every operand scalar; full reductions, `math` functions and the checked
    result are scalars.  No concrete shapes are needed.
    """

    SCALAR = Var("<scalar>", "<scalar>")

    def __init__(self, ops: list[Op]):
        self.parent: dict[Var, Var] = {}
        changed = True
        while changed:
            changed = False
            for op in ops:
                changed |= self._visit(op)

    def find(self, x: Operand) -> Var:
        if isinstance(x, Const):
            return self.SCALAR
        while self.parent.get(x, x) is not x:
            x = self.parent[x]
        return x

    def union(self, a: Operand, b: Operand) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra is rb:
            return False
        if rb is self.SCALAR:
            ra, rb = rb, ra
        self.parent[rb] = ra
        return True

    def same(self, a: Operand, b: Operand) -> bool:
        return self.find(a) is self.find(b)

    def _visit(self, op: Op) -> bool:
        changed = False
        if op.prim == "check_scalar" or op.params.get("lib") == "math":
            for x in (*op.args, op.out):
                changed |= self.union(x, self.SCALAR)
        elif op.prim in _REDUCTIONS:
            if op.params.get("axis") is None and not op.params.get("keepdims"):
                changed |= self.union(op.out, self.SCALAR)
        elif op.prim in _SHAPED_LIKE:
            changed |= self.union(op.out, op.args[_SHAPED_LIKE[op.prim]])
        elif PRIMITIVES[op.prim].elementwise:
            shapes = {self.find(a) for a in op.args} - {self.SCALAR}
            if len(shapes) <= 1:
                changed |= self.union(op.out, shapes.pop() if shapes else self.SCALAR)
            if self.find(op.out) is self.SCALAR:
                for a in op.args:
                    changed |= self.union(a, self.SCALAR)
        return changed


_RANK = {"param": 0, "user": 1, "adjoint": 2, "temp": 3}

#: Operands read only for their shape: any value of the same shape may stand in.
_SHAPE_ONLY = {"unbroadcast": 1, "unreduce": 1, "size": 0, "shape": 0}


def _representatives(ops: list[Op], classes: ShapeClasses) -> dict[Var, Var]:
    """For each shape class, the value best kept alive: a parameter, else a named one."""
    best: dict[Var, Var] = {}
    defined = [
        v for op in ops for v in (*[a for a in op.args if isinstance(a, Var)], op.out)
    ]
    for v in defined:
        root = classes.find(v)
        if v.role != "adjoint" and (
            root not in best or _RANK[v.role] < _RANK[best[root].role]
        ):
            best[root] = v
    return best


def remove_needless_unbroadcasts(
    ops: list[Op], roots: list[Any]
) -> tuple[list[Op], list[Any], bool]:
    """`_unbroadcast(g, x)` is `g` where g and x provably have the same shape."""
    classes = ShapeClasses(ops)
    best = _representatives(ops, classes)
    position = {}
    for i, op in enumerate(ops):
        position.setdefault(op.out, i)
    replace: dict[Var, Operand] = {}
    kept = []
    changed = False
    for i, op in enumerate(ops):
        if any(a in replace for a in op.args if isinstance(a, Var)):
            op = copy_op(
                op,
                args=tuple(
                    replace.get(a, a) if isinstance(a, Var) else a for a in op.args
                ),
            )
        k = _SHAPE_ONLY.get(op.prim)
        like = op.args[k] if k is not None else None
        if isinstance(like, Var):
            stand_in = best.get(classes.find(like), like)
            better = _RANK[stand_in.role] < _RANK[like.role] and (
                like.role == "temp" or stand_in.role == "param"
            )
            if better and position.get(stand_in, -1) < i:
                args = list(op.args)
                args[k] = stand_in
                op = copy_op(op, args=tuple(args))
                changed = True
        if op.prim == "unbroadcast" and classes.same(*op.args):
            if op.out.role == "temp":
                replace[op.out] = op.args[0]
                continue
            op = copy_op(op, prim="copy", args=op.args[:1])
        kept.append(op)
    return kept, _substitute(roots, replace), changed or len(replace) > 0 or kept != ops


def optimize(ops: list[Op], roots: list[Any]) -> tuple[list[Op], list[Any]]:
    """Run the passes to a fixed point (each reports whether it changed anything)."""
    changed = True
    while changed:
        ops, roots, cse = eliminate_common_subexpressions(ops, roots)
        ops, roots, unbroadcast = remove_needless_unbroadcasts(ops, roots)
        ops, dce = eliminate_dead_code(ops, roots)
        changed = cse or unbroadcast or dce
    return ops, roots
