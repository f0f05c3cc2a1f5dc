"""Emission: optimized ops back to a readable Python module, formatted with black.

Single-use temporaries from the same source line are folded back into one expression;
the remaining values get names from one deterministic namespace: user names are kept
(a rebinding reuses the name once the old value is dead), adjoints are `d<name>`,
temporaries are named after their op.  Each group of statements from one source line
is introduced by a `# file.py:N  source` comment.  astor cannot carry comments, so
they travel as marker statements and become comments after unparsing.  Helpers from
:mod:`s2s.runtime` that the code calls are copied in, so the module needs only numpy.
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import keyword
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import astor
import black

from . import runtime
from .errors import Location
from .ir import Const, Op, Operand, Var
from .optimize import EFFECTS, operands_of, optimize
from .primitives import PRIMITIVES

_MARKER = "_s2s_marker_"
_UNARY = {"neg"}
_COMPARE = {"lt", "le", "gt", "ge", "eq", "ne"}
#: Names the generated code itself uses; user values never take them.
RESERVED = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | {"np", "math"}


@dataclass
class FunctionSpec:
    """One function of a generated module."""

    name: str
    doc: str
    params: list[Var]
    defaults: tuple[Const, ...]
    sections: list[tuple[str, list[Op]]]  # ("forward", ops), ("reverse", ops)
    returns: Any  # an operand, or a nested tuple of operands


@dataclass
class GeneratedModule:
    """A generated module: its text, and the tree it was unparsed from."""

    text: str
    tree: ast.Module
    functions: list[str] = field(default_factory=list)


def format_source(text: str) -> str:
    """Format with black; the one place that depends on black's version."""
    return black.format_str(text, mode=black.Mode(line_length=88))


def unparse(tree: ast.AST) -> str:
    """Unparse with astor; the one place that depends on astor."""
    return astor.to_source(tree)


def const_ast(value: Any) -> ast.expr:
    """A constant as an expression; never a negative number inside ast.Constant."""
    if isinstance(value, tuple):
        return ast.Tuple([const_ast(v) for v in value], ast.Load())
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return _attr("np", "nan")
        node = _attr("np", "inf")
        return node if value > 0 else ast.UnaryOp(ast.USub(), node)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0 or (value == 0 and math.copysign(1.0, value) < 0):
            return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


def _attr(*path: str) -> ast.expr:
    node: ast.expr = ast.Name(path[0], ast.Load())
    for part in path[1:]:
        node = ast.Attribute(node, part, ast.Load())
    return node


def _marker(index: int) -> ast.stmt:
    return ast.Expr(ast.Name(f"{_MARKER}{index}", ast.Load()))


