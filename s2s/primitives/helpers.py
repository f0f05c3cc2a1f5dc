"""The records of the runtime helpers (:mod:`s2s.runtime`) that generated gradients
call: each is a primitive with rules of its own, so that a gradient that calls it can
be differentiated again.  Operands read only for their shape (or dtype) are nondiff."""

from __future__ import annotations

from .factories import LIKE, REDUCE, SHAPE, helper

#: The helpers, in the order docs/rules.md lists them.
HELPERS = [
    # Helpers written into every generated module that needs them (see s2s/runtime).
    # Operands read only for their shape (or dtype) are nondiff: a gradient that calls
    # these helpers can be differentiated again (see rules.py).
    helper(
        "check_scalar",
        ("y",),
        effect="check",
        has_value=False,
        guarded=True,
        array_api="_check_scalar",
    ),
    # An f-string, f"step {k}: {loss:.3f}", as its template and its values.
    helper(
        "format",
        ("values",),
        static=(("template", None),),
        leading=("template",),
        variadic=True,
        cost="constant",
        hint="text",
        array_api="_format",
    ),
    # A free value the code was generated for (an axis), an array it was specialized
    # for: the same value, the same shape, when it runs.
    *(
        helper(
            name,
            ("value",),
            static=(("expected", None), ("name", None)),
            effect="check",
            has_value=False,
            array_api=portable,
        )
        for name, portable in (
            ("check_unchanged", None),
            ("check_shape", "_check_shape"),
        )
    ),
    # An update in place of a value that may be an array another name sees.
    helper(
        "check_unshared",
        ("value",),
        static=(("update", None), ("where", None), ("holder", None)),
        effect="check",
        has_value=False,
        guarded=True,
    ),
    helper(
        "check_shapes",
        ("arguments",),
        static=(("function", None), ("names", None), ("expected", None)),
        variadic=True,
        effect="check",
        has_value=False,
        array_api="_check_shapes",
    ),
    helper(
        "unbroadcast",
        ("g", "like"),
        nondiff=LIKE,
        shaped_like=1,
        shape_only=1,
        shape_variant="unbroadcast_to",
        array_api="_unbroadcast",
    ),
    helper(
        "unreduce",
        ("g", "like"),
        static=REDUCE,
        nondiff=LIKE,
        shaped_like=1,
        shape_only=1,
        spread=True,
        shape_variant="unreduce_to",
        array_api="_unreduce",
    ),
    helper(
        "unbroadcast_to",
        ("g", "shape"),
        nondiff=SHAPE,
        shaped_by=1,
        array_api="_unbroadcast_to",
    ),
    helper(
        "unreduce_to",
        ("g", "shape"),
        static=REDUCE,
        nondiff=SHAPE,
        shaped_by=1,
        spread=True,
        array_api="_unreduce_to",
    ),
    helper("prod_adjoint", ("g", "a"), static=REDUCE, shaped_like=1),
    helper(
        "extremum_adjoint",
        ("g", "a", "y"),
        static=REDUCE,
        nondiff=frozenset({"a", "y"}),  # which elements are extremal: a step
        shaped_like=1,
        array_api="_extremum_adjoint",
    ),
    *(
        helper(
            f"{op}_adjoint_{side}",
            ("g", "a", "b"),
            nondiff=frozenset({side}),
            shaped_like=1 if side == "a" else 2,
            array_api=f"_{op}_adjoint_{side}" if op == "matmul" else None,
        )
        for op in ("matmul", "dot")
        for side in ("a", "b")
    ),
    helper(
        "trace_adjoint",
        ("g", "a"),
        static=(("offset", 0), ("axis1", 0), ("axis2", 1)),
        nondiff=frozenset({"a"}),
        shaped_like=1,
    ),
    helper(
        "diag_adjoint",
        ("g", "v"),
        static=(("k", 0),),
        nondiff=frozenset({"v"}),
        shaped_like=1,
    ),
    helper(
        "fill_adjoint",
        ("g", "y", "fill"),
        nondiff=frozenset({"y", "fill"}),
        shaped_like=2,
    ),
    # a cast's adjoint, in the dtype of what was cast (like is read for its dtype)
    helper("cast_like", ("g", "like"), nondiff=LIKE, shaped_like=0, dtype="float"),
    *(
        helper(
            f"{name}_adjoint",
            ("g", "arrays"),
            static=(("part", 0),),
            nondiff=frozenset({"arrays"}),
            variadic=True,
        )
        for name in ("hstack", "vstack")
    ),
    # The derivatives of math.lgamma and math.gamma, on Python floats.
    helper("digamma", ("x",), elementwise=True, dtype="float"),
    helper("polygamma", ("x",), static=(("n", None),), elementwise=True, dtype="float"),
    # The adjoints of the array functions that select or repeat elements.
    *(
        helper(
            name,
            ("g", "like", "indices"),
            static=(("axis", axis),),
            nondiff=frozenset({"like", "indices"}),
            shaped_like=1,
            shape_only=1,
        )
        for name, axis in (("take_adjoint", None), ("take_along_axis_adjoint", -1))
    ),
    helper(
        "tile_adjoint",
        ("g", "like"),
        static=(("reps", None),),
        nondiff=LIKE,
        shaped_like=1,
        shape_only=1,
    ),
    helper(
        "repeat_adjoint",
        ("g", "like"),
        static=(("repeats", None), ("axis", None)),
        nondiff=LIKE,
        shaped_like=1,
        shape_only=1,
    ),
    helper("unpad", ("g", "pad_width"), nondiff=frozenset({"pad_width"}), counts=1),
    # The adjoints of np.kron and np.tensordot, bilinear in g and the other factor.
    *(
        helper(
            f"{op}_adjoint_{side}",
            ("g", "a", "b"),
            static=(("axes", 2),) if op == "tensordot" else (),
            nondiff=frozenset({side}),
            shaped_like=1 if side == "a" else 2,
        )
        for op in ("kron", "tensordot")
        for side in ("a", "b")
    ),
    # 1 / (w[j] - w[i]) off the diagonal: what eigenvectors' derivatives divide by
    helper("inverse_gaps", ("w",), dtype="float"),
    # np.average's weights and np.trapezoid's x, laid along an axis
    helper(
        "along_axis",
        ("v", "like"),
        static=(("axis", -1),),
        nondiff=LIKE,
        shape_only=1,
    ),
    # np.linalg.norm(x, 2) of a matrix: its gradient, and that's derivative
    helper("spectral_direction", ("x",), static=(("axis", None),), shaped_like=0),
    helper("spectral_curvature", ("t", "x"), static=(("axis", None),), shaped_like=1),
    # np.linalg.solve(a, b) with a stack of matrices and a vector b, in columns
    *(
        helper(name, ("v", "a", "b"), nondiff=frozenset({"a", "b"}))
        for name in ("as_columns", "from_columns")
    ),
]
