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

__all__ = ["rank_correlation", "scaling_summary", "reconstruction", "slope", "group_statistics", "delay_ratios"]


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


def slope(x, y) -> float | None:
    """The least-squares slope of ``y`` on ``x`` through their finite points.

    Parameters
    ----------
    x, y : array_like
        Two sequences of numbers of the same length (NaN allowed: those points are left out).

    Returns
    -------
    float or None
        The slope; None with fewer than three finite points.

    Examples
    --------
    >>> from phenom.figures.statistics import slope
    >>> round(slope([0, 1, 2, 3], [1, 3, 5, 7]), 12), slope([0, 1, float("nan")], [0, 1, 2])
    (2.0, None)
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return None
    return float(np.polyfit(x[ok], y[ok], 1)[0])


_CONFIG = ("N", "L", "D", "lr", "batch_size", "eps")


def group_statistics(runs: list[dict], key: str, targets: dict) -> dict:
    """A group's transition errors and plateau distances for one model, against targets.

    The relative error of each configuration (N, L, D, lr, batch size, ε) is the model's predicted
    step over the mean of its seeds' transition steps, less 1 (a configuration with a seed that
    never made its transition is left out); the plateau distances and ξ-rate ratios are per run.

    Parameters
    ----------
    runs : list of dict
        Runs of the extended figure: each with its configuration, ``net_step``, ``model_step``,
        ``three_parameter_step`` and ``<key>_plateau`` (``rms_p_context``, ``rms_loss``,
        ``xi_rate_ratio``).
    key : str
        ``"model"`` (the extended model) or ``"three_parameter"``.
    targets : dict
        ``plateau_rms_p_context``, ``plateau_rms_loss`` (largest RMS allowed), ``xi_rate_ratio``
        (the ratio allowed either way), ``median_abs_relative_error``, ``max_abs_relative_error``.

    Returns
    -------
    dict
        ``configurations``, ``runs``, ``relative_errors``, their median and largest size, the
        median and largest plateau RMS of each curve, the ξ-rate ratios' median and range, and
        ``targets_met`` (each target: met or not).

    Examples
    --------
    >>> from phenom.figures.statistics import group_statistics
    >>> plateau = {"rms_p_context": 0.04, "rms_loss": 0.08, "xi_rate_ratio": 1.5}
    >>> runs = [{"N": 4, "L": 16, "D": 63, "lr": 0.5, "batch_size": 128, "eps": 0.1, "net_step": s,
    ...          "model_step": 450.0, "model_plateau": plateau} for s in (400.0, 500.0)]
    >>> targets = {"plateau_rms_p_context": 0.05, "plateau_rms_loss": 0.1, "xi_rate_ratio": 2.0,
    ...            "median_abs_relative_error": 0.05, "max_abs_relative_error": 0.12}
    >>> out = group_statistics(runs, "model", targets)
    >>> out["relative_errors"], all(out["targets_met"].values())
    ([0.0], True)
    """
    configs: dict[tuple, list[dict]] = {}
    for r in runs:
        configs.setdefault(tuple(r[k] for k in _CONFIG), []).append(r)
    errors = []
    for members in configs.values():
        steps = [m["net_step"] for m in members]
        if None not in steps:
            predicted = members[0]["model_step" if key == "model" else "three_parameter_step"]
            errors.append(predicted / float(np.mean(steps)) - 1.0)
    plateau = [r[key + "_plateau"] for r in runs if r["net_step"] is not None]
    out: dict = {"configurations": len(configs), "runs": len(runs), "relative_errors": errors}
    if errors:
        out["median_abs_relative_error"] = float(np.median(np.abs(errors)))
        out["max_abs_relative_error"] = float(np.max(np.abs(errors)))
    for name in ("rms_p_context", "rms_loss"):
        values = [p[name] for p in plateau]
        if values:
            out["median_" + name], out["max_" + name] = float(np.median(values)), float(np.max(values))
    ratios = [p["xi_rate_ratio"] for p in plateau if p["xi_rate_ratio"] is not None]
    if ratios:
        out["xi_rate_ratio"] = {
            "median": float(np.median(ratios)),
            "min": float(min(ratios)),
            "max": float(max(ratios)),
        }
    allowed = targets["xi_rate_ratio"]
    out["targets_met"] = {
        "plateau_rms_p_context": bool(plateau) and out["max_rms_p_context"] <= targets["plateau_rms_p_context"],
        "plateau_rms_loss": bool(plateau) and out["max_rms_loss"] <= targets["plateau_rms_loss"],
        "xi_rate_ratio": bool(ratios) and 1 / allowed <= min(ratios) <= max(ratios) <= allowed,
        "median_abs_relative_error": bool(errors)
        and out["median_abs_relative_error"] <= targets["median_abs_relative_error"],
        "max_abs_relative_error": bool(errors) and out["max_abs_relative_error"] <= targets["max_abs_relative_error"],
    }
    return out


def delay_ratios(runs: list[dict]) -> list[dict]:
    """The network's transition delay with the embedding dimension D, beside the model's.

    For each (N, L) trained at several D with lr 0.5, batch 128 and ε = 0.1: the mean transition
    step of its seeds at each larger D over the mean at the smallest D, and the same ratio of the
    model's predicted steps (configurations with a seed that never made its transition are left
    out).

    Parameters
    ----------
    runs : list of dict
        Runs of the extended figure (configuration, ``net_step``, ``model_step``).

    Returns
    -------
    list of dict
        One entry per (N, L) and larger D: ``N``, ``L``, ``D``, ``base_D``, ``network_ratio``,
        ``model_ratio``.

    Examples
    --------
    >>> from phenom.figures.statistics import delay_ratios
    >>> runs = [{"N": 8, "L": 32, "D": D, "lr": 0.5, "batch_size": 128, "eps": 0.1, "net_step": s,
    ...          "model_step": m} for D, s, m in ((63, 1000.0, 1040.0), (127, 1300.0, 1050.0))]
    >>> [(r["D"], r["network_ratio"], round(r["model_ratio"], 4)) for r in delay_ratios(runs)]
    [(127, 1.3, 1.0096)]
    """
    standard = [r for r in runs if r["lr"] == 0.5 and r["batch_size"] == 128 and r["eps"] == 0.1]
    out = []
    for N, L in sorted({(r["N"], r["L"]) for r in standard}):
        by_D: dict[int, list[dict]] = {}
        for r in standard:
            if (r["N"], r["L"]) == (N, L):
                by_D.setdefault(r["D"], []).append(r)
        if len(by_D) < 2 or any(m["net_step"] is None for ms in by_D.values() for m in ms):
            continue
        base = min(by_D)
        net0, model0 = np.mean([m["net_step"] for m in by_D[base]]), by_D[base][0]["model_step"]
        for D in sorted(by_D)[1:]:
            ratio = float(np.mean([m["net_step"] for m in by_D[D]]) / net0)
            out.append(
                {
                    "N": N,
                    "L": L,
                    "D": D,
                    "base_D": base,
                    "network_ratio": ratio,
                    "model_ratio": float(by_D[D][0]["model_step"] / model0),
                }
            )
    return out
