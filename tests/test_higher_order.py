"""Second derivatives: s2s differentiates the code it generates.

`s2s.grad(s2s.grad(f))` reads the generated gradient back (its tapes, reversed
loops and runtime helpers included) and differentiates it.  Checked against closed
forms, against central differences of the first derivative on functions with loops,
branches and helper calls, for mixed partials, through a gradient bound to a
module-level name and called from another function, and on random programs from the
hypothesis program generator.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import re
import textwrap

import numpy as np
import pytest
from hypothesis import given, note, settings
from program_generator import Program, programs
from test_programs import PROFILE, load, stable

import s2s

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

H = 1e-6


def central(f, x, h=H):
    return (f(x + h) - f(x - h)) / (2 * h)


def helper(u, k):
    return np.tanh(u) * k + u**2 / (1 + k)


# --- closed forms ----------------------------------------------------------------------


def sine(x):
    return np.sin(3 * x)


def quartic(x):
    return x**4 - 2 * x**3 + x


def log_of_square(x):
    return math.log(1 + x * x)


def power_series(x, n=5):
    total = 0.0
    term = 1.0
    for k in range(1, n):
        term = term * x / k
        total = total + term
    return total


def rational(x):
    return x / (1 + x * x)


CLOSED_FORMS = [
    (sine, lambda x: -9 * math.sin(3 * x)),
    (quartic, lambda x: 12 * x**2 - 12 * x),
    (log_of_square, lambda x: 2 * (1 - x * x) / (1 + x * x) ** 2),
    (power_series, lambda x: 1 + x + x**2 / 2),  # the truncated series of exp - 1
    (rational, lambda x: (2 * x**3 - 6 * x) / (1 + x * x) ** 3),
]


@pytest.mark.parametrize("f, second", CLOSED_FORMS, ids=lambda v: v.__name__)
def test_second_derivative_closed_forms(f, second):
    gg = s2s.grad(s2s.grad(f))
    for x in (-1.3, 0.2, 0.9, 2.4):
        assert gg(x) == pytest.approx(second(x), rel=1e-12, abs=1e-12)
        assert s2s.hvp(f, (x,), (1.0,)) == pytest.approx(second(x), rel=1e-12)


def test_third_derivative():
    ggg = s2s.grad(s2s.grad(s2s.grad(quartic)))
    for x in (-1.0, 0.5, 2.0):
        assert ggg(x) == pytest.approx(24 * x - 12, rel=1e-12)
    assert s2s.grad(s2s.grad(s2s.grad(sine)))(0.4) == pytest.approx(
        -27 * math.cos(1.2), rel=1e-12
    )


# --- functions the tests have not seen before: loops, branches, helpers ----------------


def while_with_break(x):
    s = x
    k = 0
    while s < 10.0:
        s = s * 1.5 + x * x
        k = k + 1
        if k > 3:
            break
    return s * x


def for_with_branches(x, n=5):
    s = 0.0
    for i in range(1, n):
        if s > 0.5:
            s = s + np.sin(x * i) * s
        elif i % 2 == 0:
            continue
        else:
            s = s + helper(x, i) ** 2
    return s


def nested_loops_and_early_return(x):
    acc = x
    for i in range(3):
        j = 0
        while j < i + 1:
            acc = acc * np.cos(acc * 0.3) + 0.1 * j
            j = j + 1
    if acc > 1.0:
        return np.exp(-acc) * x
    return acc**3


def zero_trip_loops(x, n=0):
    for i in range(n):
        x = x * 2.0
        if x > 5.0:
            break
    k = 0
    while k < n:
        x = x + 1.0
        k = k + 1
    return np.tanh(x) * x


def vector_inside(x):
    v = np.arange(3.0) + x
    m = np.outer(v, v)
    return np.sum(np.tanh(m @ v)) + np.max(v * np.sin(v))


UNSEEN = [
    while_with_break,
    for_with_branches,
    nested_loops_and_early_return,
    zero_trip_loops,
    vector_inside,
]


@pytest.mark.parametrize("f", UNSEEN, ids=lambda f: f.__name__)
def test_second_derivative_against_differences_of_the_first(f):
    g = s2s.grad(f)
    gg = s2s.grad(g)
    for x in (-1.7, -0.4, 0.35, 0.8, 1.55, 3.1):
        numeric = central(g, x)
        assert gg(x) == pytest.approx(numeric, rel=1e-6, abs=1e-7), x
        assert s2s.hvp(f, (x,), (1.0,)) == pytest.approx(gg(x), rel=1e-12, abs=1e-14)


def test_the_second_derivative_sees_both_sides_of_a_branch():
    """for_with_branches takes different branches at different x: the points above
    cover both (a wrong branch would show as a mismatch there)."""

    def first_branch(x):  # the condition at i = 1 is s > 0.5 with s = 0
        return helper(x, 1) ** 2 > 0.5

    assert {first_branch(x) for x in (-1.7, 0.35, 1.55)} == {True, False}


# --- mixed partials, names, module-level gradients --------------------------------------


def mixed(x, y):
    return np.sin(x * y) + x**2 * np.exp(y)


def test_mixed_partials_keep_the_parameter_names():
    dx = s2s.grad(mixed, wrt="x")
    assert list(inspect.signature(dx).parameters) == ["x", "y"]
    dxy = s2s.grad(dx, wrt="y")
    dyx = s2s.grad(s2s.grad(mixed, wrt="y"), wrt="x")
    for x, y in [(0.3, -0.7), (1.2, 0.4)]:
        exact = math.cos(x * y) - x * y * math.sin(x * y) + 2 * x * math.exp(y)
        assert dxy(x, y) == pytest.approx(exact, rel=1e-12)
        assert dyx(x, y) == pytest.approx(exact, rel=1e-12)
        assert s2s.grad(dx, wrt="x")(x, y) == pytest.approx(
            -(y**2) * math.sin(x * y) + 2 * math.exp(y), rel=1e-12
        )
    both = s2s.grad(dx, wrt=("x", "y"))(0.3, -0.7)
    assert both == pytest.approx((s2s.grad(dx, wrt="x")(0.3, -0.7), dxy(0.3, -0.7)))


_MODULE = """
import numpy as np

