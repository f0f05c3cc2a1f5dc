"""Checkpointed loops (`s2s.grad(f, checkpoint=k)`): the forward sweep of a loop
keeps at most k loop states instead of a tape entry per iteration, and the reverse
sweep recomputes iterations from them.

A loop at the top of the function whose iterations push on tapes that one loop of
the reverse sweep pops is written in three parts:

- the loop body once, as a local function `iteration_<line>` taking the loop's
  index and state and returning its next state, pushing on the tapes as before;
- the forward loop calls it, asking `_checkpoint` (a helper written into the
  module) whether to keep the state each iteration starts from, and empties the
  tapes first, so that they end holding the last iteration only;
- the reverse loop becomes a loop over the actions `_revolve` schedules (binomial
  checkpointing): restore a kept state, advance through iterations (tapes
  dropped), tape one, and run the reverse body over what was taped.

An inner loop of such a loop is part of its body, and keeps its own tapes within
each recomputed iteration.  The values the body reads from outside the loop stay
alive (named, not reused) until the reverse loop ends, since the recomputation
reads them there (see :class:`~s2s.emit.naming.Naming`'s `keep`)."""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ..ir import Loop, Op, Stmt, Var, defined_in, operands, walk
from .spelling import const_ast
from .spelling import name as named


@dataclass
class Checkpointed:
    """A forward loop and the reverse loop that pops what it pushes."""

    forward: Loop
    reverse: Loop
    tapes: list[Var]  # the tapes the forward loop pushes on, at any depth
    outside: set[Var]  # what the forward loop reads from before it
    header: bool  # whether the body reads values its (while) header computes
    # `for t in reversed(r)`: r, whose `r[::-1]` the reverse sweep indexes.
    backwards: Any = None
    names: dict[str, str] = field(default_factory=dict)  # driver names, by role


def _reads_of(stmts: Iterable[Stmt]) -> list[Any]:
    return [x for s in walk(list(stmts)) for x in operands(s)]


def _tapes(stmts: list[Stmt], prim: str) -> list[Var]:
    found = [s.args[0] for s in walk(stmts) if isinstance(s, Op) and s.prim == prim]
    return list(dict.fromkeys(x for x in found if isinstance(x, Var)))


def plan_checkpoints(
    stmts: list[Stmt], reads: Callable[[Iterable[Any]], list[Var]]
) -> list[Checkpointed]:
    """The loops at the top of `stmts` to checkpoint, each with the reverse loop
    that pops its tapes.  `reads` names what operands read (through inlined
    values)."""
    section, forward_loops, loops = "", [], []
    for s in stmts:
        if isinstance(s, Op) and s.prim == "section":
            section = s.params["name"]
        elif isinstance(s, Loop):
            loops.append(s)
            if section == "forward":
                forward_loops.append(s)
    elsewhere = [s for s in walk(stmts) if not isinstance(s, Loop) or s not in loops]
    defs = {v: s for s in walk(stmts) for v in s.defines}
    found = []
    for loop in forward_loops:
        pushed = _tapes(loop.header + loop.body, "push")
        if not pushed:
            continue
        reverse = [r for r in loops if set(pushed) & set(_tapes(r.body, "pop"))]
        if len(reverse) != 1 or reverse[0] in forward_loops or reverse[0].stop:
            continue
        rev = reverse[0]
        if set(_tapes(rev.body, "pop")) != set(pushed):
            continue
        inside = {id(t) for t in walk([*loop.header, *loop.body, *rev.body])}
        outside_ops = [s for s in elsewhere if id(s) not in inside]
        if set(pushed) & set(_tapes(outside_ops, "push") + _tapes(outside_ops, "pop")):
            continue
        inner = defined_in([loop])
        read = _reads_of(loop.header + loop.body)
        read += [*loop.nexts, loop.stop, loop.cond, loop.iterable]
        outside = {v for v in reads(read) if v not in inner} | set(pushed)
        made_in_header = defined_in(loop.header)
        body_reads = reads(_reads_of(loop.body) + [*loop.nexts, loop.stop])
        header = any(v in made_in_header for v in body_reads)
        made = defs.get(loop.iterable) if isinstance(loop.iterable, Var) else None
        backwards = None
        if isinstance(made, Op) and made.prim == "reversed":
            backwards = made.args[0]
            outside |= set(reads([backwards]))
        found.append(Checkpointed(loop, rev, pushed, outside, header, backwards))
    return found


