"""What the module of each derivative mode holds (besides the gradient, which
:mod:`s2s.pipeline` writes): forward mode (jvp), vector-Jacobian products (vjp), and
Hessian-vector products (hvp: forward mode over the gradient's own sweeps)."""

from __future__ import annotations

from typing import Any, Callable

from ..ir import FunctionSpec, Graph, Namespace, Role, Structured, Var, verify
from ..ir.structured import differentiated, input_name, regrouped
from .forward import forward
from .reverse import Adjoint, reverse


def derivative_specs(
    mode: str,
    graph: Graph,
    wrt: list[Var],
    many: bool,
    names: Namespace,
    patterns: dict[Var, tuple] | None = None,
    guard: Callable[..., list] = lambda function, params=(), patterns=None: [],
) -> tuple[Adjoint | None, list[FunctionSpec]]:
    """The functions of the module of `mode` ("jvp", "vjp" or "hvp") for `graph`
    differentiated with respect to `wrt` (a tuple of results when `many`), written
    for the parameters' shape `patterns` if given (a tangent has its parameter's
    shape), beginning with the check `guard(function, params, patterns)` returns
    (of the parameters' shapes, tangents included)."""
    chosen, wrt = wrt, [v for value in wrt for v in differentiated(value)]
    what = ", ".join(map(input_name, chosen))
    name = graph.name

    def pack(values: list) -> Any:
        values = regrouped(chosen, values)  # a structured parameter's, structured
        return tuple(values) if many else values[0]

    def inputs(*extra: Var | Structured) -> list[Var | Structured] | None:
        return None if graph.inputs is None else [*graph.inputs, *extra]

    def checked(params: list[Var], sections: list) -> None:
        body = [s for _, section in sections for s in section]
        verify(Graph(name, params, body, graph.result))

    if mode == "vjp":
        seed = Var(names.fresh("d" + name), "d" + name, Role.PARAM)
        adjoint = reverse(graph, wrt, names, seed)
        sections = [("forward", adjoint.forward), ("reverse", adjoint.ops)]
        checked(graph.params + [seed], sections)
        doc = (
            f"Value of {name}, and the vector-Jacobian product of {seed.name} (shaped "
            f"like the value) with respect to {what}."
        )
        spec = FunctionSpec(
            f"{name}_vjp",
            doc,
            graph.params + [seed],
            (),
            [("forward", guard(f"{name}_vjp") + sections[0][1]), *sections[1:]],
            (graph.result, pack(adjoint.grads)),
            patterns,
            inputs=inputs(seed),
        )
        return adjoint, [spec]
    if mode == "jvp":
        adjoint = None
        sections, results = [("forward", graph.ops)], [graph.result]
    else:
        adjoint = reverse(graph, wrt, names)
        sections = [
            ("forward", adjoint.forward + adjoint.checks),
            ("reverse", adjoint.ops),
        ]
        results = adjoint.grads
    tangents = forward(graph.params, sections, results, wrt)
    params = graph.params + tangents.params
    checked(params, tangents.sections)
    along = ", ".join(p.name for p in tangents.params)
    if mode == "jvp":
        doc = f"Value of {name}, and its derivative along {along} (forward mode)."
        returns = (graph.result, tangents.results[0])
    else:
        doc = (
            f"Hessian of {name} with respect to {what} times {along}: the "
            "derivative of its gradient along them (forward over reverse mode)."
        )
        returns = pack(tangents.results)
    function = f"{name}{'_jvp' if mode == 'jvp' else '_hvp'}"
    (first, stmts), *rest = tangents.sections
    if patterns:  # a tangent has its parameter's shape
        patterns = {
            **patterns,
            **{t: patterns[p] for p, t in zip(wrt, tangents.params) if p in patterns},
        }
    spec = FunctionSpec(
        function,
        doc,
        params,
        (),
        [(first, guard(function, params, patterns) + stmts), *rest],
        returns,
        patterns,
        alike=tangents.alike,
        inputs=inputs(*tangent_inputs(chosen, tangents.params)),
    )
    return adjoint, [spec]


def tangent_inputs(chosen: list, tangents: list[Var]) -> list[Var | Structured]:
    """The tangents as the function takes them: a structured parameter's as a
    structure of the same layout (`params_dot`), its constant leaves kept."""
    flat, taken = iter(tangents), []
    for value in chosen:
        if not isinstance(value, Structured):
            taken.append(next(flat))
            continue
        leaves = [next(flat) if isinstance(v, Var) else v for v in value.leaves]
        taken.append(Structured(value.name + "_dot", value.layout, leaves))
    return taken
