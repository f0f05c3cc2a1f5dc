"""Clean-up passes: constants folded where the whole program is needed to fold them,
common subexpressions merged, and dead code dropped, through nested regions.  Each
pass takes statements and roots and returns (statements, roots, changed)."""

from __future__ import annotations

from dataclasses import replace as copy_stmt
from typing import Any, Iterable

from ..ir import (
    Const,
    If,
    Loop,
    Op,
    Operand,
    Role,
    Stmt,
    Var,
    copy_tree,
    fold,
    has_effect,
    operands_of,
    possibly_integral,
    resolve_chains,
    substitute,
    substitute_tree,
    walk,
)
from ..primitives import PRIMITIVES


def _distinct(op: Op) -> bool:
    """Never merged with an identical op: it does something, or makes a new object
    (a list, or an iterator that one loop uses up)."""
    record = PRIMITIVES[op.prim]
    return record.effect is not None or record.fresh


def _vars(xs: Iterable[Operand | None]) -> set[Var]:
    return {x for x in xs if isinstance(x, Var)}


# --- common subexpressions ------------------------------------------------------------


def _key(op: Op) -> tuple[Any, ...] | None:
    if _distinct(op) or op.outs or op.prim == "transpose":
        return None  # `x.T` costs nothing: no name `transpose = x.T` for it
    try:
        params = tuple(sorted(op.params.items()))
        hash(params)
    except TypeError:
        return None
    args = tuple(a.name if isinstance(a, Var) else ("c", repr(a)) for a in op.args)
    return (op.prim, args, params)


def eliminate_common_subexpressions(stmts: list[Stmt], roots: list[Any]):
    """Reuse the first of several identical ops (same primitive, operands, params)
    where it is visible: earlier in the same block or in an enclosing one."""
    replace: dict[Var, Operand] = {}

    def block(body: list[Stmt], seen: dict) -> None:
        for s in body:
            if isinstance(s, Op):
                key = _key(s)
                if key is not None and key in seen and s.out.role == Role.TEMP:
                    replace[s.out] = seen[key]
                elif key is not None:
                    seen.setdefault(key, s.out)
            elif isinstance(s, If):
                block(s.then, dict(seen))
                block(s.orelse, dict(seen))
            else:
                block(s.header + s.body, dict(seen))

    # Keys name operands, so substitute as we go: run until nothing more merges
    # (on a copy, made once something does).
    changed = False
    while True:
        replace.clear()
        block(stmts, {})
        if not replace:
            break
        if not changed:  # (the copy shares the values `replace` names)
            stmts, changed = copy_tree(stmts), True
        mapping = resolve_chains(replace)
        stmts = _drop_defs(stmts, set(mapping))
        substitute(stmts, mapping)
        roots = substitute_tree(roots, mapping)
    return stmts, roots, changed


def _drop_defs(stmts: list[Stmt], dropped: set[Var]) -> list[Stmt]:
    out = []
    for s in stmts:
        if isinstance(s, Op) and s.out in dropped:
            continue
        if isinstance(s, If):
            s.then, s.orelse = _drop_defs(s.then, dropped), _drop_defs(
                s.orelse, dropped
            )
        elif isinstance(s, Loop):
            s.header, s.body = _drop_defs(s.header, dropped), _drop_defs(
                s.body, dropped
            )
        out.append(s)
    return out


# --- shape classes ----------------------------------------------------------------------


# --- constants --------------------------------------------------------------------------


def fold_constants(stmts: list[Stmt], roots: list[Any]):
    """Fold what other passes left foldable (`1.0 * 2` once a spread of a scalar
    adjoint is gone): ops on constants, and `x * 1`, `x + 0` and the like.  Inside
    loops a named constant (`ds = 1.0`) is folded into its uses too; elsewhere it
    keeps its name, as the seed notes write `dv = 3.0` and `da = dv`."""
    replace: dict[Var, Operand] = {}
    in_loops = {
        id(s) for loop in walk(stmts) if isinstance(loop, Loop) for s in walk(loop.body)
    }
    derivative = False  # identities hold in derivative code, where values are floats
    integral = possibly_integral(stmts)
    for s in walk(stmts):
        if isinstance(s, Op) and s.prim == "section":
            derivative = s.params.get("name") == "reverse"
        if not isinstance(s, Op) or s.outs:
            continue
        args = tuple(_resolve_one(a, replace) for a in s.args)
        if s.out.role == Role.TEMP:
            value = fold(s.prim, args, identities=derivative, integral=integral)
        elif s.prim == "copy" and isinstance(args[0], Const) and id(s) in in_loops:
            value = args[0]
        else:
            value = None
        if value is not None:
            replace[s.out] = value
    if not replace:
        return stmts, roots, False
    mapping = resolve_chains(replace)
    stmts = _drop_defs(copy_tree(stmts), set(mapping))
    substitute(stmts, mapping)
    return stmts, substitute_tree(roots, mapping), True