class CheckpointWriter:
    """The emission of checkpointed loops (a mixin of the function emitter, whose
    `expr`, `block`, `copies`, `names` and `comment` it uses)."""

    checkpoint: Any  # k, or None for "auto"
    checkpointed: dict[int, Checkpointed]  # by id of the forward and reverse loop
    names: dict[Var, str]
    expr: Callable[[Any], ast.expr]
    block: Callable[..., list[ast.stmt]]
    copies: Callable[[list[Var], list[Any]], list[ast.stmt]]
    comment: Callable[[str], ast.stmt]
    fresh: Callable[[str], str]

    def checkpoint_names(self, plan: Checkpointed) -> dict[str, str]:
        if not plan.names:
            line = plan.forward.loc.lineno if plan.forward.loc else 0
            for role in ("saved", "trip", "state", "action", "begin", "end", "stop"):
                plan.names[role] = self.fresh(role)
            plan.names["position"] = self.fresh("position")
            plan.names["iterations"] = self.fresh("iterations")
            plan.names["iteration"] = self.fresh(f"iteration_{line}")
        return plan.names

    def checkpointed_forward(self, s: Loop, line: int | None) -> list[ast.stmt]:
        plan = self.checkpointed[id(s)]
        n = self.checkpoint_names(plan)
        carried = [self.names[c] for c in s.carried]
        before = self.copies(s.carried, s.inits)
        before += [  # made in the loop: no value before it
            ast.Assign([named(self.names[c], True)], ast.Constant(None))
            for c, init in zip(s.carried, s.inits)
            if init is None
        ]
        index = [self.names[s.index]] if s.iterable is not None and s.index else []
        if s.iterable is not None and not index:
            index = ["_"]
        header = self.block(s.header, line) if plan.header else []
        body = header + self.block(s.body, line) + self.copies(s.carried, s.nexts)
        state = ast.Tuple([named(c) for c in carried], ast.Load())
        returned = state
        if s.stop is not None:
            returned = ast.Tuple([state, self.expr(s.stop)], ast.Load())
        where = plan.forward.loc.short() if plan.forward.loc else "the loop"
        doc = _docstring(
            f"One iteration of the loop at {where}, pushing on the tapes what the "
            "reverse sweep reads: run by the forward sweep, and by the reverse "
            "sweep to recompute iterations from a kept state."
        )
        args = ast.arguments(
            posonlyargs=[],
            args=[ast.arg(p) for p in index + carried],
            vararg=None,
            kwonlyargs=[],
            kw_defaults=[],
            kwarg=None,
            defaults=[],
        )
        function = ast.FunctionDef(
            n["iteration"],
            args,
            [ast.Expr(ast.Constant(doc)), *body, ast.Return(returned)],
            [],
            None,
        )
        steps = (
            ast.Call(named("len"), [self.iterations(plan)], [])
            if s.iterable is not None and s.stop is None
            else ast.Constant(None)
        )
        k = const_ast(self.checkpoint)
        kept = ast.Tuple([named(c) for c in carried], ast.Load())
        call = ast.Call(named(n["iteration"]), [named(p) for p in index + carried], [])
        target: ast.expr = ast.Tuple([named(c, True) for c in carried], ast.Store())
        if s.stop is not None:
            target = ast.Tuple([target, named(n["stop"], True)], ast.Store())
        trip = named(n["trip"])
        each = [
            ast.Expr(
                ast.Call(
                    named("_checkpoint"), [named(n["saved"]), trip, kept, k, steps], []
                )
            ),
            *self.clear_tapes(plan),
            ast.Assign([target], call),
            ast.Assign(
                [named(n["trip"], True)], ast.BinOp(trip, ast.Add(), ast.Constant(1))
            ),
        ]
        if s.stop is not None:
            each.append(ast.If(named(n["stop"]), [ast.Break()], []))
        head = self.block(s.header, line)
        if s.iterable is not None:
            target = named(index[0], True)
            loop: ast.stmt = ast.For(target, self.expr(s.iterable), each, [])
        elif not head:
            loop = ast.While(self.expr(s.cond), each, [])
        else:
            exit_ = ast.If(ast.UnaryOp(ast.Not(), self.expr(s.cond)), [ast.Break()], [])
            loop = ast.While(ast.Constant(True), head + [exit_] + each, [])
        if self.checkpoint:
            how_many = f"at most {self.checkpoint} iterations"
        else:
            how_many = "about sqrt(2 * trips) iterations (auto)"
        note = self.notes(
            f"Checkpointed: keep the state at the start of {how_many}, which "
            "`_checkpoint` picks, and the tapes of the last iteration only."
        )
        setup = [
            ast.Assign([named(n["saved"], True)], ast.Dict([], [])),
            ast.Assign([named(n["trip"], True)], ast.Constant(0)),
        ]
        if plan.backwards is not None:
            backwards = ast.Slice(None, None, ast.Constant(-1))
            setup.append(
                ast.Assign(
                    [named(n["iterations"], True)],
                    ast.Subscript(self.expr(plan.backwards), backwards, ast.Load()),
                )
            )
        return before + [function] + note + setup + [loop]

    def iterations(self, plan: Checkpointed) -> ast.expr:
        """The forward loop's iterations as a sequence, which the reverse sweep
        indexes and slices (`reversed(r)` is an iterator: `r[::-1]` instead)."""
        if plan.backwards is None:
            return self.expr(plan.forward.iterable)
        return named(plan.names["iterations"])

    def notes(self, text: str) -> list[ast.stmt]:
        """A comment of several lines."""
        return [self.comment(line) for line in textwrap.wrap(text, 76)]

    def clear_tapes(self, plan: Checkpointed) -> list[ast.stmt]:
        return [
            ast.Expr(
                ast.Call(
                    ast.Attribute(named(self.names[t]), "clear", ast.Load()), [], []
                )
            )
            for t in plan.tapes
        ]

    def checkpointed_reverse(self, s: Loop, line: int | None) -> list[ast.stmt]:
        plan = self.checkpointed[id(s)]
        n = self.checkpoint_names(plan)
        forward = plan.forward
        before = self.copies(s.carried, s.inits)
        body = self.block(s.body, line) + self.copies(s.carried, s.nexts)
        begin, end = named(n["begin"]), named(n["end"])
        if forward.iterable is not None:
            part = ast.Subscript(
                self.iterations(plan), ast.Slice(begin, end, None), ast.Load()
            )
            order = ast.Call(named("reversed"), [part], [])
            at = named(self.names[s.index] if s.index else "_", True)
        else:  # a while loop: its iterations have no index
            order = ast.Call(named("range"), [begin, end], [])
            at = named("_", True)
        backwards = ast.For(at, order, body or [ast.Pass()], [])
        position = named(n["position"])
        index = []
        if forward.iterable is not None:
            index = [ast.Subscript(self.iterations(plan), position, ast.Load())]
        call = ast.Call(
            named(n["iteration"]),
            index + [ast.Starred(named(n["state"]), ast.Load())],
            [],
        )
        state: ast.expr = named(n["state"], True)
        if forward.stop is not None:
            state = ast.Tuple([state, named("_", True)], ast.Store())

        def steps(clear: bool) -> ast.stmt:
            run = [ast.Assign([state], call)]
            return ast.For(
                named(n["position"], True),
                ast.Call(named("range"), [begin, end], []),
                run + (self.clear_tapes(plan) if clear else []),
                [],
            )

        def is_(action: str) -> ast.expr:
            return ast.Compare(named(n["action"]), [ast.Eq()], [ast.Constant(action)])

        saved_at = ast.Subscript(named(n["saved"]), begin, ast.Load())
        cases = [
            ("restore", [ast.Assign([named(n["state"], True)], saved_at)]),
            (
                "save",
                [
                    ast.Assign(
                        [ast.Subscript(named(n["saved"]), begin, ast.Store())],
                        named(n["state"]),
                    )
                ],
            ),
            (
                "forget",
                [ast.Delete([ast.Subscript(named(n["saved"]), begin, ast.Del())])],
            ),
            (
                "advance",
                [
                    self.comment("run iterations begin..end-1, dropping their tapes"),
                    steps(True),
                ],
            ),
            (
                "tape",
                [
                    self.comment("run iterations begin..end-1, keeping their tapes"),
                    steps(False),
                ],
            ),
        ]
        chain: list[ast.stmt] = [
            self.comment("reverse: iterations end-1 down to begin, from their tapes"),
            backwards,
        ]
        for action, code in reversed(cases):
            chain = [ast.If(is_(action), code, chain)]
        schedule = ast.Call(
            named("_revolve"),
            [named(n["saved"]), named(n["trip"]), const_ast(self.checkpoint)],
            [],
        )
        target = ast.Tuple(
            [named(n[r], True) for r in ("action", "begin", "end")], ast.Store()
        )
        note = self.notes(
            "Checkpointed: `_revolve` schedules, last iteration first, which "
            "iterations to recompute from which kept state, and when to reverse each."
        )
        return before + note + [ast.For(target, schedule, chain, [])]


def _docstring(text: str) -> str:
    """A docstring wrapped as black leaves it, for a function nested one level."""
    lines = textwrap.wrap(text, 78)
    return "\n        ".join(lines) + ("\n        " if len(lines) > 1 else "")


def kept_alive(plans: list[Checkpointed]) -> dict[int, set[Var]]:
    """What must keep its name until each reverse loop ends: what the forward loop
    it recomputes reads from outside."""
    return {id(p.reverse): set(p.outside) for p in plans}


def checkpointed_statements(plans: list[Checkpointed]) -> set[int]:
    """The statements inside checkpointed forward loops (by id): none of them may
    update an array in place, since a kept state may hold it."""
    return {id(s) for p in plans for s in walk(p.forward.header + p.forward.body)}
