"""Generated gradients run on Dask arrays unchanged, in any mix with numpy arrays:
numpy parameters with Dask data (the usual out-of-core set-up), Dask parameters
with numpy data, and Dask everywhere.  Each gradient agrees with the same gradient
on numpy arrays (which the rest of the suite checks against central differences),
comes back a lazy Dask array where it depends on one, and prints no warning: the
tests run with warnings as errors.  Part of them run on a real
dask.distributed.LocalCluster (worker processes), as users run Dask.

The generated code allocates with *_like, scatters basic-index adjoints into a fresh
zeros_like array (Dask supports that assignment), sums repeated integer-array
indices with bincount (no np.add.at, no out=), writes np.size as `_size` (Dask
warns on np.size), and adds into an array in place only where the sum cannot be of
another library than that array (a numpy dw does not take in a Dask term)."""

import dask
import dask.array as da
import numpy as np
import pytest

import s2s

pytestmark = pytest.mark.filterwarnings("error")

MIXES = ("numpy params, dask data", "dask params, numpy data", "all dask")


# --- the corpus: params first, then data ------------------------------------------


def ridge(w, X, y, lam):
    r = X @ w - y
    return np.mean(r**2) + lam * np.sum(w**2)


def mlp(W1, b1, W2, X, y):
    h = np.tanh(X @ W1 + b1)
    out = h @ W2
    return np.mean((out - y) ** 2) + 0.01 * (np.sum(W1**2) + np.sum(W2**2))


def logistic(w, b, X, y):
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, z) - y * z)


def centred(w, X):
    """Broadcasting (a row of means, a column of norms) and reductions over axes."""
    Z = (X - X.mean(axis=0)) / (np.sqrt(np.sum(X**2, axis=1, keepdims=True)) + 1.0)
    s = Z @ w
    return np.sum(s**2) / np.size(s) + np.max(np.abs(w)) * np.var(s)


def rnn(Wx, Wh, x):
    """A loop: Wx and Wh receive one contribution per step."""
    h = np.zeros((x.shape[1], Wh.shape[0]))
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ Wx + h @ Wh)
    return np.sum(h**2)


def shared(w, X):
    """w read four times (two contributions each way: a product and a sum)."""
    u = X @ w
    return np.sum(u * (X @ w)) + np.sum(w * w) + np.sum(np.exp(X) @ (w * 0.5))


def indexing(W, x):
    h = np.tanh(x @ W)
    picked = h[:, 1:3] * 2 + h[::-1, 0:1] + h[None, -1, :2][0]
    rows = x[[0, 2, 2]]
    return np.sum(picked**2) + np.sum(rows * x[1]) + np.sum(x[:, -1] * x[..., 0])


def joining(W, x):
    h = np.tanh(x @ W)
    z = np.concatenate([h, x], axis=1)
    s = np.stack([h[:, 0], x[:, 0]], axis=-1)
    return np.sum(z**2) + np.sum(s * 3.0) + np.sum(np.vstack([x, x]) ** 3)


def contractions(W, x):
    e = np.einsum("ij,jk->ik", x, W)
    return (
        np.sum(np.einsum("ik,ik->i", e, e))
        + np.linalg.norm(W)
        + np.var(e, axis=0).sum()
        + np.cumsum(e, axis=1)[:, -1].sum()
        + np.trace(x.T @ x)
        + np.sum(np.outer(x[0], W[:, 0]))
    )


def softmax_loss(W, x):
    z = x @ W
    z = z - z.max(axis=1, keepdims=True)
    return -np.mean(z - np.log(np.exp(z).sum(axis=1, keepdims=True)))


