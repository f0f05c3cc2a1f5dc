"""The worked examples of the seed notes, with their exact numbers (SEEDS.md)."""

import math

import numpy as np
import pytest

import s2s
from examples import chain_rule, graph, logistic, mlp, neuron


def test_graph_J_forward_and_adjoints():
    """Seeds 000/003: u=6, v=11, J=33; dJ/da=3, dJ/db=6, dJ/dc=9."""
    value, grads = s2s.value_and_grad(graph.J, wrt=("a", "b", "c"))(5.0, 3.0, 2.0)
    assert value == 33.0
    assert grads == (3.0, 6.0, 9.0)


def test_graph_J_intermediate_adjoints():
    """dJ/dv = 3 and dJ/du = 3: the adjoints the generated code names dv and du."""
    source = s2s.grad(graph.J, wrt=("a", "b", "c")).source
    assert "dv = 3.0" in source
    assert "du = dv" in source and "db = du * c" in source and "dc = du * b" in source


def test_graph_J_nudge():
    """Seed 003: nudging v from 11 to 11.001 moves J by 0.003, i.e. dJ/dv = 3."""

    def J_of_v(v):
        return 3 * v

    assert s2s.grad(J_of_v)(11.0) == 3.0
    assert J_of_v(11.001) - J_of_v(11.0) == pytest.approx(0.003)


def test_chain_rule():
    """Seed 001: f = (x + y) * z at (-2, 5, -4): f=-12; df/dx=df/dy=-4, df/dz=3."""
    value, grads = s2s.value_and_grad(chain_rule.f, wrt=(0, 1, 2))(-2.0, 5.0, -4.0)
    assert value == -12.0
    assert grads == (-4.0, -4.0, 3.0)


def _inverse(d):
    return 1.0 / d


def _from_exp_input(t):
    return 1.0 / (1.0 + math.exp(t))


def test_sigmoid_neuron():
    """Seed 001: w=(2,-3,-3), x=(-1,-2): f=0.73, dw=(-0.20,-0.39,0.20), dx=(0.39,-0.59)."""
    args = (2.0, -3.0, -3.0, -1.0, -2.0)
    value, grads = s2s.value_and_grad(neuron.neuron, wrt=(0, 1, 2, 3, 4))(*args)
    assert round(value, 2) == 0.73
    assert [round(g, 2) for g in grads] == [-0.20, -0.39, 0.20, 0.39, -0.59]
    # Exact values from the closed form sigma' = sigma * (1 - sigma) at dot = 1.
    sigma = 1 / (1 + math.exp(-1.0))
    local = sigma * (1 - sigma)
    expected = [local * -1.0, local * -2.0, local, local * 2.0, local * -3.0]
    assert grads == pytest.approx(expected, rel=1e-14)


def test_sigmoid_neuron_node_adjoints():
    """A node's adjoint is d(output)/d(node): -0.53 at the input of 1/x, and -0.20
    after passing back through exp (at exp's input, -x = -1)."""
    e = math.exp(-1.0)
    through_inverse = s2s.grad(_inverse)(1.0 + e)
    through_exp = s2s.grad(_from_exp_input)(-1.0)
    assert round(through_inverse, 2) == -0.53
    assert round(through_exp, 2) == -0.20
    assert through_exp == pytest.approx(through_inverse * e, rel=1e-14)


def test_logistic_single_sample_matches_seed_derivation():
    """Seed 000: dL/dz = a - y; dL/dw1 = x1 dz, dL/dw2 = x2 dz, dL/db = dz."""
    w1, w2, b, x1, x2, y = 0.5, -0.3, 0.1, 1.0, 2.0, 1.0
    dw1, dw2, db = s2s.grad(logistic.sigmoid_loss, wrt=("w1", "w2", "b"))(
        w1, w2, b, x1, x2, y
    )
    a = 1 / (1 + math.exp(-(w1 * x1 + w2 * x2 + b)))
    dz = a - y
    assert (dw1, dw2, db) == pytest.approx((x1 * dz, x2 * dz, dz), rel=1e-12)


def test_logistic_batch_matches_closed_form():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(16, 3)), (rng.random(16) > 0.5).astype(float)
    w, b = rng.normal(size=3), 0.3
    dw, db = s2s.grad(logistic.batch_loss, wrt=("w", "b"))(w, b, X, y)
    a = 1 / (1 + np.exp(-(X @ w + b)))
    np.testing.assert_allclose(dw, X.T @ (a - y) / len(y), rtol=1e-12)
    assert db == pytest.approx(np.mean(a - y), rel=1e-12)
    s2s.check_grad(logistic.batch_loss, w, b, X, y, wrt=("w", "b"))


def test_mlp_matches_seed_derivation():
    """Seed 004: dJ/dW2 = dJ/do h^T + lam W2; dJ/dW1 = (W2^T dJ/do * phi'(z)) x^T + lam W1."""
    rng = np.random.default_rng(2)
    W1, W2 = rng.normal(size=(5, 4)), rng.normal(size=(3, 5))
    x = rng.normal(size=(4, 6))
    y = np.eye(3)[:, rng.integers(0, 3, 6)]
    lam = 0.1
    dW1, dW2 = s2s.grad(mlp.J, wrt=("W1", "W2"))(W1, W2, x, y, lam)
    z = W1 @ x
    h = np.tanh(z)
    o = W2 @ h
    p = np.exp(o - o.max(axis=0)) / np.exp(o - o.max(axis=0)).sum(axis=0)
    do = (p - y) / x.shape[1]
    np.testing.assert_allclose(dW2, do @ h.T + lam * W2, rtol=1e-10)
    dz = (W2.T @ do) * (1 - h**2)
    np.testing.assert_allclose(dW1, dz @ x.T + lam * W1, rtol=1e-10)
    s2s.check_grad(mlp.J, W1, W2, x, y, lam, wrt=("W1", "W2"))
