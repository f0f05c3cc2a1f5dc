"""Every derivative rule against central differences, on the inputs of tests/rule_cases.py.

Each row of the table becomes one test per shape: the expression is wrapped as
``np.sum((expr) * w)`` with a seeded random `w` of the output's shape (so the adjoint
reaching the rule is not all ones), written into a generated module (s2s reads source
with inspect), and differentiated with respect to every differentiable argument.  The
test also checks that the generated source parses, that the gradient does not modify
its inputs, and that the primitive the row claims to test is really in the graph.

Meta-tests make the table complete: a rule, a numpy/math spelling, a method or a
built-in without a row fails the build.
"""

from __future__ import annotations

import ast
import atexit
import copy
import functools
import importlib.util
import os
import shutil
import sys
import tempfile
import textwrap
import zlib
from dataclasses import dataclass

import numpy as np
import pytest
import rule_cases as rc

import s2s
import s2s.emit.module
from s2s.custom import CUSTOM
from s2s.errors import S2SError
from s2s.ir import Op, walk
from s2s.primitives import (
    BUILTINS,
    HELPERS,
    MATH_FUNCTIONS,
    METHODS,
    NUMPY_FUNCTIONS,
    PRIMITIVES,
)
from s2s.rules import KIND_NAMES, load

load()  # the tests below read the records the rules fill in
from s2s.shim import as_real

# A float rounding that turns into a nan or an inf inside a gradient is a bug here.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


@pytest.fixture(scope="module", autouse=True)
def _format_each_text_once():
    """Formatting with black is most of the time s2s takes to generate a gradient, and
    check_grad generates each gradient again: format each distinct text once (black
    is deterministic, so the generated code is the same)."""
    with pytest.MonkeyPatch.context() as patch:
        cached = functools.lru_cache(maxsize=None)(s2s.emit.module.format_source)
        patch.setattr(s2s.emit.module, "format_source", cached)
        yield


def _ruled() -> set[str]:
    """The primitives with adjoint rules (not steps, not tapes)."""
    return {n for n, p in PRIMITIVES.items() if p.kind in KIND_NAMES}


# --- cases --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One expression at one set of shapes."""

    prims: tuple[str, ...]
    expr: str
    setup: str
    args: tuple[tuple[str, str], ...]  # (name, domain)
    shapes: tuple[str, ...]
    zero: bool = False  # the whole gradient must be exactly zero

    @property
    def id(self) -> str:
        setup = f"{self.setup.splitlines()[0]}...; " if self.setup else ""
        domains = " ".join(f"{n}:{d}" for n, d in self.args)
        return f"{setup}{self.expr} | {domains} | {' '.join(self.shapes)}"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.args)

    @property
    def wrt(self) -> tuple[str, ...]:
        return tuple(n for n, d in self.args if rc.DOMAINS[d][2])


def _parse_args(spec: str) -> tuple[tuple[str, str], ...]:
    return tuple(tuple(item.split(":")) for item in spec.split())


def _cases(rows, prims_of=lambda row: (row[0],)) -> list[Case]:
    out = []
    for row in rows:
        _, expr, args, shapes, *rest = row
        setup = rest[0] if rest else ""
        for shape in shapes:
            out.append(
                Case(
                    prims_of(row), expr, setup, _parse_args(args), tuple(shape.split())
                )
            )
    return out


RULE_CASES = _cases(rc.RULES)
EDGE_CASES = _cases(rc.EDGES)
NONDIFF_CASES = [
    Case(
        tuple(prims.split()), expr, setup, _parse_args(args), tuple(shape.split()), zero
    )
    for prims, setup, expr, args, shapes, zero in rc.NONDIFF
    for shape in shapes
]
REJECTED = {
    prim: Case((prim,), expr, "", (("x", "real"),), ("5",))
    for prim, (_, expr) in rc.NONDIFF_UNSPELLABLE.items()
}


# --- the generated module of case functions ------------------------------------------


#: The helpers of generated code, which s2s knows as primitives.
_HELPER_IMPORT = f"from s2s.runtime import {', '.join(sorted(HELPERS))}\n"


