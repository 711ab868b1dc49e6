"""The network's transition predicted from the β, α, ξ flow with one stored time constant.

A trained network's transition is the step at which its held-out ICL accuracy first reaches
halfway from the plateau 1/N to 1; the flow's is its cliff, the time of the largest |∇loss|
(Reddy, ICLR 2024, Sec. 4). Network steps map to flow time as

    t = c · lr · step

with one scalar c: the flow's dθ/dt = −lr ∇loss and SGD's θ ← θ − lr ∇loss would agree at c = 1
only if the network's parameters *were* β, α, ξ; they are not (β, α, ξ are readings of many
weights, each moving at its own effective rate), so c is fitted once, on a reference
configuration, and then predicts every other one. It carries what every configuration shares
(feature norms, the scale of the weights against the model's scalars); nothing is fitted per
configuration.

Two models make the prediction (:data:`MODELS`; :func:`model_start` gives each one's start and
metric):

- ``"mean_field"``: the plain flow from θ = 0;
- ``"time_scales"``: the flow dθ/dt = −lr C ∇loss with the per-parameter rates C counted in
  :mod:`phenom.induction.timescales`, from the untrained network's effective state.

:data:`TIME_CONSTANTS` holds each model's c, fitted at (N, L) = (8, 32) on the scaling study's
three seeds, with its provenance. With them, :func:`predicted_step` gives the network's
transition step at any (N, L) and lr, and :func:`predicted_curves` the model's whole learning
curve (β, α, ξ, loss, P(correct), P(in context)) on the network's step axis.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

from phenom import _cache, _io, _validate
from phenom.flow import Trajectory
from phenom.induction.model import InductionHeadModel, induction_flow
from phenom.induction.timescales import initial_state, time_scales
from phenom.induction.transition import flow_transition_times

__all__ = [
    "MODELS",
    "TIME_CONSTANTS",
    "model_start",
    "model_flow",
    "predicted_step",
    "predicted_curves",
    "PredictedCurves",
    "fit_time_scale",
]


MODELS = ("time_scales", "mean_field")
"""The flows that predict the network's transition (module docstring)."""


# c of each model, fitted once at the reference (N, L) = (8, 32): the flow's cliff time (lr = 1)
# over lr times the network's mean transition step there (three seeds of the scaling study).
# Transition steps there: 1034.64, 1022.90, 1056.27 (seeds 0, 1, 2).
TIME_CONSTANTS: dict[str, dict[str, Any]] = {
    "time_scales": {"c": 0.62287272291, "flow_time": 323.251786436},
    "mean_field": {"c": 0.18821138817, "flow_time": 97.675921924},
}
"""Each model's c in t = c · lr · step and its provenance (reference, seeds, training options)."""

_PROVENANCE = {
    "reference": (8, 32),
    "net_step": 1037.938489018,
    "seeds": (0, 1, 2),
    "lr": 0.5,
    "batch_size": 128,
    "D": 63,
    "eps": 0.1,
    "source": "the scaling study (phenom scaling; figures/scaling.json)",
}

for _entry in TIME_CONSTANTS.values():
    _entry.update(_PROVENANCE)

_T_MAX = 1e6
"""Horizon of the flows behind a predicted step: the latest cliff for 2 <= N <= 32, L > N
(N = 32, L = 33, time-scale model) is at t ≈ 7.5e3."""


LR_RANGE = (1e-12, 1e12)
"""The rates a prediction takes: the latest flow time over c (about 3e4 for 2 <= N <= 32) over
1e-12 keeps the predicted step below 1e17, a count that float64 holds exactly to within 16 steps;
at 1e12 the step is far below one, the prediction's end of meaning."""


def _model(model: str) -> str:
    if not isinstance(model, str) or model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    return model


class ModelStart(TypedDict):
    """:func:`model_start`'s keyword arguments of a flow: its start θ₀ and metric C (None: C = 1)."""

    theta0: np.ndarray
    metric: np.ndarray | None


