"""Free names read live (issue 15): what a differentiated function reads from outside
its parameters means what Python would read when the gradient is called.

Checked the way users write such code: module-level data (arrays, numbers, tuples,
lists and dicts of numbers) rebound after `s2s.grad`, closures made by factories
(cells rebound through `nonlocal` setters, second derivatives through them),
`functools.partial`, bound methods reading `self`, nested defs and lambdas, a user
module's helpers and data, float32 and integer data; and the refusals of writes to
names and attributes outside the function, naming their line.  Every gradient is
compared with central differences of the function as it is at that call, in
float64."""

import functools
import importlib
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import s2s
from s2s.testing import ATOL, RTOL, numeric_gradient

HERE = sys.modules[__name__]


def assert_matches_central_differences(gradient, f, *args, wrt=0):
    """`gradient(*args)` against central differences of `f` at `args`, for each
    position in `wrt` (an index or a tuple of them)."""
    got = gradient(*args)
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    grads = got if isinstance(wrt, tuple) else (got,)
    assert len(grads) == len(positions)
    for g, i in zip(grads, positions):
        expected = numeric_gradient(f, list(args), i)
        assert np.shape(g) == np.shape(args[i])
        np.testing.assert_allclose(g, expected, rtol=RTOL, atol=ATOL)


def line_of(marker):
    """The line of this file that ends with the comment `# <marker>`."""
    lines = Path(__file__).read_text().splitlines()
    found = [k + 1 for k, text in enumerate(lines) if text.rstrip().endswith(marker)]
    assert len(found) == 1, (marker, found)
    return found[0]


def assert_names_line(error, marker):
    """The error names this file and the line marked `marker`, with no array repr."""
    line = line_of(f"# {marker}")
    assert error.lineno == line
    assert Path(error.filename).name == Path(__file__).name
    assert f"{Path(__file__).name}:{line}" in str(error).replace("\\", "/")
    assert "array(" not in str(error)


_rng = np.random.default_rng(0)

# --- 1. module-level data, regression losses -----------------------------------------

X = _rng.standard_normal((6, 3))
y = _rng.standard_normal(6)
labels = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])


def least_squares(w):
    residual = X @ w - y
    return 0.5 * np.mean(residual**2)


def logistic_loss(w, b):
    z = X @ w + b
    p = 1.0 / (1.0 + np.exp(-z))
    return -np.mean(labels * np.log(p) + (1.0 - labels) * np.log(1.0 - p))


def test_least_squares_on_module_data_matches_central_differences():
    w = np.array([0.3, -0.2, 0.5])
    assert_matches_central_differences(s2s.grad(least_squares), least_squares, w)


def test_logistic_regression_on_module_data_for_weights_and_bias():
    w = np.array([0.3, -0.2, 0.5])
    gradient = s2s.grad(logistic_loss, wrt=(0, 1))
    assert_matches_central_differences(gradient, logistic_loss, w, 0.1, wrt=(0, 1))


def test_rebinding_module_data_after_grad_is_seen_by_the_next_call(monkeypatch):
    w = np.array([0.3, -0.2, 0.5])
    gradient = s2s.grad(least_squares)
    before = gradient(w)
    rng = np.random.default_rng(1)
    monkeypatch.setattr(HERE, "X", rng.standard_normal((6, 3)))
    monkeypatch.setattr(HERE, "y", rng.standard_normal(6))
    after = gradient(w)
    assert not np.allclose(before, after)
    assert_matches_central_differences(gradient, least_squares, w)


def test_rebinding_module_data_to_another_shape_regenerates_the_gradient(
    monkeypatch,
):
    """More rows (a new batch), then more columns (new features, so a longer w)."""
    gradient = s2s.grad(least_squares)
    w = np.array([0.3, -0.2, 0.5])
    assert_matches_central_differences(gradient, least_squares, w)
    rng = np.random.default_rng(2)
    monkeypatch.setattr(HERE, "X", rng.standard_normal((9, 3)))
    monkeypatch.setattr(HERE, "y", rng.standard_normal(9))
    assert_matches_central_differences(gradient, least_squares, w)
    monkeypatch.setattr(HERE, "X", rng.standard_normal((5, 4)))
    monkeypatch.setattr(HERE, "y", rng.standard_normal(5))
    w4 = np.array([0.1, 0.2, -0.3, 0.4])
    assert_matches_central_differences(gradient, least_squares, w4)


