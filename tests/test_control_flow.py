"""Branches, loops and calls to the user's own functions, against central differences
at points on each side of every branch (issue 3)."""

import math
import tracemalloc

import numpy as np
import pytest

import s2s
from examples import newton, rnn


def helper_square(x):
    return x * x


def helper_pair(x, y):
    return x + y, x * y


def helper_scaled(x, scale=2.0):
    return helper_square(x) * scale


def recursive(x):
    return recursive(x - 1.0) * x


# --- branches -------------------------------------------------------------------------


def branchy(x, y):
    if x > 0:
        z = x * y
    elif x > -1:
        z = np.sin(x) + y
    else:
        z = y**2
    return z * x


def partial_definition(x):
    y = x
    if x > 1.0:
        y = np.exp(x)
        w = y * 2
        y = y + w
    return y * x


def early_return(x, y):
    if x < 0:
        return -x * y
    if y > x:
        return x * y * y
    return x + y


def chained(x, y):
    if 0 < x < 1 and not y > 2 or x > 5:
        return x * y
    return x - y


def ternary(x):
    y = x * 3 if x > 0 else np.cos(x)
    return y * x


def reduction_condition(x):
    if np.sum(x) > 0:
        return np.sum(x**2)
    return np.sum(np.abs(x) * 3)


@pytest.mark.parametrize(
    "fn, points",
    [
        (branchy, [(1.5, 0.7), (-0.5, 0.7), (-2.0, 0.7)]),
        (partial_definition, [(0.5,), (1.5,)]),
        (early_return, [(-1.0, 2.0), (1.0, 2.0), (2.0, 1.0)]),
        (chained, [(0.5, 1.0), (0.5, 3.0), (6.0, 3.0), (3.0, 1.0)]),
        (ternary, [(0.7,), (-0.7,)]),
    ],
)
def test_branches_on_each_side(fn, points):
    for point in points:
        s2s.check_grad(fn, *point, wrt=tuple(range(len(point))))


def test_branch_on_a_reduction():
    s2s.check_grad(reduction_condition, np.array([0.5, 1.0, -0.2]))
    s2s.check_grad(reduction_condition, np.array([-0.5, -1.0, 0.2]))


def test_branches_stay_branches():
    source = s2s.grad(branchy, wrt=(0, 1)).source
    assert source.count("if cond") >= 2 and "else:" in source


# --- loops ----------------------------------------------------------------------------


def power_loop(x, n):
    s = 1.0
    for i in range(n):
        s = s * x
    return s


def ranged(x, a, b, step):
    s = x
    for i in range(a, b, step):
        s = s * np.cos(s) + x * i
    return s


def with_break(x, n):
    s = 0.0
    for i in range(n):
        if s > 3:
            break
        s = s + x * i
    return s


