"""The differential fuzzer (tests/fuzz) on a fixed-seed slice, as CI runs it.

A few hundred random first-derivative programs, some second-derivative ones and about a
hundred mutants (bad input) are checked against the functions themselves and central
differences: no wrong value, no wrong gradient or second derivative, no internal error,
no timeout, and every refusal an `s2s.S2SError` naming file:line.  A failure prints the
summary and the shrunk repro of each defect.  The assertions are strict on purpose: a
failure here is a defect of s2s, not of the test.

Also checked: the grammar produces the shapes of the programs of the issue that asked
for the fuzzer, those programs themselves pass the oracle, every mutation applies, and
the shrinker turns a failure into a small pytest test.
"""

from __future__ import annotations

import ast
import random
import time

import numpy as np
import pytest
from fuzz.campaign import Task, build, format_report, run_campaign
from fuzz.grammar import Options, generate
from fuzz.mutants import MUTATIONS, mutate
from fuzz.oracle import FAILURES, Case, check
from fuzz.shrink import REPRO_IMPORTS, repro, shrink

SEED = 0
FIRST, SECOND, MUTANTS = 300, 50, 100


def test_fixed_seed_slice():
    start = time.monotonic()
    report = run_campaign(
        programs=FIRST,
        second=SECOND,
        mutants=MUTANTS,
        seed=SEED,
        jobs=2,
        timeout=20.0,
        shrink_budget=20.0,
        shrink_per_signature=1,
    )
    text = format_report(
        report, f"run_campaign({FIRST}, {SECOND}, {MUTANTS}, seed={SEED})"
    )
    print(text)
    print(f"slice took {time.monotonic() - start:.1f} s")
    for kind in ("first", "second", "mutant"):
        for status in sorted(FAILURES):
            assert report.counts[kind].get(status, 0) == 0, text
    # the slice must not be vacuous
    assert report.counts["first"]["ok"] >= FIRST * 0.6, text
    assert report.checked["grad_of_grad"] > 0 and report.checked["hvp"] > 0, text
    assert report.counts["mutant"]["refused"] >= MUTANTS * 0.5, text


# --- the programs of the issue ------------------------------------------------------------


def _function(tree: ast.Module, name: str = "f") -> ast.FunctionDef:
    return next(
        n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name
    )


def _inside(node: ast.AST, kinds: tuple, then) -> bool:
    """Some descendant of node (not node) of one of `kinds` satisfies `then`."""
    for child in ast.walk(node):
        if child is not node and isinstance(child, kinds) and then(child):
            return True
    return False


def break_in_if_in_loop_in_if(tree) -> bool:
    return _inside(
        tree,
        (ast.If,),
        lambda i: _inside(
            i,
            (ast.For, ast.While),
            lambda loop: _inside(
                loop, (ast.If,), lambda j: any(isinstance(s, ast.Break) for s in j.body)
            ),
        ),
    )


def array_rebound_in_branch_then_read(tree) -> bool:
    """`v = <array>` then `if c: v = ...` then v read after the if."""
    for node in ast.walk(tree):
        for block in (getattr(node, "body", None), getattr(node, "orelse", None)):
            if not isinstance(block, list):
                continue
            for k, stmt in enumerate(block):
                if not (isinstance(stmt, ast.If) and k > 0):
                    continue
                rebound = {
                    t.id
                    for s in stmt.body
                    if isinstance(s, ast.Assign)
                    for t in s.targets
                    if isinstance(t, ast.Name)
                }
                before = {
                    t.id
                    for s in block[:k]
                    if isinstance(s, ast.Assign)
                    and "np." in ast.unparse(s.value)
                    and "ones" in ast.unparse(s.value)
                    for t in s.targets
                    if isinstance(t, ast.Name)
                }
                after = {
                    n.id
                    for s in block[k + 1 :]
                    for n in ast.walk(s)
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
                }
                if rebound & before & after:
                    return True
    return False


def reversed_and_step_slices(tree) -> bool:
    text = ast.unparse(tree)
    return "[::-1]" in text and "[::2]" in text


def overflow_then_overwritten(tree) -> bool:
    text = ast.unparse(tree)
    return "+ 800.0)" in text


