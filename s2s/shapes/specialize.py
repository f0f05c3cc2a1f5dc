"""Shape specialization: the rewrites that the inferred shapes allow.

:func:`specialize` writes what a careful person would: `_unbroadcast(g, b)` becomes
`np.sum(g, axis=0)` or nothing, `_matmul_adjoint_a(g, a, b)` becomes `g @ b.T`, the
spread of a reduction's adjoint is left to the elementwise product that uses it, and
a result proven scalar needs no check.  The code is then right for every argument of
the same pattern: :func:`s2s.grad` dispatches on the pattern of its arguments, and a
module generated for annotated shapes checks it on entry.
"""

from __future__ import annotations

from dataclasses import replace as copy_stmt
from typing import Any, Iterable

import numpy as np

from .. import runtime
from ..errors import UnsupportedSyntaxError
from ..ir import (
    Const,
    If,
    Loop,
    Namespace,
    Op,
    Operand,
    Role,
    Stmt,
    Var,
    copy_tree,
    maybe_undefined,
    operands,
    resolve_chains,
    substitute,
    substitute_tree,
    temp_hint,
    walk,
)
from ..primitives import PRIMITIVES
from .inference import Shape, ShapeInference, broadcast, normalized_axes


def _refuse_update_in_place(op: Op) -> None:
    """The error `_check_unshared` raises at run time, raised now: the value is an
    array another name sees, for every argument of these shapes."""
    try:
        runtime._check_unshared(np.zeros(1), **op.params)
    except ValueError as e:
        message = str(e).split(": ", 1)[1]
        raise UnsupportedSyntaxError(
            message.split(": write", 1)[0],
            op.loc,
            (
                "Write the update as a new value (`x = x + ...`): s2s treats arrays as "
                "values and never updates one in place where another name sees it."
            ),
        ) from None


def _makes_arrays(op: Op) -> bool:
    """Whether op's result is an array numpy made (when its rank is 1 or more)."""
    p = PRIMITIVES.get(op.prim)
    spelled = p is not None and (p.numpy is not None or p.operator is not None)
    return (
        spelled
        and op.params.get("lib") not in ("math", "builtin")
        and (p.elementwise or p.reduction or p.allocates or p.view)
    )


