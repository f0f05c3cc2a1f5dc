"""How a gradient is called: for each gradient, a function written with the
parameters of the user's function (`f_grad(w, b, x=1.0)`), so that Python binds the
arguments and reports a wrong call as for `f`, and a call costs little.  It makes the
differentiated arguments reals, picks the compiled code for their shapes, passes what
the code reads from the function's closure, checks that the functions the code
inlined are still the ones their names hold, and hands failures to the gradient to
explain."""

from __future__ import annotations

import ast
import numbers
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .backends import names_stay


def as_real(x: Any) -> Any:
    """Integers are treated as reals: 3 -> 3.0, an int array -> a float array."""
    kind = type(x)
    if kind is float or kind is np.ndarray and x.dtype.kind == "f":
        return x  # the common case, first and fast
    if isinstance(x, numbers.Integral) and not isinstance(x, bool):
        return float(x)
    if isinstance(x, np.ndarray) and x.dtype.kind in "iub":
        return x.astype(np.float64)
    return x


#: Float dtypes a gradient is computed in float64 for, then returned in.
NARROW_FLOATS = frozenset(map(np.dtype, ("float16", "float32")))


class _NarrowOrForeign:
    """The dtypes of arguments whose gradients are put back in the argument's own
    dtype (and library) after the call: narrow numpy floats, and any dtype of
    another library's array (`torch.float32`: backend="array_api")."""

    def __contains__(self, dtype: Any) -> bool:
        if isinstance(dtype, np.dtype):
            return dtype in NARROW_FLOATS
        return dtype is not None


NARROW_OR_FOREIGN = _NarrowOrForeign()


def call_shim(
    gradient: Any,
    params: Sequence[str],
    defaults: Mapping[str, Any],
    positional_only: int,
    reals: Sequence[int],
    compiled: Callable | None,
    floats: Callable | None = None,
    narrowable: Sequence[str] = (),
    keywords: Sequence[tuple[str, str, Any]] = (),
    functions: Mapping[str, Any] = {},
    inlined: Sequence[tuple[str, Any, Any]] = (),
    keyword_only: int = 0,
    structured: bool = False,
    vararg: str | None = None,
    declared: Sequence[str] = (),
    narrow_dtypes: Any = NARROW_FLOATS,
):
    """`GradFunction.__call__` for one gradient, written with its own parameters and
    named after it (`f_grad`), so that Python binds the arguments (defaults,
    keywords), a wrong call is reported as for any function (`f_grad() missing 1
    required positional argument: 'X'`), and the call costs little: the arguments at
    `reals` become reals if they are integers, then the compiled code runs (the code
    for the arguments' shapes, unless `compiled` is the code for any shapes).

    Python floats, the common case of scalar code, are tested first: none is a
    structure, an integer or a narrow float, so once `floats`, the code for
    floats, is known, a call with floats only tests their types and runs it: its
    statements, inlined into the shim, where tracebacks show them at their lines
    of the generated module (unless that module's names may change: see
    :func:`s2s.backends.names_stay`).  Until then, the first call with floats hands the code it ran to the
    gradient's `_floats_known`, which writes the shim again with it.

    When an argument of the `narrowable` parameters holds floats narrower than
    float64, the gradients are returned in the float dtypes of their arguments.
    When `structured`, a call with a structure (a dict, list or tuple) for any
    parameter runs the gradient's code for structures; `vararg` names the
    parameter written `*xs` (a tuple: always a structure), and `declared` those
    the signature declares structures (whatever they are given)."""
    name = gradient.__name__
    signature = []
    for k, param in enumerate(params):
        if param == vararg:  # *xs, passed on as the tuple it is
            signature.append("*" + param)
            continue
        if keyword_only and k == len(params) - keyword_only and vararg is None:
            signature.append("*")
        signature.append(
            f"{param}=_s2s_defaults[{param!r}]" if param in defaults else param
        )
        if positional_only and k == positional_only - 1:
            signature.append("/")
    call = ", ".join(params)
    passed = "".join(f", {k}={read}" for k, read, _ in keywords)
    lines = [f"def {name}({', '.join(signature)}):"]
    lines += [
        f"    if {p} is not _s2s_functions[{p!r}]: _s2s_self._other_function({p!r}, {p})"
        for p in functions
    ]
    lines += [  # each function inlined is still the one a name holds
        f"    if _s2s_held_{k}{access} is not _s2s_inlined_{k}:\n"
        f"        return _s2s_self._regenerated({_named(value)!r}, ({call},))"
        for k, (access, _, value) in enumerate(inlined)
    ]
    held = [p for p in params if p not in functions]
    all_floats = " and ".join(f"type({p}) is float" for p in held)
    if vararg in params or set(declared) & set(params):
        all_floats = ""  # always structures
    if all_floats and floats is not None:
        lines.append(f"    if {all_floats}:")
        lines += _attempt([f"return _s2s_floats({call}{passed})"], call, "        ")
    if structured and held:
        test = " or ".join(
            (
                "True"
                if p == vararg or p in declared
                else f"isinstance({p}, _s2s_structures)"
            )
            for p in held
        )
        lines += [
            f"    if {test}:",
            f"        return _s2s_self._structured_call(({call},))",
        ]
    lines += [
        f"    if type({params[i]}) is not float: {params[i]} = _s2s_as_real({params[i]})"
        for i in reals
    ]
    narrow = " or ".join(
        f"type({p}) is not float and getattr({p}, 'dtype', None) in _s2s_narrow"
        for p in narrowable
    )
    lines.append(f"    _s2s_narrow_args = {narrow or 'False'}")
    if compiled is None:
        lines.append(f"    _s2s_code = _s2s_self._specialized(({call},))")
    else:
        lines.append("    _s2s_code = _s2s_compiled")
    if all_floats and floats is None:  # the first call with floats
        lines.append(f"    if {all_floats}: _s2s_self._floats_known(_s2s_code)")
    lines += _attempt([f"_s2s_result = _s2s_code({call}{passed})"], call, "    ")
    lines += [
        "    if _s2s_narrow_args:",
        f"        return _s2s_self._in_argument_dtypes(_s2s_result, ({call},))",
        "    return _s2s_result",
    ]
    text = "\n".join(lines)
    inline = all_floats and floats is not None and names_stay(floats.__globals__)
    body = _body(floats, params, keywords) if inline else None
    if body is not None:
        # The code for floats runs in the shim itself (a call is a third of the
        # cost of a small scalar gradient), its lines where its module has them.
        code, namespace = _with_body(text, body, floats)
    else:
        code, namespace = compile(text, f"<s2s call of {name}>", "exec"), {}
    namespace.update(
        _s2s_self=gradient,
        _s2s_defaults=defaults,
        _s2s_as_real=as_real,
        _s2s_compiled=compiled,
        _s2s_floats=floats,
        _s2s_narrow=narrow_dtypes,
        _s2s_functions=functions,
        _s2s_structures=(dict, list, tuple),
    )
    namespace.update((f"_s2s_passed_{k}", h) for k, (_, _, h) in enumerate(keywords))
    for k, (_, holder, value) in enumerate(inlined):
        namespace[f"_s2s_held_{k}"], namespace[f"_s2s_inlined_{k}"] = holder, value
    exec(code, namespace)
    shim = namespace[name]
    shim.__qualname__ = name
    return shim


