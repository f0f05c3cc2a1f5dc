"""Logistic regression through scipy.special.expit, which s2s learns from a custom
rule (see examples/custom_rules.py and the README)."""

import numpy as np
from scipy.special import expit


def loss(w, b, X, y):
    p = expit(X @ w + b)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
