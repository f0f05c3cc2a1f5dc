"""Pictures of a function's computation graph, drawn the way the seed notes draw them.

The SSA graph becomes a Graphviz DOT graph: the inputs, one node per operation
(labelled with the operation as s2s writes it and its source line), and the output.
Given inputs, every node also shows its forward value (green) and its adjoint
dOutput/dnode (red); arrays show their shape and a summary.  Branches and loops are
clusters: a loop body is drawn once, with its trip count, and its nodes show the
values of the last iteration (and their adjoints in that iteration).

The values come from running the SSA graph and its adjoint (:mod:`s2s.evaluate`),
never from the optimized module, whose temporaries no longer exist.  DOT text needs
nothing else; SVG, PNG and PDF are drawn by Graphviz's `dot` program (without it, a
notebook shows the DOT text and says how to get pictures).  A legend names what the
colours and line styles in the picture mean; a long chain of operations is ranked top
to bottom, so that the picture stays narrow enough to read at the width of a page.
"""

from __future__ import annotations

import ast
import html
import numbers
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .api import Wrt, _all_vars, _as_real, resolve_wrt
from .arguments import bind, parse_at
from .errors import GraphvizNotFoundError, InternalError, S2SError
from .evaluate import Trace, run, spell
from .frontend import ParsedFunction, parse_file, parse_function
from .ir import Const, Graph, If, Loop, Namespace, Op, Operand, Stmt, Var, verify
from .linearize import linearize
from .primitives import PRIMITIVES
from .reverse import active_values, defined_in, reverse
from .rules import NONDIFFERENTIABLE

VALUE_COLOR = "#1a7f37"  # green, as in the seed notes
ADJOINT_COLOR = "#cf222e"  # red
MUTED_COLOR = "#6e7781"
_INPUT = 'style="rounded,filled", fillcolor="#eef1f4"'
_LOOP_VALUE = 'style="rounded,dashed"'
_TABLE = '<table border="0" cellborder="0" cellspacing="0" cellpadding="1">'
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": None, ".gv": None}
#: Arrays of at most this many elements are shown in full, others summarised.
SHOWN_IN_FULL = 6
#: Chains of at most this many nodes are drawn left to right (as the seed notes draw
#: them); longer ones top to bottom, which keeps the picture narrow.
LEFT_TO_RIGHT = 5
#: The legend's lines hold at most about this many characters.
LEGEND_WIDTH = 72
INSTALL_GRAPHVIZ = (
    "apt-get install graphviz, brew install graphviz or conda install graphviz"
)


# --- the picture -----------------------------------------------------------------------


@dataclass
class GraphPicture:
    """A drawn computation graph: `dot` is its Graphviz source; `values` and
    `adjoints` hold the numbers it shows, by SSA value name (as `s2s show --dump ir`
    prints them).  Displays inline in Jupyter; `save` writes .svg, .png, .pdf or .dot.
    """

    name: str
    dot: str
    values: dict[str, Any] = field(default_factory=dict)
    adjoints: dict[str, Any] = field(default_factory=dict)

    def svg(self) -> str:
        return render(self.dot, "svg").decode("utf-8")

    def _repr_svg_(self) -> str | None:
        try:
            return self.svg()
        except GraphvizNotFoundError:
            return None  # see _repr_mimebundle_

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        """What a notebook shows: the picture, or without Graphviz the DOT text and
        one line saying how to get pictures (displaying never stops the run)."""
        try:
            return {"image/svg+xml": self.svg()}
        except GraphvizNotFoundError:
            note = (
                f"(Graphviz's dot is not installed, so here is the DOT text of the "
                f"picture: {INSTALL_GRAPHVIZ} draws it)"
            )
            return {"text/plain": f"{note}\n{self.dot}"}

    def __repr__(self) -> str:
        nodes = len(re.findall(r"^\s*n\d+ \[", self.dot, re.MULTILINE))
        shown = (
            "values and adjoints"
            if self.adjoints
            else "values" if self.values else "no values (give inputs)"
        )
        return (
            f"<GraphPicture of {self.name}: {nodes} nodes, {shown}; .dot has "
            f"{len(self.dot):,} characters, .save(path) writes .svg, .png, .pdf>"
        )

    def save(self, path: str) -> None:
        """Write the picture; the format comes from the file's extension."""
        ext = os.path.splitext(path)[1].lower()
        if ext not in FORMATS:
            raise S2SError(
                f"cannot tell which picture format {path!r} wants",
                hint="End the file name with .svg, .png, .pdf or .dot.",
            )
        fmt = FORMATS[ext]
        data = self.dot.encode("utf-8") if fmt is None else render(self.dot, fmt)
        try:
            with open(path, "wb") as f:
                f.write(data)
        except OSError as e:
            raise S2SError(f"cannot write {path}: {e.strerror}") from None

    def __str__(self) -> str:
        return self.dot


