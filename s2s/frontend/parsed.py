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
import re
import textwrap
import types
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy

from ..errors import CheckpointError, Location, ShapeSpecError, UnsupportedSyntaxError
from ..primitives import HELPERS, REWRITTEN, loaded_object, lookup_object


@dataclass(frozen=True)
class Binding:
    """What a free name in the function refers to.

    kind is one of: "numpy" / "math" (the module), "module" (another module: value
    is its dotted name), "const" (a constant of numpy or math, inlined), "data" (a
    number, an array or a structure of them, read when the gradient runs: value is
    a :class:`Free`), "primitive" (a function s2s has a rule for: value is
    (primitive, library)), "builtin" (value is the built-in's name), "function" (a
    user function, inlined), "rewritten" (a numpy function lowered as others, see
    s2s.lower.rewrites: value is its name).
    """

    kind: str
    value: Any = None
    source: Free | None = None  # where a live function was found (a global, a cell)


#: The value of a free name that only running the file would tell.
UNKNOWN = object()


@dataclass(frozen=True, eq=False)
class Free:
    """Where a free name's value lives, read each time the gradient runs: a global
    `name` of the module `module` (where "global"; module "" for a namespace no
    import reaches, code run by `exec`), or a closure variable of the function
    `owner` (where "cell").  `value` is its value now (UNKNOWN for a file read
    without running it): what s2s folds in where it must know it when it generates
    the code (an axis, say), and then checks on entry."""

    where: str
    module: str
    name: str
    value: Any = UNKNOWN
    owner: str = ""

    def describe(self) -> str:
        """What the name is, said for messages."""
        if self.where == "cell":
            return f"'{self.name}', a closure variable of {self.owner}"
        return f"'{self.name}', a global of the module {self.module or self.owner}"


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
    #: Parameters bound to an object (a bound method's `self`), whose attributes
    #: the function reads: name -> the object.
    objects: dict[str, Any] = field(default_factory=dict, repr=False)
    #: Parameters given a function (`act=np.tanh`), for which the code is
    #: generated: name -> the function.
    functions: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def params(self) -> list[str]:
        """The parameters, keyword-only ones last (in generated code read back,
        those are what its caller passes, not parameters)."""
        args = self.node.args
        keywords = [] if self.generated else args.kwonlyargs
        rest = [args.vararg] if args.vararg is not None else []  # one tuple: *xs
        return [a.arg for a in args.posonlyargs + args.args + rest + keywords]

    @property
    def vararg(self) -> str | None:
        """The name of `*args`, a parameter that holds a tuple of the arguments."""
        vararg = self.node.args.vararg
        return vararg.arg if vararg is not None else None

    @property
    def keyword_only(self) -> int:
        """How many of the last parameters are keyword-only."""
        return 0 if self.generated else len(self.node.args.kwonlyargs)

    def shape_annotations(self) -> dict[str, tuple]:
        """The shape patterns the parameters are annotated with: a string of
        dimensions (`W: "n m"`, `b: "m"`, `x: "1 m"`; `""` for a scalar), the same
        string in a form type checkers read (`Annotated[np.ndarray, "n m"]`,
        jaxtyping's `Float[np.ndarray, "n m"]`), or `float`; other annotations say
        nothing of shapes.  Read from the syntax tree, so jaxtyping need not be
        installed for the command line, which never imports the file."""
        patterns = {}
        args = self.node.args
        for arg in args.posonlyargs + args.args:
            found = shape_of_annotation(arg.annotation)
            if found is None:
                continue
            patterns[arg.arg] = self.pattern_of(found, arg.arg)
        return patterns

    def pattern_of(self, found: ast.Constant | tuple, name: str) -> tuple:
        """The shape pattern an annotation writes (see :func:`shape_of_annotation`)."""
        if isinstance(found, tuple):
            return found
        dims = found.value.replace(",", " ").split()
        bad = [d for d in dims if d != "1" and not d.isidentifier()]
        if bad:
            raise ShapeSpecError(
                f"cannot read the shape {found.value!r} of {name}: "
                f"{bad[0]!r} is neither 1 nor a name",
                self.location(found),
                'Write the dimensions as names or 1, e.g. x: "batch 1 n" (or '
                'Annotated[np.ndarray, "batch 1 n"]).',
            )
        return tuple(1 if d == "1" else d for d in dims)

    @property
    def generated(self) -> bool:
        """Whether this is code s2s generated, read back to differentiate again."""
        return self.filename.startswith("<s2s-generated") or bool(
            self.lines and self.lines[0].startswith("# Generated by s2s")
        )

    def location(self, node: ast.AST) -> Location:
        lineno = getattr(node, "lineno", self.node.lineno)
        col = getattr(node, "col_offset", 0) + self.col_shift
        line = self.lines[lineno - 1] if 0 < lineno <= len(self.lines) else ""
        return Location(
            self.filename, lineno, col, line.rstrip("\n"), self._origin(lineno)
        )

    def _origin(self, lineno: int) -> Location | None:
        """In code s2s generated, the user's line that `lineno` differentiates: the
        `# file.py:N  source` comment above it, within the function."""
        if not self.generated:
            return None
        for k in range(min(lineno, len(self.lines)) - 1, self.node.lineno - 2, -1):
            found = _SOURCE_COMMENT.match(self.lines[k])
            if found:
                name, number, text = found.groups()
                return Location(name, int(number), 0, text)
        return None

    def error(
        self,
        node: ast.AST,
        message: str,
        hint: str = "",
        kind: type[UnsupportedSyntaxError] = UnsupportedSyntaxError,
    ) -> UnsupportedSyntaxError:
        return kind(message, self.location(node), hint)


