"""Broadcasting undone only where needed, in code for any shapes: shape classes prove
where `_unbroadcast(g, x)` has nothing to sum, where zeros are a scalar's, and which
best-named value of a shape a size can be read off."""

from __future__ import annotations

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
    maybe_undefined,
    resolve_chains,
    substitute,
    substitute_tree,
    walk,
)
from ..primitives import PRIMITIVES
from ..shapes.classes import ShapeClasses


def simplify_shapes(
    stmts: list[Stmt],
    roots: list[Any],
    params: Iterable[Var],
    classes: ShapeClasses | None = None,
):
    """Drop `_unbroadcast(g, x)` where g and x provably have the same shape; make
    zeros of a provably scalar shape `0.0`; read shapes off the best-named value of
    the same shape that is visible there (a parameter rather than a temporary), so
    that the temporary need not be kept."""
    classes = classes or ShapeClasses(stmts)
    undefined = maybe_undefined(stmts)  # no stand-ins: they may not exist when read

    def prefer(best: dict[Var, Var], v: Var) -> None:
        if v in undefined:
            return
        root, held = classes.find(v), best.get(classes.find(v))
        if held is None or (v.role.rank, v.name) < (
            held.role.rank,
            held.name,
        ):
            best[root] = v

    replace: dict[Var, Operand] = {}
    changed = False
    shape_of = {
        s.out: s.args[0] for s in walk(stmts) if isinstance(s, Op) and s.prim == "shape"
    }

    def block(body: list[Stmt], best: dict[Var, Var]) -> list[Stmt]:
        """Simplify a block; `best` holds the preferred visible value of each class."""
        nonlocal changed
        best = dict(best)
        out: list[Stmt] = []
        for s in body:
            if isinstance(s, If):
                s.then, s.orelse = block(s.then, best), block(s.orelse, best)
            elif isinstance(s, Loop):
                inside = dict(best)
                for v in s.carried + ([s.index] if s.index else []):
                    prefer(inside, v)
                s.header = block(s.header, inside)
                s.body = block(s.body, inside)
            elif isinstance(s, Op):
                k = PRIMITIVES[s.prim].shape_only
                like = s.args[k] if k is not None else None
                if isinstance(like, Var):
                    stand_in = best.get(classes.find(like), like)
                    if (
                        stand_in is not like
                        and stand_in.role.rank < like.role.rank
                        and (like.role == Role.TEMP or stand_in.role == Role.PARAM)
                    ):
                        args = list(s.args)
                        args[k] = stand_in
                        s.args = tuple(args)
                        changed = True
                if s.prim == "unbroadcast_to" and classes.same(
                    s.args[0], classes.shape_of.get(s.args[1])
                ):
                    s.prim, s.args = "unbroadcast", (s.args[0], s.args[0])
                if s.prim == "unbroadcast" and classes.same(*s.args):
                    if s.out.role == Role.TEMP:
                        replace[s.out] = s.args[0]
                        continue
                    s.prim, s.args = "copy", s.args[:1]
                    changed = True
                if s.prim == "zeros" and classes.is_scalar(shape_of.get(s.args[0])):
                    if s.out.role == Role.TEMP:
                        replace[s.out] = Const(0.0)
                        continue
                    s.prim, s.args = "copy", (Const(0.0),)
                    changed = True
            for v in s.defines:
                prefer(best, v)
            out.append(s)
        return out

    visible: dict[Var, Var] = {}
    for p in params:
        prefer(visible, p)
    stmts = block(copy_tree(stmts), visible)
    if replace:
        mapping = resolve_chains(replace)
        substitute(stmts, mapping)
        roots = substitute_tree(roots, mapping)
    return stmts, roots, changed or bool(replace)
