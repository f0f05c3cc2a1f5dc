"""Markdown tables from a run's results (the JSON that `run.py` writes)."""

from __future__ import annotations

from .frameworks import DESCRIPTIONS, FRAMEWORKS
from .workloads import WORKLOADS

# Issue 6's targets for s2s: ratio to the hand-written gradient, per workload.
RATIO_TARGETS = {
    "W1": 1.5,
    "W2": 1.5,
    "W3": 1.05,
    "W3g": 1.05,  # issue 15: data at module level, the same target as W3's
    "W4": 1.05,
    "W4g": 1.05,
    "W5": 1.05,
    "W6": 1.5,
}
COLD_TARGET_S = 0.050
WARM_TARGET_S = 0.005
MEMORY_TARGET = 1.10


def seconds(s: float | None) -> str:
    if s is None:
        return "–"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def size(n: int | None) -> str:
    if n is None:
        return "–"
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} B"


def spread(s: dict | None) -> str:
    if not s:
        return "–"
    return f"{s['median']:.3g} [{s['q25']:.3g}–{s['q75']:.3g}]"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *map(_row, rows)]


def _failure(r: dict) -> str:
    first = (r.get("error") or "").strip().splitlines()
    return f"{r['status']}: {first[0][:120] if first else ''}"


def _results_by(results: list[dict]) -> dict[tuple[str, str], dict]:
    return {(r["workload"], r["framework"]): r for r in results}


def summary(run: dict) -> list[str]:
    """Frameworks by workloads: the gradient's time over the hand-written one's."""
    by = _results_by(run["results"])
    keys = [k for k in WORKLOADS if any(w == k for w, _ in by)]
    rows = []
    hand_row = ["hand-written, × forward"]
    for k in keys:
        r = by.get((k, "hand"), {})
        hand_row.append(spread(r.get("hand_to_forward")))
    rows.append(hand_row)
    for name in FRAMEWORKS:
        if name == "hand" or not any(f == name for _, f in by):
            continue
        row = [name]
        for k in keys:
            r = by.get((k, name))
            if r is None:
                row.append("–")
            elif r["status"] != "ok":
                row.append(r["status"])
            else:
                row.append(spread(r["to_hand"]))
        rows.append(row)
    return _table(["× hand-written gradient", *keys], rows)


def workload_table(run: dict, key: str) -> list[str]:
    """One workload in detail: every contender's times, ratios, first call and memory."""
    by = _results_by(run["results"])
    hand = by.get((key, "hand"), {})
    rows = []
    notes = []
    if hand.get("status") == "ok":
        rows.append(
            [
                "numpy forward",
                seconds(hand["per_call_s"]["forward"]["median"]),
                "–",
                "–",
                "1",
                "–",
                "–",
                size(hand.get("peak_bytes", {}).get("forward")),
            ]
        )
    for name in FRAMEWORKS:
        r = by.get((key, name))
        if r is None:
            continue
        if r["status"] != "ok":
            rows.append([name, _failure(r), "", "", "", "", "", ""])
            continue
        memory = r.get("peak_bytes", {})
        peak = memory.get(name)
        relative = (
            f" ({peak / memory['hand']:.2f}×)"
            if peak is not None and memory.get("hand")
            else ""
        )
        rows.append(
            [
                name,
                seconds(r["per_call_s"][name]["median"]),
                spread(r["to_hand"]),
                spread(r.get("to_hand_wall")),
                spread(r["to_forward"]),
                seconds(r["build_s"]),
                seconds(r["first_call_s"]),
                size(peak) + relative if peak is not None else "not seen",
            ]
        )
        if r.get("note"):
            notes.append(f"- {name}: {r['note']}")
    header = [
        "",
        "per call (CPU time)",
        "× hand-written [IQR]",
        "× hand-written, wall clock",
        "× forward [IQR]",
        "build",
        "first call",
        "peak memory (× hand)",
    ]
    lines = [f"#### {key}: {WORKLOADS[key].title}", "", *_table(header, rows)]
    return lines + ([""] + notes if notes else [])