#: jaxtyping's array annotations (`Float[np.ndarray, "n h"]`), recognised by name:
#: their second item is the shape string.
JAXTYPING_TYPES = frozenset(
    {"Shaped", "Num", "Real", "Inexact", "Float", "Integer", "Int", "UInt", "Bool"}
    | {"Complex", "BFloat16", "Float8e4m3fn", "Float8e5m2", "Key", "PRNGKeyArray"}
    | {f"Float{n}" for n in (16, 32, 64)}
    | {f"Int{n}" for n in (2, 4, 8, 16, 32, 64)}
    | {f"UInt{n}" for n in (2, 4, 8, 16, 32, 64)}
    | {f"Complex{n}" for n in (64, 128)}
)
_SCALAR_TYPES = ("float", "int")


def shape_of_annotation(note: ast.expr | None) -> ast.Constant | tuple | None:
    """Where an annotation writes a shape: the string node (`"n h"`, in any of the
    forms of :meth:`ParsedFunction.shape_annotations`), `()` for `float` or `int`,
    or None when it says nothing of shapes."""
    if isinstance(note, ast.Name) and note.id in _SCALAR_TYPES:
        return ()
    if isinstance(note, ast.Constant) and isinstance(note.value, str):
        inner = _quoted_subscript(note.value)
        return note if inner is None else shape_of_annotation(inner)
    if not isinstance(note, ast.Subscript) or not isinstance(note.slice, ast.Tuple):
        return None
    kind = last_name(note.value)
    items = note.slice.elts
    if kind == "Annotated" and items:  # Annotated[type, "n h", ...]
        strings = [
            item
            for item in items[1:]
            if isinstance(item, ast.Constant) and isinstance(item.value, str)
        ]
        return strings[0] if strings else shape_of_annotation(items[0])
    if kind in JAXTYPING_TYPES and len(items) == 2:  # Float[np.ndarray, "n h"]
        shape = items[1]
        if isinstance(shape, ast.Constant) and isinstance(shape.value, str):
            return shape
    return None


def last_name(node: ast.expr) -> str | None:
    """`Annotated` for `Annotated`, `typing.Annotated` or `t.Annotated`."""
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def _quoted_subscript(text: str) -> ast.Subscript | None:
    """The annotation a string quotes, when it is a subscript
    (`"Float[np.ndarray, 'n h']"`, a forward reference); None for a shape string."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    return node if isinstance(node, ast.Subscript) else None


#: The comment s2s writes above the code of each source line: `# file.py:N  source`.
def default_nodes(args: ast.arguments) -> list[ast.expr]:
    """The defaults of a signature, keyword-only parameters' included, which then
    belong to its last parameters."""
    return list(args.defaults) + [d for d in args.kw_defaults if d is not None]


def defaults_problem(args: ast.arguments) -> ast.arg | None:
    """The keyword-only parameter without a default that follows one with a
    default (s2s keeps the defaults of the last parameters), else None."""
    defaulted = bool(args.defaults)
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        if default is None and defaulted:
            return arg
        defaulted = defaulted or default is not None
    return None


_SOURCE_COMMENT = re.compile(r"^\s*# ([^\s:]+):(\d+)  (.*?)\s*$")


def classify(value: Any) -> Binding | None:
    """The binding for a run-time value found in a function's globals or closure."""
    if value is numpy:
        return Binding("numpy")
    if value is math:
        return Binding("math")
    if is_data(value):
        return Binding("data", value)
    if isinstance(value, types.ModuleType):
        return Binding("module", value.__name__)
    try:
        known = lookup_object(value)
    except TypeError:  # unhashable: not a function
        known = None
    if known is not None:
        return Binding("primitive", known)
    name = getattr(value, "__name__", None)
    if name in REWRITTEN and getattr(numpy, name, None) is value:
        return Binding("rewritten", name)
    if name and getattr(builtins, name, None) is value:
        return Binding("builtin", name)
    generated = generated_function(value)
    if generated is not None:  # a gradient s2s made: its generated code is inlined
        refuse_checkpointed(generated)
        return Binding("function", generated)
    if isinstance(value, types.FunctionType):
        helper = runtime_helper(value)
        if helper is not None:
            return Binding("primitive", (helper, "np"))
        return Binding("function", value)
    return Binding("unsupported", value)


