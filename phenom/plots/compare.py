"""Figures that put the phenomenological flow and the trained network on shared axes, drawn
from saved results."""

from __future__ import annotations

import numpy as np

from ._style import COLOR, SYMBOL, PARAMETERS, arr, plain_log_ticks, plt

__all__ = ["compare_figure", "scaling_figure", "chain_figure"]

TIME = "flow time t  (network: c · lr · step)"


def _fmt(v, spec=".2f") -> str:
    return "n/a" if v is None else format(v, spec)


def compare_figure(result: dict):
    """Loss, P(correct), (β, α, ξ) against flow time, network steps mapped by t = c·lr·step; and
    the model's loss at the network's effective parameters against the network's own loss."""
    s, flow, nets, summary = result["setting"], result["flow"], result["networks"], result["summary"]
    fig, axes = plt.subplots(2, 2, figsize=(14, 9), constrained_layout=True)
    (ax_l, ax_a), (ax_p, ax_r) = axes
    t = arr(flow["t"])
    ax_l.plot(t, arr(flow["loss"]), color="k", lw=2.2, label="flow")
    ax_a.plot(t, arr(flow["p_correct"]), color="k", lw=2.2, label="flow: P(correct)")
    ax_a.plot(t, arr(flow["p_context"]), color="k", lw=1.2, ls=":", label="flow: P(label in context)")
    for name in PARAMETERS:
        ax_p.plot(t, arr(flow[name]), color=COLOR[name], lw=2.2, label=f"flow {SYMBOL[name]}")
    for i, (net, rec) in enumerate(zip(nets, result["reconstruction"])):
        first = i == 0
        tn = arr(net["t"])
        ax_l.plot(tn, arr(net["eval_loss"]), color="tab:orange", lw=1.2, alpha=0.8, label="network (held-out)" if first else None)
        ax_a.plot(tn, arr(net["p_correct"]), color="tab:orange", lw=1.2, alpha=0.8,
                  label="network: mean P(correct)" if first else None)
        ax_a.plot(tn, arr(net["cla"]), color="tab:purple", lw=1.0, alpha=0.7, ls=":", label="network: CLA" if first else None)
        for name in PARAMETERS:
            ax_p.plot(tn, arr(net[name]), color=COLOR[name], lw=1.0, ls="--", alpha=0.8,
                      label=f"network {SYMBOL[name]} (effective)" if first else None)
        ax_r.plot(tn, arr(rec["net_eval_loss"]), color="tab:orange", lw=1.5, label="network's held-out loss" if first else None)
        ax_r.plot(tn, arr(rec["model_loss"]), color="k", lw=1.2, ls="--",
                  label="model's loss at the network's effective (β, α, ξ)" if first else None)
    ax_l.set(xlabel=TIME, ylabel="cross-entropy", ylim=(0, None),
             title=f"Loss: plateau {summary['flow_plateau_loss']:.2f} (flow), {summary['net_plateau_loss']:.2f} (network)")
    ax_l.legend(loc="lower left")
    rms, held = summary["rms_p_correct_distance"], summary["held_out_rms_p_correct_distance"]
    held_text = "" if held is None else f"; c from the other seeds: {min(held):.3f}–{max(held):.3f}"
    ax_a.set(xlabel=TIME, ylabel="probability", ylim=(0, 1.02),
             title=f"P(correct): RMS distance {min(rms):.3f}–{max(rms):.3f}{held_text}")
    ax_a.legend(loc="center right", fontsize=8.5)
    ax_p.set(xlabel=TIME, ylabel="parameter", title="β, α, ξ: flow (solid) and network readings (dashed)")
    ax_p.legend(loc="upper left", fontsize=8, ncol=2)
    ax_r.set(xlabel=TIME, ylabel="cross-entropy", ylim=(0, None),
             title=f"Model at the network's effective parameters: largest gap {summary['max_abs_loss_gap']:.2f}")
    ax_r.legend(loc="lower left", fontsize=9)
    n = len(nets)
    fig.suptitle(f"Theory against simulation, N = {s['N']}, L = {s['L']}, SGD lr {s['lr']:g}: c = {summary['c']:.3g} "
                 f"fitted on these runs' transition (flow cliff t = {summary['flow_transition']:.1f}, network step "
                 f"{summary['net_transition_mean']:.0f} ± {summary['net_transition_sd']:.0f} over {n} seed{'s' if n > 1 else ''})")
    return fig


