"""The one-off cost of `@s2s.grad`, measured in a fresh process.

    python -m benchmarks.onetime WORKLOAD [--copy-to DIR]     (prints one JSON object)

The process times `import s2s`, then `s2s.grad(f, wrt=...)`: what a decorated
function costs when its module is imported (CPU time, and the wall clock beside it),
and how much longer its first call takes than its second (the one-off work a call
can do: specializing for the arguments' shapes).  With `--copy-to`, the workload's source
file is first copied into DIR (outside the project) and `f` taken from the copy, so
that no committed `generated/` module can stand in for generation; `run.py` does that
with `S2S_CACHE_DIR` pointing at a fresh directory (cold: the gradient is generated),
then again in another process with the same directory (warm: the cached module).
`--after-another` first differentiates a one-line function, so that the time is that
of generating this gradient alone, without importing the pipeline's modules.
Without `--copy-to`, `f` comes from the repository, where s2s may find a committed
module under `generated/`.  The result says where the code came from
(`GradFunction.provenance`, when s2s has it).
"""

from __future__ import annotations

import os

from .environment import SINGLE_THREAD

for _name, _value in SINGLE_THREAD.items():
    os.environ.setdefault(_name, _value)

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Callable  # noqa: E402


def _copied(fun: Callable, directory: str) -> Callable:
    """`fun` as defined by a copy of its source file in `directory`."""
    source = importlib.util.find_spec(fun.__module__).origin
    os.makedirs(directory, exist_ok=True)
    copy = os.path.join(directory, os.path.basename(source))
    if not os.path.exists(copy):
        shutil.copyfile(source, copy)
    name = "copied_" + os.path.splitext(os.path.basename(source))[0]
    spec = importlib.util.spec_from_file_location(name, copy)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return getattr(module, fun.__name__)


def _clocks() -> tuple[float, float]:
    """CPU time of this process (what the tables report, as for the gradients: other
    work on the machine does not inflate it) and the wall clock."""
    return time.process_time(), time.perf_counter()


def _square(x):
    """Differentiated before the workload with --after-another."""
    return x * x


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload")
    parser.add_argument("--copy-to", help="take the function from a copy of its file")
    parser.add_argument(
        "--after-another",
        action="store_true",
        help="first generate an unrelated gradient (imports the pipeline)",
    )
    args = parser.parse_args(argv)
    import numpy  # noqa: F401  (the user's module imports it anyway: not s2s's cost)

    start = _clocks()
    import s2s

    imported = _clocks()
    from .workloads import WORKLOADS

    w = WORKLOADS[args.workload]
    fun = _copied(w.fun, args.copy_to) if args.copy_to else w.fun
    if args.after_another:
        s2s.grad(_square)
    generating = _clocks()
    g = s2s.grad(fun, wrt=w.wrt)
    done = _clocks()
    inputs = w.inputs()
    for name in w.data:  # a copied module has its own globals: give it the data too
        fun.__globals__[name] = w.fun.__globals__[name]
    calling = _clocks()
    g(*inputs)  # a shape-specializing s2s generates the specialized code here
    first = _clocks()
    g(*inputs)
    second = _clocks()
    result = {
        "import_s": imported[0] - start[0],
        "grad_s": done[0] - generating[0],
        "first_call_extra_s": (first[0] - calling[0]) - (second[0] - first[0]),
        "import_wall_s": imported[1] - start[1],
        "grad_wall_s": done[1] - generating[1],
        "provenance": getattr(g, "provenance", None),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
