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
    operator("pow", ast.Pow, "power", hint="power", array_api="pow"),
    Primitive(
        "matmul",
        ("x", "y"),
        operator=ast.MatMult,
        ufunc="matmul",
        allocates=True,
        array_api="matmul",
    ),
    operator("floordiv", ast.FloorDiv, "floor_divide", **ARITHMETIC),
    operator("mod", ast.Mod, "remainder", **ARITHMETIC),
    operator("and", ast.BitAnd, "bitwise_and", dtype="bool", hint="both"),
    operator("or", ast.BitOr, "bitwise_or", dtype="bool", hint="either"),
    operator("neg", ast.USub, "negative", ("x",), hint="negated", **ARITHMETIC),
    operator("not", ast.Not, None, ("x",), hint="negation", scalar=True, **BOOL),
    operator(
        "invert",
        ast.Invert,
        "invert",
        ("x",),
        dtype="bool",
        hint="inverted",
        array_api="bitwise_invert",
    ),
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
    ufunc("log2", "log2", dtype="float", array_api="log2"),
    ufunc("log10", "log10", dtype="float", array_api="log10"),
    transcendental("log1p", "log1p"),
    transcendental("expm1", "expm1"),
    transcendental("sqrt", "sqrt"),
    ufunc("square", hoistable=True, array_api="square"),
    transcendental("sin", "sin"),
    transcendental("cos", "cos"),
    transcendental("tan", "tan"),
    ufunc("arcsin", "asin", dtype="float", array_api="asin"),
    ufunc("arccos", "acos", dtype="float", array_api="acos"),
    transcendental("arctan", "atan", "atan"),
    transcendental("sinh", "sinh"),
    transcendental("cosh", "cosh"),
    transcendental("tanh", "tanh"),
    transcendental("arcsinh", "asinh", "asinh"),
    ufunc("arccosh", "acosh", dtype="float", array_api="acosh"),
    ufunc("arctanh", "atanh", dtype="float", array_api="atanh"),
    ufunc("reciprocal", hoistable=True, array_api="reciprocal"),
    ufunc("cbrt", dtype="float", hoistable=True),
    ufunc("sinc", dtype="float", hoistable=True),
    # Of Python floats only (numpy has no erf or gamma).
    *(math_only(name) for name in ("erf", "erfc", "gamma", "lgamma")),
    ufunc(
        "abs",
        "fabs",
        builtin="abs",
        hoistable=True,
        hint="magnitude",
        array_api="abs",
    ),
    ufunc("sign", hoistable=True, array_api="sign"),
    ufunc("floor", "floor", rounds=True, array_api="floor"),
    ufunc("ceil", "ceil", rounds=True, array_api="ceil"),
    # Elementwise functions of several arguments.
    *(
        Primitive(
            name,
            ("x", "y"),
            numpy=name,
            builtin=name[:3],
            elementwise=True,
            array_api=name,
        )
        for name in ("maximum", "minimum")
    ),
    ufunc2("arctan2", ("y", "x"), "atan2", dtype="float", array_api="atan2"),
    ufunc2("hypot", math_name="hypot", dtype="float", array_api="hypot"),
    ufunc2("logaddexp", dtype="float", array_api="logaddexp"),
    ufunc2(
        "where",
        ("condition", "x", "y"),
        nondiff=frozenset({"condition"}),
        array_api="where",
    ),
    ufunc2("clip", ("a", "a_min", "a_max"), array_api="clip"),
    # Logic on conditions (zero derivative, like comparisons).
    ufunc("logical_not", dtype="bool", array_api="logical_not"),
    *(
        ufunc(name, dtype="bool", array_api=name)
        for name in ("isnan", "isinf", "isfinite")
    ),
    ufunc2("logical_and", dtype="bool", array_api="logical_and"),
    ufunc2("logical_or", dtype="bool", array_api="logical_or"),
    # Reductions.
    reduction(
        "sum", REDUCE, array_api="sum", array_method=True, allocates=True, hint="total"
    ),
    reduction(
        "mean",
        REDUCE,
        array_api="mean",
        array_method=True,
        allocates=True,
        dtype="float",
    ),
    reduction("prod", REDUCE, array_api="prod", array_method=True),
    reduction("max", REDUCE, array_api="max", array_method=True, hint="largest"),
    reduction("min", REDUCE, array_api="min", array_method=True, hint="smallest"),
    reduction("var", SPREAD, array_api="var", dtype="float", hint="variance"),
    reduction("std", SPREAD, array_api="std", dtype="float", hint="deviation"),
    reduction("argmax", REDUCE, array_api="argmax", dtype="int"),
    reduction("argmin", REDUCE, array_api="argmin", dtype="int"),
    reduction("all", REDUCE, array_api="all", hint="every"),
    reduction("any", REDUCE, array_api="any", hint="some"),
    # Shapes.
    Primitive(
        "transpose",
        ("a",),
        (("axes", None), ("attr", False)),
        numpy="transpose",
        max_positional=2,
        internal=frozenset({"attr"}),
        view=True,
        array_api="_transpose",
    ),
    Primitive(
        "reshape",
        ("a", "shape"),
        nondiff=frozenset({"shape"}),
        numpy="reshape",
        counts=1,
        view=True,
        array_api="reshape",
    ),
    Primitive(
        "broadcast_to",
        ("array", "shape"),
        nondiff=frozenset({"shape"}),
        numpy="broadcast_to",
        counts=1,
        view=True,
        spread=True,
        array_api="broadcast_to",
    ),
    *(
        Primitive(name, ("a",), (("axis", None),), numpy=name, view=True, array_api=to)
        for name, to in (("expand_dims", "expand_dims"), ("squeeze", "_squeeze"))
    ),
    Primitive(
        "ravel",
        ("a",),
        numpy="ravel",
        max_positional=1,
        view=True,
        hint="flat",
        array_api="_ravel",
    ),
    # np.copy: a new, writable array (a gradient is never a view of something else)
    Primitive("array_copy", ("a",), numpy="copy", max_positional=1, elementwise=True),
    joining("concatenate", ("arrays",), (("axis", 0),), array_api="concat"),
    joining("stack", ("arrays",), (("axis", 0),), array_api="stack"),
    *(joining(name, ("tup",), ()) for name in ("hstack", "vstack")),
    Primitive(
        "shape",
        ("a",),
        numpy="shape",
        dtype="int",
        shape_only=0,
        cost="constant",
        array_api="_shape",
    ),
    Primitive(
        "ndim",
        ("a",),
        numpy="ndim",
        dtype="int",
        scalar=True,
        cost="constant",
        array_api="_ndim",
    ),
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
        array_api="_size",
    ),
    # Constructors: constants, or the start of an accumulation.
    *(
        Primitive(name, ("a",), DTYPE, numpy=name, shaped_like=0, array_api=name)
        for name in ("zeros_like", "ones_like")
    ),
    Primitive(
        "full_like",
        ("a", "fill_value"),
        DTYPE,
        nondiff=frozenset({"a"}),
        numpy="full_like",
        shaped_like=0,
        array_api="full_like",
    ),
    Primitive(
        "zeros",
        ("shape",),
        DTYPE,
        numpy="zeros",
        shaped_by=0,
        counts=0,
        allocates=True,
        array_api="zeros",
    ),
    Primitive(
        "ones",
        ("shape",),
        DTYPE,
        numpy="ones",
        shaped_by=0,
        counts=0,
        allocates=True,
        array_api="ones",
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
        array_api="full",
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
        array_api="_unindex",
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
        array_api="_setitem",
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
        array_api="_len",
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
        array_api="_module",
    ),
    Primitive("attribute", ("x",), (("name", None),), cost="constant"),
    # A helper's own closure variable, or its global where no import reaches it.
    *(
        helper(name, ("function",), static=(("name", None),), array_api="_" + name)
        for name in ("closure_variable", "global_variable")
    ),
    *ARRAYS,
    *LINALG,
    *HELPERS,
]

for _prim in CATALOGUE:
    define(_prim)
