"""Functions s2s must reject: each offending line ends with `# <- here`."""

import numpy as np

W = np.ones(3)


def comprehension(x):
    return np.sum([v * 2 for v in x])  # <- here


def fstring(x):
    label = f"{x}"  # <- here
    return x


def subscript_update(x):
    x[0] = 1.0  # <- here
    return np.sum(x)


def chained_assignment(x):
    a = b = x  # <- here
    return a + b


def no_effect(x):
    np.sin(x)  # <- here
    return x


def try_block(x):
    try:  # <- here
        y = x
    except ValueError:
        y = 0.0
    return y


def return_in_loop(x, n):
    for i in range(n):
        return x  # <- here
    return x


def loop_over_array(x):
    s = 0.0
    for v in x:  # <- here
        s = s + v
    return s


def unknown_function(x):
    return np.fft.fft(x)  # <- here


def bad_keyword(x):
    return np.sum(x, dtype=float)  # <- here


def runtime_axis(x, k):
    return np.sum(np.sum(x, axis=k))  # <- here


def module_array(x):
    return np.sum(W * x)  # <- here


def undefined_name(x):
    return x * undefined_thing  # <- here  # noqa: F821


def shared_update(x):
    y = x * 2
    z = y
    z += 1.0  # <- here
    return np.sum(z + y)


def update_under_a_view(x):
    y = x * 2
    z = y.T
    y += 1.0  # <- here
    return np.sum(z + y)


def is_comparison(x):
    if x is None:  # <- here
        return 0.0
    return x


def bitwise(x):
    return (x > 0) & (x < 1)  # <- here


def star_args(*xs):  # <- here
    return xs[0]


def missing_return(x):  # <- here
    y = x * 2
