"""Defects that random programs found (issue 13's campaign and tests/fuzz), each kept
as a test that failed before its fix.  Values are checked against calling the
function, derivatives against central differences in float64."""

import math

import numpy as np
import pytest

import s2s


def central(f, x, h=1e-6):
    """The central difference of scalar f at the float x."""
    return (f(x + h) - f(x - h)) / (2 * h)


def doubles_until_large(x, flag):
    s = x
    if flag > 0.0:
        for i in range(4):
            if s > 3.0:
                break
            s = s * 2.0
    return s


def doubles_unless_large(x, flag):
    s = x
    if flag > 0.0:
        for i in range(4):
            if s > 3.0:
                continue
            s = s * 2.0
    return s


def dead_after_break(z, flag):
    s1 = z
    if flag > 0.0:
        for i in range(3):
            if flag > -1.0:
                break
                s1 = z**2
    return s1


@pytest.mark.parametrize(
    "f, value, slope",
    [
        (doubles_until_large, 4.0, 4.0),
        (doubles_unless_large, 4.0, 4.0),
        (dead_after_break, 1.0, 1.0),
    ],
)
def test_an_exit_inside_a_branch_inside_a_loop_inside_a_branch(f, value, slope):
    # The outer `if` was not normalized, so the rest of the iteration ran anyway.
    assert f(1.0, 1.0) == value
    assert s2s.value_and_grad(f)(1.0, 1.0) == (value, slope)
    s2s.check_grad(f, 1.0, 1.0)


def shrunk_in_one_branch(x):
    v = x * np.ones(3)
    if x < -0.5:
        v = v / (v + 0.5)
    return np.sum(v)


@pytest.mark.parametrize("x", [-0.3, -0.7])
def test_a_value_bound_in_one_branch_never_stands_in_for_a_shape(x):
    # The shape-specialized second derivative read the shape of `add`, bound only
    # in the branch that did not run: UnboundLocalError.
    first = s2s.grad(shrunk_in_one_branch)
    second = s2s.grad(first)
    assert second(x) == pytest.approx(central(first, x), abs=1e-6)


def reversed_inner_loop(x, n):
    s = 0.0
    for j in range(2):
        for i in reversed(range(n)):
            s = s + x * i * j
    return s * x


def test_a_range_popped_off_a_tape_is_looped_over_again():
    first = s2s.grad(reversed_inner_loop)
    second = s2s.grad(first)
    assert second(1.5, 3) == pytest.approx(
        central(lambda x: first(x, 3), 1.5), abs=1e-6
    )


C0 = 0.75


def nested_whiles(x, y):
    s1 = y[0]
    if s1 >= -1.33:
        k2 = 0
        while k2 < 4:
            k2 = k2 + 1
            k3 = 0
            while k3 < 2 and -1.23 < k2 * 0.7 < 1.3:
                k3 = k3 + 1
                s1 = np.tanh((min(C0, s1) - s1) * np.tanh(np.tanh(s1)))
            s1 = s1 / ((np.sin(s1) * (x - x)) ** 2 + 1.02)
            s1 += x + (x**2 + 0.78) ** (-1)
    return s1


def test_second_derivative_through_nested_whiles():
    y = np.array([-0.60215, -0.61187, -1.64599])
    first = s2s.grad(nested_whiles)
    expected = central(lambda x: first(x, y), -0.90409)
    assert s2s.grad(first)(-0.90409, y) == pytest.approx(expected, rel=1e-6)
    hvp = s2s.hvp(nested_whiles, (-0.90409, y), (1.0,))
    assert hvp == pytest.approx(expected, rel=1e-6)


def reciprocal(x):
    return 1.0 / x


def sum_of_squares(x):
    return np.sum(x**2)


def test_an_error_of_the_function_itself_is_raised_as_it_is():
    with pytest.raises(ZeroDivisionError):
        s2s.grad(reciprocal)(0.0)


def test_a_failure_of_generated_code_on_good_arguments_is_an_internal_error():
    gradient = s2s.grad(sum_of_squares)

    def broken(*args):
        raise UnboundLocalError("cannot access local variable 'add'")

    gradient._specialized = lambda args: broken  # what a bug in emitted code does
    with pytest.raises(s2s.InternalError, match="bug in s2s") as raised:
        gradient(np.ones(3))
    assert "sum_of_squares itself runs" in str(raised.value)


def through_sum(w):
    return np.sum(w)


