"""The workloads written in PyTorch, operation for operation as in `workloads.py`.

PyTorch cannot run the numpy source, so a PyTorch user writes the same computation with
torch functions; these are those functions, keyed like `workloads.WORKLOADS`.
"""

import torch

from .workloads import STEPS


def graph_J(a, b, c):
    u = b * c
    v = a + u
    return 3 * v


def neuron(w0, w1, w2, x0, x1):
    dot = w0 * x0 + w1 * x1 + w2
    e = torch.exp(-dot)
    return 1.0 / (1.0 + e)


def batch_loss(w, b, X, y):
    z = X @ w + b
    a = 1 / (1 + torch.exp(-z))
    return -torch.mean(y * torch.log(a) + (1 - y) * torch.log(1 - a))


def mlp_loss(W1, W2, x, y, lam):
    h = torch.tanh(x @ W1)
    o = h @ W2
    m = torch.amax(o, dim=1, keepdim=True)
    log_sum_exp = m + torch.log(torch.sum(torch.exp(o - m), dim=1, keepdim=True))
    L = torch.mean(torch.sum(y * (log_sum_exp - o), dim=1))
    s = lam / 2 * (torch.sum(W1**2) + torch.sum(W2**2))
    return L + s


def rnn_loss(Wx, Wh, b, x, h0):
    h = h0
    for t in range(x.shape[0]):
        h = torch.tanh(x[t] @ Wx + h @ Wh + b)
    return torch.sum(h**2)


def scalar_loop(x):
    s = 0.0
    for i in range(STEPS):
        s = s + torch.sin(x * i) * 0.001
    return s


TORCH_FUNCTIONS = {
    "W1": graph_J,
    "W2": neuron,
    "W3": batch_loss,
    "W4": mlp_loss,
    "W5": rnn_loss,
    "W6": scalar_loop,
}
