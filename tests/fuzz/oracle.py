"""The oracle: run s2s on one program and say whether what it returned is right.

A program is written to a real .py file (s2s reads source) and imported from it.
Then, at the program's arguments:

- value: `s2s.value_and_grad(f, wrt=...)` returns f's own value (float64, tight
  tolerance), and leaves its arguments unchanged;
- raises: where f raises one of the exceptions its source raises (`raise E(...)`,
  `assert`), the gradient raises the same exception, with the same message (numbers
  aside); a gradient that raises one of them where f returns, or returns where f
  raises, is `wrong_raise`.  The arguments are then drawn again, to check the
  gradient where f returns too;
- gradient: each element agrees with a central difference of f in float64 for at
  least one of the steps in `STEPS` (scaled by max(1, |x|)); a disagreement counts
  only when two of those differences agree with each other (else f is not smooth
  there: inconclusive);
- second derivatives (on request): `s2s.grad(s2s.grad(f, wrt=a), wrt=(a, b, ...))`
  for programs of float parameters, and `s2s.hvp(f, primals, tangents)`, against
  central differences of the first gradient.

Before checking, the arguments are moved away from branch boundaries: f is run
under an opcode tracer at the point and at points 1e-3 away along each coordinate
(and along the hvp tangent); a different trace means a branch, a loop trip or a
short-circuit changes nearby, and the arguments are drawn again (or, when they are
fixed, the case is inconclusive).

Arguments are a list: the last `Case.nkw` of them are passed by keyword (their
names are in `Case.argnames`; `wrt` still counts positions in the list, and s2s is
given the names of keyword arguments).

Outcomes (`Result.status`): ok, wrong_value, wrong_gradient, wrong_second,
wrong_raise, internal_error (an exception that is not an `s2s.S2SError`, or an
`s2s.InternalError`), refused (an `S2SError`: its class and first line are kept),
refused_unlocated (an `S2SError` whose message does not name the program's own
file:line: none at all, or a line of code s2s generated; and a refusal of the code s2s
generated, when differentiating it again, other than a `NotTwiceDifferentiableError`),
inconclusive (f itself not finite or not smooth, or a boundary too close), and
timeout (set by the campaign).
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
import math
import os
import random
import re
import signal
import sys
import traceback
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

import s2s

from .grammar import draw_args

STATUSES = [
    "ok",
    "wrong_value",
    "wrong_gradient",
    "wrong_second",
    "wrong_raise",
    "internal_error",
    "refused_unlocated",
    "timeout",
    "refused",
    "inconclusive",
]
#: Outcomes that are defects of s2s.
FAILURES = {
    "wrong_value",
    "wrong_gradient",
    "wrong_second",
    "wrong_raise",
    "internal_error",
    "refused_unlocated",
    "timeout",
}

#: Central-difference steps, relative to max(1, |x|), tried in order.
STEPS = (1e-6, 1e-4, 1e-5, 1e-7)
#: How far a branch boundary must be (relative to max(1, |x|)).
GUARD = 1e-3
#: Arguments drawn again when a boundary is too close.
REDRAWS = 5


@dataclass
class Case:
    """One program to check, and how."""

    source: str
    args: list
    wrt: tuple
    name: str = "f"
    params: Optional[list] = None  # to draw other arguments near a boundary
    kind: str = "first"  # first | second | mutant
    second: bool = False
    label: str = ""
    mutation: str = ""
    mutation_line: int = 0
    seed: int = 0
    argnames: Optional[list] = None  # the parameter each argument is given to
    nkw: int = 0  # the last nkw arguments are passed by keyword


@dataclass
class Result:
    """The outcome of a case."""

    status: str
    stage: str = ""
    detail: str = ""
    error: str = ""  # "Class: first line" of an exception (normalized)
    where: str = ""  # the innermost frame of an internal error
    args: Optional[list] = None
    checked: dict = field(default_factory=dict)  # checks passed, by name
    extra: dict = field(default_factory=dict)  # what a repro needs: gg_wrt, tangents

    def signature(self) -> tuple:
        """What a shrunk program must keep to fail 'the same way'."""
        if self.status in (
            "internal_error",
            "refused",
            "refused_unlocated",
            "wrong_raise",
        ):
            return (
                self.status,
                self.stage,
                self.error.split(":")[0],
                _coarse(self.error),
            )
        return (self.status, self.stage)


class Timeout(BaseException):
    """Raised by an alarm when a case runs too long (not an Exception, so that s2s
    does not wrap it)."""


def _coarse(message: str) -> str:
    """An error message with the details that vary between programs removed."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", message)
    text = re.sub(r"\d+", "N", text)
    return text[:90]


