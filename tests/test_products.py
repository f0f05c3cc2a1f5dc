"""Products of the reverse sweep (s2s/optimize/products.py): a gradient holds no more
arrays of its argument's size than a hand-written one, in code for known shapes and
in code for any shapes, and the rewritten products stay right for lists, integers
and float32."""

import numpy as np
import pytest

import s2s
from benchmarks.worker import peak_bytes
from s2s.testing import check_grad

N = 2**20  # 8 MiB of float64: numpy reuses temporaries above 256 KiB


def sin_times_x(x):
    return np.sum(np.sin(x) * x)


def tanh_squared(x):
    return np.sum(np.tanh(x) ** 2)


def tanh_squared_mean(x):
    return np.sum(np.tanh(x) ** 2) / x.size


def half_tanh_sin(x):
    return np.sum(np.tanh(x) * np.sin(x)) * 0.5


def mean_squared_sin(x):
    return np.mean((np.sin(x) - 0.5) ** 2)


def hand_sin_times_x(x):
    return np.cos(x) * x + np.sin(x)


def hand_tanh_squared(x):
    t = np.tanh(x)
    return t * (t * t - 1.0) * -2.0


def hand_tanh_squared_mean(x):
    t = np.tanh(x)
    return t * (t * t - 1.0) * (-2.0 / x.size)


def hand_half_tanh_sin(x):
    t = np.tanh(x)
    return (t * np.cos(x) + (1.0 - t * t) * np.sin(x)) * 0.5


def hand_mean_squared_sin(x):
    return (np.sin(x) - 0.5) * np.cos(x) * (2.0 / x.size)


CASES = [
    (sin_times_x, hand_sin_times_x),
    (tanh_squared, hand_tanh_squared),
    (tanh_squared_mean, hand_tanh_squared_mean),
    (half_tanh_sin, hand_half_tanh_sin),
    (mean_squared_sin, hand_mean_squared_sin),
]


def arrays_held(fun, x) -> float:
    """The peak memory of one call, in arrays of x's size (after a first call that
    generates and compiles the code)."""
    fun(x)
    return peak_bytes(fun, (x,)) / x.nbytes


@pytest.mark.parametrize("f, hand", CASES, ids=[f.__name__ for f, _ in CASES])
def test_a_gradient_holds_no_more_arrays_than_a_hand_written_one(f, hand):
    x = np.random.default_rng(0).random(N)
    g = s2s.grad(f)
    np.testing.assert_allclose(g(x[:100]), hand(x[:100]), rtol=1e-12)
    assert arrays_held(g, x) <= arrays_held(hand, x) + 0.01, g.source_for(x)


@pytest.mark.parametrize(
    "f, hand, more",
    [(*CASES[0], 0), (*CASES[1], 1)],
    ids=[f.__name__ for f, _ in CASES[:2]],
)
def test_code_for_any_shapes_holds_no_more_arrays_either(f, hand, more):
    """The generic code (for arguments of any shapes) knows x's shape only through
    the shape classes: sin(x) has x's shape, so the spread seed goes.  (It checks
    that f's result is a scalar, so it computes it: tanh(x)**2 is kept for its sum,
    and `1 - power` is one more array.)"""
    x = np.random.default_rng(0).random(N)
    generic = s2s.grad(f).generic
    np.testing.assert_allclose(generic(x[:100]), hand(x[:100]), rtol=1e-12)
    assert arrays_held(generic, x) <= arrays_held(hand, x) + more + 0.01
    assert "_unreduce" not in s2s.grad(f).source


def test_the_value_and_the_gradient_hold_no_more_arrays_than_by_hand():
    x = np.random.default_rng(0).random(N)

    def hand(x):
        s = np.sin(x)
        return np.sum(s * x), np.cos(x) * x + s

    both = s2s.value_and_grad(sin_times_x)
    assert arrays_held(both, x) <= arrays_held(hand, x) + 0.01


