"""Bugs that users (and testers acting as users) found, each kept as a test: values
of integer or bool dtype in derivative code, tuples of values, and arrays shared
between a loop's iterations.  Gradients are checked against central differences."""

import numpy as np
import pytest

import s2s

X = np.array([-0.5, 0.5, 1.5, 2.5])


def two_masks(x):
    return np.sum((x < 1.0) * x) + np.sum((x < 2.0) * x)


def masked_square(x):
    return np.sum((x > 0) * x**2 + (x < 0) * x)


def one_mask(x):
    return np.sum((x < 0) * x)


def masked_loss(x, observed, train):
    return np.sum(x * observed) + np.sum(x * train)


def pixel_loss(w, img):
    return np.sum(w * img) + np.sum(w * img)


def test_bool_masks_give_float_gradients_that_add_up():
    # bool + bool is a logical or: the adjoint of `mask * x` must be a float array.
    for f in (two_masks, masked_square, one_mask):
        gradient = s2s.grad(f)(X)
        assert gradient.dtype == np.float64
        s2s.check_grad(f, X)
    np.testing.assert_array_equal(s2s.grad(two_masks)(X), [2.0, 2.0, 1.0, 0.0])


def test_bool_and_integer_data_parameters():
    observed = np.array([True, True, False, True])
    train = np.array([True, False, False, True])
    np.testing.assert_array_equal(
        s2s.grad(masked_loss)(X, observed, train), observed * 1.0 + train * 1.0
    )
    img = np.array([200, 100, 255, 3], dtype=np.uint8)  # uint8 + uint8 wraps round
    gradient = s2s.grad(pixel_loss)(np.ones(4), img)
    np.testing.assert_array_equal(gradient, 2.0 * img.astype(float))


def test_a_gradient_is_never_the_callers_array():
    w, x = np.ones(3), np.arange(3.0)
    gw, gx = s2s.grad(product_of_two, wrt=(0, 1))(w, x)
    assert gw is not x and not np.shares_memory(gw, x)
    assert gx is not w and not np.shares_memory(gx, w)


def product_of_two(w, x):
    return np.sum(w * x)


def tuple_item(x):
    t = (x, x * 2)
    return t[1]


def tuple_unpacked(a, b):
    t = (a * 3, b)
    p, q = t
    return p * q


def tuple_negative_index(x, y):
    t = (x, y * 3)
    return t[-1] * t[0]


def tuple_slice(x, y):
    t = (x, y * 3, x * y)
    u = t[1:]
    return u[0] * u[1]


def takes_pair(p):
    return p[0] * p[1]


def tuple_to_helper(x, y):
    return takes_pair((x, y * 2))


@pytest.mark.parametrize(
    "f",
    [tuple_item, tuple_unpacked, tuple_negative_index, tuple_slice, tuple_to_helper],
)
def test_items_of_a_tuple_display_are_differentiated(f):
    nargs = f.__code__.co_argcount
    s2s.check_grad(f, *[1.5, 2.0][:nargs], wrt=tuple(range(nargs)))


def tuple_summed(x):
    return np.sum((x, 2 * x))


def tuple_run_time_index(x):
    t = (x, x**2)
    s = 0.0
    for i in range(2):
        s = s + t[i]
    return s


@pytest.mark.parametrize(
    "f, message",
    [
        (tuple_summed, "a tuple of values that depend on"),
        (tuple_run_time_index, "a tuple is indexed with a value known only at run"),
    ],
)
def test_a_tuple_of_values_is_refused_where_it_would_get_no_derivative(f, message):
    with pytest.raises(s2s.S2SError, match=message) as caught:
        s2s.grad(f)(np.arange(3.0))
    assert caught.value.lineno is not None


def invariant_adjoint(y, z, w):
    # The gradient of this gradient reads one adjoint of w (made outside the loop)
    # in every iteration: adding into it in place would change it for the next.
    k = 0
    while k < 3:
        y = 0.5 * y + 0.25 * np.tanh(np.sum(np.tanh(y + z + y)))
        k = k + 1
    return y


dz_of_invariant = s2s.grad(invariant_adjoint, wrt="z")


def weighted_dz(y, z, w):
    return np.sum(dz_of_invariant(y, z, w) * w)


def test_an_array_read_by_every_iteration_is_not_updated_in_place():
    y, z = -0.92, np.array([-1.84, -1.93, 1.25])
    w = np.array([0.3, -0.7, 0.5])
    s2s.check_grad(weighted_dz, y, z, w, wrt=(0, 1))


def via_ravel(x):
    y = x * 1.0
    v = y.ravel()  # a view of y: `v += 1` would change y too
    v += 1.0
    return np.sum(y**2)


def via_squeeze(x):
    y = x * 1.0
    v = np.squeeze(y)
    v += 1.0
    return np.sum(y**2)


def via_einsum(x):
    y = x * 1.0
    v = np.einsum("ij->ij", y)
    v += 1.0
    return np.sum(y**2)


def via_conditional_expression(x):
    y = x * 1.0
    v = y if np.sum(x) > -100 else y * 2
    v += 1.0
    return np.sum(y**2)


def doubles_in_place(a):
    a *= 2.0
    return np.sum(a)


def via_helper_argument(x):
    y = x * 1.0
    s = doubles_in_place(y)
    return np.sum(y**2) + s


@pytest.mark.parametrize(
    "f",
    [
        via_ravel,
        via_squeeze,
        via_einsum,
        via_conditional_expression,
        via_helper_argument,
    ],
)
def test_an_update_in_place_of_an_array_another_name_sees_is_refused(f):
    with pytest.raises(s2s.S2SError, match="would update in place") as caught:
        s2s.grad(f)(np.ones((3, 2)))
    assert caught.value.lineno is not None


SCALE = 2.0


def scaled_square(x):
    return np.sum(x**2) * SCALE


def test_a_gradient_reads_module_constants_when_it_runs_for_every_shape():
    """A module constant rebound after s2s.grad (a weight annealed in training) is
    the value the next call reads: never the gradient of the old value."""
    global SCALE
    gradient = s2s.grad(scaled_square)
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(gradient(x), 4.0 * x)
    SCALE = 5.0
    try:
        np.testing.assert_array_equal(gradient(x), 10.0 * x)
        np.testing.assert_array_equal(gradient(np.ones((2, 2))), np.full((2, 2), 10.0))
        np.testing.assert_array_equal(s2s.grad(scaled_square)(x), 10.0 * x)
    finally:
        SCALE = 2.0
    np.testing.assert_array_equal(gradient(x), 4.0 * x)


def counted(x, n):
    s = 0.0
    for i in range(n):
        s = s + x * n
    return s


def window(x, k):
    return np.sum(x[k:] ** 2) * k


def test_a_differentiated_count_or_index_is_refused():
    for f, args in [(counted, (1.5, 3)), (window, (np.arange(5.0), 2))]:
        with pytest.raises(s2s.S2SError, match="used here as a count, an index"):
            s2s.grad(f, wrt=(0, 1))(*args)
        s2s.check_grad(f, *args, wrt=0)  # with respect to x alone: fine