def nested_while_compound_min_aug(tree) -> bool:
    fn = _function(tree)
    nested = _inside(
        fn,
        (ast.While,),
        lambda w: isinstance(w.test, ast.BoolOp)
        and _inside(w, (ast.While,), lambda v: True),
    )
    text = ast.unparse(fn)
    return nested and "min(" in text and _inside(fn, (ast.AugAssign,), lambda a: True)


def reversed_range_in_loop(tree) -> bool:
    return _inside(
        tree,
        (ast.For, ast.While),
        lambda loop: _inside(
            loop,
            (ast.For,),
            lambda inner: isinstance(inner.iter, ast.Call)
            and getattr(inner.iter.func, "id", "") == "reversed",
        ),
    )


SHAPES_OF_THE_ISSUE = {
    "break inside if inside loop inside if": break_in_if_in_loop_in_if,
    "array rebound in a branch, read after it": array_rebound_in_branch_then_read,
    "z[::-1] and z[::2]": reversed_and_step_slices,
    "a value overflowing to inf, then overwritten": overflow_then_overwritten,
    "nested while, compound condition, min, +=": nested_while_compound_min_aug,
    "reversed(range(...)) inside another loop": reversed_range_in_loop,
}


def test_grammar_produces_the_shapes_of_the_issue():
    found = {name: 0 for name in SHAPES_OF_THE_ISSUE}
    second_found = {
        "reversed(range(...)) inside another loop": 0,
        "array rebound in a branch, read after it": 0,
    }
    for i in range(1500):
        program = generate(
            random.Random(f"shapes:{i}"), Options(scalar_only=i % 2 == 0)
        )
        tree = ast.parse(program.source)
        for name, match in SHAPES_OF_THE_ISSUE.items():
            if match(tree):
                found[name] += 1
                if program.scalar_only and name in second_found:
                    second_found[name] += 1  # shapes grad of grad is taken of
    missing = [name for name, n in found.items() if n == 0]
    assert not missing, f"the grammar never produced: {missing} ({found})"
    assert all(second_found.values()), second_found


ISSUE_PROGRAMS = {
    "break_if_loop_if": (
        """
import numpy as np

def f(x, flag):
    s = x
    if flag > 0.0:
        for i in range(4):
            if s > 3.0:
                break
            s = s * 2.0
    return s
""",
        [1.3, 0.5],
    ),
    "branch_not_taken": (
        """
import numpy as np

def f(x):
    v = x * np.ones(3)
    if x < -0.5:
        v = v / (v + 0.5)
    return np.sum(v)
""",
        [0.3],
    ),
    "branch_taken": (
        """
import numpy as np

def f(x):
    v = x * np.ones(3)
    if x < -0.5:
        v = v / (v + 0.5)
    return np.sum(v)
""",
        [-0.8],
    ),
    "slices": (
        """
import numpy as np

def f(z):
    return np.mean(z[::-1] * np.sum(z[::2]))
""",
        [np.array([0.3, -1.2, 0.7])],
    ),
    "overflow_overwritten": (
        """
import numpy as np

def f(x):
    t = np.exp(x + 800.0)
    t = x * 2.0
    return t * x
""",
        [0.6],
    ),
    "nested_while": (
        """
import numpy as np

def f(x, y):
    s = 0.0
    k = 0
    while k < 5 and s < 4.0:
        k += 1
        j = 0
        while j < 3 and (s < 2.0 or x > 0.5):
            j += 1
            s += min(x * x, y) + 0.1
    return s
""",
        [0.7, 0.9],
    ),
    "reversed_in_loop": (
        """
import numpy as np

def f(x):
    s = x
    for i in range(3):
        for j in reversed(range(i + 1)):
            s = s * np.sin(s + j * 0.3) + x
    return s
""",
        [0.4],
    ),
}


@pytest.mark.parametrize("name", sorted(ISSUE_PROGRAMS))
def test_the_issue_programs_pass_the_oracle(name, tmp_path):
    source, args = ISSUE_PROGRAMS[name]
    wrt = tuple(range(len(args)))
    result = check(
        Case(source, args, wrt, second=True, label=name), str(tmp_path), redraw=False
    )
    assert result.status == "ok", (
        result.status,
        result.stage,
        result.error,
        result.detail,
    )


