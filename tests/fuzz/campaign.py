"""A fuzzing campaign: generate programs, check them in worker processes with
timeouts, shrink the failures, and summarize.

Each task (`first`, `second` or `mutant`, an index, the seed) names its program:
the generator's random stream is seeded from those three, so any program can be
rebuilt from its label (`python -m tests.fuzz --replay first:123 --seed 0`).  Tasks
run in a small pool of forked workers (each checks many programs); a worker checks
a case under an alarm and the parent kills a worker that does not answer in time,
so a hang is a "timeout" outcome, not a stuck campaign.  Workers are replaced after
a number of tasks, which bounds the memory s2s's in-process caches take.  The
on-disk gradient cache is turned off (`S2S_CACHE=0`).
"""

from __future__ import annotations

import ast
import collections
import multiprocessing
import multiprocessing.connection
import os
import random
import re
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable, Optional

from .grammar import Options, Program, generate
from .mutants import mutate
from .oracle import FAILURES, STATUSES, Case, Result, run_case
from .shrink import REPRO_IMPORTS, repro, shrink

KINDS = ("first", "second", "mutant")


@dataclass(frozen=True)
class Task:
    kind: str
    index: int
    seed: int

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.index}"


def build(task: Task) -> tuple[Case, Program]:
    """The case a task names (deterministic in kind, index and seed)."""
    rng = random.Random(f"{task.seed}:{task.kind}:{task.index}")
    if task.kind == "second":
        program = generate(rng, Options(scalar_only=rng.random() < 0.5))
    else:
        program = generate(rng, Options())
    case = Case(
        source=program.source,
        args=program.args,
        wrt=program.wrt,
        name=program.name,
        params=program.params,
        kind=task.kind,
        second=task.kind == "second",
        label=task.label,
        seed=task.seed,
        argnames=program.argnames,
        nkw=program.nkw,
    )
    if task.kind == "mutant":
        m = mutate(program, rng)
        case.source, case.args, case.mutation, case.mutation_line = (
            m.source,
            m.args,
            m.mutation,
            m.line,
        )
        case.argnames, case.nkw, case.wrt = m.argnames, m.nkw, m.wrt
        case.params = None
    return case, program


@dataclass
class Outcome:
    """What a worker sends back for a task."""

    task: Task
    case: Optional[Case]
    result: Result
    features: set = field(default_factory=set)
    seconds: float = 0.0


def _work(task: Task, workdir: str, timeout: float) -> Outcome:
    start = time.monotonic()
    try:
        case, program = build(task)
    except Exception as e:  # a generator bug: report it, do not crash the campaign
        detail = "".join(traceback.format_exception(e))[-1500:]
        return Outcome(task, None, Result("inconclusive", "generate", detail))
    result = run_case(case, workdir, timeout)
    return Outcome(task, case, result, program.features, time.monotonic() - start)


def _shrink_work(
    case: Case, result: Result, workdir: str, budget: float, per_run: float
):
    start = time.monotonic()
    small, small_result, runs = shrink(case, result, workdir, budget, per_run)
    return small, small_result, runs, time.monotonic() - start


def _worker(conn, workdir: str) -> None:
    os.environ["S2S_CACHE"] = "0"
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            break
        if msg is None:
            break
        op, payload = msg
        try:
            if op == "check":
                task, timeout = payload
                out = _work(task, workdir, timeout)
            else:
                case, result, budget, per_run = payload
                out = _shrink_work(case, result, workdir, budget, per_run)
            conn.send(("ok", out))
        except BaseException as e:  # noqa: BLE001 (reported to the parent)
            conn.send(("error", "".join(traceback.format_exception(e))[-3000:]))


