"""Every figure's setting: one frozen dataclass per figure, holding every default, named after
the figure (``induction_flow`` → :class:`InductionFlowSetting`, :func:`setting_class`).

A setting is the whole input of a figure's computation: the figure registry
(:mod:`phenom.figures.registry`) computes from it, saves it (with its
:meth:`~phenom.figures.settings._base.Setting.digest`) beside the result, and the command line is
generated from its fields, so a default lives here and nowhere else. Settings hold data and checks
only: the jobs (:mod:`phenom.figures.jobs`) build tasks and expand sweeps from them. One module per
family of figures: :mod:`.induction`, :mod:`.network`, :mod:`.compare`, :mod:`.extended`, :mod:`.lsa`; what they
share is in :mod:`._base`.

Each setting validates itself on construction (a ``ValueError`` naming the field and its range)
and has a :meth:`~phenom.figures.settings._base.Setting.quick` variant: shorter runs, fewer seeds,
coarser grids, the same science.

>>> setting_class("minimal_vs_mean_field").__name__
'MinimalVsMeanFieldSetting'
"""

from __future__ import annotations

from phenom.figures.settings._base import (
    ADAM_LR,
    MAX_GRID,
    SGD_LR,
    WEIGHT_DECAY,
    Setting,
    SummarySetting,
    option,
)
from phenom.figures.settings.compare import (
    ChainSetting,
    CompareSetting,
    GrowthSetting,
    ScalingSetting,
)
from phenom.figures.settings.extended import ExtendedSetting
from phenom.figures.settings.induction import (
    InductionFlowSetting,
    InductionLandscapeSetting,
    MinimalVsMeanFieldSetting,
    PhaseSetting,
)
from phenom.figures.settings.lsa import (
    LinearSetting,
    LsaDepthSetting,
    LsaLandscapeSetting,
    LsaLearningCurvesSetting,
    LsaPreconditionerSetting,
    LsaSummarySetting,
)
from phenom.figures.settings.network import (
    DataDependenceSetting,
    InductionHeadsSetting,
    NetworkAblationSetting,
    NetworkSetting,
    NetworkTrainingSetting,
)

__all__ = [
    "Setting",
    "SummarySetting",
    "option",
    "setting_class",
    "InductionFlowSetting",
    "InductionLandscapeSetting",
    "PhaseSetting",
    "MinimalVsMeanFieldSetting",
    "NetworkSetting",
    "NetworkTrainingSetting",
    "NetworkAblationSetting",
    "InductionHeadsSetting",
    "DataDependenceSetting",
    "CompareSetting",
    "ScalingSetting",
    "GrowthSetting",
    "ExtendedSetting",
    "ChainSetting",
    "LinearSetting",
    "LsaLandscapeSetting",
    "LsaLearningCurvesSetting",
    "LsaPreconditionerSetting",
    "LsaDepthSetting",
    "LsaSummarySetting",
    "SGD_LR",
    "ADAM_LR",
    "WEIGHT_DECAY",
    "MAX_GRID",
]


def setting_class(figure: str) -> type[Setting]:
    """The setting class of ``figure``: its name in CamelCase followed by ``Setting``.

    Parameters
    ----------
    figure : str
        A figure's name, e.g. ``"induction_flow"`` (ValueError if no setting class has its name).

    Returns
    -------
    type
        The :class:`~phenom.figures.settings._base.Setting` subclass that holds the figure's input.

    Examples
    --------
    >>> from phenom.figures.settings import setting_class
    >>> setting_class("lsa_depth").__name__
    'LsaDepthSetting'
    >>> setting_class("lsa_depth")().quick().layers
    (1, 2, 3)
    """
    name = "".join(word.capitalize() for word in figure.split("_")) + "Setting"
    found = globals().get(name)
    if not (isinstance(found, type) and issubclass(found, Setting)):
        raise ValueError(f"figure must name a setting class in phenom.figures.settings ({name}), got {figure!r}")
    return found