def model_start(N, L, model: str = "time_scales") -> ModelStart:
    """``model``'s start θ₀ and metric C at each (N, L), as keyword arguments of a flow.

    The arguments of :func:`~phenom.induction.transition.flow_transition_times` (and of
    :func:`~phenom.induction.model.induction_flow`): ``{"theta0": (..., 3), "metric": (..., 3)
    or None}`` (None: the mean-field rates, C = 1).

    Parameters
    ----------
    N : int or array of int
        Item–label pairs, >= 1 (from 1 to 32 for ``"time_scales"``).
    L : int or array of int
        Labels, >= N; broadcasts with ``N``.
    model : str
        One of :data:`MODELS` (default ``"time_scales"``).

    Returns
    -------
    ModelStart
        ``{"theta0": …, "metric": …}``.

    Examples
    --------
    The mean-field flow starts at θ = 0 with C = 1; the time-scale model starts where the
    untrained network is (:func:`~phenom.induction.timescales.initial_state`) with the counted
    rates (:func:`~phenom.induction.timescales.time_scales`):

    >>> from phenom.induction.prediction import model_start
    >>> start = model_start(8, 32, "mean_field")
    >>> start["theta0"].tolist(), start["metric"]
    ([0.0, 0.0, 0.0], None)
    >>> start = model_start(8, 32)
    >>> start["theta0"].round(4).tolist(), start["metric"].round(4).tolist()
    ([0.4929, 0.0, 0.0], [0.0182, 1.0, 0.1768])
    >>> model_start([4, 8], 32)["metric"].shape
    (2, 3)
    """
    _model(model)
    N, L = _validate.broadcast({"N": _validate.integers("N", N), "L": _validate.integers("L", L)})
    if model == "mean_field":
        return {"theta0": np.zeros((*N.shape, 3)), "metric": None}
    theta0 = np.array([initial_state(n) for n in N.ravel()]).reshape(*N.shape, 3)
    metric = np.array([time_scales(n, labels) for n, labels in zip(N.ravel(), L.ravel(), strict=True)])
    metric = metric.reshape(*N.shape, 3)
    return {"theta0": theta0, "metric": metric}


def model_flow(N: int, L: int, *, model: str = "time_scales", t_max: float = 2e4) -> Trajectory:
    """``model``'s flow (:data:`MODELS`) at (N, L), lr = 1: a :class:`~phenom.flow.Trajectory`.

    Parameters
    ----------
    N : int >= 1
        Item–label pairs in context (at most 32 for ``"time_scales"``).
    L : int >= N
        Labels.
    model : str
        One of :data:`MODELS` (default ``"time_scales"``).
    t_max : float
        Flow time to integrate to, > 0 (default 2e4).

    Returns
    -------
    Trajectory
        The flow from :func:`model_start`'s θ₀ with its metric.

    Examples
    --------
    The time-scale model's slower rates put its cliff at N = 8, L = 32 later than the
    mean-field flow's 97.68:

    >>> from phenom.induction.prediction import model_flow
    >>> round(model_flow(8, 32).cliff(), 2), round(model_flow(8, 32, model="mean_field").cliff(), 2)
    (323.25, 97.68)
    """
    N, L = _validate.pairs(N, L)
    start = model_start(N, L, model)
    traj = induction_flow(start["theta0"], N=N, L=L, t_max=t_max, metric=start["metric"])
    assert isinstance(traj, Trajectory)  # one (N, L): one flow
    return traj


def check_study_options(N, L, D, eps, lr, batch_size) -> tuple[int, int, float]:
    """(N, L, lr) checked against the range the constants were fitted for (:func:`predicted_step`)."""
    N, L = _validate.pairs(_validate.plain(N), _validate.plain(L))
    if not 2 <= N <= 32:
        raise ValueError(f"N must be an integer from 2 to 32, got {N}")
    if L == N:
        raise ValueError(f"L must be an integer > N = {N} (at L = N the flow has no transition), got {L}")
    _validate.count(
        "D", max(63, L) if D is None else D, minimum=L, bound=f"L = {L} (L label vectors need L dimensions)"
    )
    _validate.nonnegative("eps", eps)
    _validate.count("batch_size", batch_size)
    return N, L, _validate.within("lr", lr, *LR_RANGE, "the predicted step stays a finite count")


