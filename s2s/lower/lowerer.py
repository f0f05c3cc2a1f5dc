"""The lowering stage: a parsed function becomes an SSA graph of primitive ops and
regions (the graph :mod:`s2s.ad` differentiates).

:class:`Lowerer` holds what lowering one function needs (the builder, the
environment of names, the function's tapes, the aliasing analysis) and combines the
visitors of :mod:`.statements`, :mod:`.loops`, :mod:`.expressions`, :mod:`.calls`,
:mod:`.comprehensions`, :mod:`.rewrites` and :mod:`.readback`.  The visitor is an
allowlist: a syntax node without a `stmt_*` or
`expr_*` method is rejected with an :class:`~s2s.errors.UnsupportedSyntaxError`
naming the construct and saying what to do.
"""

from __future__ import annotations

import ast
from typing import Any, Callable

import numpy

from ..errors import ReadAsStructureError, UnsupportedSyntaxError
from ..frontend import ParsedFunction, StaticGradient, classify
from ..frontend.normalize import normalize_block, returns_out_of_loops
from ..frontend.parsed import defaults_problem, is_data
from ..ir import (
    Builder,
    Const,
    Graph,
    Namespace,
    Operand,
    Role,
    Stmt,
    Structured,
    Var,
)
from ..structures import Layout, leaf_hint
from .aliasing import Aliasing
from .calls import Calls
from .comprehensions import Comprehensions
from .environment import RESULT, Value, identity
from .expressions import Expressions
from .free import FreeReads, Route, passed_names
from .loops import Loops
from .readback import ReadBack, SavedLists
from .rewrites import Rewrites
from .statements import Statements
from .syntax import ADVICE, describe, is_docstring


