"""Reverse-mode AD on the SSA graph: walk the statements backwards, building adjoints.

Like micrograd's ``backward``: seed the result's adjoint with 1, visit ops in reverse
order, ask each op's rule for its operands' contributions, and accumulate them (the
first contribution assigns, later ones add; nothing is updated in place).  Only active
values get adjoints: those that depend on a `wrt` parameter.  Zeros are symbolic (no
contribution), and are materialized only where two paths must agree.

Regions reverse structurally.  An `if` becomes an `if` on the same condition whose
branches are the adjoints of the forward branches, merged with phis.  A loop becomes a
loop over the iterations in reverse order that carries the adjoints of the loop's
carried values and accumulates those of the values it reads from outside.  The values
the reverse loop needs from each iteration are pushed on a tape (a list) at the end of
each block in the forward sweep, and popped at the start of its mirror in the reverse
sweep; nothing else is saved.  Loops that can stop early count their trips.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from ..errors import InternalError
from ..ir import (
    Builder,
    Const,
    Graph,
    If,
    Loop,
    Merge,
    Namespace,
    Op,
    Operand,
    Role,
    Stmt,
    Sym,
    Var,
    always_raises,
    as_operand,
    copy_regions,
    defined_in,
    maybe_undefined,
    operands,
    possibly_integral,
    walk,
)
from ..primitives import PRIMITIVES
from ..rules.composites import COMPOSITES
from .activity import active_values, influencing, refuse_steps, tape_positions
from .loops import LoopReversal


@dataclass
class Adjoint:
    """The two sweeps of a gradient: the forward statements (with the tapes the reverse
    sweep reads), the reverse statements, and the gradient of each `wrt` parameter."""

    forward: list[Stmt]
    ops: list[Stmt]
    grads: list[Operand]
    checks: list[Op]  # ops kept for their effect (the scalar-result check)
    # Each forward value's total adjoint (for pictures); inside a loop, per iteration.
    of: dict[Var, Operand] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [line for s in self.checks + self.ops for line in s.lines()]
        return "\n".join(
            ["reverse:", *("    " + line for line in lines)]
            + [f"    return {', '.join(map(repr, self.grads))}"]
        )


def _use_counts(stmts: list[Stmt], result: Operand) -> Counter:
    """How often each value is read; a read inside a deeper loop counts as many."""
    depth: dict[Var, int] = {}
    counts: Counter = Counter()

    def block(body: list[Stmt], d: int) -> None:
        for s in body:
            if isinstance(s, Loop):
                for v in s.carried + ([s.index] if s.index else []):
                    depth[v] = d + 1
            for x in operands(s):
                if isinstance(x, Var):
                    counts[x] += 1 if depth.get(x, 0) >= d else 2
            if isinstance(s, If):
                block(s.then, d)
                block(s.orelse, d)
            elif isinstance(s, Loop):
                block(s.header, d + 1)
                block(s.body, d + 1)
            for v in s.defines:
                depth[v] = d

    block(stmts, 0)
    counts[result] += 1
    return counts


class _Reverse(LoopReversal):
    def __init__(
        self,
        graph: Graph,
        wrt: list[Var],
        names: Namespace,
        composites: bool = True,
        scalars: Iterable[Var] = (),
    ):
        self.graph = graph
        self.scalars = list(scalars)  # parameters the code is written for numbers
        self.composites = COMPOSITES if composites else {}
        self.scalar_classes = None
        self.forward = copy_regions(graph.ops)
        active = active_values(self.forward, wrt)
        refuse_steps(self.forward, active)
        self.active = active & influencing(self.forward, [graph.result])
        self.builder = Builder(names)
        self.builder.integral = possibly_integral(self.forward)
        self.named: set[Operand] = set()  # values that already are some value's adjoint
        self.defs = {v: s for s in walk(self.forward) for v in s.defines}
        self.uses = _use_counts(self.forward, graph.result)
        self.tapes: list[Op] = []  # `saved = []` statements for the forward preamble
        self.mirror: dict[int, list[Stmt]] = (
            {}
        )  # id(forward block) -> its reverse block
        self.final: dict[Var, Operand] = {}  # the latest adjoint of each value
        # The tapes of the function itself (a gradient differentiated again): which
        # positions of each push carry derivatives, and the tape of their adjoints.
        self.tape_positions = tape_positions(self.forward, self.active)
        self.maybe_undefined = maybe_undefined(self.forward)
        self.adjoint_tapes: dict[Var, Var] = {}

    def run(self, wrt: list[Var], seed: Var | None = None) -> Adjoint:
        b = self.builder
        result = self.graph.result
        checks: list[Op] = []
        if isinstance(result, Var) and seed is None:
            checks.append(
                Op("check_scalar", (result,), b.var("checked"), {}, self.graph.loc)
            )
        adjoints: dict[Var, Operand] = {}
        if result in self.active:
            adjoints[result] = self.final[result] = seed or Const(1.0)
        self.block(self.forward, adjoints)
        b.loc, b.lib = None, "np"
        grads = [
            (
                self.writable(adjoints[p])
                if p in adjoints
                else self.zeros(p, hint="d" + p.hint, role=Role.ADJOINT)
            )
            for p in wrt
        ]
        made = [Op("new_stack", (), t) for t in self.adjoint_tapes.values()]
        return Adjoint(
            self.tapes + self.forward, made + b.ops, grads, checks, self.final
        )

    def writable(self, gradient: Operand) -> Operand:
        """A gradient the caller may update in place: a spread of a reduction's adjoint
        (a read-only view, `np.broadcast_to`) is copied into an array of its own."""
        made = self.builder.defs.get(gradient) if isinstance(gradient, Var) else None
        if made is None or not PRIMITIVES[made.prim].spread:
            return gradient
        copy = self.builder.emit("array_copy", gradient, hint=gradient.hint)
        copy.role, made.out.role, made.out.hint = Role.ADJOINT, Role.TEMP, "spread"
        return copy

    def exists(self, value: Operand | None) -> bool:
        """Whether `value` surely exists (it is not a name defined on some paths)."""
        return value is not None and value not in self.maybe_undefined

    def zeros(
        self, like: Operand, hint: str | None = None, role: str = Role.TEMP
    ) -> Operand:
        b = self.builder
        if not self.exists(like):
            # No shape to read where the value does not exist; where it does, the
            # zero is added to an adjoint of the right shape, or not read at all.
            return Const(0.0)
        return b.emit("zeros", b.emit("shape", like), hint=hint, role=role)

    def shaped(self, g: Operand, out: Var, v: Var) -> Operand:
        """g, the adjoint of `out`, as the adjoint of `v`, the value out takes
        where v is defined (a branch's value, a loop's next): where out exists on
        some paths only, g may be the zero stand-in of `zeros`, which the reverse
        of `v[i] = c` would index, so it is given v's shape (`g + 0.0` for a
        number folds away)."""
        if self.exists(out) or not self.exists(v):
            return g
        shaped = self.builder.emit("add", g, self.zeros(v))
        self.named.add(shaped)  # a temporary, for the optimizer to fold
        return shaped

    def block(self, stmts: list[Stmt], adjoints: dict[Var, Operand]) -> None:
        for s in reversed(stmts):
            if isinstance(s, Op):
                kind = PRIMITIVES[s.prim].kind
                if kind == "tape":
                    self.reverse_tape_op(s, adjoints)
                elif s.out in adjoints and kind != "zero":
                    self.visit(s, adjoints)
            elif isinstance(s, If):
                self.reverse_if(s, adjoints)
            else:
                self.reverse_loop(s, adjoints)

    # --- ops ------------------------------------------------------------------------

    def visit(self, op: Op, adjoints: dict[Var, Operand]) -> None:
        b = self.builder
        b.loc, b.lib = op.loc, op.params.get("lib", "np")
        if self.visit_composite(op, adjoints):
            return
        prim = PRIMITIVES[op.prim]
        if prim.derivative is None:
            raise InternalError(f"no derivative rule for primitive {op.prim!r}")
        rules = prim.derivative.rules
        static = {k: op.params.get(k, default) for k, default in prim.static}
        g, y = Sym(adjoints[op.out], b), Sym(op.out, b)
        args = [Sym(a, b) for a in op.args]
        for x, rule in zip(op.args, rules):
            if rule is None or x not in self.active:
                continue
            contribution = rule(g, y, *args, **static)
            if contribution is None:
                continue
            if prim.broadcasting and not self.may_stay_broadcast(x):
                contribution = Sym(
                    b.emit("unbroadcast", as_operand(contribution), x), b
                )
            self.accumulate(adjoints, x, as_operand(contribution))

    def visit_composite(self, op: Op, adjoints: dict[Var, Operand]) -> bool:
        """Differentiate the pattern of ops ending at `op` at once, where a composite
        rule applies (see rules.COMPOSITES); return whether one did."""
        for match in self.composites.get(op.prim, ()):
            contributions = match(op, self.made)
            if contributions is None:
                continue
            b = self.builder
            g = Sym(adjoints[op.out], b)
            for x, rule in contributions:
                if isinstance(x, Var) and x in self.active:
                    c = as_operand(rule(g, lambda v: Sym(v, b)))
                    self.accumulate(adjoints, x, b.emit("unbroadcast", c, x))
            return True
        return False

    def made(self, x: Operand, prim: str) -> Op | None:
        """The forward op of primitive `prim` that made x, if that is what made it."""
        op = self.defs.get(x) if isinstance(x, Var) else None
        return op if isinstance(op, Op) and op.prim == prim else None

    def may_stay_broadcast(self, x: Var) -> bool:
        """Whether x's adjoint may keep the broadcast shape of its one consumer.

        Summing over broadcast axes commutes with the elementwise rule of x's own op
        (a product with factors constant along those axes), so a temporary used once
        and made by an elementwise op passes its adjoint on unsummed; the sum happens
        once, where the adjoint reaches a named value or another kind of op.
        """
        op = self.defs.get(x)
        return (
            x.role == Role.TEMP
            and self.uses[x] == 1
            and isinstance(op, Op)
            and PRIMITIVES[op.prim].broadcasting
        )

    def accumulate(self, adjoints: dict[Var, Operand], x: Var, c: Operand) -> None:
        """Add contribution `c` into x's adjoint; the first one names it `d<x>`.

        A temporary of the reverse sweep that is nobody's adjoint yet is simply renamed.
        """
        b = self.builder
        hint = "d" + x.hint
        role = Role.TEMP if x.role == Role.TEMP else Role.ADJOINT
        if x in adjoints:
            adjoints[x] = b.emit("add", adjoints[x], c, hint=hint, role=role)
        elif c in b.defs and c.role == Role.TEMP and c not in self.named:
            c.name, c.hint, c.role = b.names.fresh(hint), hint, role
            adjoints[x] = c
        elif x.role != Role.TEMP or isinstance(c, Const):
            adjoints[x] = b.emit("copy", c, hint=hint, role=Role.ADJOINT)
        else:
            adjoints[x] = c
        self.named.add(adjoints[x])
        self.final[x] = adjoints[x]

    # --- tapes of the function itself ----------------------------------------------

    def adjoint_tape(self, tape: Var) -> Var:
        """The list that carries adjoints back from a tape's pops to its pushes: the
        reverse sweep meets the pops first (last popped, first met), pushes each
        popped value's adjoint, and pops them at the pushes, in LIFO order."""
        if tape not in self.adjoint_tapes:
            self.adjoint_tapes[tape] = self.builder.var("d" + tape.hint, Role.USER)
        return self.adjoint_tapes[tape]

    def saves_derivatives(self, stmts: list[Stmt]) -> bool:
        """Whether the statements push active values on a tape of the function: then
        derivatives reach them through the tape, whatever else flows out of them."""
        return any(
            isinstance(s, Op)
            and s.prim == "push"
            and self.tape_positions.get(s.args[0])
            for s in walk(stmts)
        )

    def reverse_tape_op(self, op: Op, adjoints: dict[Var, Operand]) -> None:
        """A pop's adjoint pushes the popped values' adjoints on the adjoint tape; a
        push's adjoint pops them and adds them into the pushed values' adjoints."""
        positions = self.tape_positions.get(op.args[0])
        if not positions:
            return
        b = self.builder
        b.loc = op.loc
        tape = self.adjoint_tape(op.args[0])
        if op.prim == "pop":
            outs = [op.outs[i] for i in positions]
            values = [adjoints[o] if o in adjoints else self.zeros(o) for o in outs]
            b.emit("push", tape, *values)
            return
        pushed = [op.args[1 + i] for i in positions]
        popped = tuple(
            b.var("d" + v.hint if isinstance(v, Var) else "dpopped") for v in pushed
        )
        b.ops.append(Op("pop", (tape,), b.var("popped"), {}, op.loc, popped))
        for v, g in zip(pushed, popped):
            if isinstance(v, Var) and v in self.active:
                self.accumulate(adjoints, v, g)

    # --- branches -------------------------------------------------------------------

    def reverse_if(self, s: If, adjoints: dict[Var, Operand]) -> None:
        flowing = [(o, adjoints[o]) for o in s.outs if o in adjoints]
        if not flowing and not self.saves_derivatives(s.then + s.orelse):
            return
        b = self.builder
        sides = []
        for body, vals in ((s.then, s.then_vals), (s.orelse, s.else_vals)):
            branch = dict(adjoints)
            saved, b.ops = b.ops, []
            b.loc = s.loc
            for out, g in flowing:
                v = vals[s.outs.index(out)]
                if isinstance(v, Var) and v in self.active:
                    self.accumulate(branch, v, self.shaped(g, out, v))
            self.block(body, branch)
            self.mirror[id(body)] = b.ops
            sides.append((b.ops, branch))
            b.ops = saved
        inside = defined_in(s.then + s.orelse) | set(s.outs)
        (then_ops, then_adj), (else_ops, else_adj) = sides
        region = If(self.reverse_condition(s), then_ops, else_ops, loc=s.loc)
        for k in dict.fromkeys([*then_adj, *else_adj]):
            if k in inside:
                continue
            if then_adj.get(k) is else_adj.get(k):
                # The same adjoint on both paths (`p if c else p`), made before the
                # branch: no merge, but it is k's adjoint from here on.
                adjoints[k] = self.final[k] = then_adj[k]
                continue
            then = self._in_block(then_ops, then_adj.get(k), k)
            orelse = self._in_block(else_ops, else_adj.get(k), k)
            out = b.var(
                "d" + k.hint, Role.TEMP if k.role == Role.TEMP else Role.ADJOINT
            )
            region.merges.append(Merge(out, then, orelse))
            adjoints[k] = self.final[k] = out
            self.named.add(out)
        b.loc = s.loc
        b.ops.append(region)

    @staticmethod
    def reverse_condition(s: If) -> Operand:
        """The If's condition in the reverse sweep, which runs only if the forward
        sweep did not raise: the branch that always raises is never taken there
        (the optimizer then keeps the other branch alone)."""
        if always_raises(s.then) != always_raises(s.orelse):
            return Const(always_raises(s.orelse))
        return s.cond

    def _in_block(self, ops: list[Stmt], value: Operand | None, like: Var) -> Operand:
        """`value`, or zeros shaped like `like` made at the end of the block `ops`."""
        if value is not None:
            return value
        b = self.builder
        saved, b.ops = b.ops, ops
        try:
            return self.zeros(like)
        finally:
            b.ops = saved


def reverse(
    graph: Graph,
    wrt: list[Var],
    names: Namespace,
    seed: Var | None = None,
    composites: bool = True,
    scalars: Iterable[Var] = (),
) -> Adjoint:
    """Build the adjoint of `graph` with respect to the parameters `wrt`.  The result's
    adjoint is 1 (a scalar result, which the gradient checks), or the parameter `seed`
    of the generated function (any result: a vector-Jacobian product).  Without
    `composites`, every op takes its own rule (each node gets its adjoint).
    `scalars` are parameters the code is written for numbers (shape `()`): what
    is made from them and the loop index is recomputed, not taped."""
    return _Reverse(graph, wrt, names, composites, scalars).run(wrt, seed)
