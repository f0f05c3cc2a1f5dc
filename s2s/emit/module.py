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
import builtins
import functools
import inspect
import keyword
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

import astor

from .. import runtime
from ..errors import Location
from ..ir import ROLE_RANK, Const, If, Loop, Op, Stmt, Var, single_indices, walk
from ..ir import operands_of
from ..optimize.passes import accumulations, has_effect, optimize
from ..shapes.inference import ShapeInference
from ..primitives import PRIMITIVES, import_roots

_MARKER = "_s2s_marker_"
#: Names the generated code itself uses; user values never take them.
RESERVED = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | {"np", "math"}
#: Ops written as a statement of their own, with no value to name.


@dataclass
class FunctionSpec:
    """One function of a generated module."""

    name: str
    doc: str
    params: list[Var]
    defaults: tuple[Const, ...]
    sections: list[tuple[str, list[Stmt]]]  # ("forward", stmts), ("reverse", stmts)
    returns: Any  # an operand, or a nested tuple of operands
    shapes: dict[Var, Any] | None = None  # parameter -> shape pattern (s2s.shapes)
    alike: list[tuple[Var, Var]] = field(default_factory=list)  # same shapes (tangents)


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


def _name(name: str, store: bool = False) -> ast.Name:
    return ast.Name(name, ast.Store() if store else ast.Load())


def _vars(xs: Iterable[Any]) -> list[Var]:
    return [x for x in xs if isinstance(x, Var)]


# --- choosing what to inline --------------------------------------------------------


class _Uses:
    """Where each value is read: by which statement, in which block, on which line."""

    def __init__(self, stmts: list[Stmt], returns: Any):
        self.readers: dict[Var, list[tuple[Any, list[Stmt] | None, int | None]]] = (
            defaultdict(list)
        )
        self.block_of: dict[Var, list[Stmt]] = {}
        self.defs: dict[Var, Stmt] = {}
        self._block(stmts, None)
        for v in operands_of(returns):
            self.readers[v].append((None, None, None))

    def _read(self, xs, reader, block, line) -> None:
        for x in _vars(xs):
            self.readers[x].append((reader, block, line))

    def _block(self, body: list[Stmt], section: str | None) -> None:
        for s in body:
            line = s.loc.lineno if s.loc else None
            for v in s.defines:
                self.block_of[v], self.defs[v] = body, s
            if isinstance(s, Op):
                self._read(s.args, s, body, line)
            elif isinstance(s, If):
                self._read([s.cond], s, body, line)
                self._block(s.then, section)
                self._block(s.orelse, section)
                self._read(s.then_vals, s, s.then, line)
                self._read(s.else_vals, s, s.orelse, line)
            else:
                self._read([*s.inits, s.iterable], s, body, line)
                for v in s.carried + ([s.index] if s.index else []):
                    self.block_of[v], self.defs[v] = s.body, s
                self._block(s.header, section)
                self._read([s.cond], s, s.header, line)
                self._block(s.body, section)
                self._read([*s.nexts, s.stop], s, s.body, line)


def _inlinable(op: Op, uses: _Uses) -> bool:
    readers = uses.readers.get(op.out, [])
    # A tape's list is named: its pushes and pops read it.
    if op.out.role != "temp" or has_effect(op) or op.prim == "new_stack":
        return False
    if len(readers) != 1:
        return False
    reader, block, line = readers[0]
    if reader is None or block is not uses.block_of.get(op.out):
        return False
    return op.loc is None or line is None or op.loc.lineno == line


def _is_matmul(node: ast.expr) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult)


def _accumulates(op: Op) -> bool:
    """`dx = dx + c`: a contribution added to an adjoint."""
    return (
        op.prim == "add"
        and isinstance(op.args[0], Var)
        and op.args[0].role == "adjoint"
        and op.args[0].hint == op.out.hint
    )