# --- the constructs s2s learned: the grammar writes them, the oracle checks them ------------

#: Features the grammar counts for the constructs added with them, and what each
#: looks like in the source.
NEW_CONSTRUCTS = {
    "return_in_loop": lambda t: _inside(
        t, (ast.For, ast.While), lambda loop: _inside(loop, (ast.Return,), bool)
    ),
    "while_true_return": lambda t: _inside(
        t,
        (ast.While,),
        lambda w: isinstance(w.test, ast.Constant) and _inside(w, (ast.Return,), bool),
    ),
    "return_in_tuple_loop": lambda t: _inside(
        t,
        (ast.For,),
        lambda f: isinstance(f.iter, ast.Tuple) and _inside(f, (ast.Return,), bool),
    ),
    "raise": lambda t: _inside(t, (ast.Raise,), bool),
    "raise_in_loop": lambda t: _inside(
        t, (ast.For, ast.While), lambda loop: _inside(loop, (ast.Raise,), bool)
    ),
    "assert": lambda t: _inside(t, (ast.Assert,), bool),
    "is_none": lambda t: _inside(
        t,
        (ast.Compare,),
        lambda c: isinstance(c.ops[0], (ast.Is, ast.IsNot))
        and getattr(c.comparators[0], "value", 0) is None,
    ),
    "optional_param_left_out": lambda t: "=None" in ast.unparse(_function(t).args),
    "kwonly_param": lambda t: bool(_function(t).args.kwonlyargs),
    "helper_kwonly": lambda t: _inside(
        t, (ast.Call,), lambda c: bool(c.keywords) and "h" in ast.unparse(c.func)
    ),
    "comp_sum_range": lambda t: "for" in _generators_in(t, "sum"),
    "comp_filtered": lambda t: " if " in _generators_in(t, "sum"),
    "comp_sum_over_tuple": lambda t: _inside(
        t,
        (ast.GeneratorExp,),
        lambda g: isinstance(g.generators[0].iter, ast.Tuple),
    ),
    "comp_stack_range": lambda t: _inside(
        t,
        (ast.Call,),
        lambda c: ast.unparse(c.func).endswith(("stack", "array"))
        and bool(c.args)
        and isinstance(c.args[0], ast.ListComp),
    ),
    "comp_max_over": lambda t: "for"
    in _generators_in(t, "max") + _generators_in(t, "min"),
    "comp_nested_array": lambda t: _inside(
        t, (ast.ListComp,), lambda c: isinstance(c.elt, ast.ListComp)
    ),
    "setitem": lambda t: _inside(
        t,
        (ast.Assign,),
        lambda a: isinstance(a.targets[0], ast.Subscript),
    ),
    "fill_recurrence": lambda t: "- 1] + " in ast.unparse(t),
    "loop_var_after_loop": lambda t: True,  # the feature is the evidence
    "loop_var_after_break": lambda t: True,
    "helper_tuple_item": lambda t: _inside(
        t, (ast.Subscript,), lambda s: isinstance(s.value, ast.Call)
    ),
    "helper_tuple_bound": lambda t: "pair" in ast.unparse(t),
    "cond_isnan": lambda t: "isnan(" in ast.unparse(t),
    "cond_isinf": lambda t: "isinf(" in ast.unparse(t),
    "cond_isfinite": lambda t: "isfinite(" in ast.unparse(t),
    "tuple_loop_mixed_shapes": lambda t: _inside(
        t, (ast.For,), lambda f: isinstance(f.iter, ast.Tuple)
    ),
}


def _generators_in(tree, name: str) -> str:
    """The text of the generators and comprehensions given to `name(...)`."""
    return " ".join(
        ast.unparse(c.args[0])
        for c in ast.walk(tree)
        if isinstance(c, ast.Call)
        and getattr(c.func, "id", "") == name
        and c.args
        and isinstance(c.args[0], (ast.GeneratorExp, ast.ListComp))
    )


