"""Newton's method for L2-regularized logistic regression, with Hessian-vector products.

Each Newton step solves H p = -g by conjugate gradients, which needs only products
H v: the generated Hessian-vector product (generated/newton_logistic_loss_hvp.py),
forward mode over the generated gradient, one function.  The Hessian itself is never
formed.  Newton's method converges quadratically: the gradient's norm is roughly
squared at every step near the minimum.

Run it: `python examples/newton_logistic.py`.
"""

import numpy as np

import s2s


def loss(w: "n", X: "m n", y: "m", lam: float):
    z = X @ w
    # log(1 + exp(z)) - y z: the logistic loss, written to stay finite for large z
    data = np.mean(np.logaddexp(0.0, z) - y * z)
    return data + 0.5 * lam * np.sum(w * w)


def conjugate_gradient(product, b, tol=1e-12, steps=100):
    """x with product(x) = b, for a symmetric positive definite product."""
    x = np.zeros_like(b)
    r = b.copy()
    p = r.copy()
    rr = r @ r
    for _ in range(steps):
        if np.sqrt(rr) < tol:
            break
        q = product(p)
        alpha = rr / (p @ q)
        x = x + alpha * p
        r = r - alpha * q
        rr, previous = r @ r, rr
        p = r + (rr / previous) * p
    return x


def newton(w, X, y, lam, steps=20, tol=1e-10):
    """Newton-CG from w; returns the minimizer and the gradient norm of each step."""
    gradient = s2s.grad(loss, wrt="w")
    hvp = s2s.derivative(loss, "hvp", wrt="w")  # loss_hvp(w, X, y, lam, w_dot)
    norms = []
    for _ in range(steps):
        g = gradient(w, X, y, lam)
        norms.append(float(np.linalg.norm(g)))
        if norms[-1] < tol:
            break
        w = w + conjugate_gradient(lambda v: hvp(w, X, y, lam, v), -g)
    return w, norms


def data(seed=0, samples=200, features=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(samples, features))
    true = rng.normal(size=features)
    y = (rng.random(samples) < 1 / (1 + np.exp(-X @ true))).astype(float)
    return X, y


def main():
    X, y = data()
    w, norms = newton(np.zeros(X.shape[1]), X, y, lam=0.1)
    print("w =", np.round(w, 6))
    for step, norm in enumerate(norms):
        print(f"  step {step}: |gradient| = {norm:.3e}")


if __name__ == "__main__":
    main()