import s2s


def potential(q, k):
    return 0.5 * k * np.sum(q * q) + np.sum(np.cos(q))


force = s2s.grad(potential, wrt="q")


def work(q, k, direction):
    return np.sum(force(q, k) * direction)


def work_of_negated(q, k, direction):
    f = -force(q, k)
    return np.sum(f * direction) * k
"""


def test_a_gradient_bound_to_a_module_name_is_called_from_another_function(tmp_path):
    """`force` is a module-level name bound to an s2s gradient; `work` calls it and
    is differentiated: the gradient's generated code is inlined."""
    namespace = load(_MODULE, tmp_path)
    rng = np.random.default_rng(11)
    q, direction = rng.standard_normal(4), rng.standard_normal(4)
    k = 1.7
    dq = s2s.grad(namespace["work"], wrt="q")(q, k, direction)
    np.testing.assert_allclose(dq, k * direction - np.cos(q) * direction, rtol=1e-12)
    s2s.check_grad(namespace["work"], q, k, direction, wrt=("q", "k", "direction"))
    s2s.check_grad(namespace["work_of_negated"], q, k, direction, wrt=("q", "k"))


def test_generated_source_is_in_the_subset_and_held_in_memory():
    g = s2s.grad(for_with_branches)
    generated = g.__s2s_source__
    assert inspect.getsource(generated).startswith("def for_with_branches_grad(")
    assert not os.path.exists(inspect.getsourcefile(generated) or "")
    source = s2s.grad(g).source
    assert "_tape.pop()" in source and "for i in reversed(steps):" in source


# --- what s2s refuses or cannot do yet ------------------------------------------------------


def product(x):
    return np.prod(x * np.arange(1.0, 4.0))