def predicted_step(
    N: int,
    L: int,
    *,
    D: int | None = None,
    eps: float = 0.1,
    lr: float = 0.5,
    batch_size: int = 128,
    model: str = "time_scales",
) -> float:
    """The network's predicted transition step at (N, L): the flow's cliff time over c · lr.

    The step at which held-out ICL accuracy is halfway from 1/N to 1, predicted as ``model``'s
    flow cliff time t (lr = 1) over c · lr, with c from :data:`TIME_CONSTANTS`.

    N from 2 to 32, L from N + 1 to D, D (default max(63, L), as in the scaling study) >= L,
    eps >= 0, lr in :data:`LR_RANGE`, batch_size >= 1. D, eps and batch_size are checked but do not enter: the
    counting behind the model does not involve D or ε, and a gradient flow follows the mean
    gradient whatever the batch size; the constant was fitted at D = 63, ε = 0.1, batch 128,
    lr 0.5, and the study holds D = max(63, L), ε = 0.1, batch 128 (other values are untested).

    Each flow time is integrated once per machine and code, then read from the cache folder.

    Parameters
    ----------
    N : int
        Item–label pairs in context, from 2 to 32.
    L : int
        Labels, from N + 1 to D.
    D : int or None
        Dimension of the task's vectors, >= L (default max(63, L)); checked only.
    eps : float
        The task's item noise, >= 0 (default 0.1); checked only.
    lr : float
        The network's learning rate, in :data:`LR_RANGE` (default 0.5).
    batch_size : int >= 1
        The network's batch size (default 128); checked only.
    model : str
        One of :data:`MODELS` (default ``"time_scales"``).

    Returns
    -------
    float
        The predicted transition step.

    Examples
    --------
    At the reference (8, 32) both models give the fitted mean step of the three seeds, 1037.94;
    elsewhere they differ; the step scales as 1/lr.

    >>> from phenom.induction.prediction import predicted_step
    >>> round(predicted_step(8, 32), 2), round(predicted_step(8, 32, model="mean_field"), 2)
    (1037.94, 1037.94)
    >>> round(predicted_step(16, 64), 1), round(predicted_step(16, 64, model="mean_field"), 1)
    (3202.3, 2694.1)
    >>> round(predicted_step(8, 32, lr=1.0), 2)
    518.97
    """
    N, L, lr = check_study_options(N, L, D, eps, lr, batch_size)
    return _flow_time(_model(model), N, L) / (TIME_CONSTANTS[model]["c"] * lr)


def _memo_key() -> str:
    """What a flow time depends on: the code of phenom.induction (every module, conservatively)
    and the versions of the libraries that derive and compile it."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for library in ("numpy", "scipy", "sympy", "numba"):
        digest.update(f"{library} {metadata.version(library)}\n".encode())
    return digest.hexdigest()[:16]


@functools.cache
def _flow_time(model: str, N: int, L: int) -> float:
    """``model``'s cliff time (lr = 1) at a checked (N, L).

    A first integration in a process loads the compiled flows (seconds), so each time found is
    kept in the cache folder (:func:`phenom._cache.cache_dir`) in ``predicted_flow_times_<key>.json``,
    the key a hash of the code and libraries that compute it (:func:`_memo_key`); a missing,
    damaged or unwritable file only means integrating again.
    """
    path = _cache.cache_dir() / f"predicted_flow_times_{_memo_key()}.json"
    entry = f"{model} {N} {L}"

    def read() -> dict:
        try:
            memo = json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
        return memo if isinstance(memo, dict) else {}

    known = read().get(entry)
    if isinstance(known, float) and np.isfinite(known) and known > 0:
        return known
    t = float(flow_transition_times(N, L, **model_start(N, L, model), t_max=_T_MAX))
    if np.isnan(t):
        raise RuntimeError(f"the {model} flow at N = {N}, L = {L} has no transition before t = {_T_MAX:g}")
    try:
        _io.atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps({**read(), entry: t}, sort_keys=True)))
    except OSError:
        pass  # an unwritable cache folder: integrate again next time
    return t


@dataclass(frozen=True)
class PredictedCurves:
    """A model's learning curve on the network's step axis (:func:`predicted_curves`).

    Every array has the length of ``step``; ``t = c · lr · step`` is the flow time (lr = 1).

    Attributes
    ----------
    step : ndarray
        Network steps.
    t : ndarray
        The flow times c · lr · step.
    beta, alpha, xi : ndarray
        The flow's β, α, ξ there.
    loss : ndarray
        The model's loss there.
    p_correct : ndarray
        The probability of the correct label, the network's held-out P(correct).
    p_context : ndarray
        The probability summed over the N labels in context.
    transition_step : float
        :func:`predicted_step` at the same (N, L), lr and model.
    c : float
        The model's time constant from :data:`TIME_CONSTANTS`.
    lr : float
        The network's learning rate.
    model : str
        One of :data:`MODELS`.

    Examples
    --------
    >>> from phenom.induction.prediction import predicted_curves
    >>> curves = predicted_curves(8, 32, samples=5)
    >>> curves.step.round(1).tolist()
    [0.0, 519.0, 1037.9, 1556.9, 2075.9]
    >>> curves.p_correct.round(4).tolist()
    [0.0312, 0.0336, 0.2426, 0.9678, 0.9835]
    >>> list(curves.columns())[:3], curves.model, round(curves.c, 4)
    (['step', 't', 'beta'], 'time_scales', 0.6229)
    """

    step: np.ndarray
    t: np.ndarray
    beta: np.ndarray
    alpha: np.ndarray
    xi: np.ndarray
    loss: np.ndarray
    p_correct: np.ndarray
    """the probability of the correct label, the network's held-out P(correct)"""
    p_context: np.ndarray
    """the probability summed over the N labels in context"""
    transition_step: float
    """:func:`predicted_step` at the same (N, L), lr and model"""
    c: float
    lr: float
    model: str

    def columns(self) -> dict[str, np.ndarray]:
        """The curves as named columns (step, t, β, α, ξ, loss, P(correct), P(in context))."""
        names = ("step", "t", "beta", "alpha", "xi", "loss", "p_correct", "p_context")
        return {name: getattr(self, name) for name in names}


