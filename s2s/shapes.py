"""Shape specialization: the symbolic shape of every value, inferred from the shapes of
the parameters, and the rewrites those shapes allow.

A parameter's *pattern* is a tuple of dimensions, each the number 1 or a symbol: a
name standing for a size other than 1, equal names for equal sizes (`("T", "B", "I")`
for a batch of sequences; `()` for a scalar).  :class:`ShapeInference` gives every
value of a program (forward and reverse sweeps, tapes included) a shape built from
those dimensions, from constants, or None where it cannot be known.  A dimension is
never guessed: two different symbols are never assumed equal, and a size computed at
run time (`np.zeros(n)`) is unknown, since it might be 1.

:func:`specialize` then writes what a careful person would: `_unbroadcast(g, b)`
becomes `np.sum(g, axis=0)` or nothing, `_matmul_adjoint_a(g, a, b)` becomes
`g @ b.T`, the spread of a reduction's adjoint is left to the elementwise product
that uses it, and a result proven scalar needs no check.  The code is then right for
every argument of the same pattern: :func:`s2s.grad` dispatches on the pattern of
its arguments, and a module generated for annotated shapes checks it on entry.
"""

from __future__ import annotations

from dataclasses import replace as copy_stmt
from typing import Any, Iterable, Union

from .ir import (
    Const,
    If,
    Loop,
    maybe_undefined,
    Namespace,
    Op,
    Operand,
    Stmt,
    Var,
    operands,
    temp_hint,
    walk,
)
from .primitives import PRIMITIVES, parse_einsum
from .rules import BROADCASTING

#: A dimension: 1 or another known size (an int), a symbol (a str), unknown (None).
Dim = Union[int, str, None]
#: A shape: a tuple of dimensions, or None when even the rank is unknown.
Shape = Union[tuple, None]

_REDUCTIONS = {
    *("sum", "mean", "prod", "max", "min", "var", "std", "argmax", "argmin"),
    *("all", "any"),
}
_COMPARISONS = {
    *("lt", "le", "gt", "ge", "eq", "ne", "and", "or", "not", "invert"),
    *("logical_not", "logical_and", "logical_or"),
}
_LOGIC = {"both", "either", "not"}
#: Ops whose result has the shape of one operand (given by position).
SHAPED_LIKE = {
    "copy": 0,
    "float": 0,
    "zeros_like": 0,
    "ones_like": 0,
    "full_like": 0,
    "unbroadcast": 1,
    "unreduce": 1,
    "unindex": 1,
    "prod_adjoint": 1,
    "extremum_adjoint": 1,
    "matmul_adjoint_a": 1,
    "matmul_adjoint_b": 2,
    "dot_adjoint_a": 1,
    "dot_adjoint_b": 2,
    "trace_adjoint": 1,
    "diag_adjoint": 1,
    "fill_adjoint": 2,
}
#: Ops whose result has the shape held by a shape-tuple operand (given by position).
_SHAPED_BY = {"unbroadcast_to": 1, "unreduce_to": 1, "zeros": 0, "ones": 0}


def as_dim(n: Any) -> Dim:
    """A dimension from a size in the code: -1 (the size reshape infers) is unknown."""
    if isinstance(n, int) and not isinstance(n, bool):
        return n if n >= 0 else None
    return n if isinstance(n, str) else None


def broadcast(*shapes: Shape) -> Shape:
    """numpy's broadcast of symbolic shapes, assuming the program does not fail."""
    if any(s is None for s in shapes):
        return None
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(rank):
        dims = {s[i - rank + len(s)] for s in shapes if i - rank + len(s) >= 0}
        dims.discard(1)
        known = dims - {None}
        if len(known) == 1:
            out.append(known.pop())  # an unknown dim beside it is 1 or the same
        elif not known:
            out.append(None if None in dims else 1)
        else:
            out.append(None)  # two different sizes: numpy would have failed
    return tuple(out)


def join(a: Any, b: Any) -> Any:
    """What a value is on one path or another: shapes (or shape tuples) dimension by
    dimension, None where they differ."""
    if a == b:
        return a
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return tuple(x if x == y else None for x, y in zip(a, b))
    return None


