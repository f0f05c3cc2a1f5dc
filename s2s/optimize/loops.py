"""Loop passes: values a loop carries but never changes read from before it, work
every reverse iteration repeats done once before the loop, and tapes whose values
nothing reads dropped."""

from __future__ import annotations

from typing import Any

from ..ir import (
    If,
    Loop,
    Op,
    Operand,
    Stmt,
    Var,
    copy_tree,
    operands,
    operands_of,
    resolve_chains,
    substitute,
    substitute_tree,
    walk,
)
from ..primitives import PRIMITIVES


def drop_unchanged_carried(stmts: list[Stmt], roots: list[Any]):
    """A value a loop carries but never changes (`ds` of `s = s + ...`, which every
    iteration passes on as it came) is its initial value throughout: read that."""
    stmts = copy_tree(stmts)
    replace: dict[Var, Operand] = {}
    for loop in walk(stmts):
        if not isinstance(loop, Loop):
            continue
        copies = {
            s.out: s.args[0]
            for s in walk(loop.body)
            if isinstance(s, Op) and s.prim == "copy"
        }
        keep = []
        for k, c in enumerate(loop.carried):
            nxt = loop.nexts[k]
            while nxt in copies:
                nxt = copies[nxt]
            if nxt is c and loop.inits[k] is not None:
                replace[c] = replace[loop.outs[k]] = loop.inits[k]
            else:
                keep.append(k)
        if len(keep) < len(loop.carried):
            loop.carries = [loop.carries[k] for k in keep]
    if not replace:
        return stmts, roots, False
    mapping = resolve_chains(replace)
    substitute(stmts, mapping)
    return stmts, substitute_tree(roots, mapping), True


def hoist_invariants(stmts: list[Stmt], roots: list[Any]):
    """Compute before a reverse-sweep loop what every iteration would compute again
    (`np.cos(w)` of a w the loop does not change).  The forward sweep keeps the shape
    of the user's code."""
    stmts = copy_tree(stmts)
    changed = False
    reverse = False
    out: list[Stmt] = []
    for s in stmts:
        if isinstance(s, Op) and s.prim == "section":
            reverse = s.params.get("name") == "reverse"
        if reverse and isinstance(s, Loop):
            hoisted = _hoist(s)
            changed |= bool(hoisted)
            out.extend(hoisted)
        out.append(s)
    return out, roots, changed


def _hoist(loop: Loop) -> list[Op]:
    """Take the invariant ops out of a loop's body (nested loops first); return them."""
    for s in loop.body:
        if isinstance(s, Loop):
            s_hoisted = _hoist(s)
            if s_hoisted:
                at = loop.body.index(s)
                loop.body[at:at] = s_hoisted
    inside = {v for st in walk(loop.body) for v in st.defines}
    inside |= set(loop.carried) | ({loop.index} if loop.index else set())
    hoisted, kept = [], []
    for s in loop.body:
        pure = (
            isinstance(s, Op)
            and PRIMITIVES[s.prim].hoistable
            and s.params.get("lib") != "math"
        )
        if pure and not any(isinstance(a, Var) and a in inside for a in s.args):
            hoisted.append(s)
            inside.discard(s.out)
        else:
            kept.append(s)
    loop.body[:] = kept
    return hoisted


def prune_tapes(stmts: list[Stmt], roots: list[Any]):
    """Stop saving what the reverse sweep no longer reads: a popped value nobody uses
    is dropped from its push and its pop (and an empty tape from both sweeps).  A
    value pushed on another tape is used if that tape's value is."""
    read = {
        x
        for s in walk(stmts)
        if not (isinstance(s, Op) and s.prim == "push")
        for x in operands(s)
        if isinstance(x, Var)
    } | set(operands_of(tuple(roots)))
    pushes = [s for s in walk(stmts) if isinstance(s, Op) and s.prim == "push"]
    pops = [s for s in walk(stmts) if isinstance(s, Op) and s.prim == "pop"]
    needed: set[tuple[Var, int]] = set()  # (tape, position) whose values are read
    while True:
        more = {
            (pop.args[0], i)
            for pop in pops
            for i, v in enumerate(pop.outs)
            if v in read and (pop.args[0], i) not in needed
        }
        if not more:
            break
        needed |= more
        read |= {  # what a needed position saves is needed where it was popped
            x
            for push in pushes
            for i, x in enumerate(push.args[1:])
            if (push.args[0], i) in more and isinstance(x, Var)
        }
    unused: dict[Var, list[int]] = {}
    for s in pops:
        unused[s.args[0]] = [
            i for i in range(len(s.outs)) if (s.args[0], i) not in needed
        ]
    if not any(unused.values()):
        return stmts, roots, False
    stmts = copy_tree(stmts)
    for s in walk(stmts):
        if isinstance(s, Op) and s.prim in ("push", "pop") and unused.get(s.args[0]):
            drop = set(unused[s.args[0]])
            if s.prim == "pop":
                s.outs = tuple(v for i, v in enumerate(s.outs) if i not in drop)
            else:
                kept = tuple(v for i, v in enumerate(s.args[1:]) if i not in drop)
                _rename_tape(s.args[0], s.args[1], kept)
                s.args = s.args[:1] + kept
    emptied = {
        s.args[0]
        for s in walk(stmts)
        if isinstance(s, Op) and s.prim == "pop" and not s.outs
    }
    return _drop_tape_ops(stmts, emptied), roots, True


def _rename_tape(tape: Var, first: Operand, kept: tuple[Operand, ...]) -> None:
    """A tape named after the first value it saved is named after the first value it
    still saves."""
    if isinstance(first, Var) and kept and isinstance(kept[0], Var):
        if tape.hint == f"{first.hint}_tape" and kept[0] is not first:
            tape.hint = f"{kept[0].hint}_tape"


def _drop_tape_ops(stmts: list[Stmt], tapes: set[Var]) -> list[Stmt]:
    out = []
    for s in stmts:
        if isinstance(s, Op) and s.prim in ("push", "pop") and s.args[0] in tapes:
            continue
        if isinstance(s, If):
            s.then, s.orelse = _drop_tape_ops(s.then, tapes), _drop_tape_ops(
                s.orelse, tapes
            )
        elif isinstance(s, Loop):
            s.header = _drop_tape_ops(s.header, tapes)
            s.body = _drop_tape_ops(s.body, tapes)
        out.append(s)
    return out
