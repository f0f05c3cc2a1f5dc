"""The command line of the fuzzer:

    python -m tests.fuzz --programs 10000 --seed 0 --second 1000 --mutants 500 --jobs 2

runs a campaign and prints a summary table, the refusals by kind, and the shrunk
repro of each failure.  `--replay first:12` (or second:N, mutant:N) prints one
program and checks it; `--json PATH` also writes the whole report as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import numpy as np


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fuzz",
        description="A differential fuzzer of s2s.\n\n" + __doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--programs", type=int, default=1000, help="first-derivative programs"
    )
    parser.add_argument(
        "--second", type=int, default=0, help="second-derivative programs"
    )
    parser.add_argument(
        "--mutants", type=int, default=0, help="mutated programs (bad input)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--start", type=int, default=0, help="index of the first program of each kind"
    )
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--timeout", type=float, default=20.0, help="seconds per program"
    )
    parser.add_argument(
        "--no-shrink", action="store_true", help="do not shrink failures"
    )
    parser.add_argument(
        "--shrink-budget", type=float, default=120.0, help="seconds per shrink"
    )
    parser.add_argument("--shrink-per-signature", type=int, default=2)
    parser.add_argument("--json", help="also write the report to this JSON file")
    parser.add_argument("--replay", help="print and check one program: KIND:INDEX")
    args = parser.parse_args(argv)
    os.environ["S2S_CACHE"] = "0"
    from .campaign import Task, build, format_report, run_campaign
    from .oracle import run_case
    from .shrink import REPRO_IMPORTS, repro, shrink

    if args.replay:
        kind, index = args.replay.split(":")
        case, program = build(Task(kind, int(index), args.seed))
        print(case.source)
        print("args:", case.args, "wrt:", case.wrt, "mutation:", case.mutation or "-")
        if case.nkw:
            print("passed by keyword:", case.argnames[-case.nkw :])
        with tempfile.TemporaryDirectory() as workdir:
            result = run_case(case, workdir, args.timeout)
            print(
                f"{result.status} ({result.stage}): {result.error or ''} {result.detail}"
            )
            if (
                result.status not in ("ok", "refused", "inconclusive")
                and not args.no_shrink
            ):
                small, small_result, runs = shrink(
                    case, result, workdir, args.shrink_budget, args.timeout
                )
                print(f"\nshrunk in {runs} runs:\n")
                print(REPRO_IMPORTS)
                print(repro(small, small_result, f"test_fuzz_{kind}_{index}"))
        return 0

    command = "python -m tests.fuzz " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    report = run_campaign(
        programs=args.programs,
        second=args.second,
        mutants=args.mutants,
        seed=args.seed,
        jobs=args.jobs,
        timeout=args.timeout,
        shrink_failures=not args.no_shrink,
        shrink_budget=args.shrink_budget,
        shrink_per_signature=args.shrink_per_signature,
        start=args.start,
        progress=lambda line: print(line, flush=True),
    )
    print(format_report(report, command), flush=True)
    if args.json:
        data = {
            "command": command,
            "seconds": report.seconds,
            "counts": report.counts,
            "refusals": report.refusals,
            "inconclusive": report.inconclusive,
            "mutations": report.mutations,
            "features": report.features,
            "checked": report.checked,
            "defects": report.defects,
            "failures": [
                {
                    "label": f.outcome.task.label,
                    "status": f.outcome.result.status,
                    "stage": f.outcome.result.stage,
                    "error": f.outcome.result.error,
                    "detail": f.outcome.result.detail,
                    "mutation": f.outcome.case.mutation if f.outcome.case else "",
                }
                for f in report.failures
            ],
        }
        with open(args.json, "w") as fh:
            json.dump(_jsonable(data), fh, indent=1)
    return 1 if report.failure_count() else 0


if __name__ == "__main__":
    sys.exit(main())
