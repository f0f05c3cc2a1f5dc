"""User-facing errors: every one is an S2SError that says where, what, and what to do.

Errors raised while reading user code carry a :class:`Location` (file, line, column and
the source line), and their message quotes the line with a caret under the offending
construct, then ends with advice.  Anything unexpected inside s2s is wrapped in
:class:`InternalError`, which says plainly that it is a bug in s2s.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


def cell_name(filename: str) -> str | None:
    """`In[3]` for the file a notebook cell was compiled into, as IPython names the
    cell in its tracebacks (ipykernel compiles cell 3 into a file such as
    /tmp/ipykernel_123/1093572741.py); None outside IPython, and for other files."""
    ipython = sys.modules.get("IPython")  # never imported here: only if it runs
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if get_ipython is not None else None
    try:
        named = shell.compile.format_code_name(filename)
    except AttributeError:  # no shell running, or an IPython before 8
        return None
    return named[1] if named else None


def short_name(filename: str) -> str:
    """What comments in generated code (and content keys) call a source file: its
    name without directories, or a notebook cell's name."""
    return cell_name(filename) or filename.replace("\\", "/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Location:
    """Where a construct sits in the user's source."""

    filename: str
    lineno: int
    col: int = 0
    line: str = ""
    #: In code s2s generated, the user's line this one differentiates.
    origin: Location | None = None

    def __str__(self) -> str:
        return f"{self.shown}:{self.lineno}"

    @property
    def shown(self) -> str:
        """The file as messages name it: a notebook cell by its name."""
        return cell_name(self.filename) or self.filename

    def short(self) -> str:
        """`file.py:N` (or `In[3]:N`), without directories, for comments in
        generated code."""
        return f"{short_name(self.filename)}:{self.lineno}"


class S2SError(Exception):
    """Base class of every error s2s raises on purpose."""

    def __init__(self, message: str, location: Location | None = None, hint: str = ""):
        self.message = message
        self.location = location
        self.hint = hint
        super().__init__(self._render())

    @property
    def filename(self) -> str | None:
        return self.location.filename if self.location else None

    @property
    def lineno(self) -> int | None:
        return self.location.lineno if self.location else None

    @property
    def col(self) -> int | None:
        return self.location.col if self.location else None

    def _render(self) -> str:
        parts = []
        loc = self.location
        if loc is not None and loc.origin is not None:  # said where the user wrote it
            generated, loc = loc, loc.origin
            parts.append(f"{loc.filename}:{loc.lineno}: {self.message}")
            parts.append("    " + loc.line.strip())
            parts.append(
                f"(in the code s2s generated for it, {generated.filename} line "
                f"{generated.lineno}: {generated.line.strip()})"
            )
        elif loc is not None:
            parts.append(f"{loc.shown}:{loc.lineno}:{loc.col + 1}: {self.message}")
            if loc.line:
                text = loc.line.rstrip("\n")
                stripped = text.lstrip()
                indent = len(text) - len(stripped)
                parts.append("    " + stripped)
                parts.append("    " + " " * max(loc.col - indent, 0) + "^")
        else:
            parts.append(self.message)
        if self.hint:
            parts.append(self.hint)
        return "\n".join(parts)


class UnsupportedSyntaxError(S2SError):
    """The function uses a construct outside the subset s2s differentiates."""


class ReadAsStructureError(UnsupportedSyntaxError):
    """A value s2s holds as an array is read as only a structure can be (by a
    string key, a field, unpacking): code for structures is written for the
    structures a gradient is called with."""


class UnknownFunctionError(UnsupportedSyntaxError):
    """A call to a function that has no derivative rule and is not a user function."""


class NotTwiceDifferentiableError(UnsupportedSyntaxError):
    """A derivative s2s can take once, but not again (a gradient through np.prod)."""


class NotPortableError(UnsupportedSyntaxError):
    """The array_api backend was asked for code that has no spelling in the array
    API standard (a numpy function outside it, a registered function)."""


class CheckpointError(S2SError):
    """checkpoint= is not a number of snapshots, or asks for what checkpointing
    does not do (a second derivative through a checkpointed gradient)."""


class NoDerivativeError(S2SError):
    """The function has no derivative at these arguments, which the gradient needs:
    equal eigenvalues of np.linalg.eigh whose eigenvectors it uses, a repeated
    largest singular value for a second derivative of np.linalg.norm(x, 2)."""


class RuleError(S2SError):
    """A custom derivative rule cannot be registered, or fails when it is used."""


class SourceUnavailableError(S2SError):
    """The function's source text cannot be found (lambda, `python -c`, exec, REPL)."""


class NonScalarOutputError(S2SError):
    """`grad` was asked for the gradient of a function whose result is not a scalar."""


class WrtError(S2SError):
    """The `wrt` argument names no parameter of the function."""


class GradientMismatchError(S2SError):
    """`check_grad` found the gradient and central differences disagree."""


class InternalError(S2SError):
    """A bug in s2s itself: please report it with the function that triggered it."""


class GraphvizNotFoundError(S2SError):
    """Drawing SVG, PNG or PDF needs Graphviz's `dot` program, which is missing."""


class ShapeSpecError(S2SError):
    """A shape pattern (an annotation, or `shapes=`) that s2s cannot read."""


class ShapeMismatchError(S2SError):
    """Arguments whose shapes differ from the shapes the gradient was annotated for."""
