"""The public API contract of DESIGN.md: grad, value_and_grad, wrt, decorators, .source,
check_grad, shapes and dtypes of gradients."""

import math
import traceback

import numpy as np
import pytest

import s2s


def f3(a, b, c):
    return 3 * (a + b * c)


def quadratic(x, w, unused=2.0):
    return np.sum(w * x**2)


@s2s.grad
def decorated(x):
    return x * x * x


@s2s.grad(wrt=("w", "b"))
def decorated_with_wrt(x, w, b):
    return np.sum((x @ w + b) ** 2)


def test_wrt_forms():
    assert s2s.grad(f3)(5.0, 3.0, 2.0) == 3.0
    assert s2s.grad(f3, wrt=1)(5.0, 3.0, 2.0) == 6.0
    assert s2s.grad(f3, wrt="c")(5.0, 3.0, 2.0) == 9.0
    assert s2s.grad(f3, wrt=-1)(5.0, 3.0, 2.0) == 9.0
    assert s2s.grad(f3, wrt=("c", 0))(5.0, 3.0, 2.0) == (9.0, 3.0)
    assert s2s.grad(f3, wrt=("b",))(5.0, 3.0, 2.0) == (6.0,)


def test_decorators():
    assert decorated(2.0) == 12.0
    x, w, b = np.ones((4, 3)), np.arange(3.0), 0.5
    dw, db = decorated_with_wrt(x, w, b)
    r = x @ w + b
    np.testing.assert_allclose(dw, x.T @ (2 * r))
    assert db == pytest.approx(np.sum(2 * r))
    assert "def decorated_with_wrt_grad(x, w, b):" in decorated_with_wrt.source


def test_value_and_grad():
    value, grads = s2s.value_and_grad(f3, wrt=(0, 1, 2))(5.0, 3.0, 2.0)
    assert value == 33.0 and grads == (3.0, 6.0, 9.0)
    value, grad = s2s.value_and_grad(f3)(5.0, 3.0, 2.0)
    assert (value, grad) == (33.0, 3.0)


def test_source_is_the_same_text_for_every_provenance(monkeypatch):
    """`.source` is the module `s2s generate` writes, less its header: for the
    committed generated/graph_J.py as for the same module generated now."""
    from examples import graph

    committed = s2s.grad(graph.J, wrt=("a", "b", "c"))
    assert committed.provenance == "committed"
    monkeypatch.setenv("S2S_CACHE", "0")
    fresh = s2s.grad(graph.J, wrt=("a", "b", "c"))
    assert fresh.provenance == "generated"
    assert committed.source == fresh.source
    assert not committed.source.startswith("#")


def test_a_wrong_call_names_the_gradient_as_python_names_a_function():
    """Not `__call__`, and the counts are the function's (no hidden self)."""

    def lin(w, X):
        return np.sum(X @ w)

    g, vg = s2s.grad(lin), s2s.value_and_grad(lin)
    w, X = np.zeros(3), np.ones((2, 3))
    with pytest.raises(
        TypeError,
        match=r"^lin_grad\(\) missing 1 required positional " r"argument: 'X'$",
    ):
        g(w)
    with pytest.raises(
        TypeError,
        match=r"^lin_grad\(\) takes 2 positional arguments " r"but 3 were given$",
    ):
        g(w, X, 1)
    with pytest.raises(TypeError, match=r"^lin_grad\(\) got an unexpected keyword"):
        g(w, X=X, q=1)
    with pytest.raises(TypeError, match=r"^lin_value_and_grad\(\) missing 1"):
        vg(w)
    np.testing.assert_array_equal(g(X=X, w=w), [2.0, 2.0, 2.0])


def test_source_is_the_generated_module():
    g = s2s.grad(f3, wrt=("a", "b"))
    assert g.source.startswith("import numpy as np")
    assert "def f3_grad(a, b, c):" in g.source
    compile(g.source, "<test>", "exec")


def test_keywords_and_defaults_pass_through():
    g = s2s.grad(quadratic, wrt="w")
    x, w = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    np.testing.assert_allclose(g(x, w), x**2)
    np.testing.assert_allclose(g(w=w, x=x), x**2)
    np.testing.assert_allclose(g(x, w, 7.0), x**2)


def test_unused_argument_gets_zeros_of_its_shape():
    g = s2s.grad(quadratic, wrt=("x", "unused"))
    dx, dunused = g(np.ones(3), np.ones(3), np.ones((2, 2)))
    assert dunused.shape == (2, 2) and not dunused.any()
    assert dunused.dtype == np.float64


def test_gradients_have_the_shape_of_their_arguments():
    def f(a, b):
        return np.sum(a * b)

    a, b = np.ones((3, 1)), np.ones((1, 4))
    da, db = s2s.grad(f, wrt=(0, 1))(a, b)
    assert da.shape == (3, 1) and db.shape == (1, 4)
    np.testing.assert_allclose(da, 4.0)
    np.testing.assert_allclose(db, 3.0)


