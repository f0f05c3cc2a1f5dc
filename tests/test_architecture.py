"""The structure of the package, checked: no import cycle between its modules (imports
inside functions included), no private name imported from another module, a
docstring saying each module's job, and no module too long to read."""

from __future__ import annotations

import ast
import os

import s2s

PACKAGE = os.path.dirname(s2s.__file__)
#: A module longer than this does more than one job (see docs/architecture.md).
LONGEST = 600


def _modules() -> dict[str, str]:
    """Dotted module name -> path, for every module of the package."""
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(folder, file)
                rel = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3]
                name = rel.replace(os.sep, ".").removesuffix(".__init__")
                found[name] = path
    return found


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute name an `from ... import` reads from, in `module`."""
    if not node.level:
        return node.module or ""
    package = module if MODULES[module].endswith("__init__.py") else module
    parts = package.split(".")
    if not MODULES[module].endswith("__init__.py"):
        parts = parts[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def _type_checking_only(tree: ast.Module) -> set[int]:
    """The ids of the nodes under `if TYPE_CHECKING:`, which never run."""
    return {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for inner in ast.walk(node)
    }


def _imports(module: str) -> list[tuple[str, str, int]]:
    """(imported module, name, line) for every import in `module` that reaches
    another module of the package (inside functions too, but not those made for
    type checkers only); name is "" for `import x`."""
    tree = ast.parse(open(MODULES[module], encoding="utf-8").read())
    skipped = _type_checking_only(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(a.name, "", node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in MODULES:
                    found.append((submodule, "", node.lineno))
                else:
                    found.append((base, alias.name, node.lineno))
    return [(m, n, line) for m, n, line in found if m in MODULES]


def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for target, _, _ in _imports(module):
            if target != module:
                edges[module].add(target)
    return edges


def test_no_import_cycles():
    edges = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(MODULES):
        if module not in state:
            visit(module)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_private_name_is_imported_across_modules():
    private = [
        f"{module}:{line} imports {name} from {target}"
        for module in MODULES
        for target, name, line in _imports(module)
        if name.startswith("_") and not name.startswith("__")
    ]
    assert not private, "; ".join(private)


def test_every_module_says_its_job_and_is_short_enough():
    for module, path in MODULES.items():
        text = open(path, encoding="utf-8").read()
        assert ast.get_docstring(ast.parse(text)), f"{module} has no docstring"
        lines = text.count("\n")
        assert lines <= LONGEST, f"{module} has {lines} lines"
