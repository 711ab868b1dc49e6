"""Figures that put the phenomenological flow and the trained network on shared axes."""

from __future__ import annotations

import numpy as np

from ._style import COLOR, SYMBOL, plain_log_ticks, plt

__all__ = ["compare_figure", "scaling_figure"]


def compare_figure(flow: dict, nets: list[dict], summary: dict, N: int, L: int):
    """Loss, accuracy and (β, α, ξ) against flow time; network steps mapped by t = c·lr·step."""
    fig, (ax_l, ax_a, ax_p) = plt.subplots(1, 3, figsize=(16, 4.5), constrained_layout=True)
    t = flow["t"]
    ax_l.plot(t, flow["loss"], color="k", lw=2.2, label="flow")
    ax_a.plot(t, flow["p_correct"], color="k", lw=2.2, label="flow: P(correct)")
    ax_a.plot(t, flow["p_context"], color="k", lw=1.2, ls=":", label="flow: P(label in context)")
    for name in ("beta", "alpha", "xi"):
        ax_p.plot(t, flow[name], color=COLOR[name], lw=2.2, label=f"flow {SYMBOL[name]}")
    for i, net in enumerate(nets):
        first = i == 0
        tn = net["t"]
        ax_l.plot(tn, net["eval_loss"], color="tab:orange", lw=1.2, alpha=0.8, label="network (held-out)" if first else None)
        ax_a.plot(tn, net["icl_acc"], color="tab:orange", lw=1.2, alpha=0.8, label="network: ICL accuracy" if first else None)
        ax_a.plot(tn, net["cla"], color="tab:purple", lw=1.0, alpha=0.7, ls=":", label="network: CLA" if first else None)
        for name in ("beta", "alpha", "xi"):
            ax_p.plot(tn, net[name], color=COLOR[name], lw=1.0, ls="--", alpha=0.8,
                      label=f"network {SYMBOL[name]} (effective)" if first else None)
    ax_l.set(xlabel="flow time t  (network: c · lr · step)", ylabel="cross-entropy", ylim=(0, None),
             title=f"Loss: plateau {summary['flow_plateau_loss']:.2f} (flow), {summary['net_plateau_loss']:.2f} (network)")
    ax_l.legend(loc="lower left")
    ax_a.set(xlabel="flow time t  (network: c · lr · step)", ylabel="probability / accuracy", ylim=(0, 1.02),
             title=f"Accuracy: aligned RMS distance {summary['rms_accuracy_distance']:.3f}")
    ax_a.legend(loc="center right", fontsize=8.5)
    ax_p.set(xlabel="flow time t  (network: c · lr · step)", ylabel="parameter",
             title="β, α, ξ: flow (solid) and network readings (dashed)")
    ax_p.legend(loc="upper left", fontsize=8, ncol=2)
    fig.suptitle(f"Theory against simulation, N = {N}, L = {L}: c = {summary['c']:.3g} fitted on the transition "
                 f"(flow cliff t = {summary['flow_transition']:.1f}, network step {summary['net_transition_mean']:.0f} "
                 f"± {summary['net_transition_sd']:.0f} over {len(nets)} seed{'s' if len(nets) > 1 else ''})")
    return fig


