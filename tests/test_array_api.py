"""backend="array_api": the same gradient, written against the namespace of the
arguments, agrees with the numpy backend's (itself checked against central
differences) on numpy arrays, on array_api_strict arrays and on torch CPU tensors,
in the type, device and dtype of the arguments; what the standard cannot write is
refused naming the line."""

import math

import numpy as np
import pytest

import s2s
from s2s.testing import check_grad

array_api_strict = pytest.importorskip("array_api_strict")
pytest.importorskip("array_api_compat")


# --- the corpus: realistic functions, written with np. ---------------------------


def logistic(w, b, X, y):
    z = X @ w + b
    p = 1 / (1 + np.exp(-z))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def ridge(w, X, y, lam):
    r = X @ w - y
    return np.sum(r**2) / len(y) + lam * np.sum(w**2)


def mlp(W1, b1, W2, x, y):
    h = np.tanh(x @ W1 + b1)
    o = h @ W2
    m = np.max(o, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(o - m), axis=1, keepdims=True))
    return np.mean(np.sum(y * (lse - o), axis=1))


def rnn(Wx, Wh, x, h0):
    h = h0
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ Wx + h @ Wh)
    return np.sum(h**2)


def elementwise(x, lo, hi):
    a = np.logaddexp(0.0, x)
    c = np.clip(x, lo, hi)
    d = np.where(x > 0, x, 0.1 * x)
    return np.sum(a * c + np.maximum(d, 0.5) ** 2 + np.minimum(x, hi))


def reductions(x):
    s = np.sum(x, axis=0)
    m = x.mean(axis=1)
    v = np.var(x, axis=1)
    return np.sum(s**2) + np.sum(np.sqrt(m * m + 1.0)) + x.max() + np.sum(v)


def broadcasting(x, row, column, scale):
    y = (x - row) * column + scale
    return np.sum(np.sin(y) * np.arctan(x)) + np.sum(np.abs(row) ** 1.5)


def indexing(x, W):
    first = x[0]
    col = x[:, 1]
    tail = x[1:, ::2]
    return np.sum(first @ W) + np.sum(col**2) + x[1, 2] * x.T[0, 0] + np.sum(tail**3)


def shapes(x, v):
    flat = np.reshape(x, (-1,))
    t = np.transpose(x)
    joined = np.concatenate([flat, v])
    return np.sum(joined**2) + np.sum(t @ x) + np.sum(np.expand_dims(v, 0) * x[:1])


def scalars(a, b):
    return math.sin(a) * b + np.exp(a * b) + a**2


def _data():
    rng = np.random.default_rng(19)
    n, d, h, q = 6, 4, 5, 3
    labels = np.eye(q)[rng.integers(0, q, n)]
    return {
        "logistic": (
            logistic,
            [rng.normal(size=d), 0.3, rng.normal(size=(n, d)), rng.random(n) > 0.5],
        ),
        "ridge": (
            ridge,
            [rng.normal(size=d), rng.normal(size=(n, d)), rng.normal(size=n), 0.1],
        ),
        "mlp": (
            mlp,
            [
                rng.normal(size=(d, h)),
                rng.normal(size=h),
                rng.normal(size=(h, q)),
                rng.normal(size=(n, d)),
                labels,
            ],
        ),
        "rnn": (
            rnn,
            [
                0.5 * rng.normal(size=(d, h)),
                0.5 * rng.normal(size=(h, h)),
                rng.normal(size=(n, d)),
                rng.normal(size=h),
            ],
        ),
        "elementwise": (
            elementwise,
            [rng.normal(size=(n, d)), -0.5, 0.7 + rng.random(d)],
        ),
        "reductions": (reductions, [rng.normal(size=(n, d))]),
        "broadcasting": (
            broadcasting,
            [
                rng.normal(size=(n, d)),
                rng.normal(size=d),
                rng.normal(size=(n, 1)),
                0.25,
            ],
        ),
        "indexing": (indexing, [rng.normal(size=(n, d)), rng.normal(size=(d, 2))]),
        "shapes": (shapes, [rng.normal(size=(3, 3)), rng.normal(size=3)]),
        "scalars": (scalars, [0.3, -1.2]),
    }


