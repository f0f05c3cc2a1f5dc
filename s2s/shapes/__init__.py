"""Shapes: what s2s proves about the shapes of values, and the code that allows.

- :mod:`.classes`: which values share a shape (or are scalars), for code that must
  work for arguments of any shape;
- :mod:`.algebra`: dimensions and shapes, broadcasting, reductions, matmul;
- :mod:`.functions`: the result shape of each array function and of linear algebra;
- :mod:`.inference`: the symbolic shape of every value, from the parameters' shape
  patterns;
- :mod:`.specialize`: the code those shapes allow (sums over broadcast axes written
  out, `g @ b.T` for a matmul's adjoint, checks that the shapes make needless).
"""
