"""Emission: optimized statements back to a readable Python module, formatted by black.

Single-use temporaries from the same line and block are folded back into one
expression.  Values then get Python names by out-of-SSA coalescing: a liveness pass
over the structured code builds an interference graph, the values joined by a phi
(the two sides of an `if`, a loop's entry, next and exit values) share a name where
they do not interfere, and names come from one deterministic namespace: user names are
kept (a rebinding reuses the name once the old value is dead), adjoints are `d<name>`,
temporaries are named after their op.  Each group of statements from one source line
is introduced by a `# file.py:N  source` comment.  astor cannot carry comments, so
they travel as marker statements and become comments after unparsing.  Helpers from
:mod:`s2s.runtime` that the code calls are copied in, so the module needs only numpy.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import astor

from .. import runtime
from ..errors import Location
from ..ir import (
    Const,
    If,
    Loop,
    Namespace,
    Op,
    Packed,
    Role,
    Stmt,
    Structured,
    Var,
    single_indices,
    walk,
)
from ..optimize import Optimized
from ..primitives import NUMPY_TUPLES, PRIMITIVES, import_roots
from ..shapes.inference import ShapeInference
from ..structures import Layout, step
from .accumulate import accumulations
from .checkpoint import (
    CheckpointWriter,
    checkpointed_statements,
    kept_alive,
    plan_checkpoints,
)
from .compiled import for_numba, loops_on_numbers
from .inlining import Uses, inlinable, passed_on
from .naming import RESERVED, Naming
from .portable import check_portable, for_array_api, own_names
from .spelling import Spelling, const_ast, with_ellipsis
from .spelling import name as _name

_MARKER = "_s2s_marker_"


@dataclass
class GeneratedModule:
    """A generated module: astor's text, the same formatted by black, and the tree.

    `raw` is what `grad` compiles: the same statements and comments as `text`, but
    black (slow to import and to run) is left off the import path; `text`, the
    formatted module, is computed on first use.
    """

    raw: str
    tree: ast.Module
    functions: list[str] = field(default_factory=list)

    @functools.cached_property
    def text(self) -> str:
        return format_source(self.raw)


def _negated(test: ast.expr) -> ast.expr:
    """`not test`: `c` for `not c`, `a != b` for `a == b` and the like (never the
    opposite order, which NaN breaks), else `not test`."""
    opposite = {
        ast.Eq: ast.NotEq,
        ast.NotEq: ast.Eq,
        ast.Is: ast.IsNot,
        ast.IsNot: ast.Is,
    }
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return test.operand
    if isinstance(test, ast.Compare) and type(test.ops[0]) in opposite:
        if len(test.ops) == 1:
            return ast.Compare(
                test.left, [opposite[type(test.ops[0])]()], test.comparators
            )
    return ast.UnaryOp(ast.Not(), test)


def _float_guard(value: ast.expr, check: ast.stmt) -> ast.If:
    """`if type(y) is not float: check`: a Python float, the result of most scalar
    code, passes a check of its rank at the cost of one comparison, not a call."""
    test = ast.Compare(
        ast.Call(_name("type"), [value], []), [ast.IsNot()], [_name("float")]
    )
    return ast.If(test, [check], [])


def format_source(text: str) -> str:
    """Format with black; the one place that depends on black's version."""
    import black  # here, not at the top: importing black takes a tenth of a second

    return black.format_str(text, mode=black.Mode(line_length=88))


def unparse(tree: ast.AST) -> str:
    """Unparse with astor; the one place that depends on astor."""
    return astor.to_source(tree)


def _read(path: str) -> ast.expr:
    """The expression `params['W1'].b` reading part of a structured parameter."""
    return ast.parse(path, mode="eval").body


def _vars(xs: Iterable[Any]) -> list[Var]:
    return [x for x in xs if isinstance(x, Var)]


# --- choosing what to inline --------------------------------------------------------


# --- naming: out-of-SSA with an interference graph ----------------------------------


# --- the emitter --------------------------------------------------------------------


