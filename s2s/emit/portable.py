"""The array_api backend: a generated module rewritten against the array API standard.

The gradient is the numpy backend's, statement for statement; what changes is whose
functions it calls.  Each function opens with `xp = _namespace(<its parameters>)`,
the namespace of its array arguments (array-api-compat's `array_namespace`: torch,
CuPy, JAX, array_api_strict, numpy; numpy's when every argument is a Python number),
and every `np.f(...)` becomes the standard's spelling of the same primitive, which
its record holds (`Primitive.array_api`): `xp.asin(x)` for np.arcsin, `xp.sum(x,
axis=1)` for `x.sum(axis=1)`, `xp.zeros(shape, dtype=xp.float64, device=device)`
for np.zeros (on the device of the arguments), a tuple of slices for `np.s_[...]`.
The helpers come from :mod:`s2s.runtime.portable` (those that call the standard
take `xp` first).  An op with no portable spelling is refused before any of this,
naming its line (:func:`check_portable`).
"""

from __future__ import annotations

import ast
import functools

from .. import runtime
from ..errors import InternalError, NotPortableError
from ..ir import Op, walk
from ..primitives import PRIMITIVES, Primitive
from .spelling import attr, parameter_names
from .spelling import name as _name

#: What the emitter itself writes with numpy besides primitives: a 0-d view of a
#: constant, and constants.
_NUMPY_NAMES = {"asarray": "asarray"}
_CONSTANTS = ("nan", "inf", "pi", "e")
#: numpy's keywords the standard spells otherwise.
_KEYWORDS = {"ddof": "correction"}
#: The standard's real dtypes (np.float32 is xp.float32).
_DTYPES = frozenset(
    f"{kind}{bits}" for kind in ("float", "int", "uint") for bits in (8, 16, 32, 64)
) | {"bool"}


@functools.lru_cache(maxsize=None)
def own_names() -> frozenset[str]:
    """The names the backend's code binds in every function, and its helpers':
    user values are named otherwise."""
    names = {"xp", "device", "array_namespace"}
    return frozenset(names | set(runtime.portable_definitions()))


def check_portable(functions) -> None:
    """Refuse (naming the line) an op the array API standard cannot write, and a
    parameter named as the backend's own values (`xp`)."""
    for function in functions:
        for param in function.spec.params:
            if param.name in own_names():
                raise NotPortableError(
                    f"the array_api backend names the arguments' namespace "
                    f"{param.name!r}, which is also a parameter's name",
                    hint=f"Rename the parameter {param.name!r}, or use the numpy "
                    "backend.",
                )

        for op in walk(function.body):
            if isinstance(op, Op) and not _portable(op):
                prim = PRIMITIVES[op.prim]
                what = prim.python or (
                    f"np.{prim.numpy or prim.ufunc}"
                    if prim.numpy or prim.ufunc
                    else f"s2s's {prim.helper}"
                )
                raise NotPortableError(
                    f"{what} has no spelling in the array API standard, so the "
                    "array_api backend cannot write it",
                    op.loc,
                    hint="Write it with the standard's functions (np.exp, np.sum, "
                    "np.where, np.maximum, @, ...), or use the numpy backend "
                    "(leave out backend=).",
                )


def _portable(op: Op) -> bool:
    prim = PRIMITIVES[op.prim]
    lib = op.params.get("lib")
    if prim.array_api is not None or lib in ("math", "builtin"):
        return True
    if prim.operator is not None:
        return lib != "np"  # np.add(x, y) is spelled by its ufunc's array_api
    return prim.numpy is None and prim.helper is None and prim.python is None


@functools.lru_cache(maxsize=None)
def _by_numpy_name() -> dict[str, Primitive]:
    """The records by the numpy name the numpy backend writes (`linalg.norm`)."""
    found: dict[str, Primitive] = {}
    for prim in PRIMITIVES.values():
        for numpy_name in (prim.numpy, prim.ufunc):
            if numpy_name and prim.array_api is not None:
                found.setdefault(numpy_name, prim)
    return found


