"""The Python people write in loss functions (issue 17): arrays built from lists,
`max`/`min` of several values, chained assignment, loops over arrays, lists,
tuples, `enumerate`, `zip` and `reversed`, and `return` from inside loops, each
against central differences (and second derivatives where the loop carries them)."""

from __future__ import annotations

import numpy as np
import pytest

import s2s
from s2s.testing import ATOL, RTOL, numeric_gradient

COEFFS = np.array([1.0, -2.0, 0.5, 3.0])
WEIGHTS = [1.0, 2.0, 0.5]


def assert_gradient(f, *args, wrt=0):
    got = s2s.grad(f, wrt=wrt)(*args)
    expected = numeric_gradient(f, list(args), wrt)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


def vector_of_scalars(x):
    v = np.array([x[0] * x[1], np.sin(x[2]), 1.0])
    return np.sum(v**2)


def matrix_of_scalars(x):
    M = np.array([[x[0], x[1]], [x[2], 2.0]])
    return np.sum(M @ M)


def constants_and_copies(x):
    c = np.array([1.0, 2.0, 3.0])
    return np.sum(np.asarray(x) * c) + np.sum(np.array(x) ** 2)


def stacked_rows(x):
    return np.sum(np.array([x, 2.0 * x, np.cos(x)]) ** 2)


@pytest.mark.parametrize(
    "f", [vector_of_scalars, matrix_of_scalars, constants_and_copies, stacked_rows]
)
def test_arrays_built_from_lists(f):
    assert_gradient(f, np.array([0.3, 0.5, 0.7]))


def largest_and_smallest(x):
    return max(x, 0.5, x**2) + min(x, 0.2, -x, 3.0)


@pytest.mark.parametrize("x", [-0.9, 0.1, 0.35, 0.7, 1.6])
def test_max_and_min_of_several_values(x):
    assert_gradient(largest_and_smallest, x)


def chained(x):
    a = b = x * 2.0
    return a * b + a


def test_chained_assignment_binds_every_name():
    assert_gradient(chained, 0.7)


def chained_then_updated(x):
    a = b = np.zeros(3)
    a += x
    return np.sum(a * b)


def test_chained_assignment_shares_one_array_as_python_does():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="'b' also holds"):
        s2s.grad(chained_then_updated)(np.ones(3))


def horner(x):
    y = 0.0
    for c in COEFFS:
        y = y * x + c
    return y


def horner_backwards(x, cs):
    y = 0.0
    for c in reversed(cs):
        y = y * x + c
    return y


def weighted_positions(x):
    s = 0.0
    for i, v in enumerate(x):
        s = s + i * v**2
    return s


def neighbours(x):
    s = 0.0
    for a, b in zip(x, x[1:]):
        s = s + a * b
    return s


def over_a_list(x):
    s = 0.0
    for w in WEIGHTS:
        s = s + w * np.sin(x)
    for w in [1.0, -0.5]:
        s = s * w + x
    return s


def sum_of_squares(Ws):
    s = 0.0
    for W in Ws:
        s = s + np.sum(W**2)
    return s


def two_layers(W1, W2):
    return sum_of_squares((W1, W2)) * np.sum(W1)


def test_a_loop_over_a_module_array_is_horners_rule():
    assert_gradient(horner, 0.7)
    first = s2s.grad(horner)
    np.testing.assert_allclose(
        s2s.grad(first)(0.7), numeric_gradient(first, [0.7], 0), rtol=1e-6
    )


def test_loops_over_reversed_enumerate_and_zip():
    x = np.array([0.3, -0.5, 0.7, 1.1])
    assert_gradient(horner_backwards, 0.7, np.array([1.0, 2.0, 3.0]))
    assert_gradient(horner_backwards, 0.7, np.array([1.0, 2.0, 3.0]), wrt=1)
    assert_gradient(weighted_positions, x)
    assert_gradient(neighbours, x)


