"""Fingerprints: the keys under which a gradient's generated module is found again.

A generated module is a function of the source it reads and of the code that writes it.
Two keys follow from that:

- the **content key** hashes what a reader of the source can see: the text and
  position of the function and of every helper it differentiates through (the module
  quotes source lines in its comments, so the text matters, not only the AST), what
  each free name resolves to (numpy/math, a function, the *value* of a constant), the
  defaults, the resolved `wrt`, the generation options and the s2s version.  It does
  not depend on the machine: `s2s generate` writes it into a module's header, and
  `grad` uses a committed module whose key matches.
- the **cache key** adds the machine: a digest of the source files of s2s and astor
  (the code that writes the compiled text; a development checkout changes without a
  version bump), and the numpy and Python versions.  black is not in it: the compiled
  text is astor's, and black's version keys only the formatted text (`formatted_key`).

Everything is serialized by :func:`canonical` (sorted, typed, no ids or addresses), so
a key is the same in every process whatever its hash seed.  An input with no canonical
form (an arbitrary object as a default) makes the function uncacheable: `fingerprint`
returns None and the gradient is generated afresh each time.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import os
import sys
import time
import types
from dataclasses import dataclass
from typing import Any, Mapping

import numpy

from . import cache
from .errors import S2SError, short_name
from .frontend import (
    UNKNOWN,
    Binding,
    Free,
    ParsedFunction,
    classify,
    foldable,
    free_names,
    parse_function,
)
from .frontend.parsed import is_data, module_attribute
from .pipeline import gradient_code
from .recursion import allows_deep_recursion
from .version import VERSION

#: Bumped when the key material changes shape, so old keys cannot collide with new.
KEY_FORMAT = 2


@dataclass(frozen=True)
class Fingerprint:
    """The keys of one gradient module, and the text the content key hashes."""

    content: str  # sha256 hex: the source-level inputs (written in generated headers)
    cache: str  # sha256 hex: content + the machine (the import-time cache's key)
    material: str  # what `content` hashes, for `s2s show --dump key`

    def of_function(self, name: str) -> Fingerprint:
        """The keys of a module holding only the function `name` of this one."""
        part = f"\nonly the function {name}"
        return Fingerprint(
            _sha256(self.content + part),
            _sha256(self.cache + part),
            self.material + part,
        )


@allows_deep_recursion
def fingerprint(
    parsed: ParsedFunction,
    wrt: tuple[str, ...],
    many: bool,
    options: Mapping[str, Any],
) -> Fingerprint | None:
    """The keys of the gradient of `parsed` with respect to the parameters `wrt` (a
    tuple of gradients when `many`), generated with `options`; None if uncacheable."""
    try:
        material = canonical(
            {
                "format": KEY_FORMAT,
                "s2s": VERSION,
                "function": _Material().function(parsed),
                "wrt": wrt,
                "many": many,
                "options": dict(options),
                "rules": _registered_rules(),
            }
        )
    except (TypeError, ValueError, S2SError):
        return None
    content = _sha256(material)
    return Fingerprint(content, _sha256(f"{content}\n{environment()}"), material)


def formatted_key(cache_key: str, black_version: str) -> str:
    """The key of the black-formatted text of the module stored under `cache_key`."""
    return _sha256(f"{cache_key}\nformatted by black {black_version}")


_BY_REPR = (bool, int, float, complex, str, bytes)


def canonical(value: Any) -> str:
    """A deterministic text for a generation input: equal text for equal inputs, a
    type tag wherever types could collide (1, 1.0, True); TypeError otherwise."""
    if isinstance(value, numpy.ndarray):
        data = hashlib.sha256(numpy.ascontiguousarray(value).tobytes()).hexdigest()
        return f"ndarray({value.dtype.str},{value.shape},{data})"
    if isinstance(value, numpy.generic):
        return f"numpy.{value.dtype.name}({canonical(value.item())})"
    if value is None or value is Ellipsis or isinstance(value, _BY_REPR):
        return repr(value)  # floats: the shortest text that reads back exactly
    if isinstance(value, tuple):
        comma = "," if len(value) == 1 else ""
        return "(" + ",".join(canonical(v) for v in value) + comma + ")"
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, Mapping):
        items = sorted(f"{canonical(k)}:{canonical(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, (set, frozenset)):
        return "set(" + ",".join(sorted(canonical(v) for v in value)) + ")"
    if hasattr(value, "__s2s_canonical__"):  # a structure's layout
        return f"{type(value).__name__}{canonical(value.__s2s_canonical__())}"
    raise TypeError(f"no canonical form for {type(value).__name__}")


def callee(target: Any, caller: ParsedFunction) -> ParsedFunction:
    """The parsed form of a helper `caller` calls: a definition in the same file (read
    statically) or a live function.  Raises ValueError or S2SError when it has none."""
    from .frontend.static import StaticGradient, constant_defaults

    if isinstance(target, StaticGradient):
        return gradient_code(target)
    if isinstance(target, ast.FunctionDef):
        parsed = ParsedFunction(target, caller.filename, caller.lines, caller.resolve)
        parsed.defaults = constant_defaults(parsed)
        return parsed
    if isinstance(target, types.FunctionType):
        return parse_function(target)
    raise ValueError(f"not a function: {target!r}")


class _Material:
    """Builds the key material of a function and, recursively, of its helpers; each
    function is parsed and described once (later mentions refer back to it)."""

    def __init__(self) -> None:
        self.described: dict[int, tuple] = {}  # id(function or node) -> reference
        self.keep: list[Any] = []  # what the ids refer to, alive while we work

    def function(self, parsed: ParsedFunction) -> dict[str, Any]:
        node = parsed.node
        filename = short_name(parsed.filename)  # as the comments quote it
        for target in (node, parsed.origin):
            if target is not None:
                self.described[id(target)] = (
                    "function",
                    filename,
                    node.lineno,
                    node.col_offset,
                )
                self.keep.append(target)
        names = {}
        for name in free_names(node):
            binding = parsed.resolve(name)
            if binding is not None:
                names[name] = self.binding(binding, parsed)
        if any(value[0] == "module" for value in names.values()):
            names.update(self.module_attributes(parsed))
        if parsed.objects:
            # The methods an object's class defines are inlined from its source,
            # which the key does not follow: code for a bound method is not stored.
            raise TypeError("a bound method's class is not part of the key")
        for name, value in parsed.functions.items():
            names[f"{name}="] = self.binding(classify(value), parsed)
        return {
            "file": filename,
            "line": node.lineno,
            # Two lambdas may share a line (and so its text).
            "columns": (node.col_offset, node.end_col_offset),
            "col_shift": parsed.col_shift,
            "text": "".join(parsed.lines[node.lineno - 1 : node.end_lineno]),
            "defaults": tuple(
                "function" if callable(d) and not is_data(d) else d
                for d in parsed.defaults
            ),
            "names": names,
        }

    def module_attributes(self, parsed: ParsedFunction) -> dict[str, Any]:
        """`mylib.helper` and `mylib.X` for the user's own modules: the helper's
        material and the data's, as for a name bound to them."""
        found = {}
        for node in ast.walk(parsed.node):
            if not (
                isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            ):
                continue
            binding = parsed.resolve(node.value.id)
            if binding is None or binding.kind != "module":
                continue
            attribute = module_attribute(binding.value, node.attr)
            if attribute is None:
                continue
            found[f"{node.value.id}.{node.attr}"] = self.binding(attribute, parsed)
        return found

    def binding(self, binding: Binding, parsed: ParsedFunction) -> Any:
        if binding.kind == "function":
            # Where it is found decides how the code reads what it closes over.
            where = binding.source.where if binding.source else "global"
            if id(binding.value) in self.described:  # itself, or a helper met before
                return (where, self.described[id(binding.value)])
            return ("function", where, self.function(callee(binding.value, parsed)))
        if binding.kind == "unsupported":
            # s2s refuses to use it, so its value cannot reach the generated code.
            return ("unsupported",)
        if binding.kind == "data":
            return ("data", *_data(binding.value))
        return (binding.kind, binding.value)


