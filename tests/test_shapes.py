"""Shape specialization: code written for the shapes of the arguments (s2s.grad
dispatching on them, or shape annotations), against central differences and against
the code for any shapes."""

import typing
from typing import Annotated

import numpy as np
import pytest

import s2s
from examples import mlp, rnn
from s2s.shapes.inference import broadcast, matmul, reduce
from s2s.shim import as_real

RNG = np.random.default_rng(3)


def normal(*shape):
    return RNG.standard_normal(shape)


# --- the shape algebra ------------------------------------------------------------------


def test_broadcast_never_guesses_two_sizes_equal():
    assert broadcast(("n", 1), (1, "m")) == ("n", "m")
    assert broadcast(("n",), ()) == ("n",)
    assert broadcast(("n", "m"), ("m",)) == ("n", "m")
    assert broadcast(("n",), (None,)) == ("n",)  # None is 1 or n, else numpy fails
    assert broadcast((1,), (None,)) == (None,)
    assert broadcast(("n",), ("m",)) == (None,)
    assert broadcast(None, ("n",)) is None


def test_reductions_and_products():
    assert reduce(("a", "b", "c"), 1, False) == ("a", "c")
    assert reduce(("a", "b", "c"), (0, -1), True) == (1, "b", 1)
    assert reduce(("a", "b"), None, False) == ()
    assert matmul(("n", "k"), ("k", "m")) == ("n", "m")
    assert matmul(("k",), ("k", "m")) == ("m",)
    assert matmul(("n", "k"), ("k",)) == ("n",)
    assert matmul(("b", "n", "k"), ("k", "m")) == ("b", "n", "m")


# --- gradients of shape-specialized code ------------------------------------------------


def bias_and_column(W, b, c, x):
    h = np.tanh(x @ W + b) * c  # b: (m,), c: (n, 1)
    return np.sum(h**2) + np.mean(h, axis=0).sum()


def vector_products(u, A, v, B):
    a = u @ A  # (k,) @ (k, m)
    b = A @ v  # (k, m) @ (m,)
    c = u @ u
    d = B @ A  # stacked (s, n, k) @ (k, m): batch dimensions broadcast
    return np.sum(a * a) + np.sum(b) * c + np.sum(np.sin(d))


def stacked(P, Q):
    return np.sum(np.exp(0.1 * (P @ Q)))  # (s, n, k) @ (s, k, m)


def keepdims_softmax(z):
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    p = e / np.sum(e, axis=1, keepdims=True)
    return -np.sum(np.log(p[:, 0]))


def rows_and_scalars(x, s, y):
    total = 0.0
    for i in range(x.shape[0]):
        total = total + np.sum(x[i] * s + y[i] ** 2)
    return total


def dot_forms(a, M, v):
    return np.dot(a, M) @ v + np.dot(M, v).sum() + np.dot(a, a)


def two_spreads_added(x, v):
    """Both sums' adjoints spread over v and are added: each may be left to the
    addition, not both (found by the random programs: dv came out shaped (1,))."""
    return np.sum(np.sin(v.sum(axis=0) * v.sum(axis=0)) * x)


def reshaped_twice(x, y):
    """(2, -1) is no size: a is (2, 3), b is (2, 1), and b's adjoint is summed."""
    a = x.reshape(2, -1)
    b = y.reshape(2, -1)
    return np.sum(np.sin(a + b) * a)


CASES = [
    (two_spreads_added, (normal(1, 3), normal(3)), (0, 1)),
    (reshaped_twice, (normal(6), normal(2)), (0, 1)),
    (bias_and_column, (normal(4, 3), normal(3), normal(5, 1), normal(5, 4)), (0, 1, 2)),
    (bias_and_column, (normal(1, 3), normal(1), normal(1, 1), normal(2, 1)), (0, 1, 2)),
    (vector_products, (normal(3), normal(3, 4), normal(4), normal(2, 5, 3)), (0, 1, 3)),
    (stacked, (normal(2, 3, 4), normal(2, 4, 2)), (0, 1)),
    (keepdims_softmax, (normal(4, 3),), 0),
    (rows_and_scalars, (normal(3, 2), 1.5, normal(3, 1)), (0, 1, 2)),
    (rows_and_scalars, (normal(0, 2), 1.5, normal(0, 1)), (0, 1, 2)),  # no trips
    (dot_forms, (normal(3), normal(3, 2), normal(2)), (0, 1, 2)),
]


