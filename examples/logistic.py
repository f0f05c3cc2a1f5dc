"""Seed 000: logistic regression through the computation graph.

Single sample, two features: z = w1*x1 + w2*x2 + b, a = sigmoid(z),
L = -(y*log(a) + (1-y)*log(1-a)).  The seed derives dL/dz = a - y,
dL/dw1 = x1*dz, dL/dw2 = x2*dz, dL/db = dz.

Batched: the same model on a data matrix X (m x n), with the mean loss over samples;
then dL/dw = X^T (a - y) / m and dL/db = mean(a - y).

Run it: `python examples/logistic.py`.
"""

import numpy as np

import s2s


def sigmoid_loss(w1, w2, b, x1, x2, y):
    z = w1 * x1 + w2 * x2 + b
    a = 1 / (1 + np.exp(-z))
    L = -(y * np.log(a) + (1 - y) * np.log(1 - a))
    return L


def batch_loss(w: "n", b: float, X: "m n", y: "m"):
    z = X @ w + b
    a = 1 / (1 + np.exp(-z))
    L = -np.mean(y * np.log(a) + (1 - y) * np.log(1 - a))
    return L


if __name__ == "__main__":
    grads = s2s.grad(sigmoid_loss, wrt=("w1", "w2", "b"))
    dw1, dw2, db = grads(0.5, -0.3, 0.1, 1.0, 2.0, 1.0)
    print(f"single sample: dL/dw1 = {dw1:.4f}, dL/dw2 = {dw2:.4f}, dL/db = {db:.4f}")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 3))
    y = (rng.random(8) > 0.5).astype(float)
    dw, db = s2s.grad(batch_loss, wrt=("w", "b"))(np.zeros(3), 0.0, X, y)
    print("batch: dL/dw =", dw, " dL/db =", db)
