"""Out of core: logistic regression with an L2 term, trained by gradient descent on a
Dask array larger than the memory of the workers that hold it.

The parameters are numpy arrays; the data, X (rows x columns) and labels y, is a
Dask array made chunk by chunk when a computation needs it (here drawn at random,
as data read from disk would be), so no worker ever holds it whole.  The gradient
s2s generates for `loss` runs unchanged on it: called with numpy w and Dask X, it
returns lazy Dask arrays, and computing them sweeps the chunks through the workers
once per epoch.  Each epoch's time and each worker's peak memory (its process's
resident memory, polled) are printed as a Markdown table.

Run it (a LocalCluster of 2 worker processes with 300 MB each, 1.5 GB of data):

    python examples/dask_out_of_core.py

On a real cluster the code is the same; only the Client differs:

    python examples/dask_out_of_core.py --scheduler tcp://scheduler-host:8786

`--help` lists the sizes (rows, columns, chunks, epochs, workers, memory limit).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import threading
import time

import dask.array as da
import numpy as np

import s2s


def loss(w, b, X, y, lam):
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, z) - y * z) + lam * np.sum(w**2)


def make_data(rows: int, columns: int, chunk_rows: int, seed: int = 0):
    """X and 0/1 labels y from a known linear rule with noise, as lazy Dask arrays:
    each chunk is drawn (from its own seed) when a computation reads it."""
    rng = da.random.default_rng(seed)
    X = rng.standard_normal((rows, columns), chunks=(chunk_rows, columns))
    truth = np.linspace(-1.0, 1.0, columns)
    noise = rng.standard_normal(rows, chunks=chunk_rows)
    y = (X @ truth + noise > 0).astype(np.float64)
    return X, y


def worker_memory() -> int:
    """The resident memory of the calling process, in bytes (run on each worker)."""
    import psutil

    return psutil.Process().memory_info().rss


class PeakMemory:
    """The largest resident memory of each worker process while the block runs,
    polled every `interval` seconds with `client.run`."""

    def __init__(self, client, interval: float = 0.05):
        self.client, self.interval = client, interval
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()

    def _poll(self) -> None:
        while True:
            for worker, rss in self.client.run(worker_memory).items():
                self.peaks[worker] = max(rss, self.peaks.get(worker, 0))
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakMemory:
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def train(client, X, y, epochs: int, rate: float = 0.5, lam: float = 1e-3):
    """Gradient descent from zero; one record per epoch: (loss before the step,
    seconds, peak memory of each worker in bytes).  Returns (w, b, records)."""
    value_and_grad = s2s.value_and_grad(loss, wrt=("w", "b"))
    w, b = np.zeros(X.shape[1]), 0.0
    records = []
    for _ in range(epochs):
        start = time.perf_counter()
        with PeakMemory(client) as memory:
            value, (dw, db) = value_and_grad(w, b, X, y, lam)  # lazy: a task graph
            value, dw, db = client.compute([value, dw, db], sync=True)
        records.append((float(value), time.perf_counter() - start, memory.peaks))
        w, b = w - rate * dw, b - rate * float(db)
    return w, b, records


def table(records, X, limit: str | None) -> str:
    """The records as a Markdown table."""
    gb = X.nbytes / 1e9
    lines = [
        f"Data: X {X.shape[0]:,} x {X.shape[1]} float64 ({gb:.2f} GB) in "
        f"{X.numblocks[0]} chunks; workers: {len(records[0][2])}"
        + (f", memory limit {limit} each" if limit else ""),
        "",
        "| epoch | loss | time (s) | peak memory per worker (MB) |",
        "|---:|---:|---:|---|",
    ]
    for k, (value, seconds, peaks) in enumerate(records, 1):
        mb = ", ".join(f"{peaks[w] / 1e6:.0f}" for w in sorted(peaks))
        lines.append(f"| {k} | {value:.4f} | {seconds:.1f} | {mb} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=3_750_000)
    parser.add_argument("--columns", type=int, default=50)
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="300MB")
    parser.add_argument(
        "--scheduler", help="the address of a running cluster's scheduler"
    )
    args = parser.parse_args(argv)
    from dask.distributed import Client, LocalCluster

    if args.scheduler:  # a real cluster: the same code, a Client to its scheduler
        cluster, limit = contextlib.nullcontext(args.scheduler), None
    else:
        cluster = LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=args.memory_limit,
            dashboard_address=":0",
        )
        limit = args.memory_limit
    X, y = make_data(args.rows, args.columns, args.chunk_rows)
    print("load average at start: %.2f %.2f %.2f" % os.getloadavg())
    with cluster as address, Client(address) as client:
        rest = client.run(worker_memory)
        w, b, records = train(client, X, y, args.epochs)
    print(table(records, X, limit))
    mb = ", ".join(f"{rest[worker] / 1e6:.0f}" for worker in sorted(rest))
    print(f"Memory per worker at rest, before the first epoch (MB): {mb}")
    print("load average at end: %.2f %.2f %.2f" % os.getloadavg())
    print(f"|w| = {np.linalg.norm(w):.4f}, b = {b:.4f}")


if __name__ == "__main__":
    main()
