"""Reading the files s2s is given: regular files only, since opening a FIFO or a
device (`/dev/zero`) would block or never end, and Python source decoded as Python
decodes it (a PEP 263 coding line, else UTF-8)."""

from __future__ import annotations

import io
import os
import stat
import tokenize


def read_bytes(path: str) -> bytes:
    """The bytes of the regular file at `path`; OSError for anything else."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | _BINARY)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise OSError(f"{path} is not a regular file")
        return f.read()


def read_source(path: str) -> str:
    """The text of the Python source file at `path`, decoded by its coding line.

    Raises OSError (not a regular file, unreadable), or SyntaxError/UnicodeDecodeError
    (an unknown coding, bytes that do not decode)."""
    data = read_bytes(path)
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(encoding)
    return text[1:] if text.startswith("\ufeff") else text


def read_text(path: str) -> str:
    """The UTF-8 text of the regular file at `path`, newlines as they are."""
    return read_bytes(path).decode("utf-8")


_BINARY = getattr(os, "O_BINARY", 0)
