"""Theory against simulation: transition times of the flow and of the trained network.

The flow's transition is its cliff, the time of the largest |∇loss|. The network's is the step at
which held-out ICL accuracy first reaches halfway from the plateau 1/N to 1, (1 + 1/N)/2
(interpolated between evaluations; for N = 2 and L = N chance is already 1/2). Network steps
map to flow time as t = c · lr · step with one scalar c: the flow's dθ/dt = −lr ∇loss and SGD's
θ ← θ − lr ∇loss agree at c = 1 only if the network's parameters *were* β, α, ξ; they are not
(β, α, ξ are readings of many weights, and each moves at its own effective rate), so c is fitted,
once, on a reference configuration, and then predicts every other one (:func:`scaling_summary`).

Two models make the prediction (:data:`MODELS`): ``"mean_field"``, the plain flow from θ = 0, and
``"time_scales"``, the flow with the per-parameter rates C of :mod:`phenom.timescales`, from the
untrained network's effective state. :data:`TIME_CONSTANTS` holds each one's c, fitted at
(N, L) = (8, 32) with its provenance; :func:`predicted_step` uses them.
"""

from __future__ import annotations

import numpy as np

from phenom import _validate
from phenom.induction.model import induction_flow

__all__ = ['MODELS', 'TIME_CONSTANTS', 'model_flow', 'flow_transition_times', 'predicted_step', 'fit_time_scale']


MODELS = ("time_scales", "mean_field")


# c of each model, fitted once at the reference (N, L) = (8, 32): the flow's cliff time (lr = 1)
# over lr times the network's mean transition step there (three seeds of the scaling study).
# Transition steps there: 1034.64, 1022.90, 1056.27 (seeds 0, 1, 2).
TIME_CONSTANTS = {
    "time_scales": {"c": 0.62287272291, "flow_time": 323.251786436},
    "mean_field": {"c": 0.18821138817, "flow_time": 97.675921924},
}


_PROVENANCE = {"reference": (8, 32), "net_step": 1037.938489018, "seeds": (0, 1, 2), "lr": 0.5, "batch_size": 128,
               "D": 63, "eps": 0.1, "source": "the scaling study (phenom scaling; figures/scaling.json)"}


for _entry in TIME_CONSTANTS.values():
    _entry.update(_PROVENANCE)


def _model_start(model: str, pairs: list[tuple[int, int]]) -> dict:
    """Initial state and metric of ``model``'s flows for each (N, L)."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    if model == "mean_field":
        return {"theta0": np.zeros((len(pairs), 3)), "metric": None}
    from phenom.induction.timescales import initial_state, time_scales

    return {"theta0": np.array([initial_state(N) for N, _ in pairs]),
            "metric": np.array([time_scales(N, L) for N, L in pairs])}


def model_flow(N: int, L: int, *, model: str = "time_scales", t_max: float = 2e4):
    """``model``'s flow (:data:`MODELS`) at (N, L), lr = 1: a :class:`~phenom.flow.Trajectory`."""
    N, L = _validate.pairs(N, L)
    start = _model_start(model, [(N, L)])
    return induction_flow(start["theta0"][0], N=N, L=L, t_max=t_max,
                          metric=None if start["metric"] is None else start["metric"][0])


def flow_transition_times(pairs, lr: float = 1.0, t_max: float = 5000.0,
                          model: str = "mean_field") -> list[float | None]:
    """Cliff times of ``model``'s flow (:data:`MODELS`; the mean-field flow from θ = 0 by
    default) for each (N, L): compiled, every flow with its own steps (:mod:`phenom.induction.fastflow`,
    rtol 1e-10); None where the flow is still on its plateau at ``t_max``."""
    from phenom.induction.fastflow import flow_quantities

    pairs = [_validate.pairs(N, L) for N, L in pairs]
    start = _model_start(model, pairs)
    cliffs = flow_quantities(start["theta0"], N=[p[0] for p in pairs], L=[p[1] for p in pairs], metric=start["metric"],
                             lr=lr, t_max=t_max, rtol=1e-10, atol=1e-12)["cliff"]
    return [None if np.isnan(t) else float(t) for t in cliffs]


def predicted_step(N: int, L: int, *, D: int | None = None, eps: float = 0.1, lr: float = 0.5,
                   batch_size: int = 128, model: str = "time_scales") -> float:
    """The network's predicted transition step (held-out ICL accuracy halfway from 1/N to 1) at
    (N, L): ``model``'s flow cliff time t (lr = 1) over c · lr, with c from :data:`TIME_CONSTANTS`.

    N from 2 to 32, L from N + 1 to D, D (default max(63, L), as in the scaling study) >= L,
    eps >= 0, lr > 0, batch_size >= 1. D, eps and batch_size are checked but do not enter: the
    counting behind the model does not involve D or ε, and a gradient flow follows the mean
    gradient whatever the batch size; the constant was fitted at D = 63, ε = 0.1, batch 128,
    lr 0.5, and the study holds D = max(63, L), ε = 0.1, batch 128 (other values are untested).
    """
    N, L = _validate.pairs(N, L)
    if not 2 <= N <= 32:
        raise ValueError(f"N must be an integer from 2 to 32, got {N}")
    if L == N:
        raise ValueError(f"L must be an integer > N = {N} (at L = N the flow has no transition), got {L}")
    D = _validate.count("D", max(63, L) if D is None else D, minimum=L,
                        bound=f"L = {L} (L label vectors need L dimensions)")
    _validate.nonnegative("eps", eps)
    lr = _validate.positive("lr", lr)
    _validate.count("batch_size", batch_size)
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    for t_max in (2e3, 2e4, 2e5, 2e6):  # a cliff beyond one horizon lies far from the next one's first grid cell
        t = flow_transition_times([(N, L)], t_max=t_max, model=model)[0]
        if t is not None:
            return float(t / (TIME_CONSTANTS[model]["c"] * lr))
    raise RuntimeError(f"the {model} flow at N = {N}, L = {L} has no transition before t = 2e6")


def fit_time_scale(flow_time: float, net_step: float, lr: float) -> float:
    """c in t = c · lr · step from one configuration's two transition times."""
    return float(flow_time / (lr * net_step))
