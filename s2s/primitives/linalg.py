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
    out = labels(output)
    if len(set(out)) != len(out):
        raise ValueError(f"the output of {subscripts!r} repeats a label")
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
            "Write explicit subscripts, one group of letters per operand and the "
            "output's after '->', e.g. np.einsum('ij,jk->ik', a, b) or "
            "np.einsum('ii->i', a) for a diagonal.",
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
    if order == 2 and (axis is None or (isinstance(axis, tuple) and len(axis) == 2)):
        return None  # the spectral norm of a matrix (of a vector: its 2-norm)
    return (
        f"np.linalg.norm with ord={order!r} and axis={axis!r} is not handled by s2s's "
        "rule",
        "Use the default ord (the 2-norm of a vector, the Frobenius norm of a "
        "matrix), ord='fro', ord=2 (the spectral norm of a matrix), or ord=1 or 2 "
        "with an integer axis for vector norms.",
    )


def _check_tensordot(static: dict[str, Any], count: int) -> tuple[str, str] | None:
    axes = static.get("axes")

    def axis_list(x: Any) -> tuple | None:
        if isinstance(x, int) and not isinstance(x, bool):
            return (x,)
        if isinstance(x, tuple) and all(
            isinstance(k, int) and not isinstance(k, bool) for k in x
        ):
            return x
        return None

    if isinstance(axes, int) and not isinstance(axes, bool) and axes >= 0:
        return None
    if isinstance(axes, tuple) and len(axes) == 2:
        first, second = map(axis_list, axes)
        if first is not None and second is not None and len(first) == len(second):
            return None
    return (
        f"np.tensordot with axes={axes!r} is not handled by s2s's rule",
        "Pass axes as a count n (the last n axes of a with the first n of b) or as "
        "two lists of axes of the same length, e.g. axes=([1, 2], [0, 1]).",
    )


def _check_uplo(static: dict[str, Any], count: int) -> tuple[str, str] | None:
    if static.get("UPLO") in ("L", "U"):
        return None
    return (
        f"np.linalg.eigh: UPLO={static.get('UPLO')!r} must be 'L' or 'U'",
        "Say which triangle of the matrix numpy reads: UPLO='L' (the default) or 'U'.",
    )


_SQUARE = {"dtype": "float", "allocates": True}  # a float array of each matrix

#: The linear-algebra primitives, in the order docs/rules.md lists them.
LINALG = [
    Primitive("dot", ("a", "b"), numpy="dot", allocates=True),
    Primitive("outer", ("a", "b"), numpy="outer", allocates=True, array_api="_outer"),
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
    Primitive("kron", ("a", "b"), numpy="kron", allocates=True, hint="product"),
    Primitive(
        "tensordot",
        ("a", "b"),
        (("axes", 2),),
        numpy="tensordot",
        max_positional=3,
        check=_check_tensordot,
        allocates=True,
        hint="contracted",
    ),
    # np.linalg: solvers and decompositions, of a matrix or a stack of them.
    Primitive("solve", ("a", "b"), numpy="linalg.solve", hint="solution", **_SQUARE),
    Primitive(
        "inv", ("a",), numpy="linalg.inv", shaped_like=0, hint="inverse", **_SQUARE
    ),
    Primitive("det", ("a",), numpy="linalg.det", hint="determinant", **_SQUARE),
    # sign, logdet = np.linalg.slogdet(a)
    Primitive("slogdet_sign", ("a",), numpy="linalg.slogdet", item=0, **_SQUARE),
    Primitive(
        "logabsdet", ("a",), numpy="linalg.slogdet", item=1, hint="logdet", **_SQUARE
    ),
    Primitive(
        "cholesky",
        ("a",),
        numpy="linalg.cholesky",
        max_positional=1,
        shaped_like=0,
        hint="factor",
        **_SQUARE,
    ),
    # w, V = np.linalg.eigh(a): numpy reads the lower triangle (UPLO="L") or the upper
    *(
        Primitive(
            f"eigh_{part}",
            ("a",),
            (("UPLO", "L"),),
            numpy="linalg.eigh",
            item=k,
            max_positional=2,
            check=_check_uplo,
            shaped_like=0 if part == "vectors" else None,
            hint=f"eigen{part}",
            **_SQUARE,
        )
        for k, part in enumerate(("values", "vectors"))
    ),
]