def _module_text(cases: list[Case]) -> tuple[str, dict[tuple, int]]:
    """One function pair per distinct (setup, expression, arguments)."""
    numbers: dict[tuple, int] = {}
    parts = ["import linecache\nimport math\n\nimport numpy as np\n\n", _HELPER_IMPORT]
    parts.append(rc.MODULE_DATA)
    for case in cases:
        key = (case.setup, case.expr, case.names)
        if key in numbers:
            continue
        n = numbers[key] = len(numbers)
        setup = textwrap.indent(case.setup, "    ") + "\n" if case.setup else ""
        params = ", ".join(case.names)
        parts.append(
            f"\n\ndef value_{n}({params}):\n{setup}    return {case.expr}\n"
            f"\n\ndef case_{n}({params}, w):\n{setup}"
            f"    return np.sum(({case.expr}) * w)\n"
        )
    return "".join(parts), numbers


def _load_module():
    text, numbers = _module_text(
        RULE_CASES + EDGE_CASES + NONDIFF_CASES + list(REJECTED.values())
    )
    directory = tempfile.mkdtemp(prefix="s2s_rule_cases_")
    atexit.register(shutil.rmtree, directory, True)
    path = os.path.join(directory, "s2s_rule_case_functions.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    spec = importlib.util.spec_from_file_location("s2s_rule_case_functions", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module, numbers


_MODULE, _NUMBERS = _load_module()


def functions(case: Case):
    """The case's function (expression times weights, summed) and its bare value."""
    n = _NUMBERS[(case.setup, case.expr, case.names)]
    return getattr(_MODULE, f"case_{n}"), getattr(_MODULE, f"value_{n}")


def _shape(token: str) -> tuple[int, ...]:
    body = token[2:] if token.startswith("i:") else token
    if body in ("f", "i", "0", "-"):
        return ()
    return tuple(int(n) for n in body.split(","))


def make_argument(rng: np.random.Generator, domain: str, token: str):
    sample_float, sample_int, _ = rc.DOMAINS[domain]
    if token == "-":
        return sample_float(rng, ())
    integer = token == "i" or token.startswith("i:")
    if integer:
        assert sample_int is not None, f"domain {domain} has no integer points"
        value = np.asarray(sample_int(rng, _shape(token)), dtype=np.int64)
    else:
        value = np.asarray(sample_float(rng, _shape(token)))
    if token == "f":
        return value.item()  # a Python float (or bool, for a mask)
    if token == "i":
        return int(value)
    return value


def _real(x):
    """As s2s sees a differentiated argument: integers become floats."""
    if isinstance(x, int) and not isinstance(x, bool):
        return float(x)
    if isinstance(x, np.ndarray) and x.dtype.kind in "iu":
        return x.astype(np.float64)
    return x


def arguments(case: Case) -> list:
    """The case's arguments, weights last: the same on every run."""
    rng = np.random.default_rng(zlib.crc32(case.id.encode()))
    args = [make_argument(rng, d, t) for (_, d), t in zip(case.args, case.shapes)]
    _, value = functions(case)
    wrt = case.wrt
    out = value(*(_real(a) if n in wrt else a for n, a in zip(case.names, args)))
    weights = rng.uniform(0.5, 1.5, np.shape(out)) * rng.choice(
        [-1.0, 1.0], np.shape(out)
    )
    return args + [weights]


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    return a == b


def _prims(stmts) -> set[str]:
    return {s.prim for s in walk(stmts) if isinstance(s, Op)}


def param(case: Case):
    reason = rc.XFAIL.get(case.id)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(case, id=case.id, marks=marks)


# --- the checks -----------------------------------------------------------------------


def check(case: Case) -> tuple:
    """Differentiate `case` with respect to all its differentiable arguments; check
    the generated source, the inputs, the shapes and the values.  Returns the
    gradients and the GradFunction."""
    f, _ = functions(case)
    args = arguments(case)
    g = s2s.grad(f, wrt=case.wrt)
    ast.parse(g.source)

    before = copy.deepcopy(args)
    grads = g(*args)
    for name, a, b in zip(case.names + ("w",), args, before):
        assert _same(a, b), f"the gradient modified its argument {name}"

    assert isinstance(grads, tuple) and len(grads) == len(case.wrt)
    for name, grad in zip(case.wrt, grads):
        arg = args[case.names.index(name)]
        assert np.shape(grad) == np.shape(arg), f"d{name} has the wrong shape"
        assert np.asarray(grad).dtype == np.float64, f"d{name} is not float64"
        assert np.all(np.isfinite(grad)), f"d{name} = {grad!r} is not finite"

    s2s.check_grad(f, *args, wrt=case.wrt)

    # The code for any shapes agrees with the code specialized for these ones.
    generic = g.generic(
        *(as_real(a) if n in case.wrt else a for n, a in zip(case.names + ("w",), args))
    )
    for name, a, b in zip(case.wrt, generic, grads):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, err_msg=f"d{name}")

    # Alone, each gradient takes a pruned reverse sweep (and the other arguments keep
    # their integer types): it must agree with the joint one.
    if len(case.wrt) > 1:
        for name, grad in zip(case.wrt, grads):
            alone = s2s.grad(f, wrt=name)(*args)
            np.testing.assert_allclose(
                alone, grad, rtol=1e-12, atol=1e-15, err_msg=f"d{name} alone"
            )
    return grads, g


