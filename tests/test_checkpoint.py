"""Checkpointed loops (issue 21): `s2s.grad(f, checkpoint=k)` keeps at most k loop
states per loop and recomputes the other iterations.  The gradients agree with the
plain gradient to rounding and with central differences; the schedule is binomial
(as few recomputations as any schedule with k snapshots); peak memory falls."""

import functools
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import s2s
from s2s.errors import CheckpointError
from s2s.runtime import checkpoints

# --- the functions ---------------------------------------------------------------------


def rnn(Wx, Wh, b, x, h0):
    h = h0
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ Wx + h @ Wh + b)
    return np.sum(h**2)


def rows(W, X, h0):
    h = h0
    for row in X:
        h = np.tanh(W @ h + row)
    return np.sum(h * h)


def rhs(y, k):
    return -k * y + 0.3 * np.sin(y)


def rk4(y0, k, n):
    y = y0
    dt = 0.05
    for i in range(n):
        k1 = rhs(y, k)
        k2 = rhs(y + dt / 2 * k1, k)
        k3 = rhs(y + dt / 2 * k2, k)
        k4 = rhs(y + dt * k3, k)
        y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return np.sum(y**2)


def euler(y0, k, n):
    y = y0
    energy = 0.0
    for i in range(n):
        y = y + 0.1 * rhs(y, k)
        energy = energy + np.sum(y * y) * 0.1
    return energy + np.sum(y)


def while_break(x, a, n):
    t = 0
    while t < n:
        x = np.cos(x * a) + 0.5 * x
        t = t + 1
        if np.sum(x) > 2.5:
            break
    return np.sum(x**2)


def while_header(x, n):
    """The body reads what the loop's condition computes (np.sum(x), once)."""
    while np.sum(x) < n:
        x = x * 1.1 + np.sum(x) * 0.01 + np.sin(x)
    return np.sum(x**2)


def for_break(x, a, n):
    for i in range(n):
        x = np.sin(x * a) + x
        if np.max(x) > 3.0:
            break
    return np.sum(x)


def branches(x, k, n):
    s = 0.0
    for i in range(n):
        x = x + 0.1 * np.sin(k * x)
        if np.sum(x) > 0.5:
            s = s + np.sum(x**2)
        else:
            s = s - np.sum(x) * k
    return s + np.sum(x)


def backwards(x, a, n):
    for i in reversed(range(n)):
        x = np.sin(x * a) + 0.1 * i * x
    return np.sum(x)


def nested(x, W, n):
    for i in range(n):
        for j in range(3):
            x = np.tanh(W @ x) + 0.1 * x
    return np.sum(x)


def two_loops(x, a, n):
    for i in range(n):
        x = np.sin(x) * a
    y = x * 2.0
    for i in range(n):
        y = y * np.cos(y) + a
    return np.sum(y)


def filled(x):
    y = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        y[i] = np.sin(x[i]) * (1.0 + np.sum(y))
    return np.sum(y**2)


rng = np.random.default_rng(21)
V = rng.normal(size=4)
M = rng.normal(size=(4, 4)) * 0.4


def rnn_args(T):
    r = np.random.default_rng(T)
    return (
        r.normal(size=(3, 4)) * 0.5,
        r.normal(size=(4, 4)) * 0.5,
        r.normal(size=4),
        r.normal(size=(T, 2, 3)),
        r.normal(size=(2, 4)),
    )


CASES = {
    "rnn": (rnn, lambda T: rnn_args(T), (0, 1, 2)),
    "rows": (rows, lambda T: (M, rng.normal(size=(T, 4)), V), (0, 1, 2)),
    "rk4": (rk4, lambda T: (V, 0.7, T), (0, 1)),
    "euler": (euler, lambda T: (V * 0.3, 1.3, T), (0, 1)),
    "while_break": (while_break, lambda T: (V * 0.2, 0.8, T), (0, 1)),
    "while_header": (while_header, lambda T: (V * 0.1 + 0.3, 0.5 * T), (0,)),
    "for_break": (for_break, lambda T: (V * 0.2, 1.1, T), (0, 1)),
    "branches": (branches, lambda T: (V * 0.1, 1.2, T), (0, 1)),
    "nested": (nested, lambda T: (V, M, T), (0, 1)),
    "backwards": (backwards, lambda T: (V * 0.2, 0.8, T), (0, 1)),
    "two_loops": (two_loops, lambda T: (V, 0.9, T), (0, 1)),
}


@functools.lru_cache(maxsize=None)
def gradient(name, checkpoint=None):
    f, _, wrt = CASES[name]
    return s2s.grad(f, wrt=wrt, checkpoint=checkpoint)


def agree(got, want):
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-13)


# --- gradients -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("k", [1, 2, 3, "auto"])
def test_checkpointed_gradient_is_the_plain_one_to_rounding(name, k):
    """Trip counts 0, 1, k, k + 1, fewer than k and many more than k."""
    _, make, _ = CASES[name]
    counts = {0, 1, 2, 3, 4, 9, 23}
    if isinstance(k, int):
        counts |= {k, k + 1}
    for T in sorted(counts):
        args = make(T)
        agree(gradient(name, k)(*args), gradient(name)(*args))