def scaling_figure(rows: list[dict], summary: dict, lr: float):
    """Observed network transition steps against the flow's prediction t / (c · lr)."""
    fig, (ax, ax_t) = plt.subplots(1, 2, figsize=(13, 5), constrained_layout=True)
    Ns = sorted({r["N"] for r in rows})
    markers = dict(zip(Ns, "osD^v"))
    colors = plt.get_cmap("viridis")
    c = summary["c"]
    lo, hi = np.inf, 0.0
    for r in rows:
        if r["flow_time"] is None or not r["net_steps"]:
            continue
        pred = r["flow_time"] / (c * lr)
        steps = np.array(r["net_steps"], dtype=float)
        frac = (np.log(r["L"] / r["N"]) / np.log(8)) if r["L"] > r["N"] else 0
        ax.errorbar(pred, steps.mean(), yerr=[[steps.mean() - steps.min()], [steps.max() - steps.mean()]],
                    fmt=markers[r["N"]], color=colors(0.15 + 0.7 * frac), ms=7, capsize=3)
        lo, hi = min(lo, pred, steps.min()), max(hi, pred, steps.max())
    line = np.array([lo / 1.5, hi * 1.5])
    ax.plot(line, line, color="gray", ls="--", lw=1, label="observed = predicted")
    for N in Ns:
        ax.plot([], [], markers[N], color="gray", label=f"N = {N}")
    ax.set(xscale="log", yscale="log", xlabel="predicted transition step  t_flow / (c · lr)",
           ylabel="observed transition step (mean, min–max over seeds)",
           title=f"Spearman {summary['spearman']:.2f}, log-log slope {summary['loglog_slope']:.2f}")
    plain_log_ticks(ax.xaxis)
    plain_log_ticks(ax.yaxis)
    ax.legend(loc="upper left")
    ax.text(0.98, 0.03, "colour: L from N+1 (dark) to 8N (light)", transform=ax.transAxes, ha="right", fontsize=9)

    for N in Ns:
        sub = sorted((r for r in rows if r["N"] == N and r["L"] > N), key=lambda r: r["L"])
        ratio = [r["L"] / N for r in sub]
        flow = [r["flow_time"] for r in sub]
        net = [np.mean(r["net_steps"]) * c * lr if r["net_steps"] else np.nan for r in sub]
        line, = ax_t.plot(ratio, flow, "-", marker=markers[N], label=f"flow, N = {N}")
        ax_t.plot(ratio, net, "--", marker=markers[N], color=line.get_color(), mfc="none", label=f"network (c·lr·step), N = {N}")
    ax_t.set(xscale="log", yscale="log", xlabel="L / N", ylabel="transition time t",
             title="Transition time against L/N (at L = N the flow never transitions)")
    plain_log_ticks(ax_t.xaxis)
    plain_log_ticks(ax_t.yaxis)
    ax_t.legend(fontsize=8, ncol=2)
    fig.suptitle(f"When does the induction head form? One constant c = {c:.3g} (fitted at N, L = "
                 f"{tuple(summary['reference'])}) maps the flow to the network")
    return fig


def chain_figure(minimal: dict, comparison: dict):
    """Exact minimal model = numpy minimal network → mean-field model → the full network."""
    fig, (ax_e, ax_m, ax_n) = plt.subplots(1, 3, figsize=(16, 4.5), constrained_layout=True)
    curves = minimal["curves"]
    exact_at = np.interp(curves["check_t"], curves["t"], curves["exact_loss"])
    ax_e.plot(exact_at, curves["numpy_minimal_loss"], "o", color="tab:orange", ms=6)
    lim = [0, max(exact_at) * 1.05]
    ax_e.plot(lim, lim, color="gray", ls="--", lw=1)
    ax_e.set(xlabel="exact minimal model (sympy)", ylabel="numpy minimal network", xlim=lim, ylim=lim,
             title=f"1. Equal: largest relative gap {minimal['summary']['numpy_minimal_vs_exact_max_rel']:.1e}")
    ax_m.plot(curves["t"], curves["exact_loss"], color="k", lw=2, label="exact minimal model")
    ax_m.plot(curves["t"], curves["mean_field_loss"], color="tab:blue", lw=2, ls="--", label="mean-field model")
    ax_m.fill_between(curves["t"], curves["exact_loss"], curves["mean_field_loss"], color="tab:red", alpha=0.25,
                      label="difference")
    ax_m.set(xlabel="flow time t", ylabel="loss along each model's own flow", ylim=(0, None),
             title=f"2. Mean field: cliff {curves['mean_field_cliff']:.1f} vs {curves['exact_cliff']:.1f}")
    ax_m.legend(loc="lower left")
    flow, nets, summary = comparison["flow"], comparison["networks"], comparison["summary"]
    for name in ("beta", "alpha", "xi"):
        ax_n.plot(flow["t"], flow[name], color=COLOR[name], lw=2, label=f"mean-field flow {SYMBOL[name]}")
        ax_n.plot(nets[0]["t"], nets[0][name], color=COLOR[name], lw=1.2, ls="--", label=f"network {SYMBOL[name]}")
    ax_n.set(xlabel="flow time t  (network: c · lr · step)", ylabel="parameter", ylim=(-0.5, 13),
             title="3. The full network: ξ, then α, then β")
    ax_n.legend(loc="upper left", fontsize=8, ncol=2)
    N, L = comparison["parameters"]["N"], comparison["parameters"]["L"]
    Nm, Lm = minimal["parameters"]["N"], minimal["parameters"]["L"]
    where = f"N = {N}, L = {L}" if (Nm, Lm) == (N, L) else f"minimal models N = {Nm}, L = {Lm}; network N = {N}, L = {L}"
    fig.suptitle(f"From the exact minimal network to the trained network, {where}")
    return fig
