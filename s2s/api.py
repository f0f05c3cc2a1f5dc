"""The public API: `grad`, `value_and_grad`, and the pipeline behind them.

`generate` runs the stages (frontend, linearize, reverse, emit) and returns the module
text; `grad` compiles that text into a callable with the same signature as the user's
function.  Generated source is registered with `linecache`, so tracebacks through it
show real lines and `inspect.getsource` works on it.
"""

from __future__ import annotations

import functools
import linecache
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Sequence, Union

import numpy as np

from .emit import FunctionSpec, GeneratedModule, emit_module
from .errors import InternalError, NonScalarOutputError, S2SError, WrtError
from .frontend import ParsedFunction, parse_function
from .ir import Graph, Loop, Namespace, Var, verify, walk
from .linearize import linearize
from .reverse import Adjoint, reverse

Wrt = Union[int, str, Sequence[Union[int, str]]]


def _resolve_wrt(graph: Graph, wrt: Wrt) -> tuple[list[Var], bool]:
    """The parameters to differentiate with respect to, and whether wrt was a tuple."""
    many = isinstance(wrt, (tuple, list))
    items = list(wrt) if many else [wrt]
    names = [p.hint for p in graph.params]
    if not items:
        raise WrtError(
            "wrt is empty", hint=f"Name at least one of: {', '.join(names)}."
        )
    chosen = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise WrtError(
                f"wrt must be a parameter index or name, not {item!r}",
                hint=f"{graph.name} has parameters: {', '.join(names)}.",
            )
        if isinstance(item, int):
            if not -len(names) <= item < len(names):
                raise WrtError(
                    f"wrt={item} is out of range: {graph.name} has {len(names)} parameters",
                    hint=f"Use an index from 0 to {len(names) - 1}, or a name: {', '.join(names)}.",
                )
            chosen.append(graph.params[item])
        elif item in names:
            chosen.append(graph.params[names.index(item)])
        else:
            raise WrtError(
                f"{graph.name} has no parameter named {item!r}",
                hint=f"Its parameters are: {', '.join(names)}.",
            )
    return chosen, many


@dataclass
class Stages:
    """Every intermediate product of the pipeline, for --dump and for tests."""

    parsed: ParsedFunction
    graph: Graph
    adjoint: Adjoint
    module: GeneratedModule
    wrt: list[Var]
    many: bool


def generate(f: Callable | ParsedFunction, wrt: Wrt = 0, header: str = "") -> Stages:
    """Run the pipeline: source -> SSA graph -> adjoint -> formatted module text."""
    parsed = f if isinstance(f, ParsedFunction) else parse_function(f)
    try:
        graph = linearize(parsed)
        verify(graph)
        params, many = _resolve_wrt(graph, wrt)
        names = Namespace(v.name for v in _all_vars(graph))
        adjoint = reverse(graph, params, names)
        verify(graph)
        verify(_with_body(graph, adjoint.forward), adjoint.checks + adjoint.ops)
        grads = tuple(adjoint.grads) if many else adjoint.grads[0]
        what = ", ".join(p.hint for p in params)
        specs = [
            FunctionSpec(
                f"{graph.name}_grad",
                f"Gradient of {graph.name} with respect to {what}.",
                graph.params,
                graph.defaults,
                [
                    ("forward", adjoint.forward + adjoint.checks),
                    ("reverse", adjoint.ops),
                ],
                grads,
            ),
            FunctionSpec(
                f"{graph.name}_value_and_grad",
                f"Value of {graph.name}, and its gradient with respect to {what}.",
                graph.params,
                graph.defaults,
                [
                    ("forward", adjoint.forward + adjoint.checks),
                    ("reverse", adjoint.ops),
                ],
                (graph.result, grads),
            ),
        ]
        module = emit_module(specs, header)
    except S2SError:
        raise
    except Exception as e:  # anything else is our bug, said as such
        raise InternalError(
            f"s2s failed on {parsed.name} ({parsed.filename}): {type(e).__name__}: {e}",
            hint="This is a bug in s2s; please report it with the function above.",
        ) from e
    return Stages(parsed, graph, adjoint, module, params, many)


