"""The numba backend: the gradient numba compiles equals the numpy backend's (which the
rest of the suite checks against central differences), and central differences too.

Functions that loop are compiled (a Python wrapper checks the arguments and reads
module data; the body runs under numba.njit); straight-line functions stay Python.
Code numba cannot compile runs as plain Python after one warning naming the line.
Timings are in benchmarks/, never here."""

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.special

import s2s
from s2s.backends import BackendError, CompiledFallbackWarning
from s2s.testing import numeric_gradient

pytest.importorskip("numba")

STEPS = 40


def scalar_sin_loop(x: float):
    s = 0.0
    for i in range(STEPS):
        s = s + np.sin(x * i) * 0.001
    return s


def scalar_math_loop(x):
    s = 0.0
    for i in range(STEPS):
        s = s + math.sin(x * i) * math.exp(-0.01 * i)
    return s


def euler(k, y0, steps: int = 50):
    """dy/dt = -k y + sin(t), explicit Euler."""
    y, h = y0, 0.02
    for n in range(steps):
        y = y + h * (-k * y + math.sin(n * h))
    return y * y


def rk4(a, y0):
    """The logistic equation dy/dt = a y (1 - y), classical Runge-Kutta."""
    h, y = 0.05, y0
    for _ in range(30):
        k1 = a * y * (1 - y)
        k2 = a * (y + h / 2 * k1) * (1 - (y + h / 2 * k1))
        k3 = a * (y + h / 2 * k2) * (1 - (y + h / 2 * k2))
        k4 = a * (y + h * k3) * (1 - (y + h * k3))
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


def newton_sqrt(a):
    """sqrt(a) by Newton's method, stopping when the step is small."""
    x = a
    while True:
        step = (x * x - a) / (2 * x)
        x = x - step
        if abs(step) < 1e-12:
            break
    return x


def branching_loop(x, y):
    total = 0.0
    for i in range(25):
        if (i % 3) == 0:
            total = total + x * y * i
        elif x > 0.5:
            total = total + np.tanh(x - y)
        else:
            total = total - y * y
    return total


def nested_loops(x):
    s = 0.0
    for i in range(6):
        for j in range(i):
            s = s + np.cos(x * (i - j)) / (j + 1)
    return s


def rnn(Wx, Wh, b, xs: "T batch d", h0: "batch h"):
    """A tanh RNN over time, array state."""
    h = h0
    loss = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
        loss = loss + np.sum(h * h)
    return loss


def row_sums(x):
    """A loop over the rows of an array, indexing and reducing."""
    total = 0.0
    for i in range(x.shape[0]):
        total = total + np.sum(x[i] ** 2) * (i + 1)
    return total


def straight_line(a, b, c):
    return 3 * (a + b * c)


def counted_down(x):
    s = 0.0
    for i in reversed(range(2, 30, 3)):
        s = s * 0.9 + np.sin(x * i)
    return s


SAMPLES = np.linspace(0.0, 1.0, 50)


def line_fit(a, b):
    """Least squares of a line against sin over module-level data, in a loop."""
    loss = 0.0
    for i in range(len(SAMPLES)):
        r = a * SAMPLES[i] + b - math.sin(SAMPLES[i])
        loss = loss + r * r
    return loss / len(SAMPLES)


def bouncing(v0, g=9.81):
    """Height of a ball after 3 s of bounces: a while loop with a branch."""
    h, v, t = 0.0, v0, 0.0
    while t < 3.0:
        v = v - g * 0.01
        h = h + v * 0.01
        if h < 0.0:
            h = -h
            v = -0.9 * v
        t = t + 0.01
    return h


CASES = [
    (line_fit, (0.5, -0.2), (0, 1)),
    (bouncing, (2.0,), 0),
    (scalar_sin_loop, (0.7,), 0),
    (scalar_math_loop, (1.3,), 0),
    (euler, (0.8, 1.5), (0, 1)),
    (rk4, (1.7, 0.1), (0, 1)),
    (newton_sqrt, (2.0,), 0),
    (branching_loop, (0.3, 1.2), (0, 1)),
    (branching_loop, (0.8, -0.4), (0, 1)),
    (nested_loops, (0.4,), 0),
    (counted_down, (0.9,), 0),
]


def _arrays(rng):
    T, batch, d, h = 5, 3, 4, 6
    return (
        rng.standard_normal((d, h)) * 0.3,
        rng.standard_normal((h, h)) * 0.3,
        rng.standard_normal(h) * 0.1,
        rng.standard_normal((T, batch, d)),
        rng.standard_normal((batch, h)),
    )


