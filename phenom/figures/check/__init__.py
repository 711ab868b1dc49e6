"""Every saved figure checked in one call: its files, the code that made it, and every derived
number recomputed from the raw data saved beside it.

:func:`check` reads ``out/manifest.json`` and, for every figure it names:

1. **files**: each file of the figure has the sha256 its manifest entry records (a file edited by
   hand, or one left by another run, differs);
2. **code**: the versions recorded for the modules that compute the figure
   (``phenom.figures.jobs.FAMILY``) and draw it (``phenom.figures.plots.FAMILY``) are today's
   (:func:`phenom._io.code_version` of each, which follows its imports); a stale figure is named
   with the command that remakes it (or redraws it, when only the drawing is stale);
3. **numbers**: every statistic the README quotes, and the other summary numbers of each
   figure's JSON whose raw data is saved beside them, recomputed by small numpy/scipy
   re-implementations written from their definitions (:mod:`._definitions`; nothing of the jobs,
   of :mod:`phenom.figures.statistics` or of :mod:`phenom.nets.measures` is imported), one module
   per family of figures (:mod:`.induction`, :mod:`.network`, :mod:`.compare`, :mod:`.extended`, :mod:`.lsa`, whose
   docstrings list what they recompute), and compared with what the JSON states.

Tolerances (a number that differs by more is a problem line naming the figure and the number):

- integers, counts, sample times and copied values: exact;
- floats recomputed the way they were first computed: :data:`REL` (relative);
- times read off a saved curve (a flow's cliff, when the loss reaches a level, when a parameter
  reaches 1): :data:`GRID` of the curve's sampling interval, from a cubic spline through the
  saved samples (the jobs found them on the solver's continuous solution);
- statistics of the phase grid, whose times are saved to 7 significant digits: :data:`ROUNDED`
  (absolute, on relative errors) and :data:`ROUNDED_SLOPE` (on exponents);
- the linear-attention gaps, which need the factored flow at the network's evaluation times:
  :data:`SPLINE` (absolute, on relative gaps), from a cubic spline of the saved flow curve.

The package is callable: ``phenom.figures.check(out)`` is ``phenom.figures.check.check(out)``.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

from phenom.figures.check._base import GRID, REL, ROUNDED, ROUNDED_SLOPE, SPLINE, Report
from phenom.figures.check._folder import check
from phenom.figures.check._provenance import figure_code, file_problems, remake_command

__all__ = [
    "check",
    "Report",
    "figure_code",
    "file_problems",
    "remake_command",
    "REL",
    "GRID",
    "ROUNDED",
    "ROUNDED_SLOPE",
    "SPLINE",
]


class _Callable(types.ModuleType):
    """This package, callable as its :func:`check` (``phenom.figures.check("figures")``)."""

    def __call__(self, out: str | Path = "figures") -> Report:
        return check(out)


sys.modules[__name__].__class__ = _Callable