def test_a_loop_over_a_list_of_numbers():
    assert_gradient(over_a_list, 0.4)


def test_a_loop_over_a_tuple_of_arrays_of_different_shapes_is_written_out():
    W1, W2 = np.linspace(0.1, 0.6, 6).reshape(2, 3), np.array([0.5, -0.3, 0.2, 0.9])
    assert_gradient(two_layers, W1, W2)
    assert_gradient(two_layers, W1, W2, wrt=1)


def breaks_over_a_tuple(W1, W2):
    s = 0.0
    for W in (W1, W2):
        if np.sum(W) > 1.0:
            break
        s = s + np.sum(W**2)
    return s


def returns_over_a_tuple(W1, W2, W3):
    s = 0.0
    for W in (W1, W2, W3):
        s = s + np.sum(W**2)
        if s > 1.0:
            return s * 2.0
    return s


@pytest.mark.parametrize("scale", [0.1, 0.3, 1.0])  # no exit, a middle one, the first
def test_break_and_return_in_a_loop_over_a_tuple_skip_the_items_after(scale):
    r = np.random.default_rng(3)
    W = [scale * r.normal(size=shape) for shape in ((2, 3), (3,), (4,))]
    for f, args in ((breaks_over_a_tuple, W[:2]), (returns_over_a_tuple, W)):
        for k in range(len(args)):
            assert_gradient(f, *args, wrt=k)


# `return` inside loops (a flag, the value and a break, then a return after the loop)


def newton_sqrt(a, steps):
    x = a
    for i in range(steps):
        fx = x * x - a
        if abs(fx) < 1e-12:
            return x
        x = x - fx / (2.0 * x)
    return x


@pytest.mark.parametrize("steps", [2, 50])  # stops by its count, returns converged
def test_newtons_method_returning_from_inside_its_loop(steps):
    assert_gradient(newton_sqrt, 2.0, steps)
    value, slope = s2s.value_and_grad(newton_sqrt)(2.0, steps)
    assert value == newton_sqrt(2.0, steps)
    if steps == 50:
        assert slope == pytest.approx(0.5 / np.sqrt(2.0), rel=1e-12)
        curvature = s2s.grad(s2s.grad(newton_sqrt))(2.0, steps)
        assert curvature == pytest.approx(-0.25 * 2.0**-1.5, rel=1e-9)


def first_above(x, level):
    for i in range(x.shape[0]):
        if x[i] > level:
            return x[i] ** 2 + np.sum(x[:i])
    return np.sum(np.sin(x))


@pytest.mark.parametrize("level", [0.0, 0.6, 2.0])  # first, later, no item
def test_a_search_returning_its_first_hit(level):
    assert_gradient(first_above, np.array([-0.3, 0.2, 0.7, 0.9]), level)


def pair_in_nested_loops(x, n):
    s = 0.0
    for i in range(n):
        j = 0
        while j < n:
            s = s + x[i] * x[j]
            if s > 2.0:
                return s * x[0], i
            j += 1
    return s, -1


def first_of_pair(x):
    s, where = pair_in_nested_loops(x, 3)
    return s + where


@pytest.mark.parametrize("scale", [0.2, 1.0])
def test_a_tuple_returned_from_nested_loops_of_a_helper(scale):
    x = scale * np.array([0.5, 0.9, 1.2])
    assert first_of_pair(x) == pytest.approx(sum(pair_in_nested_loops(x, 3)), rel=1e-15)
    assert_gradient(first_of_pair, x)


def grow_until(x):
    k = 0
    while True:
        x = x * 1.5 + 0.1 * np.sin(x)
        k += 1
        if x > 10.0 or k > 100:
            return x


def horner_until_large(x):
    total = 0.0
    for c in COEFFS:
        total = total * x + c
        if abs(total) > 50.0:
            return total / 50.0
    return total


