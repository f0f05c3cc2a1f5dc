"""Checking gradients against central finite differences in float64.

`check_grad` compares each element of the gradient with a central difference
(h = 1e-6 * max(1, |x|)) for small arguments, and the directional derivative along a
seeded random direction for large ones; it passes when |a - n| <= atol + rtol * |n|
everywhere, and otherwise raises :class:`GradientMismatchError` naming the worst element.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .api import grad
from .errors import GradientMismatchError
from .pipeline import Wrt
from .shim import as_real

ATOL = 1e-7
RTOL = 1e-5


@dataclass
class GradCheck:
    """The outcome of :func:`check_grad`: the worst element, relative to its tolerance."""

    parameter: str
    index: tuple[int, ...] | None  # None when checked along a random direction
    analytic: float
    numeric: float
    ratio: float  # |a - n| / (atol + rtol |n|): at most 1 passes


def _with(args: list[Any], i: int, value: Any) -> list[Any]:
    copy = list(args)
    copy[i] = value
    return copy


def _directional(
    f: Callable, args: list[Any], i: int, direction: np.ndarray, h: float
) -> float:
    x = args[i]
    as_float = np.ndim(x) == 0 and not isinstance(x, np.ndarray)

    def at(t: float) -> float:
        moved = np.array(
            np.asarray(x, dtype=np.float64) + t * direction
        )  # 0-d stays an array
        return float(f(*_with(args, i, float(moved) if as_float else moved)))

    return (at(h) - at(-h)) / (2 * h)


def numeric_gradient(f: Callable, args: list[Any], i: int) -> np.ndarray:
    """The full central-difference gradient of f with respect to argument i."""
    x = np.asarray(args[i], dtype=np.float64)
    out = np.zeros(x.shape)
    for index in np.ndindex(*x.shape):
        e = np.zeros(x.shape)
        e[index] = 1.0
        out[index] = _directional(f, args, i, e, 1e-6 * max(1.0, abs(float(x[index]))))
    return out


def check_grad(
    f: Callable,
    *args: Any,
    wrt: Wrt = 0,
    max_full: int = 100,
    seed: int = 0,
    atol: float = ATOL,
    rtol: float = RTOL,
) -> list[GradCheck]:
    """Compare s2s's gradient of `f` at `args` with central differences; raise on mismatch.

    Returns the worst element of each checked parameter.
    """
    g = grad(f, wrt=wrt)
    params = g.stages.wrt
    positions = [g.stages.graph.params.index(p) for p in params]
    args_list = [as_real(a) if i in positions else a for i, a in enumerate(args)]
    analytic = g(*args_list)
    grads = analytic if g.stages.many else (analytic,)
    rng = np.random.default_rng(seed)
    reports = []
    for p, i, a in zip(params, positions, grads):
        x = np.asarray(args_list[i], dtype=np.float64)
        a = np.asarray(a, dtype=np.float64)
        if a.shape != x.shape:
            raise GradientMismatchError(
                f"gradient for {p.hint} has shape {a.shape}, but the argument has shape {x.shape}",
                hint="This is a bug in s2s; please report it.",
            )
        if x.size <= max_full:
            n = numeric_gradient(f, args_list, i)
            ratio = np.abs(a - n) / (atol + rtol * np.abs(n))
            worst = (
                np.unravel_index(np.argmax(ratio), ratio.shape) if ratio.size else ()
            )
            report = GradCheck(
                p.hint,
                tuple(int(k) for k in worst),
                float(a[worst]) if a.size else 0.0,
                float(n[worst]) if n.size else 0.0,
                float(ratio[worst]) if ratio.size else 0.0,
            )
        else:
            v = rng.standard_normal(x.shape)
            v /= np.linalg.norm(v)
            h = 1e-6 * max(1.0, float(np.max(np.abs(x))))
            n_dir = _directional(f, args_list, i, v, h)
            a_dir = float(np.sum(a * v))
            report = GradCheck(
                p.hint,
                None,
                a_dir,
                n_dir,
                abs(a_dir - n_dir) / (atol + rtol * abs(n_dir)),
            )
        if not report.ratio <= 1.0:
            where = f"[{', '.join(map(str, report.index))}]" if report.index else ""
            along = " along a random direction" if report.index is None else ""
            raise GradientMismatchError(
                f"gradient of {g.fun.__name__} with respect to {p.hint}{where}{along}: "
                f"s2s gives {report.analytic!r}, central differences give {report.numeric!r} "
                f"(off by {report.ratio:.3g} times the tolerance {atol} + {rtol}*|n|)",
                hint="If the function is not smooth at this point (abs, max, clip at a "
                "kink), move the point; otherwise this is a bug in s2s.",
            )
        reports.append(report)
    return reports
