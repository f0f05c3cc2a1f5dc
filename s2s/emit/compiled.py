"""The numba backend: a generated module rewritten for numba to compile.

Each function `F` of the module whose loops carry numbers only (see
:func:`loops_on_numbers`) becomes two.  `F` stays plain Python, with `F`'s
signature: it checks its arguments and reads the data of the user's modules (work
numba cannot compile), then calls `F_compiled`, the rest of `F`'s body unchanged
under `@numba.njit(cache=True)`, with the parameters and the data it read.  The
helpers `F_compiled` calls are compiled too.  Two spellings change, as numba
compiles ranges but neither `reversed` nor a slice of one: `reversed(steps)` is
written `_reversed_range(steps)` and `steps[:n]` `_range_head(steps, n)`.

What numba cannot compile is found when the compiled function is first called with
new argument types (see :mod:`s2s.backends`).
"""

from __future__ import annotations

import ast

from .. import runtime
from ..ir import FunctionSpec, Loop, Stmt, walk
from ..shapes.classes import shared_classes
from ..shapes.inference import ShapeInference
from .spelling import parameter_names

#: The helpers that find values at run time: called by the Python wrapper only.
_READERS = ("_module", "_closure_variable", "_global_variable")

#: The decorator of every compiled function.
_NJIT = ast.Call(
    ast.Attribute(ast.Name("numba", ast.Load()), "njit", ast.Load()),
    [],
    [ast.keyword("cache", ast.Constant(True))],
)


def for_numba(body: list[ast.stmt], functions: list[str], is_comment) -> list[ast.stmt]:
    """The statements of a module, with each function of `functions` split into a
    Python wrapper and a compiled body, and the helpers the compiled bodies call
    compiled."""
    looping = [s for s in body if _named(s, set(functions))]
    if not looping:
        return body
    out: list[ast.stmt] = []
    kernels = []
    for statement in body:
        if statement in looping:
            wrapper, kernel = _split(statement, is_comment)
            kernels.append(_RangeSpelling().visit(kernel))
            out += [wrapper, kernel]
        else:
            out.append(statement)
    compiled = _compiled_helpers(kernels)
    present = {s.name for s in out if isinstance(s, ast.FunctionDef)}
    missing = [runtime.definitions()[name] for name in sorted(compiled - present)]
    first = next(k for k, s in enumerate(out) if isinstance(s, ast.FunctionDef))
    out[first:first] = missing
    numba = ast.Import([ast.alias("numba", None)])
    return [numba] + [_decorated(s) if _named(s, compiled) else s for s in out]


def loops_on_numbers(spec: FunctionSpec, stmts: list[Stmt]) -> bool:
    """Whether a function loops, carrying numbers only from one iteration to the
    next: what numba compiles to much faster code.  A loop that carries arrays
    already runs its work in numpy's compiled loops.  A checkpointed loop is not
    compiled: its iteration is a local function, which numba does not take."""
    loops = [s for s in walk(stmts) if isinstance(s, Loop)]
    if not loops or spec.checkpoint is not None:
        return False
    shapes = ShapeInference(stmts, spec.shapes or {})
    classes = shared_classes(stmts, spec)
    return all(
        shapes.shape(v) == () or classes.is_scalar(v)
        for loop in loops
        for v in loop.carried
    )


def _compiled_helpers(kernels: list[ast.FunctionDef]) -> set[str]:
    """The helpers the compiled bodies call, and those these call: all but the
    checks and readers, which stay with the wrapper."""
    called = set().union(*(_called(k, set(runtime.definitions())) for k in kernels))
    helpers = runtime.with_dependencies(called)
    return {h.name for h in helpers if not _runs_in_python_only(h.name)}


def _runs_in_python_only(helper: str) -> bool:
    return helper in _READERS or helper.startswith("_check")


def _named(statement: ast.stmt, names: set[str]) -> bool:
    return isinstance(statement, ast.FunctionDef) and statement.name in names


def _decorated(helper: ast.FunctionDef) -> ast.FunctionDef:
    copy = ast.FunctionDef(
        helper.name, helper.args, helper.body, [_NJIT], helper.returns
    )
    return ast.copy_location(copy, helper)


def _called(tree: ast.AST, names: set[str]) -> set[str]:
    return {
        n.func.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Name)
        and n.func.id in names
    }


