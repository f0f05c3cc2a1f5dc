"""Live functions: find the source of a function object (by indentation from
linecache, else `inspect`; dedented, decorators stripped, checked against the
function's code object in case the file changed after import), and resolve its free
names as Python would when calling it: closure, globals, builtins.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import linecache
import sys
import textwrap
import types
from typing import Any, Callable, Mapping

from ..errors import SourceUnavailableError
from .parsed import (
    Binding,
    Free,
    ParsedFunction,
    classify,
    generated_function,
    refuse_checkpointed,
)


def importable_name(f: types.FunctionType) -> str:
    """The name of the module whose globals `f` reads, if importing that name gives
    them back (as for any module, and a notebook's `__main__`); "" for a namespace
    no import reaches (code run by `exec`)."""
    name = getattr(f, "__module__", None)
    module = sys.modules.get(name) if name else None
    return name if getattr(module, "__dict__", None) is f.__globals__ else ""


def live_resolver(f: types.FunctionType) -> Callable[[str], Binding | None]:
    """Resolve names as Python would when calling `f`: closure, globals, builtins.
    Data (numbers, arrays, structures of them) is a :class:`Free` name, read again
    each time the gradient runs."""
    scope: dict[str, Any] = {}
    if f.__closure__:
        for name, cell in zip(f.__code__.co_freevars, f.__closure__):
            try:
                scope[name] = cell.cell_contents
            except (
                ValueError
            ):  # an empty cell: a name assigned later in the outer scope
                pass
    globals_: Mapping[str, Any] = f.__globals__
    builtins_ = vars(builtins)
    module = importable_name(f)
    owner = f.__qualname__.rsplit(".<locals>.", 1)[0]

    def resolve(name: str) -> Binding | None:
        for where, table in (("cell", scope), ("global", globals_)):
            if name in table:
                value = table[name]
                source = Free(where, module, name, value, owner)
                binding = classify(value)
                if binding.kind == "data":
                    return Binding("data", source)
                return Binding(binding.kind, binding.value, source)
        if name in builtins_:
            return classify(builtins_[name])
        return None

    return resolve


_SOURCE_ADVICE = (
    "s2s reads the function's source code. Define it with `def` in a .py file "
    "(or a notebook cell) and pass that function; functions made by exec or "
    "`python -c` have no source s2s can read."
)


def _parse_block(filename: str, source_lines: list[str], first: int) -> tuple:
    """Parse a function's lines (indented or not), numbered as in its file."""
    source = "".join(source_lines)
    dedented = textwrap.dedent(source)
    first_line = source_lines[0] if source_lines else ""
    shift = len(first_line) - len(first_line.lstrip()) if dedented != source else 0
    tree = ast.parse("\n" * (first - 1) + dedented)  # numbered as in the file, no walk
    return filename, source_lines, first, tree, shift


def _parse_by_indentation(code: types.CodeType) -> tuple | None:
    """The function's block found by indentation, without tokenizing (what makes
    `inspect.getsource` slow on the import path): from its first line (a decorator's)
    to the first line indented no deeper than that one after the `def` line.  A cut
    inside a bracket, string or continuation cannot parse, so None (use inspect) when
    the block does not parse or is not one function."""
    lines = linecache.getlines(code.co_filename)
    first = code.co_firstlineno
    if not lines or first > len(lines):
        return None
    indent = _indentation(lines[first - 1])
    end = first - 1
    while end < len(lines) and not lines[end].lstrip().startswith(("def ", "async ")):
        end += 1
    end = last = end + 1
    while end < len(lines):
        text = lines[end].strip()
        if text and not text.startswith("#"):
            if _indentation(lines[end]) <= indent:
                break
            last = end + 1
        end += 1
    try:
        parsed = _parse_block(code.co_filename, lines[first - 1 : last], first)
    except SyntaxError:
        return None
    body = parsed[3].body
    return parsed if len(body) == 1 and isinstance(body[0], ast.FunctionDef) else None


def _parse_lambda(code: types.CodeType) -> tuple | None:
    """A lambda's source, as the `def` it stands for (named `<lambda>`): the one
    lambda of its first line whose span holds the code's positions."""
    lines = linecache.getlines(code.co_filename)
    first = code.co_firstlineno
    if not lines or first > len(lines):
        return None
    try:
        tree = ast.parse("".join(lines))
    except (SyntaxError, ValueError):
        return None
    # Where the instructions come from (a lambda's own, not the empty span of its
    # first instruction); each lies within the lambda's source.
    spans = [
        (line, column, end_line, end_column)
        for line, end_line, column, end_column in code.co_positions()
        if None not in (line, end_line, column, end_column)
        and (end_line, end_column) > (line, column)
    ]
    params = list(code.co_varnames[: code.co_argcount])
    found = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Lambda)
        and n.lineno == first
        and [a.arg for a in n.args.posonlyargs + n.args.args] == params
        and all(
            (n.lineno, n.col_offset) <= (a, b)
            and (c, d) <= (n.end_lineno, n.end_col_offset)
            for a, b, c, d in spans
        )
    ]
    if len(found) != 1:
        return None
    definition = lambda_as_def(found[0], _lambda_name(tree, found[0]))
    module = ast.Module([definition], type_ignores=[])
    return code.co_filename, lines, 1, module, 0


