"""`python -m s2s`: the command line."""

import sys

from .cli import main

sys.exit(main())