@pytest.mark.parametrize("case", [param(c) for c in RULE_CASES])
def test_rule(case):
    grads, g = check(case)
    graph = _prims(g.stages.graph.ops)
    for prim in case.prims:
        if prim not in rc.NOT_IN_GRAPH:
            assert prim in graph, f"{case.expr} does not produce a {prim} op: {graph}"


@pytest.mark.parametrize("case", [param(c) for c in EDGE_CASES])
def test_rule_at_special_points(case):
    check(case)


@pytest.mark.parametrize("case", [param(c) for c in NONDIFF_CASES])
def test_nondifferentiable(case):
    grads, g = check(case)
    stages = g.stages
    used = _prims(stages.graph.ops + stages.adjoint.forward + stages.adjoint.ops)
    for prim in case.prims:
        assert prim in used, f"{case.expr} does not use {prim}: {used}"
    if case.zero:
        for name, grad in zip(case.wrt, grads):
            assert not np.any(grad), f"d{name} should be zero, got {grad!r}"


@pytest.mark.parametrize("prim", sorted(REJECTED))
def test_unspellable_primitives_are_rejected(prim):
    """The exemptions of NONDIFF_UNSPELLABLE hold: the spelling is refused.  If s2s
    starts accepting it, move the primitive into NONDIFF with a real case."""
    f, _ = functions(REJECTED[prim])
    with pytest.raises(S2SError):
        s2s.grad(f)


# --- the table covers everything -------------------------------------------------------


def test_every_rule_has_cases():
    covered = {row[0] for row in rc.RULES}
    builtin = _ruled() - set(CUSTOM)
    missing, extra = builtin - covered, covered - builtin
    assert not missing, f"rules without test inputs in tests/rule_cases.py: {missing}"
    assert not extra, f"rows for primitives that have no rule: {extra}"


def _shape_classes(case: Case) -> set[str]:
    """Which of rc.SHAPE_CLASSES one case exercises."""
    found, shapes = set(), set()
    for (_, domain), token in zip(case.args, case.shapes):
        if token == "-":
            continue
        if token == "i" or token.startswith("i:"):
            found.add("integer")
        shape = _shape(token)
        found.add({0: "0-d", 1: "vector"}.get(len(shape), "matrix"))
        if rc.DOMAINS[domain][2]:
            shapes.add(shape)
    if len(shapes) > 1:
        found.add("broadcast")
    return found


def test_every_rule_has_inputs_of_every_shape_class():
    """0-d, vector, matrix and integer inputs for every rule, and broadcasting ones
    where two differentiable arguments broadcast; exemptions say why."""
    covered: dict[str, set[str]] = {}
    for case in RULE_CASES:
        for prim in case.prims:
            covered.setdefault(prim, set()).update(_shape_classes(case))
    problems = []
    for prim in _ruled():
        if prim in CUSTOM:
            continue
        wanted = set(rc.SHAPE_CLASSES)
        diff = [
            n for n in PRIMITIVES[prim].operands if n not in PRIMITIVES[prim].nondiff
        ]
        if not PRIMITIVES[prim].broadcasting or len(diff) < 2:
            wanted.discard("broadcast")
        exempt = rc.SHAPE_EXEMPT.get(prim, {})
        missing = wanted - covered.get(prim, set()) - set(exempt)
        if missing:
            problems.append(f"{prim}: {sorted(missing)}")
        stale = set(exempt) & covered.get(prim, set())
        if stale:
            problems.append(f"{prim}: exempt from {sorted(stale)}, yet covered")
    assert not problems, "rules without inputs of a shape class: " + "; ".join(problems)


