"""Stress figures (issue 13, item 4): what s2s's gradients hold in memory when the
loop is long or the array is large, next to a hand-written gradient.

    python -m benchmarks.stress [--quick] [--repeats 3] [--show-source]

Two measurements, each contender in a fresh Python process of its own (so that one
peak cannot hide in another's), with the environment of `benchmarks.run` (one
thread per native library):

1. **Tape bytes per iteration.** `loop(x, n)` runs `s = np.sin(s) * 0.999 +
   0.001 * x` n times (n = 1e6; 1e5 with --quick) on a Python float x, and
   `loop_sum(x, n)` does the same on an array of 8 elements and returns the sum
   (s2s.grad needs a scalar result).  Their `s2s.grad` is set against two
   hand-written reverse loops, one keeping the states in a Python list and one in a
   preallocated numpy array, and against the forward alone.  The table gives the
   peak of the call divided by n (what the tape costs each iteration) and the wall
   time.
2. **Array-sized temporaries.** x holds 1e8 random doubles (763 MiB; 1e7 with
   --quick).  `big(x) = np.sum(np.sin(x) * x)`, `big2(x) = np.sum(np.tanh(x) ** 2)
   / x.size` and `big3(x) = np.sum(np.tanh(x) * np.sin(x)) * 0.5`, by `s2s.grad`
   and `s2s.value_and_grad`, against hand-written gradients and the forward.  The
   table gives the peak in MiB and in units of x.nbytes: how many arrays of x's size
   were alive at once, the returned gradient included.  The hand-written gradients
   are `np.cos(x) * x + np.sin(x)`, with t = tanh(x), `t * (t * t - 1.0) * (-2.0 /
   x.size)`, and `(t * np.cos(x) + (1.0 - t * t) * np.sin(x)) * 0.5`: numpy writes
   the result of an operation into an operand that is a temporary (a large array
   nothing else refers to), but not into the right operand of a subtraction, nor
   into a named array, so `2.0 / x.size * t * (1.0 - t * t)` would hold two more
   arrays.  (The hand-written value and gradient of big2 computes t * t twice, where
   s2s keeps the forward's.)

Peaks are tracemalloc's (numpy reports its data buffers to it): each process makes
its inputs, builds the gradient and calls it once on a small input of the same
shape pattern (so the code for the shapes is generated before tracing, and checked
against the hand-written gradient), times `--repeats` untraced calls (the fastest
counts), and only then traces one call, from `tracemalloc.start()` just before it
to the peak just after, above what was live before it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable

import numpy as np

from .environment import child_env
from .worker import peak_bytes

MIB = 2**20


# The functions differentiated (at module level: s2s reads their source).


def loop(x, n):
    s = x
    for i in range(n):
        s = np.sin(s) * 0.999 + 0.001 * x
    return s


def loop_sum(x, n):
    s = x
    for i in range(n):
        s = np.sin(s) * 0.999 + 0.001 * x
    return np.sum(s)


def big(x):
    return np.sum(np.sin(x) * x)


def big2(x):
    return np.sum(np.tanh(x) ** 2) / x.size


def big3(x):
    return np.sum(np.tanh(x) * np.sin(x)) * 0.5


# Hand-written gradients.  The loop's serve `loop` and `loop_sum` alike: the
# adjoint 1.0 of the result broadcasts to the sum's adjoint on the first step back.


def hand_loop_list(x, n):
    """Reverse loop over the states kept in a Python list."""
    states = []
    s = x
    for _ in range(n):
        states.append(s)
        s = np.sin(s) * 0.999 + 0.001 * x
    ds, dx = 1.0, 0.0
    for s in reversed(states):
        dx += 0.001 * ds
        ds = ds * 0.999 * np.cos(s)
    return dx + ds


def hand_loop_array(x, n):
    """Reverse loop over the states kept in a preallocated array, one row a step."""
    states = np.empty((n, *np.shape(x)))
    s = x
    for i in range(n):
        states[i] = s
        s = np.sin(s) * 0.999 + 0.001 * x
    ds, dx = 1.0, 0.0
    for i in range(n - 1, -1, -1):
        dx += 0.001 * ds
        ds = ds * 0.999 * np.cos(states[i])
    return dx + ds


def hand_big_grad(x):
    return np.cos(x) * x + np.sin(x)


def hand_big_value_and_grad(x):
    s = np.sin(x)
    return np.sum(s * x), np.cos(x) * x + s


def hand_big2_grad(x):
    # 2 t (1 - t²) / size, with the temporary on the left of the subtraction and
    # the number last, so that numpy reuses one buffer throughout.
    t = np.tanh(x)
    return t * (t * t - 1.0) * (-2.0 / x.size)


def hand_big2_value_and_grad(x):
    t = np.tanh(x)
    return np.sum(t * t) / x.size, t * (t * t - 1.0) * (-2.0 / x.size)


def hand_big3_grad(x):
    t = np.tanh(x)
    return (t * np.cos(x) + (1.0 - t * t) * np.sin(x)) * 0.5


def hand_big3_value_and_grad(x):
    t = np.tanh(x)
    s = np.sin(x)
    return np.sum(t * s) * 0.5, (t * np.cos(x) + (1.0 - t * t) * s) * 0.5


LOOPS = {"float": loop, "8 elements": loop_sum}
LOOP_CONTENDERS = ("forward", "hand, list", "hand, numpy array", "s2s.grad")
BIG = {
    "big": (big, hand_big_grad, hand_big_value_and_grad),
    "big2": (big2, hand_big2_grad, hand_big2_value_and_grad),
    "big3": (big3, hand_big3_grad, hand_big3_value_and_grad),
}
BIG_CONTENDERS = (
    "forward",
    "hand grad",
    "s2s.grad",
    "hand value and grad",
    "s2s.value_and_grad",
)


def loop_contender(name: str, x_kind: str) -> tuple[Callable, Callable]:
    """The function to measure and the hand-written gradient it must agree with."""
    f = LOOPS[x_kind]
    import s2s

    fun = {
        "forward": lambda: f,
        "s2s.grad": lambda: s2s.grad(f),
        "hand, list": lambda: hand_loop_list,
        "hand, numpy array": lambda: hand_loop_array,
    }[name]()
    return fun, f if name == "forward" else hand_loop_list


def big_contender(name: str, function: str) -> tuple[Callable, Callable]:
    """The function to measure and what its result must agree with."""
    f, hand, hand_both = BIG[function]
    import s2s

    return {
        "forward": (f, f),
        "s2s.grad": (s2s.grad(f), hand),
        "hand grad": (hand, hand),
        "s2s.value_and_grad": (s2s.value_and_grad(f), hand_both),
        "hand value and grad": (hand_both, hand_both),
    }[name]


def agrees(a: Any, b: Any) -> bool:
    if isinstance(a, tuple):
        return all(map(agrees, a, b))
    return bool(np.allclose(a, b, rtol=1e-9, atol=1e-12))


def fastest(fun: Callable, args: tuple, repeats: int) -> float:
    """Wall seconds of the fastest of `repeats` untraced calls."""
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        fun(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def measure(case: dict) -> dict:
    """One contender on one input, in this process: check, time, then trace."""
    rng = np.random.default_rng(0)
    if case["kind"] == "loop":
        fun, reference = loop_contender(case["contender"], case["x"])
        x = 0.5 if case["x"] == "float" else rng.random(8)
        small, args = (x, 10), (x, case["n"])
    else:
        fun, reference = big_contender(case["contender"], case["function"])
        small, args = (rng.random(1000),), (rng.random(case["size"]),)
    if not agrees(fun(*small), reference(*small)):
        raise SystemExit(f"{case}: the result differs from the hand-written one")
    seconds = fastest(fun, args, case["repeats"])
    return {"seconds": seconds, "peak": peak_bytes(fun, args)}


def run_child(case: dict, cache: str) -> dict:
    """`measure(case)` in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.stress", "--child", json.dumps(case)],
        env=child_env(S2S_CACHE_DIR=cache),
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise SystemExit(f"{case} failed:\n{out.stderr}")
    return json.loads(out.stdout)


