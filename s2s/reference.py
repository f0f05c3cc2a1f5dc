"""The rule reference (docs/rules.md), generated from the rule table itself.

Each rule is run on symbolic arguments and the ops it builds are written out by the
same emitter that writes generated modules, so the reference shows exactly the code
a gradient contains and cannot drift from the rules.  `python -m s2s.reference`
prints it; `--write` updates docs/rules.md (a test fails when that file is stale).
"""

from __future__ import annotations

import ast
import os
import sys
from typing import Any

from .emit import emit_module
from .ir import Builder, FunctionSpec, Namespace, Role, Sym, Var
from .optimize import optimize
from .primitives import BUILTINS, MATH_FUNCTIONS, METHODS, NUMPY_FUNCTIONS, PRIMITIVES
from .rules import KIND_NAMES, load

load()

#: Parameters and operand counts that show a rule at work where the defaults cannot.
EXAMPLES: dict[str, tuple[list[str] | None, dict[str, Any]]] = {
    "einsum": (["a", "b"], {"subscripts": "ij,jk->ik"}),
    "getitem": (["x", "i"], {"spec": (False, ("value",))}),
    "concatenate": (["a", "b"], {"axis": 0}),
    "stack": (["a", "b"], {"axis": 0}),
    "hstack": (["a", "b"], {}),
    "vstack": (["a", "b"], {}),
    "cumsum": (None, {"axis": 0}),
    "cumprod": (None, {"axis": 0}),
}

_OPERATORS = {
    ast.Add: "x + y",
    ast.Sub: "x - y",
    ast.Mult: "x * y",
    ast.Div: "x / y",
    ast.Pow: "x ** y",
    ast.MatMult: "x @ y",
    ast.FloorDiv: "x // y",
    ast.Mod: "x % y",
    ast.USub: "-x",
    ast.Lt: "x < y",
    ast.LtE: "x <= y",
    ast.Gt: "x > y",
    ast.GtE: "x >= y",
    ast.Eq: "x == y",
    ast.NotEq: "x != y",
    ast.Not: "not x",
    ast.BitAnd: "x & y",
    ast.BitOr: "x | y",
    ast.Invert: "~x",
    ast.And: "x and y",
    ast.Or: "x or y",
}

_KIND_TEXT = {
    "linear": "Linear: the derivative is the function itself, applied to the "
    "perturbation; the adjoint applies its transpose.",
    "bilinear": "Bilinear: linear in each argument separately.",
    "elementwise": "Elementwise: each adjoint is g times a partial derivative; "
    "arguments broadcast.",
    "other": "Other: neither linear nor bilinear, and not elementwise.",
}


def _signature(name: str) -> str:
    prim = PRIMITIVES[name]
    operands = list(prim.operands)
    if prim.sequence:
        operands = ["[a, b, ...]"]
    elif prim.variadic:
        operands[-1] = f"*{operands[-1]}"
    statics = [(k, v) for k, v in prim.static if k not in prim.internal]
    leading = [k for k, _ in statics if k in prim.leading]
    rest = [f"{k}={v!r}" for k, v in statics if k not in prim.leading]
    return ", ".join(leading + operands + rest)


def spellings(name: str) -> list[str]:
    """How user code writes primitive `name`."""
    prim = PRIMITIVES[name]
    found = []
    if prim.operator in _OPERATORS:
        found.append(_OPERATORS[prim.operator])
    signature = _signature(name)
    operands = ", ".join(prim.operands)
    first = prim.operands[0] if prim.operands else "x"
    if prim.item is not None:  # `np.linalg.eigh(a)[1]`
        found.append(f"np.{prim.numpy}({signature})[{prim.item}]")
    else:
        found += [
            f"np.{k}({signature})" for k, v in NUMPY_FUNCTIONS.items() if v == name
        ]
    found += [f"math.{k}({operands})" for k, v in MATH_FUNCTIONS.items() if v == name]
    found += [f"{first}.{k}(...)" for k, v in METHODS.items() if v == name]
    found += [f"{k}({operands})" for k, v in BUILTINS.items() if v == name]
    return found + _EXTRA.get(name, [])


def _rule_function(name: str, index: int) -> tuple[FunctionSpec, list[str]]:
    """The rules of `name` as one function of g, y and the arguments."""
    prim = PRIMITIVES[name]
    given, params = EXAMPLES.get(name, (None, {}))
    operands = given or list(prim.operands)
    # The result is `out` here: rules call it y, but so are some arguments.
    names = Namespace(["g", "out", *operands])
    builder = Builder(names)
    args = [Var(n, n, Role.PARAM) for n in ["g", "out", *operands]]
    static = {k: params.get(k, default) for k, default in prim.static}
    syms = [Sym(a, builder) for a in args]
    results, shown = [], []
    for operand, rule in zip(operands, prim.derivative.rules):
        if rule is None or operand in prim.nondiff:
            continue
        result = rule(*syms[:2], *syms[2:], **static)
        if result is not None:
            results.append(result.operand)
            shown.append(operand)
    spec = FunctionSpec(
        f"rule_{index}", name, args, (), [("reverse", builder.ops)], tuple(results)
    )
    return spec, shown


