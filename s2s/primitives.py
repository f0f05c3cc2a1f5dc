"""The catalogue of primitive operations: their operands, static parameters, and how
user code spells them (operators, `np.*`, `math.*`, array methods, built-ins).

This module knows nothing of derivatives (that is :mod:`s2s.rules`); it says what each
primitive takes and how :mod:`s2s.emit` writes it back as Python.
"""

from __future__ import annotations

import ast
import functools
import sys
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Primitive:
    """One operation of the IR.

    `operands` are the run-time inputs in order; `static` are keyword parameters that
    must be compile-time constants (with their defaults); operands in `nondiff` never
    receive an adjoint (conditions, shapes).  Exactly one of `operator`, `numpy`,
    `math`, `builtin`, `helper` or `python` says how the op is written back.

    How a call binds to the operands: when `variadic`, the last operand takes any
    number of values (`np.einsum("ij,j->i", a, b)`); when `sequence` too, they are
    passed as one list (`np.concatenate([a, b])`).  `leading` names static parameters
    written positionally before the operands (einsum's subscripts); the last
    `optional` operands may be left out (`np.eye(n)`); at most `max_positional`
    arguments bind by position (numpy's own order has parameters s2s does not take,
    such as `dtype` before `keepdims`); `internal` parameters are set by s2s only.
    `check(static, count)` returns (message, advice) for parameter values the rule
    does not handle, so that they are refused instead of differentiated wrongly.
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
    python: str | None = None  # a registered function: its import path, e.g. "m.f"
    elementwise: bool = False  # the output has the broadcast shape of the operands
    variadic: bool = False
    sequence: bool = False
    leading: tuple[str, ...] = ()
    optional: int = 0
    max_positional: int | None = None
    internal: frozenset[str] = frozenset()
    check: Callable[[dict[str, Any], int], tuple[str, str] | None] | None = field(
        default=None, compare=False
    )

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
    )


_REDUCE = (("axis", None), ("keepdims", False))
_LIKE = frozenset({"like"})
_SHAPE = frozenset({"shape"})
_DTYPE = (("dtype", None),)
_SPREAD = (("axis", None), ("ddof", 0), ("keepdims", False))

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
    _operator("invert", ast.Invert, ("x",)),  # `~mask`
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
    # Logic on conditions (zero derivative, like comparisons).
    _ufunc("logical_not"),
    _ufunc2("logical_and"),
    _ufunc2("logical_or"),
    # Reductions (numpy's own order puts dtype and out before keepdims).
    *(
        Primitive(name, ("a",), _REDUCE, numpy=name, max_positional=2)
        for name in ("sum", "mean", "prod", "max", "min")
    ),
    *(
        Primitive(name, ("a",), _SPREAD, numpy=name, max_positional=2)
        for name in ("var", "std")
    ),
    Primitive(
        "norm",
        ("x",),
        (("ord", None), ("axis", None), ("keepdims", False)),
        numpy="linalg.norm",
        check=_check_norm,
    ),
    Primitive("cumsum", ("a",), (("axis", None),), numpy="cumsum", max_positional=2),
    Primitive(
        "trace",
        ("a",),
        (("offset", 0), ("axis1", 0), ("axis2", 1)),
        numpy="trace",
        max_positional=4,
    ),
    *(
        Primitive(name, ("a",), _REDUCE, numpy=name, max_positional=2)
        for name in ("argmax", "argmin", "all", "any")
    ),
    # Linear algebra and shapes.
    Primitive("dot", ("a", "b"), numpy="dot"),
    Primitive("outer", ("a", "b"), numpy="outer"),
    Primitive(
        "einsum",
        ("operands",),
        (("subscripts", None),),
        numpy="einsum",
        variadic=True,
        leading=("subscripts",),
        check=_check_einsum,
    ),
    Primitive(
        "transpose",
        ("a",),
        (("axes", None), ("attr", False)),
        numpy="transpose",
        max_positional=2,
        internal=frozenset({"attr"}),
    ),
    Primitive("reshape", ("a", "shape"), nondiff=frozenset({"shape"}), numpy="reshape"),
    Primitive(
        "broadcast_to",
        ("array", "shape"),
        nondiff=frozenset({"shape"}),
        numpy="broadcast_to",
    ),
    Primitive("expand_dims", ("a",), (("axis", None),), numpy="expand_dims"),
    Primitive("squeeze", ("a",), (("axis", None),), numpy="squeeze"),
    Primitive("ravel", ("a",), numpy="ravel", max_positional=1),
    # np.copy: a new, writable array (a gradient is never a view of something else)
    Primitive("array_copy", ("a",), numpy="copy", max_positional=1, elementwise=True),
    Primitive("diag", ("v",), (("k", 0),), numpy="diag"),
    *(_joining(name, ("arrays",), (("axis", 0),)) for name in ("concatenate", "stack")),
    *(_joining(name, ("tup",), ()) for name in ("hstack", "vstack")),
    Primitive("shape", ("a",), numpy="shape"),
    Primitive("ndim", ("a",), numpy="ndim"),
    Primitive("size", ("a",), numpy="size"),
    # Constructors: constants, or the start of an accumulation.
    Primitive("zeros_like", ("a",), _DTYPE, numpy="zeros_like"),
    Primitive("ones_like", ("a",), _DTYPE, numpy="ones_like"),
    Primitive(
        "full_like",
        ("a", "fill_value"),
        _DTYPE,
        nondiff=frozenset({"a"}),
        numpy="full_like",
    ),
    Primitive("zeros", ("shape",), _DTYPE, numpy="zeros"),
    Primitive("ones", ("shape",), _DTYPE, numpy="ones"),
    Primitive("eye", ("N", "M"), (("k", 0), ("dtype", None)), numpy="eye", optional=1),
    Primitive("arange", ("start", "stop", "step"), _DTYPE, numpy="arange", optional=2),
    # Steps: zero derivative wherever they have one.
    Primitive("round", ("a",), (("decimals", 0),), numpy="round", elementwise=True),
    Primitive("builtin_round", ("number",), (("ndigits", None),), builtin="round"),
    Primitive("tuple", ("items",)),  # variadic: a tuple display of run-time values
    # Indexing: `x[parts]`, the parts described by the `spec` parameter (see linearize).
    Primitive(
        "getitem",
        ("x", "index"),
        (("spec", None),),
        nondiff=frozenset({"index"}),
        variadic=True,
    ),
    Primitive(
        "unindex",
        ("g", "like", "index"),
        (("spec", None), ("broadcast", False)),  # broadcast: g may be smaller
        nondiff=frozenset({"like", "index"}),
        helper="_unindex",
        variadic=True,
        internal=frozenset({"broadcast"}),
    ),
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
    # Operands read only for their shape (or dtype) are nondiff: a gradient that calls
    # these helpers can be differentiated again (see rules.py).
    Primitive("check_scalar", ("y",), helper="_check_scalar"),
    Primitive(
        "check_shapes",
        ("arguments",),
        (("function", None), ("names", None), ("expected", None)),
        helper="_check_shapes",
        variadic=True,
    ),
    Primitive("unbroadcast", ("g", "like"), nondiff=_LIKE, helper="_unbroadcast"),
    Primitive("unreduce", ("g", "like"), _REDUCE, nondiff=_LIKE, helper="_unreduce"),
    Primitive(
        "unbroadcast_to", ("g", "shape"), nondiff=_SHAPE, helper="_unbroadcast_to"
    ),
    Primitive(
        "unreduce_to", ("g", "shape"), _REDUCE, nondiff=_SHAPE, helper="_unreduce_to"
    ),
    Primitive("prod_adjoint", ("g", "a"), _REDUCE, helper="_prod_adjoint"),
    Primitive(
        "extremum_adjoint",
        ("g", "a", "y"),
        _REDUCE,
        nondiff=frozenset({"a", "y"}),  # which elements are extremal: a step
        helper="_extremum_adjoint",
    ),
    *(
        Primitive(
            f"{op}_adjoint_{side}",
            ("g", "a", "b"),
            nondiff=frozenset({side}),
            helper=f"_{op}_adjoint_{side}",
        )
        for op in ("matmul", "dot")
        for side in ("a", "b")
    ),
    Primitive(
        "trace_adjoint",
        ("g", "a"),
        (("offset", 0), ("axis1", 0), ("axis2", 1)),
        nondiff=frozenset({"a"}),
        helper="_trace_adjoint",
    ),
    Primitive(
        "diag_adjoint",
        ("g", "v"),
        (("k", 0),),
        nondiff=frozenset({"v"}),
        helper="_diag_adjoint",
    ),
    Primitive(
        "fill_adjoint",
        ("g", "y", "fill"),
        nondiff=frozenset({"y", "fill"}),
        helper="_fill_adjoint",
    ),
    *(
        Primitive(
            f"{name}_adjoint",
            ("g", "arrays"),
            (("part", 0),),
            nondiff=frozenset({"arrays"}),
            helper=f"_{name}_adjoint",
            variadic=True,
        )
        for name in ("hstack", "vstack")
    ),
]

PRIMITIVES: dict[str, Primitive] = {p.name: p for p in _ALL}

#: The name of each runtime helper (copied into generated modules) -> its primitive,
#: so that generated code read back by s2s calls primitives, not user functions.
HELPERS: dict[str, str] = {p.helper: p.name for p in _ALL if p.helper}


def operand_names(prim: Primitive, count: int) -> list[str]:
    """The operand name of each of `count` arguments of an op of `prim` (the last
    name repeats for a variadic primitive's extra arguments)."""
    names = list(prim.operands)
    if count > len(names) and prim.variadic:
        names += [names[-1]] * (count - len(names))
    return names[:count]


def differentiable_operands(prim: Primitive, args: tuple) -> list[Any]:
    """The arguments of an op that may receive a derivative (not in `nondiff`)."""
    return [
        a for a, n in zip(args, operand_names(prim, len(args))) if n not in prim.nondiff
    ]


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
        "around": "round",
        "greater": "gt",
        "greater_equal": "ge",
        "less": "lt",
        "less_equal": "le",
        "equal": "eq",
        "not_equal": "ne",
        "bitwise_and": "and",
        "bitwise_or": "or",
        "invert": "invert",
        "bitwise_not": "invert",
    }
)
#: The numpy ufunc each operator primitive is, for calls spelled that way.
NUMPY_UFUNCS: dict[str, str] = {
    **{p: p for p in ("add", "matmul")},
    "sub": "subtract",
    "mul": "multiply",
    "div": "divide",
    "pow": "power",
    "neg": "negative",
    "floordiv": "floor_divide",
    "mod": "remainder",
    "lt": "less",
    "le": "less_equal",
    "gt": "greater",
    "ge": "greater_equal",
    "eq": "equal",
    "ne": "not_equal",
    "and": "bitwise_and",
    "or": "bitwise_or",
    "invert": "invert",
}