def through_slice(w):
    return np.sum(w[1:] * 2.0)


def through_loop(w):
    s = 0.0
    for i in range(3):
        s = s + np.sum(w * i)
    return s


def through_maximum(w, b):
    return np.sum(np.maximum(w, 0.0) * b)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("f", [through_sum, through_slice, through_loop])
def test_a_gradient_has_its_arguments_float_dtype(f, dtype):
    w = np.linspace(-1.0, 1.0, 4).astype(dtype)
    gradient = s2s.grad(f)(w)
    assert gradient.dtype == dtype
    value, again = s2s.value_and_grad(f)(w)
    assert again.dtype == dtype
    np.testing.assert_array_equal(gradient, again)
    exact = s2s.grad(f)(w.astype(np.float64))
    np.testing.assert_array_equal(gradient, exact.astype(dtype))


def test_each_gradient_takes_the_dtype_of_its_own_argument():
    w = np.linspace(-1.0, 1.0, 4).astype(np.float32)
    dw, db = s2s.grad(through_maximum, wrt=(0, 1))(w, 2.0)
    assert dw.dtype == np.float32 and np.asarray(db).dtype == np.float64
    dw, db = s2s.grad(through_maximum, wrt=(0, 1))(w, np.float32(2.0))
    assert dw.dtype == np.float32 and db.dtype == np.float32
    assert s2s.grad(through_sum)(np.arange(3)).dtype == np.float64  # ints are reals


def shifted_in_place(x):
    x += 1.0
    return np.sum(x * x)


def accumulated_from_a_parameter(x, y):
    s = x
    s += y
    return np.sum(s * s)


def test_a_parameter_updated_in_place_is_refused_for_arrays_only():
    # `x += 1.0` on an array changes the caller's array, which the gradient would not.
    with pytest.raises(s2s.UnsupportedSyntaxError, match="caller passed in"):
        s2s.grad(shifted_in_place)(np.ones(3))
    assert s2s.grad(shifted_in_place)(2.0) == pytest.approx(6.0)
    s2s.check_grad(shifted_in_place, 2.0)


def test_a_number_added_to_in_place_is_rebound():
    gradient = s2s.grad(accumulated_from_a_parameter, wrt=(0, 1))
    assert gradient(2.0, 3.0) == pytest.approx((10.0, 10.0))
    s2s.check_grad(accumulated_from_a_parameter, 2.0, 3.0, wrt=(0, 1))
    with pytest.raises(s2s.UnsupportedSyntaxError, match="'x' also holds"):
        gradient(np.ones(2), 3.0)


def test_the_code_for_any_shapes_checks_in_place_updates_when_it_runs():
    generic = s2s.grad(accumulated_from_a_parameter).generic
    assert generic(2.0, 3.0) == pytest.approx(10.0)
    with pytest.raises(ValueError, match="would update in place an array"):
        generic(np.ones(2), 3.0)


# --- found by tests/fuzz (the differential campaign of issue 13) ----------------------


def same_on_both_paths(p):
    return p if p > 0.01 else p


def scaled_helper_result(x):
    return 2.0 * same_on_both_paths(x * x)


def test_the_same_adjoint_on_both_paths_of_a_branch_flows_on():
    # D1: the adjoint of `p` was merged away when both paths agreed: gradient 0.
    assert s2s.grad(scaled_helper_result)(0.3) == pytest.approx(1.2)
    s2s.check_grad(scaled_helper_result, 0.3)


def reversed_rows_after_early_return(x):
    if np.prod(x, axis=1) >= 0.4:
        return 1.0
    v1 = np.exp(x.sum(axis=0)[::-1])
    return np.mean(v1)


def test_a_spread_never_stands_in_for_the_shape_it_may_lose():
    # D2: `_unindex(dv1 * v1, dv1, ...)` read the shape of dv1, a scalar by then.
    x = np.array([[0.7, 1.0, 0.3]])
    np.testing.assert_allclose(
        s2s.grad(reversed_rows_after_early_return)(x), np.exp(x) / 3
    )
    s2s.check_grad(reversed_rows_after_early_return, x)


def loop_in_a_branch(x):
    s = x
    if x > 0.0:
        for i in reversed(range(1)):
            s = s * x
    return s


def test_a_range_bound_in_a_branch_is_looped_over_when_read_back():
    # D3: the generated `for i in steps` (steps merged by the branch) was refused.
    second = s2s.grad(s2s.grad(loop_in_a_branch))
    assert second(0.3) == pytest.approx(2.0)


