"""Activity analysis: which values carry derivatives.

A value is *active* when it depends, through differentiable operands, on a
parameter being differentiated, and *influencing* when the result depends on it the
same way; only values that are both get adjoints.  What is popped off a tape depends
on what was pushed on it.  Here too are the refusals that only activity can tell: a
derivative flowing into a count or into a tuple used as one value.
"""

from __future__ import annotations

from typing import Iterable

from ..errors import UnsupportedSyntaxError
from ..ir import If, Op, Operand, Stmt, Var, operands, pushed_values, walk
from ..primitives import PRIMITIVES, differentiable_operands


def _differentiable_args(op: Op) -> list[Operand]:
    record = PRIMITIVES[op.prim]
    if record.kind in ("zero", "tape"):
        return []
    return differentiable_operands(record, op.args)


def _flows(
    s: Stmt, pushed: dict[Var, list[tuple[Operand, ...]]]
) -> list[tuple[Var, list[Operand | None]]]:
    """Which values each value defined by `s` depends on, differentiably (what is
    popped off a tape depends on what was pushed on it in the same place)."""
    if isinstance(s, Op) and s.prim == "pop":
        pushes = pushed.get(s.args[0], [])
        return [(o, [p[i] for p in pushes if i < len(p)]) for i, o in enumerate(s.outs)]
    if isinstance(s, Op):
        return [(d, _differentiable_args(s)) for d in s.defines]
    if isinstance(s, If):
        return [(o, [a, b]) for o, a, b in zip(s.outs, s.then_vals, s.else_vals)]
    return [(c, [i, n]) for c, i, n in zip(s.carried, s.inits, s.nexts)] + [
        (o, [c]) for o, c in zip(s.outs, s.carried)
    ]


def active_values(stmts: list[Stmt], wrt: list[Var]) -> set[Var]:
    """Values that depend, through differentiable operands, on a `wrt` parameter."""
    active = set(wrt)
    pushed = pushed_values(stmts)
    changed = True
    while changed:
        changed = False
        for s in walk(stmts):
            for v, sources in _flows(s, pushed):
                if v not in active and any(
                    x in active for x in sources if x is not None
                ):
                    active.add(v)
                    changed = True
    return active


def refuse_steps(stmts: list[Stmt], active: set[Var]) -> None:
    """Refuse what would get a derivative of zero though it has none (or not that
    one): a tuple of derivatives used as a value, a parameter used as a count."""
    _refuse_active_tuples(stmts, active)
    _refuse_active_counts(stmts, active)


def _refuse_active_counts(stmts: list[Stmt], active: set[Var]) -> None:
    """Refuse a differentiated parameter used as a count, an index or a size: it
    has no derivative there (and the gradient's caller passes it as a float)."""
    for s in walk(stmts):
        counts = PRIMITIVES[s.prim].counts if isinstance(s, Op) else None
        if counts is not None and any(x in active for x in s.args[counts:]):
            raise UnsupportedSyntaxError(
                "a differentiated parameter is used here as a count, an index or a "
                "size, where it has no derivative",
                s.loc,
                "Differentiate with respect to the other parameters (wrt=...), or "
                "make the count an int explicitly (`range(int(n))`) if the "
                "parameter's other uses are what you differentiate.",
            )


def _refuse_active_tuples(stmts: list[Stmt], active: set[Var]) -> None:
    """A tuple display is a shape, not a value to differentiate through: refuse one
    that holds derivatives and is read (its items picked by constant indices never
    reach the graph), rather than give it a zero derivative."""
    read = {x for s in walk(stmts) for x in operands(s) if isinstance(x, Var)}
    for s in walk(stmts):
        if (
            isinstance(s, Op)
            and s.prim == "tuple"
            and s.out in read
            and any(x in active for x in s.args)
        ):
            raise UnsupportedSyntaxError(
                "a tuple of values that depend on the differentiated parameters is "
                "used as one value here",
                s.loc,
                "Pass the values separately, index the tuple with constants "
                "(`t[0]`), or stack them into an array with np.stack([...]).",
            )


def influencing(stmts: list[Stmt], results: Iterable[Operand]) -> set[Var]:
    """Values that the results depend on, differentiably.  A value the results do not
    depend on has a zero adjoint; leaving it out keeps the reverse sweep from carrying
    zeros around a loop for a name that is only assigned in one branch of it."""
    pushed = pushed_values(stmts)
    flows = [flow for s in walk(stmts) for flow in _flows(s, pushed)]
    needed = {r for r in results if isinstance(r, Var)}
    changed = True
    while changed:
        changed = False
        for v, sources in flows:
            if v in needed:
                for x in sources:
                    if isinstance(x, Var) and x not in needed:
                        needed.add(x)
                        changed = True
    return needed


def tape_positions(stmts: list[Stmt], active: set[Var]) -> dict[Var, list[int]]:
    """For each tape, the positions of the values it carries that are active (those
    whose derivative must travel with them)."""
    found: dict[Var, list[int]] = {}
    for s in walk(stmts):
        if isinstance(s, Op) and s.prim == "pop":
            mine = [i for i, o in enumerate(s.outs) if o in active]
            found[s.args[0]] = sorted(set(found.get(s.args[0], [])) | set(mine))
    return found
