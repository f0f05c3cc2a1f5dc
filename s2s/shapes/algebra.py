"""The algebra of symbolic shapes: dimensions and shapes, numpy's broadcasting, the
join of two paths, the axes of a reduction and the shape of a matmul."""

from __future__ import annotations

from typing import Any, Union

#: A dimension: 1 or another known size (an int), a symbol (a str), unknown (None).
Dim = Union[int, str, None]
#: A shape: a tuple of dimensions, or None when even the rank is unknown.
Shape = Union[tuple, None]


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


def normalized_axes(axis: Any, rank: int) -> tuple[int, ...] | None:
    """The axes `axis` names in an array of `rank` dimensions, counted from 0 (all
    of them for None); None when one is out of range."""
    if axis is None:
        return tuple(range(rank))
    axes = axis if isinstance(axis, tuple) else (axis,)
    if not all(isinstance(a, int) and -rank <= a < rank for a in axes):
        return None
    return tuple(sorted(a % rank for a in axes))


def reduce(shape: Shape, axis: Any, keepdims: bool) -> Shape:
    if shape is None:
        return None
    axes = normalized_axes(axis, len(shape))
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
