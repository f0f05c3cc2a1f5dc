"""Early exits to structured branches: the statements after an `if` that may `return`,
`break` or `continue` move into the branches that fall through.

    if c:                        if c:
        x = 1                        x = 1
        continue          ==>    else:
    y = 2                            y = 2

An `assert` is an `if` that raises.  After this pass every `return`, `break`,
`continue` and `raise` is the last statement of its block, so linearization sees only structured control flow: a `continue` at the end of
an iteration is dropped, a trailing `break` marks its branch as leaving the loop, and
a function's result is the value of the `return` on each path.  Statements after an
exit are unreachable and dropped.  This duplicates the moved statements when both
branches fall through on some path; their line numbers are kept.

Before that, a `return` inside a loop becomes a flag, the value, and a `break`; after
the loop the flag returns the value (or leaves the enclosing loop in turn):

    for i in range(n):               returned = False
        if done(x):                  for i in range(n):
            return x         ==>         if done(x):
        x = step(x)                          result = x
    return x                                 returned = True
                                             break
                                         x = step(x)
                                     if returned:
                                         return result
                                     return x
"""

from __future__ import annotations

import ast
import copy

_EXITS = (ast.Return, ast.Break, ast.Continue)
#: What ends a path: an exit, or a raise (whose path never goes on, so the
#: statements after its `if` need not move into the other branch).
_ENDS = (*_EXITS, ast.Raise)


def _has_exit(block: list[ast.stmt]) -> bool:
    """Whether a block contains an exit of the current loop or function."""
    for stmt in block:
        if isinstance(stmt, _EXITS):
            return True
        if isinstance(stmt, ast.If) and (
            _has_exit(stmt.body) or _has_exit(stmt.orelse)
        ):
            return True
        if isinstance(stmt, (ast.For, ast.While)) and _has_return(stmt.body):
            return True
    return False


def _has_return(block: list[ast.stmt]) -> bool:
    return any(isinstance(n, ast.Return) for s in block for n in ast.walk(s))


def always_exits(block: list[ast.stmt]) -> bool:
    """Whether every path through the block ends in an exit or a raise."""
    if not block:
        return False
    last = block[-1]
    if isinstance(last, _ENDS):
        return True
    return (
        isinstance(last, ast.If)
        and always_exits(last.body)
        and always_exits(last.orelse)
    )


def normalize_block(block: list[ast.stmt]) -> list[ast.stmt]:
    """Rewrite one block (recursively) so that exits come last in their blocks."""
    out: list[ast.stmt] = []
    block = [_as_if(s) if isinstance(s, ast.Assert) else s for s in block]
    for k, stmt in enumerate(block):
        if isinstance(stmt, _ENDS):
            out.append(stmt)
            return out
        if isinstance(stmt, (ast.For, ast.While)):
            stmt = copy.copy(stmt)
            stmt.body = normalize_block(stmt.body)
            out.append(stmt)
            continue
        if isinstance(stmt, ast.If) and (
            _has_exit(stmt.body) or _has_exit(stmt.orelse)
        ):
            rest = block[k + 1 :]
            new = copy.copy(stmt)
            new.body = normalize_block(_then_rest(stmt.body, rest))
            new.orelse = normalize_block(_then_rest(stmt.orelse, rest))
            out.append(new)
            return out
        if isinstance(stmt, ast.If):  # its branches may hold loops that exit early
            stmt = copy.copy(stmt)
            stmt.body = normalize_block(stmt.body)
            stmt.orelse = normalize_block(stmt.orelse)
            if always_exits(stmt.body) and always_exits(stmt.orelse):
                out.append(stmt)  # both branches raise: nothing after runs
                return out
        out.append(stmt)
    return out