def normalize(message: str) -> str:
    text = message.strip().splitlines()[0] if message.strip() else ""
    text = re.sub(r"\S*fz_\w+\.py(:\d+)*:?", "<file>:", text)
    text = re.sub(r"<s2s-generated [^>]*>(:\d+)*:?", "<generated>:", text)
    text = re.sub(r"\b(v|h|p|i|k|acc|t|big)\d+\b", r"\1#", text)
    return text[:160]


# --- loading and calling -----------------------------------------------------------------


@dataclass(frozen=True)
class Binder:
    """How a list of arguments is passed: the last `nkw` by keyword, under the names
    `names` has for them."""

    names: tuple = ()
    nkw: int = 0

    def split(self, args: list) -> tuple[list, dict]:
        if not self.nkw:
            return list(args), {}
        k = len(args) - self.nkw
        return list(args[:k]), dict(zip(self.names[k:], args[k:]))

    def param(self, k: int):
        """What s2s's `wrt` calls argument k: its position, or its name if it is
        passed by keyword."""
        if self.nkw and k >= len(self.names) - self.nkw:
            return self.names[k]
        return k

    def wrt(self, wrt: tuple) -> tuple:
        return tuple(self.param(k) for k in wrt)


def binder(case: "Case") -> Binder:
    return Binder(tuple(case.argnames or ()), case.nkw)


POSITIONAL = Binder()