def stacks_a_result(x):
    return np.stack([x, x]) * 2


def returns_counts(x):
    return np.arange(3)


def returns_nothing(x):
    return None


def test_a_result_that_is_not_a_number_is_refused():
    # D5: these returned an array (the gradient of its sum) or None.
    with pytest.raises(s2s.NonScalarOutputError, match="shape"):
        s2s.grad(stacks_a_result)(1.0)
    with pytest.raises(s2s.NonScalarOutputError, match="shape"):
        s2s.grad(returns_counts)(1.0)
    with pytest.raises(s2s.UnsupportedSyntaxError, match="returns None"):
        s2s.grad(returns_nothing)


def identity(x):
    return x


def test_a_non_scalar_result_names_the_return_line():
    # D6: the error named no line.
    with pytest.raises(s2s.NonScalarOutputError) as raised:
        s2s.grad(identity)(np.ones(2))
    assert raised.value.lineno is not None
    assert f"{__file__}:{raised.value.lineno}:" in str(raised.value)


def product_of_copies(x):
    return np.prod(np.ones(3) * x)


def test_an_error_met_reading_back_a_gradient_names_the_users_line():
    # D7: it named a line of the generated gradient only.
    with pytest.raises(s2s.NotTwiceDifferentiableError) as raised:
        s2s.grad(s2s.grad(product_of_copies))(1.5)
    first = str(raised.value).splitlines()[0]
    assert first.startswith("test_found_by_fuzzing.py:")
    assert "return np.prod(np.ones(3) * x)" in str(raised.value)
    assert "in the code s2s generated for it" in str(raised.value)


# Found by the campaign of the grammar that learned returns in loops, raise/assert,
# keyword-only parameters and comprehensions (issue 17).


def returns_a_name_from_its_loop(x):
    v8 = x
    for i9 in range(0, 1):
        return v8
    return x


def assigns_a_name_in_a_loop_of_no_op(x):
    s = 0.0
    for i in range(2):
        s = x
    return s * 3.0


def test_a_carried_value_whose_next_is_read_from_outside_a_loop_without_ops():
    # The reverse loop carried only the adjoints of values its ops read, so `s = x`
    # in a body with no op gave x no adjoint: silently 0.
    assert s2s.value_and_grad(returns_a_name_from_its_loop)(-0.5) == (-0.5, 1.0)
    assert s2s.grad(assigns_a_name_in_a_loop_of_no_op)(0.5) == 3.0


def keyword_scaled(x, *, scale=1.0):
    return np.sum(x * x) * scale


def test_hvp_of_a_function_with_keyword_only_parameters():
    x, t = np.array([0.5, -0.3]), np.array([1.0, 2.0])
    np.testing.assert_allclose(s2s.hvp(keyword_scaled, (x,), (t,)), 2.0 * t)


def returns_early_then_raises(x):
    if x > 2.0:
        return x
    if x > 5.0:
        raise ValueError("big")
    return math.tanh(x)


def test_a_second_derivative_after_an_early_return_and_a_raise():
    # The statements after `if ...: raise` were moved into the other branch, and
    # the gradient read back had a value defined on one path only.
    expected = -2 * math.tanh(0.8) * (1 - math.tanh(0.8) ** 2)
    assert s2s.grad(s2s.grad(returns_early_then_raises))(0.8) == pytest.approx(
        expected, rel=1e-12
    )


def returns_none_on_a_path(y):
    if y >= 4.0:
        return 2.0
    return None


def test_none_returned_on_one_path_is_refused():
    with pytest.raises(s2s.UnsupportedSyntaxError, match="returns None on this path"):
        s2s.value_and_grad(returns_none_on_a_path)


def rebinds_its_own_name(x):
    return sum(np.sin(x) * 2.0 for x in x) + np.sum(np.stack([x * 2.0 for x in x]))


def test_a_comprehension_variable_named_like_what_it_runs_over():
    x = np.array([0.3, -0.6, 0.9])
    s2s.check_grad(rebinds_its_own_name, x)


def counts_to_two(p):
    k = 0
    while True:
        k += 1
        if k >= 2:
            return 1.0


def overwritten_by_a_helper_returning_from_its_loop(x, z):
    z = counts_to_two(x)
    return np.sum(z) + 1.0