@pytest.mark.parametrize("fn, args, wrt", CASES)
def test_specialized_gradients(fn, args, wrt):
    s2s.check_grad(fn, *args, wrt=wrt)
    g = s2s.grad(fn, wrt=wrt)
    special = g(*args)
    generic = g.generic(*(as_real(a) for a in args))
    for a, b in zip(special, generic):
        assert np.shape(a) == np.shape(b)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_the_rnn_gradient_reads_like_the_hand_written_one():
    args = (normal(3, 5), normal(5, 5), normal(5), normal(4, 2, 3), normal(2, 5))
    source = s2s.grad(rnn.loss, wrt=(0, 1, 2)).source_for(*args)
    body = source.split("def loss_grad")[1].split("def loss_value_and_grad")[0]
    for line in (
        "dh = 2.0 * h",
        "db += dadd.sum(axis=0)",
        "dh = dadd @ Wh.T",
        "dWh += h_1.T @ dadd",
        "dWx += x[t].T @ dadd",
    ):
        assert line in body, body
    assert "_unbroadcast" not in body and "_matmul_adjoint" not in body
    assert "_check_scalar" not in body  # np.sum of anything is a scalar


def test_the_mlp_needs_no_generic_helper():
    args = (normal(5, 4), normal(3, 5), normal(4, 6), np.eye(3)[:, [0, 1, 2, 0, 1, 2]])
    g = s2s.grad(mlp.J, wrt=(0, 1))
    body = g.source_for(*args, 0.1).split("def J_value_and_grad")[0]
    assert "_unbroadcast" not in body and "_matmul_adjoint" not in body
    assert "dW1 += dz @ x.T" in body
    s2s.check_grad(mlp.J, *args, 0.1, wrt=(0, 1))


def test_code_is_made_once_per_shape_pattern():
    g = s2s.grad(bias_and_column, wrt=(0, 1, 2))
    shapes = [((4, 3), (3,), (5, 1), (5, 4)), ((7, 2), (2,), (9, 1), (9, 7))]
    sources = [g.source_for(*(normal(*s) for s in shape)) for shape in shapes]
    assert sources[0] == sources[1]
    column = g.source_for(normal(4, 3), normal(3), normal(5, 3), normal(5, 4))
    assert column != sources[0]  # c no longer has a 1: nothing to sum over


def test_lists_get_the_code_for_any_shapes():
    g = s2s.grad(bias_and_column, wrt=0)
    W, b, c, x = normal(2, 2), normal(2), normal(3, 1), normal(3, 2)
    np.testing.assert_allclose(g(W, list(b), c, x), g(W, b, c, x), rtol=1e-12)


# --- annotated shapes -------------------------------------------------------------------


def annotated(W: "n m", b: "m", x: "batch n", scale: float):
    return np.sum(np.tanh(x @ W + b) ** 2) * scale


def test_annotated_code_is_specialized_and_checks_its_arguments():
    g = s2s.grad(annotated, wrt=(0, 1))
    assert "_check_shapes(" in g.source and "_unbroadcast" not in g.source
    s2s.check_grad(annotated, normal(3, 2), normal(2), normal(5, 3), 0.5, wrt=(0, 1))
    with pytest.raises(s2s.ShapeMismatchError, match=r"b of shape \(m,\)"):
        g(normal(3, 2), normal(1), normal(5, 3), 0.5)  # b would broadcast
    with pytest.raises(s2s.ShapeMismatchError, match=r"x of shape \(batch, n\)"):
        g(normal(3, 2), normal(2), normal(5, 4), 0.5)  # n is 3, then 4
    with pytest.raises(s2s.ShapeMismatchError, match="rank|shape"):
        g(normal(3, 2), normal(2), normal(3), 0.5)


def test_a_module_for_annotated_shapes_checks_them_without_s2s(tmp_path):
    text = s2s.grad(annotated, wrt=(0, 1)).source
    namespace: dict = {}
    exec(compile(text, "annotated_grad.py", "exec"), namespace)
    with pytest.raises(ValueError, match="annotated_grad was generated for x"):
        namespace["annotated_grad"](normal(3, 2), normal(2), normal(5, 2), 1.0)


def badly_annotated(x: "n-1"):
    return np.sum(x)


def test_an_unreadable_annotation_says_where():
    with pytest.raises(s2s.ShapeSpecError, match="'n-1' is neither 1 nor a name") as e:
        s2s.grad(badly_annotated)
    assert e.value.lineno == badly_annotated.__code__.co_firstlineno


class Float:
    """Stands in for jaxtyping's `Float` (s2s does not depend on jaxtyping): s2s
    recognises `Float[np.ndarray, "n m"]` by its syntax, whatever `Float` is."""

    def __class_getitem__(cls, item):
        return cls


