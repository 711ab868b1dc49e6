"""phenom: the phenomenological theory of how transformers learn in context, simulated."""

from .exact import ExactInductionModel
from .flow import Trajectory, gradient_flow
from .induction import InductionHeadModel, induction_flow
from .landscape import Slice, loss_slice
from .linear import LinearICL

__version__ = "0.2.0"

__all__ = [
    "InductionHeadModel",
    "ExactInductionModel",
    "LinearICL",
    "Trajectory",
    "gradient_flow",
    "induction_flow",
    "Slice",
    "loss_slice",
    "__version__",
]
