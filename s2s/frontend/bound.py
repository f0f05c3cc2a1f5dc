"""Callables that bind some arguments of a function: `functools.partial` (nested
ones too) and bound methods (`model.loss`, whose first argument is `model`).

s2s differentiates the function inside, with the bound arguments passed in front of
(or by keyword beside) the caller's at each call, read from the callable as it is
then (a partial's keywords are a dictionary the user may change).  `wrt` counts and
names the parameters the caller still passes.
"""

from __future__ import annotations

import functools
import inspect
import types
from typing import Any, Callable

from .parsed import is_data

#: A function of no arguments giving the bound arguments of the moment:
#: (positional ones, put first; keyword ones).
Bound = Callable[[], tuple[tuple, dict]]


def unbind(f: Any) -> tuple[Any, Bound | None]:
    """The function a partial or a bound method calls, and its bound arguments
    (None for anything else, which is returned as it is)."""
    if isinstance(f, functools.partial):
        inner, bound = unbind(f.func)

        def arguments() -> tuple[tuple, dict]:
            args, keywords = bound() if bound else ((), {})
            return (*args, *f.args), {**keywords, **f.keywords}

        return inner, arguments
    if isinstance(f, types.MethodType):
        inner, bound = unbind(f.__func__)
        owner = f.__self__

        def arguments() -> tuple[tuple, dict]:
            args, keywords = bound() if bound else ((), {})
            return (*args, owner), keywords

        return inner, arguments
    return f, None


def wrt_of_function(f: Any, function: Any, wrt: Any) -> Any:
    """`wrt`, given for the parameters `f` still takes, as the parameters of the
    function inside it (names stay names; an index becomes the name it stands
    for)."""
    if isinstance(wrt, (tuple, list)):
        return tuple(wrt_of_function(f, function, item) for item in wrt)
    if not isinstance(wrt, int) or isinstance(wrt, bool):
        return wrt
    try:
        remaining = [
            p.name
            for p in inspect.signature(f).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return wrt
    if -len(remaining) <= wrt < len(remaining):
        return remaining[wrt]
    return wrt


def bound_objects(f: Any) -> dict[str, Any]:
    """The parameters of the function inside `f` that a bound method binds to an
    object (`self`), by name, with the object: s2s reads their attributes."""
    if not isinstance(f, (functools.partial, types.MethodType)):
        return {}
    inner, arguments = unbind(f)
    args, _ = arguments()
    code = getattr(inner, "__code__", None)
    if code is None:
        return {}
    names = code.co_varnames[: code.co_argcount]
    return {
        name: value
        for name, value in zip(names, args)
        if not is_data(value) and not callable(value)
    }


def with_bound(call: Callable, bound: Bound) -> Callable:
    """`call`, with the bound arguments of the moment put in front of (or beside)
    the caller's."""

    def bound_call(*args: Any, **kwargs: Any) -> Any:
        leading, keywords = bound()
        return call(*leading, *args, **{**keywords, **kwargs})

    bound_call.__name__ = bound_call.__qualname__ = call.__name__
    return bound_call
