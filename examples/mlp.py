"""Seed 004: a one-hidden-layer perceptron with L2 regularization.

z = W1 x, h = phi(z) with phi = tanh, o = W2 h, L = loss(o, y) (softmax cross-entropy,
with a stable log-sum-exp), s = lam/2 (||W1||_F^2 + ||W2||_F^2), J = L + s.  The seed
derives dJ/dW2 = dJ/do h^T + lam W2, dJ/dh = W2^T dJ/do, dJ/dz = dJ/dh * phi'(z),
dJ/dW1 = dJ/dz x^T + lam W1.  Here x holds a batch of samples as columns and the loss
is the mean over the batch.

Run it: `python examples/mlp.py`.
"""

import numpy as np

import s2s


def J(W1: "h d", W2: "q h", x: "d n", y: "q n", lam: float):
    z = W1 @ x
    h = np.tanh(z)
    o = W2 @ h
    m = np.max(o, axis=0, keepdims=True)
    log_sum_exp = m + np.log(np.sum(np.exp(o - m), axis=0, keepdims=True))
    L = np.mean(np.sum(y * (log_sum_exp - o), axis=0))
    s = lam / 2 * (np.sum(W1**2) + np.sum(W2**2))
    J = L + s
    return J


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    d, hidden, q, batch = 4, 5, 3, 6
    W1 = rng.normal(size=(hidden, d)) * 0.5
    W2 = rng.normal(size=(q, hidden)) * 0.5
    x = rng.normal(size=(d, batch))
    y = np.eye(q)[:, rng.integers(0, q, batch)]
    value_and_grad = s2s.value_and_grad(J, wrt=("W1", "W2"))
    value, (dW1, dW2) = value_and_grad(W1, W2, x, y, 0.1)
    print(
        f"J = {value:.4f}, |dJ/dW1| = {np.linalg.norm(dW1):.4f}, |dJ/dW2| = {np.linalg.norm(dW2):.4f}"
    )
    print(value_and_grad.source)
