"""The pipeline: a function's source through every stage to a generated module.

    source --frontend--> ParsedFunction --lower--> SSA Graph --ad--> adjoint
           --optimize--> Optimized functions --emit--> module text (astor, black)

:func:`generate` runs the stages for one function and returns each stage's product
(:class:`Stages`, which `s2s show --dump` prints); :mod:`s2s.api` compiles and
caches the module it writes.  The heavy stages are imported on first use, so that
`import s2s` and a gradient found in the cache need none of them.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import linecache
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, Union

from .backends import check_backend
from .errors import CheckpointError, InternalError, S2SError, ShapeSpecError, WrtError
from .frontend import ParsedFunction, parse_function
from .recursion import allows_deep_recursion

if TYPE_CHECKING:
    from .ad.reverse import Adjoint
    from .emit import GeneratedModule
    from .frontend.static import StaticGradient
    from .ir import FunctionSpec, Graph, Namespace, Structured, Var
    from .optimize import Optimized
    from .structures import Layout


Wrt = Union[int, str, Sequence[Union[int, str]]]


def resolve_wrt(
    function: str, params: Sequence[str], wrt: Wrt
) -> tuple[list[int], bool]:
    """The positions of the parameters to differentiate, and whether wrt was a tuple."""
    many = isinstance(wrt, (tuple, list))
    items = list(wrt) if many else [wrt]
    names = list(params)
    if not items:
        raise WrtError(
            "wrt is empty", hint=f"Name at least one of: {', '.join(names)}."
        )
    chosen = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise WrtError(
                f"wrt must be a parameter index or name, not {item!r}",
                hint=f"{function} has parameters: {', '.join(names)}.",
            )
        if isinstance(item, int):
            if not -len(names) <= item < len(names):
                raise WrtError(
                    f"wrt={item} is out of range: {function} has {len(names)} parameters",
                    hint=f"Use an index from 0 to {len(names) - 1}, or a name: {', '.join(names)}.",
                )
            chosen.append(item % len(names))
        elif item in names:
            chosen.append(names.index(item))
        else:
            raise WrtError(
                f"{function} has no parameter named {item!r}",
                hint=f"Its parameters are: {', '.join(names)}.",
            )
    return chosen, many


def resolve_parsed_wrt(parsed: ParsedFunction, wrt: Wrt) -> tuple[list[int], bool]:
    """:func:`resolve_wrt` for a parsed function.  As in :func:`generate`, a construct
    s2s does not support is reported before a `wrt` that names no parameter."""
    try:
        return resolve_wrt(parsed.name, parsed.params, wrt)
    except WrtError as e:
        problem = e
    generate(parsed, wrt)
    raise problem


@dataclass
class Stages:
    """Every intermediate product of the pipeline, for --dump and for tests."""

    parsed: ParsedFunction
    graph: Graph
    adjoint: Adjoint | None  # None for forward mode (jvp)
    optimized: list[Optimized]  # each function of the module, as the emitter gets it
    module: GeneratedModule
    wrt: list[Var]
    many: bool


#: What `generate` can write besides a gradient (see :mod:`s2s.higher`), and the
#: suffix of the function it defines (and of the module `s2s generate` names).
MODES = {"grad": "", "jvp": "_jvp", "vjp": "_vjp", "hvp": "_hvp"}


def check_checkpoint(checkpoint: Any) -> None:
    """Refuse a checkpoint= that is not a number of snapshots (1 or more) or "auto"."""
    if checkpoint is None or checkpoint == "auto":
        return
    if (
        isinstance(checkpoint, bool)
        or not isinstance(checkpoint, int)
        or checkpoint < 1
    ):
        raise CheckpointError(
            f"checkpoint={checkpoint!r}: expected the number of loop states to keep "
            'per loop (1 or more), or "auto"',
            hint='For example checkpoint=20, or checkpoint="auto" to choose from '
            "the trip count.",
        )


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise S2SError(
            f"unknown mode {mode!r}", hint=f"Use one of: {', '.join(MODES)}."
        )


@allows_deep_recursion
def generate(
    f: Callable | ParsedFunction,
    wrt: Wrt = 0,
    header: str = "",
    mode: str = "grad",
    shapes: Mapping[str, Sequence[Any]] | None = None,
    layouts: Mapping[str, Layout] | None = None,
    has_aux: bool = False,
    backend: str = "numpy",
    checkpoint: int | str | None = None,
    only: str | None = None,
) -> Stages:
    """Run the pipeline: source -> SSA graph -> adjoint -> formatted module text.

    `mode` "grad" writes the gradient; "jvp", "vjp" and "hvp" the derivatives of
    :mod:`s2s.higher` (forward mode, vector-Jacobian and Hessian-vector products).
    `shapes` maps parameters to shape patterns (see :mod:`s2s.shapes`): the code is
    then specialized for arguments of those shapes (by default, for the shapes the
    parameters are annotated with).  `layouts` are those of the parameters that
    hold structures (see :mod:`s2s.structures`; `shapes` may then name their leaves
    by path, `params['W1']`); with `has_aux` the function returns `(value, aux)`
    and the derivatives pass `aux` on.  `backend` names what the code runs on
    (see :mod:`s2s.backends`).  With `checkpoint` (k snapshots, or "auto") each
    loop's forward sweep keeps at most k loop states, and its reverse sweep
    recomputes the iterations in between (see :mod:`s2s.emit.checkpoint`).  With
    `only` (a function's name, `f_grad`) the module holds that function alone: what
    code that only runs needs, in about half the time."""
    check_mode(mode)
    check_backend(backend)
    check_checkpoint(checkpoint)
    if checkpoint is not None and mode != "grad":
        raise CheckpointError(
            f"checkpoint applies to gradients, not to mode {mode!r}",
            hint="Leave out checkpoint=, or take the gradient (mode 'grad').",
        )
    if has_aux and mode != "grad":
        raise S2SError(
            f"has_aux applies to gradients, and mode {mode!r} differentiates a "
            "function returning one value",
            hint="Differentiate a function that returns the value alone.",
        )
    from .ad.reverse import reverse
    from .emit import emit_module
    from .ir import Namespace, all_values, verify
    from .lower import lower
    from .optimize import optimize

    parsed = f if isinstance(f, ParsedFunction) else parse_function(f)
    if layouts is None:  # declared in the signature (for the command line)
        from .frontend.declared import declared_layouts

        layouts = declared_layouts(parsed)
    try:
        graph = lower(
            parsed, gradient_code, shaped=bool(shapes), layouts=layouts, has_aux=has_aux
        )
        verify(graph)
        from .ir.structured import Structured, differentiated, input_name, regrouped

        inputs = graph.signature
        positions, many = resolve_wrt(graph.name, [input_name(i) for i in inputs], wrt)
        chosen = [inputs[i] for i in positions]
        params = [v for i in chosen for v in differentiated(i)]
        names = Namespace(v.name for v in all_values(graph))
        annotated = shapes is None
        patterns = shape_patterns(
            graph, _annotated_shapes(parsed, layouts) if annotated else shapes
        )
        # Shapes given (not annotated) are those of the numpy arrays and numbers
        # a call passed (see s2s.dispatch): their arrays are numpy's.
        numpy = frozenset(patterns or ()) if not annotated else frozenset()
        if patterns is not None:
            patterns.update(graph.data_shapes)
        labels = {  # how messages name a structure's leaves: params['W1']
            leaf: path
            for value in inputs
            if isinstance(value, Structured)
            for leaf, path in zip(value.leaves, value.paths())
        }

        def guard(function: str, params=graph.params, patterns=patterns) -> list:
            if not annotated:
                return []
            return _shape_guard(params, function, patterns, parsed, names, labels)

        if mode != "grad":
            from .ad.modes import derivative_specs

            adjoint, specs = derivative_specs(
                mode, graph, chosen, many, names, patterns, guard
            )
        else:
            if checkpoint is not None:
                _refuse_taped(graph)
            numbers = [p for p in graph.params if patterns and patterns.get(p) == ()]
            adjoint = reverse(graph, params, names, scalars=numbers)
            verify(graph)
            verify(_with_body(graph, adjoint.forward), adjoint.checks + adjoint.ops)
            grads = regrouped(chosen, adjoint.grads)
            specs = _gradient_specs(
                graph, adjoint, chosen, grads, many, patterns, guard, numpy
            )
            for spec in specs:
                spec.checkpoint = checkpoint
        if only is not None:
            written = [spec.name for spec in specs]
            specs = [spec for spec in specs if spec.name == only]
            if not specs:
                raise InternalError(f"no function {only} among {written}")
        optimized = [optimize(spec) for spec in specs]
        module = emit_module(optimized, header, backend)
    except S2SError:
        raise
    except Exception as e:  # anything else is our bug, said as such
        raise InternalError(
            f"s2s failed on {parsed.name} ({parsed.filename}): {type(e).__name__}: {e}",
            hint="This is a bug in s2s; please report it with the function above.",
        ) from e
    return Stages(parsed, graph, adjoint, optimized, module, params, many)


def _gradient_specs(
    graph: Graph,
    adjoint: Adjoint,
    chosen: list[Var | Structured],
    grads: list[Any],
    many: bool,
    patterns: dict[Var, tuple] | None,
    guard: Callable[..., list],
    numpy: frozenset[Var] = frozenset(),
) -> list[FunctionSpec]:
    """The functions of a gradient module: FUNC_grad and FUNC_value_and_grad (with
    has_aux, `(grads, aux)` and `((value, aux), grads)`)."""
    from .ir import FunctionSpec

    grads = tuple(grads) if many else grads[0]
    from .ir.structured import input_name

    what = ", ".join(map(input_name, chosen))
    value = graph.result if graph.aux is None else (graph.result, graph.aux)

    def spec(suffix: str, doc: str, returns: Any) -> FunctionSpec:
        forward = guard(graph.name + suffix) + adjoint.forward + adjoint.checks
        sections = [("forward", forward), ("reverse", adjoint.ops)]
        return FunctionSpec(
            graph.name + suffix,
            doc,
            graph.params,
            graph.defaults,
            sections,
            returns,
            patterns,
            inputs=graph.inputs,
            numpy=numpy,
        )

    also = " (and aux)" if graph.aux is not None else ""
    return [
        spec(
            "_grad",
            f"Gradient of {graph.name} with respect to {what}{also}.",
            grads if graph.aux is None else (grads, graph.aux),
        ),
        spec(
            "_value_and_grad",
            f"Value of {graph.name}{also}, and its gradient with respect to {what}.",
            (value, grads),
        ),
    ]


def _refuse_taped(graph: Graph) -> None:
    """Refuse to checkpoint a loop that appends to or pops from a list of the
    function (a tape, when the function is itself a gradient): recomputing its
    iterations would append and pop again."""
    from .ir import Loop, Op, walk

    for loop in graph.ops:
        if not isinstance(loop, Loop):
            continue
        for s in walk(loop.header + loop.body):
            if isinstance(s, Op) and s.prim in ("push", "pop"):
                raise CheckpointError(
                    "checkpoint= cannot recompute this loop: it appends to or pops "
                    "from a list (a tape, where the function is itself a gradient)",
                    s.loc,
                    hint="Take this gradient without checkpoint= (for second "
                    "derivatives: checkpoint the first gradient only, or use "
                    "s2s.hvp), or keep the list's appends and pops out of the loop.",
                )


def _annotated_shapes(
    parsed: ParsedFunction, layouts: Mapping[str, Layout]
) -> dict[str, tuple]:
    """The shape patterns the signature declares: of parameters, and of the
    leaves of declared structures by path (`params['W1']`)."""
    patterns = parsed.shape_annotations()
    for name, layout in layouts.items():
        patterns.update(
            (path, leaf.shape)
            for path, leaf in layout.leaves(name)
            if leaf.shape is not None
        )
    return patterns


def shape_patterns(
    graph: Graph, shapes: Mapping[str, Sequence[Any]] | None
) -> dict[Var, tuple] | None:
    """The parameters' shape patterns, checked: each a sequence of dimensions, the
    number 1 or a name (a size other than 1; equal names, equal sizes)."""
    if not shapes:
        return None
    from .ir import Var

    by_name = {p.hint: p for p in graph.params if p in graph.signature}
    for structured in graph.signature:  # leaves by path: params['W1']
        if not isinstance(structured, Var):
            by_name.update(zip(structured.paths(), structured.leaves))
    patterns = {}
    for name, pattern in shapes.items():
        if name not in by_name:
            raise ShapeSpecError(
                f"shapes name {name!r}, which is not a parameter of {graph.name}",
                hint=f"Its parameters are: {', '.join(by_name)}.",
            )
        dims = tuple(pattern)
        if not all(d == 1 or (isinstance(d, str) and d.isidentifier()) for d in dims):
            raise ShapeSpecError(
                f"the shape of {name!r} is {pattern!r}: each dimension must be 1 or "
                "a name standing for a size other than 1",
                hint='For example shapes={"W": ("n", "m"), "b": ("m",), "c": ()}.',
            )
        patterns[by_name[name]] = dims
    return patterns


def _shape_guard(
    params: Sequence[Var],
    function: str,
    patterns: dict | None,
    parsed: ParsedFunction,
    names: Namespace,
    labels: Mapping[Var, str],
) -> list:
    """The check, on entry, that the arguments have the annotated shapes."""
    from .ir import Op, Var

    if not patterns:
        return []
    checked = [p for p in params if p in patterns]
    params = {
        "function": function,
        "names": tuple(labels.get(p, p.hint) for p in checked),
        "expected": tuple(patterns[p] for p in checked),
    }
    where = parsed.location(parsed.node)
    return [
        Op(
            "check_shapes",
            tuple(checked),
            Var(names.fresh("checked"), "checked"),
            params,
            where,
        )
    ]


def _with_body(graph: Graph, body: list) -> Graph:
    from .ir import Graph

    return Graph(
        graph.name, graph.params, body, graph.result, graph.defaults, graph.loc
    )


def pseudo_filename(name: str, text: str) -> str:
    """The name tracebacks show for a generated module: the same for the same code,
    in every process and on every machine (it appears in the comments of a
    gradient's gradient)."""
    tag = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return f"<s2s-generated {name} {tag}>"


@functools.lru_cache(maxsize=None)
def gradient_code(gradient: StaticGradient) -> ParsedFunction:
    """The generated code of a gradient a file binds to a name (read without running
    the file), parsed: what a call to that name inlines, as `s2s.grad` would run it
    when the file runs.  Held in memory (and by linecache) for this process."""
    from .frontend.static import static_resolver

    suffix = "_value_and_grad" if gradient.with_value else "_grad"
    name = gradient.function.name + suffix
    text = generate(
        gradient.function, gradient.wrt, has_aux=gradient.has_aux, only=name
    ).module.raw
    filename = pseudo_filename(gradient.function.name, text)
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    module = ast.parse(text)
    node = next(
        n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == name
    )
    return ParsedFunction(
        node, filename, text.splitlines(True), static_resolver(module, filename)
    )
