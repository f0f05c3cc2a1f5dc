"""The benchmark driver: every framework on every workload, each in its own pinned,
single-threaded process; then the one-off cost of `@s2s.grad`; then the tables.

    python -m benchmarks [--quick] [--frameworks s2s,jax.jit] [--workloads W3,W4]
                         [--update-readme]

Results go to `benchmarks/results/latest.json` (everything measured) and
`benchmarks/results/latest.md` (the tables); `--update-readme` also puts the tables
into `benchmarks/README.md` between its result markers.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

from . import environment
from .frameworks import FRAMEWORKS
from .report import render, replace_block
from .workloads import SIZES, WORKLOADS

HERE = os.path.dirname(os.path.abspath(__file__))
README = os.path.join(HERE, "README.md")
MARKERS = ("<!-- results:start -->", "<!-- results:end -->")


def _run_pinned(command: list[str], env: dict, cpu: int, **options):
    """Run a measuring process from the repository root, pinned to `cpu` before
    Python starts, its output captured."""
    return subprocess.run(
        command,
        cwd=environment.repository_root(),
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=lambda: environment.pin(cpu),
        **options,
    )


def _tail(text: str, lines: int = 6) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def run_worker(framework: str, workload: str, options: argparse.Namespace) -> dict:
    """One framework on one workload in a fresh process; its JSON result."""
    with tempfile.TemporaryDirectory(prefix="s2s-bench-") as tmp:
        out = os.path.join(tmp, "result.json")
        env = environment.child_env(
            S2S_CACHE_DIR=os.path.join(tmp, "s2s-cache"),
            TANGENT_CACHE_DIR=os.path.join(tmp, "tangent-cache"),
        )
        command = [sys.executable, "-m", "benchmarks.worker", framework, workload]
        command += ["--out", out, "--cpu", str(options.cpu), "--size", options.size]
        command += ["--seconds", str(options.seconds), "--block", str(options.block)]
        command += ["--min-rounds", str(options.min_rounds)]
        try:
            proc = _run_pinned(command, env, options.cpu, timeout=options.timeout)
        except subprocess.TimeoutExpired:
            return {
                "framework": framework,
                "workload": workload,
                "status": "timed out",
                "error": f"no result within {options.timeout} s",
            }
        if proc.returncode != 0 or not os.path.exists(out):
            return {
                "framework": framework,
                "workload": workload,
                "status": "crashed",
                "error": _tail(proc.stderr) or f"exit code {proc.returncode}",
            }
        with open(out, encoding="utf-8") as f:
            return json.load(f)


def _onetime_once(
    workload: str, cache: str, cpu: int, copy_to: str | None, *flags: str
) -> dict:
    env = environment.child_env(S2S_CACHE_DIR=cache)
    env.pop("S2S_CACHE", None)  # a user's S2S_CACHE=0 would make warm a cold run
    command = [sys.executable, "-m", "benchmarks.onetime", workload, *flags]
    command += ["--copy-to", copy_to] if copy_to else []
    proc = _run_pinned(command, env, cpu, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _files_under(folder: str) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def onetime(workload: str, repeats: int, cpu: int) -> dict:
    """Median `s2s.grad` times over `repeats` fresh processes of each kind.

    cold and warm: the function copied out of the project (no committed module can
    be found), a fresh cache directory, generated then cached; cold_after_another:
    generated in a process that has generated another gradient already; repository:
    the function where it lives, with an empty cache (a committed module, if any).
    """
    kinds = ("cold", "cold_after_another", "warm", "repository")
    runs: dict[str, list[dict]] = {kind: [] for kind in kinds}
    files = []
    try:
        for _ in range(repeats):
            with tempfile.TemporaryDirectory(prefix="s2s-bench-onetime-") as tmp:
                cache, copy = os.path.join(tmp, "cache"), os.path.join(tmp, "source")
                runs["cold"].append(_onetime_once(workload, cache, cpu, copy))
                files.append(_files_under(cache))
                runs["warm"].append(_onetime_once(workload, cache, cpu, copy))
                other = os.path.join(tmp, "other-cache")
                runs["cold_after_another"].append(
                    _onetime_once(workload, other, cpu, copy, "--after-another")
                )
                empty = os.path.join(tmp, "empty-cache")
                runs["repository"].append(_onetime_once(workload, empty, cpu, None))
    except subprocess.CalledProcessError as e:
        return {"error": f"crashed: {_tail(e.stderr, 1)}"}
    out: dict = {
        "import_s": statistics.median(
            r["import_s"] for rs in runs.values() for r in rs
        ),
        "cache_files": max(files),
    }
    for kind, rs in runs.items():
        out[f"{kind}_s"] = statistics.median(r["grad_s"] for r in rs)
        out[f"{kind}_wall_s"] = statistics.median(r["grad_wall_s"] for r in rs)
        out[f"{kind}_all_s"] = [r["grad_s"] for r in rs]
        out[f"{kind}_first_call_extra_s"] = statistics.median(
            r["first_call_extra_s"] for r in rs
        )
        out[f"{kind}_provenance"] = sorted({str(r["provenance"]) for r in rs})
    return out


def _threads_summary(results: list[dict]) -> str:
    pools = {
        (t["internal_api"], t["num_threads"])
        for r in results
        for t in r.get("threads", [])
    }
    torch = {r["torch_threads"] for r in results if "torch_threads" in r}
    parts = [f"{api} {n}" for api, n in sorted(pools)]
    if torch:
        parts.append(f"torch {', '.join(map(str, sorted(torch)))}")
    return "native thread pools at " + ", ".join(parts) if parts else "unknown"


def _progress(r: dict, elapsed: float) -> str:
    if r["status"] != "ok":
        return f"{r['status']}: {_tail(r.get('error') or '', 1)[:100]}"
    ratio = r["to_hand"]["median"]
    return f"× hand {ratio:.3g}, {r['rounds']} rounds ({elapsed:.0f} s)"


def _split(text: str, known: list[str], what: str) -> list[str]:
    names = [n for n in text.split(",") if n]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(
            f"unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})"
        )
    return names


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="timed rounds per process"
    )
    parser.add_argument("--block", type=float, default=0.02, help="seconds per block")
    parser.add_argument("--min-rounds", type=int, default=15)
    parser.add_argument(
        "--repeats", type=int, default=5, help="fresh processes per one-off cost"
    )
    parser.add_argument("--cpu", type=int, default=environment.default_cpu())
    parser.add_argument("--size", choices=SIZES, default="full")
    parser.add_argument(
        "--timeout", type=float, default=900, help="seconds per process"
    )
    parser.add_argument(
        "--no-onetime", action="store_true", help="skip the one-off cost"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: short and rough"
    )
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--update-readme", action="store_true")
    options = parser.parse_args(argv)
    if options.quick:
        options.seconds, options.min_rounds, options.repeats = 0.3, 5, 1
        options.block = min(options.block, 0.005)
    options.frameworks = _split(options.frameworks, list(FRAMEWORKS), "framework")
    options.workloads = _split(options.workloads, list(WORKLOADS), "workload")
    if "hand" not in options.frameworks:
        options.frameworks.insert(0, "hand")  # the tables need the yardstick
    return options


def main(argv: list[str] | None = None) -> None:
    options = parse(argv)
    started = time.time()
    load = os.getloadavg()[0]
    results = []
    for workload in options.workloads:
        for framework in options.frameworks:
            print(f"{workload} {framework:9}", end=" ", flush=True, file=sys.stderr)
            t = time.perf_counter()
            r = run_worker(framework, workload, options)
            print(_progress(r, time.perf_counter() - t), file=sys.stderr)
            results.append(r)
    one = {}
    if not options.no_onetime:
        for workload in options.workloads:
            print(f"{workload} one-off cost of s2s.grad", file=sys.stderr)
            one[workload] = onetime(workload, options.repeats, options.cpu)
    settings = {
        k: getattr(options, k)
        for k in ("size", "seconds", "block", "min_rounds", "repeats", "cpu")
    }
    run = {
        "machine": dict(environment.machine(), load_average_at_start=load),
        "command": "python -m benchmarks "
        + shlex.join(argv if argv is not None else sys.argv[1:]),
        "started": datetime.datetime.fromtimestamp(started).isoformat(
            timespec="seconds"
        ),
        "elapsed_s": time.time() - started,
        "settings": settings,
        "threads": _threads_summary(results),
        "results": results,
        "onetime": one,
    }
    markdown = render(run)
    os.makedirs(options.out, exist_ok=True)
    with open(os.path.join(options.out, "latest.json"), "w", encoding="utf-8") as f:
        json.dump(run, f, indent=1)
    with open(os.path.join(options.out, "latest.md"), "w", encoding="utf-8") as f:
        f.write(markdown)
    if options.update_readme:
        with open(README, encoding="utf-8") as f:
            text = f.read()
        with open(README, "w", encoding="utf-8") as f:
            f.write(replace_block(text, markdown, *MARKERS))
    print(markdown)
