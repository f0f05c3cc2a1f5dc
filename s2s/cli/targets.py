"""What the command line differentiates: `PATH.py:FUNC` targets, or every function of a file
decorated with `@s2s.grad`, each with its `wrt`, mode and `has_aux`."""

from __future__ import annotations

import argparse
import ast
import os
import re
from dataclasses import dataclass, replace
from typing import Any, Collection, Sequence

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
    has_aux: bool = False  # the function returns (value, aux)
    backend: str = "numpy"  # what the code runs on: see s2s.backends
    checkpoint: int | str | None = None  # snapshots per loop (--checkpoint)

    @property
    def options(self) -> dict[str, Any]:
        """The generation options, as `grad` and the transforms of s2s.higher pass
        them (so that the content keys agree): each only when it is not the default."""
        options: dict[str, Any] = {} if self.mode == "grad" else {"mode": self.mode}
        if self.has_aux:
            options["has_aux"] = True
        if self.backend != "numpy":
            options["backend"] = self.backend
        if self.checkpoint is not None:
            options["checkpoint"] = self.checkpoint
        return options


def parse_checkpoint(text: str) -> int | str:
    """--checkpoint: a number of snapshots (1 or more), or "auto"."""
    if text == "auto":
        return text
    if not re.fullmatch(r"\d+", text) or int(text) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of loop states to keep (1 or more) or 'auto'"
        )
    return int(text)


def checkpointed(found: list[Target], checkpoint: int | str | None) -> list[Target]:
    """The targets with --checkpoint (for gradients only)."""
    if checkpoint is None:
        return found
    refused = [t for t in found if t.mode != "grad"]
    if refused:
        raise S2SError(
            f"--checkpoint applies to gradients, and --mode {refused[0].mode} is not one",
            hint="Leave out --mode to generate the gradient with --checkpoint.",
        )
    return [replace(t, checkpoint=checkpoint) for t in found]


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


def refuse_aux_in_mode(mode: str, has_aux: bool) -> None:
    """--has-aux is for gradients: the other modes differentiate one result."""
    if has_aux and mode != "grad":
        raise S2SError(
            f"--has-aux applies to gradients, and --mode {mode} differentiates a "
            "function returning one value",
            hint="Leave out --mode to generate the gradient with has_aux, or --has-aux "
            f"for the {mode} of a function that returns its value alone.",
        )


def targets(
    specs: Sequence[str],
    wrt_text: str | None,
    mode: str = "grad",
    skip_undecorated: bool = False,
    has_aux: bool = False,
) -> list[Target]:
    """The functions named on the command line, in order.  A file with no decorated
    function is an error, or with `skip_undecorated` (pre-commit passes every changed
    file) nothing."""
    refuse_aux_in_mode(mode, has_aux)
    found: list[Target] = []
    for spec in specs:
        path, sep, name = split_target(spec)
        if sep:
            found.append(named(path, name, wrt_text, mode, has_aux))
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
        elif has_aux:
            raise S2SError(
                f"--has-aux applies to PATH.py:FUNCTION targets, and {spec!r} is a file",
                hint="Decorated functions use their decorator's has_aux; name the "
                f"function to choose it, e.g. {spec}:FUNCTION --has-aux.",
            )
        elif skip_undecorated:
            found.extend(decorated_in(spec).values())
        else:
            found.extend(decorated(spec))
    return found


def named(
    path: str, name: str, wrt_text: str | None, mode: str, has_aux: bool
) -> Target:
    """A function named as PATH.py:FUNC: what the command line leaves out (--wrt,
    --has-aux), a decorator of the function says, if it has one."""
    wrt = parse_wrt(wrt_text)
    given = {"wrt"} if wrt_text is not None else set()
    given |= {"has_aux"} if has_aux else set()
    if len(given) < 2:
        decorator = decorated_in(path, name, given).get(name)
        if wrt_text is None and decorator is not None:
            wrt = decorator.wrt
        if decorator is not None and decorator.has_aux and not has_aux:
            if mode != "grad":
                raise S2SError(
                    f"{shown_path(path)}:{name} is decorated with has_aux=True (it "
                    f"returns (value, aux)), and --mode {mode} differentiates a "
                    "function returning one value",
                    hint="Leave out --mode to generate its gradient, or write a "
                    f"function that returns the value alone for its {mode}.",
                )
            has_aux = True
    return Target(path, name, wrt, mode, has_aux)


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
    any import alias), each with its decorator's wrt (or argnums) and has_aux; read
    without running the file."""
    found = decorated_in(path)
    if not found:
        raise S2SError(
            f"{shown_path(path)}: no function is decorated with @s2s.grad or "
            "@s2s.value_and_grad",
            hint=f"Name the function to differentiate: {path}:FUNCTION (or pass "
            "--skip-undecorated to pass over such files).",
        )
    return list(found.values())


def decorated_in(
    path: str, only: str | None = None, given: Collection[str] = ()
) -> dict[str, Target]:
    """The decorated functions of `path` by name (see `decorated`), or the one named
    `only`; none is fine.  The options in `given` (the command line gives them) are
    not read from the decorators, which may then spell them as they like."""
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
            wrt, has_aux = _decorator_options(path, call, given)
            target = Target(path, node.name, wrt, has_aux=has_aux)
            if found.get(node.name, target) != target:
                raise S2SError(
                    f"{path}:{decorator.lineno}: {node.name} has two s2s decorators with "
                    f"different wrt or has_aux, and one module per function is "
                    "generated",
                    hint="Keep one decorator, or name the function with --wrt.",
                )
            found[node.name] = target
    return found


def _decorator_options(
    path: str, call: ast.Call | None, given: Collection[str] = ()
) -> tuple[Wrt, bool]:
    """The wrt (or argnums) and has_aux a decorator passes, as constants."""
    if call is None:
        return 0, False
    keywords = {k.arg: k.value for k in call.keywords}
    if call.args or set(keywords) - {"wrt", "argnums", "has_aux"}:
        raise S2SError(
            f"{path}:{call.lineno}: the decorator takes only wrt=... (or argnums=...) "
            "and has_aux=...",
            hint='For example: @s2s.grad(wrt=("w", "b")) or @s2s.grad(has_aux=True).',
        )
    if "wrt" in keywords and "argnums" in keywords:
        raise S2SError(
            f"{path}:{call.lineno}: the decorator is given both wrt and argnums",
            hint="argnums is another name for wrt: give one of them.",
        )
    spelled = "argnums" if "argnums" in keywords else "wrt"
    wrt: Wrt = 0
    if spelled in keywords and "wrt" not in given:
        wrt = _constant(
            path,
            call,
            keywords[spelled],
            f"{spelled} must be written as a constant here (a name, an index, or a "
            "tuple of them)",
            "--wrt",
        )
    has_aux = False
    if "has_aux" in keywords and "has_aux" not in given:
        has_aux = _constant(
            path,
            call,
            keywords["has_aux"],
            "has_aux must be written as True or False here",
            "--has-aux",
        )
        if not isinstance(has_aux, bool):
            raise S2SError(
                f"{path}:{call.lineno}: has_aux must be True or False, not "
                f"{has_aux!r}",
                hint="For example: @s2s.grad(has_aux=True).",
            )
    return wrt, has_aux


def _constant(path: str, call: ast.Call, node: ast.expr, what: str, option: str) -> Any:
    """A decorator's option, read without running the file."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise S2SError(
            f"{path}:{call.lineno}: {what}",
            hint=f"s2s reads the file without running it; or name the function and "
            f"give {option}.",
        ) from None
