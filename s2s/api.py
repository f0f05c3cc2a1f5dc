"""The public API: `grad`, `value_and_grad`, and the pipeline behind them.

`generate` runs the stages (frontend, linearize, reverse, emit) and returns the module
text; `grad` compiles that text into a callable with the same signature as the user's
function.  Before generating, `grad` looks for the module by key (:mod:`s2s.fingerprint`):
a committed `generated/` module with the same content key, then the import-time cache
(:mod:`s2s.cache`).  What is compiled is astor's text, without black: black is slow
to import and to run, and only `.source` needs it.  Generated source is registered
with `linecache`, so tracebacks through it show real lines and `inspect.getsource`
works on it.

The pipeline's modules are imported when a gradient is first generated, not with
`s2s`: a gradient found in the cache needs none of them.
"""

from __future__ import annotations

import functools
import hashlib
import linecache
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, Union

import numpy as np

from . import cache
from .errors import InternalError, NonScalarOutputError, S2SError, WrtError
from .fingerprint import Fingerprint, fingerprint, formatted_key
from .frontend import ParsedFunction, parse_function

if TYPE_CHECKING:
    from .emit import GeneratedModule
    from .ir import Graph, Var
    from .reverse import Adjoint

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
    module: GeneratedModule
    wrt: list[Var]
    many: bool


#: What `generate` can write besides a gradient (see :mod:`s2s.higher`), and the
#: suffix of the function it defines (and of the module `s2s generate` names).
MODES = {"grad": "", "jvp": "_jvp", "vjp": "_vjp", "hvp": "_hvp"}


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise S2SError(
            f"unknown mode {mode!r}", hint=f"Use one of: {', '.join(MODES)}."
        )


def generate(
    f: Callable | ParsedFunction, wrt: Wrt = 0, header: str = "", mode: str = "grad"
) -> Stages:
    """Run the pipeline: source -> SSA graph -> adjoint -> formatted module text.

    `mode` "grad" writes the gradient; "jvp", "vjp" and "hvp" the derivatives of
    :mod:`s2s.higher` (forward mode, vector-Jacobian and Hessian-vector products)."""
    check_mode(mode)
    from .emit import FunctionSpec, emit_module
    from .ir import Namespace, verify
    from .linearize import linearize
    from .reverse import reverse

    parsed = f if isinstance(f, ParsedFunction) else parse_function(f)
    try:
        graph = linearize(parsed)
        verify(graph)
        positions, many = resolve_wrt(graph.name, [p.hint for p in graph.params], wrt)
        params = [graph.params[i] for i in positions]
        names = Namespace(v.name for v in _all_vars(graph))
        if mode != "grad":
            from .higher import derivative_specs

            adjoint, specs = derivative_specs(mode, graph, params, many, names)
            return Stages(
                parsed, graph, adjoint, emit_module(specs, header), params, many
            )
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
    from .ir import Loop, walk

    inner = [v for s in walk(graph.ops) for v in s.defines]
    loops = [
        v for s in walk(graph.ops) if isinstance(s, Loop) for v in s.carried + [s.index]
    ]
    return graph.params + inner + [v for v in loops if v is not None]


def _with_body(graph: Graph, body: list) -> Graph:
    from .ir import Graph

    return Graph(
        graph.name, graph.params, body, graph.result, graph.defaults, graph.loc
    )


# --- finding or generating a gradient module, and loading it ---------------------------


@dataclass
class LoadedModule:
    """A gradient module compiled in this process, and where its code came from."""

    namespace: dict[str, Any]
    code: str  # the text that was compiled
    provenance: str  # "generated", "cache" or "committed"
    path: str | None  # the committed module or the cache entry, if any
    key: Fingerprint | None  # None: not cacheable (or the cache is off)
    stages: Stages | None = None  # when generated in this process


