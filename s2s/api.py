"""The public API: `grad` and `value_and_grad`.

:func:`s2s.pipeline.generate` writes a function's gradient module; `grad` compiles
that text into a callable with the same signature as the user's function, found
or made by :mod:`s2s.loading` (a committed module, the cache, or generated now).
The pipeline's modules are imported when a gradient is first generated, not with
`s2s`: a gradient found in the cache needs none of them.
"""

from __future__ import annotations

import ast
import functools
import linecache
import re
from typing import Any, Callable, Mapping

from .backends import check_backend
from .dispatch import StructuredCalls, in_dtype_of, pattern_of, shape_key
from .errors import (
    InternalError,
    Location,
    NoDerivativeError,
    NonScalarOutputError,
    ReadAsStructureError,
    S2SError,
    ShapeMismatchError,
    UnsupportedSyntaxError,
    WrtError,
)
from .frontend import parse_function
from .frontend.bound import bound_values, unbind, with_bound, wrt_of_function
from .frontend.declared import declared_layouts
from .frontend.live import free_sources, functions_read
from .frontend.parsed import reads_structures
from .loading import LoadedModule, formatted_source, load_gradient
from .pipeline import (
    MODES,
    Stages,
    Wrt,
    check_checkpoint,
    generate,
    resolve_parsed_wrt,
    resolve_wrt,
)
from .shim import NARROW_FLOATS, NARROW_OR_FOREIGN, call_shim
from .structures import is_structure

#: `dW = dW + c` in generated code: c might be of another array library, and code
#: for numpy arguments adds in place.
_ADDS_OUT_OF_PLACE = re.compile(r"^ +(\w+) = \1 \+ ", re.MULTILINE)
#: Helpers of generic code that shape specialization replaces (see s2s.shapes).
_SHAPE_GENERIC = (
    "_check_scalar",
    "_unbroadcast",
    "_unbroadcast_to",
    "_unreduce",
    "_unreduce_to",
    "_matmul_adjoint_a",
    "_matmul_adjoint_b",
    "_dot_adjoint_a",
    "_dot_adjoint_b",
)


