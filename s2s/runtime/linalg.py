"""The adjoint helpers of linear algebra: kron, tensordot, eigh's inverse gaps, the
spectral norm's direction and curvature, and a vector b read as numpy's solve reads
it."""

import numpy as np


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
