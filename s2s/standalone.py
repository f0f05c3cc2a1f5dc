"""One function of a file, made callable without running the file.

`s2s check` takes central differences of the user's own function, but the command line
never imports the user's module (its top level may have side effects).  The function
is rebuilt from its definition alone: a module holding its `def` and the `def`s of the
helpers it calls (decorators and annotations dropped, defaults checked to be
constants), run in a namespace holding only what the file's names resolve to when it
is read statically — numpy and math under their aliases, and module data whose
value the text gives (a global computed by running code is refused).  The
generator has already accepted the function, so its body is in the subset s2s reads.
"""

from __future__ import annotations

import ast
import copy
import linecache
import math
import types
from typing import Any

import numpy

from . import runtime
from .errors import S2SError
from .fingerprint import callee
from .frontend import (
    UNKNOWN,
    Free,
    ParsedFunction,
    StaticGradient,
    parse_file,
    read_module,
)
from .frontend.static import module_reads
from .pipeline import gradient_code
from .primitives import PRIMITIVES, loaded_object

_MODULES = {"numpy": numpy, "math": math}


def function_from_file(path: str, name: str) -> types.FunctionType:
    """The function `name` of the file at `path` (standard input for `-`), defined
    without running the file."""
    parsed = parse_file(path, name)
    _, module = read_module(path)
    imported = _imported_functions(module)
    namespace: dict = {
        "__name__": f"s2s_standalone_{name}",
        "__file__": parsed.filename,
    }
    definitions: dict[str, ast.FunctionDef] = {}
    pending = [parsed]
    while pending:
        function = pending.pop()
        if function.name in definitions:
            continue
        definitions[function.name] = _bare(function)
        for free in {name.id for name, _ in module_reads(function.node)}:
            binding = function.resolve(free)
            if binding is None or binding.kind in ("builtin", "unsupported"):
                continue
            if isinstance(binding.value, StaticGradient):
                namespace[free] = _generated(gradient_code(binding.value))
            elif binding.kind == "function":
                pending.append(_helper(binding.value, function))
            elif binding.kind == "primitive" and PRIMITIVES[binding.value[0]].helper:
                # A helper of generated code (a gradient the file binds to a name).
                namespace[free] = getattr(runtime, PRIMITIVES[binding.value[0]].helper)
            elif binding.kind == "primitive" and PRIMITIVES[binding.value[0]].python:
                # A function with a custom rule, from a module the rules imported.
                namespace[free] = loaded_object(PRIMITIVES[binding.value[0]].python)
            elif binding.kind == "module" and loaded_object(binding.value) is not None:
                namespace[free] = loaded_object(binding.value)
            elif binding.kind in _MODULES:
                namespace[free] = _MODULES[binding.kind]
            elif binding.kind == "const":
                namespace[free] = binding.value
            elif binding.kind == "data":
                namespace[free] = _known(binding.value, function)
            elif free in imported:
                namespace[free] = imported[free]
    tree = ast.Module(list(definitions.values()), type_ignores=[])
    # The lines as read (standard input has no file to read them again from), for
    # tracebacks and for s2s to read the function's source back.
    lines = parsed.lines
    size = sum(map(len, lines))
    linecache.cache[parsed.filename] = (size, None, lines, parsed.filename)
    exec(compile(ast.fix_missing_locations(tree), parsed.filename, "exec"), namespace)
    return namespace[name]


def _known(free: Free, reader: ParsedFunction) -> Any:
    """The value of a module global as the file's text gives it."""
    if free.value is UNKNOWN:
        raise S2SError(
            f"{reader.filename}: {reader.name} reads {free.describe()}, whose value "
            "only running the file would tell, and `s2s check` reads files without "
            "running them",
            hint="Check the gradient in Python instead: s2s.testing.check_grad(f, "
            "*args) after importing your module.",
        )
    return free.value


def _generated(parsed: ParsedFunction) -> types.FunctionType:
    """A gradient the file binds to a name: its generated module, run on its own (it
    needs only numpy), from the text held in memory."""
    namespace: dict = {"__name__": f"s2s_standalone_{parsed.name}"}
    exec(compile("".join(parsed.lines), parsed.filename, "exec"), namespace)
    return namespace[parsed.name]


def _helper(target: Any, caller: ParsedFunction) -> ParsedFunction:
    try:
        return callee(target, caller)
    except ValueError:
        raise S2SError(
            f"{caller.filename}:{target.lineno}: the defaults of {target.name}() are "
            f"not constants",
            hint="Use numbers (or None) as defaults.",
        ) from None


def _bare(function: ParsedFunction) -> ast.FunctionDef:
    """A copy of the definition that runs nothing when defined: no decorators, no
    annotations, and its defaults replaced by their values (`w=2 * np.pi` needs no
    numpy to define)."""
    node = copy.deepcopy(function.node)
    node.decorator_list = []
    node.returns = None
    args = node.args
    args.defaults = [ast.Constant(value) for value in function.defaults]
    for arg in args.posonlyargs + args.args + args.kwonlyargs:
        arg.annotation = None
    return node


def _imported_functions(module: ast.Module) -> dict[str, object]:
    """`from numpy import exp as e` -> {"e": numpy.exp}, for numpy and math."""
    found = {}
    for node in module.body:
        if isinstance(node, ast.ImportFrom) and node.module in _MODULES:
            for alias in node.names:
                value = getattr(_MODULES[node.module], alias.name, None)
                if value is not None:
                    found[alias.asname or alias.name] = value
    return found