class _FunctionEmitter(CheckpointWriter):
    """Writes one optimized function: names, inlined expressions, statements."""

    def __init__(
        self, optimized: Optimized, comments: list[str], backend: str = "numpy"
    ):
        self.spec = spec = optimized.spec
        self.comments = comments
        self.stmts, self.returns = optimized.body, optimized.returns
        self.spelling = Spelling(self.expr)
        uses = Uses(self.stmts, self.returns)
        self.defs = uses.defs
        self.inlined = {
            s.out for s in walk(self.stmts) if isinstance(s, Op) and inlinable(s, uses)
        }
        self.inlined |= passed_on(self.stmts, uses, self.inlined)
        plans = []
        if spec.checkpoint is not None:
            plans = plan_checkpoints(self.stmts, self.reads)
        self.checkpoint = None if spec.checkpoint == "auto" else spec.checkpoint
        self.checkpointed = {id(p.forward): p for p in plans}
        self.checkpointed.update({id(p.reverse): p for p in plans})
        reserved = own_names() if backend == "array_api" else frozenset()
        naming = Naming(self.inlined, self.reads, reserved, kept_alive(plans))
        self.names = naming.run(self.stmts, self.returns, spec.params)
        accumulating = accumulations(
            self.stmts,
            [self.returns],
            spec.shapes,
            spec.analyses.get("classes"),
            spec.numpy,
        )
        self.ints = ShapeInference(self.stmts, {})  # which indices are Python ints
        recomputed = checkpointed_statements(plans)  # a kept state may hold arrays
        self.in_place = {  # `acc = acc + c` written `acc += c`, `out[i] = v` so too
            id(s)
            for s in walk(self.stmts)
            if id(s) in accumulating
            and id(s) not in recomputed
            and s.out not in self.inlined
            and s.args[0] not in self.inlined
            and self.names[s.args[0]] == self.names[s.out]
        }
        self.section = ""
        self.section_start = 0
        if backend == "array_api":
            self.spelling.every_axis = self.indexes_array

    def reads(self, xs: Iterable[Any]) -> list[Var]:
        """Named values read by operands, looking through inlined ones."""
        found = []
        for x in _vars(xs):
            if x in self.inlined:
                found.extend(self.reads(self.defs[x].args))
            else:
                found.append(x)
        return found

    def indexes_array(self, op: Op) -> bool:
        """Whether a getitem reads an array (not a shape, a tuple or a list)."""
        base = op.args[0]
        made = self.defs.get(base)
        prim = PRIMITIVES[made.prim] if isinstance(made, Op) else None
        return not (
            isinstance(base, Const)
            or self.ints.tuple_of(base) is not None
            or (prim and (prim.effect == "tape" or prim.scalar and prim.dtype == "int"))
            or (prim and prim.name in ("shape", "tuple"))  # tuples of sizes
        )

    # expressions

    def expr(self, x: Any) -> ast.expr:
        if isinstance(x, tuple):
            return ast.Tuple([self.expr(e) for e in x], ast.Load())
        if isinstance(x, list):
            return ast.List([self.expr(e) for e in x], ast.Load())
        if isinstance(x, dict):
            return ast.Dict(
                [const_ast(k) for k in x], [self.expr(v) for v in x.values()]
            )
        if isinstance(x, Packed):
            return self.packed(x.like.layout, iter(x.leaves), x.like.name)
        if isinstance(x, Const):
            return const_ast(x.value)
        if x in self.inlined:
            return self.spelling.op(self.defs[x])
        return _name(self.names[x])

    def packed(self, layout: Layout, leaves: Iterator[Any], like: str) -> ast.expr:
        """A structure of `layout` holding the next `leaves` (a structured
        parameter's gradient); a namedtuple is made by the type of `like`, the
        structure it mirrors (`type(params)(W=dW, b=db)`)."""
        if not layout.is_structure:
            return self.expr(next(leaves))
        items = [
            self.packed(item, leaves, like + step(layout, key))
            for key, item in zip(layout.keys, layout.items)
        ]
        if layout.kind == "dict":
            return ast.Dict([const_ast(k) for k in layout.keys], items)
        if layout.kind == "namedtuple":
            made = ast.Call(ast.Name("type", ast.Load()), [_read(like)], [])
            fields = [ast.keyword(k, v) for k, v in zip(layout.keys, items)]
            return ast.Call(made, [], fields)
        if layout.kind == "list":
            return ast.List(items, ast.Load())
        return ast.Tuple(items, ast.Load())

    def unpacked_inputs(self) -> list[ast.stmt]:
        """`W1 = params["W1"]`: each leaf of a structured parameter read on entry."""
        lines = []
        for value in self.spec.inputs or ():
            if isinstance(value, Structured):
                for leaf, path in zip(value.leaves, value.paths()):
                    if isinstance(leaf, Var):
                        target = ast.Name(self.names[leaf], ast.Store())
                        lines.append(ast.Assign([target], _read(path)))
        return lines

    # statements

    def block(self, stmts: list[Stmt], line: int | None = None) -> list[ast.stmt]:
        body: list[ast.stmt] = []
        shown = [s for s in stmts if not (isinstance(s, Op) and s.out in self.inlined)]
        joined: set[int] = set()
        for k, s in enumerate(shown):
            if id(s) in joined:
                continue
            if isinstance(s, Op) and s.prim == "section":
                if self.section and len(body) == self.section_start:
                    body.pop()  # a section with no code (a gradient needing no forward)
                elif self.section:
                    body.append(self.comment(""))
                self.section = s.params["name"]
                body.append(self.comment(self.section))
                self.section_start = len(body)
                line = None
                continue
            starts_line = s.loc is not None and s.loc.lineno != line
            after = shown[k + 1] if k + 1 < len(shown) else None
            if self.items_of_one_call(s, after):
                code = [self.unpacked(s, after)]
                joined.add(id(after))
            else:
                code = self.statement(s, s.loc.lineno if starts_line else line)
            if code and starts_line:
                body.append(self.comment(_describe(s.loc)))
                line = s.loc.lineno
            body.extend(code)
        return body

    def statement(self, s: Stmt, line: int | None) -> list[ast.stmt]:
        if isinstance(s, If):
            return self.if_statement(s, line)
        if isinstance(s, Loop):
            return self.loop_statement(s, line)
        value = self.spelling.op(s)
        if PRIMITIVES[s.prim].guarded:
            return [_float_guard(value.args[0], ast.Expr(value))]
        if PRIMITIVES[s.prim].effect == "raise":
            return [ast.Raise(value, None)]
        if not PRIMITIVES[s.prim].has_value:
            return [ast.Expr(value)]
        if len(s.outs) > 1:
            target = ast.Tuple(
                [_name(self.names[v], True) for v in s.outs], ast.Store()
            )
            return [ast.Assign([target], value)]
        if s.outs:
            return [ast.Assign([_name(self.names[s.outs[0]], True)], value)]
        if id(s) in self.in_place:
            return [self.update_in_place(s)]
        if (
            s.prim == "copy"
            and isinstance(value, ast.Name)
            and value.id == self.names[s.out]
        ):
            return []
        return [ast.Assign([_name(self.names[s.out], True)], value)]

    def update_in_place(self, s: Op) -> ast.stmt:
        """`out[i] = v` for a setitem into an array nothing else reads; else
        `acc += c` (see accumulate_in_place)."""
        if not PRIMITIVES[s.prim].takes_index:
            return self.accumulate_in_place(s)
        array, value, *parts = s.args
        index = self.full(self.spelling.index(s.params["spec"], map(self.expr, parts)))
        target = ast.Subscript(_name(self.names[array]), index, ast.Store())
        return ast.Assign([target], self.expr(value))

    def full(self, index: ast.expr) -> ast.expr:
        """An index into an array the function made, naming every axis where the
        backend asks it to (see Spelling.every_axis)."""
        return index if self.spelling.every_axis is None else with_ellipsis(index)

    def items_of_one_call(self, s: Stmt, after: Stmt | None) -> bool:
        """Whether s and the statement after it are two items of one call of a numpy
        function that returns a tuple (`w` and `V` of `np.linalg.eigh(a)`)."""
        if not (isinstance(s, Op) and isinstance(after, Op)) or s.outs or after.outs:
            return False
        first, second = PRIMITIVES[s.prim], PRIMITIVES[after.prim]
        return (
            first.item is not None
            and second.item is not None
            and first.numpy == second.numpy
            and first.item != second.item
            and s.args == after.args
            and s.params == after.params
            and not {id(s), id(after)} & self.in_place
        )

    def unpacked(self, s: Op, after: Op) -> ast.stmt:
        """`w, V = np.linalg.eigh(a)`: the call once, its items named (`_` for one
        that is not used)."""
        call = self.spelling.op(s).value  # the call, without its item
        names = {PRIMITIVES[o.prim].item: self.names[o.out] for o in (s, after)}
        count = len(NUMPY_TUPLES[PRIMITIVES[s.prim].numpy])
        target = ast.Tuple(
            [_name(names.get(k, "_"), True) for k in range(count)], ast.Store()
        )
        return ast.Assign([target], call)

    def accumulate_in_place(self, s: Op) -> ast.stmt:
        """`acc += c`; `acc[i] += g` when c scatters g into zeros at a basic index
        (integers and slices pick each element once), which costs the size of g, not
        of acc: a loop over the rows of x accumulates dx row by row."""
        acc, c = s.args
        target: ast.expr = _name(self.names[acc], True)
        scatter = self.defs.get(c) if c in self.inlined else None
        if isinstance(scatter, Op) and scatter.prim == "unindex":
            spec, parts = scatter.params["spec"], scatter.args[2:]
            basic = all(item[0] in ("slice", "value") for item in spec[1:])
            values = [p for item, p in zip(single_indices(spec), parts) if item]
            if basic and all(self.ints.is_int(p) for p in values):
                index = self.full(self.spelling.index(spec, map(self.expr, parts)))
                target = ast.Subscript(_name(self.names[acc]), index, ast.Store())
                c = scatter.args[0]
        return ast.AugAssign(target, ast.Add(), self.expr(c))

    def copies(self, dsts: list[Var], srcs: list[Any]) -> list[ast.stmt]:
        """`dst = src` for each pair whose names differ; one tuple assignment when a
        later copy would read what an earlier one overwrote."""
        pairs = []
        for d, s in zip(dsts, srcs):
            if s is None:
                continue
            value = self.expr(s)
            if isinstance(value, ast.Name) and value.id == self.names[d]:
                continue
            pairs.append(
                (self.names[d], value, set(self.names[v] for v in self.reads([s])))
            )
        written: set[str] = set()
        hazard = False
        for name, _, read in pairs:
            hazard |= bool(read & written)
            written.add(name)
        if hazard:
            targets = ast.Tuple([_name(n, True) for n, _, _ in pairs], ast.Store())
            return [
                ast.Assign([targets], ast.Tuple([v for _, v, _ in pairs], ast.Load()))
            ]
        return [ast.Assign([_name(n, True)], v) for n, v, _ in pairs]

    def if_statement(self, s: If, line: int | None) -> list[ast.stmt]:
        then = self.block(s.then, line) + self.copies(s.outs, s.then_vals)
        orelse = self.block(s.orelse, line) + self.copies(s.outs, s.else_vals)
        single = (
            len(s.outs) == 1
            and len(then) == len(orelse) == 1
            and all(isinstance(b[0], ast.Assign) for b in (then, orelse))
            and then[0].targets[0].id
            == orelse[0].targets[0].id
            == self.names[s.outs[0]]
        )
        if single:
            choice = ast.IfExp(self.expr(s.cond), then[0].value, orelse[0].value)
            return [ast.Assign([_name(self.names[s.outs[0]], True)], choice)]
        if then and isinstance(then[-1], ast.Raise):  # no else: it never goes on
            return [ast.If(self.expr(s.cond), then, [])] + orelse
        if orelse and isinstance(orelse[-1], ast.Raise):
            return [ast.If(_negated(self.expr(s.cond)), orelse, [])] + then
        if not then and orelse:
            return [ast.If(_negated(self.expr(s.cond)), orelse, [])]
        return [ast.If(self.expr(s.cond), then or [ast.Pass()], orelse)]

    def loop_statement(self, s: Loop, line: int | None) -> list[ast.stmt]:
        plan = self.checkpointed.get(id(s))
        if plan is not None and plan.forward is s:
            return self.checkpointed_forward(s, line)
        if plan is not None:
            return self.checkpointed_reverse(s, line)
        before = self.copies(s.carried, s.inits)
        body = self.block(s.body, line) + self.copies(s.carried, s.nexts)
        if s.stop is not None:
            body.append(ast.If(self.expr(s.stop), [ast.Break()], []))
        if all(_is_marker(b) for b in body):
            body.append(ast.Pass())
        if s.iterable is not None:
            target = _name(self.names[s.index] if s.index else "_", True)
            return before + [
                ast.For(target, self.expr(s.iterable), body or [ast.Pass()], [])
            ]
        header = self.block(s.header, line)
        if not header:
            return before + [ast.While(self.expr(s.cond), body or [ast.Pass()], [])]
        exit_ = ast.If(ast.UnaryOp(ast.Not(), self.expr(s.cond)), [ast.Break()], [])
        return before + [ast.While(ast.Constant(True), header + [exit_] + body, [])]

    def function(self) -> ast.FunctionDef:
        body: list[ast.stmt] = [ast.Expr(ast.Constant(self.spec.doc))]
        body += self.unpacked_inputs()
        body += self.block(self.stmts)
        body.append(ast.Return(self.expr(self.returns)))
        params = self.spec.params
        keywords = [p for p in params if p.role == Role.KEYWORD]
        taken = self.spec.inputs or [p for p in params if p.role != Role.KEYWORD]
        args = ast.arguments(
            posonlyargs=[],
            args=[ast.arg(p.name) for p in taken],
            vararg=None,
            kwonlyargs=[ast.arg(p.name) for p in keywords],
            kw_defaults=[None] * len(keywords),
            kwarg=None,
            defaults=[const_ast(d.value) for d in self.spec.defaults],
        )
        return ast.FunctionDef(self.spec.name, args, body, [], None)

    def comment(self, text: str) -> ast.stmt:
        self.comments.append(text)
        return ast.Expr(ast.Name(f"{_MARKER}{len(self.comments) - 1}", ast.Load()))

    @functools.cached_property
    def namespace(self) -> Namespace:
        """The names the function's values and imports hold: fresh names for the
        code of checkpoints are taken around them (made only for that code)."""
        return Namespace(set(self.names.values()) | RESERVED | import_roots())

    def fresh(self, hint: str) -> str:
        return self.namespace.fresh(hint)

    def helpers(self) -> set[str]:
        found = {
            PRIMITIVES[s.prim].helper
            for s in walk(self.stmts)
            if isinstance(s, Op)
            and PRIMITIVES[s.prim].helper
            and not s.params.get("attr")  # `x.size`
        }
        return found | ({"_checkpoint", "_revolve"} if self.checkpointed else set())

    def imports(self) -> set[str]:
        """Modules the custom functions called here are imported from."""
        return {
            PRIMITIVES[s.prim].python.rsplit(".", 1)[0]
            for s in walk(self.stmts)
            if isinstance(s, Op) and PRIMITIVES[s.prim].python
        } - {"np"}

    def uses_math(self) -> bool:
        return any(
            isinstance(s, Op) and s.params.get("lib") == "math"
            for s in walk(self.stmts)
        )


