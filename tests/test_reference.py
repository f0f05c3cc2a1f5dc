"""docs/rules.md is generated from the rule table: it is fresh, complete, and names
every spelling s2s accepts."""

import os
import subprocess
import sys

from s2s import reference
from s2s.primitives import NUMPY_FUNCTIONS, PRIMITIVES
from s2s.rules import KIND_NAMES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_committed_reference_is_fresh():
    with open(reference.PATH, encoding="utf-8") as f:
        committed = f.read()
    assert (
        committed == reference.reference_markdown()
    ), "docs/rules.md is stale: run `python -m s2s.reference --write`"


def test_every_rule_and_spelling_is_in_the_reference():
    text = reference.reference_markdown()
    for name, prim in PRIMITIVES.items():
        if prim.kind not in KIND_NAMES:
            continue
        if reference.spellings(name):
            assert f"### {name}" in text, name
    for name in NUMPY_FUNCTIONS:
        assert f"`np.{name}(" in text, name
    for name in [n for n, p in PRIMITIVES.items() if p.kind == "zero"]:
        for spelled in reference.spellings(name):
            assert spelled in text


def test_reference_is_deterministic_across_processes():
    command = [sys.executable, "-m", "s2s.reference"]
    runs = [
        subprocess.run(command, cwd=ROOT, capture_output=True, text=True) for _ in "ab"
    ]
    assert runs[0].returncode == 0, runs[0].stderr
    assert runs[0].stdout == runs[1].stdout == reference.reference_markdown()
