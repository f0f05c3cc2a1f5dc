"""What `@s2s.grad` costs at import time, for the MLP of examples/mlp.py.

Each measurement is a fresh Python process that imports s2s and the example, then
takes `s2s.grad(J, wrt=("W1", "W2"))` (what `@s2s.grad(wrt=("W1", "W2"))` does when
the module is imported):

- cold: an empty cache, so the gradient is generated (lower, reverse, optimize,
  emit) and stored;
- warm: the entry stored by a cold run is found, checked and compiled;
- committed: a `generated/mlp_J.py` written by `s2s generate` sits next to the example
  and its content key matches;
- `.source` 1st: the first read of the formatted module after a warm start (black
  runs once per module and machine), and 2nd: a later read (a cache hit too).

The example is copied into a temporary directory, so the repository's own committed
module is not found.  Run from the repository root:

    python benchmarks/import_time.py [--runs 9]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy
t1 = time.perf_counter()
import s2s
t2 = time.perf_counter()
from mlp import J
t3 = time.perf_counter()
g = s2s.grad(J, wrt=("W1", "W2"))
t4 = time.perf_counter()
source = g.source if sys.argv[1] == "source" else ""
t5 = time.perf_counter()
print(json.dumps({
    "numpy": t1 - t0, "s2s": t2 - t1, "grad": t4 - t3, "source": t5 - t4,
    "provenance": g.provenance, "black": "black" in sys.modules,
    "lower": "s2s.lower" in sys.modules,
}))
"""


def probe(directory: str, cache: str, read_source: bool = False) -> dict:
    env = dict(os.environ, S2S_CACHE_DIR=cache, PYTHONPATH=directory)
    env.pop("S2S_CACHE", None)
    out = subprocess.run(
        [sys.executable, "-c", PROBE, "source" if read_source else "-"],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def measure(runs: int) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {
        "cold": [],
        "warm": [],
        "committed": [],
        ".source 1st": [],
        ".source 2nd": [],
    }
    with tempfile.TemporaryDirectory(prefix="s2s-bench-") as work:
        directory = os.path.join(work, "project")
        os.makedirs(directory)
        shutil.copy(os.path.join(ROOT, "examples", "mlp.py"), directory)
        for i in range(runs):
            cache = os.path.join(work, f"cache{i}")
            results["cold"].append(probe(directory, cache))
            results["warm"].append(probe(directory, cache))
            results[".source 1st"].append(probe(directory, cache, read_source=True))
            results[".source 2nd"].append(probe(directory, cache, read_source=True))
        generated = os.path.join(directory, "generated")
        subprocess.run(
            [sys.executable, "-m", "s2s", "generate", "mlp.py:J", "--wrt", "W1,W2"],
            cwd=directory,
            check=True,
            capture_output=True,
        )
        assert os.path.exists(os.path.join(generated, "mlp_J.py"))
        for i in range(runs):
            results["committed"].append(probe(directory, os.path.join(work, "none")))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs
    results = measure(runs)
    print(f"s2s.grad(J) of examples/mlp.py, median (min) of {runs} fresh processes:")
    print(f"{'':12}{'import s2s':>16}{'grad(J)':>16}{'.source':>16}  from   black?")
    for name, rows in results.items():
        cells = []
        for field in ("s2s", "grad", "source"):
            values = [1e3 * r[field] for r in rows]
            cells.append(f"{statistics.median(values):8.1f} ({min(values):5.1f})")
        print(
            f"{name:12}{cells[0]:>16}{cells[1]:>16}{cells[2]:>16}"
            f"  {rows[0]['provenance']:<10} {'yes' if rows[0]['black'] else 'no'}"
        )
    numpy_ms = statistics.median(1e3 * r["numpy"] for r in results["warm"])
    print(f"(import numpy itself: {numpy_ms:.1f} ms; times in milliseconds)")


if __name__ == "__main__":
    main()
