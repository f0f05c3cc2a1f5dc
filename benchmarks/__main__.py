"""`python -m benchmarks`: see benchmarks/README.md and `python -m benchmarks --help`."""

from .run import main

main()