class Pool:
    """Forked workers, one job each at a time, with a deadline per job."""

    def __init__(self, jobs: int, workdir: str, recycle: int = 150):
        self.ctx = multiprocessing.get_context("fork")
        self.workdir = workdir
        self.recycle = recycle
        self.slots = [self._start() for _ in range(max(1, jobs))]

    def _start(self) -> dict:
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker, args=(child, self.workdir), daemon=True)
        proc.start()
        child.close()
        return {"proc": proc, "conn": parent, "job": None, "deadline": 0.0, "done": 0}

    def _stop(self, slot: dict, kill: bool = False) -> None:
        proc = slot["proc"]
        if kill:
            proc.kill()
        else:
            try:
                slot["conn"].send(None)
            except (BrokenPipeError, OSError):
                pass
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join()
        slot["conn"].close()

    def close(self) -> None:
        for slot in self.slots:
            self._stop(slot)

    def run(
        self,
        jobs: list,
        deadline_of: Callable,
        on_result: Callable,
        on_timeout: Callable,
    ) -> None:
        """Run jobs (each a (key, message)); on_result(key, payload) for each answer,
        on_timeout(key, detail) when a worker is killed or dies."""
        pending = collections.deque(jobs)
        while pending or any(s["job"] is not None for s in self.slots):
            for i, slot in enumerate(self.slots):
                if slot["job"] is None and pending:
                    if slot["done"] >= self.recycle:
                        self._stop(slot)
                        slot = self.slots[i] = self._start()
                    key, message = pending.popleft()
                    slot["conn"].send(message)
                    slot["job"] = key
                    slot["deadline"] = time.monotonic() + deadline_of(message)
            busy = [s for s in self.slots if s["job"] is not None]
            if not busy:
                continue
            wait = max(0.01, min(s["deadline"] for s in busy) - time.monotonic())
            ready = multiprocessing.connection.wait(
                [s["conn"] for s in busy], timeout=wait
            )
            now = time.monotonic()
            for i, slot in enumerate(self.slots):
                if slot["job"] is None:
                    continue
                key = slot["job"]
                if slot["conn"] in ready:
                    try:
                        status, payload = slot["conn"].recv()
                    except (EOFError, OSError):
                        on_timeout(key, "the worker died")
                        self._stop(slot, kill=True)
                        self.slots[i] = self._start()
                        continue
                    slot["job"] = None
                    slot["done"] += 1
                    if status == "ok":
                        on_result(key, payload)
                    else:
                        on_timeout(key, "worker error: " + payload)
                elif now > slot["deadline"]:
                    on_timeout(
                        key, "no answer before the deadline: the worker was killed"
                    )
                    self._stop(slot, kill=True)
                    self.slots[i] = self._start()


@dataclass
class Failure:
    """A failing case, and its shrunk form once shrunk."""

    outcome: Outcome
    shrunk: Optional[Case] = None
    shrunk_result: Optional[Result] = None
    runs: int = 0
    seconds: float = 0.0


@dataclass
class Report:
    """Everything a campaign found."""

    counts: dict  # kind -> Counter(status)
    refusals: dict  # kind -> Counter(error)
    mutations: dict  # mutation -> Counter(status)
    features: collections.Counter
    failures: list  # [Failure]
    defects: list  # [dict]: one per distinct defect
    inconclusive: dict  # kind -> Counter(reason)
    seconds: float
    checked: collections.Counter

    def failure_count(self) -> int:
        return sum(
            n for c in self.counts.values() for s, n in c.items() if s in FAILURES
        )


def _reason(result: Result) -> str:
    text = result.detail.split(":")[0] if result.detail else ""
    text = re.sub(r"[-+]?\d[\d.]*(e[-+]?\d+)?", "N", text)
    return f"{result.stage}: {text[:60]}"


