"""Generated gradients run on Dask arrays unchanged, stay lazy, and agree with numpy.

The generated code allocates with *_like, scatters basic-index adjoints into a fresh
zeros_like array (Dask supports that assignment) and sums repeated integer-array
indices with bincount: no np.add.at, no out=."""

import dask
import dask.array as da
import numpy as np
import pytest

import s2s

pytestmark = pytest.mark.filterwarnings(
    "ignore:The `numpy.size` function is not implemented by Dask:FutureWarning"
)


def indexing(x, W):
    h = np.tanh(x @ W)
    picked = h[:, 1:3] * 2 + h[::-1, 0:1] + h[None, -1, :2][0]
    rows = x[[0, 2, 2]]
    return np.sum(picked**2) + np.sum(rows * x[1]) + np.sum(x[:, -1] * x[..., 0])


def joining(x, W):
    h = np.tanh(x @ W)
    z = np.concatenate([h, x], axis=1)
    s = np.stack([h[:, 0], x[:, 0]], axis=-1)
    return np.sum(z**2) + np.sum(s * 3.0) + np.sum(np.vstack([x, x]) ** 3)


def contractions(x, W):
    e = np.einsum("ij,jk->ik", x, W)
    return (
        np.sum(np.einsum("ik,ik->i", e, e))
        + np.linalg.norm(W)
        + np.var(e, axis=0).sum()
        + np.cumsum(e, axis=1)[:, -1].sum()
        + np.trace(x.T @ x)
        + np.sum(np.outer(x[0], W[:, 0]))
    )


def softmax_loss(x, W):
    z = x @ W
    z = z - z.max(axis=1, keepdims=True)
    return -np.mean(z - np.log(np.exp(z).sum(axis=1, keepdims=True)))


@pytest.mark.parametrize("f", [indexing, joining, contractions, softmax_loss])
def test_gradient_on_dask_arrays(f):
    rng = np.random.default_rng(3)
    x, W = rng.standard_normal((4, 3)), rng.standard_normal((3, 3))
    g = s2s.grad(f, wrt=(0, 1))
    expected = g(x, W)
    with dask.config.set(scheduler="synchronous"):
        lazy = g(da.from_array(x, chunks=2), da.from_array(W, chunks=2))
        for grad, want in zip(lazy, expected):
            assert isinstance(grad, da.Array), f"a gradient came back as {type(grad)}"
            np.testing.assert_allclose(grad.compute(), want, rtol=1e-12, atol=1e-12)