def program_raises(source: str) -> set[str]:
    """The exception classes a program raises itself (`raise E(...)`, `raise E`,
    AssertionError for `assert`)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            out.add("AssertionError")
        elif isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name):
                out.add(exc.id)
    return out


def same_message(a: BaseException, b: BaseException) -> bool:
    """Whether two exceptions say the same, numbers and spacing aside (a value in
    an f-string may differ in its last digits)."""

    def text(e):
        t = re.sub(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", "N", str(e))
        return re.sub(r"\s+", " ", t).strip()

    return text(a) == text(b)


_COUNTER = itertools.count()


@dataclass
class Loaded:
    module: Any
    path: str
    modname: str

    def function(self, name: str) -> Callable:
        return getattr(self.module, name)


def load(source: str, workdir: str) -> Loaded:
    """Write `source` to a new file in workdir and import it (a new name each time:
    linecache and s2s must never see stale text under a reused name)."""
    modname = f"fz_{os.getpid()}_{next(_COUNTER)}"
    path = os.path.join(workdir, modname + ".py")
    with open(path, "w") as fh:
        fh.write(source)
    spec = importlib.util.spec_from_file_location(modname, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(modname, None)
        raise
    return Loaded(module, path, modname)


def unload(loaded: Loaded) -> None:
    sys.modules.pop(loaded.modname, None)
    try:
        os.remove(loaded.path)
    except OSError:
        pass


def copy_args(args: list) -> list:
    out = []
    for a in args:
        if isinstance(a, np.ndarray):
            out.append(a.copy())
        elif isinstance(a, list):
            out.append(list(a))
        else:
            out.append(a)
    return out


def quiet(fn: Callable, *args, **kwargs) -> Any:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def call(f: Callable, args: list, b: Binder = POSITIONAL) -> Any:
    """f at a copy of args (so that a function updating its argument in place does
    not change the point), with floating-point warnings off."""
    pos, kw = b.split(copy_args(args))
    return quiet(f, *pos, **kw)


def traced(f: Callable, args: list, filename: str, b: Binder = POSITIONAL) -> tuple:
    """The opcodes f (and the helpers of its file) run at args, and the result."""
    events: list = []

    def local(frame, event, arg):
        if event == "opcode":
            events.append((frame.f_code.co_name, frame.f_lasti))
        elif event in ("return", "exception"):
            events.append((frame.f_code.co_name, event))
        return local

    def glob(frame, event, arg):
        if frame.f_code.co_filename == filename:
            frame.f_trace_opcodes = True
            return local
        return None

    old = sys.gettrace()
    sys.settrace(glob)
    try:
        value = call(f, args, b)
    except Exception as e:  # a raising f is a trace too
        value = e
    finally:
        sys.settrace(old)
    return tuple(events), value


def scalar_value(v: Any) -> Optional[float]:
    if isinstance(v, (bool, np.bool_)):
        return None
    if isinstance(v, (int, float, np.floating, np.integer)):
        return float(v)
    if isinstance(v, np.ndarray) and v.shape == () and v.dtype.kind in "fiu":
        return float(v)
    return None


def coords(args: list, wrt: tuple) -> list[tuple[int, Any]]:
    """(argument, element) of every differentiated coordinate."""
    out = []
    for k in wrt:
        a = args[k]
        if isinstance(a, np.ndarray):
            out += [(k, idx) for idx in np.ndindex(a.shape)]
        else:
            out.append((k, None))
    return out


def get(args: list, k: int, idx) -> float:
    return float(args[k] if idx is None else args[k][idx])


def moved(args: list, k: int, idx, h: float) -> list:
    out = copy_args(args)
    if idx is None:
        out[k] = float(out[k]) + h
    else:
        out[k][idx] += h
    return out


def along(args: list, wrt: tuple, tangents: list, h: float) -> list:
    out = copy_args(args)
    for k, t in zip(wrt, tangents):
        if isinstance(out[k], np.ndarray):
            out[k] = out[k] + h * t
        else:
            out[k] = float(out[k]) + h * float(t)
    return out


def near_boundary(
    f, args, wrt, filename, directions=None, b: Binder = POSITIONAL
) -> Optional[str]:
    """Where f's control flow changes within GUARD of args, or None."""
    base, value = traced(f, args, filename, b)
    for k, idx in coords(args, wrt):
        h = GUARD * max(1.0, abs(get(args, k, idx)))
        for sign in (1, -1):
            if traced(f, moved(args, k, idx, sign * h), filename, b)[0] != base:
                return f"control flow changes within {h:.0e} of argument {k}{'' if idx is None else list(idx)}"
    for d in directions or []:
        scale = max([1.0] + [float(np.max(np.abs(args[k]))) for k in wrt])
        for sign in (1, -1):
            if (
                traced(f, along(args, wrt, d, sign * GUARD * scale), filename, b)[0]
                != base
            ):
                return "control flow changes within 1e-3 along the tangent"
    return None


# --- comparisons -------------------------------------------------------------------------


def close(a: float, n: float, rtol: float, atol: float) -> bool:
    return bool(
        np.isfinite(a) and np.isfinite(n) and abs(a - n) <= atol + rtol * abs(n)
    )


def compare(
    analytic: float,
    estimate: Callable[[float], float],
    x: float,
    rtol: float,
    atol: float,
) -> tuple[str, list]:
    """Compare an analytic derivative with central differences of several steps:
    "ok" when one agrees, "wrong" when none does but two agree with each other,
    else "unstable"."""
    estimates = []
    for s in STEPS:
        h = s * max(1.0, abs(x))
        d = estimate(h)
        if close(analytic, d, rtol, atol):
            return "ok", estimates + [d]
        estimates.append(d)
    finite = [d for d in estimates if np.isfinite(d)]
    for a, b in itertools.combinations(finite, 2):
        if close(a, b, rtol, atol):
            return "wrong", estimates
    return "unstable", estimates


