"""The numpy and math functions of users' loss functions and science code, in the
functions such code is made of: a Gaussian process's negative log marginal
likelihood, integrals of a model curve, smoothness penalties, log-determinants
through eigh, Gaussian CDFs through math.erf, count models through math.lgamma.
Each gradient is checked against central differences, and second derivatives
against differences of the gradient."""

from __future__ import annotations

import math

import numpy as np
import pytest

import s2s

RNG = np.random.default_rng(7)
H = 1e-6


def _second(f, args, wrt=0, rtol=1e-5, atol=1e-7):
    """Hessian-vector products (forward over the gradient) against central
    differences of the gradient, along a random direction."""
    g = s2s.grad(f, wrt=wrt)
    x = np.asarray(args[wrt], dtype=float)
    v = RNG.standard_normal(x.shape)
    v = v if x.shape else float(v)
    products = s2s.hvp(f, args, (v,), wrt=wrt)

    def moved(t):
        out = list(args)
        out[wrt] = args[wrt] + t * v
        return out

    numeric = (np.asarray(g(*moved(H))) - np.asarray(g(*moved(-H)))) / (2 * H)
    np.testing.assert_allclose(products, numeric, rtol=rtol, atol=atol)


# --- a Gaussian process ------------------------------------------------------------


def gp_nll(log_ell, log_sf, log_sn, X, y):
    """Negative log marginal likelihood of a GP with a squared-exponential kernel:
    Cholesky factor, triangular systems by np.linalg.solve, log|K| by slogdet."""
    d2 = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)
    K = np.exp(2 * log_sf) * np.exp(-0.5 * d2 / np.exp(2 * log_ell))
    K = K + np.exp(2 * log_sn) * np.eye(X.shape[0])
    L = np.linalg.cholesky(K)
    z = np.linalg.solve(L, y)
    sign, logdet = np.linalg.slogdet(K)
    return 0.5 * z @ z + 0.5 * logdet + 0.5 * len(y) * np.log(2 * np.pi)


def gp_nll_cholesky(log_ell, log_sf, log_sn, X, y):
    """The same, as textbooks write it: alpha = K^-1 y by two triangular solves,
    log|K| from the diagonal of L."""
    d2 = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)
    K = np.exp(2 * log_sf) * np.exp(-0.5 * d2 / np.exp(2 * log_ell))
    K = K + np.exp(2 * log_sn) * np.eye(X.shape[0])
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y))
    return (
        0.5 * y @ alpha + np.sum(np.log(np.diag(L))) + 0.5 * len(y) * np.log(2 * np.pi)
    )


GP_DATA = (RNG.uniform(-2, 2, (6, 2)), RNG.standard_normal(6))
HYPER = (0.3, -0.2, -1.1)


@pytest.mark.parametrize("f", [gp_nll, gp_nll_cholesky])
def test_gaussian_process_likelihood_with_respect_to_hyperparameters(f):
    args = (*HYPER, *GP_DATA)
    assert f(*args) == pytest.approx(gp_nll(*args), rel=1e-12)
    s2s.check_grad(f, *args, wrt=(0, 1, 2))
    both = s2s.grad(gp_nll, wrt=(0, 1, 2))(*args)
    np.testing.assert_allclose(s2s.grad(f, wrt=(0, 1, 2))(*args), both, rtol=1e-9)


def test_gaussian_process_second_derivatives():
    args = (*HYPER, *GP_DATA)
    for wrt in (0, 1, 2):
        _second(gp_nll, args, wrt=wrt)
    # grad of grad (reverse over reverse) agrees with forward over reverse
    d_ell = s2s.grad(gp_nll, wrt=0)
    d2 = s2s.grad(d_ell, wrt=0)(*args)
    assert d2 == pytest.approx(s2s.hvp(gp_nll, args, (1.0,), wrt=0), rel=1e-9)


def test_gaussian_process_gradient_with_respect_to_the_data():
    args = (*HYPER, *GP_DATA)
    s2s.check_grad(gp_nll, *args, wrt=(3, 4))


# --- integrals of a model curve ------------------------------------------------------