def fold_branches(stmts: list[Stmt], roots: list[Any]):
    """An If on a constant condition is the branch it takes: its statements, inline,
    and each out the value that branch gives.  (The reverse sweep of an `if` one of
    whose branches raises is such an If: the sweep runs only if it did not.)"""
    replace: dict[Var, Operand] = {}

    def block(body: list[Stmt]) -> list[Stmt]:
        out: list[Stmt] = []
        for s in body:
            if isinstance(s, If) and isinstance(s.cond, Const):
                taken, vals = (
                    (s.then, s.then_vals) if s.cond.value else (s.orelse, s.else_vals)
                )
                if all(v is not None for v in vals):
                    out += block(taken)
                    replace.update(zip(s.outs, vals))
                    continue
            if isinstance(s, If):
                s = copy_stmt(s, then=block(s.then), orelse=block(s.orelse))
            elif isinstance(s, Loop):
                s = copy_stmt(s, header=block(s.header), body=block(s.body))
            out.append(s)
        return out

    folded = block(stmts)
    if not replace:
        return stmts, roots, False
    mapping = resolve_chains(replace)
    substitute(folded, mapping)
    return folded, substitute_tree(roots, mapping), True


def _resolve_one(x: Operand, replace: dict[Var, Operand]) -> Operand:
    while isinstance(x, Var) and x in replace:
        x = replace[x]
    return x


# --- dead code --------------------------------------------------------------------------


def eliminate_dead_code(stmts: list[Stmt], roots: list[Any]):
    """Drop what reaches neither a root nor an effect, loops and branches included."""
    live = set(operands_of(tuple(roots)))
    before = sum(1 for _ in walk(stmts))
    kept = _live_block(stmts, live)
    return kept, roots, sum(1 for _ in walk(kept)) != before


def _live_block(stmts: list[Stmt], live: set[Var]) -> list[Stmt]:
    """Keep the statements of a block that matter, given what is live after it;
    update `live` to what is live before it."""
    kept: list[Stmt] = []
    for s in reversed(stmts):
        if isinstance(s, Op):
            if has_effect(s) or any(d in live for d in s.defines):
                live.difference_update(s.defines)
                live.update(_vars(s.args))
                kept.append(s)
        elif isinstance(s, If):
            region = _live_if(s, live)
            if region is not None:
                kept.append(region)
        else:
            region = _live_loop(s, live)
            if isinstance(region, list):
                kept.extend(reversed(region))
            elif region is not None:
                kept.append(region)
    kept.reverse()
    return kept


def _live_if(s: If, live: set[Var]) -> If | None:
    keep = [i for i, o in enumerate(s.outs) if o in live]
    after = live - set(s.outs)
    sides = []
    for body, vals in ((s.then, s.then_vals), (s.orelse, s.else_vals)):
        side_live = after | _vars(vals[i] for i in keep)
        sides.append((_live_block(body, side_live), side_live))
    (then, then_live), (orelse, else_live) = sides
    if not keep and not then and not orelse:
        return None
    live.clear()
    live.update(then_live | else_live | _vars([s.cond]))
    merges = [s.merges[i] for i in keep]
    return copy_stmt(s, then=then, orelse=orelse, merges=merges)


def _live_loop(s: Loop, live: set[Var]) -> Loop | None:
    keep = {k for k, o in enumerate(s.outs) if o in live}
    while True:
        body_live = _vars([*(s.nexts[k] for k in keep), s.stop])
        body = _live_block(s.body, body_live)
        header_live = body_live | _vars([s.cond])
        header = _live_block(s.header, header_live)
        more = {k for k, c in enumerate(s.carried) if c in header_live} - keep
        if not more:
            break
        keep |= more
    effects = any(isinstance(x, Op) and has_effect(x) for x in walk(body))
    if not keep and not effects:
        return None
    copies = {
        op.out: op.args[0] for op in body if isinstance(op, Op) and op.prim == "copy"
    }

    def through_copies(x):
        while x in copies:
            x = copies[x]
        return x

    only_copies = len(copies) == len(body)
    if only_copies and all(through_copies(s.nexts[k]) is s.carried[k] for k in keep):
        # Nothing happens in an iteration: after the loop, each value is as it entered.
        idle = [Op("copy", (s.inits[k],), s.outs[k], {}, s.loc) for k in sorted(keep)]
        live.difference_update(s.outs)
        live.update(_vars(s.inits[k] for k in keep))
        return idle
    order = sorted(keep)
    live.difference_update(s.outs)
    live.update(_vars([*(s.inits[k] for k in order), s.iterable]))
    live.update(header_live - set(s.carried) - {s.index})
    carries = [s.carries[k] for k in order]
    return copy_stmt(s, header=header, body=body, carries=carries)


# --- tapes ------------------------------------------------------------------------------
