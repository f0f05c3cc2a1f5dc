"""How generation time grows with the function: straight-line code of N statements,
loops nested D deep, and the second derivative of an RK4 integrator whose
right-hand side has five branches.

    python -m benchmarks.scaling [--quick]

Each case runs cold in a fresh process (the import-time cache off): the time of
`s2s.grad(f)` (generating the code for any shapes) and of the first call (which
may generate the code for the arguments' shapes); the median of `--runs` such
processes.  Python's bytecode cache is on (see `environment.child_env`): a first
process compiles s2s's modules.  Prints a table and the load average at start and
end.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap

from .environment import child_env

STRAIGHT = (10, 100, 300, 1000)
NESTED = (4, 8, 12)


def straight_line(n: int) -> str:
    """N statements of scalar arithmetic, each reading two earlier results."""
    rnd = random.Random(0)
    lines = ["import math", "", "def f(x, y):", "    a0 = x * y"]
    for i in range(1, n):
        a, b = f"a{rnd.randrange(i)}", f"a{rnd.randrange(i)}"
        op = rnd.choice(
            [f"{a} * {b}", f"{a} + {b}", f"math.sin({a})", f"{a} - 0.5 * {b}"]
        )
        lines.append(f"    a{i} = {op}")
    lines.append(f"    return a{n - 1} + a{n // 2}")
    return "\n".join(lines) + "\n"


def nested(depth: int) -> str:
    """A loop body under `depth` nested loops of two steps each."""
    lines = ["import numpy as np", "", "def f(x, y):", "    s = x"]
    indent = "    "
    for k in range(depth):
        lines.append(f"{indent}for i{k} in range(2):")
        indent += "    "
    lines += [f"{indent}s = s * 1.01 + np.sin(s * y) * 0.01", "    return s"]
    return "\n".join(lines) + "\n"


RK4 = """
import numpy as np

def rhs(y):
    if y < -2.0:
        return -0.5 * y
    elif y < -1.0:
        return np.sin(y)
    elif y < 0.0:
        return y * y - 1.0
    elif y < 1.0:
        return np.cos(y) * y
    else:
        return -np.tanh(y)

def f(y0, h):
    y = y0
    for _ in range(60):
        k1 = rhs(y)
        k2 = rhs(y + 0.5 * h * k1)
        k3 = rhs(y + 0.5 * h * k2)
        k4 = rhs(y + h * k3)
        y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return y
"""

TIMED = """
import sys, time
sys.path.insert(0, sys.argv[1])
import s2s, case
start = time.perf_counter()
g = s2s.grad(s2s.grad(case.f)) if sys.argv[2] == "2" else s2s.grad(case.f, wrt=(0, 1))
made = time.perf_counter()
g(0.3, 0.05)
print(made - start, time.perf_counter() - made)
"""


def timed(source: str, order: int = 1, runs: int = 3) -> tuple[float, float]:
    """Seconds to generate and for the first call, cold, in fresh processes: the
    medians over `runs` processes."""
    times = []
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "case.py"), "w", encoding="utf-8") as f:
            f.write(source)
        for _ in range(runs):
            out = subprocess.run(
                [sys.executable, "-c", TIMED, folder, str(order)],
                env=child_env(S2S_CACHE="0"),
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            times.append(tuple(map(float, out.split())))
    generate, first = (statistics.median(column) for column in zip(*times))
    return generate, first


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the smaller cases only")
    parser.add_argument("--runs", type=int, default=3, help="processes per case")
    arguments = parser.parse_args(argv)
    quick, runs = arguments.quick, arguments.runs
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    cases = [(f"straight line, N = {n}", straight_line(n), 1) for n in STRAIGHT]
    cases += [(f"loops nested {d} deep", nested(d), 1) for d in NESTED]
    cases.append(
        ("RK4, 60 steps, 5-branch rhs: grad(grad(f))", textwrap.dedent(RK4), 2)
    )
    if quick:
        cases = [c for c in cases if "1000" not in c[0] and "12" not in c[0]]
    timed(straight_line(10), 2, runs=1)  # s2s's modules compiled to bytecode, once
    print(f"load average at start: {load}")
    print(f"median of {runs} fresh processes per case")
    print("| case | s2s.grad(f) | first call | total |")
    print("| --- | --- | --- | --- |")
    for name, source, order in cases:
        generate, first = timed(source, order, runs)
        print(
            f"| {name} | {generate:.2f} s | {first:.2f} s | {generate + first:.2f} s |"
        )
    print("load average at end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
