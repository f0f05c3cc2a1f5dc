"""Graph clean-up passes run before emission: each takes statements, returns
(statements, roots, changed).

Constant folding and the identities that are safe whatever the shapes happen while
ops are built (:class:`s2s.ir.Builder`); here are the passes that need the whole
program: shape classes (which drop needless `_unbroadcast` calls), common
subexpressions, and dead code.  All of them walk nested regions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace as copy_stmt
from typing import Any, Iterable

from .ir import (
    Const,
    If,
    Loop,
    maybe_undefined,
    Op,
    Operand,
    Stmt,
    Var,
    fold,
    operands,
    possibly_integral,
    walk,
)
from .primitives import PRIMITIVES
from .reverse import substitute
from .shapes import SHAPED_LIKE, ShapeInference, specialize

#: Ops kept for what they do, not for their value.
EFFECTS = {"check_scalar", "check_shapes", "push", "pop", "section"}
#: Ops never merged with an identical one: each makes a new object (a list, or an
#: iterator that one loop uses up).
_DISTINCT = EFFECTS | {"new_stack", "reversed"}


def operands_of(tree: Any) -> Iterable[Var]:
    """The variables in a (possibly nested) tuple of operands."""
    if isinstance(tree, tuple):
        for t in tree:
            yield from operands_of(t)
    elif isinstance(tree, Var):
        yield tree


def _vars(xs: Iterable[Operand | None]) -> set[Var]:
    return {x for x in xs if isinstance(x, Var)}


def _substitute_tree(tree: Any, replace: dict[Var, Operand]) -> Any:
    """Replace operands in a (possibly nested) tuple or list of roots."""
    if isinstance(tree, (tuple, list)):
        return type(tree)(_substitute_tree(t, replace) for t in tree)
    return replace.get(tree, tree) if isinstance(tree, Var) else tree


def _resolve(replace: dict[Var, Operand]) -> dict[Var, Operand]:
    """Follow chains a -> b -> c so that one substitution pass is enough."""
    out = {}
    for k, v in replace.items():
        while isinstance(v, Var) and v in replace:
            v = replace[v]
        out[k] = v
    return out


# --- common subexpressions ------------------------------------------------------------


def _key(op: Op) -> tuple[Any, ...] | None:
    if op.prim in _DISTINCT or op.outs or op.prim == "transpose":
        return None  # `x.T` costs nothing: no name `transpose = x.T` for it
    try:
        params = tuple(sorted(op.params.items()))
        hash(params)
    except TypeError:
        return None
    args = tuple(a.name if isinstance(a, Var) else ("c", repr(a)) for a in op.args)
    return (op.prim, args, params)


def eliminate_common_subexpressions(stmts: list[Stmt], roots: list[Any]):
    """Reuse the first of several identical ops (same primitive, operands, params)
    where it is visible: earlier in the same block or in an enclosing one."""
    replace: dict[Var, Operand] = {}

    def block(body: list[Stmt], seen: dict) -> None:
        for s in body:
            if isinstance(s, Op):
                key = _key(s)
                if key is not None and key in seen and s.out.role == "temp":
                    replace[s.out] = seen[key]
                elif key is not None:
                    seen.setdefault(key, s.out)
            elif isinstance(s, If):
                block(s.then, dict(seen))
                block(s.orelse, dict(seen))
            else:
                block(s.header + s.body, dict(seen))

    # Keys name operands, so substitute as we go: run until nothing more merges.
    stmts = _copy(stmts)
    changed = False
    while True:
        replace.clear()
        block(stmts, {})
        if not replace:
            break
        changed = True
        mapping = _resolve(replace)
        stmts = _drop_defs(stmts, set(mapping))
        substitute(stmts, mapping)
        roots = _substitute_tree(roots, mapping)
    return stmts, roots, changed


def _copy(stmts: list[Stmt]) -> list[Stmt]:
    """Fresh statement objects all the way down, so passes may edit them."""
    out: list[Stmt] = []
    for s in stmts:
        if isinstance(s, Op):
            out.append(copy_stmt(s))
        elif isinstance(s, If):
            out.append(
                copy_stmt(
                    s,
                    then=_copy(s.then),
                    orelse=_copy(s.orelse),
                    outs=list(s.outs),
                    then_vals=list(s.then_vals),
                    else_vals=list(s.else_vals),
                )
            )
        else:
            out.append(
                copy_stmt(
                    s,
                    header=_copy(s.header),
                    body=_copy(s.body),
                    carried=list(s.carried),
                    inits=list(s.inits),
                    nexts=list(s.nexts),
                    outs=list(s.outs),
                )
            )
    return out


def _drop_defs(stmts: list[Stmt], dropped: set[Var]) -> list[Stmt]:
    out = []
    for s in stmts:
        if isinstance(s, Op) and s.out in dropped:
            continue
        if isinstance(s, If):
            s.then, s.orelse = _drop_defs(s.then, dropped), _drop_defs(
                s.orelse, dropped
            )
        elif isinstance(s, Loop):
            s.header, s.body = _drop_defs(s.header, dropped), _drop_defs(
                s.body, dropped
            )
        out.append(s)
    return out


# --- shape classes ----------------------------------------------------------------------

_REDUCTIONS = {"sum", "mean", "prod", "max", "min", "var", "std", "norm"}

#: Helpers whose result has the shape given by their second operand (a shape tuple).
_SHAPED_BY = {"unbroadcast_to", "unreduce_to"}


class ShapeClasses:
    """Which values provably have the same shape, and which are provably scalars.

    A union-find over values, run to a fixed point.  Elementwise ops give their output
    the shape of their one non-scalar operand; a scalar output of an elementwise op
    makes every operand scalar; full reductions, `math` functions and the checked
    result are scalars; a phi whose inputs agree has their shape.  A loop-carried
    value is assumed to keep the shape it enters with, and the assumption is dropped
    (and everything recomputed) unless every iteration provably keeps it.
    """

    SCALAR = Var("<scalar>", "<scalar>")

    def __init__(self, stmts: list[Stmt], alike: Iterable[tuple[Var, Var]] = ()):
        self.alike = list(alike)  # pairs known to have one shape (a value, its tangent)
        loops = [s for s in walk(stmts) if isinstance(s, Loop)]
        assumed = {
            (loop, k)
            for loop in loops
            for k, init in enumerate(loop.inits)
            if init is not None
        }
        while True:
            self.parent: dict[Var, Var] = {}
            self._solve(stmts, assumed)
            broken = {
                (loop, k)
                for loop, k in assumed
                if not self.same(loop.nexts[k], loop.carried[k])
            }
            if not broken:
                break
            assumed -= broken

    def _solve(self, stmts: list[Stmt], assumed: set) -> None:
        defs = {s.out: s for s in walk(stmts) if isinstance(s, Op)}
        pushes = [s for s in walk(stmts) if isinstance(s, Op) and s.prim == "push"]
        sites = Counter(s.args[0] for s in pushes)
        # What is popped is what was pushed, when a tape is pushed in one place.
        pushed = {s.args[0]: s.args[1:] for s in pushes if sites[s.args[0]] == 1}
        for a, b in self.alike:
            self.union(a, b)
        # shape_of[s] is an array whose shape the tuple s is (made by `shape`).
        self.shape_of: dict[Var, Operand] = {
            s.out: s.args[0]
            for s in walk(stmts)
            if isinstance(s, Op) and s.prim == "shape"
        }
        for s in walk(stmts):  # a value popped off a tape is the value pushed
            if isinstance(s, Op) and s.prim == "pop":
                for a, b in zip(s.outs, pushed.get(s.args[0], ())):
                    self.union(a, b)
                    if b in self.shape_of:
                        self.shape_of[a] = self.shape_of[b]
        for loop, k in assumed:
            self.union(loop.carried[k], loop.inits[k])
            self.union(loop.outs[k], loop.carried[k])
        for s in walk(stmts):  # the index of a loop over a range is an int
            if isinstance(s, Loop) and s.index is not None:
                made = defs.get(s.iterable)
                if isinstance(made, Op) and made.prim in ("range", "reversed"):
                    self.union(s.index, self.SCALAR)
        self.rows: dict[tuple, Var] = {}  # x[i] and x[j] have one shape
        changed = True
        while changed:
            changed = False
            for s in walk(stmts):
                if isinstance(s, Op):
                    changed |= self._visit(s)
                elif isinstance(s, If):
                    for out, a, b in zip(s.outs, s.then_vals, s.else_vals):
                        sides = [x for x in (a, b) if x is not None]
                        if sides and all(self.same(x, sides[0]) for x in sides):
                            changed |= self.union(out, sides[0])

    def find(self, x: Operand | None) -> Var:
        if isinstance(x, Const):
            return self.SCALAR
        if x is None:
            return Var("<undefined>", "<undefined>")
        while self.parent.get(x, x) is not x:
            x = self.parent[x]
        return x

    def union(self, a: Operand, b: Operand) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra is rb:
            return False
        if rb is self.SCALAR:
            ra, rb = rb, ra
        self.parent[rb] = ra
        return True

    def same(self, a: Operand | None, b: Operand | None) -> bool:
        return self.find(a) is self.find(b)

    def is_scalar(self, a: Operand | None) -> bool:
        return a is not None and self.find(a) is self.SCALAR

    def _visit(self, op: Op) -> bool:
        changed = False
        if op.prim == "check_scalar" or op.params.get("lib") == "math":
            for x in (*op.args, op.out):
                changed |= self.union(x, self.SCALAR)
        elif op.prim in _REDUCTIONS:
            if op.params.get("axis") is None and not op.params.get("keepdims"):
                changed |= self.union(op.out, self.SCALAR)
        elif op.prim in SHAPED_LIKE:
            changed |= self.union(op.out, op.args[SHAPED_LIKE[op.prim]])
        elif op.prim in _SHAPED_BY and op.args[1] in self.shape_of:
            changed |= self.union(op.out, self.shape_of[op.args[1]])
        elif op.prim in ("zeros", "ones") and op.args[0] in self.shape_of:
            changed |= self.union(op.out, self.shape_of[op.args[0]])
        elif op.prim == "getitem" and all(self.is_scalar(a) for a in op.args[1:]):
            key = (self.find(op.args[0]), repr(op.params["spec"]))
            changed |= self.union(op.out, self.rows.setdefault(key, op.out))
        elif op.prim in ("len", "size", "ndim", "range") or op.prim in _COMPARISONS:
            if op.prim not in _COMPARISONS:
                changed |= self.union(op.out, self.SCALAR)
            else:
                changed |= self._elementwise(op)
        elif PRIMITIVES[op.prim].elementwise:
            changed |= self._elementwise(op)
        return changed

    def _elementwise(self, op: Op) -> bool:
        changed = False
        shapes = {self.find(a) for a in op.args} - {self.SCALAR}
        if len(shapes) <= 1:
            changed |= self.union(op.out, shapes.pop() if shapes else self.SCALAR)
        if self.find(op.out) is self.SCALAR:
            for a in op.args:
                changed |= self.union(a, self.SCALAR)
        return changed


_COMPARISONS = {"lt", "le", "gt", "ge", "eq", "ne"}
_RANK = {"param": 0, "user": 1, "adjoint": 2, "temp": 3}
#: Operands read only for their shape: any value of the same shape may stand in.
_SHAPE_ONLY = {"unbroadcast": 1, "unreduce": 1, "size": 0, "shape": 0}


def simplify_shapes(
    stmts: list[Stmt],
    roots: list[Any],
    params: Iterable[Var],
    alike: Iterable[tuple[Var, Var]] = (),
):
    """Drop `_unbroadcast(g, x)` where g and x provably have the same shape; make
    zeros of a provably scalar shape `0.0`; read shapes off the best-named value of
    the same shape that is visible there (a parameter rather than a temporary), so
    that the temporary need not be kept."""
    classes = ShapeClasses(stmts, alike)
    undefined = maybe_undefined(stmts)  # no stand-ins: they may not exist when read

    def prefer(best: dict[Var, Var], v: Var) -> None:
        if v in undefined:
            return
        root, held = classes.find(v), best.get(classes.find(v))
        if held is None or (_RANK[v.role], v.name) < (_RANK[held.role], held.name):
            best[root] = v

    replace: dict[Var, Operand] = {}
    changed = False
    shape_of = {
        s.out: s.args[0] for s in walk(stmts) if isinstance(s, Op) and s.prim == "shape"
    }

    def block(body: list[Stmt], best: dict[Var, Var]) -> list[Stmt]:
        """Simplify a block; `best` holds the preferred visible value of each class."""
        nonlocal changed
        best = dict(best)
        out: list[Stmt] = []
        for s in body:
            if isinstance(s, If):
                s.then, s.orelse = block(s.then, best), block(s.orelse, best)
            elif isinstance(s, Loop):
                inside = dict(best)
                for v in s.carried + ([s.index] if s.index else []):
                    prefer(inside, v)
                s.header = block(s.header, inside)
                s.body = block(s.body, inside)
            elif isinstance(s, Op):
                k = _SHAPE_ONLY.get(s.prim)
                like = s.args[k] if k is not None else None
                if isinstance(like, Var):
                    stand_in = best.get(classes.find(like), like)
                    if (
                        stand_in is not like
                        and _RANK[stand_in.role] < _RANK[like.role]
                        and (like.role == "temp" or stand_in.role == "param")
                    ):
                        args = list(s.args)
                        args[k] = stand_in
                        s.args = tuple(args)
                        changed = True
                if s.prim == "unbroadcast_to" and classes.same(
                    s.args[0], classes.shape_of.get(s.args[1])
                ):
                    s.prim, s.args = "unbroadcast", (s.args[0], s.args[0])
                if s.prim == "unbroadcast" and classes.same(*s.args):
                    if s.out.role == "temp":
                        replace[s.out] = s.args[0]
                        continue
                    s.prim, s.args = "copy", s.args[:1]
                    changed = True
                if s.prim == "zeros" and classes.is_scalar(shape_of.get(s.args[0])):
                    if s.out.role == "temp":
                        replace[s.out] = Const(0.0)
                        continue
                    s.prim, s.args = "copy", (Const(0.0),)
                    changed = True
            for v in s.defines:
                prefer(best, v)
            out.append(s)
        return out

    visible: dict[Var, Var] = {}
    for p in params:
        prefer(visible, p)
    stmts = block(_copy(stmts), visible)
    if replace:
        mapping = _resolve(replace)
        substitute(stmts, mapping)
        roots = _substitute_tree(roots, mapping)
    return stmts, roots, changed or bool(replace)


# --- constants --------------------------------------------------------------------------


def fold_constants(stmts: list[Stmt], roots: list[Any]):
    """Fold what other passes left foldable (`1.0 * 2` once a spread of a scalar
    adjoint is gone): ops on constants, and `x * 1`, `x + 0` and the like.  Inside
    loops a named constant (`ds = 1.0`) is folded into its uses too; elsewhere it
    keeps its name, as the seed notes write `dv = 3.0` and `da = dv`."""
    replace: dict[Var, Operand] = {}
    in_loops = {
        id(s) for loop in walk(stmts) if isinstance(loop, Loop) for s in walk(loop.body)
    }
    derivative = False  # identities hold in derivative code, where values are floats
    integral = possibly_integral(stmts)
    for s in walk(stmts):
        if isinstance(s, Op) and s.prim == "section":
            derivative = s.params.get("name") == "reverse"
        if not isinstance(s, Op) or s.outs:
            continue
        args = tuple(_resolve_one(a, replace) for a in s.args)
        if s.out.role == "temp":
            value = fold(s.prim, args, identities=derivative, integral=integral)
        elif s.prim == "copy" and isinstance(args[0], Const) and id(s) in in_loops:
            value = args[0]
        else:
            value = None
        if value is not None:
            replace[s.out] = value
    if not replace:
        return stmts, roots, False
    mapping = _resolve(replace)
    stmts = _drop_defs(_copy(stmts), set(mapping))
    substitute(stmts, mapping)
    return stmts, _substitute_tree(roots, mapping), True


def _resolve_one(x: Operand, replace: dict[Var, Operand]) -> Operand:
    while isinstance(x, Var) and x in replace:
        x = replace[x]
    return x


# --- dead code --------------------------------------------------------------------------


def eliminate_dead_code(stmts: list[Stmt], roots: list[Any]):
    """Drop what reaches neither a root nor an effect, loops and branches included."""
    live = set(operands_of(tuple(roots)))
    before = sum(1 for _ in walk(stmts))
    kept = _live_block(stmts, live)
    return kept, roots, sum(1 for _ in walk(kept)) != before


def _live_block(stmts: list[Stmt], live: set[Var]) -> list[Stmt]:
    """Keep the statements of a block that matter, given what is live after it;
    update `live` to what is live before it."""
    kept: list[Stmt] = []
    for s in reversed(stmts):
        if isinstance(s, Op):
            if s.prim in EFFECTS or any(d in live for d in s.defines):
                live.difference_update(s.defines)
                live.update(_vars(s.args))
                kept.append(s)
        elif isinstance(s, If):
            region = _live_if(s, live)
            if region is not None:
                kept.append(region)
        else:
            region = _live_loop(s, live)
            if isinstance(region, list):
                kept.extend(reversed(region))
            elif region is not None:
                kept.append(region)
    kept.reverse()
    return kept


def _live_if(s: If, live: set[Var]) -> If | None:
    keep = [i for i, o in enumerate(s.outs) if o in live]
    after = live - set(s.outs)
    sides = []
    for body, vals in ((s.then, s.then_vals), (s.orelse, s.else_vals)):
        side_live = after | _vars(vals[i] for i in keep)
        sides.append((_live_block(body, side_live), side_live))
    (then, then_live), (orelse, else_live) = sides
    if not keep and not then and not orelse:
        return None
    live.clear()
    live.update(then_live | else_live | _vars([s.cond]))
    return copy_stmt(
        s,
        then=then,
        orelse=orelse,
        outs=[s.outs[i] for i in keep],
        then_vals=[s.then_vals[i] for i in keep],
        else_vals=[s.else_vals[i] for i in keep],
    )


def _live_loop(s: Loop, live: set[Var]) -> Loop | None:
    keep = {k for k, o in enumerate(s.outs) if o in live}
    while True:
        body_live = _vars([*(s.nexts[k] for k in keep), s.stop])
        body = _live_block(s.body, body_live)
        header_live = body_live | _vars([s.cond])
        header = _live_block(s.header, header_live)
        more = {k for k, c in enumerate(s.carried) if c in header_live} - keep
        if not more:
            break
        keep |= more
    effects = any(isinstance(x, Op) and x.prim in EFFECTS for x in walk(body))
    if not keep and not effects:
        return None
    copies = {
        op.out: op.args[0] for op in body if isinstance(op, Op) and op.prim == "copy"
    }

    def through_copies(x):
        while x in copies:
            x = copies[x]
        return x

    only_copies = len(copies) == len(body)
    if only_copies and all(through_copies(s.nexts[k]) is s.carried[k] for k in keep):
        # Nothing happens in an iteration: after the loop, each value is as it entered.
        idle = [Op("copy", (s.inits[k],), s.outs[k], {}, s.loc) for k in sorted(keep)]
        live.difference_update(s.outs)
        live.update(_vars(s.inits[k] for k in keep))
        return idle
    order = sorted(keep)
    live.difference_update(s.outs)
    live.update(_vars([*(s.inits[k] for k in order), s.iterable]))
    live.update(header_live - set(s.carried) - {s.index})
    return copy_stmt(
        s,
        header=header,
        body=body,
        carried=[s.carried[k] for k in order],
        inits=[s.inits[k] for k in order],
        nexts=[s.nexts[k] for k in order],
        outs=[s.outs[k] for k in order],
    )


def optimize(
    stmts: list[Stmt],
    roots: list[Any],
    params: Iterable[Var] = (),
    shapes: dict[Var, Any] | None = None,
    alike: Iterable[tuple[Var, Var]] = (),
):
    """Run the passes to a fixed point (each reports whether it changed anything).
    With the parameters' `shapes` (see :mod:`s2s.shapes`), specialize for them;
    `alike` pairs values known to have the same shape."""
    changed = True
    while changed:
        special = False
        if shapes:
            stmts, roots, special = specialize(stmts, roots, shapes)
        stmts, roots, folded = fold_constants(stmts, roots)
        stmts, roots, cse = eliminate_common_subexpressions(stmts, roots)
        stmts, roots, classes = simplify_shapes(stmts, roots, params, alike)
        stmts, roots, dce = eliminate_dead_code(stmts, roots)
        stmts, roots, tapes = prune_tapes(stmts, roots)
        stmts, roots, hoisted = hoist_invariants(stmts, roots)
        stmts, roots, unchanged = drop_unchanged_carried(stmts, roots)
        changed = (
            special or folded or cse or classes or dce or tapes or hoisted or unchanged
        )
    return stmts, roots


# --- loop invariants ----------------------------------------------------------------------


def drop_unchanged_carried(stmts: list[Stmt], roots: list[Any]):
    """A value a loop carries but never changes (`ds` of `s = s + ...`, which every
    iteration passes on as it came) is its initial value throughout: read that."""
    stmts = _copy(stmts)
    replace: dict[Var, Operand] = {}
    for loop in walk(stmts):
        if not isinstance(loop, Loop):
            continue
        copies = {
            s.out: s.args[0]
            for s in walk(loop.body)
            if isinstance(s, Op) and s.prim == "copy"
        }
        keep = []
        for k, c in enumerate(loop.carried):
            nxt = loop.nexts[k]
            while nxt in copies:
                nxt = copies[nxt]
            if nxt is c and loop.inits[k] is not None:
                replace[c] = replace[loop.outs[k]] = loop.inits[k]
            else:
                keep.append(k)
        if len(keep) < len(loop.carried):
            for name in ("carried", "inits", "nexts", "outs"):
                setattr(loop, name, [getattr(loop, name)[k] for k in keep])
    if not replace:
        return stmts, roots, False
    mapping = _resolve(replace)
    substitute(stmts, mapping)
    return stmts, _substitute_tree(roots, mapping), True


#: Ops worth computing once and that cannot fail, so that computing one before a loop
#: that may not run at all changes nothing but when it is computed: ufuncs on arrays
#: (at worst they warn).  Python operators are not here: 1.0 / 0.0 raises.
_HOISTABLE = {
    *("exp", "log", "sin", "cos", "tan", "tanh", "sinh", "cosh"),
    *("sqrt", "square", "sign", "abs", "arctan", "log1p", "expm1"),
}


def hoist_invariants(stmts: list[Stmt], roots: list[Any]):
    """Compute before a reverse-sweep loop what every iteration would compute again
    (`np.cos(w)` of a w the loop does not change).  The forward sweep keeps the shape
    of the user's code."""
    stmts = _copy(stmts)
    changed = False
    reverse = False
    out: list[Stmt] = []
    for s in stmts:
        if isinstance(s, Op) and s.prim == "section":
            reverse = s.params.get("name") == "reverse"
        if reverse and isinstance(s, Loop):
            hoisted = _hoist(s)
            changed |= bool(hoisted)
            out.extend(hoisted)
        out.append(s)
    return out, roots, changed


