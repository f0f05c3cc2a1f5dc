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

import numbers
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .ad.activity import active_values
from .ad.reverse import reverse
from .arguments import bind, parse_at
from .errors import GraphvizNotFoundError, InternalError, S2SError
from .evaluate import Trace, run
from .frontend import ParsedFunction, parse_file, parse_function
from .ir import (
    Const,
    Graph,
    Namespace,
    Var,
    all_values,
    defined_in,
    verify,
)
from .lower import lower
from .pipeline import Wrt, gradient_code, resolve_wrt
from .scene import Scene, title
from .shim import as_real

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": None, ".gv": None}
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
    """Lower, run at the given arguments (if any), and draw."""
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
    fn = lower(parsed, gradient_code)
    verify(fn)
    inputs = _bind(fn, args, kwargs)
    if inputs is None:
        scene = Scene(fn, None, {})
        return GraphPicture(fn.name, scene.dot(title(fn, None, ""), []))
    if wrt is None:
        chosen = _default_wrt(fn, inputs)
    else:
        positions, _ = resolve_wrt(fn.name, [p.hint for p in fn.params], wrt)
        chosen = [fn.params[i] for i in positions]
    for p in chosen:
        inputs[p] = as_real(inputs[p])
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
    scene = Scene(fn, forward, adjoints)
    return GraphPicture(
        fn.name,
        scene.dot(title(fn, inputs, note), chosen),
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
    names = Namespace(v.name for v in all_values(fn))
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