def damped_energy(params, t):
    """The energy of a damped oscillation over a grid of times (np.trapezoid with x)."""
    amplitude, decay, omega = params[0], params[1], params[2]
    x = amplitude * np.exp(-decay * t) * np.cos(omega * t)
    return np.trapezoid(x**2, t)


def batched_integrals(rates, h):
    """Integrals of several exponentials on a uniform grid (dx=), along axis 1."""
    grid = np.arange(11.0) * h
    curves = np.exp(-rates[:, None] * grid[None, :])
    return np.sum(np.trapezoid(curves, dx=h, axis=1) ** 2)


def weighted_centre(f, t):
    """np.average with weights along an axis, and without."""
    w = np.exp(-(t**2))
    return np.sum(np.average(f**2, axis=0, weights=w)) + np.average(f)


def test_trapezoid_integral_of_a_model_curve():
    params, t = np.array([1.3, 0.4, 2.1]), np.sort(RNG.uniform(0, 3, 9))
    assert damped_energy(params, t) > 0
    s2s.check_grad(damped_energy, params, t, wrt=(0, 1))
    _second(damped_energy, (params, t))
    _second(damped_energy, (params, t), wrt=1)
    s2s.check_grad(batched_integrals, np.array([0.5, 1.0, 2.0]), 0.2, wrt=(0, 1))
    _second(batched_integrals, (np.array([0.5, 1.0, 2.0]), 0.2), wrt=1)
    s2s.check_grad(weighted_centre, RNG.standard_normal((4, 3)), RNG.standard_normal(4))


# --- smoothness --------------------------------------------------------------------


def smooth_fit(f, y, lam):
    """Data fit plus a second-difference roughness penalty (np.diff, n=2)."""
    return np.sum((f - y) ** 2) + lam * np.sum(np.diff(f, n=2) ** 2)


def image_smoothness(img, data):
    """A quadratic smoothness prior on an image: differences along both axes, and a
    boundary term through np.pad."""
    rows = np.diff(img, axis=0)
    cols = np.diff(img, axis=1)
    edges = np.diff(np.pad(img, 1), axis=1)
    return (
        np.sum((img - data) ** 2)
        + np.sum(rows**2)
        + np.sum(cols**2)
        + 0.1 * np.sum(np.abs(edges) ** 3)
    )


def test_smoothness_penalties_with_diff():
    f, y = RNG.standard_normal(8), RNG.standard_normal(8)
    s2s.check_grad(smooth_fit, f, y, 0.7, wrt=(0, 2))
    _second(smooth_fit, (f, y, 0.7))
    img = RNG.standard_normal((4, 5))
    s2s.check_grad(image_smoothness, img, RNG.standard_normal((4, 5)))
    _second(image_smoothness, (img, RNG.standard_normal((4, 5))))


# --- eigendecompositions -------------------------------------------------------------


def logdet_eigh(A):
    """log det(A A^T + I) from the eigenvalues of a symmetric matrix."""
    S = A @ A.T + np.eye(A.shape[0])
    w = np.linalg.eigh(S)[0]
    return np.sum(np.log(w))


def logdet_slogdet(A):
    S = A @ A.T + np.eye(A.shape[0])
    return np.linalg.slogdet(S)[1]


def trace_sqrt(A):
    """tr(S^(1/2)) through the eigenvectors: V diag(sqrt(w)) V^T."""
    S = A @ A.T + np.eye(A.shape[0])
    w, V = np.linalg.eigh(S)
    root = V @ np.diag(np.sqrt(w)) @ V.T
    return np.trace(root) + np.sum(root[0] ** 2)


def test_log_determinant_through_eigh():
    A = RNG.standard_normal((4, 3))
    assert logdet_eigh(A) == pytest.approx(logdet_slogdet(A), rel=1e-12)
    np.testing.assert_allclose(
        s2s.grad(logdet_eigh)(A), s2s.grad(logdet_slogdet)(A), rtol=1e-9
    )
    s2s.check_grad(logdet_eigh, A)
    _second(logdet_eigh, (A,))
    _second(logdet_slogdet, (A,))


def test_matrix_function_through_eigenvectors():
    A = RNG.standard_normal((3, 3))
    s2s.check_grad(trace_sqrt, A)
    _second(trace_sqrt, (A,), rtol=1e-4)


