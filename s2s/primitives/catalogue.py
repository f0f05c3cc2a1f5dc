"""The built-in primitives: one record each (see :class:`~.record.Primitive`), grouped
by what they are.  Their derivatives are in :mod:`s2s.rules`."""

from __future__ import annotations

import ast
from typing import Any

from .record import Primitive, define


def parse_einsum(subscripts: Any, count: int) -> tuple[list[list[str]], list[str]]:
    """The labels of each operand and of the output of explicit einsum subscripts
    (`"ij,jk->ik"`); `...` is one label.  Raises ValueError saying what is wrong."""
    if not isinstance(subscripts, str):
        raise ValueError("the subscripts must be a string such as 'ij,jk->ik'")
    text = subscripts.replace(" ", "")
    if "->" not in text:
        raise ValueError(
            f"the subscripts {subscripts!r} have no '->': s2s needs the output "
            "labels written out (explicit mode)"
        )
    inputs, output = text.split("->", 1)

    def labels(part: str) -> list[str]:
        rest = part.replace("...", "")
        if not all(c.isalpha() for c in rest) or part.count("...") > 1:
            raise ValueError(f"cannot read the subscripts {subscripts!r}")
        head, dots, tail = part.partition("...")
        return [*head, *([dots] if dots else []), *tail]

    parsed = [labels(part) for part in inputs.split(",")]
    if len(parsed) != count:
        raise ValueError(
            f"the subscripts {subscripts!r} name {len(parsed)} operands, "
            f"but {count} were given"
        )
    for part in parsed:
        letters = [c for c in part if c != "..."]
        if len(set(letters)) != len(letters):
            raise ValueError(
                f"the subscripts {subscripts!r} repeat a label inside one operand "
                "(a diagonal), which s2s has no rule for"
            )
    out = labels(output)
    if any(c not in {x for part in parsed for x in part} for c in out):
        raise ValueError(f"the output of {subscripts!r} names an unknown label")
    if any("..." in part for part in parsed) and "..." not in out:
        raise ValueError(f"the output of {subscripts!r} must keep the '...'")
    return parsed, out


def _check_einsum(static: dict[str, Any], count: int) -> tuple[str, str] | None:
    try:
        parse_einsum(static.get("subscripts"), count)
    except ValueError as e:
        return (
            f"np.einsum: {e}",
            "Write explicit subscripts, one group of distinct letters per operand, "
            "e.g. np.einsum('ij,jk->ik', a, b); use np.trace or np.diag for diagonals.",
        )
    return None


def _check_norm(static: dict[str, Any], count: int) -> tuple[str, str] | None:
    order, axis = static.get("ord"), static.get("axis")
    if order is None:
        return None
    if order == "fro" and (
        axis is None or (isinstance(axis, tuple) and len(axis) == 2)
    ):
        return None
    if order in (1, 2) and isinstance(axis, int):
        return None
    return (
        f"np.linalg.norm with ord={order!r} and axis={axis!r} is not handled by s2s's "
        "rule (without an integer axis, ord=1 and ord=2 of a matrix are operator norms)",
        "Use the default ord (the 2-norm of a vector, the Frobenius norm of a "
        "matrix), ord='fro', or ord=1 or 2 with an integer axis for vector norms.",
    )


def _check_concatenate(static: dict[str, Any], count: int) -> tuple[str, str] | None:
    if count == 0:
        return (
            "nothing to join",
            "Pass a list of arrays, e.g. np.concatenate([a, b]).",
        )
    return None


# --- kinds of primitive -----------------------------------------------------------------


def _operator(
    name: str,
    node: type,
    ufunc: str,
    operands: tuple[str, ...] = ("x", "y"),
    **facts: Any,
) -> Primitive:
    """A Python operator, also the numpy ufunc `ufunc` (`np.add(x, y)`)."""
    return Primitive(
        name, operands, operator=node, ufunc=ufunc, elementwise=True, **facts
    )


def _ufunc(name: str, math_name: str | None = None, **facts: Any) -> Primitive:
    """A numpy ufunc of one argument (and its `math` counterpart)."""
    return Primitive(
        name, ("x",), numpy=name, math=math_name, elementwise=True, **facts
    )


def _ufunc2(
    name: str,
    operands: tuple[str, ...] = ("x", "y"),
    math_name: str | None = None,
    **facts: Any,
) -> Primitive:
    """A numpy ufunc of several arguments."""
    return Primitive(
        name, operands, numpy=name, math=math_name, elementwise=True, **facts
    )