def render(dot: str, fmt: str) -> bytes:
    """DOT text drawn by Graphviz as `fmt` (svg, png, pdf)."""
    program = shutil.which("dot")
    if program is None:
        raise GraphvizNotFoundError(
            f"drawing {fmt.upper()} needs Graphviz's `dot` program, which is not "
            "installed (or not on PATH)",
            hint="Install the graphviz package (Debian/Ubuntu: apt-get install "
            "graphviz; macOS: brew install graphviz; conda: conda install graphviz), "
            "or write DOT text instead (-o picture.dot, or no -o).",
        )
    try:
        done = subprocess.run(
            [program, f"-T{fmt}"], input=dot.encode("utf-8"), capture_output=True
        )
    except OSError as e:
        raise GraphvizNotFoundError(f"cannot run {program}: {e}") from None
    if done.returncode != 0:
        raise InternalError(
            f"Graphviz could not draw the graph: {done.stderr.decode(errors='replace')}",
            hint="This is a bug in s2s; please report it with the function drawn.",
        )
    return done.stdout


# --- entry points ----------------------------------------------------------------------


def graph(
    f: Callable, *args: Any, wrt: Wrt | None = None, **kwargs: Any
) -> GraphPicture:
    """The computation graph of `f`; given arguments, with values and adjoints.

    `s2s.graph(J)` draws the structure; `s2s.graph(J, 5, 3, 2)` adds each node's value
    and its adjoint dJ/dnode.  `wrt` (an index, a name or a tuple of them) chooses
    which inputs the adjoints are taken with respect to; by default every parameter
    the result depends on differentiably, and every float input.
    """
    return draw(parse_function(f), args, kwargs, wrt)


def draw_file(
    path: str, name: str, at: Sequence[str] = (), wrt: Wrt | None = None
) -> GraphPicture:
    """The picture for `s2s graph PATH.py:FUNC --at ...` (the file is not imported)."""
    args, kwargs = parse_at(at)
    return draw(parse_file(path, name), args, kwargs, wrt)


def draw(
    parsed: ParsedFunction,
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    wrt: Wrt | None = None,
) -> GraphPicture:
    """Linearize, run at the given arguments (if any), and draw."""
    try:
        return _draw(parsed, list(args), dict(kwargs or {}), wrt)
    except S2SError:
        raise
    except Exception as e:  # anything else is our bug, said as such
        raise InternalError(
            f"s2s failed to draw {parsed.name} ({parsed.filename}): "
            f"{type(e).__name__}: {e}",
            hint="This is a bug in s2s; please report it with the function above.",
        ) from e


