"""Module-level names as the command line reads them, from the file's text alone:
constant expressions are folded to the value Python gives them; data whose value only
running the file would tell (bound twice, in a block, by a function's `global`,
imported from another module) is read from the module when the gradient runs; and a
name whose meaning decides the code (a function) must be known from the text, or is
refused, naming it and where it is bound."""

from __future__ import annotations

import importlib.util
import json
import textwrap

import pytest
from process_support import assert_clean_failure, python, s2s

from s2s.standalone import function_from_file

CONSTANTS = """\
import math
import numpy as np
from math import tau as TAU
from numpy import pi

A = 2 * 3.0
B = 2 + 1.5
C = 1 - 0.5
D = 2 / 4
E = 3 ** 0.5
F = -(1 + 2)
G = 1e-3 * 2
H = 10 % 3
I = 7 // 2
J = np.pi / 2
K = math.sqrt(2) + np.sqrt(3.0)
L = A + 1
M = np.float64(1.5)
N = +math.e * TAU - pi
(V, W) = (1.0, 2.0)
Y = Z = 8.0


def f(x, w=2 * math.pi, u=-L):
    return x * (A + B + C + D + E + F + G + H + I + J + K + L + M + N) + w * u


def g(x):
    return x * (V - W + Y * Z)


def shadow(x):
    P = x * 2.0  # a local: the module's P is not read
    return P * P


P = 1.0
P *= 2
"""


def _import(path):
    spec = importlib.util.spec_from_file_location("constants", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["f", "g", "shadow"])
def test_constant_expressions_have_the_value_python_gives_them(tmp_path, name):
    path = tmp_path / "constants.py"
    path.write_text(CONSTANTS)
    result = s2s("check", f"constants.py:{name}", "--at", "x=1.5", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().splitlines()[-1].startswith("ok")
    # What the command line ran (and differentiated) is what importing the file runs.
    static = function_from_file(str(path), name)
    assert static(1.5) == getattr(_import(path), name)(1.5)


REBOUND = {
    "augmented": ("P = 1.0\nP *= 2\n", "P", ["line 1 `P = 1.0`", "line 2 `P *= 2`"]),
    "loop": (
        "P = 1.0\nfor _i in range(3):\n    P = P + 1\n",
        "P",
        ["line 1 `P = 1.0`", "line 3 `P = P + 1`, inside the for loop of line 2"],
    ),
    "twice": ("P = 1.0\nP = 2.0\n", "P", ["line 1 `P = 1.0`", "line 2 `P = 2.0`"]),
    "if": (
        "if True:\n    P = 5.0\nelse:\n    P = 6.0\n",
        "P",
        ["line 2 `P = 5.0`, inside the if block of line 1"],
    ),
    "global": (
        "P = 1.0\ndef _set():\n    global P\n    P = 10.0\n_set()\n",
        "P",
        ["line 4 `P = 10.0`, in _set(), through `global P`"],
    ),
    "with": (
        "with open(__file__) as _fh:\n    P = 3.0\n",
        "P",
        ["line 2 `P = 3.0`, inside the with block of line 1"],
    ),
    "globals": (
        'P = 1.0\nglobals()["P"] = 5.0\n',
        "P",
        ['line 2 `globals()["P"] = 5.0`'],
    ),
    "deleted": ("P = 1.0\ndel P\nP = 2.0\n", "P", ["line 2 `del P`"]),
    "unpacked later": ("P = 1.0\nP, Q = 2.0, 3.0\n", "P", ["line 2 `P, Q = 2.0, 3.0`"]),
}


_RUN_GRADIENT = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("gradient", sys.argv[1])
gradient = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gradient)
print(json.dumps(float(gradient.f_grad(1.5))))
"""


def _gradient_run(tmp_path, target: str = "m.py:f") -> float:
    """d f / d x at 1.5, from the module `s2s generate` writes, run in a process
    where the source module is importable (the generated code reads it)."""
    result = s2s("generate", target, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    path = tmp_path / "generated" / (target.replace(".py:", "_") + ".py")
    ran = python(_RUN_GRADIENT, str(path), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)


def _value_after_running(top: str, path) -> float:
    namespace = {"__file__": str(path), "__name__": "m"}
    exec(compile(top, str(path), "exec"), namespace)
    return namespace["P"]


@pytest.mark.parametrize("case", sorted(REBOUND))
def test_a_module_name_bound_more_than_once_is_read_when_the_gradient_runs(
    tmp_path, case
):
    """Data is read from the module when the gradient is called, whatever binds it:
    the value Python gives the name after running the file."""
    top, name, sites = REBOUND[case]
    (tmp_path / "m.py").write_text(top + f"\n\ndef f(x):\n    return x * {name}\n")
    shown = s2s("show", "m.py:f", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert 'm = _module("m")' in shown.stdout and f"{name} = m.{name}" in shown.stdout
    expected = _value_after_running(top, tmp_path / "m.py")
    assert _gradient_run(tmp_path) == expected
    # `check` runs the function without running the file, so it cannot know P.
    checked = s2s("check", "m.py:f", "--at", "x=1.5", cwd=tmp_path)
    assert_clean_failure(checked, 2)
    assert f"f reads '{name}', a global of the module m, whose value only running" in (
        checked.stderr
    )


def test_a_helper_reading_a_rebound_name_reads_it_when_the_gradient_runs(tmp_path):
    (tmp_path / "m.py").write_text(textwrap.dedent("""\
            P = 1.0
            P *= 2

            def helper(v):
                return v * P

            def f(x):
                return helper(x) + 1.0
            """))
    assert _gradient_run(tmp_path) == 2.0


def test_a_rebound_name_called_as_a_function_is_refused_where_it_is_read(tmp_path):
    """Which function a name means decides the code s2s writes, so it must be
    known from the file's text."""
    (tmp_path / "m.py").write_text(textwrap.dedent("""\
            import numpy as np
            act = np.tanh
            act = np.sin

            def f(x):
                return act(x)
            """))
    result = s2s("show", "m.py:f", cwd=tmp_path)
    assert_clean_failure(result, 2)
    assert "m.py:6:" in result.stderr and "'act' is bound 2 times" in result.stderr
    assert "line 2 `act = np.tanh`" in result.stderr


def test_names_imported_from_other_modules_are_read_from_this_one(tmp_path):
    """An imported number is data of the module that imports it: read from it when
    the gradient runs.  A default must be known from the file's text, so an
    imported default is refused, saying where it comes from."""
    (tmp_path / "other.py").write_text("SCALE = 7.0\n")
    (tmp_path / "m.py").write_text(
        "from other import SCALE\n\ndef f(x):\n    return x * SCALE\n"
    )
    assert _gradient_run(tmp_path) == 7.0
    (tmp_path / "m.py").write_text(textwrap.dedent("""\
            from other import SCALE
            from .sibling import RATE

            def g(x, w=RATE):
                return x * w
            """))
    result = s2s("show", "m.py:g", cwd=tmp_path)
    assert_clean_failure(result, 2)
    assert "m.py:4:" in result.stderr
    assert "'RATE' is imported from .sibling (line 2)" in result.stderr
    assert "Define RATE in this file, or pass it" in result.stderr


def test_a_module_array_is_read_when_the_gradient_runs(tmp_path):
    (tmp_path / "m.py").write_text(
        "import numpy as np\nW = np.arange(3.0)\n\n"
        "def f(x):\n    return np.sum(x * W) * x\n"
    )
    assert _gradient_run(tmp_path) == pytest.approx(2 * 1.5 * 3.0)