def test_logistic_loss_after_rebinding_data_and_labels(monkeypatch):
    gradient = s2s.grad(logistic_loss, wrt=(0, 1))
    w = np.array([0.3, -0.2, 0.5])
    gradient(w, 0.1)
    rng = np.random.default_rng(3)
    monkeypatch.setattr(HERE, "X", rng.standard_normal((8, 3)))
    monkeypatch.setattr(HERE, "labels", (rng.random(8) > 0.5).astype(float))
    assert_matches_central_differences(gradient, logistic_loss, w, -0.2, wrt=(0, 1))


def test_value_and_grad_reads_the_rebound_data(monkeypatch):
    w = np.array([0.3, -0.2, 0.5])
    both = s2s.value_and_grad(least_squares)
    both(w)
    rng = np.random.default_rng(4)
    monkeypatch.setattr(HERE, "X", rng.standard_normal((7, 3)))
    monkeypatch.setattr(HERE, "y", rng.standard_normal(7))
    value, g = both(w)
    np.testing.assert_allclose(value, least_squares(w), rtol=RTOL, atol=ATOL)
    expected = numeric_gradient(least_squares, [w], 0)
    np.testing.assert_allclose(g, expected, rtol=RTOL, atol=ATOL)


# --- 2. module-level configuration folded into the code --------------------------------

SHAPE = (2, 3)
AXIS = 0
COEFFS = [1.0, -2.0, 0.5]
CFG = {"lam": 0.1, "power": 2}
KEY = "lam"


def reshaped_loss(x):
    m = np.reshape(x, SHAPE)
    return np.sum(np.sum(m, axis=1) ** 2) + np.sum(m[0] * m[-1])


def axis_loss(m):
    return np.sum(np.sum(np.sin(m), axis=AXIS) ** 2)


def polynomial_loss(x):
    s = 0.0
    for k in range(len(COEFFS)):
        s = s + COEFFS[k] * x**k
    return np.sum(s)


def indexed_coefficients(x):
    return np.sum(COEFFS[0] * x + COEFFS[1] * x**2 + COEFFS[2] * np.sin(x))


def regularized_loss(w):
    return np.sum((w - 1.0) ** 2) + CFG["lam"] * np.sum(w ** CFG["power"])


def keyed_loss(w):
    return np.sum(np.cos(w)) + CFG[KEY] * np.sum(w**2)


def test_a_reshape_shape_from_the_module_is_checked_and_regenerates(monkeypatch):
    gradient = s2s.grad(reshaped_loss)
    x = np.linspace(-1.0, 1.0, 6)
    assert_matches_central_differences(gradient, reshaped_loss, x)
    monkeypatch.setattr(HERE, "SHAPE", (3, 2))
    assert_matches_central_differences(gradient, reshaped_loss, x)
    monkeypatch.setattr(HERE, "SHAPE", (6, 1))
    assert_matches_central_differences(gradient, reshaped_loss, x)


def test_an_axis_from_the_module_is_checked_and_regenerates(monkeypatch):
    gradient = s2s.grad(axis_loss)
    m = np.arange(6.0).reshape(2, 3) / 5.0
    assert_matches_central_differences(gradient, axis_loss, m)
    monkeypatch.setattr(HERE, "AXIS", 1)
    assert_matches_central_differences(gradient, axis_loss, m)
    monkeypatch.setattr(HERE, "AXIS", -2)
    assert_matches_central_differences(gradient, axis_loss, m)