def eigenvectors_used(S):
    w, V = np.linalg.eigh(S)
    return np.sum(V[:, -1] ** 2 * np.arange(3.0))


def test_equal_eigenvalues_are_refused_where_eigenvectors_are_differentiated():
    with pytest.raises(s2s.NoDerivativeError, match="equal eigenvalues"):
        s2s.grad(eigenvectors_used)(np.diag([1.0, 2.0, 2.0]))
    # the eigenvalues alone have a gradient there: of their sum, the trace's
    trace = s2s.grad(lambda S: np.sum(np.linalg.eigh(S)[0]))(np.diag([1.0, 2.0, 2.0]))
    np.testing.assert_allclose(trace, np.eye(3), atol=1e-15)


def eigen_energy_lower(S):
    w, V = np.linalg.eigh(S, UPLO="L")
    return np.sum(w**2) + np.sum(V[0] ** 2 * w)


def eigen_energy_upper(S):
    w, V = np.linalg.eigh(S, UPLO="U")
    return np.sum(w**2) + np.sum(V[0] ** 2 * w)


def eigen_energy(S):
    w, V = np.linalg.eigh(S)
    return np.sum(w**2) + np.sum(V[0] ** 2 * w)


def _calls(source, text):
    """The lines of code (not the comments quoting the user's lines) with `text`."""
    return [line for line in source.splitlines() if text in line and "#" not in line]


@pytest.mark.parametrize("f", [eigen_energy_lower, eigen_energy_upper, eigen_energy])
def test_a_default_spelled_out_is_the_same_op_as_one_left_off(f):
    """eigh(S, UPLO="L") in the user's code and eigh(S) in the rules that need the
    eigenvectors: one call per function of the gradient's module, not two."""
    S = RNG.standard_normal((3, 3))
    S = S + S.T
    g = s2s.grad(f)
    calls = _calls(g.source, "np.linalg.eigh(")
    assert len(calls) == 2, calls  # f_grad, f_value_and_grad
    assert all(("UPLO" in call) == (f is eigen_energy_upper) for call in calls)
    s2s.check_grad(f, S)
    if f is eigen_energy_lower:
        np.testing.assert_allclose(g(S), s2s.grad(eigen_energy)(S), rtol=1e-12)


# --- special functions on Python floats ------------------------------------------------


def normal_cdf(x, mu, sigma):
    return 0.5 * math.erfc(-(x - mu) / (sigma * math.sqrt(2)))


def probit_nll(beta, X, y):
    """Probit regression: Phi(x . beta) with math.erf, one observation at a time."""
    z = X @ beta
    total = 0.0
    for i in range(len(y)):
        p = 0.5 * (1.0 + math.erf(float(z[i]) / math.sqrt(2.0)))
        total = total - (y[i] * math.log(p) + (1 - y[i]) * math.log(1 - p))
    return total


def negative_binomial(r, p, counts):
    """The log-likelihood of counts under a negative binomial, through math.lgamma."""
    total = 0.0
    for k in counts:
        total = total + math.lgamma(k + r) - math.lgamma(r) - math.lgamma(k + 1.0)
        total = total + r * math.log(p) + k * math.log(1 - p)
    return total


def log_beta(a, b):
    return math.log(math.gamma(a) * math.gamma(b) / math.gamma(a + b))


def test_gaussian_cdf_through_erf():
    for x in (-1.3, 0.2, 2.4):
        s2s.check_grad(normal_cdf, x, 0.3, 1.7, wrt=(0, 1, 2))
    d = s2s.grad(normal_cdf)(0.4, 0.0, 1.0)
    assert d == pytest.approx(math.exp(-0.08) / math.sqrt(2 * math.pi), rel=1e-14)
    dd = s2s.grad(s2s.grad(normal_cdf))(0.4, 0.0, 1.0)
    assert dd == pytest.approx(-0.4 * d, rel=1e-12)  # phi'(x) = -x phi(x)


def test_probit_regression_through_erf():
    X = RNG.standard_normal((5, 2))
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    beta = np.array([0.3, -0.5])
    s2s.check_grad(probit_nll, beta, X, y)
    _second(probit_nll, (beta, X, y))


