"""The adjoint helpers of the core primitives: undoing broadcasts and reductions,
scattering a part back (`_unindex`, `_setitem`), products, extrema, traces,
diagonals, fills, joins and casts; and `_size`, np.size as every array library
spells it."""

import math

import numpy as np


def _size(a):
    """How many elements `a` has: np.size(a), written with np.shape, which every
    array library that follows numpy's protocols implements (Dask warns that it does
    not implement np.size)."""
    return math.prod(np.shape(a))


def _unbroadcast(g, like):
    """Sum `g` over the axes that broadcasting added or stretched, to the shape of `like`."""
    return _unbroadcast_to(g, np.shape(like))


def _unbroadcast_to(g, shape):
    """Sum `g` over the axes that broadcasting added or stretched, to `shape`."""
    if np.shape(g) == shape:
        return g
    lead = np.ndim(g) - len(shape)
    if lead < 0:
        return np.broadcast_to(g, shape)
    if lead > 0:
        g = np.sum(g, axis=tuple(range(lead)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and np.shape(g)[i] != 1)
    if stretched:
        g = np.sum(g, axis=stretched, keepdims=True)
    if np.shape(g) != shape:
        g = np.broadcast_to(g, shape)
    return g


def _unreduce(g, like, axis=None, keepdims=False):
    """Spread the adjoint of a reduction of `like` back over like's shape.  Over an
    array of another library (Dask), in that library: g spread over a Dask array is
    a lazy Dask array chunked as it is, not a numpy array of its size."""
    if type(like) is np.ndarray or not hasattr(like, "__array_function__"):
        return _unreduce_to(g, np.shape(like), axis, keepdims)
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.zeros_like(like, dtype=np.result_type(g, np.float64)) + g


def _unreduce_to(g, shape, axis=None, keepdims=False):
    """Spread the adjoint of a reduction back over the reduced array's `shape`."""
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, shape)


def _prod_adjoint(g, a, axis=None, keepdims=False):
    """Adjoint of np.prod: g times the product of every other element, zeros allowed."""
    a = np.asarray(a)
    if axis is None:
        reduced = list(range(a.ndim))
    else:
        reduced = [int(i) % a.ndim for i in np.atleast_1d(axis)]
    kept = [i for i in range(a.ndim) if i not in reduced]
    order = kept + reduced
    moved = np.transpose(a, order)
    flat = np.reshape(moved, np.shape(moved)[: len(kept)] + (-1,))
    ones = np.ones_like(flat[..., :1])
    before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    after_reversed = np.cumprod(
        np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1
    )
    others = np.reshape(before * after_reversed[..., ::-1], np.shape(moved))
    return _unreduce(g, a, axis, keepdims) * np.transpose(others, np.argsort(order))


def _extremum_adjoint(g, a, y, axis=None, keepdims=False):
    """Adjoint of np.max/np.min: g goes to the extremal elements, split evenly on ties."""
    mask = a == _unreduce(y, a, axis, keepdims)
    count = np.sum(mask, axis=axis, keepdims=True)
    return _unreduce(g, a, axis, keepdims) * mask / count


def _as_matrices(g, a, b):
    """View the operands of a matmul with 1-D arguments as matrices, as numpy does."""
    if np.ndim(a) == 1:
        a = a[None, :]
        g = np.expand_dims(g, -2)
    if np.ndim(b) == 1:
        b = b[:, None]
        g = np.expand_dims(g, -1)
    return g, a, b


def _matmul_adjoint_a(g, a, b):
    """Adjoint of `a` in `a @ b`, for every mix of 1-D, 2-D and stacked operands."""
    if np.ndim(a) == 1 and np.ndim(b) == 1:
        return g * b
    g2, a2, b2 = _as_matrices(g, a, b)
    return np.reshape(_unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2), np.shape(a))


def _matmul_adjoint_b(g, a, b):
    """Adjoint of `b` in `a @ b`, for every mix of 1-D, 2-D and stacked operands."""
    if np.ndim(a) == 1 and np.ndim(b) == 1:
        return g * a
    g2, a2, b2 = _as_matrices(g, a, b)
    return np.reshape(_unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2), np.shape(b))


def _dot_adjoint_a(g, a, b):
    """Adjoint of `a` in `np.dot(a, b)` (scalars, vectors and matrices)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _unbroadcast(g * b, a)
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        raise ValueError("s2s differentiates np.dot of up to 2-D arrays; use np.matmul")
    return _matmul_adjoint_a(g, a, b)


def _dot_adjoint_b(g, a, b):
    """Adjoint of `b` in `np.dot(a, b)` (scalars, vectors and matrices)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _unbroadcast(g * a, b)
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        raise ValueError("s2s differentiates np.dot of up to 2-D arrays; use np.matmul")
    return _matmul_adjoint_b(g, a, b)


def _setitem(x, value, index):
    """`x[index] = value` on a copy of x (its dtype kept, as numpy's assignment
    does): the value of x after the assignment."""
    out = np.array(x, copy=True)
    out[index] = value
    return out