def _same(got, want):
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def _compiled_without_fallback(g, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompiledFallbackWarning)
        return g(*args)


@pytest.mark.parametrize(
    "f, args, wrt", CASES, ids=lambda c: getattr(c, "__name__", "")
)
def test_compiled_gradient_equals_numpy_backend_and_central_differences(f, args, wrt):
    fast = s2s.grad(f, wrt=wrt, backend="numba")
    got = _compiled_without_fallback(fast, *args)
    _same(got, s2s.grad(f, wrt=wrt)(*args))
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    got = got if isinstance(got, tuple) else (got,)
    for k, g in zip(positions, got):
        np.testing.assert_allclose(
            g, numeric_gradient(f, list(args), k), rtol=1e-6, atol=1e-8
        )


def test_value_and_gradient_of_a_loop_over_arrays():
    args = _arrays(np.random.default_rng(0))
    fast = s2s.value_and_grad(rnn, wrt=(0, 1, 2), backend="numba")
    value, grads = _compiled_without_fallback(fast, *args)
    want_value, want_grads = s2s.value_and_grad(rnn, wrt=(0, 1, 2))(*args)
    assert value == pytest.approx(want_value, rel=1e-13)
    _same(grads, want_grads)
    for k, g in enumerate(grads):
        np.testing.assert_allclose(
            g, numeric_gradient(rnn, list(args), k), rtol=1e-6, atol=1e-8
        )


def relaxation(p, x: float):
    """Parameters in a dict, read inside a loop over numbers."""
    y = x
    for _ in range(30):
        y = y - p["rate"] * (y - p["target"]) * 0.1
    return (y - 1.0) ** 2


def test_a_dict_of_parameters_is_read_by_the_wrapper_and_rebuilt_by_it():
    p = {"rate": 0.5, "target": 2.0}
    fast = s2s.grad(relaxation, backend="numba")
    got = _compiled_without_fallback(fast, p, 0.3)
    want = s2s.grad(relaxation)(p, 0.3)
    assert type(got) is dict and list(got) == ["rate", "target"]
    _same(tuple(got.values()), tuple(want.values()))
    source = fast.source_for(p, 0.3)
    assert 'rate = p["rate"]' in source
    assert 'return {"rate": drate, "target": dtarget}' in source
    assert "def relaxation_grad_compiled(x, rate, target):" in source


def test_loop_over_rows_of_an_unannotated_array():
    x = np.random.default_rng(1).standard_normal((4, 3))
    got = s2s.grad(row_sums, backend="numba")(x)
    _same(got, s2s.grad(row_sums)(x))
    np.testing.assert_allclose(got, numeric_gradient(row_sums, [x], 0), rtol=1e-6)


@pytest.mark.parametrize(
    "x", [np.float32(0.7), 2, np.array(0.7)], ids=["float32", "int", "0-d array"]
)
def test_other_kinds_of_numbers(x):
    got = s2s.grad(scalar_sin_loop, backend="numba")(x)
    want = s2s.grad(scalar_sin_loop)(x)
    narrow = np.asarray(x).dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-6 if narrow else 1e-12)
    assert np.asarray(got).dtype == np.asarray(want).dtype


def test_an_empty_loop():
    assert s2s.grad(euler, backend="numba")(0.8, 1.5, 0) == 0.0
    assert s2s.grad(euler, wrt=1, backend="numba")(0.8, 1.5, 0) == 3.0


def test_the_module_is_the_numpy_code_plus_a_decorator_and_a_wrapper():
    source = s2s.grad(scalar_sin_loop, backend="numba").source
    assert "import numba" in source
    wrapper = source[source.index("def scalar_sin_loop_grad(") :]
    wrapper = wrapper[: wrapper.index("@numba.njit")]
    # The wrapper checks the argument and reads the module's data, then calls the
    # compiled body with it.
    assert "_check_shapes(x," in wrapper
    assert "STEPS = " in wrapper
    assert "return scalar_sin_loop_grad_compiled(x, STEPS)" in wrapper
    kernel = source[source.index("def scalar_sin_loop_grad_compiled(x, STEPS):") :]
    assert "for i in _reversed_range(range(STEPS)):" in kernel
    assert "reversed(" not in kernel.replace("_reversed_range(", "")
    assert "test_numba.py:" in kernel  # each line still names its source line


