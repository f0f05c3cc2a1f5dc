"""Backends: what generated code runs on.

The default, "numpy", is plain Python calling numpy.  "numba" compiles the generated
functions that loop over numbers with numba (see :mod:`s2s.emit.compiled`);
"array_api" writes them against the array namespace of their arguments, for torch,
CuPy, JAX and array_api_strict (see :mod:`s2s.emit.portable`).  Each is an optional
extra (`pip install 's2s[numba]'`, `'s2s[array-api]'`), chosen with
`s2s.grad(f, backend=...)` or `s2s generate --backend ...`.

Code numba cannot compile is found on the first call with each kind of arguments;
:func:`guarded` then runs the same function as plain Python, and says so once.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import linecache
import os
import re
import sys
import tempfile
import types
import warnings
from dataclasses import dataclass
from typing import Any, Callable

from .errors import S2SError


@dataclass(frozen=True)
class Backend:
    name: str
    summary: str
    library: str | None = None  # what the generated code imports besides numpy
    extra: str | None = None  # the pip extra that installs it


BACKENDS = {
    backend.name: backend
    for backend in (
        Backend("numpy", "plain Python calling numpy"),
        Backend(
            "numba",
            "the loops over numbers compiled by numba",
            library="numba",
            extra="numba",
        ),
        Backend(
            "array_api",
            "the namespace of the arguments (torch, CuPy, JAX, array_api_strict)",
            library="array_api_compat",
            extra="array-api",
        ),
    )
}


class BackendError(S2SError):
    """An unknown backend, or one whose library is not installed."""


class CompiledFallbackWarning(UserWarning):
    """Numba could not compile a generated function: it runs as plain Python."""


def check_backend(name: str) -> Backend:
    """The backend called `name`, installed."""
    backend = BACKENDS.get(name) if isinstance(name, str) else None
    if backend is None:
        raise BackendError(
            f"unknown backend {name!r}",
            hint="Use one of: "
            + ", ".join(f"{b.name!r} ({b.summary})" for b in BACKENDS.values())
            + ".",
        )
    if backend.library and importlib.util.find_spec(backend.library) is None:
        raise BackendError(
            f"the {name} backend needs {backend.library}, which is not installed",
            hint=f"Install it with `pip install 's2s[{backend.extra}]'`, or leave out "
            "backend= for the numpy backend.",
        )
    return backend


@functools.lru_cache(maxsize=256)
def load_compiled(text: str, name: str) -> dict[str, Any]:
    """Run the text of a numba module as a module of its own file (see
    :func:`module_file`) and of `sys.modules` (where numba's cache finds the
    globals of the machine code it loads), guarded by :func:`guarded`."""
    path = module_file(text, name)
    module_name = "s2s_numba_" + os.path.splitext(os.path.basename(path))[0]
    linecache.cache[path] = (len(text), None, text.splitlines(True), path)
    module = types.ModuleType(module_name)
    module.__file__ = path
    sys.modules[module_name] = module
    exec(compile(text, path, "exec"), module.__dict__)
    guarded(module.__dict__)
    return module.__dict__


def module_file(text: str, name: str) -> str:
    """A file holding a numba module's text, for numba's own cache of machine code
    (it needs a real file whose time stamp never changes): in the s2s cache's
    directory, by content, or in a directory of this process's."""
    from . import cache

    directory = cache.cache_directory() if cache.enabled() else None
    tag = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
    for place in (directory and os.path.join(directory, "numba"), _private_dir()):
        if not place:
            continue
        path = os.path.join(place, f"{name}_{tag}.py")
        if os.path.exists(path):
            return path
        try:
            os.makedirs(place, exist_ok=True)
            cache.write_atomic(path, text)
            return path
        except OSError:
            continue
    raise BackendError(
        f"s2s found no writable directory for the numba module of {name}",
        hint="Set S2S_CACHE_DIR to a writable directory.",
    )


@functools.lru_cache(maxsize=None)
def _private_dir() -> str:
    return tempfile.mkdtemp(prefix="s2s-numba-")


def guarded(namespace: dict[str, Any]) -> None:
    """Make each numba-compiled function of a module's namespace run as plain
    Python for the arguments numba cannot compile it for, with a warning naming
    the source line (once per function)."""
    for name, value in list(namespace.items()):
        if name.endswith("_compiled") and hasattr(value, "py_func"):
            namespace[name] = _fallback(namespace, name, value)


def _fallback(namespace: dict[str, Any], name: str, dispatcher: Any) -> Callable:
    def compiled(*args):
        try:
            return dispatcher(*args)
        except Exception as e:
            if _compiled_for(dispatcher, args):
                raise  # an error of the compiled code, as Python would raise it
            # numba failed to compile (typing errors, and its own bugs too)
            _warn(dispatcher, e)
            namespace[name] = python = _in_python(dispatcher.py_func, namespace)
            return python(*args)

    compiled.s2s_swappable = True
    return compiled


def names_stay(namespace: dict[str, Any]) -> bool:
    """Whether a loaded module's names stay as they were loaded, so that code may
    read a copy of them: not where :func:`guarded` may swap a compiled function
    for its Python version."""
    return not any(getattr(v, "s2s_swappable", False) for v in namespace.values())


def _compiled_for(dispatcher: Any, args: tuple) -> bool:
    """Whether numba holds machine code for arguments of these types."""
    try:
        types_ = tuple(map(dispatcher.typeof_pyval, args))
    except Exception:
        return False
    return types_ in dispatcher.overloads


def _in_python(function: Callable, namespace: dict[str, Any]) -> Callable:
    """`function` as plain Python, calling the Python code of the module's compiled
    helpers."""
    python = dict(namespace)

    def plain(f: Callable) -> Callable:
        copy = types.FunctionType(f.__code__, python, f.__name__, f.__defaults__)
        copy.__kwdefaults__ = f.__kwdefaults__
        return copy

    python.update(
        (name, plain(value.py_func))
        for name, value in namespace.items()
        if hasattr(value, "py_func")
    )
    return plain(function)


def _warn(dispatcher: Any, error: Exception) -> None:
    function = dispatcher.py_func.__name__.removesuffix("_compiled")
    line = _source_line(str(error), dispatcher.py_func)
    reasons = str(error).strip().splitlines()
    reason = next((r for r in reasons if r and not r.startswith("Failed in")), "")
    warnings.warn(
        f"numba cannot compile {function}{f' at {line}' if line else ''} "
        f"({reason.strip()}): it runs as plain Python (the numpy backend's code)",
        CompiledFallbackWarning,
        stacklevel=4,
    )


def _source_line(message: str, function: Callable) -> str | None:
    """The user's line (file:line) a numba error points to: the comment above the
    line of the compiled function it names."""
    code = function.__code__
    lines = linecache.getlines(code.co_filename)
    first = code.co_firstlineno
    for number in map(int, re.findall(r'File "[^"]*", line (\d+)', message)):
        if number < first or number > first + len(lines):
            continue
        for text in reversed(lines[first:number]):
            found = re.match(r"\s*# (\S+:\d+)\s", text)
            if found:
                return found.group(1)
    return None
