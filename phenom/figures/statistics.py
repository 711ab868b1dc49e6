"""Theory against simulation in numbers: how well the flow's transition times predict the trained
network's (Reddy, ICLR 2024), and whether the model's loss is the network's.

Network steps map to flow time as t = c · lr · step with one scalar c
(:mod:`phenom.induction.prediction`). :func:`scaling_summary` fits c once, at a reference
configuration, and scores every other configuration's predicted step t / (c · lr) against the
observed one: relative errors, Spearman rank correlations (:func:`rank_correlation`) pooled and
within each N (a pooled correlation can come from the levels of N alone), a log-log slope, and
the same for the configurations of held-out N (kept out of every choice made in building the
model). :func:`reconstruction` evaluates the mean-field loss at the network's effective
(β, α, ξ) at every evaluation, against the network's own held-out loss: three statistics always
fit three parameters, so agreement of the *loss* is a check with more data than unknowns.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from phenom.induction.model import InductionHeadModel
from phenom.induction.prediction import fit_time_scale

__all__ = ["rank_correlation", "scaling_summary", "reconstruction"]


def rank_correlation(x, y) -> float | None:
    """Spearman's rank correlation of two sequences, or None where undefined.

    Spearman's rank correlation (ties share their mean rank); None for fewer than three
    points or a constant sequence, where it is undefined.

    Parameters
    ----------
    x, y : array_like
        Two sequences of numbers of the same length.

    Returns
    -------
    float or None
        The correlation of their ranks, from -1 to 1; None where it is undefined.

    Examples
    --------
    >>> from phenom.figures.statistics import rank_correlation
    >>> round(rank_correlation([1, 2, 3, 4], [10, 30, 20, 40]), 4)
    0.8
    >>> rank_correlation([1, 2], [1, 2]), rank_correlation([1, 2, 3], [5, 5, 5])
    (None, None)
    """
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

    Parameters
    ----------
    rows : list of dict
        One per run: ``N``, ``L``, ``flow_time`` and ``net_step`` (None: no transition; such
        rows are left out), and optionally ``seed``.
    reference : tuple of int
        The (N, L) at which c is fitted; it needs at least one usable run, and three other
        usable runs are needed (ValueError otherwise).
    lr : float
        The networks' learning rate.
    held_out : tuple of int, default ()
        The N values kept out of building the model.

    Returns
    -------
    dict
        ``c``, the reference's mean flow time and step, pooled statistics (``spearman``,
        ``median_abs_relative_error``, ``max_abs_relative_error``, ``runs``, ``configurations``),
        ``within_N``, ``held_out`` and ``not_held_out`` statistics, the log-log slope and
        intercept of step against flow time, and every prediction.

    Examples
    --------
    Steps made as flow_time / (c · lr) with c = 2, off by up to 10%:

    >>> from phenom.figures.statistics import scaling_summary
    >>> runs = [(8, 32, 98.0, 1.0), (8, 64, 90.0, 1.1), (4, 16, 40.0, 0.9), (16, 64, 200.0, 1.05), (16, 32, 260.0, 1.0)]
    >>> rows = [{"N": N, "L": L, "flow_time": t, "net_step": t / (2.0 * 0.5) * off} for N, L, t, off in runs]
    >>> summary = scaling_summary(rows, reference=(8, 32), lr=0.5, held_out=(16,))
    >>> summary["c"], summary["spearman"], round(summary["median_abs_relative_error"], 4)
    (2.0, 1.0, 0.0693)
    >>> summary["held_out"]["runs"], summary["not_held_out"]["runs"]
    (2, 2)
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
    predictions = [
        {
            "N": r["N"],
            "L": r["L"],
            "seed": r.get("seed"),
            "observed_step": r["net_step"],
            "predicted_step": float(p),
            "relative_error": float((p - r["net_step"]) / r["net_step"]),
        }
        for r, p in zip(held, t / (c * lr), strict=True)
    ]
    within = {str(N): _errors([p for p in predictions if p["N"] == N]) for N in sorted({p["N"] for p in predictions})}
    groups = {
        "held_out": [p for p in predictions if p["N"] in held_out],
        "not_held_out": [p for p in predictions if p["N"] not in held_out],
    }
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
    """The mean-field loss at the network's effective (β, α, ξ) against the network's loss.

    The mean-field model's loss at the network's effective (β, α, ξ), at every evaluation,
    against the network's own held-out loss.

    Three statistics (ILA1, TILA2, the logit margin) always determine three parameters, so the
    effective parameters fit the network by construction; whether the model's *loss* at them is
    the network's loss is a check with more data than unknowns. NaN where ξ is undefined.

    Parameters
    ----------
    records : dict
        A training history's records: ``step``, ``beta``, ``alpha``, ``xi`` (None where
        undefined) and ``eval_loss``, one entry per evaluation.
    N, L : int
        The task's item-label pairs and labels.

    Returns
    -------
    dict
        ``step``, ``net_eval_loss``, ``model_loss`` and their ``gap`` (arrays, NaN where a
        parameter is undefined), ``max_abs_loss_gap`` and ``step_of_max_gap`` (None if no
        evaluation has all three parameters).

    Examples
    --------
    A network whose held-out loss is the model's at its parameters, but 0.01 above it at step 100:

    >>> from phenom.figures.statistics import reconstruction
    >>> from phenom.induction.model import InductionHeadModel
    >>> model = InductionHeadModel(8, 32)
    >>> records = {"step": [0, 100, 200], "beta": [0.0, 1.0, None], "alpha": [0.0, 2.0, 3.0], "xi": [0.0, 1.0, 2.0]}
    >>> records["eval_loss"] = [float(model.loss(0.0, 0.0, 0.0)), float(model.loss(1.0, 2.0, 1.0)) + 0.01, 3.0]
    >>> result = reconstruction(records, N=8, L=32)
    >>> round(result["max_abs_loss_gap"], 4), result["step_of_max_gap"]
    (0.01, 100)
    """
    beta, alpha, xi = (
        np.array([np.nan if v is None else v for v in records[k]], float) for k in ("beta", "alpha", "xi")
    )
    net_loss = np.asarray(records["eval_loss"], float)
    ok = np.isfinite(beta) & np.isfinite(alpha) & np.isfinite(xi)
    model_loss = np.full_like(net_loss, np.nan)
    if ok.any():
        model_loss[ok] = InductionHeadModel(N, L).loss(beta[ok], alpha[ok], xi[ok])
    gap = model_loss - net_loss
    worst = int(np.nanargmax(np.abs(gap))) if ok.any() else None
    return {
        "step": np.asarray(records["step"]),
        "net_eval_loss": net_loss,
        "model_loss": model_loss,
        "gap": gap,
        "max_abs_loss_gap": None if worst is None else float(abs(gap[worst])),
        "step_of_max_gap": None if worst is None else int(records["step"][worst]),
    }
