"""Figures: each function draws one figure from a saved result (the JSON dict its computation
wrote) and returns it. Nothing here computes science: every plotted number is in the result."""

from phenom.figures.plots.compare import chain_figure, compare_figure, growth_figure, scaling_figure
from phenom.figures.plots.induction import flow_figure, landscape_figure, minimal_figure, phase_figure
from phenom.figures.plots.lsa import (
    lsa_curves_figure,
    lsa_depth_figure,
    lsa_landscape_figure,
    lsa_preconditioner_figure,
    lsa_summary_figure,
)
from phenom.figures.plots.network import ablation_figure, data_dependence_figure, heads_figure, training_figure

__all__ = [
    "flow_figure",
    "landscape_figure",
    "minimal_figure",
    "phase_figure",
    "training_figure",
    "ablation_figure",
    "heads_figure",
    "data_dependence_figure",
    "compare_figure",
    "scaling_figure",
    "growth_figure",
    "chain_figure",
    "lsa_landscape_figure",
    "lsa_curves_figure",
    "lsa_preconditioner_figure",
    "lsa_depth_figure",
    "lsa_summary_figure",
]
