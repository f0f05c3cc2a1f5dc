"""Make the repository root and tests/ importable (for `examples` and test fixtures),
give the tests a gradient cache of their own (one per process, so one per
pytest-xdist worker), removed at the end, and the fixture of tests that need
Graphviz."""

import atexit
import os
import shutil
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (ROOT, os.path.join(ROOT, "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)

_CACHE = tempfile.mkdtemp(prefix="s2s-test-cache-")
os.environ["S2S_CACHE_DIR"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, True)
# The optimizer checks the SSA invariants after every pass (see s2s.optimize).
os.environ["S2S_VERIFY_PASSES"] = "1"


@pytest.fixture
def dot_program():
    """Graphviz's dot; CI sets S2S_REQUIRE_GRAPHVIZ so that a missing one fails."""
    if shutil.which("dot") is None:
        if os.environ.get("S2S_REQUIRE_GRAPHVIZ"):
            pytest.fail("S2S_REQUIRE_GRAPHVIZ is set but Graphviz's dot is missing")
        pytest.skip("Graphviz's dot is not installed")
