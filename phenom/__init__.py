"""phenom: the phenomenological theory of how transformers learn in context, simulated."""

from .flow import Trajectory, gradient_flow, induction_flow
from .induction import InductionHeadModel
from .landscape import Slice, loss_slice
from .linear import LinearICL

__version__ = "0.1.0"

__all__ = [
    "InductionHeadModel",
    "LinearICL",
    "Trajectory",
    "gradient_flow",
    "induction_flow",
    "Slice",
    "loss_slice",
    "__version__",
]
