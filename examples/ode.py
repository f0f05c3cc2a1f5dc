"""A long simulation differentiated with checkpoints: damped pendulums, RK4.

`loss` integrates n damped pendulums (angles q, angular velocities p) over
`steps` RK4 steps of dt and returns the final energy.  Its plain gradient keeps the
state of every step (2n floats a step); `s2s.grad(loss, checkpoint=20)` keeps at most
20 states and recomputes the steps in between during the reverse sweep (binomial
checkpointing): with 10^5 steps the tape shrinks from megabytes to a few states, for
a few more forward sweeps.  `generated/ode_loss.py` is the code it runs.

Run it: `python examples/ode.py`.
"""

import numpy as np

import s2s


def forces(q, p, k, c):
    return -k * np.sin(q) - c * p


def loss(k: "n", c: "", q0: "n", p0: "n", steps=1000, dt=0.01):
    q, p = q0, p0
    for i in range(steps):
        a1 = forces(q, p, k, c)
        q2, p2 = q + dt / 2 * p, p + dt / 2 * a1
        a2 = forces(q2, p2, k, c)
        q3, p3 = q + dt / 2 * p2, p + dt / 2 * a2
        a3 = forces(q3, p3, k, c)
        q4, p4 = q + dt * p3, p + dt * a3
        a4 = forces(q4, p4, k, c)
        q = q + dt / 6 * (p + 2 * p2 + 2 * p3 + p4)
        p = p + dt / 6 * (a1 + 2 * a2 + 2 * a3 + a4)
    return np.sum(0.5 * p**2 + k * (1 - np.cos(q)))


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    n = 16
    k, c = 1.0 + rng.random(n), 0.05
    q0, p0 = rng.normal(size=n), np.zeros(n)
    plain = s2s.grad(loss, wrt=("k", "c"))
    checkpointed = s2s.grad(loss, wrt=("k", "c"), checkpoint=20)
    dk, dc = checkpointed(k, c, q0, p0, 10_000)
    dk_plain, dc_plain = plain(k, c, q0, p0, 10_000)
    print(f"|dk| = {np.linalg.norm(dk):.6f}, dc = {dc:.6f}")
    print(f"same as without checkpoints: {np.allclose(dk, dk_plain, rtol=1e-12)}")