def _hoist(loop: Loop) -> list[Op]:
    """Take the invariant ops out of a loop's body (nested loops first); return them."""
    for s in loop.body:
        if isinstance(s, Loop):
            s_hoisted = _hoist(s)
            if s_hoisted:
                at = loop.body.index(s)
                loop.body[at:at] = s_hoisted
    inside = {v for st in walk(loop.body) for v in st.defines}
    inside |= set(loop.carried) | ({loop.index} if loop.index else set())
    hoisted, kept = [], []
    for s in loop.body:
        pure = (
            isinstance(s, Op) and s.prim in _HOISTABLE and s.params.get("lib") != "math"
        )
        if pure and not any(isinstance(a, Var) and a in inside for a in s.args):
            hoisted.append(s)
            inside.discard(s.out)
        else:
            kept.append(s)
    loop.body[:] = kept
    return hoisted


# --- accumulation in place -------------------------------------------------------------

#: Ops that always make a new array (or an immutable number): numpy's arithmetic.
_ALLOCATING = {"zeros", "ones", "matmul", "dot", "outer", "einsum", "sum", "mean"}


def _allocates(op: Stmt) -> bool:
    if not isinstance(op, Op) or op.outs or op.params.get("lib") in ("math", "builtin"):
        return False
    prim = PRIMITIVES.get(op.prim)
    return op.prim in _ALLOCATING or (
        prim is not None
        and prim.elementwise
        and (prim.operator is not None or prim.numpy is not None)
    )


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
            else:
                reads.extend((x, d) for x in s.args)

    block(stmts, 0)
    readers: dict[Var, int] = {}
    for x, at in reads:
        if isinstance(x, Var):
            readers[x] = readers.get(x, 0) + (1 if depth.get(x, 0) >= at else 2)
    return readers


