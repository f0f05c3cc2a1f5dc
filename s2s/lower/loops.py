"""Lowering loops: a `for` over a range or a `while` becomes a :class:`~s2s.ir.Loop`
whose carried values are the names its body assigns.  A loop over an array, a list,
`enumerate`, `zip` or `reversed` is a loop over the range of its length; a loop over
a tuple of values of different shapes is written out, item by item.
"""

from __future__ import annotations

import ast
from typing import Any

from ..errors import UnsupportedSyntaxError
from ..frontend import Binding
from ..ir import Carried, Const, Loop, Operand, Role, Var
from .environment import STOP, LocalFunction, Value
from .syntax import assigned_names

#: The builtins a for loop may iterate through (over a sequence or several).
ITERATORS = ("enumerate", "zip", "reversed")


class Loops:
    """The loop visitors of :class:`~s2s.lower.lowerer.Lowerer` (a mixin)."""

    def stmt_For(self, node: ast.For) -> None:
        if node.orelse:
            raise self.fn.error(
                node.orelse[0],
                "`for ... else` is not supported",
                "Track the condition with a variable instead.",
            )
        if not self._loops_over_range(node.iter):
            self._over_sequence(node)
            return
        if not isinstance(node.target, ast.Name):
            raise self.fn.error(
                node.target,
                "the loop variable must be a single name",
                "Write `for i in range(n):` and index inside the body.",
            )
        steps = self._range_written_out(node)
        if steps is not None:
            self._unrolled(node, tuple(Const(k) for k in steps))
            return
        iterable = self._range(node.iter)
        loop = Loop([], [], iterable=iterable, loc=self.fn.location(node))
        loop.index = self.builder.var(node.target.id, Role.USER)
        self._loop_body(loop, node, {node.target.id: loop.index})

    def stmt_While(self, node: ast.While) -> None:
        if node.orelse:
            raise self.fn.error(
                node.orelse[0],
                "`while ... else` is not supported",
                "Track the condition with a variable instead.",
            )
        loop = Loop([], [], loc=self.fn.location(node))
        self._loop_body(loop, node, {})

    def _loop_body(
        self, loop: Loop, node: ast.For | ast.While, bound: dict[str, Var]
    ) -> None:
        """Fill in a loop's carried values, header, body and outs."""
        names = [n for n in assigned_names(node.body) if n not in bound]
        # The loop variable keeps its last value after the loop, as in Python.
        names += [n for n in bound if n.isidentifier() and n not in names]
        before = dict(self.env)
        phis, inits = [], []
        for name in names:
            phi = self.builder.var(name, Role.USER)
            init = before.get(name)
            phis.append(phi)
            inits.append(init if not isinstance(init, tuple) else None)
            self.aliasing.merged[phi] = [init] if isinstance(init, (Var, Const)) else []
            self.env[name] = phi
        self.env.update(bound)
        self.env[STOP] = Const(False)
        saved_ops = self.builder.ops
        self.loop_depth += 1
        try:
            if isinstance(node, ast.While):
                self.builder.ops = loop.header
                self.builder.loc = loop.loc
                loop.cond = self.expr(node.test)
            body, env = self.sub_block(node.body)
        finally:
            self.builder.ops = saved_ops
            self.loop_depth -= 1
        loop.body = body
        stop = env.get(STOP)
        loop.stop = None if stop == Const(False) else stop
        for name, phi, init in zip(names, phis, inits):
            next_value = env.get(name)
            if isinstance(next_value, LocalFunction):
                raise self.fn.error(
                    node,
                    f"the function '{name}' is defined inside the loop",
                    f"Define {name} before the loop.",
                )
            if isinstance(next_value, tuple):
                raise self.fn.error(
                    node,
                    f"'{name}' holds a tuple across loop iterations",
                    "Unpack the tuple into separate names.",
                )
            self.aliasing.check_next_update(phi, next_value, env)
            out = self.builder.var(name, Role.USER)
            loop.carries.append(Carried(phi, init, next_value, out))
            self.aliasing.merged[out] = [phi] + (
                [next_value] if next_value is not None else []
            )
        self.env = {k: v for k, v in before.items()}
        for name, out in zip(names, loop.outs):
            self.env[name] = out
        self.builder.loc = loop.loc
        self.builder.ops.append(loop)

    def _range_written_out(self, node: ast.For) -> range | None:
        """The steps of `for i in range(len(layers))` whose body indexes a
        structure with i (`layers[i]`, `params[f"W{i}"]`): a loop over a
        structure's items, written out as for `for W, b in layers`.  None for a
        loop that stays a loop."""
        name = node.target.id
        indexes = any(
            isinstance(sub, ast.Subscript)
            and any(
                isinstance(n, ast.Name) and n.id == name for n in ast.walk(sub.slice)
            )
            and isinstance(self._structure_root(sub.value), (tuple, dict))
            for stmt in node.body
            for sub in ast.walk(stmt)
        )
        iterator, backwards = node.iter, False
        if self._calls_builtin(iterator, "reversed") and len(iterator.args) == 1:
            iterator, backwards = iterator.args[0], True
        if not indexes or not self._calls_builtin(iterator, "range"):
            return None
        bounds = [self.expr(a) for a in iterator.args]
        if iterator.keywords or not all(
            isinstance(b, Const) and type(b.value) is int for b in bounds
        ):
            return None
        steps = range(*(b.value for b in bounds))
        return steps[::-1] if backwards else steps

    def _structure_root(self, node: ast.expr) -> Any:
        """What the name at the root of `layers[i][0]` or `p.layers[i]` holds."""
        while isinstance(node, (ast.Subscript, ast.Attribute)):
            node = node.value
        return self.lookup(node.id) if isinstance(node, ast.Name) else None

    def _range(self, node: ast.expr) -> Operand:
        """The iterable of a for loop: `range(...)`, or (as generated gradients write
        them) a name holding a range, `reversed(...)` of one, or a slice of one."""
        if self._calls_builtin(node, "range"):
            return self._range_call(node)
        if self._calls_builtin(node, "reversed") or isinstance(
            node, (ast.Name, ast.Subscript)
        ):
            value = self.expr(node)
            if self._is_range(value):
                return value
        raise self._not_a_range(node)

    def _loops_over_range(self, node: ast.expr) -> bool:
        if self._calls_builtin(node, "range"):
            return True
        if self._calls_builtin(node, "reversed") and node.args:
            node = node.args[0]
            if self._calls_builtin(node, "range"):
                return True
        if isinstance(node, (ast.Name, ast.Subscript)):
            value = self.lookup(node.id) if isinstance(node, ast.Name) else None
            if isinstance(value, Var) and self._is_range(value):
                return True
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
                inner = self.lookup(node.value.id)
                return isinstance(inner, Var) and self._is_range(inner)
        return False

    def _over_sequence(self, node: ast.For) -> None:
        """`for v in seq:` as `for k in range(len(seq)): v = seq[k]`, the sequence
        evaluated once (an array, a list or tuple of data); `enumerate(seq)`,
        `zip(a, b)` and `reversed(seq)` so too; a tuple of values s2s holds apart
        (arrays of different shapes) is unrolled."""
        iterator, target = node.iter, node.target
        kind = next((k for k in ITERATORS if self._calls_builtin(iterator, k)), None)
        sequences = iterator.args if kind else [iterator]
        if kind and (
            iterator.keywords
            or not sequences
            or (kind != "zip" and len(sequences) != 1)
        ):
            raise self._not_a_range(iterator)
        if kind == "enumerate" or kind == "zip":
            if not (
                isinstance(target, ast.Tuple)
                and all(isinstance(t, (ast.Name, ast.Tuple)) for t in target.elts)
                and len(target.elts) == (2 if kind == "enumerate" else len(sequences))
            ):
                raise self.fn.error(
                    target,
                    f"unpack {kind}() into one name per item",
                    f"Write `for {'i, v in enumerate(xs)' if kind == 'enumerate' else 'a, b in zip(xs, ys)'}:`.",
                )
        if kind is None and isinstance(iterator, (ast.List, ast.Tuple)):
            self._unrolled(node, tuple(self.expr(e) for e in iterator.elts))
            return
        nested = kind is not None and any(
            self._calls_builtin(s, k) for s in sequences for k in ITERATORS
        )
        values = None if nested else [self.value(s) for s in sequences]
        items = self._held_sequence(iterator, values)
        if items is not None:  # written out, item by item
            self._unrolled(node, items)
            return
        if nested:
            raise self._not_a_range(iterator)
        names = []
        for value in values:
            name = f"<sequence {len(self.env)} {id(node)}>"  # not a Python name
            self.env[name] = value
            names.append(name)
        index = f"<k {id(node)}>"
        at = lambda n: ast.Subscript(
            ast.Name(n, ast.Load()), ast.Name(index, ast.Load()), ast.Load()
        )
        length = lambda n: ast.Call(
            ast.Name("len", ast.Load()), [ast.Name(n, ast.Load())], []
        )
        count = length(names[0])
        for other in names[1:]:  # zip stops at the shortest
            count = ast.Call(ast.Name("min", ast.Load()), [count, length(other)], [])
        span = ast.Call(ast.Name("range", ast.Load()), [count], [])
        if kind == "reversed":
            span = ast.Call(ast.Name("reversed", ast.Load()), [span], [])
        if kind == "enumerate":
            first = [
                ast.Assign([target.elts[0]], ast.Name(index, ast.Load())),
                ast.Assign([target.elts[1]], at(names[0])),
            ]
        elif kind == "zip":
            first = [ast.Assign([t], at(n)) for t, n in zip(target.elts, names)]
        else:
            first = [ast.Assign([target], at(names[0]))]
        loop = ast.For(ast.Name(index, ast.Store()), span, first + node.body, [])
        for made in ast.walk(loop):
            if made not in set(ast.walk(node)):
                ast.copy_location(made, node)
        ast.fix_missing_locations(loop)
        self.stmt_For(loop)
        for name in names:
            self.env.pop(name, None)

    def _held_sequence(
        self, node: ast.expr, values: list | None = None
    ) -> tuple | None:
        """The items of a sequence of values s2s holds apart (a structure, a
        tuple), or of `zip`, `enumerate` and `reversed` of such sequences, nested
        as Python nests them; None for a sequence that is an array.  `values` are
        those of the sequences `node` combines, if lowered already."""
        kind = next((k for k in ITERATORS if self._calls_builtin(node, k)), None)
        if kind is None:
            return self._held_apart(self.value(node) if values is None else values[0])
        if node.keywords or not node.args:
            return None
        held = (
            [self._held_apart(v) for v in values]
            if values is not None
            else [self._held_sequence(arg) for arg in node.args]
        )
        if any(h is None for h in held) or (kind != "zip" and len(held) != 1):
            return None
        if kind == "zip":
            return tuple(zip(*held))
        if kind == "enumerate":
            return tuple((Const(k), v) for k, v in enumerate(held[0]))
        return held[0][::-1]

    def _held_apart(self, value: Any) -> tuple | None:
        """The items of a tuple s2s holds item by item (a tuple display, values a
        helper returned), else None."""
        if isinstance(value, tuple):
            return value
        if isinstance(value, dict):  # `for key in params:` as Python iterates dicts
            return tuple(Const(key) for key in value)
        items = self._tuple_items(value) if isinstance(value, Var) else None
        return tuple(items) if items is not None else None

    def _unrolled(self, node: ast.For, items: tuple) -> None:
        """`for W in (W1, W2):` run once per item, written out.  After a `break`
        that may have run, the remaining items run under `if not stop:`."""
        outer_stop = self.env.get(STOP)
        for k, item in enumerate(items):
            self.env[STOP] = Const(False)
            self.assign_value(node.target, item)
            self.block(node.body)
            stop = self.env.get(STOP)
            if stop == Const(True) or k == len(items) - 1:
                break
            if stop != Const(False):
                self._unrolled_unless(stop, node, items[k + 1 :])
                break
        self.env[STOP] = outer_stop
        if outer_stop is None:
            del self.env[STOP]

    def _unrolled_unless(self, stop: Value, node: ast.For, rest: tuple) -> None:
        """`if not stop: for W in (rest...): ...`, the flag and the items held
        under names no Python code can spell."""
        flag = f"<stop {id(node)} {len(rest)}>"
        items = [f"<item {id(node)} {len(rest)} {k}>" for k in range(len(rest))]
        self.env.update({flag: stop, **dict(zip(items, rest))})
        load = lambda n: ast.Name(n, ast.Load())
        loop = ast.For(
            node.target, ast.Tuple([load(n) for n in items], ast.Load()), node.body, []
        )
        guard = ast.If(ast.UnaryOp(ast.Not(), load(flag)), [loop], [])
        for made in (
            guard,
            guard.test,
            loop,
            *ast.walk(guard.test),
            *ast.walk(loop.iter),
        ):
            ast.copy_location(made, node)
        self.stmt_If(guard)
        for name in (flag, *items):
            self.env.pop(name, None)

    def _not_a_range(self, node: ast.expr) -> UnsupportedSyntaxError:
        return self.fn.error(
            node,
            "s2s loops only over range(...)",
            "Write `for i in range(n):` (start, stop and step may be run-time "
            "values) and index arrays with i inside the body.",
        )

    def _calls_builtin(self, node: ast.expr, name: str) -> bool:
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id not in self.env
            and self.fn.resolve(node.func.id) == Binding("builtin", name)
        )

    def _range_call(self, node: ast.Call) -> Operand:
        if node.keywords or not 1 <= len(node.args) <= 3:
            raise self._not_a_range(node)
        args = [self.expr(a) for a in node.args]
        if len(args) == 1:
            args = [Const(0), args[0]]
        if len(args) == 2:
            args.append(Const(1))
        return self.builder.emit("range", *args, lib="builtin")

    def _reversed_call(self, node: ast.Call) -> Operand:
        value = self.expr(node.args[0]) if len(node.args) == 1 else None
        if node.keywords or not self._is_range(value):
            raise self.fn.error(
                node,
                "reversed() is supported on a range only",
                "Loop over reversed(range(...)), or index the array backwards.",
            )
        return self.builder.emit("reversed", value, lib="builtin")

    def _is_range(self, value: Operand | None) -> bool:
        """Whether `value` is a range, reversed or sliced (re-iterable, or iterated
        once by the loop it was made for)."""
        if value in self.saved.popped_ranges:  # a range a generated gradient saved
            return True
        merged = self.aliasing.merged.get(value) if isinstance(value, Var) else None
        if merged:  # a name bound to a range in each branch that binds it
            return all(self._is_range(v) for v in merged)
        made = self.builder.defs.get(value) if isinstance(value, Var) else None
        if made is None:
            return False
        if made.prim == "range":
            return True
        return made.prim in ("reversed", "getitem") and self._is_range(made.args[0])
