"""The command line end to end, in fresh processes: generate (named and decorated
targets, --check/--diff, atomic writes), show and its dumps, check, cache, --help,
--version, exit codes, and never running the user's module."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from process_support import assert_clean_failure, environment, python, s2s

from s2s.standalone import function_from_file
from s2s.testing import ATOL, RTOL, numeric_gradient

MODEL = '''\
"""A module with a side effect at import: s2s must never run it."""
import pathlib

import numpy as xp

import s2s
from s2s import grad as G

pathlib.Path(__file__).with_name("IMPORTED").write_text("the module ran")

SCALE = 0.5


def squash(v):
    return xp.tanh(v) * SCALE


@s2s.grad(wrt=("w", "b"))
def loss(w, b, x):
    h = squash(x @ w + b)
    return xp.sum(h * h)


@G
def cube(x):
    return x * x * x


def kink(x):
    return xp.floor(x) * x


def comprehension(x):
    return xp.sum([v * 2 for v in x])
'''


COMPREHENSION_LINE = 1 + MODEL.splitlines().index(
    "    return xp.sum([v * 2 for v in x])"
)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "plain.py").write_text("def f(x):\n    return x * x\n")
    yield tmp_path
    assert not (tmp_path / "IMPORTED").exists(), "s2s ran the user's module"


def test_generate_a_file_writes_each_decorated_function(project):
    result = s2s("generate", "model.py", cwd=project)
    assert result.returncode == 0, result.stderr
    written = sorted(os.listdir(project / "generated"))
    assert written == ["model_cube.py", "model_loss.py"]  # and no leftover temp file
    loss = (project / "generated" / "model_loss.py").read_text()
    assert "def loss_grad(w, b, x):" in loss
    assert "def loss_value_and_grad(w, b, x):" in loss
    assert "regenerate with `s2s generate model.py:loss --wrt w,b`" in loss
    assert "return dw, db" in loss
    cube = (project / "generated" / "model_cube.py").read_text()
    assert "regenerate with `s2s generate model.py:cube`." in cube


PHYSICS = """\
import numpy as np

X = np.linspace(-1.0, 1.0, 12).reshape(4, 3)
SCALE = 0.5


def loss(w, b):
    h = np.tanh(X @ w + b) * SCALE
    return np.sum(h * h)