def annotated_for_type_checkers(
    W: Annotated[np.ndarray, "n m"],
    b: typing.Annotated[np.ndarray, "m"],
    x: Float[np.ndarray, "batch n"],
    scale: float,
):
    return np.sum(np.tanh(x @ W + b) ** 2) * scale


def test_annotations_type_checkers_read_give_the_same_code():
    """`Annotated[np.ndarray, "n m"]` (and jaxtyping's spelling), which mypy and
    pyright accept, mean what the bare string `"n m"` means."""
    plain = s2s.grad(annotated, wrt=(0, 1))
    checked = s2s.grad(annotated_for_type_checkers, wrt=(0, 1))
    expected = 'expected=(("n", "m"), ("m",), ("batch", "n"), ()),'
    assert expected in plain.source and expected in checked.source
    args = normal(3, 2), normal(2), normal(5, 3), 0.5
    for got, want in zip(checked(*args), plain(*args)):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(s2s.ShapeMismatchError, match=r"b of shape \(m,\)"):
        checked(normal(3, 2), normal(1), normal(5, 3), 0.5)


_TYPE_CHECKED = """\
import typing
from typing import Annotated

import jaxtyping as jt
import numpy as np
from jaxtyping import Float, Float64


def annotated(W: Annotated[np.ndarray, "n m"], b: typing.Annotated[np.ndarray, "m"],
              x: Float[np.ndarray, "batch n"], scale: Float64[np.ndarray, ""]):
    return np.sum(np.tanh(x @ W + b) ** 2) * scale


def quoted(W: "jt.Float[np.ndarray, 'n m']", x: "Annotated[np.ndarray, 'batch n']"):
    return np.sum(x @ W)


def other(W: Annotated[np.ndarray, 3], x: Float[np.ndarray, "batch n+1"]):
    return np.sum(W)
"""


@pytest.mark.parametrize(
    "name, expected",
    [
        ("annotated", '(("n", "m"), ("m",), ("batch", "n"), ())'),
        ("quoted", '(("n", "m"), ("batch", "n"))'),
    ],
)
def test_the_command_line_reads_these_annotations_without_importing(
    tmp_path, name, expected
):
    """The file imports jaxtyping, which need not be installed: s2s reads the syntax
    tree (`Annotated`, `typing.Annotated`, `Float[...]`, `Float64[...]`,
    `jt.Float[...]`, and these quoted)."""
    from s2s.frontend import parse_file

    (tmp_path / "typed.py").write_text(_TYPE_CHECKED)
    parsed = parse_file(str(tmp_path / "typed.py"), name)
    patterns = parsed.shape_annotations()
    assert str(tuple(patterns.values())).replace("'", '"') == expected
    with pytest.raises(s2s.ShapeSpecError, match="'n\\+1' is neither 1 nor a name"):
        parse_file(str(tmp_path / "typed.py"), "other").shape_annotations()


# --- composite rules --------------------------------------------------------------------


def cross_entropy(w, X, y):
    a = 1 / (1 + np.exp(-(X @ w)))
    return -np.mean(y * np.log(a) + (1 - y) * np.log(1 - a))


def cross_entropy_reordered(w, X, y):
    a = 1 / (np.exp(-(X @ w)) + 1)
    return -np.sum(np.log(1 - a) * (1 - y) + np.log(a) * y)


def log_sigmoids(z):
    a = 1 / (1 + np.exp(-z))
    return np.sum(np.log(a) * 2 + np.log(1 - a) * 3) + np.sum(a)


def log_softmax(o, y):
    m = np.max(o, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(o - m), axis=1, keepdims=True))
    return np.sum(y * (lse - o)) + np.sum(m * 0.5)


@pytest.mark.parametrize(
    "fn, args, wrt",
    [
        (cross_entropy, (normal(3), normal(6, 3), (normal(6) > 0) * 1.0), (0, 2)),
        (cross_entropy_reordered, (normal(3), normal(6, 3), RNG.random(6)), (0, 2)),
        (log_sigmoids, (normal(5),), 0),
        (log_softmax, (normal(4, 3), RNG.random((4, 3))), (0, 1)),
    ],
)
def test_composite_rules_against_central_differences(fn, args, wrt):
    s2s.check_grad(fn, *args, wrt=wrt)


