"""Bad input: generated programs mutated with constructs outside the subset s2s
differentiates (try/except, with, yield, global writes, strings, lambdas,
comprehensions counted only at run time outside `sum`, recursion, attribute writes,
`del`, sets, dicts, `.append` on a parameter, updates in place of a parameter's
array, assignment through an index array or a mask or into an array another name
holds, `raise` of an exception class of one's own or `from`, `is` other than `is
None`, `while`/`for` with `else`, `**kwargs`, and more).  Constructs s2s learned to
read (`return` and `assert` in loops, `out[i] = v`, `is None`, sums of generators)
are in the grammar instead; the mutants keep the refused neighbours of each.

A mutant must get either a right gradient (s2s accepted it and was right) or an
`s2s.S2SError` whose message names file:line: never another exception, never a wrong
number.  `mutate(program, rng)` returns the mutant's source, its arguments and the
name of the mutation; the mutated function still runs in plain Python.
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass
from typing import Callable, Optional

from .grammar import Program


@dataclass
class Mutant:
    """A mutated program: its source, arguments, and what was done to it."""

    source: str
    args: list
    wrt: tuple
    mutation: str
    line: int  # the first line the mutation wrote (0 if unknown)
    argnames: list = None  # as in Case: the parameter each argument is given to
    nkw: int = 0  # the last nkw arguments are passed by keyword


def _stmts(text: str) -> list:
    return ast.parse(text).body


def _function(tree: ast.Module, name: str = "f") -> ast.FunctionDef:
    return next(
        n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name
    )


def _blocks(node: ast.AST) -> list[list]:
    """Every statement list inside node (its body, and those of nested statements)."""
    out = []
    for child in ast.walk(node):
        for fieldname in ("body", "orelse", "finalbody"):
            block = getattr(child, fieldname, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                out.append(block)
    return out


class _Site:
    """Where a mutation goes: the function, a value it can read (`v`, a scalar built
    from a differentiated parameter) and an array parameter if there is one."""

    def __init__(self, program: Program, rng: random.Random):
        wrt_params = [program.arg_params[k] for k in program.wrt]
        p = rng.choice(wrt_params)
        self.param = p.name
        self.v = f"np.sum({p.name})" if p.kind == "array" else p.name
        arrays = [q for q in wrt_params if q.kind == "array"]
        self.array = rng.choice(arrays).name if arrays else None


def _insert_top(
    fn: ast.FunctionDef, stmts: list, rng: random.Random, last=False
) -> None:
    """Insert statements in f's top-level body, before its last statement (and after
    a `global` declaration)."""
    first = 1 if fn.body and isinstance(fn.body[0], ast.Global) else 0
    at = len(fn.body) - 1 if last else rng.randint(first, max(len(fn.body) - 1, first))
    fn.body[at:at] = stmts


def _add_to_return(fn: ast.FunctionDef, name: str) -> None:
    """`return R` at the end of f becomes `return R + name` (so the mutation matters)."""
    last = fn.body[-1]
    if isinstance(last, ast.Return) and last.value is not None:
        last.value = ast.BinOp(last.value, ast.Add(), ast.Name(name, ast.Load()))


def _value_mutation(template: str) -> Callable:
    """A mutation that computes `fz_extra` with a construct, then adds it to the result."""

    def apply(tree, fn, site, rng):
        text = template.format(v=site.v, p=site.param)
        _insert_top(fn, _stmts(text), rng, last=True)
        _add_to_return(fn, "fz_extra")
        return tree

    return apply


def _wrap(kind: str) -> Callable:
    def apply(tree, fn, site, rng):
        blocks = _blocks(fn)
        block = rng.choice(blocks)
        k = rng.randrange(len(block))
        stmt = block[k]
        if kind == "try":
            new = _stmts("try:\n    pass\nexcept ZeroDivisionError:\n    pass")[0]
            new.body = [stmt]
        elif kind == "try_finally":
            new = _stmts("try:\n    pass\nfinally:\n    fz_done = True")[0]
            new.body = [stmt]
        else:
            new = _stmts("with np.errstate(all='ignore'):\n    pass")[0]
            new.body = [stmt]
        block[k] = new
        return tree

    return apply


def _yield(tree, fn, site, rng):
    _insert_top(fn, _stmts(f"yield {site.v}"), rng)
    return tree


def _global_write(tree, fn, site, rng):
    tree.body.insert(2, _stmts("G_fz = 0.0")[0])
    fn.body.insert(0, _stmts("global G_fz")[0])
    _insert_top(fn, _stmts(f"G_fz = {site.v} * 2.0"), rng)
    return tree


def _global_read_write(tree, fn, site, rng):
    tree.body.insert(2, _stmts("G_fz = 1.0")[0])
    fn.body.insert(0, _stmts("global G_fz")[0])
    _insert_top(fn, _stmts(f"G_fz = {site.v}\nfz_extra = G_fz * G_fz"), rng, last=True)
    _add_to_return(fn, "fz_extra")
    return tree


def _recursion(tree, fn, site, rng):
    helper = _stmts(
        "def fz_rec(t, k):\n    if k <= 0:\n        return t\n    return fz_rec(t * 0.5, k - 1)"
    )[0]
    tree.body.insert(len(tree.body) - 1, helper)
    _insert_top(fn, _stmts(f"fz_extra = fz_rec({site.v}, 2)"), rng, last=True)
    _add_to_return(fn, "fz_extra")
    return tree


def _self_recursion(tree, fn, site, rng):
    params = ", ".join(a.arg for a in fn.args.args)
    _insert_top(fn, _stmts(f"if {site.v} > 1000000000.0:\n    return f({params})"), rng)
    return tree


def _append_param(tree, fn, site, rng):
    if fn.args.defaults:  # a parameter without a default cannot follow them
        return None
    fn.args.args.append(ast.arg("fz_buf"))
    _insert_top(fn, _stmts(f"fz_buf.append({site.v})"), rng)
    return tree


def _inplace_param(form: str) -> Callable:
    def apply(tree, fn, site, rng):
        if site.array is None:
            return None
        fn.body[0:0] = _stmts(form.format(a=site.array))
        return tree

    return apply


def _attribute_write(tree, fn, site, rng):
    text = rng.choice(
        [
            "fz_tmp = np.zeros(3)\nfz_tmp.shape = (3, 1)",
            "f.fz_calls = 1",
            f"fz_tmp = np.ones(3) * {site.v}\nfz_tmp.flags.writeable = False",
        ]
    )
    _insert_top(fn, _stmts(text), rng)
    return tree


def _nested_def(tree, fn, site, rng):
    text = f"def fz_inner(t):\n    return t * 2.0\nfz_extra = fz_inner({site.v})"
    _insert_top(fn, _stmts(text), rng, last=True)
    _add_to_return(fn, "fz_extra")
    return tree


def _return_kind(template: str) -> Callable:
    def apply(tree, fn, site, rng):
        last = fn.body[-1]
        if not isinstance(last, ast.Return) or last.value is None:
            return None
        inner = ast.unparse(last.value)
        fn.body[-1] = _stmts(template.format(r=inner, v=site.v))[0]
        return tree

    return apply


def _string_default(tree, fn, site, rng):
    fn.args.args.append(ast.arg("fz_mode"))
    fn.args.defaults.append(ast.Constant("fast"))
    _insert_top(fn, _stmts("if fz_mode == 'slow':\n    return 0.0"), rng)
    return tree


def _raise_own_class(tree, fn, site, rng):
    tree.body.insert(2, _stmts("class FzError(Exception):\n    pass")[0])
    _insert_top(
        fn, _stmts(f"if {site.v} > 1000000000.0:\n    raise FzError('too big')"), rng
    )
    return tree


def _kwargs_param(tree, fn, site, rng):
    fn.args.kwarg = ast.arg("fz_options")
    return tree


def _varargs(tree, fn, site, rng):
    fn.args.vararg = ast.arg("fz_rest")
    _insert_top(fn, _stmts("fz_extra = len(fz_rest) * 1.0"), rng, last=True)
    _add_to_return(fn, "fz_extra")
    return tree


#: name -> (how to apply it, weight)
MUTATIONS: dict[str, Callable] = {
    "try_except": _wrap("try"),
    "try_finally": _wrap("try_finally"),
    "with": _wrap("with"),
    "yield": _yield,
    "global_write": _global_write,
    "global_read_write": _global_read_write,
    "string_concat": _value_mutation(
        "fz_label = 'v' + str(round(float({v}), 3))\nfz_extra = len(fz_label) * 0.0"
    ),
    "string_multiply": _value_mutation("fz_extra = len('ab' * 2) * {v}"),
    "fstring": _value_mutation("fz_note = f'{{{v}:.3f}}'\nfz_extra = 0.0"),
    "lambda": _value_mutation("fz_sq = lambda t: t * t\nfz_extra = fz_sq({v})"),
    "lambda_inline": _value_mutation("fz_extra = (lambda t: t * 0.5)({v})"),
    # comprehensions whose length is known only at run time, outside sum(...)
    "list_comprehension_data_length": _value_mutation(
        "fz_extra = max([0.1 * {v} * j for j in range(int(abs(float({v}))) % 3 + 1)])"
    ),
    # stacked item by item, but a filter makes its length known only at run time
    "list_comprehension_over_array": _value_mutation(
        "fz_extra = np.sum(np.stack([t * t for t in np.ravel({p}) if t == t]))"
    ),
    "generator_expression": _value_mutation(
        "fz_extra = max((t * 0.5 for t in np.ravel({p})))"
    ),
    "dict_comprehension": _value_mutation(
        "fz_d = {{j: {v} * j for j in range(3)}}\nfz_extra = fz_d[2]"
    ),
    "set_literal": _value_mutation(
        "fz_bag = {{1.0, 2.0}}\nfz_extra = len(fz_bag) * {v}"
    ),
    "dict_literal": _value_mutation("fz_d = {{'a': {v}}}\nfz_extra = fz_d['a']"),
    "list_index": _value_mutation("fz_extra = [{v}, 2.0][0]"),
    "walrus": _value_mutation("fz_extra = (fz_t := {v}) * 2.0"),
    "recursion": _recursion,
    "self_recursion": _self_recursion,
    "attribute_write": _attribute_write,
    "del": _value_mutation("fz_tmp = {v} * 2.0\nfz_extra = fz_tmp * 0.5\ndel fz_tmp"),
    "append_param": _append_param,
    "inplace_param_add": _inplace_param("{a} += 1.0"),
    "inplace_param_mul": _inplace_param("{a} *= 2.0"),
    "inplace_param_item": _inplace_param("{a}[0] += 0.5"),
    # assignment into part of an array: through an index array or a mask, into an
    # array another name holds or views, or into a parameter's
    "item_assign": _value_mutation(
        "fz_acc = np.zeros(3)\nfz_acc[[0, 2]] = {v}\nfz_extra = np.sum(fz_acc)"
    ),
    "slice_assign": _value_mutation(
        "fz_acc = np.zeros(3)\nfz_view = fz_acc\nfz_acc[:] = {v}\nfz_extra = np.sum(fz_view)"
    ),
    "mask_assign": _value_mutation(
        "fz_acc = np.ones(3) * {v}\nfz_acc[fz_acc > 1000000000.0] = 0.0\nfz_extra = np.sum(fz_acc)"
    ),
    "view_item_assign": _value_mutation(
        "fz_acc = np.zeros(3)\nfz_part = fz_acc[1:]\nfz_acc[0] = {v}\nfz_extra = np.sum(fz_part)"
    ),
    "inplace_param_assign": _inplace_param("{a}[0] = 0.5"),
    "item_mul_update": _value_mutation(
        "fz_acc = np.ones(3)\nfz_acc[1] *= {v}\nfz_extra = np.sum(fz_acc)"
    ),
    "sort_in_place": _value_mutation(
        "fz_tmp = np.ravel({p}).copy()\nfz_tmp.sort()\nfz_extra = fz_tmp[0]"
    ),
    # raise: of an exception class of one's own, `from`, an instance in a name
    "raise_own_class": _raise_own_class,
    "raise_from": _value_mutation(
        "if {v} > 1000000000.0:\n    raise ValueError('too big') from None\nfz_extra = 0.0"
    ),
    "raise_instance": _value_mutation(
        "fz_error = ValueError('too big')\nif {v} > 1000000000.0:\n    raise fz_error\nfz_extra = 0.0"
    ),
    # loops with an else clause
    "while_else": _value_mutation(
        "fz_k = 0\nwhile fz_k < 2:\n    fz_k += 1\nelse:\n    fz_k += 1\nfz_extra = fz_k * {v}"
    ),
    "for_else": _value_mutation(
        "fz_extra = 0.0\nfor fz_i in range(2):\n    fz_extra = fz_extra + {v}\nelse:\n    fz_extra = fz_extra * 0.5"
    ),
    "star_args": _value_mutation("fz_extra = np.maximum(*[{v}, {v} * 0.5])"),
    "kwargs_unpack": _value_mutation("fz_extra = np.sum({p}, **{{'axis': None}})"),
    "unknown_function": _value_mutation("fz_extra = np.sinc({v})"),
    "math_unknown": _value_mutation("fz_extra = math.erf({v})"),
    "np_array_literal": _value_mutation("fz_extra = np.sum(np.array([{v}, 1.0]))"),
    "nested_def": _nested_def,
    "isinstance": _value_mutation("fz_extra = 1.0 if isinstance({p}, float) else 2.0"),
    "is_identity": _value_mutation("fz_extra = {v} if {p} is not {p} else 0.0"),
    "import_in_function": _value_mutation(
        "import math as fz_m\nfz_extra = fz_m.sin({v})"
    ),
    "complex_number": _value_mutation("fz_extra = abs({v} + 1j)"),
    "string_compare": _value_mutation("fz_extra = {v} if 'a' < 'b' else 0.0"),
    "return_tuple": _return_kind("return ({r}, 1.0)"),
    "return_array": _return_kind("return {r} * np.ones(2)"),
    "return_none": _return_kind("return None"),
    "string_default": _string_default,
    "varargs": _varargs,
    "kwargs_param": _kwargs_param,
    "print_call": _value_mutation("print(end='')\nfz_extra = 0.0"),
}


def mutate(
    program: Program, rng: random.Random, kind: Optional[str] = None
) -> Optional[Mutant]:
    """A mutant of program (of the given kind, or a random applicable one)."""
    kinds = [kind] if kind else list(MUTATIONS)
    rng.shuffle(kinds)
    for name in kinds:
        tree = ast.parse(program.source)
        fn = _function(tree, program.name)
        site = _Site(program, rng)
        out = MUTATIONS[name](tree, fn, site, rng)
        if out is None:
            continue
        # the templates spell numpy `np` and math `math`, whatever the program's aliases
        have = {
            (a.name, a.asname)
            for n in out.body
            if isinstance(n, ast.Import)
            for a in n.names
        }
        if ("numpy", "np") not in have:
            out.body.insert(0, _stmts("import numpy as np")[0])
        if ("math", None) not in have:
            out.body.insert(0, _stmts("import math")[0])
        ast.fix_missing_locations(out)
        source = ast.unparse(out) + "\n"
        compile(source, "<mutant>", "exec")
        args, names, wrt = list(program.args), list(program.argnames), program.wrt
        if name == "append_param":  # a positional parameter, before keyword ones
            at = len(args) - program.nkw
            args.insert(at, [])
            names.insert(at, "fz_buf")
            wrt = tuple(k + (k >= at) for k in wrt)
        return Mutant(
            source,
            args,
            wrt,
            name,
            _first_line(program.source, source),
            names,
            program.nkw,
        )
    return None


def _first_line(old: str, new: str) -> int:
    """The first line of new that differs from old."""
    a, b = old.splitlines(), new.splitlines()
    for k, line in enumerate(b):
        if k >= len(a) or a[k] != line:
            return k + 1
    return 0
