"""One measurement: one framework on one workload, in a process of its own.

    python -m benchmarks.worker FRAMEWORK WORKLOAD --out result.json [--cpu N] ...

The process pins itself to one CPU and keeps every library on one thread, checks the
hand-written gradient against central differences, builds the framework's gradient
(timing that and its first call), checks it against the hand-written one, and only
then times it in rounds paired with the forward and the hand-written gradient.  Last,
with tracemalloc, the peak memory of one call of each.  The result is one JSON object.
"""

from __future__ import annotations

import os

from .environment import SINGLE_THREAD

# Before numpy (and any BLAS) is imported, in case this runs outside `run.py`.
for _name, _value in SINGLE_THREAD.items():
    os.environ.setdefault(_name, _value)

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from typing import Any, Callable  # noqa: E402

from . import environment  # noqa: E402
from .check import CheckFailed, agreement, directional_check  # noqa: E402
from .frameworks import FRAMEWORKS  # noqa: E402
from .timing import CLOCKS, paired_rounds  # noqa: E402
from .workloads import SIZES, WORKLOADS  # noqa: E402


@dataclasses.dataclass
class Settings:
    """How long and how finely to time."""

    seconds: float = 3.0  # timed rounds per process, at least
    block: float = 0.02  # seconds per timing block
    min_rounds: int = 15
    max_rounds: int = 2000
    size: str = "full"


def peak_bytes(fun: Callable[..., Any], args: tuple) -> int:
    """Peak memory allocated during one call of `fun(*args)`, above what was live."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = fun(*args)
        peak = tracemalloc.get_traced_memory()[1] - base
        del result
    finally:
        tracemalloc.stop()
    return peak


def _spread(s) -> dict:
    return dataclasses.asdict(s)


def measure(framework: str, workload: str, settings: Settings) -> dict:
    """Check, then time, one framework on one workload; the result as plain data."""
    w = WORKLOADS[workload]
    inputs = w.inputs(settings.size)
    out: dict[str, Any] = {"framework": framework, "workload": workload}
    reference = w.hand_grad(*inputs)
    directional_check(w.fun, inputs, w.wrt_positions, reference)

    start = time.perf_counter()
    try:
        prepared = FRAMEWORKS[framework](w, inputs)
    except ImportError as e:
        return dict(out, status="not installed", error=str(e))
    except NotImplementedError as e:
        return dict(out, status="not available", error=str(e))
    except Exception as e:  # any peer's failure is a result to report, not a crash
        return dict(out, status="failed", error=f"{type(e).__name__}: {e}")
    out["build_s"] = time.perf_counter() - start
    start = time.perf_counter()
    try:
        first = prepared.call(*prepared.args)
    except Exception as e:
        return dict(out, status="failed", error=f"{type(e).__name__}: {e}")
    out["first_call_s"] = time.perf_counter() - start
    out["note"] = prepared.note
    try:
        out["disagreement"] = agreement(prepared.to_numpy(first), reference)
    except CheckFailed as e:
        return dict(out, status="wrong gradient", error=str(e))

    functions = {"forward": (w.fun, inputs), "hand": (w.hand, inputs)}
    if framework != "hand":
        functions[framework] = (prepared.call, prepared.args)
    timed = paired_rounds(
        functions,
        settings.block,
        settings.seconds,
        settings.min_rounds,
        settings.max_rounds,
    )
    out["status"] = "ok"
    out["rounds"] = timed.rounds
    out["calls_per_block"] = timed.calls
    for clock in CLOCKS:  # CPU time is the headline; wall clock alongside
        tag = "" if clock == "cpu" else "_wall"
        out["per_call_s" + tag] = {
            n: _spread(timed.per_call(n, clock)) for n in functions
        }
        out["to_hand" + tag] = _spread(timed.ratio(framework, "hand", clock))
        out["to_forward" + tag] = _spread(timed.ratio(framework, "forward", clock))
        out["hand_to_forward" + tag] = _spread(timed.ratio("hand", "forward", clock))
    out["samples_s"] = {
        clock: {n: [float(f"{t:.4g}") for t in ts] for n, ts in times.items()}
        for clock, times in timed.times.items()
    }
    if prepared.numpy_memory:
        out["peak_bytes"] = {
            "forward": peak_bytes(w.fun, inputs),
            "hand": peak_bytes(w.hand, inputs),
            framework: peak_bytes(prepared.call, prepared.args),
        }
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("framework", choices=list(FRAMEWORKS))
    parser.add_argument("workload", choices=list(WORKLOADS))
    parser.add_argument("--out", required=True, help="where to write the JSON result")
    parser.add_argument("--cpu", type=int, default=environment.default_cpu())
    parser.add_argument("--seconds", type=float, default=Settings.seconds)
    parser.add_argument("--block", type=float, default=Settings.block)
    parser.add_argument("--min-rounds", type=int, default=Settings.min_rounds)
    parser.add_argument("--size", choices=SIZES, default=Settings.size)
    args = parser.parse_args(argv)
    environment.pin(args.cpu)
    settings = Settings(args.seconds, args.block, args.min_rounds, size=args.size)
    result = measure(args.framework, args.workload, settings)
    result["cpu"] = args.cpu
    result["threads"] = environment.blas_threads()
    if args.framework == "torch" and result.get("status") == "ok":
        import torch

        result["torch_threads"] = torch.get_num_threads()
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
