"""The helpers of the array_api backend: the same jobs as the numpy helpers of the
other runtime modules, written with the array API standard's functions only, in the
namespace `xp` of the arguments (torch, CuPy, JAX, array_api_strict or numpy).

A generated module of that backend copies the ones it calls instead of the numpy
ones (see :mod:`s2s.emit.portable`); a helper that calls the standard's functions
takes the namespace as its first parameter, `xp`, which the generated code passes.
Shapes are read as tuples of Python ints (a Python number's is `()`), so they
compare equal whichever library holds the array.
"""

import math

try:  # the optional extra `s2s[array-api]`; generated modules import it themselves
    from array_api_compat import array_namespace
except ImportError:  # pragma: no cover - tested where the extra is installed
    array_namespace = None


def _arrays(values):
    """The arrays among `values` and in the dicts, lists and tuples among them
    (Python numbers, None and other objects are left out)."""
    for v in values:
        if isinstance(v, dict):
            yield from _arrays(v.values())
        elif isinstance(v, (list, tuple)):
            yield from _arrays(v)
        elif hasattr(v, "shape") and hasattr(v, "dtype"):
            yield v


def _namespace(*values):
    """The array API namespace of the arrays among `values`; numpy's, wrapped to
    the standard, when there are none (every argument a Python number)."""
    arrays = list(_arrays(values))
    if not arrays:
        import array_api_compat.numpy

        return array_api_compat.numpy
    return array_namespace(*arrays)


def _device(*values):
    """The device of the arrays among `values` (None when there are none)."""
    for v in _arrays(values):
        return v.device
    return None


def _shape(x):
    """The shape of `x` as a tuple of ints: `()` for a Python number."""
    return tuple(getattr(x, "shape", ()))


def _ndim(x):
    """The number of axes of `x`: 0 for a Python number."""
    return len(_shape(x))


def _size(x):
    """The number of elements of `x`: 1 for a Python number."""
    return math.prod(_shape(x))


def _len(x):
    """len(x): the length of its first axis for an array (the standard's arrays
    have no len)."""
    shape = getattr(x, "shape", None)
    return len(x) if shape is None else shape[0]


def _ravel(xp, x):
    """`x` as a vector (np.ravel)."""
    return xp.reshape(x, (-1,))


def _transpose(xp, x, axes=None):
    """np.transpose: the axes reversed, or in the order `axes`."""
    if axes is None:
        axes = tuple(range(_ndim(x)))[::-1]
    return xp.permute_dims(x, tuple(axes))


def _squeeze(xp, x, axis=None):
    """np.squeeze: without the axes of length 1 (those of `axis`, else all)."""
    if axis is None:
        axis = tuple(i for i, n in enumerate(_shape(x)) if n == 1)
    return xp.squeeze(x, axis=axis)


def _outer(xp, a, b):
    """np.outer: every element of a times every element of b."""
    return xp.reshape(a, (-1, 1)) * xp.reshape(b, (1, -1))


def _check_scalar(y):
    """Refuse a non-scalar result: its gradient would silently be that of its sum."""
    if type(y) is not float and _ndim(y) != 0:
        error = ValueError(
            "the gradient needs a scalar result, but the function returned an array "
            "of shape %s: reduce it to a scalar (for example with .sum() or .mean()), "
            "or take the gradient of each element separately" % (_shape(y),)
        )
        error.s2s_shape = _shape(y)
        raise error


def _check_shape(value, expected, name):
    """Refuse to run code specialized for another shape of an array it reads."""
    if _shape(value) != expected:
        error = ValueError(
            "%s had shape %s when this gradient was generated, and has shape %s now: "
            "generate it again (s2s.grad does on its own)"
            % (name, expected, _shape(value))
        )
        error.s2s_stale = name
        raise error


def _check_shapes(*arguments, function, names, expected, _accepted={}):
    """Refuse arguments of other shapes than the code was written for: the ranks and
    the 1s of `expected`, a size other than 1 for each name, the same size wherever a
    name repeats.  The shapes last accepted for each pattern pass at once.  (Its
    `_shape_mismatch`, which reads no numpy, is copied into generated modules from
    :mod:`.checks`, as every helper with no portable version of its own.)"""
    shapes = tuple([_shape(x) for x in arguments])
    if _accepted.get(expected) == shapes:
        return
    sizes = {}
    for name, shape, dims in zip(names, shapes, expected):
        if len(shape) != len(dims):
            _shape_mismatch(function, name, shape, dims, sizes)  # noqa: F821
        for n, d in zip(shape, dims):
            if n == 1 if d == 1 else n != 1 and sizes.setdefault(d, n) == n:
                continue
            _shape_mismatch(function, name, shape, dims, sizes)  # noqa: F821
    _accepted[expected] = shapes


def _unbroadcast(xp, g, like):
    """Sum `g` over the axes that broadcasting added or stretched, to the shape of `like`."""
    return _unbroadcast_to(xp, _like(xp, g, like), _shape(like))


