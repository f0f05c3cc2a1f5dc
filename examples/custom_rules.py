"""Derivative rules for functions s2s has no built-in rule for.

Import this module before differentiating, or name it on the command line:
`s2s generate examples/custom_rule.py:loss --wrt w,b --rules examples/custom_rules.py`.
"""

import numpy as np
import scipy.special

import s2s

# y = expit(x) = 1 / (1 + exp(-x)), so dy/dx = y (1 - y).
s2s.register(scipy.special.expit, lambda g, y, x: g * y * (1 - y))

# y = erf(x): dy/dx = 2 / sqrt(pi) exp(-x^2).
s2s.register(
    scipy.special.erf, lambda g, y, x: g * (2 / np.sqrt(np.pi)) * np.exp(-(x**2))
)
