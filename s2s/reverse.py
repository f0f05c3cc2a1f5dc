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

import copy
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .errors import InternalError, UnsupportedSyntaxError
from .ir import (
    Builder,
    possibly_integral,
    pushed_values,
    Const,
    Graph,
    If,
    Loop,
    maybe_undefined,
    Namespace,
    Op,
    Operand,
    Stmt,
    Sym,
    Var,
    as_operand,
    operands,
    walk,
)
from .primitives import PRIMITIVES, differentiable_operands
from .rules import ADJOINTS, BROADCASTING, COMPOSITES, NONDIFFERENTIABLE, TAPE_OPS


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


#: Ops whose result may be a read-only view of a smaller array.
_SPREADS = frozenset({"broadcast_to", "unreduce", "unreduce_to"})


def _differentiable_args(op: Op) -> list[Operand]:
    if op.prim in NONDIFFERENTIABLE or op.prim in TAPE_OPS:
        return []
    return differentiable_operands(PRIMITIVES[op.prim], op.args)


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


#: Operands that count or index (a range's bounds, an index, a shape): where one
#: depends on a differentiated parameter, the function is a step in it.
_COUNTING = {"range": slice(0, None), "getitem": slice(1, None)}
_COUNTING |= {p: slice(0, None) for p in ("zeros", "ones", "eye", "arange")}
_COUNTING |= {"reshape": slice(1, None), "broadcast_to": slice(1, None)}


def _refuse_active_counts(stmts: list[Stmt], active: set[Var]) -> None:
    """Refuse a differentiated parameter used as a count, an index or a size: it
    has no derivative there (and the gradient's caller passes it as a float)."""
    for s in walk(stmts):
        counting = _COUNTING.get(s.prim) if isinstance(s, Op) else None
        if counting is not None and any(x in active for x in s.args[counting]):
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


def copy_regions(stmts: list[Stmt]) -> list[Stmt]:
    """A copy of the statement tree whose blocks and regions can be changed freely
    (the ops themselves are shared)."""
    out: list[Stmt] = []
    for s in stmts:
        if isinstance(s, If):
            s = copy.copy(s)
            s.then, s.orelse = copy_regions(s.then), copy_regions(s.orelse)
            s.outs, s.then_vals, s.else_vals = (
                list(s.outs),
                list(s.then_vals),
                list(s.else_vals),
            )
        elif isinstance(s, Loop):
            s = copy.copy(s)
            s.header, s.body = copy_regions(s.header), copy_regions(s.body)
            s.carried, s.inits, s.nexts, s.outs = (
                list(s.carried),
                list(s.inits),
                list(s.nexts),
                list(s.outs),
            )
        out.append(s)
    return out


def defined_in(stmts: list[Stmt]) -> set[Var]:
    """Every value a statement tree defines, loop-carried values and indices included."""
    found: set[Var] = set()
    for s in walk(stmts):
        found.update(s.defines)
        if isinstance(s, Loop):
            found.update(s.carried)
            found.add(s.index)
    return found


def substitute(stmts: Iterable[Stmt], mapping: dict[Var, Operand]) -> None:
    """Replace operands throughout a statement tree (in place)."""

    def sub(x):
        return mapping.get(x, x) if isinstance(x, Var) else x

    for s in walk(list(stmts)):
        if isinstance(s, Op):
            s.args = tuple(sub(a) for a in s.args)
        elif isinstance(s, If):
            s.cond = sub(s.cond)
            s.then_vals = [sub(v) for v in s.then_vals]
            s.else_vals = [sub(v) for v in s.else_vals]
        else:
            s.inits = [sub(v) for v in s.inits]
            s.nexts = [sub(v) for v in s.nexts]
            s.iterable, s.cond, s.stop = sub(s.iterable), sub(s.cond), sub(s.stop)


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