def load_gradient(
    parsed: ParsedFunction,
    positions: Sequence[int],
    many: bool,
    options: Mapping[str, Any] | None = None,
) -> LoadedModule:
    """The compiled gradient module of `parsed` with respect to the parameters at
    `positions`: a committed module with the same content key, else the cache's entry,
    else generated now (and stored in the cache)."""
    options = dict(options or {})
    names = tuple(parsed.params[i] for i in positions)
    store = cache.default_cache()
    key = fingerprint(parsed, names, many, options) if store is not None else None
    if key is not None:
        module = parsed.name + MODES[options.get("mode", "grad")]
        committed = cache.find_committed(parsed.filename, module, key.content)
        if committed is not None:
            path, text = committed
            namespace = _execute(text, path, parsed.name)
            return LoadedModule(namespace, text, "committed", path, key)
        text = store.lookup(key.cache)
        if text is not None:
            namespace = _execute(text, pseudo_filename(parsed.name, text), parsed.name)
            return LoadedModule(namespace, text, "cache", store.path(key.cache), key)
    stages = generate(parsed, names if many else names[0], **options)
    text = stages.module.raw
    if key is not None:
        store.store(key.cache, text)
    namespace = _execute(text, pseudo_filename(parsed.name, text), parsed.name)
    path = store.path(key.cache) if key is not None else None
    return LoadedModule(namespace, text, "generated", path, key, stages)


def formatted_source(loaded: LoadedModule) -> str:
    """The module formatted by black, as `s2s generate` writes it (without the header);
    kept in the cache next to the code, so black runs once per module and machine."""
    if loaded.provenance == "committed":
        return loaded.code
    if loaded.stages is not None:
        return loaded.stages.module.text
    from importlib.metadata import version  # a tenth of the cost of importing black

    store = cache.default_cache()
    key = formatted_key(loaded.key.cache, version("black")) if loaded.key else None
    text = store.lookup(key) if store is not None and key is not None else None
    if text is None:
        from .emit import format_source

        text = format_source(loaded.code)
        if store is not None and key is not None:
            store.store(key, text)
    return text


def pseudo_filename(name: str, text: str) -> str:
    """The name tracebacks show for a generated module: the same for the same code,
    in every process and on every machine (it appears in the comments of a
    gradient's gradient)."""
    tag = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return f"<s2s-generated {name} {tag}>"


def _execute(text: str, filename: str, name: str) -> dict[str, Any]:
    """Run module text (once per text and filename in this process), registering it
    with linecache so tracebacks and inspect show its lines."""
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    return _run(text, filename, name)


@functools.lru_cache(maxsize=256)
def _run(text: str, filename: str, name: str) -> dict[str, Any]:
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

    `.source` is the generated module's text (formatted on first use); `.fun` the
    original function; `.provenance` says where the compiled code came from:
    "generated" now, the import-time "cache", or a "committed" generated/ module.
    """

    def __init__(
        self,
        fun: Callable,
        wrt: Wrt,
        with_value: bool,
        options: Mapping[str, Any] | None = None,
    ):
        self.fun = fun
        self.wrt = wrt
        self.with_value = with_value
        self.options = dict(options or {})
        parsed = parse_function(fun)
        positions, self.many = resolve_parsed_wrt(parsed, wrt)
        self._parsed, self._positions = parsed, positions
        self._loaded = load_gradient(parsed, positions, self.many, self.options)
        self.provenance = self._loaded.provenance
        mode = self.options.get("mode", "grad")
        if mode != "grad":
            suffix = MODES[mode]
        else:
            suffix = "_value_and_grad" if with_value else "_grad"
        name = parsed.name + suffix
        self._compiled = self._loaded.namespace[name]
        # Differentiated arguments are reals (tangents too, after the parameters);
        # others (sizes, indices) keep their type.
        count = len(parsed.params)
        extra = range(count, count + (len(positions) if mode in ("jvp", "hvp") else 1))
        self._real = set(positions) | {parsed.params[i] for i in positions}
        if mode != "grad":
            self._real |= set(extra)
        # Not `fun.__dict__`: a gradient of a gradient must keep its own attributes.
        functools.update_wrapper(self, fun, updated=())
        self.__name__ = self.__qualname__ = name
        # What s2s reads to differentiate this gradient again (see frontend).
        self.__s2s_source__ = self._compiled

    @functools.cached_property
    def source(self) -> str:
        return formatted_source(self._loaded)

    @functools.cached_property
    def stages(self) -> Stages:
        """Every stage of the pipeline (generated now if the code came from a cache)."""
        if self._loaded.stages is not None:
            return self._loaded.stages
        names = tuple(self._parsed.params[i] for i in self._positions)
        return generate(self._parsed, names if self.many else names[0], **self.options)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
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
