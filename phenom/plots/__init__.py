"""Figures: each function draws one figure from computed results and returns it.

Nothing here computes science: the figures take results (trajectories, slices, histories), so
every plotted number is also in a result file.
"""

from .induction import flow_figure, landscape_figure

__all__ = ["flow_figure", "landscape_figure"]
