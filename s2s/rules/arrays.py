"""The derivative rules of the array functions (cumprod, diff, sorting, selecting,
rearranging, repeating, padding), of the functions that build arrays (grids, casts,
triangle indices) and of the runtime helpers their adjoints call.

Most are linear: their adjoint puts each element of g back where it came from (the
helpers of :mod:`s2s.runtime` sum it where an element was used more than once), and
the adjoint of such a helper is the function itself.  cumprod, diff, sort, pad and
geomspace are "other", with tangent rules of their own."""

from __future__ import annotations

from .registry import along, linear, np, other, rt, tangent, zero


def _reversed(x, axis):
    return x[along(axis, slice(None, None, -1))]


def _suffix_sum(x, axis):
    """Each element's sum with the elements after it along the axis."""
    return _reversed(np.cumsum(_reversed(x, axis), axis=axis), axis)


def _zeros(a, axis):
    """Where a is 0, and which are the first and the second zero along the axis."""
    zero = a == 0
    count = np.cumsum(zero, axis=axis)
    return zero, zero & (count == 1), zero & (count == 2), zero & (count <= 2)


def _without(a, where, axis):
    """The running products of a with the elements `where` left out."""
    return np.cumprod(np.where(where, 1.0, a), axis=axis)


def _cumprod(g, y, a, axis=None):
    """Element j is a factor of every product y[i], i >= j: its adjoint is the sum of
    g[i] y[i] / a[j] over them, exact wherever a[j] is not 0 (also in its own
    derivative).  At the first zero of an axis the products are taken without it;
    at the second, without both, times the first (a zero, whose derivative a second
    derivative needs).  Later zeros have a zero adjoint, with zero derivative."""
    if axis is None:
        return np.reshape(_cumprod(g, y, np.ravel(a), axis=0), np.shape(a))
    zero, first, second, two = _zeros(a, axis)
    away = _suffix_sum(g * y, axis) / np.where(zero, 1.0, a)
    at_first = _suffix_sum(g * _without(a, first, axis), axis)
    first_zero = np.sum(np.where(first, a, 0.0), axis=axis, keepdims=True)
    at_second = first_zero * _suffix_sum(g * _without(a, two, axis), axis)
    return np.where(first, at_first, np.where(second, at_second, away))


def _cumprod_tangent(tangents, y, a, axis=None):
    """The sum over j <= i of t[j] times the products y[i] without a[j] (see the
    adjoint for the zeros)."""
    t = tangents[0]
    if axis is None:
        return _cumprod_tangent({0: np.ravel(t)}, y, np.ravel(a), axis=0)
    zero, first, second, two = _zeros(a, axis)
    away = y * np.cumsum(np.where(zero, 0.0, t / np.where(zero, 1.0, a)), axis=axis)
    at_first = _without(a, first, axis) * np.cumsum(np.where(first, t, 0.0), axis=axis)
    first_zero = np.sum(np.where(first, a, 0.0), axis=axis, keepdims=True)
    at_second = (
        first_zero
        * _without(a, two, axis)
        * np.cumsum(np.where(second, t, 0.0), axis=axis)
    )
    return away + at_first + at_second


other("cumprod", _cumprod)
tangent("cumprod", _cumprod_tangent)


def _diff(g, y, a, n=1, axis=-1, prepend=None, append=None):
    """The transpose of one difference is minus the difference of g padded with a
    zero at both ends; the numbers prepended and appended get nothing."""
    for _ in range(n):
        g = -np.diff(g, axis=axis, prepend=0.0, append=0.0)
    if prepend is not None:
        g = g[along(axis, slice(1, None))]
    if append is not None:
        g = g[along(axis, slice(None, -1))]
    return g


def _diff_tangent(tangents, y, a, n=1, axis=-1, prepend=None, append=None):
    ends = {
        name: 0.0
        for name, value in (("prepend", prepend), ("append", append))
        if value is not None
    }
    return np.diff(tangents[0], n=n, axis=axis, **ends)


other("diff", _diff)
tangent("diff", _diff_tangent)


zero("argsort")


def _order(a, axis, kind):
    return np.argsort(a, axis=axis, kind=kind)


other(
    "sort",
    lambda g, y, a, axis=-1, kind=None: rt.take_along_axis_adjoint(
        g, a, _order(a, axis, kind), axis=axis
    ),
)


def _sort_tangent(tangents, y, a, axis=-1, kind=None):
    t, order = tangents[0], _order(a, axis, kind)
    if axis is None:  # the flattened array's order (a number is one element)
        return np.take_along_axis(np.ravel(t), order, axis=0)
    return np.take_along_axis(t, order, axis=axis)


tangent("sort", _sort_tangent)
linear(
    "take",
    lambda g, y, a, indices, axis=None: rt.take_adjoint(g, a, indices, axis=axis),
    None,
)
linear(
    "take_along_axis",
    lambda g, y, a, indices, axis=-1: rt.take_along_axis_adjoint(
        g, a, indices, axis=axis
    ),
    None,
)


