"""Which values are written into the expression that reads them rather than named:
a temporary read once, on its own line and in its own block; and an adjoint one
later statement reads, and nothing else (as a careful person writes the reverse
sweep)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

from ..ir import If, Loop, Op, Role, Stmt, Var, has_effect, operands_of
from ..primitives import PRIMITIVES


def _vars(xs: Iterable[Any]) -> list[Var]:
    return [x for x in xs if isinstance(x, Var)]


class Uses:
    """Where each value is read: by which statement, in which block, on which line."""

    def __init__(self, stmts: list[Stmt], returns: Any):
        self.readers: dict[Var, list[tuple[Any, list[Stmt] | None, int | None]]] = (
            defaultdict(list)
        )
        self.block_of: dict[Var, list[Stmt]] = {}
        self.defs: dict[Var, Stmt] = {}
        self._block(stmts, None)
        for v in operands_of(returns):
            self.readers[v].append((None, None, None))

    def _read(self, xs, reader, block, line) -> None:
        for x in _vars(xs):
            self.readers[x].append((reader, block, line))

    def _block(self, body: list[Stmt], section: str | None) -> None:
        for s in body:
            line = s.loc.lineno if s.loc else None
            for v in s.defines:
                self.block_of[v], self.defs[v] = body, s
            if isinstance(s, Op):
                self._read(s.args, s, body, line)
            elif isinstance(s, If):
                self._read([s.cond], s, body, line)
                self._block(s.then, section)
                self._block(s.orelse, section)
                self._read(s.then_vals, s, s.then, line)
                self._read(s.else_vals, s, s.orelse, line)
            else:
                self._read([*s.inits, s.iterable], s, body, line)
                for v in s.carried + ([s.index] if s.index else []):
                    self.block_of[v], self.defs[v] = s.body, s
                self._block(s.header, section)
                self._read([s.cond], s, s.header, line)
                self._block(s.body, section)
                self._read([*s.nexts, s.stop], s, s.body, line)


def inlinable(op: Op, uses: Uses) -> bool:
    readers = uses.readers.get(op.out, [])
    # A tape's list is named: its pushes and pops read it.  An item of a call that
    # returns a tuple is named, so that it can share the call with the others.
    if op.out.role != Role.TEMP or has_effect(op) or op.prim == "new_stack":
        return False
    if PRIMITIVES[op.prim].item is not None:
        return False
    if len(readers) != 1:
        return False
    reader, block, line = readers[0]
    if reader is None or block is not uses.block_of.get(op.out):
        return False
    return op.loc is None or line is None or op.loc.lineno == line


def _accumulates(op: Op) -> bool:
    """`dx = dx + c`: a contribution added to an adjoint."""
    return (
        op.prim == "add"
        and isinstance(op.args[0], Var)
        and op.args[0].role == Role.ADJOINT
        and op.args[0].hint == op.out.hint
    )


def passed_on(stmts: list[Stmt], uses: Uses, inlined: set[Var]) -> set[Var]:
    """Adjoints of the reverse sweep that one later statement of their block reads,
    and nothing else: written into it, as by hand (`dz = (W2.T @ do) * (1 - h**2)`,
    not `dh = W2.T @ do` first), so that no name keeps the array alive to the end of
    the function (on a large array, numpy's next allocation then reuses its memory).
    Evaluating them there reads the same values: the code is in SSA form, and only an
    array nothing else reads is updated in place.  One step only: an expression that
    took in an adjoint keeps its own name."""
    found: set[Var] = set()

    def emitted(x: Var) -> Stmt | None:
        """The statement x's value is written in (x's op, or where it is inlined)."""
        while x in inlined:
            reader = uses.readers[x][0][0]
            if not isinstance(reader, Op):
                return reader
            x = reader.out
        return uses.defs.get(x)

    def takes_in(op: Op) -> bool:
        """Whether op's expression already holds an adjoint written into it."""
        return any(
            a in found or (a in inlined and takes_in(uses.defs[a]))
            for a in _vars(op.args)
        )

    def block(body: list[Stmt], reverse: list[bool]) -> None:
        shown = [
            (s, r)
            for s, r in zip(body, reverse)
            if not (isinstance(s, Op) and s.out in inlined)
        ]
        later = {id(t): k for k, (t, _) in enumerate(shown)}
        for k, (s, r) in enumerate(shown):
            candidate = (
                r
                and isinstance(s, Op)
                and s.out.role == Role.ADJOINT
                and not s.outs
                and not has_effect(s)
                and s.prim != "copy"
                and not takes_in(s)
            )
            readers = uses.readers.get(s.out, []) if candidate else []
            if len(readers) == 1 and isinstance(readers[0][0], Op):
                reader = readers[0][0]
                if _accumulates(s) or _accumulates(reader) and reader.args[0] is s.out:
                    continue  # `dx = dx + c` stays a chain of accumulations
                if later.get(id(emitted(reader.out)), -1) > k:
                    found.add(s.out)
        for s, r in zip(body, reverse):
            for inner in (
                ((s.then, s.orelse) if isinstance(s, If) else (s.header, s.body))
                if isinstance(s, (If, Loop))
                else ()
            ):
                block(inner, [r] * len(inner))

    flags, reverse = [], False
    for s in stmts:  # the sections are marked at the top level
        if isinstance(s, Op) and s.prim == "section":
            reverse = s.params.get("name") == "reverse"
        flags.append(reverse)
    block(stmts, flags)
    return found
