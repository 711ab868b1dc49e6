"""The package's architecture, checked: the folder tree is the layering.

Bottom (generic pieces: ``phenom.flow``, ``phenom._*``), then the two theories (``phenom.induction``,
``phenom.linear``), then the networks (``phenom.nets``), then the figure layer (``phenom.figures``).
Every import of a phenom module — at the top of a file or inside a function — points down or
sideways within its own subpackage, never up, and the import graph has no cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "phenom"
LEVEL = {"induction": 1, "linear": 1, "nets": 2, "figures": 3}
"""Subpackage → layer; modules directly in phenom/ are layer 0."""
MAX_LINES = 500
"""Most lines of code in one module, docstrings excluded: every public name's docstring carries
numpydoc sections and a runnable example, which document the module and are not its size."""


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported phenom module, inside a function?) for every import in the file."""
    tree = ast.parse(path.read_text())
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            inside.update(id(n) for n in ast.walk(node) if n is not node)
    out = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module for a in node.names
            ]
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import; phenom imports are absolute")
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name.startswith("phenom"):
                out.append((name, id(node) in inside))
    return out


def _layer(module: str) -> int:
    parts = module.split(".")
    return LEVEL.get(parts[1], 0) if len(parts) > 1 else 0


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_imports_point_down_the_layers():
    """No module imports from a layer above its own (induction and linear may not import each other)."""
    up = []
    for module, path in MODULES.items():
        if module in ("phenom", "phenom.__main__"):
            continue  # the package re-exports lazily, by name; __main__ is the entry point
        for target, _ in _imports(path):
            if target == "phenom":
                up.append(f"{module} imports the top-level package")
            elif _layer(target) > _layer(module) or (
                _layer(target) == _layer(module) == 1 and _package(target) != _package(module)
            ):
                up.append(f"{module} -> {target}")
    assert not up, up


def test_no_phenom_import_inside_a_function():
    inside = [
        f"{module} -> {target}"
        for module, path in MODULES.items()
        for target, in_function in _imports(path)
        if in_function
    ]
    assert not inside, inside


def test_the_import_graph_has_no_cycle():
    """Depth-first search over module → imported module edges (package __init__ files excluded: they
    only re-export what their own modules define)."""
    edges = {
        m: {t for t, _ in _imports(p) if t != m and not MODULES[t].name == "__init__.py"}
        for m, p in MODULES.items()
        if p.name != "__init__.py"
    }
    state: dict[str, int] = {}
    cycles = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for t in edges.get(m, ()):
            if state.get(t) == 1:
                cycles.append(" -> ".join(stack[stack.index(t) :] + [t]))
            elif t not in state:
                visit(t, stack + [t])
        state[m] = 2

    for m in edges:
        if m not in state:
            visit(m, [m])
    assert not cycles, cycles


def code_lines(source: str) -> int:
    """Lines of ``source`` outside its docstrings (module, class and function docstrings, and the
    string statements that document attributes)."""
    documented: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        for statement in getattr(node, "body", []) if isinstance(getattr(node, "body", None), list) else []:
            if (
                isinstance(statement, ast.Expr)
                and isinstance(statement.value, ast.Constant)
                and isinstance(statement.value.value, str)
            ):
                documented.update(range(statement.lineno, (statement.end_lineno or statement.lineno) + 1))
    return len(source.splitlines()) - len(documented)


def test_code_lines_leave_out_docstrings_only():
    source = 'x = 1\n"""what x is"""\n\n\ndef f():\n    """A\n    summary.\n    """\n    s = "kept"\n    return s\n'
    assert code_lines(source) == 10 - 1 - 3


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_500_lines_of_code(module):
    assert code_lines(MODULES[module].read_text()) <= MAX_LINES


def test_importing_phenom_is_light():
    """``import phenom`` and the CLI's help load none of the heavy libraries (they come with the first
    computation)."""
    code = (
        "import sys, phenom, phenom.figures, phenom.figures.cli; "
        "print(sorted(m for m in ('sympy', 'scipy', 'numba', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
