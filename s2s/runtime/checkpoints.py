"""The schedule of a checkpointed loop (`s2s.grad(f, checkpoint=k)`): which loop
states the forward sweep keeps, and in which order the reverse sweep restores
them, recomputes iterations from them and reverses each iteration.

The schedule is binomial checkpointing (Griewank's revolve).  With the state at
the start of iteration `s` saved and `free` more snapshots to spare, iterations
s..e-1 are reversed by advancing from `s` to a cut `m`, saving the state there,
reversing m..e-1 with one snapshot fewer, forgetting `m`, then reversing s..m-1
with the same snapshots again.  Where the cut falls decides the cost: with `free`
snapshots and each iteration recomputed at most `r` times, at most
C(free + 1 + r, r) iterations can be reversed (Pascal's rule splits that number
into the two parts), which is the fewest recomputations any schedule with as many
snapshots needs.  A loop whose length is not known until it ends (a while loop, a
break) keeps every stride-th state on the way, the stride doubling whenever the
snapshots run out; the reverse sweep then reverses the stretches between them
last first, binomially again with the snapshots that are left.
"""

import math


def _binomial_reach(free, sweeps):
    """How many iterations `free` spare snapshots reverse, each recomputed at most
    `sweeps` times: C(free + 1 + sweeps, sweeps)."""
    return math.comb(free + 1 + sweeps, sweeps)


def _binomial_cut(steps, free):
    """How many iterations after the start of a stretch of `steps` iterations revolve
    saves the next state, with `free` snapshots to spare (steps >= 2, free >= 1).
    With `sweeps` the fewest recomputations that reach `steps`, the first part is
    reversed in one sweep fewer and the rest with one snapshot fewer: the cut is
    the shortest first part both allow, which costs the fewest recomputations."""
    sweeps = 1
    while _binomial_reach(free, sweeps) < steps:
        sweeps += 1
    shortest = steps - _binomial_reach(free - 1, sweeps)
    if sweeps >= 2:
        shortest = max(shortest, _binomial_reach(free, sweeps - 2))
    return max(1, shortest)


def _snapshot_count(steps, k):
    """The snapshots a loop of `steps` iterations keeps: k, or for k None ("auto")
    the fewest with which each iteration is recomputed at most twice."""
    if k is not None:
        return k
    count = max(1, math.isqrt(2 * steps))
    while count > 1 and _binomial_reach(count - 2, 2) >= steps:
        count -= 1
    while _binomial_reach(count - 1, 2) < steps:
        count += 1
    return count


def _first_sweep(steps, k):
    """The iterations at whose start revolve's first sweep over a loop of `steps`
    iterations saves the state (the last iteration is taped, not recomputed)."""
    start, free = 0, _snapshot_count(steps, k) - 1
    kept = [start]
    while free > 0 and steps - 1 - start >= 2:
        start += _binomial_cut(steps - 1 - start, free)
        free -= 1
        kept.append(start)
    return frozenset(kept)


def _checkpoint(saved, position, state, k, steps, _sweeps={}):
    """Keep `state`, the loop's state at the start of iteration `position`, in
    `saved` (position -> state) if the schedule wants it, so that `saved` never
    holds more than k states (k None: "auto").  `steps` is the loop's length, or
    None when it is not known on entry: then every stride-th state is kept, the
    stride doubling (every other state forgotten) when k are kept."""
    if steps is not None:
        if (steps, k) not in _sweeps:
            _sweeps[steps, k] = _first_sweep(steps, k)
        if position in _sweeps[steps, k]:
            saved[position] = state
        return
    kept = iter(saved)
    first, second = next(kept, None), next(kept, None)
    stride = 1 if second is None else second - first
    limit = _snapshot_count(position + 1, k)
    if first is not None and (position % stride or limit == 1):
        return
    while len(saved) >= limit:
        stride *= 2
        for p in [p for p in saved if p % stride]:
            del saved[p]
        if position % stride:
            return
    saved[position] = state


def _revolve(saved, steps, k):
    """The reverse sweep of a checkpointed loop of `steps` iterations, whose forward
    sweep kept the states `saved` (see _checkpoint) and the tapes of its last
    iteration: yields (action, begin, end), in order.  "restore" the state saved
    at `begin`; "save" the current state as the state at `begin`; "forget" the
    state saved at `begin`; "advance" the current state through iterations
    begin..end-1 (their tapes dropped); "tape" them (their tapes kept); "reverse"
    iterations end-1 down to begin from their tapes."""
    if steps == 0:
        return
    yield "reverse", steps - 1, steps
    starts = sorted(saved)
    ends = starts[1:] + [steps - 1]
    count = _snapshot_count(steps, k)
    for j in reversed(range(len(starts))):
        yield from _reverse_stretch(starts[j], ends[j], count - 1 - j)
        yield "forget", starts[j], starts[j]


def _reverse_stretch(start, end, free):
    """Reverse iterations end-1 down to start, the state at `start` saved, with
    `free` more snapshots to spare (see _revolve): the stretches still to reverse
    wait on a stack, the part after a cut on top of the part before it."""
    pending = [(start, end, free)]
    while pending:
        start, end, free = pending.pop()
        if free is None:  # the part after the cut `start` is reversed
            yield "forget", start, start
        elif free == 0 or end - start == 1:  # recompute each from `start`
            for last in reversed(range(start, end)):
                yield "restore", start, start
                if last > start:
                    yield "advance", start, last
                yield "tape", last, last + 1
                yield "reverse", last, last + 1
        elif end > start:
            cut = start + _binomial_cut(end - start, free)
            yield "restore", start, start
            yield "advance", start, cut
            yield "save", cut, cut
            pending.append((start, cut, free))
            pending.append((cut, cut, None))
            pending.append((cut, end, free - 1))
