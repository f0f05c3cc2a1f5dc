"""Functions s2s has no built-in rule for, as a user's own library would have them:
test_custom_rules.py registers rules for them (and for scipy.special functions)."""

import numpy as np


def softplus(x, beta=1.0):
    """log(1 + exp(beta x)) / beta, computed stably (s2s does not read this body)."""
    z = beta * np.asarray(x, dtype=float)
    return (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) / beta


def logistic(x):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def logistic_slope(x):
    s = logistic(x)
    return s * (1.0 - s)


def pairwise_sq_dist(a, b):
    """Squared distances between the rows of a and of b: shape (len(a), len(b))."""
    return np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1)


def hard_threshold(x):
    return np.where(np.abs(x) > 1.0, x, 0.0)


def no_rule(x):
    return np.sort(x)


def top_eigenvalue(a):
    """The largest eigenvalue of the symmetric part of a."""
    return np.linalg.eigvalsh((a + a.T) / 2)[-1]