def test_a_list_of_coefficients_rebound_to_another_length(monkeypatch):
    gradient = s2s.grad(polynomial_loss)
    x = np.array([0.5, -1.5, 2.0])
    assert_matches_central_differences(gradient, polynomial_loss, x)
    monkeypatch.setattr(HERE, "COEFFS", [0.5, 1.0, -1.0, 0.25])
    assert_matches_central_differences(gradient, polynomial_loss, x)
    monkeypatch.setattr(HERE, "COEFFS", [3.0, 2.0])
    assert_matches_central_differences(gradient, polynomial_loss, x)


def test_list_items_indexed_by_constants_are_read_live(monkeypatch):
    gradient = s2s.grad(indexed_coefficients)
    x = np.array([0.5, -1.5, 2.0])
    assert_matches_central_differences(gradient, indexed_coefficients, x)
    monkeypatch.setattr(HERE, "COEFFS", (2.0, 0.5, -3.0))  # a tuple now
    assert_matches_central_differences(gradient, indexed_coefficients, x)


def test_a_list_of_coefficients_updated_in_place_is_seen(monkeypatch):
    monkeypatch.setattr(HERE, "COEFFS", [1.0, -2.0, 0.5])
    gradient = s2s.grad(indexed_coefficients)
    x = np.array([0.5, -1.5, 2.0])
    gradient(x)
    COEFFS[1] = 4.0
    assert_matches_central_differences(gradient, indexed_coefficients, x)


def test_a_dict_of_hyperparameters_rebound_or_updated(monkeypatch):
    gradient = s2s.grad(regularized_loss)
    w = np.array([0.5, 1.5, -2.0])
    assert_matches_central_differences(gradient, regularized_loss, w)
    monkeypatch.setattr(HERE, "CFG", {"lam": 2.5, "power": 2})
    assert_matches_central_differences(gradient, regularized_loss, w)
    CFG["lam"] = 0.01  # the dictionary updated in place
    assert_matches_central_differences(gradient, regularized_loss, w)
    monkeypatch.setattr(HERE, "CFG", {"lam": 0.3, "power": 4})
    assert_matches_central_differences(gradient, regularized_loss, w)


def test_a_dict_key_from_the_module_is_checked_and_regenerates(monkeypatch):
    monkeypatch.setattr(HERE, "CFG", {"lam": 0.1, "mu": 3.0})
    gradient = s2s.grad(keyed_loss)
    w = np.array([0.5, 1.5, -2.0])
    assert_matches_central_differences(gradient, keyed_loss, w)
    monkeypatch.setattr(HERE, "KEY", "mu")
    assert_matches_central_differences(gradient, keyed_loss, w)


# --- 3. closures ---------------------------------------------------------------------


def make_loss(X, y):
    def loss(w):
        return 0.5 * np.sum((X @ w - y) ** 2) / len(y)

    return loss


def make_model(W):
    def with_targets(t):
        def loss(x):
            return np.sum((np.tanh(W @ x) - t) ** 2)

        return loss

    return with_targets


def make_annealed(temperature):
    def energy(x):
        return np.sum(np.log(np.cosh(x / temperature))) * temperature

    def set_temperature(new):
        nonlocal temperature
        temperature = new

    return energy, set_temperature


def make_potential(k, c):
    def potential(x):
        return k * x**4 - c * x**2 + np.sin(x)

    return potential


def make_logistic(X, labels):
    def loss(w):
        z = X @ w
        return np.sum(np.log1p(np.exp(-labels * z))) + 0.5 * np.sum(w**2)

    return loss


def test_a_closure_over_data_matches_central_differences():
    rng = np.random.default_rng(5)
    loss = make_loss(rng.standard_normal((5, 3)), rng.standard_normal(5))
    w = np.array([0.1, -0.4, 0.7])
    assert_matches_central_differences(s2s.grad(loss), loss, w)


def test_closures_from_two_separate_factory_calls_keep_their_own_data():
    rng = np.random.default_rng(6)
    first = make_loss(rng.standard_normal((5, 3)), rng.standard_normal(5))
    second = make_loss(rng.standard_normal((4, 3)), rng.standard_normal(4))
    w = np.array([0.1, -0.4, 0.7])
    g1, g2 = s2s.grad(first), s2s.grad(second)
    assert_matches_central_differences(g2, second, w)
    assert_matches_central_differences(g1, first, w)