def test_grammar_writes_the_constructs_s2s_learned():
    seen = {name: 0 for name in NEW_CONSTRUCTS}
    for i in range(800):
        program = generate(random.Random(f"new:{i}"), Options(scalar_only=i % 3 == 0))
        tree = ast.parse(program.source)
        for name in program.features & set(NEW_CONSTRUCTS):
            assert NEW_CONSTRUCTS[name](tree), (name, program.source)
            seen[name] += 1
    assert all(seen.values()), f"never written: {[n for n, k in seen.items() if not k]}"


def _case(source: str, args: list, wrt: tuple, **kw) -> Case:
    return Case(source, args, wrt, label="hand", **kw)


RAISES = """
import numpy as np

def f(x, y):
    if x > 1.0:
        raise ValueError(f"x is too large: {x:.3f}")
    assert y > -5.0, "y is too small"
    return x * np.sin(y)
"""


def test_the_oracle_checks_that_the_gradient_raises_where_f_raises(tmp_path):
    r = check(_case(RAISES, [1.5, 0.5], (0, 1)), str(tmp_path), redraw=False)
    assert (r.status, r.stage, r.checked) == ("ok", "raise", {"raise": 1}), r
    r = check(_case(RAISES, [0.5, -6.0], (0, 1)), str(tmp_path), redraw=False)
    assert (r.status, r.stage) == ("ok", "raise"), r
    r = check(_case(RAISES, [0.5, 0.5], (0, 1)), str(tmp_path), redraw=False)
    assert (r.status, r.stage) == ("ok", "gradient"), r
    # an exception the source does not raise says nothing of the gradient
    other = RAISES.replace("return x", "return [1.0][int(x + 5)] * x")
    r = check(_case(other, [0.5, 0.5], (0, 1)), str(tmp_path), redraw=False)
    assert r.status == "inconclusive", r


def test_a_gradient_raising_differently_from_f_is_a_failure(tmp_path, monkeypatch):
    import s2s

    real = s2s.value_and_grad

    def never_raises(f, wrt=0):  # a gradient that forgot f's raise
        g = real(f, wrt=wrt)

        def run(*args):
            try:
                return g(*args)
            except ValueError:
                return 0.0, (0.0, 0.0)

        return run

    def always_raises(f, wrt=0):  # a gradient that raises where f does not
        def run(*args):
            raise ValueError("x is too large: 0.500")

        return run

    monkeypatch.setattr(s2s, "value_and_grad", never_raises)
    r = check(_case(RAISES, [1.5, 0.5], (0, 1)), str(tmp_path), redraw=False)
    assert (r.status, r.stage) == ("wrong_raise", "raise"), r
    assert r.signature() == (
        "wrong_raise",
        "raise",
        "ValueError raised by f, none by the gradient",
        "ValueError raised by f, none by the gradient",
    )
    monkeypatch.setattr(s2s, "value_and_grad", always_raises)
    r = check(_case(RAISES, [0.5, 0.5], (0, 1)), str(tmp_path), redraw=False)
    assert (r.status, r.stage) == ("wrong_raise", "gradient"), r
    text = repro(_case(RAISES, [0.5, 0.5], (0, 1)), r, "test_repro")
    namespace: dict = {}
    exec(compile(REPRO_IMPORTS + text, "<repro>", "exec"), namespace)
    with pytest.raises(AssertionError, match="the gradient raises"):
        namespace["test_repro"](tmp_path)  # the repro fails while the defect is there


KEYWORDS = """
import numpy as np

def f(x, b=None, *, scale=0.5, shift=0.25):
    if b is None:
        b = x * 2.0
    return np.sum(np.sin(b * x) * scale) + shift
"""


def test_keyword_arguments_reach_f_and_s2s_by_name(tmp_path):
    x = np.array([0.3, -0.8, 1.1])
    # b left out, scale passed by keyword (and differentiated), shift left out
    case = _case(KEYWORDS, [x, 0.7], (0, 1), argnames=["x", "scale"], nkw=1)
    r = check(case, str(tmp_path), redraw=False)
    assert (r.status, r.stage) == ("ok", "gradient"), r
    text = repro(case, r, "test_repro")
    assert "keywords = ('scale',)" in text and "wrt = (0, 'scale')" in text
    namespace: dict = {}
    exec(compile(REPRO_IMPORTS + text, "<repro>", "exec"), namespace)
    namespace["test_repro"](tmp_path)
    # b passed by position, both keyword-only ones by keyword
    case = _case(
        KEYWORDS,
        [x, x * 0.5, 0.7, -1.0],
        (0, 1, 2, 3),
        argnames=["x", "b", "scale", "shift"],
        nkw=2,
    )
    r = check(case, str(tmp_path), redraw=False)
    assert (r.status, r.stage) == ("ok", "gradient"), r