def is_data(value: Any) -> bool:
    """Whether a free name's value is data the gradient reads when it runs: a
    number, a string, None, an array (of numpy or another library), or a tuple,
    list or dict of them."""
    if value is None or isinstance(value, (numbers.Number, str, numpy.generic)):
        return True
    if isinstance(value, (tuple, list)):
        return all(is_data(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_data(v) for k, v in value.items())
    shape = getattr(type(value), "shape", None)
    return isinstance(value, numpy.ndarray) or (
        shape is not None and hasattr(value, "dtype") and not callable(value)
    )


def free_names(node: ast.FunctionDef) -> list[str]:
    """The names a function reads that are not its parameters, sorted: in its
    defaults and its body (annotations are declarations, never read).

    Locals are kept: s2s resolves a name it has not seen assigned yet from the
    module, so a local that shadows a module constant may still read it.
    """
    args = node.args
    params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    parts = [*args.defaults, *(d for d in args.kw_defaults if d), *node.body]
    loaded = {
        n.id
        for part in parts
        for n in ast.walk(part)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    return sorted(loaded - params)


def foldable(value: Any) -> bool:
    """Whether data can be written into code as a literal: a number, a string, None,
    or a tuple or list of them."""
    if value is None or isinstance(value, (bool, int, float, str, numpy.generic)):
        return True
    return isinstance(value, (tuple, list)) and all(foldable(v) for v in value)


def literal(value: Any) -> Any:
    """Foldable data as code writes it: numpy scalars as numbers, lists as tuples."""
    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, (tuple, list)):
        return tuple(literal(v) for v in value)
    return value


def generated_function(value: Any) -> types.FunctionType | None:
    """The generated Python function behind a transform s2s made (`s2s.grad(f)`), whose
    source s2s reads to differentiate it again; None for anything else."""
    try:
        found = getattr(value, "__s2s_source__", None)
    except Exception:  # a proxy object whose attributes raise
        return None
    return found if isinstance(found, types.FunctionType) else None


def refuse_checkpointed(generated: types.FunctionType) -> None:
    """Refuse to differentiate a gradient generated with checkpoint= (its reverse
    sweep runs a schedule, which s2s does not differentiate)."""
    if "_revolve" in generated.__globals__:
        raise CheckpointError(
            f"{generated.__name__} is a checkpointed gradient (checkpoint=), which "
            "s2s does not differentiate again",
            hint="For second derivatives differentiate the gradient made without "
            "checkpoint= (s2s.grad(s2s.grad(f))), or use s2s.hvp(f, ...).",
        )


@functools.lru_cache(maxsize=None)
def _runtime_definition(name: str) -> str | None:
    """The syntax tree of the runtime's helper `name`, dumped (None: no such helper)."""
    from .. import runtime  # here: only code that calls a helper needs it

    node = runtime.definitions().get(name)
    return ast.dump(node) if node is not None else None


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
    if ast.dump(definition) != _runtime_definition(name):
        return None
    return HELPERS[name]


def module_attribute(module: str, name: str) -> Binding | None:
    """`mylib.name` for one of the user's modules (already imported; the command
    line imports nothing): a function, found through the module, or data, read
    from it when the gradient runs; None for anything else (numpy's and math's
    functions are primitives)."""
    if module.split(".")[0] in ("numpy", "math"):
        return None
    value = loaded_object(f"{module}.{name}")
    kind = classify(value).kind if value is not None else None
    if kind not in ("data", "function"):
        return None
    read = Free("global", module, name, value)
    return Binding("data", read) if kind == "data" else Binding("function", value, read)


_ARRAY_ATTRIBUTES = frozenset(dir(numpy.ndarray))


def reads_structures(parsed: ParsedFunction) -> bool:
    """Whether the function reads a parameter as only a structure can be read (see
    s2s.structures): by a string key (`params["W1"]`, `params[f"W{i}"]`), by a
    field no array has (`p.W`), by a dict's items, or unpacking it (`W, b =
    params`) or each item as it loops over it (`for W, b in layers`)."""
    params = set(parsed.params) - set(parsed.objects) - set(parsed.functions)

    def root(node: ast.expr) -> str | None:
        while isinstance(node, (ast.Subscript, ast.Attribute)):
            node = node.value
        return node.id if isinstance(node, ast.Name) else None

    for node in ast.walk(parsed.node):
        if isinstance(node, ast.Subscript) and root(node.value) in params:
            key = node.slice
            if isinstance(key, ast.JoinedStr) or (
                isinstance(key, ast.Constant) and isinstance(key.value, str)
            ):
                return True
        if isinstance(node, ast.Attribute) and root(node.value) in params:
            if node.attr not in _ARRAY_ATTRIBUTES:  # p.W, params.items()
                return True
        if (  # for W, b in layers; for k, (W, b) in enumerate(zip(Ws, bs))
            isinstance(node, (ast.For, ast.comprehension))
            and isinstance(node.target, ast.Tuple)
            and any(
                isinstance(n, ast.Name) and n.id in params for n in ast.walk(node.iter)
            )
        ):
            return True
        if (  # W, b = params
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Tuple)
            and root(node.value) in params
        ):
            return True
    return False
