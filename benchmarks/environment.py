"""The measuring conditions: one thread for every library, one pinned CPU per process,
and a description of the machine and the library versions for the results.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata

# Read by numpy's BLAS, PyTorch and XLA when they start: set before they are imported.
SINGLE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "BLIS_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "JAX_PLATFORMS": "cpu",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}

PEERS = ("numpy", "autograd", "jax", "jaxlib", "torch", "tangent-ad", "black", "astor")


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a measuring subprocess.  Python's bytecode cache is on,
    as an installed package has it (pip compiles a package when it installs it):
    under PYTHONDONTWRITEBYTECODE every process would compile s2s's own modules
    again, about 0.1 s of each cold start."""
    env = dict(os.environ, **SINGLE_THREAD, **extra)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (repository_root(), env.get("PYTHONPATH")) if p
    )
    return env


def repository_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def default_cpu() -> int:
    """The last CPU this process may run on (the first tends to take interrupts)."""
    return max(os.sched_getaffinity(0))


def pin(cpu: int) -> None:
    os.sched_setaffinity(0, {cpu})


def blas_threads() -> list[dict]:
    """What threadpoolctl sees: each native thread pool and its size."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [
        {k: info.get(k) for k in ("internal_api", "num_threads", "version")}
        for info in threadpool_info()
    ]


def _cpu_model() -> str:
    """The CPU's name, family and model (a virtual machine's name can be generic)."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        return platform.processor() or "unknown"
    name = fields.get("model name", "unknown")
    virtual = " (virtual machine)" if "hypervisor" in fields.get("flags", "") else ""
    return f"{name}, family {fields.get('cpu family')} model {fields.get('model')}{virtual}"


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict:
    """CPU, cores, OS, Python and the versions of the libraries measured."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "versions": {d: _version(d) for d in PEERS},
        "load_average": os.getloadavg()[0],
    }