def test_a_second_derivative_through_prod_is_refused_clearly():
    g = s2s.grad(lambda_free_product_sum)
    with pytest.raises(s2s.NotTwiceDifferentiableError) as raised:
        s2s.grad(g)
    assert "np.prod" in str(raised.value)
    assert raised.value.filename is not None
    with pytest.raises(s2s.NotTwiceDifferentiableError):
        s2s.hvp(product, (np.ones(3),), (np.ones(3),))
    # Forward mode alone does not need it.
    value, tangent = s2s.jvp(product, (np.ones(3),), (np.ones(3),))
    assert tangent == pytest.approx(np.sum(s2s.grad(product)(np.ones(3))))


def lambda_free_product_sum(x):
    return np.prod(np.stack([x, x * x, x + 2.0]))


def array_input(x):
    return np.sum(x * x)


def test_grad_of_a_gradient_needs_a_scalar_result():
    gg = s2s.grad(s2s.grad(array_input))
    with pytest.raises(s2s.NonScalarOutputError):
        gg(np.ones(3))
    with pytest.raises(s2s.UnsupportedSyntaxError, match="tuple"):
        s2s.grad(s2s.grad(mixed, wrt=("x", "y")))


def _unbroadcast(g, like):
    """A user's function that shares a helper's name: differentiated as written."""
    return g * 2.0 + like


def uses_a_lookalike(x):
    return _unbroadcast(x, x) ** 2


def test_a_function_named_like_a_helper_is_the_users_own():
    assert s2s.grad(uses_a_lookalike)(0.5) == pytest.approx(2 * 1.5 * 3.0)


def tape_in_user_code(x, n=4):
    saved = []
    y = x
    for i in range(n):
        saved.append((y, i))
        y = np.sin(y) * 1.5
    total = y
    for i in reversed(range(n)):
        y_i, j = saved.pop()
        total = total + y_i * j
    return total


def test_lists_used_as_tapes_in_user_code():
    g = s2s.grad(tape_in_user_code)
    s2s.check_grad(tape_in_user_code, 0.4)
    assert s2s.grad(g)(0.4) == pytest.approx(central(g, 0.4), rel=1e-6)


_REJECTED_TAPES = {
    "as a value": (
        "saved = []\nsaved.append(x)\nreturn len(saved) * x",
        "used as a value",
    ),
    "in a loop": (
        "for i in range(2):\n    saved = []\nreturn x",
        "inside a branch or a loop",
    ),
    "arity": (
        "saved = []\nsaved.append((x, x))\na = saved.pop()\nreturn a",
        "holds 2 value(s) per append, here 1",
    ),
    "pop first": (
        "saved = []\na = saved.pop()\nreturn a",
        "before anything is appended",
    ),
    "two arguments": ("saved = []\nsaved.append(x, x)\nreturn x", "append() takes one"),
}


@pytest.mark.parametrize("name", sorted(_REJECTED_TAPES))
def test_lists_are_only_tapes(name, tmp_path):
    body, message = _REJECTED_TAPES[name]
    source = "def f(x):\n" + textwrap.indent(body, "    ") + "\n"
    f = load(source, tmp_path)["f"]
    with pytest.raises(s2s.UnsupportedSyntaxError, match=re.escape(message)):
        s2s.grad(f)


# --- random programs ----------------------------------------------------------------------


def second_order_source(program: Program) -> str:
    """For each parameter p: `dp = s2s.grad(f, wrt=p)` and `second_p(..., w)` =
    sum(dp(...) * w), a function of all parameters that calls the gradient."""
    params = ", ".join(p.name for p in program.params)
    parts = ["\nimport s2s\n"]
    for p in program.params:
        parts.append(
            f"\nd{p.name} = s2s.grad(f, wrt={p.name!r})\n\n\n"
            f"def second_{p.name}({params}, w):\n"
            f"    return np.sum(d{p.name}({params}) * w)\n"
        )
    return "".join(parts)


@pytest.fixture(scope="module")
def program_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("second-order-programs")


@PROFILE
@given(program=programs(straight_line=True))
def test_random_programs_second_derivatives(program, program_dir):
    """Every second derivative of a random straight-line program (each gradient,
    weighted, differentiated with respect to every parameter) against central
    differences of the gradient."""
    check_second_derivatives(program, program_dir)


