"""Where source files come from: a path, or standard input (`-`, as in black), and
the dotted name a file is imported by."""

from __future__ import annotations

import ast
import os
import sys
from dataclasses import dataclass

from ..cache import PROJECT_MARKERS
from ..errors import Location, SourceUnavailableError, UnsupportedSyntaxError
from ..files import read_source


def module_name_of(path: str) -> str:
    """The name a file is imported by: its path from the project's root (the first
    directory up with pyproject.toml, setup.py, setup.cfg or .git), dotted
    (`examples/mlp.py` is `examples.mlp`); outside a project, its stem."""
    stem = os.path.splitext(os.path.basename(path))[0]
    if not path or path.startswith("<"):
        return stem or "__main__"
    directory = os.path.dirname(os.path.abspath(path))
    parts = [stem]
    while not any(os.path.exists(os.path.join(directory, m)) for m in PROJECT_MARKERS):
        parent = os.path.dirname(directory)
        if parent == directory:
            return stem
        parts.insert(0, os.path.basename(directory))
        directory = parent
    return ".".join(parts)


#: The path that names standard input, as in black (`s2s show - < model.py`).
STDIN = "-"


@dataclass
class StandardInput:
    """Standard input as a source file: read once (several targets may name it),
    and called `name` in messages, headers and module names (`--stdin-filename`)."""

    name: str = "<stdin>"
    text: str | None = None

    def read(self) -> str:
        if self.text is None:
            self.text = sys.stdin.read()
        return self.text


#: Standard input of this process, as the command line names it.
stdin = StandardInput()


def shown_path(path: str) -> str:
    """What messages and generated modules call the file at `path`."""
    return stdin.name if path == STDIN else path


def source_text(path: str) -> str:
    """The text of the Python file at `path` (standard input for `-`)."""
    try:
        return stdin.read() if path == STDIN else read_source(path)
    except (OSError, SyntaxError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise SourceUnavailableError(
            f"cannot read {shown_path(path)}: {reason}"
        ) from None


def read_module(path: str) -> tuple[str, ast.Module]:
    """The text of the file at `path` (standard input for `-`) and its syntax tree,
    without importing it."""
    text = source_text(path)
    shown = shown_path(path)
    try:
        return text, ast.parse(text, filename=shown)
    except ValueError as e:  # null bytes
        raise SourceUnavailableError(f"cannot parse {shown}: {e}") from None
    except SyntaxError as e:
        raise UnsupportedSyntaxError(
            f"syntax error: {e.msg}",
            Location(shown, e.lineno or 1, (e.offset or 1) - 1, e.text or ""),
            "Fix the syntax error first.",
        ) from None
