"""Small helpers that generated modules call, copied into each module that uses them.

Each helper is an ordinary, tested function here; :mod:`s2s.emit` copies the source of
the ones a module needs (and of the helpers they call) into that module, so a
generated module needs nothing but numpy.  They use only numpy functions that other
array libraries implement too: no in-place updates, no `np.add.at`, no `out=`.
"""

import numpy as np


def _check_scalar(y):
    """Refuse a non-scalar result: its gradient would silently be that of its sum."""
    if type(y) is not float and np.ndim(y) != 0:
        error = ValueError(
            "the gradient needs a scalar result, but the function returned an array "
            "of shape %s: reduce it to a scalar (for example with .sum() or .mean()), "
            "or take the gradient of each element separately" % (np.shape(y),)
        )
        error.s2s_shape = np.shape(y)
        raise error


def _check_unshared(value, update, where, holder):
    """Refuse to update an array in place where another name (or the caller) sees
    it: the gradient treats arrays as values.  A number is never shared."""
    if not isinstance(value, (int, float, complex, np.generic)):
        error = ValueError(
            "%s: `%s ...` would update in place an array that %s: write the update "
            "as a new value (`x = x + ...`), since s2s treats arrays as values and "
            "never updates one in place where another name sees it"
            % (where, update, holder)
        )
        error.s2s_in_place = where
        raise error


def _module(name):
    """The module a gradient reads its data from, as it is when the gradient runs
    (imported on first use: a generated module imports its source lazily)."""
    import importlib
    import sys

    module = sys.modules.get(name)
    return importlib.import_module(name) if module is None else module


def _closure_variable(function, name):
    """The value of a closure variable of a function, as it is now."""
    return function.__closure__[function.__code__.co_freevars.index(name)].cell_contents


def _global_variable(function, name):
    """The value of a global of a function, as it is now."""
    return function.__globals__[name]


def _format(template, *values):
    """An f-string of the user's code: its template filled with its values."""
    return template.format(*values)


def _check_unchanged(value, expected, name):
    """Refuse to run code written for another value of a free name (an axis, say),
    which the code needed when it was generated."""
    if not _same_literal(value, expected):
        error = ValueError(
            "%s was %r when this gradient was generated, and is %s now: generate it "
            "again (s2s.grad does on its own)"
            % (name, expected, "an array" if np.ndim(value) else repr(value))
        )
        error.s2s_stale = name
        raise error


def _check_shape(value, expected, name):
    """Refuse to run code specialized for another shape of an array it reads."""
    if np.shape(value) != expected:
        error = ValueError(
            "%s had shape %s when this gradient was generated, and has shape %s now: "
            "generate it again (s2s.grad does on its own)"
            % (name, expected, np.shape(value))
        )
        error.s2s_stale = name
        raise error


def _same_literal(value, expected):
    """Whether `value` is still the literal `expected` (a list the tuple it was
    written as, a numpy scalar the number)."""
    if isinstance(value, (tuple, list)):
        return (
            type(expected) is tuple
            and len(value) == len(expected)
            and all(map(_same_literal, value, expected))
        )
    if isinstance(value, np.generic):
        value = value.item()
    return type(value) is type(expected) and value == expected


def _check_shapes(*arguments, function, names, expected, _accepted={}):
    """Refuse arguments of other shapes than the code was written for: the ranks and
    the 1s of `expected`, a size other than 1 for each name, the same size wherever a
    name repeats.  The shapes last accepted for each pattern pass at once."""
    shapes = tuple(
        [
            (
                x.shape
                if type(x) is np.ndarray
                else () if type(x) is float else np.shape(x)
            )
            for x in arguments
        ]
    )
    if _accepted.get(expected) == shapes:
        return
    sizes = {}
    for name, shape, dims in zip(names, shapes, expected):
        if len(shape) != len(dims):
            _shape_mismatch(function, name, shape, dims, sizes)
        for n, d in zip(shape, dims):
            if n == 1 if d == 1 else n != 1 and sizes.setdefault(d, n) == n:
                continue
            _shape_mismatch(function, name, shape, dims, sizes)
    _accepted[expected] = shapes


