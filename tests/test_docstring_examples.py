"""Every public class and function of phenom documents itself in numpydoc form, with an example
that runs.

A public name is a class or function (a cached function counts as the function it wraps) in the
``__all__`` of a public module (no dotted part starting with ``_``), tested once, under the
module that defines it: ``pytest tests/test_docstring_examples.py -k phenom.nets`` selects one
family. For each one:

- its docstring opens with a one-line summary (the first paragraph is one line);
- a ``Parameters`` section (or ``Other Parameters``) names every parameter of a function, and every
  public constructor argument of a class (for a class, an ``Attributes`` section naming a field
  counts too), except a class whose every such field carries its own attribute docstring or
  ``option(...)`` help;
- a ``Returns`` (or ``Yields``) section documents a function annotated to return something other
  than None, or, unannotated, one that returns a value;
- no paragraph of prose sits, unindented, inside a section of entries (numpydoc would render
  each of its lines as a parameter or a return type): prose goes before the first section;
- an ``Examples`` section holds a doctest (``>>>``), and every example of the docstring passes:
  run by :mod:`doctest` with empty globals (an example imports what it uses, so a reader can copy
  it), in a fresh temporary working directory, with every warning an error, in under
  :data:`TIME_LIMIT` seconds (the aim is well under one).

The sections are read by their numpydoc underlines, without numpydoc (not in the test extra).
"""

from __future__ import annotations

import ast
import dataclasses
import doctest
import importlib
import inspect
import pkgutil
import re
import textwrap
import time
import warnings
from collections.abc import Callable
from typing import Any

import pytest

import phenom

TIME_LIMIT = 5.0
"""Seconds one docstring's examples may take (generous for a shared two-core machine). A first
use may derive or compile what is then cached (numba kernels, sympy derivations: seconds, once
per machine or process), so examples over the limit run a second time and that run is judged."""


def _public_modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(phenom.__path__, "phenom.")]
    return sorted(["phenom"] + [n for n in names if not any(part.startswith("_") for part in n.split("."))])


def _public_names() -> dict[str, Any]:
    """``"<defining module>.<name>"`` → the class or function, each object once."""
    found: dict[str, Any] = {}
    for module_name in _public_modules():
        module = importlib.import_module(module_name)
        for item in getattr(module, "__all__", []):
            value = getattr(module, item)
            target = inspect.unwrap(value) if callable(value) else value
            if not (inspect.isclass(target) or inspect.isfunction(target)):
                continue
            if not target.__module__.startswith("phenom"):
                continue
            found.setdefault(f"{target.__module__}.{target.__qualname__}", value)
    return dict(sorted(found.items()))


PUBLIC = _public_names()
IDS = list(PUBLIC)

SECTION = re.compile(r"^([A-Z][A-Za-z ]+)\n(-+)\n", re.M)


def sections(doc: str) -> dict[str, str]:
    """The numpydoc sections of a cleaned docstring: header → body (up to the next header)."""
    heads = [m for m in SECTION.finditer(doc) if len(m.group(2)) == len(m.group(1))]
    out: dict[str, str] = {}
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(doc)
        out[m.group(1)] = doc[m.end() : end]
    return out


ENTRY = re.compile(r"\*{0,2}\w+(\s*,\s*\*{0,2}\w+)*(\s+:.*|\s*:)?$")
"""An entry line of a Parameters-style section: ``name``, ``a, b``, ``*args``, each maybe ``: type``."""
ENTRY_SECTIONS = ("Parameters", "Other Parameters", "Attributes")
TYPE_SECTIONS = ("Returns", "Yields", "Raises")


def stray_prose(found: dict[str, str]) -> list[str]:
    """Unindented lines of entry sections that are not entries: a paragraph numpydoc would
    render as parameters (or, in Returns, Yields and Raises, as types: lines that read as
    sentences)."""
    stray = []
    for section, body in found.items():
        for line in body.splitlines():
            if not line.strip() or line[0].isspace():
                continue
            if section in ENTRY_SECTIONS and not ENTRY.match(line):
                stray.append(f"{section}: {line[:60]!r}")
            elif section in TYPE_SECTIONS and (line.rstrip().endswith(".") or ". " in line):
                stray.append(f"{section}: {line[:60]!r}")
    return stray


def listed_names(body: str) -> set[str]:
    """Names of a Parameters-style section: unindented lines ``name : type`` or ``a, b : type``."""
    names: set[str] = set()
    for line in body.splitlines():
        if not line.strip() or line[0].isspace():
            continue
        head = line.split(" : ", 1)[0].rstrip(":").strip()
        for part in head.split(","):
            part = part.strip().lstrip("*")
            if re.fullmatch(r"\w+", part):
                names.add(part)
    return names


def _doc(obj: Any) -> str:
    doc = obj.__doc__
    return inspect.cleandoc(doc) if doc else ""


def _signature(obj: Any) -> inspect.Signature | None:
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


def _parameters(obj: Any) -> list[str]:
    """Parameters a caller passes: a function's, or a class's public constructor arguments."""
    sig = _signature(obj)
    if sig is None:
        return []
    names = [p.name for p in sig.parameters.values() if p.name not in ("self", "cls")]
    if inspect.isclass(obj):
        names = [n for n in names if not n.startswith("_")]
    return names