@functools.lru_cache(maxsize=None)
def _by_builtin() -> dict[str, Primitive]:
    """The records of Python's built-ins the standard's arrays lack (`len`)."""
    return {
        prim.builtin: prim
        for prim in PRIMITIVES.values()
        if prim.builtin and prim.numpy is None and prim.array_api is not None
    }


def _takes_namespace(helper: str) -> bool:
    definition = runtime.portable_definitions().get(helper)
    return bool(definition and definition.args.args[:1]) and (
        definition.args.args[0].arg == "xp"
    )


def _numpy_path(node: ast.expr) -> str | None:
    """ "linalg.norm" for `np.linalg.norm`; None for anything not read from np."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id == "np" and parts:
        return ".".join(reversed(parts))
    return None


def _not_portable(what: str) -> NotPortableError:
    return NotPortableError(
        f"{what} has no spelling in the array API standard, so the array_api "
        "backend cannot write it",
        hint="Use the numpy backend (leave out backend=).",
    )


class _Portable(ast.NodeTransformer):
    """One generated function's numpy calls, spelled against `xp`."""

    def __init__(self) -> None:
        self.device = False  # whether it creates arrays (on the arguments' device)

    def visit_Call(self, node: ast.Call) -> ast.expr:
        func = node.func
        path = _numpy_path(func)
        if path is None:
            func = node.func = self.visit(func)
        node.args = [self.visit(a) for a in node.args]
        for k in node.keywords:
            k.value = self.visit(k.value)
        keywords = [
            ast.keyword(_KEYWORDS.get(k.arg, k.arg), k.value) for k in node.keywords
        ]
        if path is not None:
            return self._numpy_call(path, node.args, keywords)
        if isinstance(func, ast.Attribute):  # x.sum(axis=1): the array's method
            prim = _by_numpy_name().get(func.attr)
            if prim is not None and prim.array_method:
                return self._call(prim, [func.value, *node.args], keywords)
        if isinstance(func, ast.Name) and func.id in _by_builtin():  # len(x)
            return self._call(_by_builtin()[func.id], node.args, keywords)
        if isinstance(func, ast.Name) and _takes_namespace(func.id):
            return ast.Call(func, [_name("xp"), *node.args], keywords)
        return ast.Call(func, node.args, keywords)

    def _numpy_call(self, path: str, args, keywords) -> ast.expr:
        if path in _NUMPY_NAMES:
            return ast.Call(attr("xp", _NUMPY_NAMES[path]), args, keywords)
        prim = _by_numpy_name().get(path)
        if prim is None:
            raise _not_portable(f"np.{path}")
        if prim.shaped_by is not None and prim.helper is None:  # np.zeros(shape)
            self.device = True
            given = {k.arg for k in keywords}
            if "dtype" not in given:
                keywords.append(ast.keyword("dtype", attr("xp", "float64")))
            keywords.append(ast.keyword("device", _name("device")))
        return self._call(prim, args, keywords)

    def _call(self, prim: Primitive, args, keywords) -> ast.expr:
        spelled = prim.array_api
        if spelled.startswith("_"):
            first = [_name("xp")] if _takes_namespace(spelled) else []
            return ast.Call(_name(spelled), [*first, *args], keywords)
        return ast.Call(attr("xp", *spelled.split(".")), list(args), keywords)

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        """Arithmetic on a condition (`g * (x > 0)`) with the condition cast to
        floats: the standard does no arithmetic on bools."""
        self.generic_visit(node)
        if isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            node.left, node.right = _as_number(node.left), _as_number(node.right)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
        self.generic_visit(node)
        path = _numpy_path(node)
        if path is None:
            return node
        if path in _CONSTANTS or path in _DTYPES:
            return attr("xp", path)
        if path == "newaxis":
            return ast.Constant(None)
        raise _not_portable(f"np.{path}")

    def visit_Subscript(self, node: ast.Subscript) -> ast.expr:
        if _numpy_path(node.value) != "s_":
            self.generic_visit(node)
            return node
        index = self.visit(node.slice)
        if isinstance(index, ast.Tuple):
            return ast.Tuple([_as_value(part) for part in index.elts], ast.Load())
        return _as_value(index)