def show(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return np.array2string(v, precision=12, separator=", ")
    if isinstance(v, (tuple, list)):
        return "(" + ", ".join(show(x) for x in v) + ")"
    try:
        return repr(float(v))
    except (TypeError, ValueError):
        return repr(v)


def describe_exception(e: BaseException, path: str) -> tuple[str, str, str]:
    """(status, "Class: first line", innermost frame) of an exception s2s raised."""
    message = normalize(str(e))
    error = f"{type(e).__name__}: {message}"
    frames = traceback.extract_tb(e.__traceback__)
    where = ""
    for fr in reversed(frames):
        if "/s2s/" in fr.filename or fr.filename.startswith("<"):
            where = f"{os.path.basename(fr.filename)}:{fr.lineno} in {fr.name}"
            break
    if isinstance(e, s2s.InternalError) or not isinstance(e, s2s.S2SError):
        if isinstance(e, s2s.InternalError) and e.__cause__ is not None:
            cause = e.__cause__
            frames = traceback.extract_tb(cause.__traceback__)
            if frames:
                fr = frames[-1]
                where = f"{os.path.basename(fr.filename)}:{fr.lineno} in {fr.name}"
            error += f" (cause {type(cause).__name__}: {normalize(str(cause))})"
        return "internal_error", error, where
    base = os.path.basename(path)
    if not re.search(re.escape(base) + r":\d+", str(e)):
        return "refused_unlocated", error, where
    if "(in the code s2s generated for it" in str(e) and not isinstance(
        e, s2s.NotTwiceDifferentiableError
    ):
        # s2s refusing the code it generated (when differentiating it again), not
        # the program: a defect, even though the message maps it to a source line
        return "refused_unlocated", error, where
    return "refused", error, where


# --- the checks --------------------------------------------------------------------------


def _alarm(signum, frame):
    raise Timeout()


def run_case(case: Case, workdir: str, seconds: float, redraw: bool = True) -> Result:
    """`check` under an alarm: a case that runs longer than `seconds` is a timeout."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return check(case, workdir, redraw)
    except Timeout:
        return Result(
            "timeout", "run", f"no answer within {seconds:g} s", args=case.args
        )
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def check(case: Case, workdir: str, redraw: bool = True) -> Result:
    """Check one case; never raises (except Timeout)."""
    try:
        loaded = load(case.source, workdir)
    except Exception as e:
        return Result(
            "inconclusive",
            "load",
            f"the program does not import: {type(e).__name__}: {e}",
        )
    try:
        return _check_loaded(case, loaded, redraw)
    finally:
        unload(loaded)


def _check_loaded(case: Case, loaded: Loaded, redraw: bool) -> Result:
    f = loaded.function(case.name)
    b = binder(case)
    raising = program_raises(case.source)
    rng = random.Random(f"{case.label}:{case.seed}:draw")
    args = case.args
    # the hvp tangents are drawn first, so that the boundary check can follow them
    trng = np.random.default_rng(zlib.crc32(f"{case.label}:{case.seed}".encode()))
    tangents = None
    if case.second and not all_float(args, case.wrt):
        tangents = [
            (
                trng.standard_normal(np.shape(args[k]))
                if isinstance(args[k], np.ndarray)
                else float(trng.standard_normal())
            )
            for k in case.wrt
        ]
    note = ""
    raised = None  # the check of a point where f raises, once one passed
    for attempt in range(REDRAWS if (redraw and case.params) else 1):
        if attempt:
            args = draw_args(case.params, rng)
        try:
            ref = call(f, args, b)
        except Exception as e:
            if case.kind == "mutant":
                return Result(
                    "inconclusive",
                    "reference",
                    f"the mutant raises: {type(e).__name__}: {e}",
                    args=args,
                )
            if type(e).__name__ not in raising:
                return Result(
                    "inconclusive",
                    "reference",
                    f"f raises: {type(e).__name__}: {e}",
                    args=args,
                )
            # f raises as its source says it may: so must the gradient
            note = near_boundary(f, args, case.wrt, loaded.path, None, b)
            if note is None:
                r = check_raise(case, f, loaded, args, e)
                if r.status != "ok":
                    return r
                raised = r
            continue
        refv = scalar_value(ref)
        if refv is None or not math.isfinite(refv):
            if case.kind != "mutant" or refv is not None:
                return Result(
                    "inconclusive",
                    "reference",
                    f"f returns {show(ref)[:80]}",
                    args=args,
                )
        note = near_boundary(
            f, args, case.wrt, loaded.path, [tangents] if tangents else None, b
        )
        if note is None:
            break
    else:
        if raised is not None:
            return raised
        return Result("inconclusive", "boundary", note, args=args)
    result = check_first(case, f, loaded, args, ref, refv)
    if raised is not None:
        result.checked["raise"] = 1
    if result.status != "ok" or not case.second:
        return result
    second = check_second(case, f, loaded, args, tangents, refv)
    second.checked.update(result.checked)
    return second


def check_raise(case: Case, f, loaded: Loaded, args: list, e: Exception) -> Result:
    """At a point where f raises `e`: the gradient raises the same (or s2s refuses
    f, as it would anywhere)."""
    b = binder(case)
    pos, kw = b.split(copy_args(args))
    try:
        vg = s2s.value_and_grad(f, wrt=b.wrt(case.wrt))
        out = quiet(vg, *pos, **kw)
    except Timeout:
        raise
    except Exception as g:
        if isinstance(g, s2s.S2SError):
            status, error, where = describe_exception(g, loaded.path)
            return Result(status, "gradient", str(g)[:2000], error, where, args=args)
        if type(g) is type(e) and same_message(g, e):
            return Result("ok", "raise", args=args, checked={"raise": 1})
        return Result(
            "wrong_raise",
            "raise",
            f"f raises {type(e).__name__}: {str(e)[:300]}; "
            f"the gradient raises {type(g).__name__}: {str(g)[:300]}",
            f"{type(e).__name__} raised by f, {type(g).__name__} by the gradient",
            args=args,
        )
    return Result(
        "wrong_raise",
        "raise",
        f"f raises {type(e).__name__}: {str(e)[:300]}; the gradient returns {show(out)[:200]}",
        f"{type(e).__name__} raised by f, none by the gradient",
        args=args,
    )


def gradient_error(
    case: Case, e: Exception, loaded: Loaded, stage: str, args: list
) -> Result:
    """The result of an exception a derivative raised where f returns: one of the
    exceptions f's source raises is `wrong_raise`; others as `describe_exception`
    says."""
    if not isinstance(e, s2s.S2SError) and type(e).__name__ in program_raises(
        case.source
    ):
        return Result(
            "wrong_raise",
            stage,
            f"f returns, the derivative raises {type(e).__name__}: {str(e)[:300]}",
            f"none raised by f, {type(e).__name__} by the derivative",
            args=args,
        )
    status, error, where = describe_exception(e, loaded.path)
    return Result(status, stage, str(e)[:2000], error, where, args=args)


def all_float(args: list, wrt: tuple) -> bool:
    return all(not isinstance(args[k], np.ndarray) for k in wrt)


def check_first(
    case: Case, f, loaded: Loaded, args: list, ref: Any, refv: Optional[float]
) -> Result:
    b = binder(case)
    given = copy_args(args)
    pos, kw = b.split(given)
    try:
        vg = s2s.value_and_grad(f, wrt=b.wrt(case.wrt))
        value, grads = quiet(vg, *pos, **kw)
    except Timeout:
        raise
    except Exception as e:
        return gradient_error(case, e, loaded, "gradient", args)
    for passed, arg in zip(given, args):
        if isinstance(arg, np.ndarray) and not np.array_equal(passed, arg):
            return Result(
                "wrong_value",
                "inputs",
                "the gradient changed its argument in place",
                args=args,
            )
    if refv is None:  # a mutant whose value is not a number, which s2s accepted
        return Result(
            "wrong_value",
            "value",
            f"f returns {show(ref)[:80]}, s2s {show(value)[:80]}",
            args=args,
        )
    v = scalar_value(value)
    if v is None or not close(v, refv, 1e-9, 1e-8):
        return Result(
            "wrong_value", "value", f"s2s value {show(value)} != f {refv!r}", args=args
        )
    if not isinstance(grads, tuple) or len(grads) != len(case.wrt):
        return Result(
            "wrong_gradient",
            "gradient",
            f"value_and_grad returned {show(grads)[:200]}",
            args=args,
        )
    for k, g in zip(case.wrt, grads):
        if np.shape(g) != np.shape(args[k]):
            return Result(
                "wrong_gradient",
                "gradient",
                f"gradient of argument {k} has shape {np.shape(g)}, the argument {np.shape(args[k])}",
                args=args,
            )
    scale = max(1.0, abs(refv))
    unstable = None
    for pos, (k, idx) in enumerate(coords(args, case.wrt)):
        g = grads[case.wrt.index(k)]
        a = float(g if idx is None else np.asarray(g)[idx])

        def estimate(h, k=k, idx=idx):
            try:
                hi = scalar_value(call(f, moved(args, k, idx, h), b))
                lo = scalar_value(call(f, moved(args, k, idx, -h), b))
            except Exception:
                return float("nan")
            if hi is None or lo is None:
                return float("nan")
            return (hi - lo) / (2 * h)

        verdict, estimates = compare(a, estimate, get(args, k, idx), 1e-5, 1e-6 * scale)
        if verdict == "wrong":
            where = f"argument {k}" + ("" if idx is None else f" element {list(idx)}")
            return Result(
                "wrong_gradient",
                "gradient",
                f"{where}: s2s {a!r}, central differences {[float(f'{d:.10g}') for d in estimates]}"
                f" (value {refv!r}; s2s gradients {show(grads)})",
                args=args,
            )
        if verdict == "unstable" and unstable is None:
            unstable = f"central differences disagree at argument {k}: {[float(f'{d:.6g}') for d in estimates]}"
    if unstable:
        return Result("inconclusive", "gradient", unstable, args=args)
    return Result("ok", "gradient", args=args, checked={"first": 1})


def check_second(
    case: Case, f, loaded: Loaded, args: list, tangents, refv: float
) -> Result:
    checked = {}
    if all_float(args, case.wrt):
        r = check_grad_of_grad(case, f, loaded, args)
        if r.status != "ok":
            return r
        checked["grad_of_grad"] = 1
        hvp_too = random.Random(f"{case.label}:{case.seed}:hvp").random() < 0.3
        if hvp_too and not case.nkw:  # (s2s.hvp takes no keyword arguments)
            trng = np.random.default_rng(
                zlib.crc32(f"{case.label}:{case.seed}:t".encode())
            )
            tangents = [float(trng.standard_normal()) for _ in case.wrt]
        else:
            return Result("ok", "second", args=args, checked=checked)
    r = check_hvp(case, f, loaded, args, tangents)
    if r.status == "ok":
        checked["hvp"] = 1
        r.checked = checked
    return r


def check_grad_of_grad(case: Case, f, loaded: Loaded, args: list) -> Result:
    """s2s.grad(s2s.grad(f, wrt=a), wrt=case.wrt) against central differences of
    the first gradient (a is drawn from case.wrt, and kept in `extra`)."""
    first = random.Random(f"{case.label}:gg").choice(case.wrt)
    result = _grad_of_grad(case, f, loaded, args, first)
    result.extra["gg_wrt"] = first
    return result


def _grad_of_grad(case: Case, f, loaded: Loaded, args: list, first: int) -> Result:
    b = binder(case)
    try:
        g1 = s2s.grad(f, wrt=b.param(first))
        g2 = s2s.grad(g1, wrt=b.wrt(case.wrt))
        row = call(g2, args, b)
    except Timeout:
        raise
    except Exception as e:
        return gradient_error(case, e, loaded, "grad_of_grad", args)
    if not isinstance(row, tuple) or len(row) != len(case.wrt):
        return Result(
            "wrong_second", "grad_of_grad", f"returned {show(row)[:200]}", args=args
        )
    try:
        base = scalar_value(call(g1, args, b))
    except Exception as e:
        return gradient_error(case, e, loaded, "grad_of_grad", args)
    scale = max(1.0, abs(base or 0.0))
    unstable = None
    for j, k in enumerate(case.wrt):
        a = scalar_value(row[j])
        if a is None:
            return Result(
                "wrong_second",
                "grad_of_grad",
                f"d2f/dx{first}dx{k} is {show(row[j])}",
                args=args,
            )

        def estimate(h, k=k):
            try:
                hi = scalar_value(call(g1, moved(args, k, None, h), b))
                lo = scalar_value(call(g1, moved(args, k, None, -h), b))
            except Exception:
                return float("nan")
            return float("nan") if hi is None or lo is None else (hi - lo) / (2 * h)

        verdict, estimates = compare(
            a, estimate, get(args, k, None), 1e-4, 1e-5 * scale
        )
        if verdict == "wrong":
            return Result(
                "wrong_second",
                "grad_of_grad",
                f"s2s.grad(s2s.grad(f, wrt={first}), wrt={tuple(case.wrt)}): element {j} is {a!r}, "
                f"central differences of the first gradient {[float(f'{d:.10g}') for d in estimates]}",
                args=args,
            )
        if verdict == "unstable" and unstable is None:
            unstable = f"central differences of the gradient disagree: {[float(f'{d:.6g}') for d in estimates]}"
    if unstable:
        return Result("inconclusive", "grad_of_grad", unstable, args=args)
    return Result("ok", "grad_of_grad", args=args)


def check_hvp(case: Case, f, loaded: Loaded, args: list, tangents: list) -> Result:
    """s2s.hvp(f, args, tangents, wrt=case.wrt) against central differences of the
    gradient along the tangents (kept in `extra`)."""
    result = _hvp(case, f, loaded, args, tangents)
    result.extra["tangents"] = tangents
    return result


def _hvp(case: Case, f, loaded: Loaded, args: list, tangents: list) -> Result:
    if case.nkw:
        return Result(
            "inconclusive",
            "hvp",
            "not checked: s2s.hvp takes its primals by position, and this case "
            "passes keyword arguments",
            args=args,
        )
    try:
        hv = quiet(
            s2s.hvp,
            f,
            copy_args(args),
            [t.copy() if isinstance(t, np.ndarray) else t for t in tangents],
            tuple(case.wrt),
        )
        vg = s2s.value_and_grad(f, wrt=case.wrt)
    except Timeout:
        raise
    except Exception as e:
        return gradient_error(case, e, loaded, "hvp", args)
    if not isinstance(hv, tuple) or len(hv) != len(case.wrt):
        return Result(
            "wrong_second", "hvp", f"s2s.hvp returned {show(hv)[:200]}", args=args
        )
    for k, h in zip(case.wrt, hv):
        if np.shape(h) != np.shape(args[k]):
            return Result(
                "wrong_second",
                "hvp",
                f"hvp part for argument {k} has shape {np.shape(h)}",
                args=args,
            )
    flat = np.concatenate([np.ravel(np.asarray(h, dtype=float)) for h in hv])

    def grad_at(h):
        _, g = quiet(vg, *along(args, case.wrt, tangents, h))
        return np.concatenate([np.ravel(np.asarray(x, dtype=float)) for x in g])

    try:
        g0 = grad_at(0.0)
    except Exception as e:
        return gradient_error(case, e, loaded, "hvp", args)
    scale = max(1.0, float(np.max(np.abs(g0))) if g0.size else 1.0)
    xscale = max([1.0] + [float(np.max(np.abs(args[k]))) for k in case.wrt])
    cache: dict = {}

    def column(h):
        if h not in cache:
            try:
                cache[h] = (grad_at(h) - grad_at(-h)) / (2 * h)
            except Exception:
                cache[h] = np.full(flat.shape, np.nan)
        return cache[h]

    unstable = None
    for e in range(flat.size):
        verdict, estimates = compare(
            flat[e], lambda h, e=e: float(column(h)[e]), xscale, 1e-4, 1e-5 * scale
        )
        if verdict == "wrong":
            return Result(
                "wrong_second",
                "hvp",
                f"s2s.hvp(f, args, tangents, wrt={tuple(case.wrt)}) element {e} of the flattened product is "
                f"{flat[e]!r}, central differences of the gradient along the tangents "
                f"{[float(f'{d:.10g}') for d in estimates]} (tangents {show(tangents)})",
                args=args,
            )
        if verdict == "unstable" and unstable is None:
            unstable = f"central differences of the gradient disagree: {[float(f'{d:.6g}') for d in estimates]}"
    if unstable:
        return Result("inconclusive", "hvp", unstable, args=args)
    return Result("ok", "hvp", args=args)
