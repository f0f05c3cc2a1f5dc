"""Markdown tables from a run's results (the JSON that `run.py` writes)."""

from __future__ import annotations

from .frameworks import DESCRIPTIONS, FRAMEWORKS
from .workloads import WORKLOADS

# Issue 6's targets for s2s: ratio to the hand-written gradient, per workload.
RATIO_TARGETS = {"W1": 1.5, "W2": 1.5, "W3": 1.05, "W4": 1.05, "W5": 1.05, "W6": 1.5}
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
            rows.append([key, o["error"], "", "", "", "", ""])
            continue
        rows.append(
            [key, seconds(o["import_s"])]
            + [
                seconds(o[f"{kind}_s"]) + _provenance(o, kind)
                for kind in ("cold", "cold_after_another", "warm", "repository")
            ]
            + [str(o["cache_files"])]
        )
    header = [
        "workload",
        "import s2s",
        "cold `s2s.grad`, first in the process",
        "cold, after another gradient",
        "warm `s2s.grad`",
        "from the repository",
        "files in S2S_CACHE_DIR after cold",
    ]
    return _table(header, rows)


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def targets_table(run: dict) -> list[str]:
    """s2s against the targets of issue 6."""
    by = _results_by(run["results"])
    onetime = run.get("onetime", {})
    rows = []
    for key, target in RATIO_TARGETS.items():
        for name in ("s2s", "s2s.grad"):
            r = by.get((key, name))
            if r and r["status"] == "ok":
                ratio = r["to_hand"]["median"]
                rows.append(
                    [
                        key,
                        f"{name} × hand ≤ {target}",
                        f"{ratio:.3g}",
                        _met(ratio <= target),
                    ]
                )
        r = by.get((key, "s2s"))
        memory = (r or {}).get("peak_bytes", {})
        if memory.get("hand"):
            ratio = memory["s2s"] / memory["hand"]
            rows.append(
                [
                    key,
                    f"peak memory × hand ≤ {MEMORY_TARGET}",
                    f"{ratio:.3g}",
                    _met(ratio <= MEMORY_TARGET),
                ]
            )
        o = onetime.get(key)
        if o and "error" not in o:
            rows.append(
                [
                    key,
                    f"cold generation ≤ {seconds(COLD_TARGET_S)}",
                    f"{seconds(o['cold_s'])} first in the process, "
                    f"{seconds(o.get('cold_after_another_s'))} after another",
                    _met(o["cold_s"] <= COLD_TARGET_S),
                ]
            )
            rows.append(
                [
                    key,
                    f"warm (cached) ≤ {seconds(WARM_TARGET_S)}",
                    seconds(o["warm_s"]),
                    _met(o["warm_s"] <= WARM_TARGET_S),
                ]
            )
    return _table(["workload", "target", "measured", "met"], rows)


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
    lines += ["### Targets of issue 6", "", *targets_table(run), ""]
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
