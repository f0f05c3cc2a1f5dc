"""Structured parameters in the IR (see :mod:`s2s.structures`): a parameter that
holds a structure, each of its leaves a value of the graph, and the structure of
values a generated function returns for it (its gradient, its tangent)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ..structures import Layout, rebuilt
from .nodes import Const, Operand, Var


@dataclass(eq=False)
class Structured:
    """A parameter that holds a structure (see :mod:`s2s.structures`): the function
    takes it as `name`, and each leaf is a value of its own, a parameter read from
    the structure on entry (a Var) or a constant the code was written for."""

    name: str
    layout: Layout
    leaves: list[Operand]

    def paths(self) -> list[str]:
        """How each leaf is read from the parameter: `params['W1']`, `p.W`."""
        return [path for path, _ in self.layout.leaves(self.name)]

    def held(self) -> Any:
        """The structure as the lowering holds it: the leaves in dicts, tuples
        (for lists too) and namedtuples."""
        return rebuilt(self.layout, iter(self.leaves), lists=tuple)


@dataclass(frozen=True, eq=False)
class Packed:
    """Values a generated function returns as a structure of `like`'s layout (the
    gradient of a structured parameter): `leaves` in the order of its leaves."""

    like: Structured
    leaves: tuple


def input_name(value: Var | Structured) -> str:
    """The name of a parameter as the function takes it."""
    return value.name if isinstance(value, Structured) else value.hint


def differentiated(value: Var | Structured) -> list[Var]:
    """The values differentiated for a parameter: itself, or each leaf of a
    structured one that is not a constant."""
    if not isinstance(value, Structured):
        return [value]
    return [leaf for leaf in value.leaves if isinstance(leaf, Var)]


def regrouped(chosen: Sequence[Var | Structured], flat: Sequence[Any]) -> list[Any]:
    """The derivatives of `chosen` parameters, given one per differentiated value
    (see :func:`differentiated`): one per parameter, a structured one's packed
    as its structure (None for its constant leaves)."""
    values, grouped = iter(flat), []
    for value in chosen:
        if not isinstance(value, Structured):
            grouped.append(next(values))
            continue
        leaves = tuple(
            next(values) if isinstance(leaf, Var) else Const(None)
            for leaf in value.leaves
        )
        grouped.append(Packed(value, leaves))
    return grouped
