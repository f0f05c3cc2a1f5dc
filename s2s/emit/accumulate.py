"""Updates in place: which `acc = acc + c` of an array the function owns (and nothing
else reads) may be written `acc += c`, and which `out = _setitem(out, v, np.s_[i])`
may be written `out[i] = v`, as hand-written code would."""

from __future__ import annotations

from typing import Any

from ..ir import If, Loop, Op, Operand, Role, Stmt, Var, operands, operands_of, walk
from ..primitives import PRIMITIVES
from ..shapes.classes import ShapeClasses
from ..shapes.inference import ShapeInference
from .array_types import ArrayTypes


def _allocates(op: Stmt) -> bool:
    """Whether op always makes a new array (or an immutable number): numpy's
    arithmetic, and the ops whose record says so."""
    if not isinstance(op, Op) or op.outs or op.params.get("lib") in ("math", "builtin"):
        return False
    prim = PRIMITIVES[op.prim]
    spelled = prim.operator is not None or prim.numpy is not None
    return prim.allocates or (prim.elementwise and spelled)


def _readers(stmts: list[Stmt]) -> dict[Var, int]:
    """How often each value is read, a read in a loop that the value was defined
    outside of counting twice (it happens on every iteration)."""
    depth: dict[Var, int] = {}
    reads: list[tuple[Operand | None, int]] = []

    def block(body: list[Stmt], d: int) -> None:
        for s in body:
            depth.update({v: d for v in s.defines})
            if isinstance(s, If):
                reads.extend((x, d) for x in operands(s))
                block(s.then, d)
                block(s.orelse, d)
            elif isinstance(s, Loop):
                inner = [*s.carried, *([s.index] if s.index is not None else [])]
                depth.update({v: d + 1 for v in inner})
                reads.extend((x, d) for x in [*s.inits, s.iterable])
                reads.extend((x, d + 1) for x in [s.cond, s.stop, *s.nexts])
                block(s.header, d + 1)
                block(s.body, d + 1)
            else:  # an operand read for its shape only sees no update of its values
                shape_only = PRIMITIVES[s.prim].shape_only
                reads.extend((x, d) for k, x in enumerate(s.args) if k != shape_only)

    block(stmts, 0)
    readers: dict[Var, int] = {}
    for x, at in reads:
        if isinstance(x, Var):
            readers[x] = readers.get(x, 0) + (1 if depth.get(x, 0) >= at else 2)
    return readers


def accumulations(
    stmts: list[Stmt],
    roots: list[Any],
    shapes: Any = None,
    classes: ShapeClasses | None = None,
    numpy: frozenset[Var] = frozenset(),
) -> set[int]:
    """The `acc + c` ops (by id) that may add c into acc's array in place (`acc += c`,
    as hand-written code accumulates): acc holds a new array that nothing else reads
    or holds (made by arithmetic, directly or through a loop's carried value), and
    the sum has acc's shape, and acc's array is of every library c's may be (see
    array_types: a numpy acc does not take in a Dask c).  Elsewhere `+` makes a new
    array, since acc might be a view of an argument, a value saved on a tape, or
    smaller than the sum, or numpy's where c is Dask's.
    `classes` are the statements' shape classes, where the optimizer left them;
    `numpy` the inputs known to hold numpy arrays or numbers."""
    readers = _readers(stmts)
    for r in operands_of(tuple(roots)):
        readers[r] = readers.get(r, 0) + 1
    defs: dict[Var, Stmt] = {}
    carried: dict[Var, tuple[Loop, int]] = {}
    for s in walk(stmts):
        for v in s.defines:
            defs[v] = s
        if isinstance(s, Loop):
            for k, c in enumerate(s.carried):
                carried[c] = (s, k)
    info = ShapeInference(stmts, shapes) if shapes else None
    classes = classes or ShapeClasses(stmts)

    def same_shape(a: Var, b: Var) -> bool:
        if info is not None and info.shape(a) is not None:
            return info.shape(a) == info.shape(b) and None not in info.shape(a)
        return classes.same(a, b)

    def owned(
        v: Any, fresh_next: Var | None = None, seen: frozenset = frozenset()
    ) -> bool:
        """v is a new array read once (by the accumulation, or a loop slot)."""
        if not isinstance(v, Var) or readers.get(v, 0) != 1 or v in seen:
            return False
        seen |= {v}
        if v in carried:  # each iteration updates the array the previous one ended with
            loop, k = carried[v]
            nxt = loop.nexts[k]
            if readers.get(nxt) != 1 or not owned(loop.inits[k], seen=seen):
                return False
            # The array an iteration ends with is its own: made by this update, or
            # by others (`dx[i] += a; dx[i + 1] += b`), each new or updating its own.
            return nxt is fresh_next or made_own(nxt, seen)
        return made_own(v, seen)

    def made_own(v: Var, seen: frozenset) -> bool:
        """v's array is new, or one its making took over from the one value that
        held it (an update `acc + c`, `acc[i] = c`, in place or not)."""
        made = defs.get(v)
        if isinstance(made, Op) and made.prim == "copy":  # `dW = <a new array>`
            return owned(made.args[0], seen=seen)
        return _allocates(made) or isinstance(made, Op) and made.prim == "setitem"

    candidates = []
    for s in walk(stmts):
        if isinstance(s, Op) and s.prim == "setitem" and owned(s.args[0], s.out):
            candidates.append(s)  # `out[i] = v` into the function's own new array
        if isinstance(s, Op) and s.prim == "add" and isinstance(s.args[0], Var):
            acc = s.args[0]
            if (
                s.out.role == Role.ADJOINT
                and owned(acc, s.out)
                and same_shape(acc, s.out)
            ):
                candidates.append(s)
    if not candidates:
        return set()
    types = ArrayTypes(stmts, numpy)  # unless numpy's array would take in another's:
    found = {id(s) for s in candidates if types.follows(s.args[0], s.args[1])}
    return found