def test_a_closure_two_factories_deep():
    rng = np.random.default_rng(7)
    loss = make_model(rng.standard_normal((4, 3)))(rng.standard_normal(4))
    x = np.array([0.2, -0.1, 0.3])
    assert_matches_central_differences(s2s.grad(loss), loss, x)


def test_a_cell_rebound_through_a_nonlocal_setter_is_seen_next_call():
    energy, set_temperature = make_annealed(2.0)
    gradient = s2s.grad(energy)
    x = np.array([0.5, -1.0, 3.0])
    assert_matches_central_differences(gradient, energy, x)
    set_temperature(0.5)
    assert_matches_central_differences(gradient, energy, x)
    set_temperature(np.float64(1.25))
    assert_matches_central_differences(gradient, energy, x)


def test_grad_of_grad_through_a_closure_on_a_scalar():
    potential = make_potential(0.25, 1.5)
    slope = s2s.grad(potential)
    curvature = s2s.grad(slope)
    for x in (-1.3, 0.2, 0.9):
        np.testing.assert_allclose(
            curvature(x), numeric_gradient(slope, [x], 0), rtol=RTOL, atol=ATOL
        )
        assert_matches_central_differences(slope, potential, x)


def test_hvp_through_a_closure_matches_central_differences_of_the_gradient():
    rng = np.random.default_rng(8)
    loss = make_logistic(rng.standard_normal((6, 3)), np.sign(rng.standard_normal(6)))
    gradient = s2s.grad(loss)
    w, v = np.array([0.1, -0.4, 0.7]), np.array([1.0, 0.5, -2.0])
    hv = s2s.hvp(loss, (w,), (v,))

    def along_v(u):  # d/du (grad(u) . v) = H v, H being symmetric
        return np.dot(gradient(u), v)

    np.testing.assert_allclose(
        hv, numeric_gradient(along_v, [w], 0), rtol=RTOL, atol=ATOL
    )


def test_hvp_through_a_closure_after_a_nonlocal_rebinding():
    energy, set_temperature = make_annealed(2.0)
    gradient = s2s.grad(energy)
    x, v = np.array([0.5, -1.0, 3.0]), np.array([0.3, 1.0, -0.5])
    s2s.hvp(energy, (x,), (v,))
    set_temperature(0.75)

    def along_v(u):
        return np.dot(gradient(u), v)

    np.testing.assert_allclose(
        s2s.hvp(energy, (x,), (v,)),
        numeric_gradient(along_v, [x], 0),
        rtol=RTOL,
        atol=ATOL,
    )


# --- 4. functools.partial ------------------------------------------------------------


def ridge_loss(w, X, y, lam=0.1):
    return 0.5 * np.sum((X @ w - y) ** 2) + lam * np.sum(w**2)


def data_first_loss(X, y, w, lam=0.1):
    return 0.5 * np.sum((np.tanh(X @ w) - y) ** 2) + lam * np.sum(w**2)