def _draw(
    parsed: ParsedFunction, args: list, kwargs: dict, wrt: Wrt | None
) -> GraphPicture:
    fn = linearize(parsed)
    verify(fn)
    inputs = _bind(fn, args, kwargs)
    if inputs is None:
        scene = _Scene(fn, None, {})
        return GraphPicture(fn.name, scene.dot(_title(fn, None, ""), []))
    if wrt is None:
        chosen = _default_wrt(fn, inputs)
    else:
        positions, _ = resolve_wrt(fn.name, [p.hint for p in fn.params], wrt)
        chosen = [fn.params[i] for i in positions]
    for p in chosen:
        inputs[p] = _as_real(inputs[p])
    forward = run(fn.ops, inputs)
    result = forward.last[fn.result] if isinstance(fn.result, Var) else fn.result.value
    adjoints: dict[Var, Any] = {}
    note = ""
    if not chosen:
        note = "no adjoints: no input to differentiate (see --wrt)"
    elif np.ndim(result) != 0:
        note = (
            f"no adjoints: the result has shape {np.shape(result)}, not a scalar "
            "(reduce it with .sum() or .mean())"
        )
    else:
        adjoints = _adjoints(fn, chosen, inputs, forward)
    scene = _Scene(fn, forward, adjoints)
    return GraphPicture(
        fn.name,
        scene.dot(_title(fn, inputs, note), chosen),
        {v.name: x for v, x in forward.last.items()},
        {v.name: x for v, x in adjoints.items()},
    )


def _adjoints(
    fn: Graph, wrt: list[Var], inputs: dict[Var, Any], forward: Trace
) -> dict[Var, Any]:
    """Each active value's adjoint, from running the forward and reverse sweeps.

    Inside a loop the forward trace keeps the last iteration; the reverse sweep
    visits that iteration first, so its adjoints are the first ones it makes.
    """
    names = Namespace(v.name for v in _all_vars(fn))
    adjoint = reverse(fn, wrt, names, composites=False)  # an adjoint for every node
    sweep = run(adjoint.forward + adjoint.checks + adjoint.ops, inputs)
    made_in_reverse = defined_in(adjoint.ops)
    found: dict[Var, Any] = {}
    for v in active_values(fn.ops, wrt):
        if v not in forward.last:
            continue  # in a branch or loop that did not run
        a = adjoint.of.get(v)
        if a is None:  # the result does not depend on v
            found[v] = np.zeros_like(forward.last[v], dtype=float)[()]
        elif isinstance(a, Const):
            found[v] = a.value
        else:
            trace = sweep.first if a in made_in_reverse else sweep.last
            if a not in trace:
                raise InternalError(
                    f"the adjoint {a.name} of {v.name} was never computed",
                    hint="This is a bug in s2s; please report it with the function.",
                )
            found[v] = trace[a]
    return found


def _bind(fn: Graph, args: list, kwargs: dict) -> dict[Var, Any] | None:
    """Each parameter's value, like a call would bind them; None when none are given."""
    if not args and not kwargs and fn.params:
        return None
    names = [p.hint for p in fn.params]
    signature = f"{fn.name}({', '.join(names)})"
    values = bind(fn.name, names, args, kwargs)
    defaults = dict(zip(names[len(names) - len(fn.defaults) :], fn.defaults))
    missing = [n for n in names if n not in values and n not in defaults]
    if missing:
        raise S2SError(
            f"no value for {', '.join(missing)}",
            hint=f"Give every parameter of {signature} a value.",
        )
    return {
        p: values[p.hint] if p.hint in values else defaults[p.hint].value
        for p in fn.params
    }


def _default_wrt(fn: Graph, inputs: dict[Var, Any]) -> list[Var]:
    """Float inputs, and integer ones the result depends on differentiably (an
    integer used only as a size or an index keeps its type)."""
    chosen = []
    for p, value in inputs.items():
        if isinstance(value, (bool, np.bool_, str, type(None))):
            continue
        integral = isinstance(value, numbers.Integral) or (
            isinstance(value, np.ndarray) and value.dtype.kind in "iub"
        )
        if not integral or fn.result in active_values(fn.ops, [p]):
            chosen.append(p)
    return chosen


# --- reading --at ------------------------------------------------------------------------


# --- formatting values -------------------------------------------------------------------


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


# --- the DOT text ------------------------------------------------------------------------


def _title(fn: Graph, inputs: dict[Var, Any] | None, note: str) -> str:
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


class _Scene:
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
        muted = op.prim in NONDIFFERENTIABLE
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
