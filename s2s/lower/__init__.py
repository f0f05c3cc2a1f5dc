"""Lowering: a parsed function becomes an SSA graph of primitive ops and regions.

- :mod:`.lowerer`: the driver, and what lowering one function holds;
- :mod:`.statements`, :mod:`.expressions`, :mod:`.calls`: the visitors;
- :mod:`.aliasing`: which updates in place are safe to lower as new values;
- :mod:`.readback`: s2s's own generated code (tapes, checks), read back;
- :mod:`.syntax`: operator tables, advice, questions about syntax trees.
"""

from .lowerer import lower