def lambda_as_def(node: ast.Lambda, name: str) -> ast.FunctionDef:
    """The `def` a lambda stands for (`def name(args): return body`), at its place."""
    body = [ast.copy_location(ast.Return(node.body), node.body)]
    definition = ast.FunctionDef(
        name=name,
        args=node.args,
        body=body,
        decorator_list=[],
        returns=None,
        type_params=[],
    )
    return ast.copy_location(definition, node)


def lambda_name(node: ast.Lambda, assigned: str | None = None) -> str:
    """What a lambda is called in generated code and messages: the name it is
    assigned to, else `lambda_` and its line."""
    return assigned or f"lambda_{node.lineno}"


def _lambda_name(tree: ast.Module, node: ast.Lambda) -> str:
    for parent in ast.walk(tree):
        if (
            isinstance(parent, ast.Assign)
            and parent.value is node
            and len(parent.targets) == 1
            and isinstance(parent.targets[0], ast.Name)
        ):
            return lambda_name(node, parent.targets[0].id)
    return lambda_name(node)


def _indentation(line: str) -> int:
    return len(line) - len(line.lstrip())


def parse_function(f: Any) -> ParsedFunction:
    """Parse a live Python function into a :class:`ParsedFunction`."""
    f = inspect.unwrap(f, stop=lambda g: generated_function(g) is not None)
    if generated_function(f) is not None:  # a gradient: differentiate its code
        f = generated_function(f)
        refuse_checkpointed(f)
    if not isinstance(f, types.FunctionType):
        raise SourceUnavailableError(
            f"s2s can differentiate Python functions only, not {type(f).__name__} {f!r}",
            hint="Pass a function defined with `def`.",
        )
    code = f.__code__
    parsed = _parse_lambda(code) if code.co_name == "<lambda>" else None
    if parsed is None and code.co_name == "<lambda>":
        raise SourceUnavailableError(
            f"cannot find the source of the lambda of {code.co_filename}, line "
            f"{code.co_firstlineno}",
            hint=_SOURCE_ADVICE,
        )
    parsed = parsed or _parse_by_indentation(code)
    if parsed is None:
        try:
            filename = inspect.getsourcefile(f) or code.co_filename
            source_lines, first = inspect.getsourcelines(f)
        except (OSError, TypeError) as e:
            raise SourceUnavailableError(
                f"cannot find the source of {f.__qualname__} ({code.co_filename}): {e}",
                hint=_SOURCE_ADVICE,
            ) from None
        try:
            parsed = _parse_block(filename, source_lines, first)
        except SyntaxError as e:
            raise SourceUnavailableError(
                f"the source of {f.__qualname__} in {filename} does not parse: {e.msg}",
                hint=_SOURCE_ADVICE,
            ) from None
    filename, source_lines, first, tree, shift = parsed
    node = next((n for n in tree.body if isinstance(n, ast.FunctionDef)), None)
    params = list(code.co_varnames[: code.co_argcount])
    if (
        node is None
        or node.name != code.co_name
        and code.co_name != "<lambda>"
        or [a.arg for a in node.args.posonlyargs + node.args.args] != params
    ):
        raise SourceUnavailableError(
            f"the source of {f.__qualname__} in {filename} does not match the loaded "
            f"function (was the file edited after it was imported?)",
            hint="Reload the module (or restart the interpreter) and try again.",
        )
    node.decorator_list = []
    lines = linecache.getlines(filename) or [""] * (first - 1) + source_lines
    return ParsedFunction(
        node=node,
        filename=filename,
        lines=lines,
        resolve=live_resolver(f),
        col_shift=shift,
        defaults=tuple(f.__defaults__ or ())
        + tuple(
            f.__kwdefaults__[a.arg]
            for a in node.args.kwonlyargs
            if a.arg in (f.__kwdefaults__ or {})
        ),
        origin=f,
    )


