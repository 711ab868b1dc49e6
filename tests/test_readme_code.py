"""Every Python block of the README runs as written, each in a fresh namespace and an empty folder.

The README's first bash block (install and run, install and test) is what CI runs, and so is its
second, the documentation's build; the command line's synopsis is a ``text`` block. A block may
print and write files; it must not raise.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(), flags=re.S | re.M)


def test_the_readme_has_its_python_blocks_and_only_those_kinds():
    kinds = re.findall(r"^```(\w*)$", (ROOT / "README.md").read_text(), flags=re.M)[::2]
    assert len(BLOCKS) >= 6
    assert set(kinds) <= {"python", "bash", "text"}, kinds
    assert kinds[0] == "bash"  # the set-up: install and run, install and test
    # The only other bash block is the documentation's build, which CI runs as written there.
    bash = re.findall(r"^```bash\n(.*?)^```", (ROOT / "README.md").read_text(), flags=re.S | re.M)
    assert len(bash) == 2 and bash[1].startswith("pip install -e '.[docs]' && python -m sphinx -W "), bash
    assert "^pip install -e '\\.\\[docs\\]' && python -m sphinx\" README.md" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs_as_written(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a block that warns is as wrong as one that fails
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