def _negated(shift):
    if shift.is_const:
        value = shift.value
        return tuple(-s for s in value) if isinstance(value, tuple) else -value
    return -shift


linear("flip", lambda g, y, m, axis=None: np.flip(g, axis=axis))
linear(
    "roll",
    lambda g, y, a, shift, axis=None: np.roll(g, _negated(shift), axis=axis),
    None,
)
linear(
    "swapaxes",
    lambda g, y, a, axis1, axis2: np.swapaxes(g, axis1=axis1, axis2=axis2),
)
linear(
    "moveaxis",
    lambda g, y, a, source, destination: np.moveaxis(
        g, source=destination, destination=source
    ),
)
linear("tile", lambda g, y, a, reps: rt.tile_adjoint(g, a, reps=reps))
linear(
    "repeat",
    lambda g, y, a, repeats, axis=None: rt.repeat_adjoint(
        g, a, repeats=repeats, axis=axis
    ),
)


def _pad(g, y, array, pad_width, mode="constant", constant_values=0):
    """The part of g that is the array's: slices where pad_width names every axis."""
    width = pad_width.value if pad_width.is_const else None
    if isinstance(width, tuple) and len(width) > 1:
        if all(isinstance(w, tuple) and len(w) == 2 for w in width):
            return g[tuple(slice(b or None, -a if a else None) for b, a in width)]
    return rt.unpad(g, pad_width)


other("pad", _pad, None)
tangent(
    "pad", lambda tangents, y, array, pad_width, **p: np.pad(tangents[0], pad_width)
)
# Of a vector, np.triu makes a matrix of copies of it: they are summed back.
linear("triu", lambda g, y, m, k=0: rt.unbroadcast(np.triu(g, k=k), m))
linear("tril", lambda g, y, m, k=0: rt.unbroadcast(np.tril(g, k=k), m))

# --- building arrays ---------------------------------------------------------------


def _fractions(like, num, endpoint):
    """Where each point of a grid lies from its start (0) to its stop (1), laid along
    the grid's first axis (`like` is of the grid's shape)."""
    t = like.apply("linspace", 0.0, 1.0, num, endpoint=endpoint)
    return rt.along_axis(t, like, axis=0)


def _end(part, x):
    """The adjoint of an end of a grid from its part of each point: summed over the
    points, then back to the end's shape (start and stop broadcast)."""
    return rt.unbroadcast(np.sum(part, axis=0), x)


# np.linspace is linear in start and stop together: start + (stop - start) * t.
linear(
    "linspace",
    lambda g, y, start, stop, num=50, endpoint=True: _end(
        g * (1.0 - _fractions(g, num, endpoint)), start
    ),
    lambda g, y, start, stop, num=50, endpoint=True: _end(
        g * _fractions(g, num, endpoint), stop
    ),
    None,
)


# np.geomspace: y = start * (stop / start) ** t, so dy = y ((1 - t) dstart / start +
# t dstop / stop); numpy refuses a zero start or stop.
def _geomspace_start(g, y, start, stop, num=50, endpoint=True):
    return _end(g * y * (1.0 - _fractions(g, num, endpoint)), start) / start


def _geomspace_stop(g, y, start, stop, num=50, endpoint=True):
    return _end(g * y * _fractions(g, num, endpoint), stop) / stop


def _geomspace_tangent(tangents, y, start, stop, num=50, endpoint=True):
    t = _fractions(y, num, endpoint)
    parts = []
    if 0 in tangents:
        parts.append((1.0 - t) * (tangents[0] / start))
    if 1 in tangents:
        parts.append(t * (tangents[1] / stop))
    return y * (parts[0] + parts[1] if len(parts) == 2 else parts[0])


other("geomspace", _geomspace_start, _geomspace_stop, None)
tangent("geomspace", _geomspace_tangent)
# A cast to floats passes the derivative on; back in the dtype of what was cast.
linear("astype", lambda g, y, x, dtype=None: rt.cast_like(g, x))
linear("cast_like", lambda G, y, g, like: rt.cast_like(G, g), None)
zero(
    "astype_int",
    *(
        f"{name}{source}_{part}"
        for name in ("triu_indices", "tril_indices")
        for source in ("", "_from")
        for part in ("rows", "columns")
    ),
)

# --- the helpers: each is linear in g, and its adjoint is the function it undoes ---

linear(
    "take_adjoint",
    lambda G, y, g, like, indices, axis=None: np.take(G, indices, axis=axis),
    None,
    None,
)
linear(
    "take_along_axis_adjoint",
    lambda G, y, g, like, indices, axis=-1: np.take_along_axis(G, indices, axis=axis),
    None,
    None,
)
linear("tile_adjoint", lambda G, y, g, like, reps: np.tile(G, reps=reps), None)
linear(
    "repeat_adjoint",
    lambda G, y, g, like, repeats, axis=None: np.repeat(G, repeats=repeats, axis=axis),
    None,
)
linear("unpad", lambda G, y, g, pad_width: np.pad(G, pad_width), None)
linear("along_axis", lambda G, y, v, like, axis=-1: np.reshape(G, np.shape(v)), None)
