"""Reversing loops: the reverse sweep runs the iterations backwards, carrying the
adjoints of the loop's carried values and accumulating those of what it reads from
outside.  What each reverse iteration reads from its forward iteration is pushed on
a tape at the end of each block and popped at the start of its mirror; cheap values
are recomputed instead, an iteration's starting state is handed back as the end
state of the one before, and loops that can stop early count their trips."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Iterable

from ..ir import (
    Carried,
    Const,
    If,
    Loop,
    Op,
    Operand,
    Role,
    Stmt,
    Var,
    defined_in,
    operands,
    substitute,
    walk,
)
from ..primitives import PRIMITIVES
from ..shapes.classes import ShapeClasses


class LoopReversal:
    """The loop reversal of the reverse pass (a mixin of its visitor)."""

    # --- loops ----------------------------------------------------------------------

    def reverse_loop(self, loop: Loop, adjoints: dict[Var, Operand]) -> None:
        b = self.builder
        carried = [k for k, c in enumerate(loop.carried) if c in self.active]
        if not any(
            loop.outs[k] in adjoints for k in carried
        ) and not self.saves_derivatives([loop]):
            return
        inner = defined_in([loop])
        read = [x for st in walk(loop.body) for x in operands(st)]
        read += [loop.nexts[k] for k in carried]  # `s = x` in a body with no op
        outside = list(
            dict.fromkeys(
                x
                for x in read
                if isinstance(x, Var) and x in self.active and x not in inner
            )
        )
        b.loc = loop.loc
        phis, inits = [], []
        for k in carried:
            out = loop.outs[k]
            phis.append(b.var("d" + out.hint, Role.ADJOINT))
            if out in adjoints:
                inits.append(adjoints[out])
            elif (
                loop.inits[k] is None
            ):  # made in the loop, unused after: out may not exist
                inits.append(Const(0.0))
            else:
                inits.append(self.zeros(out))
        for u in outside:
            phis.append(b.var("d" + u.hint, Role.ADJOINT))
            inits.append(adjoints[u] if u in adjoints else self.zeros(u))
        self.named.update(phis)

        saved, b.ops = b.ops, []
        body_adj: dict[Var, Operand] = dict(zip(outside, phis[len(carried) :]))
        for k, phi in zip(carried, phis):
            nxt = loop.nexts[k]
            if isinstance(nxt, Var) and nxt in self.active:
                self.accumulate(body_adj, nxt, self.shaped(phi, loop.outs[k], nxt))
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

        index = b.var(loop.index.hint, Role.USER) if loop.index is not None else None
        carries = [
            Carried(phi, init, nxt, b.var(phi.hint, phi.role))
            for phi, init, nxt in zip(phis, inits, nexts)
        ]
        region = Loop(
            carries,
            body,
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
            b.var("trips", Role.USER),
            b.var("trips", Role.USER),
            b.var("trips", Role.USER),
        )
        loop.body.insert(0, Op("add", (phi, Const(1)), nxt))
        loop.carries.append(Carried(phi, Const(0), nxt, out))
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
            if _keeps_ints(s):
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
            numbers = [(v, ShapeClasses.SCALAR) for v in self.scalars]
            self.scalar_classes = ShapeClasses(self.forward, alike=numbers)
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
            region.carries = [
                replace(c, next=popped.get(c.next, c.next)) for c in region.carries
            ]
        readers: dict[Var, list[Stmt]] = {}  # each value's readers in reverse_body
        for st in walk(reverse_body):
            for x in operands(st):
                found = readers.setdefault(x, []) if isinstance(x, Var) else None
                if found is not None and (not found or found[-1] is not st):
                    found.append(st)
        for block in self._blocks(loop):
            needed = [v for st in block for v in st.defines if v in read]
            needed = [self.shape_instead(v, block, readers.get(v, [])) for v in needed]
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
            # The next end value is this iteration's popped starting value, once
            # it is taped.
            out = self.builder.var(nxt.hint, nxt.role)
            region.carries.append(Carried(end, loop.outs[k], c, out))
            substitute(self.mirror[id(loop.body)], {nxt: end})
            chained.add(c)
        return chained

    def shape_instead(self, v: Var, block: list[Stmt], readers: list[Stmt]) -> Var:
        """When the reverse loop reads `v` only for its shape (to sum a broadcast
        adjoint back to it: all its `readers` there do), save `np.shape(v)`
        instead of v's array."""
        if not readers or not all(_reads_only_shape(st, v) for st in readers):
            return v
        shape = self.builder.var(v.hint + "_shape", Role.TEMP)
        block.append(Op("shape", (v,), shape, {}, None))
        for st in readers:
            if st.prim == "shape":
                st.prim, st.args = "copy", (shape,)
            else:
                variant = PRIMITIVES[st.prim].shape_variant
                st.prim, st.args = variant, (st.args[0], shape)
        return shape

    def tape(
        self, values: list[Var], block: list[Stmt], at: int, mirror: list[Stmt]
    ) -> dict[Var, Var]:
        """Push `values` at position `at` of a forward block, pop them at the start of
        its mirror, and make the mirror read the popped values (returned)."""
        b = self.builder
        tape = b.var(f"{values[0].hint}_tape", Role.USER)
        self.tapes.append(Op("new_stack", (), tape))
        made = [self.defs[v].loc for v in values if getattr(self.defs.get(v), "loc", 0)]
        where = made[-1] if made and at else None  # the line that made what is saved
        block.insert(at, Op("push", (tape, *values), b.var("pushed"), {}, where))
        popped = tuple(b.var(v.hint, v.role.of_copy) for v in values)
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


def _reads(stmts: list[Stmt]) -> set[Var]:
    return {x for st in walk(stmts) for x in operands(st) if isinstance(x, Var)}


def _reads_only_shape(st: Stmt, v: Var) -> bool:
    if not isinstance(st, Op):
        return False
    if st.prim == "shape":
        return True
    variant = PRIMITIVES[st.prim].shape_variant
    return variant is not None and st.args[0] is not v and st.args[1] is v


def _cheap(op: Op, ints: set[Var], scalar: Callable[[Operand], bool]) -> bool:
    """Whether recomputing `op` costs about as little as popping its value: views,
    and arithmetic on numbers (not on arrays)."""
    cost = PRIMITIVES[op.prim].cost
    if cost == "constant":
        return True
    return cost == "number" and all(
        isinstance(a, Const) or a in ints or scalar(a) for a in op.args
    )


def _keeps_ints(op: Op) -> bool:
    """Arithmetic whose result is an int when its operands are."""
    record = PRIMITIVES[op.prim]
    return record.cost == "number" and record.dtype != "float"