def test_integers_are_reals():
    def cube(x):
        return x**3 / 2

    assert s2s.grad(cube)(3) == 13.5
    d = s2s.grad(quadratic, wrt="x")(np.array([1, 2]), np.array([3, 4]))
    assert d.dtype == np.float64
    np.testing.assert_allclose(d, [6.0, 16.0])


def test_zero_dimensional_arrays():
    def f(x, y):
        return np.sin(x) * y

    dx, dy = s2s.grad(f, wrt=(0, 1))(np.array(0.5), np.array(2.0))
    assert np.shape(dx) == () and np.shape(dy) == ()
    assert dx == pytest.approx(2 * np.cos(0.5))


def test_inputs_are_not_modified():
    def f(x, w):
        y = x * w
        y = y + x
        return np.sum(y * y)

    x, w = np.arange(4.0), np.full(4, 0.5)
    x0, w0 = x.copy(), w.copy()
    s2s.grad(f, wrt=(0, 1))(x, w)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)


def test_non_scalar_result_is_an_error_with_the_shape():
    def f(x):
        return x * 2

    with pytest.raises(s2s.NonScalarOutputError, match=r"\(3,\)") as info:
        s2s.grad(f)(np.ones(3))
    assert ".sum()" in str(info.value)


def test_check_grad_passes_and_reports_the_worst_element():
    reports = s2s.check_grad(
        quadratic, np.array([1.0, -2.0]), np.array([0.5, 3.0]), wrt=(0, 1)
    )
    assert [r.parameter for r in reports] == ["x", "w"]
    assert all(r.ratio <= 1 for r in reports)


def test_check_grad_raises_on_a_kink():
    def step(x):
        return np.floor(x) * x

    with pytest.raises(s2s.GradientMismatchError, match="kink"):
        s2s.check_grad(step, 1.0)
    s2s.check_grad(step, 1.5)


def test_check_grad_uses_a_random_direction_for_large_inputs():
    x = np.linspace(-1, 1, 500)
    (report,) = s2s.check_grad(quadratic, x, np.ones(500))
    assert report.index is None and report.ratio <= 1


def test_grad_of_non_function_is_an_error():
    with pytest.raises(s2s.S2SError):
        s2s.grad(3)


# --- the call with Python floats ---------------------------------------------------


def neuron(w, x, b):
    return 1.0 / (1.0 + math.exp(-(w * x + b)))


def test_floats_take_the_code_for_floats_first():
    """After the first call with floats, a call with floats runs the code for
    floats at once, and every other kind of argument still takes its own way:
    integers made reals, arrays, float32 arrays (float32 gradients),
    structures."""
    g = s2s.grad(neuron, wrt=("w", "x", "b"))
    expected = g(0.5, -1.5, 0.25)  # the first call with floats
    assert g(0.5, -1.5, 0.25) == expected
    assert g(w=0.5, b=0.25, x=-1.5) == expected
    assert g(1, 2, 0) == g(1.0, 2.0, 0.0)
    assert all(type(d) is float for d in g(1, 2, 0))

    def vectorized(w, x, b):
        return np.sum(1.0 / (1.0 + np.exp(-(w * x + b))))

    g = s2s.grad(vectorized, wrt=("w", "x", "b"))
    expected = g(0.5, -1.5, 0.25)
    dw, dx, db = g(np.full(3, 0.5), -1.5, 0.25)
    np.testing.assert_allclose(dw, expected[0])
    assert np.shape(dx) == () and np.shape(db) == ()
    assert g(np.full(3, 0.5, np.float32), -1.5, 0.25)[0].dtype == np.float32
    dp, dx = s2s.grad(lambda p, x: vectorized(p["w"], x, p["b"]), wrt=(0, 1))(
        {"w": 0.5, "b": 0.25}, -1.5
    )
    assert (dp["w"], dx, dp["b"]) == pytest.approx(expected)
    with pytest.raises(TypeError, match=r"^vectorized_grad\(\) missing 1 required"):
        g(0.5, 1.5)


def test_the_code_for_floats_reads_the_closure_as_it_is_at_each_call():
    """The call runs the code for floats in itself (not through a call of it):
    what it reads from the function's closure and module is read at each call."""
    scale = 2.0

    def f(x):
        return scale * x * x + math.sin(x)

    g = s2s.grad(f)
    assert g(3.0) == g(3.0) == pytest.approx(2.0 * 2 * 3.0 + math.cos(3.0), rel=1e-14)
    scale = 5.0
    assert g(3.0) == pytest.approx(5.0 * 2 * 3.0 + math.cos(3.0), rel=1e-14)


def test_an_error_inside_the_code_for_floats_is_raised_from_its_line():
    g = s2s.grad(neuron)
    g(1.0, 2.0, 0.0)
    with pytest.raises(OverflowError) as info:
        g(1000.0, -2.0, 0.0)
    where = traceback.extract_tb(info.value.__traceback__)[-1]
    assert where.filename.startswith("<s2s-generated neuron")
    assert "math.exp" in where.line
