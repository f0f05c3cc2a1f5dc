"""Reverse-mode AD on the SSA graph: walk the ops backwards and build the adjoint ops.

Like micrograd's ``backward``: seed the result's adjoint with 1, visit ops in reverse
order, ask each op's rule for its operands' contributions, and accumulate them (the
first contribution assigns, later ones add; nothing is updated in place).  Only active
values get adjoints: those that depend on a `wrt` parameter and reach the result.
Zeros are symbolic (no contribution), never `0 * x`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .errors import InternalError
from .ir import Builder, Const, Graph, Namespace, Op, Operand, Sym, Var, as_operand
from .primitives import PRIMITIVES
from .rules import ADJOINTS, BROADCASTING, NONDIFFERENTIABLE


@dataclass
class Adjoint:
    """The reverse sweep of a graph: its ops, and the gradient of each `wrt` parameter."""

    ops: list[Op]
    grads: list[Operand]
    checks: list[Op]  # ops kept for their effect (the scalar-result check)

    def __str__(self) -> str:
        lines = [f"    {op}" for op in self.checks + self.ops]
        return "\n".join(["reverse:", *lines, f"    return {', '.join(map(repr, self.grads))}"])


def active_values(graph: Graph, wrt: list[Var]) -> set[Var]:
    """Values that depend, through differentiable operands, on a `wrt` parameter."""
    active = set(wrt)
    for op in graph.ops:
        if op.prim in NONDIFFERENTIABLE:
            continue
        prim = PRIMITIVES[op.prim]
        names = prim.operands if len(prim.operands) == len(op.args) else ()
        for i, a in enumerate(op.args):
            if a in active and (not names or names[i] not in prim.nondiff):
                active.add(op.out)
                break
    return active


class _Reverse:
    def __init__(self, graph: Graph, wrt: list[Var], names: Namespace):
        self.graph = graph
        self.active = active_values(graph, wrt)
        self.builder = Builder(names)
        self.adjoints: dict[Var, Operand] = {}
        self.named: set[Operand] = set()  # values that already are some value's adjoint
        self.uses = Counter(
            a for op in graph.ops for a in op.args if isinstance(a, Var)
        )
        self.uses[graph.result] += 1
        self.defs = {op.out: op for op in graph.ops}

    def run(self, wrt: list[Var]) -> Adjoint:
        b = self.builder
        result = self.graph.result
        checks: list[Op] = []
        if isinstance(result, Var):
            checks.append(
                Op("check_scalar", (result,), b.var("checked"), {}, self.graph.loc)
            )
        if result in self.active:
            self.adjoints[result] = Const(1.0)
        for op in reversed(self.graph.ops):
            if op.out in self.adjoints and op.prim not in NONDIFFERENTIABLE:
                self.visit(op)
        grads = []
        b.loc = None
        for p in wrt:
            if p in self.adjoints:
                grads.append(self.adjoints[p])
            else:
                grads.append(
                    b.emit(
                        "zeros", b.emit("shape", p), hint="d" + p.hint, role="adjoint"
                    )
                )
        return Adjoint(b.ops, grads, checks)

    def visit(self, op: Op) -> None:
        b = self.builder
        b.loc, b.lib = op.loc, op.params.get("lib", "np")
        rules = ADJOINTS.get(op.prim)
        if rules is None:
            raise InternalError(f"no derivative rule for primitive {op.prim!r}")
        prim = PRIMITIVES[op.prim]
        static = {k: op.params.get(k, default) for k, default in prim.static}
        g, y = Sym(self.adjoints[op.out], b), Sym(op.out, b)
        args = [Sym(a, b) for a in op.args]
        for i, (x, rule) in enumerate(zip(op.args, rules)):
            if rule is None or x not in self.active:
                continue
            contribution = rule(g, y, *args, **static)
            if contribution is None:
                continue
            if op.prim in BROADCASTING and not self.may_stay_broadcast(x):
                contribution = Sym(
                    b.emit("unbroadcast", as_operand(contribution), x), b
                )
            self.accumulate(x, as_operand(contribution))

    def may_stay_broadcast(self, x: Var) -> bool:
        """Whether x's adjoint may keep the broadcast shape of its one consumer.

        Summing over broadcast axes commutes with the elementwise rule of x's own op
        (a product with factors constant along those axes), so a temporary used once
        and made by an elementwise op passes its adjoint on unsummed; the sum happens
        once, where the adjoint reaches a named value or another kind of op.
        """
        op = self.defs.get(x)
        return (
            x.role == "temp"
            and self.uses[x] == 1
            and op is not None
            and op.prim in BROADCASTING
        )

    def accumulate(self, x: Var, c: Operand) -> None:
        self._accumulate(x, c)
        self.named.add(self.adjoints[x])

    def _accumulate(self, x: Var, c: Operand) -> None:
        """Add contribution `c` into x's adjoint; the first one names it `d<x>`.

        A temporary of the reverse sweep that is nobody's adjoint yet is simply renamed.
        """
        b = self.builder
        hint = "d" + x.hint
        role = "temp" if x.role == "temp" else "adjoint"
        if x in self.adjoints:
            self.adjoints[x] = b.emit("add", self.adjoints[x], c, hint=hint, role=role)
        elif c in b.defs and c.role == "temp" and c not in self.named:
            c.name, c.hint, c.role = b.names.fresh(hint), hint, role
            self.adjoints[x] = c
        elif x.role != "temp" or isinstance(c, Const):
            self.adjoints[x] = b.emit("copy", c, hint=hint, role="adjoint")
        else:
            self.adjoints[x] = c


def reverse(graph: Graph, wrt: list[Var], names: Namespace) -> Adjoint:
    """Build the adjoint ops of `graph` with respect to the parameters `wrt`."""
    return _Reverse(graph, wrt, names).run(wrt)
