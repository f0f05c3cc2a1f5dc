"""The adjoint helpers of numpy's array functions: tile, repeat, pad, and a vector
laid along an axis."""

import numpy as np


def _tile_adjoint(g, like, reps):
    """Adjoint of np.tile(like, reps): the copies of like in g, summed."""
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    shape = np.shape(like)
    rank = max(len(shape), len(reps))
    sizes = (1,) * (rank - len(shape)) + tuple(shape)
    counts = (1,) * (rank - len(reps)) + reps
    split = [n for pair in zip(counts, sizes) for n in pair]
    copies = np.sum(np.reshape(g, split), axis=tuple(range(0, 2 * rank, 2)))
    return np.reshape(copies, shape)


def _repeat_adjoint(g, like, repeats, axis=None):
    """Adjoint of np.repeat(like, repeats, axis) with an integer `repeats`: the
    repeats of each element in g, summed."""
    shape = np.shape(like)
    if axis is None:
        return np.reshape(np.sum(np.reshape(g, (-1, repeats)), axis=1), shape)
    axis = axis % len(shape)
    split = shape[:axis] + (shape[axis], repeats) + shape[axis + 1 :]
    return np.sum(np.reshape(g, split), axis=axis + 1)


def _unpad(g, pad_width):
    """Adjoint of np.pad(a, pad_width) (mode "constant"): the part of g that is a's."""
    pairs = np.broadcast_to(np.asarray(pad_width, dtype=int), (np.ndim(g), 2))
    index = tuple(
        slice(int(before), n - int(after))
        for (before, after), n in zip(pairs.tolist(), np.shape(g))
    )
    return g[index]


def _along_axis(v, like, axis=-1):
    """A vector v of like.shape[axis] values laid along that axis of like, to
    broadcast against it (as np.average does with its weights and np.trapezoid with
    x); any other v as it is."""
    if np.ndim(v) != 1 or np.ndim(like) == 1:
        return v
    shape = [1] * np.ndim(like)
    shape[axis] = -1
    return np.reshape(v, shape)
