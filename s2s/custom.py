"""Custom derivative rules: the public way to teach s2s a function it does not know.

    import scipy.special
    import s2s

    s2s.register(scipy.special.expit, lambda g, y, x: g * y * (1 - y))

A registered function becomes a primitive like the built-in ones: calls to it are
written back as calls (the generated module imports it from where it lives), and its
rules, run on symbolic values, are written into the reverse sweep.  A rule is
``rule(g, y, *arguments, **parameters)``: `g` is the adjoint of the result `y`, and
it returns the adjoint contribution for its argument, or None for none.  Rules use
Python operators and real numpy (`np.exp(x)`, `np.sum(g, axis=0)`), which the
symbolic values intercept; other registered functions are called with
:func:`call`.
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy

from .errors import InternalError, RuleError, S2SError
from .ir import Sym, Var, call_function
from .primitives import Primitive, define, forget, lookup_object
from .rules import load as load_rules
from .rules.registry import KIND_NAMES, register_rules, zero


@dataclass(frozen=True)
class Registration:
    """How a function was registered: part of the keys under which generated
    modules are cached (see :mod:`s2s.fingerprint`)."""

    function: Callable
    kind: str
    nondifferentiable: bool
    rules: tuple


#: The primitives made by :func:`register`, by name.
CUSTOM: dict[str, Registration] = {}

_ADVICE = (
    "A rule is a function (g, y, *arguments) -> the adjoint for one argument, "
    "written with operators and numpy functions on g, y and the arguments; return "
    "None where the argument gets no gradient."
)


def register(
    fn: Callable,
    *rules: Optional[Callable[..., Any]],
    kind: str | None = None,
    nondifferentiable: bool = False,
    path: str | None = None,
    arguments: tuple[str, ...] | None = None,
) -> Callable:
    """Teach s2s the derivative of `fn`: one rule per argument, in order.

    `kind` says how `fn` acts (see :mod:`s2s.rules`): "elementwise" (the default
    for numpy ufuncs: arguments broadcast, and each contribution is summed back to
    its argument's shape), "linear", "bilinear" or "other" (the default otherwise:
    the rule returns an adjoint of its argument's shape).  With
    `nondifferentiable=True` and no rules, `fn`'s derivative is zero (a step, an
    index).  With neither rules nor that flag, `fn` can be called, and used inside
    other rules, but differentiating through it is an error.  `path` is where the
    generated module imports `fn` from (found by default); `arguments` names its
    run-time arguments when its signature cannot be read.  Parameters of `fn` that
    have defaults are compile-time constants, passed to the rules as keywords.
    Returns `fn`.
    """
    load_rules()  # the built-in rules first: a custom rule is registered after them
    where = _import_path(fn, path)
    operands, static = _signature(fn, arguments, where)
    ufunc = isinstance(fn, numpy.ufunc)
    kind = kind or ("elementwise" if ufunc else "other")
    if kind not in KIND_NAMES:
        raise RuleError(
            f"kind={kind!r} is not a kind of primitive",
            hint=f"Use one of: {', '.join(KIND_NAMES)}.",
        )
    known = lookup_object(fn)
    if known is not None and known[0] not in CUSTOM:
        raise RuleError(
            f"s2s already has a rule for {where} (primitive {known[0]!r})",
            hint="Built-in rules cannot be replaced; see docs/rules.md.",
        )
    if nondifferentiable and rules:
        raise RuleError(
            f"{where} is registered as nondifferentiable but given rules",
            hint="Drop the rules, or drop nondifferentiable=True.",
        )
    if rules and len(rules) != len(operands):
        raise RuleError(
            f"{where} takes {len(operands)} argument(s) ({', '.join(operands)}) "
            f"but {len(rules)} rule(s) were given",
            hint="Give one rule per argument, in order (None where an argument gets "
            "no gradient), or name the run-time arguments with arguments=(...).",
        )
    for rule in rules:
        if rule is not None and not callable(rule):
            raise RuleError(
                f"the rule {rule!r} for {where} is not callable", hint=_ADVICE
            )
    unregister(fn)
    define(
        Primitive(
            where,
            operands,
            static,
            python=where if not where.startswith("numpy.") else "np." + where[6:],
            elementwise=ufunc or kind == "elementwise",
            max_positional=len(operands) + len(static),
            origin=fn,
        )
    )
    CUSTOM[where] = Registration(fn, kind, nondifferentiable, rules)
    if nondifferentiable:
        zero(where)
    elif rules:
        checked = tuple(
            None if r is None else _checked(r, where, name)
            for r, name in zip(rules, operands)
        )
        register_rules(
            where, kind, checked, broadcasting=kind == "elementwise" or ufunc
        )
    else:
        register_rules(where, kind, tuple(_missing(where, n) for n in operands))
    return fn


def unregister(fn: Callable) -> None:
    """Forget the rules registered for `fn` (nothing happens if there are none)."""
    known = lookup_object(fn)
    if known is None or known[0] not in CUSTOM:
        return
    forget(known[0])
    del CUSTOM[known[0]]


def call(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """`fn(*args, **kwargs)`, usable inside a rule for any registered function.

    On symbolic values (inside a rule) it appends a call to `fn` to the generated
    code; on anything else it simply calls `fn`.  Numpy ufuncs and numpy functions
    need no `call`: `np.exp(x)` works in a rule as it is.
    """
    symbolic = any(isinstance(a, Sym) for a in (*args, *kwargs.values()))
    if not symbolic:
        return fn(*args, **kwargs)
    return call_function(fn, args, kwargs)


# --- reading the function --------------------------------------------------------------


def _import_path(fn: Any, given: str | None) -> str:
    """Where a generated module imports `fn` from: the shortest public module path
    that holds it, e.g. `scipy.special.expit` (not `scipy.special._ufuncs.expit`)."""
    name = getattr(fn, "__name__", None)
    if given is not None:
        return given
    if not callable(fn) or not name:
        raise RuleError(
            f"cannot register {fn!r}: it is not a named function",
            hint="Register the function object itself, e.g. s2s.register(mylib.f, rule).",
        )
    module = getattr(fn, "__module__", None)
    candidates = []
    if module:
        parts = module.split(".")
        candidates = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    else:  # numpy ufuncs do not say where they live: look where they are exported
        public = [
            m
            for m in list(sys.modules)
            if not any(p.startswith("_") for p in m.split("."))
        ]

        def holds(m: str) -> bool:  # vars(): no lazy attribute runs
            return vars(sys.modules[m]).get(name) is fn

        def exported(m: str) -> bool:
            return name in (vars(sys.modules[m]).get("__all__") or ())

        # A library that lists it in __all__ first, then the shortest path: not a
        # user module that merely imported it.
        candidates = sorted(
            filter(holds, public), key=lambda m: (not exported(m), m.count("."), m)
        )
    for candidate in candidates:
        holder = sys.modules.get(candidate)
        if holder is not None and getattr(holder, name, None) is fn:
            return f"{candidate}.{name}"
    raise RuleError(
        f"cannot tell where a generated module would import {name} from",
        hint=f"Pass its import path: s2s.register({name}, ..., path='package.module.{name}').",
    )


def _signature(
    fn: Any, arguments: tuple[str, ...] | None, where: str
) -> tuple[tuple[str, ...], tuple[tuple[str, Any], ...]]:
    """The run-time arguments of `fn`, and its parameters with defaults."""
    if arguments is not None:
        return tuple(arguments), ()
    if isinstance(fn, numpy.ufunc):
        names = ("x",) if fn.nin == 1 else tuple(f"x{i + 1}" for i in range(fn.nin))
        return names, ()
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        raise RuleError(
            f"cannot read the signature of {where}",
            hint="Name its run-time arguments: s2s.register(f, rule, arguments=('x',)).",
        ) from None
    operands, static = [], []
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise RuleError(
                f"{where} takes *{p.name}: s2s needs a fixed list of arguments",
                hint="Name the run-time arguments: arguments=('x', 'y').",
            )
        if p.default is p.empty:
            if static or p.kind == p.KEYWORD_ONLY:
                raise RuleError(
                    f"{where}: argument '{p.name}' without a default follows parameters "
                    "with defaults or is keyword-only",
                    hint="Name the run-time arguments: arguments=('x', 'y').",
                )
            operands.append(p.name)
        else:
            static.append((p.name, p.default))
    if not operands:
        raise RuleError(f"{where} takes no argument to differentiate", hint=_ADVICE)
    return tuple(operands), tuple(static)


# --- running the rules --------------------------------------------------------------------


def _defined_at(rule: Callable) -> str:
    code = getattr(rule, "__code__", None)
    return f" (defined at {code.co_filename}:{code.co_firstlineno})" if code else ""


def _checked(rule: Callable, where: str, argument: str) -> Callable:
    """The rule, with its failures and wrong results turned into a RuleError that
    names the function, the argument, the rule and the line being differentiated."""

    def run(g: Sym, y: Sym, *args: Sym, **params: Any) -> Optional[Sym]:
        start = len(g.builder.ops)
        try:
            result = rule(g, y, *args, **params)
        except Exception as e:
            if isinstance(e, S2SError) and not isinstance(
                e, (RuleError, InternalError)
            ):
                raise
            said = e.message if isinstance(e, RuleError) else f"{type(e).__name__}: {e}"
            raise RuleError(
                f"the rule for {where} (argument '{argument}'){_defined_at(rule)} "
                f"failed: {said}",
                g.builder.loc,
                e.hint if isinstance(e, RuleError) else _ADVICE,
            ) from None
        if result is not None and not isinstance(result, Sym):
            raise RuleError(
                f"the rule for {where} (argument '{argument}'){_defined_at(rule)} "
                f"returned {type(result).__name__} {result!r}, not an expression of g",
                g.builder.loc,
                _ADVICE,
            )
        problem = _built_wrong(g.builder, start, (g, y, *args), result)
        if problem is not None:
            raise RuleError(
                f"the rule for {where} (argument '{argument}'){_defined_at(rule)} "
                f"{problem}",
                g.builder.loc,
                _ADVICE,
            )
        return result

    return run


def _built_wrong(
    builder: Any, start: int, inputs: tuple, result: Optional[Sym]
) -> Optional[str]:
    """What is wrong with the code a rule built (the ops from `start` on), if
    anything, before a later stage of s2s trips over it: a value kept from another
    call of the rule (another gradient's), or a constant that Python code cannot
    spell (`dtype=int`)."""
    from .emit.spelling import spell  # late: only a registered rule needs it

    known = set(builder.defs) | {x.operand for x in inputs if isinstance(x, Sym)}

    def foreign(x: Any) -> bool:
        return isinstance(x, Var) and x not in known

    if result is not None and (
        result.builder is not builder or foreign(result.operand)
    ):
        return (
            "returned a value made in an earlier call of the rule (one kept between "
            "calls), not an expression of this call's g, y and arguments"
        )
    for op in builder.ops[start:]:
        if any(foreign(a) for a in op.args):
            return (
                f"used a value made in an earlier call of the rule in {op.prim}(), "
                "not an expression of this call's g, y and arguments"
            )
        try:
            compile(spell(op, lambda v: v.name), "<rule>", "eval")
        except (SyntaxError, TypeError, ValueError) as e:
            constants = {k: v for k, v in op.params.items() if k != "lib"}
            return (
                f"built {op.prim}() with {constants or op.args}, which cannot be "
                f"written as Python code ({type(e).__name__}: {e}); constants must "
                "be numbers, strings, None or tuples of them"
            )
    return None


def _missing(where: str, argument: str) -> Callable:
    def run(g: Sym, y: Sym, *args: Sym, **params: Any) -> None:
        raise RuleError(
            f"{where} was registered without a derivative rule, but its argument "
            f"'{argument}' depends on what is being differentiated",
            g.builder.loc,
            f"Register one rule per argument: s2s.register({where}, rule, ...), or "
            "nondifferentiable=True if its derivative is zero.",
        )

    return run