# --- mutants and the shrinker -------------------------------------------------------------


#: Mutations standing for the refused neighbours of constructs s2s now reads.
REFUSED_NEIGHBOURS = [
    "raise_own_class",
    "raise_from",
    "raise_instance",
    "while_else",
    "for_else",
    "is_identity",
    "item_assign",
    "slice_assign",
    "mask_assign",
    "view_item_assign",
    "inplace_param_assign",
    "kwargs_param",
    "list_comprehension_data_length",
    "list_comprehension_over_array",
    "generator_expression",
]


def test_mutants_of_the_new_constructs_are_refused(tmp_path):
    from fuzz.grammar import Param, Program

    program = Program(
        source="import math\nimport numpy as np\n\n\ndef f(x, y):\n"
        "    v = np.sin(x) * y\n    return np.sum(v)\n",
        name="f",
        params=[
            Param("x", (3,), -1.0, 1.0, "array"),
            Param("y", (), 0.5, 2.5, "float"),
        ],
        args=[np.array([0.3, -0.5, 0.8]), 1.2],
        wrt=(0, 1),
    )
    for name in REFUSED_NEIGHBOURS:
        assert name in MUTATIONS
        mutant = mutate(program, random.Random(name), kind=name)
        case = Case(mutant.source, mutant.args, mutant.wrt, kind="mutant", label=name)
        r = check(case, str(tmp_path), redraw=False)
        assert r.status == "refused", (name, r.status, r.error, mutant.source)


def test_every_mutation_applies_and_runs(tmp_path):
    program = generate(random.Random("mutation-base"), Options())
    for i in range(40):  # a program with an array parameter, for the in-place mutations
        if any(p.kind == "array" for p in program.params):
            break
        program = generate(random.Random(f"mutation-base:{i}"), Options())
    for name in MUTATIONS:
        mutant = mutate(program, random.Random(name), kind=name)
        assert mutant is not None, name
        namespace: dict = {}
        exec(
            compile(mutant.source, "<mutant>", "exec"), namespace
        )  # plain Python runs it
        with np.errstate(all="ignore"):
            namespace["f"](
                *[a.copy() if isinstance(a, np.ndarray) else a for a in mutant.args]
            )


def test_the_shrinker_prints_a_small_test(tmp_path):
    # A refusal is a failure signature like any other: shrink one to its cause
    # (here an assignment through a mask, which s2s refuses by design).
    source = """
import numpy as np

def helper(a, b):
    return np.tanh(a) * b

def f(x, y):
    s = x * 2.0
    acc = np.zeros(3)
    for i in range(3):
        acc[i] += s * y
        if s > 100.0:
            acc[acc > 100.0] = 0.0
        s = helper(s, y) + 1.0
    t = np.sum(acc) + s
    return t * y
"""
    case = Case(source, [0.3, 0.7], (0, 1), label="shrink-test")
    result = check(case, str(tmp_path), redraw=False)
    assert result.status == "refused", result
    small, small_result, runs = shrink(case, result, str(tmp_path), budget=60.0)
    assert small_result.signature() == result.signature()
    assert small.source.count("\n") < source.count("\n") - 6, small.source
    text = repro(small, small_result, "test_repro")
    namespace: dict = {}
    exec(compile(REPRO_IMPORTS + text, "<repro>", "exec"), namespace)
    namespace["test_repro"](tmp_path)  # a refusal naming its line passes


def test_a_task_is_reproducible():
    a, _ = build(Task("mutant", 7, SEED))
    b, _ = build(Task("mutant", 7, SEED))
    assert a.source == b.source and a.mutation == b.mutation
    assert all(np.array_equal(x, y) for x, y in zip(a.args, b.args))
