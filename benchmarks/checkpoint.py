"""Peak memory and time of a long loop's gradient against its trip count, with and
without checkpointing (`s2s.grad(f, checkpoint=k)`), beside JAX on the same RNN.

    python -m benchmarks.checkpoint [--quick] [--steps 1000,4000,10000,100000] [--k 20]

The workload is the tanh RNN of `examples/rnn.py` (batch 8, input 16, hidden 32,
float64), differentiated with respect to Wx, Wh and b, for T steps.  For s2s:
the plain gradient, checkpoint=k and checkpoint="auto".  Peak memory is what
tracemalloc sees numpy allocate during one call (the inputs, made before, are not
counted); time is the best of a few calls without tracemalloc.  For JAX (when it is
installed): `jax.jit(jax.grad)` of the RNN written with `jax.lax.scan`, plain and
with `jax.checkpoint` on segments of T/k steps (a scan of k segments, each a scan
rematerialized in the reverse pass: k saved carries and one segment's residuals);
XLA allocates outside Python, so its memory is the compiled program's temporary
buffers (`memory_analysis().temp_size_in_bytes`), not a traced peak.  Prints a
markdown table and the load average at start and end.
"""

from __future__ import annotations

import argparse
import functools
import os
import time
import tracemalloc

import numpy as np

import s2s
from examples import rnn

BATCH, INPUTS, HIDDEN = 8, 16, 32


def inputs(T: int) -> tuple:
    rng = np.random.default_rng(0)
    return (
        rng.normal(size=(INPUTS, HIDDEN)) * 0.3,
        rng.normal(size=(HIDDEN, HIDDEN)) * 0.2,
        rng.normal(size=HIDDEN) * 0.1,
        rng.normal(size=(T, BATCH, INPUTS)),
        rng.normal(size=(BATCH, HIDDEN)) * 0.1,
    )


def best_times(calls: list, repeats: int) -> list[float]:
    """The best time of each call over `repeats` rounds, the calls taking turns in
    each round (so that a change of load on the machine hits them alike)."""
    for call in calls:
        call()  # warm up (and generate)
    best = [float("inf")] * len(calls)
    for _ in range(repeats):
        for i, call in enumerate(calls):
            start = time.perf_counter()
            call()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def traced_peak(call) -> int:
    call()
    tracemalloc.start()
    call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def s2s_rows(T: int, k: int, repeats: int) -> list[tuple[str, float, int, float]]:
    args = inputs(T)
    labels, calls, errors = [], [], []
    want = None
    for label, option in (("s2s", None), (f"s2s k={k}", k), ("s2s auto", "auto")):
        g = s2s.grad(rnn.loss, wrt=("Wx", "Wh", "b"), checkpoint=option)
        got = g(*args)
        want = got if want is None else want
        errors.append(
            max(
                float(np.max(np.abs(a - b)) / max(1e-300, np.max(np.abs(b))))
                for a, b in zip(got, want)
            )
        )
        labels.append(label)
        calls.append(functools.partial(g, *args))
    seconds = best_times(calls, repeats)
    peaks = [traced_peak(call) for call in calls]
    return list(zip(labels, seconds, peaks, errors))


def jax_rows(T: int, k: int, repeats: int) -> list[tuple[str, float, int, float]]:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return []
    jax.config.update("jax_enable_x64", True)

    def step(h, xt, Wx, Wh, b):
        return jnp.tanh(xt @ Wx + h @ Wh + b)

    def plain(Wx, Wh, b, x, h0):
        h, _ = jax.lax.scan(lambda h, xt: (step(h, xt, Wx, Wh, b), None), h0, x)
        return jnp.sum(h**2)

    def segmented(Wx, Wh, b, x, h0):
        @jax.checkpoint
        def segment(h, xs):
            h, _ = jax.lax.scan(lambda h, xt: (step(h, xt, Wx, Wh, b), None), h, xs)
            return h, None

        h, _ = jax.lax.scan(segment, h0, x.reshape(k, T // k, *x.shape[1:]))
        return jnp.sum(h**2)

    args = inputs(T)
    rows = []
    for label, f in (("jax.jit", plain), (f"jax.checkpoint {k} segments", segmented)):
        if label != "jax.jit" and T % k:
            continue
        g = jax.jit(jax.grad(f, argnums=(0, 1, 2)))
        compiled = g.lower(*args).compile()
        temp = compiled.memory_analysis().temp_size_in_bytes

        def call():
            jax.block_until_ready(g(*args))

        rows.append((label, best_times([call], repeats)[0], temp, float("nan")))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="1000,4000,10000,100000")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="T = 1000, 4000 only")
    args = parser.parse_args(argv)
    steps = [int(s) for s in args.steps.split(",")]
    if args.quick:
        steps = [s for s in steps if s <= 4000]
    print(f"load average at start: {os.getloadavg()}")
    print(
        "\n| T | gradient | time (s) | × plain | peak memory (MB) | × plain "
        "| max rel. difference |"
    )
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for T in steps:
        repeats = 5 if T <= 10_000 else 2
        rows = s2s_rows(T, args.k, repeats)
        base_time, base_peak = rows[0][1], rows[0][2]
        for label, seconds, peak, error in rows:
            print(
                f"| {T:,} | {label} | {seconds:.3f} | {seconds / base_time:.2f} "
                f"| {peak / 1e6:.2f} | {peak / base_peak:.3f} | {error:.1e} |"
            )
        jrows = jax_rows(T, args.k, repeats)
        for label, seconds, temp, _ in jrows:
            print(
                f"| {T:,} | {label} | {seconds:.3f} | {seconds / base_time:.2f} "
                f"| {temp / 1e6:.2f} (XLA temp) | {temp / base_peak:.3f} | |"
            )
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
