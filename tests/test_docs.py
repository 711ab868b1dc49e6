"""The documentation's sources, checked without building them (the build, with warnings as
errors, is ``python -m sphinx -W --keep-going -b html docs docs/_build/html``, about a minute with
the tutorials; it needs the ``docs`` extra).

- every public name (the ``__all__`` of every public module) has an entry on its module's page,
  and each class and function is described in full on the page of the module that defines it;
- the tutorials import only public names (from public modules, names in their ``__all__``);
- docstrings' absolute values ``|x|`` stay text, and literals and tables are left alone;
- the front page lists every page (and has a card for the results, the guide, reliability and
  performance), the results index lists every results page, and links between pages resolve.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import pytest

import phenom

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("phenom_api", DOCS / "_ext" / "phenom_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


API = _generator()
PUBLIC = sorted(
    ["phenom"]
    + [
        m.name
        for m in pkgutil.walk_packages(phenom.__path__, "phenom.")
        if not any(part.startswith("_") for part in m.name.split("."))
    ]
)


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    modules = API.all_modules()
    binder = API.binders(modules)
    return {
        name: API.page(name, [m for m in modules if API.is_internal(m) == API.is_internal(name)], binder)
        for name in modules
    }


def test_every_public_module_has_a_page(pages):
    assert set(PUBLIC) <= set(pages)
    assert "phenom.nets.tasks" in pages and "phenom.figures.sweep" in pages


def test_every_name_in_all_has_an_entry_on_its_modules_page(pages):
    missing = []
    for name in PUBLIC:
        module = importlib.import_module(name)
        for item in getattr(module, "__all__", []):
            value = getattr(module, item)
            if inspect.ismodule(value) or item == "__version__":
                continue
            if not re.search(rf"^\.\. [\w:]+:: {re.escape(item)}\b", pages[name], re.M):
                missing.append(f"{name}.{item}")
    assert missing == []


def test_classes_and_functions_are_described_in_full_where_defined(pages):
    for name in PUBLIC:
        module = importlib.import_module(name)
        for item in getattr(module, "__all__", []):
            value = getattr(module, item)
            if not (inspect.isclass(value) or inspect.isfunction(value)) or not value.__module__.startswith("phenom"):
                continue
            home = pages[value.__module__]
            full = re.findall(rf"^\.\. auto(?:class|exception|function):: {re.escape(value.__name__)}$", home, re.M)
            assert len(full) == 1, f"{value.__module__}.{value.__name__}"


def test_a_reexported_name_links_to_its_definition(pages):
    text = pages["phenom.nets"]
    assert ".. py:function:: train(net, task, *, steps, lr," in text
    assert "The same object as :obj:`phenom.nets.training.train`" in text
    assert ":obj:`~phenom.induction.model.InductionHeadModel`" in pages["phenom"]


EXAMPLES = sorted((DOCS / "examples").glob("plot_*.py"))


def test_there_are_eight_tutorials():
    assert [p.name[:7] for p in EXAMPLES] == [f"plot_0{i}" for i in range(1, 9)]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_tutorials_import_only_public_names(path):
    tree = ast.parse(path.read_text())
    title = ast.get_docstring(tree)
    assert title is not None and title.splitlines()[1].startswith("===")
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "phenom":
            assert not any(part.startswith("_") for part in node.module.split(".")), node.module
            exported = importlib.import_module(node.module).__all__
            for alias in node.names:
                assert alias.name in exported, f"{node.module}.{alias.name}"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("the time of the largest |∇loss| along the path", r"the time of the largest \|∇loss\| along the path"),
        ("|θ| ≫ a² and |u|·|v|", r"\|θ\| ≫ a² and \|u\|·\|v\|"),
        ("``|x|`` and :func:`f` stay", "``|x|`` and :func:`f` stay"),
        ("| a | b |", "| a | b |"),
        (r"already \|x\|", r"already \|x\|"),
    ],
)
def test_absolute_values_in_docstrings_stay_text(line, expected):
    assert API.escape_text(line) == expected


PAGES = ("getting_started", "guide", "results/index", "auto_examples/index", "api/index", "reliability", "performance")
"""The site's top-level pages, in the order of the front page's table of contents."""


def _toctree(text: str) -> list[str]:
    """The entries of a page's toctree (reStructuredText directive or MyST fence)."""
    body = re.search(r"(?:\.\. toctree::|```\{toctree\})\n(.*?)(?:\n```|\Z)", text, re.S)
    assert body is not None
    return [line.strip() for line in body.group(1).splitlines() if line.strip() and not line.strip().startswith(":")]


def test_the_front_page_lists_every_page_and_has_a_card_for_the_results():
    index = (DOCS / "index.rst").read_text()
    assert [entry for entry in _toctree(index) if entry in PAGES] == list(PAGES)
    for page in ("results/index", "guide", "reliability", "performance"):
        assert re.search(rf"\.\. grid-item-card:: .+\n\s+:link: {re.escape(page)}\n", index), page


def test_the_results_index_lists_every_results_page():
    results = DOCS / "results"
    listed = _toctree((results / "index.md").read_text())
    assert sorted(listed) == sorted(p.stem for p in results.glob("*.md") if p.name != "index.md")
    assert len(listed) >= 8
    # Its table links each page once.
    links = re.findall(r"^\| \[[^\]]+\]\((\w+)\.md\)", (results / "index.md").read_text(), re.M)
    assert links == listed


def test_links_between_pages_resolve():
    # Markdown pages link by relative path (to a page's source, or to a committed figure).
    for page in [*DOCS.glob("*.md"), *(DOCS / "results").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if target.startswith(("http://", "https://")):
                continue
            assert (
                (page.parent / target).exists()
                or (page.parent / target).with_suffix(".py").exists()
                or (target.startswith("auto_examples/") and (DOCS / "examples").exists())
            ), f"{page.name}: {target}"