def predicted_curves(
    N: int,
    L: int,
    *,
    lr: float = 0.5,
    steps=None,
    model: str = "time_scales",
    samples: int = 201,
    D: int | None = None,
    eps: float = 0.1,
    batch_size: int = 128,
) -> PredictedCurves:
    """``model``'s flow (:data:`MODELS`) at (N, L) put on the network's step axis.

    With the stored constant c (:data:`TIME_CONSTANTS`): at network step s the prediction is the
    flow at t = c · lr · s (lr = 1 in the flow).

    Parameters
    ----------
    N, L, lr, D, eps, batch_size
        As for :func:`predicted_step` (same ranges; D, eps and batch_size are checked only).
    steps : None or 1-D array of steps >= 0
        Where to evaluate the curves, at most 1e6 / (c · lr) (flow times up to the predictions'
        horizon); None: ``samples`` evenly spaced steps from 0 to twice the predicted transition
        step.
    model : str
        ``"time_scales"`` or ``"mean_field"``.
    samples : int
        The number of default steps (>= 2).

    Returns
    -------
    PredictedCurves
        β, α, ξ from the flow's dense output (:func:`phenom.induction.model.induction_flow`), the
        loss, P(correct) and P(in context) of :class:`~phenom.induction.model.InductionHeadModel`
        there, and the predicted transition step.

    Examples
    --------
    Before the predicted transition (step 1038 at lr 0.5) the network guesses among the 32
    labels; by step 2000 it answers:

    >>> from phenom.induction.prediction import predicted_curves
    >>> curves = predicted_curves(8, 32, steps=[0.0, 2000.0])
    >>> bool(curves.p_correct[0] < 0.1 < 0.9 < curves.p_correct[1]), round(curves.transition_step, 1)
    (True, 1037.9)
    """
    transition = predicted_step(N, L, D=D, eps=eps, lr=lr, batch_size=batch_size, model=model)
    if steps is None:
        steps = np.linspace(0.0, 2 * transition, _validate.count("samples", samples, minimum=2))
    steps = _validate.times("steps", steps)
    if steps.ndim != 1 or steps.size == 0:
        raise ValueError(f"steps must be a non-empty 1-D array of steps >= 0, got shape {steps.shape}")
    _validate.allocation("steps (8 numbers a step)", steps.size * 8)
    c = TIME_CONSTANTS[model]["c"]
    if float(steps.max()) > _T_MAX / (c * lr):
        raise ValueError(
            f"steps must be at most {_T_MAX:g} / (c · lr) = {_T_MAX / (c * lr):.6g} (flow times up to the "
            f"predictions' horizon {_T_MAX:g}), got up to {float(steps.max()):.6g}"
        )
    t = c * lr * steps
    theta = model_flow(N, L, model=model, t_max=max(float(t.max()), 1.0))(t)
    head = InductionHeadModel(N, L)
    beta, alpha, xi = theta.T
    return PredictedCurves(
        step=steps,
        t=t,
        beta=beta,
        alpha=alpha,
        xi=xi,
        loss=head.loss(beta, alpha, xi),
        p_correct=head.p_correct(beta, alpha, xi),
        p_context=head.p_context(beta, alpha, xi),
        transition_step=transition,
        c=c,
        lr=float(lr),
        model=model,
    )


def fit_time_scale(flow_time: float, net_step: float, lr: float) -> float:
    """c in t = c · lr · step from one configuration's two transition times.

    Parameters
    ----------
    flow_time : float
        The flow's cliff time at lr = 1.
    net_step : float
        The network's transition step.
    lr : float
        The network's learning rate.

    Returns
    -------
    float
        c = flow_time / (lr · net_step).

    Examples
    --------
    The stored time-scale constant, from the reference's flow time 323.25 and the three seeds'
    mean step 1037.94 at lr 0.5:

    >>> from phenom.induction.prediction import fit_time_scale
    >>> fit_time_scale(50.0, 250.0, 0.5)
    0.4
    >>> round(fit_time_scale(323.251786436, 1037.938489018, 0.5), 6)
    0.622873
    """
    return float(flow_time / (lr * net_step))
