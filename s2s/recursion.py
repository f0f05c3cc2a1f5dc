"""Room for deep call chains: s2s walks a function and the helpers it calls
recursively (keys, inlining, emission), so a chain of helpers Python runs must not
exhaust the interpreter's default recursion limit of 1,000 frames while s2s works
on it."""

from __future__ import annotations

import functools
import sys
from typing import Callable, TypeVar

#: The limit while s2s generates code: chains of a thousand helpers and more.  Python
#: calls between Python functions do not use the C stack (3.11+), so this is safe.
DEEP = 20_000

F = TypeVar("F", bound=Callable)


def allows_deep_recursion(function: F) -> F:
    """Run `function` with the recursion limit raised to DEEP (restored after)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        limit = sys.getrecursionlimit()
        if limit >= DEEP:
            return function(*args, **kwargs)
        sys.setrecursionlimit(DEEP)
        try:
            return function(*args, **kwargs)
        finally:
            sys.setrecursionlimit(limit)

    return wrapper  # type: ignore[return-value]
