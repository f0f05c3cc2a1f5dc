"""The derivative rules of np.kron, np.tensordot and np.linalg's solvers and
decompositions (solve, inv, det, slogdet, cholesky, eigh), and of the helpers their
adjoints call.

Each works on a matrix or a stack of them: `_T` swaps the last two axes (the
specializer writes `.T` for a matrix), `_each` puts a number of each matrix against
its matrix.  numpy's cholesky and eigh read one triangle of the matrix only (the
lower, unless `UPLO="U"`), so their adjoints are taken with respect to that
triangle: central differences of the other one see nothing.  References: M. Giles,
"An extended collection of matrix derivative results for forward and reverse mode
automatic differentiation" (2008); I. Murray, "Differentiation of the Cholesky
decomposition" (2016)."""

from __future__ import annotations

from ..errors import NotTwiceDifferentiableError
from .registry import bilinear, linear, not_twice, np, other, rt, tangent, zero


def _T(x):
    """The transpose of a matrix, of each matrix of a stack."""
    return np.swapaxes(x, axis1=-1, axis2=-2)


def _each(number):
    """A number per matrix (the determinant), against its matrix."""
    return np.expand_dims(number, axis=(-2, -1))


def _trace(x):
    return np.trace(x, axis1=-2, axis2=-1)


def _eye(a):
    return np.eye(np.shape(a)[-1])


def _triangle(x, upper, k=0):
    return np.triu(x, k=k) if upper else np.tril(x, k=k)


def _read(t, upper=False):
    """The symmetric matrix numpy sees in t: its lower (or upper) triangle."""
    return _triangle(t, upper) + _T(_triangle(t, upper, -1 if not upper else 1))


def _decomposed(part, a, UPLO):
    """The eigenvalues or eigenvectors of a: the same op as the user's own call
    (whether it spells UPLO="L" out or not), so that it is computed once."""
    return getattr(np, f"eigh_{part}")(a, UPLO=UPLO)


def _onto_triangle(m, a, upper=False):
    """The adjoint with respect to the triangle numpy reads, from an adjoint `m`
    with respect to a symmetric matrix: m + m.T below the diagonal, m on it."""
    return _triangle(m + _T(m), upper) - m * _eye(a)


# --- products --------------------------------------------------------------------

bilinear(
    "kron",
    lambda g, y, a, b: rt.kron_adjoint_a(g, a, b),
    lambda g, y, a, b: rt.kron_adjoint_b(g, a, b),
)
bilinear(
    "tensordot",
    lambda g, y, a, b, axes=2: rt.tensordot_adjoint_a(g, a, b, axes=axes),
    lambda g, y, a, b, axes=2: rt.tensordot_adjoint_b(g, a, b, axes=axes),
)
# Like the matmul helpers: A_a(g, a, b) is bilinear in g and b, with adjoints the
# product itself (for g) and A_b(g, G, b) (for b).
bilinear(
    "kron_adjoint_a",
    lambda G, y, g, a, b: np.kron(G, b),
    None,
    lambda G, y, g, a, b: rt.kron_adjoint_b(g, G, b),
)
bilinear(
    "kron_adjoint_b",
    lambda G, y, g, a, b: np.kron(a, G),
    lambda G, y, g, a, b: rt.kron_adjoint_a(g, a, G),
    None,
)
bilinear(
    "tensordot_adjoint_a",
    lambda G, y, g, a, b, axes=2: np.tensordot(G, b, axes=axes),
    None,
    lambda G, y, g, a, b, axes=2: rt.tensordot_adjoint_b(g, G, b, axes=axes),
)
bilinear(
    "tensordot_adjoint_b",
    lambda G, y, g, a, b, axes=2: np.tensordot(a, G, axes=axes),
    lambda G, y, g, a, b, axes=2: rt.tensordot_adjoint_a(g, a, G, axes=axes),
    None,
)

# --- solvers ---------------------------------------------------------------------


def _solved_back(g, x, a, b):
    """z with a^T z = g, g read as the forward reads b (see runtime._as_columns)."""
    return np.solve(_T(a), rt.as_columns(g, a, b))


def _solve_b(g, x, a, b):
    return rt.unbroadcast(rt.from_columns(_solved_back(g, x, a, b), a, b), b)


def _solve_a(g, x, a, b):
    """-(adjoint of b) x^T: the adjoint of a in a @ x, negated."""
    z = _solved_back(g, x, a, b)
    return -rt.matmul_adjoint_a(z, a, rt.as_columns(x, a, b))


def _solve_tangent(tangents, x, a, b):
    """a dx = db - da x."""
    rhs = rt.as_columns(tangents[1], a, b) if 1 in tangents else None
    if 0 in tangents:
        moved = tangents[0] @ rt.as_columns(x, a, b)
        rhs = -moved if rhs is None else rhs - moved
    return rt.from_columns(np.solve(a, rhs), a, b)