CORPUS = _data()
NAMES = sorted(CORPUS)


def _as_float(x):
    """A float array of x (bool labels become 0.0 and 1.0)."""
    return np.asarray(x, dtype=np.float64) if isinstance(x, np.ndarray) else x


def _args(name):
    f, args = CORPUS[name]
    return f, [_as_float(a) for a in args]


def _positions(f):
    return tuple(range(f.__code__.co_argcount))


def _expected(name):
    f, args = _args(name)
    return s2s.grad(f, wrt=_positions(f))(*args)


def _to_numpy(g):
    if hasattr(g, "detach"):  # a torch tensor
        return g.detach().cpu().numpy()
    return np.asarray(g)


def _same(got, expected, like):
    assert len(got) == len(expected)
    for g, e, x in zip(got, expected, like):
        if isinstance(x, float):
            assert np.ndim(g) == 0
        assert np.allclose(_to_numpy(g), e, rtol=1e-10, atol=1e-12)


# --- numpy arrays -------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_numpy_arrays_as_the_numpy_backend(name):
    f, args = _args(name)
    got = s2s.grad(f, wrt=_positions(f), backend="array_api")(*args)
    _same(got, _expected(name), args)


@pytest.mark.parametrize("name", ["logistic", "mlp", "rnn", "elementwise"])
def test_against_central_differences(name):
    f, args = _args(name)
    check_grad(f, *args, wrt=0)  # the numpy backend, the reference
    vg = s2s.value_and_grad(f, wrt=0, backend="array_api")
    value, g = vg(*args)
    assert np.isclose(float(value), f(*args))
    expected = s2s.grad(f, wrt=0)(*args)
    assert np.allclose(g, expected, rtol=1e-10, atol=1e-12)


# --- array_api_strict ---------------------------------------------------------------


def _strict(x):
    if isinstance(x, np.ndarray):
        return array_api_strict.asarray(x)
    return x


@pytest.mark.parametrize("name", NAMES)
def test_array_api_strict(name):
    f, args = _args(name)
    strict = [_strict(a) for a in args]
    got = s2s.grad(f, wrt=_positions(f), backend="array_api")(*strict)
    for g, x in zip(got, strict):
        if isinstance(x, float):
            continue
        assert type(g) is type(x)
        assert g.dtype == x.dtype and g.device == x.device and g.shape == x.shape
    _same([np.asarray(g) for g in got], _expected(name), args)


# --- torch ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _devices(torch):
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("name", NAMES)
def test_torch_tensors(torch, name):
    f, args = _args(name)
    for device in _devices(torch):
        tensors = [
            torch.asarray(a, device=device) if isinstance(a, np.ndarray) else a
            for a in args
        ]
        got = s2s.grad(f, wrt=_positions(f), backend="array_api")(*tensors)
        for g, x in zip(got, tensors):
            if isinstance(x, float):
                continue
            assert isinstance(g, torch.Tensor)
            assert (g.device, g.dtype, g.shape) == (x.device, x.dtype, x.shape)
        _same(got, _expected(name), args)


def test_torch_float32_stays_float32(torch):
    f, args = _args("mlp")
    tensors = [torch.asarray(a, dtype=torch.float32) for a in args]
    got = s2s.grad(f, wrt=(0, 2), backend="array_api")(*tensors)
    expected = s2s.grad(f, wrt=(0, 2))(*args)
    for g, e in zip(got, expected):
        assert g.dtype == torch.float32
        assert np.allclose(g.numpy(), e, rtol=1e-4, atol=1e-5)


# --- what the generated code reads like, and what is refused ------------------------


def test_the_code_reads_like_numpy_with_xp():
    source = s2s.grad(logistic, backend="array_api").source
    assert "from array_api_compat import array_namespace" in source
    assert "xp = _namespace(w, b, X, y)" in source
    assert "xp.exp(-z)" in source
    code = [line for line in source.splitlines() if not line.lstrip().startswith("#")]
    assert not any("np." in line for line in code)
    assert "import numpy" not in source


