"""Lowering expressions: names, constants, operators, comparisons, attributes,
subscripts and conditional expressions become ops whose outputs are fresh SSA
values (calls are in :mod:`.calls`)."""

from __future__ import annotations

import ast
import math
import types

import numpy

from ..errors import ReadAsStructureError, UnsupportedSyntaxError
from ..frontend import Binding
from ..frontend.parsed import is_data, module_attribute
from ..ir import Const, If, Merge, Operand, Role, Var
from ..primitives import MATH_CONSTANTS, NUMPY_CONSTANTS, loaded_object
from .environment import LocalFunction, Value
from .syntax import BINOPS, COMPARE, dotted

#: What to do where a parameter is read as a structure but s2s has none.
STRUCTURE_ADVICE = (
    "A parameter that holds a structure (a dict, list, tuple or namedtuple of "
    "arrays) gets code written for the structure s2s.grad is called with; for "
    "`s2s generate`, declare its layout in the signature, e.g. "
    "`params: {'W': 'n m', 'b': 'm'}` (see the README)."
)


class Expressions:
    """The expression visitors of :class:`~s2s.lower.lowerer.Lowerer` (a mixin)."""

    def value(self, node: ast.expr, hint: str | None = None) -> Value:
        """An expression that may also be a structure: a call returning a tuple, a
        name or part of a structured parameter (`params["layer1"]`)."""
        if isinstance(node, ast.Call):
            return self.expr_Call(node, hint, allow_tuple=True)
        visit = getattr(self, "expr_" + type(node).__name__, None)
        if visit is None:
            self.unsupported(node)
        return visit(node, hint)

    def expr(self, node: ast.expr, hint: str | None = None) -> Operand:
        """An expression that is one value (an array, a number)."""
        found = self.value(node, hint)
        if isinstance(found, (tuple, dict)):
            what = "a dict" if isinstance(found, dict) else "a tuple"
            raise self.fn.error(
                node,
                f"{ast.unparse(node)} holds {what} of values here, used as one value",
                "Take its items apart (`a, b = t`, `params['W']`, "
                "`for W, b in layers`), or stack them into an array (np.stack).",
            )
        return found

    def expr_Constant(self, node: ast.Constant, hint: str | None) -> Operand:
        if isinstance(node.value, (bool, int, float, str)) or node.value is None:
            return Const(node.value)
        if node.value is Ellipsis:
            return Const(Ellipsis)
        raise self.fn.error(
            node,
            f"unsupported constant {node.value!r}",
            "Use numbers, booleans, None or strings.",
        )

    def expr_Name(self, node: ast.Name, hint: str | None) -> Operand:
        value = self.lookup(node.id)
        if isinstance(value, (LocalFunction, Binding)):
            raise self.fn.error(
                node,
                f"the function {node.id} is used as a value",
                "Call it (s2s inlines it where it is called), or pass it to a "
                "function of yours that calls it.",
            )
        if value is not None:
            if isinstance(value, Var) and value in self.saved.tapes:
                raise self.fn.error(
                    node,
                    f"the list '{node.id}' is used as a value",
                    "s2s supports lists only as tapes: `saved = []`, "
                    "saved.append(v), v = saved.pop().",
                )
            return value
        binding = self.fn.resolve(node.id)
        if binding is not None and binding.kind == "const":
            return Const(binding.value)
        if binding is not None and binding.kind == "data":
            return self.free.read(binding.value, self.route)
        raise self.fn.error(node, *self._name_problem(node.id, binding))

    def _name_problem(self, name: str, binding: Binding | None) -> tuple[str, str]:
        if binding is None:
            return (
                f"name '{name}' is not defined here",
                "Define it before use on every path, or pass it as a parameter. "
                "(A loop's index is not visible after the loop.)",
            )
        if binding.kind in ("numpy", "math"):
            return (
                f"the module '{name}' cannot be used as a value",
                "Call one of its functions.",
            )
        return (
            f"'{name}' ({type(binding.value).__name__}) cannot be used as a value here",
            "A function reads numbers, arrays and tuples, lists and dicts of them from "
            "its module or its closure; pass other values as parameters.",
        )

    def expr_JoinedStr(self, node: ast.JoinedStr, hint: str | None) -> Operand:
        """An f-string (for print): its template, and its values as operands; a
        constant where they are all known."""
        template, values = [], []
        for part in node.values:
            if isinstance(part, ast.Constant):
                template.append(part.value.replace("{", "{{").replace("}", "}}"))
                continue
            spec = part.format_spec
            if spec is not None and not all(
                isinstance(p, ast.Constant) for p in spec.values
            ):
                raise self.fn.error(
                    spec, "a format spec computed at run time", "Write it out."
                )
            conversion = "" if part.conversion == -1 else "!" + chr(part.conversion)
            said = "".join(p.value for p in spec.values) if spec else ""
            template.append("{" + conversion + (":" + said if said else "") + "}")
            values.append(self.expr(part.value))
        if all(isinstance(v, Const) for v in values):  # a key: `params[f"W{i}"]`
            return Const("".join(template).format(*(v.value for v in values)))
        return self.emit("format", *values, hint=hint, template="".join(template))

    def expr_Dict(self, node: ast.Dict, hint: str | None) -> dict[str, Value]:
        """`{"loss": loss, "acc": acc}`: a dict s2s holds item by item (what a
        function differentiated with has_aux may return besides its value)."""
        items = {}
        for key, item in zip(node.keys, node.values):
            name = self.expr(key) if key is not None else None
            if not (isinstance(name, Const) and isinstance(name.value, str)):
                raise self.fn.error(
                    key or item,
                    "s2s reads dicts with constant string keys",
                    "Write the keys as strings: {'acc': acc}.",
                )
            items[name.value] = self.value(item)
        return items

    def expr_Tuple(self, node: ast.Tuple, hint: str | None) -> Operand:
        items = [self.expr(e) for e in node.elts]
        if all(isinstance(i, Const) for i in items):
            return Const(tuple(i.value for i in items))
        return self.emit("tuple", *items, hint=hint)

    def expr_BinOp(self, node: ast.BinOp, hint: str | None) -> Operand:
        prim = BINOPS.get(type(node.op))
        if prim is None:
            raise self.fn.error(
                node,
                f"unsupported operator {type(node.op).__name__}",
                "Use + - * / ** @ // % on numbers and arrays, and & | ~ to combine "
                "conditions (np.where((a > 0) & (b < 1), ...)); for an exclusive or "
                "of conditions write `a != b`.",
            )
        left, right = self.expr(node.left), self.expr(node.right)
        return self.emit(prim, left, right, hint=hint)

    def expr_UnaryOp(self, node: ast.UnaryOp, hint: str | None) -> Operand:
        operand = self.expr(node.operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(node.op, ast.USub):
            return self.emit("neg", operand, hint=hint)
        if isinstance(node.op, ast.Not):
            return self.emit("not", operand, hint=hint)
        return self.emit("invert", operand, hint=hint)  # `~`, the last unary operator

    def expr_BoolOp(self, node: ast.BoolOp, hint: str | None) -> Operand:
        prim = "both" if isinstance(node.op, ast.And) else "either"
        result = self.expr(node.values[0])
        for value in node.values[1:]:
            result = self.emit(prim, result, self.expr(value))
        return result

    def expr_Compare(self, node: ast.Compare, hint: str | None) -> Operand:
        left = self.expr(node.left)
        result = None
        for op, right_node in zip(node.ops, node.comparators):
            if isinstance(op, (ast.Is, ast.IsNot)):
                right = self.expr(right_node)
                test = self._is_none(node, left, right, isinstance(op, ast.IsNot))
                result = test if result is None else self.emit("both", result, test)
                left = right
                continue
            prim = COMPARE.get(type(op))
            if prim is None:
                raise self.fn.error(
                    node,
                    f"unsupported comparison {type(op).__name__}",
                    "Compare values with < <= > >= == !=.",
                )
            right = self.expr(right_node)
            test = self.emit(prim, left, right)
            result = test if result is None else self.emit("both", result, test)
            left = right
        return result

    def _is_none(
        self, node: ast.Compare, left: Operand, right: Operand, negated: bool
    ) -> Operand:
        """`x is None` (`is not`): known at once for a constant, else a test."""
        none = [isinstance(x, Const) and x.value is None for x in (left, right)]
        if not any(none):
            raise self.fn.error(
                node,
                "s2s compares with `is` only to None",
                "Compare values with == or !=; test an optional parameter with "
                "`if w is None:`.",
            )
        other = left if none[1] else right
        if isinstance(other, Const):
            return Const((other.value is None) != negated)
        return self.emit("is_not" if negated else "is", other, Const(None))

    def expr_Attribute(self, node: ast.Attribute, hint: str | None) -> Operand:
        module = self._module_of(node.value)
        if module == "numpy" and node.attr in NUMPY_CONSTANTS:
            return Const(getattr(numpy, node.attr))
        if module == "math" and node.attr in MATH_CONSTANTS:
            return Const(getattr(math, node.attr))
        found = module_attribute(module, node.attr) if module is not None else None
        if found is not None and found.kind == "data":  # mylib.X, read live
            return self.free.read(found.value, self.route)
        if module is not None:
            raise self.fn.error(
                node,
                f"{dotted(node)} is not a constant s2s knows",
                "Use a numpy/math function call, or pass the value as a parameter.",
            )
        value = self.value(node.value)
        if isinstance(value, tuple) and node.attr in getattr(value, "_fields", ()):
            return getattr(value, node.attr)  # a namedtuple's field
        if isinstance(value, (tuple, dict)):
            raise self.fn.error(
                node,
                f"{dotted(node.value)} has no attribute .{node.attr} s2s can read",
                "Read a dict's items as params['key'], a namedtuple's by its "
                "fields.",
            )
        if isinstance(value, Var) and value in self.objects:
            return self._object_attribute(node, value, hint)
        if node.attr == "T":  # written back as .T: the value is an array
            return self.emit("transpose", value, hint=hint, attr=True)
        if node.attr in ("shape", "ndim", "size"):
            return self.emit(node.attr, value, hint=hint)
        passed_in = value in self.aliasing.borrowed  # a parameter: a namedtuple?
        raise self.fn.error(
            node,
            f"unsupported attribute .{node.attr} of a value s2s differentiates "
            "through",
            "Arrays have .T, .shape, .ndim and .size here; use numpy functions for "
            "the rest (np.real(x) for x.real)."
            + (" " + STRUCTURE_ADVICE if passed_in else ""),
            ReadAsStructureError if passed_in else UnsupportedSyntaxError,
        )

    def _object_attribute(self, node: ast.Attribute, owner: Var, hint: str | None):
        """`self.W`: an attribute of an object, read when the gradient runs (data,
        not differentiated); an object itself when it is not data (`self.layer`)."""
        obj = self.objects[owner]
        missing = object()
        value = getattr(obj, node.attr, missing)
        if obj is None:  # a module not imported (the command line): data
            value = None
        elif value is missing:
            raise self.fn.error(
                node,
                f"{dotted(node)}: the {type(obj).__name__} object has no attribute "
                f"'{node.attr}'",
            )
        out = self.emit("attribute", owner, hint=hint or node.attr, name=node.attr)
        if not is_data(value):
            self.objects[out] = value
        return out

    def expr_Subscript(self, node: ast.Subscript, hint: str | None) -> Value:
        x = self.value(node.value)  # `pair[0]`, `helper(x)[0]`, `params["W1"]`
        if isinstance(x, dict):
            return self._dict_item(node, x)
        if isinstance(x, tuple):
            return self._tuple_item(node, x, held=True)
        items = self._tuple_items(x)
        if items is not None:
            return self._tuple_item(node, items)
        key = node.slice
        if (
            isinstance(x, Var)
            and x.role == Role.PARAM  # data from outside may be a dict
            and (
                isinstance(key, ast.JoinedStr)
                or (isinstance(key, ast.Constant) and isinstance(key.value, str))
            )
        ):
            raise self.fn.error(
                node,
                f"{ast.unparse(node)} reads a key of {ast.unparse(node.value)}, "
                "which s2s holds as an array here",
                STRUCTURE_ADVICE,
                ReadAsStructureError,
            )
        spec, parts = self._index(node.slice)
        return self.emit("getitem", x, *parts, hint=hint, spec=spec)

    def _dict_item(self, node: ast.Subscript, items: dict[str, Value]) -> Value:
        """`params["W1"]` of a structured parameter: the item, picked while
        linearizing."""
        key = self.expr(node.slice)
        if not isinstance(key, Const) or not isinstance(key.value, str):
            raise self.fn.error(
                node,
                "a dict is read with a key known only at run time",
                "Read dicts with constant keys (`params['W1']`, or "
                "`params[f'W{i}']` in `for i in range(n)` with n a constant or "
                "`len(params) // 2`), or loop over them (`for name, W in "
                "params.items()`).",
            )
        if key.value not in items:
            known = ", ".join(map(repr, items)) or "none"
            raise self.fn.error(
                node,
                f"the dict {ast.unparse(node.value)} has no key {key.value!r} (its keys: "
                f"{known})",
            )
        return items[key.value]

    def _tuple_items(self, x: Operand) -> tuple[Operand, ...] | None:
        """The items of a tuple display (`t = (x, 2 * x)`), known while linearizing."""
        op = self.builder.defs.get(x) if isinstance(x, Var) else None
        return op.args if op is not None and op.prim == "tuple" else None

    def _tuple_item(
        self, node: ast.Subscript, items: tuple[Value, ...], held: bool = False
    ) -> Value:
        """`t[1]`, `t[-1]`, `t[1:]` of a tuple display, or of a tuple s2s holds item
        by item (`held`: a structure, values a helper returned): its items,
        picked while linearizing (the graph has no tuple values to differentiate
        through)."""
        index = self.expr(node.slice) if not isinstance(node.slice, ast.Slice) else None
        try:
            if isinstance(node.slice, ast.Slice):
                bounds = [
                    None if b is None else self._static(b, "a tuple's slice bound")
                    for b in (node.slice.lower, node.slice.upper, node.slice.step)
                ]
                part = items[slice(*bounds)]
                return tuple(part) if held else self.emit("tuple", *part)
            if isinstance(index, Const) and isinstance(index.value, int):
                return items[index.value]
        except IndexError:
            raise self.fn.error(
                node, f"tuple index out of range (the tuple has {len(items)} items)"
            ) from None
        raise self.fn.error(
            node,
            "a tuple is indexed with a value known only at run time",
            "Index tuples with constants (`t[0]`), or stack the values into an "
            "array (`np.stack(...)[i]`) and index that.",
        )

    def _index(self, index: ast.expr) -> tuple[tuple, list[Operand]]:
        """The `spec` of a subscript (see ir.Sym.__getitem__) and its run-time parts."""
        items = index.elts if isinstance(index, ast.Tuple) else [index]
        spec, parts = [], []
        for item in items:
            if isinstance(item, ast.Slice):
                bounds = (item.lower, item.upper, item.step)
                spec.append(("slice", *(b is not None for b in bounds)))
                parts.extend(self.expr(b) for b in bounds if b is not None)
                continue
            if isinstance(item, ast.List):  # x[[0, 2]]: integer-array indexing
                spec.append(("list",))
                parts.append(
                    Const(tuple(self._static(e, "a list index") for e in item.elts))
                )
                continue
            value = self.expr(item)
            if isinstance(value, Const) and value.value is None:
                spec.append(("newaxis",))
            elif isinstance(value, Const) and value.value is Ellipsis:
                spec.append(("ellipsis",))
            else:
                spec.append(("value",))
                parts.append(value)
        return (isinstance(index, ast.Tuple),) + tuple(spec), parts

    def _module_of(self, node: ast.expr) -> str | None:
        """The dotted name of the module `node` names (any alias): 'numpy', 'math',
        'numpy.linalg', 'scipy.special', ...; None when it names no module."""
        if isinstance(node, ast.Name) and self.lookup(node.id) is None:
            binding = self.fn.resolve(node.id)
            if binding is not None and binding.kind in ("numpy", "math"):
                return binding.kind
            if binding is not None and binding.kind == "module":
                return binding.value
        if isinstance(node, ast.Attribute):
            parent = self._module_of(node.value)
            if parent is None:
                return None
            path = f"{parent}.{node.attr}"
            found = loaded_object(path)
            if isinstance(found, types.ModuleType):
                return path
            # A submodule of a library that is not imported here (the CLI imports
            # nothing): assume a module, so that errors name the whole path.
            if found is None and parent.split(".")[0] not in ("numpy", "math"):
                return path
        return None

    def expr_IfExp(self, node: ast.IfExp, hint: str | None) -> Operand:
        cond = self.expr(node.test)
        loc = self.builder.loc
        results = []
        for branch in (node.body, node.orelse):
            saved = self.builder.ops
            self.builder.ops = []
            results.append((self.expr(branch), self.builder.ops))
            self.builder.ops = saved
        (a, then), (b, orelse) = results
        region = If(cond, then, orelse, loc=loc)
        out = self.builder.var(hint or "chosen", Role.USER if hint else Role.TEMP)
        region.merges = [Merge(out, a, b)]
        self.aliasing.merged[out] = [a, b]
        self.builder.ops.append(region)
        return out
