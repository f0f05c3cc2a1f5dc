"""s2s in a notebook: generated comments and error messages name a cell as IPython's
tracebacks do (`In[2]`), not by the temporary file ipykernel compiled it into, and a
picture displays as an image, or without Graphviz as its DOT text, never an error.

The cells run in a real IPython shell, in a fresh process, whose compiler names cells
as ipykernel's does."""

from __future__ import annotations

import json
import os

import pytest
from process_support import environment, python

import s2s
from examples import graph

pytest.importorskip("IPython")

_NOTEBOOK = r'''
import json, os, tempfile
from IPython.core.compilerop import CachingCompiler
from IPython.core.interactiveshell import InteractiveShell


class KernelCompiler(CachingCompiler):
    """Names each cell's code as ipykernel does: a file in a temporary directory."""

    def get_code_name(self, raw_code, transformed_code, number):
        return os.path.join(tempfile.gettempdir(), "ipykernel_7", f"{len(raw_code)}.py")


shell = InteractiveShell.instance(compiler_class=KernelCompiler)
cells = [
    "import numpy as np\nimport s2s",
    "def lin(w, X):\n    z = X @ w\n    return np.sum(z * z)",
    "source = s2s.grad(lin).source",
    "def bad(x):\n    return np.sum([v for v in x])",
    "try:\n    s2s.grad(bad)\nexcept s2s.S2SError as e:\n    message = str(e)",
]
for cell in cells:
    result = shell.run_cell(cell, store_history=True)
    result.raise_error()
print(json.dumps({"source": shell.user_ns["source"], "message": shell.user_ns["message"]}))
'''


def test_comments_and_errors_name_the_cell_as_ipython_does(tmp_path):
    result = python(_NOTEBOOK, cwd=tmp_path, env=environment(tmp_path / "cache"))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert "    # In[2]:2  z = X @ w\n" in out["source"]
    assert "ipykernel" not in out["source"] and ".py:" not in out["source"]
    assert out["message"].startswith("In[4]:2:19: a comprehension whose length")


def test_outside_ipython_a_file_is_named_by_its_name(monkeypatch):
    from s2s.errors import Location, cell_name

    assert cell_name("/tmp/ipykernel_7/123.py") is None
    assert Location("/a/b/model.py", 3).short() == "model.py:3"


def _display(picture) -> dict:
    """What IPython's display machinery makes of a picture."""
    from IPython.core.formatters import DisplayFormatter

    data, _ = DisplayFormatter().format(picture)
    return data


def test_a_picture_displays_as_svg(dot_program):
    data = _display(s2s.graph(graph.J, 5, 3, 2))
    assert data["image/svg+xml"].lstrip().startswith("<?xml")
    assert data["text/plain"].startswith("<GraphPicture of J: 6 nodes")


def test_without_graphviz_a_picture_displays_as_dot_text(monkeypatch):
    """Displaying never raises: the DOT text, and one line saying how to draw it."""
    monkeypatch.setenv("PATH", "")  # no `dot` to be found
    picture = s2s.graph(graph.J, 5, 3, 2)
    data = _display(picture)
    assert "image/svg+xml" not in data
    note, dot = data["text/plain"].split("\n", 1)
    assert "Graphviz's dot is not installed" in note
    assert "apt-get install graphviz" in note
    assert dot == picture.dot
    with pytest.raises(s2s.GraphvizNotFoundError):
        picture.save(os.devnull + ".svg")


def test_repr_is_one_line():
    picture = s2s.graph(graph.J, 5, 3, 2)
    text = repr(picture)
    assert "\n" not in text and len(text) < 160
    assert text.startswith("<GraphPicture of J: 6 nodes, values and adjoints; .dot")
    assert repr(s2s.graph(graph.J)).startswith(
        "<GraphPicture of J: 6 nodes, no values (give inputs)"
    )
