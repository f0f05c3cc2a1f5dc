"""Call arguments written on the command line, for `s2s check` and `s2s graph`.

`--at a=5,w=[[1,2],[3,4]],b=x.npy` gives values: numbers, nested lists (arrays), or the
path of a `.npy` file; values without a name are positional (`--at 5,3,2`).
`--shape W=3x4,b=()` gives the shapes of random inputs; a parameter used as a count,
an index or a size gets a small random integer instead.  Anything that cannot be such
a value (a ragged list, a complex number, a negative size, an array too large to
allocate) is an :class:`S2SError` saying which item and why.
"""

from __future__ import annotations

import ast
import math
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .errors import S2SError

if TYPE_CHECKING:
    from .ir import Graph

AT_HINT = (
    "Write --at a=5,b=3,c=2 (numbers; nested lists such as 'w=[[1,2],[3,4]]' are "
    "arrays; a value ending in .npy is loaded from that file)."
)
SHAPE_HINT = "Shapes are sizes joined by x: --shape W=3x4,b=4 (W=() for a 0-d array)."


def split_top_level(text: str) -> list[str]:
    """Split at commas outside brackets: `w=[1,2],b=3` has two items."""
    items, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [item for item in items if item.strip()]


def parse_at(texts: Sequence[str]) -> tuple[list[Any], dict[str, Any]]:
    """`a=5,b=3,w=[1,2]` (or positional `5,3`) into call arguments.  Several texts
    are read in order, as if joined by commas."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for text in texts:
        for item in split_top_level(text):
            name, sep, raw = item.partition("=")
            if not sep:
                name, raw = "", item
            name, raw = name.strip(), raw.strip()
            if sep and not name.isidentifier():
                raise at_error(item, f"{name!r} is not a parameter name")
            value = read_value(item, raw)
            if not name:
                if kwargs:
                    raise at_error(item, "a value without a name follows a named one")
                args.append(value)
            elif name in kwargs:
                raise at_error(item, f"{name} is given twice")
            else:
                kwargs[name] = value
    return args, kwargs


def read_value(item: str, raw: str) -> Any:
    """One --at value: a real number, an array of them, or a .npy file."""
    if raw.endswith(".npy"):
        try:
            value = np.load(raw)
        except (OSError, ValueError) as e:
            raise at_error(item, f"cannot load {raw}: {e}") from None
        return _real_array(item, value)
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise at_error(item, f"{raw!r} is not a number or a list of numbers") from None
    if isinstance(value, complex):
        raise at_error(item, _COMPLEX)
    if isinstance(value, (list, tuple)):
        try:
            array = np.asarray(value)
        except ValueError:  # numpy refuses ragged nesting
            raise at_error(
                item, "the nested lists have different lengths (a ragged array)"
            ) from None
        return _real_array(item, array)
    if not isinstance(value, (int, float, bool)):
        raise at_error(item, f"{raw!r} is not a number or a list of numbers")
    try:
        float(value)  # a real parameter is converted to a float
    except OverflowError:
        raise at_error(item, "the number is too large for a float64") from None
    return value


_COMPLEX = "complex numbers are not supported: s2s differentiates real functions"


def _real_array(item: str, value: np.ndarray) -> np.ndarray:
    if value.dtype.kind == "c":
        raise at_error(item, _COMPLEX)
    if value.dtype.kind not in "iufb":
        raise at_error(item, "arrays must hold numbers")
    return value


def at_error(item: str, problem: str) -> S2SError:
    return S2SError(f"cannot read --at {item.strip()!r}: {problem}", hint=AT_HINT)


def bind(
    function: str, params: Sequence[str], args: list[Any], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """The values given for each parameter, by position then by name, as a call
    would bind them (`s2s graph` and `s2s check`, and `s2s.graph`)."""
    signature = f"{function}({', '.join(params)})"
    if len(args) > len(params):
        raise S2SError(
            f"{signature} takes {len(params)} arguments, {len(args)} given",
            hint="Give one value per parameter.",
        )
    given = dict(zip(params, args))
    for name, value in kwargs.items():
        if name not in params:
            raise S2SError(
                f"{function} has no parameter named {name!r}",
                hint=f"Its parameters are: {', '.join(params)}.",
            )
        if name in given:
            raise S2SError(f"{name} is given twice", hint=signature)
        given[name] = value
    return given


def parse_shapes(
    texts: Sequence[str], function: str, params: Sequence[str]
) -> dict[str, tuple[int, ...]]:
    """`W=3x4,b=4,c=()` into each parameter's shape."""
    shapes = {}
    for text in texts:
        for part in split_top_level(text):
            name, sep, raw = part.partition("=")
            name = name.strip()
            if not sep or name not in params:
                raise S2SError(
                    f"--shape {part!r}: expected NAME=DIMS, with NAME a parameter "
                    f"of {function}: {', '.join(params)}",
                    hint="For example: --shape NAME=3x4",
                )
            shapes[name] = read_shape(part, raw.strip())
    return shapes


def read_shape(part: str, text: str) -> tuple[int, ...]:
    """`3x4` -> (3, 4); `()` or nothing -> ()."""
    if text in ("()", ""):
        return ()
    dims = [d.strip() for d in text.strip("()").replace(",", "x").split("x")]
    if not all(d.isdigit() for d in dims if d):
        raise S2SError(
            f"--shape {part!r}: cannot read {text!r}: sizes are whole numbers >= 0",
            hint=SHAPE_HINT,
        )
    return tuple(int(d) for d in dims if d)


def random_array(name: str, shape: tuple[int, ...], rng: np.random.Generator) -> Any:
    """Standard normal numbers of `shape` for parameter `name`."""
    try:
        return np.asarray(rng.standard_normal(shape))
    except (MemoryError, ValueError) as e:
        size = math.prod(shape)
        raise S2SError(
            f"--shape {name}={'x'.join(map(str, shape))}: cannot make an array of "
            f"{size:,} numbers ({size * 8 / 2**30:,.1f} GiB): {e}",
            hint="Choose smaller sizes with --shape.",
        ) from None


#: The random counts `s2s check` draws: small, and never 0 (an empty loop checks
#: nothing).
COUNTS = range(1, 4)


def counting_parameters(graph: Graph) -> set[str]:
    """The parameters whose value reaches a count, an index or a size (a range's
    bound, an index, a shape), directly, by arithmetic or through `int()`."""
    from .ad.activity import active_values
    from .ir import Op, walk
    from .primitives import PRIMITIVES

    def reached_from(param: Any) -> set:
        reached = {param}
        while True:
            reached = active_values(graph.ops, list(reached))
            made = {
                s.out
                for s in walk(graph.ops)
                if isinstance(s, Op)
                and PRIMITIVES[s.prim].rounds
                and any(a in reached for a in s.args)
            }
            if made <= reached:
                return reached
            reached |= made

    def counts(param: Any) -> bool:
        reached = reached_from(param)
        return any(
            isinstance(s, Op)
            and PRIMITIVES[s.prim].counts is not None
            and any(x in reached for x in s.args[PRIMITIVES[s.prim].counts :])
            for s in walk(graph.ops)
        )

    return {p.hint for p in graph.params if counts(p)}


def random_count(rng: np.random.Generator) -> int:
    return int(rng.integers(COUNTS.start, COUNTS.stop))