def _all_vars(graph: Graph) -> list[Var]:
    inner = [v for s in walk(graph.ops) for v in s.defines]
    loops = [
        v for s in walk(graph.ops) if isinstance(s, Loop) for v in s.carried + [s.index]
    ]
    return graph.params + inner + [v for v in loops if v is not None]


def _with_body(graph: Graph, body: list) -> Graph:
    return Graph(
        graph.name, graph.params, body, graph.result, graph.defaults, graph.loc
    )


_module_counter = iter(range(1, 1 << 62))


def load_module(text: str, name: str) -> dict[str, Any]:
    """Execute generated module text, registering it with linecache for tracebacks."""
    filename = f"<s2s-generated {name} #{next(_module_counter)}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace: dict[str, Any] = {
        "__name__": f"s2s_generated_{name}",
        "__file__": filename,
    }
    exec(compile(text, filename, "exec"), namespace)
    return namespace


def _as_real(x: Any) -> Any:
    """Integers are treated as reals: 3 -> 3.0, an int array -> a float array."""
    if isinstance(x, numbers.Integral) and not isinstance(x, bool):
        return float(x)
    if isinstance(x, np.ndarray) and x.dtype.kind in "iub":
        return x.astype(np.float64)
    return x


class GradFunction:
    """A compiled gradient: call it like the original function.

    `.source` is the generated module's text; `.fun` the original function.
    """

    def __init__(self, fun: Callable, wrt: Wrt, with_value: bool):
        self.fun = fun
        self.wrt = wrt
        self.with_value = with_value
        stages = generate(fun, wrt)
        self.stages = stages
        self.source = stages.module.text
        suffix = "_value_and_grad" if with_value else "_grad"
        name = stages.graph.name + suffix
        self._compiled = load_module(self.source, name)[name]
        params = stages.graph.params
        self._real = {params.index(p) for p in stages.wrt} | {
            p.name for p in stages.wrt
        }
        functools.update_wrapper(self, fun)
        self.__name__ = self.__qualname__ = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Differentiated arguments are reals; others (sizes, indices) keep their type.
        args = tuple(_as_real(a) if i in self._real else a for i, a in enumerate(args))
        kwargs = {k: _as_real(v) if k in self._real else v for k, v in kwargs.items()}
        try:
            return self._compiled(*args, **kwargs)
        except ValueError as e:
            shape = getattr(e, "s2s_shape", None)
            if shape is None:
                raise
            raise NonScalarOutputError(
                f"{self.fun.__name__} returned an array of shape {shape}, but grad needs "
                f"a scalar result",
                hint="Reduce the result to a scalar (for example with .sum() or .mean()), "
                "or differentiate each element separately.",
            ) from None

    def __repr__(self) -> str:
        return f"<s2s gradient {self.__name__} of {self.fun.__qualname__}>"


def _transform(with_value: bool) -> Callable:
    def transform(f: Callable | None = None, wrt: Wrt = 0) -> Any:
        if f is None:
            return lambda g: GradFunction(g, wrt, with_value)
        if not callable(f):
            raise S2SError(
                f"expected a function to differentiate, got {type(f).__name__}",
                hint="Use `@s2s.grad`, `@s2s.grad(wrt=...)` or `s2s.grad(f, wrt=...)`.",
            )
        return GradFunction(f, wrt, with_value)

    return transform


grad = _transform(with_value=False)
grad.__name__ = "grad"
grad.__doc__ = """The gradient of `f` with respect to parameter(s) `wrt`.

`wrt` is an index, a name, or a tuple of them (then a tuple of gradients is returned,
in that order).  Usable as `s2s.grad(f)`, `@s2s.grad` or `@s2s.grad(wrt=("w", "b"))`.
The result has the same signature as `f`, and `.source` holds the generated code.
"""

value_and_grad = _transform(with_value=True)
value_and_grad.__name__ = "value_and_grad"
value_and_grad.__doc__ = """Like :func:`grad`, but returns `(f(*args), gradient)`."""
