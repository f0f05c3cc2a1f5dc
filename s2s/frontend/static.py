"""Reading a file without running it (the command line): a module's names resolved
from its text alone.  Constants are folded from constant expressions, functions are
the file's own `def`s, and a gradient the file binds (`@s2s.grad`, `force =
s2s.grad(potential)`) is generated in memory where another function calls it.  A
name whose value only running the file would tell is refused where it is read.
"""

from __future__ import annotations

import ast
import builtins
import math
import types
from dataclasses import dataclass
from typing import Any

import numpy

from ..errors import Location, SourceUnavailableError, UnsupportedSyntaxError
from ..primitives import (
    MATH_CONSTANTS,
    NUMPY_CONSTANTS,
    REWRITTEN,
    loaded_object,
    lookup_path,
)
from .constants import constant_value
from .parsed import (
    UNKNOWN,
    Binding,
    Free,
    ParsedFunction,
    classify,
    default_nodes,
    runtime_helper,
)
from .sources import module_name_of, read_module, shown_path


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
    gradient's generated code (see :func:`s2s.pipeline.gradient_code`), generated and
    held in memory, as `s2s.grad` would hold it when the file runs."""

    function: ParsedFunction
    wrt: Any
    with_value: bool
    has_aux: bool = False  # the function returns (value, aux)


def _transform_options(call: ast.Call | None) -> tuple[Any, bool] | None:
    """The wrt (or argnums) and has_aux of `s2s.grad(f, wrt=...)` or
    `@s2s.grad(wrt=..., has_aux=...)`; None unless both are constants."""
    if call is None:
        return 0, False
    keywords = {k.arg: k.value for k in call.keywords}
    if "wrt" in keywords and "argnums" in keywords:
        return None
    try:
        wrt = keywords.get("wrt", keywords.get("argnums"))
        wrt = 0 if wrt is None else ast.literal_eval(wrt)
        has_aux = ast.literal_eval(keywords.get("has_aux", ast.Constant(False)))
    except ValueError:
        return None
    return (wrt, has_aux) if isinstance(has_aux, bool) else None


@dataclass(frozen=True)
class _Site:
    """A statement that binds a module-level name."""

    line: int
    text: str  # the statement's first line, as written
    plain: bool  # one assignment, import or def at the top level of the module
    where: str = ""  # what it sits in, when that is not the top level

    def __str__(self) -> str:
        return f"line {self.line} `{self.text}`" + (
            f", {self.where}" if self.where else ""
        )


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_PATTERN_NAMES = (ast.MatchAs, ast.MatchStar)
#: How a message names the module-level block a binding sits in.
_BLOCKS = {
    "if": "if block",
    "for": "for loop",
    "while": "while loop",
    "with": "with block",
    "try": "try block",
    "trystar": "try block",
    "match": "match block",
}


def _names_bound(node: ast.AST):
    """(name, node) for each name a statement binds in its own scope: assignments
    however nested in it (for targets, with ... as, except ... as, :=, del,
    imports, `globals()["X"] = ...`), and the names of the functions and classes it
    defines, but not what their bodies or comprehensions bind for themselves."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, _SCOPES):
            if not isinstance(child, ast.Lambda):
                yield child.name, child
            continue
        if isinstance(child, _COMPREHENSIONS):  # only := leaks out of them
            for inner in ast.walk(child):
                if isinstance(inner, ast.NamedExpr):
                    yield inner.target.id, inner
            continue
        if isinstance(child, ast.Name) and not isinstance(child.ctx, ast.Load):
            yield child.id, child
        elif isinstance(child, (ast.Import, ast.ImportFrom)):
            for alias in child.names:
                if alias.name != "*":
                    yield alias.asname or alias.name.split(".")[0], child
        elif isinstance(child, ast.ExceptHandler) and child.name:
            yield child.name, child
        elif isinstance(child, _PATTERN_NAMES) and child.name:
            yield child.name, child
        elif isinstance(child, ast.Subscript) and _is_globals_item(child):
            yield child.slice.value, child
        yield from _names_bound(child)


def _is_globals_item(node: ast.Subscript) -> bool:
    """`globals()["X"]` being assigned or deleted."""
    return (
        not isinstance(node.ctx, ast.Load)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "globals"
        and isinstance(node.slice, ast.Constant)
        and isinstance(node.slice.value, str)
    )


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return node.targets if isinstance(node, ast.Assign) else [node.target]


def _unpacked_names(target: ast.expr) -> list[ast.Name]:
    """The names of an assignment target made of names, tuples and lists only."""
    if isinstance(target, ast.Name):
        return [target]
    if isinstance(target, ast.Starred):
        return _unpacked_names(target.value)
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for item in target.elts for name in _unpacked_names(item)]
    return []


