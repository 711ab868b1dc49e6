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
from scipy.stats import spearmanr

from . import _validate
from .induction import InductionHeadModel, induction_flow

__all__ = [
    "MODELS",
    "TIME_CONSTANTS",
    "predicted_step",
    "model_flow",
    "transition_level",
    "transition_step",
    "flow_transition_times",
    "fit_time_scale",
    "rank_correlation",
    "scaling_summary",
    "reconstruction",
    "scaling_point",
    "scaling_run",
    "stop_level",
]


def transition_level(N: int) -> float:
    """ICL accuracy halfway from the plateau at 1/N (guessing among the labels in context) to 1."""
    return 0.5 * (1 + 1 / N)


def transition_step(step: np.ndarray, accuracy: np.ndarray, level: float = 0.5) -> float | None:
    """First step at which ``accuracy`` reaches ``level``, linearly interpolated; None if never."""
    step, accuracy = np.asarray(step, float), np.asarray(accuracy, float)
    above = np.flatnonzero(accuracy >= level)
    if above.size == 0:
        return None
    i = above[0]
    if i == 0:
        return float(step[0])
    a0, a1 = accuracy[i - 1], accuracy[i]
    return float(step[i - 1] + (level - a0) / (a1 - a0) * (step[i] - step[i - 1]))


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
    from .timescales import initial_state, time_scales

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
    default) for each (N, L): compiled, every flow with its own steps (:mod:`phenom.fastflow`,
    rtol 1e-10); None where the flow is still on its plateau at ``t_max``."""
    from .fastflow import flow_quantities

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


def rank_correlation(x, y) -> float | None:
    """Spearman's rank correlation (ties share their mean rank); None for fewer than three
    points or a constant sequence, where it is undefined."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    return float(spearmanr(x, y).statistic)


def _errors(rows: list[dict]) -> dict:
    """Rank correlation and relative errors of the predictions in ``rows``."""
    rel = np.array([r["relative_error"] for r in rows])
    return {
        "spearman": rank_correlation([r["predicted_step"] for r in rows], [r["observed_step"] for r in rows]),
        "median_abs_relative_error": float(np.median(np.abs(rel))) if rel.size else None,
        "max_abs_relative_error": float(np.max(np.abs(rel))) if rel.size else None,
        "runs": len(rows),
        "configurations": len({(r["N"], r["L"]) for r in rows}),
    }


def scaling_summary(rows: list[dict], reference: tuple[int, int], lr: float, held_out: tuple = ()) -> dict:
    """Rank correlations, log-log slope and relative errors of the predictions of one fitted c.

    ``rows`` hold N, L, flow_time and net_step (per seed; None = no transition). c is fitted on
    the ``reference`` (N, L) (mean over its seeds) and predicts every other configuration's step
    as flow_time / (c · lr). The reference is left out of every statistic and of
    ``predictions``: it was used for the fit. Statistics are given pooled and within each N
    (``within_N``; ``within_N_spearman`` repeats its rank correlations), since a pooled rank
    correlation can come from the levels of N alone, and separately for the configurations
    whose N is in ``held_out`` (kept out of every choice made in building the model) and for the
    rest (``held_out``, ``not_held_out``).
    """
    usable = [r for r in rows if r["flow_time"] is not None and r["net_step"] is not None]
    ref = [r for r in usable if (r["N"], r["L"]) == tuple(reference)]
    held = [r for r in usable if (r["N"], r["L"]) != tuple(reference)]
    if len(held) < 3 or not ref:
        raise ValueError("scaling_summary needs the reference and >= 3 other runs with transitions")
    c = fit_time_scale(np.mean([r["flow_time"] for r in ref]), np.mean([r["net_step"] for r in ref]), lr)
    t = np.array([r["flow_time"] for r in held])
    steps = np.array([r["net_step"] for r in held])
    slope, intercept = np.polyfit(np.log(t), np.log(steps), 1)
    predictions = [{"N": r["N"], "L": r["L"], "seed": r.get("seed"), "observed_step": r["net_step"],
                    "predicted_step": float(p), "relative_error": float((p - r["net_step"]) / r["net_step"])}
                   for r, p in zip(held, t / (c * lr))]
    within = {str(N): _errors([p for p in predictions if p["N"] == N]) for N in sorted({p["N"] for p in predictions})}
    groups = {"held_out": [p for p in predictions if p["N"] in held_out],
              "not_held_out": [p for p in predictions if p["N"] not in held_out]}
    return {
        "c": c,
        "reference": list(reference),
        "reference_runs": len(ref),
        "reference_flow_time": float(np.mean([r["flow_time"] for r in ref])),
        "reference_net_step": float(np.mean([r["net_step"] for r in ref])),
        **_errors(predictions),
        "within_N_spearman": {N: w["spearman"] for N, w in within.items()},
        "within_N": within,
        "held_out_Ns": list(held_out),
        **{name: (_errors(group) if group else None) for name, group in groups.items()},
        "loglog_slope": float(slope),
        "loglog_intercept": float(intercept),
        "predictions": predictions,
    }


