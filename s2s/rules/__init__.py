"""Derivative rules: the adjoint of every primitive, one small function per operand.

- :mod:`.registry`: how rules are attached to the primitives' records;
- :mod:`.adjoints`: the table of adjoint rules;
- :mod:`.arrays`: the rules of the array functions (cumprod, diff, sort, take, pad...);
- :mod:`.linalg`: the rules of kron, tensordot and np.linalg's solvers and
  decompositions;
- :mod:`.tangents`: explicit tangent rules (forward mode) where the kind gives none;
- :mod:`.composites`: patterns differentiated as a whole.

A rule is called as ``rule(g, y, *operands, **params)`` with Syms for the output
adjoint `g`, the output `y` and the operands, and returns the adjoint contribution for
its operand (or None for a zero).  Rules are written with `np` bound to a symbolic
numpy (:class:`s2s.ir.SymbolicNumpy`), so each rule reads exactly like the code it
generates; `rt` reaches the helpers of :mod:`s2s.runtime`.

Every primitive is registered with its kind (`PRIMITIVES[name].kind`), which says how its
derivative acts on a perturbation, for the passes that need more than the adjoint:

- ``linear``: the derivative is the op itself applied to the perturbations of its
  differentiable operands (add, sum, transpose, reshape, getitem, concatenate);
- ``bilinear``: linear in each operand separately, so the derivative is the sum of
  the op with one operand replaced by its perturbation (mul, matmul, dot, outer,
  einsum, for any number of operands);
- ``elementwise``: each output element depends on the matching input elements only,
  so each rule is ``g`` times a partial derivative and applies to a perturbation as
  it does to an adjoint (exp, div, maximum, clip);
- ``other``: none of these (prod, max, var, norm);
- ``zero``: steps, whose derivative is zero wherever it exists (comparisons,
  shapes, rounding), and ``tape`` for push and pop.

Broadcasting is not undone here: for the primitives whose operands broadcast the
reverse pass sums each contribution back to its operand's shape, in one place.

The tables are loaded by :func:`load` (the AD stage, `s2s.register` and the
reference call it), not with the package: `import s2s` does not build them.
"""

from .registry import KIND_NAMES, EachOperand, np, register_rules, rt, zero


def load() -> None:
    """Attach the built-in derivatives to the primitives' records (once): what
    differentiating needs, which `import s2s` alone does not."""
    from . import adjoints, arrays, composites, linalg, tangents  # noqa: F401
