"""Where a gradient's code comes from, and compiling it in this process.

A gradient module is looked for by key (:mod:`s2s.fingerprint`): a committed
`generated/` module with the same content key, then the import-time cache
(:mod:`s2s.cache`), else it is generated now and stored there.  Code that only runs
needs one function of its module (`f_grad`, or `f_value_and_grad`): unless a
committed module holds it, only that function is generated, and cached under a key
of its own (so the code that runs is the same text whether or not the whole module
was ever shown: a gradient of it quotes its lines); the whole module is generated
when it is shown (`.source`), and is what `s2s generate` writes.  What is compiled is
astor's text, without black: black is slow to import and to run, and only `.source`
needs it.  Generated source is registered with `linecache`, so tracebacks through it
show real lines and `inspect.getsource` works on it.
"""

from __future__ import annotations

import functools
import linecache
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from . import cache
from .backends import load_compiled
from .fingerprint import Fingerprint, fingerprint, formatted_key
from .frontend import ParsedFunction
from .pipeline import MODES, Stages, generate, pseudo_filename
from .recursion import allows_deep_recursion


@dataclass
class LoadedModule:
    """A gradient module compiled in this process, and where its code came from."""

    namespace: dict[str, Any]
    code: str  # the text that was compiled
    provenance: str  # "generated", "cache" or "committed"
    path: str | None  # the committed module or the cache entry, if any
    key: Fingerprint | None  # None: not cacheable (or the cache is off)
    stages: Stages | None = None  # when generated in this process
    only: str | None = None  # the one function the module holds (None: all)
    options: Mapping[str, Any] | None = None  # what it was generated with, if `only`


@allows_deep_recursion
def load_gradient(
    parsed: ParsedFunction,
    positions: Sequence[int],
    many: bool,
    options: Mapping[str, Any] | None = None,
    only: str | None = None,
) -> LoadedModule:
    """The compiled gradient module of `parsed` with respect to the parameters at
    `positions`: a committed module with the same content key, else the cache's entry,
    else generated now (and stored in the cache).  With `only` (a function's name),
    a module holding that function will do."""
    options = dict(options or {})
    backend = options.get("backend", "numpy")
    names = tuple(parsed.params[i] for i in positions)
    store = cache.default_cache()
    key = fingerprint(parsed, names, many, options) if store is not None else None
    if key is not None:
        module = parsed.name + MODES[options.get("mode", "grad")]
        committed = cache.find_committed(parsed.filename, module, key.content)
        if committed is not None:
            path, text = committed
            namespace = _execute(text, path, parsed.name, backend)
            return LoadedModule(namespace, text, "committed", path, key)
        if only is not None:  # (the same text whether or not it was shown)
            key = key.of_function(only)
        text = store.lookup(key.cache)
        if text is not None:
            namespace = _execute(text, None, parsed.name, backend)
            path = store.path(key.cache)
            return LoadedModule(
                namespace, text, "cache", path, key, None, only, options
            )
    stages = generate(parsed, names if many else names[0], only=only, **options)
    text = stages.module.raw
    if key is not None:
        store.store(key.cache, text)
    namespace = _execute(text, None, parsed.name, backend)
    path = store.path(key.cache) if key is not None else None
    return LoadedModule(namespace, text, "generated", path, key, stages, only, options)


def formatted_source(loaded: LoadedModule) -> str:
    """The module formatted by black, as `s2s generate` writes it without the header
    (which names a file and a command that a function in a notebook has not), for
    every provenance; kept in the cache next to the code, so black runs once per
    module and machine."""
    if loaded.provenance == "committed":
        return cache.stamped_code(loaded.code)
    from importlib.metadata import version  # a tenth of the cost of importing black

    store = cache.default_cache()
    key = formatted_key(loaded.key.cache, version("black")) if loaded.key else None
    text = store.lookup(key) if store is not None and key is not None else None
    if text is None:
        if loaded.stages is not None:
            text = loaded.stages.module.text
        else:
            from .emit import format_source

            text = format_source(loaded.code)
        if store is not None and key is not None:
            store.store(key, text)
    return text


def _execute(
    text: str, filename: str | None, name: str, backend: str = "numpy"
) -> dict[str, Any]:
    """Run module text (once per text and filename in this process), registered
    with linecache for tracebacks and inspect (numba's: see :mod:`s2s.backends`)."""
    if backend == "numba":
        return load_compiled(text, name)
    if filename is None:
        filename = pseudo_filename(name, text)
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    return _run(text, filename, name)


@functools.lru_cache(maxsize=256)
def _run(text: str, filename: str, name: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {
        "__name__": f"s2s_generated_{name}",
        "__file__": filename,
    }
    exec(compile(text, filename, "exec"), namespace)
    return namespace