def _attribute_docstrings(cls: type) -> set[str]:
    """Fields with a docstring of their own (a string right after ``name: type [= value]``) in the
    class or its phenom bases, or with ``option(...)``'s help."""
    documented: set[str] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("phenom"):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, after in zip(body, body[1:], strict=False):
            if (
                isinstance(node, ast.AnnAssign | ast.Assign)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
                documented |= {t.id for t in targets if isinstance(t, ast.Name)}
    if dataclasses.is_dataclass(cls):
        documented |= {f.name for f in dataclasses.fields(cls) if f.metadata.get("help")}
    return documented


def _returns_value(func: Callable) -> bool:
    """Whether a function returns something: by its annotation, else by a ``return <value>`` or a
    ``yield`` in its own body (not in nested functions)."""
    sig = _signature(func)
    if sig is not None and sig.return_annotation is not inspect.Signature.empty:
        return sig.return_annotation not in (None, "None", "NoReturn", "Never")
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError):
        return False
    stack: list[ast.AST] = list(ast.iter_child_nodes(tree.body[0]))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        if isinstance(node, ast.Yield | ast.YieldFrom):
            return True
        if isinstance(node, ast.Return) and node.value is not None:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                return True
        stack.extend(ast.iter_child_nodes(node))
    return False


def test_the_public_names_are_collected():
    """The collection is the one the documentation's own test makes (classes and functions of
    public ``__all__``), plus cached functions: it finds names of every family."""
    assert len(PUBLIC) >= 180
    for expected in (
        "phenom.induction.model.InductionHeadModel",
        "phenom.induction.kernels.source",
        "phenom.linear.model.LinearICL",
        "phenom.flow.gradient_flow",
        "phenom.nets.training.train",
        "phenom.figures.registry.Figure",
    ):
        assert expected in PUBLIC, expected
    assert not any(name.split(".")[-1].startswith("_") for name in PUBLIC)


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (
            "Sum.\n\nParameters\n----------\na, b : int\n    Terms.\n*args : float\n    More.\n\n"
            "Returns\n-------\nint\n    The sum.\n\nExamples\n--------\n>>> 1 + 1\n2\n",
            {"Parameters": {"a", "b", "args"}, "Returns": {"int"}},
        ),
        ("Sum.\n\nParameters\n--------\nx : int\n", {}),
    ],
)
def test_sections_are_read_by_their_underlines(doc, expected):
    found = sections(doc)
    assert {k: listed_names(v) for k, v in found.items() if k in expected} == expected
    assert stray_prose(found) == []


def test_prose_inside_a_section_is_found():
    doc = (
        "Sum.\n\nParameters\n----------\nx : int\n    A term.\n\nBoth terms broadcast together.\n\n"
        "Returns\n-------\nint\n    The sum.\n\nThe sum is exact for integers.\n"
    )
    assert stray_prose(sections(doc)) == [
        "Parameters: 'Both terms broadcast together.'",
        "Returns: 'The sum is exact for integers.'",
    ]


@pytest.mark.parametrize("name", IDS)
def test_docstring_has_numpydoc_sections(name):
    obj = PUBLIC[name]
    target = obj if inspect.isclass(obj) else inspect.unwrap(obj)
    doc = _doc(obj)
    assert doc, f"{name} has no docstring"
    found = sections(doc)
    problems = []
    if "\n" in doc.split("\n\n")[0].strip():
        problems.append("the summary (first paragraph) is not one line")

    examples = found.get("Examples", "")
    if ">>>" not in examples:
        problems.append("no Examples section with a >>> line")

    params = _parameters(obj)
    if params:
        documenting = ("Parameters", "Other Parameters") + (("Attributes",) if inspect.isclass(obj) else ())
        listed = listed_names("".join(found.get(section, "") for section in documenting))
        missing = [p for p in params if p not in listed]
        if inspect.isclass(obj) and missing and set(params) <= _attribute_docstrings(obj):
            missing = []
        if missing:
            problems.append(f"Parameters section does not list {missing}")

    stray = stray_prose(found)
    if stray:
        problems.append(f"prose inside a section, to move before the first section: {stray}")

    if not inspect.isclass(obj) and _returns_value(target):
        if not (found.get("Returns", "").strip() or found.get("Yields", "").strip()):
            problems.append("no Returns section")

    assert problems == [], f"{name}: " + "; ".join(problems)


def run_examples(name: str, doc: str) -> tuple[doctest.TestResults, str, float]:
    """Run a docstring's examples with empty globals, every warning an error: (results, report,
    seconds)."""
    test = doctest.DocTestParser().get_doctest(doc, {"__name__": "__main__"}, name, None, 0)
    assert test.examples, f"{name} has no example"
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = runner.run(test, out=report.append, clear_globs=True)
    return result, "".join(report), time.perf_counter() - start


def test_examples_are_run_with_empty_globals():
    """An example that uses a name it did not import fails: examples can be copied as they are."""
    result, report, _ = run_examples("copyable", ">>> np.zeros(2).size\n2\n")
    assert result.failed == 1 and "NameError" in report
    result, _, _ = run_examples("copyable", ">>> import numpy as np\n>>> np.zeros(2).size\n2\n")
    assert result == (0, 2)


@pytest.mark.parametrize("name", IDS)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    doc = PUBLIC[name].__doc__ or ""
    monkeypatch.chdir(tmp_path)
    result, report, elapsed = run_examples(name, doc)
    assert result.failed == 0, report
    if elapsed >= TIME_LIMIT:  # perhaps a first use that derived or compiled: judge a second run
        result, report, again = run_examples(name, doc)
        assert result.failed == 0, report
        assert again < TIME_LIMIT, f"{name}: the examples took {elapsed:.1f} s, and {again:.1f} s again"
