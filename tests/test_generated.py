"""Generated modules: committed ones are fresh, run on numpy alone, parse back to the
tree that was emitted, and come out byte-identical on every run."""

import ast
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import s2s
from s2s.cli import Target, build, output_path, parse_wrt, render
from s2s.emit import unparse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENERATED = os.path.join(ROOT, "generated")


def _targets():
    with open(os.path.join(GENERATED, "regenerate.sh"), encoding="utf-8") as f:
        text = f.read()
    body = text.split("<<'TARGETS'\n", 1)[1].split("\nTARGETS", 1)[0]
    rows = [line.split() for line in body.splitlines() if line.strip()]
    return [
        (row[0], row[1], row[2] if len(row) > 2 else "grad", row[3:]) for row in rows
    ]


#: (PATH.py:FUNCTION, WRT, MODE) of each committed module, and the more options
#: of `s2s generate` it is written with (`--has-aux`).
TARGETS = [row[:3] for row in _targets()]
HAS_AUX = {(row[0], row[2]) for row in _targets() if "--has-aux" in row[3]}
#: The --checkpoint K a module is written with, if any.
CHECKPOINT = {
    (row[0], row[2]): row[3][row[3].index("--checkpoint") + 1]
    for row in _targets()
    if "--checkpoint" in row[3]
}


def _module_path(target, mode="grad"):
    path, name = target.split(":")
    return output_path(GENERATED, Target(path, name, mode=mode))


@pytest.mark.parametrize("target, wrt, mode", TARGETS)
def test_committed_module_is_fresh(target, wrt, mode, monkeypatch):
    monkeypatch.chdir(ROOT)
    path, name = target.split(":")
    has_aux = (target, mode) in HAS_AUX
    checkpoint = CHECKPOINT.get((target, mode))
    if checkpoint is not None and checkpoint != "auto":
        checkpoint = int(checkpoint)
    expected = render(
        Target(path, name, parse_wrt(wrt), mode, has_aux, checkpoint=checkpoint)
    )
    with open(_module_path(target, mode), encoding="utf-8") as f:
        committed = f.read()
    assert (
        committed == expected
    ), f"{_module_path(target, mode)} is stale: run `bash generated/regenerate.sh`"


