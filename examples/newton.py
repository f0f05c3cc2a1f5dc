"""A while loop that iterates to convergence, differentiated through its iterations.

`cube_root(a)` finds x with x**3 = a by Newton's method, x <- x - (x**3 - a) / (3 x**2),
until the step is below a tolerance; `loss` uses the root.  The gradient goes back
through every iteration the loop actually made (d cbrt(a)/da = 1 / (3 a^(2/3))).

Run it: `python examples/newton.py`.
"""

import s2s


def cube_root(a, tol=1e-12):
    x = a
    step = 1.0
    while abs(step) > tol:
        step = (x**3 - a) / (3 * x**2)
        x = x - step
    return x


def loss(a):
    r = cube_root(a)
    return r * r


if __name__ == "__main__":
    a = 8.0
    value, grad = s2s.value_and_grad(loss)(a)
    print(
        f"cube_root(8)^2 = {value:.6f}, d/da = {grad:.6f} (exact: {2 / (3 * 2.0):.6f})"
    )