def _passed_on(stmts: list[Stmt], uses: _Uses, inlined: set[Var]) -> set[Var]:
    """Adjoints of the reverse sweep that one later statement of their block reads,
    and nothing else: written into it, as by hand (`dz = (W2.T @ do) * (1 - h**2)`,
    not `dh = W2.T @ do` first), so that no name keeps the array alive to the end of
    the function (on a large array, numpy's next allocation then reuses its memory).
    Evaluating them there reads the same values: the code is in SSA form, and only an
    array nothing else reads is updated in place.  One step only: an expression that
    took in an adjoint keeps its own name."""
    found: set[Var] = set()

    def emitted(x: Var) -> Stmt | None:
        """The statement x's value is written in (x's op, or where it is inlined)."""
        while x in inlined:
            reader = uses.readers[x][0][0]
            if not isinstance(reader, Op):
                return reader
            x = reader.out
        return uses.defs.get(x)

    def takes_in(op: Op) -> bool:
        """Whether op's expression already holds an adjoint written into it."""
        return any(
            a in found or (a in inlined and takes_in(uses.defs[a]))
            for a in _vars(op.args)
        )

    def block(body: list[Stmt], reverse: list[bool]) -> None:
        shown = [
            (s, r)
            for s, r in zip(body, reverse)
            if not (isinstance(s, Op) and s.out in inlined)
        ]
        later = {id(t): k for k, (t, _) in enumerate(shown)}
        for k, (s, r) in enumerate(shown):
            candidate = (
                r
                and isinstance(s, Op)
                and s.out.role == "adjoint"
                and not s.outs
                and not has_effect(s)
                and s.prim != "copy"
                and not takes_in(s)
            )
            readers = uses.readers.get(s.out, []) if candidate else []
            if len(readers) == 1 and isinstance(readers[0][0], Op):
                reader = readers[0][0]
                if _accumulates(s) or _accumulates(reader) and reader.args[0] is s.out:
                    continue  # `dx = dx + c` stays a chain of accumulations
                if later.get(id(emitted(reader.out)), -1) > k:
                    found.add(s.out)
        for s, r in zip(body, reverse):
            for inner in (
                ((s.then, s.orelse) if isinstance(s, If) else (s.header, s.body))
                if isinstance(s, (If, Loop))
                else ()
            ):
                block(inner, [r] * len(inner))

    flags, reverse = [], False
    for s in stmts:  # the sections are marked at the top level
        if isinstance(s, Op) and s.prim == "section":
            reverse = s.params.get("name") == "reverse"
        flags.append(reverse)
    block(stmts, flags)
    return found


# --- naming: out-of-SSA with an interference graph ----------------------------------


