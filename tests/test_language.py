"""The Python people write in loss functions (issue 17): arrays built from lists,
`max`/`min` of several values, chained assignment, and loops over arrays, lists,
tuples, `enumerate`, `zip` and `reversed`, each against central differences (and
second derivatives where the loop carries them)."""

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
        s = s + np.sum(W)
    return s


def test_break_in_a_loop_over_a_tuple_is_refused_with_advice():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="break or continue"):
        s2s.grad(breaks_over_a_tuple)


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
