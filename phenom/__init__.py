"""phenom: the phenomenological theory of how transformers learn in context, simulated.

The package is laid out as the theory is:

- :mod:`phenom.induction.model`: the β, α, ξ model of induction-head formation (Reddy, ICLR 2024), its
  exact minimal network, compiled flows, transition times and the time-scale prediction;
- :mod:`phenom.linear.model`: linear attention as preconditioned gradient descent (von Oswald et al.
  2023; Ahn et al. 2023; Zhang, Frei and Bartlett 2024);
- :mod:`phenom.nets`: small numpy attention networks, their tasks, probes and training;
- :mod:`phenom.figures`: the figures (registry, settings, jobs, plots, sweeps, the CLI).

The names below are imported on first use, so ``import phenom`` is light.

Examples
--------
The induction head's cliff in the β, α, ξ model, and the optimal one-layer linear attention:

>>> import numpy as np
>>> from phenom import LinearICL, induction_flow
>>> round(induction_flow(N=8, L=32, t_max=300.0).cliff(), 2)
97.68
>>> task = LinearICL(d=2, N=4)
>>> round(task.optimal_risk(), 4), round(task.risk(np.eye(2)), 4)
(0.8571, 1.5)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from phenom._version import __version__

_EXPORTS = {
    "InductionHeadModel": "phenom.induction.model",
    "induction_flow": "phenom.induction.model",
    "ExactInductionModel": "phenom.induction.exact",
    "Slice": "phenom.induction.landscape",
    "loss_slice": "phenom.induction.landscape",
    "LinearICL": "phenom.linear.model",
    "Trajectory": "phenom.flow",
    "gradient_flow": "phenom.flow",
}

__all__ = [
    "InductionHeadModel",
    "induction_flow",
    "ExactInductionModel",
    "Slice",
    "loss_slice",
    "LinearICL",
    "Trajectory",
    "gradient_flow",
    "__version__",
]

if TYPE_CHECKING:
    from phenom.flow import Trajectory, gradient_flow
    from phenom.induction.exact import ExactInductionModel
    from phenom.induction.landscape import Slice, loss_slice
    from phenom.induction.model import InductionHeadModel, induction_flow
    from phenom.linear.model import LinearICL


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'phenom' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