def _data(seed, rows=5, columns=3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((rows, columns)), rng.standard_normal(rows)


def test_a_partial_with_keyword_bound_data():
    Xd, yd = _data(9)
    loss = functools.partial(ridge_loss, X=Xd, y=yd)
    w = np.array([0.1, -0.4, 0.7])
    assert_matches_central_differences(s2s.grad(loss), loss, w)


def test_a_partial_with_positionally_bound_data():
    Xd, yd = _data(10)
    loss = functools.partial(data_first_loss, Xd, yd)
    w = np.array([0.1, -0.4, 0.7])
    assert_matches_central_differences(s2s.grad(loss), loss, w)


def test_nested_partials():
    Xd, yd = _data(11)
    loss = functools.partial(functools.partial(ridge_loss, X=Xd), y=yd, lam=0.5)
    w = np.array([0.1, -0.4, 0.7])
    assert_matches_central_differences(s2s.grad(loss), loss, w)
    inner = functools.partial(data_first_loss, Xd)
    outer = functools.partial(inner, yd)
    assert_matches_central_differences(s2s.grad(outer), outer, w)


def test_wrt_counts_the_parameters_the_partial_still_takes():
    """partial(data_first_loss, X, y) takes (w, lam): wrt=1 and wrt="lam" are lam."""
    Xd, yd = _data(12)
    loss = functools.partial(data_first_loss, Xd, yd)
    w = np.array([0.1, -0.4, 0.7])
    for wrt in (1, "lam"):
        assert_matches_central_differences(s2s.grad(loss, wrt=wrt), loss, w, 0.3, wrt=1)
    for wrt in ((0, 1), ("w", "lam")):
        assert_matches_central_differences(
            s2s.grad(loss, wrt=wrt), loss, w, 0.3, wrt=(0, 1)
        )
    assert_matches_central_differences(s2s.grad(loss, wrt="w"), loss, w, 0.3)


def test_a_partials_keywords_mutated_after_grad_are_seen_next_call():
    Xd, yd = _data(13)
    loss = functools.partial(ridge_loss, X=Xd, y=yd)
    gradient = s2s.grad(loss)
    w = np.array([0.1, -0.4, 0.7])
    before = gradient(w)
    loss.keywords["X"], loss.keywords["y"] = _data(14)
    assert not np.allclose(gradient(w), before)
    assert_matches_central_differences(gradient, loss, w)
    loss.keywords["X"], loss.keywords["y"] = _data(15, rows=8)  # another shape
    assert_matches_central_differences(gradient, loss, w)


def quartic_well(k, x, c=1.0):
    return k * x**4 - c * x**2 + np.sin(x)


def test_grad_of_grad_through_a_partial_on_a_scalar():
    well = functools.partial(quartic_well, 0.25, c=1.5)
    slope = s2s.grad(well)
    curvature = s2s.grad(slope)
    for x in (-1.3, 0.2, 0.9):
        assert_matches_central_differences(slope, well, x)
        np.testing.assert_allclose(
            curvature(x), numeric_gradient(slope, [x], 0), rtol=RTOL, atol=ATOL
        )


def test_hvp_through_a_partial_with_keyword_bound_data():
    Xd, yd = _data(23)
    loss = functools.partial(ridge_loss, X=Xd, y=yd, lam=0.2)
    gradient = s2s.grad(loss)
    w, v = np.array([0.1, -0.4, 0.7]), np.array([1.0, 0.5, -2.0])

    def along_v(u):
        return np.dot(gradient(u), v)

    np.testing.assert_allclose(
        s2s.hvp(loss, (w,), (v,)),
        numeric_gradient(along_v, [w], 0),
        rtol=RTOL,
        atol=ATOL,
    )


# --- 5. bound methods ----------------------------------------------------------------


class TanhModel:
    def __init__(self, W, b):
        self.W = W
        self.b = b

    def predict(self, x):
        return np.tanh(self.W @ x + self.b)

    def loss(self, x, target):
        return 0.5 * np.sum((self.predict(x) - target) ** 2)

    def caching_loss(self, x):
        self.cache = x * 2.0  # refused: attribute write
        return np.sum(self.cache**2)


def _model(seed, rows=4, columns=3):
    rng = np.random.default_rng(seed)
    return TanhModel(rng.standard_normal((rows, columns)), rng.standard_normal(rows))


def test_a_bound_method_reading_self_and_calling_a_method():
    model = _model(16)
    x, target = np.array([0.2, -0.5, 0.1]), np.array([0.1, 0.2, -0.3, 0.0])
    gradient = s2s.grad(model.loss)
    assert_matches_central_differences(gradient, model.loss, x, target)
    both = s2s.grad(model.loss, wrt=(0, 1))
    assert_matches_central_differences(both, model.loss, x, target, wrt=(0, 1))
    by_name = s2s.grad(model.loss, wrt="target")
    assert_matches_central_differences(by_name, model.loss, x, target, wrt=1)


def test_rebinding_an_attribute_of_self_after_grad_is_seen_next_call():
    model = _model(17)
    x, target = np.array([0.2, -0.5, 0.1]), np.array([0.1, 0.2, -0.3, 0.0])
    gradient = s2s.grad(model.loss)
    before = gradient(x, target)
    model.W = np.random.default_rng(18).standard_normal((4, 3))
    assert not np.allclose(gradient(x, target), before)
    assert_matches_central_differences(gradient, model.loss, x, target)
    model.W = np.random.default_rng(19).standard_normal((2, 3))  # another shape
    model.b = np.array([0.5, -0.5])
    assert_matches_central_differences(gradient, model.loss, x, target[:2])


def test_two_instances_differentiate_their_own_attributes():
    a, b = _model(20), _model(21)
    x, target = np.array([0.2, -0.5, 0.1]), np.array([0.1, 0.2, -0.3, 0.0])
    ga, gb = s2s.grad(a.loss), s2s.grad(b.loss)
    assert_matches_central_differences(gb, b.loss, x, target)
    assert_matches_central_differences(ga, a.loss, x, target)


def test_an_attribute_write_is_refused_naming_its_line():
    model = _model(22)
    with pytest.raises(s2s.UnsupportedSyntaxError) as caught:
        s2s.grad(model.caching_loss)(np.array([0.2, -0.5, 0.1]))
    assert_names_line(caught.value, "refused: attribute write")


class Oscillator:
    def __init__(self, k):
        self.k = k

    def energy(self, x):
        return self.k * x**4 + np.cos(x)


def test_grad_of_grad_through_a_bound_method_on_a_scalar():
    oscillator = Oscillator(0.5)
    slope = s2s.grad(oscillator.energy)
    curvature = s2s.grad(slope)
    for x in (-1.3, 0.2, 0.9):
        assert_matches_central_differences(slope, oscillator.energy, x)
        np.testing.assert_allclose(
            curvature(x), numeric_gradient(slope, [x], 0), rtol=RTOL, atol=ATOL
        )


def test_hvp_through_a_bound_method_after_rebinding_self_W():
    model = _model(24)
    target = np.array([0.1, 0.2, -0.3, 0.0])
    gradient = s2s.grad(model.loss)
    x, v = np.array([0.2, -0.5, 0.1]), np.array([1.0, 0.5, -2.0])
    s2s.hvp(model.loss, (x, target), (v,))
    model.W = np.random.default_rng(25).standard_normal((4, 3))

    def along_v(u):
        return np.dot(gradient(u, target), v)

    np.testing.assert_allclose(
        s2s.hvp(model.loss, (x, target), (v,)),
        numeric_gradient(along_v, [x], 0),
        rtol=RTOL,
        atol=ATOL,
    )


# --- 6. nested defs and lambdas ------------------------------------------------------


def with_nested_def(x, c):
    scale = 2.0 * c

    def feature(z):
        return np.sin(z) * scale

    return np.sum(feature(x) + feature(x**2))


def closing_over_the_parameter(x, c):
    def shifted(z):
        return np.exp(-((z - x) ** 2)) * c

    return np.sum(shifted(np.arange(3.0))) + np.sum(shifted(x * 0.5))


def with_local_lambda(x, c):
    offset = c**2
    square = lambda z: z**2 + offset  # noqa: E731
    return np.sum(square(x) * np.cos(x)) + square(c)


def with_helper_taking_a_lambda(w, x):
    def apply(fn, v):
        return fn(v)

    return np.sum(apply(lambda z: np.exp(-z * w), x)) + apply(lambda z: z * z, w)


act = lambda z: np.tanh(z) * 1.5  # noqa: E731


def calls_module_lambda(x):
    return np.sum(act(x) ** 2)


def activation(z):
    return np.tanh(z)


def calls_module_function(x):
    return np.sum(activation(x) ** 2 * x)


@pytest.mark.parametrize(
    "f",
    [
        with_nested_def,
        closing_over_the_parameter,
        with_local_lambda,
        with_helper_taking_a_lambda,
    ],
)
def test_nested_functions_close_over_the_enclosing_locals(f):
    """Both parameters differentiated: the gradient flows through the closure."""
    x, c = np.array([0.3, -0.8, 1.2]), 0.7
    if f is with_helper_taking_a_lambda:
        x, c = 0.7, np.array([0.3, -0.8, 1.2])
    gradient = s2s.grad(f, wrt=(0, 1))
    assert_matches_central_differences(gradient, f, x, c, wrt=(0, 1))


def test_a_module_level_lambda_differentiated_or_called():
    assert_matches_central_differences(s2s.grad(act), act, 0.4)
    x = np.array([0.3, -0.8, 1.2])
    gradient = s2s.grad(calls_module_lambda)
    assert_matches_central_differences(gradient, calls_module_lambda, x)


def test_a_module_level_lambda_rebound_after_grad_is_seen_next_call(monkeypatch):
    """Swapping the activation: the next call differentiates the new one."""
    x = np.array([0.3, -0.8, 1.2])
    gradient = s2s.grad(calls_module_lambda)
    gradient(x)
    monkeypatch.setattr(HERE, "act", lambda z: np.sin(z) * 3.0)
    assert_matches_central_differences(gradient, calls_module_lambda, x)


def test_a_module_level_function_rebound_after_grad_is_seen_next_call(monkeypatch):
    x = np.array([0.3, -0.8, 1.2])
    gradient = s2s.grad(calls_module_function)
    gradient(x)
    monkeypatch.setattr(HERE, "activation", np.sin)
    assert_matches_central_differences(gradient, calls_module_function, x)
    monkeypatch.setattr(HERE, "activation", act)
    assert_matches_central_differences(gradient, calls_module_function, x)


# --- 7. a user module ----------------------------------------------------------------

MYLIB = """
import numpy as np

SCALE = 2.0


def act(z):
    return np.tanh(z) * SCALE
"""


def uses_mylib(w):
    return np.sum(mylib.act(w) ** 2) + mylib.SCALE * np.sum(w**2)  # noqa: F821


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """`mylib`, a module of the user's on sys.path, bound here as `import mylib` would."""
    (tmp_path / "mylib.py").write_text(textwrap.dedent(MYLIB))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "mylib", raising=False)
    module = importlib.import_module("mylib")
    monkeypatch.setattr(HERE, "mylib", module, raising=False)
    yield module
    sys.modules.pop("mylib", None)


