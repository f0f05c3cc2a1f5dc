"""The SSA invariants, checked: every value is defined exactly once, before it is used,
and a value made inside a loop is used only inside it.  The tests run
:func:`verify` after every stage and pass."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from ..errors import InternalError
from .nodes import Graph, If, Loop, Op, Operand, Stmt, Var
from .rewrite import operands_of


def verify(graph: Graph, extra: Iterable[Stmt] = ()) -> None:
    """Check SSA: every value is defined exactly once, before it is used (in program
    order), and a value made inside a loop is used only inside that loop."""
    verify_body(graph.params, [*graph.ops, *extra], [graph.result], graph.__str__)


def verify_body(
    params: Iterable[Var],
    stmts: list[Stmt],
    results: Iterable[Any],
    shown: Callable[[], str],
) -> None:
    """:func:`verify` for statements and the (nested tuples of) operands they return;
    a failure prints what `shown()` says."""
    defined: dict[str, Var] = {}
    scope: dict[Var, tuple[Loop, ...]] = {}

    def fail(message: str) -> None:
        raise InternalError(f"IR invalid: {message}\n{shown()}")

    # `where` is the statement (or "parameters", "return"), shown only on failure:
    # the text of a loop holds its whole body.
    def use(x: Operand | None, where: Stmt | str, loops: tuple[Loop, ...]) -> None:
        if not isinstance(x, Var):
            return
        if defined.get(x.name) is not x:
            fail(f"{x.name} used before its definition in {_line(where)}")
        if scope[x] != loops[: len(scope[x])]:
            fail(f"{x.name}, made inside a loop, is used outside it in {_line(where)}")

    def define(v: Var, where: Stmt | str, loops: tuple[Loop, ...]) -> None:
        if v.name in defined:
            fail(f"{v.name} assigned twice ({_line(where)})")
        defined[v.name] = v
        scope[v] = loops

    def block(stmts: Iterable[Stmt], loops: tuple[Loop, ...]) -> None:
        for s in stmts:
            where = s
            if isinstance(s, Op):
                for a in s.args:
                    use(a, where, loops)
                for v in s.defines:
                    define(v, where, loops)
            elif isinstance(s, If):
                use(s.cond, where, loops)
                block(s.then, loops)
                for v in s.then_vals:
                    use(v, where, loops)
                block(s.orelse, loops)
                for v in s.else_vals:
                    use(v, where, loops)
                for v in s.outs:
                    define(v, where, loops)
            else:
                inner = loops + (s,)
                for v in [s.iterable, *s.inits]:
                    use(v, where, loops)
                for v in s.carried + ([s.index] if s.index else []):
                    define(v, where, inner)
                block(s.header, inner)
                use(s.cond, where, inner)
                block(s.body, inner)
                for v in [*s.nexts, s.stop]:
                    use(v, where, inner)
                for v in s.outs:
                    define(v, where, loops)

    for p in params:
        define(p, "parameters", ())
    block(stmts, ())
    for r in operands_of(tuple(results)):
        use(r, "return", ())


def _line(where: Stmt | str) -> str:
    return where if isinstance(where, str) else where.lines()[0]
