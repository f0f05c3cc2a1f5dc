"""Comprehensions and generator expressions.

`sum(f(W) for W in Ws)` (or of a list comprehension) becomes a loop that adds up the
items, over anything a `for` loop takes.  A comprehension whose items can be counted
while lowering (over a list or tuple display, a tuple of values, `range` of
constants, and `zip` or `enumerate` of those) is written out as a list display, for
`np.stack`, `np.array`, `max`, `min` and the like; the length of any other is known
only at run time, and is refused with advice.  The names a comprehension binds are
its own, as in Python: they are held under names no code can spell.
"""

from __future__ import annotations

import ast
import copy

from ..frontend import Binding
from ..ir import Const, Operand
from .environment import Value
from .syntax import located

COMPREHENSIONS = (ast.ListComp, ast.GeneratorExp)


class Comprehensions:
    """The comprehension visitors of :class:`~s2s.lower.lowerer.Lowerer` (a mixin)."""

    def comprehension_call(self, node: ast.Call) -> Operand | ast.Call | None:
        """A call of a comprehension, or `sum`, `max`, `min` of a display, as an
        operand (a sum, lowered as a loop) or a call s2s reads; else None."""
        func, args = node.func, node.args
        builtin = (
            func.id
            if isinstance(func, ast.Name) and self._is_builtin(func.id)
            else None
        )
        if builtin == "sum" and len(args) in (1, 2) and not node.keywords:
            if isinstance(args[0], COMPREHENSIONS):
                return self._summed(node, args[0], args[1:])
            if isinstance(args[0], (ast.List, ast.Tuple)):
                return self._added(node, args[0].elts, args[1:])
        one_display = len(args) == 1 and isinstance(args[0], (ast.List, ast.Tuple))
        if not any(isinstance(a, COMPREHENSIONS) for a in args) and not (
            builtin in ("max", "min") and one_display
        ):
            return None
        written = [
            self._written_out(a) if isinstance(a, COMPREHENSIONS) else a for a in args
        ]
        if builtin in ("max", "min") and len(written) == 1 and not node.keywords:
            items = written[0].elts  # max(x for x in xs) is max(x1, x2, ...)
            if not items:
                raise self.fn.error(
                    node, f"{builtin}() of an empty comprehension", "Give it items."
                )
            return (
                items[0]
                if len(items) == 1
                else located(ast.Call(func, items, []), node)
            )
        return located(ast.Call(func, written, node.keywords), node)

    def _is_builtin(self, name: str) -> bool:
        return self.lookup(name) is None and self.fn.resolve(name) == Binding(
            "builtin", name
        )

    # --- sums, as loops ----------------------------------------------------------

    def _summed(self, node: ast.Call, comp: ast.expr, start: list[ast.expr]) -> Operand:
        """`sum(elt for ... if ...)`: a total, set to the start (0), then increased by
        each item in loops over the generators (nested), under their conditions."""
        total = f"<total {id(node)}>"
        names = _bound_names(comp)
        body: list[ast.stmt] = [
            _assign(
                total, ast.BinOp(_load(total), ast.Add(), _renamed(comp.elt, names))
            )
        ]
        for generator in reversed(comp.generators):
            for test in reversed(generator.ifs):
                body = [ast.If(_renamed(test, names), body, [])]
            if generator.is_async:
                self.unsupported(comp)
            body = [
                ast.For(
                    _renamed(generator.target, names),
                    _renamed(generator.iter, names),
                    body,
                    [],
                )
            ]
        first = _assign(total, start[0] if start else ast.Constant(0))
        saved_loc = self.builder.loc
        for stmt in [first, *body]:
            for part in ast.walk(stmt):
                if "lineno" in part._attributes and not hasattr(part, "lineno"):
                    ast.copy_location(part, comp)
        self.block([first, *body])
        self.builder.loc = saved_loc
        return self.env.pop(total)

    def _added(
        self, node: ast.Call, items: list[ast.expr], start: list[ast.expr]
    ) -> ast.expr:
        """`sum([a, b, c])` is `a + b + c` (after the start, if one is given)."""
        terms = [*start, *items] or [ast.Constant(0)]
        total = terms[0]
        for term in terms[1:]:
            total = ast.BinOp(total, ast.Add(), term)
        return located(total, node)

    # --- comprehensions written out ------------------------------------------------

    def _written_out(self, comp: ast.ListComp | ast.GeneratorExp) -> ast.List:
        """The comprehension as a list display of its items, each bound to the
        values of the comprehension's names for that item."""
        items: list[ast.expr] = []
        for k, bound in enumerate(self._bindings(comp, comp.generators, {})):
            names = {}
            for name, value in bound.items():
                key = f"<{name} {id(comp)} {k}>"
                self.env[key] = value
                names[name] = key
            if all(
                self._holds(test, names, comp)
                for g in comp.generators
                for test in g.ifs
            ):
                items.append(_renamed(comp.elt, names))
        return located(ast.List(items, ast.Load()), comp)

    def _bindings(
        self, comp: ast.expr, generators: list[ast.comprehension], bound: dict
    ) -> list[dict[str, Value]]:
        """The values of the comprehension's names, one dict per item."""
        if not generators:
            return [bound]
        first, rest = generators[0], generators[1:]
        keys = {name: f"<{name} {id(comp)} outer>" for name in bound}
        self.env.update({keys[n]: v for n, v in bound.items()})
        values = self._counted(_renamed(first.iter, keys), comp)
        found = []
        for value in values:
            here = dict(bound)
            self._bind(first.target, value, here, comp)
            found += self._bindings(comp, rest, here)
        return found

    def _counted(self, iterable: ast.expr, comp: ast.expr) -> list[Value]:
        """The items of what a comprehension runs over, if they can be counted now."""
        if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name):
            kind = iterable.func.id if self._is_builtin(iterable.func.id) else None
            if kind == "range" and not iterable.keywords:
                bounds = [self.expr(a) for a in iterable.args]
                if all(
                    isinstance(b, Const) and isinstance(b.value, int) for b in bounds
                ):
                    return [Const(i) for i in range(*(b.value for b in bounds))]
            if kind in ("zip", "enumerate") and iterable.args and not iterable.keywords:
                parts = [self._counted(a, comp) for a in iterable.args]
                if kind == "enumerate":
                    return [(Const(i), v) for i, v in enumerate(parts[0])]
                return [tuple(items) for items in zip(*parts)]
        if isinstance(iterable, (ast.List, ast.Tuple)):
            return [self.value(e) for e in iterable.elts]
        value = self.value(iterable)
        held = self._held_apart(value) if not isinstance(value, Const) else None
        if isinstance(value, Const) and isinstance(value.value, (tuple, list)):
            held = tuple(Const(v) for v in value.value)
        if held is None:
            raise self.fn.error(
                comp,
                "a comprehension whose length is known only when the function runs",
                "Write a loop that adds up the items (`total = total + ...`), "
                "sum(... for ...) of it, or compute the items at once with array "
                "operations (np.sin(x) rather than [np.sin(v) for v in x]).",
            )
        return list(held)

    def _bind(
        self, target: ast.expr, value: Value, bound: dict, comp: ast.expr
    ) -> None:
        if isinstance(target, ast.Name):
            bound[target.id] = value
            return
        if isinstance(value, Const) and isinstance(value.value, tuple):
            value = tuple(Const(v) for v in value.value)
        if (
            isinstance(target, ast.Tuple)
            and isinstance(value, tuple)
            and len(value) == len(target.elts)
        ):
            for part, item in zip(target.elts, value):
                self._bind(part, item, bound, comp)
            return
        raise self.fn.error(
            target,
            "cannot unpack the items of this comprehension",
            "Bind each item to one name.",
        )

    def _holds(self, test: ast.expr, names: dict[str, str], comp: ast.expr) -> bool:
        value = self.expr(_renamed(test, names))
        if not isinstance(value, Const):
            raise self.fn.error(
                test,
                "a comprehension's condition known only when the function runs",
                "Choose the values with np.where(condition, a, b), or write a loop.",
            )
        return bool(value.value)


def _bound_names(comp: ast.expr) -> dict[str, str]:
    """The names a comprehension's generators bind, each held under its own key."""
    names = {}
    for generator in comp.generators:
        for node in ast.walk(generator.target):
            if isinstance(node, ast.Name):
                names[node.id] = f"<{node.id} {id(comp)}>"
    return names


def _renamed(node: ast.expr, names: dict[str, str]) -> ast.expr:
    """A copy of `node` with each of `names` replaced by its key."""

    class Rename(ast.NodeTransformer):
        def visit_Name(self, name: ast.Name) -> ast.Name:
            if name.id in names:
                return ast.copy_location(ast.Name(names[name.id], name.ctx), name)
            return name

    return Rename().visit(copy.deepcopy(node))


def _load(name: str) -> ast.Name:
    return ast.Name(name, ast.Load())


def _assign(name: str, value: ast.expr) -> ast.Assign:
    return ast.Assign([ast.Name(name, ast.Store())], value)