class _Naming:
    """Liveness over the structured code, an interference graph, coalescing of phi
    copies, and names for the resulting groups."""

    def __init__(self, emitter: _FunctionEmitter):
        self.e = emitter
        self.edges: dict[Var, set[Var]] = defaultdict(set)
        self.prefer: list[tuple[Var, Var]] = []
        self.parent: dict[Var, Var] = {}
        self.order: dict[Var, int] = {}

    # liveness and interference

    def reads(self, xs: Iterable[Any]) -> set[Var]:
        return set(self.e.reads(xs))

    def interfere(self, d: Var, live: Iterable[Var], source: Any = None) -> None:
        for v in live:
            if v is not d and v is not source:
                self.edges[d].add(v)
                self.edges[v].add(d)

    def define(self, v: Var) -> None:
        self.order.setdefault(v, len(self.order))

    def block(self, stmts: list[Stmt], live: set[Var], record: bool = True) -> set[Var]:
        live = set(live)
        for s in reversed(stmts):
            if isinstance(s, Op):
                if s.out in self.e.inlined:
                    continue
                defs = list(s.defines) if PRIMITIVES[s.prim].has_value else []
                for d in defs:
                    if record:
                        source = s.args[0] if s.prim == "copy" else None
                        self.interfere(d, live | set(defs), source)
                live -= set(defs)
                live |= self.reads(s.args)
            elif isinstance(s, If):
                live = self._if(s, live, record)
            else:
                live = self._loop(s, live, record)
        return live

    def _copies(
        self, dsts: list[Var], srcs: list[Any], live: set[Var], record: bool
    ) -> set:
        """Parallel copies dst <- src at a join: what is live before them."""
        before = live - set(dsts)
        for d, src in zip(dsts, srcs):
            if src is None:
                continue
            if record:
                self.interfere(d, live | set(dsts), src)
                if isinstance(src, Var) and src not in self.e.inlined:
                    self.prefer.append((d, src))
            before |= self.reads([src])
        return before

    def _if(self, s: If, live: set[Var], record: bool) -> set[Var]:
        ins = []
        for body, vals in ((s.then, s.then_vals), (s.orelse, s.else_vals)):
            end = self._copies(s.outs, vals, live, record)
            ins.append(self.block(body, end, record))
        return ins[0] | ins[1] | self.reads([s.cond])

    def _loop(self, s: Loop, live: set[Var], record: bool) -> set[Var]:
        as_carried = dict(zip(s.outs, s.carried))
        after = {as_carried.get(v, v) for v in live}
        index = {s.index} if s.index else set()
        header: set[Var] = set()
        for final in (False, True):
            while True:
                end = self._copies(
                    s.carried, s.nexts, header | self.reads([s.stop]), False
                )
                body_in = self.block(s.body, end, False)
                top = self.block(
                    s.header, after | body_in | self.reads([s.cond]), False
                )
                new = (top - index) | header
                if new == header:
                    break
                header = new
            if final and record:
                self._copies(s.carried, s.nexts, header | self.reads([s.stop]), True)
                end = self._copies(
                    s.carried, s.nexts, header | self.reads([s.stop]), False
                )
                body_in = self.block(s.body, end, True)
                self.block(s.header, after | body_in | self.reads([s.cond]), True)
                for v in index:
                    self.interfere(v, body_in | header)
                self._copies(s.carried, s.inits, header, True)
                for c in s.carried:
                    self.interfere(c, header)
        return (header - set(s.carried)) | self.reads([*s.inits, s.iterable])

    # coalescing

    def find(self, v: Var) -> Var:
        while self.parent.get(v, v) is not v:
            v = self.parent[v]
        return v

    def members(self) -> dict[Var, list[Var]]:
        groups: dict[Var, list[Var]] = defaultdict(list)
        for v in self.order:
            groups[self.find(v)].append(v)
        return groups

    def run(self, stmts: list[Stmt], returns: Any, params: list[Var]) -> dict[Var, str]:
        for p in params:
            self.define(p)
        for s in walk(stmts):
            for v in [*s.defines] + (
                [*s.carried] + ([s.index] if s.index else [])
                if isinstance(s, Loop)
                else []
            ):
                if not (
                    isinstance(s, Op)
                    and (s.out in self.e.inlined or not PRIMITIVES[s.prim].has_value)
                ):
                    self.define(v)
        self.block(stmts, set(operands_of(returns)))
        for s in walk(stmts):
            if isinstance(s, Loop):
                for c, o in zip(s.carried, s.outs):
                    self.join(c, o, force=True)
        group_edges = self.group_edges()
        for a, b in self.prefer:
            self.join(a, b, edges=group_edges)
        return self.assign(params)

    def group_edges(self) -> dict[Var, set[Var]]:
        edges: dict[Var, set[Var]] = defaultdict(set)
        for v, others in self.edges.items():
            edges[self.find(v)].update(self.find(o) for o in others)
        return edges

    def join(self, a: Var, b: Var, force: bool = False, edges=None) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra is rb:
            return
        if not force:
            if rb in edges.get(ra, ()) or _family(ra) != _family(rb):
                return
            if ra.role == "param" and rb.role == "param":
                return
        if rb.role == "param" or self.order.get(rb, 0) < self.order.get(ra, 0):
            ra, rb = rb, ra
        self.parent[rb] = ra
        if edges is not None:
            edges[ra] |= edges.pop(rb, set())
            for o in edges[ra]:
                edges[o].discard(rb)
                edges[o].add(ra)

    def assign(self, params: list[Var]) -> dict[Var, str]:
        groups = self.members()
        edges = self.group_edges()
        taken: dict[str, list[Var]] = defaultdict(list)  # name -> groups holding it
        owner: dict[str, tuple[str, str]] = {}
        names: dict[Var, str] = {}
        ordered = sorted(groups, key=lambda g: min(self.order[v] for v in groups[g]))
        for root in ordered:
            members = groups[root]
            fixed = next((m for m in members if m.role == "param"), None)
            lead = fixed or min(
                members, key=lambda m: (ROLE_RANK[m.role], self.order[m])
            )
            if fixed is not None:
                name = fixed.name
            else:
                name = self._free_name(lead, root, taken, owner, edges)
            taken[name].append(root)
            owner.setdefault(name, _family(lead))
            for m in members:
                names[m] = name
        return names

    def _free_name(self, lead: Var, root: Var, taken, owner, edges) -> str:
        hint = lead.hint
        base = hint if hint.isidentifier() and hint not in RESERVED else hint + "_"
        n = 0
        while True:
            name = base if n == 0 else f"{base}_{n}"
            n += 1
            if name in RESERVED or name in _HELPER_NAMES or name in import_roots():
                continue
            if name not in owner:
                return name
            reusable = (
                lead.role != "temp"
                and owner[name] == _family(lead)
                and not any(other in edges.get(root, ()) for other in taken[name])
            )
            if reusable:
                return name