def _unbroadcast_to(xp, g, shape):
    """Sum `g` over the axes that broadcasting added or stretched, to `shape`."""
    shape = tuple(shape)
    if _shape(g) == shape:
        return g
    if isinstance(g, (int, float)):
        g = xp.asarray(g, dtype=xp.float64)
    lead = _ndim(g) - len(shape)
    if lead < 0:
        return xp.broadcast_to(g, shape)
    if lead > 0:
        g = xp.sum(g, axis=tuple(range(lead)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and _shape(g)[i] != 1)
    if stretched:
        g = xp.sum(g, axis=stretched, keepdims=True)
    if _shape(g) != shape:
        g = xp.broadcast_to(g, shape)
    return g


def _unreduce(xp, g, like, axis=None, keepdims=False):
    """Spread the adjoint of a reduction of `like` back over like's shape."""
    return _unreduce_to(xp, _like(xp, g, like), _shape(like), axis, keepdims)


def _like(xp, g, like):
    """A number `g` as a 0-d array in the float dtype and on the device of `like`
    (float64 for a Python number or integers); an array `g` as it is."""
    if not isinstance(g, (int, float)):
        return g
    dtype = getattr(like, "dtype", None)
    if dtype is None or not xp.isdtype(dtype, "real floating"):
        dtype = xp.float64
    return xp.asarray(g, dtype=dtype, device=_device(like))


def _unreduce_to(xp, g, shape, axis=None, keepdims=False):
    """Spread the adjoint of a reduction back over the reduced array's `shape`."""
    if isinstance(g, (int, float)):
        g = xp.asarray(g, dtype=xp.float64)
    if axis is not None and not keepdims:
        axes = axis if isinstance(axis, tuple) else (axis,)
        rank = _ndim(g) + len(axes)
        for a in sorted(a % rank for a in axes):
            g = xp.expand_dims(g, axis=a)
    return xp.broadcast_to(g, tuple(shape))


def _extremum_adjoint(xp, g, a, y, axis=None, keepdims=False):
    """Adjoint of np.max/np.min: g goes to the extremal elements, split evenly on ties."""
    mask = xp.astype(a == _unreduce(xp, y, a, axis, keepdims), a.dtype)
    count = xp.sum(mask, axis=axis, keepdims=True)
    return _unreduce(xp, g, a, axis, keepdims) * mask / count


def _as_matrices(xp, g, a, b):
    """View the operands of a matmul with 1-D arguments as matrices, as numpy does."""
    if _ndim(a) == 1:
        a = a[None, :]
        g = xp.expand_dims(g, axis=-2 if _ndim(g) else 0)
    if _ndim(b) == 1:
        b = b[:, None]
        g = xp.expand_dims(g, axis=-1)
    return g, a, b


def _matmul_adjoint_a(xp, g, a, b):
    """Adjoint of `a` in `a @ b`, for every mix of 1-D, 2-D and stacked operands."""
    if _ndim(a) == 1 and _ndim(b) == 1:
        return g * b
    g2, a2, b2 = _as_matrices(xp, g, a, b)
    product = g2 @ xp.matrix_transpose(b2)
    return xp.reshape(_unbroadcast(xp, product, a2), _shape(a))


def _matmul_adjoint_b(xp, g, a, b):
    """Adjoint of `b` in `a @ b`, for every mix of 1-D, 2-D and stacked operands."""
    if _ndim(a) == 1 and _ndim(b) == 1:
        return g * a
    g2, a2, b2 = _as_matrices(xp, g, a, b)
    product = xp.matrix_transpose(a2) @ g2
    return xp.reshape(_unbroadcast(xp, product, b2), _shape(b))


def _basic(index):
    """Whether every part of an index is an integer, a slice, None or Ellipsis."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice)) for p in parts)


def _every_axis(index):
    """The index with a trailing Ellipsis, which the standard asks for where an
    index names fewer axes than the array has (numpy's `x[0]` of a matrix)."""
    parts = index if isinstance(index, tuple) else (index,)
    return parts if any(p is Ellipsis for p in parts) else parts + (Ellipsis,)


def _setitem(xp, x, value, index):
    """`x[index] = value` on a copy of x (its dtype kept): the value of x after the
    assignment."""
    out = xp.asarray(x, copy=True)
    out[_every_axis(index)] = value
    return out


def _unindex(xp, g, like, index):
    """Adjoint of `like[index]`: g written into zeros of like's shape.  Basic
    indices only (integers, slices, None, ...): the standard has no scatter-add for
    the repeated elements an integer array may pick."""
    if not _basic(index):
        raise ValueError(
            "the array_api backend differentiates indexing by integers and slices "
            "only: np.take(x, indices) or an integer array index has no portable "
            "adjoint; use the numpy backend"
        )
    dtype = getattr(like, "dtype", None)
    if dtype is None or not xp.isdtype(dtype, "real floating"):
        dtype = xp.float64
    out = xp.zeros(_shape(like), dtype=dtype, device=_device(like))
    parts = index if isinstance(index, tuple) else (index,)
    if any(p is None for p in parts):
        parts = tuple(p for p in parts if p is not None)
        g = xp.reshape(g, _shape(out[_every_axis(parts)]))
    out[_every_axis(parts)] = g
    return out