def test_numpy_backend_code_is_unchanged():
    source = s2s.grad(logistic).source
    assert "xp." not in source and "array_api_compat" not in source


def cube_root(x):
    y = np.tanh(x)
    z = np.cbrt(y)
    return np.sum(z)


def test_a_function_with_no_portable_spelling_names_the_line():
    with pytest.raises(s2s.NotPortableError) as caught:
        s2s.grad(cube_root, backend="array_api")(np.ones(3))
    error = caught.value
    assert isinstance(error, s2s.S2SError)
    assert error.lineno == cube_root.__code__.co_firstlineno + 2
    assert "np.cbrt" in str(error) and "z = np.cbrt(y)" in str(error)
    assert np.allclose(
        s2s.grad(cube_root)(np.ones(3)),
        1 / 3 * np.tanh(1.0) ** (-2 / 3) * (1 - np.tanh(1.0) ** 2),
    )


def test_the_cli_writes_the_array_api_module(tmp_path):
    from s2s.cli import main

    path = tmp_path / "model.py"
    path.write_text(
        "import numpy as np\n\n\ndef loss(w, x):\n    return np.sum(np.tanh(x @ w) ** 2)\n"
    )
    out = tmp_path / "out"
    main(["generate", f"{path}:loss", "--backend", "array_api", "-o", str(out)])
    text = "".join(p.read_text() for p in out.rglob("*.py"))
    assert "xp = _namespace(w, x)" in text and "xp.tanh" in text


def layers(params, x):
    h = np.tanh(x @ params["W"] + params["b"])
    xp = np.sum(h**2)  # a user's own `xp`: the backend's is named apart
    return xp + np.sum(params["W"] ** 2)


def test_torch_value_and_grad_of_a_dict_of_tensors(torch):
    rng = np.random.default_rng(3)
    params = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    x = rng.normal(size=(4, 3))
    value, g = s2s.value_and_grad(layers, backend="array_api")(
        {k: torch.asarray(v) for k, v in params.items()}, torch.asarray(x)
    )
    expected_value, expected = s2s.value_and_grad(layers)(params, x)
    assert isinstance(value, torch.Tensor) and np.isclose(float(value), expected_value)
    assert set(g) == {"W", "b"}
    for k in g:
        assert isinstance(g[k], torch.Tensor) and g[k].dtype == torch.float64
        assert np.allclose(g[k].numpy(), expected[k], rtol=1e-10, atol=1e-12)


def test_python_numbers_only_run_on_numpy():
    got = s2s.grad(scalars, wrt=(0, 1), backend="array_api")(0.3, -1.2)
    expected = s2s.grad(scalars, wrt=(0, 1))(0.3, -1.2)
    assert np.allclose(got, expected, rtol=1e-12)


def named_xp(xp, y):
    return np.sum(xp * y)


def test_a_parameter_named_xp_is_refused():
    with pytest.raises(s2s.NotPortableError, match="'xp'"):
        s2s.grad(named_xp, backend="array_api")(np.ones(2), np.ones(2))


def graph(a, b, c):
    return 3 * (a + b * c)


def test_torch_scalars_get_tensor_gradients(torch):
    args = [torch.tensor(v, dtype=torch.float32) for v in (5.0, 3.0, 2.0)]
    got = s2s.grad(graph, wrt=(0, 1, 2), backend="array_api")(*args)
    assert [float(g) for g in got] == [3.0, 6.0, 9.0]
    for g in got:
        assert isinstance(g, torch.Tensor) and g.dtype == torch.float32
        assert g.shape == ()


def test_torch_float32_loop_stays_float32(torch):
    f, args = _args("rnn")
    tensors = [torch.asarray(a, dtype=torch.float32) for a in args]
    got = s2s.grad(f, wrt=(0, 1, 2), backend="array_api")(*tensors)
    expected = s2s.grad(f, wrt=(0, 1, 2))(*args)
    for g, e in zip(got, expected):
        assert g.dtype == torch.float32
        assert np.allclose(g.numpy(), e, rtol=1e-3, atol=1e-4)
