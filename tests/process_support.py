"""Running s2s and Python snippets in fresh processes, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def environment(cache_dir=None, **extra: str) -> dict[str, str]:
    """os.environ with a cache directory of the test's own (or the cache turned off)."""
    env = dict(os.environ)
    env.pop("S2S_CACHE", None)
    if cache_dir is None:
        env["S2S_CACHE"] = "0"
    else:
        env["S2S_CACHE_DIR"] = str(cache_dir)
    env.update(extra)
    return env


def s2s(*args: str, cwd, env=None) -> subprocess.CompletedProcess:
    """`python -m s2s ARGS` in `cwd`."""
    return subprocess.run(
        [sys.executable, "-m", "s2s", *args],
        cwd=str(cwd),
        env=env or environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def python(code: str, *args: str, cwd, env=None) -> subprocess.CompletedProcess:
    """`python -c CODE ARGS` in `cwd`, with `cwd` importable."""
    env = dict(env or environment())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(cwd), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=str(cwd),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_clean_failure(result: subprocess.CompletedProcess, code: int) -> None:
    """The exit code is `code` and stderr is an s2s message, not a Python traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("s2s: ") or result.stderr.startswith("usage: ")
