"""Analyses of a statement tree that any pass may ask: which values may not exist where
they are read, which may hold integers, what each tape carries, what a tree defines,
whether a block always raises."""

from __future__ import annotations

from typing import Callable

from ..primitives import PRIMITIVES
from .nodes import Graph, If, Loop, Op, Operand, Stmt, Var, operands, walk


def has_effect(op: Op) -> bool:
    """Whether op is kept for what it does (a check, a tape), not for its value."""
    return PRIMITIVES[op.prim].effect is not None


def always_raises(block: list[Stmt]) -> bool:
    """Whether every path through a block ends in the user's `raise` (after
    normalization a raise ends its block)."""
    if not block:
        return False
    last = block[-1]
    if isinstance(last, If):
        return always_raises(last.then) and always_raises(last.orelse)
    return isinstance(last, Op) and PRIMITIVES[last.prim].effect == "raise"


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
    """Whether an op's result may hold integers, given which operands `maybe` do:
    the record's dtype says, or (None) the result keeps its operands' dtype."""
    record = PRIMITIVES.get(prim)
    dtype = record.dtype if record is not None else None
    if dtype in ("bool", "int"):
        return True
    if dtype == "float" or params.get("lib") == "math":
        return False
    return all(maybe(a) for a in args)


def possibly_integral(stmts: list[Stmt]) -> set[Var]:
    """The values that may hold bools or integers: parameters (anything read but not
    defined here), loop indices, comparisons and counts, and what follows from them
    by ops that keep an integer dtype (`mask * mask`, `img[i]`).  Derivative code
    folds `1.0 * v` to `v` only for the other values: for `v = x < 1.0` the product
    is a float array and `v` a bool one (bool + bool is a logical or)."""
    walked = list(walk(stmts))
    defined = {v for s in walked for v in s.defines}
    for s in walked:
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
        for s in walked:
            integral.update(made_integral(s))
        changed = len(integral) != before
    read = {x for s in walked for x in operands(s) if isinstance(x, Var)}
    return integral | (read - defined)


def maybe_undefined(stmts: list[Stmt]) -> set[Var]:
    """Values that may not exist when read: a name assigned on one path of a branch
    (or only inside a loop), merged with the paths where it is not."""
    found: set[Var] = set()
    walked = list(walk(stmts))
    changed = True
    while changed:
        changed = False
        for s in walked:
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


def defined_in(stmts: list[Stmt]) -> set[Var]:
    """Every value a statement tree defines, loop-carried values and indices included."""
    found: set[Var] = set()
    for s in walk(stmts):
        found.update(s.defines)
        if isinstance(s, Loop):
            found.update(s.carried)
            found.add(s.index)
    return found


def all_values(graph: Graph) -> list[Var]:
    """Every value of a graph: its parameters, what its statements define, and the
    values its loops carry and count with."""
    inner = [v for s in walk(graph.ops) for v in s.defines]
    loops = [
        v for s in walk(graph.ops) if isinstance(s, Loop) for v in s.carried + [s.index]
    ]
    return graph.params + inner + [v for v in loops if v is not None]