def central_differences(f, args, wrt, h=1e-6):
    """The gradient of f with respect to the arguments at `wrt`, element by
    element, by central differences in float64."""
    found = []
    for i in wrt:
        x = np.asarray(args[i], dtype=float)
        grad = np.zeros_like(x)
        for j in np.ndindex(x.shape):
            step = h * max(1.0, abs(float(x[j])))
            up, down = x.copy(), x.copy()
            up[j] += step
            down[j] -= step
            moved = [list(args), list(args)]
            moved[0][i] = up if x.ndim else float(up)
            moved[1][i] = down if x.ndim else float(down)
            grad[j] = (f(*moved[0]) - f(*moved[1])) / (2 * step)
        found.append(grad)
    return found


@pytest.mark.parametrize("name", sorted(CASES))
def test_checkpointed_gradient_against_central_differences(name):
    f, make, wrt = CASES[name]
    args = make(11)
    numeric = central_differences(f, args, wrt)
    for got, want in zip(gradient(name, 2)(*args), numeric):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_a_while_loop_that_breaks_early_and_one_that_runs_out():
    for x in (V * 0.2, V * 0.9):  # the second breaks after a few trips
        for n in (0, 1, 5, 40):
            agree(
                gradient("while_break", 2)(x, 0.8, n),
                gradient("while_break")(x, 0.8, n),
            )


def test_an_array_filled_in_the_loop_is_not_updated_in_place_under_a_kept_state():
    """`y[i] = v` writes into y's array in place in the plain gradient; a kept
    state holding y would change with it, so the checkpointed loop copies."""
    x = rng.normal(size=9)
    plain = s2s.grad(filled)
    for k in (1, 2, 3):
        np.testing.assert_allclose(
            s2s.grad(filled, checkpoint=k)(x), plain(x), rtol=1e-12
        )


def test_value_and_grad_checkpointed():
    args = rnn_args(15)
    value, grads = s2s.value_and_grad(rnn, wrt=(0, 1, 2), checkpoint=3)(*args)
    assert value == pytest.approx(rnn(*args), rel=1e-14)
    agree(grads, gradient("rnn")(*args))


def test_structured_parameters_and_aux():
    def model(params, x, n):
        h = x
        for i in range(n):
            h = np.tanh(params["W"] @ h + params["b"])
        return np.sum(h**2), np.max(h)

    params = {"W": M, "b": V * 0.1}
    plain = s2s.grad(model, has_aux=True)(params, V, 9)
    for k in (1, 3):
        grads, aux = s2s.grad(model, has_aux=True, checkpoint=k)(params, V, 9)
        assert aux == plain[1] and list(grads) == ["W", "b"]
        agree([grads["W"], grads["b"]], [plain[0]["W"], plain[0]["b"]])


def test_decorator_form():
    @s2s.grad(wrt=0, checkpoint=2)
    def loss(x, n):
        for i in range(n):
            x = np.sin(x) + x
        return np.sum(x)

    agree([loss(V, 7)], [s2s.grad(loss.__wrapped__)(V, 7)])


# --- the generated code ----------------------------------------------------------------


def test_the_body_is_written_once_and_the_schedule_is_in_the_module():
    source = gradient("rnn", 20).source
    grad_function = source[source.index("def rnn_grad") :]
    grad_function = grad_function[: grad_function.index("def rnn_value_and_grad")]
    code = [line for line in grad_function.splitlines() if "#" not in line]
    assert sum("np.tanh(" in line for line in code) == 1
    assert grad_function.count("def iteration_") == 1
    assert "def _revolve(" in source and "def _checkpoint(" in source
    assert "at most 20" in source
    assert "iteration_" not in gradient("rnn").source
    assert "_revolve" not in gradient("rnn").source


def test_checkpointed_modules_are_cached_apart():
    """The option is part of the content key: a module without checkpoints is
    never reused for checkpoint=k, nor one for another k."""
    sources = {gradient("euler", k).source for k in (None, 2, 3, "auto")}
    assert len(sources) == 4


