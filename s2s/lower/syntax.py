"""The Python syntax the lowering reads: operators and their primitives, how each
refused construct is named and what to write instead, and small questions about
syntax trees (which names a block assigns, a docstring, a dotted name)."""

from __future__ import annotations

import ast
from typing import Any

from ..frontend import ParsedFunction
from ..ir import If

BINOPS = {
    ast.Add: "add",
    ast.Sub: "sub",
    ast.Mult: "mul",
    ast.Div: "div",
    ast.Pow: "pow",
    ast.MatMult: "matmul",
    ast.FloorDiv: "floordiv",
    ast.Mod: "mod",
    ast.BitAnd: "and",
    ast.BitOr: "or",
}


AUG = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.BitAnd: "&",
    ast.BitOr: "|",
}


COMPARE = {
    ast.Lt: "lt",
    ast.LtE: "le",
    ast.Gt: "gt",
    ast.GtE: "ge",
    ast.Eq: "eq",
    ast.NotEq: "ne",
}


ADVICE = {
    "ListComp": "s2s reads a comprehension given to sum(), max(), min() or an array "
    "function (np.stack([... for ...]), np.array); write its items with array "
    "operations elsewhere.",
    "SetComp": "Write it with numpy array operations instead of a comprehension.",
    "DictComp": "Pass the values as separate parameters.",
    "GeneratorExp": "s2s reads a generator given to sum(), max() or min(); write "
    "its items with array operations elsewhere.",
    "Lambda": "Define a module-level function with `def` instead.",
    "List": "Build arrays with np.stack or np.concatenate of arrays, or use a tuple.",
    "Set": "Use numpy arrays instead.",
    "Dict": "Pass the values as separate parameters.",
    "Import": "Import at module level.",
    "ImportFrom": "Import at module level.",
    "Try": "Check the inputs before calling the gradient.",
    "With": "Move the context manager outside the differentiated function.",
    "Delete": "Remove the `del`; unused values are dropped automatically.",
    "Yield": "Generators cannot be differentiated; return a value instead.",
    "YieldFrom": "Generators cannot be differentiated; return a value instead.",
    "Await": "Async code cannot be differentiated.",
    "AsyncFunctionDef": "Use a plain `def`.",
    "NamedExpr": "Assign the value in a statement of its own.",
    "FunctionDef": "Define helper functions at module level; s2s inlines them.",
    "ClassDef": "Define classes outside the differentiated function.",
    "Match": "Use if/elif/else.",
}


_NAMES = {
    "ListComp": "a list comprehension",
    "SetComp": "a set comprehension",
    "DictComp": "a dict comprehension",
    "GeneratorExp": "a generator expression",
    "Lambda": "a lambda",
    "JoinedStr": "an f-string",
    "NamedExpr": "an assignment expression (:=)",
    "With": "a `with` block",
    "AsyncWith": "an `async with` block",
    "Try": "a `try` block",
    "TryStar": "a `try` block",
    "Delete": "`del`",
    "Match": "a `match` statement",
    "Yield": "`yield`",
    "YieldFrom": "`yield from`",
    "Await": "`await`",
    "ClassDef": "a class definition",
    "Import": "an import",
    "ImportFrom": "an import",
    "AsyncFor": "an `async for` loop",
}


def located(new: ast.expr, old: ast.AST) -> ast.expr:
    """`new`, standing for `old`: at its place in the source, for messages."""
    return ast.fix_missing_locations(ast.copy_location(new, old))


def describe(node: ast.AST) -> str:
    kind = type(node).__name__
    return _NAMES.get(kind, f"`{kind}`")


def assigned_names(body: list[ast.stmt]) -> list[str]:
    """Names a block assigns, in order of first assignment (nested blocks included)."""
    names: dict[str, None] = {}
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.setdefault(node.id)
            elif updated_part(node) is not None:  # `acc[i] += v` assigns acc
                names.setdefault(updated_part(node))
    return list(names)


def updated_part(node: ast.AST) -> str | None:
    """The name of the array `name[index] += ...` (or `name[index] = ...`) updates,
    else None."""
    if isinstance(node, ast.AugAssign):
        targets = [node.target]
    elif isinstance(node, ast.Assign):
        targets = node.targets
    else:
        return None
    for target in targets:
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            return target.value.id
    return None


def display_items(node: ast.expr) -> list[ast.expr] | None:
    """The elements of a list or tuple display (`[a, b]`), else None."""
    if isinstance(node, (ast.List, ast.Tuple)) and not any(
        isinstance(e, ast.Starred) for e in node.elts
    ):
        return list(node.elts)
    return None


def region_node(region: If) -> ast.AST:
    node = ast.Pass()
    if region.loc is not None:
        node.lineno, node.col_offset = region.loc.lineno, region.loc.col
    return node


def literal_default(node: ast.expr, parsed: ParsedFunction) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise parsed.error(
            node,
            "default values must be constants",
            "Use a number (or None) as the default.",
        ) from None


def is_float_guard(node: ast.If) -> bool:
    """`if type(y) is not float: _check_scalar(y)`, as s2s writes a result's check."""
    test, body = node.test, node.body
    if node.orelse or len(body) != 1 or not isinstance(body[0], ast.Expr):
        return False
    call = body[0].value
    if not (isinstance(test, ast.Compare) and isinstance(call, ast.Call) and call.args):
        return False
    checked = test.left
    return (
        len(test.ops) == 1
        and isinstance(test.ops[0], ast.IsNot)
        and dotted(test.comparators[0]) == "float"
        and isinstance(checked, ast.Call)
        and dotted(checked.func) == "type"
        and len(checked.args) == 1
        and ast.dump(checked.args[0]) == ast.dump(call.args[0])
    )


def is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    return "<expression>"
