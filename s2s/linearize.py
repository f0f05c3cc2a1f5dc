"""Linearization: a parsed function becomes an SSA graph of primitive ops.

Each statement is visited in order; each expression becomes ops whose outputs are fresh
SSA values, and the environment maps every Python name to its current value, so a
rebinding (`x = x + 1`) simply makes a new value.  The visitor is an allowlist: an AST
node without a `stmt_*` or `expr_*` method is rejected with an
:class:`~s2s.errors.UnsupportedSyntaxError` naming the construct and what to do.
"""

from __future__ import annotations

import ast
import math
from typing import Any

import numpy

from .errors import UnknownFunctionError
from .frontend import Binding, ParsedFunction
from .ir import Builder, Const, Graph, Namespace, Operand, Var
from .primitives import (
    BUILTINS,
    MATH_CONSTANTS,
    MATH_FUNCTIONS,
    METHODS,
    NUMPY_CONSTANTS,
    NUMPY_FUNCTIONS,
    PRIMITIVES,
)

_BINOPS = {
    ast.Add: "add",
    ast.Sub: "sub",
    ast.Mult: "mul",
    ast.Div: "div",
    ast.Pow: "pow",
    ast.MatMult: "matmul",
    ast.FloorDiv: "floordiv",
    ast.Mod: "mod",
}

_REWRITE_HINTS = {
    "ListComp": "write it with numpy array operations instead of a comprehension",
    "GeneratorExp": "write it with numpy array operations instead of a generator",
    "Lambda": "define a module-level function with `def` instead",
    "JoinedStr": "strings are not differentiable; remove the f-string",
    "List": "build arrays with np.stack or np.concatenate of arrays, or use a tuple",
    "Dict": "pass the values as separate parameters",
    "Global": "pass the value as a parameter",
    "Nonlocal": "pass the value as a parameter",
    "Import": "import at module level",
    "ImportFrom": "import at module level",
    "Raise": "check the inputs before calling the gradient",
    "Try": "check the inputs before calling the gradient",
    "With": "move the context manager outside the differentiated function",
    "Delete": "remove the `del`; unused values are dropped automatically",
    "Assert": "check the inputs before calling the gradient",
}

_NAMES = {
    "ListComp": "a list comprehension",
    "GeneratorExp": "a generator expression",
    "Lambda": "a lambda",
    "JoinedStr": "an f-string",
    "If": "an if statement",
    "For": "a for loop",
    "While": "a while loop",
    "IfExp": "a conditional expression",
}


def _describe(node: ast.AST) -> str:
    kind = type(node).__name__
    return _NAMES.get(kind, f"`{kind}`")


def _as_constant(x: Operand) -> Any:
    """The value of a constant operand (tuples of constants included), else raise."""
    if isinstance(x, Const):
        return x.value
    raise ValueError