@pytest.mark.parametrize("x", [0.5, 2.0, 9.0])
def test_returns_from_while_true_and_from_a_loop_over_an_array(x):
    assert s2s.value_and_grad(grow_until)(x)[0] == grow_until(x)
    assert_gradient(grow_until, x)
    assert_gradient(horner_until_large, x)
    hessian = s2s.grad(s2s.grad(horner_until_large))(x)
    expected = numeric_gradient(s2s.grad(horner_until_large), [x], 0)
    np.testing.assert_allclose(hessian, expected, rtol=1e-6, atol=1e-8)


def integrate(x, n):
    s = x
    for k in range(n):
        s = s + 0.1 * np.sin(s)
        print(f"step {k}: s = {s:.4f}", "ok")
    print("done", s, sep=": ")
    return s * s


def test_print_runs_once_per_call_in_the_forward_sweep(capsys):
    gradient = s2s.grad(integrate)
    capsys.readouterr()
    got = gradient(0.5, 3)
    printed = capsys.readouterr().out
    integrate(0.5, 3)
    assert printed == capsys.readouterr().out  # as the function prints, once
    assert printed.count("step") == 3 and "done: " in printed
    np.testing.assert_allclose(
        got, numeric_gradient(integrate, [0.5, 3], 0), rtol=RTOL, atol=ATOL
    )
    second = s2s.grad(gradient)(0.5, 2)
    np.testing.assert_allclose(
        second, numeric_gradient(gradient, [0.5, 2], 0), rtol=1e-6, atol=1e-8
    )


# `raise` and `assert` stay in the forward sweep as they are


def checked_loss(X, w):
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got {X.ndim} dimensions")
    assert X.shape[1] == w.shape[0], "X and w disagree"
    z = X @ w
    if np.any(np.isnan(z)):
        raise FloatingPointError("nan in the scores")
    return np.sum(z**2)


def test_raise_and_assert_check_the_inputs_as_the_function_does():
    X, w = np.arange(6.0).reshape(2, 3) / 5, np.array([0.1, -0.2, 0.3])
    assert_gradient(checked_loss, X, w, wrt=1)
    gradient = s2s.grad(checked_loss, wrt=1)
    with pytest.raises(ValueError, match="X must be 2-D, got 1 dimensions"):
        gradient(X[0], w)
    with pytest.raises(AssertionError, match="X and w disagree"):
        gradient(X, w[:2])
    with pytest.raises(FloatingPointError, match="nan in the scores"):
        gradient(X * np.nan, w)
    reverse = gradient.source.split("# reverse")[1]
    assert "raise" not in reverse.split("def ")[0]  # it runs only if nothing raised


def guarded_log(x):
    if x <= 0.0:
        raise ValueError("log of a non-positive number")
    y = np.log(x)
    for k in range(3):
        if y > 100.0:
            raise OverflowError
        y = y * 1.1 + 0.1 * np.sin(y)
    return y


@pytest.mark.parametrize("x", [0.5, 2.0])
def test_raise_inside_a_loop_and_second_derivatives(x):
    assert_gradient(guarded_log, x)
    second = s2s.grad(s2s.grad(guarded_log))(x)
    expected = numeric_gradient(s2s.grad(guarded_log), [x], 0)
    np.testing.assert_allclose(second, expected, rtol=1e-6, atol=1e-8)
    with pytest.raises(ValueError, match="non-positive"):
        s2s.grad(guarded_log)(-1.0)


class ModelError(Exception):
    pass


def raises_its_own_error(x):
    if x < 0.0:
        raise ModelError("negative")
    return x * x


def test_raising_an_exception_class_of_ones_own_is_refused_with_advice():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="built-in exception"):
        s2s.grad(raises_its_own_error)


def layer(x, w, b=None, scale=None):
    z = x @ w
    if b is not None:
        z = z + b
    if scale is None:
        scale = 1.0
    return np.sum(np.tanh(z)) * scale