def _shape_mismatch(function, name, shape, dims, sizes):
    """Raise the error of `_check_shapes` (a ValueError the caller can tell apart)."""
    wanted = "(" + ", ".join(map(str, dims)) + ("," if len(dims) == 1 else "") + ")"
    known = ", ".join("%s = %d" % item for item in sizes.items())
    error = ValueError(
        "%s was generated for %s of shape %s%s, but %s has shape %s: pass arguments "
        "of the annotated shapes (a name is a size other than 1), or drop the "
        "annotations for code that takes any shapes"
        % (function, name, wanted, " with " + known if known else "", name, shape)
    )
    error.s2s_shapes = (name, shape, dims)
    raise error


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
    """Spread the adjoint of a reduction of `like` back over like's shape."""
    return _unreduce_to(g, np.shape(like), axis, keepdims)


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
        positions = np.reshape(np.arange(np.size(like)), shape)[index]
        weights = np.broadcast_to(g, np.shape(positions))
        # The positions in g's array library, laid out like the weights (Dask's
        # bincount needs both chunked alike).
        positions = np.zeros_like(weights, dtype=np.intp) + positions
        total = np.bincount(np.ravel(positions), np.ravel(weights), np.size(like))
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
        return eye * np.concatenate([g, np.zeros(rows - np.size(g))])[:, None]
    return eye * np.concatenate([g, np.zeros(columns - np.size(g))])[None, :]


def _fill_adjoint(g, y, fill):
    """Adjoint of the fill value of np.full_like: g summed back to the fill's shape
    (zero when the result is an integer array: the fill was truncated)."""
    if not np.issubdtype(np.result_type(y), np.inexact):
        return np.zeros(np.shape(fill))
    return _unbroadcast(g, fill)


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


def _digamma(x):
    """The digamma function, the derivative of math.lgamma, at a float x (not 0 or
    a negative integer)."""
    return _polygamma(x, 0)


def _polygamma(x, n):
    """The n-th derivative of the digamma function at a float x (not a pole): the
    recurrence psi_n(x) = psi_n(x + 1) - (-1)**n n! / x**(n + 1) up to x >= 15, then
    the asymptotic series; below 0.5, the reflection formula, with the n-th
    derivative of pi cot(pi x) as a polynomial in the cotangent."""
    import math

    # B_2k / (2k)!, k = 1..9, the coefficients of the asymptotic series
    coefficients = (
        1.0 / 12,
        -1.0 / 720,
        1.0 / 30240,
        -1.0 / 1209600,
        1.0 / 47900160,
        -691.0 / 1307674368000,
        1.0 / 74724249600,
        -3617.0 / 10670622842880000,
        43867.0 / 5109094217170944000,
    )
    x = float(x)
    if x < 0.5:
        # psi_n(x) = (-1)**n psi_n(1 - x) - d^n/dx^n [pi cot(pi x)]
        cot = 1.0 / math.tan(math.pi * x)
        powers = [0.0, math.pi]  # pi * c, in powers of c = cot(pi x)
        for _ in range(n):  # d/dx c = -pi (1 + c**2)
            derivative = [0.0] * (len(powers) + 1)
            for k, a in enumerate(powers[1:], 1):
                derivative[k - 1] -= math.pi * k * a
                derivative[k + 1] -= math.pi * k * a
            powers = derivative
        reflected = sum(a * cot**k for k, a in enumerate(powers))
        return (-1) ** n * _polygamma(1.0 - x, n) - reflected
    sign = -1.0 if n % 2 else 1.0  # (-1)**n
    factorial = math.factorial(n)
    total = 0.0
    while x < 15.0:
        total -= sign * factorial / x ** (n + 1)
        x += 1.0
    if n == 0:
        series = math.log(x) - 0.5 / x
    else:
        series = -sign * (math.factorial(n - 1) / x**n + factorial / (2 * x ** (n + 1)))
    for k, b in enumerate(coefficients, 1):
        term = b * math.factorial(2 * k + n - 1) / x ** (2 * k + n)
        series += -term if n == 0 else -sign * term
    return total + series


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


def _tile_adjoint(g, like, reps):
    """Adjoint of np.tile(like, reps): the copies of like in g, summed."""
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    shape = np.shape(like)
    rank = max(len(shape), len(reps))
    sizes = (1,) * (rank - len(shape)) + tuple(shape)
    counts = (1,) * (rank - len(reps)) + reps
    split = [n for pair in zip(counts, sizes) for n in pair]
    copies = np.sum(np.reshape(g, split), axis=tuple(range(0, 2 * rank, 2)))
    return np.reshape(copies, shape)


def _repeat_adjoint(g, like, repeats, axis=None):
    """Adjoint of np.repeat(like, repeats, axis) with an integer `repeats`: the
    repeats of each element in g, summed."""
    shape = np.shape(like)
    if axis is None:
        return np.reshape(np.sum(np.reshape(g, (-1, repeats)), axis=1), shape)
    axis = axis % len(shape)
    split = shape[:axis] + (shape[axis], repeats) + shape[axis + 1 :]
    return np.sum(np.reshape(g, split), axis=axis + 1)


