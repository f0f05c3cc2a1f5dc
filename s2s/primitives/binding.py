"""Binding a call's arguments to a primitive: which are its operands (run-time
values) and which its static parameters (compile-time constants), with the message
and advice for a call that does not fit."""

from __future__ import annotations

from typing import Any, Callable

from .record import Primitive


class ArgumentError(Exception):
    """A call's arguments do not fit the primitive: `culprit` is the offending
    argument (None: the call as a whole)."""

    def __init__(self, message: str, hint: str, culprit: Any = None):
        super().__init__(message)
        self.message, self.hint, self.culprit = message, hint, culprit


def bind(
    prim: Primitive,
    spelled: str,
    positional: list[Any],
    keywords: list[tuple[str | None, Any]],
    items: Callable[[Any], list[Any] | None],
) -> tuple[list[Any], dict[str, Any]]:
    """Match a call's arguments to `prim`: its operands, in order, and its static
    parameters by name (the values are whatever the caller passed: AST nodes while
    linearizing, Syms in a rule).  `items(x)` lists the elements of a list or tuple
    display, or gives None.  Raises :class:`ArgumentError`."""
    fixed = list(prim.operands[:-1] if prim.variadic else prim.operands)
    rest_name = prim.operands[-1] if prim.variadic else None
    statics = [n for n in prim.static_names if n not in prim.internal]
    after = [n for n in statics if n not in prim.leading]
    spread = prim.variadic and not prim.sequence  # extra positionals are operands
    if spread:
        slots = [*prim.leading, *fixed]
        limit = len(positional)
    else:
        slots = [*prim.leading, *prim.operands, *after]
        limit = min(len(slots), prim.max_positional or len(slots))
    if len(positional) > limit:
        raise ArgumentError(
            f"{spelled}() got {len(positional)} positional arguments; s2s's rule takes "
            f"at most {limit} ({', '.join(slots[:limit])})",
            "Pass the others by keyword; supported: "
            f"{', '.join(dict.fromkeys([*prim.operands, *statics]))}.",
        )
    named: dict[str, Any] = {}
    extra: list[Any] = []
    for i, arg in enumerate(positional):
        if i < len(slots):
            named[slots[i]] = arg
        else:
            extra.append(arg)
    allowed = [*prim.operands, *statics]
    for key, value in keywords:
        if key is None or key not in allowed or (key == rest_name and spread):
            raise ArgumentError(
                f"{spelled}() keyword '{key}' is not handled by s2s's rule for "
                f"{prim.name}",
                f"Supported arguments: {', '.join(allowed)}.",
                value,
            )
        if key in named:
            raise ArgumentError(
                f"{spelled}() got '{key}' twice", "Pass each argument once.", value
            )
        named[key] = value
    operands = []
    required = len(fixed) - (prim.optional if not prim.variadic else 0)
    for k, name in enumerate(fixed):
        if name in named:
            if k >= required and len(operands) < k:
                raise ArgumentError(
                    f"{spelled}() got '{name}' without the arguments before it",
                    f"Pass {', '.join(fixed[:k])} too.",
                )
            operands.append(named[name])
        elif k < required:
            raise ArgumentError(
                f"{spelled}() is missing the argument '{name}'",
                f"It takes: {', '.join(slots + after)}.",
            )
    if prim.sequence:
        if rest_name not in named:
            raise ArgumentError(
                f"{spelled}() is missing the arrays to join",
                f"Pass them as a list: {spelled}([a, b]).",
            )
        elements = items(named[rest_name])
        if elements is None:
            raise ArgumentError(
                f"{spelled}() needs the arrays written out as a list or tuple",
                f"Write {spelled}([a, b, ...]) with the arrays named in the call.",
                named[rest_name],
            )
        operands.extend(elements)
    elif prim.variadic:
        operands.extend(extra)
    static = {n: named[n] for n in statics if n in named}
    return operands, static


def operand_names(prim: Primitive, count: int) -> list[str]:
    """The operand name of each of `count` arguments of an op of `prim` (the last
    name repeats for a variadic primitive's extra arguments)."""
    names = list(prim.operands)
    if count > len(names) and prim.variadic:
        names += [names[-1]] * (count - len(names))
    return names[:count]


def differentiable_operands(prim: Primitive, args: tuple) -> list[Any]:
    """The arguments of an op that may receive a derivative (not in `nondiff`)."""
    return [
        a for a, n in zip(args, operand_names(prim, len(args))) if n not in prim.nondiff
    ]