def _is_condition(node: ast.expr) -> bool:
    if isinstance(node, ast.Compare):
        return True
    return isinstance(node, ast.BinOp) and (
        isinstance(node.op, (ast.BitAnd, ast.BitOr))
        and _is_condition(node.left)
        and _is_condition(node.right)
    )


def _as_number(node: ast.expr) -> ast.expr:
    if not _is_condition(node):
        return node
    return ast.Call(attr("xp", "astype"), [node, attr("xp", "float64")], [])


def _as_value(part: ast.expr) -> ast.expr:
    """A part of an index as a value: `slice(a, b)` for `a:b`, `slice(None)` for
    `:`."""
    if not isinstance(part, ast.Slice):
        return part
    bounds = [part.lower, part.upper, part.step]
    if all(b is None for b in bounds):
        return ast.Call(_name("slice"), [ast.Constant(None)], [])
    if bounds[2] is None:
        bounds.pop()
    none = ast.Constant(None)
    return ast.Call(_name("slice"), [b if b is not None else none for b in bounds], [])


def _called(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _helpers(functions: list[ast.FunctionDef]) -> list[ast.FunctionDef]:
    """The helpers the functions call, and those these call: the portable version of
    each, else the numpy module's own where it reads no numpy (`_module`)."""
    portable, numpy = runtime.portable_definitions(), runtime.definitions()
    choices = {**portable, **{n: d for n, d in numpy.items() if n not in portable}}
    needed = runtime.with_dependencies(
        {name for f in functions for name in _called(f)}, choices
    )
    for definition in needed:
        if "np" in _called(definition):
            raise InternalError(
                f"the array_api backend has no portable version of s2s's "
                f"{definition.name}",
                hint="This is a bug in s2s: its record says it is portable.",
            )
    return needed


def for_array_api(
    body: list[ast.stmt], functions: list[str], is_comment
) -> list[ast.stmt]:
    """The statements of a module, written against the arguments' namespace."""
    helpers = set(runtime.definitions())
    out: list[ast.stmt] = []
    imports: list[ast.stmt] = []
    for statement in body:
        if isinstance(statement, ast.FunctionDef) and statement.name in helpers:
            continue  # replaced by the portable helpers below
        if isinstance(statement, ast.Import):
            if all(a.name != "numpy" for a in statement.names):
                imports.append(statement)
            continue
        if isinstance(statement, ast.FunctionDef):
            statement = _rewritten(statement)
        out.append(statement)
    written = [s for s in out if isinstance(s, ast.FunctionDef)]
    needed = _helpers(written)
    names = {n for f in written + needed for n in _called(f)}
    if "math" in names and not any(a.name == "math" for s in imports for a in s.names):
        imports.insert(0, ast.Import([ast.alias("math", None)]))
    compat = ast.ImportFrom("array_api_compat", [ast.alias("array_namespace", None)], 0)
    return [*imports, compat, *needed, *out]


def _rewritten(function: ast.FunctionDef) -> ast.FunctionDef:
    """`function` with `xp` (and `device`, where it creates arrays) found on entry,
    and its numpy calls spelled against them."""
    portable = _Portable()
    doc, *statements = function.body
    statements = [portable.visit(s) for s in statements]
    params = [_name(p) for p in parameter_names(function)]
    found = [ast.Assign([_name("xp", True)], ast.Call(_name("_namespace"), params, []))]
    if portable.device:
        device = ast.Call(_name("_device"), list(params), [])
        found.append(ast.Assign([_name("device", True)], device))
    copy = ast.FunctionDef(
        function.name, function.args, [doc, *found, *statements], [], None
    )
    return ast.copy_location(copy, function)
