"""A differential fuzzer of s2s: random programs in the subset s2s differentiates
(`grammar`), bad input made from them (`mutants`), an oracle that checks values,
gradients and second derivatives against the function itself and central
differences (`oracle`), a shrinker that prints failures as pytest tests (`shrink`),
and the campaign that runs it all in worker processes (`campaign`; the command line
is `python -m tests.fuzz`).
"""

from .campaign import Report, Task, build, format_report, run_campaign
from .grammar import Options, Program, generate
from .mutants import MUTATIONS, mutate
from .oracle import FAILURES, STATUSES, Case, Result, check, run_case
from .shrink import repro, shrink

__all__ = [
    "FAILURES",
    "MUTATIONS",
    "STATUSES",
    "Case",
    "Options",
    "Program",
    "Report",
    "Result",
    "Task",
    "build",
    "check",
    "format_report",
    "generate",
    "mutate",
    "repro",
    "run_campaign",
    "run_case",
    "shrink",
]
