"""Every figure by name, as plain data: its family, what the command line says it draws, the
figures whose saved results it reads, and its rough wall time.

A figure's name is all the rest is found by (:mod:`phenom.figures.registry`): in its family ``F``,
the job ``phenom.figures.jobs.F.NAME`` computes its result (and ``NAME_tables``, if there is one,
its CSV files), the plot ``phenom.figures.plots.F.NAME`` draws it, the setting
``phenom.figures.settings.CamelCaseNameSetting`` holds its input, the command ``phenom NAME`` makes
it and its files are ``NAME.json``, ``NAME.png``, …. Adding a figure: a setting class, a job, a plot
and one line here. This module imports nothing, so the command line can list the figures at once.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Entry", "CATALOG", "FAMILIES", "GROUPS"]

FAMILIES = ("induction", "network", "compare", "extended", "lsa")
"""The families of figures: one module each among the settings, jobs and plots."""


@dataclass(frozen=True)
class Entry:
    """One figure: its family, what it draws, the saved results it reads, and its rough wall time.

    Attributes
    ----------
    family : str
        One of :data:`FAMILIES`: the module of settings, jobs and plots holding the figure.
    about : str
        One line of what the figure draws (the command's help).
    inputs : tuple of str
        The figures whose saved results it reads (default none).
    expected_s : float
        Rough wall time of the full-size figure, in seconds (default 1; see below).
    quick_s : float
        The same for the quick (reduced) figure (default 1).

    Examples
    --------
    The chain figure computes nothing of its own: it reads two saved results.

    >>> from phenom.figures.catalog import CATALOG, Entry
    >>> entry = CATALOG["chain"]
    >>> entry.family, entry.inputs
    ('compare', ('minimal_vs_mean_field', 'compare'))
    >>> Entry("compare", "a new figure").expected_s
    1.0
    """

    family: str
    about: str
    inputs: tuple[str, ...] = ()
    expected_s: float = 1.0
    """Rough wall time of the full-size figure (seconds, on the 2-core machine of the benchmarks, on
    a slow day): ``reproduce`` starts the longest first, by this when the output folder has no
    manifest of an earlier run."""
    quick_s: float = 1.0
    """The same for the quick (reduced) figure."""


CATALOG: dict[str, Entry] = {
    "induction_flow": Entry("induction", "gradient flow of the beta, alpha, xi model: loss, parameters, accuracy"),
    "induction_landscape": Entry("induction", "loss slices through the cliff with the flow's path"),
    "phase": Entry(
        "induction",
        "the flow's transition time over N and L, the start and the GD rate, against its asymptotic formula",
        expected_s=23,
        quick_s=6,
    ),
    "lsa_landscape": Entry("lsa", "risk landscape of one preconditioned GD step, with both flows"),
    "lsa_learning_curves": Entry(
        "lsa", "the factored flow against the one-layer network trained by SGD", expected_s=2, quick_s=1.3
    ),
    "lsa_preconditioner": Entry(
        "lsa", "the trained network's preconditioner against the optimal one", expected_s=8, quick_s=2
    ),
    "lsa_depth": Entry("lsa", "K-layer networks against K steps of GD and PGD", expected_s=230, quick_s=10),
    "network_training": Entry(
        "network", "train the two-layer attention network, with L = N controls", expected_s=70, quick_s=12
    ),
    "network_ablation": Entry(
        "network", "train (or reuse the identical run) and remove each attention head", expected_s=9
    ),
    "induction_heads": Entry(
        "network",
        "Olsson's induction-head scores through training against ICL accuracy (reuses the training run)",
        inputs=("network_training",),
        expected_s=38,
    ),
    "data_dependence": Entry(
        "network",
        "in-context vs in-weights learning against burstiness, classes, noise and Zipf exponent (a resumable sweep)",
        expected_s=600,
        quick_s=28,
    ),
    "minimal_vs_mean_field": Entry(
        "induction", "the exact minimal network against the mean-field model", expected_s=66, quick_s=7.5
    ),
    "compare": Entry(
        "compare", "flow and trained networks on shared axes, steps mapped to flow time", expected_s=55, quick_s=13
    ),
    "scaling": Entry(
        "compare",
        "the network's transition step against both models' over N and L (a resumable sweep)",
        expected_s=900,
        quick_s=16,
    ),
    "growth": Entry(
        "compare",
        "the network's effective beta, alpha, xi against the time-scale model's flow",
        expected_s=110,
        quick_s=6.3,
    ),
    "extended": Entry(
        "extended",
        "the extended model's learning curves against the network over N, L, D, lr, batch size and noise",
        expected_s=540,
        quick_s=10,
    ),
    "chain": Entry(
        "compare",
        "exact minimal network, mean field and trained network in one chain (from saved results)",
        inputs=("minimal_vs_mean_field", "compare"),
    ),
    "lsa_summary": Entry(
        "lsa",
        "the linear-attention figures' summary (from saved results)",
        inputs=("lsa_learning_curves", "lsa_preconditioner"),
    ),
}
"""Every figure of the README, in the order ``phenom reproduce`` makes them (a summary figure
after the figures whose results it reads)."""

GROUPS: dict[str, tuple[str, list[str]]] = {
    "lsa": (
        "linear attention as preconditioned GD: all five figures, with the options they share",
        [name for name, entry in CATALOG.items() if entry.family == "lsa"],
    ),
}
"""Commands that make several figures: command → (help, the figures)."""
