"""How fast the network's effective β, α, ξ move, against the mean-field flow's rates.

The mean-field flow moves each parameter at dθ_k/dt = −lr ∂loss/∂θ_k. The network carries each
parameter in many weights (ξ in L read-out rows, β in position–position entries of layer 1, α in
the content–buffer block of layer 2), and gradient descent on the weights moves the *effective*
parameter (:func:`phenom.nets.measures.effective_parameters`) at the rate

    dθ_k^eff / d(lr · step) = −⟨∇_w θ_k^eff, ∇_w loss⟩,

the network's tangent kernel between the effective parameter and the loss. Their ratio

    C_k = (−⟨∇_w θ_k^eff, ∇_w loss⟩) / (−∂loss_MF/∂θ_k at θ^eff)

is the diagonal metric of a flow dθ/dt = −lr C ∇loss_MF (:func:`phenom.flow.gradient_flow`'s
``metric``) that moves like the network, at that state. :func:`tangent_rates` measures the
numerator on a batch (a central difference along the gradient, so any network with
``loss_and_grads`` and ``metrics`` will do), :func:`measured_metric` the ratio.
"""

from __future__ import annotations

import numpy as np

from . import _rng
from .induction import PARAMETERS, InductionHeadModel

__all__ = ["tangent_rates", "measured_metric", "metric_along_training"]

MEASURES = ("margin", "ila1", "tila2", "beta", "alpha", "xi")


def _measures(net, task, batch) -> dict[str, float]:
    m = net.metrics(batch, task)
    return {k: m[k] for k in MEASURES}


def tangent_rates(net, task, batch, *, eps: float = 1e-5) -> dict[str, float]:
    """Rates d/d(lr · step) of the logit margin, ILA1, TILA2 and the effective β, α, ξ under
    gradient descent on ``batch``, at the network's current weights (unchanged on return).

    Computed as the central difference (f(w − ε g) − f(w + ε g)) / (2ε) with g = ∇_w loss on
    ``batch`` and f measured on the same batch, in float64: the directional derivative −⟨∇f, g⟩.
    """
    work = net.astype(np.float64)
    _, grads = work.loss_and_grads(batch)
    weights = work.params()
    start = {k: v.copy() for k, v in weights.items()}
    values = []
    for sign in (-1.0, 1.0):
        for k, w in weights.items():
            w[...] = start[k] + sign * eps * grads[k]
        values.append(_measures(work, task, batch))
    for k, w in weights.items():
        w[...] = start[k]
    return {k: (values[0][k] - values[1][k]) / (2 * eps) for k in MEASURES}


def measured_metric(net, task, batch, *, eps: float = 1e-5, floor: float = 1e-12) -> dict[str, float | None]:
    """C_k for k = β, α, ξ at the network's current state: its effective parameter's rate
    (:func:`tangent_rates`) over the mean-field flow's rate −∂loss/∂θ_k at the effective θ.
    None where the mean-field rate is below ``floor`` (α and β at θ = 0, where only ξ moves)."""
    rates = tangent_rates(net, task, batch, eps=eps)
    state = net.metrics(batch, task)
    theta = [state[k] for k in PARAMETERS]
    if not np.all(np.isfinite(theta)):
        return {k: None for k in PARAMETERS}
    mean_field = -InductionHeadModel(task.N, task.L).grad(*theta)
    return {k: (rates[k] / g if abs(g) > floor else None) for k, g in zip(PARAMETERS, mean_field)}


def metric_along_training(config: dict, *, probe_every: int, probe_size: int = 2048, probe_seed: int = 99) -> dict:
    """The measured metric C along one training run of the scaling study.

    The run is :func:`phenom.compare.scaling_run`'s for ``config`` (same seeds, same batches:
    measuring does not change it); every ``probe_every`` steps (a multiple of the config's
    ``eval_every``, before the last step of the budget) the network is measured on
    ``probe_size`` sequences from ``probe_seed``.
    Returns the probe steps, the effective (β, α, ξ) there and C for each parameter (None where
    the mean-field rate vanishes), and the run's history.
    """
    from . import _validate
    from .compare import scaling_run

    probe_every = _validate.count("probe_every", probe_every)
    if probe_every % config["eval_every"]:
        raise ValueError(f"probe_every must be a multiple of eval_every = {config['eval_every']}, got {probe_every}")
    rows = []
    probe = {}

    def measure(net, task, hist):
        step = int(hist.step[-1])
        if step % probe_every:
            return
        if "batch" not in probe:
            probe["batch"] = task.sample(probe_size, _rng.stream(probe_seed, "eval"), dtype=np.float64)
        state = net.metrics(probe["batch"], task)
        rows.append({"step": step, **{k: state[k] for k in PARAMETERS},
                     "C": measured_metric(net, task, probe["batch"])})

    _, hist = scaling_run(config, on_evaluation=measure)
    return {"config": dict(config), "probe_seed": probe_seed, "probes": rows, "history": hist.records}