def returns_out_of_loops(function: ast.FunctionDef) -> list[ast.stmt]:
    """The function's body with each `return` inside a loop written as above; the
    flag and value take names the function does not use.  A `return a, b` keeps
    one name per item (a tuple is not carried across iterations)."""
    returns = [r for s in function.body for r in _returns_in_loops(s)]
    if not returns:
        return function.body
    used = {n.id for n in ast.walk(function) if isinstance(n, ast.Name)}
    used |= {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
    flag = _fresh("returned", used)
    first = returns[0].value
    width = len(first.elts) if isinstance(first, ast.Tuple) else 0
    if any(
        not isinstance(r.value, ast.Tuple) or len(r.value.elts) != width
        for r in returns
    ):
        width = 0
    names = [
        _fresh(f"result{k}" if width else "result", used) for k in range(width or 1)
    ]
    return _Exits(flag, names, width).block(function.body, in_loop=False)


class _Exits:
    """The rewrite of returns inside loops, for one function."""

    def __init__(self, flag: str, names: list[str], width: int):
        self.flag, self.names, self.width = flag, names, width

    def block(self, block: list[ast.stmt], in_loop: bool) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in block:
            if isinstance(stmt, ast.Return) and in_loop:
                out += self._leave(stmt)
            elif isinstance(stmt, (ast.For, ast.While)) and _returns_in_loops(stmt):
                out += self._loop(stmt, in_loop)
            elif isinstance(stmt, ast.If):
                stmt = copy.copy(stmt)
                stmt.body = self.block(stmt.body, in_loop)
                stmt.orelse = self.block(stmt.orelse, in_loop)
                out.append(stmt)
            else:
                out.append(stmt)
        return out

    def _leave(self, node: ast.Return) -> list[ast.stmt]:
        """`return v` in a loop: keep v, raise the flag, leave the loop."""
        if node.value is None:
            return [node]  # refused by the lowering, at its line
        values = node.value.elts if self.width else [node.value]
        stmts = [_store(name, value) for name, value in zip(self.names, values)]
        stmts += [_store(self.flag, ast.Constant(True)), ast.Break()]
        return [_at(node, s) for s in stmts]

    def _loop(self, node: ast.For | ast.While, in_loop: bool) -> list[ast.stmt]:
        first = _returns_in_loops(node)[0]
        loop = copy.copy(node)
        loop.body = self.block(node.body, in_loop=True)
        if in_loop:
            after: list[ast.stmt] = [ast.Break()]
        else:
            items = [ast.Name(name, ast.Load()) for name in self.names]
            value = ast.Tuple(items, ast.Load()) if self.width else items[0]
            after = [ast.Return(value)]
        if not in_loop and _endless(node):
            exits = after  # the loop is left only by its returns
        else:
            exits = [ast.If(ast.Name(self.flag, ast.Load()), after, [])]
        # the value too exists before the loop, so that no path copies an unbound name
        start = (
            []
            if in_loop
            else [_store(self.flag, ast.Constant(False))]
            + [_store(name, ast.Constant(None)) for name in self.names]
        )
        return [_at(first, s) for s in start] + [loop] + [_at(first, s) for s in exits]


def _returns_in_loops(stmt: ast.stmt) -> list[ast.Return]:
    """The returns inside the loops of a statement (functions defined in it aside)."""
    found: list[ast.Return] = []

    def visit(node: ast.AST, in_loop: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return
        if isinstance(node, ast.Return) and in_loop:
            found.append(node)
        inner = in_loop or isinstance(node, (ast.For, ast.While))
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(stmt, False)
    return found


def _endless(loop: ast.For | ast.While) -> bool:
    """`while True:` with no `break` of its own: only a return leaves it."""
    if not isinstance(loop, ast.While) or not (
        isinstance(loop.test, ast.Constant) and loop.test.value is True
    ):
        return False
    return not any(isinstance(n, ast.Break) for n in _own_statements(loop.body))


def _own_statements(block: list[ast.stmt]):
    """The statements of a loop body, inner loops' and functions' bodies aside."""
    for stmt in block:
        yield stmt
        if isinstance(stmt, ast.If):
            yield from _own_statements(stmt.body)
            yield from _own_statements(stmt.orelse)


def _fresh(name: str, used: set[str]) -> str:
    """`name`, or name_2, name_3... if the function uses it; then taken."""
    k, chosen = 1, name
    while chosen in used:
        k += 1
        chosen = f"{name}_{k}"
    used.add(chosen)
    return chosen


def _store(name: str, value: ast.expr) -> ast.Assign:
    return ast.Assign([ast.Name(name, ast.Store())], value)


def _at(node: ast.AST, made: ast.stmt) -> ast.stmt:
    """A statement made for `node`, numbered at its line."""
    for part in ast.walk(made):
        if "lineno" in part._attributes and not hasattr(part, "lineno"):
            ast.copy_location(part, node)
    return made


def _as_if(node: ast.Assert) -> ast.If:
    """`assert test, message` as `if not test: raise AssertionError(message)`."""
    error = ast.Call(
        ast.Name("AssertionError", ast.Load()), [node.msg] if node.msg else [], []
    )
    made = ast.If(ast.UnaryOp(ast.Not(), node.test), [ast.Raise(error, None)], [])
    for part in (made, made.test, made.body[0], error, error.func):
        ast.copy_location(part, node)
    return made


def _then_rest(branch: list[ast.stmt], rest: list[ast.stmt]) -> list[ast.stmt]:
    if always_exits(branch):
        return list(branch)
    return list(branch) + [copy.deepcopy(s) for s in rest]
