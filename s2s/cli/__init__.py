"""The command line: `s2s generate` writes gradient modules, `show` prints one (or a
stage of the pipeline), `check` compares a gradient with central differences, `graph`
draws the computation graph, and `cache` looks after the import-time cache.

Files are read, never imported: a module's import-time side effects do not run
(`check` runs the function alone, see :mod:`s2s.standalone`).  The one exception is
`--rules`, which imports the module that registers custom rules.

- :mod:`.targets`: what to differentiate (`PATH.py:FUNC`, decorated functions);
- :mod:`.modules`: a target's module, its header and path, the `--rules` modules;
- :mod:`.commands`: the subcommands;
- :mod:`.main`: the argument parser and the entry point.
"""

from .main import main, parser
from .modules import build, content_key, output_path, render
from .targets import Target, parse_wrt
