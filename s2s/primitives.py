"""The catalogue of primitive operations: their operands, static parameters, and how
user code spells them (operators, `np.*`, `math.*`, array methods, built-ins).

This module knows nothing of derivatives (that is :mod:`s2s.rules`); it says what each
primitive takes and how :mod:`s2s.emit` writes it back as Python.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Primitive:
    """One operation of the IR.

    `operands` are the run-time inputs in order; `static` are keyword parameters that
    must be compile-time constants (with their defaults); operands in `nondiff` never
    receive an adjoint (conditions, shapes).  Exactly one of `operator`, `numpy` or
    `helper` says how the op is written back.
    """

    name: str
    operands: tuple[str, ...] = ("x",)
    static: tuple[tuple[str, Any], ...] = ()
    nondiff: frozenset[str] = frozenset()
    operator: type | None = None
    numpy: str | None = None
    math: str | None = None
    helper: str | None = None
    builtin: str | None = None  # the Python built-in spelling, e.g. max for maximum
    elementwise: bool = False  # the output has the broadcast shape of the operands

    @property
    def static_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.static)


def _operator(
    name: str, node: type, operands: tuple[str, ...] = ("x", "y")
) -> Primitive:
    return Primitive(name, operands, operator=node, elementwise=name != "matmul")


def _ufunc(
    name: str, math_name: str | None = None, builtin: str | None = None
) -> Primitive:
    return Primitive(
        name, ("x",), numpy=name, math=math_name, builtin=builtin, elementwise=True
    )


def _ufunc2(
    name: str,
    operands: tuple[str, ...] = ("x", "y"),
    math_name: str | None = None,
    nondiff: frozenset[str] = frozenset(),
) -> Primitive:
    return Primitive(
        name, operands, nondiff=nondiff, numpy=name, math=math_name, elementwise=True
    )


_REDUCE = (("axis", None), ("keepdims", False))

_ALL = [
    # Python operators.
    _operator("add", ast.Add),
    _operator("sub", ast.Sub),
    _operator("mul", ast.Mult),
    _operator("div", ast.Div),
    _operator("pow", ast.Pow),
    _operator("matmul", ast.MatMult),
    _operator("floordiv", ast.FloorDiv),
    _operator("mod", ast.Mod),
    _operator("and", ast.BitAnd),
    _operator("or", ast.BitOr),
    _operator("neg", ast.USub, ("x",)),
    _operator("not", ast.Not, ("x",)),
    Primitive("both", ("x", "y"), operator=ast.And),  # `and`, `or` on conditions
    Primitive("either", ("x", "y"), operator=ast.Or),
    _operator("lt", ast.Lt),
    _operator("le", ast.LtE),
    _operator("gt", ast.Gt),
    _operator("ge", ast.GtE),
    _operator("eq", ast.Eq),
    _operator("ne", ast.NotEq),
    # Elementwise functions of one argument.
    _ufunc("exp", "exp"),
    _ufunc("exp2"),
    _ufunc("log", "log"),
    _ufunc("log2", "log2"),
    _ufunc("log10", "log10"),
    _ufunc("log1p", "log1p"),
    _ufunc("expm1", "expm1"),
    _ufunc("sqrt", "sqrt"),
    _ufunc("square"),
    _ufunc("sin", "sin"),
    _ufunc("cos", "cos"),
    _ufunc("tan", "tan"),
    _ufunc("arcsin", "asin"),
    _ufunc("arccos", "acos"),
    _ufunc("arctan", "atan"),
    _ufunc("sinh", "sinh"),
    _ufunc("cosh", "cosh"),
    _ufunc("tanh", "tanh"),
    _ufunc("abs", "fabs", builtin="abs"),
    _ufunc("sign"),
    _ufunc("floor", "floor"),
    _ufunc("ceil", "ceil"),
    # Elementwise functions of several arguments.
    Primitive("maximum", ("x", "y"), numpy="maximum", builtin="max", elementwise=True),
    Primitive("minimum", ("x", "y"), numpy="minimum", builtin="min", elementwise=True),
    _ufunc2("arctan2", ("y", "x"), "atan2"),
    _ufunc2("hypot", math_name="hypot"),
    _ufunc2("logaddexp"),
    _ufunc2("where", ("condition", "x", "y"), nondiff=frozenset({"condition"})),
    _ufunc2("clip", ("a", "a_min", "a_max")),
    # Reductions.
    Primitive("sum", ("a",), _REDUCE, numpy="sum"),
    Primitive("mean", ("a",), _REDUCE, numpy="mean"),
    Primitive("prod", ("a",), _REDUCE, numpy="prod"),
    Primitive("max", ("a",), _REDUCE, numpy="max"),
    Primitive("min", ("a",), _REDUCE, numpy="min"),
    # Linear algebra and shapes.
    Primitive("dot", ("a", "b"), numpy="dot"),
    Primitive(
        "transpose", ("a",), (("axes", None), ("attr", False)), numpy="transpose"
    ),
    Primitive("reshape", ("a", "shape"), nondiff=frozenset({"shape"}), numpy="reshape"),
    Primitive(
        "broadcast_to",
        ("array", "shape"),
        nondiff=frozenset({"shape"}),
        numpy="broadcast_to",
    ),
    Primitive("expand_dims", ("a",), (("axis", None),), numpy="expand_dims"),
    Primitive("shape", ("a",), numpy="shape"),
    Primitive("ndim", ("a",), numpy="ndim"),
    Primitive("size", ("a",), numpy="size"),
    Primitive("zeros_like", ("a",), (("dtype", None),), numpy="zeros_like"),
    Primitive("zeros", ("shape",), numpy="zeros"),
    Primitive("tuple", ("items",)),  # variadic: a tuple display of run-time values
    # Indexing: `x[parts]`, the parts described by the `spec` parameter (see linearize).
    Primitive(
        "getitem", ("x", "index"), (("spec", None),), nondiff=frozenset({"index"})
    ),
    Primitive("unindex", ("g", "like", "index"), (("spec", None),), helper="_unindex"),
    # Python built-ins.
    Primitive("len", ("x",), builtin="len"),
    Primitive("range", ("start", "stop", "step"), builtin="range"),
    Primitive("reversed", ("x",), builtin="reversed"),
    Primitive("float", ("x",), builtin="float"),
    Primitive("int", ("x",), builtin="int"),
    # The tape of a loop: values saved in the forward sweep for the reverse sweep.
    Primitive("new_stack", ()),
    Primitive("push", ("stack", "values")),
    Primitive("pop", ("stack",)),
    Primitive("section", ()),  # marks where the reverse sweep starts in emitted code
    Primitive("copy", ("x",)),  # `y = x`, kept so that a gradient reads `da = dv`
    # Helpers written into every generated module that needs them (see runtime.py).
    Primitive("check_scalar", ("y",), helper="_check_scalar"),
    Primitive("unbroadcast", ("g", "like"), helper="_unbroadcast"),
    Primitive("unreduce", ("g", "like"), _REDUCE, helper="_unreduce"),
    Primitive("unbroadcast_to", ("g", "shape"), helper="_unbroadcast_to"),
    Primitive("unreduce_to", ("g", "shape"), _REDUCE, helper="_unreduce_to"),
    Primitive("prod_adjoint", ("g", "a"), _REDUCE, helper="_prod_adjoint"),
    Primitive("extremum_adjoint", ("g", "a", "y"), _REDUCE, helper="_extremum_adjoint"),
    Primitive("matmul_adjoint_a", ("g", "a", "b"), helper="_matmul_adjoint_a"),
    Primitive("matmul_adjoint_b", ("g", "a", "b"), helper="_matmul_adjoint_b"),
    Primitive("dot_adjoint_a", ("g", "a", "b"), helper="_dot_adjoint_a"),
    Primitive("dot_adjoint_b", ("g", "a", "b"), helper="_dot_adjoint_b"),
]

PRIMITIVES: dict[str, Primitive] = {p.name: p for p in _ALL}

# How user code spells each primitive.
NUMPY_FUNCTIONS: dict[str, str] = {p.numpy: p.name for p in _ALL if p.numpy}
NUMPY_FUNCTIONS.update(
    {
        "absolute": "abs",
        "amax": "max",
        "amin": "min",
        "add": "add",
        "subtract": "sub",
        "multiply": "mul",
        "divide": "div",
        "true_divide": "div",
        "power": "pow",
        "negative": "neg",
        "matmul": "matmul",
    }
)
MATH_FUNCTIONS: dict[str, str] = {p.math: p.name for p in _ALL if p.math}
MATH_FUNCTIONS["pow"] = "pow"

#: Array methods with the same operands and parameters as the numpy function.
METHODS: dict[str, str] = {
    name: name for name in ("sum", "mean", "prod", "max", "min", "dot", "clip")
}

#: Python built-ins, written back as the built-in.
BUILTINS: dict[str, str] = {
    "abs": "abs",
    "max": "maximum",
    "min": "minimum",
    "len": "len",
    "float": "float",
    "int": "int",
}

#: Module attributes that are constants, inlined into the generated code.
NUMPY_CONSTANTS = ("pi", "e", "inf", "nan", "newaxis")
MATH_CONSTANTS = ("pi", "e", "inf", "nan", "tau")