"""

_WITHOUT_S2S = """
import importlib.util, json, sys
import numpy as np
sys.modules["s2s"] = None  # any `import s2s` now fails
spec = importlib.util.spec_from_file_location("m", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
imported_at_load = "physics" in sys.modules
rng = np.random.default_rng(0)
w, b = rng.normal(size=(3, 2)), rng.normal(size=2)
dw, db = m.loss_grad(w, b)
value, (dw2, db2) = m.loss_value_and_grad(w, b)
import physics
physics.X = 2 * physics.X  # the next call reads the module as it is then
dw3, _ = m.loss_grad(w, b)
print(json.dumps({"dw": dw.tolist(), "db": db.tolist(), "value": float(value),
                  "dw3": dw3.tolist(), "lazy": not imported_at_load,
                  "same": bool((dw == dw2).all() and (db == db2).all())}))
"""


def _imported(path):
    """The module at `path`, imported under a name of its own."""
    spec = importlib.util.spec_from_file_location(f"imported_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_module_reads_its_source_lazily_and_runs_without_s2s(project):
    """The generated module needs numpy alone; it reads the source module's data
    when the gradient is called (importing the module then, not at its own import),
    as the module is at that moment."""
    (project / "physics.py").write_text(PHYSICS)
    assert (
        s2s("generate", "physics.py:loss", "--wrt", "w,b", cwd=project).returncode == 0
    )
    generated = project / "generated" / "physics_loss.py"
    assert 'physics = _module("physics")' in generated.read_text()
    result = python(_WITHOUT_S2S, str(generated), cwd=project)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["lazy"] and out["same"]
    f = _imported(project / "physics.py").loss
    rng = np.random.default_rng(0)
    args = [rng.normal(size=(3, 2)), rng.normal(size=2)]
    assert out["value"] == pytest.approx(f(*args), rel=1e-12)
    for name, i in (("dw", 0), ("db", 1)):
        numeric = numeric_gradient(f, args, i)
        np.testing.assert_allclose(out[name], numeric, rtol=RTOL, atol=ATOL)
    f.__globals__["X"] = 2 * f.__globals__["X"]
    numeric = numeric_gradient(f, args, 0)
    np.testing.assert_allclose(out["dw3"], numeric, rtol=RTOL, atol=ATOL)


def test_a_source_module_may_import_its_own_generated_gradient(project):
    """A module that loads its committed gradient at import time does not import
    itself in a cycle: the generated module imports it only when called."""
    (project / "physics.py").write_text(PHYSICS)
    f = _imported(project / "physics.py").loss
    assert (
        s2s("generate", "physics.py:loss", "--wrt", "w,b", cwd=project).returncode == 0
    )
    (project / "generated" / "__init__.py").write_text("")
    (project / "physics.py").write_text(
        PHYSICS + "\nfrom generated.physics_loss import loss_grad\n"
    )
    result = python(
        "import numpy as np, physics\n"
        "print(physics.loss_grad(np.ones((3, 2)), np.zeros(2))[1].tolist())",
        cwd=project,
    )
    assert result.returncode == 0, result.stderr
    numeric = numeric_gradient(f, [np.ones((3, 2)), np.zeros(2)], 1)
    np.testing.assert_allclose(json.loads(result.stdout), numeric, rtol=RTOL, atol=ATOL)


def test_check_and_diff_catch_a_stale_module_and_write_nothing(project):
    """As in black: --check says which modules would change and exits 1; --diff
    prints how and exits 0; both together print the diff and exit 1."""
    assert s2s("generate", "model.py:loss", "--wrt", "w,b", cwd=project).returncode == 0
    fresh = s2s("generate", "model.py:loss", "--wrt", "w,b", "--check", cwd=project)
    assert (fresh.returncode, fresh.stdout, fresh.stderr) == (0, "", "")
    path = project / "generated" / "model_loss.py"
    broken = path.read_text().replace("return dw, db", "return db, dw")
    path.write_text(broken)
    diff = "-    return db, dw\n+    return dw, db\n"
    for flags, code in ((["--check"], 1), (["--diff"], 0), (["--check", "--diff"], 1)):
        result = s2s("generate", "model.py:loss", "--wrt", "w,b", *flags, cwd=project)
        assert result.returncode == code, (flags, result.stderr)
        assert "would update generated/model_loss.py" in result.stderr
        assert "Traceback" not in result.stderr
        assert (diff in result.stdout) == ("--diff" in flags), flags
        assert path.read_text() == broken
    check = s2s("generate", "model.py:loss", "--wrt", "w,b", "--check", cwd=project)
    assert "--diff shows the changes" in check.stderr  # the diff is one flag away
    path.unlink()
    missing = s2s("generate", "model.py:loss", "--wrt", "w,b", "--check", cwd=project)
    assert missing.returncode == 1 and "would create" in missing.stderr
    assert not path.exists()


def test_quiet_and_verbose(project):
    """-q leaves errors (and a requested diff) only; -v also names what is fresh."""
    quiet = s2s("generate", "model.py", "-q", cwd=project)
    assert (quiet.returncode, quiet.stderr) == (0, "")
    loud = s2s("generate", "model.py", "--check", "--verbose", cwd=project)
    assert loud.returncode == 0
    assert "generated/model_loss.py is up to date" in loud.stderr
    path = project / "generated" / "model_cube.py"
    path.write_text(path.read_text().replace("x * x", "x"))
    stale = s2s("generate", "model.py", "--check", "--quiet", cwd=project)
    assert (stale.returncode, stale.stdout, stale.stderr) == (1, "", "")
    shown = s2s("generate", "model.py", "--diff", "-q", cwd=project)
    assert shown.returncode == 0 and shown.stderr == ""
    assert shown.stdout.startswith("--- generated/model_cube.py")
    failing = s2s("generate", "missing.py:f", "-q", cwd=project)
    assert_clean_failure(failing, 2)
    assert "cannot read missing.py" in failing.stderr
    both = s2s("generate", "model.py", "-q", "-v", cwd=project)
    assert_clean_failure(both, 2)
    checked = s2s("check", "model.py:cube", "-q", cwd=project)
    assert (checked.returncode, checked.stdout) == (0, "")
    assert s2s("graph", "model.py:cube", "-q", "-o", "c.dot", cwd=project).stderr == ""


def test_standard_input_is_read_wherever_a_path_is(project):
    """`-` names standard input, as in black: editors and pre-commit pipe text."""
    text = (project / "model.py").read_text()

    def piped(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "s2s", *args],
            input=text,
            cwd=str(project),
            env=environment(),
            capture_output=True,
            text=True,
            timeout=300,
        )

    shown = piped("show", "-:cube")
    assert shown.returncode == 0, shown.stderr
    assert "from <stdin>:cube." in shown.stdout and "def cube_grad(x):" in shown.stdout
    every = piped("show", "-", "--stdin-filename", "model.py")
    assert every.returncode == 0, every.stderr
    assert every.stdout == s2s("show", "model.py", cwd=project).stdout
    assert s2s("generate", "model.py", cwd=project).returncode == 0
    fresh = piped("generate", "-", "--stdin-filename", "model.py", "--check")
    assert (fresh.returncode, fresh.stderr) == (0, "")
    unnamed = piped("generate", "-:cube")
    assert_clean_failure(unnamed, 2)
    assert "--stdin-filename" in unnamed.stderr
    checked = piped("check", "-:kink", "--at", "x=1.5")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("<stdin>:kink at x=1.5")
    drawn = piped("graph", "-:cube", "--at", "x=2")
    assert drawn.returncode == 0 and drawn.stdout.startswith('digraph "cube"')
    wrong = piped("show", "-:comprehension", "--stdin-filename", "m.py")
    assert_clean_failure(wrong, 2)
    assert f"m.py:{COMPREHENSION_LINE}:" in wrong.stderr
    rules = subprocess.run(
        [sys.executable, "-m", "s2s", "show", "plain.py:f", "--rules", "-"],
        input="import s2s\n",
        cwd=str(project),
        env=environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rules.returncode == 0, rules.stderr
    twice = piped("show", "-:cube", "--rules", "-")
    assert_clean_failure(twice, 2)
    assert "named more than once" in twice.stderr


def test_pre_commit_hook_checks_the_changed_files(project):
    """The hook of .pre-commit-hooks.yaml, run as pre-commit runs it: its entry, then
    every changed Python file (one without a decorated function is passed over)."""
    import yaml

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, ".pre-commit-hooks.yaml"), encoding="utf-8") as f:
        (hook,) = yaml.safe_load(f)
    assert hook["language"] == "python" and hook["types"] == ["python"]
    program, *entry = shlex.split(hook["entry"])
    assert program == "s2s" and entry[:2] == ["generate", "--check"]
    files = ["model.py", "plain.py"]
    missing = s2s(*entry, *files, cwd=project)
    assert missing.returncode == 1
    assert "would create generated/model_loss.py" in missing.stderr
    assert s2s("generate", "model.py", cwd=project).returncode == 0
    passing = s2s(*entry, *files, "generated/model_loss.py", cwd=project)
    assert (passing.returncode, passing.stderr) == (0, ""), passing.stderr
    (project / "model.py").write_text(MODEL.replace("SCALE = 0.5", "SCALE = 0.25"))
    stale = s2s(*entry, *files, cwd=project)
    assert stale.returncode == 1 and "would update" in stale.stderr


def test_a_named_decorated_function_uses_its_decorators_wrt(project):
    for command in (["generate", "model.py:loss"], ["show", "model.py:loss"]):
        result = s2s(*command, cwd=project)
        assert result.returncode == 0, result.stderr
    named = (project / "generated" / "model_loss.py").read_text()
    assert "return dw, db" in named
    assert "regenerate with `s2s generate model.py:loss --wrt w,b`" in named
    same = s2s("generate", "model.py:loss", "--wrt", "w,b", "--check", cwd=project)
    assert same.returncode == 0, same.stdout
    other = s2s("show", "model.py:loss", "--wrt", "x", cwd=project)
    assert other.returncode == 0 and "return dx\n" in other.stdout


def test_output_directory_and_regenerate_command(project):
    result = s2s("generate", "plain.py:f", "-o", "out/grads", cwd=project)
    assert result.returncode == 0, result.stderr
    text = (project / "out" / "grads" / "plain_f.py").read_text()
    assert "`s2s generate plain.py:f -o out/grads`" in text
    again = s2s("generate", "plain.py:f", "-o", "out/grads", "--check", cwd=project)
    assert again.returncode == 0


def test_generated_output_is_identical_across_hash_seeds(project):
    outputs = set()
    for seed in ("0", "1", "4242"):
        out = f"out{seed}"
        env = environment(PYTHONHASHSEED=seed)
        assert (
            s2s("generate", "model.py", "-o", out, cwd=project, env=env).returncode == 0
        )
        outputs.add((project / out / "model_loss.py").read_text().replace(out, "OUT"))
    assert len(outputs) == 1


@pytest.mark.parametrize(
    "args, words",
    [
        (["generate", "missing.py:f"], "cannot read missing.py"),
        (["generate", "model.py:nothing"], "no function named 'nothing'"),
        (["generate", "model.py:comprehension"], f"model.py:{COMPREHENSION_LINE}:"),
        (["generate", "plain.py"], "no function is decorated"),
        (["generate", "model.py:loss", "--wrt", "q"], "no parameter named 'q'"),
        (["generate", "model.py", "--wrt", "w"], "--wrt applies to"),
        (["show", "model.py:loss", "--wrt", "w b"], "neither a parameter name"),
        (["check", "model.py:loss", "--at", "zz=1"], "no parameter named 'zz'"),
        (["check", "model.py:loss", "--shape", "w=3xq"], "cannot read '3xq'"),
        (["check", "model.py:cube", "--shape", "x=-3"], "sizes are whole numbers"),
        (["check", "model.py:cube", "--shape", "x=1000000x1000000x1000000"], "x=1"),
        (["check", "model.py:cube", "--at", "x=1+2j"], "complex numbers are not"),
        (["graph", "model.py:cube", "--at", "x=[1j, 2]"], "complex numbers are not"),
        (["check", "model.py:loss", "--at", "w=[[1,2],[3]]"], "(a ragged array)"),
        (["graph", "model.py:loss", "--at", "w=[[1,2],[3]]"], "(a ragged array)"),
        (["check", "model.py:cube", "--at", "1,2"], "takes 1 arguments, 2 given"),
        (["check", "model.py:cube", "--at", "x=1,x=2"], "x is given twice"),
        (["show", "model.py:"], "'model.py:': no function name after ':'"),
        (["show", "model.py:loss:x"], "expected PATH.py:FUNCTION, with one function"),
        (["graph", "model.py:"], "no function name after ':'"),
        (["show", "model.py:loss", "--wrt", "w,b,w"], "names w more than once"),
        (["show", "model.py:loss", "--wrt", ""], "--wrt '' names no parameter"),
        (["graph", "model.py:loss", "--wrt", ""], "--wrt '' names no parameter"),
        (["generate", "model.py:cube", "-o", "plain.py"], "it is a file, not a"),
    ],
)
def test_input_errors_exit_2_without_a_traceback(project, args, words):
    result = s2s(*args, cwd=project)
    assert_clean_failure(result, 2)
    assert words in result.stderr


@pytest.mark.parametrize("args", [[], ["frobnicate"], ["generate"], ["show", "-x"]])
def test_usage_errors_exit_2(project, args):
    assert_clean_failure(s2s(*args, cwd=project), 2)


def test_generate_writes_every_target_it_can_then_exits_2(project):
    (project / "bad.py").write_text("def b(x):\n    return [v for v in x]\n")
    specs = ["model.py:cube", "bad.py:b", "missing.py:f", "plain.py:f"]
    result = s2s("generate", *specs, cwd=project)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(os.listdir(project / "generated")) == ["model_cube.py", "plain_f.py"]
    assert "bad.py:2:12: unsupported syntax: a list comprehension" in result.stderr
    assert "s2s: error: cannot read missing.py" in result.stderr
    assert result.stderr.rstrip().endswith(
        "2 of 4 target(s) failed; the other " "modules are up to date"
    )


def test_generate_never_overwrites_a_file_it_did_not_write(project):
    (project / "generated").mkdir()
    mine = project / "generated" / "plain_f.py"
    mine.write_text("# my own notes\n")
    for extra in ([], ["--check"]):
        result = s2s("generate", "plain.py:f", "model.py:cube", *extra, cwd=project)
        assert result.returncode == 2, result.stderr
        assert "generated/plain_f.py exists and was not written by s2s" in (
            result.stderr
        )
        assert "-o DIR, or delete the file" in result.stderr
        assert mine.read_text() == "# my own notes\n"
    assert (project / "generated" / "model_cube.py").exists()
    # A module s2s wrote, even edited by hand, is regenerated as the header says.
    cube = project / "generated" / "model_cube.py"
    cube.write_text(cube.read_text() + "# an edit\n")
    assert s2s("generate", "model.py:cube", cwd=project).returncode == 0
    assert "# an edit" not in cube.read_text()


def test_an_async_function_is_named_as_such(tmp_path):
    (tmp_path / "a.py").write_text("async def f(x):\n    return x * x\n")
    result = s2s("show", "a.py:f", cwd=tmp_path)
    assert_clean_failure(result, 2)
    assert "a.py:1:1: f is an async function" in result.stderr


def test_the_regenerate_command_is_quoted_for_the_shell(tmp_path):
    (tmp_path / "my models").mkdir()
    (tmp_path / "my models" / "m.py").write_text("def f(x):\n    return x * x\n")
    result = s2s("generate", "my models/m.py:f", "-o", "out dir", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "out dir" / "m_f.py").read_text()
    command = "s2s generate 'my models/m.py:f' -o 'out dir'"
    assert f"regenerate with `{command}`" in text
    again = s2s(*shlex.split(command)[1:], "--check", cwd=tmp_path)
    assert (again.returncode, again.stdout) == (0, ""), again.stderr


def test_cache_info_and_clear_on_an_unusable_directory(project):
    env = environment(project / "plain.py" / "cache")
    info = s2s("cache", "info", cwd=project, env=env)
    assert info.returncode == 0
    assert "the directory is unusable: " in info.stdout
    assert "plain.py is not a directory" in info.stdout
    clear = s2s("cache", "clear", cwd=project, env=environment(project / "plain.py"))
    assert_clean_failure(clear, 2)
    assert "plain.py is not a directory" in clear.stderr


def test_two_targets_for_one_output_file_is_an_error(project):
    (project / "sub").mkdir()
    (project / "sub" / "plain.py").write_text("def f(x):\n    return x + x\n")
    result = s2s("generate", "plain.py:f", "sub/plain.py:f", cwd=project)
    assert_clean_failure(result, 2)
    assert "both be written to" in result.stderr
    assert not (project / "generated").exists()


_INTERNAL = """
import sys
import s2s.cli as cli
import s2s.cli.commands, s2s.cli.modules
from s2s.errors import InternalError

def fail(*args, **kwargs):
    if sys.argv[1] == "raw":
        raise RuntimeError("an unexpected failure")
    try:
        {}["x"]
    except KeyError as e:
        raise InternalError("s2s failed on f: KeyError: 'x'") from e

s2s.cli.commands.generate = s2s.cli.modules.generate = fail
sys.exit(cli.main(["show", "plain.py:f"]))
"""


@pytest.mark.parametrize("kind", ["wrapped", "raw"])
def test_internal_errors_exit_3_and_say_it_is_a_bug(project, kind):
    result = python(_INTERNAL, kind, cwd=project)
    assert result.returncode == 3, result.stderr
    assert "Traceback" in result.stderr  # the one case where it helps
    assert result.stderr.rstrip().splitlines()[-1].startswith("s2s: internal error")
    if kind == "raw":
        assert "bug in s2s" in result.stderr


def test_help_for_every_subcommand_and_version(project):
    for command in ([], ["generate"], ["show"], ["check"], ["cache"], ["graph"]):
        result = s2s(*command, "--help", cwd=project)
        assert result.returncode == 0 and result.stdout.startswith("usage: s2s")
    assert "Draw the SSA graph" in s2s("graph", "--help", cwd=project).stdout
    show = s2s("show", "--help", cwd=project).stdout
    assert "what to print: module:" in " ".join(show.split())
    version = s2s("--version", cwd=project)
    import s2s as package

    assert version.returncode == 0
    assert version.stdout.startswith(f"s2s {package.__version__} (numpy ")


def test_console_script_is_installed(project):
    script = os.path.join(os.path.dirname(sys.executable), "s2s")
    import subprocess

    result = subprocess.run(
        [script, "show", "plain.py:f"],
        cwd=project,
        env=environment(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "def f_grad(x):" in result.stdout


def test_show_prints_the_module_and_every_stage(project):
    module = s2s("show", "model.py:loss", "--wrt", "w,b", cwd=project)
    assert module.returncode == 0
    assert module.stdout.startswith("# Generated by s2s")
    assert "# Content key: " in module.stdout
    ir = s2s("show", "model.py:loss", "--dump", "ir", cwd=project).stdout
    adjoint = s2s("show", "model.py:loss", "--dump", "adjoint", cwd=project).stdout
    assert "tanh" in ir and adjoint.startswith(ir) and len(adjoint) > len(ir)
    raw = s2s("show", "model.py:cube", "--dump", "raw", cwd=project).stdout
    assert "def cube_grad(x):" in raw and not raw.startswith("#")
    key = s2s("show", "model.py:loss", "--wrt", "w,b", "--dump", "key", cwd=project)
    content = module.stdout.split("# Content key: ")[1].split("\n")[0]
    assert key.stdout.startswith(f"content key {content}\n")
    # A global enters the key by where it is read from, and by its value where
    # the code may fold it in (a number: the code checks it on entry).
    assert "'SCALE':('data','global','model','SCALE','0.5')" in key.stdout


def test_check_passes_at_given_and_random_points(project):
    at = s2s("check", "model.py:cube", "--at", "x=2.5", cwd=project)
    assert at.returncode == 0, at.stderr
    assert "dx: s2s 18.75, central differences 18.75" in at.stdout
    args = ["check", "model.py:loss", "--wrt", "w,b", "--shape", "w=3x2,b=2,x=4x3"]
    first = s2s(*args, "--seed", "7", cwd=project)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (
        "dw: worst element [" in first.stdout and "db: worst element [" in first.stdout
    )
    assert first.stdout.rstrip().splitlines()[-1].startswith("ok")
    assert s2s(*args, "--seed", "7", cwd=project).stdout == first.stdout
    assert s2s(*args, "--seed", "8", cwd=project).stdout != first.stdout


_COUNTS = """\
import numpy as np


def powers(x, n):
    total = 0.0
    for i in range(n - 1):
        total = total + x**i
    return total


def row(x, i, k):
    return np.sum(x[int(i)] * np.ones(k)) * x[0]


def sized(x, m):
    return np.sum(np.zeros(m) + x * x.shape[0])
"""


def test_check_draws_integers_for_counts_indices_and_sizes(project):
    """A parameter used as a count, an index or a size gets a small random integer,
    not a standard normal float (which no range or index takes)."""
    (project / "counts.py").write_text(_COUNTS)
    for target, shape in (("powers", []), ("row", ["--shape", "x=4"])):
        result = s2s("check", f"counts.py:{target}", *shape, cwd=project)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "(random count: " in result.stdout
    row = s2s("check", "counts.py:row", "--shape", "x=4", cwd=project).stdout
    head = row.splitlines()[0]
    assert re.search(r"i=[1-3] \(random count", head), head
    assert re.search(r"k=[1-3] \(random count", head), head
    assert "x~N(0,1) of shape 4" in head
    sized = s2s("check", "counts.py:sized", "--shape", "x=3", cwd=project)
    assert sized.returncode == 0, sized.stdout + sized.stderr
    assert re.search(r"m=[1-3] \(random count", sized.stdout)
    assert "x~N(0,1) of shape 3" in sized.stdout  # read for its shape only: an array
    # A value given, or an array shape asked for, is used as it is.
    given = s2s("check", "counts.py:powers", "--at", "n=4", cwd=project).stdout
    assert ", n=4\n" in given.splitlines()[0] + "\n"


def test_check_reads_values_as_graph_does(project):
    np.save(project / "x.npy", np.array([0.5, -1.5]))
    (project / "vector.py").write_text(
        "import numpy as np\n\ndef f(x, c):\n    return np.sum(x**3) * c\n"
    )
    outputs = set()
    for at in (["x.npy,2"], ["x=x.npy", "--at", "c=2"], ["x=[0.5, -1.5],c=2"]):
        result = s2s("check", "vector.py:f", "--at", *at, cwd=project)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "at x=[0.5, -1.5], c=2\n  value -6.5 " in result.stdout
        outputs.add(result.stdout)
    assert len(outputs) == 1


_RULES_ERRORS = {
    "raises.py": ('import s2s\nraise RuntimeError("boom")\n', "RuntimeError: boom"),
    "syntax.py": ("def f(:\n", "SyntaxError: invalid syntax"),
    "imports.py": ("import s2s_no_such_module\n", "ModuleNotFoundError"),
    "refused.py": ("import s2s\ns2s.register(len, 5)\n", "is not callable"),
}


@pytest.mark.parametrize("name", sorted(_RULES_ERRORS))
def test_an_error_in_a_rules_file_is_the_users_exit_2(project, name):
    text, words = _RULES_ERRORS[name]
    (project / name).write_text(text)
    result = s2s("show", "plain.py:f", "--rules", name, cwd=project)
    assert_clean_failure(result, 2)
    assert words in result.stderr
    line = text.count("\n")
    assert f"{name}:{line}: {text.splitlines()[-1].strip()}" in result.stderr


_MYLIB = """\
import numpy as np


def softplus(x):
    return np.logaddexp(0.0, x)
"""
_MYRULES = """\
import numpy as np

import mylib
import s2s

s2s.register(mylib.softplus, lambda g, y, x: g / (1.0 + np.exp(-x)))
"""
_USES_MYLIB = """\
import numpy as np
import mylib as lib
from mylib import softplus


def loss(w, x):
    return np.sum(softplus(x * w)) + np.sum(lib.softplus(w))
"""


def test_check_graph_and_generate_with_custom_rules(tmp_path):
    for name, text in (
        ("mylib.py", _MYLIB),
        ("my_rules.py", _MYRULES),
        ("model.py", _USES_MYLIB),
    ):
        (tmp_path / name).write_text(text)
    rules = ["--rules", "my_rules.py"]
    check = s2s("check", "model.py:loss", *rules, "--shape", "w=3,x=3", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.rstrip().splitlines()[-1].startswith("ok")
    at = ["--at", "w=[0.5,-1.0],x=[2.0,0.25]", "-o", "loss.dot"]
    graph = s2s("graph", "model.py:loss", *rules, *at, cwd=tmp_path)
    assert graph.returncode == 0, graph.stderr
    w, x = np.array([0.5, -1.0]), np.array([2.0, 0.25])
    dw = x / (1 + np.exp(-x * w)) + 1 / (1 + np.exp(-w))
    dot = (tmp_path / "loss.dot").read_text()
    assert f"dw = [{dw[0]:.4g}, {dw[1]:.4g}]" in dot
    generated = s2s("generate", "model.py:loss", *rules, cwd=tmp_path)
    assert generated.returncode == 0, generated.stderr
    text = (tmp_path / "generated" / "model_loss.py").read_text()
    command = "s2s generate model.py:loss --rules my_rules.py"
    assert f"regenerate with `{command}`" in text
    again = s2s(*command.split()[1:], "--check", cwd=tmp_path)
    assert (again.returncode, again.stdout) == (0, ""), again.stdout + again.stderr


def test_check_reports_a_mismatch_with_exit_1(project):
    result = s2s("check", "model.py:kink", "--at", "x=1.0", cwd=project)
    assert result.returncode == 1
    assert "MISMATCH" in result.stdout and "kink" in result.stdout
    assert s2s("check", "model.py:kink", "--at", "x=1.5", cwd=project).returncode == 0


def test_check_input_that_breaks_the_function_is_an_input_error(project):
    result = s2s("check", "model.py:loss", "--shape", "w=3x2,x=5x5", cwd=project)
    assert_clean_failure(result, 2)
    assert "loss raised ValueError at these inputs" in result.stderr


def test_check_runs_only_the_function_and_its_helpers(tmp_path):
    (tmp_path / "m.py").write_text(textwrap.dedent("""\
            import math
            from numpy import exp as e

            RATE = 2.0
            print("top level ran")

            def unrelated(x=print("default evaluated")):
                return x

            def helper(v, k=3):
                return e(v) * k

            def f(x):
                return math.sin(x) + helper(x * RATE)
            """))
    result = s2s("check", "m.py:f", "--at", "x=0.3", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "top level ran" not in result.stdout + result.stderr
    assert "default evaluated" not in result.stdout + result.stderr
    f = function_from_file(str(tmp_path / "m.py"), "f")
    assert f(0.3) == pytest.approx(np.sin(0.3) + 3 * np.exp(0.6), rel=1e-15)


def test_cache_info_and_clear(project):
    cache_dir = project / "cache"
    env = environment(cache_dir)
    python("import s2s, plain; s2s.grad(plain.f)", cwd=project, env=env)
    cache_dir.joinpath("notes.txt").write_text("not an entry")
    info = s2s("cache", "info", cwd=project, env=env)
    assert info.returncode == 0
    assert f"directory: {cache_dir} ($S2S_CACHE_DIR)" in info.stdout
    assert "entries:   1 " in info.stdout and "state:     on" in info.stdout
    assert "cap:       32.0 MiB (the default; $S2S_CACHE_SIZE sets it" in info.stdout
    capped = s2s("cache", "info", cwd=project, env=dict(env, S2S_CACHE_SIZE="1G"))
    assert "cap:       1.0 GiB (from $S2S_CACHE_SIZE)" in capped.stdout
    cleared = s2s("cache", "clear", cwd=project, env=env)
    assert cleared.returncode == 0 and "removed 1 entries" in cleared.stdout
    assert os.listdir(cache_dir) == ["notes.txt"]
    off = s2s("cache", "info", cwd=project, env=dict(env, S2S_CACHE="0"))
    assert "state:     off" in off.stdout


# --- other derivatives: --mode, and a gradient module read back ------------------------

_MODES_WITHOUT_S2S = """
import importlib.util, json, sys
import numpy as np
sys.modules["s2s"] = None  # any `import s2s` now fails
def load(path):
    spec = importlib.util.spec_from_file_location("m", path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m
hvp, jvp, vjp, second = (load(p) for p in sys.argv[1:])
x, v = np.array([0.3, -1.2]), np.array([1.0, 0.5])
print(json.dumps({
    "hvp": hvp.f_hvp(x, v).tolist(),
    "jvp": jvp.f_jvp(x, v)[1],
    "vjp": vjp.f_vjp(x, 2.0)[1].tolist(),
    "second": second.f_grad_grad(0.7),
}))
"""

_QUARTIC = (
    "import numpy as np\n\n\ndef f(x):\n    return np.sum(x**4) + np.sum(x) ** 2\n"
)


def test_generate_other_modes_and_a_gradient_of_a_generated_gradient(tmp_path):
    (tmp_path / "quartic.py").write_text(_QUARTIC)
    (tmp_path / "scalar.py").write_text("def f(x):\n    return x**4 / 12 + x\n")
    for mode in ("hvp", "jvp", "vjp"):
        result = s2s("generate", "quartic.py:f", "--mode", mode, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        text = (tmp_path / "generated" / f"quartic_f_{mode}.py").read_text()
        assert f"def f_{mode}(x, " in text
        assert f"`s2s generate quartic.py:f --mode {mode}`" in text
    assert s2s("generate", "scalar.py:f", cwd=tmp_path).returncode == 0
    # The generated gradient module is itself a file s2s can differentiate.
    result = s2s("generate", "generated/scalar_f.py:f_grad", "--wrt", "x", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    paths = [
        tmp_path / "generated" / name
        for name in ("quartic_f_hvp.py", "quartic_f_jvp.py", "quartic_f_vjp.py")
    ]
    paths.append(tmp_path / "generated" / "scalar_f_f_grad.py")
    result = python(_MODES_WITHOUT_S2S, *map(str, paths), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    x, v = np.array([0.3, -1.2]), np.array([1.0, 0.5])
    hessian = np.diag(12 * x**2) + 2.0
    np.testing.assert_allclose(out["hvp"], hessian @ v, rtol=1e-12)
    assert out["jvp"] == pytest.approx((4 * x**3 + 2 * np.sum(x)) @ v, rel=1e-12)
    np.testing.assert_allclose(out["vjp"], 2.0 * (4 * x**3 + 2 * np.sum(x)))
    assert out["second"] == pytest.approx(0.7**2, rel=1e-12)
    for mode in ("hvp", "jvp", "vjp"):
        again = s2s("generate", "quartic.py:f", "--mode", mode, "--check", cwd=tmp_path)
        assert again.returncode == 0, again.stdout
    shown = s2s("show", "quartic.py:f", "--mode", "jvp", cwd=tmp_path)
    assert shown.returncode == 0 and "def f_jvp(x, x_dot):" in shown.stdout


def test_mode_needs_a_named_function(project):
    result = s2s("generate", "model.py", "--mode", "hvp", cwd=project)
    assert_clean_failure(result, 2)
    assert "--mode hvp applies to PATH.py:FUNCTION targets" in result.stderr
    assert_clean_failure(
        s2s("generate", "plain.py:f", "--mode", "fast", cwd=project), 2
    )


# --- has_aux: functions returning (value, aux) -----------------------------------------

AUX = """\
import numpy as np

import s2s
from s2s import value_and_grad as VG


@s2s.grad(has_aux=True)
def fit(params: {"w": "n", "b": ""}, x):
    z = np.tanh(x @ params["w"] + params["b"])
    return np.sum(z**2), {"z": z, "mean": np.mean(z)}


@VG(argnums=(0,), has_aux=True)
def wave(w, x):
    z = np.sin(w * x)
    return np.sum(z * z), z


def plain(w, x):
    z = np.sin(w * x) * np.exp(x)
    return np.sum(z), z
"""

_AUX_KEYS_AGREE = """
import numpy as np, s2s, aux
print(aux.fit.provenance, aux.wave.provenance,
      s2s.grad(aux.plain, has_aux=True).provenance)
"""


def test_has_aux_modules_return_grads_and_aux(tmp_path):
    """Decorated with has_aux=True (argnums spelling wrt), or named with --has-aux:
    FUNC_grad returns (grads, aux) and FUNC_value_and_grad ((value, aux), grads),
    the gradients those of the value, the content keys those of s2s.grad."""
    path = tmp_path / "aux.py"
    path.write_text(AUX)
    for args in (["aux.py"], ["aux.py:plain", "--has-aux"]):
        result = s2s("generate", *args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    out = tmp_path / "generated"
    assert sorted(os.listdir(out)) == ["aux_fit.py", "aux_plain.py", "aux_wave.py"]
    for name, command in [
        ("fit", "aux.py:fit --has-aux"),
        ("wave", "aux.py:wave --wrt 0, --has-aux"),
        ("plain", "aux.py:plain --has-aux"),
    ]:
        text = (out / f"aux_{name}.py").read_text()
        assert f"regenerate with `s2s generate {command}`" in text
        again = s2s("generate", *shlex.split(command), "--check", cwd=tmp_path)
        assert again.returncode == 0, again.stderr

    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3))
    params = {"w": rng.normal(size=3), "b": 0.3}
    fit = _imported(out / "aux_fit.py")
    f = function_from_file(str(path), "fit")
    (g, aux), z = fit.fit_grad(params, x), np.tanh(x @ params["w"] + params["b"])
    np.testing.assert_allclose(aux["z"], z)
    assert aux["mean"] == pytest.approx(np.mean(z))
    numeric = {
        "w": numeric_gradient(lambda w: f({**params, "w": w}, x)[0], [params["w"]], 0),
        "b": numeric_gradient(lambda b: f({**params, "b": b}, x)[0], [params["b"]], 0),
    }
    assert sorted(g) == ["b", "w"]
    for key in g:
        np.testing.assert_allclose(g[key], numeric[key], rtol=RTOL, atol=ATOL)
    (value, aux2), g2 = fit.fit_value_and_grad(params, x)
    assert value == pytest.approx(np.sum(z**2))
    np.testing.assert_allclose(aux2["z"], z)
    np.testing.assert_allclose(g2["w"], g["w"])

    w, x = rng.normal(size=5), rng.normal(size=5)
    for name, wrapped in [("wave", True), ("plain", False)]:
        module = _imported(out / f"aux_{name}.py")
        f = function_from_file(str(path), name)
        numeric = numeric_gradient(lambda w: f(w, x)[0], [w], 0)
        grads, aux = getattr(module, f"{name}_grad")(w, x)
        (value, aux2), grads2 = getattr(module, f"{name}_value_and_grad")(w, x)
        dw = grads[0] if wrapped else grads  # argnums=(0,): a tuple of one
        assert isinstance(grads, tuple) == wrapped
        np.testing.assert_allclose(dw, numeric, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(aux, f(w, x)[1])
        np.testing.assert_allclose(aux2, f(w, x)[1])
        assert value == pytest.approx(f(w, x)[0])

    # s2s.grad finds each committed module by its content key.
    env = environment(cache_dir=tmp_path / "cache")
    result = python(_AUX_KEYS_AGREE, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["committed"] * 3


_AUX_ERRORS = """\
import numpy as np
import s2s

WHICH = "w"
AUX = True


@s2s.grad(wrt=WHICH, has_aux=True)
def named(w, x):
    return np.sum(w * x), x


@s2s.grad(has_aux=AUX)
def unknown(w):
    return np.sum(w), w


@s2s.grad(wrt=0, argnums=0)
def both(w):
    return np.sum(w)


def single(w):
    return np.sum(w * w)
"""


@pytest.mark.parametrize(
    "args, words",
    [
        (["generate", "aux.py:single", "--has-aux", "--mode", "jvp"], "--has-aux "),
        (["show", "aux.py:single", "--has-aux", "--mode", "hvp"], "--has-aux "),
        (["generate", "aux.py:named", "--wrt", "w", "--mode", "vjp"], "has_aux=True"),
        (["generate", "aux.py", "--has-aux"], "--has-aux applies to PATH.py:FUNC"),
        (["generate", "aux.py:single", "--has-aux"], "must return a pair"),
        (["generate", "aux.py:named"], "wrt must be written as a constant"),
        (["generate", "aux.py:unknown"], "has_aux must be written as True or"),
        (["generate", "aux.py:both"], "given both wrt and argnums"),
        (["check", "aux.py:named", "--wrt", "w"], "check compares the gradient"),
    ],
)
def test_has_aux_conflicts_are_refused_with_a_hint(tmp_path, args, words):
    (tmp_path / "aux.py").write_text(_AUX_ERRORS)
    result = s2s(*args, cwd=tmp_path)
    assert_clean_failure(result, 2)
    assert words in result.stderr
    assert len(result.stderr.strip().splitlines()) >= 2  # the message, then a hint
    assert not (tmp_path / "generated").exists()


def test_has_aux_option_given_for_what_the_decorator_cannot_say(tmp_path):
    """Given on the command line, an option is not read from the decorator."""
    (tmp_path / "aux.py").write_text(_AUX_ERRORS)
    named = s2s("show", "aux.py:named", "--wrt", "w", cwd=tmp_path)
    assert named.returncode == 0, named.stderr
    assert "return (total, x), dw\n" in named.stdout
    unknown = s2s("show", "aux.py:unknown", "--has-aux", cwd=tmp_path)
    assert unknown.returncode == 0, unknown.stderr
    assert "return (total, w), dw\n" in unknown.stdout
    plain = s2s("show", "aux.py:single", cwd=tmp_path)
    assert plain.returncode == 0 and "has-aux" not in plain.stdout