def test_count_models_through_lgamma_and_gamma():
    counts = (0.0, 3.0, 1.0, 7.0)
    s2s.check_grad(negative_binomial, 2.5, 0.4, counts, wrt=(0, 1))
    _second(negative_binomial, (2.5, 0.4, counts))
    s2s.check_grad(log_beta, 1.7, 0.6, wrt=(0, 1))
    _second(log_beta, (1.7, 0.6))
    _second(log_beta, (1.7, 0.6), wrt=1)


def _stencil(f, x, h):
    """The derivative of f at x by the 8th-order central difference."""
    weights = (4 / 5, -1 / 5, 4 / 105, -1 / 280)
    return sum(w * (f(x + k * h) - f(x - k * h)) for k, w in enumerate(weights, 1)) / h


@pytest.mark.parametrize("x", [0.3, 0.9, 1.7, 4.2, 13.5, 40.0, -0.4, -1.5, -3.3])
def test_digamma_against_differences_of_lgamma(x):
    """The runtime's digamma (no scipy) is the derivative of math.lgamma to 1e-12;
    its polygamma the derivatives of digamma."""
    from s2s.runtime import _digamma, _polygamma

    pole = min(abs(x - k) for k in range(0, -10, -1)) if x < 0.5 else x
    h = 0.01 * min(pole, 1 + abs(x) / 4)
    assert _digamma(x) == pytest.approx(_stencil(math.lgamma, x, h), abs=1e-12)
    for n in (1, 2):
        numeric = _stencil(lambda z: _polygamma(z, n - 1), x, h)
        assert _polygamma(x, n) == pytest.approx(numeric, rel=1e-9)


def test_digamma_at_known_values():
    from s2s.runtime import _digamma, _polygamma

    euler = 0.5772156649015329
    assert _digamma(1.0) == pytest.approx(-euler, rel=1e-15)
    assert _digamma(0.5) == pytest.approx(-euler - 2 * math.log(2), rel=1e-15)
    assert _digamma(10.0) == pytest.approx(
        -euler + sum(1 / k for k in range(1, 10)), rel=1e-15
    )
    assert _polygamma(1.0, 1) == pytest.approx(math.pi**2 / 6, rel=1e-15)
    assert _polygamma(0.5, 1) == pytest.approx(math.pi**2 / 2, rel=1e-15)


# --- the rest of the surface, in use -------------------------------------------------


def trimmed_loss(x, k):
    """The mean of the middle of the sorted values: drop the k smallest and largest."""
    s = np.sort(x)
    return np.mean(s[k:-k] ** 2)


def survival(hazard):
    """The probability of surviving each step (np.cumprod), zeros allowed."""
    alive = np.cumprod(1.0 - hazard)
    return np.sum(alive) + alive[-1] ** 2


def periodic_laplacian(u):
    """-u'' on a ring, by np.roll, and its energy; flipped for a symmetry term."""
    lap = 2 * u - np.roll(u, 1) - np.roll(u, -1)
    return np.sum(u * lap) + np.sum((u - np.flip(u)) ** 2)


def kronecker_model(a, b, W):
    """A Kronecker-structured weight matrix and a tensordot contraction."""
    K = np.kron(a, b)
    T = np.tile(a, (2, 1)) + np.repeat(b, 2, axis=0)[:, :2]
    return np.sum(K * W) + np.sum(np.tensordot(T, T, axes=([0, 1], [0, 1])))


def spectral_penalty(W, x):
    """A spectral-norm regularized linear model."""
    return np.sum((W @ x) ** 2) + 0.5 * np.linalg.norm(W, 2) ** 2


def covariance_trace(A):
    """einsum with a repeated label: tr(A A^T) and the diagonal of A."""
    return np.einsum("ii->", A @ A.T) + np.sum(np.einsum("ii->i", A) ** 3)