MATH_FUNCTIONS: dict[str, str] = {p.math: p.name for p in _ALL if p.math}
MATH_FUNCTIONS["pow"] = "pow"

#: Array methods with the same operands and parameters as the numpy function.
METHODS: dict[str, str] = {
    name: name
    for name in (
        *("sum", "mean", "prod", "max", "min", "var", "std", "cumsum", "trace"),
        *("dot", "clip", "ravel", "squeeze", "argmax", "argmin", "round"),
        *("all", "any"),
    )
}
METHODS["flatten"] = "ravel"  # a copy rather than a view: the same value

#: Python built-ins, written back as the built-in.
BUILTINS: dict[str, str] = {
    "abs": "abs",
    "max": "maximum",
    "min": "minimum",
    "len": "len",
    "float": "float",
    "int": "int",
    "round": "builtin_round",
}

#: Dotted path of each function s2s knows -> (primitive, library it is written with).
#: Custom rules (:mod:`s2s.custom`) add theirs.
FUNCTION_PATHS: dict[str, tuple[str, str]] = {
    **{f"numpy.{name}": (prim, "np") for name, prim in NUMPY_FUNCTIONS.items()},
    **{f"math.{name}": (prim, "math") for name, prim in MATH_FUNCTIONS.items()},
}

_BUILTIN_PATHS = dict(FUNCTION_PATHS)

