"""A tanh RNN over T steps in a Python loop, as the seeds' series builds it.

h_t = tanh(x_t Wx + h_{t-1} Wh + b) for a batch of sequences (x has shape
T x batch x n); the loss is the sum of squares of the final state.  The parameters are
annotated with their shapes (`Wx: "n h"`: n rows, h columns), so the generated
gradient is written for them (`dWh = dWh + h_1.T @ dadd`) and checks them on entry.  s2s keeps the
loop a loop: the forward sweep saves each step's state on a tape, the reverse sweep
walks the steps backwards (back-propagation through time).

Run it: `python examples/rnn.py`.
"""

import numpy as np

import s2s


def loss(Wx: "n h", Wh: "h h", b: "h", x: "T batch n", h0: "batch h"):
    h = h0
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ Wx + h @ Wh + b)
    return np.sum(h**2)


def loss_all_states(Wx: "n h", Wh: "h h", b: "h", x: "T batch n", h0: "batch h"):
    h = h0
    total = 0.0
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ Wx + h @ Wh + b)
        total = total + np.mean(h**2)
    return total


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    T, batch, inputs, hidden = 5, 4, 3, 6
    Wx = rng.normal(size=(inputs, hidden)) * 0.5
    Wh = rng.normal(size=(hidden, hidden)) * 0.3
    b = np.zeros(hidden)
    x = rng.normal(size=(T, batch, inputs))
    h0 = np.zeros((batch, hidden))
    grad = s2s.grad(loss, wrt=("Wx", "Wh", "b"))
    dWx, dWh, db = grad(Wx, Wh, b, x, h0)
    print(
        f"|dWx| = {np.linalg.norm(dWx):.4f}, |dWh| = {np.linalg.norm(dWh):.4f}, |db| = {np.linalg.norm(db):.4f}"
    )
    print(grad.source)
