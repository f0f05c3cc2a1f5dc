"""Test inputs for every derivative rule, as data: used by tests/test_rules.py.

Each row of :data:`RULES` names the primitive it exercises, the expression a user would
write, its arguments with the domain each is drawn from, and the shapes to try.  The
test wraps the expression as ``np.sum((expr) * w)`` with a fixed random weight `w` of
the output's shape, and checks the gradient with respect to every differentiable
argument against central differences.

Shapes are written one token per argument, separated by spaces:

    f      a Python float             i      a Python int
    0      a 0-d float array          i:0    a 0-d int array
    5      a float array of shape (5,)  3,4  ... of shape (3, 4)
    i:3,4  an int array of shape (3, 4)
    -      the domain gives the whole value (fixed index arrays)

Domains (see :data:`DOMAINS`) keep inputs where the function is smooth: away from the
poles, branch cuts and kinks of the function, and without ties for max/min/maximum.
"""

from __future__ import annotations

import numpy as np

# --- domains ----------------------------------------------------------------------------


def _uniform(lo, hi):
    return lambda rng, shape: rng.uniform(lo, hi, shape)


def _ints(lo, hi):  # inclusive
    return lambda rng, shape: rng.integers(lo, hi + 1, shape)


def _signed(sampler):
    return lambda rng, shape: sampler(rng, shape) * rng.choice([-1, 1], shape)


def _bands(rng, shape):
    """Values in [-1.2, -0.8], [-0.3, 0.3] or [0.8, 1.2]: clear of clip bounds near 0.5."""
    centre = rng.choice([-1.0, 0.0, 1.0], shape)
    return centre + rng.uniform(-0.2, 0.2, shape) * np.where(centre == 0, 1.5, 1.0)


def _mod_numerator(rng, shape):
    """2k + u, u in [0.7, 1.3]: with a divisor of magnitude 1.9..2.1, x / y stays at
    least 0.06 from an integer, so x % y is smooth."""
    return 2.0 * rng.integers(-2, 3, shape) + rng.uniform(0.7, 1.3, shape)


def _frac(rng, shape):
    """k + u, u in [0.2, 0.8]: clear of the jumps of floor, ceil and int."""
    return rng.integers(-3, 3, shape) + rng.uniform(0.2, 0.8, shape)