def _split(function: ast.FunctionDef, is_comment) -> tuple[ast.FunctionDef, ...]:
    """The Python wrapper of `function` and its compiled body.  The wrapper takes
    the checks of arguments and the reads of data at the function's top level,
    with a comment whose statements it takes all."""
    doc, *statements = function.body
    read: list[str] = []  # names the wrapper binds, in order
    known = parameter_names(function)
    wrapper_body: list[ast.stmt] = [doc]
    kernel_body: list[ast.stmt] = []
    for segment in _segments(statements, is_comment):
        taken = []
        for statement in segment:
            if not is_comment(statement) and _runs_in_python(statement, known + read):
                taken.append(statement)
                if isinstance(statement, ast.Assign):
                    read += [t.id for t in statement.targets]
        if taken and len(taken) == sum(not is_comment(s) for s in segment):
            wrapper_body += segment
        else:
            wrapper_body += taken
            kernel_body += [s for s in segment if s not in taken]
    if all(map(is_comment, kernel_body)):
        kernel_body.append(ast.Pass())
    loaded = {
        n.id
        for s in kernel_body
        for n in ast.walk(s)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    passed = [n for n in known + read if n in loaded]
    passed = [n for k, n in enumerate(passed) if n not in passed[:k]]
    name = function.name + "_compiled"
    returned = _structured_return(kernel_body, passed)
    kernel = ast.FunctionDef(
        name,
        ast.arguments([], [ast.arg(n) for n in passed], None, [], [], None, []),
        [ast.Expr(ast.Constant(f"{function.name}, compiled by numba.")), *kernel_body],
        [_NJIT],
        None,
    )
    call = ast.Call(
        ast.Name(name, ast.Load()), [ast.Name(n, ast.Load()) for n in passed], []
    )
    if returned is None:
        wrapper_body.append(ast.Return(call))
    else:  # the compiled body returns the leaves, the wrapper their structure
        leaves, structure = returned
        wrapper_body += [ast.Assign([leaves], call), ast.Return(structure)]
    return ast.FunctionDef(function.name, function.args, wrapper_body, [], None), kernel


def _structured_return(
    body: list[ast.stmt], passed: list[str]
) -> tuple[ast.expr, ast.expr] | None:
    """For a body returning dicts, lists or calls (a structure of gradients, which
    numba would not give back as Python objects): the tuple of names it then
    returns instead, and the structure it returned.  None for numbers, arrays and
    tuples of them."""
    last = body[-1]
    if not isinstance(last, ast.Return) or last.value is None:
        return None
    if not any(isinstance(n, (ast.Dict, ast.List, ast.Call)) for n in ast.walk(last)):
        return None
    bound = {
        n.id
        for s in body
        for n in ast.walk(s)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    names = [
        n.id
        for n in ast.walk(last.value)
        if isinstance(n, ast.Name) and (n.id in bound or n.id in passed)
    ]
    names = [n for k, n in enumerate(names) if n not in names[:k]]
    structure = last.value
    elements = [ast.Name(n, ast.Store()) for n in names]
    last.value = ast.Tuple([ast.Name(n, ast.Load()) for n in names], ast.Load())
    return ast.Tuple(elements, ast.Store()), structure


def _segments(statements: list[ast.stmt], is_comment) -> list[list[ast.stmt]]:
    """The statements, cut before each comment that follows a statement."""
    segments: list[list[ast.stmt]] = [[]]
    for statement in statements:
        if is_comment(statement) and any(not is_comment(s) for s in segments[-1]):
            segments.append([])
        segments[-1].append(statement)
    return segments


def _runs_in_python(statement: ast.stmt, known: list[str]) -> bool:
    """Whether a statement checks the arguments or data, or reads data; `known`
    are the parameters and the data read before it."""
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        func = statement.value.func
        reads = {
            n.id
            for n in ast.walk(statement)
            if isinstance(n, ast.Name) and n is not func
        }
        checks = isinstance(func, ast.Name) and func.id.startswith("_check")
        return checks and reads <= set(known)
    if not (
        isinstance(statement, ast.Assign)
        and all(isinstance(t, ast.Name) for t in statement.targets)
    ):
        return False
    return _is_read(statement.value, known)


def _is_read(value: ast.expr, known: list[str], part: bool = False) -> bool:
    """`_module("m")`, `m.W`, `m.params["W"]`, `params["W"]`: a value found at run
    time, or a leaf of a structure (`part`: of a value read or a parameter)."""
    if isinstance(value, ast.Call):
        func = value.func
        return isinstance(func, ast.Name) and func.id in _READERS
    if isinstance(value, ast.Attribute):
        return _is_read(value.value, known, part=True)
    if isinstance(value, ast.Subscript):
        constant = isinstance(value.slice, ast.Constant)
        return constant and _is_read(value.value, known, part=True)
    return part and isinstance(value, ast.Name) and value.id in known


class _RangeSpelling(ast.NodeTransformer):
    """`reversed(r)` and `r[:n]`, `r[::-1]` of a range, in helpers numba compiles."""

    def __init__(self) -> None:
        self.ranges: set[str] = set()

    def visit_Assign(self, node: ast.Assign) -> ast.Assign:
        self.generic_visit(node)
        if self._is_range(node.value):
            self.ranges.update(t.id for t in node.targets if isinstance(t, ast.Name))
        return node

    def _is_range(self, value: ast.expr) -> bool:
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
            return value.func.id in ("range", "_reversed_range", "_range_head")
        return isinstance(value, ast.Name) and value.id in self.ranges

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        if (
            isinstance(node.func, ast.Name)
            and node.func.id == "reversed"
            and len(node.args) == 1
            and self._is_range(node.args[0])
        ):
            return _call("_reversed_range", node.args[0])
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.expr:
        self.generic_visit(node)
        part = node.slice
        if not (self._is_range(node.value) and isinstance(part, ast.Slice)):
            return node
        if part.lower is None and part.step is None and part.upper is not None:
            return _call("_range_head", node.value, part.upper)
        backwards = ast.unparse(part) == "::-1"
        return _call("_reversed_range", node.value) if backwards else node


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(ast.Name(name, ast.Load()), list(args), [])
