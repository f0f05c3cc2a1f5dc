"""Updating part of an array in place, and gradients of gradients that do so.

`acc[i] += v` (and `-=`) on an array the function made itself is the functional update
`acc + <v scattered into zeros like acc at i>`: checked against central differences of
the function as Python runs it (in place), in loops, through branches, with slices,
run-time and negative bounds, and scalars spread over a slice.  Updates that a gradient
could not reproduce (a parameter's array, an array another name sees, an index array)
are refused.  A first gradient accumulates `dx[i] += g` and combines conditions with
`&`: `s2s.grad(s2s.grad(f))` reads it back, checked against differences of the first
gradient and closed forms.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import s2s

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

H = 1e-6
C = np.array([0.3, -0.8, 1.2, 0.5, -0.1, 0.9])


def central(f, x, h=H):
    return (f(x + h) - f(x - h)) / (2 * h)


def along(g, x, d, *rest, h=H):
    """The derivative of the gradient g along d: the Hessian times d."""
    return (g(x + h * d, *rest) - g(x - h * d, *rest)) / (2 * h)


# --- acc[i] += v in user code -----------------------------------------------------------


def squares_by_element(x, w):
    acc = np.zeros(len(x))
    for i in range(len(x)):
        acc[i] += x[i] ** 2 * w
    return np.sum(acc * np.arange(1.0, len(x) + 1))


def windows(x):
    acc = np.zeros(len(x) + 1)
    for i in range(len(x) - 1):
        acc[i : i + 2] += x[i] * x[i + 1 :: -1][:2]
    acc[-1] -= np.sum(x**3)
    acc[-3:] += np.sin(x[:3])
    return np.sum(acc**2)


def rows_and_columns(A, v):
    acc = np.zeros((3, 4))
    for j in range(4):
        acc[:, j] += A[:, j] * v[j]
    acc[1, :] -= v**2
    acc[0] += np.tanh(A[2])
    acc[..., -1] += 1.0
    acc[1:, 1:3] -= A[:2, :2] * A[1:, 2:]
    return np.sum(np.cos(acc))


def spread_scalar(t, c):
    acc = c * 1.0
    acc[1:4] += t**2
    acc[-1] -= t
    return np.sum(acc**3)


def branch_and_while(x):
    acc = np.zeros(3)
    if x[0] > 0:
        acc[0] += x[1] * x[2]
    else:
        acc[2] -= x[1]
    k = 0
    while k < 3:
        acc[k] += x[k] ** 2
        k = k + 1
    return np.sum(acc * np.arange(1.0, 4.0))


def _bumped(u, k):
    out = np.zeros(np.shape(u))
    out[1:-1] += k * (u[2:] - 2 * u[1:-1] + u[:-2])
    return out - u**3


def inlined_helper_owns_its_array(u, k):
    return np.sum(_bumped(u, k) ** 2)


@pytest.mark.parametrize(
    "f, args, wrt",
    [
        (squares_by_element, (C, 0.7), ("x", "w")),
        (windows, (C,), "x"),
        (
            rows_and_columns,
            (np.arange(12.0).reshape(3, 4) / 7 - 0.6, np.array([0.4, -1.1, 0.8, 0.3])),
            ("A", "v"),
        ),
        (spread_scalar, (0.7, C), ("t", "c")),
        (branch_and_while, (np.array([0.5, -1.2, 0.9]),), "x"),
        (branch_and_while, (np.array([-0.5, -1.2, 0.9]),), "x"),
        (inlined_helper_owns_its_array, (C, 0.6), ("u", "k")),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_updating_part_of_an_own_array(f, args, wrt):
    s2s.check_grad(f, *args, wrt=wrt)


def test_the_update_is_written_as_a_new_array():
    text = s2s.grad(squares_by_element).source
    assert "acc = acc + _unindex(" in text


def test_the_generated_value_is_the_in_place_one():
    value, _ = s2s.value_and_grad(windows)(C)
    assert value == pytest.approx(windows(C), rel=1e-14)


# --- what is refused ----------------------------------------------------------------------


def update_parameter(x):
    x[0] += 1.0
    return np.sum(x)


def update_parameter_in_loop(x):
    for i in range(3):
        x[i] -= 0.5
    return np.sum(x)


def update_aliased(x):
    acc = np.zeros(3)
    other = acc
    acc[0] += x
    return np.sum(other)


def update_aliased_before_loop(x):
    acc = np.zeros(3)
    other = acc
    for i in range(3):
        acc[i] += x
    return np.sum(other + acc)


def update_what_the_next_iteration_shares(x):
    acc = np.zeros(3)
    ones = np.ones(3)
    for i in range(3):
        acc[i] += x
        acc = ones
    return np.sum(ones)


def update_under_a_view(x):
    acc = np.zeros(3)
    tail = acc[1:]
    acc[1] += x
    return np.sum(tail)


def update_a_view(x):
    acc = np.zeros((2, 3))
    rows = acc.T
    rows[0] += x
    return np.sum(acc)


def update_with_a_list(x):
    acc = np.zeros(3)
    acc[[0, 0]] += x
    return np.sum(acc)


def update_with_a_mask(x):
    acc = np.zeros(3)
    acc[x > 0] += 1.0
    return np.sum(acc * x)


def update_with_a_parameter_index(x, k):
    acc = np.zeros(3)
    acc[k] += x
    return np.sum(acc)


def update_multiplying(x):
    acc = np.ones(3)
    acc[0] *= x
    return np.sum(acc)


def _bump_argument(a, x):
    a[0] += x
    return a


def update_an_argument(x):
    acc = np.zeros(3)
    bumped = _bump_argument(acc, x)
    return np.sum(acc + bumped)


@pytest.mark.parametrize(
    "f, words",
    [
        (update_parameter, "array of a parameter"),
        (update_parameter_in_loop, "array of a parameter"),
        (update_aliased, "'other' also holds"),
        (update_aliased_before_loop, "'other' also holds"),
        (update_what_the_next_iteration_shares, "'ones' also holds"),
        (update_under_a_view, "'tail' holds a view of"),
        (update_a_view, "a view"),
        (update_with_a_list, "index array"),
        (update_with_a_mask, "cannot tell is an int"),
        (update_with_a_parameter_index, "cannot tell is an int"),
        (update_multiplying, "`*=` on part of an array"),
        (update_an_argument, "array of a parameter"),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_updates_a_gradient_could_not_reproduce_are_refused(f, words):
    with pytest.raises(s2s.UnsupportedSyntaxError) as raised:
        s2s.grad(f)
    error = raised.value
    assert words in str(error)
    assert error.filename == __file__ and error.lineno is not None
    assert error.hint


def update_with_an_int_parameter(x, k):
    acc = np.zeros(3)
    acc[int(k)] += x**2
    acc[len(acc) - 1] -= x
    return np.sum(acc * np.arange(1.0, 4.0))


def test_an_index_said_to_be_an_int_is_accepted():
    s2s.check_grad(update_with_an_int_parameter, 0.8, 1)
    assert s2s.grad(update_with_an_int_parameter)(0.8, 1) == pytest.approx(
        2 * 0.8 * 2 - 3
    )


def test_numpy_adds_once_per_repeated_index_which_is_why_lists_are_refused():
    acc = np.zeros(3)
    acc[[0, 0]] += 1.0
    assert acc[0] == 1.0  # not 2.0: no functional sum says this


# --- gradients of gradients -------------------------------------------------------------


def loop_reading_elements(t, c):
    x = t * c + 0.1 * t * t
    s = 0.0
    for i in range(1, 5):
        s = s + x[i] * x[i - 1] ** 2
    return s


def broadcast_row(t, c):
    x = (t * c).reshape(2, 3)
    return np.sum((x + x[0]) ** 3)


def window_in_loop(t, c):
    x = t * c
    s = 0.0
    for i in range(3):
        s = s + np.sum(x[i : i + 2] ** 3)
    return s


def sliced_products(t, c):
    a = t * np.arange(1.0, 6.0) + c[:5]
    return np.sum(a[1:4] ** 2 * a[:3])


@pytest.mark.parametrize(
    "f, in_place",
    [
        (loop_reading_elements, "dx[i] += "),
        (window_in_loop, "dx[i:add] += "),
        (broadcast_row, "_unindex("),
        (sliced_products, "_unindex("),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_second_derivative_through_indexed_accumulation(f, in_place, tmp_path):
    g = s2s.grad(f)
    second = s2s.grad(g)(0.7, C)  # reads g's code for any arrays
    assert second == pytest.approx(central(lambda t: g(t, C), 0.7), rel=1e-6)
    s2s.check_grad(g, 0.7, C)
    # The code for numpy arguments adds into dx's parts (for any arrays, where the
    # part added might be a Dask array, `dx = dx + _unindex(...)`): read back too,
    # as a module of its own.
    source = g.source_for(0.7, C)
    assert in_place in source
    path = tmp_path / f"{f.__name__}_numpy.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    first = getattr(module, f.__name__ + "_grad")
    assert s2s.grad(first)(0.7, C) == pytest.approx(second, rel=1e-12)


def differences(x):
    return np.sum((x[1:] - x[:-1]) ** 2)


def rough_differences(x, w):
    return np.sum(w[1:] * (x[1:] - x[:-1]) ** 4) + np.sum(x[:-1] * x[1:] ** 2)


force_of_differences = s2s.grad(differences)
force_of_rough = s2s.grad(rough_differences)


def work_of_differences(x, d):
    return np.sum(force_of_differences(x) * d)


def work_of_rough(x, w, d):
    return np.sum(force_of_rough(x, w) * d)


def test_hessian_of_sliced_differences_is_twice_the_path_laplacian():
    rng = np.random.default_rng(3)
    x, d = rng.standard_normal(6), rng.standard_normal(6)
    laplacian = 2 * np.eye(6) - np.eye(6, k=1) - np.eye(6, k=-1)
    laplacian[0, 0] = laplacian[-1, -1] = 1.0
    hd = s2s.grad(work_of_differences)(x, d)
    np.testing.assert_allclose(hd, 2 * laplacian @ d, rtol=1e-12, atol=1e-12)


def test_hessian_of_sliced_quartics_against_differences_of_the_gradient():
    rng = np.random.default_rng(4)
    x, w, d = rng.standard_normal(7), rng.uniform(0.5, 1.5, 7), rng.standard_normal(7)
    hd = s2s.grad(work_of_rough)(x, w, d)
    np.testing.assert_allclose(hd, along(force_of_rough, x, d, w), rtol=1e-6)
    s2s.check_grad(work_of_rough, x, w, d, wrt=("x", "w", "d"))


def clipped_cube(t):
    return np.clip(t, -1.0, 1.0) * t**2


def clipped_energy(x):
    return np.sum(np.clip(x, -1.0, 1.0) * x**2)


force_of_clipped = s2s.grad(clipped_energy)


def work_of_clipped(x, d):
    return np.sum(force_of_clipped(x) * d)


def test_second_derivative_through_clip():
    g = s2s.grad(clipped_cube)
    assert "&" in g.source
    second = s2s.grad(g)
    assert second(0.5) == pytest.approx(6 * 0.5, rel=1e-12)  # t**3 inside
    assert second(1.5) == pytest.approx(2.0, rel=1e-12)  # 1 * t**2 above
    assert second(-1.5) == pytest.approx(-2.0, rel=1e-12)
    x, d = np.array([-1.3, 0.2, 0.7]), np.array([1.0, 2.0, -1.0])
    hd = s2s.grad(work_of_clipped)(x, d)
    np.testing.assert_allclose(hd, along(force_of_clipped, x, d), rtol=1e-6)
    curvature = np.array([-2.0, 6 * 0.2, 6 * 0.7])  # -x**2 below -1, x**3 inside
    np.testing.assert_allclose(hd, curvature * d, rtol=1e-12)


def self_power(t):
    return (t * t + 1.0) ** t


def power(x, t):
    return x**t


def test_second_derivative_of_a_power_with_both_differentiated():
    g = s2s.grad(self_power)
    assert "&" in g.source
    assert s2s.grad(g)(0.7) == pytest.approx(central(g, 0.7), rel=1e-6)
    mixed = s2s.grad(s2s.grad(power, wrt="x"), wrt="t")
    x, t = 1.7, 0.6
    assert mixed(x, t) == pytest.approx(x ** (t - 1) * (1 + t * np.log(x)), rel=1e-12)
    both = s2s.grad(s2s.grad(power, wrt="t"), wrt="t")
    assert both(x, t) == pytest.approx(x**t * np.log(x) ** 2, rel=1e-12)


def _rhs(u, k):
    flow = np.zeros(np.shape(u))
    flow[1:-1] += k * (u[2:] - 2 * u[1:-1] + u[:-2])
    return flow - 0.5 * u**3


def rk4_energy(x, y):
    """x scales the initial state, y the diffusion; four RK4 steps on an array."""
    u = x * np.cos(np.arange(5.0))
    h = 0.1
    for _ in range(4):
        k1 = _rhs(u, y)
        k2 = _rhs(u + 0.5 * h * k1, y)
        k3 = _rhs(u + 0.5 * h * k2, y)
        k4 = _rhs(u + h * k3, y)
        u = u + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return np.sum(u[1:] * u[:-1]) + np.sum(u**2)


def test_mixed_partials_of_an_rk4_integrator_over_an_array_state():
    gx = s2s.grad(rk4_energy, wrt="x")
    gy = s2s.grad(rk4_energy, wrt="y")
    x, y = 1.3, 0.8
    dxy = s2s.grad(gx, wrt="y")(x, y)
    dyx = s2s.grad(gy, wrt="x")(x, y)
    assert dxy == pytest.approx(central(lambda v: gx(x, v), y), rel=1e-6)
    assert dyx == pytest.approx(dxy, rel=1e-10)
    dxx = s2s.grad(gx, wrt="x")(x, y)
    assert dxx == pytest.approx(central(lambda v: gx(v, y), x), rel=1e-6)


def potential(q):
    return np.sum(q[1:] * q[:-1]) + np.sum(q**4)


force = s2s.grad(potential)


def work(q, d):
    return np.sum(force(q) * d)


def test_a_module_level_gradient_of_a_sliced_potential_is_differentiated():
    q, d = np.array([0.3, -0.5, 0.8, 1.1]), np.array([1.0, 2.0, -1.0, 0.5])
    coupling = np.eye(4, k=1) + np.eye(4, k=-1)
    expected = coupling @ d + 12 * q**2 * d  # the Hessian times d
    np.testing.assert_allclose(s2s.grad(work)(q, d), expected, rtol=1e-12)
    s2s.check_grad(work, q, d, wrt=("q", "d"))
    second = s2s.grad(s2s.grad(sliced_products))
    assert second(0.7, C) == pytest.approx(
        central(lambda t: s2s.grad(sliced_products)(t, C), 0.7), rel=1e-6
    )