def test_a_user_modules_helper_and_data(user_module):
    w = np.array([0.3, -0.8, 1.2])
    gradient = s2s.grad(uses_mylib)
    assert_matches_central_differences(gradient, uses_mylib, w)


def test_a_user_modules_data_rebound_after_grad_is_seen_next_call(user_module):
    w = np.array([0.3, -0.8, 1.2])
    gradient = s2s.grad(uses_mylib)
    before = gradient(w)
    user_module.SCALE = 0.5
    assert not np.allclose(gradient(w), before)
    assert_matches_central_differences(gradient, uses_mylib, w)


def test_a_user_module_imported_inside_a_factory(user_module):
    def make(target):
        import mylib

        def loss(w):
            return np.sum((mylib.act(w) - target) ** 2)

        return loss

    loss = make(np.array([0.1, 0.2, 0.3]))
    w = np.array([0.3, -0.8, 1.2])
    gradient = s2s.grad(loss)
    assert_matches_central_differences(gradient, loss, w)
    user_module.SCALE = 4.0
    assert_matches_central_differences(gradient, loss, w)


# --- 8. writes refused ---------------------------------------------------------------

CALLS = 0
BIG = _rng.standard_normal(2000)


def counting_loss(x):
    global CALLS  # refused: global write
    CALLS = CALLS + 1
    return np.sum(x * BIG[: x.size])


