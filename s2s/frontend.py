"""Frontend: find a function's source, parse it, and resolve the names it uses.

For a live function the source comes from `inspect` (dedented, decorators stripped,
checked against the function's code object in case the file changed after import)
and names resolve against its globals and closure.  Names resolve to a
:class:`Binding`: the numpy or math module, a constant, a known function.  Which
constructs are allowed is decided by :mod:`s2s.linearize`, which rejects anything it
has no rule for.
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import linecache
import math
import numbers
import textwrap
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy

from .errors import (
    Location,
    ShapeSpecError,
    SourceUnavailableError,
    UnsupportedSyntaxError,
)
from .primitives import HELPERS, loaded_object, lookup_object, lookup_path


@dataclass(frozen=True)
class Binding:
    """What a free name in the function refers to.

    kind is one of: "numpy" / "math" (the module), "module" (another module: value
    is its dotted name), "const" (value inlined), "primitive" (a function s2s has a
    rule for: value is (primitive, library)), "builtin" (value is the built-in's
    name), "function" (a user function, inlined).
    """

    kind: str
    value: Any = None


@dataclass
class ParsedFunction:
    """A function definition ready for linearization."""

    node: ast.FunctionDef
    filename: str
    lines: list[str]
    resolve: Callable[[str], Binding | None]
    col_shift: int = 0
    defaults: tuple[Any, ...] = ()
    origin: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def params(self) -> list[str]:
        return [a.arg for a in self.node.args.posonlyargs + self.node.args.args]

    def shape_annotations(self) -> dict[str, tuple]:
        """The shape patterns the parameters are annotated with: a string of
        dimensions (`W: "n m"`, `b: "m"`, `x: "1 m"`; `""` for a scalar) or `float`;
        other annotations say nothing of shapes."""
        patterns = {}
        args = self.node.args
        for arg in args.posonlyargs + args.args:
            note = arg.annotation
            if isinstance(note, ast.Name) and note.id in ("float", "int"):
                patterns[arg.arg] = ()
            elif isinstance(note, ast.Constant) and isinstance(note.value, str):
                dims = note.value.replace(",", " ").split()
                bad = [d for d in dims if d != "1" and not d.isidentifier()]
                if bad:
                    raise ShapeSpecError(
                        f"cannot read the shape {note.value!r} of {arg.arg!r}: "
                        f"{bad[0]!r} is neither 1 nor a name",
                        self.location(note),
                        'Write the dimensions as names or 1, e.g. x: "batch 1 n".',
                    )
                patterns[arg.arg] = tuple(1 if d == "1" else d for d in dims)
        return patterns

    def location(self, node: ast.AST) -> Location:
        lineno = getattr(node, "lineno", self.node.lineno)
        col = getattr(node, "col_offset", 0) + self.col_shift
        line = self.lines[lineno - 1] if 0 < lineno <= len(self.lines) else ""
        return Location(self.filename, lineno, col, line.rstrip("\n"))

    def error(
        self, node: ast.AST, message: str, hint: str = ""
    ) -> UnsupportedSyntaxError:
        return UnsupportedSyntaxError(message, self.location(node), hint)


def classify(value: Any) -> Binding | None:
    """The binding for a run-time value found in a function's globals or closure."""
    if value is numpy:
        return Binding("numpy")
    if value is math:
        return Binding("math")
    if isinstance(value, (bool, numpy.bool_)):
        return Binding("const", bool(value))
    if isinstance(value, numbers.Integral):
        return Binding("const", int(value))
    if isinstance(value, numbers.Real):
        return Binding("const", float(value))
    if (
        isinstance(value, numpy.ndarray)
        and value.ndim == 0
        and value.dtype.kind in "biuf"
    ):
        return classify(value.item())
    if isinstance(value, types.ModuleType):
        return Binding("module", value.__name__)
    try:
        known = lookup_object(value)
    except TypeError:  # unhashable: not a function
        known = None
    if known is not None:
        return Binding("primitive", known)
    name = getattr(value, "__name__", None)
    if name and getattr(builtins, name, None) is value:
        return Binding("builtin", name)
    generated = generated_function(value)
    if generated is not None:  # a gradient s2s made: its generated code is inlined
        return Binding("function", generated)
    if isinstance(value, types.FunctionType):
        helper = runtime_helper(value)
        if helper is not None:
            return Binding("primitive", (helper, "np"))
        return Binding("function", value)
    return Binding("unsupported", value)