class _FunctionEmitter:
    def __init__(self, spec: FunctionSpec, comments: list[str]):
        self.spec = spec
        self.comments = comments
        self.section: dict[Op, str] = {}
        ops = []
        for name, section_ops in spec.sections:
            for op in section_ops:
                self.section[op] = name
                ops.append(op)
        self.ops, (self.returns,) = optimize(ops, [spec.returns])
        self.defs = {op.out: op for op in self.ops}
        self.inlined = self._choose_inlined()
        self.statements = [op for op in self.ops if op.out not in self.inlined]
        self.names = self._assign_names()

    def _section(self, op: Op) -> str:
        return self.section.get(op) or self.section.get(
            self.defs.get(op.out), "reverse"
        )

    def _choose_inlined(self) -> set[Var]:
        users: dict[Var, list[Op | None]] = defaultdict(list)
        for op in self.ops:
            for a in op.args:
                if isinstance(a, Var):
                    users[a].append(op)
        for v in operands_of(self.returns):
            users[v].append(None)
        inlined = set()
        for op in self.ops:
            use = users.get(op.out, [])
            if (
                op.out.role == "temp"
                and op.prim not in EFFECTS
                and len(use) == 1
                and use[0] is not None
                and self._section(use[0]) == self._section(op)
                and _line(use[0].loc) == _line(op.loc)
            ):
                inlined.add(op.out)
        return inlined

    def _reads(self, op: Op) -> list[Var]:
        """Named values an op's statement reads, looking through inlined operands."""
        found = []
        for a in op.args:
            if isinstance(a, Var):
                found.extend(self._reads(self.defs[a]) if a in self.inlined else [a])
        return found

    def _assign_names(self) -> dict[Var, str]:
        last_use: dict[Var, int] = {}
        for i, op in enumerate(self.statements):
            for v in self._reads(op):
                last_use[v] = i
        for v in operands_of(self.returns):
            last_use[v] = len(self.statements)
        names: dict[Var, str] = {}
        owner: dict[str, tuple[str, str]] = {}
        holder: dict[str, Var] = {}

        def family(v: Var) -> tuple[str, str]:
            return ("adjoint" if v.role == "adjoint" else "primal", v.hint)

        def take(v: Var, name: str) -> None:
            names[v], owner[name], holder[name] = name, family(v), v

        for p in self.spec.params:
            take(p, p.name)
        for i, op in enumerate(self.statements):
            v = op.out
            base = (
                v.hint
                if v.hint.isidentifier() and v.hint not in RESERVED
                else v.hint + "_"
            )
            n = 0
            while True:
                name = base if n == 0 else f"{base}_{n}"
                n += 1
                if name in RESERVED or name in _HELPER_NAMES:
                    continue
                if name not in owner:
                    break
                if (
                    v.role != "temp"
                    and owner[name] == family(v)
                    and last_use.get(holder[name], -1) <= i
                ):
                    break
            take(v, name)
        return names

    # --- expressions ----------------------------------------------------------------

    def expr(self, x: Any) -> ast.expr:
        if isinstance(x, tuple):
            return ast.Tuple([self.expr(e) for e in x], ast.Load())
        if isinstance(x, Const):
            return const_ast(x.value)
        if x in self.inlined:
            return self.op_expr(self.defs[x])
        return ast.Name(self.names[x], ast.Load())

    def op_expr(self, op: Op) -> ast.expr:
        prim = PRIMITIVES[op.prim]
        args = [self.expr(a) for a in op.args]
        if prim.operator is not None:
            if op.prim in _UNARY:
                return ast.UnaryOp(prim.operator(), args[0])
            if op.prim in _COMPARE:
                return ast.Compare(args[0], [prim.operator()], [args[1]])
            return ast.BinOp(args[0], prim.operator(), args[1])
        if op.prim == "copy":
            return args[0]
        if op.prim == "tuple":
            return ast.Tuple(args, ast.Load())
        if op.prim == "transpose" and op.params.get("axes") is None:
            return ast.Attribute(args[0], "T", ast.Load())
        keywords = [
            ast.keyword(k, const_ast(op.params[k]))
            for k, default in prim.static
            if k in op.params and op.params[k] != default
        ]
        lib = op.params.get("lib", "np")
        if prim.helper:
            func = ast.Name(prim.helper, ast.Load())
        elif lib == "math":
            func = _attr("math", prim.math)
        elif lib == "builtin":
            func = ast.Name(op.prim, ast.Load())
        else:
            func = _attr("np", *prim.numpy.split("."))
        return ast.Call(func, args, keywords)

    # --- statements -----------------------------------------------------------------

    def function(self) -> ast.FunctionDef:
        body: list[ast.stmt] = [ast.Expr(ast.Constant(self.spec.doc))]
        group = None
        for op in self.statements:
            section = self._section(op)
            if group is not None and group[0] != section:
                body.append(self._comment(""))
            if group is None or group[0] != section:
                body.append(self._comment(section))
            if op.loc is not None and (section, op.loc.lineno) != group:
                body.append(self._comment(_describe(op.loc)))
            group = (section, op.loc.lineno if op.loc else None)
            value = self.op_expr(op)
            if op.prim in EFFECTS:
                body.append(ast.Expr(value))
            else:
                target = ast.Name(self.names[op.out], ast.Store())
                body.append(ast.Assign([target], value))
        body.append(ast.Return(self.expr(self.returns)))
        defaults = [const_ast(d.value) for d in self.spec.defaults]
        args = ast.arguments(
            posonlyargs=[],
            args=[ast.arg(p.name) for p in self.spec.params],
            vararg=None,
            kwonlyargs=[],
            kw_defaults=[],
            kwarg=None,
            defaults=defaults,
        )
        return ast.FunctionDef(self.spec.name, args, body, [], None)

    def _comment(self, text: str) -> ast.stmt:
        self.comments.append(text)
        return _marker(len(self.comments) - 1)

    def helpers(self) -> set[str]:
        return {
            PRIMITIVES[op.prim].helper for op in self.ops if PRIMITIVES[op.prim].helper
        }

    def uses_math(self) -> bool:
        return any(op.params.get("lib") == "math" for op in self.ops)


def _line(loc: Location | None) -> int | None:
    return loc.lineno if loc else None


def _describe(loc: Location) -> str:
    text = loc.line.strip()
    if len(text) > 70:
        text = text[:67] + "..."
    return f"{loc.short()}  {text}".rstrip()


# --- helpers copied from runtime.py ---------------------------------------------------


@functools.lru_cache(maxsize=None)
def _runtime_helpers() -> dict[str, ast.FunctionDef]:
    tree = ast.parse(inspect.getsource(runtime))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


_HELPER_NAMES = frozenset(
    name
    for name in dir(runtime)
    if name.startswith("_") and callable(getattr(runtime, name))
)


def _with_dependencies(names: set[str]) -> list[ast.FunctionDef]:
    helpers = _runtime_helpers()
    needed = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        if name in needed:
            continue
        needed.add(name)
        stack.extend(
            n.id
            for n in ast.walk(helpers[name])
            if isinstance(n, ast.Name) and n.id in helpers
        )
    return [node for name, node in helpers.items() if name in needed]


def emit_module(functions: list[FunctionSpec], header: str = "") -> GeneratedModule:
    """Write the functions, and the helpers they call, as one formatted module."""
    comments: list[str] = []
    emitters = [_FunctionEmitter(spec, comments) for spec in functions]
    body: list[ast.stmt] = []
    if any(e.uses_math() for e in emitters):
        body.append(ast.Import([ast.alias("math", None)]))
    body.append(ast.Import([ast.alias("numpy", "np")]))
    body.extend(_with_dependencies(set().union(*(e.helpers() for e in emitters))))
    body.extend(e.function() for e in emitters)
    tree = ast.Module(body, [])
    text = unparse(tree)

    def comment(match: re.Match) -> str:
        note = comments[int(match.group(2))]
        return f"{match.group(1)}# {note}" if note else ""

    text = re.sub(rf"^([ \t]*){_MARKER}(\d+)$", comment, text, flags=re.M)
    if header:
        text = (
            "".join(
                f"# {line}\n".replace("# \n", "#\n") for line in header.splitlines()
            )
            + text
        )
    return GeneratedModule(format_source(text), tree, [spec.name for spec in functions])