def test_no_multiplication_by_the_seed_where_a_factor_has_the_shape():
    source = s2s.grad(sin_times_x).source_for(np.ones(3))
    reverse = source[source.index("# reverse") : source.index("def sin_times_x_value")]
    assert "_unreduce" not in reverse and "broadcast_to" not in reverse
    assert "1.0 *" not in reverse  # the seed's 1.0 goes too: cos(x) is a float


def test_the_scalar_coefficient_is_spread_rather_than_the_seed():
    """Where no factor is known to be a numpy array (x may be a list), the seed stays
    spread, with the coefficient in it: one array, not two."""

    def f(x):
        return np.sum(np.square(x))

    g = s2s.grad(f)
    assert "_unreduce(2.0, x) * x" in g.source
    assert np.array_equal(g([1.0, 2.0]), [2.0, 4.0])
    assert np.array_equal(g.generic(np.array([1.0, 2.0])), [2.0, 4.0])


def scaled_sin_times_x(x):
    return np.sum(np.sin(x) * x * 2)


def square_times_three(x):
    return np.sum(3 * np.square(x))


@pytest.mark.parametrize("f", [sin_times_x, scaled_sin_times_x, square_times_three])
@pytest.mark.parametrize("x", [[0.5, 1.5, -2.0], [1, 2, 3], np.arange(3)])
def test_lists_and_integers_get_the_gradient_of_arrays(f, x):
    """A list times a Python int repeats it: the reordered products never multiply a
    list by a number first."""
    expected = s2s.grad(f)(np.asarray(x, dtype=float))
    np.testing.assert_allclose(s2s.grad(f)(x), expected, rtol=1e-14)
    np.testing.assert_allclose(s2s.grad(f).generic(x), expected, rtol=1e-14)


@pytest.mark.parametrize("f, _", CASES, ids=[f.__name__ for f, _ in CASES])
def test_the_rewritten_products_match_central_differences(f, _):
    x = np.random.default_rng(1).normal(size=7)
    check_grad(f, x)
    g = s2s.grad(f)
    np.testing.assert_allclose(g.generic(x), g(x), rtol=1e-13)


def test_a_flipped_difference_gives_the_same_numbers():
    """`2 (1 - t²) t` written `-2 (t² - 1) t` so that numpy reuses t²'s buffer: the
    same floating-point numbers, bit for bit."""
    x = np.random.default_rng(2).normal(size=1000)
    t = np.tanh(x)
    assert "(tanh**2 - 1)" in s2s.grad(tanh_squared).source_for(x)
    assert np.array_equal(s2s.grad(tanh_squared)(x), 2.0 * (1 - t**2) * t)


def test_float32_stays_float32_through_a_dropped_seed():
    x = np.linspace(-1, 1, 5).astype(np.float32)
    for f in (sin_times_x, tanh_squared_mean):
        assert s2s.grad(f)(x).dtype == np.float32
        assert s2s.grad(f).generic(x).dtype in (np.float32, np.float64)


def sin_times_smaller(x, a):
    return np.sum(np.sin(x) * a * 2.0)


def smaller_times_seed(x, a):
    return np.sum(np.cos(a) * 3.0 + x) * 0.5


@pytest.mark.parametrize("f", [sin_times_smaller, smaller_times_seed])
@pytest.mark.parametrize("a", [0.3, np.array([0.3]), np.array([[0.3], [-0.2]])])
def test_a_smaller_factor_is_still_spread_to_the_reduced_shape(f, a):
    """`_unreduce(g, x) * a` goes only where another factor has x's shape: a factor
    smaller than x must still be spread up to it (and summed back to a's shape)."""
    x = np.random.default_rng(3).normal(size=(2, 4))
    check_grad(f, x, a, wrt=(0, 1))
    g = s2s.grad(f, wrt=(0, 1))
    for special, generic in zip(g(x, a), g.generic(x, a)):
        assert np.shape(special) == np.shape(generic)
        np.testing.assert_allclose(special, generic, rtol=1e-13)
