"""Free names: data a function reads from outside it (a module global, a closure
variable), read each time the gradient runs, so that it is never the gradient of a
stale value.

Each is read once, at the top of the function, so that the gradient runs with one
consistent view of the data:

- a global of an importable module is read from the module (`mlp =
  _module("examples.mlp")`, then `X = mlp.X`), imported when the gradient first runs;
- the function's own closure variables (and the globals of a namespace no import
  reaches, code run by `exec`) are keyword-only parameters of the generated code
  (`def loss_grad(w, *, X, y)`), which `s2s.grad` passes from the function's cells
  at each call;
- a helper's own closure variables are read from the helper itself
  (`_closure_variable(act, "alpha")`), the helper being read like any free name.

Where the code needs a value when it is generated (an axis, a tuple's index), the
value of the moment is folded in, and the function checks on entry that it is still
that one; code specialized for its arguments' shapes is specialized for the shapes of
the arrays it reads too, and checks them on entry.  A failed check makes `s2s.grad`
generate the code again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy

from ..errors import InternalError, Location
from ..frontend.parsed import (
    UNKNOWN,
    Free,
    ParsedFunction,
    foldable,
    free_names,
    literal,
)
from ..ir import Namespace, Op, Operand, Role, Stmt, Var

#: A function's way from the differentiated function: the free names through which
#: it was reached, each read in the function before it (empty for the function itself).
Route = tuple[Free | None, ...]


@dataclass
class FreeReads:
    """The free reads of the function being lowered and of the functions inlined
    into it: the reads made so far, the keyword parameters they add, and the values
    folded in."""

    top: list[Stmt]  # the function's top block: the reads go at its start
    loc: Location  # the function's `def` line, which the reads are under
    names: Namespace
    defs: dict[Var, Op]  # the builder's: each read's op
    reads: dict[tuple, Var] = field(default_factory=dict)
    keywords: list[Var] = field(default_factory=list)  # passed by the caller
    sources: dict[Var, Free] = field(default_factory=dict)  # what each read read
    folded: dict[Var, Free] = field(default_factory=dict)
    hoisted: int = 0  # how many statements the reads put at the top
    #: Whether code is specialized for the shapes of the arrays read (checked on
    #: entry), and their patterns (see s2s.shapes).
    shaped: bool = False
    patterns: dict[Var, tuple] = field(default_factory=dict)
    sizes: dict[int, str] = field(default_factory=dict)

    def read(self, free: Free, route: Route = ()) -> Var:
        """The value of a free name of the function reached by `route`, read at the
        top of the differentiated function."""
        importable = free.where == "global" and free.module
        key = (_key(free),) if importable else (*map(_key, route), _key(free))
        if key in self.reads:
            return self.reads[key]
        if importable:
            module = self._module(free.module)
            var = self._hoist("attribute", (module,), free.name, name=free.name)
        elif not route:  # the function's own: passed by the caller
            var = Var(free.name, free.name, Role.KEYWORD)
            self.keywords.append(var)
        else:  # a helper's: read from the helper
            if route[-1] is None:
                raise InternalError(f"no way to the function that reads {free.name}")
            holder = self.read(route[-1], route[:-1])
            helper = f"{'closure' if free.where == 'cell' else 'global'}_variable"
            var = self._hoist(helper, (holder,), free.name, name=free.name)
        self.reads[key] = var
        self.sources[var] = free
        if self.shaped and type(free.value) is numpy.ndarray:
            self._shape(var, free)
        return var

    def _shape(self, var: Var, free: Free) -> None:
        """Code specialized for the shape of an array read: its pattern, and a
        check on entry that the array still has that shape."""
        shape = free.value.shape
        self._hoist(
            "check_shape", (var,), "checked", expected=shape, name=free.describe()
        )
        self.patterns[var] = tuple(
            1 if n == 1 else self.sizes.setdefault(n, f"data{len(self.sizes)}")
            for n in shape
        )

    def _module(self, name: str) -> Var:
        key = ("module", name)
        if key not in self.reads:
            hint = name.rsplit(".", 1)[-1].strip("_") or "module"
            self.reads[key] = self._hoist("module", (), hint, name=name)
        return self.reads[key]

    def _hoist(self, prim: str, args: tuple, hint: str, **params: Any) -> Var:
        var = Var(self.names.fresh(hint), hint, Role.USER)
        op = Op(prim, args, var, params, self.loc)
        self.top.insert(self.hoisted, op)
        self.hoisted += 1
        self.defs[var] = op
        return var

    def fold(self, value: Operand) -> Any:
        """The value of the moment of a free read the code needs when it is
        generated, and a check on entry that it is still that value; UNKNOWN when
        `value` is not a free read, or its value is not known (a file read without
        running it)."""
        free = self.sources.get(value) if isinstance(value, Var) else None
        if free is None or free.value is UNKNOWN or not foldable(free.value):
            return UNKNOWN
        if value not in self.folded:
            self.folded[value] = free
            expected = literal(free.value)
            self._hoist(
                "check_unchanged",
                (value,),
                "checked",
                expected=expected,
                name=free.describe(),
            )
        return literal(free.value)


def _key(free: Free) -> tuple[str, str, str]:
    return (
        free.where,
        free.module if free.where == "global" else free.owner,
        free.name,
    )


def passed_names(fn: ParsedFunction) -> list[str]:
    """The free names of `fn` that its caller passes to the generated code (which
    must keep their names): closure variables, and globals no import reaches."""
    passed = []
    for name in free_names(fn.node):
        binding = fn.resolve(name)
        source = binding and (
            binding.value if binding.kind == "data" else binding.source
        )
        if isinstance(source, Free) and not (
            source.where == "global" and source.module
        ):
            passed.append(name)
    return passed