def test_the_rest_of_the_surface_against_differences():
    x = RNG.standard_normal(8)
    s2s.check_grad(trimmed_loss, x, 2)
    hazard = RNG.uniform(0.1, 0.5, 6)
    s2s.check_grad(survival, hazard)
    hazard[2] = 1.0  # a step nobody survives: cumprod through a zero
    s2s.check_grad(survival, hazard)
    _second(survival, (hazard,))
    s2s.check_grad(periodic_laplacian, x)
    _second(periodic_laplacian, (x,))
    a, b = RNG.standard_normal((2, 2)), RNG.standard_normal((2, 2))
    s2s.check_grad(kronecker_model, a, b, RNG.standard_normal((4, 4)), wrt=(0, 1))
    W = RNG.standard_normal((3, 4))
    s2s.check_grad(spectral_penalty, W, RNG.standard_normal(4))
    _second(spectral_penalty, (W, RNG.standard_normal(4)))
    s2s.check_grad(covariance_trace, RNG.standard_normal((3, 3)))
    _second(covariance_trace, (RNG.standard_normal((3, 3)),))


def test_generated_gradients_read_like_numpy():
    """The gradients of the linear algebra, specialized for matrices, are what one
    writes by hand."""

    def inverse_weighted(A: "n n", w: "n n"):
        return np.sum(w * np.linalg.inv(A))

    def solved(A: "n n", b: "n"):
        return np.sum(np.linalg.solve(A, b) ** 2)

    def eigenvalues(A: "n n"):
        w, V = np.linalg.eigh(A)
        return np.sum(np.log(w)) + np.sum(V[:, 0] ** 2)

    inverse = s2s.grad(inverse_weighted).source
    assert "dA = -(inverse.T @ (1.0 * w) @ inverse.T)" in inverse
    assert "np.outer(np.linalg.solve(A.T, 2.0 * solution), solution)" in (
        s2s.grad(solved).source
    )
    source = s2s.grad(eigenvalues).source
    # computed once in each function of the module (the gradient, the value and it)
    lines = [line.strip() for line in source.splitlines()]
    assert lines.count("w, V = np.linalg.eigh(A)") == 2
    assert "np.linalg.eigh(A)[" not in source  # no second decomposition for an item


# --- building arrays -----------------------------------------------------------------


def fourier_loss(coef, y):
    """A Fourier-feature regression on np.linspace grid points in [0, 1)."""
    t = np.linspace(0.0, 1.0, len(y), endpoint=False)
    k = np.arange(1.0, 4.0)
    phase = 2 * np.pi * t[:, None] * k[None, :]
    features = np.concatenate([np.sin(phase), np.cos(phase)], axis=1)
    return np.mean((features @ coef - y) ** 2)


def fitted_window(t0, t1, coef, y):
    """The same features on a grid whose ends are fitted too (linear in them)."""
    t = np.linspace(t0, t1, len(y))
    phase = 2 * np.pi * np.outer(t, np.arange(1.0, 4.0))
    return np.mean((np.sin(phase) @ coef - y) ** 2)


def test_fourier_features_on_a_linspace_grid():
    y, coef = RNG.standard_normal(12), RNG.standard_normal(6)
    s2s.check_grad(fourier_loss, coef, y)
    _second(fourier_loss, (coef, y))
    # least squares: the gradient is 2/n F^T (F c - y), F the features
    t = np.arange(12) / 12
    phase = 2 * np.pi * t[:, None] * np.arange(1.0, 4.0)
    F = np.concatenate([np.sin(phase), np.cos(phase)], axis=1)
    np.testing.assert_allclose(
        s2s.grad(fourier_loss)(coef, y), 2 / 12 * F.T @ (F @ coef - y), rtol=1e-12
    )
    args = (0.1, 0.8, RNG.standard_normal(3), y)
    s2s.check_grad(fitted_window, *args, wrt=(0, 1, 2))
    for wrt in (0, 1):
        _second(fitted_window, args, wrt=wrt)


def power_law(f0, f1, amplitude, slope):
    """A power-law spectrum summed over geometrically spaced frequencies."""
    f = np.geomspace(f0, f1, 8)
    return np.sum(amplitude * f**-slope)


def penalty_path(a, b, w):
    """A weighted sum of penalties on a log-spaced path of strengths."""
    strengths = np.logspace(a, b, 5)
    return np.sum(np.log1p(strengths * np.sum(w**2)))


def test_geometric_and_logarithmic_grids():
    args = (0.5, 20.0, 1.3, 0.7)
    f = np.geomspace(0.5, 20.0, 8)
    assert power_law(*args) == pytest.approx(np.sum(1.3 * f**-0.7), rel=1e-14)
    s2s.check_grad(power_law, *args, wrt=(0, 1, 2, 3))
    for wrt in (0, 1):
        _second(power_law, args, wrt=wrt)
    w = RNG.standard_normal(3)
    s2s.check_grad(penalty_path, -2.0, 0.5, w, wrt=(0, 1, 2))
    _second(penalty_path, (-2.0, 0.5, w), wrt=2)


