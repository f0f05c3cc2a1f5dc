"""The contenders: for each framework, how to build the gradient of a workload.

A builder takes a workload and its numpy inputs and returns a `Prepared`: the call to
time, its arguments already in the framework's own containers (converting inputs is a
one-off cost, as in a real program), and a way to turn its result back into numpy for
the check against the hand-written gradient.  Frameworks are imported inside their
builders, so a missing peer only affects its own rows.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import types
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .workloads import Workload

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Prepared:
    """A gradient ready to time: `call(*args)` returns the framework's gradient."""

    call: Callable[..., Any]
    args: tuple
    to_numpy: Callable[[Any], tuple]
    # whether its allocations go through numpy (and so are seen by tracemalloc)
    numpy_memory: bool = True
    # anything the tables must say about how this was measured
    note: str | None = None


def _as_tuple(result: Any) -> tuple:
    return result if isinstance(result, tuple) else (result,)


def _numpy_tuple(result: Any) -> tuple:
    return tuple(np.asarray(g, dtype=np.float64) for g in _as_tuple(result))


def _rebound(fun: Callable, xp: Any) -> Callable:
    """`fun` with `np` bound to the array module `xp` and `math.f` to `xp.f`.

    That is what a user of autograd or JAX writes: the same code under
    `import autograd.numpy as np`, and `np.exp` where `math.exp` will not trace.
    """
    via_xp = types.SimpleNamespace(
        **{name: getattr(xp, name) for name in ("exp", "log", "sin", "cos", "tanh")}
    )
    scope = dict(fun.__globals__, np=xp, math=via_xp)
    return types.FunctionType(
        fun.__code__, scope, fun.__name__, fun.__defaults__, fun.__closure__
    )


def hand(w: Workload, inputs: tuple) -> Prepared:
    """The hand-written gradient: the yardstick, timed in every process anyway."""
    return Prepared(w.hand_grad, inputs, _numpy_tuple)


