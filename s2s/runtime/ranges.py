"""Ranges as the numba backend writes them: numba compiles `range` objects, their
`start`, `step` and `len`, but neither `reversed` nor a slice of one."""


def _reversed_range(steps):
    """`reversed(steps)` for a range, as a range."""
    return range(
        steps.start + (len(steps) - 1) * steps.step,
        steps.start - steps.step,
        -steps.step,
    )


def _range_head(steps, count):
    """`steps[:count]` for a range and a count of at least 0."""
    count = min(count, len(steps))
    return range(steps.start, steps.start + count * steps.step, steps.step)
