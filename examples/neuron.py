"""Seed 001: a sigmoid neuron, f(w, x) = 1 / (1 + exp(-(w0*x0 + w1*x1 + w2))).

The seed splits it into the nodes *, +, -x, exp, +1 and 1/x.  At w = (2, -3, -3) and
x = (-1, -2): the dot product is 1, and f = 1 / (1 + e^-1) = 0.73.  Backwards, the
gradient through the 1/x node is -1/1.37^2 = -0.53, through exp it is
-0.53 * e^-1 = -0.20, and the weights get dw = (-0.20, -0.39, 0.20),
the inputs dx = (0.39, -0.59).

`neuron` is written on scalars with `math`, node by node as the seed draws it.

Run it: `python examples/neuron.py`.
"""

import math

import s2s


def neuron(w0, w1, w2, x0, x1):
    dot = w0 * x0 + w1 * x1 + w2
    neg = -dot
    e = math.exp(neg)
    denominator = 1.0 + e
    f = 1.0 / denominator
    return f


if __name__ == "__main__":
    args = (2.0, -3.0, -3.0, -1.0, -2.0)
    value, grads = s2s.value_and_grad(neuron, wrt=(0, 1, 2, 3, 4))(*args)
    print(f"f = {value:.2f}")
    print("dw0, dw1, dw2 =", ", ".join(f"{g:.2f}" for g in grads[:3]))
    print("dx0, dx1 =", ", ".join(f"{g:.2f}" for g in grads[3:]))