def _distinct_ints(rng, shape):
    size = int(np.prod(shape, dtype=int))
    return np.reshape(rng.permutation(size) - size // 2, shape)


def _with_zeros(count):
    """Nonzero values with `count` elements set to zero (products through zeros)."""

    def sample(rng, shape):
        x = _signed(_uniform(0.5, 1.5))(rng, shape)
        flat = np.reshape(x, -1).copy()
        flat[[1, 2, 7][:count]] = 0.0
        return np.reshape(flat, shape)

    return sample


def _zeros_at(*positions):
    """Nonzero values with the elements at these flat positions set to zero."""

    def sample(rng, shape):
        flat = np.reshape(_signed(_uniform(0.5, 1.5))(rng, shape), -1).copy()
        flat[list(positions)] = 0.0
        return np.reshape(flat, shape)

    return sample


def _matrices(make):
    """Square matrices (of the last two axes) from make(rng, m, n), n their size,
    m a random matrix of the shape."""
    return lambda rng, shape: make(rng, rng.standard_normal(shape), shape[-1])


def _int_matrices(make):
    return lambda rng, shape: make(rng, rng.integers(-2, 3, shape), shape[-1])


def _transposed(m):
    return np.swapaxes(m, -1, -2)


def _constant(value):
    return lambda rng, shape: np.full(shape, value, dtype=float)


#: name -> (float sampler, int sampler or None, differentiable)
DOMAINS = {
    "real": (lambda rng, shape: rng.standard_normal(shape), _ints(-3, 3), True),
    "pos": (_uniform(0.5, 2.0), _ints(1, 3), True),
    "neg": (_uniform(-2.0, -0.5), _ints(-3, -1), True),
    "nz": (_signed(_uniform(0.5, 2.0)), _signed(_ints(1, 3)), True),
    "unit": (_uniform(-0.9, 0.9), _ints(0, 0), True),  # arcsin, arccos, log1p
    "small": (_uniform(-1.2, 1.2), _ints(-1, 1), True),  # tan: clear of its poles
    "gt1": (_uniform(1.2, 3.0), _ints(2, 3), True),  # arccosh
    "big": (_uniform(700.0, 800.0), None, True),  # logaddexp where exp overflows
    # maximum/minimum: continuous floats never tie; ints are even against odd.
    "even": (
        lambda rng, shape: rng.standard_normal(shape),
        lambda r, s: 2 * _ints(-2, 2)(r, s),
        True,
    ),
    "odd": (
        lambda rng, shape: rng.standard_normal(shape),
        lambda r, s: 2 * _ints(-2, 1)(r, s) + 1,
        True,
    ),
    "distinct": (lambda rng, shape: rng.standard_normal(shape), _distinct_ints, True),
    "bands": (_bands, _ints(-1, 1), True),  # clip's argument
    "lo": (_uniform(-0.6, -0.4), None, True),  # clip's lower bound
    "hi": (_uniform(0.4, 0.6), None, True),  # clip's upper bound
    "modnum": (_mod_numerator, lambda r, s: 2 * _ints(-2, 2)(r, s) + 1, True),
    "modden": (_signed(_uniform(1.9, 2.1)), _signed(_ints(2, 2)), True),
    "frac": (_frac, None, True),
    "zero1": (_with_zeros(1), None, True),  # products through one zero
    "zeros": (_with_zeros(3), None, True),  # ... and through several
    "zerorun": (_zeros_at(1, 3, 4), None, True),  # three zeros in a row of five
    # np.linalg: invertible, positive definite, and symmetric with distinct
    # eigenvalues (the diagonal of the integer ones 0, 5, 10 apart from the rest).
    "invertible": (
        _matrices(lambda rng, m, n: m + 3 * np.eye(n)),
        _int_matrices(lambda rng, m, n: m + 6 * np.eye(n, dtype=int)),
        True,
    ),
    "spd": (
        _matrices(lambda rng, m, n: m @ _transposed(m) + n * np.eye(n)),
        _int_matrices(lambda rng, m, n: m @ _transposed(m) + n * np.eye(n, dtype=int)),
        True,
    ),
    "symmetric": (
        _matrices(lambda rng, m, n: m + _transposed(m)),
        _int_matrices(
            lambda rng, m, n: np.clip(m + _transposed(m), -1, 1)
            + np.diag(5 * np.arange(n))
        ),
        True,
    ),
    "zero": (_constant(0.0), _ints(0, 0), True),
    "half": (_constant(0.5), None, True),
    "two": (_constant(2.0), None, True),
    # Not differentiated: exponents of negative bases, masks, indices.
    "intexp": (
        lambda rng, shape: _ints(-2, 3)(rng, shape).astype(float),
        _ints(-2, 3),
        False,
    ),
    "mask": (lambda rng, shape: rng.random(shape) < 0.5, None, False),
    # Read for its shape (the helpers of generated code): not differentiated.
    "like": (lambda rng, shape: rng.standard_normal(shape), _ints(-3, 3), False),
    "index": (lambda rng, shape: 1, None, False),
    "indices": (lambda rng, shape: np.array([2, 0, 2, 1]), None, False),
    "arange": (  # exponents 0, 1, 2, ... (polynomial features)
        lambda rng, shape: np.reshape(np.arange(float(np.prod(shape))), shape),
        lambda rng, shape: np.reshape(np.arange(int(np.prod(shape))), shape),
        False,
    ),
}

# --- shape sets ---------------------------------------------------------------------------

UNARY = ["f", "0", "5", "3,4", "2,2,3", "i", "i:4", "i:0"]
FLOATS = ["f", "0", "5", "3,4", "2,2,3"]  # domains without integer points
MATH1 = ["f", "0", "i"]
MATH2 = ["f f", "0 0", "i f", "f i", "i i"]
BINARY = [
    *("f f", "0 0", "5 5", "3,4 3,4", "3,1 1,4", "4 3,4", "3,4 4"),
    *("f 3,4", "3,4 0", "2,1,3 2,1", "i i", "i:5 f", "f i:2,3", "i:3 i:3"),
]
BINARY_FLOATS = [s for s in BINARY if "i" not in s]
FEW2 = ["f f", "5 5", "3,1 1,4", "i:4 3,4"]  # other spellings of the same primitive
FEW2_FLOATS = ["f f", "5 5", "3,1 1,4"]
ALL_RANKS = ["f", "0", "5", "3,4", "2,2,3", "i:3,4"]
MATRIX = ["3,4"]
AXIS0 = ["5", "3,4", "2,2,3", "i:3,4"]
AXIS1 = ["3,4", "2,2,3"]
CUBE = ["2,2,3"]

# --- the rule table ---------------------------------------------------------------------

#: (primitive, expression, arguments as "name:domain ...", shapes[, setup statements])
RULES = [
    # Linear.
    ("add", "x + y", "x:real y:real", BINARY),
    ("add", "np.add(x, y)", "x:real y:real", FEW2),
    ("add", "x + 1.5", "x:real", UNARY),
    ("sub", "x - y", "x:real y:real", BINARY),
    ("sub", "np.subtract(x, y)", "x:real y:real", FEW2),
    ("sub", "2.0 - x", "x:real", UNARY),
    ("neg", "-x", "x:real", UNARY),
    ("neg", "np.negative(x)", "x:real", ["f", "5", "3,4", "i:4"]),
    ("float", "float(x)", "x:real", ["f", "0", "i", "i:0"]),
    ("copy", "z", "x:real", ["f", "5", "3,4", "i:3"], "z = x"),
    # Bilinear.
    ("mul", "x * y", "x:real y:real", BINARY),
    ("mul", "np.multiply(x, y)", "x:real y:real", FEW2),
    ("mul", "x * x", "x:real", UNARY),
    ("mul", "3.0 * x", "x:real", ["f", "5", "i"]),
    (
        "matmul",
        "x @ y",
        "x:real y:real",
        [
            *("4 4", "3,4 4", "4 4,2", "3,4 4,2", "1,3 3,1", "3,1 1,4"),
            *("2,3,2 2,3", "2,2,3 3", "3 2,3,2", "2,3,2 2,2,3", "3,2 2,2,3"),
            *("2,1,2,2 3,2,2", "i:3,4 4", "3 i:3,2"),
        ],
    ),
    (
        "matmul",
        "np.matmul(x, y)",
        "x:real y:real",
        ["4 4", "3,4 4,2", "2,2,3 3", "3 2,3,2"],
    ),
    ("matmul", "x @ x", "x:real", ["3,3", "4"]),
    (
        "dot",
        "np.dot(x, y)",
        "x:real y:real",
        [
            *("4 4", "3,4 4", "4 4,2", "3,4 4,2", "1,3 3,1"),
            *("f 3,4", "3,4 f", "0 4", "f f", "i 4", "i:4 4"),
        ],
    ),
    ("dot", "x.dot(y)", "x:real y:real", ["4 4", "3,4 4", "4 4,2", "3,4 4,2"]),
    # Elementwise, one argument.
    ("exp", "np.exp(x)", "x:real", UNARY),
    ("exp", "math.exp(x)", "x:real", MATH1),
    ("exp2", "np.exp2(x)", "x:real", UNARY),
    ("log", "np.log(x)", "x:pos", UNARY),
    ("log", "math.log(x)", "x:pos", MATH1),
    ("log2", "np.log2(x)", "x:pos", UNARY),
    ("log2", "math.log2(x)", "x:pos", MATH1),
    ("log10", "np.log10(x)", "x:pos", UNARY),
    ("log10", "math.log10(x)", "x:pos", MATH1),
    ("log1p", "np.log1p(x)", "x:unit", UNARY),
    ("log1p", "math.log1p(x)", "x:unit", MATH1),
    ("expm1", "np.expm1(x)", "x:real", UNARY),
    ("expm1", "math.expm1(x)", "x:real", MATH1),
    ("sqrt", "np.sqrt(x)", "x:pos", UNARY),
    ("sqrt", "math.sqrt(x)", "x:pos", MATH1),
    ("square", "np.square(x)", "x:real", UNARY),
    ("sin", "np.sin(x)", "x:real", UNARY),
    ("sin", "math.sin(x)", "x:real", MATH1),
    ("cos", "np.cos(x)", "x:real", UNARY),
    ("cos", "math.cos(x)", "x:real", MATH1),
    ("tan", "np.tan(x)", "x:small", UNARY),
    ("tan", "math.tan(x)", "x:small", MATH1),
    ("arcsin", "np.arcsin(x)", "x:unit", UNARY),
    ("arcsin", "math.asin(x)", "x:unit", MATH1),
    ("arccos", "np.arccos(x)", "x:unit", UNARY),
    ("arccos", "math.acos(x)", "x:unit", MATH1),
    ("arctan", "np.arctan(x)", "x:real", UNARY),
    ("arctan", "math.atan(x)", "x:real", MATH1),
    ("sinh", "np.sinh(x)", "x:real", UNARY),
    ("sinh", "math.sinh(x)", "x:real", MATH1),
    ("cosh", "np.cosh(x)", "x:real", UNARY),
    ("cosh", "math.cosh(x)", "x:real", MATH1),
    ("tanh", "np.tanh(x)", "x:real", UNARY),
    ("tanh", "math.tanh(x)", "x:real", MATH1),
    ("abs", "np.abs(x)", "x:nz", UNARY),
    ("abs", "np.absolute(x)", "x:nz", ["f", "5", "3,4", "i:4"]),
    ("abs", "abs(x)", "x:nz", ["f", "0", "5", "3,4", "i", "i:4"]),
    ("abs", "math.fabs(x)", "x:nz", MATH1),
    ("arcsinh", "np.arcsinh(x)", "x:real", UNARY),
    ("arcsinh", "math.asinh(x)", "x:real", MATH1),
    ("arccosh", "np.arccosh(x)", "x:gt1", UNARY),
    ("arccosh", "math.acosh(x)", "x:gt1", MATH1),
    ("arctanh", "np.arctanh(x)", "x:unit", UNARY),
    ("arctanh", "math.atanh(x)", "x:unit", MATH1),
    ("reciprocal", "np.reciprocal(x)", "x:nz", UNARY),
    ("cbrt", "np.cbrt(x)", "x:nz", UNARY),
    ("sinc", "np.sinc(x)", "x:real", UNARY),
    ("sinc", "np.sinc(x)", "x:small", ["5", "3,4"]),
    ("erf", "math.erf(x)", "x:real", MATH1),
    ("erfc", "math.erfc(x)", "x:real", MATH1),
    ("gamma", "math.gamma(x)", "x:pos", MATH1),
    ("gamma", "math.gamma(x)", "x:frac", ["f", "0"]),  # negative arguments too
    ("lgamma", "math.lgamma(x)", "x:pos", MATH1),
    ("lgamma", "math.lgamma(x)", "x:frac", ["f", "0"]),
    # Elementwise, several arguments.
    ("div", "x / y", "x:real y:nz", BINARY),
    ("div", "np.divide(x, y)", "x:real y:nz", FEW2),
    ("div", "np.true_divide(x, y)", "x:real y:nz", FEW2),
    ("div", "1.0 / x", "x:nz", UNARY),
    ("div", "x / 4.0", "x:real", ["f", "5", "i"]),
    ("pow", "x ** y", "x:pos y:real", BINARY),
    ("pow", "np.power(x, y)", "x:pos y:real", FEW2),
    ("pow", "math.pow(x, y)", "x:pos y:real", MATH2),
    ("pow", "x ** 2", "x:real", UNARY),
    ("pow", "x ** 3", "x:neg", ["f", "0", "5", "3,4", "i", "i:4"]),
    ("pow", "x ** 0.5", "x:pos", ["f", "5", "i"]),
    ("pow", "x ** -2", "x:nz", ["f", "5", "3,4", "i", "i:4"]),
    ("pow", "x ** 0", "x:nz", ["f", "5"]),
    ("pow", "2.0 ** x", "x:real", UNARY),
    (
        "pow",
        "x ** y",
        "x:neg y:intexp",
        ["f f", "f i", "5 5", "3,4 4", "5 i:5", "i i", "i:4 i"],
    ),
    ("pow", "math.pow(x, y)", "x:neg y:intexp", ["f f", "f i", "i i"]),
    ("pow", "np.power(x, 3)", "x:neg", ["f", "5"]),
    ("mod", "x % y", "x:modnum y:modden", BINARY),
    ("mod", "x % 2.0", "x:modnum", UNARY),
    ("mod", "np.remainder(x, y)", "x:modnum y:modden", ["f f", "5 5"]),
    ("maximum", "np.maximum(x, y)", "x:even y:odd", BINARY),
    ("maximum", "np.maximum(x, 0.0)", "x:nz", UNARY),
    ("maximum", "max(x, y)", "x:even y:odd", ["f f", "0 0", "i f", "i i"]),
    ("minimum", "np.minimum(x, y)", "x:even y:odd", BINARY),
    ("minimum", "np.minimum(x, 0.0)", "x:nz", UNARY),
    ("minimum", "min(x, y)", "x:even y:odd", ["f f", "0 0", "f i", "i i"]),
    ("arctan2", "np.arctan2(x, y)", "x:nz y:real", BINARY),
    ("arctan2", "math.atan2(x, y)", "x:nz y:real", MATH2),
    ("hypot", "np.hypot(x, y)", "x:nz y:nz", BINARY),
    ("hypot", "math.hypot(x, y)", "x:nz y:nz", MATH2),
    ("logaddexp", "np.logaddexp(x, y)", "x:real y:real", BINARY),
    ("logaddexp", "np.logaddexp(x, y)", "x:big y:big", FEW2_FLOATS),
    (
        "where",
        "np.where(x > 0, x, y)",
        "x:nz y:real",
        [
            *("f f", "0 0", "5 5", "3,4 3,4", "3,1 1,4", "4 3,4", "3,4 f", "f 3,4"),
            "i:5 i:5",
        ],
    ),
    (
        "where",
        "np.where(c, x, y)",
        "c:mask x:real y:real",
        [
            *("5 5 5", "3,4 3,4 3,4", "3,4 4 3,1", "3,1 f 1,4", "4 3,4 f", "3,4 0 i:4"),
            "3,4 f 0",  # the condition is larger than both branches
        ],
    ),
    ("where", "np.where(x > 0, x, 0.0)", "x:nz", UNARY),
    ("where", "np.where(x < y, x * y, x - y)", "x:even y:odd", BINARY),
    ("clip", "np.clip(x, -0.5, 0.5)", "x:bands", UNARY),
    (
        "clip",
        "np.clip(x, lo, hi)",
        "x:bands lo:lo hi:hi",
        [
            *("f f f", "0 0 0", "5 5 5", "3,4 4 3,1", "3,4 f f", "5 f 5", "i:5 f 5"),
            *("4 3,4 f", "f 5 5", "f f 3,1"),  # bounds larger than x
        ],
    ),
    ("clip", "np.clip(x, a_min=lo, a_max=hi)", "x:bands lo:lo hi:hi", ["5 5 5"]),
    ("clip", "np.clip(x, None, 0.5)", "x:bands", ["f", "5", "3,4", "i:4"]),
    ("clip", "np.clip(x, -0.5, None)", "x:bands", ["f", "5", "3,4", "i:4"]),
    ("clip", "np.clip(x, lo, None)", "x:bands lo:lo", ["f f", "5 5", "3,4 4", "4 f"]),
    ("clip", "np.clip(x, None, hi)", "x:bands hi:hi", ["f f", "5 5", "3,4 3,1", "4 f"]),
    ("clip", "x.clip(lo, hi)", "x:bands lo:lo hi:hi", ["0 f f", "5 5 5", "3,4 4 3,1"]),
    # Reductions.
    ("sum", "np.sum(x)", "x:real", ALL_RANKS),
    ("sum", "np.sum(x, axis=0)", "x:real", AXIS0),
    ("sum", "np.sum(x, axis=1)", "x:real", AXIS1),
    ("sum", "np.sum(x, axis=-1)", "x:real", AXIS0),
    ("sum", "np.sum(x, axis=-2)", "x:real", AXIS1),
    ("sum", "np.sum(x, 1)", "x:real", MATRIX),
    ("sum", "np.sum(x, axis=None, keepdims=True)", "x:real", ["5", "3,4"]),
    ("sum", "np.sum(x, axis=0, keepdims=True)", "x:real", AXIS0),
    ("sum", "np.sum(x, axis=1, keepdims=True)", "x:real", AXIS1),
    ("sum", "np.sum(x, axis=-1, keepdims=True)", "x:real", AXIS0),
    ("sum", "np.sum(x, axis=(0, 2))", "x:real", CUBE),
    ("sum", "np.sum(x, axis=(0, -1), keepdims=True)", "x:real", CUBE),
    ("sum", "np.sum(x, axis=(0, 1))", "x:real", MATRIX),
    ("sum", "np.sum(x, axis=())", "x:real", MATRIX),
    ("sum", "x.sum()", "x:real", ["0", "5", "3,4"]),
    ("sum", "x.sum(axis=1, keepdims=True)", "x:real", MATRIX),
    ("sum", "x.sum(0)", "x:real", MATRIX),
    ("mean", "np.mean(x)", "x:real", ALL_RANKS),
    ("mean", "np.mean(x, axis=0)", "x:real", AXIS0),
    ("mean", "np.mean(x, axis=1)", "x:real", AXIS1),
    ("mean", "np.mean(x, axis=-1)", "x:real", AXIS0),
    ("mean", "np.mean(x, axis=None, keepdims=True)", "x:real", ["5", "3,4"]),
    ("mean", "np.mean(x, axis=0, keepdims=True)", "x:real", AXIS0),
    ("mean", "np.mean(x, axis=-1, keepdims=True)", "x:real", AXIS0),
    ("mean", "np.mean(x, axis=(0, 2))", "x:real", CUBE),
    ("mean", "np.mean(x, axis=(-1, 0))", "x:real", CUBE),
    ("mean", "np.mean(x, axis=(1, 2), keepdims=True)", "x:real", CUBE),
    ("mean", "x.mean()", "x:real", ["0", "5", "3,4"]),
    ("mean", "x.mean(axis=1)", "x:real", MATRIX),
    ("prod", "np.prod(x)", "x:nz", ALL_RANKS),
    ("prod", "np.prod(x, axis=0)", "x:nz", AXIS0),
    ("prod", "np.prod(x, axis=1)", "x:nz", AXIS1),
    ("prod", "np.prod(x, axis=-1)", "x:nz", AXIS0),
    ("prod", "np.prod(x, axis=None, keepdims=True)", "x:nz", ["5", "3,4"]),
    ("prod", "np.prod(x, axis=0, keepdims=True)", "x:nz", AXIS0),
    ("prod", "np.prod(x, axis=1, keepdims=True)", "x:nz", AXIS1),
    ("prod", "np.prod(x, axis=(0, 2))", "x:nz", CUBE),
    ("prod", "np.prod(x, axis=(-1, 1))", "x:nz", CUBE),
    ("prod", "np.prod(x, axis=(0, 2), keepdims=True)", "x:nz", CUBE),
    ("prod", "np.prod(x)", "x:zero1", ["5", "3,4"]),
    ("prod", "np.prod(x)", "x:zeros", ["3,4"]),
    ("prod", "np.prod(x, axis=1)", "x:zero1", ["3,4"]),
    ("prod", "np.prod(x, axis=1)", "x:zeros", ["3,4", "2,2,3"]),
    ("prod", "np.prod(x, axis=0, keepdims=True)", "x:zeros", ["3,4"]),
    ("prod", "x.prod(axis=-1)", "x:nz", MATRIX),
    ("max", "np.max(x)", "x:distinct", ALL_RANKS),
    ("max", "np.max(x, axis=0)", "x:distinct", AXIS0),
    ("max", "np.max(x, axis=1)", "x:distinct", AXIS1),
    ("max", "np.max(x, axis=-1)", "x:distinct", AXIS0),
    ("max", "np.max(x, axis=None, keepdims=True)", "x:distinct", ["5", "3,4"]),
    ("max", "np.max(x, axis=1, keepdims=True)", "x:distinct", AXIS1),
    ("max", "np.max(x, axis=(0, 2))", "x:distinct", CUBE),
    ("max", "np.max(x, axis=(-1, 0))", "x:distinct", CUBE),
    ("max", "np.max(x, axis=(0, 2), keepdims=True)", "x:distinct", CUBE),
    ("max", "np.amax(x, axis=0)", "x:distinct", MATRIX),
    ("max", "x.max(axis=1)", "x:distinct", MATRIX),
    ("max", "x.max()", "x:distinct", ["0", "5"]),
    ("min", "np.min(x)", "x:distinct", ALL_RANKS),
    ("min", "np.min(x, axis=0)", "x:distinct", AXIS0),
    ("min", "np.min(x, axis=1)", "x:distinct", AXIS1),
    ("min", "np.min(x, axis=-1)", "x:distinct", AXIS0),
    ("min", "np.min(x, axis=None, keepdims=True)", "x:distinct", ["5", "3,4"]),
    ("min", "np.min(x, axis=0, keepdims=True)", "x:distinct", AXIS0),
    ("min", "np.min(x, axis=(1, 2))", "x:distinct", CUBE),
    ("min", "np.min(x, axis=(0, 1), keepdims=True)", "x:distinct", CUBE),
    ("min", "np.amin(x, axis=1)", "x:distinct", MATRIX),
    ("min", "x.min(axis=0)", "x:distinct", MATRIX),
    ("min", "x.min()", "x:distinct", ["0", "5"]),
    ("var", "np.var(x)", "x:real", ALL_RANKS),
    ("var", "np.var(x, axis=0)", "x:real", AXIS0),
    ("var", "np.var(x, axis=-1, keepdims=True)", "x:real", AXIS0),
    ("var", "np.var(x, axis=(0, 2), ddof=1)", "x:real", CUBE),
    ("var", "np.var(x, 1)", "x:real", MATRIX),
    ("var", "x.var(axis=1, ddof=1)", "x:real", MATRIX),
    ("std", "np.std(x)", "x:real", ALL_RANKS),
    ("std", "np.std(x, axis=0)", "x:real", AXIS0),
    ("std", "np.std(x, axis=(1, 2), keepdims=True)", "x:real", CUBE),
    ("std", "np.std(x, axis=-1, ddof=1)", "x:real", AXIS1),
    ("std", "x.std()", "x:real", ["5", "3,4"]),
    ("norm", "np.linalg.norm(x)", "x:nz", ALL_RANKS),
    ("norm", "np.linalg.norm(x, axis=1)", "x:nz", AXIS1),
    ("norm", "np.linalg.norm(x, axis=-1, keepdims=True)", "x:nz", AXIS0),
    ("norm", "np.linalg.norm(x, axis=(0, 2))", "x:nz", CUBE),
    ("norm", "np.linalg.norm(x, 'fro')", "x:nz", ["3,4", "i:3,4"]),
    ("norm", "np.linalg.norm(x, ord='fro', axis=(1, 2))", "x:nz", CUBE),
    ("norm", "np.linalg.norm(x, ord=2, axis=0)", "x:nz", AXIS0),
    ("norm", "np.linalg.norm(x, 1, axis=-1)", "x:nz", AXIS0),
    # the spectral norm of a matrix (of a vector, its 2-norm)
    ("norm", "np.linalg.norm(x, 2)", "x:real", ["3,4", "4,3", "5", "i:3,3"]),
    ("norm", "np.linalg.norm(x, ord=2, axis=(1, 2))", "x:real", ["2,2,3"]),
    ("norm", "np.linalg.norm(x, 2, (0, 1), keepdims=True)", "x:real", ["3,2", "2,3,2"]),
    ("cumsum", "np.cumsum(x)", "x:real", ALL_RANKS),
    ("cumsum", "np.cumsum(x, axis=0)", "x:real", AXIS0),
    ("cumsum", "np.cumsum(x, axis=1)", "x:real", AXIS1),
    ("cumsum", "np.cumsum(x, -1)", "x:real", AXIS0),
    ("cumsum", "x.cumsum(axis=-2)", "x:real", AXIS1),
    ("trace", "np.trace(x)", "x:real", ["3,4", "4,3", "3,3", "2,3,2", "i:3,3"]),
    ("trace", "np.trace(x, 1)", "x:real", ["3,4", "4,3"]),
    ("trace", "np.trace(x, offset=-1)", "x:real", ["3,4", "4,3"]),
    ("trace", "np.trace(x, axis1=1, axis2=2)", "x:real", ["2,2,2", "2,2,3"]),
    ("trace", "np.trace(x, 0, 2, 0)", "x:real", ["3,2,2"]),
    ("trace", "x.trace()", "x:real", ["3,3"]),
    # Array functions.
    ("cumprod", "np.cumprod(x)", "x:nz", ALL_RANKS),
    ("cumprod", "np.cumprod(x, axis=0)", "x:nz", AXIS0),
    ("cumprod", "np.cumprod(x, axis=-1)", "x:nz", AXIS1),
    ("cumprod", "x.cumprod(1)", "x:nz", MATRIX),
    ("cumprod", "np.cumprod(x)", "x:zero1", ["5", "3,4"]),
    ("cumprod", "np.cumprod(x, axis=1)", "x:zeros", ["3,4", "2,2,3"]),
    ("cumprod", "np.cumprod(x, axis=0)", "x:zeros", ["3,4"]),
    ("cumprod", "np.cumprod(x)", "x:zerorun", ["5"]),
    ("diff", "np.diff(x)", "x:real", ["5", "3,4", "2,2,3", "i:4"]),
    ("diff", "np.diff(x, axis=0)", "x:real", ["5", "3,4"]),
    ("diff", "np.diff(x, 2, axis=1)", "x:real", ["3,4", "2,3,2"]),
    ("diff", "np.diff(x, n=3)", "x:real", ["5"]),
    ("diff", "np.diff(x, n=0)", "x:real", ["5"]),
    ("diff", "np.diff(x, prepend=0.0)", "x:real", ["5", "3,4"]),
    ("diff", "np.diff(x, n=2, axis=0, prepend=2, append=1.5)", "x:real", ["3,4"]),
    ("sort", "np.sort(x)", "x:distinct", ["5", "3,4", "2,2,3", "i:4"]),
    ("sort", "np.sort(x, axis=0)", "x:distinct", ["3,4"]),
    ("sort", "np.sort(x, axis=None)", "x:distinct", ["f", "0", "3,4"]),
    ("sort", "np.sort(x, kind='stable')", "x:distinct", ["5"]),
    ("take", "np.take(x, k)", "x:real k:indices", ["5 -", "3,4 -"]),
    ("take", "np.take(x, k, axis=0)", "x:real k:indices", ["3,4 -"]),
    ("take", "np.take(x, k, axis=1)", "x:real k:indices", ["3,4 -", "2,3,2 -"]),
    ("take", "np.take(x, 1, axis=-1)", "x:real", ["5", "3,4", "i:3,4"]),
    ("take", "np.take(x, 0)", "x:real", ["f", "0", "i"]),
    ("take", "x.take(k, axis=-1)", "x:real k:indices", ["2,3 -"]),
    (
        "take_along_axis",
        "np.take_along_axis(x, np.argsort(x, axis=1), axis=1)",
        "x:distinct",
        ["3,4", "i:3,4"],
    ),
    (
        "take_along_axis",
        "np.take_along_axis(x, k, axis=0)",
        "x:real",
        ["3,4"],
        "k = np.array([[2, 0, 2, 1], [0, 0, 1, 2]])",
    ),
    (
        "take_along_axis",
        "np.take_along_axis(x, k, axis=None)",
        "x:real",
        ["5", "3,4"],
        "k = np.array([4, 0, 4])",
    ),
    ("flip", "np.flip(x)", "x:real", ALL_RANKS),
    ("flip", "np.flip(x, 0)", "x:real", AXIS0),
    ("flip", "np.flip(x, axis=(0, -1))", "x:real", ["3,4", "2,2,3"]),
    ("roll", "np.roll(x, 2)", "x:real", ALL_RANKS),
    ("roll", "np.roll(x, -1, axis=0)", "x:real", AXIS0),
    ("roll", "np.roll(x, (1, 2), axis=(0, 1))", "x:real", ["3,4", "2,2,3"]),
    ("roll", "np.roll(x, k)", "x:real k:index", ["5 -", "3,4 -"]),
    ("swapaxes", "np.swapaxes(x, 0, 1)", "x:real", ["3,4", "2,2,3", "i:3,4"]),
    ("swapaxes", "np.swapaxes(x, 0, -1)", "x:real", ["5"]),
    ("swapaxes", "x.swapaxes(-1, 0)", "x:real", CUBE),
    ("moveaxis", "np.moveaxis(x, 0, -1)", "x:real", ["5", "3,4", "2,2,3", "i:3,4"]),
    ("moveaxis", "np.moveaxis(x, (0, 1), (2, 0))", "x:real", CUBE),
    ("tile", "np.tile(x, 2)", "x:real", ["f", "0", "5", "3,4", "i:3"]),
    ("tile", "np.tile(x, (2, 1, 2))", "x:real", ["3", "2,3"]),
    ("tile", "np.tile(x, (1, 2))", "x:real", ["2,2,3"]),
    ("repeat", "np.repeat(x, 2)", "x:real", ["f", "0", "5", "3,4", "i:3"]),
    ("repeat", "np.repeat(x, 3, axis=1)", "x:real", AXIS1),
    ("repeat", "x.repeat(2, axis=-1)", "x:real", ["5", "3,4"]),
    ("repeat", "np.repeat(x, 0, axis=0)", "x:real", ["3,4"]),
    ("pad", "np.pad(x, 1)", "x:real", ["0", "5", "3,4", "2,2,3", "i:3"]),
    ("pad", "np.pad(x, (1, 2), constant_values=1.5)", "x:real", ["5", "3,4"]),
    ("pad", "np.pad(x, ((0, 1), (2, 0)))", "x:real", ["3,4", "i:2,2"]),
    ("pad", "np.pad(x, ((1, 1),), mode='constant')", "x:real", ["5"]),
    ("pad", "np.pad(x, (k, 1))", "x:real k:index", ["5 -", "3,4 -"]),
    ("triu", "np.triu(x)", "x:real", ["3,4", "4,3", "2,3,2", "i:3,3", "4"]),
    ("triu", "np.triu(x, 1)", "x:real", ["3,4", "4,3"]),
    ("tril", "np.tril(x)", "x:real", ["3,4", "4,3", "2,3,2", "i:3,3", "4"]),
    ("tril", "np.tril(x, k=-1)", "x:real", ["3,4", "4,3"]),
    # Rewritten as the primitives they are made of (s2s.lower.rewrites).
    (
        "diff",
        "np.trapezoid(x, y)",
        "x:real y:real",
        ["5 5", "3,4 4", "3,4 3,4", "i:4 4"],
    ),
    (
        "along_axis",
        "np.trapezoid(x, y, axis=0)",
        "x:real y:real",
        ["3,4 3", "3,4 3,4", "4 4"],
    ),
    ("sum", "np.trapezoid(x, dx=y, axis=1)", "x:real y:real", ["3,4 f", "2,3,2 0"]),
    ("sum", "np.trapezoid(x)", "x:real", ["5", "3,4"]),
    ("mean", "np.average(x, axis=0)", "x:real", ["3,4"]),
    ("div", "np.average(x, weights=y)", "x:real y:pos", ["5 5", "3,4 3,4"]),
    (
        "along_axis",
        "np.average(x, axis=0, weights=y)",
        "x:real y:pos",
        ["3,4 3", "3,4 3,4"],
    ),
    (
        "div",
        "np.average(x, axis=-1, weights=y, keepdims=True)",
        "x:real y:pos",
        ["3,4 4"],
    ),
    # Linear algebra.
    (
        "outer",
        "np.outer(x, y)",
        "x:real y:real",
        ["3 4", "2,2 3", "f 3", "0 2", "i:3 2"],
    ),
    (
        "einsum",
        "np.einsum('ij,jk->ik', x, y)",
        "x:real y:real",
        ["3,4 4,2", "i:3,2 2,2"],
    ),
    ("einsum", "np.einsum('i,i->', x, y)", "x:real y:real", ["5 5", "1 4"]),
    ("einsum", "np.einsum('ij,j->i', x, y)", "x:real y:real", ["3,4 4"]),
    ("einsum", "np.einsum('ij->j', x)", "x:real", ["3,4"]),
    ("einsum", "np.einsum('ij->', x)", "x:real", ["3,4", "i:2,3"]),
    ("einsum", "np.einsum('ij->ji', x)", "x:real", ["3,4"]),
    ("einsum", "np.einsum('i,j->ij', x, y)", "x:real y:real", ["3 4"]),
    ("einsum", "np.einsum('ij,k->ik', x, y)", "x:real y:real", ["3,2 4"]),
    ("einsum", "np.einsum('ij,ij->ij', x, y)", "x:real y:real", ["1,4 3,4", "3,1 3,4"]),
    ("einsum", "np.einsum(',->', x, y)", "x:real y:real", ["f f", "0 0"]),
    ("einsum", "np.einsum('i,->i', x, y)", "x:real y:real", ["3 f"]),
    (
        "einsum",
        "np.einsum('bij,bkj->bik', x, y)",
        "x:real y:real",
        ["2,3,2 2,2,2", "1,3,2 2,2,2"],
    ),
    (
        "einsum",
        "np.einsum('...ij,...j->...i', x, y)",
        "x:real y:real",
        ["2,3,2 2", "3,2 2,2", "2,2 2,1,2", "2,1 1"],
    ),
    ("einsum", "np.einsum('i...,i->...', x, y)", "x:real y:real", ["3,2 3", "3 3"]),
    ("einsum", "np.einsum('i,ij,j->', x, y, z)", "x:real y:real z:real", ["3 3,4 4"]),
    ("einsum", "np.einsum('ij,ij->', x, x)", "x:real", ["3,4"]),
    ("einsum", "np.einsum('ij, jk -> ik', x, y)", "x:real y:real", ["2,3 3,2"]),
    ("einsum", "np.einsum('ii->', x)", "x:real", ["3,3", "i:2,2"]),
    ("einsum", "np.einsum('ii->i', x)", "x:real", ["3,3"]),
    ("einsum", "np.einsum('iij->j', x)", "x:real", ["2,2,3"]),
    ("einsum", "np.einsum('ii,ij->j', x, y)", "x:real y:real", ["3,3 3,2"]),
    ("einsum", "np.einsum('...ii->...i', x)", "x:real", ["2,2,2"]),
    ("einsum", "np.einsum('iji->j', x)", "x:real", ["2,3,2"]),
    ("einsum", "np.einsum('iii->i', x)", "x:real", ["2,2,2"]),
    (
        "kron",
        "np.kron(x, y)",
        "x:real y:real",
        ["2 3", "2,2 2,1", "f 3", "0 2", "i:2 3", "3 2,2"],
    ),
    (
        "tensordot",
        "np.tensordot(x, y)",
        "x:real y:real",
        ["2,3,2 3,2", "3,2 3,2", "i:2,2 2,2"],
    ),
    ("tensordot", "np.tensordot(x, y, axes=1)", "x:real y:real", ["3,4 4", "2,3 3,2"]),
    ("tensordot", "np.tensordot(x, y, 0)", "x:real y:real", ["f 3", "0 2", "2 3"]),
    (
        "tensordot",
        "np.tensordot(x, y, axes=([1, 0], [0, 2]))",
        "x:real y:real",
        ["2,3 3,2,2"],
    ),
    ("tensordot", "np.tensordot(x, y, axes=(-1, 0))", "x:real y:real", ["2,3 3,2"]),
    # np.linalg.
    (
        "solve",
        "np.linalg.solve(x, y)",
        "x:invertible y:real",
        [
            *("3,3 3", "3,3 3,2", "2,2,2 2,2,1", "2,2,2 2,1", "i:3,3 3", "2,2 i:2"),
            *("2,2,2 2", "3,2,2 2", "2,2 2,3,2,1"),  # a vector b for every matrix
        ],
    ),
    ("inv", "np.linalg.inv(x)", "x:invertible", ["3,3", "2,2,2", "i:3,3"]),
    ("det", "np.linalg.det(x)", "x:invertible", ["3,3", "2,2,2", "i:2,2"]),
    ("logabsdet", "np.linalg.slogdet(x)[1]", "x:invertible", ["3,3", "2,2,2", "i:3,3"]),
    (
        "logabsdet",
        "logdet * sign",
        "x:invertible",
        ["3,3", "2,2,2"],
        "sign, logdet = np.linalg.slogdet(-x)",
    ),
    ("cholesky", "np.linalg.cholesky(x)", "x:spd", ["3,3", "2,2,2", "i:3,3"]),
    ("eigh_values", "np.linalg.eigh(x)[0]", "x:symmetric", ["3,3", "2,2,2", "i:3,3"]),
    ("eigh_values", "np.linalg.eigh(x, UPLO='U')[0]", "x:symmetric", ["3,3"]),
    (
        "eigh_vectors",
        "np.linalg.eigh(x)[1]",
        "x:symmetric",
        ["3,3", "2,2,2", "i:3,3"],
    ),
    ("eigh_vectors", "np.linalg.eigh(x, 'U')[1]", "x:symmetric", ["3,3"]),
    (
        "eigh_vectors",
        "v * w",
        "x:symmetric",
        ["3,3"],
        "w, v = np.linalg.eigh(x)",
    ),
    # Shapes.
    ("transpose", "x.T", "x:real", ["0", "5", "3,4", "2,2,3", "i:3,4"]),
    ("transpose", "np.transpose(x)", "x:real", ["5", "3,4", "2,2,3"]),
    ("transpose", "np.transpose(x, (1, 0, 2))", "x:real", CUBE),
    ("transpose", "np.transpose(x, axes=(2, 0, 1))", "x:real", CUBE),
    ("transpose", "np.transpose(x, axes=(1, 0))", "x:real", MATRIX),
    ("transpose", "x.transpose(2, 0, 1)", "x:real", CUBE),
    ("transpose", "np.transpose(x, (-1, 0, 1))", "x:real", CUBE),
    ("transpose", "x.transpose(1, -1, 0)", "x:real", CUBE),
    ("transpose", "np.transpose(x, (-1, -2))", "x:real", MATRIX),
    ("transpose", "x.transpose((1, 2, 0))", "x:real", CUBE),
    ("transpose", "x.transpose()", "x:real", ["3,4", "2,2,3"]),
    ("reshape", "np.reshape(x, (4, 3))", "x:real", ["3,4", "2,2,3", "i:3,4"]),
    ("reshape", "np.reshape(x, (2, -1))", "x:real", ["3,4", "2,2,3"]),
    ("reshape", "np.reshape(x, -1)", "x:real", ["0", "3,4", "2,2,3"]),
    ("reshape", "np.reshape(x, (1, 1))", "x:real", ["f", "0", "i"]),
    ("reshape", "x.reshape(2, 6)", "x:real", ["3,4"]),
    ("reshape", "x.reshape(2, 3, 2)", "x:real", ["3,4", "12"]),
    ("reshape", "x.reshape((6, 2))", "x:real", ["3,4"]),
    ("reshape", "x.reshape(-1)", "x:real", ["3,4", "2,2,3"]),
    (
        "reshape",
        "np.reshape(x, np.shape(y))",
        "x:real y:real",
        ["3,4 4,3", "2,2,3 12", "3,4 2,6"],
    ),
    ("expand_dims", "np.expand_dims(x, 0)", "x:real", ["f", "0", "5", "3,4", "i:4"]),
    ("expand_dims", "np.expand_dims(x, axis=1)", "x:real", ["5", "3,4"]),
    ("expand_dims", "np.expand_dims(x, axis=-1)", "x:real", ["5", "3,4"]),
    ("expand_dims", "np.expand_dims(x, (0, 2))", "x:real", ["5", "3,4"]),
    ("expand_dims", "np.expand_dims(x, (-1, 0))", "x:real", ["5", "3,4"]),
    (
        "broadcast_to",
        "np.broadcast_to(x, (3, 4))",
        "x:real",
        ["f", "0", "4", "3,1", "1,4", "3,4", "i", "i:4"],
    ),
    ("broadcast_to", "np.broadcast_to(x, (2, 3, 2))", "x:real", ["2", "3,1", "2,1,1"]),
    (
        "broadcast_to",
        "np.broadcast_to(x, np.shape(y))",
        "x:real y:real",
        ["4 3,4", "3,1 3,4", "f 2,3"],
    ),
    ("broadcast_to", "np.broadcast_to(x, y.shape)", "x:real y:real", ["1,4 3,4"]),
    ("ravel", "np.ravel(x)", "x:real", ALL_RANKS),
    ("ravel", "x.ravel()", "x:real", ["0", "3,4"]),
    ("ravel", "x.flatten()", "x:real", ["3,4", "2,2,3"]),
    ("array_copy", "np.copy(x)", "x:real", ALL_RANKS),
    ("squeeze", "np.squeeze(x)", "x:real", ["f", "0", "1", "1,4", "3,1", "1,1", "5"]),
    ("squeeze", "np.squeeze(x, axis=0)", "x:real", ["1,4", "1,2,1", "i:1,3"]),
    ("squeeze", "np.squeeze(x, (0, 2))", "x:real", ["1,2,1"]),
    ("squeeze", "x.squeeze()", "x:real", ["1,4"]),
    ("squeeze", "x.squeeze(-1)", "x:real", ["3,1"]),
    (
        "concatenate",
        "np.concatenate([x, y])",
        "x:real y:real",
        ["3 4", "2,3 4,3", "i:3 4", "1 1"],
    ),
    ("concatenate", "np.concatenate((x, y), axis=1)", "x:real y:real", ["3,2 3,4"]),
    ("concatenate", "np.concatenate([x, y, x], axis=-1)", "x:real y:real", ["2,3 2,2"]),
    ("concatenate", "np.concatenate([x, y, x], -2)", "x:real y:real", ["2,3 1,3"]),
    ("concatenate", "np.concatenate([x, y], axis=None)", "x:real y:real", ["2,3 4"]),
    ("concatenate", "np.concatenate([x])", "x:real", ["5", "2,3"]),
    ("concatenate", "np.concatenate([x, 2.0 * x, y])", "x:real y:real", ["3 2"]),
    ("stack", "np.stack([x, y])", "x:real y:real", ["f f", "0 0", "3 3", "2,3 2,3"]),
    ("stack", "np.stack([x, y])", "x:real y:real", ["i:3 3"]),
    ("stack", "np.stack((x, y), axis=1)", "x:real y:real", ["2,3 2,3"]),
    ("stack", "np.stack([x, y, x], axis=-1)", "x:real y:real", ["3 3", "2,2 2,2"]),
    ("stack", "np.stack([x, y], -2)", "x:real y:real", ["2,3 2,3"]),
    (
        "hstack",
        "np.hstack([x, y])",
        "x:real y:real",
        ["3 2", "2,3 2,1", "f 3", "i:2 3"],
    ),
    ("hstack", "np.hstack((x, y, x))", "x:real y:real", ["0 f", "2,1,2 2,3,2"]),
    (
        "vstack",
        "np.vstack([x, y])",
        "x:real y:real",
        ["3 3", "2,3 3", "1,3 2,3", "f f"],
    ),
    ("vstack", "np.vstack((x, y, x))", "x:real y:real", ["i:2 2", "2,2,1 1,2,1"]),
    ("diag", "np.diag(x)", "x:real", ["4", "3,3", "3,4", "4,3", "i:3"]),
    ("diag", "np.diag(x, 1)", "x:real", ["3", "3,4", "4,3", "3,3"]),
    ("diag", "np.diag(x, k=-1)", "x:real", ["3", "3,4", "4,3"]),
    ("full_like", "np.full_like(x, y)", "x:real y:real", ["3,4 f", "5 0", "3,4 4"]),
    ("full_like", "np.full_like(x, y)", "x:real y:real", ["2,3 2,1", "f f"]),
    # An integer array: the fill is truncated, and its derivative is zero.
    ("full_like", "np.full_like(x, y)", "x:intexp y:real", ["i:3 f", "i:2,2 2"]),
    ("full_like", "np.full_like(x, y, dtype=float)", "x:intexp y:real", ["i:3 f"]),
    ("full_like", "np.full_like(x, y, dtype=np.float64)", "x:real y:real", ["3 f"]),
    # Building arrays: a filled array, grids, casts, copies.
    ("full", "np.full((3, 2), y)", "y:real", ["f", "0", "2", "3,2", "1,2", "i", "i:2"]),
    ("full", "np.full(4, y)", "y:real", ["f", "i"]),
    ("full", "np.full(np.shape(x), y)", "x:like y:real", ["3,2 f", "2,3 3", "4 0"]),
    ("full", "np.full((2, len(x)), y, dtype=float)", "x:like y:real", ["3 f"]),
    ("full", "np.full((2, 2), y, dtype=int) * y", "y:frac", ["f", "2"]),
    (
        "linspace",
        "np.linspace(x, y, 5)",
        "x:real y:real",
        ["f f", "0 0", "3 3", "2,2 2,2", "3 f", "f 2,1", "i f", "i i", "i:3 3"],
    ),
    ("linspace", "np.linspace(x, y, 4, endpoint=False)", "x:real y:real", ["f f"]),
    ("linspace", "np.linspace(x, y, num=4, endpoint=False)", "x:real y:real", ["2 f"]),
    ("linspace", "np.linspace(x, y)", "x:real y:real", ["f f"]),
    ("linspace", "np.linspace(x, 2.0, 1)", "x:real", ["f", "3"]),
    ("linspace", "np.linspace(0.0, x, len(y))", "x:real y:like", ["f 4", "2 3"]),
    ("linspace", "np.linspace(-x, x, 0)", "x:real", ["f"]),
    ("linspace", "np.logspace(x, y, 4)", "x:small y:small", ["f f", "3 3", "i i"]),
    ("linspace", "np.logspace(x, 1.0, 3, endpoint=False)", "x:small", ["f", "2"]),
    ("pow", "np.logspace(x, y, 3, base=z)", "x:small y:small z:pos", ["f f f"]),
    (
        "geomspace",
        "np.geomspace(x, y, 5)",
        "x:pos y:pos",
        ["f f", "0 0", "3 3", "2,2 2,2", "3 f", "i f", "i i", "i:3 3"],
    ),
    ("geomspace", "np.geomspace(x, y, 4)", "x:neg y:neg", ["f f", "3 3"]),
    ("geomspace", "np.geomspace(x, y, 4, endpoint=False)", "x:pos y:pos", ["f f"]),
    ("geomspace", "np.geomspace(x, 2.0, num=1)", "x:pos", ["f", "2"]),
    ("astype", "x.astype(np.float64)", "x:real", ["0", "5", "3,4", "i:4", "i:0"]),
    ("astype", "x.astype(float) * y", "x:real y:real", ["3,4 4", "i:3 f"]),
    ("astype", "x.astype('float64', copy=False)", "x:real", ["3,4"]),
    ("astype", "x.astype(dtype=np.double)", "x:real", ["5"]),
    ("astype", "np.asarray(x, dtype=float)", "x:real", ["f", "i", "5", "2,3"]),
    ("astype", "np.asarray(x, np.float64)", "x:real", ["f", "5"]),
    ("astype", "np.array(x, dtype=np.float64)", "x:real", ["f", "3,4"]),
    ("astype", "np.array([x, y], dtype=float)", "x:real y:real", ["f f", "3 3"]),
    ("astype", "(x > 0).astype(float) * x", "x:nz", ["5", "3,4"]),
    ("array_copy", "x.copy()", "x:real", ["0", "5", "3,4", "i:4"]),
    # Indexing.
    ("getitem", "x[1]", "x:real", ["5", "3,4", "2,2,3"]),
    ("getitem", "x[-1]", "x:real", ["5", "3,4"]),
    ("getitem", "x[1:3]", "x:real", ["5", "3,4"]),
    ("getitem", "x[::2]", "x:real", ["5", "3,4"]),
    ("getitem", "x[::-1]", "x:real", ["5", "3,4"]),
    ("getitem", "x[3:0:-2]", "x:real", ["5", "3,4"]),
    ("getitem", "x[:, ::-2]", "x:real", ["3,4"]),
    ("getitem", "x[1:]", "x:real", ["5", "i:5"]),
    ("getitem", "x[:-1]", "x:real", ["5"]),
    ("getitem", "x[:, 1]", "x:real", ["3,4", "2,2,3"]),
    ("getitem", "x[1, 2]", "x:real", ["3,4"]),
    ("getitem", "x[1:, :-1]", "x:real", ["3,4"]),
    ("getitem", "x[None, :]", "x:real", ["5", "3,4"]),
    ("getitem", "x[:, None]", "x:real", ["5"]),
    ("getitem", "x[..., 0]", "x:real", ["3,4", "2,2,3"]),
    ("getitem", "x[0][1]", "x:real", ["3,4"]),
    ("getitem", "x[()]", "x:real", ["0", "5"]),
    ("getitem", "x[i]", "x:real i:index", ["5 -", "3,4 -"]),
    ("getitem", "x[i:]", "x:real i:index", ["5 -", "3,4 -"]),
    ("getitem", "x[:i, i]", "x:real i:index", ["3,4 -"]),
    ("getitem", "x[-i]", "x:real i:index", ["5 -"]),
    ("getitem", "x[k]", "x:real k:indices", ["5 -", "3,4 -"]),  # a repeated index
    ("getitem", "x[k, 1:]", "x:real k:indices", ["3,4 -"]),
    ("getitem", "x[k, k]", "x:real k:indices", ["3,4 -"]),
    ("getitem", "x[None, k]", "x:real k:indices", ["5 -"]),
    ("getitem", "x[:, k]", "x:real k:indices", ["3,4 -", "2,3,2 -"]),
    ("getitem", "x[[0, 2, 2]]", "x:real", ["5", "3,4"]),  # a literal list
    ("getitem", "x[:, [1, -1]]", "x:real", ["3,4", "i:2,3"]),
    ("getitem", "x[None, 1:, None]", "x:real", ["5", "3,4"]),
    ("getitem", "x[c]", "x:real c:mask", ["5 5", "3,4 3,4", "3,4 3"]),
    ("getitem", "x[x > 0]", "x:nz", ["5", "3,4"]),
]

# --- the helpers generated gradients call (so that a gradient is differentiable) ------------
#
# The case module imports them from s2s.runtime; s2s knows them as primitives.  Operands
# read for their shape only are in the "like" domain.

HELPERS = [
    (
        "unbroadcast",
        "_unbroadcast(g, a)",
        "g:real a:like",
        [
            *("3,4 4", "3,4 3,1", "2,2,3 1,3", "5 f", "f f", "0 0", "i:3,4 4"),
            *("4 3,4", "1,4 3,4", "3,4 3,4"),  # broadcasting g up to a's shape
        ],
    ),
    (
        "unbroadcast_to",
        "_unbroadcast_to(g, np.shape(a))",
        "g:real a:like",
        ["3,4 4", "2,2,3 1,3", "f 0", "0 0", "i:5 f", "4 3,4"],
    ),
    ("unreduce", "_unreduce(g, a)", "g:real a:like", ["f 3,4", "0 5", "i 5"]),
    ("unreduce", "_unreduce(g, a, axis=1)", "g:real a:like", ["3 3,4", "i:3 3,4"]),
    (
        "unreduce",
        "_unreduce(g, a, axis=0, keepdims=True)",
        "g:real a:like",
        ["1,4 3,4"],
    ),
    ("unreduce", "_unreduce(g, a, axis=(0, 2))", "g:real a:like", ["2 2,2,3"]),
    (
        "unreduce_to",
        "_unreduce_to(g, np.shape(a), axis=-1)",
        "g:real a:like",
        ["3 3,4", "0 5", "i:2,2 2,2,3"],
    ),
    ("unreduce_to", "_unreduce_to(g, np.shape(a))", "g:real a:like", ["f 5"]),
    ("prod_adjoint", "_prod_adjoint(g, a)", "g:real a:like", ["f 5", "0 3,4", "i 4"]),
    (
        "prod_adjoint",
        "_prod_adjoint(g, a, axis=0)",
        "g:real a:like",
        ["4 3,4", "i:4 3,4"],
    ),
    (
        "prod_adjoint",
        "_prod_adjoint(g, a, axis=1, keepdims=True)",
        "g:real a:like",
        ["3,1 3,4"],
    ),
    (
        "extremum_adjoint",
        "_extremum_adjoint(g, a, np.max(a))",
        "g:real a:like",
        ["f 5", "0 3,4", "i 4"],
    ),
    (
        "extremum_adjoint",
        "_extremum_adjoint(g, a, np.min(a, axis=1), axis=1)",
        "g:real a:like",
        ["3 3,4", "i:3 3,4"],
    ),
    (
        "matmul_adjoint_a",
        "_matmul_adjoint_a(g, a, b)",
        "g:real a:like b:real",
        [
            *("3,2 3,4 4,2", "2 4 4,2", "3 3,4 4", "f 4 4", "0 4 4"),
            *("2,3,2 2,3,2 2,2", "2,3,2 3,2 2,2,2", "i:3,2 3,4 4,2", "3,2 3,4 i:4,2"),
        ],
    ),
    (
        "matmul_adjoint_b",
        "_matmul_adjoint_b(g, a, b)",
        "g:real a:real b:like",
        [
            *("3,2 3,4 4,2", "2 4 4,2", "3 3,4 4", "f 4 4", "0 4 4"),
            *("2,3,2 2,3,2 2,2", "2,3,2 3,2 2,2,2", "i:3,2 3,4 4,2", "3,2 i:3,4 4,2"),
        ],
    ),
    (
        "dot_adjoint_a",
        "_dot_adjoint_a(g, a, b)",
        "g:real a:like b:real",
        ["3,2 3,4 4,2", "2 4 4,2", "f 4 4", "5 f 5", "0 0 0", "3,4 3,4 f", "i:3 3,4 4"],
    ),
    (
        "dot_adjoint_b",
        "_dot_adjoint_b(g, a, b)",
        "g:real a:real b:like",
        ["3,2 3,4 4,2", "2 4 4,2", "f 4 4", "5 5 f", "0 0 0", "3,4 f 3,4", "i:3 3,4 4"],
    ),
    (
        "trace_adjoint",
        "_trace_adjoint(g, a)",
        "g:real a:like",
        ["f 3,4", "0 3,3", "i 3,3"],
    ),
    ("trace_adjoint", "_trace_adjoint(g, a, 1, 1, 2)", "g:real a:like", ["2 2,2,2"]),
    (
        "diag_adjoint",
        "_diag_adjoint(g, a)",
        "g:real a:like",
        ["3,3 3", "3 3,4", "i:3 3,4"],
    ),
    ("diag_adjoint", "_diag_adjoint(g, a, k=1)", "g:real a:like", ["3,3 2", "2 3,3"]),
    ("diag_adjoint", "_diag_adjoint(g, a, k=-1)", "g:real a:like", ["2 3,3"]),
    (
        "fill_adjoint",
        "_fill_adjoint(g, a, b)",
        "g:real a:like b:like",
        ["3,4 3,4 f", "3,4 3,4 4", "0 0 0", "i:5 5 f"],
    ),
    ("fill_adjoint", "_fill_adjoint(g, a, b)", "g:real a:like b:like", ["3,4 i:3,4 f"]),
    ("unindex", "_unindex(g, a, np.s_[1:3])", "g:real a:like", ["2 5", "2,4 3,4"]),
    ("unindex", "_unindex(g, a, np.s_[:, 0])", "g:real a:like", ["3 3,4", "i:3 3,4"]),
    (
        "unindex",
        "_unindex(g, a, np.s_[[0, 2, 2]])",
        "g:real a:like",
        ["3 5", "3,2 4,2"],
    ),
    ("unindex", "_unindex(g, a, np.s_[None, 1:])", "g:real a:like", ["1,4 5"]),
    ("unindex", "_unindex(g, a, np.s_[2])", "g:real a:like", ["f 5", "0 5", "i 5"]),
    (
        "setitem",
        "y * x",
        "x:real",
        ["5", "3,4", "i:5"],
        "y = x * 1.0\ny[0] = x[1] ** 2",
    ),
    ("setitem", "y", "x:real", ["5", "3,4"], "y = x * 2.0\ny[1:] = np.sin(x[0])"),
    ("setitem", "_setitem(a, v, np.s_[1:3])", "a:real v:real", ["5 2", "3,4 4"]),
    ("setitem", "_setitem(a, v, np.s_[:, 0])", "a:real v:real", ["3,4 f", "3,4 3"]),
    ("unindex", "_unindex(g, a, np.s_[k])", "g:real a:like k:index", ["f 5 -"]),
    (
        "unindex",
        "_unindex(g, a, np.s_[k, ::-1])",
        "g:real a:like k:indices",
        ["4,3 3,3 -"],
    ),
    (
        "hstack_adjoint",
        "_hstack_adjoint(g, a, b, part=1)",
        "g:real a:like b:like",
        ["7 3 4", "2,5 2,2 2,3", "2 0 0", "i:7 3 4"],
    ),
    ("hstack_adjoint", "_hstack_adjoint(g, a, b)", "g:real a:like b:like", ["2 f f"]),
    (
        "vstack_adjoint",
        "_vstack_adjoint(g, a, b, part=1)",
        "g:real a:like b:like",
        ["4,2 2,2 2,2", "2,4 4 4", "2,1 0 0", "i:4,2 2,2 2,2"],
    ),
]
HELPERS += [
    ("take_adjoint", "_take_adjoint(g, a, k)", "g:real a:like k:indices", ["4 5 -"]),
    (
        "take_adjoint",
        "_take_adjoint(g, a, k, axis=1)",
        "g:real a:like k:indices",
        ["3,4 3,4 -", "i:3,4 3,4 -"],
    ),
    ("take_adjoint", "_take_adjoint(g, a, 1, axis=-1)", "g:real a:like", ["3 3,4"]),
    ("take_adjoint", "_take_adjoint(g, a, 1)", "g:real a:like", ["f 5", "0 5"]),
    (
        "take_along_axis_adjoint",
        "_take_along_axis_adjoint(g, a, k, axis=0)",
        "g:real a:like",
        ["2,4 3,4", "i:2,4 3,4"],
        "k = np.array([[2, 0, 2, 1], [0, 0, 1, 2]])",
    ),
    (
        "take_along_axis_adjoint",
        "_take_along_axis_adjoint(g, a, k, axis=None)",
        "g:real a:like",
        ["3 3,4"],
        "k = np.array([5, 0, 5])",
    ),
    (
        "tile_adjoint",
        "_tile_adjoint(g, a, (2, 1))",
        "g:real a:like",
        ["4,2 2,2", "2,3 3", "i:6,2 3,2"],
    ),
    ("tile_adjoint", "_tile_adjoint(g, a, 1)", "g:real a:like", ["1 f", "1 0"]),
    (
        "repeat_adjoint",
        "_repeat_adjoint(g, a, 2, axis=1)",
        "g:real a:like",
        ["2,6 2,3", "i:2,6 2,3"],
    ),
    (
        "repeat_adjoint",
        "_repeat_adjoint(g, a, 2)",
        "g:real a:like",
        ["2 f", "2 0", "10 5"],
    ),
    ("unpad", "_unpad(g, 1)", "g:real", ["0", "5", "3,4", "i:3,3"]),
    ("unpad", "_unpad(g, ((1, 0), (0, 2)))", "g:real", ["3,4"]),
    (
        "kron_adjoint_a",
        "_kron_adjoint_a(g, a, b)",
        "g:real a:like b:real",
        ["6 2 3", "4,2 2,2 2,1", "3 f 3", "3 0 3", "i:6 2 3"],
    ),
    (
        "kron_adjoint_b",
        "_kron_adjoint_b(g, a, b)",
        "g:real a:real b:like",
        ["6 2 3", "4,2 2,2 2,1", "3 3 f", "3 3 0", "i:6 2 3"],
    ),
    (
        "tensordot_adjoint_a",
        "_tensordot_adjoint_a(g, a, b, axes=1)",
        "g:real a:like b:real",
        ["3,2 3,4 4,2", "3 3,4 4", "i:3,2 3,4 4,2"],
    ),
    (
        "tensordot_adjoint_a",
        "_tensordot_adjoint_a(g, a, b, axes=0)",
        "g:real a:like b:real",
        ["3 f 3", "2 0 2"],
    ),
    (
        "tensordot_adjoint_a",
        "_tensordot_adjoint_a(g, a, b, axes=((1, 0), (0, 2)))",
        "g:real a:like b:real",
        ["2 2,3 3,2,2"],
    ),
    (
        "tensordot_adjoint_b",
        "_tensordot_adjoint_b(g, a, b, axes=1)",
        "g:real a:real b:like",
        ["3,2 3,4 4,2", "3 3,4 4", "i:3,2 3,4 4,2"],
    ),
    (
        "tensordot_adjoint_b",
        "_tensordot_adjoint_b(g, a, b, axes=0)",
        "g:real a:real b:like",
        ["3 f 3", "2 0 2"],
    ),
    (
        "tensordot_adjoint_b",
        "_tensordot_adjoint_b(g, a, b, axes=((1, 0), (0, 2)))",
        "g:real a:real b:like",
        ["2 2,3 3,2,2"],
    ),
    ("inverse_gaps", "_inverse_gaps(x)", "x:distinct", ["3", "2,3", "i:4"]),
    (
        "cast_like",
        "_cast_like(g, a)",
        "g:real a:like",
        ["f f", "0 0", "5 5", "3,4 3,4", "i:3 i:3", "i i"],
    ),
    (
        "along_axis",
        "_along_axis(g, a, axis=0)",
        "g:real a:like",
        ["3 3,4", "4 4", "i:3 3,2", "0 3", "2,3 2,3"],
    ),
    (
        "spectral_direction",
        "_spectral_direction(x)",
        "x:real",
        ["3,4", "5", "i:3,3"],
    ),
    ("spectral_direction", "_spectral_direction(x, axis=(0, 2))", "x:real", CUBE),
    (
        "spectral_curvature",
        "_spectral_curvature(t, x)",
        "t:real x:like",
        ["3,4 3,4", "5 5", "i:3,3 3,3", "i:4 4"],
    ),
    (
        "spectral_curvature",
        "_spectral_curvature(t, x, axis=(1, 2))",
        "t:real x:like",
        ["2,2,3 2,2,3"],
    ),
    *(
        (name, f"_{name}(g, a, b)", "g:real a:like b:like", shapes)
        for name, shapes in (
            ("as_columns", ["3 2,2 2", "2,2 2,2,2 2", "0 2,2 0", "i:2 2,2 2"]),
            ("from_columns", ["3 2,2 2", "2,2,1 2,2,2 2", "0 2,2 0", "i:2 2,2 2"]),
        )
    ),
    ("digamma", "_digamma(x)", "x:pos", MATH1),
    ("digamma", "_digamma(x)", "x:frac", ["f"]),  # the reflection formula
    ("polygamma", "_polygamma(x, 1)", "x:pos", MATH1),
    ("polygamma", "_polygamma(x, n=2)", "x:frac", ["f", "0"]),
]
RULES += HELPERS

#: Shape classes each rule's rows must cover between them (see test_rules.py):
#: "broadcast" only where two differentiable arguments broadcast against each other.
SHAPE_CLASSES = ("0-d", "vector", "matrix", "integer", "broadcast")

#: Shape classes a primitive cannot take, with the reason.
SHAPE_EXEMPT = {
    "float": {
        "vector": "float() of an array fails",
        "matrix": "float() of an array fails",
    },
    "matmul": {"0-d": "numpy refuses scalars in matmul"},
    "trace": {"0-d": "np.trace needs 2 axes", "vector": "np.trace needs 2 axes"},
    "diag": {"0-d": "np.diag takes a vector or a matrix"},
    "concatenate": {"0-d": "numpy cannot concatenate 0-d arrays"},
    "diag_adjoint": {"0-d": "np.diag takes a vector or a matrix"},
    **{
        name: {"0-d": "numpy needs an axis to work along"}
        for name in ("diff", "swapaxes", "moveaxis", "take_along_axis")
    },
    "triu": {"0-d": "np.triu takes a vector or matrices"},
    **{
        name: {"0-d": "a square matrix", "vector": "a square matrix"}
        for name in ("inv", "det", "logabsdet", "cholesky", "eigh_values")
    },
    "eigh_vectors": {"0-d": "a square matrix", "vector": "a square matrix"},
    "solve": {"0-d": "a square matrix"},
    "inverse_gaps": {"0-d": "eigenvalues are a vector"},
    "spectral_direction": {"0-d": "a vector or matrices"},
    "spectral_curvature": {"0-d": "a vector or matrices"},
    "tril": {"0-d": "np.tril takes a vector or matrices"},
    "take_along_axis_adjoint": {"0-d": "np.take_along_axis needs an axis"},
    **{
        name: {
            "vector": "math functions take numbers",
            "matrix": "math functions take numbers",
        }
        for name in ("erf", "erfc", "gamma", "lgamma", "digamma", "polygamma")
    },
}

#: Primitives that user code can name but that never appear as ops in the function's
#: own graph, with the reason; their rows are checked for gradients only.
NOT_IN_GRAPH = {
    "copy": "`z = x` just names a value; copy ops appear in the reverse sweep only",
}

# --- documented behaviour at kinks and special points -----------------------------------

#: Points where a function is not smooth but the rules promise what central differences
#: see (ties split evenly, sign(0) = 0, products through zeros), and special values.
EDGES = [
    ("maximum", "np.maximum(x, y)", "x:half y:half", ["f f", "5 5", "3,1 1,4"]),
    ("maximum", "np.maximum(x, 0.5)", "x:half", ["f", "5"]),
    ("maximum", "max(x, y)", "x:half y:half", ["f f"]),
    ("minimum", "np.minimum(x, y)", "x:half y:half", ["f f", "5 5"]),
    ("minimum", "min(x, y)", "x:half y:half", ["f f"]),
    ("abs", "np.abs(x)", "x:zero", ["f", "5", "i"]),
    ("max", "np.max(x, axis=1)", "x:half", ["3,2"]),  # two-way ties: 1/2 each
    ("pow", "x ** 2", "x:zero", ["f", "5"]),
    ("pow", "x ** y", "x:zero y:two", ["f f", "5 5"]),  # d/dy 0**y = 0
    ("pow", "x ** 0", "x:zero", ["f", "5", "i"]),  # d/dx x**0 = 0, also at 0
    (
        "pow",
        "x ** y",
        "x:zero y:arange",
        ["f 4", "f i:4", "4 i:4", "f i", "f f"],
    ),  # 0**0 = 1
    ("pow", "x ** 2.0", "x:neg", ["f", "5"]),
    ("norm", "np.linalg.norm(x)", "x:zero", ["f", "5", "3,4"]),  # the kink at 0
    ("norm", "np.linalg.norm(x, axis=1)", "x:zero", ["3,4"]),
    ("std", "np.std(x)", "x:half", ["5", "3,4"]),  # all equal: the kink at 0
    ("std", "np.std(x, axis=0)", "x:half", ["3,4"]),
    ("sinc", "np.sinc(x)", "x:zero", ["f", "5", "i"]),  # the limit at 0
    ("pow", "x ** 1", "x:neg", ["f", "5"]),  # folded away: no pow op
]

# --- primitives whose derivative is zero ------------------------------------------------

#: (primitives covered, setup, expression, arguments, shapes, whether the whole
#: gradient must be exactly zero)
NONDIFF = [
    ("sign", "", "np.sign(x) * x", "x:nz", ["f", "5", "3,4", "i:4"], False),
    ("sign", "", "np.sign(x)", "x:nz", ["f", "5"], True),
    ("floor", "", "np.floor(x) * x", "x:frac", ["f", "5", "3,4"], False),
    ("floor", "", "np.floor(x)", "x:frac", ["5"], True),
    ("floor", "", "math.floor(x) + x", "x:frac", ["f"], False),
    ("ceil", "", "np.ceil(x) * x", "x:frac", ["f", "5", "3,4"], False),
    ("ceil", "", "math.ceil(x) * x", "x:frac", ["f"], False),
    ("ceil", "", "np.ceil(x)", "x:frac", ["5"], True),
    (
        "floordiv",
        "",
        "(x // y) * x",
        "x:modnum y:modden",
        ["f f", "5 5", "3,4 4"],
        False,
    ),
    ("floordiv", "", "x // y", "x:modnum y:modden", ["5 5"], True),
    ("floordiv", "", "np.floor_divide(x, y) * x", "x:modnum y:modden", ["5 5"], False),
    ("lt", "", "(x < y) * x", "x:even y:odd", ["f f", "5 5", "3,4 4"], False),
    ("le", "", "(x <= y) * y", "x:even y:odd", ["5 5"], False),
    ("gt", "", "(x > 0) * x", "x:nz", ["f", "5", "3,4"], False),
    ("ge", "", "(x >= y) * (x - y)", "x:even y:odd", ["5 5"], False),
    ("eq", "", "(x == y) * x + x", "x:even y:odd", ["5 5"], False),
    ("ne", "", "(x != y) * x", "x:even y:odd", ["5 5"], False),
    ("lt gt", "", "(x < y) * 1.0 + (x > 0)", "x:even y:odd", ["5 5"], True),
    ("not", "", "(-x if not x > 0 else 2.0 * x)", "x:nz", ["f", "0"], False),
    ("both", "", "(x * y if x > 0 and y > 0 else x - y)", "x:nz y:nz", ["f f"], False),
    ("either", "", "(x * y if x > 0 or y > 0 else x - y)", "x:nz y:nz", ["f f"], False),
    (
        "and",
        "",
        "((x > -0.5) & (x < 0.5)) * x",
        "x:bands",
        ["f", "5", "3,4", "i:4"],
        False,
    ),
    ("and", "", "(x > -0.5) & (x < 0.5)", "x:bands", ["5"], True),
    (
        "and",
        "",
        "np.where((x > -0.5) & (y > 0), x * y, x - y)",
        "x:bands y:nz",
        ["5 5", "3,4 4"],
        False,
    ),
    ("and", "", "np.bitwise_and(x > -0.5, x < 0.5) * x", "x:bands", ["5"], False),
    ("or", "", "((x < -0.5) | (x > 0.5)) * x", "x:bands", ["f", "5", "3,4"], False),
    ("or", "", "np.bitwise_or(x < -0.5, x > 0.5) * x", "x:bands", ["5"], False),
    ("invert", "", "np.where(~(x > 0.5), x, 2.0 * x)", "x:bands", ["5", "3,4"], False),
    ("invert", "", "np.invert(x > 0.5) * x", "x:bands", ["5"], False),
    ("invert", "", "np.bitwise_not(x > 0.5) * x", "x:bands", ["5"], False),
    (
        "logical_and",
        "",
        "np.logical_and(x > -0.5, x < 0.5) * x",
        "x:bands",
        ["f", "5"],
        False,
    ),
    (
        "logical_or",
        "",
        "np.logical_or(x < -0.5, x > 0.5) * x",
        "x:bands",
        ["f", "5"],
        False,
    ),
    ("logical_not", "", "np.logical_not(x > 0.5) * x", "x:bands", ["f", "5"], False),
    ("all", "", "x * np.all(x > -2.0)", "x:bands", ["5", "3,4"], False),
    ("all", "", "x * np.all(x > -0.5, axis=0)", "x:bands", ["3,4"], False),
    ("all", "", "x * (x > -0.5).all(axis=1, keepdims=True)", "x:bands", ["3,4"], False),
    ("any", "", "x * np.any(x > 0.5)", "x:bands", ["5", "3,4"], False),
    ("any", "", "x * (x > 0.5).any(axis=1, keepdims=True)", "x:bands", ["3,4"], False),
    ("argsort", "", "x[np.argsort(x)]", "x:distinct", ["5"], False),
    (
        "slogdet_sign",
        "",
        "x * np.linalg.slogdet(x)[0]",
        "x:invertible",
        ["3,3", "2,2,2"],
        False,
    ),
    ("argsort", "", "x * np.argsort(x, axis=0)", "x:distinct", ["3,4"], False),
    ("argsort", "", "x * np.argsort(x, kind='stable')", "x:distinct", ["3,4"], False),
    ("shape", "", "x * x.shape[0]", "x:real", ["5", "3,4"], False),
    ("shape", "", "x * np.shape(x)[-1]", "x:real", ["3,4"], False),
    ("ndim", "", "x * x.ndim", "x:real", ["5", "3,4"], False),
    ("ndim", "", "x * np.ndim(x)", "x:real", ["3,4"], False),
    ("size", "", "x * x.size", "x:real", ["5", "3,4"], False),
    ("size", "", "x / np.size(x)", "x:real", ["3,4"], False),
    ("zeros_like", "", "np.zeros_like(x) + x", "x:real", ["f", "5", "3,4"], False),
    ("zeros_like", "", "np.zeros_like(x)", "x:real", ["5"], True),
    ("zeros", "", "np.zeros(3) + x", "x:real", ["3", "2,3"], False),
    ("zeros", "", "np.zeros((2, 3)) * x", "x:real", ["3"], True),
    ("zeros", "", "np.zeros(x.shape, dtype=float) + x", "x:real", ["3"], False),
    ("ones_like", "", "np.ones_like(x) * x", "x:real", ["f", "5", "3,4"], False),
    ("ones_like", "", "np.ones_like(x, dtype=float)", "x:real", ["5"], True),
    ("ones", "", "np.ones(3) * x", "x:real", ["3", "2,3"], False),
    ("ones", "", "np.ones((2, len(x))) * x", "x:real", ["3"], False),
    ("eye", "", "np.eye(3) @ x", "x:real", ["3", "3,4"], False),
    ("eye", "", "np.eye(len(x), 4, k=1) @ x", "x:real", ["4"], False),
    ("eye", "", "np.eye(x.shape[0]) * x", "x:real", ["3,3"], False),
    ("arange", "", "np.arange(5) * x", "x:real", ["5", "2,5"], False),
    (
        "arange",
        "",
        "np.arange(1, 6) * x + np.arange(0, 10, 2) * x",
        "x:real",
        ["5"],
        False,
    ),
    ("arange", "", "x[np.arange(2)]", "x:real", ["4"], False),
    ("astype_int", "", "x.astype(int) * x", "x:frac", ["0", "5", "3,4"], False),
    ("astype_int", "", "x.astype(np.int32) + x", "x:frac", ["5"], False),
    ("astype_int", "", "np.asarray(x, dtype=int)", "x:frac", ["f", "5"], True),
    ("astype_int", "", "x * np.array(x > 0, dtype=bool)", "x:nz", ["5"], False),
    ("astype_int", "", "x[(x * 0.0).astype(int)]", "x:real", ["5"], False),
    (
        "triu_indices_rows triu_indices_columns",
        "i, j = np.triu_indices(3, k=1)",
        "x[i, j]",
        "x:real",
        ["3,3", "3,4", "3,3,1"],
        False,
    ),
    (
        "tril_indices_rows tril_indices_columns",
        "",
        "x[np.tril_indices(len(x))] ** 2",
        "x:real",
        ["3,3", "2,4"],
        False,
    ),
    (
        "tril_indices_rows tril_indices_columns",
        "i, j = np.tril_indices(3, -1, 4)",
        "x[i, j] * x[j - 1, i]",
        "x:real",
        ["3,4"],
        False,
    ),
    (
        "triu_indices_from_rows triu_indices_from_columns",
        "",
        "x[np.triu_indices_from(x)]",
        "x:real",
        ["3,3", "2,4"],
        False,
    ),
    (
        "tril_indices_from_rows tril_indices_from_columns",
        "i, j = np.tril_indices_from(x, k=-1)",
        "x[i, j] - x[j, i]",
        "x:real",
        ["3,3"],
        False,
    ),
    ("round", "", "np.round(x) * x", "x:frac", ["f", "5", "3,4"], False),
    ("round", "", "np.around(x, 1) + x", "x:frac", ["5"], False),
    ("round", "", "x.round() * x", "x:frac", ["5"], False),
    ("round", "", "np.round(x)", "x:frac", ["5"], True),
    ("builtin_round", "", "round(x) * x", "x:frac", ["f"], False),
    ("builtin_round", "", "round(x, 1) + x", "x:frac", ["f"], False),
    ("argmax", "", "x[np.argmax(x)]", "x:distinct", ["5"], False),
    ("argmax", "", "x * np.argmax(x, axis=0)", "x:distinct", ["3,4"], False),
    ("argmax", "", "x * x.argmax(axis=0, keepdims=True)", "x:distinct", ["3,4"], False),
    ("argmin", "", "x[np.argmin(x)] * x", "x:distinct", ["5"], False),
    ("argmin", "", "x * x.argmin()", "x:distinct", ["5"], False),
    ("gt", "", "np.greater(x, y) * x", "x:even y:odd", ["5 5"], False),
    ("ge", "", "np.greater_equal(x, y) * x", "x:even y:odd", ["5 5"], False),
    ("lt", "", "np.less(x, y) * x", "x:even y:odd", ["5 5"], False),
    ("le", "", "np.less_equal(x, y) * x", "x:even y:odd", ["5 5"], False),
    ("eq", "", "np.equal(x, y) * x", "x:even y:odd", ["5 5"], False),
    ("ne", "", "np.not_equal(x, y) * x", "x:even y:odd", ["5 5"], False),
    ("tuple", "", "np.reshape(x, (x.shape[0], -1))", "x:real", ["3,4", "2,2,3"], False),
    ("len", "", "x * len(x)", "x:real", ["5", "3,4"], False),
    ("int", "", "int(x) * x", "x:frac", ["f"], False),
    ("int", "", "x * int(y)", "x:real y:frac", ["5 f"], False),
    ("check_scalar", "_check_scalar(x)", "x * 3.0", "x:real", ["f", "0", "i"], False),
    ("check_unshared", "s = x\ns += 2.0", "s * x", "x:real", ["f"], False),
    (
        "raise",
        'if np.any(np.isnan(x)):\n    raise ValueError(f"nan in {x}")',
        "x * 2.0",
        "x:real",
        ["f", "5"],
        False,
    ),
    ("isnan", "", "x * np.isnan(x / x)", "x:nz", ["f", "5"], False),
    ("is", "", "x * 2.0 + (x is None)", "x:real", ["f", "5"], False),
    ("is_not", "", "x * (x is not None)", "x:real", ["f", "5"], False),
    ("isinf", "", "np.where(np.isinf(x), 0.0, x) * x", "x:real", ["5", "3,4"], False),
    ("isfinite", "", "x * np.all(np.isfinite(x))", "x:real", ["f", "5"], False),
    (
        "check_shapes",
        '_check_shapes(x, function="f", names=("x",), expected=(("n",),))',
        "x * 3.0",
        "x:real",
        ["5", "3"],
        False,
    ),
    ("module attribute", "", "x * SCALE", "x:real", ["f", "3,4"], False),
    (
        "print format",
        'print(f"sum {np.sum(x):.3f}, {x!r}", "x", sep="; ")',
        "x * 3.0",
        "x:real",
        ["f", "3"],
        False,
    ),
    (
        "check_shape",
        '_check_shape(x, expected=(3,), name="x")',
        "x * 3.0",
        "x:real",
        ["3"],
        False,
    ),
    ("check_unchanged", "", "np.sum(x, axis=AXIS) * x[:, 0]", "x:real", ["3,4"], False),
    ("closure_variable", "", "DOUBLE(x) * x", "x:real", ["f", "5"], False),
    ("global_variable", "", "TRIPLE(x) * x", "x:real", ["f", "5"], False),
    (
        "range reversed new_stack",
        "for j in range(3):\n    x = np.sin(x) * 1.5",
        "x",
        "x:real",
        ["f", "5", "3,4"],
        False,
    ),
]

#: What the cases read from outside them: module data, a helper closing over a
#: number, and a helper whose globals no import reaches (made by `exec`).
MODULE_DATA = """
SCALE = 1.5
AXIS = 1


def _scaled_by(a):
    def scale(z):
        return z * a

    return scale


DOUBLE = _scaled_by(2.0)
_EXEC_SOURCE = "def triple(z):\\n    return z * K\\n"
linecache.cache["<exec'd helper>"] = (0, None, _EXEC_SOURCE.splitlines(True), "")
_EXEC_GLOBALS = {"K": 3.0}
exec(compile(_EXEC_SOURCE, "<exec'd helper>", "exec"), _EXEC_GLOBALS)
TRIPLE = _EXEC_GLOBALS["triple"]
"""

#: Nondifferentiable primitives with no user spelling, with the reason.
#: prim -> (reason, an expression using it that s2s must reject).
NONDIFF_UNSPELLABLE: dict[str, tuple[str, str]] = {
    "section": (
        "a marker s2s puts where the reverse sweep starts; no code spells it",
        "section() * x",
    ),
}

#: Primitives whose gradient s2s does not differentiate again (it says so): their
#: cases are checked to be refused in forward over reverse mode.
NOT_TWICE = {
    "prod": "the product's adjoint helper has no derivative in the product",
    "spectral_direction": "its gradient is the spectral norm's Hessian, whose "
    "derivative (a third derivative of the norm) is not supported",
}

#: Known s2s bugs: test id -> reason.  Each makes that one case a strict xfail.
XFAIL: dict[str, str] = {}
