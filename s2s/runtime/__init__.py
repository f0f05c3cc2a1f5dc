"""Small helpers that generated modules call, copied into each module that uses them.

Each helper is an ordinary, tested function here; :mod:`s2s.emit` copies the source of
the ones a module needs (and of the helpers they call) into that module, so a
generated module needs nothing but numpy.  They use only numpy functions that other
array libraries implement too: no in-place updates, no `np.add.at`, no `out=`.
"""

import ast
import functools
import inspect
from typing import Iterable, Mapping

from . import adjoints, arrays, checkpoints, checks, linalg, ranges, special

#: The modules the helpers are written in.
MODULES = (checks, adjoints, arrays, linalg, special, ranges, checkpoints)

# Every helper is reached here (`runtime._unindex`), whichever module holds it.
globals().update(
    {
        name: getattr(module, name)
        for module in MODULES
        for name in vars(module)
        if name.startswith("_")
        and not name.startswith("__")
        and callable(getattr(module, name))
    }
)


@functools.lru_cache(maxsize=None)
def portable_definitions() -> dict[str, ast.FunctionDef]:
    """The syntax trees of the array_api backend's helpers (:mod:`.portable`)."""
    from . import portable

    tree = ast.parse(inspect.getsource(portable))
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


@functools.lru_cache(maxsize=None)
def definitions() -> dict[str, ast.FunctionDef]:
    """Each helper's syntax tree, by name: what generated modules copy."""
    found = {}
    for module in MODULES:
        tree = ast.parse(inspect.getsource(module))
        found.update({n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)})
    return found


def with_dependencies(
    names: Iterable[str], helpers: Mapping[str, ast.FunctionDef] | None = None
) -> list[ast.FunctionDef]:
    """The helpers among `names`, and those they call, in the order `helpers` (by
    default the numpy helpers, :func:`definitions`) holds them."""
    helpers = definitions() if helpers is None else helpers
    needed: set[str] = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        if name in needed or name not in helpers:
            continue
        needed.add(name)
        stack.extend(
            n.id
            for n in ast.walk(helpers[name])
            if isinstance(n, ast.Name) and n.id in helpers
        )
    return [node for name, node in helpers.items() if name in needed]