def test_optional_parameters_tested_with_is_none():
    x, w, b = np.array([[0.5, -1.0], [0.2, 0.3]]), np.array([0.4, -0.6]), 0.25
    assert_gradient(layer, x, w, wrt=1)
    assert_gradient(layer, x, w, b, wrt=1)
    assert_gradient(layer, x, w, b, wrt=2)
    assert_gradient(layer, x, w, b, 3.0, wrt=3)
    assert s2s.value_and_grad(layer, wrt=1)(x, w)[0] == layer(x, w)


# the loop variable after the loop, items of a helper's tuple, keyword-only parameters


def scaled_by_the_last_index(x, n):
    s = 0.0
    for i in range(n):
        s = s + x[i] ** 2
        if s > 1.0:
            break
    return s * x[i]


@pytest.mark.parametrize("n", [2, 4])  # ends by its count, by its break
def test_the_loop_variable_keeps_its_last_value_after_the_loop(n):
    x = np.array([0.3, 0.8, 0.5, 0.9])
    assert s2s.value_and_grad(scaled_by_the_last_index)(x, n)[0] == (
        scaled_by_the_last_index(x, n)
    )
    assert_gradient(scaled_by_the_last_index, x, n)


def moments(x):
    return np.mean(x), np.std(x)


def items_of_a_returned_tuple(x):
    both = moments(x)
    return moments(x)[0] * both[1] + moments(x)[-1]


def test_items_of_a_tuple_a_helper_returns():
    assert_gradient(items_of_a_returned_tuple, np.array([0.3, 0.8, 0.5, 0.9]))


def power_sum(x, *, scale=2.0, power=2):
    return np.sum(scale * x**power)


def scaled(x, *, scale, power=2):
    return scale * x**power


def calls_keyword_only_helpers(x):
    def inner(y, *, k=3.0):
        return k * y

    total = scaled(x, scale=2.0) + scaled(x, power=3, scale=1.0)
    return np.sum(total + inner(x) + inner(x, k=0.5))


def test_keyword_only_parameters():
    x = np.array([0.3, 0.8])
    assert_gradient(power_sum, x)
    np.testing.assert_allclose(s2s.grad(power_sum)(x, scale=3.0), 6.0 * x)
    assert s2s.grad(power_sum, wrt="scale")(x, scale=0.5) == pytest.approx(0.73)
    with pytest.raises(TypeError, match="positional"):
        s2s.grad(power_sum)(x, 3.0)  # as power_sum(x, 3.0) fails
    assert_gradient(calls_keyword_only_helpers, x)


# comprehensions and generators

LAYERS = (np.linspace(-1.0, 1.0, 6).reshape(2, 3), np.array([0.5, -0.25, 2.0]))


def weight_decay(x):
    return 0.5 * sum(np.sum((W * x) ** 2) for W in LAYERS)


def rows_summed(x):
    return sum(np.sum(np.tanh(x[i]) ** 2) for i in range(x.shape[0]) if i != 1)


def polynomial(x):
    return sum(c * x**k for k, c in enumerate((1.0, 2.0, 3.0)) if k != 1)


def stacked(x):
    M = np.array([[x * i + j for j in range(2)] for i in range(3)])
    V = np.stack([np.sin(x) * k for k in range(3)])
    return np.sum(M**2) + np.sum(V) + sum(x * i * j for i in range(3) for j in range(i))


def extremes(x):
    return max(v * x for v in (1.0, -2.0, 0.5)) + min([x**2, np.cos(x)])


def with_a_start(x):
    return sum((v * np.sum(x) for v in x), 1.0) + sum([x[0], np.sin(x[1])])


@pytest.mark.parametrize(
    "f, x",
    [
        (weight_decay, np.array([0.3, -0.6, 0.9])),
        (rows_summed, np.array([[0.3, -0.5], [0.9, 0.1], [-0.2, 0.4]])),
        (polynomial, 0.7),
        (stacked, 0.7),
        (extremes, 0.7),
        (extremes, -0.9),
        (with_a_start, np.array([0.3, -0.6, 0.9])),
    ],
)
def test_comprehensions_and_generators(f, x):
    assert s2s.value_and_grad(f)(x)[0] == pytest.approx(f(x), rel=1e-14)
    assert_gradient(f, x)