def _data(free: Free) -> tuple:
    """What a free name's data puts in the key: where it is read from, and its value
    if the code may fold it in (a number, a string, a tuple of them; the code checks
    it on entry); an array's shape (code specialized for it checks it on entry) but
    never its value (it is read when the gradient runs), nor
    anything only running the file would tell (so that `s2s generate` and `grad`
    agree on the key)."""
    value = free.value
    owner = free.owner if free.where == "cell" else free.module
    if value is not UNKNOWN and foldable(value):
        return (free.where, owner, free.name, canonical(value))
    if type(value) is numpy.ndarray:  # code may be specialized for its shape
        return (free.where, owner, free.name, "read", value.shape)
    return (free.where, owner, free.name, "read")


def _registered_rules() -> dict[str, Any]:
    """The custom rules in force (s2s.register): a rule changed or registered between
    two runs must not find the module generated with the old one."""
    if f"{__package__}.custom" not in sys.modules:
        return {}  # s2s.register was never imported, so nothing is registered
    from .custom import CUSTOM

    return {
        name: (r.kind, r.nondifferentiable, tuple(_rule(rule) for rule in r.rules))
        for name, r in CUSTOM.items()
    }


def _rule(rule: Any) -> Any:
    """A rule's code, the values it closes over, and the numbers it reads from its
    module; TypeError (uncacheable) for a rule that is not a plain function."""
    if rule is None:
        return None
    code = getattr(rule, "__code__", None)
    if code is None:
        raise TypeError(f"no canonical form for the rule {rule!r}")
    cells = tuple(canonical(c.cell_contents) for c in rule.__closure__ or ())
    module = getattr(rule, "__globals__", {})
    numbers = {
        n: module[n] for n in _names(code) if isinstance(module.get(n), _BY_REPR)
    }
    return (_code_digest(code), cells, canonical(rule.__defaults__), numbers)


