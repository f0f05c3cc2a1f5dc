"""Property test: s2s's gradients of random straight-line numpy programs agree with
central finite differences (see program_generator.py for what is generated).

Each program is written to a real file (s2s reads source with inspect.getsource) as a
self-contained module: `f`, and the arguments `ARGS` it is checked at.  On a failure
the module text is printed, so it can be saved and reproduced with
`s2s.check_grad(f, *ARGS, wrt=(...))`.

Profiles: by default a bounded, derandomized one for CI; set
`S2S_HYPOTHESIS_PROFILE=thorough` for many more (random) examples.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import itertools
import linecache
import os
import traceback

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, reject, settings
from program_generator import Program, programs

import s2s
from s2s.shim import as_real

settings.register_profile(
    "s2s-programs-ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "s2s-programs-thorough",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)

_PROFILE = os.environ.get("S2S_HYPOTHESIS_PROFILE", "ci")
if _PROFILE not in ("ci", "thorough"):
    raise ValueError(
        f"S2S_HYPOTHESIS_PROFILE must be 'ci' or 'thorough', not {_PROFILE!r}"
    )
PROFILE = settings.get_profile(f"s2s-programs-{_PROFILE}")

_counter = itertools.count()


@pytest.fixture(scope="module")
def program_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("programs")


def load(source: str, directory) -> dict:
    """Import `source` from a file named by its hash: inspect.getsource sees exactly it,
    and an error raised in it has the same location each time hypothesis replays it."""
    digest = hashlib.sha1(source.encode()).hexdigest()[:16]
    path = directory / f"s2s_program_{digest}.py"
    path.write_text(source)
    linecache.checkcache(str(path))
    name = f"s2s_program_{digest}_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return vars(module)


def copy_args(args: tuple) -> tuple:
    return tuple(np.copy(a) if isinstance(a, np.ndarray) else a for a in args)


def same(a, b) -> bool:
    """Bitwise identical results (of the same type and shape)."""
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (
            type(a) is type(b)
            and len(a) == len(b)
            and all(same(x, y) for x, y in zip(a, b))
        )
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    return (
        type(a) is type(b)
        and a_arr.shape == b_arr.shape
        and a_arr.dtype == b_arr.dtype
        and a_arr.tobytes() == b_arr.tobytes()
    )


class GeneratedCodeError(Exception):
    """An error raised inside s2s-generated code (its traceback is in the message)."""


def stable(fn, *args, **kwargs):
    """fn(*args, **kwargs), re-raising an error raised inside s2s-generated code from
    here.  Generated modules are named `<s2s-generated f_grad #N>` with a counter, and
    hypothesis tells failures apart by where they were raised: it would take each
    replay for a new bug (FlakyFailure) and give up shrinking."""
    try:
        return fn(*args, **kwargs)
    except Exception as e:
        where = traceback.extract_tb(e.__traceback__)[-1].filename
        if not where.startswith("<s2s-generated"):
            raise
        detail = "".join(traceback.format_exception(e))
    raise GeneratedCodeError(detail)  # outside `except`: no unstable __context__


def check_program(program: Program, directory) -> None:
    source = program.module_source()
    ast.parse(source)
    namespace = load(source, directory)
    f, args, wrt = namespace["f"], namespace["ARGS"], program.wrt
    context = f"\n--- program ---\n{source}"

    # The program itself is in its safe domain: a finite scalar, inputs untouched.
    saved = copy_args(args)
    value = f(*args)
    assert np.ndim(value) == 0 and np.isfinite(value), f"bad program{context}"
    assert same(args, saved), f"the program changed its arguments{context}"

    g = s2s.grad(f, wrt=wrt)
    first = stable(g, *args)
    assert same(args, saved), f"the gradient changed its arguments{context}"
    assert isinstance(first, tuple) and len(first) == len(wrt)
    for name, grad, x in zip(wrt, first, args):
        assert np.shape(grad) == np.shape(x), f"d{name} has the wrong shape{context}"
        assert np.all(np.isfinite(grad)), f"d{name} is not finite{context}"

    # Deterministic: the same gradient on a second call and from a second transform.
    assert same(stable(g, *args), first), f"second call differs{context}"
    again = s2s.grad(f, wrt=wrt)
    assert again.source == g.source, f"generated source differs{context}"
    assert same(stable(again, *args), first), f"second transform differs{context}"

    # The code for any shapes agrees with the code specialized for these ones.
    generic = stable(g.generic, *(as_real(a) for a in args))
    for a, b in zip(generic, first):
        assert np.shape(a) == np.shape(b), f"generic code: another shape{context}"
        assert np.allclose(a, b, rtol=1e-12, atol=1e-15), f"generic code{context}"

    v, grads = stable(s2s.value_and_grad(f, wrt=wrt), *args)
    assert same(grads, first), f"value_and_grad's gradient differs{context}"
    assert np.allclose(v, value, rtol=1e-12, atol=0), f"value differs{context}"

    try:
        stable(s2s.check_grad, f, *args, wrt=wrt)
    except s2s.GradientMismatchError as e:
        if not smooth(f, args):
            raise NotSmooth(str(e)) from None
        raise AssertionError(f"{e}{context}\n--- gradient ---\n{g.source}") from None


class NotSmooth(Exception):
    """Central differences cannot judge the gradient: f jumps near the point (a
    branch whose condition is zero up to rounding, such as tanh(-y) + tanh(y) > 0)."""


def smooth(f, args: tuple, seed: int = 0) -> bool:
    """Whether central differences of f along a random direction (of every argument)
    agree for two step sizes ten times apart: they do wherever f is smooth there."""
    rng = np.random.default_rng(seed)
    moved = range(len(args))
    directions = {i: rng.standard_normal(np.shape(args[i])) for i in moved}

    def at(t):
        shifted = list(args)
        for i in moved:
            shifted[i] = np.asarray(args[i], dtype=float) + t * directions[i]
            if np.ndim(args[i]) == 0 and not isinstance(args[i], np.ndarray):
                shifted[i] = float(shifted[i])
        return float(stable(f, *shifted))

    slopes = [(at(h) - at(-h)) / (2 * h) for h in (1e-6, 1e-5)]
    return abs(slopes[0] - slopes[1]) <= 1e-6 + 1e-3 * abs(slopes[1])


@PROFILE
@given(program=programs())
def test_random_program_gradients(program, program_dir):
    note(f"program:\n{program.module_source()}")
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        try:
            check_program(program, program_dir)
        except NotSmooth as e:
            note(f"not smooth at the point, central differences cannot judge: {e}")
            reject()


def test_module_source_round_trips(tmp_path):
    """A hand-written program in the generator's format loads and checks."""
    from program_generator import Param

    program = Program(
        "f",
        [Param("x", (2, 3), False), Param("y", (), True)],
        [
            "    v1 = np.maximum(x, y) * np.transpose(x, (1, 0)).sum(axis=1)",
            "    return np.sum(v1)",
        ],
        (np.arange(6.0).reshape(2, 3) / 7 - 0.3, 0.123),
    )
    check_program(program, tmp_path)
