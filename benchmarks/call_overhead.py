"""What a call through `s2s.grad` costs on scalar functions, next to the gradient
itself (issue 18, part 3): W1 (`examples/graph.py:J`, 3 (a + b c)) and W2
(`examples/neuron.py:neuron`, a sigmoid neuron with math.exp), on Python floats.

For each workload, side by side in one run, rounds in alternating order:

- hand: the hand-written gradient (`benchmarks/workloads.py`), the yardstick;
- s2s.grad: `s2s.grad(f, wrt=...)(*args)`, the shim and the compiled code;
- direct: the module `s2s.grad` runs for these arguments (`.source_for(*args)`,
  the code for floats) executed and its function called directly: what the
  gradient costs without the call's dispatch.

Each figure is the best over `--repeats` rounds of `timeit` blocks of about 20 ms,
in microseconds per call; the ratios are to the hand-written gradient.  The load
average is printed at start and end (the machine may be busy: read the ratios).
Run from the repository root:

    python -m benchmarks.call_overhead [--repeats 15]
"""

from __future__ import annotations

import argparse
import gc
import os
import timeit

import s2s
from benchmarks.workloads import WORKLOADS

KEYS = ("W1", "W2")


def _timer(fun, args) -> timeit.Timer:
    """Calls of `fun(*args)`, as a benchmark's loop makes them."""
    return timeit.Timer("fun(*args)", globals={"fun": fun, "args": args})


def _calls(fun, args, target: float = 0.02) -> int:
    """How many calls take about `target` seconds."""
    calls = 1
    while True:
        took = _timer(fun, args).timeit(calls)
        if took >= target / 10:
            return max(1, round(calls * target / took))
        calls *= 4


def _load() -> str:
    return "%.2f %.2f %.2f" % os.getloadavg()


def measure(key: str, repeats: int) -> dict[str, float]:
    """Best seconds per call of hand, s2s.grad and direct, for one workload."""
    work = WORKLOADS[key]
    args = work.inputs("small")
    grad = s2s.grad(work.fun, wrt=work.wrt)
    expected = work.hand_grad(*args)
    got = grad(*args)  # the first call compiles the code for floats
    assert all(abs(g - e) <= 1e-12 * (1 + abs(e)) for g, e in zip(got, expected))
    namespace: dict = {}
    exec(compile(grad.source_for(*args), "<direct>", "exec"), namespace)
    direct = namespace[grad.__name__]
    assert direct(*args) == got
    timed = {"s2s.grad": grad, "hand": work.hand, "direct": direct}
    calls = {name: _calls(fun, args) for name, fun in timed.items()}
    best = dict.fromkeys(timed, float("inf"))
    order = list(timed)
    gc.disable()
    try:
        for k in range(repeats):
            # hand in the middle, the others before and after it in turn
            names = order if k % 2 == 0 else order[::-1]
            for name in names:
                fun, n = timed[name], calls[name]
                took = _timer(fun, args).timeit(n) / n
                best[name] = min(best[name], took)
    finally:
        gc.enable()
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    options = parser.parse_args(argv)
    print(f"load average at start: {_load()}")
    print(
        f"{'':4} {'hand us':>9} {'s2s.grad us':>12} {'direct us':>10} "
        f"{'s2s.grad/hand':>14} {'direct/hand':>12}"
    )
    for key in KEYS:
        best = measure(key, options.repeats)
        hand = best["hand"]
        print(
            f"{key:4} {hand * 1e6:9.3f} {best['s2s.grad'] * 1e6:12.3f} "
            f"{best['direct'] * 1e6:10.3f} {best['s2s.grad'] / hand:14.2f} "
            f"{best['direct'] / hand:12.2f}"
        )
    print(f"load average at end: {_load()}")


if __name__ == "__main__":
    main()
