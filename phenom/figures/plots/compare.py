"""Figures that put the phenomenological flow and the trained network on shared axes, drawn
from saved results."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from phenom.figures.plots._style import (
    COLOR,
    PARAMETERS,
    SYMBOL,
    arr,
    colormaps,
    fmt,
    plain_log_ticks,
    styled,
    subplots,
)

__all__ = ["compare", "scaling", "growth", "chain"]

TIME = "flow time t  (network: c · lr · step)"


@styled
def compare(result: dict) -> Figure:
    """Loss, P(correct) and (β, α, ξ) of the flow and the networks against flow time.

    Network steps are mapped by t = c·lr·step; beside them the flow on the steps by the stored
    c and the extended model's curves; and the model's loss at the network's effective
    parameters against the network's own loss.

    Parameters
    ----------
    result : dict
        The saved result (``compare.json``): what :func:`~phenom.figures.jobs.compare.compare`
        returns, with the ``setting`` it was computed from (as a dict).

    Returns
    -------
    Figure
        The figure (a matplotlib :class:`~matplotlib.figure.Figure`).

    Examples
    --------
    A small task (N = 2, L = 8) at lr 1, trained past its transition in 150 steps:

    >>> import tempfile
    >>> from phenom.figures.jobs import compare as jobs
    >>> from phenom.figures.plots.compare import compare
    >>> from phenom.figures.settings import CompareSetting
    >>> s = CompareSetting(N=2, L=8, lr=1.0, steps=150, evals=15, batch_size=64, eval_size=64, seeds=(0,), samples=30)
    >>> fig = compare({"setting": s.to_dict(), **jobs.compare(s, tempfile.mkdtemp())})
    >>> fig.axes[1].get_title().splitlines()[1]
    'stored c: transition at step 107 against 95 (+13%)'
    """
    s, flow, nets, summary = result["setting"], result["flow"], result["networks"], result["summary"]
    fig, axes = subplots(2, 2, figsize=(14, 9))
    (ax_l, ax_a), (ax_p, ax_r) = axes
    t = arr(flow["t"])
    ax_l.plot(t, arr(flow["loss"]), color="k", lw=2.2, label="flow")
    ax_a.plot(t, arr(flow["p_correct"]), color="k", lw=2.2, label="flow: P(correct)")
    ax_a.plot(t, arr(flow["p_context"]), color="k", lw=1.2, ls=":", label="flow: P(label in context)")
    stored = result["stored_constant"]
    where = "fitted here" if not stored["held_out"] else f"fitted at (N, L) = {tuple(stored['fitted_at'])}"
    ax_a.plot(
        summary["c"] * s["lr"] * arr(stored["step"]),
        arr(stored["p_correct"]),
        color="tab:green",
        lw=1.6,
        ls="--",
        label=f"flow on the steps by the stored c = {stored['c']:.3g} ({where})",
    )
    ext = result["extended"]
    t_ext = summary["c"] * s["lr"] * arr(ext["step"])
    ax_l.plot(t_ext, arr(ext["loss"]), color="tab:blue", lw=1.6, ls="-.", label="extended model (stored c)")
    ax_a.plot(t_ext, arr(ext["p_correct"]), color="tab:blue", lw=1.6, ls="-.", label="extended model: P(correct)")
    ax_a.plot(
        t_ext, arr(ext["p_context"]), color="tab:blue", lw=1.0, ls=":", label="extended model: P(label in context)"
    )
    for name in PARAMETERS:
        ax_p.plot(t, arr(flow[name]), color=COLOR[name], lw=2.2, label=f"flow {SYMBOL[name]}")
    for i, (net, rec) in enumerate(zip(nets, result["reconstruction"], strict=True)):
        first = i == 0
        tn = arr(net["t"])
        ax_l.plot(
            tn,
            arr(net["eval_loss"]),
            color="tab:orange",
            lw=1.2,
            alpha=0.8,
            label="network (held-out)" if first else None,
        )
        ax_a.plot(
            tn,
            arr(net["p_correct"]),
            color="tab:orange",
            lw=1.2,
            alpha=0.8,
            label="network: mean P(correct)" if first else None,
        )
        ax_a.plot(
            tn,
            arr(net["p_context"]),
            color="tab:purple",
            lw=1.0,
            alpha=0.7,
            ls=":",
            label="network: P(label in context)" if first else None,
        )
        for name in PARAMETERS:
            ax_p.plot(
                tn,
                arr(net[name]),
                color=COLOR[name],
                lw=1.0,
                ls="--",
                alpha=0.8,
                label=f"network {SYMBOL[name]} (effective)" if first else None,
            )
        ax_r.plot(
            tn,
            arr(rec["net_eval_loss"]),
            color="tab:orange",
            lw=1.5,
            label="network's held-out loss" if first else None,
        )
        ax_r.plot(
            tn,
            arr(rec["model_loss"]),
            color="k",
            lw=1.2,
            ls="--",
            label="model's loss at the network's effective (β, α, ξ)" if first else None,
        )
        ax_r.plot(
            tn,
            arr(rec["expected_model_loss"]),
            color="tab:blue",
            lw=1.2,
            ls="-.",
            label="model's loss at each sequence's margins, averaged" if first else None,
        )
    ax_l.set(
        xlabel=TIME,
        ylabel="cross-entropy",
        ylim=(0, None),
        title=f"Loss: plateau {summary['flow_plateau_loss']:.2f} (flow), {summary['net_plateau_loss']:.2f} (network)",
    )
    ax_l.legend(loc="lower left")
    rms, held = summary["rms_p_correct_distance"], summary["held_out_rms_p_correct_distance"]
    held_text = "" if held is None else f"; c from the other seeds: {min(held):.3f}–{max(held):.3f}"
    ax_a.set(
        xlabel=TIME,
        ylabel="probability",
        ylim=(0, 1.02),
        title=(
            f"P(correct): RMS distance {min(rms):.3f}–{max(rms):.3f}{held_text}\nstored c: transition at step "
            f"{stored['predicted_step']:.0f} against {summary['net_transition_mean']:.0f} "
            f"({stored['relative_error']:+.0%})"
        ),
    )
    ax_a.legend(loc="center right", fontsize=8)
    ax_p.set(xlabel=TIME, ylabel="parameter", title="β, α, ξ: flow (solid) and network readings (dashed)")
    ax_p.legend(loc="upper left", fontsize=8, ncol=2)
    ax_r.set(
        xlabel=TIME,
        ylabel="cross-entropy",
        ylim=(0, None),
        title=(
            f"Model's loss against the network's: largest gap {summary['max_abs_loss_gap']:.2f} at averaged\n"
            f"parameters, {summary['max_abs_expected_gap']:.2f} under the per-sequence spread of margins"
        ),
    )
    ax_r.legend(loc="lower left", fontsize=9)
    n = len(nets)
    fig.suptitle(
        f"Theory against simulation, N = {s['N']}, L = {s['L']}, SGD lr {s['lr']:g}: c = {summary['c']:.3g} "
        f"fitted on these runs' transition (flow cliff t = {summary['flow_transition']:.1f}, network step "
        f"{summary['net_transition_mean']:.0f} ± {summary['net_transition_sd']:.0f} "
        f"over {n} seed{'s' if n > 1 else ''})"
    )
    return fig


def _stats_title(name: str, summary: dict) -> str:
    within = ", ".join(f"{N}: {fmt(v)}" for N, v in summary["within_N_spearman"].items())
    return (
        f"{name} (c = {summary['c']:.3g}): Spearman {fmt(summary['spearman'])} pooled\nwithin N = {within}\n"
        f"median |rel. error| {summary['median_abs_relative_error']:.0%}, largest "
        f"{summary['max_abs_relative_error']:.0%}"
    )


def _predicted_vs_observed(ax, rows, key: str, summary: dict, top: float, held_out, title: str) -> None:
    ref = tuple(summary["reference"])
    Ns = sorted({r["N"] for r in rows})
    markers = dict(zip(Ns, "osD^v<>p", strict=False))
    colors = colormaps["viridis"]
    lo, hi = np.inf, 0.0
    for r in rows:
        if r[key] is None or not r["net_steps"]:
            continue
        pred, steps = r[key], np.array(r["net_steps"], dtype=float)
        frac = (np.log(r["L"] / r["N"]) / np.log(top)) if r["L"] > r["N"] else 0
        is_ref = (r["N"], r["L"]) == ref
        ax.errorbar(
            pred,
            steps.mean(),
            yerr=[[steps.mean() - steps.min()], [steps.max() - steps.mean()]],
            fmt=markers[r["N"]],
            color="tab:red" if is_ref else colors(0.15 + 0.7 * frac),
            ms=7,
            capsize=3,
            mfc="none" if is_ref else None,
        )
        lo, hi = min(lo, pred, steps.min()), max(hi, pred, steps.max())
    line = np.array([lo / 1.3, hi * 1.3])
    ax.plot(line, line, color="gray", ls="--", lw=1, label="observed = predicted")
    ax.fill_between(line, line / 1.2, line * 1.2, color="gray", alpha=0.12, lw=0, label="within 20%")
    for N in Ns:
        ax.plot([], [], markers[N], color="gray", label=f"N = {N}" + (" (held out)" if N in held_out else ""))
    ax.plot([], [], "o", mfc="none", color="tab:red", label=f"reference {ref} (fit; excluded)")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="predicted transition step  t / (c · lr)",
        ylabel="observed transition step (mean, min–max over seeds)",
        title=_stats_title(title, summary),
    )
    plain_log_ticks(ax.xaxis)
    plain_log_ticks(ax.yaxis)
    ax.legend(loc="upper left", fontsize=8.5)


@styled
def scaling(result: dict) -> Figure:
    """Observed network transition steps against the predictions of two flows and the extended model.

    The extended model's panel and lines are drawn when the result holds its predictions.

    The predictions are t / (c · lr), each with its own c fitted at the reference (marked,
    excluded from the statistics); the last panel draws the transition step against L/N for
    each N.

    Parameters
    ----------
    result : dict
        The saved result (``scaling.json``): what :func:`~phenom.figures.jobs.compare.scaling`
        returns, with the ``setting`` it was computed from (as a dict).

    Returns
    -------
    Figure
        The figure (a matplotlib :class:`~matplotlib.figure.Figure`).

    Examples
    --------
    A small result written by hand with the keys the plot reads (one seed at N = 2, the
    reference at (2, 8) where both models' c make the prediction exact):

    >>> from phenom.figures.plots.compare import scaling
    >>> stats = {"c": 0.41, "spearman": 1.0, "within_N_spearman": {"2": 1.0}, "reference": [2, 8],
    ...          "median_abs_relative_error": 0.07, "max_abs_relative_error": 0.08}
    >>> rows = [
    ...     {"N": 2, "L": L, "net_steps": steps, "predicted_step": ts, "mean_field_predicted_step": mf}
    ...     for L, steps, ts, mf in [(2, [], None, None), (3, [140.0], 134.0, 150.0), (4, [125.0], 116.0, 128.0),
    ...                              (8, [110.0], 110.0, 110.0), (16, [132.0], 121.0, 101.0)]
    ... ]
    >>> setting = {"Ns": [2], "ratios": [1.5, 2, 4, 8], "seeds": [0], "seed_counts": [1], "lr": 1.0,
    ...            "batch_size": 64, "held_out": []}
    >>> fig = scaling({"setting": setting, "rows": rows, "summary": stats, "mean_field": stats})
    >>> fig.axes[0].get_title().splitlines()
    ['Time-scale model (c = 0.41): Spearman 1.00 pooled', 'within N = 2: 1.00', 'median |rel. error| 7%, largest 8%']
    """
    s, rows, summary, mf = result["setting"], result["rows"], result["summary"], result["mean_field"]
    held_out = tuple(s.get("held_out", ()))
    extended = result.get("extended")
    if extended is None:
        fig, (ax_ts, ax_mf, ax_l) = subplots(1, 3, figsize=(19, 6.6))
    else:
        fig, ((ax_ts, ax_mf), (ax_ex, ax_l)) = subplots(2, 2, figsize=(15, 13))
    top = max(s["ratios"])
    if extended is not None:
        _predicted_vs_observed(ax_ex, rows, "extended_predicted_step", extended, top, held_out, "Extended model")
    _predicted_vs_observed(ax_ts, rows, "predicted_step", summary, top, held_out, "Time-scale model")
    _predicted_vs_observed(ax_mf, rows, "mean_field_predicted_step", mf, top, held_out, "Mean-field flow")
    ax_ts.text(
        0.98, 0.03, f"colour: L from N+1 (dark) to {top:g}N (light)", transform=ax_ts.transAxes, ha="right", fontsize=9
    )
    predictions = [
        ("predicted_step", "-", 1.8, "time-scale model"),
        ("mean_field_predicted_step", ":", 1.5, "mean-field flow"),
    ]
    if extended is not None:
        predictions.append(("extended_predicted_step", "--", 1.5, "extended model"))
    for N in sorted({r["N"] for r in rows}):
        sub = sorted((r for r in rows if r["N"] == N and r["L"] > N and r["net_steps"]), key=lambda r: r["L"])
        ratio = [r["L"] / N for r in sub]
        (handle,) = ax_l.plot(ratio, [np.mean(r["net_steps"]) for r in sub], "o", ms=7, label=f"network, N = {N}")
        for key, style, width, _ in predictions:
            steps = [np.nan if r[key] is None else r[key] for r in sub]
            ax_l.plot(ratio, steps, style, color=handle.get_color(), lw=width)
    for _, style, _, name in predictions:
        ax_l.plot([], [], style, color="gray", label=name)
    ax_l.set(
        xscale="log",
        yscale="log",
        xlabel="L / N",
        ylabel="transition step",
        title="Transition step against L/N: network (dots) and predictions\n(L = N: no transition in budget)",
    )
    low, high = ax_l.get_ylim()
    ax_l.set_ylim(low, high * 3)  # room for the legend above the data
    plain_log_ticks(ax_l.xaxis)
    plain_log_ticks(ax_l.yaxis)
    ax_l.legend(fontsize=8.5, ncol=3, loc="upper center")
    counts = dict(zip(s["Ns"], s.get("seed_counts") or [len(s["seeds"])] * len(s["Ns"]), strict=True))
    per_N = sorted(set(counts.values()), reverse=True)
    seeds = ", ".join(
        f"{k} seed{'s' if k > 1 else ''}"
        + ("" if len(per_N) == 1 else " at N = " + ", ".join(str(N) for N, v in counts.items() if v == k))
        for k in per_N
    )
    fig.suptitle(
        f"When does the induction head form? Network (linear read-out, SGD lr {s['lr']:g}, batch "
        f"{s['batch_size']}, {seeds}){' ' if extended is None else chr(10)}against "
        f"{'two' if extended is None else 'three'} models, each with one constant c fitted at "
        f"(N, L) = {tuple(summary['reference'])}"
    )
    return fig


def _measured_metric_panel(ax, run: dict, end: float) -> None:
    """The network's measured C_k along training (positive values, log scale) against the model's
    c · C_k; the plateau (10–90% of the transition step) shaded."""
    for name in PARAMETERS:
        steps = np.array([r["step"] for r in run["probes"]], float)
        values = arr([r["C"][name] for r in run["probes"]])
        keep = (steps <= end) & (values > 0)
        ax.plot(steps[keep], values[keep], "o", ms=3.5, color=COLOR[name], label=f"measured C {SYMBOL[name]}")
        ax.axhline(run["model_C"][name], color=COLOR[name], lw=1.6)
    if run["observed_step"] is not None:
        ax.axvspan(0.1 * run["observed_step"], 0.9 * run["observed_step"], color="gray", alpha=0.1, lw=0)
    medians = ", ".join(f"{SYMBOL[k]} {fmt(run['plateau_median_C'][k], '.2g')}" for k in PARAMETERS)
    ax.set(
        yscale="log",
        xlim=(0, end),
        xlabel="training step",
        ylabel="rate over the mean-field rate",
        title=f"measured C (dots) against the model's c·C (lines);\nplateau (shaded) medians {medians}",
    )


@styled
def growth(result: dict) -> Figure:
    """Each run's effective β, α, ξ against the step, beside both models' flows.

    The time-scale model's flow (solid) and the mean-field flow (dotted) go on the same step axis
    through their stored constants; the fourth panel of each row draws the network's measured
    metric C against the model's.

    Parameters
    ----------
    result : dict
        The saved result (``growth.json``): what :func:`~phenom.figures.jobs.compare.growth`
        returns, with the ``setting`` it was computed from (as a dict).

    Returns
    -------
    Figure
        The figure (a matplotlib :class:`~matplotlib.figure.Figure`).

    Examples
    --------
    Twenty steps at N = 2, L = 4 (one row of four panels; far before the transition):

    >>> import tempfile
    >>> from phenom.figures.jobs import compare as jobs
    >>> from phenom.figures.plots.compare import growth
    >>> from phenom.figures.settings import GrowthSetting
    >>> s = GrowthSetting(Ns=(2,), Ls=(4,), steps=20, eval_every=10, probe_every=10, probe_size=32,
    ...                   samples=10, min_D=16, eval_size=64, batch_size=32)
    >>> fig = growth({"setting": s.to_dict(), **jobs.growth(s, tempfile.mkdtemp())})
    >>> len(fig.axes), fig.axes[0].get_title().splitlines()[1]
    (4, 'n/a (network), n/a (model)')
    """
    s, runs = result["setting"], result["runs"]
    fig, axes = subplots(len(runs), 4, figsize=(21, 3.4 * len(runs) + 0.8), squeeze=False)
    for row, run in zip(axes, runs, strict=True):
        net = run["network"]
        ts, mf = run["models"]["time_scales"], run["models"]["mean_field"]
        end = 1.4 * max(v for v in (run["observed_step"], ts["predicted_step"]) if v is not None)
        step = arr(net["step"])
        keep = step <= end
        for ax, name in zip(row, PARAMETERS, strict=False):
            ax.plot(step[keep], arr(net[name])[keep], "o", ms=3, color=COLOR[name], alpha=0.7, label="network")
            for model, style in ((ts, "-"), (mf, ":")):
                x = arr(model["curves"]["step"])
                ax.plot(x[x <= end], arr(model["curves"][name])[x <= end], style, color="k", lw=1.6)
            if run["observed_step"] is not None:
                ax.axvline(run["observed_step"], color="gray", lw=1, ls="--")
            ax.axvline(ts["predicted_step"], color="k", lw=0.8, ls="-", alpha=0.5)
            rise, pred = run["network_rise_step"][name], ts["rise_step"][name]
            rise_text = f"{fmt(rise, '.0f')} (network), {fmt(pred, '.0f')} (model)"
            ax.set(
                xlim=(0, end),
                xlabel="training step",
                ylabel=f"effective {SYMBOL[name]}",
                title=f"N = {run['N']}, L = {run['L']}: {SYMBOL[name]} rises by 1 at step\n{rise_text}",
            )
        _measured_metric_panel(row[3], run, end)
        row[0].plot([], [], "-", color="k", label="time-scale model")
        row[0].plot([], [], ":", color="k", label="mean-field flow")
        row[0].plot([], [], "--", color="gray", label="network transition")
        row[0].plot([], [], "-", color="k", lw=0.8, alpha=0.5, label="predicted transition")
        row[0].legend(fontsize=8, loc="upper left")
        row[3].legend(fontsize=8, loc="lower right")
    c = runs[0]["models"]["time_scales"]["c"]
    fig.suptitle(
        f"Early growth of the effective parameters: network (dots; seed {s['seed']}, SGD lr {s['lr']:g}) "
        f"against the time-scale model (solid, c = {c:.3g} fitted at (8, 32), no fit here) and the mean-field "
        f"flow (dotted)"
    )
    return fig


@styled
def chain(result: dict) -> Figure:
    """Exact minimal model = numpy minimal network → mean-field model → the full network.

    Parameters
    ----------
    result : dict
        The saved result (``chain.json``): what :func:`~phenom.figures.jobs.compare.chain`
        returns, with the ``setting`` it was computed from (as a dict).

    Returns
    -------
    Figure
        The figure (a matplotlib :class:`~matplotlib.figure.Figure`).

    Examples
    --------
    A small result written by hand with the keys the plot reads; the third panel's title orders
    the network's parameters by when each first rises by 1:

    >>> from phenom.figures.plots.compare import chain
    >>> t = [0.0, 10.0, 20.0]
    >>> minimal = {
    ...     "setting": {"N": 2, "L": 4},
    ...     "summary": {"numpy_minimal_vs_exact_max_rel": 1e-12, "max_abs_difference_along_flows": 0.05},
    ...     "curves": {"t": t, "exact_loss": [1.39, 1.0, 0.1], "mean_field_loss": [1.39, 1.05, 0.12],
    ...                "exact_loss_at_checks": [1.39, 0.1], "numpy_minimal_loss": [1.39, 0.1],
    ...                "exact_cliff": 11.0, "mean_field_cliff": 11.5},
    ... }
    >>> compared = {
    ...     "setting": {"N": 2, "L": 4, "seeds": [0]},
    ...     "flow": {"t": t, "beta": [0.2, 0.3, 1.5], "alpha": [0.0, 0.5, 3.0], "xi": [0.0, 1.2, 5.0]},
    ...     "networks": [{"t": t, "beta": [0.5, 0.6, 1.8], "alpha": [0.0, 0.4, 2.5], "xi": [0.0, 1.5, 6.0]}],
    ...     "summary": {"net_time_each_parameter_rises_by_1": [{"beta": 18.0, "alpha": 13.0, "xi": 7.0}]},
    ... }
    >>> fig = chain({"minimal": minimal, "compare": compared})
    >>> title = fig.axes[2].get_title()
    >>> title.startswith("3. The network (seed 0) rises by 1")
    True
    >>> title.index("xi") < title.index("alpha") < title.index("beta")  # ξ first, then α, then β
    True
    """
    minimal, comparison = result["minimal"], result["compare"]
    fig, (ax_e, ax_m, ax_n) = subplots(1, 3, figsize=(16, 4.5))
    curves = minimal["curves"]
    exact_at = arr(curves["exact_loss_at_checks"])
    ax_e.plot(exact_at, arr(curves["numpy_minimal_loss"]), "o", color="tab:orange", ms=6)
    lim = [0, max(exact_at) * 1.05]
    ax_e.plot(lim, lim, color="gray", ls="--", lw=1)
    ax_e.set(
        xlabel="exact minimal model (sympy)",
        ylabel="numpy minimal network",
        xlim=lim,
        ylim=lim,
        title=f"1. numpy vs exact: largest relative gap {minimal['summary']['numpy_minimal_vs_exact_max_rel']:.1e}",
    )
    t = arr(curves["t"])
    ax_m.plot(t, arr(curves["exact_loss"]), color="k", lw=2, label="exact minimal model")
    ax_m.plot(t, arr(curves["mean_field_loss"]), color="tab:blue", lw=2, ls="--", label="mean-field model")
    ax_m.fill_between(
        t, arr(curves["exact_loss"]), arr(curves["mean_field_loss"]), color="tab:red", alpha=0.25, label="difference"
    )
    ax_m.set(
        xlabel="flow time t",
        ylabel="loss along each model's own flow",
        ylim=(0, None),
        title=f"2. Mean field: cliff {fmt(curves['mean_field_cliff'], '.1f')} vs "
        f"{fmt(curves['exact_cliff'], '.1f')}, largest |Δ| "
        f"{minimal['summary']['max_abs_difference_along_flows']:.2f}",
    )
    ax_m.legend(loc="lower left")
    flow, nets, summary = comparison["flow"], comparison["networks"], comparison["summary"]
    for name in PARAMETERS:
        ax_n.plot(arr(flow["t"]), arr(flow[name]), color=COLOR[name], lw=2, label=f"mean-field flow {SYMBOL[name]}")
        ax_n.plot(
            arr(nets[0]["t"]), arr(nets[0][name]), color=COLOR[name], lw=1.2, ls="--", label=f"network {SYMBOL[name]}"
        )
    rises = summary["net_time_each_parameter_rises_by_1"][0]
    order = ", then ".join(
        SYMBOL[k] for k, v in sorted(rises.items(), key=lambda kv: np.inf if kv[1] is None else kv[1]) if v is not None
    )
    ax_n.set(
        xlabel=TIME,
        ylabel="parameter",
        title=f"3. The network (seed {comparison['setting']['seeds'][0]}) rises by 1: {order}",
    )
    ax_n.legend(loc="upper left", fontsize=8, ncol=2)
    N, L = comparison["setting"]["N"], comparison["setting"]["L"]
    Nm, Lm = minimal["setting"]["N"], minimal["setting"]["L"]
    where = (
        f"N = {N}, L = {L}" if (Nm, Lm) == (N, L) else f"minimal models N = {Nm}, L = {Lm}; network N = {N}, L = {L}"
    )
    fig.suptitle(f"From the exact minimal network to the trained network, {where}")
    return fig