def _axes(axis: Any, rank: int) -> tuple[int, ...] | None:
    if axis is None:
        return tuple(range(rank))
    axes = axis if isinstance(axis, tuple) else (axis,)
    if not all(isinstance(a, int) and -rank <= a < rank for a in axes):
        return None
    return tuple(sorted(a % rank for a in axes))


def reduce(shape: Shape, axis: Any, keepdims: bool) -> Shape:
    if shape is None:
        return None
    axes = _axes(axis, len(shape))
    if axes is None:
        return None
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def matmul(a: Shape, b: Shape) -> Shape:
    if a is None or b is None or not a or not b:
        return None
    if len(a) == 1 and len(b) == 1:
        return ()
    if len(a) == 1:
        return b[:-2] + b[-1:]
    if len(b) == 1:
        return a[:-1]
    batch = broadcast(a[:-2], b[:-2])
    return None if batch is None else batch + (a[-2], b[-1])


class ShapeInference:
    """The shape of every value of a program, given the patterns of its parameters.

    Arrays and numbers have shapes (`shapes`); a value made by `np.shape(x)` holds a
    shape (`tuples`), and one made by `np.shape(x)[k]` or `len(x)` holds a dimension
    (`dims`).  A loop's carried values start with their initial shapes and are
    widened until an iteration keeps them; a branch's results join both sides.
    """

    def __init__(self, stmts: list[Stmt], params: dict[Var, Shape]):
        self.shapes: dict[Var, Shape] = dict(params)
        self.tuples: dict[Var, tuple] = {}
        self.dims: dict[Var, Dim] = {}
        self.ints: set[Var] = set()  # Python ints: loop indices and their arithmetic
        self.pushed: dict[Var, list] = {}
        self.block(stmts)

    # reading operands

    def shape(self, x: Operand | None) -> Shape:
        if isinstance(x, Const):
            v = x.value
            return () if isinstance(v, (int, float, complex)) else None
        return self.shapes.get(x)

    def tuple_of(self, x: Operand) -> tuple | None:
        if isinstance(x, Const):
            v = x.value
            if isinstance(v, int) and not isinstance(v, bool):
                v = (v,)
            if isinstance(v, tuple) and all(isinstance(n, int) for n in v):
                return tuple(as_dim(n) for n in v)  # constant sizes (-1 unknown)
            return None
        if x in self.tuples:
            return self.tuples[x]
        if x in self.dims:
            return (self.dims[x],)
        return None

    def dim_of(self, x: Operand) -> Dim:
        if isinstance(x, Const):
            return as_dim(x.value)
        return self.dims.get(x)

    def is_int(self, x: Operand) -> bool:
        if isinstance(x, Const):
            return isinstance(x.value, int) and not isinstance(x.value, bool)
        return x in self.ints or x in self.dims

    # abstract values as one tuple, for joins at phis

    def abstract(self, x: Operand | None) -> tuple:
        if x is None:
            return ("undefined",)
        return (self.shape(x), self.tuple_of(x), self.dim_of(x), self.is_int(x))

    def assign(self, v: Var, value: tuple) -> None:
        if value == ("undefined",):
            value = (None, None, None, False)
        shape, tup, dim, is_int = value
        for table, item in ((self.shapes, shape), (self.tuples, tup), (self.dims, dim)):
            if item is not None:
                table[v] = item
            else:
                table.pop(v, None)
        if is_int:
            self.ints.add(v)
        else:
            self.ints.discard(v)

    def merge(self, *sides: tuple) -> tuple:
        defined = [s for s in sides if s != ("undefined",)]
        if not defined:
            return (None, None, None, False)
        first = defined[0]
        out = list(first)
        for other in defined[1:]:
            out = [join(a, b) for a, b in zip(out[:3], other[:3])] + [
                out[3] and other[3]
            ]
        return tuple(out)

    # statements

    def block(self, stmts: Iterable[Stmt]) -> None:
        for s in stmts:
            if isinstance(s, Op):
                self.op(s)
            elif isinstance(s, If):
                self.block(s.then)
                self.block(s.orelse)
                for out, a, b in zip(s.outs, s.then_vals, s.else_vals):
                    self.assign(out, self.merge(self.abstract(a), self.abstract(b)))
            else:
                self.loop(s)

    def loop(self, s: Loop) -> None:
        for c, init in zip(s.carried, s.inits):
            self.assign(c, self.abstract(init))
        if s.index is not None:
            self.shapes[s.index] = ()
            self.ints.add(s.index)
        for _ in range(4):
            self.block(s.header)
            self.block(s.body)
            changed = False
            for c, nxt in zip(s.carried, s.nexts):
                merged = self.merge(self.abstract(c), self.abstract(nxt))
                if merged != self.abstract(c):
                    self.assign(c, merged)
                    changed = True
            if not changed:
                break
        else:  # no fixed point: know nothing of what the loop carries
            for c in s.carried:
                self.assign(c, (None, None, None, False))
            self.block(s.header)
            self.block(s.body)
        for out, c in zip(s.outs, s.carried):
            self.assign(out, self.abstract(c))

    def op(self, op: Op) -> None:
        out, prim, args, params = op.out, op.prim, op.args, op.params
        if prim == "push":
            self.pushed[args[0]] = [self.abstract(a) for a in args[1:]]
            return
        if prim == "pop":
            for v, value in zip(op.outs, self.pushed.get(args[0], [])):
                self.assign(v, value)
            return
        if prim == "check_scalar":  # after the check, the result is a scalar
            if isinstance(args[0], Var) and self.shape(args[0]) is None:
                self.shapes[args[0]] = ()
            return
        shape = self.infer(op)
        if shape is not None:
            self.shapes[out] = shape
        if prim == "shape" and self.shape(args[0]) is not None:
            self.tuples[out] = self.shape(args[0])
        elif prim == "tuple" and all(self.dim_of(a) is not None for a in args):
            self.tuples[out] = tuple(self.dim_of(a) for a in args)
        elif prim == "getitem" and isinstance(args[0], Var) and args[0] in self.tuples:
            self.item_of_tuple(op)
        elif prim == "len" and self.shape(args[0]):
            self.dims[out] = self.shape(args[0])[0]
        elif prim == "copy" and self.dim_of(args[0]) is not None:
            self.dims[out] = self.dim_of(args[0])
        elif prim == "copy" and self.tuple_of(args[0]) is not None:
            self.tuples[out] = self.tuple_of(args[0])
        counts = prim in ("int", "len", "ndim", "size")  # always a Python int
        if counts or prim in ("add", "sub", "mul", "floordiv", "mod", "neg"):
            if counts or all(self.is_int(a) for a in args):
                self.ints.add(out)
                self.shapes[out] = ()

    def item_of_tuple(self, op: Op) -> None:
        held = self.tuples[op.args[0]]
        spec = op.params.get("spec")
        if spec is None or len(spec) != 2 or spec[1] != ("value",):
            return
        k = op.args[1].value if isinstance(op.args[1], Const) else None
        if isinstance(k, int) and -len(held) <= k < len(held):
            if held[k] is not None:
                self.dims[op.out] = held[k]
            self.ints.add(op.out)
            self.shapes[op.out] = ()

    def infer(self, op: Op) -> Shape:
        """The shape of op's result (None: unknown)."""
        prim, args, params = op.prim, op.args, op.params
        p = PRIMITIVES.get(prim)
        if prim in _LOGIC or prim in ("len", "ndim", "size", "float", "int"):
            return ()
        if prim in SHAPED_LIKE:
            return self.shape(args[SHAPED_LIKE[prim]])
        if prim in _SHAPED_BY:
            return self.tuple_of(args[_SHAPED_BY[prim]])
        if prim in _REDUCTIONS or prim == "norm":
            return reduce(
                self.shape(args[0]), params.get("axis"), params.get("keepdims", False)
            )
        if prim == "matmul":
            return matmul(self.shape(args[0]), self.shape(args[1]))
        if prim == "dot":
            a, b = self.shape(args[0]), self.shape(args[1])
            if a == () or b == ():
                return broadcast(a, b)
            return matmul(a, b) if a is not None and len(a) <= 2 else None
        if prim == "outer":
            a, b = self.shape(args[0]), self.shape(args[1])
            if a is not None and b is not None and len(a) == len(b) == 1:
                return (a[0], b[0])
            return None
        if prim == "transpose":
            return self.transposed(self.shape(args[0]), params.get("axes"))
        if prim in ("reshape", "broadcast_to"):
            return self.tuple_of(args[1])
        if prim == "expand_dims":
            return self.expanded(self.shape(args[0]), params.get("axis"))
        if prim == "getitem":
            return self.indexed(op)
        if prim == "einsum":
            return self.einsum_shape(op)
        if prim == "cumsum":
            return self.shape(args[0]) if params.get("axis") is not None else None
        if prim == "trace":
            a = self.shape(args[0])
            return () if a is not None and len(a) == 2 else None
        if params.get("lib") == "math":
            return ()
        if (p is not None and p.elementwise) or prim in BROADCASTING:
            return broadcast(*(self.shape(a) for a in args))
        return None

    def einsum_shape(self, op: Op) -> Shape:
        """The output of explicit einsum subscripts: each label's dimension, from
        an operand where it is not 1 (a 1 there broadcasts); `...` is not followed."""
        try:
            inputs, output = parse_einsum(op.params.get("subscripts"), len(op.args))
        except ValueError:
            return None
        sizes: dict[str, Dim] = {}
        for labels, x in zip(inputs, op.args):
            shape = self.shape(x)
            if shape is None or "..." in labels or len(shape) != len(labels):
                return None
            for label, d in zip(labels, shape):
                held = sizes.get(label, 1)
                if held == 1 or held == d:
                    sizes[label] = d
                elif d != 1:
                    sizes[label] = None  # two sizes: numpy would have failed
        return tuple(sizes[label] for label in output)

    @staticmethod
    def transposed(shape: Shape, axes: Any) -> Shape:
        if shape is None:
            return None
        if axes is None:
            return tuple(reversed(shape))
        if len(axes) != len(shape):
            return None
        return tuple(shape[a % len(shape)] for a in axes)

    @staticmethod
    def expanded(shape: Shape, axis: Any) -> Shape:
        if shape is None:
            return None
        axes = axis if isinstance(axis, tuple) else (axis,)
        rank = len(shape) + len(axes)
        if not all(isinstance(a, int) and -rank <= a < rank for a in axes):
            return None
        where = {a % rank for a in axes}
        dims = iter(shape)
        return tuple(1 if i in where else next(dims) for i in range(rank))

    def indexed(self, op: Op) -> Shape:
        """`x[...]` with integers, full slices, reversals, None and `...`."""
        shape = self.shape(op.args[0])
        spec = op.params.get("spec")
        if shape is None or spec is None:
            return None
        parts = list(op.args[1:])
        items = list(spec[1:])
        taken = sum(1 for it in items if it[0] in ("value", "slice", "list"))
        out: list[Dim] = []
        axis = 0
        for item in items:
            kind = item[0]
            if kind == "newaxis":
                out.append(1)
            elif kind == "ellipsis":
                rest = len(shape) - axis - (taken - _taken_before(items, item))
                out.extend(shape[axis : axis + rest])
                axis += rest
            elif kind == "value":
                part = parts.pop(0)
                if not self.is_int(part) or axis >= len(shape):
                    return None  # an array of indices, or a boolean
                axis += 1
            elif kind != "slice":
                return None  # a list of indices
            else:  # a slice: (lower, upper, step) given or not
                bounds = [parts.pop(0) if given else None for given in item[1:]]
                if axis >= len(shape):
                    return None
                lower, upper, step = bounds
                reversal = isinstance(step, Const) and step.value == -1
                full = lower is None and upper is None and (step is None or reversal)
                out.append(shape[axis] if full else None)
                axis += 1
        return tuple(out) + tuple(shape[axis:])


