"""What the command line differentiates: `PATH.py:FUNC` targets, or every function of a file
decorated with `@s2s.grad`, each with its `wrt` and mode."""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from typing import Any, Sequence

from ..errors import S2SError
from ..frontend import (
    TRANSFORMS,
    read_module,
    s2s_names,
    shown_path,
)
from ..pipeline import Wrt

#: The decorators `s2s generate FILE.py` looks for, as s2s spells them.
DECORATORS = tuple(TRANSFORMS)


@dataclass(frozen=True)
class Target:
    """One function to differentiate."""

    path: str
    name: str
    wrt: Wrt = 0
    mode: str = "grad"  # what to generate: see MODES

    @property
    def options(self) -> dict[str, Any]:
        """The generation options, as `grad` and the transforms of s2s.higher pass
        them (so that the content keys agree)."""
        return {} if self.mode == "grad" else {"mode": self.mode}


def parse_wrt(text: str | None) -> Wrt:
    """`a` -> "a", `a,b` -> ("a", "b"), `a,` -> ("a",), `0` -> 0; None -> 0."""
    if text is None:
        return 0
    if not text.strip(" ,"):
        raise S2SError(
            f"--wrt {text!r} names no parameter",
            hint="For example: --wrt W1,W2 (or leave --wrt out for the default).",
        )
    items = [item.strip() for item in text.split(",")]
    many = len(items) > 1
    if many and items[-1] == "":
        items.pop()
    values: list[int | str] = []
    for item in items:
        if re.fullmatch(r"-?\d+", item):
            values.append(int(item))
        elif item.isidentifier():
            values.append(item)
        else:
            raise S2SError(
                f"--wrt {text!r}: {item!r} is neither a parameter name nor an index",
                hint="For example: --wrt W1,W2 (or --wrt 0,1).",
            )
    repeated = sorted({str(v) for v in values if values.count(v) > 1})
    if repeated:
        raise S2SError(
            f"--wrt {text!r} names {', '.join(repeated)} more than once",
            hint="Name each parameter once.",
        )
    return tuple(values) if many else values[0]


def wrt_option(wrt: Wrt) -> str | None:
    """The --wrt text that asks for `wrt` (None for the default: the first parameter)."""
    if isinstance(wrt, (tuple, list)):
        return ",".join(map(str, wrt)) + ("," if len(wrt) == 1 else "")
    return None if wrt == 0 else str(wrt)


def targets(
    specs: Sequence[str],
    wrt_text: str | None,
    mode: str = "grad",
    skip_undecorated: bool = False,
) -> list[Target]:
    """The functions named on the command line, in order.  A file with no decorated
    function is an error, or with `skip_undecorated` (pre-commit passes every changed
    file) nothing."""
    found: list[Target] = []
    for spec in specs:
        path, sep, name = split_target(spec)
        if sep:
            wrt = parse_wrt(wrt_text)
            if wrt_text is None:  # a decorated function: its decorator's wrt
                wrt = getattr(decorated_in(path, name).get(name), "wrt", wrt)
            found.append(Target(path, name, wrt, mode))
        elif mode != "grad":
            raise S2SError(
                f"--mode {mode} applies to PATH.py:FUNCTION targets, and {spec!r} is "
                "a file",
                hint=f"Name the function: {spec}:FUNCTION --mode {mode}.",
            )
        elif wrt_text is not None:
            raise S2SError(
                f"--wrt applies to PATH.py:FUNCTION targets, and {spec!r} is a file",
                hint="Decorated functions use their decorator's wrt; name the function "
                f"to choose another, e.g. {spec}:FUNCTION --wrt {wrt_text}.",
            )
        elif skip_undecorated:
            found.extend(decorated_in(spec).values())
        else:
            found.extend(decorated(spec))
    return found


def split_target(spec: str) -> tuple[str, str, str]:
    """`PATH.py:FUNC` -> (PATH.py, ":", FUNC); `PATH.py` -> (PATH.py, "", ""); an
    empty or malformed function name is an error."""
    path, sep, name = spec.rpartition(":")
    if not sep or not path or (os.path.exists(spec) and not os.path.exists(path)):
        return spec, "", ""  # a file (on Windows, C:\model.py is one too)
    if not name:
        raise S2SError(
            f"{spec!r}: no function name after ':'",
            hint=f"Name the function, {spec}FUNCTION, or leave out the ':' for every "
            "decorated function of the file.",
        )
    if ":" in path and not os.path.exists(path):
        raise S2SError(
            f"{spec!r}: expected PATH.py:FUNCTION, with one function name",
            hint="A method or a nested function cannot be named: name a function "
            "defined at the top level of the file.",
        )
    if not name.isidentifier():
        raise S2SError(
            f"{spec!r}: {name!r} is not a function name",
            hint="Write PATH.py:FUNCTION, e.g. model.py:loss.",
        )
    return path, sep, name


def decorated(path: str) -> list[Target]:
    """The functions in `path` decorated with s2s.grad or s2s.value_and_grad (under
    any import alias), each with its decorator's wrt; read without running the file."""
    found = decorated_in(path)
    if not found:
        raise S2SError(
            f"{shown_path(path)}: no function is decorated with @s2s.grad or "
            "@s2s.value_and_grad",
            hint=f"Name the function to differentiate: {path}:FUNCTION (or pass "
            "--skip-undecorated to pass over such files).",
        )
    return list(found.values())


def decorated_in(path: str, only: str | None = None) -> dict[str, Target]:
    """The decorated functions of `path` by name (see `decorated`), or the one named
    `only`; none is fine."""
    _, module = read_module(path)
    modules, functions = s2s_names(module)
    found: dict[str, Target] = {}
    for node in module.body:
        if not isinstance(node, ast.FunctionDef) or only not in (None, node.name):
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            func = call.func if call else decorator
            ours = (isinstance(func, ast.Name) and func.id in functions) or (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id in modules
                and func.attr in DECORATORS
            )
            if not ours:
                continue
            target = Target(path, node.name, _decorator_wrt(path, call))
            if found.get(node.name, target) != target:
                raise S2SError(
                    f"{path}:{decorator.lineno}: {node.name} has two s2s decorators with "
                    f"different wrt, and one module per function is generated",
                    hint="Keep one decorator, or name the function with --wrt.",
                )
            found[node.name] = target
    return found


def _decorator_wrt(path: str, call: ast.Call | None) -> Wrt:
    if call is None:
        return 0
    keywords = {k.arg: k.value for k in call.keywords}
    if call.args or set(keywords) - {"wrt"}:
        raise S2SError(
            f"{path}:{call.lineno}: the decorator takes only wrt=...",
            hint='For example: @s2s.grad(wrt=("w", "b")).',
        )
    if "wrt" not in keywords:
        return 0
    try:
        return ast.literal_eval(keywords["wrt"])
    except ValueError:
        raise S2SError(
            f"{path}:{call.lineno}: wrt must be written as a constant here "
            f"(a name, an index, or a tuple of them)",
            hint="s2s reads the file without running it; or choose the parameters "
            "with --wrt.",
        ) from None