def _bodies(specs: list[FunctionSpec], shown: list[list[str]]) -> list[list[str]]:
    """Each rule function's statements, with its results written as `dx = ...`."""
    tree = ast.parse(emit_module([optimize(spec) for spec in specs]).text)
    functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    out = []
    for spec, operands in zip(specs, shown):
        body = functions[spec.name].body[1:]  # after the docstring
        *statements, final = body
        values = (
            final.value.elts if isinstance(final.value, ast.Tuple) else [final.value]
        )
        statements, values = _fold_results(statements, values)
        lines = [ast.unparse(s) for s in statements]
        lines += [f"d{x} = {ast.unparse(v)}" for x, v in zip(operands, values)]
        out.append(lines)
    return out


def _fold_results(
    statements: list[ast.stmt], values: list[ast.expr]
) -> tuple[list[ast.stmt], list[ast.expr]]:
    """Write `t = e; dx = t` as `dx = e` where t is read nowhere else."""
    reads: dict[str, int] = {}
    for node in [*statements, *values]:
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                reads[n.id] = reads.get(n.id, 0) + 1
    assigned = {
        s.targets[0].id: s
        for s in statements
        if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)
    }
    folded = []
    for value in values:
        target = assigned.get(value.id) if isinstance(value, ast.Name) else None
        if target is not None and reads.get(value.id) == 1:
            statements = [s for s in statements if s is not target]
            value = target.value
        folded.append(value)
    return statements, folded


#: Spellings that are not a call of the primitive's numpy name.
_EXTRA = {
    "transpose": ["a.T", "a.transpose(*axes)"],
    "reshape": ["a.reshape(shape)", "a.reshape(*shape)"],
    "getitem": ["x[i], x[:, 0], x[1:3], x[::-1], x[None, :], x[[0, 2]], x[mask]"],
    "shape": ["x.shape"],
    "ndim": ["x.ndim"],
    "size": ["x.size"],
    "linspace": ["np.logspace(start, stop, num=50, endpoint=True, base=10.0)"],
    "astype": [
        "x.astype(np.float32)",
        "np.asarray(x, dtype=float)",
        "np.array(x, dtype=np.float64)",
    ],
    "astype_int": ["x.astype(int)", "x.astype(bool)", "np.asarray(x, dtype=int)"],
}


def reference_markdown() -> str:
    """The whole reference, as Markdown."""
    builtin = [
        name
        for name, prim in PRIMITIVES.items()
        if prim.kind in KIND_NAMES and prim.origin is None and spellings(name)
    ]
    specs, shown = [], []
    for i, name in enumerate(builtin):
        spec, operands = _rule_function(name, i)
        specs.append(spec)
        shown.append(operands)
    bodies = dict(zip(builtin, _bodies(specs, shown)))
    lines = [
        "# Rule reference",
        "",
        "Every function s2s differentiates, with the adjoint code its rule generates.",
        "Generated from the rule table (`s2s/rules/adjoints.py`) by `python -m s2s.reference "
        "--write`; do not edit.",
        "",
        "In each rule `g` is the adjoint of the result `out`, and `dx` is what the",
        "argument `x` receives.  Where arguments broadcast (marked *broadcasts*), the",
        "reverse sweep then sums each `dx` back to the shape of `x`.  The helpers",
        "(`_unreduce`, `_unindex`, ...) are in `s2s/runtime/` and are copied into",
        "each generated module that calls them.  Functions s2s does not know can be",
        "taught with `s2s.register` (see the README).",
        "",
    ]
    for kind in KIND_NAMES:
        lines += [f"## {kind.capitalize()}", "", _KIND_TEXT[kind], ""]
        for name in builtin:
            if PRIMITIVES[name].kind != kind:
                continue
            note = " *broadcasts*" if PRIMITIVES[name].broadcasting else ""
            example = EXAMPLES.get(name, (None, {}))[1]
            if example:
                shown_params = ", ".join(f"{k}={v!r}" for k, v in example.items())
                note += f" (shown for {shown_params})"
            lines.append(f"### {name}{note}")
            lines.append("")
            lines += [f"- `{s}`" for s in spellings(name)]
            lines += ["", "```python", *bodies[name], "```", ""]
    lines += [
        "## Zero derivative",
        "",
        "Steps, comparisons, shapes and constructors: their derivative is zero",
        "wherever it exists, so nothing flows back through them (their results can",
        "still select, index or scale differentiable values).",
        "",
    ]
    steps = [n for n, p in PRIMITIVES.items() if p.kind == "zero" and p.origin is None]
    for name in sorted(steps):
        forms = spellings(name)
        if forms:
            lines.append(f"- {name}: " + ", ".join(f"`{s}`" for s in forms))
    return "\n".join(lines) + "\n"


PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "docs", "rules.md")


def main(argv: list[str]) -> int:
    text = reference_markdown()
    if "--write" in argv:
        os.makedirs(os.path.dirname(PATH), exist_ok=True)
        with open(PATH, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {PATH}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