def decorrelation(W):
    """The squared correlations of W's columns: the upper triangle of W^T W."""
    C = W.T @ W
    i, j = np.triu_indices(C.shape[0], k=1)
    return np.sum(C[i, j] ** 2)


def decorrelation_from(W):
    C = W.T @ W
    return np.sum(C[np.triu_indices_from(C, 1)] ** 2)


def lower_triangle_features(A, w):
    """vech(A A^T) @ w: the lower triangle, row by row, as features."""
    S = A @ A.T
    rows, columns = np.tril_indices(len(S))
    return S[rows, columns] @ w + np.sum(S[np.tril_indices_from(S, k=-1)])


def test_a_penalty_on_the_upper_triangle():
    W = RNG.standard_normal((5, 4))
    C = W.T @ W
    by_hand = 0.5 * (np.sum(C**2) - np.sum(np.diag(C) ** 2))
    assert decorrelation(W) == pytest.approx(by_hand, rel=1e-12)
    s2s.check_grad(decorrelation, W)
    _second(decorrelation, (W,))
    np.testing.assert_allclose(
        s2s.grad(decorrelation_from)(W), s2s.grad(decorrelation)(W), rtol=1e-12
    )
    A, w = RNG.standard_normal((3, 2)), RNG.standard_normal(6)
    s2s.check_grad(lower_triangle_features, A, w, wrt=(0, 1))
    _second(lower_triangle_features, (A, w))
    source = s2s.grad(decorrelation).source
    assert "np.triu_indices(" in source and "C[i, j]" in source


def float32_regression(w, X, y):
    """A model computed in float32, its loss in float64."""
    pred = np.tanh(X.astype(np.float32) @ w.astype(np.float32))
    return np.mean((pred.astype(np.float64) - y) ** 2)


def float64_regression(w, X, y):
    return np.mean((np.tanh(X @ w) - y) ** 2)


def test_a_float32_model_through_astype():
    w, X, y = (
        RNG.standard_normal(3),
        RNG.standard_normal((20, 3)),
        RNG.standard_normal(20),
    )
    exact = s2s.grad(float64_regression)(w, X, y)
    g = s2s.grad(float32_regression)(w, X, y)
    assert g.dtype == np.float64  # the gradient of w, in w's dtype
    np.testing.assert_allclose(g, exact, rtol=1e-5, atol=1e-6)
    narrow = s2s.grad(float32_regression)(w.astype(np.float32), X, y)
    assert narrow.dtype == np.float32
    np.testing.assert_allclose(narrow, exact, rtol=1e-4, atol=1e-5)
    v = RNG.standard_normal(3)
    np.testing.assert_allclose(
        s2s.hvp(float32_regression, (w, X, y), (v,)),
        s2s.hvp(float64_regression, (w, X, y), (v,)),
        rtol=1e-4,
        atol=1e-5,
    )


def interpolated(table, x):
    """Linear interpolation in a table on a uniform grid of [0, 1]: the cell from an
    int cast (a step), the weights from the rest."""
    position = x * (len(table) - 1)
    k = np.minimum(position.astype(int), len(table) - 2)
    frac = position - k
    return np.sum(table[k] * (1.0 - frac) + table[k + 1] * frac)


def test_interpolation_through_an_integer_cast():
    table, x = RNG.standard_normal(6), np.array([0.13, 0.5 + 1e-3, 0.77, 0.91])
    grid = np.linspace(0.0, 1.0, 6)
    assert interpolated(table, x) == pytest.approx(np.sum(np.interp(x, grid, table)))
    s2s.check_grad(interpolated, table, x, wrt=(0, 1))
    _second(interpolated, (table, x), wrt=1)  # piecewise linear: zero


def ridge_norm(lam, X, y):
    """The squared norm of ridge regression's coefficients: X^T X + np.eye(d) * lam."""
    w = np.linalg.solve(X.T @ X + np.eye(X.shape[1]) * lam, X.T @ y)
    return np.sum(w**2)