def binding_sites(module: ast.Module, lines: list[str]) -> dict[str, list[_Site]]:
    """Every statement that binds each module-level name, in order: at the top level,
    inside the module's if/for/while/with/try blocks, and in functions that declare
    the name `global`."""
    sites: dict[str, list[_Site]] = {}

    def add(name: str, node: ast.AST, plain: bool, where: str = "") -> None:
        line = lines[node.lineno - 1].strip() if node.lineno <= len(lines) else ""
        sites.setdefault(name, []).append(_Site(node.lineno, line, plain, where))

    for statement in module.body:
        if isinstance(statement, (*_SCOPES, ast.Import, ast.ImportFrom)):
            for name, node in _names_bound(ast.Module([statement], [])):
                add(name, node, plain=True)
            continue
        plain = set()
        if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value:
            plain = {id(n) for t in _targets(statement) for n in _unpacked_names(t)}
        compound = not isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign))
        block = _BLOCKS.get(type(statement).__name__.lower().replace("async", ""))
        for name, node in _names_bound(ast.Module([statement], [])):
            inside = compound and node.lineno != statement.lineno
            where = f"inside the {block} of line {statement.lineno}" if inside else ""
            add(name, node, id(node) in plain, where)
    for function in ast.walk(module):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            declared = {
                name
                for node in ast.walk(function)
                if isinstance(node, ast.Global)
                for name in node.names
            }
            for name, node in _names_bound(function) if declared else ():
                if name in declared:
                    where = f"in {function.name}(), through `global {name}`"
                    add(name, node, plain=False, where=where)
    for found in sites.values():
        found.sort(key=lambda site: site.line)
    return sites


