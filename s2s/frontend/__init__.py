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
from .sources import STDIN, read_module, shown_path, source_text
from .static import (
    TRANSFORMS,
    StaticGradient,
    constant_defaults,
    parse_file,
    s2s_names,
    static_resolver,
)
