"""The benchmark workloads: the function s2s differentiates, its inputs, and the
hand-written numpy gradient that every framework is measured against.

Each workload's function is ordinary Python in the subset s2s accepts; the peers
differentiate the very same source (autograd and JAX with `np`/`math` rebound to their
own numpy, Tangent from the file) except PyTorch, which gets the same computation
written in torch (`benchmarks/torch_workloads.py`).  W1, W2, W3 and W5 are the seed
examples in `examples/`; W4 (the seed's MLP, in the row layout the issue gives its
shapes in) and W6 live here.  W3g and W4g are W3 and W4 with their data (the batch,
not the parameters) at module level, read by the loss as globals
(`benchmarks/global_workloads.py`); making their inputs sets that data from W3's and
W4's inputs, and their yardstick is W3's and W4's hand-written gradient on it.  Array
parameters carry shape annotations as the examples do (`W1: "d h"`), so s2s writes
code for those shapes.

The hand-written gradients are the yardstick: what a competent person writes by hand
in numpy, with the usual closed forms (sigmoid' = s(1 - s), tanh' = 1 - h², the fused
softmax/sigmoid cross-entropy p - y) and in-place accumulation where it is natural.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from benchmarks import global_workloads
from examples import graph, logistic, neuron, rnn

# W6's trip count: a module constant, which s2s inlines and JAX sees as a Python int.
STEPS = 1000


def mlp_loss(W1: "d h", W2: "h q", x: "batch d", y: "batch q", lam: float):
    """The seed's MLP with L2, batch in rows: tanh hidden layer, softmax cross-entropy."""
    h = np.tanh(x @ W1)
    o = h @ W2
    m = np.max(o, axis=1, keepdims=True)
    log_sum_exp = m + np.log(np.sum(np.exp(o - m), axis=1, keepdims=True))
    L = np.mean(np.sum(y * (log_sum_exp - o), axis=1))
    s = lam / 2 * (np.sum(W1**2) + np.sum(W2**2))
    return L + s


def scalar_loop(x: float):
    """A long scalar loop: s = s + sin(x i) / 1000 for i < STEPS."""
    s = 0.0
    for i in range(STEPS):
        s = s + math.sin(x * i) * 0.001
    return s


# ---- the hand-written gradients (the yardstick) ----------------------------------


def graph_grad(a, b, c):
    """d/d(a, b, c) of 3 (a + b c)."""
    return 3.0, 3.0 * c, 3.0 * b


def neuron_grad(w0, w1, w2, x0, x1):
    """d/d(w0, w1, w2, x0, x1) of sigmoid(w0 x0 + w1 x1 + w2)."""
    f = 1.0 / (1.0 + math.exp(-(w0 * x0 + w1 * x1 + w2)))
    ddot = f * (1.0 - f)
    return ddot * x0, ddot * x1, ddot, ddot * w0, ddot * w1


def logistic_grad(w, b, X, y):
    """d/d(w, b) of the mean binary cross-entropy: the fused p - y."""
    p = 1 / (1 + np.exp(-(X @ w + b)))
    dz = (p - y) / len(y)
    return X.T @ dz, dz.sum()


