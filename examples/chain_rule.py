"""Seed 001: the chain rule node by node, on f(x, y, z) = (x + y) * z.

With q = x + y: at x=-2, y=5, z=-4 we get q = 3 and f = -12; going backwards,
df/dq = z = -4, df/dz = q = 3, and df/dx = df/dy = df/dq * 1 = -4.

Run it: `python examples/chain_rule.py`.
"""

import s2s


def f(x, y, z):
    q = x + y
    f = q * z
    return f


if __name__ == "__main__":
    df = s2s.grad(f, wrt=("x", "y", "z"))
    print("f(-2, 5, -4) =", f(-2.0, 5.0, -4.0))
    print("df/dx, df/dy, df/dz =", df(-2.0, 5.0, -4.0))
