"""The DOT text of a graph picture: one node per op, written as s2s writes it, with its
value and adjoint; clusters for branches and loops (a loop drawn once, with its trip
count); a legend of the marks the picture uses."""

from __future__ import annotations

import html
import numbers
from typing import Any

import numpy as np

from .emit.spelling import spell
from .evaluate import Trace
from .ir import (
    Const,
    Graph,
    If,
    Loop,
    Op,
    Operand,
    Stmt,
    Var,
)
from .primitives import PRIMITIVES

VALUE_COLOR = "#1a7f37"  # green, as in the seed notes


ADJOINT_COLOR = "#cf222e"  # red


MUTED_COLOR = "#6e7781"


_INPUT = 'style="rounded,filled", fillcolor="#eef1f4"'


_LOOP_VALUE = 'style="rounded,dashed"'


_TABLE = '<table border="0" cellborder="0" cellspacing="0" cellpadding="1">'


#: Arrays of at most this many elements are shown in full, others summarised.
SHOWN_IN_FULL = 6


#: Chains of at most this many nodes are drawn left to right (as the seed notes draw
#: them); longer ones top to bottom, which keeps the picture narrow.
LEFT_TO_RIGHT = 5


#: The legend's lines hold at most about this many characters.
LEGEND_WIDTH = 72


def _number(x: Any) -> str:
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, numbers.Integral):
        return str(int(x))
    return f"{float(x) + 0.0:.4g}"  # + 0.0: -0.0 is shown as 0


def _nested(value: np.ndarray) -> str:
    """Every element, as nested lists: `[[1, 2], [3, 4]]`."""
    if value.ndim == 0:
        return _number(value[()])
    return f"[{', '.join(_nested(row) for row in value)}]"