def mlp_grad(W1, W2, x, y, lam):
    """d/d(W1, W2) of `mlp_loss`, for one-hot rows y: softmax - y, then back-prop."""
    h = np.tanh(x @ W1)
    o = h @ W2
    p = np.exp(o - o.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    do = (p - y) / len(x)
    dW2 = h.T @ do + lam * W2
    dz = (do @ W2.T) * (1 - h * h)
    dW1 = x.T @ dz + lam * W1
    return dW1, dW2


def logistic_global_grad(w, b):
    """`logistic_grad` on the batch at module level (W3g)."""
    return logistic_grad(w, b, global_workloads.X, global_workloads.y)


def mlp_global_grad(W1, W2, lam):
    """`mlp_grad` on the batch at module level (W4g)."""
    return mlp_grad(W1, W2, global_workloads.images, global_workloads.labels, lam)


def rnn_grad(Wx, Wh, b, x, h0):
    """d/d(Wx, Wh, b) of sum(h_T²): back-propagation through time, states kept in a list."""
    hs = [h0]
    for t in range(len(x)):
        hs.append(np.tanh(x[t] @ Wx + hs[-1] @ Wh + b))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    dh = 2 * hs[-1]
    for t in reversed(range(len(x))):
        da = dh * (1 - hs[t + 1] * hs[t + 1])
        dWx += x[t].T @ da
        dWh += hs[t].T @ da
        db += da.sum(axis=0)
        dh = da @ Wh.T
    return dWx, dWh, db


def scalar_loop_grad(x):
    """d/dx of `scalar_loop`: the sum of the terms' derivatives."""
    ds = 0.0
    for i in range(STEPS):
        ds += math.cos(x * i) * (i * 0.001)
    return ds


# ---- inputs ---------------------------------------------------------------------

SIZES = ("full", "small")


def _graph_inputs(rng, size):
    return (5.0, 3.0, 2.0)  # the seed's point


def _neuron_inputs(rng, size):
    return (2.0, -3.0, -3.0, -1.0, -2.0)  # the seed's point


def _logistic_inputs(rng, size):
    m, n = (1000, 100) if size == "full" else (7, 3)
    X = rng.standard_normal((m, n))
    w = rng.standard_normal(n) / math.sqrt(n)
    y = (rng.random(m) < 0.5).astype(np.float64)
    return (w, 0.1, X, y)


def _mlp_inputs(rng, size):
    batch, d, hidden, q = (256, 784, 256, 10) if size == "full" else (5, 4, 3, 3)
    x = rng.standard_normal((batch, d))
    W1 = rng.standard_normal((d, hidden)) / math.sqrt(d)
    W2 = rng.standard_normal((hidden, q)) / math.sqrt(hidden)
    y = np.eye(q)[rng.integers(0, q, batch)]
    return (W1, W2, x, y, 1e-3)


def _logistic_global_inputs(rng, size):
    """W3's inputs, its batch set as the data of `global_workloads`: (w, b)."""
    w, b, global_workloads.X, global_workloads.y = _logistic_inputs(rng, size)
    return (w, b)


def _mlp_global_inputs(rng, size):
    """W4's inputs, its batch set as the data of `global_workloads`: (W1, W2, lam)."""
    W1, W2, x, y, lam = _mlp_inputs(rng, size)
    global_workloads.images, global_workloads.labels = x, y
    return (W1, W2, lam)


def _rnn_inputs(rng, size):
    T, batch, inputs, hidden = (50, 32, 16, 64) if size == "full" else (4, 3, 2, 3)
    Wx = rng.standard_normal((inputs, hidden)) / math.sqrt(inputs)
    Wh = rng.standard_normal((hidden, hidden)) * (0.9 / math.sqrt(hidden))
    b = rng.standard_normal(hidden) * 0.1
    x = rng.standard_normal((T, batch, inputs))
    h0 = rng.standard_normal((batch, hidden)) * 0.1
    return (Wx, Wh, b, x, h0)


def _scalar_loop_inputs(rng, size):
    return (0.5,)


@dataclass(frozen=True)
class Workload:
    """One benchmark workload: `fun(*inputs)` is a scalar; `hand(*inputs)` its gradient."""

    key: str  # W1 ... W6, W3g, W4g
    title: str
    fun: Callable[..., Any]
    wrt: tuple[str, ...]
    hand: Callable[..., tuple]
    make: Callable[[np.random.Generator, str], tuple]
    # where `s2s generate` finds `fun` (repository-relative path:function)
    target: str
    # the globals of fun's module that `make` sets: the data `fun` reads there
    data: tuple[str, ...] = ()

    def inputs(self, size: str = "full", seed: int = 0) -> tuple:
        """The arguments of `fun`, at the issue's sizes ("full") or tiny ones ("small")."""
        if size not in SIZES:
            raise ValueError(f"size must be one of {SIZES}, not {size!r}")
        return self.make(np.random.default_rng(seed), size)

    @property
    def wrt_positions(self) -> tuple[int, ...]:
        names = self.fun.__code__.co_varnames[: self.fun.__code__.co_argcount]
        return tuple(names.index(n) for n in self.wrt)

    def hand_grad(self, *args: Any) -> tuple:
        """The hand-written gradient, always as a tuple (one entry per `wrt` name)."""
        grads = self.hand(*args)
        return grads if isinstance(grads, tuple) else (grads,)


def _target(fun: Callable) -> str:
    module = fun.__module__.replace(".", "/")
    return f"{module}.py:{fun.__name__}"


def _workload(key, title, fun, wrt, hand, make, data=()) -> Workload:
    return Workload(key, title, fun, tuple(wrt), hand, make, _target(fun), data)


WORKLOADS: dict[str, Workload] = {
    w.key: w
    for w in [
        _workload(
            "W1",
            "seed graph 3(a + bc), floats",
            graph.J,
            ("a", "b", "c"),
            graph_grad,
            _graph_inputs,
        ),
        _workload(
            "W2",
            "seed sigmoid neuron, floats",
            neuron.neuron,
            ("w0", "w1", "w2", "x0", "x1"),
            neuron_grad,
            _neuron_inputs,
        ),
        _workload(
            "W3",
            "logistic regression, X 1000x100",
            logistic.batch_loss,
            ("w", "b"),
            logistic_grad,
            _logistic_inputs,
        ),
        _workload(
            "W3g",
            "W3 with X, y at module level",
            global_workloads.batch_loss,
            ("w", "b"),
            logistic_global_grad,
            _logistic_global_inputs,
            data=("X", "y"),
        ),
        _workload(
            "W4",
            "MLP 784-256-10 + L2, batch 256",
            mlp_loss,
            ("W1", "W2"),
            mlp_grad,
            _mlp_inputs,
        ),
        _workload(
            "W4g",
            "W4 with x, y at module level",
            global_workloads.mlp_loss,
            ("W1", "W2"),
            mlp_global_grad,
            _mlp_global_inputs,
            data=("images", "labels"),
        ),
        _workload(
            "W5",
            "tanh RNN, T=50, batch 32, 16->64",
            rnn.loss,
            ("Wx", "Wh", "b"),
            rnn_grad,
            _rnn_inputs,
        ),
        _workload(
            "W6",
            "scalar loop, 1000 steps",
            scalar_loop,
            ("x",),
            scalar_loop_grad,
            _scalar_loop_inputs,
        ),
    ]
}
