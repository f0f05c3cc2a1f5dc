"""Tangent rules of the primitives of kind "other", for forward mode (the tangents of
the other kinds follow from their adjoint rules; see :mod:`s2s.ad.forward`)."""

from __future__ import annotations

from ..errors import NotTwiceDifferentiableError
from ..primitives import PRIMITIVES
from .registry import np, rt, tangent


def _reduction(prim: str):
    """Tangent of a reduction whose adjoint is `unreduce(g) * weights(a)` (prod, max,
    var, norm, ...): the weights (the adjoint of ones) times the tangent, summed."""

    def rule(tangents, y, a, **params):
        adjoint = PRIMITIVES[prim].derivative.rules[0]
        weights = adjoint(np.ones_like(y), y, a, **params)
        axis, keepdims = params.get("axis"), params.get("keepdims", False)
        return np.sum(weights * tangents[0], axis=axis, keepdims=keepdims)

    return rule


def _prod_adjoint(tangents, y, g, a, **params):
    if 1 in tangents:
        raise NotTwiceDifferentiableError(
            "s2s cannot take the derivative of np.prod's gradient with respect to "
            "the product's argument",
            y.builder.loc,
            "Second derivatives through np.prod are not supported yet; write the "
            "product another way (np.exp(np.sum(np.log(x))) for positive x).",
        )
    return rt.prod_adjoint(tangents[0], a, **params)


for _prim in ("prod", "max", "min", "var", "std", "norm"):
    tangent(_prim, _reduction(_prim))
# np.full_like(a, fill) and np.full(shape, fill): the fill's tangent spread like the
# fill (zero when the result is an integer array), which is what _fill_adjoint
# computes.
for _prim in ("full_like", "full"):
    tangent(_prim, lambda tangents, y, a, fill, **p: rt.fill_adjoint(tangents[1], y, y))
tangent("prod_adjoint", _prod_adjoint)
