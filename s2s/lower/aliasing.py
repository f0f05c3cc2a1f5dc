"""The aliasing analysis of updates in place: s2s treats arrays as values, so an
update in place (`acc[i] += v`, `x += 1`) is lowered to a new value, which is right
only where no other name, no caller and no view sees the array.  This refuses the
updates where one may."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from ..errors import UnsupportedSyntaxError
from ..ir import Operand, Var
from ..primitives import PRIMITIVES
from ..shapes.inference import ShapeInference

if TYPE_CHECKING:
    from .environment import Value
    from .lowerer import Lowerer

#: How to make an array a function may update part of in place.
OWN_ARRAY = "Update an array made for it (`acc = x * 1.0`, `acc = np.zeros(n)`)"


class Aliasing:
    """What the aliasing analysis knows while a function is lowered: the values the
    function did not make (its arguments), the environments of its callers, what
    each phi merges, and the updates to check at the end (the last three shared
    with the functions inlined into it)."""

    def __init__(self, lowering: Lowerer):
        self.lowering = lowering
        self.borrowed: list[Operand] = []
        self.callers: list[dict[str, Value]] = []
        self.merged: dict[Var, list[Operand]] = {}
        self.part_updates: list[tuple[ast.AST, str, str, list[Operand]]] = []
        self.updated: dict[Var, tuple[ast.AST, str, str]] = {}

    def for_callee(self, callee: Lowerer, arguments: list[Operand]) -> Aliasing:
        """The analysis for a function inlined here, called with `arguments`: the
        caller's arrays are borrowed there, and the caller's names still see them."""
        inner = Aliasing(callee)
        inner.borrowed = [a for a in arguments if isinstance(a, Var)]
        inner.callers = [self.lowering.env, *self.callers]
        inner.merged, inner.part_updates = self.merged, self.part_updates
        inner.updated = self.updated
        return inner

    def refuse_borrowed(
        self, node: ast.AST, name: str, written: str, origins: list[Operand]
    ) -> None:
        """Part of a parameter's array is the caller's: updating it would change the
        caller's array, which a gradient (treating arrays as values) would not."""
        for origin in origins:
            if any(origin is b for b in self.borrowed) or any(
                base is b for base in self.viewed(origin) for b in self.borrowed
            ):
                raise self.lowering.fn.error(
                    node,
                    f"`{written} ...` would update in place the array of a parameter "
                    f"('{name}' may be it, or a view of it)",
                    "Update a new array made inside the function instead (`acc = "
                    f"{name} * 1.0`, `acc = np.zeros(n)`): a gradient treats arrays as "
                    "values and would not change the caller's.",
                )

    def holder(
        self, name: str, origins: list[Value], env: dict[str, Value] | None = None
    ) -> str | None:
        """Who else sees the array `name` holds (through `origins`, the values it
        may be), said for a message: a name other than `name` in `env` that holds it
        or a view of it, or a parameter's caller; None when nobody does."""
        env = self.lowering.env if env is None else env
        for current in origins:
            sharing = [
                n
                for n, v in env.items()
                if n != name and (v is current or current in self.viewed(v))
            ]
            if sharing and env[sharing[0]] is current:
                return f"'{sharing[0]}' also holds"
            if sharing:
                return f"'{sharing[0]}' holds a view of"
            if self.is_view(current):
                return "may be a view of another name's array"
        for origin in origins:
            if any(origin is b for b in self.borrowed):
                return "the caller passed in"
        return None

    def refuse_shared(
        self,
        node: ast.AST,
        name: str,
        written: str,
        origins: list[Value],
        fix: str,
        env: dict[str, Value] | None = None,
    ) -> None:
        """An update in place is an update of every name holding (a view of) the
        same array: refuse it where a name other than `name` does."""
        env = self.lowering.env if env is None else env
        for current in origins:
            sharing = [
                n
                for n, v in env.items()
                if n != name and (v is current or current in self.viewed(v))
            ]
            if not sharing and not self.is_view(current):
                continue
            if not sharing:
                holder = "may be a view of another name's array"
            elif env[sharing[0]] is current:
                holder = f"'{sharing[0]}' also holds"
            else:
                holder = f"'{sharing[0]}' holds a view of"
            raise self.lowering.fn.error(
                node,
                f"`{written} ...` would update in place an array that {holder}",
                f"{fix}: s2s treats arrays as values and never updates one in place "
                "where another name sees it.",
            )

    def check_next_update(
        self, phi: Var, next_value: Value | None, env: dict[str, Value]
    ) -> None:
        """An array the loop body updates in place is, in the next iteration, the
        value the body leaves in its name: that one must be the function's own too."""
        if phi not in self.updated or next_value is None:
            return
        node, name, written = self.updated[phi]
        origins = self.origins(next_value)
        self.refuse_borrowed(node, name, written, origins)
        self.refuse_shared(node, name, written, origins, OWN_ARRAY, env)

    def origins(self, value: Operand) -> list[Operand]:
        """The values `value` may be: itself and, through the merges of branches and
        loops (phis), the values merged into it."""
        found: list[Operand] = []
        pending = [value]
        while pending:
            v = pending.pop()
            if any(v is f for f in found):
                continue
            found.append(v)
            pending.extend(self.merged.get(v, ()) if isinstance(v, Var) else ())
        return found

    def index_array_error(
        self, node: ast.AST, name: str, operator: str, seen: bool = True
    ) -> UnsupportedSyntaxError:
        what = (
            "an index array"
            if seen
            else "an index s2s cannot tell is an int (it may be an index array or a mask)"
        )
        why = (
            "Through an index array numpy's `+=` adds once per repeated element, which "
            "no sum of arrays says"
            if operator != "="
            else "Through an index array with a repeated element numpy keeps the last "
            "value written, which no derivative of the others says"
        )
        return self.lowering.fn.error(
            node,
            f"`{name}[...] {operator}` with {what}",
            f"{why}. Index with ints and slices (a loop index and its arithmetic, "
            "len(x); `acc[int(k)]` for an int parameter k), choose values with "
            "np.where(mask, new, old), or build the whole new array.",
        )

    def check_part_updates(self) -> None:
        """Each single index of an `acc[i] += v` (or `out[i] = v`) must be a Python int (not an index
        array): proven by the same inference the emitter uses to write `dx[i] += g`."""
        if not self.part_updates:
            return
        ints = ShapeInference(self.lowering.builder.ops, {})
        for node, name, operator, indices in self.part_updates:
            if not all(ints.is_int(i) for i in indices):
                raise self.index_array_error(node, name, operator, seen=False)

    def viewed(self, value: Value) -> list[Operand]:
        """The arrays `value` may be a view of (through transpose, reshape, ...)."""
        bases = []
        made = self.lowering.builder.defs.get(value) if isinstance(value, Var) else None
        while (
            made is not None
            and PRIMITIVES[made.prim].view
            and not made.params.get("fresh")
        ):
            bases.append(made.args[0])
            made = self.lowering.builder.defs.get(made.args[0])
        return bases

    def is_view(self, value: Value) -> bool:
        """Whether `value` may share memory with an array that a name holds."""
        held = list(self.lowering.env.values())
        return any(any(v is base for v in held) for base in self.viewed(value))

    def shared(self, value: Value) -> bool:
        """Whether some name already holds `value`, or it may be a view of another."""
        return any(v is value for v in self.lowering.env.values()) or self.is_view(
            value
        )