def _provenance(o: dict, kind: str) -> str:
    where = [p for p in o.get(f"{kind}_provenance", []) if p != "None"]
    return f" ({', '.join(where)})" if where else ""


def onetime_table(run: dict) -> list[str]:
    rows = []
    for key, o in run.get("onetime", {}).items():
        if "error" in o:
            rows.append([key, o["error"], "", "", "", "", "", "", ""])
            continue
        rows.append(
            [key, seconds(o["import_s"])]
            + [
                seconds(o[f"{kind}_s"]) + _provenance(o, kind)
                for kind in ("cold", "cold_after_another", "warm", "repository")
            ]
            + [seconds(o.get("cold_first_call_extra_s"))]
            + [seconds(o.get("warm_first_call_extra_s"))]
            + [str(o["cache_files"])]
        )
    header = [
        "workload",
        "import s2s",
        "cold `s2s.grad`, first in the process",
        "cold, after another gradient",
        "warm `s2s.grad`",
        "from the repository",
        "first call's extra, cold",
        "first call's extra, warm",
        "files in S2S_CACHE_DIR after cold",
    ]
    return _table(header, rows)


def _judged(value: float | None, limit: float, text: str) -> str:
    if value is None:
        return "–"
    return f"{text} (yes)" if value <= limit else f"{text} (**no**)"


S2S_VARIANTS = ("s2s", "s2s.grad", "s2s-shapes")


def targets_table(run: dict) -> list[str]:
    """s2s against the targets of issue 6, one row per workload."""
    by = _results_by(run["results"])
    rows = []
    for key, target in RATIO_TARGETS.items():
        if not any(w == key for w, _ in by):
            continue
        row = [key, f"≤ {target}"]
        memory = []
        for name in S2S_VARIANTS:
            r = by.get((key, name), {})
            ratio = r["to_hand"]["median"] if r.get("status") == "ok" else None
            row.append(_judged(ratio, target, f"{ratio:.3g}" if ratio else ""))
            peaks = r.get("peak_bytes", {})
            if peaks.get("hand") and peaks.get(name) is not None:
                memory.append(peaks[name] / peaks["hand"])
        row.append(
            _judged(
                max(memory, default=None),
                MEMORY_TARGET,
                " / ".join(f"{m:.3g}" for m in memory),
            )
        )
        o = run.get("onetime", {}).get(key, {})
        cold, warm = o.get("cold_s"), o.get("warm_s")
        row.append(_judged(cold, COLD_TARGET_S, seconds(cold)))
        row.append(_judged(warm, WARM_TARGET_S, seconds(warm)))
        rows.append(row)
    header = [
        "workload",
        "× hand target",
        *S2S_VARIANTS,
        f"peak memory × hand ≤ {MEMORY_TARGET} ({' / '.join(S2S_VARIANTS)})",
        f"cold `s2s.grad` ≤ {seconds(COLD_TARGET_S)}",
        f"warm ≤ {seconds(WARM_TARGET_S)}",
    ]
    return _table(header, rows)


#: Issue 18's targets for the numba backend: W6 at most this ratio to the
#: hand-written gradient; the others no slower than the numpy backend (s2s.grad).
COMPILED_W6_TARGET = 0.07
COMPILED_NOISE = 1.05  # "no slower": within the paired rounds' spread


def compiled_table(run: dict) -> list[str]:
    """The numba backend beside the numpy backend and jax.jit, with its compile
    time (in its first call: the cache directory starts empty)."""
    by = _results_by(run["results"])
    rows = []
    for key in RATIO_TARGETS:
        fast = by.get((key, "s2s-numba"), {})
        if fast.get("status") != "ok":
            continue
        ratio = fast["to_hand"]["median"]
        numpy_backend = by.get((key, "s2s.grad"), {})
        jax = by.get((key, "jax.jit"), {})
        if key == "W6":
            target = f"≤ {COMPILED_W6_TARGET} × hand"
            met = ratio <= COMPILED_W6_TARGET
        elif numpy_backend.get("status") == "ok":
            target = "≤ s2s.grad"
            met = ratio <= numpy_backend["to_hand"]["median"] * COMPILED_NOISE
        else:
            continue
        rows.append(
            [
                key,
                f"{ratio:.3g}",
                _ratio_cell(numpy_backend),
                _ratio_cell(jax),
                seconds(fast["first_call_s"]),
                f"{target} ({'yes' if met else '**no**'})",
            ]
        )
    header = [
        "workload",
        "s2s-numba × hand",
        "s2s.grad × hand",
        "jax.jit × hand",
        "s2s-numba first call (compiles)",
        "target",
    ]
    return _table(header, rows) if rows else []


