"""The primitives: every operation the IR is made of.

- :mod:`.record`: the record of a primitive (everything s2s knows about it) and
  the registry, :data:`PRIMITIVES`;
- :mod:`.catalogue`: the built-in primitives (:data:`CATALOGUE`), with :mod:`.arrays`,
  :mod:`.linalg` and :mod:`.helpers` (built with the factories of :mod:`.factories`);
- :mod:`.spelling`: how user code spells them (numpy, math, methods, built-ins);
- :mod:`.binding`: a call's arguments bound to a primitive's operands.
"""

from .binding import ArgumentError, bind, differentiable_operands, operand_names
from .linalg import parse_einsum
from .record import PRIMITIVES, Derivative, Primitive, define, forget, registered
from .spelling import (
    BUILTINS,
    HELPERS,
    MATH_CONSTANTS,
    MATH_FUNCTIONS,
    METHODS,
    NUMPY_CONSTANTS,
    NUMPY_FUNCTIONS,
    NUMPY_TUPLES,
    REWRITTEN,
    import_roots,
    loaded_object,
    lookup_object,
    lookup_path,
)
