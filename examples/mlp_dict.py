"""A two-layer classifier whose parameters live in a dict, trained with plain SGD and
with Adam, both written in numpy.

`s2s.value_and_grad(loss, has_aux=True)` returns `((loss, accuracy), grads)`, and
`grads` is a dict with the keys of `params`: the optimizers update the arrays key
by key, as one would with JAX and optax.  The layout of `params` is declared in the
signature (`Annotated[dict, {...}]`), so `s2s generate` writes the module
generated/mlp_dict_loss.py without running this file; `s2s.grad` needs no
declaration (it writes code for the dict it is called with).

Run it: `python examples/mlp_dict.py`.
"""

from typing import Annotated

import numpy as np

import s2s


def loss(
    params: Annotated[dict, {"W1": "d h", "b1": "h", "W2": "h k", "b2": "k"}],
    X: "n d",
    Y: "n k",
):
    hidden = np.tanh(X @ params["W1"] + params["b1"])
    logits = hidden @ params["W2"] + params["b2"]
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    cross_entropy = -np.mean(np.sum(Y * log_p, axis=1))
    accuracy = np.mean(np.argmax(logits, axis=1) == np.argmax(Y, axis=1))
    return cross_entropy, accuracy


def two_moons(samples=200, noise=0.1, seed=0):
    """Two interleaving half circles, one class each; labels one-hot."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, size=samples)
    label = rng.integers(0, 2, size=samples)
    x = np.where(label == 0, np.cos(t), 1 - np.cos(t))
    y = np.where(label == 0, np.sin(t), 0.5 - np.sin(t))
    X = np.stack([x, y], axis=1) + noise * rng.normal(size=(samples, 2))
    return X, np.eye(2)[label]


def initial(d=2, h=16, k=2, seed=1):
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.normal(size=(d, h)) / np.sqrt(d),
        "b1": np.zeros(h),
        "W2": rng.normal(size=(h, k)) / np.sqrt(h),
        "b2": np.zeros(k),
    }


def sgd(params, X, Y, steps=500, rate=0.5):
    """Plain gradient descent; returns the parameters and (loss, accuracy) per step."""
    step = s2s.value_and_grad(loss, has_aux=True)
    history = []
    for _ in range(steps):
        (value, accuracy), grads = step(params, X, Y)
        history.append((value, accuracy))
        params = {k: params[k] - rate * grads[k] for k in params}
    return params, history


def adam(params, X, Y, steps=500, rate=0.05, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam (Kingma and Ba, 2015), moment estimates kept in dicts like params."""
    step = s2s.value_and_grad(loss, has_aux=True)
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(w) for k, w in params.items()}
    history = []
    for t in range(1, steps + 1):
        (value, accuracy), grads = step(params, X, Y)
        history.append((value, accuracy))
        for k in params:
            m[k] = beta1 * m[k] + (1 - beta1) * grads[k]
            v[k] = beta2 * v[k] + (1 - beta2) * grads[k] ** 2
            m_hat = m[k] / (1 - beta1**t)
            v_hat = v[k] / (1 - beta2**t)
            params = {**params, k: params[k] - rate * m_hat / (np.sqrt(v_hat) + eps)}
    return params, history


def main():
    X, Y = two_moons()
    for name, train in (("SGD", sgd), ("Adam", adam)):
        _, history = train(initial(), X, Y)
        (first, _), (last, accuracy) = history[0], history[-1]
        print(f"{name:4}: loss {first:.3f} -> {last:.3f}, accuracy {accuracy:.1%}")


if __name__ == "__main__":
    main()
