"""The result shapes of the array functions and of linear algebra: one function per
primitive, `rule(info, op)`, reading its operands' shapes from `info` (the
:class:`~.inference.ShapeInference` at work) and its parameters from the op.  A
dimension that cannot be known (a size computed at run time, a difference of a
symbol and a number) is None."""

from __future__ import annotations

import math
from typing import Any, Callable

from ..primitives import PRIMITIVES
from .algebra import Dim, Shape, broadcast, matmul, normalized_axes

#: Primitive name -> its shape rule.
SHAPE_RULES: dict[str, Callable[[Any, Any], Shape]] = {}


def _rule(*names: str):
    def register(rule: Callable[[Any, Any], Shape]) -> Callable[[Any, Any], Shape]:
        for name in names:
            SHAPE_RULES[name] = rule
        return rule

    return register


def _param(op, name: str) -> Any:
    """A static parameter of op: as given, else the primitive's default."""
    return op.param(name)


def _plus(d: Dim, k: int) -> Dim:
    """d + k for a known size; unknown for a symbol (it stands for any size)."""
    return d + k if isinstance(d, int) else None


def _times(d: Dim, k: int) -> Dim:
    if k == 1:
        return d
    return d * k if isinstance(d, int) else None


def _axis(shape: Shape, axis: Any) -> int | None:
    """`axis` counted from 0 in an array of this shape, or None."""
    axes = normalized_axes(axis, len(shape)) if isinstance(axis, int) else None
    return axes[0] if axes else None


def _flat(shape: Shape) -> Shape:
    """The shape of the flattened array."""
    if shape is None:
        return None
    size: Dim = 1
    for d in shape:
        size = size * d if isinstance(size, int) and isinstance(d, int) else None
    return (size,)


def _along(shape: Shape, axis: Any, change: Callable[[Dim], Dim]) -> Shape:
    """The shape with the dimension on `axis` changed (flattened for axis None)."""
    if shape is None:
        return None
    if axis is None:
        shape = _flat(shape)
        axis = 0
    k = _axis(shape, axis)
    if k is None:
        return None
    return shape[:k] + (change(shape[k]),) + shape[k + 1 :]


@_rule("cumprod", "sort", "argsort")
def _scan(info, op) -> Shape:
    return _along(info.shape(op.args[0]), _param(op, "axis"), lambda d: d)


@_rule("diff")
def _diff(info, op) -> Shape:
    extra = (_param(op, "prepend") is not None) + (_param(op, "append") is not None)
    change = extra - _param(op, "n")
    return _along(
        info.shape(op.args[0]), _param(op, "axis"), lambda d: _plus(d, change)
    )


@_rule("flip", "roll", "triu", "tril")
def _same(info, op) -> Shape:
    shape = info.shape(op.args[0])
    if op.prim in ("triu", "tril") and shape is not None and len(shape) < 2:
        return None  # a vector becomes a matrix
    return shape


@_rule("swapaxes")
def _swapaxes(info, op) -> Shape:
    shape = info.shape(op.args[0])
    if shape is None:
        return None
    i, j = (_axis(shape, _param(op, k)) for k in ("axis1", "axis2"))
    if i is None or j is None:
        return None
    out = list(shape)
    out[i], out[j] = shape[j], shape[i]
    return tuple(out)


@_rule("moveaxis")
def _moveaxis(info, op) -> Shape:
    shape = info.shape(op.args[0])
    if shape is None:
        return None
    source, destination = _param(op, "source"), _param(op, "destination")
    sources = normalized_axes(source, len(shape))
    destinations = normalized_axes(destination, len(shape))
    if sources is None or destinations is None:
        return None
    # as numpy does: the other axes in order, the moved ones put in their places
    as_list = lambda a: list(a) if isinstance(a, tuple) else [a]  # noqa: E731
    pairs = sorted(
        zip(
            [d % len(shape) for d in as_list(destination)],
            [s % len(shape) for s in as_list(source)],
        )
    )
    rest = [k for k in range(len(shape)) if k not in {s for _, s in pairs}]
    order = list(rest)
    for d, s in pairs:
        order.insert(d, s)
    return tuple(shape[k] for k in order)