def make_counting_loss(weights):
    calls = 0

    def loss(x):
        nonlocal calls  # refused: nonlocal write
        calls += 1
        return np.sum(x * weights[: x.size])

    return loss


class BigModel:
    def __init__(self):
        self.W = BIG.copy()

    def loss(self, x):
        self.last = x  # refused: attribute write of a big model
        return np.sum(x * self.W[: x.size])


def test_a_global_write_is_refused_naming_its_line():
    with pytest.raises(s2s.UnsupportedSyntaxError) as caught:
        s2s.grad(counting_loss)(np.ones(3))
    assert_names_line(caught.value, "refused: global write")
    assert "global CALLS" in str(caught.value)
    assert CALLS == 0


def test_a_nonlocal_write_is_refused_naming_its_line():
    with pytest.raises(s2s.UnsupportedSyntaxError) as caught:
        s2s.grad(make_counting_loss(BIG))(np.ones(3))
    assert_names_line(caught.value, "refused: nonlocal write")
    assert "nonlocal calls" in str(caught.value)


def test_refusals_never_print_the_large_arrays_they_read():
    for f, marker in [
        (counting_loss, "refused: global write"),
        (make_counting_loss(BIG), "refused: nonlocal write"),
        (BigModel().loss, "refused: attribute write of a big model"),
    ]:
        with pytest.raises(s2s.S2SError) as caught:
            s2s.grad(f)(np.ones(3))
        assert_names_line(caught.value, marker)
        assert "array(" not in str(caught.value)
        assert "..." not in str(caught.value).replace("= ...`", "")  # no elided repr