class StaticScope:
    """The module-level names of a file read from its text alone: imports of numpy
    and math, constants assigned once from constant expressions, functions defined
    in the file, and gradients of them (decorated, or bound to a name).

    Called with a name, it returns its :class:`Binding` (None when unknown); and
    :meth:`problem` says why a name the function reads cannot be known without
    running the file."""

    def __init__(
        self,
        module: ast.Module,
        filename: str = "",
        lines: list[str] | None = None,
        module_name: str = "",
    ):
        self.filename = filename
        self.module_name = module_name or module_name_of(filename)
        self.lines = lines or []
        self.table: dict[str, Binding] = {}
        self.sites = binding_sites(module, self.lines)
        self.imported: dict[str, tuple[str, int]] = {}  # name -> (module, line)
        self.unfolded: dict[str, int] = {}  # constants that are not: name -> line
        self.functions = {
            n.name: n for n in module.body if isinstance(n, ast.FunctionDef)
        }
        self.names = s2s_names(module)
        for node in module.body:
            self._read(node)
        for name, binding in self.table.items():
            if self._rebound(name):  # which value is meant is a run-time matter
                data = binding.kind == "data"  # read when the gradient runs
                self.table[name] = self._data(name) if data else Binding("unsupported")

    def __call__(self, name: str) -> Binding | None:
        if name in self.table:
            return self.table[name]
        if name in self.imported or name in self.sites:
            # Bound by an import or in a block: its value is the module's when the
            # gradient runs.
            return self._data(name)
        if name in vars(builtins):
            return classify(vars(builtins)[name])
        return None

    def _data(self, name: str, value: Any = UNKNOWN) -> Binding:
        """A module global read when the gradient runs (its value now, if known)."""
        return Binding("data", Free("global", self.module_name, name, value))

    def _rebound(self, name: str) -> bool:
        sites = self.sites.get(name, [])
        return len(sites) > 1 or (len(sites) == 1 and not sites[0].plain)

    def _constant(self, name: str) -> Binding | None:
        """What folding a constant expression may read: constants bound once."""
        return None if self._rebound(name) else self(name)

    def problem(self, name: str, as_value: bool) -> tuple[str, str] | None:
        """(message, hint) when the function reads `name` from the module and s2s
        cannot know its value without running the file; None otherwise."""
        if self._rebound(name):
            sites = self.sites[name]
            listed = "; ".join(map(str, sites))
            how = (
                f"is bound {len(sites)} times at module level ({listed})"
                if len(sites) > 1
                else f"is not bound by one plain module-level assignment ({listed})"
            )
            return (
                f"'{name}' {how}: its value depends on running "
                f"the file, and s2s reads the file without running it",
                f"Pass {name} to the function as a parameter, or define it once, with "
                f"one assignment at the top level of the module ({name} = ...).",
            )
        if as_value and name in self.imported:
            module, line = self.imported[name]
            return (
                f"'{name}' is imported from {module} (line {line}), and s2s reads only "
                f"this file, not the modules it imports",
                f"Define {name} in this file, or pass it to the function as a "
                "parameter.",
            )
        if as_value and name in self.unfolded:
            return (
                f"the module-level name '{name}' (line {self.unfolded[name]}) is not "
                f"a constant s2s can compute without running the file",
                "Write it with numbers, arithmetic, numpy's and math's constants "
                f"and functions such as math.sqrt, or pass {name} as a parameter.",
            )
        return None

    def _read(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                self.table[alias.asname or alias.name.split(".")[0]] = _module_binding(
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom):
            self._import_from(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            for target in _targets(node):
                self._assign(target, node.value, node.lineno)
        elif isinstance(node, ast.FunctionDef):
            self._define(node)

    def _import_from(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            name = alias.asname or alias.name
            path = f"{node.module}.{alias.name}"
            value = getattr(
                {"numpy": numpy, "math": math}.get(node.module), alias.name, 0
            )
            known = lookup_path(path) if node.module and not node.level else None
            if known is not None:
                self.table[name] = Binding("primitive", known)
            elif node.module == "numpy" and alias.name in REWRITTEN:
                self.table[name] = Binding("rewritten", alias.name)
            elif isinstance(value, float) and alias.name in (
                NUMPY_CONSTANTS if node.module == "numpy" else MATH_CONSTANTS
            ):
                self.table[name] = Binding("const", value)
            elif (
                node.module
                and not node.level
                and isinstance(loaded_object(path), types.ModuleType)
            ):
                self.table[name] = _module_binding(path)
            elif alias.name != "*":
                self.imported[name] = (
                    "." * node.level + (node.module or ""),
                    node.lineno,
                )

    def _assign(self, target: ast.expr, value: ast.expr, line: int) -> None:
        made = (
            transform_of(value.func, self.names)
            if isinstance(value, ast.Call)
            and value.args
            and isinstance(value.args[0], ast.Name)
            and value.args[0].id in self.functions
            else None
        )
        if isinstance(target, ast.Name) and made is not None:
            function = self.functions[value.args[0].id]
            self.table[target.id] = self._gradient(function, made, value)
            return
        names = _unpacked_names(target)
        if not names:
            return
        try:
            folded = constant_value(value, self._constant)
            values = [folded] if isinstance(target, ast.Name) else list(folded)
        except (ValueError, TypeError, ArithmeticError):
            values = None
        plain = all(isinstance(t, ast.Name) for t in names) and not any(
            isinstance(t, ast.Starred) for t in ast.walk(target)
        )
        if values is None or not plain or len(values) != len(names):
            for name in names:  # known when the gradient runs
                self.table[name.id] = self._data(name.id)
                self.unfolded[name.id] = line
            return
        for name, item in zip(names, values):
            binding = classify(item)
            if binding.kind == "data":
                binding = self._data(name.id, item)
            self.table[name.id] = binding

    def _define(self, node: ast.FunctionDef) -> None:
        helper = runtime_helper(node)
        self.table[node.name] = (
            Binding("primitive", (helper, "np"))
            if helper is not None
            else Binding("function", node)
        )
        for decorator in reversed(node.decorator_list):  # innermost first
            call = decorator if isinstance(decorator, ast.Call) else None
            made = transform_of(call.func if call else decorator, self.names)
            if made is not None:
                undecorated = ast.FunctionDef(**{**vars(node), "decorator_list": []})
                self.table[node.name] = self._gradient(undecorated, made, call)
                break

    def _gradient(
        self, node: ast.FunctionDef, transform: str, call: ast.Call | None
    ) -> Binding:
        options = _transform_options(call)
        try:
            defaults = tuple(
                constant_value(d, self._constant) for d in default_nodes(node.args)
            )
        except (ValueError, TypeError, ArithmeticError):
            options = None
        if options is None:  # s2s would need to run the file to know it
            return Binding("unsupported", None)
        parsed = ParsedFunction(node, self.filename, self.lines, self)
        parsed.defaults = defaults
        wrt, has_aux = options
        made = StaticGradient(parsed, wrt, TRANSFORMS[transform], has_aux)
        return Binding("function", made)


def static_resolver(
    module: ast.Module, filename: str = "", lines: list[str] | None = None
) -> StaticScope:
    """Resolve module-level names from the file's text alone (see StaticScope)."""
    return StaticScope(module, filename, lines)


def parse_file(path: str, name: str) -> ParsedFunction:
    """Parse function `name` from the file at `path` (standard input for `-`), without
    importing the file."""
    text, module = read_module(path)
    path = shown_path(path)
    node = next(
        (n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == name),
        None,
    )
    if node is None:
        _refuse_other_definition(module, path, name, text.splitlines(True))
        available = [n.name for n in module.body if isinstance(n, ast.FunctionDef)]
        raise SourceUnavailableError(
            f"{path} defines no function named {name!r}",
            hint=f"Functions in that file: {', '.join(available) or 'none'}.",
        )
    node.decorator_list = []
    lines = text.splitlines(True)
    scope = static_resolver(module, path, lines)
    parsed = ParsedFunction(node, path, lines, scope)
    check_module_reads(parsed, scope)
    parsed.defaults = constant_defaults(parsed)
    return parsed


def _refuse_other_definition(
    module: ast.Module, path: str, name: str, lines: list[str]
) -> None:
    """`name` is defined, but not by a plain `def`: say what it is instead."""
    for node in module.body:
        if isinstance(node, ast.AsyncFunctionDef) and node.name == name:
            raise UnsupportedSyntaxError(
                f"{name} is an async function, which s2s cannot differentiate",
                Location(path, node.lineno, node.col_offset, lines[node.lineno - 1]),
                "Differentiate a plain `def` that computes the value (the async "
                "function can call it).",
            )
        if isinstance(node, ast.ClassDef) and node.name == name:
            raise UnsupportedSyntaxError(
                f"{name} is a class; s2s differentiates functions defined with `def` "
                f"at the top level of the file",
                Location(path, node.lineno, node.col_offset, lines[node.lineno - 1]),
                "Move the computation into a top-level function.",
            )


def constant_defaults(parsed: ParsedFunction) -> tuple[Any, ...]:
    """The values of a statically read function's defaults, which must be constant
    expressions (of numbers, and of module constants)."""
    defaults = []
    for default in default_nodes(parsed.node.args):
        try:
            defaults.append(constant_value(default, parsed.resolve))
        except (ValueError, TypeError, ArithmeticError):
            _refuse_unknown_names(parsed, default)
            raise parsed.error(
                default,
                "default values must be constants",
                "Use a number (or None) as the default, or a constant expression "
                "such as 2 * math.pi.",
            ) from None
    return tuple(defaults)


def _refuse_unknown_names(parsed: ParsedFunction, node: ast.expr) -> None:
    """Refuse the first module name in `node` whose value only running the file
    would tell, saying why."""
    problem = getattr(parsed.resolve, "problem", None)
    for name in (n for n in ast.walk(node) if isinstance(n, ast.Name)):
        found = problem and problem(name.id, True)
        if found:
            raise parsed.error(name, *found)


def check_module_reads(parsed: ParsedFunction, scope: StaticScope) -> None:
    """Refuse, at the first place it is read, a module-level name the function (or a
    helper of the file it calls) uses as something other than data, whose meaning
    s2s cannot know without running the file: a name bound more than once or in a
    block, or imported from another module.  Data (a number, an array) is read from
    the module when the gradient runs, whatever binds it."""
    seen: set[int] = set()
    pending = [parsed.node]
    while pending:
        function = pending.pop(0)
        if id(function) in seen:
            continue
        seen.add(id(function))
        for name, as_value in module_reads(function):
            found = scope(name.id)
            if as_value and found is not None and found.kind == "data":
                continue
            problem = scope.problem(name.id, as_value)
            if problem is not None:
                raise parsed.error(name, *problem)
            binding = scope(name.id)
            value = binding.value if binding is not None else None
            if isinstance(value, StaticGradient):
                pending.append(value.function.node)
            elif isinstance(value, ast.FunctionDef):
                pending.append(value)


def module_reads(function: ast.FunctionDef) -> list[tuple[ast.Name, bool]]:
    """The names a function reads from its module, as Python scopes them (a name
    the function assigns anywhere is local, unless declared global), in the order
    they are written; each with whether it is read as a value (rather than called or
    reached into with a dot).  Defaults come first: they are read when the function
    is defined."""
    args = function.args
    params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    declared = {
        n for s in ast.walk(function) if isinstance(s, ast.Global) for n in s.names
    }
    local = {name for name, _ in _names_bound(function)} - declared
    for node in ast.walk(function):  # comprehension targets are local to them
        if isinstance(node, ast.comprehension):
            local |= {n.id for n in _unpacked_names(node.target)}
    parts = [*args.defaults, *(d for d in args.kw_defaults if d), *function.body]
    called = set()
    reads = []
    for part in parts:
        for node in ast.walk(part):
            if isinstance(node, ast.Call):
                called.add(id(node.func))
            elif isinstance(node, ast.Attribute):
                called.add(id(node.value))
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                if node.id not in params | local:
                    reads.append(node)
    reads.sort(key=lambda n: (n.lineno, n.col_offset))
    return [(node, id(node) not in called) for node in reads]
