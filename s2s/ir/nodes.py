"""The nodes of the SSA intermediate representation: values, operations, regions and
graphs, the walk over nested regions, and the namespace that names values.

A :class:`Graph` is a function's parameters, a body of statements and a result.  A
statement is an :class:`Op` (which assigns one fresh :class:`Var` exactly once), or a
structured region: an :class:`If` or a :class:`Loop`, whose values flow out through
explicit phi lists (the value of each variable on each path).  Every statement
remembers the source :class:`~s2s.errors.Location` it came from.  ``str(graph)`` prints
one line per op.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Union

from ..errors import Location
from ..primitives import PRIMITIVES

if TYPE_CHECKING:
    from .structured import Structured


class Role(str, Enum):
    """What a value is to the user, which decides the names it may take in the
    generated code.  Listed best-named first: where one value may stand in for
    another of the same shape, the better-named is read (a parameter rather than a
    temporary)."""

    PARAM = "param"  # a parameter of the function
    KEYWORD = "keyword"  # data the caller passes by keyword (a closure variable)
    USER = "user"  # a name the user wrote
    ADJOINT = "adjoint"  # a derivative, named d<name>
    TEMP = "temp"  # a temporary, named after its op

    @property
    def rank(self) -> int:
        return _RANKS[self]

    @property
    def is_input(self) -> bool:
        """Whether the value is passed in, under its own name (which is kept)."""
        return self in (Role.PARAM, Role.KEYWORD)

    @property
    def of_copy(self) -> Role:
        """The role of a copy of such a value: an input's copy is the user's value."""
        return Role.USER if self.is_input else self


_RANKS = {role: k for k, role in enumerate(Role)}


@dataclass(eq=False)
class Var:
    """An SSA value. `name` is unique in its graph; `hint` is the name it would like
    in generated code; `role` (a :class:`Role`) says what it is to the user.  Identity is the
    object itself, so a value can be renamed without disturbing the ops that use it."""

    name: str
    hint: str
    role: Role = Role.TEMP

    def __post_init__(self) -> None:
        self.role = Role(self.role)

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Const:
    """A compile-time constant: a Python number, bool, None, string or tuple of them."""

    value: Any

    def __repr__(self) -> str:
        return repr(self.value)


Operand = Union[Var, Const]


@dataclass(eq=False)
class Op:
    """`out = prim(*args, **params)`: one node of the computation graph.

    An op with several results (popping a tuple off a stack) lists them in `outs`.
    A static parameter given at its default is left out of `params` (see
    :meth:`~s2s.primitives.Primitive.without_defaults`): `np.linalg.eigh(a,
    UPLO="L")` and `np.linalg.eigh(a)` are the same op, for every pass that compares
    ops.
    """

    prim: str
    args: tuple[Operand, ...]
    out: Var
    params: dict[str, Any] = field(default_factory=dict)
    loc: Location | None = None
    outs: tuple[Var, ...] = ()

    def __post_init__(self) -> None:
        record = PRIMITIVES.get(self.prim)
        if record is not None and self.params:
            self.params = record.without_defaults(self.params)

    def param(self, name: str) -> Any:
        """A static parameter: as given, else its default (None: no such parameter)."""
        if name in self.params:
            return self.params[name]
        record = PRIMITIVES.get(self.prim)
        return dict(record.static).get(name) if record is not None else None

    @property
    def defines(self) -> tuple[Var, ...]:
        return self.outs or (self.out,)

    def lines(self) -> list[str]:
        args = ", ".join(map(repr, self.args))
        if self.params:
            params = ", ".join(f"{k}={v!r}" for k, v in sorted(self.params.items()))
            args = f"{args}; {params}" if args else params
        target = ", ".join(v.name for v in self.defines)
        text = f"{target} = {self.prim}({args})"
        return [f"{text:<40}# {self.loc.short()}" if self.loc else text]

    def __str__(self) -> str:
        return self.lines()[0]


def _phis(outs: list[Var], *sides: list[Operand | None]) -> list[str]:
    def show(v: Operand | None) -> str:
        return "undefined" if v is None else repr(v)

    return [
        f"{out.name} = phi({', '.join(map(show, vals))})"
        for out, *vals in zip(outs, *sides)
    ]


def _indent(stmts: list[Stmt]) -> list[str]:
    return ["    " + line for s in stmts for line in s.lines()]


@dataclass(frozen=True)
class Merge:
    """A value out of an If: `out` is `then` where the condition held, else `orelse`
    (None: the name is not defined on that path)."""

    out: Var
    then: Operand | None
    orelse: Operand | None


@dataclass(eq=False)
class If:
    """`if cond: then else: orelse`, and the values that flow out of it (`merges`).

    `outs`, `then_vals` and `else_vals` read the merges, one list per field.
    """

    cond: Operand
    then: list[Stmt]
    orelse: list[Stmt]
    merges: list[Merge] = field(default_factory=list)
    loc: Location | None = None

    @property
    def outs(self) -> list[Var]:
        return [m.out for m in self.merges]

    @property
    def then_vals(self) -> list[Operand | None]:
        return [m.then for m in self.merges]

    @property
    def else_vals(self) -> list[Operand | None]:
        return [m.orelse for m in self.merges]

    @property
    def defines(self) -> tuple[Var, ...]:
        return tuple(m.out for m in self.merges)

    def lines(self) -> list[str]:
        where = f"  # {self.loc.short()}" if self.loc else ""
        text = [f"if {self.cond!r}:{where}", *_indent(self.then)]
        text += ["else:", *_indent(self.orelse)]
        return text + _phis(self.outs, self.then_vals, self.else_vals)


@dataclass(frozen=True)
class Carried:
    """A value a loop carries: `var` at the start of each iteration, `init` on entry
    (None: not defined before the loop), `next` after each iteration, and `out`
    after the loop."""

    var: Var
    init: Operand | None
    next: Operand | None
    out: Var


@dataclass(eq=False)
class Loop:
    """A loop: `for index in iterable` (when `iterable` is set) or `while cond`, and
    the values it carries from one iteration to the next (`carries`).

    A while loop's `header` computes `cond` at the start of every iteration.  When
    `stop` (computed by the body: a `break`) is true, the loop ends after that
    iteration.  `carried`, `inits`, `nexts` and `outs` read the carries, one list per
    field.
    """

    carries: list[Carried]
    body: list[Stmt]
    index: Var | None = None
    iterable: Operand | None = None
    header: list[Stmt] = field(default_factory=list)
    cond: Operand | None = None
    stop: Operand | None = None
    loc: Location | None = None

    @property
    def carried(self) -> list[Var]:
        return [c.var for c in self.carries]

    @property
    def inits(self) -> list[Operand | None]:
        return [c.init for c in self.carries]

    @property
    def nexts(self) -> list[Operand | None]:
        return [c.next for c in self.carries]

    @property
    def outs(self) -> list[Var]:
        return [c.out for c in self.carries]

    @property
    def defines(self) -> tuple[Var, ...]:
        return tuple(c.out for c in self.carries)

    def lines(self) -> list[str]:
        where = f"  # {self.loc.short()}" if self.loc else ""
        stop = [f"    if {self.stop!r}: break"] if self.stop is not None else []
        if self.iterable is not None:
            head = [f"for {self.index!r} in {self.iterable!r}:{where}"]
        else:
            head = [f"while:{where}", *_indent(self.header)]
            head.append(f"    if not {self.cond!r}: break")
        carried = ["    " + c for c in _phis(self.carried, self.inits, self.nexts)]
        after = [
            f"{o.name} = {c.name} after the loop"
            for o, c in zip(self.outs, self.carried)
        ]
        return head[:1] + carried + head[1:] + _indent(self.body) + stop + after


Stmt = Union[Op, If, Loop]


def walk(stmts: list[Stmt]) -> Iterator[Stmt]:
    """Every statement, depth first, in program order (a region before its contents)."""
    # A stack of the regions being walked, not nested generators: a statement
    # k levels deep costs one step, not k.
    regions = [iter(stmts)]
    while regions:
        for s in regions[-1]:
            yield s
            if isinstance(s, If):
                regions += (iter(s.orelse), iter(s.then))
                break
            if isinstance(s, Loop):
                regions += (iter(s.body), iter(s.header))
                break
        else:
            regions.pop()


def operands(s: Stmt) -> list[Operand | None]:
    """What a statement reads itself (not what the statements nested in it read)."""
    if isinstance(s, Op):
        return list(s.args)
    if isinstance(s, If):
        return [s.cond, *s.then_vals, *s.else_vals]
    return [*s.inits, *s.nexts, s.iterable, s.cond, s.stop]


@dataclass(eq=False)
class Graph:
    """A function in SSA form.  `params` are its values passed in, each leaf of a
    structured parameter one of them; `inputs` the parameters as the function
    takes them (a Var, or a :class:`Structured`); `aux` what it returns besides the
    result it is differentiated for (`has_aux`), a structure of operands."""

    name: str
    params: list[Var]
    ops: list[Stmt]
    result: Operand
    defaults: tuple[Const, ...] = ()
    loc: Location | None = None
    #: The shape patterns of the arrays it reads from outside, where the code is
    #: specialized for them (checked on entry).
    data_shapes: dict[Var, tuple] = field(default_factory=dict)
    inputs: list[Var | Structured] | None = None
    aux: Any = None

    @property
    def signature(self) -> list[Var | Structured]:
        """The parameters as the function takes them."""
        return self.inputs if self.inputs is not None else list(self.params)

    def __str__(self) -> str:
        lines = [f"def {self.name}({', '.join(p.name for p in self.params)}):"]
        lines += _indent(self.ops)
        lines.append(f"    return {self.result!r}")
        return "\n".join(lines)


class Namespace:
    """Hands out unique, deterministic names: `mul`, `mul_1`, `mul_2`, ..."""

    def __init__(self, taken: Iterable[str] = ()):
        self._taken = set(taken)

    def fresh(self, hint: str) -> str:
        name, n = hint, 0
        while name in self._taken:
            n += 1
            name = f"{hint}_{n}"
        self._taken.add(name)
        return name

    def reserve(self, name: str) -> None:
        self._taken.add(name)

    def __contains__(self, name: str) -> bool:
        return name in self._taken


@dataclass
class FunctionSpec:
    """One function of a generated module, as differentiation hands it on: its
    parameters, its statements in sections ("forward", "reverse"), what it returns,
    and what the optimizer may assume (the parameters' shape patterns, values of the
    same shapes)."""

    name: str
    doc: str
    params: list[Var]
    defaults: tuple[Const, ...]
    sections: list[tuple[str, list[Stmt]]]  # ("forward", stmts), ("reverse", stmts)
    returns: Any  # an operand, or a nested tuple of operands
    shapes: dict[Var, Any] | None = None  # parameter -> shape pattern
    alike: list[tuple[Var, Var]] = field(default_factory=list)  # same shapes (tangents)
    #: The parameters as the function takes them, where some are structures.
    inputs: list[Var | Structured] | None = None
    #: Parameters known to hold numpy arrays or numbers: in code the call writes
    #: for the shapes of numpy arguments (see s2s.dispatch), those it has shapes of.
    numpy: frozenset[Var] = frozenset()
    #: Analyses of the statements as they are now, which the optimizer's passes
    #: share until one of them changes the statements (see s2s.optimize).
    analyses: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: checkpoint=k of a gradient: k snapshots per loop, "auto", or None (no
    #: checkpointing; see s2s.emit.checkpoint).
    checkpoint: int | str | None = None

    def body(self) -> list[Stmt]:
        """The statements of every section, each section begun by its marker."""
        body: list[Stmt] = []
        for name, section in self.sections:
            body.append(Op("section", (), Var(name, name), {"name": name}))
            body.extend(section)
        return body