def loop_rows(n: int, repeats: int, cache: str) -> list[list[str]]:
    rows = []
    for x_kind in LOOPS:
        for name in LOOP_CONTENDERS:
            case = dict(kind="loop", x=x_kind, contender=name, n=n, repeats=repeats)
            r = run_child(case, cache)
            rows.append(
                [
                    x_kind,
                    name,
                    f"{r['peak'] / MIB:.1f} MiB",
                    f"{r['peak'] / n:.1f}",
                    f"{r['seconds']:.2f} s",
                    f"{1e6 * r['seconds'] / n:.2f} µs",
                ]
            )
    return rows


def big_rows(size: int, repeats: int, cache: str) -> list[list[str]]:
    nbytes = 8 * size
    rows = []
    for function in BIG:
        peaks = {}
        for name in BIG_CONTENDERS:
            case = dict(
                kind="big",
                function=function,
                contender=name,
                size=size,
                repeats=repeats,
            )
            r = run_child(case, cache)
            peaks[name] = r["peak"]
            hand = {
                "s2s.grad": "hand grad",
                "s2s.value_and_grad": "hand value and grad",
            }
            extra = (
                f"{(r['peak'] - peaks[hand[name]]) / nbytes:+.2f}"
                if name in hand and hand[name] in peaks
                else ""
            )
            rows.append(
                [
                    f"`{function}`",
                    name,
                    f"{r['peak'] / MIB:.0f} MiB",
                    f"{r['peak'] / nbytes:.2f}",
                    extra,
                    f"{r['seconds']:.2f} s",
                ]
            )
    return rows


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def show_sources() -> None:
    """The code s2s runs for the large arrays (specialized for a 1-d array)."""
    import s2s

    x = np.random.default_rng(0).random(1000)
    for function, (f, _, _) in BIG.items():
        print(f"### `s2s.grad({function}).source_for(x)`\n\n```python")
        print(s2s.grad(f).source_for(x).strip() + "\n```\n")


