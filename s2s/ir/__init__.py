"""The SSA intermediate representation and what every pass shares about it.

- :mod:`.nodes`: values, ops, regions (If, Loop), graphs, the walk over regions;
- :mod:`.build`: the builder that appends ops and folds constants;
- :mod:`.symbolic`: symbolic numpy, in which derivative rules are written;
- :mod:`.analysis`: questions about a statement tree (may a value be undefined,
  may it hold integers, what a tape carries);
- :mod:`.rewrite`: copies and substitution;
- :mod:`.verify`: the SSA invariants, checked after every stage in the tests.
"""

from .analysis import (
    all_values,
    always_raises,
    defined_in,
    has_effect,
    integral_result,
    maybe_undefined,
    possibly_integral,
    pushed_values,
)
from .build import Builder, fold, single_indices, temp_hint
from .nodes import (
    Carried,
    Const,
    FunctionSpec,
    Graph,
    If,
    Loop,
    Merge,
    Namespace,
    Op,
    Operand,
    Role,
    Stmt,
    Var,
    operands,
    walk,
)
from .rewrite import (
    copy_regions,
    copy_tree,
    operands_of,
    resolve_chains,
    substitute,
    substitute_tree,
)
from .structured import Packed, Structured
from .symbolic import Sym, SymbolicNumpy, as_operand, call_function, call_primitive
from .verify import verify, verify_body