class Linearizer:
    """Turns one :class:`ParsedFunction` into a :class:`Graph`."""

    def __init__(self, fn: ParsedFunction):
        self.fn = fn
        self.names = Namespace()
        self.builder = Builder(self.names)
        self.env: dict[str, Operand] = {}
        self.result: Operand | None = None
        self.result_loc = None

    # --- driver ---------------------------------------------------------------------

    def run(self) -> Graph:
        node = self.fn.node
        self._check_signature(node.args)
        params = []
        for name in self.fn.params:
            var = Var(self.names.fresh(name), name, "param")
            self.env[name] = var
            params.append(var)
        body = node.body
        if body and _is_docstring(body[0]):
            body = body[1:]
        for stmt in body:
            if self.result is not None:
                raise self.fn.error(
                    stmt,
                    "unreachable code after `return`",
                    "Remove the statements after the return.",
                )
            self.stmt(stmt)
        if self.result is None:
            raise self.fn.error(
                node,
                f"{node.name} has no `return` statement",
                "Return the scalar to differentiate.",
            )
        defaults = tuple(self._default(v, node) for v in self.fn.defaults)
        return Graph(
            node.name, params, self.builder.ops, self.result, defaults, self.result_loc
        )

    def _check_signature(self, args: ast.arguments) -> None:
        for bad, what in (
            (args.vararg, "*args"),
            (args.kwarg, "**kwargs"),
            (
                args.kwonlyargs[0] if args.kwonlyargs else None,
                "keyword-only parameters",
            ),
        ):
            if bad is not None:
                raise self.fn.error(
                    bad,
                    f"{what} are not supported",
                    "Use ordinary positional parameters.",
                )

    def _default(self, value: Any, node: ast.AST) -> Const:
        if isinstance(value, (bool, int, float, str)) or value is None:
            return Const(value)
        if isinstance(value, numpy.generic) and value.dtype.kind in "biuf":
            return Const(value.item())
        raise self.fn.error(
            node,
            f"default value {value!r} is not a number",
            "Use numbers (or None) as defaults, or pass the value explicitly.",
        )

    # --- statements -----------------------------------------------------------------

    def stmt(self, node: ast.stmt) -> None:
        self.builder.loc = self.fn.location(node)
        visit = getattr(self, "stmt_" + type(node).__name__, None)
        if visit is None:
            self.unsupported(node)
        visit(node)

    def unsupported(self, node: ast.AST, hint: str = ""):
        kind = type(node).__name__
        if kind in ("If", "For", "While", "IfExp", "Break", "Continue"):
            hint = (
                hint
                or "Control flow is not supported yet; write the function without it."
            )
        hint = hint or _REWRITE_HINTS.get(kind, "")
        hint = hint or (
            "s2s differentiates a subset of Python: assignments, arithmetic, and calls "
            "to numpy/math functions. Rewrite this part with those."
        )
        raise self.fn.error(node, f"unsupported syntax: {_describe(node)}", hint)

    def stmt_Assign(self, node: ast.Assign) -> None:
        if len(node.targets) != 1:
            raise self.fn.error(
                node,
                "chained assignment `a = b = ...` is not supported",
                "Assign each name separately.",
            )
        self.assign(node.targets[0], node.value)

    def stmt_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is None:
            return
        self.assign(node.target, node.value)

    def stmt_AugAssign(self, node: ast.AugAssign) -> None:
        if not isinstance(node.target, ast.Name):
            self.unsupported(
                node.target, "Only plain names can be updated with `+=` and friends."
            )
        binop = ast.BinOp(ast.Name(node.target.id, ast.Load()), node.op, node.value)
        ast.copy_location(binop, node)
        self.assign(node.target, binop)

    def stmt_Return(self, node: ast.Return) -> None:
        if node.value is None:
            raise self.fn.error(
                node, "`return` without a value", "Return the scalar to differentiate."
            )
        self.result = self.expr(node.value, hint=self.fn.name)
        self.result_loc = self.fn.location(node)

    def stmt_Pass(self, node: ast.Pass) -> None:
        pass

    def stmt_Expr(self, node: ast.Expr) -> None:
        raise self.fn.error(
            node,
            "an expression statement has no effect in a differentiated function",
            "Assign its value to a name, or remove it.",
        )

    def assign(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            self.env[target.id] = self.expr(value, hint=target.id)
            return
        if isinstance(target, ast.Tuple) and all(
            isinstance(t, ast.Name) for t in target.elts
        ):
            if isinstance(value, ast.Tuple) and len(value.elts) == len(target.elts):
                values = [
                    self.expr(v, hint=t.id) for t, v in zip(target.elts, value.elts)
                ]
                for t, v in zip(target.elts, values):
                    self.env[t.id] = v
                return
            raise self.fn.error(
                value,
                "tuple unpacking needs a tuple of the same length on the right",
                "Write `a, b = x, y`, or assign each name separately.",
            )
        raise self.fn.error(
            target,
            f"cannot assign to {_describe(target)}",
            "Assign to plain names; arrays cannot be updated in place.",
        )

    # --- expressions ----------------------------------------------------------------

    def expr(self, node: ast.expr, hint: str | None = None) -> Operand:
        visit = getattr(self, "expr_" + type(node).__name__, None)
        if visit is None:
            self.unsupported(node)
        self.node = node
        return visit(node, hint)

    def emit(
        self, prim: str, *args: Operand, hint: str | None = None, **params: Any
    ) -> Operand:
        return self.builder.emit(prim, *args, hint=hint, role="user", **params)

    def expr_Constant(self, node: ast.Constant, hint: str | None) -> Operand:
        if isinstance(node.value, (bool, int, float, str)) or node.value is None:
            return Const(node.value)
        raise self.fn.error(node, f"unsupported constant {node.value!r}")

    def expr_Name(self, node: ast.Name, hint: str | None) -> Operand:
        if node.id in self.env:
            return self.env[node.id]
        binding = self.fn.resolve(node.id)
        if binding is not None and binding.kind == "const":
            return Const(binding.value)
        raise self.fn.error(node, *self._name_problem(node.id, binding))

    def _name_problem(self, name: str, binding: Binding | None) -> tuple[str, str]:
        if binding is None:
            return (
                f"name '{name}' is not defined",
                "Define it before use, or pass it as a parameter.",
            )
        if binding.kind in ("numpy", "math"):
            return (
                f"the module '{name}' cannot be used as a value",
                "Call one of its functions.",
            )
        if binding.kind == "unsupported" and hasattr(binding.value, "shape"):
            return (
                f"'{name}' is a module-level array; s2s inlines only numbers",
                f"Pass '{name}' to the function as a parameter.",
            )
        return (
            f"'{name}' ({type(binding.value).__name__}) cannot be used as a value here",
            "Only numbers from outside the function are inlined; pass other values as parameters.",
        )

    def expr_Tuple(self, node: ast.Tuple, hint: str | None) -> Operand:
        items = [self.expr(e) for e in node.elts]
        if all(isinstance(i, Const) for i in items):
            return Const(tuple(i.value for i in items))
        return self.emit("tuple", *items, hint=hint)

    def expr_BinOp(self, node: ast.BinOp, hint: str | None) -> Operand:
        prim = _BINOPS.get(type(node.op))
        if prim is None:
            raise self.fn.error(node, f"unsupported operator {type(node.op).__name__}")
        left, right = self.expr(node.left), self.expr(node.right)
        self.builder.loc = self._stmt_loc()
        return self.emit(prim, left, right, hint=hint)

    def expr_UnaryOp(self, node: ast.UnaryOp, hint: str | None) -> Operand:
        operand = self.expr(node.operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(node.op, ast.USub):
            return self.emit("neg", operand, hint=hint)
        self.unsupported(node, "Only unary minus and plus are supported on values.")

    def _stmt_loc(self):
        return self.builder.loc

    def expr_Attribute(self, node: ast.Attribute, hint: str | None) -> Operand:
        module = self._module_of(node.value)
        if module == "numpy" and node.attr in NUMPY_CONSTANTS:
            return Const(getattr(numpy, node.attr))
        if module == "math" and node.attr in MATH_CONSTANTS:
            return Const(getattr(math, node.attr))
        if module is not None:
            raise self.fn.error(
                node,
                f"{_dotted(node)} is not a constant s2s knows",
                "Use a numpy/math function call, or pass the value as a parameter.",
            )
        value = self.expr(node.value)
        if node.attr == "T":
            return self.emit("transpose", value, hint=hint)
        if node.attr in ("shape", "ndim", "size"):
            return self.emit(node.attr, value, hint=hint)
        raise self.fn.error(
            node,
            f"unsupported attribute .{node.attr}",
            "Supported array attributes are .T, .shape, .ndim and .size.",
        )

    def _module_of(self, node: ast.expr) -> str | None:
        """'numpy' or 'math' when `node` names that module (any alias), else None."""
        if isinstance(node, ast.Name) and node.id not in self.env:
            binding = self.fn.resolve(node.id)
            if binding is not None and binding.kind in ("numpy", "math"):
                return binding.kind
        if isinstance(node, ast.Attribute) and self._module_of(node.value) == "numpy":
            if node.attr == "linalg":
                return "numpy.linalg"
        return None

    # --- calls ----------------------------------------------------------------------

    def expr_Call(self, node: ast.Call, hint: str | None) -> Operand:
        func = node.func
        if isinstance(func, ast.Attribute):
            module = self._module_of(func.value)
            if module == "numpy" and func.attr in NUMPY_FUNCTIONS:
                return self.call(NUMPY_FUNCTIONS[func.attr], node, [], "np", hint)
            if module == "math" and func.attr in MATH_FUNCTIONS:
                return self.call(MATH_FUNCTIONS[func.attr], node, [], "math", hint)
            if module is not None:
                raise self._unknown_function(node, _dotted(func))
            return self.method(node, func, hint)
        if isinstance(func, ast.Name) and func.id not in self.env:
            binding = self.fn.resolve(func.id)
            if binding is not None and binding.kind == "numpy_function":
                return self.call(binding.value, node, [], "np", hint)
            if binding is not None and binding.kind == "math_function":
                return self.call(binding.value, node, [], "math", hint)
            if (
                binding is not None
                and binding.kind == "builtin"
                and func.id in BUILTINS
            ):
                return self.call(BUILTINS[func.id], node, [], "builtin", hint)
            raise self._unknown_function(node, func.id)
        self.unsupported(node, "Call functions by name, e.g. np.exp(x) or helper(x).")

    def method(self, node: ast.Call, func: ast.Attribute, hint: str | None) -> Operand:
        name = func.attr
        if name in METHODS:
            return self.call(METHODS[name], node, [func.value], "np", hint)
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
            f"unsupported array method .{name}()",
            "Use the numpy function instead (for example np.sum(x) for x.sum()).",
        )

    def _shape_argument(self, node: ast.Call) -> Operand:
        if node.keywords:
            raise self.fn.error(
                node.keywords[0].value, "reshape takes the shape positionally"
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
        value = self.expr(node)
        if isinstance(value, Const):
            return value.value
        raise self.fn.error(
            node,
            f"{what} must be a constant known when the gradient is generated",
            "Write it as a literal or a module-level constant.",
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
        spelled = _dotted(node.func)
        positional = leading + list(node.args)
        operands: dict[str, Operand] = {}
        static: dict[str, Any] = {}
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.unsupported(arg, "Pass the arguments one by one.")
        slots = list(prim.operands) + list(prim.static_names)
        if len(positional) > len(slots):
            raise self.fn.error(
                node,
                f"{spelled}() got {len(positional)} positional arguments; s2s's rule "
                f"for it takes at most {len(slots)} ({', '.join(slots)})",
            )
        for name, arg in zip(slots, positional):
            self._bind(name, arg, prim, operands, static)
        for kw in node.keywords:
            if kw.arg is None or kw.arg not in slots:
                raise self.fn.error(
                    kw.value,
                    f"{spelled}() keyword '{kw.arg}' is not handled by s2s's rule for "
                    f"{prim_name}",
                    f"Supported arguments: {', '.join(slots)}.",
                )
            if kw.arg in operands or kw.arg in static:
                raise self.fn.error(kw.value, f"{spelled}() got '{kw.arg}' twice")
            self._bind(kw.arg, kw.value, prim, operands, static)
        missing = [n for n in prim.operands if n not in operands]
        if missing:
            raise self.fn.error(
                node, f"{spelled}() is missing the argument '{missing[0]}'"
            )
        if lib != "np":
            static["lib"] = lib
        self.builder.loc = self._stmt_loc()
        return self.emit(
            prim_name, *(operands[n] for n in prim.operands), hint=hint, **static
        )

    def _bind(
        self, name: str, arg: ast.expr, prim, operands: dict, static: dict
    ) -> None:
        if name in prim.operands:
            operands[name] = self.expr(arg)
        else:
            static[name] = self._static(arg, f"'{name}'")

    def _unknown_function(self, node: ast.Call, name: str) -> UnknownFunctionError:
        return UnknownFunctionError(
            f"no derivative rule for {name}()",
            self.fn.location(node),
            "s2s differentiates numpy/math functions it has rules for (see the rule "
            "reference in the README). For another function, write it with supported "
            "numpy operations.",
        )


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    return "<expression>"


def linearize(fn: ParsedFunction) -> Graph:
    """Build the SSA graph of a parsed function."""
    return Linearizer(fn).run()
