"""What second-order derivatives cost, for the logistic regression of
examples/newton_logistic.py, against the gradient and against numpy written by hand.

For data of each size, the median time of (in one process, generated code loaded):

- the loss, its generated gradient and its generated Hessian-vector product, and the
  product written by hand in numpy (X.T @ (s (1 - s) * (X @ v)) / m + lam v);
- the full Hessian from products (one per feature: `s2s.hessian`) and written by hand;
- a Newton-CG solve with the generated products, and exact Newton with the Hessian
  written by hand, with the number of Newton steps each takes.

Run from the repository root:

    python benchmarks/higher_order.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import s2s  # noqa: E402
from examples import newton_logistic as ex  # noqa: E402


def median_ms(fn, runs: int) -> float:
    fn()  # warm up (generation, caches)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def hand_hvp(w, X, y, lam, v):
    s = 1 / (1 + np.exp(-X @ w))
    return X.T @ (s * (1 - s) * (X @ v)) / len(y) + lam * v


def hand_hessian(w, X, y, lam):
    s = 1 / (1 + np.exp(-X @ w))
    return X.T @ (X * (s * (1 - s))[:, None]) / len(y) + lam * np.eye(len(w))


def exact_newton(w, X, y, lam, tol=1e-10):
    steps = 0
    while True:
        s = 1 / (1 + np.exp(-X @ w))
        g = X.T @ (s - y) / len(y) + lam * w
        if np.linalg.norm(g) < tol:
            return w, steps
        w = w - np.linalg.solve(hand_hessian(w, X, y, lam), g)
        steps += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    grad = s2s.grad(ex.loss, wrt="w")
    hvp = s2s.derivative(ex.loss, "hvp", wrt="w")
    hessian = s2s.hessian(ex.loss, wrt="w")
    lam = 0.1
    print(f"median of {runs} runs, in ms (numpy {np.__version__})")
    print(
        f"{'samples x features':>18} {'loss':>7} {'grad':>7} {'hvp':>7} {'hvp/grad':>8} "
        f"{'hand hvp':>8} {'hessian':>8} {'by hand':>8} {'newton-cg':>10} "
        f"{'exact':>8} {'steps':>6}"
    )
    for samples, features in ((200, 5), (10_000, 50), (100_000, 20)):
        rng = np.random.default_rng(0)
        X = rng.normal(size=(samples, features))
        y = (rng.random(samples) < 0.5).astype(float)
        w, v = rng.normal(size=features) * 0.1, rng.normal(size=features)
        np.testing.assert_allclose(
            hvp(w, X, y, lam, v), hand_hvp(w, X, y, lam, v), rtol=1e-10
        )
        t_loss = median_ms(lambda: ex.loss(w, X, y, lam), runs)
        t_grad = median_ms(lambda: grad(w, X, y, lam), runs)
        t_hvp = median_ms(lambda: hvp(w, X, y, lam, v), runs)
        t_hand = median_ms(lambda: hand_hvp(w, X, y, lam, v), runs)
        t_hess = median_ms(lambda: hessian(w, X, y, lam), max(runs // 3, 1))
        t_hand_hess = median_ms(lambda: hand_hessian(w, X, y, lam), runs)
        start = np.zeros(features)
        _, norms = ex.newton(start, X, y, lam)
        t_cg = median_ms(lambda: ex.newton(start, X, y, lam), max(runs // 3, 1))
        _, steps = exact_newton(start, X, y, lam)
        t_exact = median_ms(lambda: exact_newton(start, X, y, lam), max(runs // 3, 1))
        print(
            f"{samples:>9} x {features:<6} {t_loss:7.3f} {t_grad:7.3f} {t_hvp:7.3f} "
            f"{t_hvp / t_grad:8.2f} {t_hand:8.3f} {t_hess:8.2f} {t_hand_hess:8.3f} "
            f"{t_cg:10.2f} {t_exact:8.2f} {len(norms) - 1:>3}/{steps}"
        )


if __name__ == "__main__":
    main()