class _Reverse:
    def __init__(
        self, graph: Graph, wrt: list[Var], names: Namespace, composites: bool = True
    ):
        self.graph = graph
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
                else self.zeros(p, hint="d" + p.hint, role="adjoint")
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
        if made is None or made.prim not in _SPREADS:
            return gradient
        copy = self.builder.emit("array_copy", gradient, hint=gradient.hint)
        copy.role, made.out.role, made.out.hint = "adjoint", "temp", "spread"
        return copy

    def exists(self, value: Operand | None) -> bool:
        """Whether `value` surely exists (it is not a name defined on some paths)."""
        return value is not None and value not in self.maybe_undefined

    def zeros(
        self, like: Operand, hint: str | None = None, role: str = "temp"
    ) -> Operand:
        b = self.builder
        if not self.exists(like):
            # No shape to read where the value does not exist; where it does, the
            # zero is added to an adjoint of the right shape, or not read at all.
            return Const(0.0)
        return b.emit("zeros", b.emit("shape", like), hint=hint, role=role)

    def block(self, stmts: list[Stmt], adjoints: dict[Var, Operand]) -> None:
        for s in reversed(stmts):
            if isinstance(s, Op):
                if s.prim in TAPE_OPS:
                    self.reverse_tape_op(s, adjoints)
                elif s.out in adjoints and s.prim not in NONDIFFERENTIABLE:
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
        rules = ADJOINTS.get(op.prim)
        if rules is None:
            raise InternalError(f"no derivative rule for primitive {op.prim!r}")
        prim = PRIMITIVES[op.prim]
        static = {k: op.params.get(k, default) for k, default in prim.static}
        g, y = Sym(adjoints[op.out], b), Sym(op.out, b)
        args = [Sym(a, b) for a in op.args]
        for x, rule in zip(op.args, rules):
            if rule is None or x not in self.active:
                continue
            contribution = rule(g, y, *args, **static)
            if contribution is None:
                continue
            if op.prim in BROADCASTING and not self.may_stay_broadcast(x):
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
            x.role == "temp"
            and self.uses[x] == 1
            and isinstance(op, Op)
            and op.prim in BROADCASTING
        )

    def accumulate(self, adjoints: dict[Var, Operand], x: Var, c: Operand) -> None:
        """Add contribution `c` into x's adjoint; the first one names it `d<x>`.

        A temporary of the reverse sweep that is nobody's adjoint yet is simply renamed.
        """
        b = self.builder
        hint = "d" + x.hint
        role = "temp" if x.role == "temp" else "adjoint"
        if x in adjoints:
            adjoints[x] = b.emit("add", adjoints[x], c, hint=hint, role=role)
        elif c in b.defs and c.role == "temp" and c not in self.named:
            c.name, c.hint, c.role = b.names.fresh(hint), hint, role
            adjoints[x] = c
        elif x.role != "temp" or isinstance(c, Const):
            adjoints[x] = b.emit("copy", c, hint=hint, role="adjoint")
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
            self.adjoint_tapes[tape] = self.builder.var("d" + tape.hint, "user")
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
                    self.accumulate(branch, v, g)
            self.block(body, branch)
            self.mirror[id(body)] = b.ops
            sides.append((b.ops, branch))
            b.ops = saved
        inside = defined_in(s.then + s.orelse) | set(s.outs)
        (then_ops, then_adj), (else_ops, else_adj) = sides
        region = If(s.cond, then_ops, else_ops, loc=s.loc)
        for k in dict.fromkeys([*then_adj, *else_adj]):
            if k in inside or then_adj.get(k) is else_adj.get(k):
                continue
            region.then_vals.append(self._in_block(then_ops, then_adj.get(k), k))
            region.else_vals.append(self._in_block(else_ops, else_adj.get(k), k))
            out = b.var("d" + k.hint, "temp" if k.role == "temp" else "adjoint")
            region.outs.append(out)
            adjoints[k] = self.final[k] = out
            self.named.add(out)
        b.loc = s.loc
        b.ops.append(region)

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

    # --- loops ----------------------------------------------------------------------

    def reverse_loop(self, loop: Loop, adjoints: dict[Var, Operand]) -> None:
        b = self.builder
        carried = [k for k, c in enumerate(loop.carried) if c in self.active]
        if not any(
            loop.outs[k] in adjoints for k in carried
        ) and not self.saves_derivatives([loop]):
            return
        inner = defined_in([loop])
        outside = list(
            dict.fromkeys(
                x
                for st in walk(loop.body)
                for x in (*operands(st), *(loop.nexts[k] for k in carried))
                if isinstance(x, Var) and x in self.active and x not in inner
            )
        )
        b.loc = loop.loc
        phis, inits = [], []
        for k in carried:
            out = loop.outs[k]
            phis.append(b.var("d" + out.hint, "adjoint"))
            if out in adjoints:
                inits.append(adjoints[out])
            elif (
                loop.inits[k] is None
            ):  # made in the loop, unused after: out may not exist
                inits.append(Const(0.0))
            else:
                inits.append(self.zeros(out))
        for u in outside:
            phis.append(b.var("d" + u.hint, "adjoint"))
            inits.append(adjoints[u] if u in adjoints else self.zeros(u))
        self.named.update(phis)

        saved, b.ops = b.ops, []
        body_adj: dict[Var, Operand] = dict(zip(outside, phis[len(carried) :]))
        for k, phi in zip(carried, phis):
            nxt = loop.nexts[k]
            if isinstance(nxt, Var) and nxt in self.active:
                self.accumulate(body_adj, nxt, phi)
        self.block(loop.body, body_adj)
        b.loc = loop.loc
        nexts = [
            (
                body_adj[loop.carried[k]]
                if loop.carried[k] in body_adj
                else self.zeros(loop.outs[k])
            )
            for k in carried
        ] + [body_adj[u] for u in outside]
        body, b.ops = b.ops, saved
        self.mirror[id(loop.body)] = body

        index = b.var(loop.index.hint, "user") if loop.index is not None else None
        region = Loop(
            phis,
            inits,
            body,
            nexts,
            [b.var(p.hint, p.role) for p in phis],
            index=index,
            iterable=self.reverse_iterations(loop),
            loc=loop.loc,
        )
        b.ops.append(region)
        for u, out in zip(outside, region.outs[len(carried) :]):
            adjoints[u] = (
                out  # the accumulator started from u's adjoint: it replaces it
            )
            self.final[u] = out
        for k, out in zip(carried, region.outs):
            init = loop.inits[k]
            if isinstance(init, Var) and init in self.active:
                self.accumulate(adjoints, init, out)
        if index is not None:
            substitute(body, {loop.index: index})
        self.recompute(loop, index)
        self.attach_tapes(loop, region)

    def reverse_iterations(self, loop: Loop) -> Operand:
        """What the reverse loop iterates over: the forward iterations, last first."""
        b = self.builder
        trips = None
        if loop.iterable is None or loop.stop is not None:
            trips = self.count_trips(loop)
        if loop.iterable is None:
            return b.emit("range", Const(0), trips, Const(1), lib="builtin")
        made = self.defs.get(loop.iterable)
        steps = loop.iterable  # a range, or a slice of one: iterable again
        if isinstance(made, Op) and made.prim == "range":
            steps = b.emit("range", *made.args, lib="builtin")
        elif isinstance(made, Op) and made.prim == "reversed":
            # A reverse sweep's loop, differentiated again: forwards over the range.
            if trips is None:
                return made.args[0]
            backwards = (False, ("slice", False, False, True))
            steps = b.emit("getitem", made.args[0], Const(-1), spec=backwards)
        if trips is not None:
            spec = (False, ("slice", False, True, False))
            steps = b.emit("getitem", steps, trips, spec=spec)
        return b.emit("reversed", steps, lib="builtin")

    def count_trips(self, loop: Loop) -> Var:
        """Give a forward loop a counter of its iterations; return its final value."""
        b = self.builder
        phi, nxt, out = (
            b.var("trips", "user"),
            b.var("trips", "user"),
            b.var("trips", "user"),
        )
        loop.body.insert(0, Op("add", (phi, Const(1)), nxt))
        loop.carried.append(phi)
        loop.inits.append(Const(0))
        loop.nexts.append(nxt)
        loop.outs.append(out)
        self.defs[out] = loop
        return out

    def recompute(self, loop: Loop, index: Var | None) -> None:
        """Recompute at the start of each reverse iteration the cheap values the
        forward iteration derives from its index and from values made before the loop
        (a row `x[t]`, `t + 1`), so that the tape does not save them."""
        inner = defined_in([loop])
        ints = {loop.index}  # values known to be Python ints: the index and its kin
        copies: dict[Var, Operand] = {loop.index: index} if index is not None else {}
        ops = []
        for s in loop.body:
            if not isinstance(s, Op) or s.outs or not _cheap(s, ints, self.scalar):
                continue
            if any(
                isinstance(a, Var) and a in inner and a not in copies for a in s.args
            ):
                continue
            args = tuple(copies.get(a, a) if isinstance(a, Var) else a for a in s.args)
            copies[s.out] = self.builder.var(s.out.hint, s.out.role)
            ops.append(Op(s.prim, args, copies[s.out], dict(s.params), s.loc))
            if s.prim in _INT_ARITHMETIC:
                ints.add(s.out)
        copies.pop(loop.index, None)
        reverse_body = self.mirror[id(loop.body)]
        substitute(reverse_body, copies)
        for op in reversed(ops):  # each just before its first reader, if any
            readers = [k for k, st in enumerate(reverse_body) if op.out in _reads([st])]
            if readers:
                reverse_body.insert(readers[0], op)

    def scalar(self, x: Operand) -> bool:
        """Whether x is provably a number, not an array: a size (`x.shape[0]`,
        `len(x)`), or what shape classes prove (a `math` argument, say)."""
        made = self.defs.get(x) if isinstance(x, Var) else None
        if isinstance(made, Op) and made.prim in ("len", "ndim", "size", "int"):
            return True
        if isinstance(made, Op) and made.prim == "getitem":
            whole = (
                self.defs.get(made.args[0]) if isinstance(made.args[0], Var) else None
            )
            if isinstance(whole, Op) and whole.prim == "shape":
                return all(
                    self.scalar(p) or isinstance(p, Const) for p in made.args[1:]
                )
        if self.scalar_classes is None:
            from .optimize import ShapeClasses  # late: optimize imports this module

            self.scalar_classes = ShapeClasses(self.forward)
        return self.scalar_classes.is_scalar(x)

    def attach_tapes(self, loop: Loop, region: Loop) -> None:
        """Save, per iteration, the forward values the reverse loop reads: a block's
        values are pushed at its end (the carried values at the start of the body,
        before they are overwritten) and popped at the start of its mirror."""
        reverse_body = self.mirror[id(loop.body)]
        chained = self.chain_iterations(loop, region, _reads(reverse_body))
        read = _reads(reverse_body)
        carried = [v for v in loop.carried if v in read or v in chained]
        if carried:
            popped = self.tape(carried, loop.body, 0, reverse_body)
            region.nexts = [popped.get(x, x) for x in region.nexts]
        for block in self._blocks(loop):
            needed = [v for st in block for v in st.defines if v in read]
            needed = [self.shape_instead(v, block, reverse_body) for v in needed]
            if needed:
                self.tape(needed, block, len(block), self.mirror[id(block)])

    def chain_iterations(self, loop: Loop, region: Loop, read: set[Var]) -> set[Var]:
        """An iteration ends with the values the next one starts with: rather than
        saving a carried value twice, the reverse loop passes each iteration's
        starting value back as the end value of the iteration before it (the last
        iteration's end value is the loop's result).  Returns the carried values
        whose starting values must therefore be saved."""
        body_defs = {v for st in loop.body for v in st.defines}
        chained = set()
        for k, (c, nxt) in enumerate(zip(loop.carried, loop.nexts)):
            # Without an initial value the loop's result exists only after a trip.
            init = loop.inits[k]
            if nxt not in read or nxt not in body_defs or not self.exists(init):
                continue
            end = self.builder.var(nxt.hint, nxt.role)
            region.carried.append(end)
            region.inits.append(loop.outs[k])
            region.nexts.append(c)  # the popped starting value, once it is taped
            region.outs.append(self.builder.var(nxt.hint, nxt.role))
            substitute(self.mirror[id(loop.body)], {nxt: end})
            chained.add(c)
        return chained

    def shape_instead(self, v: Var, block: list[Stmt], reverse_body: list[Stmt]) -> Var:
        """When the reverse loop reads `v` only for its shape (to sum a broadcast
        adjoint back to it), save `np.shape(v)` instead of v's array."""
        readers = [
            st
            for st in walk(reverse_body)
            if any(x is v for x in operands(st) if isinstance(x, Var))
        ]
        if not readers or not all(_reads_only_shape(st, v) for st in readers):
            return v
        shape = self.builder.var(v.hint + "_shape", "temp")
        block.append(Op("shape", (v,), shape, {}, None))
        for st in readers:
            if st.prim == "shape":
                st.prim, st.args = "copy", (shape,)
            else:
                st.prim, st.args = _TO_SHAPE[st.prim], (st.args[0], shape)
        return shape

    def tape(
        self, values: list[Var], block: list[Stmt], at: int, mirror: list[Stmt]
    ) -> dict[Var, Var]:
        """Push `values` at position `at` of a forward block, pop them at the start of
        its mirror, and make the mirror read the popped values (returned)."""
        b = self.builder
        tape = b.var(f"{values[0].hint}_tape", "user")
        self.tapes.append(Op("new_stack", (), tape))
        made = [self.defs[v].loc for v in values if getattr(self.defs.get(v), "loc", 0)]
        where = made[-1] if made and at else None  # the line that made what is saved
        block.insert(at, Op("push", (tape, *values), b.var("pushed"), {}, where))
        popped = tuple(
            b.var(v.hint, "user" if v.role == "param" else v.role) for v in values
        )
        substitute(mirror, dict(zip(values, popped)))
        mirror.insert(0, Op("pop", (tape,), b.var("popped"), outs=popped))
        return dict(zip(values, popped))

    def _blocks(self, loop: Loop) -> Iterable[list[Stmt]]:
        """The loop body and the branches nested in it (not in nested loops)."""
        yield loop.body
        pending = list(loop.body)
        while pending:
            s = pending.pop(0)
            if isinstance(s, If):
                for branch in (s.then, s.orelse):
                    if id(branch) in self.mirror:
                        yield branch
                    pending.extend(branch)