def _body(
    compiled: Callable, params: Sequence[str], keywords: Sequence[tuple[str, str, Any]]
) -> list[ast.stmt] | None:
    """The statements of `compiled`, placed where its module has them, to run in a
    shim with these parameters (its closure variables read first); None where its
    text cannot be read or its parameters are named otherwise."""
    code = getattr(compiled, "__code__", None)
    if code is None or code.co_varnames[: code.co_argcount] != tuple(params):
        return None
    import inspect  # here: `import s2s` does without it

    try:
        lines, first = inspect.getsourcelines(compiled)
        node = ast.parse("".join(lines)).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return None
    if not isinstance(node, ast.FunctionDef) or node.decorator_list:
        return None
    ast.increment_lineno(node, first - 1)
    body = node.body[1:] if ast.get_docstring(node) is not None else node.body
    reads = [ast.parse(f"{k} = {read}").body[0] for k, read, _ in keywords]
    return [*(_placed(r, node.lineno) for r in reads), *body]


def _with_body(text: str, body: list[ast.stmt], compiled: Callable) -> tuple:
    """The shim's code with `body` in place of its call of `compiled` (the code for
    floats), compiled in that code's file, and the namespace it runs in: a copy of
    that code's module."""
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and _calls_floats(node.body):
            node.body = body
            break
    line = compiled.__code__.co_firstlineno  # the rest of the shim: `def f_grad(`
    inlined = {id(n) for s in body for n in ast.walk(s)}
    for node in ast.walk(tree):
        if id(node) not in inlined:
            _placed(node, line, recurse=False)
    filename = compiled.__code__.co_filename
    return compile(tree, filename, "exec"), dict(compiled.__globals__)


def _calls_floats(statements: list[ast.stmt]) -> bool:
    """Whether statements are the shim's `return _s2s_floats(...)`."""
    return (
        len(statements) == 1
        and isinstance(statements[0], ast.Return)
        and isinstance(statements[0].value, ast.Call)
        and getattr(statements[0].value.func, "id", None) == "_s2s_floats"
    )


def _placed(node: ast.AST, line: int, recurse: bool = True) -> ast.AST:
    """`node` (and, with `recurse`, what it holds) set at the start of `line`."""
    for n in ast.walk(node) if recurse else (node,):
        if hasattr(n, "lineno"):
            n.lineno = n.end_lineno = line
            n.col_offset = n.end_col_offset = 0
    return node


def _attempt(statements: list[str], call: str, indent: str) -> list[str]:
    """Lines running `statements` (a call of the compiled code, or its body), which
    hand a failure to the gradient: code generated again for a changed free value,
    or the failure explained (then raised again, as it was raised)."""
    return [
        f"{indent}try:",
        *(f"{indent}    {statement}" for statement in statements),
        f"{indent}except Exception as _s2s_error:",
        f"{indent}    if hasattr(_s2s_error, 's2s_stale'):",
        f"{indent}        return _s2s_self._regenerated(_s2s_error.s2s_stale, ({call},))",
        f"{indent}    _s2s_self._raise_failure(_s2s_error, ({call},))",
        f"{indent}    raise",
    ]


def _named(function: Any) -> str:
    return f"the function {getattr(function, '__qualname__', function)!s}"