other("solve", _solve_a, _solve_b)
tangent("solve", _solve_tangent)
other("inv", lambda g, y, a: -(_T(y) @ g @ _T(y)))
tangent("inv", lambda tangents, y, a: -(y @ tangents[0] @ y))
# d det(a) = det(a) tr(a^-1 da); d log|det(a)| = tr(a^-1 da).  A singular matrix
# has no inverse: np.linalg.inv raises there.
other("det", lambda g, y, a: _each(g * y) * _T(np.inv(a)))
tangent("det", lambda tangents, y, a: y * _trace(np.solve(a, tangents[0])))
other("logabsdet", lambda g, y, a: _each(g) * _T(np.inv(a)))
tangent("logabsdet", lambda tangents, y, a: _trace(np.solve(a, tangents[0])))
zero("slogdet_sign")

linear("as_columns", lambda G, y, v, a, b: rt.from_columns(G, a, b), None, None)
linear("from_columns", lambda G, y, v, a, b: rt.as_columns(G, a, b), None, None)

# --- decompositions --------------------------------------------------------------


def _phi(x, a):
    """The lower triangle of x, with half its diagonal."""
    return np.tril(x) - 0.5 * x * _eye(a)


def _cholesky(g, L, a):
    """Murray (2016): the adjoint with respect to a symmetric a is
    L^-T phi(L^T g) L^-1 (solved, not inverted), then onto the lower triangle."""
    p = _phi(_T(L) @ g, a)
    m = _T(np.solve(_T(L), _T(np.solve(_T(L), p))))
    return _onto_triangle(m, a)


def _cholesky_tangent(tangents, L, a):
    """dL = L phi(L^-1 S L^-T), S the symmetric matrix numpy reads in da."""
    inner = np.solve(L, _T(np.solve(L, _read(tangents[0]))))
    return L @ _phi(inner, a)


other("cholesky", _cholesky)
tangent("cholesky", _cholesky_tangent)


def _eigh_values(g, w, a, UPLO="L"):
    """dw_i = v_i^T da v_i: the adjoint is V diag(g) V^T."""
    v = _decomposed("vectors", a, UPLO)
    return _onto_triangle((v * np.expand_dims(g, axis=-2)) @ _T(v), a, UPLO == "U")


def _eigh_vectors(g, v, a, UPLO="L"):
    """dV = V (F * (V^T da V)), F[i, j] = 1 / (w[j] - w[i]) off the diagonal: the
    adjoint is V (F * (V^T g)) V^T.  Equal eigenvalues are refused (see
    runtime._inverse_gaps)."""
    gaps = rt.inverse_gaps(_decomposed("values", a, UPLO))
    return _onto_triangle(v @ (gaps * (_T(v) @ g)) @ _T(v), a, UPLO == "U")


def _eigh_values_tangent(tangents, w, a, UPLO="L"):
    v = _decomposed("vectors", a, UPLO)
    return np.sum(v * (_read(tangents[0], UPLO == "U") @ v), axis=-2)


def _eigh_vectors_tangent(tangents, v, a, UPLO="L"):
    gaps = rt.inverse_gaps(_decomposed("values", a, UPLO))
    return v @ (gaps * (_T(v) @ _read(tangents[0], UPLO == "U") @ v))


other("eigh_values", _eigh_values)
tangent("eigh_values", _eigh_values_tangent)
other("eigh_vectors", _eigh_vectors)
tangent("eigh_vectors", _eigh_vectors_tangent)

# F[i, j] = 1 / (w[j] - w[i]): dF = F**2 (dw[i] - dw[j]).
other(
    "inverse_gaps",
    lambda G, F, w: np.sum(G * F**2, axis=-1) - np.sum(G * F**2, axis=-2),
)
tangent(
    "inverse_gaps",
    lambda tangents, F, w: F**2
    * (np.expand_dims(tangents[0], axis=-1) - np.expand_dims(tangents[0], axis=-2)),
)

# np.linalg.norm(x, 2) of a matrix: its gradient is _spectral_direction(x), whose
# derivative (the Hessian of the norm, symmetric: its own adjoint) is
# _spectral_curvature; a third derivative is refused.
_THIRD = (
    "Third derivatives of the spectral norm are not supported; differentiate it "
    "at most twice."
)
other(
    "spectral_direction",
    lambda G, w, x, axis=None: rt.spectral_curvature(G, x, axis=axis),
)
tangent(
    "spectral_direction",
    lambda tangents, w, x, axis=None: rt.spectral_curvature(tangents[0], x, axis=axis),
)
other(
    "spectral_curvature",
    lambda G, y, t, x, axis=None: rt.spectral_curvature(G, x, axis=axis),
    not_twice("np.linalg.norm(x, 2) a second time", _THIRD),
)


def _curvature_tangent(tangents, y, t, x, axis=None):
    if 1 in tangents:
        raise NotTwiceDifferentiableError(
            "s2s cannot differentiate the gradient of np.linalg.norm(x, 2) a second "
            "time",
            y.builder.loc,
            _THIRD,
        )
    return rt.spectral_curvature(tangents[0], x, axis=axis)


tangent("spectral_curvature", _curvature_tangent)
