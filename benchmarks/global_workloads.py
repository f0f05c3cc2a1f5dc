"""W3g and W4g: the losses of W3 and W4 with their data at module level (issue 15).

A training script often loads its data once, at import (`X = np.load(...)`), and
writes the loss as a function of the parameters alone, reading the data as module
globals.  These are W3's and W4's losses written that way: the same lines as
`examples/logistic.py:batch_loss` and `workloads.py:mlp_loss`, differentiated with
respect to the same parameters, with the batch read from the globals below instead
of passed.  s2s reads them when the gradient runs (`global_workloads =
_module("benchmarks.global_workloads")`, then `X = global_workloads.X`): a dict
lookup, never a copy.

The data starts empty: `workloads.py` sets it from the very inputs W3 and W4 are
timed on (same seed, same sizes) when a workload's inputs are made, before anything
is checked or timed.  The two losses read different names, since W4's labels are
one-hot rows where W3's are a vector.
"""

import numpy as np

# W3g's batch: X (m x n), y (m) in {0, 1}
X = None
y = None

# W4g's batch: images (batch x d), labels (batch x q), one-hot rows
images = None
labels = None


def batch_loss(w: "n", b: float):
    """W3's mean binary cross-entropy of logistic regression, on the module's X, y."""
    z = X @ w + b
    a = 1 / (1 + np.exp(-z))
    L = -np.mean(y * np.log(a) + (1 - y) * np.log(1 - a))
    return L


def mlp_loss(W1: "d h", W2: "h q", lam: float):
    """W4's MLP with L2, on the module's images and labels."""
    h = np.tanh(images @ W1)
    o = h @ W2
    m = np.max(o, axis=1, keepdims=True)
    log_sum_exp = m + np.log(np.sum(np.exp(o - m), axis=1, keepdims=True))
    L = np.mean(np.sum(labels * (log_sum_exp - o), axis=1))
    s = lam / 2 * (np.sum(W1**2) + np.sum(W2**2))
    return L + s
