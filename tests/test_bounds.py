"""The bounds of the implementation, met as a user would meet them: a long chain of
helpers, files that are not regular files or not UTF-8, and command-line values at
the edges of what numpy takes.  Each gets a result or a usage error (exit 2), never
a hang or an internal error."""

from __future__ import annotations

import importlib.util
import math
import os
import sys

import pytest
from process_support import s2s as run_s2s

import s2s
from s2s.files import read_bytes


def chain_module(path, depth: int):
    """A module whose f calls h{depth-1}, which calls h{depth-2}, ... down to sin."""
    lines = ["import numpy as np", "", "def h0(x):", "    return np.sin(x)", ""]
    for i in range(1, depth):
        lines += [f"def h{i}(x):", f"    return h{i - 1}(x) * 1.001", ""]
    lines += ["def f(x):", f"    return h{depth - 1}(x)", ""]
    path.write_text("\n".join(lines))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def test_a_chain_of_helpers_deeper_than_the_recursion_limit_allows(tmp_path):
    depth = 400  # Python runs it; s2s's own recursion once ran out at ~100
    module = chain_module(tmp_path / "deep_chain.py", depth)
    assert module.f(0.5) == pytest.approx(math.sin(0.5) * 1.001 ** (depth - 1))
    expected = math.cos(0.5) * 1.001 ** (depth - 1)
    assert s2s.grad(module.f)(0.5) == pytest.approx(expected, rel=1e-12)
    assert sys.getrecursionlimit() < 20_000  # raised only while generating


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_is_refused_not_read_forever(tmp_path):
    fifo = tmp_path / "model.py"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        read_bytes(str(fifo))
    result = run_s2s("show", "model.py:f", cwd=tmp_path)
    assert result.returncode == 2
    assert "not a regular file" in result.stderr


def test_a_file_with_a_coding_line_is_read_as_python_reads_it(tmp_path):
    source = "# -*- coding: latin-1 -*-\n\ndef f(x):\n    # café\n    return x * x\n"
    (tmp_path / "latin.py").write_bytes(source.encode("latin-1"))
    result = run_s2s("show", "latin.py:f", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "# latin.py:5  return x * x" in result.stdout


@pytest.mark.parametrize(
    "option",
    [
        ["--seed", "-1"],
        ["--seed", "one"],
        ["--at", "x=" + "9" * 400],  # an int no float64 holds
    ],
)
def test_values_numpy_cannot_take_are_usage_errors(tmp_path, option):
    (tmp_path / "plain.py").write_text("def f(x):\n    return x * x\n")
    result = run_s2s("check", "plain.py:f", *option, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