@_rule("take")
def _take(info, op) -> Shape:
    shape, index = info.shape(op.args[0]), info.shape(op.args[1])
    axis = _param(op, "axis")
    if index is None or shape is None:
        return None
    if axis is None:
        return index
    k = _axis(shape, axis)
    return None if k is None else shape[:k] + index + shape[k + 1 :]


@_rule("take_along_axis")
def _take_along_axis(info, op) -> Shape:
    shape, index = info.shape(op.args[0]), info.shape(op.args[1])
    axis = _param(op, "axis")
    if index is None or shape is None:
        return None
    if axis is None:
        return index
    k = _axis(shape, axis)
    if k is None or len(index) != len(shape):
        return None
    rest = broadcast(
        shape[:k] + (1,) + shape[k + 1 :], index[:k] + (1,) + index[k + 1 :]
    )
    return None if rest is None else rest[:k] + (index[k],) + rest[k + 1 :]


@_rule("tile")
def _tile(info, op) -> Shape:
    shape, reps = info.shape(op.args[0]), _param(op, "reps")
    if shape is None:
        return None
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    rank = max(len(shape), len(reps))
    shape = (1,) * (rank - len(shape)) + shape
    reps = (1,) * (rank - len(reps)) + reps
    return tuple(_times(d, r) for d, r in zip(shape, reps))


@_rule("repeat")
def _repeat(info, op) -> Shape:
    repeats = _param(op, "repeats")
    return _along(
        info.shape(op.args[0]), _param(op, "axis"), lambda d: _times(d, repeats)
    )


def _pad_pairs(op, rank: int) -> list[tuple[int, int]] | None:
    """The (before, after) widths on each axis of a constant pad_width."""
    width = getattr(op.args[1], "value", None)
    if isinstance(width, int):
        return [(width, width)] * rank
    if not isinstance(width, tuple):
        return None
    if all(isinstance(w, int) for w in width):
        width = (width,) if len(width) == 2 else tuple((w, w) for w in width)
    pairs = [tuple(p) if isinstance(p, tuple) else (p, p) for p in width]
    if len(pairs) == 1:
        pairs = pairs * rank
    if len(pairs) != rank or any(len(p) != 2 for p in pairs):
        return None
    return pairs


@_rule("pad")
def _pad(info, op) -> Shape:
    shape = info.shape(op.args[0])
    if shape is None:
        return None
    pairs = _pad_pairs(op, len(shape))
    if pairs is None:
        return (None,) * len(shape)
    return tuple(_plus(d, b + a) for d, (b, a) in zip(shape, pairs))


@_rule("unpad")
def _unpad(info, op) -> Shape:
    shape = info.shape(op.args[0])
    if shape is None:
        return None
    pairs = _pad_pairs(op, len(shape))
    if pairs is None:
        return (None,) * len(shape)
    return tuple(_plus(d, -b - a) for d, (b, a) in zip(shape, pairs))


@_rule("solve")
def _solve(info, op) -> Shape:
    return matmul(info.shape(op.args[0]), info.shape(op.args[1]))


@_rule("kron")
def _kron(info, op) -> Shape:
    a, b = info.shape(op.args[0]), info.shape(op.args[1])
    if a is None or b is None:
        return None
    rank = max(len(a), len(b))
    a, b = (1,) * (rank - len(a)) + a, (1,) * (rank - len(b)) + b
    return tuple(
        (
            x
            if y == 1
            else (
                y
                if x == 1
                else x * y if isinstance(x, int) and isinstance(y, int) else None
            )
        )
        for x, y in zip(a, b)
    )


@_rule("tensordot")
def _tensordot(info, op) -> Shape:
    a, b, axes = info.shape(op.args[0]), info.shape(op.args[1]), _param(op, "axes")
    if a is None or b is None:
        return None
    if isinstance(axes, int):
        summed_a, summed_b = range(len(a) - axes, len(a)), range(axes)
    else:
        summed_a, summed_b = (normalized_axes(k, len(s)) for k, s in zip(axes, (a, b)))
        if summed_a is None or summed_b is None:
            return None
    return tuple(d for k, d in enumerate(a) if k not in summed_a) + tuple(
        d for k, d in enumerate(b) if k not in summed_b
    )


