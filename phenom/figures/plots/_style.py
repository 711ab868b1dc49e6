"""One look for every figure, readable at README size, without touching the caller's matplotlib.

Figures are drawn on :class:`matplotlib.figure.Figure` objects (no pyplot: no backend is chosen,
no figure is registered with a window manager) inside a style context (:func:`styled`), and
rendered in it (:class:`StyledFigure`), so the caller's backend and ``rcParams`` are the same
after drawing and saving as before.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import matplotlib
import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator
from matplotlib.typing import RcKeyType

PARAMETERS = ("beta", "alpha", "xi")
SYMBOL = {"beta": r"$\beta$", "alpha": r"$\alpha$", "xi": r"$\xi$"}
COLOR = {"beta": "tab:blue", "alpha": "tab:orange", "xi": "tab:green"}
STYLE: dict[RcKeyType, Any] = {"font.size": 11, "axes.titlesize": 12, "legend.fontsize": 9.5, "figure.dpi": 110}
"""The figures' rcParams, set only while a figure is drawn."""

__all__ = [
    "fmt",
    "SYMBOL",
    "COLOR",
    "PARAMETERS",
    "STYLE",
    "StyledFigure",
    "colormaps",
    "styled",
    "subplots",
    "arr",
    "plain_log_ticks",
]


class StyledFigure(Figure):
    """A figure rendered (saved or shown) in :data:`STYLE`: tick labels and the constrained layout
    are made when it is rendered, and must take the sizes its titles and legends were made with."""

    def draw(self, renderer: Any) -> None:
        with matplotlib.rc_context(STYLE):
            super().draw(renderer)


def styled(draw: Callable[[dict], Figure]) -> Callable[[dict], Figure]:
    """``draw`` inside :data:`STYLE` (its texts take their sizes from it when they are made)."""

    @functools.wraps(draw)
    def drawn(result: dict) -> Figure:
        with matplotlib.rc_context(STYLE):
            return draw(result)

    return drawn


def subplots(*grid: int, figsize: tuple[float, float], **options: Any) -> tuple[Figure, Any]:
    """A new :class:`StyledFigure` with constrained layout and its grid of axes (as
    :meth:`matplotlib.figure.Figure.subplots`)."""
    fig = StyledFigure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(*grid, **options)


def arr(values: Any) -> np.ndarray:
    """A saved column as a float array (JSON's null, a missing value, becomes NaN)."""
    a = np.array(values, dtype=object)
    a[a == None] = np.nan  # noqa: E711 (elementwise: JSON's nulls)
    return a.astype(float)


def fmt(value, spec: str = ".2f") -> str:
    """``value`` formatted by ``spec``, or "n/a" for None (a statistic a small run could not give)."""
    return "n/a" if value is None else format(value, spec)


def plain_log_ticks(axis: Any) -> None:
    """Decimal tick labels (0.5, 1, 2 …) on a log-scaled axis instead of 5 × 10⁻¹."""
    fmt = FuncFormatter(lambda v, _: f"{v:.0f}" if v >= 1 and float(v).is_integer() else f"{v:.3g}")
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(fmt)
    axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
