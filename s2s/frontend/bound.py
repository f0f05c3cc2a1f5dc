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
from typing import Any, Callable, Sequence

from .parsed import generated_function, is_data

#: A function of no arguments giving the bound arguments of the moment:
#: (positional ones, put first; keyword ones).
Bound = Callable[[], tuple[tuple, dict]]


def unbind(f: Any) -> tuple[Any, Bound | None]:
    """The function a partial or a bound method calls, and its bound arguments
    (None for anything else, which is returned as it is).  A gradient of one is
    itself bound so: its code takes the bound arguments too."""
    if getattr(f, "__s2s_bound__", None) is not None:
        return f, f.__s2s_bound__
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


def bound_values(f: Any, function: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """What `f` passes to the parameters of the function inside it that are not
    data, by name: objects whose attributes the function reads (a bound method's
    `self`), and functions it calls (`act=np.tanh`, a default or bound by a
    partial), for which the code is generated."""
    code = getattr(generated_function(function) or function, "__code__", None)
    if code is None:
        return {}, {}
    names = code.co_varnames[: code.co_argcount]
    defaults = getattr(function, "__defaults__", None) or ()
    given = dict(zip(names[len(names) - len(defaults) :], defaults))
    _, arguments = unbind(f)
    if arguments is not None:
        args, keywords = arguments()
        given.update(zip(names, args))
        given.update(keywords)
    objects, functions = {}, {}
    for name, value in given.items():
        if name in names and not is_data(value):
            (functions if callable(value) else objects)[name] = value
    return objects, functions


def with_bound(call: Callable, bound: Bound, params: Sequence[str]) -> Callable:
    """`call`, whose parameters are `params`, with the bound arguments of the
    moment put in front of the caller's, or in the place of the parameters they
    are bound to by keyword (so that the caller's positional arguments, tangents
    after the parameters included, fill the others in order)."""

    def bound_call(*args: Any, **kwargs: Any) -> Any:
        leading, keywords = bound()
        keywords = {**keywords, **kwargs}
        given, rest = list(leading), list(args)
        for name in params[len(given) :]:
            if name in keywords:
                given.append(keywords.pop(name))
            elif rest:
                given.append(rest.pop(0))
            else:
                break
        return call(*given, *rest, **keywords)

    bound_call.__name__ = bound_call.__qualname__ = call.__name__
    return bound_call
