"""Module-level names as the command line reads them, from the file's text alone:
constant expressions are folded to the value Python gives them, and a name whose value
only running the file would tell (bound twice, in a block, by a function's `global`,
imported from another module) is refused, naming it and where it is bound."""

from __future__ import annotations

import importlib.util
import textwrap

import pytest

from process_support import assert_clean_failure, s2s
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


@pytest.mark.parametrize("case", sorted(REBOUND))
def test_a_module_name_bound_more_than_once_is_refused(tmp_path, case):
    top, name, sites = REBOUND[case]
    (tmp_path / "m.py").write_text(top + f"\n\ndef f(x):\n    return x * {name}\n")
    for command in ("show", "check", "generate"):
        result = s2s(command, "m.py:f", cwd=tmp_path)
        assert_clean_failure(result, 2)
        assert f"'{name}' is " in result.stderr
        for site in sites:
            assert site in result.stderr
        assert f"Pass {name} to the function as a parameter" in result.stderr
    assert not (tmp_path / "generated").exists()


def test_a_helper_reading_a_rebound_name_is_refused_where_it_reads_it(tmp_path):
    (tmp_path / "m.py").write_text(textwrap.dedent("""\
            P = 1.0
            P *= 2

            def helper(v):
                return v * P

            def f(x):
                return helper(x) + 1.0
            """))
    result = s2s("show", "m.py:f", cwd=tmp_path)
    assert_clean_failure(result, 2)
    assert "m.py:5:" in result.stderr and "'P' is bound 2 times" in result.stderr


def test_names_imported_from_other_modules_are_said_to_be_imported(tmp_path):
    (tmp_path / "other.py").write_text("SCALE = 7.0\n")
    (tmp_path / "m.py").write_text(textwrap.dedent("""\
            from other import SCALE
            from .sibling import RATE

            def f(x):
                return x * SCALE

            def g(x, w=RATE):
                return x * w
            """))
    for target, name, line in (("f", "SCALE", 1), ("g", "RATE", 2)):
        result = s2s("show", f"m.py:{target}", cwd=tmp_path)
        assert_clean_failure(result, 2)
        assert f"'{name}' is imported from " in result.stderr
        assert f"(line {line})" in result.stderr
        assert "not defined here" not in result.stderr
        assert f"Define {name} in this file, or pass it" in result.stderr


def test_a_module_value_that_is_not_a_constant_is_refused_clearly(tmp_path):
    (tmp_path / "m.py").write_text(
        "import numpy as np\nW = np.ones(3)\n\ndef f(x):\n    return x * W\n"
    )
    result = s2s("show", "m.py:f", cwd=tmp_path)
    assert_clean_failure(result, 2)
    assert "'W' (line 2) is not a constant s2s can compute" in result.stderr