def test_every_nondifferentiable_primitive_is_covered():
    covered = {p for c in NONDIFF_CASES for p in c.prims}
    exempt = set(rc.NONDIFF_UNSPELLABLE)
    steps = {n for n, p in PRIMITIVES.items() if p.kind == "zero"}
    missing = steps - covered - exempt - set(CUSTOM)
    assert not missing, f"nondifferentiable primitives without a case: {missing}"
    assert not (covered | exempt) - steps, "not nondifferentiable"
    assert not covered & exempt, "exempt, yet covered: drop the exemption"


def _spellings(cases: list[Case]) -> dict[str, set]:
    """Which numpy/math functions, methods, built-ins, operators and attributes the
    expressions (and setups) of `cases` use."""
    found = {
        "numpy": set(),
        "math": set(),
        "method": set(),
        "builtin": set(),
        "op": set(),
    }
    for case in cases:
        tree = ast.parse(case.setup + "\n" + case.expr)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = node.func.value
                module = ast.unparse(owner).split(".")
                kind = {"np": "numpy", "math": "math"}.get(module[0], "method")
                name = ".".join(module[1:] + [node.func.attr])
                found[kind].add(node.func.attr if kind == "method" else name)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                found["builtin"].add(node.func.id)
            elif isinstance(node, (ast.BinOp, ast.UnaryOp, ast.BoolOp)):
                found["op"].add(type(node.op))
            elif isinstance(node, ast.Compare):
                found["op"].update(type(op) for op in node.ops)
            elif isinstance(node, ast.Attribute) and node.attr == "T":
                found["method"].add("T")
    return found


def _split(table: dict[str, str]) -> tuple[set[str], set[str]]:
    diff = {name for name, prim in table.items() if prim in _ruled()}
    return diff, set(table) - diff


def test_every_spelling_has_cases():
    rules = _spellings(RULE_CASES)
    nondiff = _spellings(NONDIFF_CASES)
    for kind, table in [
        ("numpy", NUMPY_FUNCTIONS),
        ("math", MATH_FUNCTIONS),
        ("method", METHODS),
        ("builtin", BUILTINS),
    ]:
        diff, other = _split(table)
        missing = diff - rules[kind]
        assert not missing, f"{kind} spellings without rows in RULES: {missing}"
        missing = other - nondiff[kind]
        assert not missing, f"{kind} spellings without rows in NONDIFF: {missing}"
    assert "T" in rules["method"]
    operators = {p.operator: p.name for p in PRIMITIVES.values() if p.operator}
    unspelled = {
        name
        for node, name in operators.items()
        if node not in rules["op"] | nondiff["op"]
        and name not in rc.NONDIFF_UNSPELLABLE
    }
    assert not unspelled, f"operators without rows: {unspelled}"


def test_table_is_well_formed():
    cases = RULE_CASES + EDGE_CASES + NONDIFF_CASES
    for case in cases:
        assert len(case.shapes) == len(case.args), case.id
        assert case.wrt, f"{case.id}: nothing to differentiate"
        for (name, domain), token in zip(case.args, case.shapes):
            assert domain in rc.DOMAINS, f"{case.id}: unknown domain {domain}"
            integer = token == "i" or token.startswith("i:")
            assert not integer or rc.DOMAINS[domain][1] is not None, case.id
            assert (token == "-") == (domain in ("index", "indices")), case.id
    for cases_ in (RULE_CASES, EDGE_CASES, NONDIFF_CASES):
        ids = [c.id for c in cases_]
        assert len(ids) == len(set(ids)), "duplicate cases"
    known = {c.id for c in cases}
    assert not set(rc.XFAIL) - known, "XFAIL names cases that do not exist"
    # Every argument fits in the full-Jacobian check, and inputs are reproducible.
    for case in cases:
        args = arguments(case)
        assert all(np.size(a) <= 12 for a in args[:-1]), case.id
        assert all(_same(a, b) for a, b in zip(args, arguments(case))), case.id


def test_every_rule_has_a_kind():
    """Forward mode will be built from the same table: each primitive says whether
    it is linear, bilinear, elementwise or other."""
    for name, prim in PRIMITIVES.items():
        assert prim.kind in (*KIND_NAMES, "zero", "tape"), f"{name} has no derivative"
        if prim.broadcasting:
            assert prim.kind != "other", f"{name} broadcasts but is of kind other"
