"""The linear-algebra primitives: products and contractions (dot, outer, einsum,
kron, tensordot), traces and diagonals, norms, and np.linalg's solvers and
decompositions."""

from __future__ import annotations

from typing import Any

from .record import Primitive


def parse_einsum(subscripts: Any, count: int) -> tuple[list[list[str]], list[str]]:
    """The labels of each operand and of the output of explicit einsum subscripts
    (`"ij,jk->ik"`); `...` is one label.  Raises ValueError saying what is wrong."""
    if not isinstance(subscripts, str):
        raise ValueError("the subscripts must be a string such as 'ij,jk->ik'")
    text = subscripts.replace(" ", "")
    if "->" not in text:
        raise ValueError(
            f"the subscripts {subscripts!r} have no '->': s2s needs the output "
            "labels written out (explicit mode)"
        )
    inputs, output = text.split("->", 1)

    def labels(part: str) -> list[str]:
        rest = part.replace("...", "")
        if not all(c.isalpha() for c in rest) or part.count("...") > 1:
            raise ValueError(f"cannot read the subscripts {subscripts!r}")
        head, dots, tail = part.partition("...")
        return [*head, *([dots] if dots else []), *tail]

    parsed = [labels(part) for part in inputs.split(",")]
    if len(parsed) != count:
        raise ValueError(
            f"the subscripts {subscripts!r} name {len(parsed)} operands, "
            f"but {count} were given"
        )
    for part in parsed:
        letters = [c for c in part if c != "..."]
        if len(set(letters)) != len(letters):
            raise ValueError(
                f"the subscripts {subscripts!r} repeat a label inside one operand "
                "(a diagonal), which s2s has no rule for"
            )
    out = labels(output)
    if any(c not in {x for part in parsed for x in part} for c in out):
        raise ValueError(f"the output of {subscripts!r} names an unknown label")
    if any("..." in part for part in parsed) and "..." not in out:
        raise ValueError(f"the output of {subscripts!r} must keep the '...'")
    return parsed, out


def _check_einsum(static: dict[str, Any], count: int) -> tuple[str, str] | None:
    try:
        parse_einsum(static.get("subscripts"), count)
    except ValueError as e:
        return (
            f"np.einsum: {e}",
            "Write explicit subscripts, one group of distinct letters per operand, "
            "e.g. np.einsum('ij,jk->ik', a, b); use np.trace or np.diag for diagonals.",
        )
    return None


def _check_norm(static: dict[str, Any], count: int) -> tuple[str, str] | None:
    order, axis = static.get("ord"), static.get("axis")
    if order is None:
        return None
    if order == "fro" and (
        axis is None or (isinstance(axis, tuple) and len(axis) == 2)
    ):
        return None
    if order in (1, 2) and isinstance(axis, int):
        return None
    return (
        f"np.linalg.norm with ord={order!r} and axis={axis!r} is not handled by s2s's "
        "rule (without an integer axis, ord=1 and ord=2 of a matrix are operator norms)",
        "Use the default ord (the 2-norm of a vector, the Frobenius norm of a "
        "matrix), ord='fro', or ord=1 or 2 with an integer axis for vector norms.",
    )


#: The linear-algebra primitives, in the order docs/rules.md lists them.
LINALG = [
    Primitive("dot", ("a", "b"), numpy="dot", allocates=True),
    Primitive("outer", ("a", "b"), numpy="outer", allocates=True),
    Primitive(
        "einsum",
        ("operands",),
        (("subscripts", None),),
        numpy="einsum",
        variadic=True,
        leading=("subscripts",),
        check=_check_einsum,
        allocates=True,
        view=True,  # numpy returns a view where it can
    ),
    Primitive(
        "trace",
        ("a",),
        (("offset", 0), ("axis1", 0), ("axis2", 1)),
        numpy="trace",
        max_positional=4,
    ),
    Primitive("diag", ("v",), (("k", 0),), numpy="diag"),
    Primitive(
        "norm",
        ("x",),
        (("ord", None), ("axis", None), ("keepdims", False)),
        numpy="linalg.norm",
        check=_check_norm,
        reduction=True,
        dtype="float",
    ),
]