def s2s_version() -> str:
    """s2s's version and the commit of the tree it runs from."""
    import s2s

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=os.path.dirname(os.path.abspath(__file__)),
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{s2s.__version__} at {commit}" if commit else s2s.__version__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="n = 1e5, 1e7 elements")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed calls (the fastest counts)"
    )
    parser.add_argument("--show-source", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(json.loads(args.child))))
        return
    n, size = (10**5, 10**7) if args.quick else (10**6, 10**8)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="s2s-stress-") as cache:
        loops = loop_rows(n, args.repeats, cache)
        bigs = big_rows(size, args.repeats, cache)
    command = " ".join(["python -m benchmarks.stress", *sys.argv[1:]])
    print(f"## Stress figures\n\nCommand: `{command}`\n")
    print(
        f"s2s {s2s_version()}, numpy {np.__version__}, Python "
        f"{sys.version.split()[0]}; 1-minute load "
        f"average {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end. "
        "Peaks by tracemalloc during one call, each in a fresh process; wall time: "
        f"the fastest of {args.repeats} untraced calls.\n"
    )
    print(f"### A loop of n = {n:,} iterations: tape bytes per iteration\n")
    header = ["x", "call", "peak", "bytes / iteration", "wall time", "per iteration"]
    print(table(header, loops) + "\n")
    print(
        f"### x of {size:,} float64 ({8 * size / MIB:.0f} MiB): "
        "array-sized temporaries\n"
    )
    header = ["f", "call", "peak", "× x.nbytes", "× x.nbytes − hand", "wall time"]
    print(table(header, bigs) + "\n")
    if args.show_source:
        show_sources()


if __name__ == "__main__":
    main()
