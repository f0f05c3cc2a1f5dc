"""Out-of-SSA naming: liveness over the structured code builds an interference graph,
the values joined by a phi (the two sides of an `if`, a loop's entry, next and exit
values) share a name where they do not interfere, and names come from one
deterministic namespace: user names are kept (a rebinding reuses the name once the
old value is dead), adjoints are `d<name>`, temporaries are named after their op."""

from __future__ import annotations

import builtins
import keyword
from collections import defaultdict
from typing import Any, Callable, Iterable

from .. import runtime
from ..ir import If, Loop, Op, Role, Stmt, Var, operands_of, walk
from ..primitives import PRIMITIVES, import_roots

#: Names the generated code itself uses; user values never take them.
RESERVED = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | {"np", "math"}


class Naming:
    """Liveness over the structured code, an interference graph, coalescing of phi
    copies, and names for the resulting groups."""

    def __init__(
        self,
        inlined: set[Var],
        reads: Callable[[Iterable[Any]], list[Var]],
        reserved: frozenset[str] = frozenset(),
        keep: dict[int, set[Var]] | None = None,
    ):
        self.inlined = inlined
        self.reserved = RESERVED | reserved  # and the backend's own names
        # Values live until the end of a loop that does not read them (by id of
        # the loop): what a checkpointed loop's recomputation reads there.
        self.keep = keep or {}
        self._reads = reads
        self.edges: dict[Var, set[Var]] = defaultdict(set)
        self.prefer: list[tuple[Var, Var]] = []
        self.parent: dict[Var, Var] = {}
        self.order: dict[Var, int] = {}
        self.known: dict[tuple[int, frozenset], set[Var]] = {}  # loops' live-ins

    # liveness and interference

    def reads(self, xs: Iterable[Any]) -> set[Var]:
        return set(self._reads(xs))

    def interfere(self, d: Var, live: Iterable[Var], source: Any = None) -> None:
        for v in live:
            if v is not d and v is not source:
                self.edges[d].add(v)
                self.edges[v].add(d)

    def define(self, v: Var) -> None:
        self.order.setdefault(v, len(self.order))

    def block(self, stmts: list[Stmt], live: set[Var], record: bool = True) -> set[Var]:
        live = set(live)
        for s in reversed(stmts):
            if isinstance(s, Op):
                if s.out in self.inlined:
                    continue
                defs = list(s.defines) if PRIMITIVES[s.prim].has_value else []
                for d in defs:
                    if record:
                        source = s.args[0] if s.prim == "copy" else None
                        self.interfere(d, live | set(defs), source)
                live -= set(defs)
                live |= self.reads(s.args)
            elif isinstance(s, If):
                live = self._if(s, live, record)
            else:
                kept = self.keep.get(id(s))
                live = self._loop(s, live | kept if kept else live, record)
        return live

    def _copies(
        self, dsts: list[Var], srcs: list[Any], live: set[Var], record: bool
    ) -> set:
        """Parallel copies dst <- src at a join: what is live before them."""
        before = live - set(dsts)
        for d, src in zip(dsts, srcs):
            if src is None:
                continue
            if record:
                self.interfere(d, live | set(dsts), src)
                if isinstance(src, Var) and src not in self.inlined:
                    self.prefer.append((d, src))
            before |= self.reads([src])
        return before

    def _if(self, s: If, live: set[Var], record: bool) -> set[Var]:
        ins = []
        for body, vals in ((s.then, s.then_vals), (s.orelse, s.else_vals)):
            end = self._copies(s.outs, vals, live, record)
            ins.append(self.block(body, end, record))
        return ins[0] | ins[1] | self.reads([s.cond])

    def _loop(self, s: Loop, live: set[Var], record: bool) -> set[Var]:
        if record:
            return self._loop_liveness(s, live, True)
        # A loop nested in loops is asked again at each step of their fixed
        # points, mostly with what it was asked before: answer those from memory
        # (else the work doubles with each level of nesting).
        key = (id(s), frozenset(live))
        if key not in self.known:
            self.known[key] = self._loop_liveness(s, live, False)
        return set(self.known[key])

    def _loop_liveness(self, s: Loop, live: set[Var], record: bool) -> set[Var]:
        as_carried = dict(zip(s.outs, s.carried))
        after = {as_carried.get(v, v) for v in live}
        index = {s.index} if s.index else set()
        header: set[Var] = set()
        for final in (False, True):
            while True:
                end = self._copies(
                    s.carried, s.nexts, header | self.reads([s.stop]), False
                )
                body_in = self.block(s.body, end, False)
                top = self.block(
                    s.header, after | body_in | self.reads([s.cond]), False
                )
                new = (top - index) | header
                if new == header:
                    break
                header = new
            if final and record:
                self._copies(s.carried, s.nexts, header | self.reads([s.stop]), True)
                end = self._copies(
                    s.carried, s.nexts, header | self.reads([s.stop]), False
                )
                body_in = self.block(s.body, end, True)
                self.block(s.header, after | body_in | self.reads([s.cond]), True)
                for v in index:
                    self.interfere(v, body_in | header)
                self._copies(s.carried, s.inits, header, True)
                for c in s.carried:
                    self.interfere(c, header)
        return (header - set(s.carried)) | self.reads([*s.inits, s.iterable])

    # coalescing

    def find(self, v: Var) -> Var:
        parent = self.parent
        while parent.get(v, v) is not v:
            up = parent[v]
            parent[v] = parent.get(up, up)  # path halving: later finds are short
            v = up
        return v

    def members(self) -> dict[Var, list[Var]]:
        groups: dict[Var, list[Var]] = defaultdict(list)
        for v in self.order:
            groups[self.find(v)].append(v)
        return groups

    def run(self, stmts: list[Stmt], returns: Any, params: list[Var]) -> dict[Var, str]:
        """The name of every value defined in `stmts` (params keep theirs)."""
        self.roots = import_roots()  # names of the modules the code imports
        for p in params:
            self.define(p)
        for s in walk(stmts):
            for v in [*s.defines] + (
                [*s.carried] + ([s.index] if s.index else [])
                if isinstance(s, Loop)
                else []
            ):
                if not (
                    isinstance(s, Op)
                    and (s.out in self.inlined or not PRIMITIVES[s.prim].has_value)
                ):
                    self.define(v)
        self.block(stmts, set(operands_of(returns)))
        for s in walk(stmts):
            if isinstance(s, Loop):
                for c, o in zip(s.carried, s.outs):
                    self.join(c, o, force=True)
        group_edges = self.group_edges()  # kept up to date by the joins
        for a, b in self.prefer:
            self.join(a, b, edges=group_edges)
        return self.assign(group_edges)

    def group_edges(self) -> dict[Var, set[Var]]:
        """The interference graph between groups (by their representatives)."""
        edges: dict[Var, set[Var]] = defaultdict(set)
        joined = set(self.parent)  # the few values that are not their own group
        for v, others in self.edges.items():
            moved = others & joined
            group = edges[self.find(v)]
            group |= others - moved if moved else others
            group.update(self.find(o) for o in moved)
        return edges

    def join(self, a: Var, b: Var, force: bool = False, edges=None) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra is rb:
            return
        if not force:
            if rb in edges.get(ra, ()) or _family(ra) != _family(rb):
                return
            if ra.role.is_input and rb.role.is_input:
                return
        if rb.role.is_input or self.order.get(rb, 0) < self.order.get(ra, 0):
            ra, rb = rb, ra
        self.parent[rb] = ra
        if edges is not None:
            edges[ra] |= edges.pop(rb, set())
            for o in edges[ra]:
                edges[o].discard(rb)
                edges[o].add(ra)

    def assign(self, edges: dict[Var, set[Var]]) -> dict[Var, str]:
        """A name for each group of values, given the groups that interfere."""
        groups = self.members()
        taken: dict[str, list[Var]] = defaultdict(list)  # name -> groups holding it
        owner: dict[str, tuple[str, str]] = {}
        names: dict[Var, str] = {}
        ordered = sorted(groups, key=lambda g: min(self.order[v] for v in groups[g]))
        for root in ordered:
            members = groups[root]
            fixed = next((m for m in members if m.role.is_input), None)
            lead = fixed or min(members, key=lambda m: (m.role.rank, self.order[m]))
            if fixed is not None:
                name = fixed.name
            else:
                name = self._free_name(lead, root, taken, owner, edges)
            taken[name].append(root)
            owner.setdefault(name, _family(lead))
            for m in members:
                names[m] = name
        return names

    def _free_name(self, lead: Var, root: Var, taken, owner, edges) -> str:
        hint = lead.hint
        base = hint if hint.isidentifier() and hint not in self.reserved else hint + "_"
        n = 0
        while True:
            name = base if n == 0 else f"{base}_{n}"
            n += 1
            if name in self.reserved or name in _HELPER_NAMES or name in self.roots:
                continue
            if name not in owner:
                return name
            reusable = (
                lead.role != Role.TEMP
                and owner[name] == _family(lead)
                and not any(other in edges.get(root, ()) for other in taken[name])
            )
            if reusable:
                return name


def _family(v: Var) -> tuple[str, str]:
    return (Role.ADJOINT if v.role == Role.ADJOINT else "primal", v.hint)


_HELPER_NAMES = frozenset(
    name
    for name in dir(runtime)
    if name.startswith("_") and callable(getattr(runtime, name))
)