def test_the_command_line_writes_checkpointed_code(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(
        "import numpy as np\n\n\ndef f(x, n):\n    for i in range(n):\n"
        "        x = np.sin(x) + x\n    return np.sum(x)\n"
    )
    run = [sys.executable, "-m", "s2s", "show", f"{path}:f"]
    shown = subprocess.run(run + ["--checkpoint", "3"], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert "_revolve(saved, trip, 3)" in shown.stdout
    auto = subprocess.run(
        run + ["--checkpoint", "auto"], capture_output=True, text=True
    )
    assert "_revolve(saved, trip, None)" in auto.stdout
    bad = subprocess.run(run + ["--checkpoint", "0"], capture_output=True, text=True)
    assert bad.returncode != 0 and "1 or more" in bad.stderr


# --- what checkpointing refuses --------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -2, True, 2.5, "some", [3]])
def test_a_bad_number_of_snapshots_is_refused(bad):
    with pytest.raises(CheckpointError, match="1 or more"):
        s2s.grad(rnn, checkpoint=bad)


def test_a_second_derivative_through_a_checkpointed_gradient_is_refused():
    g = s2s.grad(nested, checkpoint=2)

    def through(x, W, n):
        return np.sum(g(x, W, n))

    with pytest.raises(CheckpointError, match="checkpointed gradient"):
        s2s.grad(through)(V, M, 3)
    with pytest.raises(CheckpointError, match="checkpointed gradient"):
        s2s.hvp(g, (V, M, 3), (V,))


def test_checkpointing_a_gradient_is_refused_but_its_hvp_works():
    g = s2s.grad(nested)

    def through(x, W, n):
        return np.sum(g(x, W, n))

    with pytest.raises(CheckpointError, match="cannot recompute this loop"):
        s2s.grad(through, checkpoint=2)(V, M, 3)
    s2s.check_grad(through, V, M, 3)


def test_checkpoint_is_for_gradients():
    from s2s.pipeline import generate

    with pytest.raises(CheckpointError, match="mode 'jvp'"):
        generate(rnn, 0, mode="jvp", checkpoint=3)


# --- the schedule ----------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def fewest_steps(length, free):
    """The fewest iterations run (advanced or taped) to reverse `length` iterations
    with the first state saved and `free` more snapshots: dynamic programming."""
    if length == 1:
        return 1
    if free == 0:
        return length * (length + 1) // 2
    return min(
        cut + fewest_steps(length - cut, free - 1) + fewest_steps(cut, free)
        for cut in range(1, length)
    )


def test_the_schedule_is_binomial_the_fewest_recomputations():
    for free in range(6):
        for length in range(1, 90):
            run = sum(
                end - begin
                for action, begin, end in checkpoints._reverse_stretch(0, length, free)
                if action in ("advance", "tape")
            )
            assert run == fewest_steps(length, free), (length, free)


def replay(n, k, online):
    """Run a schedule on symbols: each iteration is reversed once, last first, from
    the tape its own recomputation made; never more than k states are kept."""
    saved = {}
    for p in range(n):
        checkpoints._checkpoint(saved, p, p, k, None if online else n)
        assert len(saved) <= checkpoints._snapshot_count(p + 1 if online else n, k)
    limit = checkpoints._snapshot_count(n, k)
    tape, state, order, recomputed = ([n - 1] if n else []), None, [], 0
    for action, begin, end in checkpoints._revolve(saved, n, k):
        if action == "restore":
            state = saved[begin]
        elif action == "save":
            assert state == begin
            saved[begin] = state
        elif action == "forget":
            del saved[begin]
        elif action in ("advance", "tape"):
            assert state == begin and not tape
            tape = list(range(begin, end)) if action == "tape" else []
            state, recomputed = end, recomputed + end - begin
        else:
            assert tape == list(range(begin, end))
            order, tape = order + tape[::-1], []
        assert len(saved) <= limit
    assert order == list(range(n))[::-1] and not saved
    return recomputed


@pytest.mark.parametrize("online", [False, True])
def test_every_schedule_reverses_each_iteration_once_within_k_snapshots(online):
    for n in list(range(30)) + [64, 257]:
        for k in (1, 2, 3, 5, None):
            replay(n, k, online)


def test_recomputation_is_bounded_by_the_binomial_bound():
    """With k snapshots and r sweeps, C(k + r, r) iterations need each iteration
    recomputed at most r times; the online schedule stays within twice as many."""
    for n, k, sweeps in ((4000, 20, 4), (1000, 5, 8), (300, 300, 1)):
        assert replay(n, k, False) <= sweeps * n
        assert replay(n, k, True) <= 2 * sweeps * n
    n = 5000  # auto: at most two recomputations each
    assert replay(n, None, False) <= 2 * n


# --- memory ----------------------------------------------------------------------------


def test_checkpointing_lowers_the_peak_memory_of_a_long_loop():
    T, width = 1500, 64
    r = np.random.default_rng(0)
    args = (
        r.normal(size=(3, width)) * 0.3,
        r.normal(size=(width, width)) * 0.1,
        r.normal(size=width),
        r.normal(size=(T, 8, 3)),
        r.normal(size=(8, width)),
    )

    def peak(g):
        g(*args)  # warm up
        tracemalloc.start()
        result = g(*args)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top, result

    plain, want = peak(s2s.grad(rnn, wrt=(0, 1, 2)))
    kept, got = peak(s2s.grad(rnn, wrt=(0, 1, 2), checkpoint=10))
    agree(got, want)
    state = 8 * width * 8  # bytes of one h
    assert plain > T * state  # the plain tape holds every h
    assert kept < 0.2 * plain
