"""Checks the generated code makes on entry and at run time (a scalar result, an
array no other name holds, values and shapes the code was written for), and the
reading of free names (a module, a closure variable, a global, an f-string)."""

import numpy as np


def _check_scalar(y):
    """Refuse a non-scalar result: its gradient would silently be that of its sum."""
    if type(y) is not float and np.ndim(y) != 0:
        error = ValueError(
            "the gradient needs a scalar result, but the function returned an array "
            "of shape %s: reduce it to a scalar (for example with .sum() or .mean()), "
            "or take the gradient of each element separately" % (np.shape(y),)
        )
        error.s2s_shape = np.shape(y)
        raise error


def _check_unshared(value, update, where, holder):
    """Refuse to update an array in place where another name (or the caller) sees
    it: the gradient treats arrays as values.  A number is never shared."""
    if not isinstance(value, (int, float, complex, np.generic)):
        error = ValueError(
            "%s: `%s ...` would update in place an array that %s: write the update "
            "as a new value (`x = x + ...`), since s2s treats arrays as values and "
            "never updates one in place where another name sees it"
            % (where, update, holder)
        )
        error.s2s_in_place = where
        raise error


def _module(name):
    """The module a gradient reads its data from, as it is when the gradient runs
    (imported on first use: a generated module imports its source lazily)."""
    import importlib
    import sys

    module = sys.modules.get(name)
    return importlib.import_module(name) if module is None else module


def _closure_variable(function, name):
    """The value of a closure variable of a function, as it is now."""
    return function.__closure__[function.__code__.co_freevars.index(name)].cell_contents


def _global_variable(function, name):
    """The value of a global of a function, as it is now."""
    return function.__globals__[name]


def _format(template, *values):
    """An f-string of the user's code: its template filled with its values."""
    return template.format(*values)


def _check_unchanged(value, expected, name):
    """Refuse to run code written for another value of a free name (an axis, say),
    which the code needed when it was generated."""
    if not _same_literal(value, expected):
        error = ValueError(
            "%s was %r when this gradient was generated, and is %s now: generate it "
            "again (s2s.grad does on its own)"
            % (name, expected, "an array" if np.ndim(value) else repr(value))
        )
        error.s2s_stale = name
        raise error


def _check_shape(value, expected, name):
    """Refuse to run code specialized for another shape of an array it reads."""
    if np.shape(value) != expected:
        error = ValueError(
            "%s had shape %s when this gradient was generated, and has shape %s now: "
            "generate it again (s2s.grad does on its own)"
            % (name, expected, np.shape(value))
        )
        error.s2s_stale = name
        raise error


def _same_literal(value, expected):
    """Whether `value` is still the literal `expected` (a list the tuple it was
    written as, a numpy scalar the number)."""
    if isinstance(value, (tuple, list)):
        return (
            type(expected) is tuple
            and len(value) == len(expected)
            and all(map(_same_literal, value, expected))
        )
    if isinstance(value, np.generic):
        value = value.item()
    return type(value) is type(expected) and value == expected


def _check_shapes(*arguments, function, names, expected, _accepted={}):
    """Refuse arguments of other shapes than the code was written for: the ranks and
    the 1s of `expected`, a size other than 1 for each name, the same size wherever a
    name repeats.  The shapes last accepted for each pattern pass at once."""
    shapes = tuple(
        [
            (
                x.shape
                if type(x) is np.ndarray
                else () if type(x) is float else np.shape(x)
            )
            for x in arguments
        ]
    )
    if _accepted.get(expected) == shapes:
        return
    sizes = {}
    for name, shape, dims in zip(names, shapes, expected):
        if len(shape) != len(dims):
            _shape_mismatch(function, name, shape, dims, sizes)
        for n, d in zip(shape, dims):
            if n == 1 if d == 1 else n != 1 and sizes.setdefault(d, n) == n:
                continue
            _shape_mismatch(function, name, shape, dims, sizes)
    _accepted[expected] = shapes


def _shape_mismatch(function, name, shape, dims, sizes):
    """Raise the error of `_check_shapes` (a ValueError the caller can tell apart)."""
    wanted = "(" + ", ".join(map(str, dims)) + ("," if len(dims) == 1 else "") + ")"
    known = ", ".join("%s = %d" % item for item in sizes.items())
    error = ValueError(
        "%s was generated for %s of shape %s%s, but %s has shape %s: pass arguments "
        "of the annotated shapes (a name is a size other than 1), or drop the "
        "annotations for code that takes any shapes"
        % (function, name, wanted, " with " + known if known else "", name, shape)
    )
    error.s2s_shapes = (name, shape, dims)
    raise error