def _inputs(name):
    """(params, data) for one function of the corpus, seeded."""
    rng = np.random.default_rng(7)
    n, d, k = 12, 4, 3
    X, y = rng.standard_normal((n, d)), rng.standard_normal(n)
    if name == "ridge":
        return (rng.standard_normal(d),), (X, y, 0.1)
    if name == "mlp":
        W1, b1, W2 = (rng.standard_normal(s) for s in ((d, k), (k,), (k,)))
        return (W1, b1, W2), (X, y)
    if name == "logistic":
        return (rng.standard_normal(d), rng.standard_normal(1)), (X, 1.0 * (y > 0))
    if name in ("rnn", "recurrent"):
        Wx, Wh = rng.standard_normal((d, k)), 0.5 * rng.standard_normal((k, k))
        return (Wx, Wh), (rng.standard_normal((5, 3, d)),)
    if name in ("centred", "shared"):
        return (rng.standard_normal(d),), (X,)
    return (rng.standard_normal((3, 3)),), (rng.standard_normal((4, 3)),)


def _mixed(mix, params, data):
    """The arguments in a mix: arrays chunked in two along their first axis."""

    def lazy(a):
        return da.from_array(a, chunks=max(1, a.shape[0] // 2) if a.ndim else ())

    def each(values, dask):
        return tuple(
            lazy(v) if dask and isinstance(v, np.ndarray) else v for v in values
        )

    return (
        *each(params, mix != "numpy params, dask data"),
        *each(data, mix != "dask params, numpy data"),
    )


def _check(f, mix, compute):
    """The gradient of f with respect to its params, in one mix, against numpy's."""
    params, data = _inputs(f.__name__)
    g = s2s.grad(f, wrt=tuple(range(len(params))))
    expected = g(*params, *data)
    got = g(*_mixed(mix, params, data))
    assert len(got) == len(expected)
    for k, (grad, want) in enumerate(zip(got, expected)):
        assert isinstance(
            grad, da.Array
        ), f"{f.__name__}, {mix}: gradient {k} came back as {type(grad).__name__}"
    for grad, want in zip(compute(*got), expected):
        assert isinstance(grad, np.ndarray)
        np.testing.assert_allclose(grad, want, rtol=1e-12, atol=1e-12)


# --- on the default scheduler, in this process -------------------------------------


@pytest.mark.parametrize("mix", MIXES)
@pytest.mark.parametrize(
    "f", [indexing, joining, contractions, softmax_loss, centred, shared, rnn]
)
def test_gradient_on_dask_arrays(f, mix):
    with dask.config.set(scheduler="synchronous"):
        _check(f, mix, dask.compute)


# --- on a LocalCluster: worker processes ---------------------------------------------


@pytest.fixture(scope="module")
def client():
    """A real cluster, started once: two worker processes of one thread each."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    with cluster, distributed.Client(cluster) as client:
        yield client


@pytest.mark.parametrize("mix", MIXES)
@pytest.mark.parametrize("f", [ridge, mlp, logistic])
def test_gradient_on_a_local_cluster(client, f, mix):
    _check(f, mix, lambda *arrays: client.compute(arrays, sync=True))


def test_value_and_grad_stays_lazy_on_a_cluster(client):
    """The out-of-core set-up: numpy parameters, Dask data; value and gradient lazy
    until computed, and the gradient accumulated over chunks in the workers."""
    (w,), (X, y, lam) = _inputs("ridge")
    vg = s2s.value_and_grad(ridge)
    value, dw = vg(w, da.from_array(X, chunks=4), da.from_array(y, chunks=4), lam)
    assert isinstance(value, da.Array) and isinstance(dw, da.Array)
    want_value, want_dw = vg(w, X, y, lam)
    got_value, got_dw = client.compute((value, dw), sync=True)
    np.testing.assert_allclose(got_value, want_value, rtol=1e-12)
    np.testing.assert_allclose(got_dw, want_dw, rtol=1e-12, atol=1e-12)


def test_numpy_arguments_still_update_in_place():
    """The code that runs for numpy arguments adds into its own arrays in place; the
    code for any library (`.source`, and what `s2s generate` writes) adds a term
    that might be Dask's into a numpy array out of place."""
    (w,), (X, y, lam) = _inputs("ridge")
    g = s2s.grad(ridge)
    assert "dw = dw + " in g.source
    assert "dw += " in g.source_for(w, X, y, lam)
    assert "dw = dw + " in g.source_for(w, da.from_array(X), da.from_array(y), lam)


def layered(params, X, y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    return np.mean((h @ params["W2"] - y) ** 2) + 0.01 * np.sum(params["W1"] ** 2)


@pytest.mark.parametrize("mix", MIXES)
def test_structured_parameters(mix):
    """A dict of parameters: its leaves numpy's or Dask's, the data either."""
    rng = np.random.default_rng(5)
    shapes = {"W1": (4, 3), "b1": (3,), "W2": (3,)}
    params = {k: rng.standard_normal(s) for k, s in shapes.items()}
    X, y = rng.standard_normal((10, 4)), rng.standard_normal(10)
    g = s2s.grad(layered)
    expected = g(params, X, y)
    *leaves, Xm, ym = _mixed(mix, tuple(params.values()), (X, y))
    got = g(dict(zip(shapes, leaves)), Xm, ym)
    with dask.config.set(scheduler="synchronous"):
        for k in shapes:
            assert isinstance(got[k], da.Array), f"{k} came back as {type(got[k])}"
            np.testing.assert_allclose(got[k].compute(), expected[k], rtol=1e-12)


def smooth(w, X):
    u = np.tanh(X @ w)
    return np.sum(u * (X @ w)) + np.sum(w**4)


@pytest.mark.parametrize("mix", MIXES)
def test_hessian_vector_product(mix):
    """Forward over reverse: the tangent's adjoint accumulates as the gradient's."""
    (w,), (X,) = _inputs("shared")
    v = np.random.default_rng(2).standard_normal(w.shape)
    expected = s2s.hvp(smooth, (w, X), (v,), wrt=0)
    got = s2s.hvp(smooth, _mixed(mix, (w,), (X,)), (v,), wrt=0)
    assert isinstance(got, da.Array)
    with dask.config.set(scheduler="synchronous"):
        np.testing.assert_allclose(got.compute(), expected, rtol=1e-12)


def test_the_task_graph_holds_no_array_of_the_data_size():
    """The adjoint of a mean spreads a number over the data's shape: on Dask data,
    as a lazy Dask array chunked as the data, not a numpy array of the data's size
    written into the task graph (Dask's "Sending large graph" warning, and the
    client's memory, for data larger than it)."""
    cloudpickle = pytest.importorskip("cloudpickle")
    X = da.random.default_rng(0).standard_normal((2_000_000, 4), chunks=(250_000, 4))
    y = (X[:, 0] > 0).astype(float)
    (w, b), _ = _inputs("logistic")
    value, grads = s2s.value_and_grad(logistic, wrt=(0, 1))(w, b, X, y)
    graph = dict(da.Array.__dask_graph__(value)) | {
        k: v for g in grads for k, v in dict(g.__dask_graph__()).items()
    }
    assert len(cloudpickle.dumps(graph)) < 1_000_000  # the data is 64 MB


def test_the_out_of_core_example_trains(client):
    """examples/dask_out_of_core.py, tiny: each epoch's gradient is the numpy one
    on the same data, the loss falls, and each worker's peak memory is measured."""
    from examples import dask_out_of_core as example

    X, y = example.make_data(4_000, 5, 1_000)
    w, b, records = example.train(client, X, y, epochs=2)
    Xn, yn = client.compute([X, y], sync=True)
    vg = s2s.value_and_grad(example.loss, wrt=("w", "b"))
    wn, bn = np.zeros(5), 0.0
    for value, _, peaks in records:
        want, (dw, db) = vg(wn, bn, Xn, yn, 1e-3)
        assert value == pytest.approx(want, rel=1e-12)
        assert len(peaks) == 2 and all(p > 0 for p in peaks.values())
        wn, bn = wn - 0.5 * dw, bn - 0.5 * db
    np.testing.assert_allclose(w, wn, rtol=1e-12)
    assert records[1][0] < records[0][0]


def test_the_out_of_core_example_runs(capsys):
    """The command the README shows, on a tiny data set: its own LocalCluster with a
    memory limit, and the table of epochs."""
    from examples import dask_out_of_core as example

    example.main(["--rows", "3000", "--columns", "4", "--chunk-rows", "1000"])
    out = capsys.readouterr().out
    assert "in 3 chunks; workers: 2, memory limit 300MB each" in out
    assert out.count("\n| ") == 4  # the header and three epochs