def _elementwise(op: Op) -> bool:
    """Whether op's result has the broadcast shape of its operands, and the values
    of an arithmetic op (not a condition's bools)."""
    p = PRIMITIVES.get(op.prim)
    return p is not None and p.dtype != "bool" and p.elementwise


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
        return Var(self.names.fresh(hint), hint, Role.TEMP)

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
        if shape is None or None in shape or v in self.undefined:
            return
        made = self.made.get(v)
        if made is not None and PRIMITIVES[made.prim].spread:
            return  # this pass may leave a spread to its reader: its shape may shrink
        held = visible.get(shape)
        if held is None or (v.role.rank, v.name) < (
            held.role.rank,
            held.name,
        ):
            visible[shape] = v

    def read_shape_elsewhere(self, op: Op, visible: dict[tuple, Var]) -> None:
        """An op that reads a value only for its shape reads the best-named visible
        value of that shape instead (`np.size(y)`, not the size of a temporary that
        would otherwise be computed for nothing)."""
        k = PRIMITIVES[op.prim].shape_only
        x = op.args[k] if k is not None else None
        shape = self.info.shape(x) if isinstance(x, Var) else None
        if shape is None or None in shape:
            return
        stand_in = visible.get(shape)
        if stand_in is None or stand_in is x:
            return
        if stand_in.role.rank < x.role.rank and (
            x.role == Role.TEMP or stand_in.role == Role.PARAM
        ):
            op.args = op.args[:k] + (stand_in,) + op.args[k + 1 :]
            self.changed = True

    def rewrite(self, op: Op) -> list[Stmt] | None:
        """The statements that replace `op` (None: keep it)."""
        info = self.info
        checked = op.args[0] if PRIMITIVES[op.prim].guarded else None
        if checked is not None and checked not in info.assumed:
            if info.shape(checked) == ():
                return []  # a number: a scalar, and never shared
        if op.prim == "check_unshared" and info.shape(op.args[0]):
            _refuse_update_in_place(op)  # an array: the check would always fail
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
        if op.prim == "swapaxes":
            return self.matrix_transpose(op)
        if op.prim in ("as_columns", "from_columns"):
            return self.columns(op)
        if op.prim == "zeros" and info.tuple_of(op.args[0]) == ():
            return self.becomes(op, Const(0.0))
        if op.prim == "expand_dims" and info.shape(op.args[0]) == ():
            if self.absorbs(op.out, ()):  # a scalar broadcasts as it is
                return self.becomes(op, op.args[0])
        if op.prim == "broadcast_to" and info.shape(op.args[0]) is not None:
            if self.absorbs(op.out, info.shape(op.args[0])):
                return self.becomes(op, op.args[0])  # the ops that use it broadcast
        if op.prim == "along_axis":  # a vector along the axis of a vector: itself
            v, like = info.shape(op.args[0]), info.shape(op.args[1])
            if (v is not None and len(v) != 1) or (like is not None and len(like) == 1):
                return self.becomes(op, op.args[0])
        if op.prim == "array_copy" and info.shape(op.args[0]) == ():
            return self.becomes(op, op.args[0])  # a number is no view
        if (
            op.prim == "size"
            and isinstance(op.args[0], Var)
            and op.args[0].role != Role.PARAM
        ):
            return self.size_from_parameters(op)
        if (
            op.prim == "shape"
            and isinstance(op.args[0], Var)
            and op.args[0].role != Role.PARAM
        ):
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
        array_method = PRIMITIVES[op.prim].array_method
        if array_method and "method" not in op.params and "lib" not in op.params:
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
        if op.out.role == Role.TEMP:
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
        axes = normalized_axes(axis, len(target))
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
        if not readers or v.role != Role.TEMP and v.role != Role.ADJOINT:
            return False
        for reader in readers:
            if isinstance(reader, Op) and reader.prim == "expand_dims":
                # A scalar needs no new axis: that expand_dims is dropped in turn.
                wider = (
                    ()
                    if smaller == ()
                    else ShapeInference.expanded(smaller, reader.params.get("axis"))
                )
                if reader.out.role != Role.TEMP or not self.absorbed(reader.out, wider):
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
                if reader.out.role != Role.TEMP or not self.absorbed(reader.out, now):
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

    def columns(self, op: Op) -> list[Stmt] | None:
        """`_as_columns(v, a, b)` is v itself unless b is a vector and a a stack of
        matrices; then `np.expand_dims(v, -1)` (`v[..., 0]` back)."""
        a, b = self.info.shape(op.args[1]), self.info.shape(op.args[2])
        if a is None or b is None:
            return None
        if not (len(b) == 1 and len(a) > 2):
            return self.becomes(op, op.args[0])
        self.pending = []
        if op.prim == "as_columns":
            self.emit(op, "expand_dims", op.args[0], last=True, axis=-1)
        else:
            spec = (True, ("ellipsis",), ("value",))
            self.emit(op, "getitem", op.args[0], Const(0), last=True, spec=spec)
        return self.pending

    def matrix_transpose(self, op: Op) -> list[Stmt] | None:
        """`np.swapaxes(x, -1, -2)` of a matrix is `x.T`."""
        shape = self.info.shape(op.args[0])
        if shape is None or len(shape) != 2:
            return None
        axes = {op.params.get(k) for k in ("axis1", "axis2")}
        if not all(isinstance(k, int) for k in axes) or {k % 2 for k in axes} != {0, 1}:
            return None
        self.pending = []
        self.emit(op, "transpose", op.args[0], last=True, attr=True)
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
    rewriter = _Rewriter(stmts, roots, params)
    visible: dict[tuple, Var] = {}
    for p in params:
        rewriter.offer(visible, p)
    stmts = rewriter.block(copy_tree(stmts), visible)
    if rewriter.replace:
        mapping = resolve_chains(rewriter.replace)
        substitute(stmts, mapping)
        roots = substitute_tree(roots, mapping)
    return stmts, roots, rewriter.changed
