"""Lowering calls: numpy, math and built-in functions and array methods bound to
their primitives (arguments to operands, constants to static parameters), and the
user's own functions inlined, each inlined line still pointing at its own source."""

from __future__ import annotations

import ast
import builtins
import types
from typing import Any

import numpy

from ..errors import (
    InternalError,
    S2SError,
    UnknownFunctionError,
    UnsupportedSyntaxError,
)
from ..frontend import ParsedFunction, StaticGradient, parse_function
from ..frontend.live import lambda_as_def, lambda_name
from ..frontend.parsed import UNKNOWN, Binding, Free, default_nodes, module_attribute
from ..ir import Const, Operand, Role, Var
from ..primitives import (
    BUILTINS,
    METHODS,
    NUMPY_TUPLES,
    PRIMITIVES,
    REWRITTEN,
    ArgumentError,
    bind,
    loaded_object,
    lookup_path,
)
from .environment import RESULT, LocalFunction, Value, identity
from .syntax import display_items, dotted, literal_default, located


class Calls:
    """The call visitors of :class:`~s2s.lower.lowerer.Lowerer` (a mixin)."""

    def expr_Call(
        self, node: ast.Call, hint: str | None, allow_tuple: bool = False
    ) -> Value:
        made = self.comprehension_call(node)
        if made is not None and not isinstance(made, ast.AST):
            return made  # a sum, lowered as a loop
        spelled = made if made is not None else self._spelled_otherwise(node)
        if spelled is not None:
            return (
                self.value(spelled, hint) if allow_tuple else self.expr(spelled, hint)
            )
        func = node.func
        if isinstance(func, ast.Attribute):
            module = self._module_of(func.value)
            if module == "numpy" and func.attr in REWRITTEN:
                return self.rewritten(func.attr, node, hint)
            if module is not None:
                known = lookup_path(f"{module}.{func.attr}")
                if known is not None:
                    prim, lib = known
                    return self.call(prim, node, [], lib, hint)
                binding = module_attribute(module, func.attr)
                if binding is None or binding.kind != "function":
                    raise self._unknown_function(node, dotted(func))
                return self._inlined(binding.value, node, hint, allow_tuple, binding)
            return self.method(node, func, hint)
        if isinstance(func, ast.Name) and isinstance(
            self.lookup(func.id), LocalFunction
        ):
            return self._inlined(self.lookup(func.id), node, hint, allow_tuple)
        if isinstance(func, ast.Lambda):  # (lambda z: ...)(x)
            return self._inlined(self.expr(func), node, hint, allow_tuple)
        local = self.lookup(func.id) if isinstance(func, ast.Name) else None
        if isinstance(func, ast.Name) and (local is None or isinstance(local, Binding)):
            binding = local or self.fn.resolve(func.id)
            kind = binding.kind if binding else None
            if func.id == "len" and kind in ("primitive", "builtin") and node.args:
                held = self._structure_of(node.args[0])
                if held is not None:  # a structure's length is known
                    return Const(len(held))
            if kind == "primitive":
                prim, lib = binding.value
                return self.call(prim, node, [], lib, hint)
            if kind == "rewritten":  # from numpy import trapezoid
                return self.rewritten(binding.value, node, hint)
            if kind == "builtin" and func.id == "range":
                return self._range_call(node)
            if kind == "builtin" and func.id == "reversed":
                return self._reversed_call(node)
            if kind == "builtin" and func.id in BUILTINS:
                return self.call(BUILTINS[func.id], node, [], "builtin", hint)
            if kind == "function":
                return self._inlined(binding.value, node, hint, allow_tuple, binding)
            raise self._unknown_function(node, func.id)
        self.unsupported(node, "Call functions by name, e.g. np.exp(x) or helper(x).")

    def _spelled_otherwise(self, node: ast.Call) -> ast.expr | None:
        """A call that is another call s2s knows, or None: `np.array([a, b])` (and
        nested lists) is `np.stack([a, b])`, `np.asarray(x)` of an array is x and
        `np.array(x)` a copy of it; `max(a, b, c)` is `max(max(a, b), c)`."""
        func, args = node.func, node.args
        if (
            isinstance(func, ast.Attribute)
            and func.attr in ("array", "asarray")
            and len(args) == 1
            and not node.keywords
            and self._module_of(func.value) == "numpy"
        ):
            (arg,) = args
            if isinstance(arg, (ast.List, ast.Tuple)) and arg.elts:
                items = [
                    (
                        ast.Call(func, [item], [])
                        if isinstance(item, (ast.List, ast.Tuple, ast.ListComp))
                        else item
                    )
                    for item in arg.elts
                ]
                stack = ast.Attribute(func.value, "stack", ast.Load())
                return located(ast.Call(stack, [ast.List(items, ast.Load())], []), node)
            if func.attr == "asarray":
                return arg
            copy = ast.Attribute(func.value, "copy", ast.Load())
            return located(ast.Call(copy, [arg], []), node)
        if (
            isinstance(func, ast.Name)
            and func.id in ("max", "min")
            and len(args) > 2
            and not node.keywords
            and self.lookup(func.id) is None
            and self.fn.resolve(func.id) == Binding("builtin", func.id)
        ):
            nested = ast.Call(func, args[:2], [])
            for arg in args[2:]:
                nested = ast.Call(func, [located(nested, node), arg], [])
            return located(nested, node)
        return None

    def _inlined(
        self,
        target: Any,
        node: ast.Call,
        hint: str | None,
        allow_tuple: bool,
        binding: Any = None,
    ) -> Value:
        result = self.inline(target, node, hint, binding and binding.source)
        if isinstance(result, tuple) and not allow_tuple:
            name = dotted(node.func)
            raise self.fn.error(
                node,
                f"{name}() returns a tuple, used here as a single value",
                f"Unpack it first: `a, b = {name}(...)`.",
            )
        return result

    def _object_of(self, node: ast.expr) -> tuple[Var, Any] | None:
        """The variable and the object of an object value (`self`), else None."""
        root = node
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name) or self.lookup(root.id) not in self.objects:
            return None
        value = self.expr(node)
        if isinstance(value, Var) and value in self.objects:
            return value, self.objects[value]
        return None

    def stmt_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node.decorator_list:
            raise self.fn.error(
                node.decorator_list[0],
                f"a decorated function defined inside {self.fn.name}",
                f"Define {node.name} without decorators (s2s inlines it), or at "
                "module level.",
            )
        self.env[node.name] = self._local_function(node)

    def expr_Lambda(self, node: ast.Lambda, hint: str | None) -> LocalFunction:
        return self._local_function(lambda_as_def(node, lambda_name(node, hint)))

    def _local_function(self, node: ast.FunctionDef) -> LocalFunction:
        """A function defined here; its defaults are evaluated now, as Python does."""
        self._check_signature(node.args)
        defaults = tuple(self.expr(d) for d in default_nodes(node.args))
        return LocalFunction(node, self, defaults)

    def argument(self, node: ast.expr) -> Value:
        """An argument of a call to one of the user's functions: a value, or a
        local function (`apply(act, x)`), passed on as it is."""
        if isinstance(node, ast.Name) and isinstance(
            self.lookup(node.id), (LocalFunction, Binding)
        ):
            return self.lookup(node.id)
        return self.value(node)  # a structure (`params`) is passed as it is

    def inline(
        self, target: Any, node: ast.Call, hint: str | None, source: Free | None = None
    ) -> Value:
        """Lower a call to one of the user's functions in place (inlined); `source`
        is the free name the function was read from, through which the code reads
        what the function itself reads from its closure."""
        callee = self._parse_callee(target, node)
        if identity(callee) in self.active_calls:
            raise self.fn.error(
                node,
                f"recursive call to {callee.name}() cannot be differentiated",
                "Rewrite the recursion as a loop.",
            )
        child = type(self)(callee, self.builder, self.active_calls, self.gradient_code)
        # Inlined here, the callee's body is not this function's top block: a list
        # it makes there is made in a branch or a loop of this function.
        child.top, child.free, child.objects = self.top, self.free, self.objects
        if isinstance(target, LocalFunction):  # it reads its definer's names
            child.enclosing, child.route = target.owner, target.owner.route
        else:
            child.route = self.route + (source,) if source is not None else ()
        child._check_signature(callee.node.args)
        params = callee.params
        defaults = dict(
            zip(params[len(params) - len(callee.defaults) :], callee.defaults)
        )
        args: dict[str, Operand] = {}
        if len(node.args) > len(params):
            raise self.fn.error(
                node,
                f"{callee.name}() takes {len(params)} arguments "
                f"but {len(node.args)} were given",
            )
        for name, arg in zip(params, node.args):
            if isinstance(arg, ast.Starred):
                self.unsupported(arg, "Pass the arguments one by one.")
            args[name] = self.argument(arg)
        for kw in node.keywords:
            if kw.arg not in params or kw.arg in args:
                raise self.fn.error(
                    kw.value if kw.arg else node,
                    f"{callee.name}() got an unexpected or repeated argument '{kw.arg}'",
                    f"Its parameters are: {', '.join(params)}.",
                )
            args[kw.arg] = self.argument(kw.value)
        for name in params:
            if name not in args:
                if name not in defaults:
                    raise self.fn.error(
                        node, f"{callee.name}() is missing the argument '{name}'"
                    )
                default = defaults[name]
                args[name] = (
                    default
                    if isinstance(default, (Var, Const))
                    else child._default(default, node)
                )
        child.env.update(args)
        child.aliasing = self.aliasing.for_callee(child, list(args.values()))
        saved_loc = self.builder.loc
        child.body(callee.node)
        self.builder.loc = saved_loc
        result = child.env[RESULT]
        if (
            hint
            and isinstance(result, Var)
            and result.role in (Role.TEMP, Role.USER)
            and (result not in args.values())
        ):
            result.hint, result.role = hint, Role.USER
        return result

    def _parse_callee(self, target: Any, node: ast.Call) -> ParsedFunction:
        if isinstance(target, LocalFunction):
            owner = target.owner.fn
            parsed = ParsedFunction(
                target.node, owner.filename, owner.lines, owner.resolve, owner.col_shift
            )
            parsed.defaults = target.defaults
            return parsed
        if isinstance(target, StaticGradient):  # a gradient, in a file read statically
            if self.gradient_code is None:
                raise InternalError(
                    "a gradient bound in a file, but no way to its code"
                )
            return self.gradient_code(target)
        if isinstance(target, ast.FunctionDef):  # read statically from the same file
            parsed = ParsedFunction(
                target, self.fn.filename, self.fn.lines, self.fn.resolve
            )
            parsed.defaults = tuple(
                literal_default(d, parsed) for d in default_nodes(target.args)
            )
            return parsed
        if isinstance(target, types.FunctionType):
            try:
                return parse_function(target)
            except S2SError as e:
                raise UnsupportedSyntaxError(
                    f"cannot differentiate through {target.__name__}(): {e.message}",
                    self.fn.location(node),
                    f"{e.hint}\nOr register its derivative: "
                    f"s2s.register({target.__name__}, rule) (see the README).",
                ) from None
        raise self._unknown_function(node, dotted(node.func))

    def _structure_of(self, node: ast.expr) -> tuple | dict | None:
        """The structure an expression holds (a structured parameter, part of one,
        a tuple), or None when it is a single value."""
        if not isinstance(node, (ast.Name, ast.Subscript, ast.Attribute)):
            return None
        held = self.value(node)
        return held if isinstance(held, (tuple, dict)) else None

    def method(self, node: ast.Call, func: ast.Attribute, hint: str | None) -> Value:
        name = func.attr
        if name in ("items", "keys", "values") and not node.args:
            held = self._structure_of(func.value)
            if isinstance(held, dict):  # a dict's items, as a tuple held apart
                return tuple(
                    {
                        "items": lambda k, v: (Const(k), v),
                        "keys": lambda k, v: Const(k),
                        "values": lambda k, v: v,
                    }[name](k, v)
                    for k, v in held.items()
                )
        owner = self._object_of(func.value)
        if owner is not None:  # self.helper(x): the function of its class
            var, obj = owner
            found = getattr(type(obj), name, None)
            if not isinstance(found, types.FunctionType):
                raise self.fn.error(
                    node,
                    f"{dotted(func)} is not a method s2s can read: "
                    f"{type(obj).__name__}.{name} is "
                    f"{type(found).__name__ if found is not None else 'not defined'}",
                    "Call a method defined with `def` in the class.",
                )
            call = ast.Call(
                func=func, args=[func.value, *node.args], keywords=node.keywords
            )
            return self._inlined(found, ast.copy_location(call, node), hint, True)
        if name in METHODS:
            return self.call(METHODS[name], node, [func.value], "np", hint)
        if name == "astype":
            return self.astype(node, func.value, hint)
        if name == "reshape":
            x = self.expr(func.value)
            shape = self._shape_argument(node)
            return self.emit("reshape", x, shape, hint=hint)
        if name == "transpose":
            x = self.expr(func.value)
            axes = self._varargs_constant(node, "axes")
            return self.emit(
                "transpose", x, hint=hint, **({"axes": axes} if axes else {})
            )
        raise self.fn.error(
            node,
            f"unsupported method .{name}()",
            "Use the numpy function instead (for example np.sum(x) for x.sum()).",
        )

    def _shape_argument(self, node: ast.Call) -> Operand:
        if node.keywords:
            raise self.fn.error(
                node.keywords[0].value,
                "reshape takes the shape positionally",
                "Write x.reshape(a, b) or x.reshape((a, b)).",
            )
        if len(node.args) == 1:
            return self.expr(node.args[0])
        items = [self.expr(a) for a in node.args]
        if all(isinstance(i, Const) for i in items):
            return Const(tuple(i.value for i in items))
        return self.emit("tuple", *items)

    def _varargs_constant(self, node: ast.Call, what: str) -> Any:
        values = [self._static(a, what) for a in node.args]
        if len(values) == 1 and (values[0] is None or isinstance(values[0], tuple)):
            return values[0]
        return tuple(values) or None

    def _static(self, node: ast.expr, what: str) -> Any:
        literal = _literal(node)
        if literal is not None:  # axes=([1, 2], [0, 1]): lists written as tuples
            return literal
        value = self.expr(node)
        if isinstance(value, Const):
            return value.value
        folded = self.free.fold(value)  # a module constant, say, as it is now
        if folded is not UNKNOWN:
            return folded
        source = self.free.sources.get(value)
        said = (
            f" ({source.describe()}, whose value s2s cannot know here)"
            if source
            else ""
        )
        raise self.fn.error(
            node,
            f"{what} must be a constant known when the gradient is generated{said}",
            "Write it as a literal or a module-level constant.",
        )

    def _dtype(self, node: ast.expr) -> str | None:
        """A dtype argument (`float`, `np.float32`, `"int64"`), as numpy's name for it."""
        if isinstance(node, ast.Constant) and node.value is None:
            return None
        spelled: Any = None
        if isinstance(node, ast.Name) and self.lookup(node.id) is None:
            binding = self.fn.resolve(node.id)
            if binding is not None and binding.kind == "builtin":
                spelled = getattr(builtins, node.id)
        elif isinstance(node, ast.Attribute) and self._module_of(node.value) == "numpy":
            spelled = getattr(numpy, node.attr, None)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            spelled = node.value
        try:
            if spelled is not None:
                return numpy.dtype(spelled).name
        except TypeError:
            pass
        raise self.fn.error(
            node,
            f"dtype {dotted(node)} is not a numpy dtype s2s can read",
            "Write float, int, bool, np.float32 (and the like) or a dtype name "
            "such as 'float64'.",
        )

    def call(
        self,
        prim_name: str,
        node: ast.Call,
        leading: list[ast.expr],
        lib: str,
        hint: str | None,
    ) -> Operand:
        """Bind a call's arguments to the primitive's operands and static parameters."""
        prim = PRIMITIVES[prim_name]
        spelled = dotted(node.func)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.unsupported(arg, "Pass the arguments one by one.")
        keywords = [(kw.arg, kw.value) for kw in node.keywords]
        try:
            operand_nodes, static_nodes = bind(
                prim, spelled, leading + list(node.args), keywords, display_items
            )
        except ArgumentError as e:
            raise self.fn.error(e.culprit or node, e.message, e.hint) from None
        spec = None
        if prim.takes_index:
            operands, spec = self._index_operands(prim, node, operand_nodes)
        else:
            operands = [self.expr(a) for a in operand_nodes]
        static = {
            name: (
                self._dtype(value)
                if name == "dtype"
                else self._static(value, f"'{name}'")
            )
            for name, value in static_nodes.items()
        }
        if spec is not None:
            static["spec"] = spec
            if "broadcast" in prim.static_names:
                # g may be smaller than the part it fills (`acc[i] += v` is read
                # back so)
                static["broadcast"] = True
        if prim.check is not None:
            problem = prim.check(
                {n: static.get(n, d) for n, d in prim.static}, len(operands)
            )
            if problem is not None:
                raise self.fn.error(node, *problem)
        if lib != "np" or prim.operator is not None:  # np.add(x, y) is not x + y
            static["lib"] = lib
        if prim.item is not None:  # `w, V = np.linalg.eigh(a)`: one op per item
            items = [
                self.emit(p, *operands, **static) for p in NUMPY_TUPLES[prim.numpy]
            ]
            return self.emit("tuple", *items, hint=hint)
        out = self.emit(prim_name, *operands, hint=hint, **static)
        if prim.holder:  # generated code read back: `mlp = _module("examples.mlp")`
            self.objects[out] = loaded_object(static["name"])
        return out

    def _index_operands(
        self, prim: Any, node: ast.Call, operand_nodes: list[ast.expr]
    ) -> tuple[list[Operand], tuple]:
        """`_unindex(g, x, np.s_[i, :])` (or `_setitem(x, v, np.s_[i])`) in a
        generated gradient: the operands, the parts of the index, and its spec."""
        leading = len(prim.operands) - 1
        index = operand_nodes[-1] if len(operand_nodes) == leading + 1 else None
        if not (
            isinstance(index, ast.Subscript)
            and isinstance(index.value, ast.Attribute)
            and index.value.attr == "s_"
            and self._module_of(index.value.value) == "numpy"
        ):
            spelled = ", ".join(prim.operands[:leading])
            raise self.fn.error(
                node,
                f"{prim.helper} takes {spelled} and np.s_[index]",
                f"Write it as s2s generates it: {prim.helper}({spelled}, np.s_[i, :]).",
            )
        spec, parts = self._index(index.slice)
        return [self.expr(n) for n in operand_nodes[:leading]] + parts, spec

    def _unknown_function(self, node: ast.Call, name: str) -> UnknownFunctionError:
        arguments = ", ".join(["x", "y", "z"][: max(1, min(len(node.args), 3))])
        rules = ", ".join(
            f"lambda g, out, {arguments}: g * <d{name.rsplit('.', 1)[-1]}/d{a}>"
            for a in arguments.split(", ")
        )
        return UnknownFunctionError(
            f"no derivative rule for {name}()",
            self.fn.location(node),
            f"Teach s2s its derivative (one rule per argument; g is the adjoint of "
            f"the result out), before differentiating:\n"
            f"    s2s.register({name}, {rules})\n"
            "See 'Custom derivative rules' in the README and the functions s2s knows "
            "in docs/rules.md; or write it with supported numpy operations.",
        )


def _literal(node: ast.expr) -> tuple | None:
    """A list or tuple display of numbers (nested too) as a tuple, else None."""
    if not isinstance(node, (ast.List, ast.Tuple)):
        return None
    items = []
    for item in node.elts:
        if isinstance(item, ast.Constant) and type(item.value) in (int, float):
            items.append(item.value)
        elif isinstance(item, ast.UnaryOp) and isinstance(item.op, ast.USub):
            inner = item.operand
            if not (
                isinstance(inner, ast.Constant) and type(inner.value) in (int, float)
            ):
                return None
            items.append(-inner.value)
        else:
            nested = _literal(item)
            if nested is None:
                return None
            items.append(nested)
    return tuple(items)