def accumulations(stmts: list[Stmt], roots: list[Any], shapes: Any = None) -> set[int]:
    """The `acc + c` ops (by id) that may add c into acc's array in place (`acc += c`,
    as hand-written code accumulates): acc holds a new array that nothing else reads
    or holds (made by arithmetic, directly or through a loop's carried value), and
    the sum has acc's shape.  Elsewhere `+` makes a new array, since acc might be a
    view of an argument, a value saved on a tape, or smaller than the sum."""
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
    classes = ShapeClasses(stmts)

    def same_shape(a: Var, b: Var) -> bool:
        if info is not None and info.shape(a) is not None:
            return info.shape(a) == info.shape(b) and None not in info.shape(a)
        return classes.same(a, b)

    def owned(v: Any, fresh_next: Var | None = None) -> bool:
        """v is a new array read once (by the accumulation, or a loop slot)."""
        if not isinstance(v, Var) or readers.get(v, 0) != 1:
            return False
        if v in carried:  # each iteration adds into the array the previous one made
            loop, k = carried[v]
            nxt = loop.nexts[k]
            return nxt is fresh_next and readers.get(nxt) == 1 and owned(loop.inits[k])
        made = defs.get(v)
        if isinstance(made, Op) and made.prim == "copy":  # `dW = <a new array>`
            return owned(made.args[0])
        return _allocates(made)

    found = set()
    for s in walk(stmts):
        if isinstance(s, Op) and s.prim == "add" and isinstance(s.args[0], Var):
            acc = s.args[0]
            if s.out.role == "adjoint" and owned(acc, s.out) and same_shape(acc, s.out):
                found.add(id(s))
    return found


