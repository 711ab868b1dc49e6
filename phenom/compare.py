"""Theory against simulation: transition times of the flow and of the trained network.

The flow's transition is its cliff, the time of the largest |∇loss|. The network's is the step at
which held-out ICL accuracy first reaches halfway from the plateau 1/N to 1, (1 + 1/N)/2
(interpolated between evaluations; for N = 2 and L = N chance is already 1/2). Network steps
map to flow time as t = c · lr · step with one scalar c: the flow's dθ/dt = −lr ∇loss and SGD's
θ ← θ − lr ∇loss agree at c = 1 only if the network's parameters *were* β, α, ξ; they are not
(β, α, ξ are readings of many weights, and each moves at its own effective rate), so c is fitted,
once, on a reference configuration, and then predicts every other one (:func:`scaling_summary`).
"""

from __future__ import annotations

import numpy as np

from . import _validate
from .flow import induction_flow

__all__ = ["transition_level", "transition_step", "flow_transition_times", "fit_time_scale", "scaling_summary", "scaling_point"]


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


def flow_transition_times(pairs, lr: float = 1.0, t_max: float = 5000.0) -> list[float | None]:
    """Cliff times of the β, α, ξ flow from θ = 0 for each (N, L), one batched solve."""
    pairs = [_validate.pairs(N, L) for N, L in pairs]
    flows = induction_flow(N=[p[0] for p in pairs], L=[p[1] for p in pairs], t_max=t_max, lr=lr)
    return [traj.cliff() for traj in flows]


def fit_time_scale(flow_time: float, net_step: float, lr: float) -> float:
    """c in t = c · lr · step from one configuration's two transition times."""
    return float(flow_time / (lr * net_step))


def _spearman(x, y) -> float:
    rx, ry = (np.argsort(np.argsort(v)).astype(float) for v in (x, y))
    rx, ry = rx - rx.mean(), ry - ry.mean()
    return float(np.sum(rx * ry) / np.sqrt(np.sum(rx**2) * np.sum(ry**2)))


def scaling_summary(rows: list[dict], reference: tuple[int, int], lr: float) -> dict:
    """Rank correlation, log-log slope and the predictions of one fitted c.

    ``rows`` hold N, L, flow_time and net_step (seed-averaged or per seed; None = no transition).
    c is fitted on the ``reference`` (N, L) (mean over its seeds) and used to predict the step of
    every other configuration; the summary gives each relative error.
    """
    usable = [r for r in rows if r["flow_time"] is not None and r["net_step"] is not None]
    ref = [r for r in usable if (r["N"], r["L"]) == tuple(reference)]
    if len(usable) < 3 or not ref:
        raise ValueError("scaling_summary needs >= 3 configurations with transitions, the reference among them")
    c = fit_time_scale(np.mean([r["flow_time"] for r in ref]), np.mean([r["net_step"] for r in ref]), lr)
    t = np.array([r["flow_time"] for r in usable])
    s = np.array([r["net_step"] for r in usable])
    slope, intercept = np.polyfit(np.log(t), np.log(s), 1)
    predicted = t / (c * lr)
    rel = (predicted - s) / s
    return {
        "c": c,
        "reference": list(reference),
        "spearman": _spearman(t, s),
        "loglog_slope": float(slope),
        "loglog_intercept": float(intercept),
        "median_abs_relative_error": float(np.median(np.abs(rel))),
        "max_abs_relative_error": float(np.max(np.abs(rel))),
        "predictions": [{"N": r["N"], "L": r["L"], "seed": r.get("seed"), "observed_step": r["net_step"],
                         "predicted_step": float(p), "relative_error": float(e)}
                        for r, p, e in zip(usable, predicted, rel)],
    }


def scaling_point(config: dict) -> dict:
    """One network run of the scaling study (module-level, so process pools and Dask can ship it).

    ``config``: N, L, D, eps, seed, lr, steps, eval_every. Training stops once held-out ICL
    accuracy has stayed above 0.9 for three evaluations. Returns the network's transition step
    (None if it never reaches :func:`transition_level`) and the last step trained.
    """
    from .nets import AttentionNetwork, CopyingTask, train

    task = CopyingTask(N=config["N"], L=config["L"], D=config["D"], eps=config["eps"])
    net = AttentionNetwork.init(task, "linear", seed=config["seed"])

    def done(hist) -> bool:
        acc = hist.icl_acc
        return len(acc) >= 3 and bool(np.all(acc[-3:] > 0.9))

    hist = train(net, task, steps=config["steps"], lr=config["lr"], optimizer="sgd", batch_size=128,
                 seed=config["seed"], weight_decay=1e-6, eval_every=config["eval_every"], eval_size=1024,
                 progress=False, stop_when=done)
    return {"net_step": transition_step(hist.step, hist.icl_acc, transition_level(config["N"])),
            "last_step": int(hist.step[-1]),
            "final_icl_acc": float(hist.icl_acc[-1]), "max_icl_acc": float(np.max(hist.icl_acc))}
