"""Automatic differentiation of SSA graphs.

- :mod:`.activity`: which values carry derivatives;
- :mod:`.reverse`: the reverse sweep (adjoints), with tapes for loops;
- :mod:`.forward`: forward mode (tangents), for jvp and Hessian-vector products;
- :mod:`.modes`: what the module of each derivative mode holds.
"""

from .. import rules

rules.load()  # attaches the derivatives to the primitives