def reconstruction(records: dict, N: int, L: int) -> dict:
    """The mean-field model's loss at the network's effective (β, α, ξ), at every evaluation,
    against the network's own held-out loss.

    Three statistics (ILA1, TILA2, the logit margin) always determine three parameters, so the
    effective parameters fit the network by construction; whether the model's *loss* at them is
    the network's loss is a check with more data than unknowns. NaN where ξ is undefined.
    """
    beta, alpha, xi = (np.array([np.nan if v is None else v for v in records[k]], float) for k in ("beta", "alpha", "xi"))
    net_loss = np.asarray(records["eval_loss"], float)
    ok = np.isfinite(beta) & np.isfinite(alpha) & np.isfinite(xi)
    model_loss = np.full_like(net_loss, np.nan)
    if ok.any():
        model_loss[ok] = InductionHeadModel(N, L).loss(beta[ok], alpha[ok], xi[ok])
    gap = model_loss - net_loss
    worst = int(np.nanargmax(np.abs(gap))) if ok.any() else None
    return {"step": np.asarray(records["step"]), "net_eval_loss": net_loss, "model_loss": model_loss, "gap": gap,
            "max_abs_loss_gap": None if worst is None else float(abs(gap[worst])),
            "step_of_max_gap": None if worst is None else int(records["step"][worst])}


def scaling_point(config: dict) -> dict:
    """One network run of the scaling study (module-level, so process pools and Dask can ship it).

    ``config``: N, L, D, eps, seed, lr, steps, eval_every, eval_size, batch_size, weight_decay
    (:meth:`phenom.settings.ScalingSetting.configs` makes them). Training stops once two held-out
    evaluations in a row reach :func:`stop_level`. Returns the network's transition step
    (None if it never reaches :func:`transition_level`) and the last step trained.
    """
    _, hist = scaling_run(config)
    return {"net_step": transition_step(hist.step, hist.icl_acc, transition_level(config["N"])),
            "last_step": int(hist.step[-1]),
            "final_icl_acc": float(hist.icl_acc[-1]), "max_icl_acc": float(np.max(hist.icl_acc))}


def stop_level(N: int) -> float:
    """ICL accuracy three quarters of the way from the plateau at 1/N to 1: once two evaluations
    in a row reach it, the transition (at :func:`transition_level`) is behind the run."""
    return (1 + transition_level(N)) / 2


def scaling_run(config: dict, on_evaluation=None, stop_at: float | None = None):
    """The training run behind :func:`scaling_point`: (network, History). Training stops once two
    evaluations in a row reach ICL accuracy ``stop_at`` (default :func:`stop_level`, which leaves
    the transition step unchanged: the history up to it is the same). ``on_evaluation(net, task,
    history)`` is called after every evaluation (e.g. to measure the network there); it must not
    change the network."""
    from .nets import AttentionNetwork, CopyingTask, train

    task = CopyingTask(N=config["N"], L=config["L"], D=config["D"], eps=config["eps"])
    net = AttentionNetwork.init(task, "linear", seed=config["seed"])

    level = stop_level(config["N"]) if stop_at is None else stop_at

    def done(hist) -> bool:
        if on_evaluation is not None:
            on_evaluation(net, task, hist)
        acc = hist.icl_acc
        return len(acc) >= 2 and bool(np.all(acc[-2:] >= level))

    hist = train(net, task, steps=config["steps"], lr=config["lr"], optimizer="sgd", batch_size=config["batch_size"],
                 seed=config["seed"], weight_decay=config["weight_decay"], eval_every=config["eval_every"],
                 eval_size=config["eval_size"], progress=False, stop_when=done)
    return net, hist