def _names(code: types.CodeType) -> set[str]:
    found = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found |= _names(const)
    return found


def _code_digest(code: types.CodeType) -> str:
    """sha256 of what a code object does: its bytecode, names and constants (nested
    code objects by their own digest; no addresses, file names or line numbers)."""
    consts = [
        _code_digest(c) if isinstance(c, types.CodeType) else canonical(c)
        for c in code.co_consts
    ]
    text = repr((code.co_code, code.co_names, code.co_varnames, consts))
    return _sha256(text)


@functools.lru_cache(maxsize=None)
def environment() -> str:
    """What, besides the source, the compiled text depends on (once per process)."""
    parts = [f"python {sys.version}", f"numpy {numpy.__version__}"]
    for package in ("s2s", "astor"):
        parts.append(f"{package} {_package_digest(package)}")
    return "\n".join(parts)


def _package_digest(package: str) -> str:
    """sha256 of a package's .py files, subpackages included (relative paths and
    bytes), without importing it.  Reading them all costs milliseconds on every
    start, so the digest is kept in the cache under the files' status (size, times,
    inode), once no file has changed for :data:`SETTLED_NS`: a file written again
    since has a later change time, so a stale digest is never found."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return "missing"
    files = _python_files(list(spec.submodule_search_locations)[0])
    status = [(relative, os.stat(path)) for relative, path in files]
    key = _sha256(
        repr(
            [f"source digest of {package}"]
            + [
                (r, s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_ino)
                for r, s in status
            ]
        )
    )
    store = cache.default_cache()
    note = f"source-digest-{package}"
    known = store.recall(note, key) if store is not None else None
    if known is not None:
        return known
    digest = hashlib.sha256()
    for relative, path in files:
        with open(path, "rb") as f:
            digest.update(relative.encode() + b"\0" + f.read() + b"\0")
    latest = max((max(s.st_mtime_ns, s.st_ctime_ns) for _, s in status), default=0)
    if store is not None and time.time_ns() - latest > SETTLED_NS:
        store.remember(note, key, digest.hexdigest())
    return digest.hexdigest()


#: How long a package's files must be unchanged before their digest is kept: more
#: than the coarsest file-time resolution, so that a file written again after the
#: digest was kept has another change time.
SETTLED_NS = 3 * 10**9


def _python_files(directory: str, prefix: str = "") -> list[tuple[str, str]]:
    """(path relative to `directory` with "/" separators, path) of each .py file
    below it, sorted; scandir rather than os.walk and relpath, which cost as much as
    the reading."""
    found = []
    with os.scandir(directory) as scan:
        entries = list(scan)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
            found += _python_files(entry.path, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".py"):
            found.append((prefix + entry.name, entry.path))
    return sorted(found)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
