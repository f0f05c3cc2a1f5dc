"""Emission: optimized functions written back as a Python module, formatted like
hand-written code.

- :mod:`.spelling`: how each op is written as a Python expression;
- :mod:`.inlining`: which values are written into their reader;
- :mod:`.naming`: out-of-SSA names;
- :mod:`.accumulate`: which additions are written `acc += c`;
- :mod:`.module`: statements, comments, helpers, astor and black.
"""

from .module import GeneratedModule, emit_module, format_source, unparse