def test_straight_line_code_and_loops_over_arrays_are_not_compiled():
    # Their work is numpy calls on arrays, already compiled; numba adds its call.
    for f in (straight_line, rnn):
        source = s2s.grad(f, backend="numba").source
        assert "import numba" not in source and "@numba" not in source
    assert s2s.grad(straight_line, wrt=(0, 1, 2), backend="numba")(1.0, 2.0, 3.0) == (
        3.0,
        9.0,
        6.0,
    )


def dict_in_loop(x):
    weights = {"a": 1.5, "b": -0.5}
    s = 0.0
    for i in range(4):
        s = s + weights["a"] * np.sin(x * i) + weights["b"]
    return s


def logistic_sum(x):
    s = 0.0
    for i in range(3):
        s = s + math.sin(scipy.special.expit(x * i))
    return s


@pytest.fixture
def expit_rule():
    s2s.register(scipy.special.expit, lambda g, y, x: g * y * (1 - y))
    yield
    s2s.unregister(scipy.special.expit)


def test_what_numba_cannot_compile_runs_as_python_with_one_warning(expit_rule):
    # numba compiles no call into scipy.special: the loop runs as plain Python.
    g = s2s.grad(logistic_sum, backend="numba")
    want = s2s.grad(logistic_sum)(0.4)
    with pytest.warns(CompiledFallbackWarning) as caught:
        got = g(0.4)
    np.testing.assert_allclose(got, want, rtol=1e-13)
    np.testing.assert_allclose(got, numeric_gradient(logistic_sum, [0.4], 0), rtol=1e-7)
    message = str(caught[0].message)
    assert "logistic_sum_grad at test_numba.py:" in message
    assert "numpy backend" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(g(0.4), want, rtol=1e-13)  # said once


def test_a_runtime_error_of_the_compiled_code_is_not_hidden():
    g = s2s.grad(scalar_sin_loop, backend="numba")
    with pytest.raises(s2s.S2SError, match="shape"):
        g(np.ones(3))


def test_unknown_backend():
    with pytest.raises(BackendError, match="unknown backend 'numbaa'") as e:
        s2s.grad(scalar_sin_loop, backend="numbaa")
    assert "numba" in e.value.hint


def test_a_missing_library_is_said_with_the_extra_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "numba" else real(name, *a),
    )
    with pytest.raises(BackendError, match="needs numba") as e:
        s2s.grad(scalar_sin_loop, backend="numba")
    assert "s2s[numba]" in e.value.hint


def test_command_line_module_imports_and_runs_alone(tmp_path):
    source = tmp_path / "model.py"
    source.write_text(
        "import numpy as np\n\n"
        "def loop(x: float, n: int):\n"
        "    s = 0.0\n"
        "    for i in range(n):\n"
        "        s = s + np.sin(x * i) / (i + 1)\n"
        "    return s\n"
    )
    out = tmp_path / "gen"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "s2s",
            "generate",
            f"{source}:loop",
            "--backend",
            "numba",
            "-o",
            str(out),
        ],
        check=True,
        cwd=tmp_path,
    )
    module = (out / "model_loop.py").read_text()
    assert "--backend numba" in module.splitlines()[1]
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import model_loop; print(repr(model_loop.loop_grad(0.3, 7)))",
        ],
        check=True,
        cwd=out,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": ""},
    )
    want = sum(math.cos(0.3 * i) * i / (i + 1) for i in range(7))
    assert float(run.stdout) == pytest.approx(want, rel=1e-13)


# --- random programs: the numba backend agrees with the numpy backend -----------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from program_generator import programs  # noqa: E402


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(program=programs())
def test_random_programs_agree_with_the_numpy_backend(program, tmp_path):
    source = program.module_source()
    path = tmp_path / f"numba_program_{abs(hash(source))}.py"
    path.write_text(source)
    namespace = {}
    exec(compile(source, str(path), "exec"), namespace)
    f, args, wrt = namespace["f"], namespace["ARGS"], program.wrt
    import linecache

    linecache.checkcache(str(path))
    want = s2s.grad(f, wrt=wrt)(*args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompiledFallbackWarning)
        got = s2s.grad(f, wrt=wrt, backend="numba")(*args)
    for g, w in zip(got, want):
        # numba calls the C library's sin and exp, numpy its own: a few ulps apart.
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12, err_msg=source)


def test_a_checkpointed_loop_is_not_compiled_and_agrees():
    fast = s2s.grad(rk4, wrt=(0, 1), backend="numba", checkpoint=3)
    assert "@numba" not in fast.source
    _same(fast(1.7, 0.1), s2s.grad(rk4, wrt=(0, 1))(1.7, 0.1))
