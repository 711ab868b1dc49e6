"""Figures of the β, α, ξ model: its flow, its landscape, and the exact minimal network against
it. Each draws one saved result (the JSON its computation wrote) and computes nothing."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from phenom.figures.plots._style import COLOR, PARAMETERS, SYMBOL, arr, colormaps, plain_log_ticks, styled, subplots

__all__ = ["induction_flow", "induction_landscape", "minimal_vs_mean_field", "phase"]


def _setting(s: dict) -> str:
    return f"N = {s['N']}, L = {s['L']}, lr = {s['lr']:g}"


def _order(crossings: dict) -> str:
    """'ξ < α < β' from the times each parameter reaches 1, naming those that never do."""
    reached = [k for _, k in sorted((v, k) for k, v in crossings.items() if v is not None)]
    missing = [SYMBOL[k] for k, v in crossings.items() if v is None]
    if not reached:
        return "none reaches 1"
    text = " < ".join(SYMBOL[k] for k in reached)
    return f"{text}; {', '.join(missing)} not within t_max" if missing else text


@styled
def induction_flow(result: dict) -> Figure:
    """Draw the flow figure: loss, β, α, ξ and P(correct) against flow time.

    Loss, parameters and P(correct) of the flow; flows at other L (L = N among them) share the
    accuracy panel.

    Parameters
    ----------
    result : dict
        The saved result (``induction_flow.json``): what
        :func:`~phenom.figures.jobs.induction.induction_flow` returns, with the ``setting`` it was
        computed from (as a dict).

    Returns
    -------
    matplotlib.figure.Figure
        The figure, drawn without pyplot (save it with ``fig.savefig``).

    Examples
    --------
    >>> from phenom.figures.plots.induction import induction_flow
    >>> from pathlib import Path
    >>> from phenom.figures.jobs import induction as jobs
    >>> from phenom.figures.settings import InductionFlowSetting
    >>> s = InductionFlowSetting(samples=200, compare_L=(16,))
    >>> fig = induction_flow({"setting": s.to_dict(), **jobs.induction_flow(s, Path("."))})
    >>> fig.axes[0].get_title()
    'Cliff at t = 97.7'
    >>> fig.axes[2].get_title()
    'At L = N = 8, P(correct) goes 0.125 → 0.125'
    """
    s = result["setting"]
    N, L = s["N"], s["L"]
    main, others = result["flows"][0], sorted(result["flows"][1:], key=lambda f: f["L"])
    c = {k: arr(v) for k, v in main["curves"].items()}
    cliff = main["cliff_time"]
    fig, (ax_loss, ax_par, ax_acc) = subplots(1, 3, figsize=(15, 4.4))

    ax_loss.plot(c["t"], c["loss"], color="k", lw=2, label="loss")
    ax_loss.axhline(np.log(L), color="gray", ls="--", lw=1, label=rf"chance, $\log L$ = {np.log(L):.2f}")
    ax_loss.axhline(np.log(N), color="gray", ls=":", lw=1, label=rf"guess in context, $\log N$ = {np.log(N):.2f}")
    if cliff is not None:
        ax_loss.axvline(
            cliff, color="tab:red", lw=1, alpha=0.7, label=f"cliff (max $|\\nabla$loss$|$), t = {cliff:.1f}"
        )
    ax_loss.set(
        xlabel="flow time t",
        ylabel="cross-entropy loss",
        ylim=(0, None),
        title=f"Cliff at t = {cliff:.1f}" if cliff is not None else "No cliff within t_max",
    )
    ax_loss.legend(loc="center right")

    for name in PARAMETERS:
        ax_par.plot(c["t"], c[name], color=COLOR[name], lw=2, label=SYMBOL[name])
    crossings = main["time_each_parameter_reaches_1"]
    for name, tc in crossings.items():
        if tc is not None:
            ax_par.plot([tc], [1.0], "o", color=COLOR[name], ms=6, mec="k")
    ax_par.axhline(1.0, color="gray", lw=0.8, ls=":")
    ax_par.set(xlabel="flow time t", ylabel="parameter value", title=f"Reach 1 in the order {_order(crossings)}")
    ax_par.legend(loc="upper left")

    cmap = colormaps["viridis"]
    control = None
    for i, f in enumerate([main, *others]):
        if f["L"] == f["N"]:
            style, control = dict(color="tab:red", lw=2.5, ls="--"), f
        elif f is main:
            style = dict(color="k", lw=2)
        else:
            style = dict(color=cmap(i / max(len(others), 1)), lw=1.3)
        fc = f["curves"]
        ax_acc.plot(
            arr(fc["t"]), arr(fc["p_correct"]), label=f"L = {f['L']}" + (" = N" if f["L"] == f["N"] else ""), **style
        )
        if f is main:
            ax_acc.plot(c["t"], c["p_context"], color="k", lw=1.2, ls=":", label=f"L = {f['L']}: P(label in context)")
    title = "P(correct label) for several L"
    if control is not None:
        pc = arr(control["curves"]["p_correct"])
        title = f"At L = N = {N}, P(correct) goes {pc[0]:.3f} → {pc[-1]:.3f}"
    ax_acc.set(xlabel="flow time t", ylabel="classifier probability", title=title, ylim=(0, 1.02))
    ax_acc.legend(loc="center right")
    fig.suptitle(f"Gradient flow of the induction-head model from θ = (β, α, ξ) = {tuple(s['theta0'])}, {_setting(s)}")
    return fig


@styled
def induction_landscape(result: dict) -> Figure:
    """Loss on 2-D slices through the cliff point, the flow's path, and |∇loss| along the path.

    Parameters
    ----------
    result : dict
        The saved result (``induction_landscape.json``): what
        :func:`~phenom.figures.jobs.induction.induction_landscape` returns, with the ``setting`` it was
        computed from (as a dict).

    Returns
    -------
    matplotlib.figure.Figure
        The figure, drawn without pyplot (save it with ``fig.savefig``).

    Examples
    --------
    >>> from phenom.figures.plots.induction import induction_landscape
    >>> from pathlib import Path
    >>> from phenom.figures.jobs import induction as jobs
    >>> from phenom.figures.settings import InductionLandscapeSetting
    >>> s = InductionLandscapeSetting(grid=41)
    >>> fig = induction_landscape({"setting": s.to_dict(), **jobs.induction_landscape(s, Path("."))})
    >>> len(fig.axes), fig.axes[2].get_title()
    (6, '|∇loss| peaks at t = 97.7')
    """
    s, slices, path, cliff = result["setting"], result["slices"], result["path"], result["cliff"]
    fig, axes = subplots(1, len(slices) + 1, figsize=(5 * (len(slices) + 1), 4.4))
    t, loss = arr(path["t"]), arr(path["loss"])
    for ax, sl in zip(axes, slices, strict=False):
        x, y, z = arr(sl["x"]), arr(sl["y"]), arr(sl["loss"])
        ((fixed_name, fixed_value),) = sl["fixed"].items()
        levels = np.linspace(0, float(np.log(sl["L"])), 25)
        cs = ax.contourf(x, y, z, levels=levels, cmap="magma")
        ax.contour(x, y, z, levels=levels[::3], colors="w", linewidths=0.4, alpha=0.6)
        px, py = arr(path[sl["x_name"]]), arr(path[sl["y_name"]])
        ax.plot(px, py, color="cyan", lw=2, label="flow path (projected)")
        ax.plot(px[0], py[0], "o", color="cyan", mec="k", label="start")
        if cliff is not None:
            ax.plot(cliff[sl["x_name"]], cliff[sl["y_name"]], "*", color="tab:red", ms=14, mec="w", label="cliff point")
        ax.set(xlim=(x[0], x[-1]), ylim=(y[0], y[-1]), xlabel=SYMBOL[sl["x_name"]], ylabel=SYMBOL[sl["y_name"]])
        ax.set_title(f"loss at {SYMBOL[fixed_name]} = {fixed_value:.2f}")
        ax.legend(loc="upper left", framealpha=0.8)
        fig.colorbar(cs, ax=ax, label="loss", ticks=np.arange(0, np.log(sl["L"]) + 0.01, 0.5))

    ax = axes[-1]
    ax.plot(t, loss, color="k", lw=2, label="loss")
    ax.set(xlabel="flow time t", ylabel="loss along the path", ylim=(0, None))
    ax2 = ax.twinx()
    ax2.plot(t, arr(path["grad_norm"]), color="tab:red", lw=1.5, label=r"$|\nabla$loss$|$")
    ax2.set_ylabel(r"$|\nabla$loss$|$", color="tab:red")
    if cliff is not None:
        ax.axvline(cliff["t"], color="tab:red", ls=":", lw=1)
        ax.set_title(f"|∇loss| peaks at t = {cliff['t']:.1f}")
    else:
        ax.set_title("No interior maximum of |∇loss| within t_max")
    lines = ax.get_legend_handles_labels(), ax2.get_legend_handles_labels()
    ax.legend(lines[0][0] + lines[1][0], lines[0][1] + lines[1][1], loc="center left")
    where = "near the cliff" if cliff is not None else f"through θ0 = {tuple(s['theta0'])}"
    fig.suptitle(f"Loss landscape of the induction-head model {where}, {_setting(s)}")
    return fig


@styled
def minimal_vs_mean_field(result: dict) -> Figure:
    """Exact minimal model vs the mean-field model: along their flows, and over a slice.

    Parameters
    ----------
    result : dict
        The saved result (``minimal_vs_mean_field.json``): what
        :func:`~phenom.figures.jobs.induction.minimal_vs_mean_field` returns, with the ``setting`` it was
        computed from (as a dict).

    Returns
    -------
    matplotlib.figure.Figure
        The figure, drawn without pyplot (save it with ``fig.savefig``).

    Examples
    --------
    >>> from phenom.figures.plots.induction import minimal_vs_mean_field
    >>> from pathlib import Path
    >>> from phenom.figures.jobs import induction as jobs
    >>> from phenom.figures.settings import MinimalVsMeanFieldSetting
    >>> s = MinimalVsMeanFieldSetting(N=2, L=4, t_max=50.0, grid=11, samples=20, checks=4)
    >>> fig = minimal_vs_mean_field({"setting": s.to_dict(), **jobs.minimal_vs_mean_field(s, Path("."))})
    >>> fig.axes[0].get_title()
    'Flows from θ = 0: largest |Δloss| 0.85 (at t = 32)'
    """
    s, c, grid, numbers = result["setting"], result["curves"], result["grid"], result["summary"]
    fig, (ax_t, ax_m) = subplots(1, 2, figsize=(13, 4.6))
    cliff = lambda v: "none" if v is None else f"{v:.1f}"  # noqa: E731
    ax_t.plot(
        arr(c["t"]),
        arr(c["exact_loss"]),
        color="k",
        lw=2,
        label=f"exact minimal model (cliff t = {cliff(c['exact_cliff'])})",
    )
    ax_t.plot(
        arr(c["t"]),
        arr(c["mean_field_loss"]),
        color="tab:blue",
        lw=2,
        ls="--",
        label=f"mean-field model (cliff t = {cliff(c['mean_field_cliff'])})",
    )
    ax_t.plot(
        arr(c["check_t"]),
        arr(c["numpy_minimal_loss"]),
        "o",
        color="tab:orange",
        ms=5,
        label="numpy minimal network on the exact flow's path",
    )
    ax_t.set(
        xlabel="flow time t",
        ylabel="loss along each model's own flow",
        ylim=(0, None),
        title=f"Flows from θ = 0: largest |Δloss| {numbers['max_abs_difference_along_flows']:.2f} "
        f"(at t = {numbers['time_of_max_difference_along_flows']:.0f})",
    )
    ax_t.legend(loc="lower left", fontsize=9)
    diff = arr(grid["difference"])
    vmax = numbers["max_abs_difference_on_slice"]
    im = ax_m.pcolormesh(
        arr(grid["alpha"]), arr(grid["beta"]), diff, cmap="RdBu_r", vmin=-vmax, vmax=vmax, shading="auto"
    )
    fig.colorbar(im, ax=ax_m, label="exact − mean-field loss")
    ax_m.set(
        xlabel=SYMBOL["alpha"],
        ylabel=SYMBOL["beta"],
        title=f"Loss difference over (α, β) at ξ = {grid['xi']:.2f} (max |Δ| = {vmax:.3f})",
    )
    fig.suptitle(f"How far the mean-field model is from the exact minimal network, N = {s['N']}, L = {s['L']}")
    return fig


@styled
def phase(result: dict) -> Figure:
    """Draw the phase figure: the transition time over (N, L), starts and rates.

    The flow's transition time over (N, L/N) and the formula's error there; t* against L/N for
    a few N; then, at the reference (N, L), over the start scale and the gradient-descent rate.

    Parameters
    ----------
    result : dict
        The saved result (``phase.json``): what
        :func:`~phenom.figures.jobs.induction.phase` returns, with the ``setting`` it was
        computed from (as a dict).

    Returns
    -------
    matplotlib.figure.Figure
        The figure, drawn without pyplot (save it with ``fig.savefig``).

    Examples
    --------
    >>> from phenom.figures.plots.induction import phase
    >>> from pathlib import Path
    >>> from phenom.figures.jobs import induction as jobs
    >>> from phenom.figures.settings import PhaseSetting
    >>> s = PhaseSetting(N_max=3, ratio_max=3, t_max=1e5, scale_points=2, lr_points=2, lr_min=1.0, lr_max=10.0)
    >>> fig = phase({"setting": s.to_dict(), **jobs.phase(s, Path("."))})
    >>> print(fig.axes[1].get_title())
    Asymptotic formula: median error 2.1%, largest 6.6%
    (at N = 3, L = 4; nothing fitted)
    """
    from matplotlib.colors import LogNorm, TwoSlopeNorm

    g = {k: arr(v) for k, v in result["grid"].items()}
    N, L, t_num, t_form = g["N"], g["L"], g["numeric"], g["formula"]
    err = t_form / t_num - 1
    pooled = result["errors"]["pooled"]
    fig, axes = subplots(2, 3, figsize=(16, 9.2))
    (ax_t, ax_err, ax_cut), (ax_s, ax_gd, ax_lr) = axes

    size = 90 * 17 / max(N.max() - 1, 1)  # squares that tile the N axis
    sc = ax_t.scatter(N, L / N, c=t_num, s=size, marker="s", lw=0, cmap="viridis", norm=LogNorm())
    fig.colorbar(sc, ax=ax_t, label="numeric transition time t* (flow, lr = 1)")
    ax_t.set(
        yscale="log",
        xlabel="pairs in context N",
        ylabel="labels per pair L/N",
        title=f"Cliff time of the flow from θ = 0: {result['flows']} flows in {result['flow_seconds']:.1f} s",
    )
    plain_log_ticks(ax_t.yaxis)

    bound = max(abs(np.nanmin(err)), abs(np.nanmax(err)), 1e-3)
    sc = ax_err.scatter(N, L / N, c=err, s=size, marker="s", lw=0, cmap="RdBu_r", norm=TwoSlopeNorm(0.0, -bound, bound))
    fig.colorbar(sc, ax=ax_err, label="formula / numeric − 1")
    worst = pooled["worst"]
    ax_err.set(
        yscale="log",
        xlabel="pairs in context N",
        ylabel="labels per pair L/N",
        title=f"Asymptotic formula: median error {pooled['median_abs']:.1%}, largest {pooled['max_abs']:.1%}\n"
        f"(at N = {worst['N']}, L = {worst['L']}; nothing fitted)",
    )
    plain_log_ticks(ax_err.yaxis)

    cmap = colormaps["plasma"]
    shown = [n for n in (2, 4, 8, 16, 32) if n in set(N.astype(int))]
    for i, n in enumerate(shown):
        m = N == n
        color = cmap(i / max(len(shown) - 1, 1) * 0.85)
        ax_cut.plot(L[m] / n, t_num[m], color=color, lw=2, label=f"N = {n}")
        ax_cut.plot(L[m] / n, t_form[m], color=color, lw=1.2, ls="--")
    ax_cut.plot([], [], color="gray", ls="--", label="formula")
    ex = result["exponent_in_N_at_widest_L_over_N"]
    ax_cut.set(
        xscale="log",
        yscale="log",
        xlabel="labels per pair L/N",
        ylabel="transition time t*",
        title=rf"At L/N = {int(max(L / N))}, N ≥ 8: $t^* \propto N^{{{ex['numeric']:.2f}}}$"
        "\n"
        rf"(formula $N^{{{ex['formula']:.2f}}}$, $N^{{3/2}}$ as N → ∞)"
        if ex["numeric"] is not None
        else "Transition time against L/N",
    )
    plain_log_ticks(ax_cut.xaxis)
    ax_cut.legend(ncol=2)

    s = result["start_scale"]
    scales = arr(s["scales"])
    ax_s.plot(scales, arr(s["numeric"]), "k-", lw=2, label="numeric flow")
    ax_s.plot(scales, arr(s["formula"]), "--", color="tab:red", lw=1.8, label="formula")
    ax_s.set(
        yscale="log",
        xlabel=r"start scale s, $\theta_0 = s\,(1, 1, 1)$",
        ylabel="transition time t*",
        title=f"N = {s['N']}, L = {s['L']}: the start shortens the plateau",
    )
    twin = ax_s.twinx()
    twin.plot(scales, 100 * arr(s["relative_error"]), ":", color="tab:gray", lw=1.5)
    twin.set_ylabel("formula error (%), dotted", color="tab:gray")
    ax_s.legend(loc="lower left")

    gd = result["gradient_descent"]
    lrs, ratio = arr(gd["lrs"]), np.array([arr(r) for r in gd["ratio_to_flow"]])
    masked = np.ma.masked_invalid(np.log2(ratio))
    cmap_gd = colormaps["RdBu_r"].with_extremes(bad="0.8")
    top = max(float(np.nanmax(np.abs(np.log2(ratio)))), 0.1)
    mesh = ax_gd.pcolormesh(lrs, scales, masked, cmap=cmap_gd, norm=TwoSlopeNorm(0.0, -top, top), shading="nearest")
    fig.colorbar(mesh, ax=ax_gd, label=r"$\log_2$(GD step × lr / flow t*)")
    ax_gd.set(
        xscale="log",
        xlabel="gradient-descent rate lr",
        ylabel="start scale s",
        title=f"Discrete GD against the flow (grey: no transition\nwithin {gd['t_max']:.0f} flow-time units)",
    )

    for i, k in enumerate(range(0, len(scales), max(1, len(scales) // 3))):
        color = cmap(i / 3 * 0.85)
        ax_lr.plot(lrs, arr(gd["transition_step"][k]) * lrs, "o-", color=color, ms=3.5, label=f"GD, s = {scales[k]:g}")
        ax_lr.axhline(arr(gd["flow_time"])[k], color=color, ls="--", lw=1)
    ax_lr.plot([], [], "k--", lw=1, label="flow t*")
    ax_lr.set(
        xscale="log",
        yscale="log",
        xlabel="gradient-descent rate lr",
        ylabel="transition step × lr",
        title="GD reaches the flow's time as lr → 0",
    )
    ax_lr.legend(fontsize=8.5)
    fig.suptitle(
        "When the induction head forms: the β, α, ξ flow's transition time and its asymptotic formula "
        r"$t^* = (2\pi)^{1/4} A^{-1/2} (BC)^{-1/4}$",
        fontsize=13,
    )
    return fig