#: id(function object) -> (the object, primitive, library), for custom rules.
_CUSTOM_OBJECTS: dict[int, tuple[Any, str, str]] = {}


def loaded_object(path: str) -> Any:
    """The object at a dotted path, reached through modules already imported (none is
    imported here: reading a file must not run code), or None."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is not None:
            value = module
            for attr in parts[cut:]:
                value = getattr(value, attr, None)
            return value
    return None


def add_function(obj: Any, path: str, prim: str) -> None:
    """Make `obj`, also spelled `path`, call primitive `prim` (a custom rule's)."""
    FUNCTION_PATHS[path] = (prim, "np")
    _CUSTOM_OBJECTS[id(obj)] = (obj, prim, "np")


def remove_function(obj: Any, prim: str) -> None:
    """Undo :func:`add_function`."""
    _CUSTOM_OBJECTS.pop(id(obj), None)
    for path in [p for p, (name, _) in FUNCTION_PATHS.items() if name == prim]:
        del FUNCTION_PATHS[path]


@functools.lru_cache(maxsize=None)
def _builtin_objects() -> dict[int, tuple[Any, str, str]]:
    found = {}
    for path, (prim, lib) in _BUILTIN_PATHS.items():
        obj = loaded_object(path)
        if obj is not None:
            found.setdefault(id(obj), (obj, prim, lib))
    return found


def lookup_object(obj: Any) -> tuple[str, str] | None:
    """(primitive, library) of a function object s2s knows, by identity: so aliases
    such as `np.concat` or `from numpy.linalg import norm as l2` are found too."""
    for table in (_CUSTOM_OBJECTS, _builtin_objects()):
        found = table.get(id(obj))
        if found is not None and found[0] is obj:
            return found[1:]
    return None


def lookup_path(path: str) -> tuple[str, str] | None:
    """(primitive, library) of the function at a dotted path such as
    `numpy.linalg.norm` or `scipy.special.expit`, else None."""
    if path in FUNCTION_PATHS:
        return FUNCTION_PATHS[path]
    obj = loaded_object(path)
    return lookup_object(obj) if obj is not None else None


#: Module attributes that are constants, inlined into the generated code.
NUMPY_CONSTANTS = ("pi", "e", "inf", "nan", "newaxis")
MATH_CONSTANTS = ("pi", "e", "inf", "nan", "tau")


# --- binding a call's arguments ---------------------------------------------------------


class ArgumentError(Exception):
    """A call's arguments do not fit the primitive: `culprit` is the offending
    argument (None: the call as a whole)."""

    def __init__(self, message: str, hint: str, culprit: Any = None):
        super().__init__(message)
        self.message, self.hint, self.culprit = message, hint, culprit


def bind(
    prim: Primitive,
    spelled: str,
    positional: list[Any],
    keywords: list[tuple[str | None, Any]],
    items: Callable[[Any], list[Any] | None],
) -> tuple[list[Any], dict[str, Any]]:
    """Match a call's arguments to `prim`: its operands, in order, and its static
    parameters by name (the values are whatever the caller passed: AST nodes while
    linearizing, Syms in a rule).  `items(x)` lists the elements of a list or tuple
    display, or gives None.  Raises :class:`ArgumentError`."""
    fixed = list(prim.operands[:-1] if prim.variadic else prim.operands)
    rest_name = prim.operands[-1] if prim.variadic else None
    statics = [n for n in prim.static_names if n not in prim.internal]
    after = [n for n in statics if n not in prim.leading]
    spread = prim.variadic and not prim.sequence  # extra positionals are operands
    if spread:
        slots = [*prim.leading, *fixed]
        limit = len(positional)
    else:
        slots = [*prim.leading, *prim.operands, *after]
        limit = min(len(slots), prim.max_positional or len(slots))
    if len(positional) > limit:
        raise ArgumentError(
            f"{spelled}() got {len(positional)} positional arguments; s2s's rule takes "
            f"at most {limit} ({', '.join(slots[:limit])})",
            "Pass the others by keyword; supported: "
            f"{', '.join(dict.fromkeys([*prim.operands, *statics]))}.",
        )
    named: dict[str, Any] = {}
    extra: list[Any] = []
    for i, arg in enumerate(positional):
        if i < len(slots):
            named[slots[i]] = arg
        else:
            extra.append(arg)
    allowed = [*prim.operands, *statics]
    for key, value in keywords:
        if key is None or key not in allowed or (key == rest_name and spread):
            raise ArgumentError(
                f"{spelled}() keyword '{key}' is not handled by s2s's rule for "
                f"{prim.name}",
                f"Supported arguments: {', '.join(allowed)}.",
                value,
            )
        if key in named:
            raise ArgumentError(
                f"{spelled}() got '{key}' twice", "Pass each argument once.", value
            )
        named[key] = value
    operands = []
    required = len(fixed) - (prim.optional if not prim.variadic else 0)
    for k, name in enumerate(fixed):
        if name in named:
            if k >= required and len(operands) < k:
                raise ArgumentError(
                    f"{spelled}() got '{name}' without the arguments before it",
                    f"Pass {', '.join(fixed[:k])} too.",
                )
            operands.append(named[name])
        elif k < required:
            raise ArgumentError(
                f"{spelled}() is missing the argument '{name}'",
                f"It takes: {', '.join(slots + after)}.",
            )
    if prim.sequence:
        if rest_name not in named:
            raise ArgumentError(
                f"{spelled}() is missing the arrays to join",
                f"Pass them as a list: {spelled}([a, b]).",
            )
        elements = items(named[rest_name])
        if elements is None:
            raise ArgumentError(
                f"{spelled}() needs the arrays written out as a list or tuple",
                f"Write {spelled}([a, b, ...]) with the arrays named in the call.",
                named[rest_name],
            )
        operands.extend(elements)
    elif prim.variadic:
        operands.extend(extra)
    static = {n: named[n] for n in statics if n in named}
    return operands, static


def import_roots() -> set[str]:
    """Names that generated modules import custom functions through (`scipy`)."""
    return {p.python.split(".")[0] for p in PRIMITIVES.values() if p.python}