def _unpad(g, pad_width):
    """Adjoint of np.pad(a, pad_width) (mode "constant"): the part of g that is a's."""
    pairs = np.broadcast_to(np.asarray(pad_width, dtype=int), (np.ndim(g), 2))
    index = tuple(
        slice(int(before), n - int(after))
        for (before, after), n in zip(pairs.tolist(), np.shape(g))
    )
    return g[index]


def _kron_parts(g, a, b):
    """g, the adjoint of np.kron(a, b), with each axis split in two (a's index and
    b's), and a and b with the product's rank (ones in front, as numpy does)."""
    rank = max(np.ndim(a), np.ndim(b))
    sa = (1,) * (rank - np.ndim(a)) + tuple(np.shape(a))
    sb = (1,) * (rank - np.ndim(b)) + tuple(np.shape(b))
    split = np.reshape(g, [n for pair in zip(sa, sb) for n in pair])
    return split, np.reshape(a, sa), np.reshape(b, sb), rank


def _kron_adjoint_a(g, a, b):
    """Adjoint of `a` in np.kron(a, b): each block of g contracted with b."""
    split, _, b, rank = _kron_parts(g, a, b)
    axes = (list(range(1, 2 * rank, 2)), list(range(rank)))
    return np.reshape(np.tensordot(split, b, axes=axes), np.shape(a))


def _kron_adjoint_b(g, a, b):
    """Adjoint of `b` in np.kron(a, b): the blocks of g weighted by a, summed."""
    split, a, _, rank = _kron_parts(g, a, b)
    axes = (list(range(0, 2 * rank, 2)), list(range(rank)))
    return np.reshape(np.tensordot(split, a, axes=axes), np.shape(b))


def _tensordot_axes(a, b, axes):
    """The axes of a and of b that np.tensordot(a, b, axes) sums over, in pairs."""
    if isinstance(axes, int):
        return list(range(np.ndim(a) - axes, np.ndim(a))), list(range(axes))
    first, second = [[k] if isinstance(k, int) else list(k) for k in axes]
    return [k % np.ndim(a) for k in first], [k % np.ndim(b) for k in second]


def _tensordot_adjoint_a(g, a, b, axes=2):
    """Adjoint of `a` in np.tensordot(a, b, axes): g contracted with b over b's free
    axes, then a's axes put back in their order."""
    summed_a, summed_b = _tensordot_axes(a, b, axes)
    free_a = [k for k in range(np.ndim(a)) if k not in summed_a]
    free_b = [k for k in range(np.ndim(b)) if k not in summed_b]
    part = np.tensordot(g, b, axes=(list(range(len(free_a), np.ndim(g))), free_b))
    # part holds a's free axes, then b's summed ones in b's order
    paired = sorted(range(len(summed_b)), key=lambda i: summed_b[i])
    order = free_a + [summed_a[i] for i in paired]
    return np.transpose(part, np.argsort(order))


def _tensordot_adjoint_b(g, a, b, axes=2):
    """Adjoint of `b` in np.tensordot(a, b, axes): a contracted with g over a's free
    axes, then b's axes put back in their order."""
    summed_a, summed_b = _tensordot_axes(a, b, axes)
    free_a = [k for k in range(np.ndim(a)) if k not in summed_a]
    free_b = [k for k in range(np.ndim(b)) if k not in summed_b]
    part = np.tensordot(a, g, axes=(free_a, list(range(len(free_a)))))
    # part holds a's summed axes in a's order, then b's free ones
    paired = sorted(range(len(summed_a)), key=lambda i: summed_a[i])
    order = [summed_b[i] for i in paired] + free_b
    return np.transpose(part, np.argsort(order))


def _inverse_gaps(w):
    """1 / (w[j] - w[i]) at [i, j], 0 on the diagonal, for eigenvalues w (of each
    matrix of a stack): what the derivative of eigenvectors divides by.  Equal
    eigenvalues (to rounding) are refused: their eigenvectors are not unique and
    have no derivative."""
    n = np.shape(w)[-1]
    gaps = np.expand_dims(w, -2) - np.expand_dims(w, -1)
    apart = ~np.eye(n, dtype=bool)
    scale = np.max(np.abs(w), axis=-1, keepdims=True)
    close = np.abs(gaps) <= 4 * n * np.finfo(np.float64).eps * np.expand_dims(scale, -1)
    if np.any(close & apart):
        error = ValueError(
            "np.linalg.eigh: the matrix has equal eigenvalues (%s), whose eigenvectors "
            "are not unique and have no derivative: differentiate the eigenvalues "
            "only, or a function of the matrix that does not depend on the choice of "
            "eigenvectors written another way (e.g. a sum of w, or np.linalg.solve)"
            % np.unique(np.round(np.asarray(w)[np.any(close & apart, axis=-1)], 12))
        )
        error.s2s_degenerate = True
        raise error
    return np.where(apart, 1.0 / np.where(apart, gaps, 1.0), 0.0)


