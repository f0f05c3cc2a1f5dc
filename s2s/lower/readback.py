"""Reading back s2s's own generated code, so that a gradient can be differentiated
again: lists used as tapes (`saved = []`, `saved.append(v)`, `v = saved.pop()`),
the calls kept for what they do (`_check_scalar(y)`), and the ranges a tape holds.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ..ir import Op, Role, Var
from ..primitives import PRIMITIVES


@dataclass
class SavedLists:
    """The tapes of the function being lowered: each one's values per append (None:
    none yet), where a tape holds ranges, and the values popped that are ranges."""

    tapes: dict[Var, int | None] = field(default_factory=dict)
    range_slots: dict[Var, set[int]] = field(default_factory=dict)
    popped_ranges: set[Var] = field(default_factory=set)


class ReadBack:
    """Lowering of the statements generated gradients hold (a mixin of Lowerer)."""

    def tape_call(self, node: ast.expr, method: str) -> Var | None:
        """The tape that `node` calls `.method()` on (`saved.append(v)`), else None."""
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == method
            and isinstance(node.func.value, ast.Name)
        ):
            return None
        tape = self.env.get(node.func.value.id)
        return tape if isinstance(tape, Var) and tape in self.saved.tapes else None

    def new_tape(self, target: ast.expr, value: ast.List) -> None:
        """`saved = []`: a list that the function appends values to and pops them from."""
        if not isinstance(target, ast.Name):
            raise self.fn.error(
                target,
                "an empty list can only be assigned to a name",
                "Write `saved = []` and use it with saved.append(v) and saved.pop().",
            )
        if self.builder.ops is not self.top or self.loop_depth:
            raise self.fn.error(
                value,
                "a list is created inside a branch or a loop",
                "Create the lists used as tapes at the top of the function body.",
            )
        tape = self.builder.emit("new_stack", hint=target.id, role=Role.USER)
        self.saved.tapes[tape] = None
        self.env[target.id] = tape

    def push(self, node: ast.Call) -> None:
        """`saved.append(v)` or `saved.append((a, b))`: push values on a tape."""
        tape = self.tape_call(node, "append")
        if node.keywords or len(node.args) != 1:
            raise self.fn.error(node, "append() takes one value (or one tuple)")
        arg = node.args[0]
        items = arg.elts if isinstance(arg, ast.Tuple) else [arg]
        values = [self.expr(item) for item in items]
        self._arity(tape, len(values), node)
        slots = self.saved.range_slots.setdefault(tape, set())
        slots.update(k for k, v in enumerate(values) if self._is_range(v))
        self.builder.emit("push", tape, *values)

    def pop(self, target: ast.expr, value: ast.Call) -> None:
        """`v = saved.pop()` or `a, b = saved.pop()`: pop the values last pushed."""
        tape = self.tape_call(value, "pop")
        names = target.elts if isinstance(target, ast.Tuple) else [target]
        if (
            value.args
            or value.keywords
            or not all(isinstance(n, ast.Name) for n in names)
        ):
            raise self.fn.error(
                value,
                "a tape is popped as a whole into names",
                "Write `v = saved.pop()` or `a, b = saved.pop()`.",
            )
        self._arity(tape, len(names), value, popping=True)
        outs = tuple(self.builder.var(n.id, Role.USER) for n in names)
        op = Op("pop", (tape,), self.builder.var("popped"), {}, self.builder.loc, outs)
        self.builder.ops.append(op)
        for n, v in zip(names, outs):
            self.env[n.id] = v
        slots = self.saved.range_slots.get(tape, set())
        self.saved.popped_ranges.update(v for k, v in enumerate(outs) if k in slots)

    def _arity(
        self, tape: Var, count: int, node: ast.AST, popping: bool = False
    ) -> None:
        """Every append to a tape pushes, and every pop takes, the same number of values."""
        known = self.saved.tapes[tape]
        if known is None and popping:
            raise self.fn.error(
                node,
                f"pop from the list '{tape.hint}' before anything is appended to it",
                "Append to a tape before popping from it.",
            )
        if known is not None and known != count:
            raise self.fn.error(
                node,
                f"the list '{tape.hint}' holds {known} value(s) per append, here {count}",
                "Append and pop the same number of values each time.",
            )
        self.saved.tapes[tape] = count

    def calls_effect(self, node: ast.expr) -> bool:
        """A call kept for what it does: print(...), or a check such as
        _check_scalar(y) in generated code."""
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            return False
        if self.lookup(node.func.id) is not None:
            return False
        binding = self.fn.resolve(node.func.id)
        if binding is not None and binding.kind == "builtin":
            return node.func.id == "print"
        return (
            binding is not None
            and binding.kind == "primitive"
            and PRIMITIVES[binding.value[0]].effect == "check"
        )