def _transcendental(name: str, math_name: str | None = None) -> Primitive:
    """A ufunc whose result is a float (of any operands), cheap to hoist."""
    return _ufunc(name, math_name, dtype="float", hoistable=True)


def _reduction(
    name: str, static: tuple, **facts: Any
) -> Primitive:  # numpy puts dtype and out before keepdims
    return Primitive(
        name, ("a",), static, numpy=name, max_positional=2, reduction=True, **facts
    )


def _joining(name: str, operands: tuple[str, ...], static: tuple) -> Primitive:
    """np.concatenate and its relatives: any number of arrays, passed as one list."""
    return Primitive(
        name,
        operands,
        static,
        numpy=name,
        variadic=True,
        sequence=True,
        max_positional=1 + len(static),
        check=_check_concatenate,
        hint="joined" if name == "concatenate" else "stacked",
    )


def _helper(name: str, operands: tuple[str, ...], **facts: Any) -> Primitive:
    """A helper of :mod:`s2s.runtime`, written into the modules that call it."""
    return Primitive(name, operands, helper="_" + name, **facts)


_REDUCE = (("axis", None), ("keepdims", False))
_LIKE = frozenset({"like"})
_SHAPE = frozenset({"shape"})
_DTYPE = (("dtype", None),)
_SPREAD = (("axis", None), ("ddof", 0), ("keepdims", False))
_BOOL = {"dtype": "bool", "cost": "number"}  # a condition
_ARITHMETIC = {"cost": "number"}  # cheap on numbers (not on arrays)