def _unindex(g, like, index):
    """Adjoint of `like[index]`: g scattered into zeros of like's shape.

    Basic indices (integers, slices, None, ...) write g into a fresh array made with
    zeros_like, so that a Dask array stays a lazy Dask array (None is dropped from
    the index first: Dask does not assign through it).  Indices with integer arrays
    may repeat an element, so their contributions are summed with bincount over flat
    positions (no np.add.at, which other array libraries lack).
    """
    parts = index if isinstance(index, tuple) else (index,)
    if any(np.ndim(p) > 0 for p in parts if p is not None and p is not Ellipsis):
        shape = np.shape(like)
        positions = np.reshape(np.arange(_size(like)), shape)[index]
        weights = np.broadcast_to(g, np.shape(positions))
        # The positions in g's array library, laid out like the weights (Dask's
        # bincount needs both chunked alike).
        positions = np.zeros_like(weights, dtype=np.intp) + positions
        total = np.bincount(np.ravel(positions), np.ravel(weights), _size(like))
        return np.reshape(total, shape)
    out = np.zeros_like(like, dtype=np.result_type(g, np.float64))
    if any(p is None for p in parts):
        parts = tuple(p for p in parts if p is not None)
        g = np.reshape(g, np.shape(out[parts]))
    out[parts] = g
    return out


def _trace_adjoint(g, a, offset=0, axis1=0, axis2=1):
    """Adjoint of np.trace: g on the traced diagonal of every matrix, zeros elsewhere."""
    shape = np.shape(a)
    eye = np.eye(shape[axis1], shape[axis2], offset, dtype=np.result_type(g, 1.0))
    spread = np.expand_dims(g, (-2, -1)) * eye
    rank = len(shape)
    return np.moveaxis(spread, (-2, -1), (axis1 % rank, axis2 % rank))


def _diag_adjoint(g, v, k=0):
    """Adjoint of np.diag(v, k): the k-th diagonal of g for a vector v; for a matrix v,
    g placed on v's k-th diagonal, zeros elsewhere."""
    if np.ndim(v) == 1:
        return np.diag(g, k)
    rows, columns = np.shape(v)
    eye = np.eye(rows, columns, k, dtype=np.result_type(g, 1.0))
    if k >= 0:  # element i of the diagonal sits in row i
        return eye * np.concatenate([g, np.zeros(rows - _size(g))])[:, None]
    return eye * np.concatenate([g, np.zeros(columns - _size(g))])[None, :]


def _fill_adjoint(g, y, fill):
    """Adjoint of the fill value of np.full_like: g summed back to the fill's shape
    (zero when the result is an integer array: the fill was truncated)."""
    if not np.issubdtype(np.result_type(y), np.inexact):
        return np.zeros(np.shape(fill))
    return _unbroadcast(g, fill)


def _cast_like(g, like):
    """g in the float dtype of `like` (float64 for a Python number, integers or
    bools): the adjoint of a cast (x.astype(np.float32)) goes back in the dtype of
    what was cast."""
    dtype = np.result_type(getattr(like, "dtype", float), 1.0)
    if getattr(g, "dtype", np.dtype(float)) == dtype:
        return g
    return g.astype(dtype) if np.ndim(g) else dtype.type(g)


def _joined_part(g, parts, k, axis):
    """The slice of g, the adjoint of np.concatenate(parts, axis), that is parts[k]'s."""
    start = 0
    for part in parts[:k]:
        start = start + np.shape(part)[axis]
    stop = start + np.shape(parts[k])[axis]
    return g[(slice(None),) * axis + (slice(start, stop),)]


def _hstack_adjoint(g, *arrays, part=0):
    """Adjoint of np.hstack(arrays) for arrays[part]: vectors join end to end, other
    arrays along their second axis."""
    columns = [np.atleast_1d(a) for a in arrays]
    axis = 0 if np.ndim(columns[0]) == 1 else 1
    return np.reshape(_joined_part(g, columns, part, axis), np.shape(arrays[part]))


def _vstack_adjoint(g, *arrays, part=0):
    """Adjoint of np.vstack(arrays) for arrays[part]: a vector is one row."""
    rows = [np.atleast_2d(a) for a in arrays]
    return np.reshape(_joined_part(g, rows, part, 0), np.shape(arrays[part]))


def _take_adjoint(g, like, indices, axis=None):
    """Adjoint of np.take(like, indices, axis): g summed into zeros of like's shape
    at the indices (a repeated index adds)."""
    if axis is None:
        flat = _unindex(g, np.ravel(like), indices)
        return np.reshape(flat, np.shape(like))
    return _unindex(g, like, (slice(None),) * (axis % np.ndim(like)) + (indices,))


def _take_along_axis_adjoint(g, like, indices, axis=-1):
    """Adjoint of np.take_along_axis(like, indices, axis): g summed into zeros of
    like's shape at the indices along the axis (a repeated index adds)."""
    if axis is None:
        return _take_adjoint(g, like, indices)
    shape = np.shape(like)
    axis = axis % len(shape)
    index = []
    for k, n in enumerate(shape):
        if k == axis:
            index.append(indices)
        else:  # the position along every other axis, broadcast
            index.append(
                np.reshape(np.arange(n), (1,) * k + (n,) + (1,) * (len(shape) - k - 1))
            )
    return _unindex(g, like, tuple(index))