def test_cross_entropy_gradient_is_a_minus_y_and_stays_finite():
    """Far from the boundary the sigmoid underflows to 0 or rounds to 1, where the
    chain of single rules divides by a or 1 - a; the composite rule gives a - y."""
    X = np.array([[700.0], [-700.0], [1.0]])
    w, y = np.array([1.0]), np.array([0.0, 1.0, 1.0])
    g = s2s.grad(cross_entropy)
    a = 1 / (1 + np.exp(-(X @ w)))
    np.testing.assert_allclose(g(w, X, y), X.T @ (a - y) / 3, rtol=1e-12)
    body = g.source_for(w, X, y).split("def cross_entropy_value_and_grad")[0]
    assert "(y - a)" in body and "/ a" not in body


def test_log_sum_exp_needs_no_gradient_through_its_shift():
    g = s2s.grad(log_softmax, wrt=0)
    source = g.source_for(normal(4, 3), normal(4, 3))
    body = source.split("def log_softmax_grad")[1].split("def log_softmax_value")[0]
    assert "np.exp" in body and body.count("_extremum_adjoint(") == 1  # m * 0.5 only


# --- accumulating in place --------------------------------------------------------------


def shared_adjoints(x, y, W):
    v = np.sin(x) * 2.0  # dv flows to da and dy alike
    a = v + y
    b = a * 1.5 + v * a
    h = np.tanh(W @ a)
    return np.sum(b) + np.sum(h) + np.sum(W * W)


def broadcast_accumulation(x, c):
    t = x * c  # c: (n, 1) broadcasts against x: (n, m)
    return np.sum(np.cos(t)) + np.sum(c * c)


def accumulate_over_steps(x, w):
    s = np.zeros_like(w)
    for i in range(x.shape[0]):
        s = s + np.tanh(x[i] * w)
    return np.sum(s * s)


def chain_energy(x):
    """An element loop: each step reads x[i] and x[i + 1], so each reverse step
    adds into dx three times."""
    s = 0.0
    for i in range(x.shape[0] - 1):
        d = x[i + 1] - x[i]
        s = s + d * d + 0.1 * np.sin(x[i])
    return s


def kept_partial_sums(x, w):
    """The loop's array is also held by another name across steps: no step may
    update it in place (nor its adjoint's)."""
    acc = np.zeros_like(w)
    first = np.zeros_like(w)
    for i in range(x.shape[0]):
        acc = acc + x[i] * w
        if i == 0:
            first = acc
        acc = acc * 0.5 + np.sin(acc)
    return np.sum(first * acc) + np.sum(acc)


@pytest.mark.parametrize(
    "fn, args, wrt",
    [
        (shared_adjoints, (normal(3), normal(3), normal(2, 3)), (0, 1, 2)),
        (broadcast_accumulation, (normal(4, 3), normal(4, 1)), (0, 1)),
        (accumulate_over_steps, (normal(5, 3), normal(3)), (0, 1)),
        (chain_energy, (normal(7),), 0),
        (kept_partial_sums, (normal(4, 3), normal(3)), (0, 1)),
    ],
)
def test_accumulating_in_place_changes_no_shared_array(fn, args, wrt):
    """`acc += c` only where acc's array is the accumulation's own: the arguments,
    values the function computed and every gradient stay what `+` would give."""
    before = [np.copy(a) for a in args]
    g = s2s.grad(fn, wrt=wrt)
    grads = g(*args)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)
    s2s.check_grad(fn, *args, wrt=wrt)
    generic = g.generic(*args)
    again = g(*args)  # a second call: nothing kept between calls was changed
    for a, b, c in zip(grads, generic, again):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(a, c)


def test_accumulating_in_place_is_written_as_by_hand():
    """dw accumulates in its own array, and dx row by row: each reverse step costs
    the size of a row, not of x."""
    body = s2s.grad(accumulate_over_steps, wrt=(0, 1)).source_for(
        normal(5, 3), normal(3)
    )
    assert "dw += dmul * x[i]" in body and "dx[i] += dmul * w" in body


def test_an_element_loop_accumulates_each_element_in_place():
    """Several updates of dx in one reverse step each touch one element (the
    array the step ends with is its own), so the reverse sweep costs O(n), not a
    new array of x's size per update."""
    x = normal(7)
    reverse = s2s.grad(chain_energy).source_for(x).split("# reverse")[1]
    reverse = reverse.split("def chain_energy_value_and_grad")[0]
    assert reverse.count("dx[i] += ") == 2 and "dx[i + 1] += dd" in reverse
    assert "_unindex(" not in reverse and "dx = dx +" not in reverse


