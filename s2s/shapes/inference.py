"""Symbolic shapes: the shape of every value, inferred from the shape patterns of the
parameters.

A parameter's *pattern* is a tuple of dimensions, each the number 1 or a symbol: a
name standing for a size other than 1, equal names for equal sizes (`("T", "B", "I")`
for a batch of sequences; `()` for a scalar).  :class:`ShapeInference` gives every
value of a program (forward and reverse sweeps, tapes included) a shape built from
those dimensions, from constants, or None where it cannot be known.  A dimension is
never guessed: two different symbols are never assumed equal, and a size computed at
run time (`np.zeros(n)`) is unknown, since it might be 1.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..ir import (
    Const,
    If,
    Loop,
    Op,
    Operand,
    Stmt,
    Var,
    operands,
    walk,
)
from ..primitives import PRIMITIVES, parse_einsum
from .algebra import (  # noqa: F401  (Shape and Dim are read from here too)
    Dim,
    Shape,
    as_dim,
    broadcast,
    join,
    matmul,
    normalized_axes,
    reduce,
)
from .functions import SHAPE_RULES


class ShapeInference:
    """The shape of every value of a program, given the patterns of its parameters.

    Arrays and numbers have shapes (`shapes`); a value made by `np.shape(x)` holds a
    shape (`tuples`), and one made by `np.shape(x)[k]` or `len(x)` holds a dimension
    (`dims`).  A loop's carried values start with their initial shapes and are
    widened until an iteration keeps them; a branch's results join both sides.
    """

    def __init__(self, stmts: list[Stmt], params: dict[Var, Shape]):
        self.shapes: dict[Var, Shape] = dict(params)
        # Known from outside (a parameter, data read from a module, checked on
        # entry): never worked out again.
        self.given = set(params)
        self.tuples: dict[Var, tuple] = {}
        self.dims: dict[Var, Dim] = {}
        self.ints: set[Var] = set()  # Python ints: loop indices and their arithmetic
        #: Values whose shape is () because a check says so, not because it follows.
        self.assumed: set[Var] = set()
        self.pushed: dict[Var, list] = {}
        self.analysed: dict[int, tuple] = {}  # loop -> what it read when analysed
        self.outside: dict[int, tuple] = {}  # loop -> what it reads from outside
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
        if v in self.given:
            return
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
        # A loop nested in loops is analysed at each step of their fixed points:
        # where nothing it reads from outside has changed, its shapes are those
        # found last time (else the work doubles with each level of nesting).
        reads, tapes = self._outside(s)
        key = (
            [self.abstract(v) for v in reads],
            [self.pushed.get(t) for t in tapes],
        )
        if self.analysed.get(id(s)) == key:
            return
        self._analyse_loop(s)
        self.analysed[id(s)] = key

    def _outside(self, s: Loop) -> tuple[list[Var], list[Var]]:
        """What a loop reads from outside it, and the tapes it pushes or pops."""
        if id(s) not in self.outside:
            inner = list(walk([s]))
            defined = {v for t in inner for v in t.defines}
            for t in inner:  # a loop's own carried values and index
                if isinstance(t, Loop):
                    defined.update(t.carried, [t.index] if t.index else [])
            reads = {
                v
                for t in inner
                for v in operands(t)
                if isinstance(v, Var) and v not in defined
            }
            tapes = {
                t.args[0]
                for t in inner
                if isinstance(t, Op) and t.prim in ("push", "pop")
            }
            order = lambda v: v.name
            self.outside[id(s)] = (sorted(reads, key=order), sorted(tapes, key=order))
        return self.outside[id(s)]

    def _analyse_loop(self, s: Loop) -> None:
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
        out, prim, args = op.out, op.prim, op.args
        if prim == "push":
            self.pushed[args[0]] = [self.abstract(a) for a in args[1:]]
            return
        if prim == "pop":
            for v, value in zip(op.outs, self.pushed.get(args[0], [])):
                self.assign(v, value)
            return
        if PRIMITIVES[prim].guarded:  # after the check, the value is a number
            if isinstance(args[0], Var) and self.shape(args[0]) is None:
                self.shapes[args[0]] = ()
                self.assumed.add(args[0])
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
        p = PRIMITIVES.get(prim)
        counts = p is not None and p.scalar and p.dtype == "int"  # a Python int
        keeps_ints = p is not None and p.cost == "number" and p.dtype is None
        if counts or keeps_ints:
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
        if p is None:
            return None
        if p.scalar:
            return ()
        if p.shaped_like is not None:
            return self.shape(args[p.shaped_like])
        if p.shaped_by is not None:
            return self.tuple_of(args[p.shaped_by])
        if p.reduction:
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
        if prim in SHAPE_RULES:
            return SHAPE_RULES[prim](self, op)
        if p.elementwise:
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