def test_a_sum_of_a_generator_is_a_loop_differentiated_twice():
    second = s2s.grad(s2s.grad(polynomial))(0.7)
    assert second == pytest.approx(6.0, rel=1e-12)  # d2/dx2 (1 + 3 x^2)
    x = np.array([[0.3, -0.5], [0.9, 0.1], [-0.2, 0.4]])
    hvp = s2s.hvp(rows_summed, (x,), (np.ones_like(x),))
    expected = numeric_gradient(lambda y: np.sum(s2s.grad(rows_summed)(y)), [x], 0)
    np.testing.assert_allclose(hvp, expected, rtol=1e-6, atol=1e-8)


def stacked_at_run_time(x):
    rows = np.stack([np.sin(v) * x for v in x])
    squares = np.array([x[i] ** 2 * i for i in range(1, x.shape[0], 2)])
    indices = np.array([i * 2 for i in range(x.shape[0] // 2)])
    return np.sum(rows**2) + np.sum(squares) + np.sum(x[indices] ** 3)


def test_a_comprehension_counted_only_at_run_time_is_stacked_item_by_item():
    x = np.array([0.3, -0.6, 0.9, 1.1, -0.4])
    value = s2s.value_and_grad(stacked_at_run_time)(x)[0]
    assert value == pytest.approx(stacked_at_run_time(x), rel=1e-14)
    assert_gradient(stacked_at_run_time, x)


def filtered_at_run_time(x):
    return np.sum(np.stack([np.sin(v) for v in x if v > 0.0]))


def test_a_comprehension_filtered_at_run_time_is_refused_with_advice():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="known only when"):
        s2s.grad(filtered_at_run_time)


# filling a preallocated array: out[i] = ...


def filled(x):
    n = x.shape[0]
    out = np.zeros(n)
    for i in range(n):
        out[i] = np.sin(x[i]) * x[i]
    return np.sum(out**2)


def overwritten(x):
    y = x * 2.0
    y[1:3] = np.exp(x[0])
    y[0] = 5.0
    return np.sum(y * x)


def recurrence(x, n):
    out = np.zeros(n)
    out[0] = x
    for i in range(1, n):
        out[i] = 0.9 * out[i - 1] + np.sin(x * i)
    return np.sum(out**2)


def test_filling_a_preallocated_array_by_assignment():
    x = np.array([0.3, -0.6, 0.9, 1.2])
    for f in (filled, overwritten):
        assert s2s.value_and_grad(f)(x)[0] == f(x)
        assert_gradient(f, x)
    assert "out[i] = " in s2s.grad(filled).source  # in place, as written
    assert_gradient(recurrence, 0.7, 5)
    second = s2s.grad(s2s.grad(recurrence))(0.7, 5)
    expected = numeric_gradient(s2s.grad(recurrence), [0.7, 5], 0)
    np.testing.assert_allclose(second, expected, rtol=1e-6, atol=1e-8)


def assigned_through_a_mask(x):
    y = x * 1.0
    y[x > 0.5] = 0.0
    return np.sum(y)


def test_assignment_through_an_index_array_or_a_mask_is_refused_with_advice():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="np.where"):
        s2s.grad(assigned_through_a_mask)


def raises_in_its_else_branch(x):
    if x >= 0.0:
        y = np.sqrt(x) * 3.0
    else:
        raise ValueError("negative input")
    return y


def test_a_raise_in_the_else_branch_keeps_the_branch_that_goes_on():
    value, slope = s2s.value_and_grad(raises_in_its_else_branch)(4.0)
    assert (value, slope) == (6.0, 0.75)
    with pytest.raises(ValueError, match="negative input"):
        s2s.grad(raises_in_its_else_branch)(-1.0)
