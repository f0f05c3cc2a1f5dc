"""Derivatives beyond the gradient: forward mode, vector-Jacobian and Hessian-vector
products, Jacobians and Hessians.

Each is generated code, like the gradient: :mod:`s2s.ad.modes` says which functions
a module of each mode holds (the pipeline runs it), and the functions below call
them.

- ``jvp``: forward mode (:mod:`s2s.ad.forward`) on the function's graph:
  ``f_jvp(x, ..., x_dot)`` returns the value and its derivative along ``x_dot``;
- ``vjp``: the reverse sweep seeded with a cotangent instead of 1, for results of
  any shape: ``f_vjp(x, ..., df)`` returns the value and the cotangents;
- ``hvp``: forward mode over the gradient's own sweeps (its tapes carry tangents),
  one function: ``f_hvp(x, ..., x_dot)`` returns the Hessian times ``x_dot``.

The generated functions take all of f's parameters (without defaults: the tangents
follow them), then the tangents or the cotangent.  A gradient can also be
differentiated again as code: ``s2s.grad(s2s.grad(f))`` reads the generated module
back (see :mod:`s2s.frontend`).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Sequence

import numpy as np

from .api import GradFunction
from .errors import S2SError, WrtError
from .pipeline import Wrt, check_mode, resolve_wrt
from .shim import as_real

# --- the transforms --------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _compiled(f: Callable, mode: str, wrt: Wrt) -> GradFunction:
    return GradFunction(f, wrt, False, {} if mode == "grad" else {"mode": mode})


def derivative(f: Callable, mode: str = "grad", wrt: Wrt = 0) -> GradFunction:
    """The generated function of `mode` for `f` ("grad", "jvp", "vjp" or "hvp"), with
    `.source`; called with all of f's parameters, then the tangents of the `wrt`
    parameters (jvp, hvp) or the cotangent of the result (vjp)."""
    check_mode(mode)
    if isinstance(wrt, list):
        wrt = tuple(wrt)
    return _compiled(f, mode, wrt)


def _bound(f: Callable, primals: Sequence[Any]) -> list[Any]:
    """All of f's arguments: `primals`, then the defaults of the parameters left out
    (keyword-only ones included)."""
    try:
        signature = inspect.signature(f)
        bound = signature.bind(*primals)
    except (TypeError, ValueError) as e:
        raise S2SError(
            f"the primals do not fit {_name_of(f)}: {e}",
            hint="Pass one value per parameter (parameters with defaults may be "
            "left out at the end).",
        ) from None
    bound.apply_defaults()
    # The generated code takes f's keyword-only parameters after the others, by
    # position (those of a partial are the data it binds, passed on its own).
    keywords = [
        p.name
        for p in signature.parameters.values()
        if p.kind is p.KEYWORD_ONLY and not isinstance(f, functools.partial)
    ]
    return list(bound.args) + [bound.arguments[name] for name in keywords]


def _wrt_and_tangents(
    f: Callable, primals: Sequence[Any], tangents: Sequence[Any], wrt: Wrt | None
) -> tuple[Wrt, list[Any]]:
    """`wrt` (by default: the first len(tangents) parameters), and the tangents."""
    tangents = list(tangents) if isinstance(tangents, (tuple, list)) else [tangents]
    if wrt is None:
        if len(tangents) > len(primals):
            raise WrtError(
                f"{len(tangents)} tangents for {len(primals)} primals",
                hint="Give one tangent per differentiated parameter, or name them "
                "with wrt=.",
            )
        wrt = 0 if len(tangents) == 1 else tuple(range(len(tangents)))
    count = len(wrt) if isinstance(wrt, (tuple, list)) else 1
    if count != len(tangents):
        raise WrtError(
            f"{len(tangents)} tangents for {count} parameters in wrt={wrt!r}",
            hint="Give one tangent per parameter in wrt, in the same order.",
        )
    return wrt, tangents


def jvp(
    f: Callable,
    primals: Sequence[Any],
    tangents: Sequence[Any],
    wrt: Wrt | None = None,
) -> tuple[Any, Any]:
    """Forward mode, like JAX's `jvp`: `(f(*primals), J·tangents)`.

    `tangents` holds one tangent per parameter in `wrt` (by default the first
    len(tangents) parameters), each shaped like its parameter::

        value, slope = s2s.jvp(f, (x, y), (dx, dy))
        value, slope = s2s.jvp(f, (w, X, y), (v,), wrt="w")
    """
    wrt, tangents = _wrt_and_tangents(f, primals, tangents, wrt)
    return derivative(f, "jvp", wrt)(*_bound(f, primals), *tangents)


def vjp(
    f: Callable, primals: Sequence[Any], cotangent: Any, wrt: Wrt = 0
) -> tuple[Any, Any]:
    """Reverse mode for a result of any shape: `(f(*primals), cotangent·J)`, the
    gradient of `sum(f(*primals) * cotangent)` (a tuple when `wrt` is a tuple)."""
    return derivative(f, "vjp", wrt)(*_bound(f, primals), cotangent)


def hvp(
    f: Callable,
    primals: Sequence[Any],
    tangents: Sequence[Any],
    wrt: Wrt | None = None,
) -> Any:
    """The Hessian of scalar `f` at `primals` times `tangents`: forward mode over the
    generated gradient, one generated function (`derivative(f, "hvp", wrt)`)::

        Hv = s2s.hvp(loss, (w, X, y), (v,), wrt="w")
    """
    wrt, tangents = _wrt_and_tangents(f, primals, tangents, wrt)
    return derivative(f, "hvp", wrt)(*_bound(f, primals), *tangents)


def _positions(f: Callable, wrt: Wrt) -> tuple[list[int], bool]:

    params = list(inspect.signature(f).parameters)
    return resolve_wrt(getattr(f, "__name__", "f"), params, wrt)


def _basis(points: list[Any], j: int, k: int) -> list[Any]:
    """Tangents for `points`: zero, except a 1 at element k of points[j]."""
    tangents = []
    for m, x in enumerate(points):
        e = np.zeros(np.shape(x))
        if m == j:
            e.flat[k] = 1.0
        scalar = np.ndim(x) == 0 and not isinstance(x, np.ndarray)
        tangents.append(float(e) if scalar else e)
    return tangents


def _columns(x: Any, columns: list[Any], rows_shape: tuple[int, ...]) -> np.ndarray:
    """Stack the derivatives along each element of x into an array shaped
    rows_shape + x.shape."""
    if not columns:  # x is empty
        return np.zeros(rows_shape + np.shape(x))
    stacked = np.stack([np.broadcast_to(c, rows_shape) for c in columns], axis=-1)
    return np.reshape(stacked, rows_shape + np.shape(x))


def hessian(f: Callable, wrt: Wrt = 0) -> Callable[..., Any]:
    """The Hessian of scalar `f`, for small inputs: one Hessian-vector product per
    element of the `wrt` parameters.  `hessian(f)(x)` has shape x.shape + x.shape;
    for a tuple `wrt`, H[i][j] is the block of parameters i and j."""
    positions, many = _positions(f, wrt)

    def full(*args: Any) -> Any:
        args = [
            as_real(a) if i in positions else a for i, a in enumerate(_bound(f, args))
        ]
        h = derivative(f, "hvp", wrt)
        points = [args[i] for i in positions]
        blocks = [[None] * len(points) for _ in points]
        for j, xj in enumerate(points):
            columns: list[list[Any]] = [[] for _ in points]
            for k in range(int(np.size(xj))):
                products = h(*args, *_basis(points, j, k))
                for i, hv in enumerate(products if many else (products,)):
                    columns[i].append(hv)
            for i, xi in enumerate(points):
                blocks[i][j] = _columns(xj, columns[i], np.shape(xi))
        if not many:
            return blocks[0][0]
        return tuple(tuple(row) for row in blocks)

    full.__name__ = f"hessian_of_{getattr(f, '__name__', 'f')}"
    return full


def jacobian(f: Callable, wrt: Wrt = 0, mode: str = "auto") -> Callable[..., Any]:
    """The Jacobian of `f` (a result of any shape) with respect to `wrt`: shaped
    result.shape + x.shape (a tuple of them for a tuple `wrt`).

    Forward mode takes one jvp per input element, reverse mode one vjp per result
    element; mode "auto" picks the fewer (the result's size is found by calling f),
    "forward" or "reverse" choose."""
    if mode not in ("auto", "forward", "reverse"):
        raise S2SError(
            f"unknown jacobian mode {mode!r}",
            hint="Use 'auto', 'forward' or 'reverse'.",
        )
    positions, many = _positions(f, wrt)

    def full(*args: Any) -> Any:
        args = [
            as_real(a) if i in positions else a for i, a in enumerate(_bound(f, args))
        ]
        points = [args[i] for i in positions]
        out_shape = np.shape(f(*args))
        inputs = sum(int(np.size(x)) for x in points)
        outputs = int(np.prod(out_shape, dtype=int))
        backwards = mode == "reverse" or (mode == "auto" and outputs < inputs)
        if backwards:
            blocks = _reverse_jacobian(f, wrt, many, args, points, out_shape)
        else:
            blocks = _forward_jacobian(f, wrt, args, points, out_shape)
        return tuple(blocks) if many else blocks[0]

    full.__name__ = f"jacobian_of_{getattr(f, '__name__', 'f')}"
    return full


def _forward_jacobian(f, wrt, args, points, out_shape) -> list[np.ndarray]:
    """One jvp per input element: the Jacobian's columns."""
    jf = derivative(f, "jvp", wrt)
    return [
        _columns(
            xj,
            [jf(*args, *_basis(points, j, k))[1] for k in range(int(np.size(xj)))],
            out_shape,
        )
        for j, xj in enumerate(points)
    ]


def _reverse_jacobian(f, wrt, many, args, points, out_shape) -> list[np.ndarray]:
    """One vjp per result element: the Jacobian's rows."""
    vf = derivative(f, "vjp", wrt)
    rows: list[list[Any]] = [[] for _ in points]
    size = int(np.prod(out_shape, dtype=int))
    for k in range(size):
        seed = np.zeros(out_shape)
        seed.flat[k] = 1.0
        seed = float(seed) if out_shape == () else seed
        grads = vf(*args, seed)[1]
        for i, g in enumerate(grads if many else (grads,)):
            rows[i].append(np.broadcast_to(g, np.shape(points[i])))
    return [
        (
            np.reshape(np.stack(r, axis=0), out_shape + np.shape(x))
            if r
            else np.zeros(out_shape + np.shape(x))
        )
        for r, x in zip(rows, points)
    ]


def _name_of(f: Callable) -> str:
    """What messages call a function: its name, never the repr of what a partial
    binds (arrays)."""
    inner = f
    while isinstance(inner, functools.partial):
        inner = inner.func
    name = getattr(inner, "__qualname__", type(inner).__name__)
    return name if inner is f else f"a functools.partial of {name}"
