"""Rewriting statement trees: copies that a pass may change, and substitution of
operands (with chains of replacements resolved first)."""

from __future__ import annotations

import copy
from typing import Any, Iterable

from .nodes import Carried, If, Loop, Merge, Op, Operand, Stmt, Var, walk
from .structured import Packed


def copy_regions(stmts: list[Stmt]) -> list[Stmt]:
    """A copy of the statement tree whose blocks and regions can be changed freely
    (the ops themselves are shared)."""
    out: list[Stmt] = []
    for s in stmts:
        if isinstance(s, If):
            s = copy.copy(s)
            s.then, s.orelse = copy_regions(s.then), copy_regions(s.orelse)
            s.merges = list(s.merges)
        elif isinstance(s, Loop):
            s = copy.copy(s)
            s.header, s.body = copy_regions(s.header), copy_regions(s.body)
            s.carries = list(s.carries)
        out.append(s)
    return out


def substitute(stmts: Iterable[Stmt], mapping: dict[Var, Operand]) -> None:
    """Replace operands throughout a statement tree (in place)."""

    def sub(x):
        return mapping.get(x, x) if isinstance(x, Var) else x

    for s in walk(list(stmts)):
        if isinstance(s, Op):
            s.args = tuple(sub(a) for a in s.args)
        elif isinstance(s, If):
            s.cond = sub(s.cond)
            s.merges = [Merge(m.out, sub(m.then), sub(m.orelse)) for m in s.merges]
        else:
            s.carries = [
                Carried(c.var, sub(c.init), sub(c.next), c.out) for c in s.carries
            ]
            s.iterable, s.cond, s.stop = sub(s.iterable), sub(s.cond), sub(s.stop)


def operands_of(tree: Any) -> Iterable[Var]:
    """The variables in a (possibly nested) structure of operands: tuples, lists,
    dicts and :class:`Packed` structures."""
    if isinstance(tree, Packed):
        tree = tree.leaves
    if isinstance(tree, dict):
        tree = tuple(tree.values())
    if isinstance(tree, (tuple, list)):
        for t in tree:
            yield from operands_of(t)
    elif isinstance(tree, Var):
        yield tree


def substitute_tree(tree: Any, replace: dict[Var, Operand]) -> Any:
    """Replace operands in a (possibly nested) structure of roots."""
    if isinstance(tree, Packed):
        return Packed(tree.like, substitute_tree(tree.leaves, replace))
    if isinstance(tree, dict):
        return {k: substitute_tree(v, replace) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        items = [substitute_tree(t, replace) for t in tree]
        return tree._make(items) if hasattr(tree, "_make") else type(tree)(items)
    return replace.get(tree, tree) if isinstance(tree, Var) else tree


def resolve_chains(replace: dict[Var, Operand]) -> dict[Var, Operand]:
    """Follow chains a -> b -> c so that one substitution pass is enough."""
    out = {}
    for k, v in replace.items():
        while isinstance(v, Var) and v in replace:
            v = replace[v]
        out[k] = v
    return out


def copy_tree(stmts: list[Stmt]) -> list[Stmt]:
    """Fresh statement objects all the way down, so passes may edit them (shallow
    copies: a pass replaces an op's fields, it never edits them in place)."""
    out: list[Stmt] = []
    for s in stmts:
        s = _shallow_copy(s)
        if isinstance(s, If):
            s.then, s.orelse = copy_tree(s.then), copy_tree(s.orelse)
            s.merges = list(s.merges)
        elif isinstance(s, Loop):
            s.header, s.body = copy_tree(s.header), copy_tree(s.body)
            s.carries = list(s.carries)
        out.append(s)
    return out


def _shallow_copy(s: Stmt) -> Stmt:
    """`copy.copy(s)`, a third of the cost (statements are plain dataclasses)."""
    new = object.__new__(type(s))
    new.__dict__.update(s.__dict__)
    return new
