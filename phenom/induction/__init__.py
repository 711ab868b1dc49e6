"""The β, α, ξ model of induction-head formation (Reddy, ICLR 2024) and everything derived from it.

- :mod:`~phenom.induction.model`: the loss derived from three softmaxes (sympy), its numeric
  functions and :func:`induction_flow`;
- :mod:`~phenom.induction.exact`: the exact minimal network's loss, a finite average over the
  target's position;
- :mod:`~phenom.induction.kernels` and :mod:`~phenom.induction.fastflow`: the derivation compiled
  (numba) and integrated member by member;
- :mod:`~phenom.induction.landscape`: loss slices through the cliff;
- :mod:`~phenom.induction.transition`: when the head forms, numerically and by formula;
- :mod:`~phenom.induction.timescales`: per-parameter rates of the network, by counting;
- :mod:`~phenom.induction.prediction`: the network's transition step predicted with one stored
  time constant;
- :mod:`~phenom.induction.extended`: the extended model (a label bias γ, a label-presence
  read-out ρ, read-outs growing as products of factors, the embedding dimension D in the rates)
  and its learning curves on the network's step axis.
"""

from phenom.induction.exact import ExactInductionModel
from phenom.induction.extended import (
    EXTENDED_TIME_CONSTANT,
    ExtendedCurves,
    ExtendedModel,
    extended_curves,
    factor_flow,
)
from phenom.induction.fastflow import flow_quantities
from phenom.induction.landscape import Slice, loss_slice
from phenom.induction.model import PARAMETERS, InductionHeadModel, derive, induction_flow
from phenom.induction.prediction import TIME_CONSTANTS, PredictedCurves, model_start, predicted_curves, predicted_step
from phenom.induction.timescales import initial_state, time_scales
from phenom.induction.transition import asymptotic_transition_time, flow_transition_times, gd_transition_steps

__all__ = [
    "PARAMETERS",
    "InductionHeadModel",
    "ExactInductionModel",
    "derive",
    "induction_flow",
    "flow_quantities",
    "Slice",
    "loss_slice",
    "asymptotic_transition_time",
    "flow_transition_times",
    "gd_transition_steps",
    "time_scales",
    "initial_state",
    "TIME_CONSTANTS",
    "predicted_step",
    "predicted_curves",
    "PredictedCurves",
    "model_start",
    "ExtendedModel",
    "factor_flow",
    "extended_curves",
    "ExtendedCurves",
    "EXTENDED_TIME_CONSTANT",
]
