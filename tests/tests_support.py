"""Small helpers shared by the tests."""


def marked_line(path: str, function: str) -> int:
    """The line number of the `# <- here` marker inside `function` in `path`."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    start = next(
        i for i, line in enumerate(lines) if line.startswith(f"def {function}(")
    )
    for i in range(start, len(lines)):
        if "# <- here" in lines[i]:
            return i + 1
    raise AssertionError(f"no marker in {function}")