def free_sources(f: Callable) -> dict[str, tuple[str, Any]]:
    """Where the free names of `f` live, by name: its closure variables (a cell, read
    `.cell_contents`) and its globals (its module's dictionary, read by name); for a
    gradient s2s made, what it passes its own code."""
    inner = getattr(f, "_passed", None)
    if inner is not None:
        return inner
    code, cells = getattr(f, "__code__", None), getattr(f, "__closure__", None) or ()
    found: dict[str, tuple[str, Any]] = {}
    for name, cell in zip(code.co_freevars if code else (), cells):
        found[name] = (".cell_contents", cell)
    for name in _global_names(code) if code else ():
        if name not in found:
            found[name] = ("[" + repr(name) + "]", f.__globals__)
    return found


def functions_read(f: Callable) -> list[tuple[str, Any, Any]]:
    """The functions `f` calls through its free names, and those they call, each as
    (how to read it from its holder, the holder, the function now): s2s inlined
    them, so a gradient checks at each call that each name still holds the same
    function (a notebook cell run again defines a new one)."""
    while hasattr(f, "_target"):  # a gradient: the user's function inside it
        f = f._target
    found, seen, pending = [], set(), [f] if hasattr(f, "__code__") else []
    while pending:
        function = pending.pop()
        for name, (access, holder) in free_sources(function).items():
            value = _read(holder, access, name)
            for value, access, holder in _through_modules(
                value, access, holder, function
            ):
                binding = classify(value) if value is not None else None
                if binding is None or binding.kind not in ("function", "primitive"):
                    continue
                found.append((access, holder, value))
                if id(value) not in seen and isinstance(value, types.FunctionType):
                    seen.add(id(value))
                    pending.append(value)
    return found


#: Modules whose functions are not the user's (s2s knows some as primitives).
_LIBRARIES = frozenset({"numpy", "math", "scipy", "builtins"})


def _read(holder: Any, access: str, name: str) -> Any:
    if access == ".cell_contents":
        try:
            return holder.cell_contents
        except ValueError:  # an empty cell
            return None
    return holder.get(name)


def _through_modules(value: Any, access: str, holder: Any, reader: Callable):
    """`value` as read through a name, or for a module, its functions whose names
    the reader's code mentions (`mylib.act(z)`), each with how it is read."""
    if not isinstance(value, types.ModuleType):
        yield value, access, holder
        return
    if value.__name__.split(".")[0] in _LIBRARIES:
        return  # their functions are s2s's primitives, not the user's
    for name in _global_names(reader.__code__):
        found = vars(value).get(name)
        if isinstance(found, types.FunctionType):
            yield found, "[" + repr(name) + "]", vars(value)


def _global_names(code: types.CodeType) -> list[str]:
    """The global (and attribute) names a code object and the functions defined in
    it mention."""
    names = list(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names += _global_names(const)
    return list(dict.fromkeys(names))