def shape_key(source: str) -> str:
    """The shape of a program: its syntax tree with names and numbers erased."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    tree.body = [
        n for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom))
    ]
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in ("np", "math"):
            node.id = "_"
        elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            node.value = 0
        elif isinstance(node, ast.arg):
            node.arg = "_"
        elif isinstance(node, ast.FunctionDef):
            node.name = "_"
    return ast.dump(tree)


def run_campaign(
    programs: int = 1000,
    second: int = 0,
    mutants: int = 0,
    seed: int = 0,
    jobs: int = 2,
    timeout: float = 20.0,
    shrink_failures: bool = True,
    shrink_budget: float = 120.0,
    shrink_per_signature: int = 2,
    start: int = 0,
    progress: Optional[Callable[[str], None]] = None,
    workdir: Optional[str] = None,
) -> Report:
    """Check `programs` first-derivative programs, `second` second-derivative ones and
    `mutants` mutants; shrink the failures; return a :class:`Report`."""
    os.environ["S2S_CACHE"] = "0"
    own_dir = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="s2s-fuzz-")
    t0 = time.monotonic()
    tasks = (
        [Task("first", start + i, seed) for i in range(programs)]
        + [Task("second", start + i, seed) for i in range(second)]
        + [Task("mutant", start + i, seed) for i in range(mutants)]
    )
    # interleave the kinds, so that a partial campaign has some of each
    random.Random(seed).shuffle(tasks)
    counts = {k: collections.Counter() for k in KINDS}
    refusals = {k: collections.Counter() for k in KINDS}
    inconclusive = {k: collections.Counter() for k in KINDS}
    mutations: dict = collections.defaultdict(collections.Counter)
    features: collections.Counter = collections.Counter()
    checked: collections.Counter = collections.Counter()
    failures: list[Failure] = []
    done = [0]

    def note(outcome: Outcome) -> None:
        task, result = outcome.task, outcome.result
        counts[task.kind][result.status] += 1
        features.update(outcome.features)
        checked.update(result.checked.keys() if result.checked else [])
        if result.status in ("refused", "refused_unlocated"):
            refusals[task.kind][result.error] += 1
        if result.status == "inconclusive":
            inconclusive[task.kind][_reason(result)] += 1
        if outcome.case is not None and outcome.case.mutation:
            mutations[outcome.case.mutation][result.status] += 1
        if result.status in FAILURES:
            failures.append(Failure(outcome))
        done[0] += 1
        if progress and (done[0] % 50 == 0 or done[0] == len(tasks)):
            bad = sum(1 for f in failures)
            progress(
                f"[{time.monotonic() - t0:7.1f}s] {done[0]}/{len(tasks)} checked, {bad} failures; "
                + ", ".join(f"{k}: {dict(counts[k])}" for k in KINDS if counts[k])
            )

    def on_result(key, outcome: Outcome) -> None:
        note(outcome)

    def on_timeout(key, detail: str) -> None:
        task = key
        try:
            case, program = build(task)
            feats = program.features
        except Exception:
            case, feats = None, set()
        status = "timeout" if "deadline" in detail else "internal_error"
        note(
            Outcome(
                task,
                case,
                Result(
                    status,
                    "run",
                    detail,
                    error=detail[:120],
                    args=case.args if case else None,
                ),
                feats,
            )
        )

    pool = Pool(jobs, workdir)
    try:
        pool.run(
            [(t, ("check", (t, timeout))) for t in tasks],
            lambda message: timeout + 15.0,
            on_result,
            on_timeout,
        )
        defects = []
        if shrink_failures and failures:
            if progress:
                progress(f"shrinking {len(failures)} failures")
            by_signature: dict = collections.defaultdict(list)
            for f in failures:
                if f.outcome.case is not None:
                    key = (f.outcome.task.kind, f.outcome.case.mutation)
                    by_signature[key + f.outcome.result.signature()].append(f)
            chosen = []
            for sig, group in by_signature.items():
                chosen += group[:shrink_per_signature]
            jobs_ = [
                (
                    id(f),
                    (
                        "shrink",
                        (
                            f.outcome.case,
                            f.outcome.result,
                            shrink_budget,
                            (
                                min(timeout, 8.0)
                                if f.outcome.result.status == "timeout"
                                else timeout
                            ),
                        ),
                    ),
                )
                for f in chosen
            ]
            index = {id(f): f for f in chosen}

            def on_shrunk(key, payload):
                f = index[key]
                f.shrunk, f.shrunk_result, f.runs, f.seconds = payload
                if progress:
                    progress(
                        f"shrunk {f.outcome.task.label} in {f.runs} runs, {f.seconds:.0f}s"
                    )

            def on_shrink_timeout(key, detail):
                if progress:
                    progress(
                        f"shrinking {index[key].outcome.task.label} failed: {detail[:200]}"
                    )

            pool.run(
                jobs_,
                lambda message: shrink_budget + 4 * timeout + 30,
                on_shrunk,
                on_shrink_timeout,
            )
            defects = distinct_defects(failures, by_signature)
    finally:
        pool.close()
        if own_dir:
            shutil.rmtree(workdir, ignore_errors=True)
    return Report(
        counts, refusals, dict(mutations), features, failures, defects, inconclusive,
        time.monotonic() - t0, checked,
    )  # fmt: skip


def distinct_defects(failures: list, by_signature: dict) -> list[dict]:
    """One entry per distinct defect: failures of one signature whose shrunk programs
    have the same shape are one defect."""
    defects: dict = {}
    for sig, group in by_signature.items():
        shrunk = [f for f in group if f.shrunk is not None]
        for f in shrunk or group[:1]:
            case = f.shrunk or f.outcome.case
            result = f.shrunk_result or f.outcome.result
            # errors are one defect per message; wrong numbers one per program shape
            errors = ("internal_error", "refused_unlocated", "timeout")
            key = (sig,) if result.status in errors else (sig, shape_key(case.source))
            if key in defects:
                defects[key]["labels"].append(f.outcome.task.label)
                continue
            defects[key] = {
                "signature": sig,
                "status": result.status,
                "stage": result.stage,
                "kind": f.outcome.task.kind,
                "labels": [f.outcome.task.label],
                "count": len(group),
                "all_labels": [g.outcome.task.label for g in group],
                "mutation": case.mutation,
                "source": case.source,
                "args": case.args,
                "wrt": case.wrt,
                "error": result.error,
                "where": result.where,
                "detail": result.detail,
                "original_lines": (
                    f.outcome.case.source.count("\n") if f.outcome.case else 0
                ),
                "shrunk": f.shrunk is not None,
                "repro": repro(
                    case,
                    result,
                    f"test_fuzz_{f.outcome.task.kind}_{f.outcome.task.index}",
                ),
            }
    return list(defects.values())


def format_report(report: Report, command: str = "") -> str:
    """The summary table, the refusals by kind, and the shrunk repro of each defect."""
    out = []
    if command:
        out.append(f"command: {command}")
    out.append(f"time: {report.seconds:.0f} s")
    columns = [s for s in STATUSES]
    header = f"{'kind':<8}{'run':>7}" + "".join(
        f"{c:>{max(len(c), 6) + 2}}" for c in columns
    )
    out.append(header)
    total = collections.Counter()
    for kind in KINDS:
        c = report.counts[kind]
        if not c:
            continue
        total.update(c)
        out.append(
            f"{kind:<8}{sum(c.values()):>7}"
            + "".join(f"{c.get(s, 0):>{max(len(s), 6) + 2}}" for s in columns)
        )
    out.append(
        f"{'total':<8}{sum(total.values()):>7}"
        + "".join(f"{total.get(s, 0):>{max(len(s), 6) + 2}}" for s in columns)
    )
    if report.checked:
        out.append(
            "second-derivative checks passed: "
            + ", ".join(
                f"{k} {v}" for k, v in sorted(report.checked.items()) if k != "first"
            )
        )
    for kind in KINDS:
        if report.refusals[kind]:
            out.append(f"\nrefusals ({kind}), by kind:")
            for error, n in report.refusals[kind].most_common():
                out.append(f"  {n:>5}  {error}")
    for kind in KINDS:
        if report.inconclusive[kind]:
            out.append(f"\ninconclusive ({kind}), by reason:")
            for reason, n in report.inconclusive[kind].most_common(8):
                out.append(f"  {n:>5}  {reason}")
    if report.mutations:
        out.append("\nmutants, by mutation:")
        for m, c in sorted(report.mutations.items()):
            out.append(
                f"  {m:<34} " + ", ".join(f"{s} {n}" for s, n in c.most_common())
            )
    out.append(
        f"\n{report.failure_count()} failures, {len(report.defects)} distinct defects"
    )
    for k, d in enumerate(report.defects, 1):
        out.append(
            f"\n--- defect {k}: {d['status']} ({d['kind']}, {d['stage']}) x{d['count']} "
            f"[{', '.join(d['all_labels'][:8])}{' ...' if len(d['all_labels']) > 8 else ''}]"
        )
        if d["mutation"]:
            out.append(f"mutation: {d['mutation']}")
        if d["error"]:
            out.append(
                f"error: {d['error']}" + (f"  at {d['where']}" if d["where"] else "")
            )
        out.append(f"detail: {d['detail'][:600]}")
        out.append(
            ("shrunk from %d lines:" % d["original_lines"])
            if d["shrunk"]
            else "not shrunk:"
        )
        out.append(d["repro"])
    if report.defects:
        out.append("# imports the repros need:\n" + REPRO_IMPORTS)
    return "\n".join(out)
