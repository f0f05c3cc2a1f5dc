"""Early exits to structured branches: the statements after an `if` that may `return`,
`break` or `continue` move into the branches that fall through.

    if c:                        if c:
        x = 1                        x = 1
        continue          ==>    else:
    y = 2                            y = 2

After this pass every `return`, `break` and `continue` is the last statement of its
block, so linearization sees only structured control flow: a `continue` at the end of
an iteration is dropped, a trailing `break` marks its branch as leaving the loop, and
a function's result is the value of the `return` on each path.  Statements after an
exit are unreachable and dropped.  This duplicates the moved statements when both
branches fall through on some path; their line numbers are kept.
"""

from __future__ import annotations

import ast
import copy

_EXITS = (ast.Return, ast.Break, ast.Continue)


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
    """Whether every path through the block ends in an exit."""
    if not block:
        return False
    last = block[-1]
    if isinstance(last, _EXITS):
        return True
    return (
        isinstance(last, ast.If)
        and always_exits(last.body)
        and always_exits(last.orelse)
    )


def normalize_block(block: list[ast.stmt]) -> list[ast.stmt]:
    """Rewrite one block (recursively) so that exits come last in their blocks."""
    out: list[ast.stmt] = []
    for k, stmt in enumerate(block):
        if isinstance(stmt, _EXITS):
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
        out.append(stmt)
    return out


def _then_rest(branch: list[ast.stmt], rest: list[ast.stmt]) -> list[ast.stmt]:
    if always_exits(branch):
        return list(branch)
    return list(branch) + [copy.deepcopy(s) for s in rest]
