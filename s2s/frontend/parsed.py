"""What the frontend hands on: a :class:`ParsedFunction` (a function's syntax tree,
where it came from, and how its free names resolve), and the :class:`Binding` of a
free name: the numpy or math module, a constant, a known function, a user function.
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import math
import numbers
import textwrap
import types
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy

from ..errors import Location, ShapeSpecError, UnsupportedSyntaxError
from ..primitives import HELPERS, lookup_object


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
    from .. import runtime  # here: only code that calls a helper needs it

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