def _taken_before(items: list, item: Any) -> int:
    """How many of the items before `item` consume an axis."""
    count = 0
    for it in items:
        if it is item:
            return count
        count += it[0] in ("value", "slice", "list")
    return count


# --- rewriting ------------------------------------------------------------------------


#: Operands read only for their shape, by position.
_SHAPE_ONLY = {"unbroadcast": 1, "unreduce": 1, "unindex": 1, "size": 0, "shape": 0}
_RANK = {"param": 0, "user": 1, "adjoint": 2, "temp": 3}


#: Reductions that arrays have as methods.
_METHODS = {"sum", "mean", "max", "min", "prod"}


def _makes_arrays(op: Op) -> bool:
    """Whether op's result is an array numpy made (when its rank is 1 or more)."""
    p = PRIMITIVES.get(op.prim)
    return op.params.get("lib") not in ("math", "builtin") and (
        op.prim in _METHODS
        or op.prim in ("matmul", "dot", "outer", "transpose", "zeros", "ones")
        or (p is not None and p.elementwise and (p.operator or p.numpy))
    )


def _elementwise(op: Op) -> bool:
    p = PRIMITIVES.get(op.prim)
    return op.prim not in _COMPARISONS and (
        op.prim in BROADCASTING or (p is not None and p.elementwise)
    )


