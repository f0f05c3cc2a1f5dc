"""Models written the way numpy users write them, none of them tailored to s2s: each
gradient is checked against central differences.  They use methods, keepdims,
einsum, indexing with label arrays, concatenate and the other numpy surface."""

import numpy as np
import pytest

import s2s

RNG = np.random.default_rng(2024)


def softmax_regression(W, b, X, y):
    """Mean cross-entropy of a linear softmax classifier; y holds class indices."""
    logits = X @ W + b
    logits = logits - logits.max(axis=1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    n = X.shape[0]
    return -log_probs[np.arange(n), y].mean() + 1e-3 * np.sum(W**2)


def softmax(z, axis=-1):
    z = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def attention(Wq, Wk, Wv, x):
    """One head of scaled dot-product self-attention over a batch of sequences."""
    q = np.einsum("btd,de->bte", x, Wq)
    k = np.einsum("btd,de->bte", x, Wk)
    v = np.einsum("btd,de->bte", x, Wv)
    scores = np.einsum("bqe,bke->bqk", q, k) / np.sqrt(q.shape[-1])
    weights = softmax(scores, axis=-1)
    out = np.einsum("bqk,bke->bqe", weights, v)
    return np.mean(out[:, -1, :] ** 2)


def layer_norm(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    xhat = (x - mu) / np.sqrt(var + eps)
    y = gamma * xhat + beta
    return np.sum(np.tanh(y) * np.arange(y.shape[-1]))


def gaussian_log_likelihood(mu, log_sigma, x):
    """Negative log-likelihood of x under a diagonal Gaussian."""
    sigma = np.exp(log_sigma)
    z = (x - mu) / sigma
    d = x.shape[-1]
    return (
        0.5 * np.sum(z**2)
        + np.sum(log_sigma) * x.shape[0]
        + 0.5 * d * x.shape[0] * np.log(2 * np.pi)
    )


def mixture_density(logits, means, log_scales, x):
    """Log-likelihood of 1-D data under a Gaussian mixture, with logaddexp."""
    log_w = logits - np.log(np.sum(np.exp(logits)))
    z = (x[:, None] - means[None, :]) / np.exp(log_scales)
    comp = -0.5 * z**2 - log_scales - 0.5 * np.log(2 * np.pi) + log_w
    total = comp[:, 0]
    for k in range(1, comp.shape[1]):
        total = np.logaddexp(total, comp[:, k])
    return -np.sum(total)


def two_tower(Wa, Wb, V, xa, xb):
    """Two feature towers joined by concatenate, a residual, and a norm penalty."""
    ha = np.maximum(xa @ Wa, 0.0)
    hb = np.tanh(xb @ Wb)
    h = np.concatenate([ha, hb], axis=1)
    out = h @ V + np.hstack([xa, xb])[:, : V.shape[1]]
    return np.sum(np.log1p(out**2)) + 0.1 * np.linalg.norm(V) + 0.01 * np.trace(V.T @ V)


def pca_reconstruction(U, X):
    """Reconstruction error of projecting onto the columns of U, plus orthogonality."""
    Z = X @ U
    Xhat = Z @ U.T
    gram = U.T @ U
    return np.mean((X - Xhat) ** 2) + np.sum((gram - np.eye(U.shape[1])) ** 2)


def rnn_with_stack(Wx, Wh, xs):
    """A recurrence whose states are gathered with np.stack afterwards."""
    h = np.zeros(Wh.shape[0])
    h1 = np.tanh(xs[0] @ Wx + h @ Wh)
    h2 = np.tanh(xs[1] @ Wx + h1 @ Wh)
    h3 = np.tanh(xs[2] @ Wx + h2 @ Wh)
    states = np.stack([h1, h2, h3])
    return np.sum(np.cumsum(states, axis=0)[-1] ** 2) + np.std(states)


def mlp_with_checks(W1, b1, W2, X, y, b2=None, decay=1e-3):
    """A two-layer regression net as a tutorial writes it: input checks, an
    optional bias, and weight decay summed over the layers with a generator."""
    if X.ndim != 2:
        raise ValueError(f"X must be a matrix, got {X.ndim} dimensions")
    assert X.shape[1] == W1.shape[0], "X and W1 disagree"
    h = np.tanh(X @ W1 + b1)
    out = h @ W2
    if b2 is not None:
        out = out + b2
    penalty = sum(np.sum(W**2) for W in (W1, W2))
    return np.mean((out - y) ** 2) + decay * penalty


def implicit_root(a, b):
    """The root of x**3 + a x - b by Newton's method, returning once converged
    (its derivative is that of the implicit function)."""
    x = b
    for it in range(100):
        fx = x**3 + a * x - b
        if abs(fx) < 1e-13:
            return x
        x = x - fx / (3 * x**2 + a)
    raise RuntimeError("Newton's method did not converge")


def pendulum_rollout(theta0, damping, steps=40, dt=0.05):
    """Explicit-Euler rollout into a preallocated trajectory, printing progress."""
    traj = np.zeros(steps)
    theta, omega = theta0, 0.0
    for t in range(steps):
        omega = omega - dt * (np.sin(theta) + damping * omega)
        theta = theta + dt * omega
        traj[t] = theta
        if t % 20 == 0:
            print(f"step {t}: theta = {theta:.4f}")
    return np.sum(traj**2) * dt


def polynomial_features(w, x, y):
    """Least squares on polynomial features built with a comprehension."""
    features = np.stack([x**k for k in range(4)], axis=1)
    return np.mean((features @ w - y) ** 2)


CASES = [
    (
        softmax_regression,
        (
            RNG.standard_normal((4, 3)),
            RNG.standard_normal(3),
            RNG.standard_normal((6, 4)),
            RNG.integers(0, 3, 6),
        ),
        (0, 1),
    ),
    (
        attention,
        (
            *(0.5 * RNG.standard_normal((3, 2)) for _ in range(3)),
            RNG.standard_normal((2, 4, 3)),
        ),
        (0, 1, 2, 3),
    ),
    (
        layer_norm,
        (RNG.standard_normal((3, 5)), RNG.uniform(0.5, 1.5, 5), RNG.standard_normal(5)),
        (0, 1, 2),
    ),
    (
        gaussian_log_likelihood,
        (
            RNG.standard_normal(3),
            0.3 * RNG.standard_normal(3),
            RNG.standard_normal((5, 3)),
        ),
        (0, 1),
    ),
    (
        mixture_density,
        (
            RNG.standard_normal(3),
            RNG.standard_normal(3),
            0.2 * RNG.standard_normal(3),
            RNG.standard_normal(7),
        ),
        (0, 1, 2),
    ),
    (
        two_tower,
        (
            RNG.standard_normal((3, 2)),
            RNG.standard_normal((2, 2)),
            RNG.standard_normal((4, 3)),
            RNG.standard_normal((5, 3)),
            RNG.standard_normal((5, 2)),
        ),
        (0, 1, 2),
    ),
    (pca_reconstruction, (RNG.standard_normal((4, 2)), RNG.standard_normal((6, 4))), 0),
    (
        mlp_with_checks,
        (
            RNG.standard_normal((3, 4)),
            RNG.standard_normal(4),
            RNG.standard_normal(4),
            RNG.standard_normal((6, 3)),
            RNG.standard_normal(6),
        ),
        (0, 1, 2),
    ),
    (
        mlp_with_checks,
        (
            RNG.standard_normal((3, 4)),
            RNG.standard_normal(4),
            RNG.standard_normal(4),
            RNG.standard_normal((6, 3)),
            RNG.standard_normal(6),
            0.3,
        ),
        (0, 5),
    ),
    (implicit_root, (1.5, 2.0), (0, 1)),
    (pendulum_rollout, (0.8, 0.3), (0, 1)),
    (
        polynomial_features,
        (RNG.standard_normal(4), RNG.standard_normal(7), RNG.standard_normal(7)),
        0,
    ),
    (
        rnn_with_stack,
        (
            0.5 * RNG.standard_normal((2, 3)),
            0.5 * RNG.standard_normal((3, 3)),
            RNG.standard_normal((3, 2)),
        ),
        (0, 1),
    ),
]


@pytest.mark.parametrize("f, args, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_model_gradient_matches_central_differences(f, args, wrt):
    s2s.check_grad(f, *args, wrt=wrt)
    value, _ = s2s.value_and_grad(f, wrt=wrt)(*args)
    np.testing.assert_allclose(value, f(*args))
