"""Bad input gets a clear S2SError naming the file, line and construct, with advice,
never a stray traceback or a wrong gradient."""

import os
import subprocess
import sys

import numpy as np
import pytest
import rejected
from tests_support import marked_line

import s2s

CASES = [
    ("comprehension", s2s.UnsupportedSyntaxError, "comprehension"),
    ("subscript_update", s2s.UnsupportedSyntaxError, "array of a parameter"),
    ("no_effect", s2s.UnsupportedSyntaxError, "no effect"),
    ("try_block", s2s.UnsupportedSyntaxError, "a `try` block"),
    ("with_block", s2s.UnsupportedSyntaxError, "a `with` block"),
    ("unknown_function", s2s.UnknownFunctionError, "np.fft.fft"),
    ("bad_keyword", s2s.UnsupportedSyntaxError, "dtype"),
    ("runtime_axis", s2s.UnsupportedSyntaxError, "constant"),
    ("global_write", s2s.UnsupportedSyntaxError, "'W', a global of"),
    ("undefined_name", s2s.UnsupportedSyntaxError, "undefined_thing"),
    ("shared_update", s2s.UnsupportedSyntaxError, "in place"),
    ("update_under_a_view", s2s.UnsupportedSyntaxError, "'z' holds a view of"),
    ("is_comparison", s2s.UnsupportedSyntaxError, "only to None"),
    ("bitwise", s2s.UnsupportedSyntaxError, "operator"),
    ("star_kwargs", s2s.UnsupportedSyntaxError, "**kwargs"),
    ("missing_return", s2s.UnsupportedSyntaxError, "return"),
    ("einsum_implicit", s2s.UnsupportedSyntaxError, "explicit"),
    ("einsum_repeated_output", s2s.UnsupportedSyntaxError, "repeats a label"),
    ("norm_nuclear", s2s.UnsupportedSyntaxError, "ord='nuc'"),
    ("pad_reflect", s2s.UnsupportedSyntaxError, "mode='reflect'"),
    ("tensordot_axes", s2s.UnsupportedSyntaxError, "axes=((0, 1), (0,))"),
    ("repeat_counts", s2s.UnsupportedSyntaxError, "repeats=(1, 2, 3)"),
    ("diff_prepend_list", s2s.UnsupportedSyntaxError, "prepend=(0.0, 0.0)"),
    ("average_returned", s2s.UnsupportedSyntaxError, "returned=True"),
    ("trapezoid_runtime_axis", s2s.UnsupportedSyntaxError, "constant"),
    ("cholesky_upper", s2s.UnsupportedSyntaxError, "keyword 'upper'"),
    ("eigh_triangle", s2s.UnsupportedSyntaxError, "UPLO='X'"),
    ("moveaxis_mixed", s2s.UnsupportedSyntaxError, "both be integers or both"),
    ("concatenate_name", s2s.UnsupportedSyntaxError, "written out as a list"),
    ("var_where", s2s.UnsupportedSyntaxError, "keyword 'where'"),
    ("sum_dtype_positional", s2s.UnsupportedSyntaxError, "at most 2"),
    ("library_function", s2s.UnknownFunctionError, "s2s.register(scipy.special.ndtr"),
    ("bad_dtype", s2s.UnsupportedSyntaxError, "dtype"),
    ("linspace_retstep", s2s.UnsupportedSyntaxError, "keyword 'retstep'"),
    ("linspace_axis", s2s.UnsupportedSyntaxError, "keyword 'axis'"),
    ("linspace_count", s2s.UnsupportedSyntaxError, "as a count"),
    ("linspace_endpoint", s2s.UnsupportedSyntaxError, "'endpoint' must be a constant"),
    ("arange_differentiated_start", s2s.UnsupportedSyntaxError, "as a count"),
    ("astype_complex", s2s.UnsupportedSyntaxError, "complex128"),
    ("astype_order", s2s.UnsupportedSyntaxError, ".astype() takes the dtype"),
    ("triu_indices_offset", s2s.UnsupportedSyntaxError, "k=0.5"),
    ("triu_indices_columns", s2s.UnsupportedSyntaxError, "'m' must be a constant"),
]


@pytest.mark.parametrize("name, kind, words", CASES, ids=[c[0] for c in CASES])
def test_rejected_with_file_line_caret_and_advice(name, kind, words):
    with pytest.raises(kind) as info:
        gradient = s2s.grad(getattr(rejected, name))
        # An update in place is refused once the arguments say it is of an array
        # (of a number, it is a rebinding, which Python does too).
        gradient(np.ones(3))
    error = info.value
    assert not isinstance(error, s2s.InternalError)
    assert error.filename == rejected.__file__
    assert error.lineno == marked_line(rejected.__file__, name)
    text = str(error)
    assert words in text
    lines = text.splitlines()
    assert lines[0].startswith(f"{rejected.__file__}:{error.lineno}:")
    assert lines[2].strip() == "^"  # the caret under the quoted line
    assert len(lines) >= 4 and lines[3].strip()  # advice
    assert error.__cause__ is None  # no internal exception chained on
    assert error.__context__ is None or error.__suppress_context__


def test_a_lambda_is_found_by_where_its_code_comes_from():
    assert s2s.grad(lambda x: x * 2)(1.0) == 2.0
    double, triple = (lambda x: x * 2), (lambda x: x * 3)
    assert (s2s.grad(double)(1.0), s2s.grad(triple)(1.0)) == (2.0, 3.0)
    namespace = {}
    exec("f = lambda x: x * 2", namespace)
    with pytest.raises(s2s.SourceUnavailableError, match="lambda"):
        s2s.grad(namespace["f"])


def test_exec_function_has_no_source():
    namespace = {}
    exec("def f(x):\n    return x * 2\n", namespace)
    with pytest.raises(s2s.SourceUnavailableError, match="def"):
        s2s.grad(namespace["f"])


def test_builtin_is_not_a_python_function():
    with pytest.raises(s2s.SourceUnavailableError):
        s2s.grad(np.sin)


@pytest.mark.parametrize("wrt", [5, -9, "nope", 1.5, True, None, ()])
def test_bad_wrt(wrt):
    def f(a, b):
        return a * b

    with pytest.raises(s2s.WrtError) as info:
        s2s.grad(f, wrt=wrt)
    assert "a, b" in str(info.value)


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize(
    "target",
    [
        "tests/rejected.py:comprehension",
        "tests/no_such_file.py:f",
        "tests/rejected.py:nope",
    ],
)
def test_cli_reports_input_errors_with_exit_code_2(target):
    result = subprocess.run(
        [sys.executable, "-m", "s2s", "show", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("s2s: error:")
