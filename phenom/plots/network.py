"""Figures of the trained two-layer attention network and of the exact minimal model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._style import COLOR, SYMBOL, plt

__all__ = ["training_figure", "ablation_figure", "minimal_figure"]

MEASURES = {"icl_acc": ("ICL accuracy", "k"), "cla": ("CLA (label in context)", "tab:purple"),
            "ila1": ("ILA1 (layer-1 label→item)", "tab:cyan"), "tila2": ("TILA2 (layer-2 target→label)", "tab:olive")}


def _setting(task) -> str:
    text = f"N = {task.N}, L = {task.L}, D = {task.D}, ε = {task.eps:g}"
    if hasattr(task, "K"):
        text += f", K = {task.K}, B = {task.B}, a = {task.a:g}, p_B = {task.p_B:g}, p_C = {task.p_C:g}"
    return text


def training_figure(hist, task, controls: Sequence = (), control_task=None):
    """Loss, progress measures and effective β, α, ξ against steps; L = N controls if given."""
    panels = 4 if controls else 3
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 4.3), constrained_layout=True)
    step = hist.step
    ax = axes[0]
    ax.plot(step[1:], hist.loss[1:], color="tab:gray", lw=1, label="training batches")
    ax.plot(step, hist.eval_loss, color="k", lw=2, label="held-out")
    ax.axhline(np.log(task.L), color="gray", ls="--", lw=1, label=r"$\log L$")
    ax.axhline(np.log(task.N), color="gray", ls=":", lw=1, label=r"$\log N$")
    ax.set(xlabel="training step", ylabel="cross-entropy", title="Loss", ylim=(0, None))
    ax.legend(loc="lower left")

    ax = axes[1]
    for key, (label, color) in MEASURES.items():
        ax.plot(step, getattr(hist, key), color=color, lw=2 if key == "icl_acc" else 1.5, label=label)
    ax.axhline(1 / task.L, color="gray", ls="--", lw=1, label="1/L (chance)")
    ax.axhline(1 / task.N, color="gray", ls=":", lw=1, label="1/N (guess in context)")
    ax.set(xlabel="training step", ylabel="fraction", title="Progress measures: slow CLA, then a jump", ylim=(0, 1.02))
    ax.legend(loc="center right", fontsize=8.5)

    ax = axes[2]
    for name in ("beta", "alpha", "xi"):
        ax.plot(step, getattr(hist, name), color=COLOR[name], lw=2, label=SYMBOL[name])
    ax.set(xlabel="training step", ylabel="effective parameter", title="Effective β, α, ξ (inverted measures)")
    ax.legend(loc="upper left")

    if controls:
        ax = axes[3]
        ax.plot(step, hist.icl_acc, color="k", lw=2, label=f"L = {task.L}")
        for i, h in enumerate(controls):
            ax.plot(h.step, h.icl_acc, color="tab:red", lw=1.3, alpha=0.8, label=f"L = N = {control_task.L}" if i == 0 else None)
        ax.axhline(1 / control_task.L, color="tab:red", ls=":", lw=1, label=f"chance at L = N: 1/{control_task.L}")
        ax.set(xlabel="training step", ylabel="ICL accuracy", ylim=(0, 1.02),
               title=f"L = N does not learn ({len(controls)} seed{'s' if len(controls) > 1 else ''})")
        ax.legend(loc="center right", fontsize=8.5)
    cfg = hist.config
    kind = "copying task" if not hasattr(task, "K") else "in-context classification task"
    fig.suptitle(f"Two-layer attention network on the {kind}, {_setting(task)}, {cfg['optimizer'].upper()} "
                 f"lr {cfg['lr']:g}, batch {cfg['batch_size']}, {cfg['net'].get('classifier', '')} read-out")
    return fig


def ablation_figure(results: dict, task):
    """ICL accuracy of the trained network, intact and with each head's contribution removed."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4), constrained_layout=True)
    names = list(results)
    values = [results[k]["icl_acc"] for k in names]
    bars = ax.bar(names, values, color=["k", "tab:blue", "tab:orange"][: len(names)])
    for bar, v in zip(bars, values):
        ax.text(bar.get_x() + bar.get_width() / 2, v + 0.02, f"{v:.3f}", ha="center")
    ax.axhline(1 / task.L, color="gray", ls="--", lw=1, label=f"chance 1/L = {1 / task.L:.3f}")
    ax.axhline(1 / task.N, color="gray", ls=":", lw=1, label=f"guess in context 1/N = {1 / task.N:.3f}")
    ax.set(ylabel="ICL accuracy (held-out)", ylim=(0, 1.1), title=f"Ablating either head abolishes ICL, {_setting(task)}")
    ax.legend(loc="upper right")
    return fig


def minimal_figure(curves: dict, grid: dict, N: int, L: int):
    """Exact minimal model vs the mean-field model: along their flows, and over a slice."""
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(13, 4.6), constrained_layout=True)
    ax_t.plot(curves["t"], curves["exact_loss"], color="k", lw=2, label=f"exact minimal model (cliff t = {curves['exact_cliff']:.1f})")
    ax_t.plot(curves["t"], curves["mean_field_loss"], color="tab:blue", lw=2, ls="--",
              label=f"mean-field model (cliff t = {curves['mean_field_cliff']:.1f})")
    ax_t.plot(curves["check_t"], curves["numpy_minimal_loss"], "o", color="tab:orange", ms=5,
              label="numpy minimal network on the exact flow's path")
    ax_t.set(xlabel="flow time t", ylabel="loss", title="Gradient flows from θ = 0", ylim=(0, None))
    ax_t.legend(loc="lower left", fontsize=9)
    diff = grid["exact"] - grid["mean_field"]
    vmax = float(np.max(np.abs(diff)))
    im = ax_m.pcolormesh(grid["alpha"], grid["beta"], diff, cmap="RdBu_r", vmin=-vmax, vmax=vmax, shading="auto")
    fig.colorbar(im, ax=ax_m, label="exact − mean-field loss")
    ax_m.set(xlabel=SYMBOL["alpha"], ylabel=SYMBOL["beta"],
             title=f"Loss difference over (α, β) at ξ = {grid['xi']:.2f} (max |Δ| = {vmax:.3f})")
    fig.suptitle(f"How far the mean-field model is from the exact minimal network, N = {N}, L = {L}")
    return fig