#: Ops that take constant time whatever their operands: views and sizes.
_CONSTANT_TIME = {"getitem", "shape", "len", "ndim", "size", "tuple", "copy"}
#: Ops that are cheap on numbers (and only on them: on arrays they are not).
_ARITHMETIC = {
    *("add", "sub", "mul", "div", "floordiv", "mod", "neg", "int", "float"),
    *("lt", "le", "gt", "ge", "eq", "ne", "both", "either", "not"),
}
#: Those whose result is an int when their operands are.
_INT_ARITHMETIC = _ARITHMETIC - {"div", "float"}


def _reads(stmts: list[Stmt]) -> set[Var]:
    return {x for st in walk(stmts) for x in operands(st) if isinstance(x, Var)}


#: Adjoint helpers that read their second operand only for its shape, and their
#: variants that take the shape itself.
_TO_SHAPE = {"unbroadcast": "unbroadcast_to", "unreduce": "unreduce_to"}


def _reads_only_shape(st: Stmt, v: Var) -> bool:
    if not isinstance(st, Op):
        return False
    if st.prim == "shape":
        return True
    return st.prim in _TO_SHAPE and st.args[0] is not v and st.args[1] is v


def _cheap(op: Op, ints: set[Var], scalar: Callable[[Operand], bool]) -> bool:
    """Whether recomputing `op` costs about as little as popping its value: views,
    and arithmetic on numbers (not on arrays)."""
    if op.prim in _CONSTANT_TIME:
        return True
    return op.prim in _ARITHMETIC and all(
        isinstance(a, Const) or a in ints or scalar(a) for a in op.args
    )


def tape_positions(stmts: list[Stmt], active: set[Var]) -> dict[Var, list[int]]:
    """For each tape, the positions of the values it carries that are active (those
    whose derivative must travel with them)."""
    found: dict[Var, list[int]] = {}
    for s in walk(stmts):
        if isinstance(s, Op) and s.prim == "pop":
            mine = [i for i, o in enumerate(s.outs) if o in active]
            found[s.args[0]] = sorted(set(found.get(s.args[0], [])) | set(mine))
    return found


def reverse(
    graph: Graph,
    wrt: list[Var],
    names: Namespace,
    seed: Var | None = None,
    composites: bool = True,
) -> Adjoint:
    """Build the adjoint of `graph` with respect to the parameters `wrt`.  The result's
    adjoint is 1 (a scalar result, which the gradient checks), or the parameter `seed`
    of the generated function (any result: a vector-Jacobian product).  Without
    `composites`, every op takes its own rule (each node gets its adjoint)."""
    return _Reverse(graph, wrt, names, composites).run(wrt, seed)