def _family(v: Var) -> tuple[str, str]:
    return ("adjoint" if v.role == "adjoint" else "primal", v.hint)


# --- the emitter --------------------------------------------------------------------


class _FunctionEmitter:
    def __init__(self, spec: FunctionSpec, comments: list[str]):
        self.spec = spec
        self.comments = comments
        stmts: list[Stmt] = []
        for name, section in spec.sections:
            stmts.append(Op("section", (), Var(name, name), {"name": name}))
            stmts.extend(section)
        self.stmts, (self.returns,) = optimize(
            stmts, [spec.returns], spec.params, spec.shapes, spec.alike
        )
        uses = _Uses(self.stmts, self.returns)
        self.defs = uses.defs
        self.inlined = {
            s.out for s in walk(self.stmts) if isinstance(s, Op) and _inlinable(s, uses)
        }
        self.inlined |= _passed_on(self.stmts, uses, self.inlined)
        self.names = _Naming(self).run(self.stmts, self.returns, spec.params)
        accumulating = accumulations(self.stmts, [self.returns], spec.shapes)
        self.ints = ShapeInference(self.stmts, {})  # which indices are Python ints
        self.in_place = {  # `acc = acc + c` written `acc += c`
            id(s)
            for s in walk(self.stmts)
            if id(s) in accumulating
            and s.out not in self.inlined
            and s.args[0] not in self.inlined
            and self.names[s.args[0]] == self.names[s.out]
        }
        self.section = ""
        self.section_start = 0

    def reads(self, xs: Iterable[Any]) -> list[Var]:
        """Named values read by operands, looking through inlined ones."""
        found = []
        for x in _vars(xs):
            if x in self.inlined:
                found.extend(self.reads(self.defs[x].args))
            else:
                found.append(x)
        return found

    # expressions

    def expr(self, x: Any) -> ast.expr:
        if isinstance(x, tuple):
            return ast.Tuple([self.expr(e) for e in x], ast.Load())
        if isinstance(x, Const):
            return const_ast(x.value)
        if x in self.inlined:
            return self.op_expr(self.defs[x])
        return _name(self.names[x])

    def op_expr(self, op: Op) -> ast.expr:
        prim = PRIMITIVES[op.prim]
        args = [self.expr(a) for a in op.args]
        if prim.operator is not None and op.params.get("lib") == "np":
            # Called as numpy's ufunc (np.add(x, y)): on Python numbers it returns a
            # numpy scalar, and divides by zero without raising, unlike `x + y`.
            return ast.Call(_attr("np", prim.ufunc), args, [])
        if prim.operator is not None:
            if issubclass(prim.operator, ast.unaryop):
                return ast.UnaryOp(prim.operator(), args[0])
            if issubclass(prim.operator, ast.cmpop):
                return ast.Compare(args[0], [prim.operator()], [args[1]])
            if issubclass(prim.operator, ast.boolop):
                return ast.BoolOp(prim.operator(), args)
            left, right = args
            if op.prim == "mul" and _is_matmul(left) and not _is_matmul(right):
                # `(1 - h**2) * (W2.T @ do)`, not `W2.T @ do * (1 - h**2)`: * and @
                # bind alike, and only a right operand is written with parentheses.
                left, right = right, left
            return ast.BinOp(left, prim.operator(), right)
        if op.prim in ("copy", "float") and op.params.get("lib") != "builtin":
            return args[0]
        if op.prim == "tuple":
            return ast.Tuple(args, ast.Load())
        if op.prim == "getitem":
            return ast.Subscript(
                args[0], self.index(op.params["spec"], args[1:]), ast.Load()
            )
        if op.prim == "unindex":
            index = ast.Subscript(
                _attr("np", "s_"), self.index(op.params["spec"], args[2:])
            )
            return ast.Call(ast.Name(prim.helper, ast.Load()), [*args[:2], index], [])
        if op.prim == "transpose" and op.params.get("attr"):
            return ast.Attribute(args[0], "T", ast.Load())
        if op.prim == "range":
            return ast.Call(_name("range"), _range_args(op.args, args), [])
        if op.prim == "new_stack":
            return ast.List([], ast.Load())
        if op.prim == "pop":
            return ast.Call(ast.Attribute(args[0], "pop", ast.Load()), [], [])
        if op.prim == "push":
            value = args[1] if len(args) == 2 else ast.Tuple(args[1:], ast.Load())
            return ast.Call(ast.Attribute(args[0], "append", ast.Load()), [value], [])
        keywords = [
            ast.keyword(k, const_ast(op.params[k]))
            for k, default in prim.static
            if k in op.params and op.params[k] != default and k not in prim.leading
        ]
        if prim.sequence:
            args = [ast.List(args, ast.Load())]
        args = [const_ast(op.params.get(k)) for k in prim.leading] + args
        if op.params.get("method"):  # the array's own method: np.sum(x) calls it
            return ast.Call(ast.Attribute(args[0], op.prim, ast.Load()), [], keywords)
        if op.params.get("attr") and op.prim in ("shape", "size"):
            return ast.Attribute(args[0], op.prim, ast.Load())
        lib = op.params.get("lib", "np")
        if prim.helper:
            func = ast.Name(prim.helper, ast.Load())
        elif prim.python:
            func = _attr(*prim.python.split("."))
        elif lib == "math":
            func = _attr("math", prim.math)
        elif lib == "builtin":
            func = _name(prim.builtin)
        else:
            func = _attr("np", *prim.numpy.split("."))
        return ast.Call(func, args, keywords)

    def index(self, spec: tuple, parts: list[ast.expr]) -> ast.expr:
        """The subscript of `x[...]` from a getitem spec and its run-time parts."""
        as_tuple, *items = spec
        parts = list(parts)
        built: list[ast.expr] = []
        for item in items:
            if item[0] == "slice":
                bounds = [parts.pop(0) if present else None for present in item[1:]]
                built.append(ast.Slice(*bounds))
            elif item[0] == "list":
                built.append(ast.List(parts.pop(0).elts, ast.Load()))
            elif item[0] == "newaxis":
                built.append(ast.Constant(None))
            elif item[0] == "ellipsis":
                built.append(ast.Constant(Ellipsis))
            else:
                built.append(parts.pop(0))
        if as_tuple or len(built) != 1:
            return ast.Tuple(built, ast.Load())
        return built[0]

    # statements

    def block(self, stmts: list[Stmt], line: int | None = None) -> list[ast.stmt]:
        body: list[ast.stmt] = []
        for s in stmts:
            if isinstance(s, Op) and s.out in self.inlined:
                continue
            if isinstance(s, Op) and s.prim == "section":
                if self.section and len(body) == self.section_start:
                    body.pop()  # a section with no code (a gradient needing no forward)
                elif self.section:
                    body.append(self._comment(""))
                self.section = s.params["name"]
                body.append(self._comment(self.section))
                self.section_start = len(body)
                line = None
                continue
            starts_line = s.loc is not None and s.loc.lineno != line
            code = self.statement(s, s.loc.lineno if starts_line else line)
            if code and starts_line:
                body.append(self._comment(_describe(s.loc)))
                line = s.loc.lineno
            body.extend(code)
        return body

    def statement(self, s: Stmt, line: int | None) -> list[ast.stmt]:
        if isinstance(s, If):
            return self.if_statement(s, line)
        if isinstance(s, Loop):
            return self.loop_statement(s, line)
        value = self.op_expr(s)
        if s.prim == "check_scalar":
            return [_float_guard(value.args[0], ast.Expr(value))]
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
            return [self.accumulate_in_place(s)]
        if (
            s.prim == "copy"
            and isinstance(value, ast.Name)
            and value.id == self.names[s.out]
        ):
            return []
        return [ast.Assign([_name(self.names[s.out], True)], value)]

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
                index = self.index(spec, [self.expr(p) for p in parts])
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
        if not then and orelse:
            return [ast.If(ast.UnaryOp(ast.Not(), self.expr(s.cond)), orelse, [])]
        return [ast.If(self.expr(s.cond), then or [ast.Pass()], orelse)]

    def loop_statement(self, s: Loop, line: int | None) -> list[ast.stmt]:
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
        body += self.block(self.stmts)
        body.append(ast.Return(self.expr(self.returns)))
        args = ast.arguments(
            posonlyargs=[],
            args=[ast.arg(p.name) for p in self.spec.params],
            vararg=None,
            kwonlyargs=[],
            kw_defaults=[],
            kwarg=None,
            defaults=[const_ast(d.value) for d in self.spec.defaults],
        )
        return ast.FunctionDef(self.spec.name, args, body, [], None)

    def _comment(self, text: str) -> ast.stmt:
        self.comments.append(text)
        return ast.Expr(ast.Name(f"{_MARKER}{len(self.comments) - 1}", ast.Load()))

    def helpers(self) -> set[str]:
        return {
            PRIMITIVES[s.prim].helper
            for s in walk(self.stmts)
            if isinstance(s, Op) and PRIMITIVES[s.prim].helper
        }

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


def _range_args(operands_: tuple, args: list[ast.expr]) -> list[ast.expr]:
    """range(0, n, 1) is written range(n); range(a, b, 1) is range(a, b)."""
    start, stop, step = operands_
    if step == Const(1):
        return [args[1]] if start == Const(0) else args[:2]
    return args


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
    imports = set().union(*(e.imports() for e in emitters))
    if any(e.uses_math() for e in emitters) or "math" in imports:
        body.append(ast.Import([ast.alias("math", None)]))
    body.append(ast.Import([ast.alias("numpy", "np")]))
    body.extend(ast.Import([ast.alias(m, None)]) for m in sorted(imports - {"math"}))
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
    return GeneratedModule(text, tree, [spec.name for spec in functions])