def leaky_state(h0, decay, xs):
    """A leaky integrator whose state starts as np.full((2, 3), h0)."""
    h = np.full((2, 3), h0)
    for x in xs:
        h = decay * h + x
    return np.sum(h**2)


def diagonal_gaussian(log_s, x):
    """The negative log-density of a Gaussian with covariance np.diag(s ** 2)."""
    S = np.diag(np.exp(2 * log_s))
    return 0.5 * x @ np.linalg.solve(S, x) + np.sum(log_s)


def zeroed_first(x):
    """A copy of x changed in place, and np.copy."""
    y = x.copy()
    y[0] = 0.0
    return np.sum(y**2) + np.sum(np.copy(x) * x)


def riemann(width, shift):
    """A Riemann sum on np.arange's float grid."""
    t = np.arange(0.0, 1.0, 0.125)
    return np.sum(np.exp(-width * (t - shift) ** 2)) * 0.125


def test_constructors_scaled_filled_and_copied():
    X, y = RNG.standard_normal((8, 3)), RNG.standard_normal(8)
    s2s.check_grad(ridge_norm, 0.7, X, y)
    _second(ridge_norm, (0.7, X, y))
    xs = RNG.standard_normal((4, 3))
    s2s.check_grad(leaky_state, 0.4, 0.9, xs, wrt=(0, 1))
    _second(leaky_state, (0.4, 0.9, xs))
    h0 = np.array([0.3, -0.2, 0.5])  # a row of the state, spread over its rows
    s2s.check_grad(leaky_state, h0, 0.9, xs)
    log_s, x = RNG.standard_normal(3) * 0.3, RNG.standard_normal(3)
    s2s.check_grad(diagonal_gaussian, log_s, x, wrt=(0, 1))
    _second(diagonal_gaussian, (log_s, x))
    x = RNG.standard_normal(4)
    s2s.check_grad(zeroed_first, x)
    np.testing.assert_allclose(s2s.grad(zeroed_first)(x), [2 * x[0], *(4 * x[1:])])
    s2s.check_grad(riemann, 3.0, 0.4, wrt=(0, 1))
    _second(riemann, (3.0, 0.4), wrt=1)


_window_grad = s2s.grad(fitted_window, wrt=0)
_decorrelation_grad = s2s.grad(decorrelation)
_float32_grad = s2s.grad(float32_regression)
_table_grad = s2s.grad(interpolated)
_leaky_grad = s2s.grad(leaky_state)


def window_slope(t0, t1, coef, y):
    return _window_grad(t0, t1, coef, y)


def decorrelation_along(W, V):
    return np.sum(_decorrelation_grad(W) * V)


def float32_along(w, X, y, v):
    return np.sum(_float32_grad(w, X, y) * v)


def table_along(table, x, v):
    return np.sum(_table_grad(table, x) * v)


def leaky_slope(h0, decay, xs):
    return _leaky_grad(h0, decay, xs)


def test_gradients_through_grids_casts_and_indices_are_differentiated_again():
    """s2s reads its own generated code back: np.linspace, np.triu_indices' items,
    the casts and their _cast_like, np.full."""
    y, coef = RNG.standard_normal(12), RNG.standard_normal(3)
    s2s.check_grad(window_slope, 0.1, 0.8, coef, y, wrt=(0, 1, 2))
    W, V = RNG.standard_normal((5, 4)), RNG.standard_normal((5, 4))
    s2s.check_grad(decorrelation_along, W, V)
    w, X, y = (
        RNG.standard_normal(3),
        RNG.standard_normal((20, 3)),
        RNG.standard_normal(20),
    )
    v = RNG.standard_normal(3)
    np.testing.assert_allclose(
        s2s.grad(float32_along)(w, X, y, v),
        s2s.hvp(float64_regression, (w, X, y), (v,)),
        rtol=1e-4,
        atol=1e-5,
    )
    table, x = RNG.standard_normal(6), np.array([0.13, 0.77])
    s2s.check_grad(table_along, table, x, RNG.standard_normal(6), wrt=(0, 1))
    s2s.check_grad(leaky_slope, 0.4, 0.9, RNG.standard_normal((4, 3)), wrt=(0, 1))