def test_regenerate_script_check_passes():
    """The documented `--check` exits 0 on a fresh tree (and is what CI relies on)."""
    result = subprocess.run(
        ["bash", "generated/regenerate.sh", "--check"],
        cwd=ROOT,
        env=dict(os.environ, PYTHON=sys.executable),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_check_catches_a_stale_module(tmp_path):
    stale = tmp_path / "graph_J.py"
    with open(_module_path("examples/graph.py:J"), encoding="utf-8") as f:
        stale.write_text(f.read().replace("dv = 3.0", "dv = 4.0"))
    cmd = [
        sys.executable,
        "-m",
        "s2s",
        "generate",
        "examples/graph.py:J",
        "--wrt",
        "a,b,c",
    ]
    result = subprocess.run(
        cmd + ["-o", str(tmp_path), "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "would update" in result.stderr


@pytest.mark.parametrize("target, wrt, mode", TARGETS)
def test_emitted_tree_round_trips(target, wrt, mode, monkeypatch):
    """astor's text parses back to the tree that was emitted, and black kept the AST."""
    monkeypatch.chdir(ROOT)
    path, name = target.split(":")
    module = build(path, name, wrt, mode, (target, mode) in HAS_AUX).module
    assert ast.dump(ast.parse(unparse(module.tree))) == ast.dump(module.tree)
    without_markers = ast.parse(unparse(module.tree))
    for node in ast.walk(without_markers):
        if hasattr(node, "body") and isinstance(node.body, list):
            node.body = [
                s
                for s in node.body
                if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Name))
            ]
    assert ast.dump(ast.parse(module.text)) == ast.dump(without_markers)


_RUN_WITHOUT_S2S = """
import importlib.util, sys
sys.modules["s2s"] = None  # any `import s2s` now fails
spec = importlib.util.spec_from_file_location("m", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
print(repr(m.J_grad(5.0, 3.0, 2.0)))
print(repr(m.J_value_and_grad(5.0, 3.0, 2.0)))
"""


def test_generated_module_runs_with_numpy_alone():
    out = subprocess.run(
        [sys.executable, "-c", _RUN_WITHOUT_S2S, _module_path("examples/graph.py:J")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    assert out[0] == "(3.0, 6.0, 9.0)"
    assert out[1] == "(33.0, (3.0, 6.0, 9.0))"


def test_generated_module_matches_live_gradient(monkeypatch):
    from examples import mlp

    # With the cache on, grad would load the committed module itself.
    monkeypatch.setenv("S2S_CACHE", "0")
    namespace = {}
    with open(_module_path("examples/mlp.py:J"), encoding="utf-8") as f:
        exec(compile(f.read(), "mlp_J.py", "exec"), namespace)
    rng = np.random.default_rng(3)
    args = (
        rng.normal(size=(5, 4)),
        rng.normal(size=(3, 5)),
        rng.normal(size=(4, 6)),
        np.eye(3)[:, rng.integers(0, 3, 6)],
        0.1,
    )
    live = s2s.grad(mlp.J, wrt=("W1", "W2"))(*args)
    for a, b in zip(namespace["J_grad"](*args), live):
        np.testing.assert_array_equal(a, b)


def test_output_is_identical_across_hash_seeds():
    cmd = [sys.executable, "-m", "s2s", "show", "examples/mlp.py:J", "--wrt", "W1,W2"]
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        outputs.add(
            subprocess.run(
                cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True
            ).stdout
        )
    assert len(outputs) == 1


def test_golden_ir_of_J(monkeypatch):
    monkeypatch.chdir(ROOT)
    stages = build("examples/graph.py", "J", "a,b,c")
    with open(
        os.path.join(ROOT, "tests", "golden", "graph_J.ir"), encoding="utf-8"
    ) as f:
        golden = f.read()
    assert f"{stages.graph}\n{stages.adjoint}\n" == golden


def _sweeps(text: str, function: ast.FunctionDef) -> tuple[list[str], list[str]]:
    """The lines of a function's forward and reverse sweeps (less its docstring and
    its return), with its name (which its shape check reports) written as NAME."""
    source = ast.get_source_segment(text, function).replace(function.name, "NAME")
    forward, reverse = source.split("\n    # reverse\n")
    body = forward.split("    # forward\n", 1)[1]
    return body.splitlines(), reverse.splitlines()[:-1]


def _statements(lines: list[str]) -> int:
    """How many statements lines of a function's body hold (however black wraps
    them)."""
    return len(ast.parse(textwrap.dedent("\n".join(lines))).body)


def _is_subsequence(part: list[str], whole: list[str]) -> bool:
    rest = iter(whole)
    return all(line in rest for line in part)


@pytest.mark.parametrize(
    "target, wrt, mode", [t for t in TARGETS if t[2] == "grad"], ids=lambda t: str(t)
)
def test_grad_is_value_and_grad_less_the_value(target, wrt, mode):
    """What README.md says of the two functions of a gradient module: FUNC_grad's
    forward sweep is FUNC_value_and_grad's less some work, and their reverse sweeps
    are the same statements (where one reads a value the other left out, it writes
    the value's expression in place), so a reviewer reads the sweeps once."""
    with open(_module_path(target), encoding="utf-8") as f:
        text = f.read()
    functions = {
        n.name: n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)
    }
    name = target.split(":")[1]
    forward, reverse = _sweeps(text, functions[f"{name}_grad"])
    both_forward, both_reverse = _sweeps(text, functions[f"{name}_value_and_grad"])
    assert _is_subsequence(forward, both_forward), target
    assert _statements(reverse) == _statements(both_reverse), target


def test_the_delegation_benchmark_times_equal_functions():
    """benchmarks/grad_delegation.py (README: why both functions hold the forward
    sweep) compares FUNC_grad with a FUNC_grad that calls FUNC_value_and_grad: the
    two return the same gradients."""
    from benchmarks import grad_delegation

    for stem, name, arguments in grad_delegation.CASES:
        namespace = grad_delegation.load(stem)
        own = namespace[f"{name}_grad"]
        other = grad_delegation.delegating(namespace, name)
        np.testing.assert_equal(own(*arguments), other(*arguments))
    assert grad_delegation.best(own, arguments, 1) > 0  # ns per call
