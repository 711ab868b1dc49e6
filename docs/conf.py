"""Sphinx configuration of phenom's documentation site.

Build (warnings are errors, every cross-reference must resolve)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The tutorials in ``docs/examples/`` run when the site is built (sphinx-gallery) and their figures
are the ones shown. No inventory is fetched from the internet: references to numpy, scipy, sympy,
matplotlib and Python's own objects are listed in ``nitpick_ignore_regex`` below; every reference
to phenom's own names must resolve.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import phenom

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "phenom"
author = "phenom contributors"
copyright = "phenom contributors"
release = phenom.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_design",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
    "phenom_api",
]
# The results, reliability, performance and guide pages are Markdown (MyST), like the README.
myst_heading_anchors = 3

templates_path = ["_templates"]
exclude_patterns = ["_build", "README.md", "examples/README.rst", "**/*.ipynb", "auto_examples/*.py"]
root_doc = "index"

# Every reference must resolve; warnings are errors on the command line (-W).
nitpicky = True
default_role = "obj"

# Names outside phenom that docstrings and signatures refer to. They would resolve through the
# projects' own inventories (intersphinx), which the build does not fetch: it runs offline.
_EXTERNAL = [
    r"(np|numpy|sp|sympy|scipy|matplotlib|mpl|plt|concurrent|os|pathlib|typing|collections|numba|mpmath)(\..+)?",
    r"(array_like|array-like|ndarray|ArrayLike|NDArray|callable|iterable|optional|scalar|sequence|mapping)",
    r"(int|float|complex|bool|str|bytes|dict|list|tuple|set|frozenset|object|type|None|slice|range|Any)",
    r"(Path|PathLike|Executor|Future|Generator|Callable|Iterable|Iterator|Mapping|Sequence|Hashable)",
    r"(ValueError|TypeError|RuntimeError|OSError|KeyError|Exception|BaseException|ArithmeticError)",
    r"(dtype|Axes|Expr|Symbol|Matrix|Basic|OdeSolution|OdeResult|Generator|TextIO|BinaryIO)",
    r"(distributed|dask|types|functools|dataclasses|threading|multiprocessing)(\..+)?",
]
nitpick_ignore_regex = [(kind, pattern) for kind in ("py:class", "py:obj", "py:data") for pattern in _EXTERNAL]
nitpick_ignore_regex += [("py:func", r"(np|numpy|scipy|sympy|sp|matplotlib)\..+")]
nitpick_ignore_regex += [("py:meth", r"(np|numpy|scipy|sympy|sp|matplotlib)\..+")]
nitpick_ignore_regex += [("py:mod", r"(numpy|scipy|sympy|matplotlib|numba|dask|distributed|mpmath)(\..+)?")]
# The literal values that typing.Literal annotations render as (e.g. Literal['sgd', 'adam']).
nitpick_ignore_regex += [("py:class", r"'.*'|\d+(\.\d*)?")]

# -- autodoc, numpydoc (the API pages are written by _ext/phenom_api.py) ---------------------------
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_class_signature = "mixed"
autodoc_preserve_defaults = False
autodoc_inherit_docstrings = False
add_module_names = False
python_use_unqualified_type_names = True

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# -- the gallery ---------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "show_memory": False,
    "min_reported_time": 0,
    "reference_url": {"phenom": None},
    "default_thumb_file": None,
    "capture_repr": ("_repr_html_",),
    "plot_gallery": os.environ.get("PHENOM_DOCS_GALLERY", "True"),
}

# -- HTML ----------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"phenom {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_context = {"default_mode": "light"}
