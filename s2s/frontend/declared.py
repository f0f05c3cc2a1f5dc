"""Layouts declared in a signature: what `s2s generate` (which never runs the
file) knows of a parameter that holds a structure (see :mod:`s2s.structures`).

A structure is declared by writing it with a shape string at each leaf, alone or
as the metadata of `typing.Annotated` (which type checkers accept)::

    def loss(params: {"W1": "h d", "b1": "h", "W2": "o h", "b2": "o"}, X, y): ...
    def loss(params: Annotated[dict, {"W1": "h d", "b1": "h"}], X, y): ...
    def mlp(layers: Annotated[list, [("d h", "h"), ("h o", "o")]], x): ...

A leaf is a shape string (`""` for a number), `float` or `int`, or `None`.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from ..errors import ShapeSpecError
from ..structures import LEAF, Layout
from .parsed import last_name, shape_of_annotation

if TYPE_CHECKING:
    from .parsed import ParsedFunction


def declared_layouts(parsed: ParsedFunction) -> dict[str, Layout]:
    """The layouts the signature declares, by parameter."""
    found = {}
    args = parsed.node.args
    for arg in args.posonlyargs + args.args + args.kwonlyargs:
        display = _declared(arg.annotation)
        if display is not None:
            found[arg.arg] = _layout(display, arg.arg, parsed)
    return found


def _declared(note: ast.expr | None) -> ast.expr | None:
    """The display of a structure an annotation writes, else None."""
    if isinstance(note, (ast.Dict, ast.List, ast.Tuple)):
        return note
    if (
        isinstance(note, ast.Subscript)
        and last_name(note.value) == "Annotated"
        and isinstance(note.slice, ast.Tuple)
    ):
        return next(
            (
                item
                for item in note.slice.elts[1:]
                if isinstance(item, (ast.Dict, ast.List, ast.Tuple))
            ),
            None,
        )
    return None


def _layout(node: ast.expr, path: str, parsed: ParsedFunction) -> Layout:
    if isinstance(node, ast.Dict):
        keys = []
        for key in node.keys:
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                raise _refused(
                    key or node, path, "a dict's keys must be strings", parsed
                )
            keys.append(key.value)
        items = tuple(
            _layout(v, f"{path}[{k!r}]", parsed) for k, v in zip(keys, node.values)
        )
        return Layout("dict", tuple(keys), items)
    if isinstance(node, (ast.List, ast.Tuple)):
        kind = "list" if isinstance(node, ast.List) else "tuple"
        items = tuple(
            _layout(v, f"{path}[{k}]", parsed) for k, v in enumerate(node.elts)
        )
        return Layout(kind, tuple(range(len(items))), items)
    if isinstance(node, ast.Constant) and node.value is None:
        return Layout("const", value=None)
    shape = shape_of_annotation(node)
    if shape is None:
        raise _refused(node, path, "a leaf must be a shape string", parsed)
    return Layout(LEAF, shape=parsed.pattern_of(shape, path))


def _refused(
    node: ast.expr, path: str, problem: str, parsed: ParsedFunction
) -> ShapeSpecError:
    return ShapeSpecError(
        f"cannot read the declared layout of {path}: {problem}",
        parsed.location(node),
        "Declare a structure with a shape string at each leaf, e.g. params: "
        '{"W": "n m", "b": "m"} or Annotated[list, [("d h", "h"), ("h o", "o")]].',
    )
