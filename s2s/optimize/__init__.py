"""The optimizer: the stage between differentiation and emission.

Constant folding and the identities that hold whatever the shapes happen while ops
are built (:class:`s2s.ir.Builder`); here are the passes that need the whole
function, run in order, to a fixed point (each reports whether it changed
anything): specialization for the parameters' shape patterns, constants, branches
on constants, common subexpressions, broadcasts, products (written so that numpy
reuses its temporaries: see :mod:`.products`), dead code, unread tapes, loop
invariants and values a loop never changes.  With ``S2S_VERIFY_PASSES=1`` in the
environment (the tests set it) the SSA invariants are checked after every pass.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

from ..ir import FunctionSpec, Stmt, verify_body
from ..shapes.classes import shared_classes
from ..shapes.specialize import specialize
from .broadcasts import simplify_shapes
from .cleanup import (
    eliminate_common_subexpressions,
    eliminate_dead_code,
    fold_branches,
    fold_constants,
)
from .loops import drop_unchanged_carried, hoist_invariants, prune_tapes
from .products import arrange_products

#: A pass: (statements, roots, the function) -> (statements, roots, changed).
Pass = Callable[[list[Stmt], list[Any], FunctionSpec], tuple[list[Stmt], list, bool]]


def _specialize(stmts: list[Stmt], roots: list[Any], spec: FunctionSpec):
    if not spec.shapes:
        return stmts, roots, False
    return specialize(stmts, roots, spec.shapes)


#: The passes, in the order they run on each round.
PASSES: tuple[tuple[str, Pass], ...] = (
    ("specialize", _specialize),
    ("constants", lambda s, r, f: fold_constants(s, r)),
    ("branches", lambda s, r, f: fold_branches(s, r)),
    ("common subexpressions", lambda s, r, f: eliminate_common_subexpressions(s, r)),
    (
        "broadcasts",
        lambda s, r, f: simplify_shapes(s, r, f.params, shared_classes(s, f)),
    ),
    ("products", arrange_products),
    ("dead code", lambda s, r, f: eliminate_dead_code(s, r)),
    ("tapes", lambda s, r, f: prune_tapes(s, r)),
    ("loop invariants", lambda s, r, f: hoist_invariants(s, r)),
    ("unchanged carried", lambda s, r, f: drop_unchanged_carried(s, r)),
)


@dataclass
class Optimized:
    """A function as the emitter writes it: its statements (sections marked) and
    what it returns, after every pass."""

    spec: FunctionSpec
    body: list[Stmt]
    returns: Any

    def __str__(self) -> str:
        params = ", ".join(p.name for p in self.spec.params)
        lines = [f"def {self.spec.name}({params}):"]
        lines += ["    " + line for s in self.body for line in s.lines()]
        lines.append(f"    return {self.returns!r}")
        return "\n".join(lines)


def optimize(spec: FunctionSpec) -> Optimized:
    """Run the passes over one function to a fixed point."""
    check = os.environ.get("S2S_VERIFY_PASSES") == "1"
    body, roots = spec.body(), [spec.returns]
    spec.analyses.clear()
    changed = True
    while changed:
        changed = False
        for name, run in PASSES:
            body, roots, did = run(body, roots, spec)
            changed |= did
            if did:  # the analyses were of the statements before the pass
                spec.analyses.clear()
            if check:
                done = Optimized(spec, body, roots[0])
                verify_body(spec.params, body, roots, lambda: f"after {name}:\n{done}")
    return Optimized(spec, body, roots[0])