def rows_and_columns(x, idx):
    total = 0.0
    for i in range(x.shape[0]):
        total = total + np.sum(np.sin(x[i, 1:])) + np.sum(x[i] * x[idx, 0])
    return total


def test_scatter_into_repeated_indices_is_not_done_in_place():
    """x[idx] with an index array may pick an element twice: those contributions are
    summed by the scatter helper, never by `acc[idx] += g`."""
    x, idx = normal(4, 3), np.array([0, 0, 2])
    g = s2s.grad(rows_and_columns)
    body = g.source_for(x, idx)
    assert "dx[i, 1:] += " in body and "dx[i] += " in body
    assert "dx[idx, 0] +=" not in body and "_unindex(" in body
    s2s.check_grad(rows_and_columns, x, idx)


def cubic(x: float):
    return x**3 + np.sin(x)


def test_an_annotated_gradient_is_differentiated_again():
    """Its shape check reads back as a check, not as an expression without effect."""
    second = s2s.grad(s2s.grad(cubic))
    assert second(0.7) == pytest.approx(6 * 0.7 - np.sin(0.7), rel=1e-12)


def einsum_attention(Wq, Wk, X):
    scores = np.einsum("id,jd->ij", X @ Wq, X @ Wk)
    w = np.exp(scores - scores.max(axis=1, keepdims=True))
    return np.sum((w / w.sum(axis=1, keepdims=True)) ** 2)


def test_einsum_shapes_are_known():
    """The output of explicit subscripts has the labels' dimensions, so what follows
    an einsum is specialized too."""
    args = (normal(4, 3), normal(4, 3), normal(5, 4))
    body = s2s.grad(einsum_attention, wrt=(0, 1, 2)).source_for(*args)
    assert "_unbroadcast" not in body and "_matmul_adjoint" not in body
    s2s.check_grad(einsum_attention, *args, wrt=(0, 1, 2))


def test_an_annotated_hvp_is_specialized_and_checks_its_tangent():
    from examples import newton_logistic

    w, X, y = normal(3), normal(7, 3), (normal(7) > 0) * 1.0
    hvp = s2s.derivative(newton_logistic.loss, "hvp", wrt="w")
    assert "_matmul_adjoint" not in hvp.source and "X.T @ dz_dot" in hvp.source
    v = normal(3)
    g = s2s.grad(newton_logistic.loss, wrt="w")
    h = 1e-6
    numeric = (g(w + h * v, X, y, 0.1) - g(w - h * v, X, y, 0.1)) / (2 * h)
    np.testing.assert_allclose(hvp(w, X, y, 0.1, v), numeric, rtol=1e-6, atol=1e-9)
    with pytest.raises(s2s.ShapeMismatchError, match="w_dot"):
        hvp(w, X, y, 0.1, normal(1))


def slices(x):
    a = x[:-1]
    b = x[:-2]
    c = x[1:-1]
    d = x[:-1]
    e = x[0]
    f = x[2]
    return np.sum(a) + np.sum(b) + np.sum(c) + np.sum(d) + e + f


def test_slices_with_other_bounds_are_not_of_one_shape():
    """x[0] and x[2] have one shape whatever the integers, x[:-1] and x[:-2] do not
    (the shape classes once merged them, and a second derivative of an RK4 step on
    an array of known size read one's shape for the other's)."""
    from s2s.ir import Op, walk
    from s2s.shapes.classes import ShapeClasses

    ops = s2s.grad(slices).stages.graph.ops
    made = {s.out.name: s.out for s in walk(ops) if isinstance(s, Op)}
    classes = ShapeClasses(ops)
    assert not classes.same(made["a"], made["b"])
    assert not classes.same(made["a"], made["c"])
    assert classes.same(made["a"], made["d"])
    assert classes.same(made["e"], made["f"])


def diffused(x, y):
    u = x * np.cos(np.ones(5) * 0.3 + np.arange(5.0))
    for _ in range(2):
        flow = np.zeros(np.shape(u))
        flow[1:-1] += y * (u[2:] - 2 * u[1:-1] + u[:-2])
        u = u + 0.1 * (flow - 0.5 * u**3)
    return np.sum(u[1:] * u[:-1])


def test_a_mixed_second_derivative_through_slices_of_an_array_of_known_size():
    dx = s2s.grad(diffused, wrt="x")
    x, y, h = 1.3, 0.8, 1e-6
    numeric = (dx(x, y + h) - dx(x, y - h)) / (2 * h)
    assert s2s.grad(dx, wrt="y")(x, y) == pytest.approx(numeric, rel=1e-6)