# --- tapes ------------------------------------------------------------------------------


def prune_tapes(stmts: list[Stmt], roots: list[Any]):
    """Stop saving what the reverse sweep no longer reads: a popped value nobody uses
    is dropped from its push and its pop (and an empty tape from both sweeps).  A
    value pushed on another tape is used if that tape's value is."""
    read = {
        x
        for s in walk(stmts)
        if not (isinstance(s, Op) and s.prim == "push")
        for x in operands(s)
        if isinstance(x, Var)
    } | set(operands_of(tuple(roots)))
    pushes = [s for s in walk(stmts) if isinstance(s, Op) and s.prim == "push"]
    pops = [s for s in walk(stmts) if isinstance(s, Op) and s.prim == "pop"]
    needed: set[tuple[Var, int]] = set()  # (tape, position) whose values are read
    while True:
        more = {
            (pop.args[0], i)
            for pop in pops
            for i, v in enumerate(pop.outs)
            if v in read and (pop.args[0], i) not in needed
        }
        if not more:
            break
        needed |= more
        read |= {  # what a needed position saves is needed where it was popped
            x
            for push in pushes
            for i, x in enumerate(push.args[1:])
            if (push.args[0], i) in more and isinstance(x, Var)
        }
    unused: dict[Var, list[int]] = {}
    for s in pops:
        unused[s.args[0]] = [
            i for i in range(len(s.outs)) if (s.args[0], i) not in needed
        ]
    if not any(unused.values()):
        return stmts, roots, False
    stmts = _copy(stmts)
    for s in walk(stmts):
        if isinstance(s, Op) and s.prim in ("push", "pop") and unused.get(s.args[0]):
            drop = set(unused[s.args[0]])
            if s.prim == "pop":
                s.outs = tuple(v for i, v in enumerate(s.outs) if i not in drop)
            else:
                kept = tuple(v for i, v in enumerate(s.args[1:]) if i not in drop)
                _rename_tape(s.args[0], s.args[1], kept)
                s.args = s.args[:1] + kept
    emptied = {
        s.args[0]
        for s in walk(stmts)
        if isinstance(s, Op) and s.prim == "pop" and not s.outs
    }
    return _drop_tape_ops(stmts, emptied), roots, True


def _rename_tape(tape: Var, first: Operand, kept: tuple[Operand, ...]) -> None:
    """A tape named after the first value it saved is named after the first value it
    still saves."""
    if isinstance(first, Var) and kept and isinstance(kept[0], Var):
        if tape.hint == f"{first.hint}_tape" and kept[0] is not first:
            tape.hint = f"{kept[0].hint}_tape"


def _drop_tape_ops(stmts: list[Stmt], tapes: set[Var]) -> list[Stmt]:
    out = []
    for s in stmts:
        if isinstance(s, Op) and s.prim in ("push", "pop") and s.args[0] in tapes:
            continue
        if isinstance(s, If):
            s.then, s.orelse = _drop_tape_ops(s.then, tapes), _drop_tape_ops(
                s.orelse, tapes
            )
        elif isinstance(s, Loop):
            s.header = _drop_tape_ops(s.header, tapes)
            s.body = _drop_tape_ops(s.body, tapes)
        out.append(s)
    return out
