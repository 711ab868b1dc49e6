"""The extended model's figure: its learning curves and transitions against the network's, by group,
and the network's delay with the embedding dimension D against the model's."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from phenom.figures.plots._style import arr, fmt, plain_log_ticks, styled, subplots

__all__ = ["extended"]

_GROUP_COLOR = {"reference": "k", "seen": "tab:blue", "held_out": "tab:red"}
_GROUP_NAME = {
    "reference": "reference",
    "seen": "seen (first round)",
    "held_out": "held out (run after the model was fixed)",
    "pooled": "pooled",
}


def _showcase(runs: list[dict]) -> list[dict]:
    """Up to three configurations to draw whole (the first seed's run of each): the reference, the
    widest D, a held-out configuration at the smallest D, then any others."""
    first: dict[tuple, dict] = {}
    for r in runs:
        first.setdefault((r["N"], r["L"], r["D"], r["lr"], r["batch_size"], r["eps"]), r)
    pool = list(first.values())
    picks = [r for r in pool if r["group"] == "reference"][:1]
    picks += [max(pool, key=lambda r: r["D"])]
    smallest = min(r["D"] for r in pool)
    picks += [r for r in pool if r["group"] == "held_out" and r["D"] == smallest][:1]
    picks += pool
    out: list[dict] = []
    for r in picks:
        if all(r is not o for o in out):
            out.append(r)
    return out[:3]


def _label(r: dict) -> str:
    extra = "".join(
        f", {name} {r[key]:g}"
        for key, name, usual in (("lr", "lr", 0.5), ("batch_size", "batch", 128), ("eps", "ε", 0.1))
        if r[key] != usual
    )
    return f"N = {r['N']}, L = {r['L']}, D = {r['D']}{extra} ({r['group'].replace('_', ' ')})"


@styled
def extended(result: dict) -> Figure:
    """The extended model's learning curves and transitions against the network's.

    Three configurations' held-out loss and P(label in context) against the step, network (every
    seed) beside the extended model and the three-parameter time-scale model (both with their
    stored constants); the predicted transition against the network's for every configuration;
    the network's delay with D against the model's.

    Parameters
    ----------
    result : dict
        The saved result (``extended.json``): what :func:`~phenom.figures.jobs.extended.extended`
        returns, with the ``setting`` it was computed from (as a dict).

    Returns
    -------
    Figure
        The figure (a matplotlib :class:`~matplotlib.figure.Figure`).

    Examples
    --------
    Twenty steps at N = 2, L = 8 (one configuration, so one column of curves beside the
    summary panels):

    >>> import tempfile
    >>> from phenom.figures.jobs import extended as jobs
    >>> from phenom.figures.plots.extended import extended
    >>> from phenom.figures.settings import ExtendedSetting
    >>> s = ExtendedSetting(Ns=(2,), Ls=(8,), Ds=(63,), lrs=(0.5,), batch_sizes=(32,), epss=(0.1,), seeds=(0,),
    ...                     steps=20, eval_every=10, eval_size=64)
    >>> fig = extended({"setting": s.to_dict(), **jobs.extended(s, tempfile.mkdtemp())})
    >>> len(fig.axes), fig.axes[0].get_title()
    (4, 'N = 2, L = 8, D = 63, batch 32 (held out)')
    """
    runs = result["runs"]
    shown = _showcase(runs)
    fig, axes = subplots(2, len(shown) + 1, figsize=(5.2 * (len(shown) + 1), 8.4), squeeze=False)
    for col, pick in enumerate(shown):
        same = [r for r in runs if all(r[k] == pick[k] for k in ("N", "L", "D", "lr", "batch_size", "eps"))]
        ends = [r["net_step"] or r["network"]["step"][-1] for r in same] + [pick["model_step"]]
        end = 1.3 * max(ends)
        for row, (key, name) in enumerate((("eval_loss", "loss"), ("p_context", "p_context"))):
            ax = axes[row, col]
            for k, r in enumerate(same):
                step = arr(r["network"]["step"])
                ax.plot(
                    step,
                    arr(r["network"][key]),
                    "o",
                    ms=2.5,
                    color="tab:purple",
                    alpha=0.6,
                    label="network (each seed)" if k == 0 else None,
                )
            step = arr(pick["network"]["step"])
            ax.plot(step, arr(pick["model"][name]), "-", color="k", lw=1.8, label="extended model")
            ax.plot(step, arr(pick["three_parameter"][name]), ":", color="k", lw=1.5, label="three-parameter model")
            if pick["net_step"] is not None:
                ax.axvline(pick["net_step"], color="gray", lw=1, ls="--", label="network transition (seed shown)")
            ax.axvline(pick["model_step"], color="k", lw=0.8, alpha=0.5, label="extended model's transition")
            ylabel = "held-out loss (nats)" if row == 0 else "P(label in context)"
            ax.set(xlim=(0, end), xlabel="training step", ylabel=ylabel)
            if row == 0:
                ax.set_title(_label(pick), fontsize=10.5)
        axes[0, 0].legend(fontsize=8, loc="lower left")
    ax = axes[0, -1]
    for r in runs:
        if r["net_step"] is None:
            continue
        color = _GROUP_COLOR[r["group"]]
        ax.plot(r["net_step"], r["model_step"], "o", color=color, ms=5)
        ax.plot(r["net_step"], r["three_parameter_step"], "o", mfc="none", color=color, ms=5)
    seen = [
        v
        for r in runs
        if r["net_step"] is not None
        for v in (r["net_step"], r["model_step"], r["three_parameter_step"])
    ]
    if seen:
        lo, hi = 0.85 * min(seen), 1.15 * max(seen)
        ax.plot([lo, hi], [lo, hi], color="gray", lw=1)
        ax.set(xlim=(lo, hi), ylim=(lo, hi))
    for group, color in _GROUP_COLOR.items():
        ax.plot([], [], "o", color=color, label=_GROUP_NAME[group])
    ax.plot([], [], "o", mfc="none", color="gray", label="three-parameter model")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="network's transition step",
        ylabel="predicted transition step",
        title="Transition: extended (filled) and\nthree-parameter (hollow) models",
    )
    plain_log_ticks(ax.xaxis)
    plain_log_ticks(ax.yaxis)
    ax.legend(fontsize=8, loc="upper left")
    ax = axes[1, -1]
    ratios = result["d_ratios"]
    if ratios:
        x = np.arange(len(ratios))
        ax.bar(x - 0.2, [d["network_ratio"] for d in ratios], 0.4, color="tab:purple", label="network")
        ax.bar(x + 0.2, [d["model_ratio"] for d in ratios], 0.4, color="k", label="extended model")
        ax.set_xticks(x, [f"({d['N']}, {d['L']})\nD {d['base_D']}→{d['D']}" for d in ratios], fontsize=8.5)
        ax.axhline(1.0, color="gray", lw=1)
        ax.legend(fontsize=8)
    ax.set(ylabel="transition step / at the smallest D", title="The delay with the embedding dimension D")
    summary = result["summary"]["model"]
    group = "held_out" if "held_out" in summary else "pooled"
    sm = summary.get(group, {})
    c = result["stored_constant"]["c"]
    median, largest = sm.get("median_abs_relative_error"), sm.get("max_abs_relative_error")
    errors = [fmt(None if v is None else 100 * v, ".0f") for v in (median, largest)]
    fig.suptitle(
        f"The extended model (c = {c:.3g} fitted at (8, 32, 63), nothing fitted here) against the network "
        f"trained by SGD over N, L, D, lr, batch size and noise\n{group.replace('_', ' ')} "
        f"({sm.get('configurations', 0)} configurations{', run after the model was fixed' * (group == 'held_out')})"
        f": transition error median {errors[0]}%, largest "
        f"{errors[1]}%; plateau RMS of P(label in context) up to {fmt(sm.get('max_rms_p_context'))}, of the "
        f"loss up to {fmt(sm.get('max_rms_loss'))} nats"
    )
    return fig
