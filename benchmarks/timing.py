"""Paired timing blocks: a gradient is always timed next to the forward and the
hand-written gradient, so that their ratios cancel the machine's drift.

A block calls one function a calibrated number of times with the garbage collector
off and reports the time per call on two clocks: the CPU time of this process (which
leaves out the time the OS gives other processes on the same CPU: on a shared machine
that is most of the noise) and the wall clock.  A round times the forward, the
hand-written gradient and the contender, in alternating order (the hand-written block
always in the middle, next to both); each round gives one ratio sample, and the
results are the medians and interquartile ranges of those samples.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

Call = tuple[Callable[..., Any], tuple]
CLOCKS = ("cpu", "wall")


def block(fun: Callable[..., Any], args: tuple, calls: int) -> tuple[float, float]:
    """(CPU, wall) seconds per call of `fun(*args)` over `calls` calls, no collector."""
    gc.disable()
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(calls):
            fun(*args)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        gc.enable()
    return cpu / calls, wall / calls


def calibrate(fun: Callable[..., Any], args: tuple, target: float) -> int:
    """How many calls make a block of about `target` seconds of CPU time (at least one).

    The fastest of three trial blocks counts, so that a slow warm-up call or a
    neighbour's burst does not shrink every later block.
    """
    calls = 1
    while True:
        per_call = min(block(fun, args, calls)[0] for _ in range(3))
        if per_call * calls >= target / 10 or calls >= 1 << 24:
            return max(1, round(target / per_call))
        calls *= 4


@dataclass
class Spread:
    """Median and interquartile range of a sample."""

    median: float
    q25: float
    q75: float

    @classmethod
    def of(cls, samples: list[float]) -> "Spread":
        q25, median, q75 = np.percentile(samples, [25, 50, 75])
        return cls(float(median), float(q25), float(q75))


@dataclass
class Paired:
    """Per-call times of each timed function, round by round, on each clock."""

    names: list[str]
    calls: dict[str, int]
    times: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def per_call(self, name: str, clock: str = "cpu") -> Spread:
        return Spread.of(self.times[clock][name])

    def ratio(self, name: str, to: str, clock: str = "cpu") -> Spread:
        times = self.times[clock]
        return Spread.of([a / b for a, b in zip(times[name], times[to])])

    @property
    def rounds(self) -> int:
        return len(self.times["wall"][self.names[0]])


def paired_rounds(
    functions: dict[str, Call],
    target_block: float,
    seconds: float,
    min_rounds: int,
    max_rounds: int,
) -> Paired:
    """Time `functions` (name -> (fun, args)) in rounds until `seconds` have passed.

    Order alternates each round (a b c, then c b a), so each function's neighbours
    are the same on average and the middle one is next to both others every time.
    """
    names = list(functions)
    calls = {n: calibrate(*functions[n], target_block) for n in names}
    result = Paired(names, calls, {c: {n: [] for n in names} for c in CLOCKS})
    start = time.perf_counter()
    while result.rounds < max_rounds and (
        result.rounds < min_rounds or time.perf_counter() - start < seconds
    ):
        order = names if result.rounds % 2 == 0 else names[::-1]
        gc.collect()  # what the blocks left, collected outside them
        for n in order:
            fun, args = functions[n]
            for clock, t in zip(CLOCKS, block(fun, args, calls[n])):
                result.times[clock][n].append(t)
    return result
