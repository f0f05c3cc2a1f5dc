"""The one-off cost of `@s2s.grad`: generation in a fresh process, cold and warm.

    python -m benchmarks.onetime WORKLOAD      (prints one JSON object)

In a new process this times `import s2s` and then `s2s.grad(f, wrt=...)`, which is
what a decorated function costs when its module is imported.  `run.py` calls it with
`S2S_CACHE_DIR` pointing at a fresh directory (cold), and again with the same
directory (warm: a cached module, once s2s keeps one on disk; before that, warm and
cold do the same work) and reports how many files the cache directory holds.
"""

from __future__ import annotations

import os

from .environment import SINGLE_THREAD

for _name, _value in SINGLE_THREAD.items():
    os.environ.setdefault(_name, _value)

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    (key,) = argv if argv is not None else sys.argv[1:]
    import numpy  # noqa: F401  (the user's module imports it anyway: not s2s's cost)

    start = time.perf_counter()
    import s2s

    imported = time.perf_counter()
    from .workloads import WORKLOADS

    w = WORKLOADS[key]
    generating = time.perf_counter()
    s2s.grad(w.fun, wrt=w.wrt)
    done = time.perf_counter()
    print(json.dumps({"import_s": imported - start, "grad_s": done - generating}))


if __name__ == "__main__":
    main()