class Lowerer(
    Statements, Loops, Expressions, Calls, Comprehensions, Rewrites, ReadBack
):
    """Turns one :class:`ParsedFunction` into a :class:`Graph` (and inlines callees)."""

    def __init__(
        self,
        fn: ParsedFunction,
        builder: Builder | None = None,
        active_calls: tuple[Any, ...] = (),
        gradient_code: Callable[[StaticGradient], ParsedFunction] | None = None,
    ):
        self.fn = fn
        self.gradient_code = gradient_code
        if builder is None:
            builder = Builder(Namespace())
            builder.identities = False  # the user's values may be bools or ints
        self.builder = builder
        self.names = self.builder.names
        self.env: dict[str, Value] = {}
        self.loop_depth = 0
        self.active_calls = active_calls + (identity(fn),)
        self.return_loc = fn.location(fn.node)
        self.top = self.builder.ops  # the function body's own block
        self.saved = SavedLists()  # the tapes of generated code read back
        self.aliasing = Aliasing(self)
        self.free = FreeReads(self.top, self.return_loc, self.names, self.builder.defs)
        self.route: Route = ()  # how this function is reached from the top
        self.enclosing: Lowerer | None = None  # the definer of a local function
        self.objects: dict[Var, Any] = {}  # values that are objects (`self`)
        self.layouts: dict[str, Layout] = {}  # the structured parameters' layouts
        self.unnamed_leaves: set[Var] = set()  # leaves named by their paths
        self.has_aux = False  # the function returns (value, aux)

    def run(self) -> Graph:
        node = self.fn.node
        self._check_signature(node.args)
        params: list[Var] = []
        inputs: list[Var | Structured] = []
        for name in self.fn.params:
            layout = self.layouts.get(name)
            if layout is not None and layout.is_structure:
                structured = self._structured(name, layout)
                self.env[name] = structured.held()
                inputs.append(structured)
                params += [v for v in structured.leaves if isinstance(v, Var)]
                continue
            var = Var(self.names.fresh(name), name, Role.PARAM)
            inputs.append(var)
            self.env[name] = var
            if name in self.fn.objects:
                self.objects[var] = self.fn.objects[name]
            if name in self.fn.functions:  # called: the code is for this function
                self.env[name] = classify(self.fn.functions[name])
            params.append(var)
        for name in passed_names(self.fn):  # keyword parameters keep their names
            self.names.reserve(name)
        for arg in node.args.kwonlyargs if self.fn.generated else ():
            # generated code's: what its caller passes
            self.names.reserve(arg.arg)
            self.env[arg.arg] = Var(arg.arg, arg.arg, Role.KEYWORD)
            self.free.keywords.append(self.env[arg.arg])
        self.aliasing.borrowed = list(params)
        self.body(node)
        params += self.free.keywords
        self.aliasing.check_part_updates()
        result, aux = self.env[RESULT], None
        if self.has_aux:
            result, aux = self._with_aux(result, node)
        if isinstance(result, (tuple, dict)):
            raise self.fn.error(
                node,
                f"{node.name} returns a tuple; a gradient needs a scalar result",
                "Return a single scalar (for example the sum of the parts)"
                + (
                    "; a gradient of a function returning (value, aux) is taken "
                    "with has_aux=True (s2s generate --has-aux)."
                    if isinstance(result, tuple) and len(result) == 2
                    else "."
                ),
            )
        if isinstance(result, Const) and not isinstance(result.value, (int, float)):
            raise UnsupportedSyntaxError(
                f"{node.name} returns {result.value!r}, which has no derivative",
                self.return_loc,
                "Return the number (a scalar) to differentiate.",
            )
        defaults = tuple(self._default(v, node) for v in self.fn.defaults)
        return Graph(
            node.name,
            params,
            self.builder.ops,
            result,
            defaults,
            self.return_loc,
            self.free.patterns,
            inputs if any(isinstance(i, Structured) for i in inputs) else None,
            aux,
        )

    def _structured(self, name: str, layout: Layout) -> Structured:
        """A structured parameter: a parameter per leaf (named after its key or
        field), a constant per constant leaf."""
        self.names.reserve(name)  # `W = params["W"]` must not hide params
        leaves: list[Operand] = []
        for path, leaf in layout.leaves(name):
            if leaf.kind == "const":
                leaves.append(Const(leaf.value))
                continue
            hint = leaf_hint(path)
            leaves.append(Var(self.names.fresh(hint), hint, Role.PARAM))
            if not hint.startswith(name + "_"):  # named after its key: `W1`
                self.unnamed_leaves.discard(leaves[-1])
            else:
                self.unnamed_leaves.add(leaves[-1])
        return Structured(name, layout, leaves)

    def name_leaf(self, value: Value, name: str) -> None:
        """A leaf of a structure without a key to be named after (`layers[0][1]`)
        takes the first name the function gives it (`for W, b in layers`)."""
        if (
            isinstance(value, Var)
            and value in self.unnamed_leaves
            and name.isidentifier()  # not a name s2s made (`<x 123>`)
        ):
            self.unnamed_leaves.discard(value)
            value.name, value.hint = self.names.fresh(name), name

    def _with_aux(self, result: Value, node: ast.FunctionDef) -> tuple[Value, Value]:
        """`return loss, aux` of a function differentiated with has_aux."""
        if not isinstance(result, tuple) or len(result) != 2:
            raise self.fn.error(
                node,
                f"{node.name} is differentiated with has_aux=True, so it must return "
                "a pair (value, aux)",
                "Return `loss, aux`, aux being any structure of values to pass on.",
            )
        return result

    def body(self, node: ast.FunctionDef) -> None:
        """Lower a function body; its result is left in env[RESULT]."""
        body = returns_out_of_loops(node)
        body = body[1:] if body and is_docstring(body[0]) else body
        self.block(normalize_block(body))
        if RESULT not in self.env or self.env[RESULT] is None:
            raise self.fn.error(
                node,
                f"{node.name} does not return a value on every path",
                "End every path through the function with `return <value>`.",
            )

    def _check_signature(self, args: ast.arguments) -> None:
        if args.kwarg is not None:
            raise self.fn.error(
                args.kwarg,
                "**kwargs are not supported",
                "Use ordinary parameters, or pass a dict of values as one "
                "parameter (its keys are read like a structure's).",
            )
        vararg = self.fn.vararg
        if vararg is not None and args.defaults:
            raise self.fn.error(
                args.defaults[0],
                f"a parameter before *{vararg} has a default",
                f"Give the parameters before *{vararg} no defaults, or make "
                f"them keyword-only (after *{vararg}).",
            )
        if vararg is not None and vararg not in self.layouts:
            raise self.fn.error(
                args.vararg,
                f"*{vararg} holds a tuple whose length is known only when the "
                "function is called",
                "s2s.grad writes code for the number of arguments it is called "
                f"with; for the command line, take the tuple as one parameter "
                f"declared in the signature: {vararg}: Annotated[tuple, ('n', 'n')].",
                ReadAsStructureError,
            )
        late = defaults_problem(args)
        if late is not None:
            raise self.fn.error(
                late,
                f"the keyword-only parameter '{late.arg}' has no default, but a "
                "parameter before it has one",
                f"Give {late.arg} a default, or move it before the parameters "
                "with defaults.",
            )

    def _default(self, value: Any, node: ast.AST) -> Const:
        if isinstance(value, (bool, int, float, str)) or value is None:
            return Const(value)
        if callable(value) and not is_data(value):  # passed by s2s.grad's shim
            return Const(None)
        if isinstance(value, numpy.generic) and value.dtype.kind in "biuf":
            return Const(value.item())
        raise self.fn.error(
            node,
            f"default value {value!r} is not a number",
            "Use numbers (or None) as defaults, or pass the value explicitly.",
        )

    def lookup(self, name: str) -> Value | None:
        """The value of a name of this function, or of the function that defines
        it (a local function reads its definer's names as they are now)."""
        if name in self.env:
            return self.env[name]
        return self.enclosing.lookup(name) if self.enclosing is not None else None

    def block(self, stmts: list[ast.stmt]) -> None:
        for stmt in stmts:
            self.stmt(stmt)

    def sub_block(self, stmts: list[ast.stmt]) -> tuple[list[Stmt], dict[str, Value]]:
        """Lower a nested block into its own op list; return the ops and the env."""
        saved_ops, saved_env = self.builder.ops, self.env
        self.builder.ops, self.env = [], dict(saved_env)
        try:
            self.block(stmts)
            return self.builder.ops, self.env
        finally:
            self.builder.ops, self.env = saved_ops, saved_env

    def stmt(self, node: ast.stmt) -> None:
        self.builder.loc = self.fn.location(node)
        visit = getattr(self, "stmt_" + type(node).__name__, None)
        if visit is None:
            self.unsupported(node)
        visit(node)

    def unsupported(self, node: ast.AST, hint: str = ""):
        kind = type(node).__name__
        hint = (
            hint
            or ADVICE.get(kind, "")
            or (
                "s2s differentiates a subset of Python: assignments, arithmetic, calls to "
                "numpy/math functions and to your own functions, if/for/while. Rewrite this "
                "part with those."
            )
        )
        raise self.fn.error(node, f"unsupported syntax: {describe(node)}", hint)

    def emit(
        self, prim: str, *args: Operand, hint: str | None = None, **params: Any
    ) -> Operand:
        return self.builder.emit(prim, *args, hint=hint, role=Role.USER, **params)


def lower(
    fn: ParsedFunction,
    gradient_code: Callable[[StaticGradient], ParsedFunction] | None = None,
    shaped: bool = False,
    layouts: dict[str, Layout] | None = None,
    has_aux: bool = False,
) -> Graph:
    """Build the SSA graph of a parsed function; `gradient_code` gives the code of a
    gradient bound in a file read statically (see s2s.pipeline), where one is called
    (a live function has none).  When `shaped`, the code is specialized for the
    shapes of the arrays it reads from outside (see :mod:`.free`).  `layouts` are
    those of the parameters that hold structures (see s2s.structures); with
    `has_aux` the function returns `(value, aux)`."""
    lowerer = Lowerer(fn, gradient_code=gradient_code)
    lowerer.free.shaped = shaped
    lowerer.layouts, lowerer.has_aux = dict(layouts or {}), has_aux
    return lowerer.run()
