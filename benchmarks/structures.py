"""What keeping the parameters in a dict costs: the gradient of the dict MLP of
examples/mlp_dict.py, next to the same loss with its arrays as parameters, next to
the gradient written by hand in numpy, side by side in one run.

    python -m benchmarks.structures [--batch 256] [--hidden 64] [--seconds 1]

Prints microseconds per call (the best of several timed rounds) and the ratios
s2s / hand-written and s2s / forward, with the load average, which the ratios should
be read against (the machine may be busy).
"""

from __future__ import annotations

import argparse
import os
import timeit

import numpy as np

import s2s
from examples import mlp_dict


def loss_of_arrays(W1, b1, W2, b2, X, Y):
    """examples/mlp_dict.py's loss with the arrays as parameters."""
    hidden = np.tanh(X @ W1 + b1)
    logits = hidden @ W2 + b2
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.mean(np.sum(Y * log_p, axis=1))


def hand_written(params, X, Y):
    """The gradient a careful person writes: softmax minus the one-hot labels, then
    back-propagation; the loss and the accuracy come along, as with has_aux."""
    hidden = np.tanh(X @ params["W1"] + params["b1"])
    logits = hidden @ params["W2"] + params["b2"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    value = -np.mean(np.sum(Y * (shifted - np.log(total)), axis=1))
    accuracy = np.mean(logits.argmax(axis=1) == Y.argmax(axis=1))
    dlogits = (e / total - Y) / len(X)
    dhidden = (dlogits @ params["W2"].T) * (1 - hidden**2)
    grads = {
        "W1": X.T @ dhidden,
        "b1": dhidden.sum(axis=0),
        "W2": hidden.T @ dlogits,
        "b2": dlogits.sum(axis=0),
    }
    return (value, accuracy), grads


def best(function, seconds: float) -> float:
    """Microseconds per call: the best of five rounds of about `seconds` / 5."""
    timer = timeit.Timer(function)
    number, _ = timer.autorange()
    rounds = max(1, int(seconds / 5 / max(timer.timeit(number) / number, 1e-9)))
    return min(timer.repeat(5, rounds)) / rounds * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=1.0)
    options = parser.parse_args(argv)
    X, Y = mlp_dict.two_moons(options.batch)
    params = mlp_dict.initial(h=options.hidden)
    arrays = [params[k] for k in ("W1", "b1", "W2", "b2")]
    with_dict = s2s.value_and_grad(mlp_dict.loss, has_aux=True)
    with_arrays = s2s.value_and_grad(loss_of_arrays, wrt=(0, 1, 2, 3))
    (value, _), grads = with_dict(params, X, Y)
    (hand_value, _), hand = hand_written(params, X, Y)
    assert abs(value - hand_value) < 1e-12
    assert all(np.allclose(grads[k], hand[k], rtol=1e-9, atol=1e-12) for k in hand)
    times = {
        "forward (the loss alone)": best(
            lambda: mlp_dict.loss(params, X, Y), options.seconds
        ),
        "hand-written numpy, dict": best(
            lambda: hand_written(params, X, Y), options.seconds
        ),
        "s2s, dict (has_aux)": best(lambda: with_dict(params, X, Y), options.seconds),
        "s2s, arrays as parameters": best(
            lambda: with_arrays(*arrays, X, Y), options.seconds
        ),
    }
    print(
        f"dict MLP: batch {options.batch}, hidden {options.hidden}; load average "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    hand_time, forward = (
        times["hand-written numpy, dict"],
        times["forward (the loss alone)"],
    )
    for name, t in times.items():
        print(
            f"  {name:28} {t:9.1f} us   {t / hand_time:5.2f} x hand   {t / forward:5.2f} x forward"
        )


if __name__ == "__main__":
    main()