@settings(PROFILE, max_examples=max(PROFILE.max_examples // 3, 1))
@given(program=programs())
def test_random_programs_with_control_flow_second_derivatives(program, program_dir):
    """The same with if, for (break, continue, empty ranges) and while: fewer
    examples, as each takes longer."""
    check_second_derivatives(program, program_dir)


def check_second_derivatives(program: Program, program_dir) -> None:
    source = program.module_source() + second_order_source(program)
    note(source)
    namespace = load(source, program_dir)
    args = namespace["ARGS"]
    rng = np.random.default_rng(0)
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        for p in program.params:
            first = stable(namespace[f"d{p.name}"], *args)
            w = rng.uniform(-1.0, 1.0, np.shape(first))
            w = float(w) if p.pyfloat else w
            try:
                stable(
                    s2s.check_grad,
                    namespace[f"second_{p.name}"],
                    *args,
                    w,
                    wrt=program.wrt,
                )
            except s2s.GradientMismatchError as e:
                raise AssertionError(f"{e}\n--- program ---\n{source}") from None


# --- files read without running them: the command line ----------------------------------

_PROJECT_MODULE = """
import numpy as np

import s2s
from s2s import grad as G


def potential(q, k):
    return 0.5 * k * np.sum(q * q) + np.sum(np.cos(q))


force = s2s.grad(potential, wrt="q")


@G(wrt="x")
def slope(x, a):
    return np.sin(a * x) * x


def work(q, k, direction):
    return np.sum(force(q, k) * direction)


def bend(x, a):
    return slope(x, a) * a
"""


def test_the_command_line_reads_gradients_bound_to_names_as_python_does(tmp_path):
    """Read without running the file, `force` and the decorated `slope` are the
    gradients they are when it runs (not the functions they were made from): the
    generated code is made in memory and inlined.  The command line's module is the
    one `grad` then finds."""
    from process_support import environment, python
    from process_support import s2s as run_s2s

    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "pot.py").write_text(_PROJECT_MODULE)
    for target, wrt, shapes in (
        ("pot.py:work", "q,k", ["--shape", "q=4,direction=4"]),
        ("pot.py:bend", "x,a", []),
    ):
        checked = run_s2s("check", target, "--wrt", wrt, *shapes, cwd=tmp_path)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        written = run_s2s("generate", target, "--wrt", wrt, cwd=tmp_path)
        assert written.returncode == 0, written.stderr
    code = (
        "import json, s2s, pot\n"
        "a = s2s.grad(pot.work, wrt=('q', 'k'))\n"
        "b = s2s.grad(pot.bend, wrt=('x', 'a'))\n"
        "print(json.dumps([a.provenance, b.provenance, b(0.3, 1.7)]))\n"
    )
    result = python(code, cwd=tmp_path, env=environment(tmp_path / "cache"))
    assert result.returncode == 0, result.stderr
    provenance_a, provenance_b, (dx, da) = json.loads(result.stdout)
    assert (provenance_a, provenance_b) == ("committed", "committed")
    x, a = 0.3, 1.7  # bend = (sin(a x) + a x cos(a x)) a
    assert dx == pytest.approx(
        a * (2 * a * math.cos(a * x) - a * a * x * math.sin(a * x)), rel=1e-12
    )
    assert da == pytest.approx(
        math.sin(a * x) + 3 * a * x * math.cos(a * x) - (a * x) ** 2 * math.sin(a * x),
        rel=1e-12,
    )


def test_every_runtime_helper_copied_into_a_module_is_its_primitive():
    """The helpers as generated modules hold them (astor's text, and black's) are
    read back as the primitives they implement, so a gradient can be differentiated
    again whichever helpers it calls."""
    import ast

    from s2s import runtime
    from s2s.emit import module as emit
    from s2s.frontend import runtime_helper
    from s2s.primitives import HELPERS

    text = emit.unparse(ast.Module(runtime.with_dependencies(set(HELPERS)), []))
    for version in (text, emit.format_source(text)):
        found = {
            node.name: runtime_helper(node)
            for node in ast.parse(version).body
            if isinstance(node, ast.FunctionDef)
        }
        assert {name: found.get(name) for name in HELPERS} == HELPERS
