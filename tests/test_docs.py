"""What README.md tells a newcomer holds: CI runs its test command, and the
pre-commit hook it documents is the one the repository ships."""

import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read(*path: str) -> str:
    with open(os.path.join(ROOT, *path), encoding="utf-8") as f:
        return f.read()


def test_ci_runs_exactly_the_readmes_test_command():
    readme = _read("README.md")
    section = readme.split("Run the tests", 1)[1]
    command = re.search(r"```bash\n(.*?)\n```", section, re.DOTALL).group(1)
    assert command == ".venv/bin/python -m pytest -n auto --dist worksteal"
    ci = [line for line in _read(".ci", "run").splitlines() if line.strip()]
    assert ci[-1] == command


def test_the_documented_pre_commit_hook_is_shipped():
    hooks = yaml.safe_load(_read(".pre-commit-hooks.yaml"))
    documented = re.findall(r"- id: ([\w-]+)", _read("README.md"))
    assert documented == [hook["id"] for hook in hooks] == ["s2s-check"]
