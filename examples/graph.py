"""The computation graph of seeds 000 and 003: J(a, b, c) = 3 * (a + b * c).

Forward: u = b*c = 6, v = a + u = 11, J = 3*v = 33 at (a, b, c) = (5, 3, 2).
Backward: dJ/dv = 3, dJ/da = 3, dJ/du = 3, dJ/db = 3c = 6, dJ/dc = 3b = 9.

Run it: `python examples/graph.py`.
"""

import s2s


def J(a, b, c):
    u = b * c
    v = a + u
    J = 3 * v
    return J


if __name__ == "__main__":
    J_value_and_grad = s2s.value_and_grad(J, wrt=("a", "b", "c"))
    value, (da, db, dc) = J_value_and_grad(5.0, 3.0, 2.0)
    print(f"J(5, 3, 2) = {value}")
    print(f"dJ/da = {da}, dJ/db = {db}, dJ/dc = {dc}")
    print()
    print("Generated code:")
    print(J_value_and_grad.source)
