"""Figures of the β, α, ξ model: its gradient flow and its loss landscape."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..flow import Trajectory
from ..landscape import Slice
from ._style import COLOR, SYMBOL, plt

__all__ = ["flow_figure", "landscape_figure"]


def _setting(traj: Trajectory) -> str:
    return f"N = {traj.settings['N']}, L = {traj.settings['L']}, lr = {traj.lr:g}"


def flow_figure(main: Trajectory, controls: Sequence[Trajectory], accuracy, *, n: int = 600):
    """Loss, parameters and accuracy of gradient flows of the β, α, ξ model.

    ``main`` is drawn in detail; ``controls`` (flows at other L, L = N among them) share the
    accuracy panel. ``accuracy(traj, theta)`` gives the probabilities of the correct label and
    of any in-context label.
    """
    N, L = main.settings["N"], main.settings["L"]
    fig, (ax_loss, ax_par, ax_acc) = plt.subplots(1, 3, figsize=(15, 4.4), constrained_layout=True)
    t, theta, loss = main.sample(n)
    cliff = main.cliff()

    ax_loss.plot(t, loss, color="k", lw=2, label="loss")
    ax_loss.axhline(np.log(L), color="gray", ls="--", lw=1, label=rf"chance, $\log L$ = {np.log(L):.2f}")
    ax_loss.axhline(np.log(N), color="gray", ls=":", lw=1, label=rf"guess in context, $\log N$ = {np.log(N):.2f}")
    if cliff is not None:
        ax_loss.axvline(cliff, color="tab:red", lw=1, alpha=0.7, label=f"cliff (max $|\\nabla$loss$|$), t = {cliff:.1f}")
    ax_loss.set(xlabel="flow time t", ylabel="cross-entropy loss", title="Plateau, then a cliff", ylim=(0, None))
    ax_loss.legend(loc="center right")

    for k, name in enumerate(main.names):
        ax_par.plot(t, theta[:, k], color=COLOR[name], lw=2, label=SYMBOL[name])
    crossings = main.crossing_times(1.0)
    for name, tc in crossings.items():
        if tc is not None:
            ax_par.plot([tc], [1.0], "o", color=COLOR[name], ms=6, mec="k")
    ax_par.axhline(1.0, color="gray", lw=0.8, ls=":")
    order = " < ".join(SYMBOL[k] for k, v in sorted(crossings.items(), key=lambda kv: np.inf if kv[1] is None else kv[1]))
    ax_par.set(xlabel="flow time t", ylabel="parameter value", title=f"Learned in sequence: {order} reach 1")
    ax_par.legend(loc="upper left")

    cmap = plt.get_cmap("viridis")
    others = sorted(controls, key=lambda tr: tr.settings["L"])
    for i, tr in enumerate([main, *others]):
        tt, th, _ = tr.sample(n)
        Li = tr.settings["L"]
        if Li == tr.settings["N"]:
            style = dict(color="tab:red", lw=2.5, ls="--")
        elif tr is main:
            style = dict(color="k", lw=2)
        else:
            style = dict(color=cmap(i / max(len(others), 1)), lw=1.3)
        p_correct, p_context = accuracy(tr, th)
        ax_acc.plot(tt, p_correct, label=f"L = {Li}" + (" = N" if Li == tr.settings["N"] else ""), **style)
        if tr is main:
            ax_acc.plot(tt, p_context, color="k", lw=1.2, ls=":", label=f"L = {Li}: P(label in context)")
    ax_acc.set(xlabel="flow time t", ylabel="classifier probability", title=f"L = N never learns (N = {N})", ylim=(0, 1.02))
    ax_acc.legend(loc="center right")

    fig.suptitle(f"Gradient flow of the induction-head model from θ = (β, α, ξ) = {tuple(float(v) for v in main.theta[0])}, {_setting(main)}")
    return fig


def landscape_figure(slices: Sequence[Slice], traj: Trajectory, *, n: int = 600):
    """Loss on 2-D slices through the cliff point, the flow's path, and |∇loss| along the path."""
    fig, axes = plt.subplots(1, len(slices) + 1, figsize=(5 * (len(slices) + 1), 4.4), constrained_layout=True)
    t, theta, loss = traj.sample(n)
    cliff = traj.cliff()
    at_cliff = traj(cliff) if cliff is not None else None
    for ax, s in zip(axes, slices):
        levels = np.linspace(0, float(np.log(s.L)), 25)
        cs = ax.contourf(s.x, s.y, s.loss, levels=levels, cmap="magma")
        ax.contour(s.x, s.y, s.loss, levels=levels[::3], colors="w", linewidths=0.4, alpha=0.6)
        px, py = s.project(theta)
        ax.plot(px, py, color="cyan", lw=2, label="flow path (projected)")
        ax.plot(px[0], py[0], "o", color="cyan", mec="k", label="start")
        if at_cliff is not None:
            cx, cy = s.project(at_cliff)
            ax.plot(cx, cy, "*", color="tab:red", ms=14, mec="w", label="cliff point")
        ax.set(xlim=(s.x[0], s.x[-1]), ylim=(s.y[0], s.y[-1]), xlabel=SYMBOL[s.x_name], ylabel=SYMBOL[s.y_name])
        ax.set_title(f"loss at {SYMBOL[s.fixed[0]]} = {s.fixed[1]:.2f}")
        ax.legend(loc="upper left", framealpha=0.8)
        fig.colorbar(cs, ax=ax, label="loss", ticks=np.arange(0, np.log(s.L) + 0.01, 0.5))

    ax = axes[-1]
    ax.plot(t, loss, color="k", lw=2, label="loss")
    ax.set(xlabel="flow time t", ylabel="loss along the path", ylim=(0, None))
    ax2 = ax.twinx()
    ax2.plot(t, traj.grad_norm_at(t), color="tab:red", lw=1.5, label=r"$|\nabla$loss$|$")
    ax2.set_ylabel(r"$|\nabla$loss$|$", color="tab:red")
    if cliff is not None:
        ax.axvline(cliff, color="tab:red", ls=":", lw=1)
        ax.set_title(f"The cliff: |∇loss| peaks at t = {cliff:.1f}")
    else:
        ax.set_title("No cliff: ∇loss = 0, the flow does not move")
    lines = ax.get_legend_handles_labels(), ax2.get_legend_handles_labels()
    ax.legend(lines[0][0] + lines[1][0], lines[0][1] + lines[1][1], loc="center left")
    where = "near the cliff" if cliff is not None else f"through θ0 = {tuple(float(v) for v in theta[0])}"
    fig.suptitle(f"Loss landscape of the induction-head model {where}, {_setting(traj)}")
    return fig
