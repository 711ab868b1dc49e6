"""Figures of linear attention as preconditioned gradient descent, drawn from saved results."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from phenom.figures.plots._style import arr, plain_log_ticks, styled, subplots

__all__ = ["lsa_landscape", "lsa_learning_curves", "lsa_preconditioner", "lsa_depth", "lsa_summary"]


def _setting(task: dict) -> str:
    noise = f", σ² = {task['noise']:g}" if task["noise"] else ""
    return f"d = {task['d']}, N = {task['N']}{noise}"


@styled
def lsa_landscape(result: dict) -> Figure:
    """Draw the risk landscape of one preconditioned step with the flows' paths.

    R(Γ) on a slice through Γ* along Σ's largest and smallest eigen-directions, with flow
    paths and marked points.

    Parameters
    ----------
    result : dict
        The saved result (``lsa_landscape.json``): what
        :func:`~phenom.figures.jobs.lsa.lsa_landscape` returns, with the ``setting`` it was
        computed from (as a dict).

    Returns
    -------
    matplotlib.figure.Figure
        The figure, drawn without pyplot (save it with ``fig.savefig``).

    Examples
    --------
    >>> from phenom.figures.plots.lsa import lsa_landscape
    >>> from pathlib import Path
    >>> from phenom.figures.jobs import lsa as jobs
    >>> from phenom.figures.settings import LsaLandscapeSetting
    >>> s = LsaLandscapeSetting(grid=21)
    >>> fig = lsa_landscape({"setting": s.to_dict(), **jobs.lsa_landscape(s, Path("."))})
    >>> fig.axes[0].get_title()
    'Risk of one PGD step, d = 2, N = 4, Σ eigenvalues 2 … 0.5'
    """
    task = result["task"]
    fig, ax = subplots(figsize=(6.4, 5.2))
    g1, g2, risk = arr(result["gamma1"]), arr(result["gamma2"]), arr(result["risk"])
    levels = np.geomspace(task["optimal_risk"], np.max(risk), 25)
    cs = ax.contourf(g1, g2, risk, levels=levels, cmap="viridis", norm=LogNorm())
    ax.contour(g1, g2, risk, levels=levels[::3], colors="w", linewidths=0.4, alpha=0.6)
    bar = fig.colorbar(cs, ax=ax, label="risk R(Γ) (log scale)")
    ticks = [v for v in (1, 1.5, 2, 3, 5, 7, 10, 15, 20, 30, 50) if levels[0] <= v <= levels[-1]]
    bar.set_ticks([levels[0], *ticks], labels=[f"{levels[0]:.3g} (R*)", *(f"{v:g}" for v in ticks)])
    styles = {
        "flow of Γ from 0": dict(color="w", lw=2.2),
        "flow of (u, U), small balanced start": dict(color="tab:orange", lw=2, ls="--"),
    }
    for label, path in result["paths"].items():
        ax.plot(arr(path["gamma1"]), arr(path["gamma2"]), label=label, **styles.get(label, {}))
    markers = {
        "Γ* (optimal)": dict(marker="*", ms=16, color="tab:red", mec="w"),
        "Γ = I (plain GD step)": dict(marker="s", ms=8, color="w", mec="k"),
    }
    for label, p in result["points"].items():
        ax.plot([p["gamma1"]], [p["gamma2"]], ls="none", label=f"{label}: R = {p['risk']:.3f}", **markers[label])
    ax.set(xlabel=r"$\gamma_1$ (Γ along Σ's largest eigenvector)", ylabel=r"$\gamma_2$ (along the smallest)")
    lam = task["Sigma_eigenvalues"]
    ax.set_title(f"Risk of one PGD step, {_setting(task)}, Σ eigenvalues {lam[0]:g} … {lam[-1]:g}")
    ax.legend(loc="lower right", fontsize=8.5, framealpha=0.85)
    return fig


@styled
def lsa_learning_curves(result: dict) -> Figure:
    """Risk against flow time t (= lr · step for the network), and distance to Γ*.

    Parameters
    ----------
    result : dict
        The saved result (``lsa_learning_curves.json``): what
        :func:`~phenom.figures.jobs.lsa.lsa_learning_curves` returns, with the ``setting`` it was
        computed from (as a dict).

    Returns
    -------
    matplotlib.figure.Figure
        The figure, drawn without pyplot (save it with ``fig.savefig``).

    Examples
    --------
    >>> from phenom.figures.plots.lsa import lsa_learning_curves
    >>> from pathlib import Path
    >>> from phenom.figures.jobs import lsa as jobs
    >>> from phenom.figures.settings import LsaLearningCurvesSetting
    >>> s = LsaLearningCurvesSetting(d=2, N=4, t_max=2.0, lr=0.02, batch_size=64)
    >>> fig = lsa_learning_curves({"setting": s.to_dict(), **jobs.lsa_learning_curves(s, Path("."))})
    >>> [ax.get_xlabel() for ax in fig.axes]
    ['flow time t (network: lr · step)', 'flow time t (network: lr · step)']
    >>> fig.axes[1].get_title()
    'Distance to the optimal preconditioner'
    """
    task, c, numbers, s = result["task"], result["curves"], result["summary"], result["setting"]
    fig, (ax_r, ax_d) = subplots(1, 2, figsize=(13, 4.6))
    r_star = task["optimal_risk"]
    t, net_t = arr(c["t"]), arr(c["net_t"])
    ax_r.plot(t, arr(c["risk_gamma_flow"]), color="tab:gray", lw=1.5, label="flow of Γ from Γ = 0 (closed form)")
    ax_r.plot(t, arr(c["risk_factored_flow"]), color="k", lw=2.2, label="flow of (u, U) from a small balanced start")
    ax_r.plot(
        net_t,
        arr(c["net_risk"]),
        "o",
        ms=3.5,
        color="tab:orange",
        label=f"LSA network (SGD, lr = {s['lr']:g}): R(Γ_eff)",
    )
    ax_r.plot(
        net_t, arr(c["net_loss"]), "-", lw=1, color="tab:orange", alpha=0.6, label="LSA network: held-out squared error"
    )
    ax_r.axhline(r_star, color="tab:red", ls=":", label=f"optimal risk R* = {r_star:.3f}")
    ax_r.set(
        xlabel="flow time t (network: lr · step)",
        ylabel="risk",
        yscale="log",
        title=f"Largest gap to the flow: R(Γ_eff) {numbers['max_relative_gap_risk_of_gamma_eff']:.1%}, "
        f"held-out error {numbers['max_relative_gap_heldout_loss']:.0%}",
    )
    plain_log_ticks(ax_r.yaxis)
    ax_r.legend(loc="upper right", fontsize=9)

    ax_d.plot(t, arr(c["dist_factored_flow"]), color="k", lw=2.2, label="flow of (u, U)")
    ax_d.plot(net_t, arr(c["net_dist"]), "o", ms=3.5, color="tab:orange", label="LSA network's Γ_eff")
    ax_d.set(
        xlabel="flow time t (network: lr · step)",
        ylabel=r"$\|\Gamma - \Gamma^*\|_F / \|\Gamma^*\|_F$",
        yscale="log",
        title="Distance to the optimal preconditioner",
    )
    plain_log_ticks(ax_d.yaxis)
    ax_d.legend(loc="upper right")
    fig.suptitle(
        f"One-layer linear attention learning in-context regression, {_setting(task)}, batch {s['batch_size']}"
    )
    return fig


@styled
def lsa_preconditioner(result: dict) -> Figure:
    """Heat maps of Γ*, the trained network's Γ_eff and their difference, and the learning curve.

    Parameters
    ----------
    result : dict
        The saved result (``lsa_preconditioner.json``): what
        :func:`~phenom.figures.jobs.lsa.lsa_preconditioner` returns, with the ``setting`` it was
        computed from (as a dict).

    Returns
    -------
    matplotlib.figure.Figure
        The figure, drawn without pyplot (save it with ``fig.savefig``).

    Examples
    --------
    >>> from phenom.figures.plots.lsa import lsa_preconditioner
    >>> from pathlib import Path
    >>> from phenom.figures.jobs import lsa as jobs
    >>> from phenom.figures.settings import LsaPreconditionerSetting
    >>> s = LsaPreconditionerSetting(d=2, N=4, steps=300, batch_size=128)
    >>> fig = lsa_preconditioner({"setting": s.to_dict(), **jobs.lsa_preconditioner(s, Path("."))})
    >>> [ax.get_title() for ax in fig.axes[:4]]
    ['optimal Γ*', 'learned Γ_eff', 'difference (rel. Frobenius 7.8%)', 'Training (Adam, 300 steps)']
    """
    task, h, s = result["task"], result["history"], result["setting"]
    star, learned = arr(result["optimal"]), arr(result["learned"])
    err = result["summary"]["relative_frobenius_error"]
    fig, axes = subplots(1, 4, figsize=(16, 4.0), gridspec_kw={"width_ratios": [1, 1, 1, 1.3]})
    vmax = np.max(np.abs(star))
    for ax, M, title in zip(axes, (star, learned), ("optimal Γ*", "learned Γ_eff"), strict=False):
        im = ax.imshow(M, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        ax.set_title(title)
    fig.colorbar(im, ax=axes[:2], shrink=0.85)
    diff = learned - star
    dmax = max(np.max(np.abs(diff)), 1e-12)
    im = axes[2].imshow(diff, cmap="PuOr", vmin=-dmax, vmax=dmax)
    axes[2].set_title(f"difference (rel. Frobenius {err:.1%})")
    fig.colorbar(im, ax=axes[2], shrink=0.85)
    for ax in axes[:3]:
        ax.set(xticks=range(task["d"]), yticks=range(task["d"]), xlabel="column j", ylabel="row i")
    ax = axes[3]
    ax.plot(arr(h["step"]), arr(h["risk_gamma"]), color="tab:orange", lw=2, label="risk of Γ_eff (exact)")
    ax.plot(arr(h["step"]), arr(h["eval_loss"]), color="tab:blue", lw=1, alpha=0.7, label="held-out squared error")
    ax.axhline(task["optimal_risk"], color="tab:red", ls=":", label="R*")
    ax.set(xlabel="training step", ylabel="risk", yscale="log", title=f"Training (Adam, {s['steps']} steps)")
    plain_log_ticks(ax.yaxis)
    ax.legend(loc="upper right", fontsize=9)
    fig.suptitle(
        f"The trained one-layer network's preconditioner against the optimal one, {_setting(task)}: {err:.1%} apart"
    )
    return fig


@styled
def lsa_depth(result: dict) -> Figure:
    """Risk against the number of layers (LSA: median and range over seeds) or steps (GD, PGD).

    Parameters
    ----------
    result : dict
        The saved result (``lsa_depth.json``): what
        :func:`~phenom.figures.jobs.lsa.lsa_depth` returns, with the ``setting`` it was
        computed from (as a dict).

    Returns
    -------
    matplotlib.figure.Figure
        The figure, drawn without pyplot (save it with ``fig.savefig``).

    Examples
    --------
    >>> from phenom.figures.plots.lsa import lsa_depth
    >>> from pathlib import Path
    >>> from phenom.figures.jobs import lsa as jobs
    >>> from phenom.figures.settings import LsaDepthSetting
    >>> s = LsaDepthSetting(d=2, N=4, layers=(1, 2), seeds=(0,), steps=200, lr=0.02, eval_size=1000)
    >>> fig = lsa_depth({"setting": s.to_dict(), **jobs.lsa_depth(s, Path("."))})
    >>> fig.axes[0].get_title()
    'Risk against depth, d = 2, N = 4, Adam 200 steps'
    """
    task, depth, s = result["task"], result["depth"], result["setting"]
    fig, ax = subplots(figsize=(7.2, 4.8))
    K = np.asarray(depth["layers"])
    ax.plot(K, depth["gd_risk"], "s-", color="tab:gray", label="K steps of GD, best step size")
    ax.plot(K, depth["pgd_risk"], "D-", color="tab:blue", label="K steps of PGD with Γ*, best step size")
    runs = arr(depth["lsa_risk"])  # (K, seeds)
    for j in range(runs.shape[1]):
        ax.plot(
            K, runs[:, j], "o", color="tab:orange", alpha=0.45, ms=6, label="K-layer LSA, each seed" if j == 0 else None
        )
    median = arr(depth["lsa_median"])
    ax.errorbar(
        K,
        median,
        yerr=[median - arr(depth["lsa_min"]), arr(depth["lsa_max"]) - median],
        fmt="o-",
        color="tab:orange",
        lw=2,
        ms=8,
        capsize=4,
        label=f"K-layer LSA, median and range of {runs.shape[1]} seeds",
    )
    ax.axhline(
        task["optimal_risk"], color="tab:red", ls=":", label=f"one-layer optimum R* = {task['optimal_risk']:.3f}"
    )
    ax.set(xlabel="layers / steps K", ylabel="risk (Monte Carlo, held-out)", yscale="log", xticks=K)
    plain_log_ticks(ax.yaxis)
    ax.set_title(f"Risk against depth, {_setting(task)}, Adam {s['steps']} steps")
    ax.legend(fontsize=8.5)
    return fig


@styled
def lsa_summary(result: dict) -> Figure:
    """Analytic risk flows against the simulated network, and learned against optimal Γ.

    Parameters
    ----------
    result : dict
        The saved result (``lsa_summary.json``): what
        :func:`~phenom.figures.jobs.lsa.lsa_summary` returns, with the ``setting`` it was
        computed from (as a dict).

    Returns
    -------
    matplotlib.figure.Figure
        The figure, drawn without pyplot (save it with ``fig.savefig``).

    Examples
    --------
    The summary reads two saved results; here they are computed small and saved as JSON:

    >>> from phenom.figures.plots.lsa import lsa_summary
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> from phenom.figures.jobs import lsa as jobs
    >>> from phenom.figures.settings import LsaLearningCurvesSetting, LsaPreconditionerSetting, LsaSummarySetting
    >>> out = Path(tempfile.mkdtemp())
    >>> inputs = {
    ...     "lsa_learning_curves": LsaLearningCurvesSetting(d=2, N=4, t_max=2.0, lr=0.02, batch_size=64),
    ...     "lsa_preconditioner": LsaPreconditionerSetting(d=2, N=4, steps=300, batch_size=128),
    ... }
    >>> for name, s in inputs.items():
    ...     result = {"setting": s.to_dict(), **getattr(jobs, name)(s, out)}
    ...     _ = (out / f"{name}.json").write_text(json.dumps(result, default=lambda a: a.tolist()))
    >>> fig = lsa_summary(jobs.lsa_summary(LsaSummarySetting(), out))
    >>> fig.axes[1].get_title()
    'Preconditioner: 7.8% from the optimum (relative Frobenius)'
    """
    task, curves, pre = result["task"], result["curves"], result["preconditioner"]
    fig, (ax_r, ax_g) = subplots(1, 2, figsize=(12, 4.6))
    r_star = task["optimal_risk"]
    ax_r.plot(
        arr(curves["t"]), arr(curves["risk_gamma_flow"]), color="tab:gray", lw=1.5, label="analytic: flow of Γ from 0"
    )
    ax_r.plot(arr(curves["t"]), arr(curves["risk_factored_flow"]), color="k", lw=2.2, label="analytic: flow of (u, U)")
    ax_r.plot(
        arr(curves["net_t"]),
        arr(curves["net_risk"]),
        "o",
        ms=3.5,
        color="tab:orange",
        label="simulated network: R(Γ_eff)",
    )
    ax_r.axhline(r_star, color="tab:red", ls=":", label=f"R* = {r_star:.3f}")
    ax_r.set(
        xlabel="flow time t (network: lr · step)",
        ylabel="risk",
        yscale="log",
        title="Largest relative gap: R(Γ_eff) "
        f"{result['curves_summary']['max_relative_gap_risk_of_gamma_eff']:.1%}, "
        f"held-out error {result['curves_summary']['max_relative_gap_heldout_loss']:.0%}",
    )
    plain_log_ticks(ax_r.yaxis)
    ax_r.legend(fontsize=9)
    star, learned = arr(pre["optimal"]), arr(pre["learned"])
    ax_g.plot(star.ravel(), learned.ravel(), "o", color="tab:orange", ms=6)
    lim = [min(star.min(), learned.min()) - 0.05, max(star.max(), learned.max()) + 0.05]
    ax_g.plot(lim, lim, color="gray", ls="--", lw=1)
    err = pre["summary"]["relative_frobenius_error"]
    ax_g.set(
        xlabel="optimal Γ*ᵢⱼ",
        ylabel="learned Γ_effᵢⱼ (Adam)",
        xlim=lim,
        ylim=lim,
        title=f"Preconditioner: {err:.1%} from the optimum (relative Frobenius)",
    )
    cs = result["curves_setting"]
    where = (
        _setting(task)
        if (cs["d"], cs["N"]) == (task["d"], task["N"])
        else f"curves d = {cs['d']}, N = {cs['N']}; preconditioner {_setting(task)}"
    )
    fig.suptitle(f"Linear attention: analytic against simulated, {where}")
    return fig