def generated_function(value: Any) -> types.FunctionType | None:
    """The generated Python function behind a transform s2s made (`s2s.grad(f)`), whose
    source s2s reads to differentiate it again; None for anything else."""
    try:
        found = getattr(value, "__s2s_source__", None)
    except Exception:  # a proxy object whose attributes raise
        return None
    return found if isinstance(found, types.FunctionType) else None


@functools.lru_cache(maxsize=None)
def _runtime_definitions() -> dict[str, str]:
    from . import runtime  # here: only code that calls a helper needs it

    tree = ast.parse(inspect.getsource(runtime))
    return {n.name: ast.dump(n) for n in tree.body if isinstance(n, ast.FunctionDef)}


def runtime_helper(definition: types.FunctionType | ast.FunctionDef) -> str | None:
    """The primitive a function stands for when it is a copy of a helper from
    :mod:`s2s.runtime` (as generated modules hold them), else None.

    A copy is recognized by its name and its syntax tree, so a user's own function
    that happens to share a helper's name is still differentiated as written.
    """
    name = (
        definition.name
        if isinstance(definition, ast.FunctionDef)
        else definition.__name__
    )
    if name not in HELPERS:
        return None
    if not isinstance(definition, ast.FunctionDef):
        try:
            source = textwrap.dedent(inspect.getsource(definition))
            definition = ast.parse(source).body[0]
        except (OSError, TypeError, SyntaxError, IndexError):
            return None
    if not isinstance(definition, ast.FunctionDef) or definition.decorator_list:
        return None
    if ast.dump(definition) != _runtime_definitions().get(name):
        return None
    return HELPERS[name]


def live_resolver(f: types.FunctionType) -> Callable[[str], Binding | None]:
    """Resolve names as Python would when calling `f`: closure, globals, builtins."""
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

    def resolve(name: str) -> Binding | None:
        for table in (scope, globals_, builtins_):
            if name in table:
                return classify(table[name])
        return None

    return resolve


_SOURCE_ADVICE = (
    "s2s reads the function's source code. Define it with `def` in a .py file "
    "(or a notebook cell) and pass that function; lambdas, functions made by exec or "
    "`python -c` have no source s2s can read."
)


def _parse_block(filename: str, source_lines: list[str], first: int) -> tuple:
    """Parse a function's lines (indented or not), numbered as in its file."""
    source = "".join(source_lines)
    dedented = textwrap.dedent(source)
    first_line = source_lines[0] if source_lines else ""
    shift = len(first_line) - len(first_line.lstrip()) if dedented != source else 0
    tree = ast.parse(dedented)
    ast.increment_lineno(tree, first - 1)
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


def _indentation(line: str) -> int:
    return len(line) - len(line.lstrip())


def parse_function(f: Any) -> ParsedFunction:
    """Parse a live Python function into a :class:`ParsedFunction`."""
    f = inspect.unwrap(f, stop=lambda g: generated_function(g) is not None)
    f = generated_function(f) or f  # a gradient: differentiate its generated code
    if not isinstance(f, types.FunctionType):
        raise SourceUnavailableError(
            f"s2s can differentiate Python functions only, not {type(f).__name__} {f!r}",
            hint="Pass a function defined with `def`.",
        )
    code = f.__code__
    if f.__name__ == "<lambda>":
        raise SourceUnavailableError(
            "cannot differentiate a lambda: its source is not a function definition",
            hint=_SOURCE_ADVICE,
        )
    parsed = _parse_by_indentation(code)
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
        defaults=tuple(f.__defaults__ or ()),
        origin=f,
    )


# --- reading a file without running it (the CLI) ------------------------------------


