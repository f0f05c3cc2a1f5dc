"""Functions s2s must reject: each offending line ends with `# <- here`."""

import numpy as np
import scipy.special

W = np.ones(3)


def comprehension(x):
    return np.sum([v * 2 for v in x])  # <- here


def subscript_update(x):
    x[0] = 1.0  # <- here
    return np.sum(x)


def no_effect(x):
    np.sin(x)  # <- here
    return x


def try_block(x):
    try:  # <- here
        y = x
    except ValueError:
        y = 0.0
    return y


def with_block(x, path):
    with open(path) as f:  # <- here
        scale = float(f.read())
    return x * scale


def unknown_function(x):
    return np.fft.fft(x)  # <- here


def bad_keyword(x):
    return np.sum(x, dtype=float)  # <- here


def runtime_axis(x, k):
    return np.sum(np.sum(x, axis=k))  # <- here


def global_write(x):
    global W  # <- here
    W = W + x
    return np.sum(W)


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


def is_comparison(x, y):
    if x is y:  # <- here
        return x
    return x * y


def bitwise(x):
    return (x > 0) ^ (x < 1)  # <- here


def star_kwargs(x, **options):  # <- here
    return x * options["scale"]


def missing_return(x):  # <- here
    y = x * 2


def einsum_implicit(a, b):
    return np.sum(np.einsum("ij,jk", a, b))  # <- here


def einsum_repeated_output(a):
    return np.sum(np.einsum("i->ii", a))  # <- here


def norm_nuclear(x):
    return np.linalg.norm(x, "nuc")  # <- here


def pad_reflect(x):
    return np.sum(np.pad(x, 1, mode="reflect"))  # <- here


def tensordot_axes(a):
    return np.sum(np.tensordot(a, a, axes=([0, 1], [0])))  # <- here


def repeat_counts(x):
    return np.sum(np.repeat(x, [1, 2, 3]))  # <- here


def diff_prepend_list(x):
    return np.sum(np.diff(x, prepend=[0.0, 0.0]))  # <- here


def average_returned(x):
    return np.sum(np.average(x, weights=x, returned=True))  # <- here


def trapezoid_runtime_axis(x, k):
    return np.sum(np.trapezoid(x, axis=k))  # <- here


def cholesky_upper(x):
    return np.sum(np.linalg.cholesky(x, upper=True))  # <- here


def eigh_triangle(x):
    return np.sum(np.linalg.eigh(x, UPLO="X")[0])  # <- here


def moveaxis_mixed(x):
    return np.sum(np.moveaxis(x, (0, 1), 0))  # <- here


def concatenate_name(x):
    parts = (x, 2 * x)
    return np.sum(np.concatenate(parts))  # <- here


def var_where(x):
    return np.var(x, where=x > 0)  # <- here


def sum_dtype_positional(x):
    return np.sum(x, 0, float)  # <- here


def library_function(x):
    return np.sum(scipy.special.ndtr(x))  # <- here


def bad_dtype(x):
    return np.sum(np.zeros(3, dtype=x) + x)  # <- here


def linspace_retstep(x):
    grid, step = np.linspace(x[0], x[1], 5, retstep=True)  # <- here
    return np.sum(grid) * step


def linspace_axis(x):
    return np.sum(np.linspace(x, 2 * x, 4, axis=1))  # <- here


def linspace_count(x):
    return np.sum(np.linspace(0.0, 1.0, len(x) * x[0]))  # <- here


def linspace_endpoint(x):
    return np.sum(np.linspace(x[0], x[1], 5, endpoint=x[2] > 0))  # <- here


def arange_differentiated_start(x):
    return np.sum(np.arange(x[0], 2.0, 0.25))  # <- here


def astype_complex(x):
    return np.sum(np.abs(x.astype(np.complex128)))  # <- here


def astype_order(x):
    return np.sum(x.astype(np.float32, order="C"))  # <- here


def triu_indices_offset(x):
    i, j = np.triu_indices(3, k=0.5)  # <- here
    return np.sum(x[i] * x[j])


def triu_indices_columns(x):
    i, j = np.triu_indices(3, 1, len(x))  # <- here
    return np.sum(x[i] * x[j])
