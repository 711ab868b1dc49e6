"""Every Python block of the README and of the documentation's pages runs as written, each in a
fresh namespace and an empty folder.

The README's first bash block (install and run, install and test) is what CI runs, and so is its
second, the documentation's build; its one Python block is the quick start. The documentation's
pages (``docs/**/*.md`` in MyST Markdown, ``docs/*.rst``) hold the rest: fenced ```` ```python ````
blocks and ``.. code-block:: python`` directives. A block may print, plot and write files; it must
not raise or warn, and it may not leave a placeholder (``...``, ``«»``) for the reader to fill.
"""

from __future__ import annotations

import re
import textwrap
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
FENCED = re.compile(r"^```python\n(.*?)^```", flags=re.S | re.M)
BLOCKS = FENCED.findall(README)

GENERATED = ("_build", "api", "auto_examples", "examples", "_ext")
"""Folders of docs/ whose text is not written by hand as a page (or is run by the gallery)."""


def _pages() -> list[Path]:
    docs = ROOT / "docs"
    pages = sorted([*docs.rglob("*.md"), *docs.rglob("*.rst")])
    return [p for p in pages if not set(p.relative_to(docs).parts[:-1]) & set(GENERATED) and p.name != "README.md"]


def _rst_blocks(text: str) -> list[str]:
    """The bodies of ``.. code-block:: python`` directives, dedented."""
    blocks = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^\s*\.\. code-block:: python\s*$", line):
            indent = len(line) - len(line.lstrip())
            body = []
            for follow in lines[i + 1 :]:
                if follow.strip() and len(follow) - len(follow.lstrip()) <= indent:
                    break
                body.append(follow)
            blocks.append(textwrap.dedent("\n".join(body)).strip("\n") + "\n")
    return blocks


def _doc_blocks() -> list[tuple[str, str]]:
    found = []
    for page in _pages():
        text = page.read_text()
        blocks = FENCED.findall(text) if page.suffix == ".md" else _rst_blocks(text)
        name = str(page.relative_to(ROOT))
        found += [(f"{name}:{i}", code) for i, code in enumerate(blocks)]
    return found


DOC_BLOCKS = _doc_blocks()
ALL_BLOCKS = [("README.md:0", code) for code in BLOCKS] + DOC_BLOCKS


def test_the_readme_has_its_blocks_and_only_those_kinds():
    kinds = re.findall(r"^```(\w*)$", README, flags=re.M)[::2]
    assert set(kinds) <= {"python", "bash", "text"}, kinds
    assert kinds[0] == "bash"  # the set-up: install and run, install and test
    # The only other bash block is the documentation's build, which CI runs as written there.
    bash = re.findall(r"^```bash\n(.*?)^```", README, flags=re.S | re.M)
    assert len(bash) == 2 and bash[1].startswith("pip install -e '.[docs]' && python -m sphinx -W "), bash
    assert "^pip install -e '\\.\\[docs\\]' && python -m sphinx\" README.md" in (ROOT / ".ci" / "run").read_text()
    # One quick start of about fifteen lines of code; the tour is in the documentation.
    assert len(BLOCKS) == 1 and 12 <= len([line for line in BLOCKS[0].splitlines() if line.strip()]) <= 25


def test_the_documentation_holds_the_tour():
    pages = {name.split(":")[0] for name, _ in DOC_BLOCKS}
    assert {"docs/guide.md", "docs/getting_started.rst"} <= pages, pages
    assert len(DOC_BLOCKS) >= 8
    # The directive parser reads an indented body and stops at the text after it.
    text = "Intro.\n\n.. code-block:: python\n\n   a = 1\n\n   b = a + 1\n\nAfter.\n"
    assert _rst_blocks(text) == ["a = 1\n\nb = a + 1\n"]


@pytest.mark.parametrize(("name", "code"), ALL_BLOCKS, ids=[name for name, _ in ALL_BLOCKS])
def test_no_block_leaves_a_placeholder(name, code):
    statements = "\n".join(line.split("#")[0] for line in code.splitlines())  # comments may write (..., 3)
    assert "..." not in statements and "Ellipsis" not in statements, name
    assert "«" not in code and "»" not in code, name


@pytest.mark.parametrize(("name", "code"), ALL_BLOCKS, ids=[name for name, _ in ALL_BLOCKS])
def test_a_block_that_trains_names_the_held_out_loss(name, code):
    # Wherever a block trains a network, the learning curve it shows names both the training
    # loss and the held-out loss (History's ``loss`` and ``eval_loss``).
    if re.search(r"\btrain\(", code):
        assert ".eval_loss" in code and re.search(r"\.loss\b", code), name


@pytest.mark.parametrize(("name", "code"), ALL_BLOCKS, ids=[name for name, _ in ALL_BLOCKS])
def test_block_runs_as_written(name, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a block that warns is as wrong as one that fails
            exec(compile(code, name, "exec"), {"__name__": "readme"})
    finally:
        plt.close("all")
    if name.startswith("README.md"):
        assert (tmp_path / "quickstart.png").stat().st_size > 0
