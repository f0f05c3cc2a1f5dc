"""Newton's method on a scalar function, with derivatives s2s generates.

`energy(x)` is a tilted double well with a soft wall made of a few exponentials (a
loop).  Newton's method for its minimum, x <- x - f'(x) / f''(x), takes the first
derivative from the generated gradient and the second from the generated
Hessian-vector product along 1 (generated/newton_scalar_energy_hvp.py).  The second
derivative is also the gradient of the generated gradient: s2s reads its own output
back (generated/newton_scalar_energy_energy_grad.py is made from
generated/newton_scalar_energy.py), and both agree.

Run it: `python examples/newton_scalar.py`.
"""

import numpy as np

import s2s


def wall(x, height):
    if x > height:
        return (x - height) ** 3
    return 0.0


def energy(x):
    well = x**4 - 3 * x**2 + x
    for k in range(1, 4):
        well = well + np.exp(k * (x - 3)) / k
    return well + wall(x, 2.5)


def minimize(x, steps=20, tol=1e-12):
    """Newton's method from x; returns the minimum and the |f'(x)| of each step."""
    slope = s2s.grad(energy)
    curvature = s2s.derivative(energy, "hvp")  # energy_hvp(x, x_dot) = f''(x) x_dot
    history = []
    for _ in range(steps):
        g = slope(x)
        history.append(abs(g))
        if abs(g) < tol:
            break
        x = x - g / curvature(x, 1.0)
    return x, history


def main():
    x, history = minimize(2.0)
    print(f"minimum at x = {x:.15f} after {len(history) - 1} Newton steps")
    for step, g in enumerate(history):
        print(f"  step {step}: |f'(x)| = {g:.3e}")
    second = s2s.grad(s2s.grad(energy))
    print(
        f"f''(x) = {s2s.hvp(energy, (x,), (1.0,)):.12f} (hvp), {second(x):.12f} "
        f"(grad of grad, {second.provenance})"
    )


if __name__ == "__main__":
    main()