class GradFunction(StructuredCalls):
    """A compiled gradient: call it like the original function.

    `.source` is the generated module's text (formatted on first use), as `s2s
    generate` writes it less the header, wherever it came from: the code for
    arguments of any shape.  Called on arrays, the gradient runs code specialized for
    the shapes of the arguments (`g @ b.T` rather than a rank-generic helper),
    generated once per shape pattern and cached; `.source_for(*args)` shows it.
    `.fun` is the original function; `.provenance` says where the compiled code came
    from: "generated" now, the import-time "cache", or a "committed" generated/ module.

    Called with structures (a dict of arrays, a list of `(W, b)` layers), it runs
    code written for their layouts (see :mod:`s2s.structures`), generated on the
    first call with each layout.  A function that reads its parameters only as
    structures has no code for arrays: its errors for arrays are raised when it is
    called with arrays, and `.source` waits for `.source_for(*args)`.
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
        # A partial or a bound method: differentiate the function inside.
        self._target, bound = unbind(fun)
        parsed = parse_function(self._target)
        parsed.objects, parsed.functions = bound_values(fun, self._target)
        if bound is not None:
            wrt = wrt_of_function(fun, self._target, wrt)
        # Names resolve once: code generated later (for a new shape pattern) folds
        # in the values the first code folded in, which every piece checks on entry
        # (a changed one makes the gradient generate its code again).
        parsed.resolve = functools.lru_cache(maxsize=None)(parsed.resolve)
        self._parsed = parsed
        self._by_layouts, self._by_call = {}, {}
        mode = self.options.get("mode", "grad")
        if mode != "grad":
            suffix = MODES[mode]
        else:
            suffix = "_value_and_grad" if with_value else "_grad"
        self._name = parsed.name + suffix  # the function of the module that runs
        try:
            positions, self.many = resolve_parsed_wrt(parsed, wrt)
            self._positions = positions
            self._loaded = self._load(self.options)
        except S2SError as e:
            if not (isinstance(e, ReadAsStructureError) or reads_structures(parsed)):
                raise
            # Code for structures only: generated for each layout called with.
            self._without_structures = e
            positions, self.many = resolve_wrt(parsed.name, parsed.params, wrt)
            self._positions = positions
            self._loaded = LoadedModule({}, "", "generated", None, None)
        self.provenance = self._loaded.provenance
        self._compiled = self._loaded.namespace.get(self._name)
        #: The compiled code for arguments of any shape (what `.source` shows).
        self.generic = self._compiled
        # Generic code that calls shape-generic helpers, checks its result's rank
        # at run time or adds out of place gains from specializing.
        self._specialize = self._compiled is None or (
            mode == "grad"
            and "shapes" not in self.options
            and (
                any(name in self._loaded.namespace for name in _SHAPE_GENERIC)
                or _ADDS_OUT_OF_PLACE.search(self._loaded.code) is not None
            )
        )
        self._by_shapes: dict[tuple, Callable] = {}
        self._by_pattern: dict[tuple, LoadedModule] = {}
        self._defaults = tuple(shape_key(d) for d in parsed.defaults)
        self._nparams = len(parsed.params)
        # Not `fun.__dict__`: a gradient of a gradient must keep its own attributes.
        functools.update_wrapper(self, fun, updated=())
        self.__name__ = self.__qualname__ = self._name
        # What s2s reads to differentiate this gradient again (see frontend).
        self.__s2s_source__ = self._compiled
        # Differentiated arguments are reals (tangents too, after the parameters);
        # others (sizes, indices) keep their type.
        if mode == "grad":
            params, reals = parsed.params, list(positions)
            defaults = dict(
                zip(params[len(params) - len(parsed.defaults) :], parsed.defaults)
            )
        else:
            tangents = len(positions) if mode in ("jvp", "hvp") else 1
            if self._compiled is not None:
                code = self._compiled.__code__
                params = list(code.co_varnames[: code.co_argcount])
            else:  # code for structures only: named as it would name them
                params = list(parsed.params) + (
                    [parsed.params[k] + "_dot" for k in positions]
                    if mode in ("jvp", "hvp")
                    else ["d" + parsed.name]
                )
            reals = [
                *positions,
                *range(len(parsed.params), len(parsed.params) + tangents),
            ]
            defaults = {}
        self._passed = free_sources(self._target)
        self._reals = set(reals)
        # The call shim, given the code for floats once a call with floats ran it.
        self._shim = functools.partial(
            call_shim,
            self,
            params,
            defaults,
            len(parsed.node.args.posonlyargs),
            reals,
            None if self._specialize else self._compiled,
            narrowable=parsed.params if mode == "grad" else [],
            keywords=self._keywords(self._compiled) if self._compiled else [],
            functions=parsed.functions if mode == "grad" else {},
            inlined=functions_read(self._target),
            keyword_only=parsed.keyword_only if mode == "grad" else 0,
            structured=True,
            vararg=parsed.vararg if mode == "grad" else None,
            declared=list(declared_layouts(parsed)),
            narrow_dtypes=(
                NARROW_OR_FOREIGN
                if self.options.get("backend") == "array_api"
                else NARROW_FLOATS
            ),
        )
        self._params = params
        #: What a gradient of this gradient binds too (see frontend.bound).
        self.__s2s_bound__ = bound
        self._floats_known(None)

    def _floats_known(self, floats: Callable | None) -> None:
        """Call the shim written with `floats`, the code for float arguments."""
        shim = self._shim(floats=floats)
        # A static method: the shim is this gradient's own function (bound to self
        # already), so a wrong call is reported as Python reports one to f.
        if self.__s2s_bound__ is not None:
            shim = with_bound(shim, self.__s2s_bound__, self._params)
        call = {"__call__": staticmethod(shim), "_shim": True}
        base = type(self).__bases__[0] if "_shim" in vars(type(self)) else type(self)
        self.__class__ = type(base.__name__, (base,), call)

    @functools.cached_property
    def source(self) -> str:
        if self._compiled is None:
            raise S2SError(
                f"{self._target.__name__} reads its parameters as structures, so its "
                "code is written for the layout of the structures it is called with",
                hint=f"Show the code for given arguments: "
                f"{self.__name__}.source_for(*args).",
            )
        return self._shown(self._loaded)

    def _load(self, options: Mapping[str, Any]) -> LoadedModule:
        """The module of this gradient generated with these options (if generated,
        with only the function that runs)."""
        return load_gradient(
            self._parsed, self._positions, self.many, options, only=self._name
        )

    def _shown(self, loaded: LoadedModule) -> str:
        """A module's formatted text, the whole module (generated now if what runs
        is only the function this gradient calls)."""
        if loaded.only is not None:
            loaded = load_gradient(
                self._parsed, self._positions, self.many, loaded.options
            )
        return formatted_source(loaded)

    @functools.cached_property
    def stages(self) -> Stages:
        """Every stage of the pipeline, for the whole module (generated now if the
        code came from a cache, or holds only the function that runs)."""
        if self._loaded.stages is not None and self._loaded.only is None:
            return self._loaded.stages
        names = tuple(self._parsed.params[i] for i in self._positions)
        return generate(self._parsed, names if self.many else names[0], **self.options)

    def source_for(self, *args: Any, **kwargs: Any) -> str:
        """The module that runs for these arguments: specialized for their shapes."""
        args = self._positional(args, kwargs)
        if any(map(is_structure, args)):
            return self._shown(self._structured_code(args).loaded)
        if not self._specialize:
            return self.source
        self._specialized(args)
        return self._shown(self._by_pattern[self._pattern(args)])

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Replaced, per function, by the shim `_call_shim` writes (see __init__).
        return type(self).__call__(self, *args, **kwargs)

    def _keywords(self, compiled: Callable) -> list[tuple[str, str, Any]]:
        """How the shim passes each keyword-only parameter of the compiled code (a
        closure variable of the function): its name, the expression that reads it
        from its holder, and the holder (a cell, a module's dictionary)."""
        code = compiled.__code__
        start = code.co_argcount
        found = []
        for k, name in enumerate(
            code.co_varnames[start : start + code.co_kwonlyargcount]
        ):
            if name not in self._passed:
                raise InternalError(
                    f"the code generated for {self._target.__qualname__} takes {name}, "
                    "which the function does not read"
                )
            access, holder = self._passed[name]
            found.append((name, f"_s2s_passed_{k}{access}", holder))
        return found

    def _in_argument_dtypes(self, result: Any, args: tuple) -> Any:
        """The gradients in `result` in the float dtypes of their arguments (float32
        in, float32 out; float64 for Python numbers), whatever numpy computed."""
        aux = not self.with_value and self.options.get("has_aux", False)
        if self.with_value or aux:  # (value, grads), or (grads, aux)
            value, grads = result[::-1] if aux else result
        else:
            value, grads = None, result
        wrt = [args[i] for i in self._positions]
        if self.many:
            grads = tuple(map(in_dtype_of, grads, wrt))
        else:
            grads = in_dtype_of(grads, wrt[0])
        if self.with_value or aux:
            return (grads, value) if aux else (value, grads)
        return grads

    def _regenerated(self, changed: str, args: tuple) -> Any:
        """The gradient at `args` by code generated again: a free value the code
        was written for (an axis, a size, a function it inlined) has changed."""
        if getattr(self, "_regenerating", False):
            raise InternalError(
                f"the gradient of {self._target.__qualname__} was generated again for "
                f"the new value of {changed}, and still found it changed",
                hint="This is a bug in s2s. Please report it with the function.",
            )
        self.__init__(self.fun, self.wrt, self.with_value, self.options)
        self._regenerating = True
        try:
            return self(*args)
        finally:
            self._regenerating = False

    def _other_function(self, name: str, given: Any) -> None:
        """Refuse a call giving a parameter another function than the code was
        generated for."""
        meant = self._parsed.functions[name]
        said = getattr(given, "__name__", type(given).__name__)
        raise S2SError(
            f"{self.__name__} was generated for {name}="
            f"{getattr(meant, '__name__', meant)}, and is called with {name}={said}",
            hint=f"A function argument is part of the code s2s writes: make a "
            f"gradient for each, s2s.grad(functools.partial("
            f"{self._target.__name__}, {name}={said})).",
        )

    def _raise_failure(self, e: Exception, args: tuple) -> None:
        """Say what an exception raised inside the generated code means: a check of
        the arguments (an S2SError), an error of the function itself (raised again
        as the function raises it), or a bug of s2s (an InternalError)."""
        if isinstance(e, S2SError):
            return
        if isinstance(e, ValueError):
            self._raise_translated(e)
        try:
            self._target(*self._spread(args)[: self._nparams])
        except Exception:
            return  # f fails too: the error is the user's, raised from its own line
        raise InternalError(
            f"the code s2s generated for {self._target.__qualname__} raised "
            f"{type(e).__name__}: {e}, although {self._target.__name__} itself runs on "
            "these arguments",
            hint="This is a bug in s2s. Please report it with the function and the "
            "arguments (their shapes and dtypes), and the traceback above.",
        ) from e

    def _raise_translated(self, e: ValueError) -> None:
        """Raise the s2s error a generated module's ValueError stands for, if any."""
        if hasattr(e, "s2s_shapes"):
            raise ShapeMismatchError(
                str(e).split(": pass", 1)[0],
                hint="Pass arguments of the shapes the parameters are annotated "
                "with (a name is a size other than 1, the same name the same "
                "size), or drop the annotations for code that takes any shapes.",
            ) from None
        where = getattr(e, "s2s_in_place", None)
        if where is not None:  # "path:line" of the update, in the user's code
            path, _, line = where.rpartition(":")
            text = linecache.getline(path, int(line)).rstrip("\n")
            message, hint = str(e).split(": ", 1)[1].split(": write", 1)
            raise UnsupportedSyntaxError(
                message, Location(path, int(line), 0, text), "Write" + hint + "."
            ) from None
        if getattr(e, "s2s_degenerate", False):
            message, _, hint = str(e).partition(": differentiate")
            raise NoDerivativeError(
                message,
                hint=("Differentiate" + hint + ".") if hint else "",
            ) from None
        shape = getattr(e, "s2s_shape", None)
        if shape is not None:
            raise NonScalarOutputError(
                f"{self._target.__name__} returned an array of shape {shape}, but grad needs "
                f"a scalar result",
                self._returned_at(),
                hint="Reduce the result to a scalar (for example with .sum() or .mean()), "
                "or differentiate each element separately.",
            ) from None

    def _returned_at(self) -> Location:
        """Where the function returns its result (its last `return`), for errors."""
        node = self._parsed.node
        returns = [n for n in ast.walk(node) if isinstance(n, ast.Return)]
        last = max(returns, key=lambda n: n.lineno, default=node)
        return self._parsed.location(last)

    def _positional(self, args: tuple, kwargs: dict) -> tuple:
        """Keyword arguments bound to their parameters' positions, as f would
        (`*xs` gathered into the tuple it is)."""
        if kwargs:
            import inspect

            args = tuple(inspect.signature(self._target).bind(*args, **kwargs).args)
        if self._parsed.vararg is not None:
            k = self._parsed.params.index(self._parsed.vararg)
            args = (*args[:k], tuple(args[k:]))
        return args

    def _spread(self, args: tuple) -> tuple:
        """Arguments as f takes them: `*xs` given as its items."""
        if self._parsed.vararg is None:
            return args
        k = self._parsed.params.index(self._parsed.vararg)
        return (*args[:k], *args[k], *args[k + 1 :])

    def _pattern(self, args: tuple) -> tuple:
        keys = [shape_key(a) for a in args]
        keys += (
            self._defaults[len(keys) - self._nparams :]
            if len(keys) < self._nparams
            else []
        )
        return pattern_of(keys)

    def _specialized(self, args: tuple) -> Callable:
        """The compiled code for arguments of these shapes (made on first need)."""
        shapes = tuple(map(shape_key, args))
        compiled = self._by_shapes.get(shapes)
        if compiled is not None:
            return compiled
        pattern = self._pattern(args)
        loaded = self._by_pattern.get(pattern)
        if loaded is None:
            names = self._parsed.params
            known = {n: p for n, p in zip(names, pattern) if p is not None}
            options = dict(self.options, shapes=known)
            loaded = self._load(options)
            self._by_pattern[pattern] = loaded
        compiled = self._by_shapes[shapes] = loaded.namespace[self._name]
        return compiled

    def __repr__(self) -> str:
        return f"<s2s gradient {self.__name__} of {self._target.__qualname__}>"


def grad(
    f: Callable | None = None,
    wrt: Wrt = 0,
    *,
    argnums: Wrt | None = None,
    has_aux: bool = False,
    backend: str = "numpy",
    checkpoint: int | str | None = None,
) -> Any:
    """The gradient of `f` with respect to parameter(s) `wrt`.

    `wrt` is an index, a name, or a tuple of them (then a tuple of gradients is
    returned, in that order); `argnums` is JAX's name for it.  A parameter may hold
    a structure (dicts, lists, tuples, namedtuples of arrays): its gradient is a
    structure of the same layout.  With `has_aux`, `f` returns `(value, aux)` and
    the gradient `(gradient, aux)`, aux passed on as it is.  Usable as
    `s2s.grad(f)`, `@s2s.grad` or `@s2s.grad(wrt=("w", "b"))`.  The result has the
    same signature as `f`, and `.source` holds the generated code.  `backend`:
    see :mod:`s2s.backends`.  With `checkpoint=k` (or "auto") each loop keeps at
    most k loop states for its reverse sweep, which recomputes the others.
    """
    return _transform(f, wrt, argnums, has_aux, backend, False, checkpoint)


def value_and_grad(
    f: Callable | None = None,
    wrt: Wrt = 0,
    *,
    argnums: Wrt | None = None,
    has_aux: bool = False,
    backend: str = "numpy",
    checkpoint: int | str | None = None,
) -> Any:
    """Like :func:`grad`, but returns `(f(*args), gradient)` (with `has_aux`,
    `((value, aux), gradient)`)."""
    return _transform(f, wrt, argnums, has_aux, backend, True, checkpoint)


def _transform(
    f: Callable | None,
    wrt: Wrt | None,
    argnums: Wrt | None,
    has_aux: bool,
    backend: str,
    with_value: bool,
    checkpoint: int | str | None = None,
) -> Any:
    name = "value_and_grad" if with_value else "grad"
    if argnums is not None:
        if not (type(wrt) is int and wrt == 0):
            raise WrtError(
                f"{name} was given both wrt={wrt!r} and argnums={argnums!r}",
                hint="argnums is another name for wrt: give one of them.",
            )
        wrt = argnums
    check_backend(backend)
    options: dict[str, Any] = {"has_aux": True} if has_aux else {}
    if backend != "numpy":  # the default is left out of cache keys
        options["backend"] = backend
    if checkpoint is not None:
        check_checkpoint(checkpoint)
        options["checkpoint"] = checkpoint
    if f is None:
        return lambda g: _transform(
            g, wrt, None, has_aux, backend, with_value, checkpoint
        )
    if not callable(f):
        raise S2SError(
            f"expected a function to differentiate, got {type(f).__name__}",
            hint=f"Use `@s2s.{name}`, `@s2s.{name}(wrt=...)` or "
            f"`s2s.{name}(f, wrt=...)`.",
        )
    return GradFunction(f, wrt, with_value, options)