def summary(value: Any) -> list[str]:
    """One or two short lines describing a value: a number, a small array in full
    (with its shape, beyond one dimension), or a larger array's shape and the mean
    and range of its elements."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (numbers.Number, np.bool_)):
        return [_number(value)]
    if isinstance(value, tuple) and all(isinstance(v, numbers.Number) for v in value):
        return [f"({', '.join(map(_number, value))}{',' if len(value) == 1 else ''})"]
    if isinstance(value, range):
        return [repr(value)]
    if not isinstance(value, np.ndarray):
        return [type(value).__name__]
    shape = "×".join(map(str, value.shape))
    if value.ndim == 1 and value.size <= SHOWN_IN_FULL:
        return [_nested(value)]
    if value.size == 0:
        return [f"{shape} array, empty"]
    if value.dtype.kind == "b":  # a mask: how much of it is set
        return [f"{shape} array", f"{int(value.sum())} of {value.size} true"]
    if value.size <= SHOWN_IN_FULL:
        return [f"{shape} array", _nested(value)]
    low, high = _number(value.min()), _number(value.max())
    return [f"{shape} array", f"mean {_number(value.mean())} in [{low}, {high}]"]


def title(fn: Graph, inputs: dict[Var, Any] | None, note: str) -> str:
    head = f"<b>{_esc(fn.name)}({_esc(', '.join(p.hint for p in fn.params))})</b>"
    if inputs is None:
        return head + "<br/>" + _font(MUTED_COLOR, "give inputs to see values")
    at = ", ".join(f"{p.hint}={summary(v)[0]}" for p, v in inputs.items())
    lines = [f"{head} at {_esc(at)}"]
    if note:
        lines.append(_font(ADJOINT_COLOR, note))
    return "<br/>".join(lines)


def _result_name(fn: Graph) -> str:
    return fn.result.hint if isinstance(fn.result, Var) else fn.name


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _sized(text: str, size: int) -> str:
    return f'<font point-size="{size}">{_esc(text)}</font>'


def _font(color: str, text: str, size: int | None = None) -> str:
    size_attr = f' point-size="{size}"' if size else ""
    return f'<font color="{color}"{size_attr}>{_esc(text)}</font>'


def _where(s: Op | If | Loop) -> str:
    return s.loc.short() if s.loc else ""


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _times(n: int) -> str:
    return f"{n} iteration{'' if n == 1 else 's'}"


class Scene:
    """Writes the DOT text: nodes inside clusters, then every edge at the top level."""

    def __init__(self, fn: Graph, forward: Trace | None, adjoints: dict[Var, Any]):
        self.fn = fn
        self.forward = forward
        self.adjoints = adjoints
        self.ids: dict[Var, str] = {}
        self.lines: list[str] = []
        self.edges: list[str] = []
        self.links: list[tuple[str, str]] = []  # the edges that rank the nodes
        self.drawn: set[str] = set()  # the marks the legend explains
        self.clusters = 0
        self.depth = 1

    def dot(self, title: str, wrt: list[Var]) -> str:
        self.lines = []
        for p in self.fn.params:
            self.node(p, p.hint, "input", _INPUT)
        self.block(self.fn.ops)
        if isinstance(self.fn.result, Const):
            self.lines.append(
                f"  result [shape=plaintext, label=<return "
                f"{_esc(repr(self.fn.result.value))}>];"
            )
        rankdir = "LR" if self.longest_chain() <= LEFT_TO_RIGHT else "TB"
        # The legend sits under the title, where it never widens the picture.
        label = f"{title}<br/>{self.legend(wrt)}"
        head = [
            f'digraph "{self.fn.name}" {{',
            f"  graph [rankdir={rankdir}, fontname=Helvetica, fontsize=12, "
            f"labelloc=t, nodesep=0.25, ranksep=0.35, label=<{label}>];",
            "  node [shape=box, style=rounded, fontname=Helvetica, fontsize=11, "
            'margin="0.1,0.04"];',
            f'  edge [color="{MUTED_COLOR}", fontcolor="{MUTED_COLOR}", '
            "fontname=Helvetica, fontsize=9, arrowsize=0.7];",
        ]
        return "\n".join(head + self.lines + self.edges + ["}", ""])

    def longest_chain(self) -> int:
        """The number of nodes on the longest path of ranked edges."""
        after: dict[str, list[str]] = {}
        for source, target in self.links:
            after.setdefault(source, []).append(target)
        length: dict[str, int] = {}

        def chain(node: str) -> int:
            if node not in length:
                length[node] = 0  # a cycle (none is ranked) counts once
                length[node] = 1 + max(map(chain, after.get(node, [])), default=0)
            return length[node]

        return max(map(chain, self.ids.values()), default=0)

    def legend(self, wrt: list[Var]) -> str:
        """What the colours and line styles of this picture mean: a few short lines
        (only the marks it has), in a smaller font."""
        marks = []
        if self.forward is not None:
            marks.append((VALUE_COLOR, "green: value"))
        if self.adjoints:
            result, inputs = _result_name(self.fn), ", ".join(p.hint for p in wrt)
            marks.append(
                (ADJOINT_COLOR, f"red: adjoint d{result}/dnode (inputs {inputs})")
            )
        marks += [("", "shaded: input"), ("", "double border: result")]
        if self.drawn & {"muted", "dotted"}:
            marks.append((MUTED_COLOR, "gray, dotted: no derivative"))
        if "carried" in self.drawn:
            marks.append(("", "dashed box: carried by the loop, next: its next value"))
        if "not run" in self.drawn:
            marks.append(("", "dashed frame or arrow: not run"))
        lines: list[list[tuple[str, str]]] = [[]]
        for mark in marks:  # as many to a line as fit, so the legend stays narrow
            if sum(len(text) + 3 for _, text in lines[-1] + [mark]) > LEGEND_WIDTH:
                lines.append([])
            lines[-1].append(mark)
        return "<br/>".join(
            " · ".join(
                _font(color, text, 10) if color else _sized(text, 10)
                for color, text in line
            )
            for line in lines
            if line
        )

    # nodes

    def node(
        self, v: Var, title: str, where: str, style: str = "", muted: bool = False
    ) -> None:
        node_id = self.ids[v] = f"n{len(self.ids)}"
        rows = []
        if self.forward is not None:
            if v in self.forward.last:
                rows += [
                    _font(VALUE_COLOR, line) for line in summary(self.forward.last[v])
                ]
            else:
                rows.append(_font(MUTED_COLOR, "not run"))
        title = _shorten(title)
        rows.append(_font(MUTED_COLOR, title) if muted else f"<b>{_esc(title)}</b>")
        if muted:
            self.drawn.add("muted")
        if style == _LOOP_VALUE:
            self.drawn.add("carried")
        if where:
            rows.append(_font(MUTED_COLOR, where, size=9))
        if v in self.adjoints:
            lines = summary(self.adjoints[v])
            rows.append(_font(ADJOINT_COLOR, f"d{v.name} = {lines[0]}"))
            rows += [_font(ADJOINT_COLOR, line) for line in lines[1:]]
        rows_html = "".join(f"<tr><td>{row}</td></tr>" for row in rows)
        attrs = [style] if style else []
        if v is self.fn.result:
            attrs.append("peripheries=2")
        attrs.append(f"label=<{_TABLE}{rows_html}</table>>")
        self.lines.append(f"{'  ' * self.depth}{node_id} [{', '.join(attrs)}];")

    def edge(self, source: Operand | None, target: Var, style: str = "") -> None:
        if not isinstance(source, Var):
            return
        attrs = f" [{style}]" if style else ""
        line = f"  {self.ids[source]} -> {self.ids[target]}{attrs};"
        if line not in self.edges:
            self.edges.append(line)
            if "constraint=false" not in style:
                self.links.append((self.ids[source], self.ids[target]))
            if "dotted" in style:
                self.drawn.add("dotted")

    def name(self, x: Operand | None) -> str:
        if x is None:
            return "undefined"
        return x.name if isinstance(x, Var) else repr(x.value)

    # statements

    def block(self, stmts: list[Stmt]) -> None:
        for s in stmts:
            if isinstance(s, Op):
                self.op(s)
            elif isinstance(s, If):
                self.branch(s)
            else:
                self.loop(s)

    def op(self, op: Op) -> None:
        muted = PRIMITIVES[op.prim].kind == "zero"
        expression = spell(op, lambda v: v.name)
        for v in op.defines:
            self.node(v, f"{v.name} = {expression}", _where(op), muted=muted)
        prim = PRIMITIVES[op.prim]
        for k, operand in enumerate(op.args):
            # Operands past the named ones repeat the last (index parts, tuple items).
            role = prim.operands[min(k, len(prim.operands) - 1)]
            dotted = muted or role in prim.nondiff
            for v in op.defines:
                self.edge(operand, v, "style=dotted" if dotted else "")

    def open_cluster(self, label: str, dashed: bool = False) -> None:
        self.clusters += 1
        pad = "  " * self.depth
        style = "rounded,dashed" if dashed else "rounded"
        self.lines += [
            f"{pad}subgraph cluster_{self.clusters} {{",
            f'{pad}  graph [style="{style}", color="{MUTED_COLOR}", '
            f"fontsize=11, labeljust=l, label=<{label}>];",
        ]
        self.depth += 1

    def close_cluster(self) -> None:
        self.depth -= 1
        self.lines.append(f"{'  ' * self.depth}}}")

    def heading(self, s: If | Loop, default: str) -> str:
        text = _esc(_shorten(s.loc.line.strip() if s.loc else default))
        where = _font(MUTED_COLOR, _where(s), size=9)
        return f"<b>{text}</b>  {where}"

    def branch(self, s: If) -> None:
        taken = self.forward.taken.get(s, []) if self.forward else None
        if s.then or s.orelse:
            self.open_cluster(self.heading(s, "if"), dashed=False)
            for body, which, went in (
                (s.then, "then", True),
                (s.orelse, "else", False),
            ):
                if not body:
                    continue
                runs = None if taken is None else taken.count(went)
                label = which
                if runs == 0:
                    label += " (not run)"
                elif runs is not None and len(taken) > 1:
                    label += f" (ran {runs} of {len(taken)} times; last values)"
                if runs == 0:
                    self.drawn.add("not run")
                self.open_cluster(_font(MUTED_COLOR, label), dashed=runs == 0)
                self.block(body)
                self.close_cluster()
            self.close_cluster()
        for out, a, b in zip(s.outs, s.then_vals, s.else_vals):
            title = f"{out.name} = {self.name(a)} if {self.name(s.cond)} else {self.name(b)}"
            self.node(out, title, _where(s))
            self.edge(s.cond, out, "style=dotted")
            for side, went in ((a, True), (b, False)):
                unused = taken is not None and went not in taken
                if unused:
                    self.drawn.add("not run")
                self.edge(side, out, "style=dashed" if unused else "")

    def loop(self, s: Loop) -> None:
        default = "for" if s.iterable is not None else "while"
        label = self.heading(s, default)
        if self.forward is not None:
            trips = self.forward.trips.get(s, [])
            if not trips:
                count = "not run"
            elif len(trips) == 1:
                count = _times(trips[0])
            else:
                count = f"{len(trips)} runs of {', '.join(map(str, trips))} iterations"
            if any(trips):
                count += "; values from the last"
            label += "<br/>" + _font(MUTED_COLOR, count)
        self.open_cluster(label)
        if s.index is not None:
            self.node(s.index, s.index.name, "loop index", _LOOP_VALUE)
            self.edge(s.iterable, s.index, "style=dotted")
        for c, init, nxt in zip(s.carried, s.inits, s.nexts):
            title = f"{c.name} = {self.name(init)}, then {self.name(nxt)}"
            self.node(c, title, "carried by the loop", _LOOP_VALUE)
            self.edge(init, c)
        self.block(s.header)
        self.block(s.body)
        self.close_cluster()
        for c, nxt in zip(s.carried, s.nexts):
            self.edge(nxt, c, 'style=dashed, constraint=false, label="next"')
        for out, c, nxt in zip(s.outs, s.carried, s.nexts):
            self.node(out, f"{out.name} = {c.name} after the loop", _where(s))
            self.edge(nxt if isinstance(nxt, Var) else c, out)