def scaling_figure(result: dict):
    """Observed network transition steps against the flow's prediction t / (c · lr); the reference
    configuration (where c is fitted) is marked and left out of the statistics."""
    s, rows, summary = result["setting"], result["rows"], result["summary"]
    lr, c, ref = s["lr"], summary["c"], tuple(summary["reference"])
    fig, (ax, ax_t) = plt.subplots(1, 2, figsize=(13, 5.2), constrained_layout=True)
    Ns = sorted({r["N"] for r in rows})
    markers = dict(zip(Ns, "osD^v<>p"))
    colors = plt.get_cmap("viridis")
    lo, hi = np.inf, 0.0
    top = max(s["ratios"])
    for r in rows:
        if r["predicted_step"] is None or not r["net_steps"]:
            continue
        pred = r["predicted_step"]
        steps = np.array(r["net_steps"], dtype=float)
        frac = (np.log(r["L"] / r["N"]) / np.log(top)) if r["L"] > r["N"] else 0
        is_ref = (r["N"], r["L"]) == ref
        ax.errorbar(pred, steps.mean(), yerr=[[steps.mean() - steps.min()], [steps.max() - steps.mean()]],
                    fmt=markers[r["N"]], color="tab:red" if is_ref else colors(0.15 + 0.7 * frac), ms=7, capsize=3,
                    mfc="none" if is_ref else None)
        lo, hi = min(lo, pred, steps.min()), max(hi, pred, steps.max())
    line = np.array([lo / 1.5, hi * 1.5])
    ax.plot(line, line, color="gray", ls="--", lw=1, label="observed = predicted")
    for N in Ns:
        ax.plot([], [], markers[N], color="gray", label=f"N = {N}")
    ax.plot([], [], "o", mfc="none", color="tab:red", label=f"reference {ref} (fit; excluded)")
    within = ", ".join(f"N={N}: {_fmt(v)}" for N, v in summary["within_N_spearman"].items())
    ax.set(xscale="log", yscale="log", xlabel="predicted transition step  t_flow / (c · lr)",
           ylabel="observed transition step (mean, min–max over seeds)",
           title=f"Held out: Spearman {_fmt(summary['spearman'])} pooled ({within});\nmedian |rel. error| "
                 f"{summary['median_abs_relative_error']:.0%}, largest {summary['max_abs_relative_error']:.0%}")
    plain_log_ticks(ax.xaxis)
    plain_log_ticks(ax.yaxis)
    ax.legend(loc="upper left", fontsize=9)
    ax.text(0.98, 0.03, f"colour: L from N+1 (dark) to {top:g}N (light)", transform=ax.transAxes, ha="right", fontsize=9)

    for N in Ns:
        sub = sorted((r for r in rows if r["N"] == N and r["L"] > N), key=lambda r: r["L"])
        ratio = [r["L"] / N for r in sub]
        flow = [np.nan if r["flow_time"] is None else r["flow_time"] for r in sub]
        net = [np.mean(r["net_steps"]) * c * lr if r["net_steps"] else np.nan for r in sub]
        handle, = ax_t.plot(ratio, flow, "-", marker=markers[N], label=f"flow, N = {N}")
        ax_t.plot(ratio, net, "--", marker=markers[N], color=handle.get_color(), mfc="none",
                  label=f"network (c·lr·step), N = {N}")
    ax_t.set(xscale="log", yscale="log", xlabel="L / N", ylabel="transition time t",
             title="Transition time against L/N (at L = N the flow never transitions)")
    plain_log_ticks(ax_t.xaxis)
    plain_log_ticks(ax_t.yaxis)
    ax_t.legend(fontsize=8, ncol=2)
    fig.suptitle(f"When does the induction head form? The flow's cliff with one constant c = {c:.3g} (fitted at "
                 f"(N, L) = {ref}), {len(s['seeds'])} seed{'s' if len(s['seeds']) > 1 else ''}, SGD lr {lr:g}")
    return fig


def chain_figure(result: dict):
    """Exact minimal model = numpy minimal network → mean-field model → the full network."""
    minimal, comparison = result["minimal"], result["compare"]
    fig, (ax_e, ax_m, ax_n) = plt.subplots(1, 3, figsize=(16, 4.5), constrained_layout=True)
    curves = minimal["curves"]
    exact_at = arr(curves["exact_loss_at_checks"])
    ax_e.plot(exact_at, arr(curves["numpy_minimal_loss"]), "o", color="tab:orange", ms=6)
    lim = [0, max(exact_at) * 1.05]
    ax_e.plot(lim, lim, color="gray", ls="--", lw=1)
    ax_e.set(xlabel="exact minimal model (sympy)", ylabel="numpy minimal network", xlim=lim, ylim=lim,
             title=f"1. numpy vs exact: largest relative gap {minimal['summary']['numpy_minimal_vs_exact_max_rel']:.1e}")
    t = arr(curves["t"])
    ax_m.plot(t, arr(curves["exact_loss"]), color="k", lw=2, label="exact minimal model")
    ax_m.plot(t, arr(curves["mean_field_loss"]), color="tab:blue", lw=2, ls="--", label="mean-field model")
    ax_m.fill_between(t, arr(curves["exact_loss"]), arr(curves["mean_field_loss"]), color="tab:red", alpha=0.25,
                      label="difference")
    ax_m.set(xlabel="flow time t", ylabel="loss along each model's own flow", ylim=(0, None),
             title=f"2. Mean field: cliff {_fmt(curves['mean_field_cliff'], '.1f')} vs "
                   f"{_fmt(curves['exact_cliff'], '.1f')}, largest |Δ| "
                   f"{minimal['summary']['max_abs_difference_along_flows']:.2f}")
    ax_m.legend(loc="lower left")
    flow, nets, summary = comparison["flow"], comparison["networks"], comparison["summary"]
    for name in PARAMETERS:
        ax_n.plot(arr(flow["t"]), arr(flow[name]), color=COLOR[name], lw=2, label=f"mean-field flow {SYMBOL[name]}")
        ax_n.plot(arr(nets[0]["t"]), arr(nets[0][name]), color=COLOR[name], lw=1.2, ls="--", label=f"network {SYMBOL[name]}")
    rises = summary["net_time_each_parameter_rises_by_1"][0]
    order = ", then ".join(SYMBOL[k] for k, v in sorted(rises.items(), key=lambda kv: np.inf if kv[1] is None else kv[1])
                           if v is not None)
    ax_n.set(xlabel=TIME, ylabel="parameter",
             title=f"3. The network (seed {comparison['setting']['seeds'][0]}) rises by 1: {order}")
    ax_n.legend(loc="upper left", fontsize=8, ncol=2)
    N, L = comparison["setting"]["N"], comparison["setting"]["L"]
    Nm, Lm = minimal["setting"]["N"], minimal["setting"]["L"]
    where = f"N = {N}, L = {L}" if (Nm, Lm) == (N, L) else f"minimal models N = {Nm}, L = {Lm}; network N = {N}, L = {L}"
    fig.suptitle(f"From the exact minimal network to the trained network, {where}")
    return fig