def _ratio_cell(r: dict) -> str:
    return f"{r['to_hand']['median']:.3g}" if r.get("status") == "ok" else "–"


def machine_lines(run: dict) -> list[str]:
    m = run["machine"]
    s = run["settings"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    missing = [k for k, v in m["versions"].items() if not v]
    if missing:
        versions += f" (not installed: {', '.join(missing)})"
    load = m.get("load_average_at_start")
    return [
        f"- CPU: {m['cpu']}, {m['cores']} cores; every process pinned to CPU {s['cpu']}",
        f"- {m['platform']}, Python {m['python']}",
        f"- {versions}",
        f"- threads: {run['threads']}",
        f"- started {run['started']}, took {run['elapsed_s']:.0f} s; 1-minute load "
        f"average {load if load is None else round(load, 1)} at the start and "
        f"{round(m['load_average'], 1)} at the end (other work on the machine)",
        f"- inputs at {s['size']} size; per process at least {s['seconds']:g} s and "
        f"{s['min_rounds']} rounds of ~{s['block'] * 1e3:g} ms blocks; one-off costs "
        f"over {s['repeats']} fresh processes",
    ]


def render(run: dict) -> str:
    """The whole results section, as markdown."""
    lines = [
        "### Machine",
        "",
        *machine_lines(run),
        "",
        f"Command: `{run['command']}`",
        "",
    ]
    lines += [
        "### Gradient time relative to the hand-written gradient",
        "",
        "Median over paired rounds of (gradient block / adjacent hand-written block), "
        "in CPU time of the pinned process, with the interquartile range of those "
        "ratios in brackets. The per-workload tables add the same ratio on the wall "
        "clock; their per-call times come from each contender's own process, so "
        "compare ratios, not times across rows.",
        "",
        *summary(run),
        "",
        "### Per workload",
        "",
    ]
    keys = sorted({r["workload"] for r in run["results"]}, key=list(WORKLOADS).index)
    for key in keys:
        lines += [*workload_table(run, key), ""]
    if run.get("onetime"):
        lines += [
            "### One-off cost of `@s2s.grad` (CPU time; fresh process each, median "
            f"of {run['settings']['repeats']})",
            "",
            *onetime_table(run),
            "",
        ]
    lines += [
        "### Targets of issue 6",
        "",
        "Ratios are the medians above; cold is the first gradient in a process "
        "(see the one-off table for the time after another gradient).",
        "",
        *targets_table(run),
        "",
    ]
    compiled = compiled_table(run)
    if compiled:
        lines += [
            "### The numba backend (issue 18)",
            "",
            "Ratios are the medians above. Functions whose loops carry numbers only "
            "are compiled (W6); the others keep the numpy backend's code, so their "
            "target is to cost no more than it.",
            "",
            *compiled,
            "",
        ]
    lines += ["Contenders:", ""]
    lines += [f"- `{name}`: {DESCRIPTIONS[name]}" for name in FRAMEWORKS]
    return "\n".join(lines) + "\n"


def replace_block(text: str, block: str, start: str, end: str) -> str:
    """`text` with what lies between the marker lines `start` and `end` replaced."""
    before, found, rest = text.partition(start)
    if not found or end not in rest:
        raise ValueError(f"markers {start!r} ... {end!r} not found")
    after = rest.split(end, 1)[1]
    return f"{before}{start}\n{block}{end}{after}"
