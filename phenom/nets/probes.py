"""The network's measured rates: how fast its effective β, α, ξ move under one gradient step,
the evidence behind the time-scale model's metric (:mod:`phenom.induction.timescales`).

The time-scale model gives each effective parameter k of the mean-field model (Reddy, ICLR
2024, Sec. 4) its own rate C_k in the flow dθ/dt = −lr C ∇loss(θ), counted from the share of the
data that trains each of the weights carrying it. Here the rates are measured instead, on a
network and a batch, at its current weights:

- :func:`tangent_rates`: d/d(lr · step) of the logit margin, ILA1, TILA2 and the effective β, α,
  ξ (:mod:`phenom.nets.measures`) under gradient descent on the batch, by a central difference
  along the gradient (the network's tangent kernel with the loss);
- :func:`measured_metric`: C_k, each effective parameter's measured rate over the mean-field
  flow's rate −∂loss/∂θ_k at the same effective θ. Along a training run (the scaling study's,
  :func:`phenom.figures.runs.metric_along_training`) the plateau's C_ξ falls as about L^(−1/2),
  the form the time-scale model takes; the measured levels of C are not the model's (growth
  figure).
"""

from __future__ import annotations

import numpy as np

from phenom.induction.model import PARAMETERS, InductionHeadModel

__all__ = ["MEASURES", "tangent_rates", "measured_metric"]


MEASURES = ("margin", "ila1", "tila2", "beta", "alpha", "xi")


def _measures(net, task, batch) -> dict[str, float]:
    m = net.metrics(batch, task)
    return {k: m[k] for k in MEASURES}


def tangent_rates(net, task, batch, *, eps: float = 1e-5) -> dict[str, float]:
    """Rates d/d(lr · step) of the margin, ILA1, TILA2 and the effective β, α, ξ under gradient descent.

    Measured at the network's current weights (unchanged on return), for gradient descent on
    ``batch``: the central difference (f(w − ε g) − f(w + ε g)) / (2ε) with g = ∇_w loss on
    ``batch`` and f measured on the same batch, in float64: the directional derivative −⟨∇f, g⟩.

    Parameters
    ----------
    net : AttentionNetwork
        The network (an :class:`~phenom.nets.attention.AttentionNetwork`; a float64 copy is
        differentiated).
    task : CopyingTask or ClassificationTask
        The task of ``batch``.
    batch : SequenceBatch
        The sequences that define both the gradient and the measures.
    eps : float, default 1e-5
        The step ε of the central difference along the gradient, > 0.

    Returns
    -------
    dict of str to float
        The rate of each of :data:`MEASURES`: ``margin``, ``ila1``, ``tila2``, ``beta``,
        ``alpha``, ``xi``.

    Examples
    --------
    One small SGD step on the same batch moves each measure by about lr times its rate:

    >>> import numpy as np
    >>> from phenom.nets.attention import AttentionNetwork
    >>> from phenom.nets.optim import SGD
    >>> from phenom.nets.probes import tangent_rates
    >>> from phenom.nets.tasks import CopyingTask
    >>> task = CopyingTask(N=2, L=4, D=8)
    >>> net = AttentionNetwork.init(task, dtype=np.float64)
    >>> batch = task.sample(64, np.random.default_rng(0))
    >>> rates = tangent_rates(net, task, batch)
    >>> before = net.metrics(batch, task)["margin"]
    >>> _, grads = net.loss_and_grads(batch)
    >>> SGD(lr=1e-4).step(net.params(), grads)
    >>> moved = (net.metrics(batch, task)["margin"] - before) / 1e-4
    >>> abs(moved / rates["margin"] - 1) < 0.01
    True
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


def measured_metric(
    net, task, batch, *, eps: float = 1e-5, floor: float = 1e-12, state: dict | None = None
) -> dict[str, float | None]:
    """C_k for k = β, α, ξ at the network's current state, the time-scale model's measured metric.

    Each is its effective parameter's rate (:func:`tangent_rates`) over the mean-field flow's
    rate −∂loss/∂θ_k at the effective θ (:meth:`~phenom.induction.model.InductionHeadModel.grad`
    of the task's N and L).

    Parameters
    ----------
    net : AttentionNetwork
        The network, at the weights to measure.
    task : CopyingTask or ClassificationTask
        The task of ``batch`` (its N and L set the mean-field model).
    batch : SequenceBatch
        The sequences the rates and the effective θ are measured on.
    eps : float, default 1e-5
        The central difference's step (:func:`tangent_rates`), > 0.
    floor : float, default 1e-12
        Mean-field rates of smaller magnitude give None (α and β at θ = 0, where only ξ moves).
    state : dict, optional
        ``net.metrics(batch, task)`` when the caller has it already (it is not measured twice).

    Returns
    -------
    dict of str to float or None
        C for ``beta``, ``alpha`` and ``xi``; None below ``floor``, and all None when the
        effective θ is not finite.

    Examples
    --------
    At the initialisation the mean-field flow and the network both raise ξ, so C_ξ > 0:

    >>> import numpy as np
    >>> from phenom.nets.attention import AttentionNetwork
    >>> from phenom.nets.probes import measured_metric
    >>> from phenom.nets.tasks import CopyingTask
    >>> task = CopyingTask(N=2, L=4, D=8)
    >>> net = AttentionNetwork.init(task)
    >>> batch = task.sample(64, np.random.default_rng(0))
    >>> C = measured_metric(net, task, batch)
    >>> sorted(C), bool(C["xi"] > 0)
    (['alpha', 'beta', 'xi'], True)
    """
    rates = tangent_rates(net, task, batch, eps=eps)
    state = net.metrics(batch, task) if state is None else state
    theta = [state[k] for k in PARAMETERS]
    if not np.all(np.isfinite(theta)):
        return {k: None for k in PARAMETERS}
    mean_field = -InductionHeadModel(task.N, task.L).grad(*theta)
    return {k: (rates[k] / g if abs(g) > floor else None) for k, g in zip(PARAMETERS, mean_field, strict=True)}