#: The built-in primitives, in the order docs/rules.md lists them.
CATALOGUE = [
    # Python operators.
    _operator("add", ast.Add, "add", **_ARITHMETIC),
    _operator("sub", ast.Sub, "subtract", **_ARITHMETIC),
    _operator("mul", ast.Mult, "multiply", **_ARITHMETIC),
    _operator("div", ast.Div, "divide", dtype="float", hint="quotient", **_ARITHMETIC),
    _operator("pow", ast.Pow, "power", hint="power"),
    Primitive(
        "matmul", ("x", "y"), operator=ast.MatMult, ufunc="matmul", allocates=True
    ),
    _operator("floordiv", ast.FloorDiv, "floor_divide", **_ARITHMETIC),
    _operator("mod", ast.Mod, "remainder", **_ARITHMETIC),
    _operator("and", ast.BitAnd, "bitwise_and", dtype="bool", hint="both"),
    _operator("or", ast.BitOr, "bitwise_or", dtype="bool", hint="either"),
    _operator("neg", ast.USub, "negative", ("x",), hint="negated", **_ARITHMETIC),
    _operator("not", ast.Not, None, ("x",), hint="negation", scalar=True, **_BOOL),
    _operator("invert", ast.Invert, "invert", ("x",), dtype="bool", hint="inverted"),
    # `and`, `or` on conditions: Python's, so the result is one bool.
    Primitive("both", ("x", "y"), operator=ast.And, scalar=True, **_BOOL),
    Primitive("either", ("x", "y"), operator=ast.Or, scalar=True, **_BOOL),
    _operator("lt", ast.Lt, "less", comparison=True, **_BOOL),
    _operator("le", ast.LtE, "less_equal", comparison=True, **_BOOL),
    _operator("gt", ast.Gt, "greater", comparison=True, **_BOOL),
    _operator("ge", ast.GtE, "greater_equal", comparison=True, **_BOOL),
    _operator("eq", ast.Eq, "equal", comparison=True, **_BOOL),
    _operator("ne", ast.NotEq, "not_equal", comparison=True, **_BOOL),
    # Elementwise functions of one argument.
    _transcendental("exp", "exp"),
    _ufunc("exp2", dtype="float"),
    _transcendental("log", "log"),
    _ufunc("log2", "log2", dtype="float"),
    _ufunc("log10", "log10", dtype="float"),
    _transcendental("log1p", "log1p"),
    _transcendental("expm1", "expm1"),
    _transcendental("sqrt", "sqrt"),
    _ufunc("square", hoistable=True),
    _transcendental("sin", "sin"),
    _transcendental("cos", "cos"),
    _transcendental("tan", "tan"),
    _ufunc("arcsin", "asin", dtype="float"),
    _ufunc("arccos", "acos", dtype="float"),
    _transcendental("arctan", "atan"),
    _transcendental("sinh", "sinh"),
    _transcendental("cosh", "cosh"),
    _transcendental("tanh", "tanh"),
    _ufunc("abs", "fabs", builtin="abs", hoistable=True, hint="magnitude"),
    _ufunc("sign", hoistable=True),
    _ufunc("floor", "floor", rounds=True),
    _ufunc("ceil", "ceil", rounds=True),
    # Elementwise functions of several arguments.
    Primitive("maximum", ("x", "y"), numpy="maximum", builtin="max", elementwise=True),
    Primitive("minimum", ("x", "y"), numpy="minimum", builtin="min", elementwise=True),
    _ufunc2("arctan2", ("y", "x"), "atan2", dtype="float"),
    _ufunc2("hypot", math_name="hypot", dtype="float"),
    _ufunc2("logaddexp", dtype="float"),
    _ufunc2("where", ("condition", "x", "y"), nondiff=frozenset({"condition"})),
    _ufunc2("clip", ("a", "a_min", "a_max")),
    # Logic on conditions (zero derivative, like comparisons).
    _ufunc("logical_not", dtype="bool"),
    _ufunc2("logical_and", dtype="bool"),
    _ufunc2("logical_or", dtype="bool"),
    # Reductions.
    _reduction("sum", _REDUCE, array_method=True, allocates=True, hint="total"),
    _reduction("mean", _REDUCE, array_method=True, allocates=True, dtype="float"),
    _reduction("prod", _REDUCE, array_method=True),
    _reduction("max", _REDUCE, array_method=True, hint="largest"),
    _reduction("min", _REDUCE, array_method=True, hint="smallest"),
    _reduction("var", _SPREAD, dtype="float", hint="variance"),
    _reduction("std", _SPREAD, dtype="float", hint="deviation"),
    Primitive(
        "norm",
        ("x",),
        (("ord", None), ("axis", None), ("keepdims", False)),
        numpy="linalg.norm",
        check=_check_norm,
        reduction=True,
        dtype="float",
    ),
    Primitive("cumsum", ("a",), (("axis", None),), numpy="cumsum", max_positional=2),
    Primitive(
        "trace",
        ("a",),
        (("offset", 0), ("axis1", 0), ("axis2", 1)),
        numpy="trace",
        max_positional=4,
    ),
    _reduction("argmax", _REDUCE, dtype="int"),
    _reduction("argmin", _REDUCE, dtype="int"),
    _reduction("all", _REDUCE, hint="every"),
    _reduction("any", _REDUCE, hint="some"),
    # Linear algebra and shapes.
    Primitive("dot", ("a", "b"), numpy="dot", allocates=True),
    Primitive("outer", ("a", "b"), numpy="outer", allocates=True),
    Primitive(
        "einsum",
        ("operands",),
        (("subscripts", None),),
        numpy="einsum",
        variadic=True,
        leading=("subscripts",),
        check=_check_einsum,
        allocates=True,
        view=True,  # numpy returns a view where it can
    ),
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
    Primitive("diag", ("v",), (("k", 0),), numpy="diag"),
    *(_joining(name, ("arrays",), (("axis", 0),)) for name in ("concatenate", "stack")),
    *(_joining(name, ("tup",), ()) for name in ("hstack", "vstack")),
    Primitive(
        "shape", ("a",), numpy="shape", dtype="int", shape_only=0, cost="constant"
    ),
    Primitive("ndim", ("a",), numpy="ndim", dtype="int", scalar=True, cost="constant"),
    Primitive(
        "size",
        ("a",),
        numpy="size",
        dtype="int",
        scalar=True,
        shape_only=0,
        cost="constant",
    ),
    # Constructors: constants, or the start of an accumulation.
    Primitive("zeros_like", ("a",), _DTYPE, numpy="zeros_like", shaped_like=0),
    Primitive("ones_like", ("a",), _DTYPE, numpy="ones_like", shaped_like=0),
    Primitive(
        "full_like",
        ("a", "fill_value"),
        _DTYPE,
        nondiff=frozenset({"a"}),
        numpy="full_like",
        shaped_like=0,
    ),
    Primitive(
        "zeros",
        ("shape",),
        _DTYPE,
        numpy="zeros",
        shaped_by=0,
        counts=0,
        allocates=True,
    ),
    Primitive(
        "ones", ("shape",), _DTYPE, numpy="ones", shaped_by=0, counts=0, allocates=True
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
    Primitive(
        "arange",
        ("start", "stop", "step"),
        _DTYPE,
        numpy="arange",
        optional=2,
        dtype="int",
        counts=0,
        hint="counts",
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
    _helper(
        "unindex",
        ("g", "like", "index"),
        static=(("spec", None), ("broadcast", False)),  # broadcast: g may be smaller
        nondiff=frozenset({"like", "index"}),
        variadic=True,
        internal=frozenset({"broadcast"}),
        shaped_like=1,
        shape_only=1,
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
        **_ARITHMETIC,
    ),
    Primitive(
        "int",
        ("x",),
        builtin="int",
        dtype="int",
        scalar=True,
        rounds=True,
        hint="as_int",
        **_ARITHMETIC,
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
    _helper(
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
    _helper("closure_variable", ("function",), static=(("name", None),)),
    _helper("global_variable", ("function",), static=(("name", None),)),
    # Helpers written into every generated module that needs them (see runtime.py).
    # Operands read only for their shape (or dtype) are nondiff: a gradient that calls
    # these helpers can be differentiated again (see rules.py).
    _helper("check_scalar", ("y",), effect="check", has_value=False, guarded=True),
    # An f-string, f"step {k}: {loss:.3f}", as its template and its values.
    _helper(
        "format",
        ("values",),
        static=(("template", None),),
        leading=("template",),
        variadic=True,
        cost="constant",
        hint="text",
    ),
    # A free value the code was generated for (an axis), an array it was specialized
    # for: the same value, the same shape, when it runs.
    *(
        _helper(
            name,
            ("value",),
            static=(("expected", None), ("name", None)),
            effect="check",
            has_value=False,
        )
        for name in ("check_unchanged", "check_shape")
    ),
    # An update in place of a value that may be an array another name sees.
    _helper(
        "check_unshared",
        ("value",),
        static=(("update", None), ("where", None), ("holder", None)),
        effect="check",
        has_value=False,
        guarded=True,
    ),
    _helper(
        "check_shapes",
        ("arguments",),
        static=(("function", None), ("names", None), ("expected", None)),
        variadic=True,
        effect="check",
        has_value=False,
    ),
    _helper(
        "unbroadcast",
        ("g", "like"),
        nondiff=_LIKE,
        shaped_like=1,
        shape_only=1,
        shape_variant="unbroadcast_to",
    ),
    _helper(
        "unreduce",
        ("g", "like"),
        static=_REDUCE,
        nondiff=_LIKE,
        shaped_like=1,
        shape_only=1,
        spread=True,
        shape_variant="unreduce_to",
    ),
    _helper("unbroadcast_to", ("g", "shape"), nondiff=_SHAPE, shaped_by=1),
    _helper(
        "unreduce_to",
        ("g", "shape"),
        static=_REDUCE,
        nondiff=_SHAPE,
        shaped_by=1,
        spread=True,
    ),
    _helper("prod_adjoint", ("g", "a"), static=_REDUCE, shaped_like=1),
    _helper(
        "extremum_adjoint",
        ("g", "a", "y"),
        static=_REDUCE,
        nondiff=frozenset({"a", "y"}),  # which elements are extremal: a step
        shaped_like=1,
    ),
    *(
        _helper(
            f"{op}_adjoint_{side}",
            ("g", "a", "b"),
            nondiff=frozenset({side}),
            shaped_like=1 if side == "a" else 2,
        )
        for op in ("matmul", "dot")
        for side in ("a", "b")
    ),
    _helper(
        "trace_adjoint",
        ("g", "a"),
        static=(("offset", 0), ("axis1", 0), ("axis2", 1)),
        nondiff=frozenset({"a"}),
        shaped_like=1,
    ),
    _helper(
        "diag_adjoint",
        ("g", "v"),
        static=(("k", 0),),
        nondiff=frozenset({"v"}),
        shaped_like=1,
    ),
    _helper(
        "fill_adjoint",
        ("g", "y", "fill"),
        nondiff=frozenset({"y", "fill"}),
        shaped_like=2,
    ),
    *(
        _helper(
            f"{name}_adjoint",
            ("g", "arrays"),
            static=(("part", 0),),
            nondiff=frozenset({"arrays"}),
            variadic=True,
        )
        for name in ("hstack", "vstack")
    ),
]

for _prim in CATALOGUE:
    define(_prim)