def _literal(node: ast.expr) -> Any:
    """The value of a constant expression (numbers and arithmetic on them), else raise."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        pass
    if isinstance(node, ast.BinOp):
        left, right = _literal(node.left), _literal(node.right)
        ops = {
            ast.Add: "__add__",
            ast.Sub: "__sub__",
            ast.Mult: "__mul__",
            ast.Div: "__truediv__",
            ast.Pow: "__pow__",
        }
        if type(node.op) in ops:
            return getattr(left, ops[type(node.op)])(right)
    raise ValueError("not a constant")


def _module_binding(name: str) -> Binding:
    return Binding(name) if name in ("numpy", "math") else Binding("module", name)


#: The transforms whose results a file may bind to a name (`@s2s.grad`,
#: `force = s2s.grad(potential, wrt="q")`), and whether they return the value too.
TRANSFORMS = {"grad": False, "value_and_grad": True}


def s2s_names(module: ast.Module) -> tuple[set[str], set[str]]:
    """The names that s2s itself, and its transforms, are imported as in a module."""
    modules, functions = set(), set()
    for node in module.body:
        if isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name == "s2s"}
        elif isinstance(node, ast.ImportFrom) and node.module == "s2s":
            functions |= {
                a.asname or a.name
                for a in node.names
                if a.name in TRANSFORMS or a.name == "*"
            }
    if "*" in functions:
        functions |= set(TRANSFORMS)
    return modules, functions


def transform_of(node: ast.expr, names: tuple[set[str], set[str]]) -> str | None:
    """Which s2s transform `node` names (`s2s.grad`, an alias, `grad` imported from
    s2s), if any."""
    modules, functions = names
    if isinstance(node, ast.Name) and node.id in functions:
        return "value_and_grad" if "value" in node.id else "grad"
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in modules
        and node.attr in TRANSFORMS
    ):
        return node.attr
    return None


@dataclass(eq=False)
class StaticGradient:
    """A gradient a file binds to a name (by decorating a function, or assigning
    `s2s.grad(f)`), for a file read without running it: calls to the name inline the
    gradient's generated code, which is generated and held in memory, as `s2s.grad`
    would hold it when the file runs."""

    function: ParsedFunction
    wrt: Any
    with_value: bool

    @functools.cached_property
    def parsed(self) -> ParsedFunction:
        from .api import generate, pseudo_filename  # api imports this module

        text = generate(self.function, self.wrt).module.raw
        filename = pseudo_filename(self.function.name, text)
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        module = ast.parse(text)
        name = self.function.name + ("_value_and_grad" if self.with_value else "_grad")
        node = next(
            n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == name
        )
        return ParsedFunction(
            node, filename, text.splitlines(True), static_resolver(module, filename)
        )


def _transform_wrt(call: ast.Call | None) -> Any:
    """The wrt of `s2s.grad(f, wrt=...)` or `@s2s.grad(wrt=...)`, if a constant."""
    if call is None:
        return 0
    keywords = {k.arg: k.value for k in call.keywords}
    try:
        return ast.literal_eval(keywords["wrt"]) if "wrt" in keywords else 0
    except ValueError:
        return None


def static_resolver(
    module: ast.Module, filename: str = "", lines: list[str] | None = None
) -> Callable[[str], Binding | None]:
    """Resolve module-level names from the file's text alone: imports of numpy and
    math, constants assigned once from literals, functions defined in the file, and
    gradients of them (decorated, or bound to a name)."""
    table: dict[str, Binding] = {}
    assigned: dict[str, int] = {}
    functions = {n.name: n for n in module.body if isinstance(n, ast.FunctionDef)}
    names = s2s_names(module)

    def gradient(node: ast.FunctionDef, transform: str, call: ast.Call | None):
        wrt = _transform_wrt(call)
        try:
            defaults = tuple(_literal(d) for d in node.args.defaults)
        except (ValueError, TypeError, ArithmeticError):
            wrt = None
        if wrt is None:  # s2s would need to run the file to know it
            return Binding("unsupported", None)
        parsed = ParsedFunction(node, filename, lines or [], lambda n: resolve(n))
        parsed.defaults = defaults
        return Binding("function", StaticGradient(parsed, wrt, TRANSFORMS[transform]))

    for node in module.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                table[alias.asname or alias.name.split(".")[0]] = _module_binding(
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                name = alias.asname or alias.name
                path = f"{node.module}.{alias.name}"
                known = lookup_path(path)
                if known is not None:
                    table[name] = Binding("primitive", known)
                elif node.module == "math" and isinstance(
                    getattr(math, alias.name, None), float
                ):
                    table[name] = Binding("const", getattr(math, alias.name))
                elif isinstance(loaded_object(path), types.ModuleType):
                    table[name] = _module_binding(path)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.value
            made = (
                transform_of(value.func, names)
                if isinstance(value, ast.Call)
                and value.args
                and isinstance(value.args[0], ast.Name)
                and value.args[0].id in functions
                else None
            )
            for target in targets:
                if isinstance(target, ast.Name) and made is not None:
                    assigned[target.id] = assigned.get(target.id, 0) + 1
                    table[target.id] = gradient(
                        functions[value.args[0].id], made, value
                    )
                elif isinstance(target, ast.Name):
                    assigned[target.id] = assigned.get(target.id, 0) + 1
                    try:
                        value = _literal(node.value) if node.value is not None else None
                    except (ValueError, TypeError, ArithmeticError):
                        table[target.id] = Binding("unsupported", None)
                        continue
                    binding = classify(value)
                    table[target.id] = (
                        binding if binding else Binding("unsupported", value)
                    )
        elif isinstance(node, ast.FunctionDef):
            helper = runtime_helper(node)
            table[node.name] = (
                Binding("primitive", (helper, "np"))
                if helper is not None
                else Binding("function", node)
            )
            for decorator in reversed(node.decorator_list):  # innermost first
                call = decorator if isinstance(decorator, ast.Call) else None
                made = transform_of(call.func if call else decorator, names)
                if made is not None:
                    undecorated = ast.FunctionDef(
                        **{**vars(node), "decorator_list": []}
                    )
                    table[node.name] = gradient(undecorated, made, call)
                    break
    for name, count in assigned.items():
        if (
            count > 1
        ):  # rebound at module level: which value is meant is a run-time matter
            table[name] = Binding("unsupported", None)
    builtins_ = vars(builtins)

    def resolve(name: str) -> Binding | None:
        if name in table:
            return table[name]
        if name in builtins_:
            return classify(builtins_[name])
        return None

    return resolve


def read_module(path: str) -> tuple[str, ast.Module]:
    """The text of the file at `path` and its syntax tree, without importing it."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise SourceUnavailableError(f"cannot read {path}: {reason}") from None
    try:
        return text, ast.parse(text, filename=path)
    except ValueError as e:  # null bytes
        raise SourceUnavailableError(f"cannot parse {path}: {e}") from None
    except SyntaxError as e:
        raise UnsupportedSyntaxError(
            f"syntax error: {e.msg}",
            Location(path, e.lineno or 1, (e.offset or 1) - 1, e.text or ""),
            "Fix the syntax error first.",
        ) from None


def parse_file(path: str, name: str) -> ParsedFunction:
    """Parse function `name` from the file at `path`, without importing the file."""
    text, module = read_module(path)
    node = next(
        (n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == name),
        None,
    )
    if node is None:
        available = [n.name for n in module.body if isinstance(n, ast.FunctionDef)]
        raise SourceUnavailableError(
            f"{path} defines no function named {name!r}",
            hint=f"Functions in that file: {', '.join(available) or 'none'}.",
        )
    node.decorator_list = []
    lines = text.splitlines(True)
    parsed = ParsedFunction(node, path, lines, static_resolver(module, path, lines))
    defaults = []
    for d in node.args.defaults:
        try:
            defaults.append(_literal(d))
        except (ValueError, TypeError, ArithmeticError):
            raise parsed.error(
                d,
                "default values must be constants",
                "Use a number (or None) as the default.",
            ) from None
    parsed.defaults = tuple(defaults)
    return parsed
