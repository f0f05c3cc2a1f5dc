"""Lowering statements: assignments, branches and loops become SSA ops and regions.

Each statement is lowered in order, and the environment maps every Python name to
its current value, so that a rebinding (`x = x + 1`) simply makes a new value.  An
`if` becomes an :class:`~s2s.ir.If` whose branches are lowered separately and
merged with phis.  Loops are lowered in :mod:`.loops`.
"""

from __future__ import annotations

import ast
import builtins

from ..errors import ReadAsStructureError, UnsupportedSyntaxError
from ..frontend import Binding
from ..ir import Const, If, Merge, Operand, Role, Var, single_indices
from .aliasing import OWN_ARRAY
from .environment import RAISED, RESULT, STOP, LocalFunction, Value
from .syntax import (
    AUG,
    describe,
    dotted,
    is_docstring,
    is_float_guard,
    region_node,
)


class Statements:
    """The statement visitors of :class:`~s2s.lower.lowerer.Lowerer` (a mixin)."""

    def stmt_Assign(self, node: ast.Assign) -> None:
        first, *others = node.targets
        if others and not all(isinstance(t, ast.Name) for t in node.targets):
            raise self.fn.error(
                node,
                "chained assignment `a = b = ...` is supported to names only",
                "Assign each target separately.",
            )
        self.assign(first, node.value)
        for target in others:  # `a = b = v`: both names hold the same value
            self.env[target.id] = self.env[first.id]

    def stmt_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.assign(node.target, node.value)

    def stmt_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Subscript):
            self.update_part(node)
            return
        if not isinstance(node.target, ast.Name):
            raise self.fn.error(
                node.target,
                f"cannot update {describe(node.target)} in place",
                "Update a name (`x += v`) or part of a named array (`x[i] += v`).",
            )
        name, symbol = node.target.id, AUG.get(type(node.op), "?")
        self.check_unshared(node, name, f"{name} {symbol}=")
        binop = ast.BinOp(ast.Name(node.target.id, ast.Load()), node.op, node.value)
        self.assign(node.target, ast.copy_location(binop, node))

    def check_unshared(self, node: ast.AugAssign, name: str, update: str) -> None:
        """`x += v` updates x's array in place if x holds an array (a number is
        rebound), which is wrong where another name, or the caller, sees that array.
        Whether x holds an array is known when the gradient runs (or from the
        shapes it is written for), so the check is an op: dropped where x is a
        number, an error where it is an array."""
        current = self.env.get(name)
        origins = self.aliasing.origins(current)
        holder = self.aliasing.holder(name, origins)
        for env in self.aliasing.callers:  # an argument's array is the caller's too
            holder = holder or self.aliasing.holder("", origins, env)
        if holder is not None and isinstance(current, Var):
            where = self.fn.location(node)
            self.emit(
                "check_unshared",
                current,
                update=update,
                where=str(where),
                holder=holder,
            )

    def update_part(self, node: ast.AugAssign) -> None:
        """`acc[i] += v` (or `-=`) on an array the function owns: the new value
        `acc + <v scattered into zeros like acc at i>`, as the adjoint of acc[i] is.

        The index must be basic (integers, slices, None, ...): through an index array
        numpy's `+=` adds once per repeated element, which no sum of arrays says.
        """
        if not isinstance(node.op, (ast.Add, ast.Sub)):
            raise self.fn.error(
                node,
                f"`{AUG.get(type(node.op), '?')}=` on part of an array is not supported",
                "Only `+=` and `-=` update part of an array; compute the new array "
                "from the whole one instead.",
            )
        symbol = AUG[type(node.op)]
        name, array, spec, parts = self._owned_part(node, node.target, f"{symbol}=")
        value = self.expr(node.value)
        scattered = self.emit(
            "unindex", value, array, *parts, spec=spec, broadcast=True
        )
        prim = "add" if isinstance(node.op, ast.Add) else "sub"
        self.env[name] = self.emit(prim, array, scattered, hint=name)

    def assign_part(
        self, node: ast.stmt, target: ast.Subscript, value: ast.expr
    ) -> None:
        """`out[i] = v` on an array the function owns: the array with that part
        replaced (`setitem`), under the same rules as `out[i] += v`."""
        name, array, spec, parts = self._owned_part(node, target, "=")
        self.env[name] = self.emit(
            "setitem", array, self.expr(value), *parts, spec=spec, hint=name
        )

    def _owned_part(
        self, node: ast.stmt, target: ast.Subscript, operator: str
    ) -> tuple[str, Operand, tuple, list[Operand]]:
        """The name, array, index spec and index parts of `name[index] <op>`, once
        the array is known to be the function's own and the index basic."""
        if not isinstance(target.value, ast.Name):
            raise self.fn.error(
                target,
                "cannot update part of an expression in place",
                f"Name the array first: `acc = ...`, then `acc[i] {operator} v`.",
            )
        name = target.value.id
        array = self.expr(target.value)
        if isinstance(array, Const):
            raise self.fn.error(
                target.value,
                f"'{name}' holds a number here, not an array",
                "Only arrays have parts to update.",
            )
        written = f"{name}[...] {operator}"
        origins = self.aliasing.origins(array)
        self.aliasing.refuse_borrowed(node, name, written, origins)
        self.aliasing.refuse_shared(node, name, written, origins, OWN_ARRAY)
        for origin in origins:  # a loop's carried array: checked again at its end
            self.aliasing.updated.setdefault(origin, (node, name, written))
        spec, parts = self._index(target.slice)
        if spec == (True,):  # `acc[()]`: the whole of a 0-d array
            raise self.fn.error(
                target,
                f"`{name}[()] {operator}` updates a 0-d array as a whole",
                f"Assign the new value to {name} itself.",
            )
        if any(item[0] == "list" for item in spec[1:]):
            raise self.aliasing.index_array_error(target.slice, name, operator)
        indices = [p for p, single in zip(parts, single_indices(spec)) if single]
        self.aliasing.part_updates.append((target.slice, name, operator, indices))
        return name, array, spec, parts

    def stmt_Return(self, node: ast.Return) -> None:
        if node.value is None:  # (a return inside a loop is one no longer)
            raise self.fn.error(
                node, "`return` without a value", "Return the value to differentiate."
            )
        self.return_loc = self.fn.location(node)
        if isinstance(node.value, ast.Tuple):
            self.env[RESULT] = tuple(self.value(e) for e in node.value.elts)
        else:
            self.env[RESULT] = self.value(node.value, hint=self.fn.name)
        result = self.env[RESULT]
        aux = self.has_aux and isinstance(result, tuple)
        differentiated = result[:1] if aux else result  # aux may be None
        if any(
            isinstance(v, Const) and v.value is None
            for v in (differentiated if isinstance(result, tuple) else (result,))
        ):
            raise self.fn.error(
                node,
                f"{self.fn.name} returns None on this path, which has no derivative",
                "Return a number on every path (or raise an error where there is "
                "none).",
            )

    def stmt_Raise(self, node: ast.Raise) -> None:
        """`raise SomeError(message)` stays in the forward sweep as it is (after
        normalization, it ends its block): the path never goes on."""
        call = node.exc
        if isinstance(call, ast.Name):
            call = ast.Call(call, [], [])
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and not call.keywords
            and node.cause is None
            and self._is_exception(call.func.id)
        ):
            raise self.fn.error(
                node,
                "s2s keeps `raise` of a built-in exception with a message only",
                'Write `raise ValueError(f"...")` (or TypeError, RuntimeError, ...).',
            )
        self.emit("raise", *(self.expr(a) for a in call.args), exception=call.func.id)
        self.env[RAISED] = True

    def _is_exception(self, name: str) -> bool:
        binding = None if name in self.env else self.fn.resolve(name)
        found = getattr(builtins, name, None)
        return (
            binding == Binding("builtin", name)
            and isinstance(found, type)
            and issubclass(found, BaseException)
        )

    def stmt_Global(self, node: ast.Global | ast.Nonlocal) -> None:
        """A gradient reads what is outside the function, and never writes it: a
        write would run again at each call of the gradient (and of its own
        derivatives), so `global` and `nonlocal` are refused, saying what the name
        is."""
        name = node.names[0]
        binding = self.fn.resolve(name)
        free = binding.value if binding and binding.kind == "data" else None
        what = free.describe() if free else f"'{name}'"
        keyword = "global" if isinstance(node, ast.Global) else "nonlocal"
        raise self.fn.error(
            node,
            f"`{keyword} {name}` writes {what} from inside the function; a gradient "
            "reads the data outside the function but never writes it",
            f"Return the new value of {name} and assign it outside the function, or "
            f"read {name} without `{keyword}`.",
        )

    stmt_Nonlocal = stmt_Global

    def stmt_Pass(self, node: ast.Pass) -> None:
        pass

    def stmt_Break(self, node: ast.Break) -> None:
        self.env[STOP] = Const(True)

    def stmt_Continue(self, node: ast.Continue) -> None:
        pass  # after normalization, a continue ends its iteration anyway

    def stmt_Expr(self, node: ast.Expr) -> None:
        if is_docstring(node):
            return
        if isinstance(node.value, (ast.Yield, ast.YieldFrom, ast.Await)):
            self.unsupported(node.value)
        if self.tape_call(node.value, "append") is not None:
            self.push(node.value)
            return
        if self.calls_effect(node.value):
            self.expr(node.value)
            return
        raise self.fn.error(
            node,
            "an expression statement has no effect in a differentiated function",
            "Assign its value to a name, or remove it.",
        )

    def assign_value(self, target: ast.expr, value: Value) -> None:
        """Bind a loop's target to an item already lowered."""
        if isinstance(target, ast.Name):
            self.env[target.id] = value
            self.name_leaf(value, target.id)
            return
        items = self._held_apart(value)
        if (
            isinstance(target, ast.Tuple)
            and items is not None
            and len(items) == len(target.elts)
        ):
            for t, v in zip(target.elts, items):  # `for i, (W, b) in ...` nests
                self.assign_value(t, v)
            return
        raise self.fn.error(target, "unpack each item into as many names as it holds")

    def assign(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(value, ast.List) and not value.elts:
            self.new_tape(target, value)
            return
        if self.tape_call(value, "pop") is not None:
            self.pop(target, value)
            return
        if isinstance(target, ast.Name):
            result = self.value(value, hint=target.id)
            if isinstance(value, (ast.BinOp, ast.UnaryOp)) and self.aliasing.shared(
                result
            ):
                # `v = --y` or `v = y * 1` folded to y, but Python made a new array:
                # v must not alias y when `v += ...` follows.
                result = self.emit("copy", result, hint=target.id, fresh=True)
            self.env[target.id] = result
            self.name_leaf(result, target.id)
            return
        if isinstance(target, ast.Tuple) and all(
            isinstance(t, (ast.Name, ast.Tuple)) for t in target.elts
        ):
            if isinstance(value, ast.Tuple):
                values = tuple(
                    self.expr(v, hint=t.id) for t, v in zip(target.elts, value.elts)
                )
            else:
                values = self.value(value)
                values = self._tuple_items(values) or values
            if not isinstance(values, tuple) or len(values) != len(target.elts):
                raise self.fn.error(
                    value,
                    "tuple unpacking needs a tuple of the same length on the right",
                    "Write `a, b = x, y` (or unpack what a helper returns), "
                    "or assign each name separately.",
                    (
                        ReadAsStructureError
                        if isinstance(values, Var)
                        else UnsupportedSyntaxError
                    ),
                )
            for t, v in zip(target.elts, values):
                if isinstance(t, ast.Tuple):  # (value, aux), grads = ...
                    self.assign_value(t, v)
                    continue
                if isinstance(v, Var) and v.role == Role.TEMP:
                    v.hint, v.role = t.id, Role.USER
                self.name_leaf(v, t.id)
                self.env[t.id] = v
            return
        if isinstance(target, ast.Attribute):
            raise self.fn.error(
                target,
                f"`{dotted(target)} = ...` writes an attribute of "
                f"{dotted(target.value)}; a gradient reads what is outside the "
                "function but never writes it",
                "Return the value and store it outside the function.",
            )
        if isinstance(target, ast.Subscript):
            self.assign_part(target, target, value)
            return
        raise self.fn.error(
            target,
            f"cannot assign to {describe(target)}",
            "Assign to names, tuples of names, or part of an array the function "
            "made (`out[i] = v`).",
        )

    def stmt_If(self, node: ast.If) -> None:
        if is_float_guard(node) and self.calls_effect(node.body[0].value):
            self.expr(node.body[0].value)  # generated code: the guard only saves time
            return
        cond = self.expr(node.test)
        if isinstance(cond, Var) and cond.role == Role.TEMP:
            cond.hint = "cond"
        loc = self.fn.location(node)
        then, then_env = self.sub_block(node.body)
        orelse, else_env = self.sub_block(node.orelse)
        region = If(cond, then, orelse, loc=loc)
        self.merge(region, then_env, else_env)
        self.builder.loc = loc
        self.builder.ops.append(region)

    def merge(
        self, region: If, then_env: dict[str, Value], else_env: dict[str, Value]
    ) -> None:
        """Give every name the branches disagree on a phi: an out of the If.  A
        branch that raised never goes on: the names take the other's values."""
        if RAISED in then_env and RAISED in else_env:
            self.env[RAISED] = True
            return
        if RAISED in then_env or RAISED in else_env:
            then_env, else_env = (
                self._never_on(then_env, else_env),
                self._never_on(else_env, then_env),
            )
        for name in dict.fromkeys([*then_env, *else_env]):
            a, b = then_env.get(name), else_env.get(name)
            if a is b:
                if a is not None:
                    self.env[name] = a
                continue
            if a is None and isinstance(b, LocalFunction):
                self.env[name] = b  # defined on one path only
                continue
            if b is None and isinstance(a, LocalFunction):
                self.env[name] = a
                continue
            if isinstance(a, LocalFunction) or isinstance(b, LocalFunction):
                raise self.fn.error(
                    region_node(region),
                    f"'{name}' is a different function on the two paths of this if",
                    f"Define {name} once, before the if, and choose the values "
                    "it computes with the condition.",
                )
            if isinstance(a, dict) or isinstance(b, dict):
                if not (
                    isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
                ):
                    self.env.pop(name, None)  # a dict on one path only: unreadable
                    continue
                self.env[name] = {k: self._phi(region, name, a[k], b[k]) for k in a}
            elif isinstance(a, tuple) or isinstance(b, tuple):
                if not (
                    isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
                ):
                    raise self.fn.error(
                        region_node(region),
                        "the branches return tuples of different lengths",
                        "Return the same number of values on every path.",
                    )
                self.env[name] = tuple(
                    self._phi(region, name, x, y) for x, y in zip(a, b)
                )
            else:
                self.env[name] = self._phi(region, name, a, b)

    def _never_on(self, env: dict[str, Value], other: dict[str, Value]) -> dict:
        """A branch's names as the merge should see them: as they are, unless the
        branch raised; then a name the other branch changed is undefined here."""
        if RAISED not in env:
            return env
        return {
            name: value if value is self.env.get(name) else None
            for name, value in other.items()
        }

    def _phi(self, region: If, name: str, a: Operand | None, b: Operand | None) -> Var:
        hint = {RESULT: self.fn.name, STOP: "stop"}.get(name, name)
        out = self.builder.var(hint, Role.USER)
        region.merges.append(Merge(out, a, b))
        self.aliasing.merged[out] = [v for v in (a, b) if v is not None]
        return out