def test_the_value_a_loop_returns_exists_before_the_loop():
    # first:720 (seed 0): the returned value, bound only on the returning path,
    # was copied unbound on the others (UnboundLocalError in the gradient).
    x, z = np.ones((2, 3)), np.ones(3)
    value, (dx, dz) = s2s.value_and_grad(
        overwritten_by_a_helper_returning_from_its_loop, wrt=(0, 1)
    )(x, z)
    assert value == 2.0 and not dx.any() and not dz.any()


def dict_after_an_early_return(x):
    if 1.0:
        return 3
    unused = {"a": x}
    extra = x
    return extra


def dict_on_each_path(x, flag):
    if flag > 0:
        d = {"a": x * 2.0, "b": x}
    else:
        d = {"a": np.sin(x), "b": x * x}
    return d["a"] + d["b"]


def test_a_dict_defined_on_one_path_only_is_no_internal_error():
    """mutant:77 of the seed-7 campaign: a dict display bound in code after a
    return met the merge of the branches (a phi of a dict crashed)."""
    value, g = s2s.value_and_grad(dict_on_each_path)(0.3, 1.0)
    assert value == pytest.approx(dict_on_each_path(0.3, 1.0))
    assert g == pytest.approx(central(lambda x: dict_on_each_path(x, 1.0), 0.3))
    g = s2s.grad(dict_on_each_path)(0.3, -1.0)
    assert g == pytest.approx(central(lambda x: dict_on_each_path(x, -1.0), 0.3))
    value, g = s2s.value_and_grad(dict_after_an_early_return)(np.ones((2, 3)))
    assert value == 3 and np.array_equal(g, np.zeros((2, 3)))


def filled_under_a_constant_condition(x, z=1.0):
    if 1.0:
        out = np.ones(2)
        for i in range(1):
            out[i] = z
    if x:
        return x
    return out


def filled_under_a_flag(x, w, flag):
    if flag > 0.0:
        h = np.zeros(3)
        for i in range(3):
            h[i] = w[i] * x
    if x > 10.0:
        return x
    return np.sum(h * h)


def test_an_array_filled_under_a_constant_condition_and_returned_on_one_path():
    """tests/fuzz, seed 7, first:1188 (shrunk): on the path that returns x, out's
    adjoint is zero; it was the scalar stand-in of a value that exists on some
    paths only, which the reverse of `out[i] = z` indexed (an InternalError)."""
    dx, dz = s2s.grad(filled_under_a_constant_condition, wrt=(0, 1))(-0.5, 1.8)
    assert (dx, dz) == (1.0, 0.0)


@pytest.mark.parametrize("x, flag", [(20.0, 1.0), (0.5, 1.0), (20.0, -1.0)])
def test_an_array_filled_under_a_flag_has_an_adjoint_of_its_shape(x, flag):
    """The same with a run-time condition (a configuration flag): where h exists,
    its adjoint is an array of its shape whichever path the result took."""
    w = np.arange(3.0)
    dx, dw = s2s.grad(filled_under_a_flag, wrt=(0, 1))(x, w, flag)
    expected_dx = 1.0 if x > 10.0 else 2 * x * np.sum(w * w)
    expected_dw = np.zeros(3) if x > 10.0 else 2 * x * x * w
    assert dx == pytest.approx(expected_dx, rel=1e-12)
    np.testing.assert_allclose(dw, expected_dw, rtol=1e-12)
    if flag > 0.0:
        s2s.check_grad(filled_under_a_flag, x, w, flag, wrt=(0, 1))


def filled_in_each_step(x, w, n):
    for k in range(n):
        h = np.zeros(3)
        for i in range(3):
            h[i] = w[i] * x
    if x > 10.0:
        return x
    return np.sum(h * h)


@pytest.mark.parametrize("x", [20.0, 0.5])
def test_an_array_made_in_each_step_of_a_loop_has_an_adjoint_of_its_shape(x):
    """h exists after the loop only if it ran: its adjoint into the steps before
    the last was the zero stand-in, which the reverse of `h[i] = ...` indexed."""
    w = np.arange(3.0)
    dx, dw = s2s.grad(filled_in_each_step, wrt=(0, 1))(x, w, 2)
    assert dx == pytest.approx(1.0 if x > 10.0 else 2 * x * np.sum(w * w), rel=1e-12)
    np.testing.assert_allclose(dw, np.zeros(3) if x > 10.0 else 2 * x * x * w)
    s2s.check_grad(filled_in_each_step, x, w, 2, wrt=(0, 1))
