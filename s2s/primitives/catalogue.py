"""The built-in primitives: one record each (see :class:`~.record.Primitive`), grouped
by what they are: here Python's operators, elementwise functions, reductions, shapes,
constructors, steps and built-ins, the tape and the reading of free data; the array
functions (:mod:`.arrays`), linear algebra (:mod:`.linalg`) and the runtime helpers
(:mod:`.helpers`) have modules of their own.  :data:`CATALOGUE` lists them all.  Their
derivatives are in :mod:`s2s.rules`."""

from __future__ import annotations

import ast
from typing import Any

from .arrays import ARRAYS
from .factories import (
    ARITHMETIC,
    BOOL,
    DTYPE,
    REDUCE,
    SPREAD,
    helper,
    joining,
    math_only,
    operator,
    reduction,
    transcendental,
    ufunc,
    ufunc2,
)
from .helpers import HELPERS
from .linalg import LINALG
from .record import Primitive, define


def _check_grid(static: dict[str, Any], count: int) -> tuple[str, str] | None:
    endpoint = static.get("endpoint")
    if not isinstance(endpoint, bool):
        return (
            f"endpoint={endpoint!r} must be True or False",
            "Say whether the grid ends at stop: endpoint=True (the default) or False.",
        )
    return None


#: The built-in primitives, in the order docs/rules.md lists them.
CATALOGUE = [
    # Python operators.
    operator("add", ast.Add, "add", **ARITHMETIC),
    operator("sub", ast.Sub, "subtract", **ARITHMETIC),
    operator("mul", ast.Mult, "multiply", **ARITHMETIC),
    operator("div", ast.Div, "divide", dtype="float", hint="quotient", **ARITHMETIC),
    operator("pow", ast.Pow, "power", hint="power"),
    Primitive(
        "matmul", ("x", "y"), operator=ast.MatMult, ufunc="matmul", allocates=True
    ),
    operator("floordiv", ast.FloorDiv, "floor_divide", **ARITHMETIC),
    operator("mod", ast.Mod, "remainder", **ARITHMETIC),
    operator("and", ast.BitAnd, "bitwise_and", dtype="bool", hint="both"),
    operator("or", ast.BitOr, "bitwise_or", dtype="bool", hint="either"),
    operator("neg", ast.USub, "negative", ("x",), hint="negated", **ARITHMETIC),
    operator("not", ast.Not, None, ("x",), hint="negation", scalar=True, **BOOL),
    operator("invert", ast.Invert, "invert", ("x",), dtype="bool", hint="inverted"),
    # `and`, `or` on conditions: Python's, so the result is one bool.
    Primitive("both", ("x", "y"), operator=ast.And, scalar=True, **BOOL),
    Primitive("either", ("x", "y"), operator=ast.Or, scalar=True, **BOOL),
    operator("lt", ast.Lt, "less", comparison=True, **BOOL),
    operator("le", ast.LtE, "less_equal", comparison=True, **BOOL),
    operator("gt", ast.Gt, "greater", comparison=True, **BOOL),
    operator("ge", ast.GtE, "greater_equal", comparison=True, **BOOL),
    operator("eq", ast.Eq, "equal", comparison=True, **BOOL),
    operator("ne", ast.NotEq, "not_equal", comparison=True, **BOOL),
    # `x is None` (an optional parameter), `x is not None`: one bool.
    Primitive("is", ("x", "y"), operator=ast.Is, scalar=True, **BOOL),
    Primitive("is_not", ("x", "y"), operator=ast.IsNot, scalar=True, **BOOL),
    # Elementwise functions of one argument.
    transcendental("exp", "exp"),
    ufunc("exp2", dtype="float"),
    transcendental("log", "log"),
    ufunc("log2", "log2", dtype="float"),
    ufunc("log10", "log10", dtype="float"),
    transcendental("log1p", "log1p"),
    transcendental("expm1", "expm1"),
    transcendental("sqrt", "sqrt"),
    ufunc("square", hoistable=True),
    transcendental("sin", "sin"),
    transcendental("cos", "cos"),
    transcendental("tan", "tan"),
    ufunc("arcsin", "asin", dtype="float"),
    ufunc("arccos", "acos", dtype="float"),
    transcendental("arctan", "atan"),
    transcendental("sinh", "sinh"),
    transcendental("cosh", "cosh"),
    transcendental("tanh", "tanh"),
    transcendental("arcsinh", "asinh"),
    ufunc("arccosh", "acosh", dtype="float"),
    ufunc("arctanh", "atanh", dtype="float"),
    ufunc("reciprocal", hoistable=True),
    ufunc("cbrt", dtype="float", hoistable=True),
    ufunc("sinc", dtype="float", hoistable=True),
    # Of Python floats only (numpy has no erf or gamma).
    *(math_only(name) for name in ("erf", "erfc", "gamma", "lgamma")),
    ufunc("abs", "fabs", builtin="abs", hoistable=True, hint="magnitude"),
    ufunc("sign", hoistable=True),
    ufunc("floor", "floor", rounds=True),
    ufunc("ceil", "ceil", rounds=True),
    # Elementwise functions of several arguments.
    Primitive("maximum", ("x", "y"), numpy="maximum", builtin="max", elementwise=True),
    Primitive("minimum", ("x", "y"), numpy="minimum", builtin="min", elementwise=True),
    ufunc2("arctan2", ("y", "x"), "atan2", dtype="float"),
    ufunc2("hypot", math_name="hypot", dtype="float"),
    ufunc2("logaddexp", dtype="float"),
    ufunc2("where", ("condition", "x", "y"), nondiff=frozenset({"condition"})),
    ufunc2("clip", ("a", "a_min", "a_max")),
    # Logic on conditions (zero derivative, like comparisons).
    ufunc("logical_not", dtype="bool"),
    *(ufunc(name, dtype="bool") for name in ("isnan", "isinf", "isfinite")),
    ufunc2("logical_and", dtype="bool"),
    ufunc2("logical_or", dtype="bool"),
    # Reductions.
    reduction("sum", REDUCE, array_method=True, allocates=True, hint="total"),
    reduction("mean", REDUCE, array_method=True, allocates=True, dtype="float"),
    reduction("prod", REDUCE, array_method=True),
    reduction("max", REDUCE, array_method=True, hint="largest"),
    reduction("min", REDUCE, array_method=True, hint="smallest"),
    reduction("var", SPREAD, dtype="float", hint="variance"),
    reduction("std", SPREAD, dtype="float", hint="deviation"),
    reduction("argmax", REDUCE, dtype="int"),
    reduction("argmin", REDUCE, dtype="int"),
    reduction("all", REDUCE, hint="every"),
    reduction("any", REDUCE, hint="some"),
    # Shapes.
    Primitive(
        "transpose",
        ("a",),
        (("axes", None), ("attr", False)),
        numpy="transpose",
        max_positional=2,
        internal=frozenset({"attr"}),
        view=True,
    ),
    Primitive(
        "reshape",
        ("a", "shape"),
        nondiff=frozenset({"shape"}),
        numpy="reshape",
        counts=1,
        view=True,
    ),
    Primitive(
        "broadcast_to",
        ("array", "shape"),
        nondiff=frozenset({"shape"}),
        numpy="broadcast_to",
        counts=1,
        view=True,
        spread=True,
    ),
    Primitive("expand_dims", ("a",), (("axis", None),), numpy="expand_dims", view=True),
    Primitive("squeeze", ("a",), (("axis", None),), numpy="squeeze", view=True),
    Primitive("ravel", ("a",), numpy="ravel", max_positional=1, view=True, hint="flat"),
    # np.copy: a new, writable array (a gradient is never a view of something else)
    Primitive("array_copy", ("a",), numpy="copy", max_positional=1, elementwise=True),
    *(joining(name, ("arrays",), (("axis", 0),)) for name in ("concatenate", "stack")),
    *(joining(name, ("tup",), ()) for name in ("hstack", "vstack")),
    Primitive(
        "shape", ("a",), numpy="shape", dtype="int", shape_only=0, cost="constant"
    ),
    Primitive("ndim", ("a",), numpy="ndim", dtype="int", scalar=True, cost="constant"),
    # np.size, written `_size(a)` (Dask warns that it does not implement np.size)
    Primitive(
        "size",
        ("a",),
        numpy="size",
        helper="_size",
        dtype="int",
        scalar=True,
        shape_only=0,
        cost="constant",
    ),
    # Constructors: constants, or the start of an accumulation.
    Primitive("zeros_like", ("a",), DTYPE, numpy="zeros_like", shaped_like=0),
    Primitive("ones_like", ("a",), DTYPE, numpy="ones_like", shaped_like=0),
    Primitive(
        "full_like",
        ("a", "fill_value"),
        DTYPE,
        nondiff=frozenset({"a"}),
        numpy="full_like",
        shaped_like=0,
    ),
    Primitive(
        "zeros",
        ("shape",),
        DTYPE,
        numpy="zeros",
        shaped_by=0,
        counts=0,
        allocates=True,
    ),
    Primitive(
        "ones", ("shape",), DTYPE, numpy="ones", shaped_by=0, counts=0, allocates=True
    ),
    Primitive(
        "eye",
        ("N", "M"),
        (("k", 0), ("dtype", None)),
        numpy="eye",
        optional=1,
        counts=0,
        hint="identity",
    ),
    # np.arange(5) holds ints, np.arange(0.0, 1.0, 0.25) floats: its operands' dtype
    Primitive(
        "arange",
        ("start", "stop", "step"),
        DTYPE,
        numpy="arange",
        optional=2,
        counts=0,
        hint="counts",
    ),
    Primitive(
        "full",
        ("shape", "fill_value"),
        DTYPE,
        nondiff=frozenset({"shape"}),
        numpy="full",
        shaped_by=0,
        allocates=True,
        hint="filled",
    ),
    # num points from start to stop (scalars, or arrays along a new first axis)
    *(
        Primitive(
            name,
            ("start", "stop", "num"),
            (("endpoint", True),),
            nondiff=frozenset({"num"}),
            numpy=name,
            optional=1,
            counts=2,
            check=_check_grid,
            dtype="float",
            allocates=True,
            hint="grid",
        )
        for name in ("linspace", "geomspace")
    ),
    # x.astype(dtype), np.asarray(x, dtype=...): a cast to floats passes derivatives
    # on, one to integers or bools is a step (numpy returns x itself for its dtype)
    Primitive(
        "astype",
        ("x",),
        DTYPE,
        numpy="asarray",
        shaped_like=0,
        dtype="float",
        view=True,
        hint="cast",
    ),
    Primitive(
        "astype_int",
        ("x",),
        DTYPE,
        numpy="asarray",
        shaped_like=0,
        dtype="int",
        rounds=True,
        view=True,
        hint="cast",
    ),
    # Steps: zero derivative wherever they have one.
    Primitive(
        "round",
        ("a",),
        (("decimals", 0),),
        numpy="round",
        elementwise=True,
        rounds=True,
        hint="rounded",
    ),
    Primitive(
        "builtin_round",
        ("number",),
        (("ndigits", None),),
        builtin="round",
        dtype="int",
        rounds=True,
        hint="rounded",
    ),
    # a tuple display of run-time values
    Primitive("tuple", ("items",), cost="constant", hint="dims"),
    # Indexing: `x[parts]`, the parts described by the `spec` parameter (see lower).
    Primitive(
        "getitem",
        ("x", "index"),
        (("spec", None),),
        nondiff=frozenset({"index"}),
        variadic=True,
        counts=1,
        view=True,
        cost="constant",
        hint="part",
    ),
    helper(
        "unindex",
        ("g", "like", "index"),
        static=(("spec", None), ("broadcast", False)),  # broadcast: g may be smaller
        nondiff=frozenset({"like", "index"}),
        variadic=True,
        internal=frozenset({"broadcast"}),
        shaped_like=1,
        shape_only=1,
    ),
    # `out[index] = value` on the function's own array: the array after it.
    helper(
        "setitem",
        ("x", "value", "index"),
        static=(("spec", None),),
        nondiff=frozenset({"index"}),
        variadic=True,
        shaped_like=0,
        allocates=True,
    ),
    # Python built-ins.
    # print(...): output the forward sweep makes, once per call, never the reverse.
    Primitive(
        "print",
        ("values",),
        (("sep", " "), ("end", "\n")),
        builtin="print",
        variadic=True,
        effect="output",
        has_value=False,
        cost="constant",
    ),
    # raise E(...): the forward sweep raises as the function does; a statement.
    Primitive(
        "raise",
        ("args",),
        (("exception", "ValueError"),),
        variadic=True,
        effect="raise",
        has_value=False,
        cost="constant",
    ),
    Primitive(
        "len",
        ("x",),
        builtin="len",
        dtype="int",
        scalar=True,
        cost="constant",
        hint="length",
    ),
    Primitive(
        "range",
        ("start", "stop", "step"),
        builtin="range",
        dtype="int",
        scalar=True,
        counts=0,
        hint="steps",
    ),
    Primitive("reversed", ("x",), builtin="reversed", fresh=True, hint="backwards"),
    Primitive(
        "float",
        ("x",),
        builtin="float",
        dtype="float",
        scalar=True,
        hint="as_float",
        **ARITHMETIC,
    ),
    Primitive(
        "int",
        ("x",),
        builtin="int",
        dtype="int",
        scalar=True,
        rounds=True,
        hint="as_int",
        **ARITHMETIC,
    ),
    # The tape of a loop: values saved in the forward sweep for the reverse sweep.
    Primitive("new_stack", (), fresh=True, hint="saved"),
    Primitive("push", ("stack", "values"), effect="tape", has_value=False),
    Primitive("pop", ("stack",), effect="tape"),
    # marks where the reverse sweep starts in emitted code
    Primitive("section", (), effect="marker", has_value=False),
    # `y = x`, kept so that a gradient reads `da = dv`
    Primitive("copy", ("x",), shaped_like=0, view=True, cost="constant", hint="copied"),
    # Data read from outside the function when the gradient runs: a module (imported
    # lazily) and an attribute of an object (a module's global, `self.W`).
    helper(
        "module",
        (),
        static=(("name", None),),
        leading=("name",),
        cost="constant",
        hint="module",
        holder=True,
    ),
    Primitive("attribute", ("x",), (("name", None),), cost="constant"),
    # A helper's own closure variable, or its global where no import reaches it.
    helper("closure_variable", ("function",), static=(("name", None),)),
    helper("global_variable", ("function",), static=(("name", None),)),
    *ARRAYS,
    *LINALG,
    *HELPERS,
]

for _prim in CATALOGUE:
    define(_prim)