@_rule("det", "logabsdet", "slogdet_sign")
def _per_matrix(info, op) -> Shape:
    a = info.shape(op.args[0])
    return a[:-2] if a is not None and len(a) >= 2 else None


@_rule("eigh_values")
def _eigenvalues(info, op) -> Shape:
    a = info.shape(op.args[0])
    return a[:-1] if a is not None and len(a) >= 2 else None


@_rule("inverse_gaps")
def _gaps(info, op) -> Shape:
    w = info.shape(op.args[0])
    return w + w[-1:] if w else None


@_rule("eye")
def _eye(info, op) -> Shape:
    n = info.dim_of(op.args[0])
    m = info.dim_of(op.args[1]) if len(op.args) > 1 else n
    return (n, m)


@_rule("linspace", "geomspace")
def _grid(info, op) -> Shape:
    """num points, of the broadcast shape of start and stop each (numpy's axis 0)."""
    num = info.dim_of(op.args[2]) if len(op.args) > 2 else 50
    ends = broadcast(info.shape(op.args[0]), info.shape(op.args[1]))
    return None if ends is None else (num,) + ends


@_rule("arange")
def _arange(info, op) -> Shape:
    """As many numbers as numpy counts, ceil((stop - start) / step), where the
    operands are constants; one dimension in any case."""
    values = [getattr(a, "value", None) for a in op.args]  # start, stop, step
    if all(type(v) in (int, float) for v in values):
        start, stop, step = (([0] if len(values) == 1 else []) + values + [1])[:3]
        if step != 0:
            return (max(0, math.ceil((stop - start) / step)),)
    if len(op.args) == 1:
        return (info.dim_of(op.args[0]),)
    return (None,)


def _triangle_count(n: Dim, m: Dim, k: int, upper: bool) -> Dim:
    """How many elements of an n x m matrix are on or above (below) diagonal k."""
    if not isinstance(n, int) or not isinstance(m, int):
        return None
    if upper:
        return sum(max(0, m - max(0, i + k)) for i in range(n))
    return sum(max(0, min(m, i + k + 1)) for i in range(n))


@_rule(
    *(
        f"{name}{source}_{part}"
        for name in ("triu_indices", "tril_indices")
        for source in ("", "_from")
        for part in ("rows", "columns")
    )
)
def _triangle_indices(info, op) -> Shape:
    """One index per element of the triangle: of an n x m matrix, or of the matrix
    given (`np.triu_indices_from(a)`)."""
    name = PRIMITIVES[op.prim].numpy
    if name.endswith("_from"):
        shape = info.shape(op.args[0])
        n, m = shape if shape is not None and len(shape) == 2 else (None, None)
    else:
        n = info.dim_of(op.args[0])
        m = n if _param(op, "m") is None else _param(op, "m")
    return (_triangle_count(n, m, _param(op, "k"), name.startswith("triu")),)


@_rule("along_axis")
def _along_axis(info, op) -> Shape:
    v, like = info.shape(op.args[0]), info.shape(op.args[1])
    if v is None or len(v) != 1:
        return v
    if like is None:
        return None
    k = _axis(like, _param(op, "axis"))
    if len(like) == 1 or k is None:
        return v if len(like) == 1 else None
    return tuple(v[0] if i == k else 1 for i in range(len(like)))


def _columns(info, op) -> bool | None:
    """Whether _as_columns adds a column (None: unknown)."""
    a, b = info.shape(op.args[1]), info.shape(op.args[2])
    if a is None or b is None:
        return None
    return len(b) == 1 and len(a) > 2


@_rule("as_columns", "from_columns")
def _in_columns(info, op) -> Shape:
    v, columns = info.shape(op.args[0]), _columns(info, op)
    if v is None or columns is None:
        return None
    if not columns:
        return v
    return v + (1,) if op.prim == "as_columns" else v[:-1]
