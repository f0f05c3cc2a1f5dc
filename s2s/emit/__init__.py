"""Emission: SSA graphs written back as a Python module, formatted like hand-written
code (names, comments pointing at the source, astor, then black)."""

from .module import FunctionSpec, GeneratedModule, emit_module, format_source, unparse
