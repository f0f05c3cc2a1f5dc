"""Products written as a careful person writes them in numpy: no multiplication by
the spread adjoint of a full reduction where another factor has its shape, scalar
coefficients together, and the array factors in an order that lets numpy reuse the
buffers of its own temporaries.

A product of the reverse sweep is a chain `a * b * c * ...` of multiplications whose
inner results nothing else reads.  numpy writes `t * b` into t's buffer when t is a
temporary (an array that only the expression holds) and, the product being
commutative, `b * t` too; `2.0 * b` or `a * b` of named arrays needs a new array.
So the chain is rewritten:

- a factor `_unreduce(g, x)` (g spread over x's shape: an array of g, one per
  element), or such a spread times scalars, goes where another factor provably has
  x's shape (the inferred shapes or the shape classes say so): its scalars join the
  coefficient; where none does, the coefficient is spread instead of g
  (`_unreduce(2.0, x) * y`, not `_unreduce(1.0, x) * 2 * y`);
- the constants are folded into one, into the numerator of a quotient `n / y` if
  there is one (`2.0 / size`, not `1.0 / size * 2`), a unit dropped where another
  factor makes the product a float; the scalar factors are written first;
- an array factor that is a temporary comes first among the arrays, so that the
  first multiplication by an array makes the one new array the rest write into;
- `k - t` of a number k and a temporary t becomes `t - k` when a constant or a
  quotient's numerator can take the sign (exactly the same numbers), since numpy
  cannot write `k - t` into t's buffer.

The values stay those of the product as written, up to the rounding of its new
order: a product is left as it is where a multiplication of the new chain could
meet a list or a tuple with a number (a list times an int repeats it; the first
factors must be numpy values, or two values that cannot be sequences), and never
becomes a value it does not own (`1.0 * v` stays where v is an input or a view).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from dataclasses import replace as copy_stmt
from typing import Any

from ..ir import (
    Const,
    FunctionSpec,
    If,
    Loop,
    Namespace,
    Op,
    Operand,
    Role,
    Stmt,
    Var,
    copy_tree,
    fold,
    operands,
    operands_of,
    possibly_integral,
    resolve_chains,
    substitute,
    substitute_tree,
    walk,
)
from ..primitives import PRIMITIVES
from ..shapes.classes import ShapeClasses, shared_classes
from ..shapes.inference import ShapeInference


def _number(x: Operand) -> bool:
    return isinstance(x, Const) and type(x.value) in (int, float)


@dataclass(eq=False)
class _New:
    """A factor the rewritten product makes: `prim(*args, **params)`, named after
    `hint`; `made` when it is a numpy array (else a scalar)."""

    prim: str
    args: tuple
    params: dict
    hint: str
    made: bool = False
    fresh: bool = False


def _line(op: Op) -> int | None:
    return op.loc.lineno if op.loc is not None else None


class _Products:
    """One pass over a statement tree: each product of the reverse sweep rewritten."""

    def __init__(self, stmts: list[Stmt], roots: list[Any], spec: FunctionSpec):
        self.stmts, self.spec = stmts, spec
        self.defs: dict[Var, Op] = {}
        self.reads: dict[Var, int] = {}
        self.reader: dict[Var, Any] = {}
        names = Namespace(p.name for p in spec.params)
        for s in walk(stmts):
            for v in s.defines:
                names.reserve(v.name)
            if isinstance(s, Loop):
                for v in s.carried + ([s.index] if s.index else []):
                    names.reserve(v.name)
            if isinstance(s, Op) and not s.outs:
                self.defs[s.out] = s
            for x in operands(s):
                if isinstance(x, Var):
                    self.reads[x] = self.reads.get(x, 0) + 1
                    self.reader[x] = s
        for r in operands_of(tuple(roots)):
            self.reads[r] = self.reads.get(r, 0) + 1
            self.reader[r] = None
        self.names = names
        self.replace: dict[Var, Operand] = {}
        self.made: dict[Var, bool] = {}
        self.changed = False

    # what is known of a factor (the analyses made when a product needs them)

    @functools.cached_property
    def info(self) -> ShapeInference | None:
        shapes = self.spec.shapes
        return ShapeInference(self.stmts, shapes) if shapes else None

    @functools.cached_property
    def classes(self) -> ShapeClasses:
        return shared_classes(self.stmts, self.spec)

    @functools.cached_property
    def integral(self) -> set[Var]:
        return possibly_integral(self.stmts)

    def scalar(self, x: Operand) -> bool:
        """Whether x is provably a number (or a 0-d array)."""
        if isinstance(x, Const):
            return _number(x)
        shape = self.info.shape(x) if self.info is not None else None
        if shape is not None:
            return shape == ()
        return self.classes.is_scalar(x)

    def same_shape(self, a: Operand, b: Operand) -> bool:
        """Whether a and b provably have one shape."""
        if isinstance(a, Const):
            return False
        if self.info is not None:
            sa, sb = self.info.shape(a), self.info.shape(b)
            known = sa is not None and sb is not None and None not in sa + sb
            if known:
                return sa == sb
        return self.classes.same(a, b)

    def numpy_made(self, x: Operand) -> bool:
        """Whether x is certainly a numpy array or scalar: times anything (a list
        too), a numpy value."""
        if isinstance(x, _New):
            return x.made
        op = self.defs.get(x) if isinstance(x, Var) else None
        if op is None or op.params.get("lib") in ("math", "builtin"):
            return False
        if x not in self.made:
            self.made[x] = False  # a cycle is impossible in SSA; this ends any
            record = PRIMITIVES[op.prim]
            if record.operator is not None:
                made = record.elementwise and any(map(self.numpy_made, op.args))
            else:
                made = (
                    record.spread
                    or record.numpy is not None
                    and (
                        record.elementwise
                        or record.reduction
                        or record.allocates
                        or record.view
                    )
                )
            self.made[x] = made
        return self.made[x]

    def own(self, x: Any) -> bool:
        """Whether x is a value an op of this function makes (not an input, nor a
        view or copy of another value): the result of a product may be x itself."""
        op = self.defs.get(x) if isinstance(x, Var) else None
        if op is None or op.prim == "copy":
            return False
        record = PRIMITIVES[op.prim]
        return not (record.view or record.spread)

    def no_sequence(self, x: Operand) -> bool:
        """Whether x is certainly not a list or tuple (which a Python int times
        repeats): a number, a numpy value, or the result of an operator that
        sequences do not have (`x - 1.0`)."""
        if isinstance(x, (Const, _New)) or self.scalar(x) or self.numpy_made(x):
            return True
        op = self.defs.get(x)
        if op is None or op.params.get("lib") == "builtin":
            return False
        record = PRIMITIVES[op.prim]
        if record.operator is None or not record.elementwise:
            return False
        return op.prim not in ("add", "mul") or all(map(self.no_sequence, op.args))

    def fresh(self, x: Operand, block: set[int], line: int | None) -> bool:
        """Whether x is a new array only this product reads, written into it: numpy
        may write the product into its buffer."""
        if isinstance(x, _New):
            return x.fresh
        op = self.defs.get(x) if isinstance(x, Var) else None
        if op is None or id(op) not in block or x.role != Role.TEMP:
            return False
        if self.reads.get(x) != 1 or _line(op) != line or self.scalar(x):
            return False
        record = PRIMITIVES[op.prim]
        spelled = record.operator is not None or record.numpy is not None
        return (
            self.numpy_made(x)
            and op.params.get("lib") not in ("math", "builtin")
            and (record.allocates or record.elementwise and spelled)
        )

    def spread_of(self, x: Operand) -> tuple[Op, list[Operand]] | None:
        """When x is a scalar spread over an array's shape (`_unreduce(g, like)` of a
        full reduction, `np.broadcast_to(g, shape)`), times scalars: that spread,
        and the scalars [g, ...] x holds in each element."""
        op = self.defs.get(x) if isinstance(x, Var) else None
        if op is None:
            return None
        if op.prim == "mul" and not op.params:
            a, b = op.args
            inside = self.spread_of(a)
            if inside is not None and self.scalar(b):
                return inside[0], inside[1] + [b]
            inside = self.spread_of(b)
            if inside is not None and self.scalar(a):
                return inside[0], [a] + inside[1]
            return None
        if not op.args or not self.scalar(op.args[0]):
            return None
        full = op.params.get("axis") is None and not op.params.get("keepdims")
        if op.prim in ("unreduce", "unreduce_to") and full:
            return op, [op.args[0]]
        if op.prim == "broadcast_to":
            return op, [op.args[0]]
        return None

    # the chains

    def inner(self, x: Operand, block: set[int], line: int | None) -> Op | None:
        """The multiplication that makes x, when x is read only by the product above
        it (on the same line, in the same block)."""
        op = self.defs.get(x) if isinstance(x, Var) else None
        if op is None or op.prim != "mul" or op.params or id(op) not in block:
            return None
        if x.role not in (Role.TEMP, Role.ADJOINT) or self.reads.get(x) != 1:
            return None
        return op if _line(op) == line else None

    def leaves(self, op: Op, block: set[int]) -> list[Operand]:
        """The factors of the chain ending in op: `((a * b) * c) * d` -> a, b, c, d."""
        left, right = op.args
        below = self.inner(left, block, _line(op))
        return (self.leaves(below, block) if below else [left]) + [right]

    def block(self, body: list[Stmt], derivative: bool) -> list[Stmt]:
        """The block with its products rewritten: new lists and regions, the
        statements it was handed unchanged."""
        out: list[Stmt] = []
        here = {id(s) for s in body}
        for s in body:
            if isinstance(s, Op) and s.prim == "section":
                derivative = s.params.get("name") == "reverse"
            if isinstance(s, If):
                then, orelse = (self.block(b, derivative) for b in (s.then, s.orelse))
                s = copy_stmt(s, then=then, orelse=orelse, merges=list(s.merges))
            elif isinstance(s, Loop):
                header, body_ = (self.block(b, derivative) for b in (s.header, s.body))
                s = copy_stmt(s, header=header, body=body_, carries=list(s.carries))
            elif (
                derivative
                and s.prim == "mul"
                and not s.params
                and not s.outs
                and not self.is_inner(s, here)
            ):
                new = self.rewrite(s, here)
                if new is not None:
                    self.changed = True
                    out.extend(new)
                    continue
            out.append(s)
        return out

    def is_inner(self, op: Op, block: set[int]) -> bool:
        reader = self.reader.get(op.out)
        return (
            isinstance(reader, Op)
            and reader.prim == "mul"
            and not reader.params
            and reader.args[0] is op.out
            and id(reader) in block
            and self.inner(op.out, block, _line(reader)) is op
        )

    def rewrite(self, root: Op, block: set[int]) -> list[Stmt] | None:
        """The ops that replace the chain ending in `root` (None: keep it)."""
        leaves = self.leaves(root, block)
        if any(isinstance(x, Const) and not _number(x) for x in leaves):
            return None
        for drop in (True, False):  # a spread dropped, else kept
            factors = self.plan(leaves, block, _line(root), drop)
            if factors is not None and self.safe(factors):
                break
        else:
            return None
        if [id(x) for x in factors] == [id(x) for x in leaves]:
            return None
        out: list[Stmt] = []
        value = self.make(factors[0], root, out)
        for k, x in enumerate(factors[1:], 1):
            target = root.out if k == len(factors) - 1 else self.var("mul")
            out.append(
                Op("mul", (value, self.make(x, root, out)), target, {}, root.loc)
            )
            value = target
        if len(factors) == 1:
            if root.out.role == Role.TEMP:
                self.replace[root.out] = value
            else:
                out.append(Op("copy", (value,), root.out, {}, root.loc))
        return out

    def make(self, x: Operand | _New, root: Op, out: list[Stmt]) -> Operand:
        """x as an operand, with the ops that make it appended to `out`."""
        if not isinstance(x, _New):
            return x
        args = tuple(self.make(a, root, out) for a in x.args)
        made = self.var(x.hint)
        out.append(Op(x.prim, args, made, dict(x.params), root.loc))
        return made

    def var(self, hint: str) -> Var:
        return Var(self.names.fresh(hint), hint, Role.TEMP)

    def plan(
        self, leaves: list[Operand], block: set[int], line: int | None, drop: bool
    ) -> list[Operand | _New] | None:
        """The factors in their new order (None: keep the product as it is)."""
        spreads = {k: self.spread_of(x) for k, x in enumerate(leaves)}
        arrays = [
            x for k, x in enumerate(leaves) if spreads[k] is None and not self.scalar(x)
        ]
        # (factor, whether it is a scalar of the coefficient), in the product's order
        entries: list[tuple[Operand | _New, bool]] = []
        kept: list[tuple[Operand, tuple[Op, list[Operand]]]] = []
        for k, x in enumerate(leaves):
            spread = spreads[k]
            if spread is not None and drop and self.covered(x, arrays):
                entries.extend((g, True) for g in spread[1])  # the others spread it
            elif spread is not None:
                kept.append((x, spread))
                entries.append((x, False))
            else:
                entries.append((x, self.scalar(x)))
        numbers = [k for k, (x, scalar) in enumerate(entries) if isinstance(x, Const)]
        c: Const | None = None
        for k in numbers:
            c = entries[k][0] if c is None else fold("mul", (c, entries[k][0]))
            if c is None:
                return None  # not a finite number
        quotient = next(
            (
                k
                for k, (x, scalar) in enumerate(entries)
                if scalar and self.quotient(x, block, line) is not None
            ),
            None,
        )
        rest: list[Operand | _New] = [x for x, scalar in entries if not scalar]
        if quotient is not None or c is not None and c.value not in (0, 1):
            for i, x in enumerate(rest):  # `k - t`: `t - k`, the sign in c
                flipped = self.flipped(x, block, line)
                if flipped is not None:
                    rest[i] = _New("sub", flipped[::-1], {}, "sub", True, True)
                    c = Const(-c.value) if c is not None else Const(-1)
                    break
        if quotient is not None and c is not None:
            n, y = self.quotient(entries[quotient][0], block, line)
            both = fold("mul", (n, c))
            if both is not None:
                entries[quotient] = (_New("div", (both, y), {}, "quotient"), True)
                c = None
        others = [x for x, scalar in entries if scalar and isinstance(x, Var)] + rest
        unit = c
        if c is not None and c.value == 1 and others:
            floats = any(
                isinstance(x, _New) or isinstance(x, Var) and x not in self.integral
                for x in others
            )
            if type(c.value) is int or floats:
                c = None  # `1.0 * x * y` is `x * y` when y is a float array
        head: list[Operand | _New] = []
        for k, (x, scalar) in enumerate(entries):
            if scalar and not isinstance(x, Const):
                head.append(x)
            elif scalar and c is not None and k == numbers[0]:
                head.append(c)
        if c is not None and not numbers:
            head.insert(0, c)  # the sign a flipped difference gave
        if kept and head and len(rest) > 1:
            # the coefficient spread rather than g: `_unreduce(2.0, x) * y`
            x, (op, scalars) = kept[0]
            rest.remove(x)
            head = [self.spread_times(op, scalars + head)]
        self.order(head, rest, block, line)
        factors = head + rest
        if len(factors) == 1 and unit is not None and not self.own(factors[0]):
            factors.insert(0, unit)  # `1.0 * v`: a new array, where v may be seen
        if len(rest) <= 1 and sorted(map(id, factors)) == sorted(map(id, leaves)):
            return leaves  # one array: where the scalars stand costs nothing
        return factors or None

    def order(self, head: list, rest: list, block: set[int], line: int | None):
        """Put a temporary among the first two factors of the product (the first
        after a coefficient), or else a numpy array right after a coefficient."""
        fresh = [x for x in rest if self.fresh(x, block, line)]
        at = 0 if head else 1
        if fresh and all(x is not fresh[0] for x in rest[: at + 1]):
            rest.remove(fresh[0])
            rest.insert(at, fresh[0])
        elif head and rest and not fresh and not self.numpy_made(rest[0]):
            made = [x for x in rest if self.numpy_made(x)]
            if made:
                rest.remove(made[0])
                rest.insert(0, made[0])

    def covered(self, spread: Operand, arrays: list[Operand]) -> bool:
        """Whether another factor has the shape the spread has."""
        return any(self.same_shape(a, spread) for a in arrays)

    def spread_times(self, op: Op, scalars: list) -> _New:
        """A new spread of the product of `scalars` (op's scalar first)."""
        g = scalars[0]
        for h in scalars[1:]:
            both = fold("mul", (g, h)) if _number(g) and _number(h) else None
            g = both if both is not None else _New("mul", (g, h), {}, "mul")
        return _New(op.prim, (g,) + op.args[1:], op.params, op.out.hint, made=True)

    def quotient(self, x: Any, block: set[int], line: int | None):
        """(n, y) when x is `n / y` of a number n, a temporary only this product
        reads: a constant factor may join n."""
        op = self.defs.get(x) if isinstance(x, Var) else None
        if op is None or op.prim != "div" or op.params or id(op) not in block:
            return None
        if x.role != Role.TEMP or self.reads.get(x) != 1 or _line(op) != line:
            return None
        return tuple(op.args) if _number(op.args[0]) else None

    def flipped(self, x: Any, block: set[int], line: int | None):
        """(k, t) when x is `k - t` of a number k and a float temporary t, and x is
        a temporary only this product reads."""
        op = self.defs.get(x) if isinstance(x, Var) else None
        if op is None or op.prim != "sub" or op.params or id(op) not in block:
            return None
        if x.role != Role.TEMP or self.reads.get(x) != 1 or _line(op) != line:
            return None
        k, t = op.args
        if not _number(k) or t in self.integral or not self.fresh(t, block, line):
            return None
        return k, t

    def safe(self, factors: list) -> bool:
        """Whether no multiplication of the chain may meet a list or tuple with a
        Python number (a list times an int repeats it): each involves a numpy value,
        or two values that are no sequences."""
        numpy, plain = self.numpy_made(factors[0]), self.no_sequence(factors[0])
        for x in factors[1:]:
            if not (numpy or self.numpy_made(x) or plain and self.no_sequence(x)):
                return False
            numpy = numpy or self.numpy_made(x)
            plain = plain and self.no_sequence(x)
        return True


def arrange_products(stmts: list[Stmt], roots: list[Any], spec: FunctionSpec):
    """Rewrite the products of the reverse sweep (see the module's docstring)."""
    products = _Products(stmts, roots, spec)
    rewritten = products.block(stmts, False)
    if not products.changed:
        return stmts, roots, False
    if products.replace:
        rewritten = copy_tree(rewritten)  # substitution changes ops: our own copies
        mapping = resolve_chains(products.replace)
        substitute(rewritten, mapping)
        roots = substitute_tree(roots, mapping)
    return rewritten, roots, True