def _along_axis(v, like, axis=-1):
    """A vector v of like.shape[axis] values laid along that axis of like, to
    broadcast against it (as np.average does with its weights and np.trapezoid with
    x); any other v as it is."""
    if np.ndim(v) != 1 or np.ndim(like) == 1:
        return v
    shape = [1] * np.ndim(like)
    shape[axis] = -1
    return np.reshape(v, shape)


def _spectral_direction(x, axis=None):
    """The gradient of np.linalg.norm(x, 2, axis): u1 v1^T of each matrix, its
    largest singular value's singular vectors (where that value is repeated, one
    subgradient: numpy's pair); of a vector (axis None), x / |x| (0 at 0)."""
    if axis is None and np.ndim(x) == 1:
        norm = np.sqrt(np.sum(x * x))
        return x / np.where(norm == 0, 1.0, norm)
    last = (-2, -1)  # the matrices' axes, last
    matrices = x if axis is None else np.moveaxis(x, axis, last)
    u, s, vt = np.linalg.svd(matrices, full_matrices=False)
    w = u[..., :, :1] * vt[..., :1, :]
    return w if axis is None else np.moveaxis(w, last, axis)


def _spectral_curvature(t, x, axis=None):
    """The derivative of _spectral_direction at x along t: the Hessian of the
    spectral norm times t (symmetric, so it is also the adjoint).  It exists where
    the largest singular value is not repeated; elsewhere it is refused."""
    if axis is None and np.ndim(x) == 1:  # (I - x x^T / |x|^2) / |x|
        norm = np.sqrt(np.sum(x * x))
        norm = np.where(norm == 0, 1.0, norm)  # the kink at 0: any value
        unit = x / norm
        return (t - unit * np.sum(unit * t)) / norm
    last = (-2, -1)  # the matrices' axes, last
    m, dm = (v if axis is None else np.moveaxis(v, axis, last) for v in (x, t))
    u, s, vt = np.linalg.svd(m, full_matrices=False)
    v = np.swapaxes(vt, -1, -2)
    top = s[..., :1]
    gaps = top**2 - s**2
    if np.any(gaps[..., 1:] <= 4 * np.finfo(np.float64).eps * top**2):
        error = ValueError(
            "np.linalg.norm(x, 2): the largest singular value is repeated, where "
            "the spectral norm has no second derivative: differentiate it once only "
            "there"
        )
        error.s2s_degenerate = True
        raise error
    inverse = np.concatenate([np.zeros_like(top), 1.0 / gaps[..., 1:]], axis=-1)
    a = np.swapaxes(u, -1, -2) @ dm @ v  # a[i, j] = u_i^T dx v_j
    col, row = a[..., :, 0], a[..., 0, :]
    u1, v1 = u[..., :, 0], v[..., :, 0]
    dx_v1 = (dm @ v1[..., :, None])[..., 0]
    dxt_u1 = (np.swapaxes(dm, -1, -2) @ u1[..., :, None])[..., 0]
    # the parts in the singular vectors' span, and in its complement
    du1 = (u @ ((top * col + s * row) * inverse)[..., :, None])[..., 0]
    du1 = (
        du1
        + (dx_v1 - (u @ (np.swapaxes(u, -1, -2) @ dx_v1[..., :, None]))[..., 0]) / top
    )
    dv1 = (v @ ((top * row + s * col) * inverse)[..., :, None])[..., 0]
    dv1 = dv1 + (dxt_u1 - (v @ (vt @ dxt_u1[..., :, None]))[..., 0]) / top
    dw = du1[..., :, None] * v1[..., None, :] + u1[..., :, None] * dv1[..., None, :]
    return dw if axis is None else np.moveaxis(dw, last, axis)


def _as_columns(v, a, b):
    """v as np.linalg.solve(a, b) reads b: a vector b with a stack of matrices a is
    one vector per matrix, which a column says (other readings need nothing)."""
    return v[..., None] if np.ndim(b) == 1 and np.ndim(a) > 2 else v


def _from_columns(v, a, b):
    """The inverse of _as_columns."""
    return v[..., 0] if np.ndim(b) == 1 and np.ndim(a) > 2 else v
