"""s2s: source-to-source reverse-mode automatic differentiation for Python + numpy.

    >>> import s2s
    >>> @s2s.grad(wrt=("a", "b", "c"))
    ... def J(a, b, c):
    ...     return 3 * (a + b * c)

`J(5.0, 3.0, 2.0)` is then `(3.0, 6.0, 9.0)`, and `J.source` is the generated code.
"""

from .api import GradFunction, grad, value_and_grad
from .errors import (
    CheckpointError,
    GradientMismatchError,
    GraphvizNotFoundError,
    InternalError,
    NoDerivativeError,
    NonScalarOutputError,
    NotPortableError,
    NotTwiceDifferentiableError,
    RuleError,
    S2SError,
    ShapeMismatchError,
    ShapeSpecError,
    SourceUnavailableError,
    UnknownFunctionError,
    UnsupportedSyntaxError,
    WrtError,
)
from .higher import derivative, hessian, hvp, jacobian, jvp, vjp
from .testing import check_grad
from .version import VERSION as __version__

#: Attributes imported on first use, so that `import s2s` stays cheap.
_LAZY = {
    "graph": "draw",
    "GraphPicture": "draw",
    "call": "custom",
    "register": "custom",
    "unregister": "custom",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 's2s' has no attribute {name!r}")


__all__ = [
    "CheckpointError",
    "GradFunction",
    "GradientMismatchError",
    "GraphPicture",
    "GraphvizNotFoundError",
    "InternalError",
    "NoDerivativeError",
    "NonScalarOutputError",
    "NotPortableError",
    "NotTwiceDifferentiableError",
    "RuleError",
    "S2SError",
    "ShapeMismatchError",
    "ShapeSpecError",
    "SourceUnavailableError",
    "UnknownFunctionError",
    "UnsupportedSyntaxError",
    "WrtError",
    "call",
    "check_grad",
    "derivative",
    "grad",
    "graph",
    "hessian",
    "hvp",
    "jacobian",
    "jvp",
    "register",
    "unregister",
    "value_and_grad",
    "vjp",
]
