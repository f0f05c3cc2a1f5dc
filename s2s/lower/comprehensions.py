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
from dataclasses import dataclass
from typing import Callable

from ..frontend import Binding
from ..ir import Const, Operand, Var
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
        if self._builds_an_array(node) and not self._countable(args[0]):
            return self._built(args[0], node.func.value)
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
        for k in reversed(range(len(comp.generators))):
            generator = comp.generators[k]
            for test in reversed(generator.ifs):
                body = [ast.If(_renamed(test, names), body, [])]
            if generator.is_async:
                self.unsupported(comp)
            # what a generator runs over sees only the names bound before it
            earlier = _bound_names(comp, comp.generators[:k])
            body = [
                ast.For(
                    _renamed(generator.target, names),
                    _renamed(generator.iter, earlier),
                    body,
                    [],
                )
            ]
        first = _assign(total, start[0] if start else ast.Constant(0))
        self._lower_made([first, *body], comp)
        return self.env.pop(total)

    def _lower_made(self, stmts: list[ast.stmt], comp: ast.expr) -> None:
        """Lower statements made for a comprehension, located at it, in the middle
        of the expression that holds it."""
        saved_loc = self.builder.loc
        for stmt in stmts:
            for node in ast.walk(stmt):
                if "lineno" in node._attributes and not hasattr(node, "lineno"):
                    ast.copy_location(node, comp)
        self.block(stmts)
        self.builder.loc = saved_loc

    def _added(
        self, node: ast.Call, items: list[ast.expr], start: list[ast.expr]
    ) -> ast.expr:
        """`sum([a, b, c])` is `a + b + c` (after the start, if one is given)."""
        terms = [*start, *items] or [ast.Constant(0)]
        total = terms[0]
        for term in terms[1:]:
            total = ast.BinOp(total, ast.Add(), term)
        return located(total, node)

    # --- arrays built item by item ---------------------------------------------------

    def _builds_an_array(self, node: ast.Call) -> bool:
        """`np.stack(<comprehension>)` or `np.array(...)`, `np.asarray(...)` of one."""
        func = node.func
        return (
            isinstance(func, ast.Attribute)
            and func.attr in ("stack", "array", "asarray")
            and self._module_of(func.value) == "numpy"
            and len(node.args) == 1
            and isinstance(node.args[0], COMPREHENSIONS)
            and all(k.arg == "axis" and _is_zero(k.value) for k in node.keywords)
        )

    def _countable(self, comp: ast.expr) -> bool:
        """Whether the comprehension runs over what can be counted while lowering
        (then it is written out): displays, tuples of values, `range` of
        constants, `zip` and `enumerate` of those."""
        return all(self._countable_iterable(g.iter) for g in comp.generators)

    def _countable_iterable(self, node: ast.expr) -> bool:
        if isinstance(node, (ast.List, ast.Tuple)):
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "range":
                return all(
                    isinstance(a, ast.Constant)
                    or isinstance(a, ast.UnaryOp)
                    and isinstance(a.operand, ast.Constant)
                    for a in node.args
                )
            if node.func.id in ("zip", "enumerate"):
                return all(self._countable_iterable(a) for a in node.args)
        if isinstance(node, ast.Name):
            held = self.lookup(node.id)
            if held is not None:
                return isinstance(held, tuple) or (
                    isinstance(held, Var) and self._held_apart(held) is not None
                )
            found = self.fn.resolve(node.id)
            return found is not None and isinstance(found.value, (tuple, list))
        return False

    def _built(self, comp: ast.expr, numpy: ast.expr) -> Operand:
        """The stack of a comprehension counted only at run time, one generator
        without conditions: its first item, an array of copies of it as long as the
        sequence, then each later item assigned in place (`out[k] = ...`)."""
        (generator,) = comp.generators if len(comp.generators) == 1 else (None,)
        if generator is None or generator.ifs or generator.is_async:
            self._counted_at_run_time(comp)
        key = f"{id(comp)}"
        names = {n: f"<{n} {key}>" for n in _target_names(generator.target)}
        # keys no name the comprehension binds (`<name key>`) can take
        seq, n, k = f"<items {key} seq>", f"<n {key} count>", f"<k {key} at>"
        first, out = f"<first {key} item>", f"<stacked {key} out>"
        item = self._item_at(generator.iter, seq)
        target = _renamed(generator.target, names)
        elt = _renamed(comp.elt, names)
        np_ = lambda function, *args: _call(numpy, function, *args)
        copies = np_(
            "array",
            np_(
                "broadcast_to",
                np_("expand_dims", _load(first), ast.Constant(0)),
                ast.BinOp(
                    ast.Tuple([_load(n)], ast.Load()),
                    ast.Add(),
                    np_("shape", _load(first)),
                ),
            ),
        )
        part = ast.Subscript(_load(out), _load(k), ast.Store())
        stmts = [
            *item.setup,
            _assign(n, item.count),
            ast.Assign([target], item.at(ast.Constant(0))),
            _assign(first, elt),
            _assign(out, copies),
            ast.For(
                ast.Name(k, ast.Store()),
                ast.Call(
                    ast.Name("range", ast.Load()), [ast.Constant(1), _load(n)], []
                ),
                [
                    ast.Assign([copy.deepcopy(target)], item.at(_load(k))),
                    ast.Assign([part], copy.deepcopy(elt)),
                ],
                [],
            ),
        ]
        self._lower_made(stmts, comp)
        result = self.env.pop(out)
        for name in (seq, n, k, first, *names.values()):
            self.env.pop(name, None)
        return result

    def _item_at(self, iterable: ast.expr, seq: str) -> "_Items":
        """How to count the items of what a comprehension runs over, and reach the
        k-th: `range(a, b, c)` by arithmetic, anything else by indexing it."""
        if (
            isinstance(iterable, ast.Call)
            and isinstance(iterable.func, ast.Name)
            and iterable.func.id == "range"
            and self._is_builtin("range")
            and not iterable.keywords
            and 1 <= len(iterable.args) <= 3
        ):
            args = iterable.args
            start = args[0] if len(args) > 1 else ast.Constant(0)
            step = args[2] if len(args) == 3 else ast.Constant(1)
            setup = [_assign(f"{seq} start", start), _assign(f"{seq} step", step)]
            count = ast.Call(ast.Name("len", ast.Load()), [iterable], [])
            at = lambda k: ast.BinOp(
                _load(f"{seq} start"),
                ast.Add(),
                ast.BinOp(k, ast.Mult(), _load(f"{seq} step")),
            )
            return _Items([*setup], count, at)
        count = ast.Call(ast.Name("len", ast.Load()), [_load(seq)], [])
        at = lambda k: ast.Subscript(_load(seq), k, ast.Load())
        return _Items([_assign(seq, iterable)], count, at)

    def _counted_at_run_time(self, comp: ast.expr):
        raise self.fn.error(
            comp,
            "a comprehension whose length is known only when the function runs",
            "Write a loop that adds up the items (`total = total + ...`), "
            "sum(... for ...) of it, np.stack([... for v in x]) of one "
            "generator without `if`, or compute the items at once with array "
            "operations (np.sin(x) rather than [np.sin(v) for v in x]).",
        )

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
            self._counted_at_run_time(comp)
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


@dataclass
class _Items:
    """What a comprehension runs over: statements that hold it, the number of its
    items, and the expression of the k-th."""

    setup: list[ast.stmt]
    count: ast.expr
    at: Callable[[ast.expr], ast.expr]


def _target_names(target: ast.expr) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]


def _is_zero(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value == 0


def _call(numpy: ast.expr, function: str, *args: ast.expr) -> ast.Call:
    """`np.<function>(*args)`, numpy spelled as the user's code spells it."""
    func = ast.Attribute(copy.deepcopy(numpy), function, ast.Load())
    return ast.Call(func, list(args), [])


def _bound_names(comp: ast.expr, generators: list | None = None) -> dict[str, str]:
    """The names a comprehension's generators (or the ones given) bind, each held
    under its own key."""
    names = {}
    for generator in comp.generators if generators is None else generators:
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