def with_continue(x, n):
    s = 0.0
    for i in range(n):
        if i % 2 == 0:
            continue
        s = s + x ** (i // 2 + 1)
    return s


def nested(x, n, m):
    s = 0.0
    for i in range(n):
        t = x
        for j in range(m):
            t = np.sin(t) * (j + 1)
        s = s + t * i
    return s


def while_halving(x, tol):
    while abs(x) > tol:
        x = x * 0.5 + 0.1 * np.sin(x)
    return x


def array_loop(w, X):
    h = np.zeros(X.shape[1])
    for t in range(len(X)):
        h = np.tanh(X[t] * w + h)
    return np.sum(h)


def index_arithmetic(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s = s + x[i] * x[i + 1] * (i + 1)
    return s


@pytest.mark.parametrize(
    "fn, args",
    [
        (power_loop, (1.3, 5)),
        (power_loop, (1.3, 0)),  # zero trips
        (ranged, (0.4, 1, 7, 2)),
        (ranged, (0.4, 6, -1, -2)),  # negative step
        (ranged, (0.4, 5, 5, 1)),  # empty range
        (with_break, (0.8, 10)),
        (with_break, (0.1, 10)),  # never breaks
        (with_continue, (1.2, 7)),
        (nested, (0.3, 3, 2)),
        (nested, (0.3, 0, 2)),
        (while_halving, (3.0, 0.01)),
        (while_halving, (0.001, 0.01)),  # zero trips
    ],
)
def test_loops(fn, args):
    s2s.check_grad(fn, *args)


def test_loop_carried_arrays_and_index():
    rng = np.random.default_rng(0)
    s2s.check_grad(array_loop, rng.normal(size=3), rng.normal(size=(4, 3)), wrt=(0, 1))
    s2s.check_grad(index_arithmetic, rng.normal(size=5))


def test_loops_stay_loops():
    source = s2s.grad(power_loop).source
    grad_function = source.split("def power_loop_grad")[1].split(
        "def power_loop_value"
    )[0]
    loops = [
        line
        for line in grad_function.splitlines()
        if line.strip().startswith("for i in")
    ]
    assert len(loops) == 2  # one forward, one reverse, whatever n is


def _appends(source):
    """What the forward sweep pushes each iteration: the `.append(...)` arguments."""
    return [
        line.split(".append(", 1)[1]
        for line in source.splitlines()
        if ".append(" in line
    ]


def adds_a_constant(x, n):
    s = x
    for i in range(n):
        s = s + 1.0
    return s * s


def test_a_loop_that_adds_a_constant_saves_nothing():
    source = s2s.grad(adds_a_constant).source
    assert _appends(source) == []
    s2s.check_grad(adds_a_constant, 0.5, 4)


def test_a_product_loop_saves_one_value_per_iteration():
    appends = _appends(s2s.grad(power_loop).source)
    assert len(appends) == 2  # J_grad and J_value_and_grad each save s once a trip
    assert all("," not in a for a in appends)


def test_rows_and_index_arithmetic_are_recomputed_not_saved():
    for fn, wrt in ((index_arithmetic, 0), (array_loop, (0, 1))):
        appends = _appends(s2s.grad(fn, wrt=wrt).source)
        assert appends and not any("[" in a or "+" in a for a in appends), appends


def test_an_iteration_saves_its_state_once():
    """The reverse loop hands each iteration's starting state back as the end state of
    the iteration before it, so h is saved once a trip, not before and after."""
    appends = _appends(s2s.grad(array_loop, wrt=(0, 1)).source)
    assert appends == ["h)", "h)"]  # J_grad and J_value_and_grad


def any_shape_rnn(Wx, Wh, b, x, h0):
    h = h0
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ Wx + h @ Wh + b)
    return np.sum(h**2)


def test_a_value_read_only_for_its_shape_saves_its_shape():
    """Without known shapes, summing a broadcast adjoint back to `x[t] @ Wx` needs
    only that product's shape: the tape holds shapes, not the products."""
    saved = " ".join(_appends(s2s.grad(any_shape_rnn, wrt=(0, 1, 2)).source))
    assert saved.count("matmul") == saved.count("np.shape(matmul") > 0, saved


def test_saved_memory_grows_by_one_state_per_iteration():
    """Peak memory of the gradient call grows with the trip count by one saved h
    (n floats) per iteration, measured with tracemalloc."""
    n = 2000
    rng = np.random.default_rng(0)
    w = rng.normal(size=n) * 0.1
    g = s2s.grad(array_loop, wrt=0)

    def peak(trips):
        X = rng.normal(size=(trips, n))
        g(w, X)  # warm up
        tracemalloc.start()
        g(w, X)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    growth = (peak(120) - peak(60)) / 60
    assert 0.7 * 8 * n < growth < 1.3 * 8 * n


def invariant_factor(w, x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + np.sum(np.sin(w) * x[i])
    return s


def untouched_by_the_loop(x, y):
    for i in range(3):
        y = 0.5 * y + 0.25 * np.tanh(y)
        if x > 0.0:
            break
        y = y + 0.125 * i
    return np.sum(y)


def test_a_gradient_the_loop_never_changes():
    """dx passes through the reverse loop unchanged (x only steers it); found by the
    random programs, where the dropped loop slot left dx undefined."""
    for x in (0.5, -0.5):
        grads = s2s.grad(untouched_by_the_loop, wrt=(0, 1))(x, -0.9)
        assert grads[0] == 0.0
    s2s.check_grad(untouched_by_the_loop, 0.5, -0.9, wrt=1)
    s2s.check_grad(
        untouched_by_the_loop, np.array([-0.5]), np.array([0.3, -0.9]), wrt=(0, 1)
    )


def test_loop_invariant_work_leaves_the_reverse_loop():
    """cos(w), the derivative of the invariant sin(w), is computed once."""
    g = s2s.grad(invariant_factor)
    reverse = g.source.split("def invariant_factor_grad")[1].split("# reverse")[1]
    before_loop, loop = reverse.split("for i in reversed(steps):")[:2]
    assert "np.cos(w)" in before_loop and "np.cos" not in loop.split("return")[0]
    rng = np.random.default_rng(2)
    s2s.check_grad(invariant_factor, rng.normal(size=3), rng.normal(size=(4, 3)))
    s2s.check_grad(invariant_factor, rng.normal(size=3), np.zeros((0, 3)))


def sum_of_sines(x, n):
    s = 0.0
    for i in range(n):
        s = s + math.sin(x * i) * 0.001
    return s


def test_a_scalar_loop_saves_nothing_and_reads_as_the_sum_of_derivatives():
    g = s2s.grad(sum_of_sines)
    assert _appends(g.source) == []  # x * i is recomputed, not saved
    assert "dx = dx + 0.001 * math.cos(x * i) * i" in g.source  # ds is 1.0 throughout
    # For numbers, the result is a number: no check, so no forward loop at all.
    body = g.source_for(0.5, 20).split("def sum_of_sines_value_and_grad")[0]
    code = [line for line in body.splitlines() if not line.strip().startswith("#")]
    assert not any("math.sin" in line for line in code)
    assert sum("for i in" in line for line in code) == 1
    s2s.check_grad(sum_of_sines, 0.5, 20)
    s2s.check_grad(sum_of_sines, 0.5, 0)


# --- calls ----------------------------------------------------------------------------


def calls(x, y):
    a = helper_square(x) + helper_square(y)
    s, p = helper_pair(x, y=a)
    return helper_scaled(s, scale=3.0) * p + helper_scaled(x)


def test_user_functions_are_differentiated():
    s2s.check_grad(calls, 0.7, -1.2, wrt=(0, 1))


def test_recursion_is_an_error():
    def f(x):
        return recursive(x)

    with pytest.raises(s2s.S2SError, match="recursive"):
        s2s.grad(f)


def test_an_unknown_function_names_itself_and_the_line():
    def f(x):
        return math.exp2(x)  # (math.gamma, the example here once, is built in now)

    with pytest.raises(s2s.UnknownFunctionError, match=r"math\.exp2") as info:
        s2s.grad(f)
    assert info.value.lineno == f.__code__.co_firstlineno + 1
    assert "rule" in str(info.value)


# --- examples ---------------------------------------------------------------------------


def test_rnn_example():
    rng = np.random.default_rng(1)
    T, batch, n_in, n_h = 4, 3, 2, 5
    args = (
        rng.normal(size=(n_in, n_h)) * 0.5,
        rng.normal(size=(n_h, n_h)) * 0.3,
        rng.normal(size=n_h) * 0.1,
        rng.normal(size=(T, batch, n_in)),
        rng.normal(size=(batch, n_h)),
    )
    s2s.check_grad(rnn.loss, *args, wrt=(0, 1, 2))
    s2s.check_grad(rnn.loss_all_states, *args, wrt=(0, 1, 2))


def test_newton_example_matches_the_closed_form():
    for a in (8.0, 2.0, 30.0):
        grad = s2s.grad(newton.loss)(a)
        # loss = cbrt(a)^2, so d/da = (2/3) a^(-1/3)
        assert grad == pytest.approx(2 / 3 * a ** (-1 / 3), rel=1e-9)


def ufunc_of_floats(x):
    v1 = np.add(x, x).T  # a numpy scalar, which has .T (x + x would not)
    return v1 * np.divide(x, 2.0)


def test_numpy_ufuncs_stay_numpy_ufuncs():
    """np.add(x, x) of Python floats is a numpy scalar; written back as x + x it would
    be a float, without .T (found by the random programs)."""
    g = s2s.grad(ufunc_of_floats)
    assert "np.add(x, x).T" in g.source
    s2s.check_grad(ufunc_of_floats, 0.55)


def sliding_window(w, x):
    total = 0.0
    for i in range(x.shape[0] - w.shape[0] + 1):
        total = total + np.tanh(np.dot(w, x[i : i + w.shape[0]]))
    return total


def test_a_window_of_sizes_is_recomputed_not_saved():
    """i + w.shape[0] is arithmetic on sizes: the reverse loop recomputes the window
    x[i : i + k] and saves only the tanh its rule needs."""
    rng = np.random.default_rng(4)
    w, x = rng.normal(size=3), rng.normal(size=10)
    body = s2s.grad(sliding_window, wrt=(0, 1)).source_for(w, x)
    saved = _appends(body)  # in f_grad and f_value_and_grad
    assert len(saved) == 2 and all(
        a.endswith("tanh)") or "np.tanh(" in a for a in saved
    )
    assert not any("x[i" in a and "np.tanh" not in a for a in saved)
    s2s.check_grad(sliding_window, w, x, wrt=(0, 1))
