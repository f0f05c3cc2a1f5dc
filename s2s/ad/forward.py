"""Forward mode on the SSA graph: each value and its tangent, computed together.

The tangent of a value is its derivative along the tangents given for the inputs (a
Jacobian-vector product).  Statements are visited in program order; each op is kept
and followed by the ops of its tangent, which come from the rule table
(:mod:`s2s.rules`) by the primitive's kind rather than from a second table:

- ``elementwise``: the Jacobian is diagonal, so an operand's contribution is its
  adjoint rule applied to the operand's tangent (``rule(dx, y, x)``), without summing
  back the broadcast;
- ``linear``: the op itself applied to the tangents (the other operands as they are);
- ``bilinear``: the op with one operand replaced by its tangent, summed over operands;
- ``other``: an explicit rule (see :mod:`s2s.rules.tangents`).

A value whose tangent is zero has none (symbolic zeros); one is materialized only
where two paths meet or a tape must hold it.  Every tangent has its value's shape: a
broadcasting op with an operand that has no tangent broadcasts its tangent up with
`_unbroadcast` (which the optimizer drops where the shapes provably agree).

Regions stay regions: an `if` carries the tangents of its results out of each
branch, a loop carries the tangents of its carried values.  Tapes (a gradient's
lists) carry tangents beside the values pushed on them, so forward mode over a
generated gradient is one sweep: a Hessian-vector product.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import UnsupportedSyntaxError
from ..ir import (
    Builder,
    Carried,
    Const,
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
    as_operand,
    maybe_undefined,
    walk,
)
from ..primitives import PRIMITIVES, operand_names
from .activity import active_values, refuse_steps, tape_positions


def has_tangent_rule(prim: str) -> bool:
    """Whether forward mode can differentiate `prim` (derived, or explicit)."""
    record = PRIMITIVES[prim]
    explicit = record.derivative is not None and record.derivative.tangent is not None
    return explicit or record.kind in ("elementwise", "linear", "bilinear")


@dataclass
class Tangents:
    """The result of forward mode: the sections of statements that compute values and
    tangents together, the tangent parameters, the tangents of the results, and
    pairs (tangent, value) known to have the same shape."""

    sections: list[tuple[str, list[Stmt]]]
    params: list[Var]
    results: list[Operand]
    alike: list[tuple[Var, Var]] = field(default_factory=list)


class _Forward:
    def __init__(self, stmts: list[Stmt], wrt: list[Var], names: Namespace):
        self.builder = Builder(names)
        self.active = active_values(stmts, wrt)
        refuse_steps(stmts, self.active)
        self.positions = tape_positions(stmts, self.active)
        self.undefined = maybe_undefined(stmts)
        self.tangent: dict[Var, Operand] = {}
        self.taken: set[Operand] = set()  # operands that are some value's tangent
        self.alike: list[tuple[Var, Var]] = []
        self.params = []
        for p in wrt:
            dot = Var(names.fresh(p.hint + "_dot"), p.hint + "_dot", Role.PARAM)
            self.params.append(dot)
            self.set(p, dot)

    def set(self, v: Var, t: Operand | None) -> None:
        if t is None:
            return
        self.tangent[v] = t
        self.taken.add(t)
        if isinstance(t, Var):
            self.alike.append((t, v))

    def var(self, v: Var) -> Var:
        """A new variable to hold v's tangent."""
        hint = v.hint + "_dot"
        return self.builder.var(hint, v.role.of_copy)

    def zeros(self, like: Operand) -> Operand:
        """A materialized zero tangent for `like` (where it may not exist, 0.0)."""
        if not isinstance(like, Var) or like in self.undefined:
            return Const(0.0)
        b = self.builder
        return b.emit("zeros", b.emit("shape", like))

    def of(self, v: Operand | None) -> Operand | None:
        return self.tangent.get(v) if isinstance(v, Var) else None

    def of_or_zeros(self, v: Operand) -> Operand:
        t = self.of(v)
        return t if t is not None else self.zeros(v)

    # --- blocks -------------------------------------------------------------------

    def block(self, stmts: list[Stmt]) -> list[Stmt]:
        b = self.builder
        saved, b.ops = b.ops, []
        for s in stmts:
            if isinstance(s, If):
                self.branch(s)
            elif isinstance(s, Loop):
                self.loop(s)
            elif PRIMITIVES[s.prim].kind == "tape":
                self.tape_op(s)
            else:
                b.ops.append(s)
                if s.out in self.active and PRIMITIVES[s.prim].kind != "zero":
                    self.op(s)
        out, b.ops = b.ops, saved
        return out

    # --- ops ----------------------------------------------------------------------

    def op(self, op: Op) -> None:
        b = self.builder
        prim = PRIMITIVES[op.prim]
        names = operand_names(prim, len(op.args))
        diff = [i for i, n in enumerate(names) if n not in prim.nondiff]
        tangents = {i: self.of(op.args[i]) for i in diff}
        tangents = {i: t for i, t in tangents.items() if t is not None}
        if not tangents:
            return
        b.loc, b.lib = op.loc, op.params.get("lib", "np")
        static = {k: op.params.get(k, default) for k, default in prim.static}
        y = Sym(op.out, b)
        args = [Sym(a, b) for a in op.args]
        dots = {i: Sym(t, b) for i, t in tangents.items()}
        kind = prim.kind
        if prim.derivative is not None and prim.derivative.tangent is not None:
            t = prim.derivative.tangent(dots, y, *args, **static)
        elif kind == "elementwise":
            t = self.elementwise(op, dots, y, args, static)
        elif kind == "linear":
            t = self.linear(op, diff, tangents)
        elif kind == "bilinear":
            t = self.bilinear(op, tangents)
        else:
            raise UnsupportedSyntaxError(
                f"forward mode has no tangent rule for {op.prim}",
                op.loc,
                "Functions registered with kind='other' have an adjoint rule only; "
                "register them with kind='elementwise', 'linear' or 'bilinear' if "
                "they are, or use reverse mode (s2s.grad).",
            )
        if t is None:
            return
        t = as_operand(t)
        if prim.broadcasting and kind != "bilinear" and len(tangents) < len(diff):
            t = b.emit("unbroadcast", t, op.out)  # an operand without a tangent
        self.set(op.out, self.named(t, op.out))

    def named(self, t: Operand, v: Var) -> Operand:
        """Name a fresh temporary after the value it is the tangent of (x -> x_dot)."""
        b = self.builder
        if isinstance(t, Var) and t in b.defs and t not in self.taken:
            hint = v.hint + "_dot"
            t.name, t.hint = b.names.fresh(hint), hint
            t.role = v.role.of_copy
        return t

    def elementwise(self, op, dots, y, args, static) -> Any:
        total = None
        rules = PRIMITIVES[op.prim].derivative.rules
        for i, rule in zip(range(len(op.args)), rules):
            if i not in dots or rule is None:
                continue
            part = rule(dots[i], y, *args, **static)
            if part is not None:
                total = part if total is None else total + part
        return total

    def linear(self, op: Op, diff: list[int], tangents: dict[int, Operand]) -> Any:
        """The op applied to the tangents; an operand without one is a zero (a
        materialized array where the op does not broadcast, as in concatenate)."""
        args = list(op.args)
        for i in diff:
            if i in tangents:
                args[i] = tangents[i]
            elif PRIMITIVES[op.prim].broadcasting:
                args[i] = Const(0.0)
            else:
                args[i] = self.zeros(op.args[i])
        return self.builder.emit(op.prim, *args, **op.params)

    def bilinear(self, op: Op, tangents: dict[int, Operand]) -> Any:
        b = self.builder
        total = None
        for i, t in tangents.items():
            args = list(op.args)
            args[i] = t
            part = b.emit(op.prim, *args, **op.params)
            total = part if total is None else b.emit("add", total, part)
        return total

    # --- tapes --------------------------------------------------------------------

    def tape_op(self, op: Op) -> None:
        """Pushes carry the tangents of the active positions after the values; pops
        take them off the same way."""
        b = self.builder
        positions = self.positions.get(op.args[0], [])
        if not positions:
            b.ops.append(op)
            return
        b.loc = op.loc
        if op.prim == "push":
            values = op.args[1:]
            dots = [self.of_or_zeros(values[i]) for i in positions]
            b.ops.append(Op("push", (*op.args, *dots), op.out, {}, op.loc))
            return
        dots = [self.var(op.outs[i]) for i in positions]
        b.ops.append(Op("pop", op.args, op.out, {}, op.loc, (*op.outs, *dots)))
        for i, dot in zip(positions, dots):
            self.set(op.outs[i], dot)

    # --- regions ------------------------------------------------------------------

    def branch(self, s: If) -> None:
        b = self.builder
        then, orelse = self.block(s.then), self.block(s.orelse)
        region = If(s.cond, then, orelse, list(s.merges), s.loc)
        for out, a, c in zip(s.outs, s.then_vals, s.else_vals):
            if out not in self.active:
                continue
            sides = [self.of(v) for v in (a, c)]
            if all(t is None for t in sides):
                continue
            saved = b.ops
            for k, (ops, v) in enumerate(((then, a), (orelse, c))):
                if v is not None and sides[k] is None:
                    b.ops = ops
                    sides[k] = self.zeros(v)
            b.ops = saved
            dot = self.var(out)
            region.merges.append(Merge(dot, sides[0], sides[1]))
            self.set(out, dot)
        b.loc = s.loc
        b.ops.append(region)

    def loop(self, s: Loop) -> None:
        b = self.builder
        b.loc = s.loc
        moving = [k for k, c in enumerate(s.carried) if c in self.active]
        dots, inits = [], []
        for k in moving:
            init = s.inits[k]
            inits.append(None if init is None else self.of_or_zeros(init))
            dots.append(self.var(s.carried[k]))
            self.set(s.carried[k], dots[-1])
        header, body = self.block(s.header), self.block(s.body)
        saved, b.ops = b.ops, body  # zeros for the next values end the body
        nexts = [
            None if s.nexts[k] is None else self.of_or_zeros(s.nexts[k]) for k in moving
        ]
        b.ops = saved
        outs = [self.var(s.outs[k]) for k in moving]
        b.loc = s.loc
        b.ops.append(
            Loop(
                s.carries + list(map(Carried, dots, inits, nexts, outs)),
                body,
                index=s.index,
                iterable=s.iterable,
                header=header,
                cond=s.cond,
                stop=s.stop,
                loc=s.loc,
            )
        )
        for k, out in zip(moving, outs):
            self.set(s.outs[k], out)


def all_names(params: list[Var], stmts: list[Stmt]) -> Namespace:
    """A namespace holding every name a function's statements use."""
    names = Namespace(p.name for p in params)
    for s in walk(stmts):
        for v in s.defines:
            names.reserve(v.name)
        if isinstance(s, Op):
            names.reserve(s.out.name)
        if isinstance(s, Loop):
            for v in s.carried + ([s.index] if s.index else []):
                names.reserve(v.name)
    return names


def forward(
    params: list[Var],
    sections: list[tuple[str, list[Stmt]]],
    results: list[Operand],
    wrt: list[Var],
) -> Tangents:
    """Forward mode over the sections of a function: values and tangents along the
    tangents of the parameters `wrt`, and the tangents of `results`."""
    stmts = [s for _, section in sections for s in section]
    f = _Forward(stmts, wrt, all_names(params, stmts))
    out = [(name, f.block(section)) for name, section in sections]
    b = f.builder
    b.ops, b.loc = out[-1][1], None
    tangents = [f.of_or_zeros(r) for r in results]
    return Tangents(out, f.params, tangents, f.alike)
