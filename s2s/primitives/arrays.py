"""The array functions: scans (cumsum), and the functions that rearrange, select,
repeat or pad an array's elements."""

from __future__ import annotations

from .record import Primitive

#: The array functions, in the order docs/rules.md lists them.
ARRAYS = [
    Primitive("cumsum", ("a",), (("axis", None),), numpy="cumsum", max_positional=2),
]