def s2s_generated(w: Workload, inputs: tuple) -> Prepared:
    """The module `s2s generate` writes, imported and called as a user would."""
    from s2s.cli import main as s2s_command

    target = os.path.join(ROOT, w.target)
    with tempfile.TemporaryDirectory(prefix="s2s-bench-generated-") as out:
        if s2s_command(["generate", target, "--wrt", ",".join(w.wrt), "-o", out]):
            raise RuntimeError(f"s2s generate {w.target} failed")
        (name,) = [f for f in os.listdir(out) if f.endswith(".py")]
        spec = importlib.util.spec_from_file_location(
            "generated_" + name[:-3], os.path.join(out, name)
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return Prepared(getattr(module, f"{w.fun.__name__}_grad"), inputs, _numpy_tuple)


def s2s_wrapper(w: Workload, inputs: tuple) -> Prepared:
    """`s2s.grad(f, wrt=...)`: generation in process, called through its wrapper."""
    import s2s

    g = s2s.grad(w.fun, wrt=w.wrt)
    provenance = getattr(g, "provenance", None)
    note = None
    if provenance == "committed":
        note = (
            "`s2s.grad` took its generic code from the committed module in generated/"
        )
    return Prepared(g, inputs, _numpy_tuple, note=note)


def s2s_numba(w: Workload, inputs: tuple) -> Prepared:
    """`s2s.grad(f, wrt=..., backend="numba")`: loops compiled by numba."""
    import s2s

    return Prepared(s2s.grad(w.fun, wrt=w.wrt, backend="numba"), inputs, _numpy_tuple)


def s2s_shapes(w: Workload, inputs: tuple) -> Prepared:
    """The module `s2s.grad` specializes for the inputs' shapes (`.source_for`),
    executed and called directly: specialization without the wrapper."""
    import s2s

    g = s2s.grad(w.fun, wrt=w.wrt)
    if not hasattr(g, "source_for"):
        raise NotImplementedError("this version of s2s does not specialize for shapes")
    namespace: dict[str, Any] = {}
    exec(compile(g.source_for(*inputs), f"<{w.key} for shapes>", "exec"), namespace)
    return Prepared(namespace[f"{w.fun.__name__}_grad"], inputs, _numpy_tuple)


def autograd(w: Workload, inputs: tuple) -> Prepared:
    """`autograd.grad` of the same source under `np = autograd.numpy`."""
    import autograd
    import autograd.numpy as anp

    g = autograd.grad(_rebound(w.fun, anp), argnum=w.wrt_positions)
    return Prepared(g, inputs, _numpy_tuple)


def jax_jit(w: Workload, inputs: tuple) -> Prepared:
    """`jax.jit(jax.grad(f))`, waiting for the result (JAX dispatches asynchronously)."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    compiled = jax.jit(jax.grad(_rebound(w.fun, jnp), argnums=w.wrt_positions))

    def call(*args):
        return jax.block_until_ready(compiled(*args))

    args = tuple(jnp.asarray(a, dtype=jnp.float64) for a in inputs)
    return Prepared(call, args, _numpy_tuple, numpy_memory=False)


def torch(w: Workload, inputs: tuple) -> Prepared:
    """The torch version of the workload, differentiated by `torch.autograd.grad`."""
    from .torch_workloads import TORCH_FUNCTIONS

    if w.key not in TORCH_FUNCTIONS:
        raise NotImplementedError(f"no torch version of {w.key}")
    torch = _torch_one_thread()
    f = TORCH_FUNCTIONS[w.key]
    positions = w.wrt_positions
    args = tuple(
        torch.tensor(a, dtype=torch.float64, requires_grad=i in positions)
        for i, a in enumerate(inputs)
    )

    def call(*args):
        return torch.autograd.grad(f(*args), [args[i] for i in positions])

    def to_numpy(result):
        return tuple(g.detach().numpy() for g in result)

    return Prepared(call, args, to_numpy, numpy_memory=False)


def _torch_one_thread():
    import torch

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only allowed before torch's first parallel work
        pass
    return torch


def s2s_array_api(w: Workload, inputs: tuple) -> Prepared:
    """`s2s.grad(f, backend="array_api")` of the same numpy source, called with
    the float64 torch CPU tensors the torch peer gets: s2s's gradient running on
    torch (the generated code calls `xp.tanh`, `xp.sum`, ... of torch's namespace)."""
    import s2s

    from .torch_workloads import TORCH_FUNCTIONS

    if w.key not in TORCH_FUNCTIONS:
        raise NotImplementedError(f"no torch version of {w.key}")
    torch = _torch_one_thread()
    g = s2s.grad(w.fun, wrt=w.wrt, backend="array_api")
    args = tuple(torch.tensor(a, dtype=torch.float64) for a in inputs)

    def to_numpy(result):
        result = result if isinstance(result, tuple) else (result,)
        return tuple(np.asarray(r.detach().numpy()) for r in result)

    return Prepared(g, args, to_numpy, numpy_memory=False)


def tangent(w: Workload, inputs: tuple) -> Prepared:
    """tangent-ad (the maintained fork of Google's Tangent) on the same source."""
    import tangent

    try:
        g = tangent.grad(w.fun, wrt=w.wrt_positions)
        note = None
    except Exception as e:  # tangent's own errors have no common base class
        # What a Tangent user does next: spell math.exp as np.exp.
        g = tangent.grad(_rebound(w.fun, np), wrt=w.wrt_positions)
        first_line = str(e).strip().splitlines()[0]
        note = (
            f"tangent-ad refused the source ({type(e).__name__}: {first_line}); "
            "timed with math.* bound to numpy"
        )
    return Prepared(g, inputs, _numpy_tuple, note=note)


# name -> builder, in the order of the tables
FRAMEWORKS: dict[str, Callable[[Workload, tuple], Prepared]] = {
    "hand": hand,
    "s2s": s2s_generated,
    "s2s.grad": s2s_wrapper,
    "s2s-shapes": s2s_shapes,
    "s2s-numba": s2s_numba,
    "autograd": autograd,
    "jax.jit": jax_jit,
    "torch": torch,
    "s2s-array_api": s2s_array_api,
    "tangent": tangent,
}

DESCRIPTIONS = {
    "hand": "the hand-written numpy gradient in `workloads.py` (the yardstick)",
    "s2s": "`FUNC_grad` from the module `s2s generate` writes (code for the shapes "
    "the parameters are annotated with; for any shape where they are not), imported "
    "and called directly (build: running `s2s generate`, black included, and "
    "importing it)",
    "s2s.grad": "the `s2s.grad` wrapper, which runs code specialized for the "
    "arguments' shapes where that helps, generated on the first call (build: "
    "`s2s.grad(f, wrt=...)` with an empty S2S_CACHE_DIR, which generates the generic "
    "module unless a committed one in generated/ matches; the specialization is in "
    "the first call)",
    "s2s-shapes": "the specialized module (`.source_for(*args)`) executed and its "
    "`FUNC_grad` called directly: specialization without the wrapper",
    "s2s-numba": '`s2s.grad(f, wrt=..., backend="numba")`: the same code, its '
    "functions with loops compiled by numba (build: generation and numba's "
    "compilation, in the first call, with an empty S2S_CACHE_DIR)",
    "autograd": "`autograd.grad` on the same source with np = autograd.numpy",
    "jax.jit": "`jax.jit(jax.grad(f))` on the same source with np = jax.numpy, "
    "float64, inputs already jax arrays, result waited for with "
    "`block_until_ready`; the first call traces and compiles",
    "torch": "`torch.autograd.grad` on the same computation written with torch "
    "functions (`torch_workloads.py`), float64 tensors made once",
    "s2s-array_api": '`s2s.grad(f, backend="array_api")` on the same numpy source, '
    "called with the torch peer's float64 CPU tensors: the generated code runs on "
    "torch through array-api-compat's namespace",
    "tangent": "`tangent.grad` (tangent-ad) on the same source, with an empty "
    "TANGENT_CACHE_DIR",
}
