"""Checks run before anything is timed: the hand-written gradient against central
differences, and every framework's gradient against the hand-written one.

At the benchmark's sizes a full finite-difference Jacobian would take minutes, so the
hand-written gradient is checked along a seeded random direction per argument (the
test suite checks every element at small sizes).  Tolerances are those of
`s2s.check_grad`.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from s2s.testing import ATOL, RTOL

# Frameworks sum in different orders (BLAS blocking, XLA fusion): agreement to this
# relative precision in float64 is agreement; a wrong derivative is off by far more.
AGREE_RTOL = 1e-7


class CheckFailed(Exception):
    """A gradient disagrees with its reference; the message says where and by how much."""


def _moved(args: tuple, i: int, direction: np.ndarray, t: float) -> list:
    moved = list(args)
    x = args[i]
    if isinstance(x, np.ndarray):
        moved[i] = x + t * direction
    else:
        moved[i] = float(x) + t * float(direction)
    return moved


def directional_check(
    fun: Callable[..., Any],
    args: tuple,
    positions: tuple[int, ...],
    grads: tuple,
    seed: int = 0,
) -> None:
    """Compare <grad, v> with the central difference of `fun` along v, per argument."""
    rng = np.random.default_rng(seed)
    for i, g in zip(positions, grads):
        x = np.asarray(args[i], dtype=np.float64)
        g = np.asarray(g, dtype=np.float64)
        if g.shape != x.shape:
            raise CheckFailed(
                f"argument {i}: gradient shape {g.shape} != argument shape {x.shape}"
            )
        v = rng.standard_normal(x.shape)
        v /= np.linalg.norm(v)
        h = 1e-6 * max(1.0, float(np.max(np.abs(x), initial=0.0)))
        numeric = (fun(*_moved(args, i, v, h)) - fun(*_moved(args, i, v, -h))) / (2 * h)
        analytic = float(np.sum(g * v))
        if not abs(analytic - numeric) <= ATOL + RTOL * abs(numeric):
            raise CheckFailed(
                f"argument {i}: gradient along a random direction is {analytic!r}, "
                f"central differences give {numeric!r}"
            )


def agreement(got: tuple, reference: tuple) -> float:
    """The worst relative disagreement of `got` with `reference`, argument by argument.

    Raises CheckFailed when it exceeds AGREE_RTOL, or when counts or shapes differ.
    """
    if len(got) != len(reference):
        raise CheckFailed(f"{len(got)} gradients, expected {len(reference)}")
    worst = 0.0
    for k, (a, r) in enumerate(zip(got, reference)):
        a = np.asarray(a, dtype=np.float64)
        r = np.asarray(r, dtype=np.float64)
        if a.shape != r.shape:
            raise CheckFailed(f"gradient {k}: shape {a.shape}, expected {r.shape}")
        scale = float(np.max(np.abs(r), initial=0.0)) or 1.0
        error = float(np.max(np.abs(a - r), initial=0.0)) / scale
        if not error <= AGREE_RTOL:
            raise CheckFailed(
                f"gradient {k} differs from the hand-written one by {error:.3g} "
                f"(relative to its largest element; allowed {AGREE_RTOL})"
            )
        worst = max(worst, error)
    return worst
