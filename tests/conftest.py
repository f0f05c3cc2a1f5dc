"""Make the repository root and tests/ importable (for `examples` and test fixtures),
and give the tests a gradient cache of their own, removed at the end."""

import atexit
import os
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (ROOT, os.path.join(ROOT, "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)

_CACHE = tempfile.mkdtemp(prefix="s2s-test-cache-")
os.environ["S2S_CACHE_DIR"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, True)
# The optimizer checks the SSA invariants after every pass (see s2s.optimize).
os.environ["S2S_VERIFY_PASSES"] = "1"