def test_primals_that_do_not_fit_a_partial_are_reported_without_its_arrays():
    loss = functools.partial(ridge_loss, X=np.tile(BIG[:150], (20, 1)).T, y=BIG[:150])
    w = np.ones(20)
    for transform in (s2s.hvp, s2s.jvp):
        with pytest.raises(s2s.S2SError) as caught:
            transform(loss, (w, w), (w,))  # one primal too many
        assert "array(" not in str(caught.value)


# --- 9. float32 and integer module data ----------------------------------------------

W32 = _rng.standard_normal(3).astype(np.float32)
REPEATS = 3
INDEX = np.array([2, 0, 1, 2])


def float32_data_loss(x):
    return np.sum((W32 * x - 1.0) ** 2)


def int_multiplier_loss(x):
    return REPEATS * np.sum(np.sin(x))


def repeated_loss(x):
    s = 0.0
    for _ in range(REPEATS):
        s = s + np.sum(np.cos(x) * x)
    return s


def gathered_loss(x):
    return np.sum(x[INDEX] ** 2 * np.arange(INDEX.size))


def test_a_float32_module_array_with_float64_arguments(monkeypatch):
    x = np.array([0.3, -0.8, 1.2])
    gradient = s2s.grad(float32_data_loss)
    assert gradient(x).dtype == np.float64
    assert_matches_central_differences(gradient, float32_data_loss, x)
    monkeypatch.setattr(HERE, "W32", np.array([2.0, -1.0, 0.5], dtype=np.float32))
    assert_matches_central_differences(gradient, float32_data_loss, x)


def test_an_integer_module_multiplier_rebound(monkeypatch):
    x = np.array([0.3, -0.8, 1.2])
    for f in (int_multiplier_loss, repeated_loss):
        gradient = s2s.grad(f)
        assert_matches_central_differences(gradient, f, x)
        monkeypatch.setattr(HERE, "REPEATS", 5)
        assert_matches_central_differences(gradient, f, x)
        monkeypatch.setattr(HERE, "REPEATS", 3)
        assert_matches_central_differences(gradient, f, x)


def test_an_integer_index_array_from_the_module_rebound(monkeypatch):
    x = np.array([0.3, -0.8, 1.2])
    gradient = s2s.grad(gathered_loss)
    assert_matches_central_differences(gradient, gathered_loss, x)
    monkeypatch.setattr(HERE, "INDEX", np.array([1, 1]))
    assert_matches_central_differences(gradient, gathered_loss, x)