class _Rewriter:
    """One pass of :func:`specialize` over a statement tree."""

    def __init__(self, stmts: list[Stmt], roots: list[Any], params: dict[Var, Shape]):
        self.info = ShapeInference(stmts, params)
        self.undefined = maybe_undefined(stmts)  # never stand-ins: may not exist
        self.names = Namespace(p.name for p in params)
        self.readers: dict[Var, list[Any]] = {}  # None: a root (returned)
        for s in walk(stmts):
            for v in s.defines:
                self.names.reserve(v.name)
            if isinstance(s, Loop):
                for v in s.carried + ([s.index] if s.index else []):
                    self.names.reserve(v.name)
            for x in operands(s):
                if isinstance(x, Var):
                    self.readers.setdefault(x, []).append(s)
        for r in _flatten(roots):
            if isinstance(r, Var):
                self.readers.setdefault(r, []).append(None)
        self.made: dict[Var, Op] = {
            s.out: s for s in walk(stmts) if isinstance(s, Op) and not s.outs
        }
        self.replace: dict[Var, Operand] = {}
        self.pending: list[Stmt] = []
        self.changed = False
        #: Values this pass gives a smaller, broadcast-compatible shape (see absorbs).
        self.narrowed: dict[Var, Shape] = {}
        #: Where each symbolic dimension can be read: (parameter, axis).
        self.where: dict[str, tuple[Var, int]] = {}
        for p, pattern in params.items():
            for axis, d in enumerate(pattern or ()):
                if isinstance(d, str):
                    self.where.setdefault(d, (p, axis))

    def var(self, like: Var, hint: str | None = None) -> Var:
        hint = hint or like.hint
        return Var(self.names.fresh(hint), hint, "temp")

    def block(self, body: list[Stmt], visible: dict[tuple, Var]) -> list[Stmt]:
        """Rewrite a block; `visible` holds, for each known shape, the best-named value
        of that shape defined before this point (parameters first)."""
        visible = dict(visible)
        out: list[Stmt] = []
        for s in body:
            if isinstance(s, If):
                s.then = self.block(s.then, visible)
                s.orelse = self.block(s.orelse, visible)
            elif isinstance(s, Loop):
                inside = dict(visible)
                for v in s.carried + ([s.index] if s.index else []):
                    self.offer(inside, v)
                s.header, s.body = self.block(s.header, inside), self.block(
                    s.body, inside
                )
            elif isinstance(s, Op):
                self.read_shape_elsewhere(s, visible)
                new = self.rewrite(s)
                if new is not None:
                    self.changed = True
                    out.extend(new)
                    for n in new:
                        for v in n.defines:
                            self.offer(visible, v)
                    continue
            for v in s.defines:
                self.offer(visible, v)
            out.append(s)
        return out

    def offer(self, visible: dict[tuple, Var], v: Var) -> None:
        shape = self.info.shape(v)
        if shape is None or None in shape or v.role not in _RANK or v in self.undefined:
            return
        held = visible.get(shape)
        if held is None or (_RANK[v.role], v.name) < (_RANK[held.role], held.name):
            visible[shape] = v

    def read_shape_elsewhere(self, op: Op, visible: dict[tuple, Var]) -> None:
        """An op that reads a value only for its shape reads the best-named visible
        value of that shape instead (`np.size(y)`, not the size of a temporary that
        would otherwise be computed for nothing)."""
        k = _SHAPE_ONLY.get(op.prim)
        x = op.args[k] if k is not None else None
        shape = self.info.shape(x) if isinstance(x, Var) else None
        if shape is None or None in shape:
            return
        stand_in = visible.get(shape)
        if stand_in is None or stand_in is x or x.role not in _RANK:
            return
        if _RANK[stand_in.role] < _RANK[x.role] and (
            x.role == "temp" or stand_in.role == "param"
        ):
            op.args = op.args[:k] + (stand_in,) + op.args[k + 1 :]
            self.changed = True

    def rewrite(self, op: Op) -> list[Stmt] | None:
        """The statements that replace `op` (None: keep it)."""
        info = self.info
        if op.prim == "check_scalar" and info.shape(op.args[0]) == ():
            return []
        if op.prim in ("unbroadcast", "unbroadcast_to"):
            target = (
                info.shape(op.args[1])
                if op.prim == "unbroadcast"
                else info.tuple_of(op.args[1])
            )
            return self.summed(op, target)
        if op.prim in ("unreduce", "unreduce_to"):
            return self.spread(op)
        if op.prim in ("matmul_adjoint_a", "matmul_adjoint_b"):
            return self.matmul_adjoint(op)
        if op.prim in ("dot_adjoint_a", "dot_adjoint_b"):
            a, b = info.shape(op.args[1]), info.shape(op.args[2])
            if a and b and len(a) <= 2 and len(b) <= 2:
                return self.matmul_adjoint(op)
        if op.prim == "zeros" and info.tuple_of(op.args[0]) == ():
            return self.becomes(op, Const(0.0))
        if op.prim == "expand_dims" and info.shape(op.args[0]) == ():
            if self.absorbs(op.out, ()):  # a scalar broadcasts as it is
                return self.becomes(op, op.args[0])
        if op.prim == "broadcast_to" and info.shape(op.args[0]) is not None:
            if self.absorbs(op.out, info.shape(op.args[0])):
                return self.becomes(op, op.args[0])  # the ops that use it broadcast
        if op.prim == "array_copy" and info.shape(op.args[0]) == ():
            return self.becomes(op, op.args[0])  # a number is no view
        if op.prim == "size" and op.args[0].role != "param":
            return self.size_from_parameters(op)
        if op.prim == "shape" and op.args[0].role != "param":
            return self.shape_from_parameters(op)
        return self.as_method(op)

    def as_method(self, op: Op) -> list[Stmt] | None:
        """`x.sum(axis=0)`, `x.shape` where x is an array numpy made (rank 1 or
        more): numpy's functions only call these, at twice the cost for a small x.
        Not on a parameter, which might be a list."""
        x = op.args[0] if op.args else None
        made = self.made.get(x) if isinstance(x, Var) else None
        while (
            made is not None and made.prim == "copy" and isinstance(made.args[0], Var)
        ):
            made = self.made.get(made.args[0])  # `dz = <the product>`
        if made is None or not _makes_arrays(made) or not self.info.shape(x):
            return None
        if op.prim in _METHODS and "method" not in op.params and "lib" not in op.params:
            return [copy_stmt(op, params={**op.params, "method": True})]
        if op.prim in ("shape", "size") and "attr" not in op.params:
            return [copy_stmt(op, params={**op.params, "attr": True})]
        return None

    def dims_from_parameters(self, op: Op) -> list[Operand] | None:
        """The dimensions of op's operand, read off the parameters' shapes
        (`np.shape(y)[1]`) into `self.pending`; None where one is unknown."""
        shape = self.info.shape(op.args[0])
        if shape is None or None in shape:
            return None
        dims: list[Operand] = []
        self.pending = []
        for d in shape:
            if isinstance(d, int):
                dims.append(Const(d))
                continue
            found = self.where.get(d)
            if found is None:
                return None
            param, axis = found
            whole = self.emit(op, "shape", param, last=False)
            spec = (False, ("value",))
            dims.append(
                self.emit(op, "getitem", whole, Const(axis), last=False, spec=spec)
            )
        return dims

    def shape_from_parameters(self, op: Op) -> list[Stmt] | None:
        """`np.shape(t)` of a temporary, from the parameters' dimensions, so that t
        need not be computed (or kept) for its shape."""
        x = op.args[0]
        readers = self.readers.get(x, [None])
        if not all(isinstance(r, Op) and r.prim in ("shape", "size") for r in readers):
            return None  # x is computed anyway, and x.shape costs nothing
        dims = self.dims_from_parameters(op)
        if dims is None:
            return None
        self.emit(op, "tuple", *dims, last=True)
        return self.pending

    def size_from_parameters(self, op: Op) -> list[Stmt] | None:
        """`np.size(t)` of a temporary, as the product of parameters' dimensions
        (`np.shape(y)[1]`), so that t need not be computed for its size."""
        factors = self.dims_from_parameters(op)
        if factors is None:
            return None
        size: Operand = Const(1)
        for factor in factors:
            size = (
                factor
                if size == Const(1)
                else self.emit(op, "mul", size, factor, last=False)
            )
        if isinstance(size, Var) and self.pending and self.pending[-1].out is size:
            self.pending[-1].out = op.out  # the last product takes the op's name
            return self.pending
        self.pending.append(Op("copy", (size,), op.out, {}, op.loc))
        return self.pending

    def becomes(self, op: Op, value: Operand) -> list[Stmt]:
        """Replace op's result by `value` (a copy where the result has a name)."""
        if op.out.role == "temp":
            self.replace[op.out] = value
            return []
        return [Op("copy", (value,), op.out, {}, op.loc)]

    def emit(self, op: Op, prim: str, *args: Operand, last: bool, **params) -> Var:
        """A new op at op's place; the last one of a rewrite takes op's result."""
        out = op.out if last else self.var(op.out, temp_hint(prim))
        self.pending.append(Op(prim, tuple(args), out, params, op.loc))
        return out

    def summed(self, op: Op, target: Shape) -> list[Stmt] | None:
        """`_unbroadcast(g, x)` as the sums over the axes broadcasting added."""
        g = op.args[0]
        source = self.info.shape(g)
        if target is None or source is None or None in target:
            return None
        lead = len(source) - len(target)
        if lead < 0:
            return None
        stretched = tuple(
            i for i, t in enumerate(target) if t == 1 and source[lead + i] != 1
        )
        if any(
            source[lead + i] not in (t, None) for i, t in enumerate(target) if t != 1
        ):
            return None  # g is smaller than x there: broadcasting it up is the helper's
        if not lead and not stretched:
            return self.becomes(op, g)
        self.pending: list[Stmt] = []
        if lead:
            axes = tuple(range(lead))
            g = self.emit(
                op, "sum", g, last=not stretched, axis=axes[0] if lead == 1 else axes
            )
        if stretched:
            axis = stretched[0] if len(stretched) == 1 else stretched
            self.emit(op, "sum", g, last=True, axis=axis, keepdims=True)
        return self.pending

    def spread(self, op: Op) -> list[Stmt] | None:
        """`_unreduce(g, x)`: g with the reduced axes put back as 1s, broadcast to x's
        shape only if the elementwise ops that use it would not do that anyway."""
        info = self.info
        g, like = op.args[0], op.args[1]
        target = info.shape(like) if op.prim == "unreduce" else info.tuple_of(like)
        axis, keepdims = op.params.get("axis"), op.params.get("keepdims", False)
        if target is None:
            return None
        axes = _axes(axis, len(target))
        if axes is None:
            return None
        self.pending = []
        if axis is None and not keepdims:
            small: tuple = ()  # g is a scalar
        else:
            small = tuple(1 if i in axes else d for i, d in enumerate(target))
        absorbed = self.absorbs(op.out, small)
        if axis is not None and not keepdims:
            g = self.emit(op, "expand_dims", g, last=absorbed, axis=axis)
            if absorbed:
                return self.pending
        elif absorbed:
            return self.becomes(op, g)
        shape = like
        if op.prim == "unreduce":
            shape = self.emit(op, "shape", like, last=False)
        self.emit(op, "broadcast_to", g, shape, last=True)
        return self.pending

    def absorbs(self, v: Var, smaller: Shape) -> bool:
        """:meth:`absorbed`; when it holds, the `expand_dims` ops that would put a new
        axis on what is now a scalar go too, and v (with the temporaries after it)
        counts with its smaller shape when the next spread is considered: two spreads
        added together cannot both be left to that addition."""
        self.through: list[Op] = []
        self.narrowing: dict[Var, Shape] = {v: smaller}
        if not self.absorbed(v, smaller):
            return False
        for op in self.through:
            self.replace[op.out] = op.args[0]
        self.narrowed.update(self.narrowing)
        return True

    def absorbed(self, v: Var, smaller: Shape) -> bool:
        """Whether every use of `v` gives the same result when v has the (broadcast
        compatible) shape `smaller`: elementwise ops whose other operands already have
        the full shape, or temporaries read only by such ops."""
        readers = self.readers.get(v, [])
        if not readers or v.role != "temp" and v.role != "adjoint":
            return False
        for reader in readers:
            if isinstance(reader, Op) and reader.prim == "expand_dims":
                # A scalar needs no new axis: that expand_dims is dropped in turn.
                wider = (
                    ()
                    if smaller == ()
                    else ShapeInference.expanded(smaller, reader.params.get("axis"))
                )
                if reader.out.role != "temp" or not self.absorbed(reader.out, wider):
                    return False
                if smaller == ():
                    self.through.append(reader)
                self.narrowing[reader.out] = wider
                continue
            if not isinstance(reader, Op) or not _elementwise(reader):
                return False
            shapes = [
                smaller if a is v else self.narrowed.get(a, self.info.shape(a))
                for a in reader.args
            ]
            now = broadcast(*shapes)
            before = self.info.shape(reader.out)
            if before is None or now is None:
                return False
            if now != before:
                if reader.out.role != "temp" or not self.absorbed(reader.out, now):
                    return False
                self.narrowing[reader.out] = now
        return True

    def matmul_adjoint(self, op: Op) -> list[Stmt] | None:
        """The adjoint of one operand of `a @ b`, written for the ranks at hand."""
        g, a, b = op.args
        ra, rb = self.info.shape(a), self.info.shape(b)
        if ra is None or rb is None or not ra or not rb:
            return None
        first = op.prim.endswith("_a")
        self.pending = []
        if len(ra) == len(rb) == 1:
            self.emit(op, "mul", g, b if first else a, last=True)
        elif len(ra) == 1:  # (k,) @ (..., k, m) -> (..., m); only 2-D b here
            if len(rb) != 2:
                return None
            if first:
                self.emit(op, "matmul", b, g, last=True)
            else:
                self.emit(op, "outer", a, g, last=True)
        elif len(rb) == 1:  # (..., n, k) @ (k,) -> (..., n)
            if len(ra) != 2:
                return None
            if first:
                self.emit(op, "outer", g, b, last=True)
            else:
                self.emit(op, "matmul", self.swapped(op, a, 2), g, last=True)
        elif len(ra) == len(rb) and ra[:-2] == rb[:-2] and None not in ra[:-2]:
            if first:
                self.emit(op, "matmul", g, self.swapped(op, b, len(rb)), last=True)
            else:
                self.emit(op, "matmul", self.swapped(op, a, len(ra)), g, last=True)
        else:
            return None  # batch dimensions broadcast: the helper sums them back
        return self.pending

    def swapped(self, op: Op, x: Operand, rank: int) -> Var:
        """x with its last two axes swapped: `x.T` for a matrix."""
        if rank == 2:
            return self.emit(op, "transpose", x, last=False, attr=True)
        axes = tuple(range(rank - 2)) + (rank - 1, rank - 2)
        return self.emit(op, "transpose", x, last=False, axes=axes)


def _flatten(tree: Any) -> Iterable[Any]:
    if isinstance(tree, tuple):
        for t in tree:
            yield from _flatten(t)
    else:
        yield tree


def specialize(stmts: list[Stmt], roots: list[Any], params: dict[Var, Shape]):
    """Rewrite shape-generic adjoint code for the parameters' shape patterns."""
    from .optimize import _copy, _resolve, _substitute_tree
    from .reverse import substitute

    rewriter = _Rewriter(stmts, roots, params)
    visible: dict[tuple, Var] = {}
    for p in params:
        rewriter.offer(visible, p)
    stmts = rewriter.block(_copy(stmts), visible)
    if rewriter.replace:
        mapping = _resolve(rewriter.replace)
        substitute(stmts, mapping)
        roots = _substitute_tree(roots, mapping)
    return stmts, roots, rewriter.changed
