"""The frontend: a function's source, parsed, with its free names resolved.

- :mod:`.parsed`: what the frontend hands on (ParsedFunction, Binding);
- :mod:`.live`: live function objects (`s2s.grad(f)`);
- :mod:`.static`: files read without running them (the command line);
- :mod:`.sources`: source files by path or standard input;
- :mod:`.normalize`: early exits rewritten into structured branches.
"""

from .live import parse_function
from .parsed import (
    UNKNOWN,
    Binding,
    Free,
    ParsedFunction,
    classify,
    foldable,
    free_names,
    generated_function,
    literal,
    runtime_helper,
)

#: What the command line needs (reading files without running them), imported on
#: first use: `import s2s` does not pay for it.
_LAZY = {
    **dict.fromkeys(("STDIN", "read_module", "shown_path", "source_text"), "sources"),
    **dict.fromkeys(
        (
            "TRANSFORMS",
            "StaticGradient",
            "constant_defaults",
            "parse_file",
            "s2s_names",
            "static_resolver",
        ),
        "static",
    ),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