def _is_marker(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Name)


def _describe(loc: Location) -> str:
    text = loc.line.strip()
    if len(text) > 70:
        text = text[:67] + "..."
    return f"{loc.short()}  {text}".rstrip()


# --- helpers copied from s2s.runtime ---------------------------------------------------


def _reads_math(helper: ast.FunctionDef) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "math" for n in ast.walk(helper))


def emit_module(
    functions: list[Optimized], header: str = "", backend: str = "numpy"
) -> GeneratedModule:
    """Write the optimized functions, and the helpers they call, as one module
    (for `backend`: see :mod:`s2s.backends`)."""
    if backend == "array_api":
        check_portable(functions)
    comments: list[str] = []
    emitters = [_FunctionEmitter(spec, comments, backend) for spec in functions]
    body: list[ast.stmt] = []
    imports = set().union(*(e.imports() for e in emitters))
    helpers = runtime.with_dependencies(set().union(*(e.helpers() for e in emitters)))
    if (
        any(e.uses_math() for e in emitters)
        or "math" in imports
        or any(_reads_math(h) for h in helpers)  # _digamma, called with numbers
    ):
        body.append(ast.Import([ast.alias("math", None)]))
    body.append(ast.Import([ast.alias("numpy", "np")]))
    body.extend(ast.Import([ast.alias(m, None)]) for m in sorted(imports - {"math"}))
    body.extend(helpers)
    body.extend(e.function() for e in emitters)
    if backend in _REWRITES:
        rewrite, rewritten = _REWRITES[backend]
        chosen = [e.spec.name for e in emitters if rewritten(e)]
        body = rewrite(body, chosen, _is_comment)
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
    return GeneratedModule(text, tree, [f.spec.name for f in functions])


#: How each backend other than numpy rewrites a module (see :mod:`s2s.backends`),
#: and which of its functions.
_REWRITES = {
    "numba": (for_numba, lambda emitter: loops_on_numbers(emitter.spec, emitter.stmts)),
    "array_api": (for_array_api, lambda emitter: True),
}


def _is_comment(statement: ast.stmt) -> bool:
    """Whether a statement stands for a comment (see `comment`)."""
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Name)
        and statement.value.id.startswith(_MARKER)
    )
