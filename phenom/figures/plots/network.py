"""Figures of the trained two-layer attention network, drawn from saved results."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from phenom.figures.plots._style import COLOR, PARAMETERS, SYMBOL, arr, colormaps, styled, subplots

__all__ = ["network_training", "network_ablation", "induction_heads", "data_dependence", "task_text"]

MEASURES = {
    "icl_acc": ("ICL accuracy", "k"),
    "cla": ("CLA (label in context)", "tab:purple"),
    "ila1": ("ILA1 (layer-1 label→item)", "tab:cyan"),
    "tila2": ("TILA2 (layer-2 target→label)", "tab:olive"),
}


def task_text(task: dict) -> str:
    """The task's setting as a title states it.

    Parameters
    ----------
    task : dict
        A task's ``config`` (as results save it): N, L, D, eps, and for the classification task
        K, B, a, p_B and p_C.

    Returns
    -------
    str
        ``"N = …, L = …, D = …, ε = …"``, followed by the classification fields for that task.

    Examples
    --------
    >>> from phenom.figures.plots.network import task_text
    >>> from phenom.nets.tasks import make_task
    >>> task_text(make_task("copy", N=8, L=32, D=63, eps=0.1).config)
    'N = 8, L = 32, D = 63, ε = 0.1'
    >>> task_text(make_task("classify", N=8, L=32, D=63, eps=0.1, K=64, B=2).config)
    'N = 8, L = 32, D = 63, ε = 0.1, K = 64, B = 2, a = 0, p_B = 1, p_C = 0'
    """
    text = f"N = {task['N']}, L = {task['L']}, D = {task['D']}, ε = {task['eps']:g}"
    if task.get("task") == "classify":
        text += f", K = {task['K']}, B = {task['B']}, a = {task['a']:g}, p_B = {task['p_B']:g}, p_C = {task['p_C']:g}"
    return text


@styled
def network_training(result: dict) -> Figure:
    """Loss, progress measures and effective β, α, ξ against steps; the L = N controls beside.

    Parameters
    ----------
    result : dict
        The saved result (``network_training.json``): what
        :func:`~phenom.figures.jobs.network.network_training` returns, with the ``setting`` it was
        computed from (as a dict).

    Returns
    -------
    matplotlib.figure.Figure
        The figure, drawn without pyplot (save it with ``fig.savefig``).

    Examples
    --------
    Twenty SGD steps of a small run (far from the transition):

    >>> from phenom.figures.plots.network import network_training
    >>> import tempfile
    >>> from phenom.figures.jobs import network as jobs
    >>> from phenom.figures.settings import NetworkTrainingSetting
    >>> s = NetworkTrainingSetting(controls=1, steps=20, evals=4, batch_size=16, eval_size=64)
    >>> fig = network_training({"setting": s.to_dict(), **jobs.network_training(s, tempfile.mkdtemp())})
    >>> [ax.get_title() for ax in fig.axes]  # doctest: +NORMALIZE_WHITESPACE
    ['Loss', 'Progress measures: ICL accuracy never halfway to 1', 'Effective β, α, ξ (inverted measures)',
     'L = N: seeds past halfway 0/1, max accuracy 0.125']
    """
    task, h, controls, cfg = result["task"], result["history"], result["controls"], result["history_config"]
    step = arr(h["step"])
    panels = 4 if controls else 3
    fig, axes = subplots(1, panels, figsize=(5 * panels, 4.3))
    ax = axes[0]
    ax.plot(step[1:], arr(h["loss"])[1:], color="tab:gray", lw=1, label="training batches")
    ax.plot(step, arr(h["eval_loss"]), color="k", lw=2, label="held-out")
    ax.axhline(np.log(task["L"]), color="gray", ls="--", lw=1, label=r"$\log L$")
    ax.axhline(np.log(task["N"]), color="gray", ls=":", lw=1, label=r"$\log N$")
    ax.set(xlabel="training step", ylabel="cross-entropy", title="Loss", ylim=(0, None))
    ax.legend(loc="lower left")

    ax = axes[1]
    for key, (label, color) in MEASURES.items():
        ax.plot(step, arr(h[key]), color=color, lw=2 if key == "icl_acc" else 1.5, label=label)
    ax.axhline(1 / task["L"], color="gray", ls="--", lw=1, label="1/L (chance)")
    ax.axhline(1 / task["N"], color="gray", ls=":", lw=1, label="1/N (guess in context)")
    when = result["summary"]["transition_step"]
    ax.set(
        xlabel="training step",
        ylabel="fraction",
        ylim=(0, 1.02),
        title="Progress measures"
        + (f": ICL accuracy halfway at step {when:.0f}" if when is not None else ": ICL accuracy never halfway to 1"),
    )
    ax.legend(loc="center right", fontsize=8.5)

    ax = axes[2]
    for name in PARAMETERS:
        ax.plot(step, arr(h[name]), color=COLOR[name], lw=2, label=SYMBOL[name])
    ax.set(xlabel="training step", ylabel="effective parameter", title="Effective β, α, ξ (inverted measures)")
    ax.legend(loc="upper left")

    if controls:
        ax = axes[3]
        N = task["N"]
        ax.plot(step, arr(h["icl_acc"]), color="k", lw=2, label=f"L = {task['L']}")
        for i, c in enumerate(controls):
            ax.plot(
                arr(c["history"]["step"]),
                arr(c["history"]["icl_acc"]),
                color="tab:red",
                lw=1.3,
                alpha=0.8,
                label=f"L = N = {N}" if i == 0 else None,
            )
        ax.axhline(1 / N, color="tab:red", ls=":", lw=1, label=f"chance at L = N: 1/{N}")
        best = max(c["summary"]["max_icl_acc"] for c in controls)
        learned = sum(c["summary"]["transition_step"] is not None for c in controls)
        ax.set(
            xlabel="training step",
            ylabel="ICL accuracy",
            ylim=(0, 1.02),
            title=f"L = N: seeds past halfway {learned}/{len(controls)}, max accuracy {best:.3f}",
        )
        ax.legend(loc="center right", fontsize=8.5)
    kind = "copying task" if task.get("task") != "classify" else "in-context classification task"
    fig.suptitle(
        f"Two-layer attention network on the {kind}, {task_text(task)}, {cfg['optimizer'].upper()} "
        f"lr {cfg['lr']:g}, batch {cfg['batch_size']}, {cfg['net'].get('classifier', '')} read-out"
    )
    return fig


@styled
def network_ablation(result: dict) -> Figure:
    """ICL accuracy of the trained network, intact and with each head's contribution removed.

    Parameters
    ----------
    result : dict
        The saved result (``network_ablation.json``): what
        :func:`~phenom.figures.jobs.network.network_ablation` returns, with the ``setting`` it was
        computed from (as a dict).

    Returns
    -------
    matplotlib.figure.Figure
        The figure, drawn without pyplot (save it with ``fig.savefig``).

    Examples
    --------
    Twenty SGD steps of a small run (far from the transition):

    >>> from phenom.figures.plots.network import network_ablation
    >>> import tempfile
    >>> from phenom.figures.jobs import network as jobs
    >>> from phenom.figures.settings import NetworkAblationSetting
    >>> s = NetworkAblationSetting(ablation_size=256, steps=20, evals=4, batch_size=16, eval_size=64)
    >>> fig = network_ablation({"setting": s.to_dict(), **jobs.network_ablation(s, tempfile.mkdtemp())})
    >>> fig.axes[0].get_title()
    'Head ablation, N = 8, L = 32, D = 63, ε = 0.1'
    """
    task, results = result["task"], result["results"]
    fig, ax = subplots(figsize=(6.8, 4.4))
    names = list(results)
    values = [results[k]["icl_acc"] for k in names]
    bars = ax.bar(names, values, color=["k", "tab:blue", "tab:orange"][: len(names)])
    for bar, v in zip(bars, values, strict=True):
        ax.text(bar.get_x() + bar.get_width() / 2, v + 0.02, f"{v:.3f}", ha="center")
    ax.axhline(1 / task["L"], color="gray", ls="--", lw=1, label=f"chance 1/L = {1 / task['L']:.3f}")
    ax.axhline(1 / task["N"], color="gray", ls=":", lw=1, label=f"guess in context 1/N = {1 / task['N']:.3f}")
    ax.set(ylabel="ICL accuracy (held-out)", ylim=(0, 1.1), title=f"Head ablation, {task_text(task)}")
    ax.legend(loc="upper right")
    return fig


HEADS = {
    "previous_token": ("previous-token (layer 1)", "tab:blue"),
    "prefix_matching": ("prefix matching (layer 2)", "tab:orange"),
    "copying": ("copying (OV eigenvalues)", "tab:green"),
}


@styled
def induction_heads(result: dict) -> Figure:
    """Draw the induction-head scores through training against ICL accuracy.

    Olsson et al.'s induction-head scores through training against ICL accuracy (first seed);
    the step each score rises halfway against the ICL transition, every seed; the final scores
    against their chance values.

    Parameters
    ----------
    result : dict
        The saved result (``induction_heads.json``): what
        :func:`~phenom.figures.jobs.network.induction_heads` returns, with the ``setting`` it was
        computed from (as a dict).

    Returns
    -------
    matplotlib.figure.Figure
        The figure, drawn without pyplot (save it with ``fig.savefig``).

    Examples
    --------
    Twenty SGD steps of a small run (far from the transition):

    >>> from phenom.figures.plots.network import induction_heads
    >>> import tempfile
    >>> from phenom.figures.jobs import network as jobs
    >>> from phenom.figures.settings import InductionHeadsSetting
    >>> s = InductionHeadsSetting(seeds=(0,), score_size=64, steps=20, evals=4, batch_size=16, eval_size=64)
    >>> fig = induction_heads({"setting": s.to_dict(), **jobs.induction_heads(s, tempfile.mkdtemp())})
    >>> len(fig.axes), fig.axes[2].get_title()
    (3, 'After training, on held-out sequences')
    """
    runs = result["runs"]
    first = runs[0]
    h = first["history"]
    step = arr(h["step"])
    fig, (ax_c, ax_r, ax_f) = subplots(1, 3, figsize=(16, 4.6))

    ax_c.plot(step, arr(h["icl_acc"]), color="k", lw=2.2, label="ICL accuracy")
    for key, (label, color) in HEADS.items():
        ax_c.plot(step, arr(h[key]), color=color, lw=1.6, label=label)
    if first["transition_step"] is not None:
        ax_c.axvline(first["transition_step"], color="tab:red", lw=1, ls="--", label="ICL transition")
    ax_c.set(
        xlabel="training step",
        ylabel="score / accuracy",
        ylim=(-0.05, 1.05),
        title=f"Seed {first['seed']}: {task_text(result['task'])}",
    )
    ax_c.legend(fontsize=8, loc="center left", bbox_to_anchor=(0.13, 0.52))

    for i, (key, (_, color)) in enumerate(HEADS.items()):
        ys = [r["rise_minus_transition"][key] for r in runs]
        ax_r.scatter(
            i + 0.06 * (np.arange(len(runs)) - (len(runs) - 1) / 2),
            [np.nan if y is None else y for y in ys],
            color=color,
            s=40,
            zorder=3,
        )
    ax_r.axhline(0, color="tab:red", lw=1, ls="--")
    ax_r.axhspan(
        -result["eval_every"],
        result["eval_every"],
        color="0.9",
        zorder=0,
        label=f"± one evaluation interval ({result['eval_every']} steps)",
    )
    ax_r.set_xticks(range(len(HEADS)), [label.split(" (")[0] for label, _ in HEADS.values()])
    ax_r.set(
        ylabel="step of halfway rise − ICL transition step",
        title=f"Does the phase change coincide with the transition?\n(each dot a seed; "
        f"{len(runs)} seed{'s' if len(runs) > 1 else ''})",
    )
    ax_r.legend(fontsize=8.5, loc="lower left")

    keys = ("previous_token", "prefix_matching", "prefix_matching_repeated", "copying")
    chance = {
        "previous_token": "previous_token_chance",
        "prefix_matching": "prefix_matching_chance",
        "prefix_matching_repeated": "prefix_matching_chance",
    }
    x = np.arange(len(keys))
    for j, r in enumerate(runs):
        vals = [np.nan if r["final"][k] is None else r["final"][k] for k in keys]
        ax_f.bar(
            x + 0.8 / len(runs) * (j - (len(runs) - 1) / 2),
            vals,
            width=0.8 / len(runs),
            color=colormaps["Greys"](0.4 + 0.5 * j / max(len(runs) - 1, 1)),
            label=f"seed {r['seed']}",
        )
    for i, k in enumerate(keys):
        if k in chance:
            ax_f.plot(
                [i - 0.45, i + 0.45],
                [first["final"][chance[k]]] * 2,
                color="tab:red",
                lw=1.5,
                label="uniform attention" if i == 0 else None,
            )
    ax_f.axhline(0, color="0.5", lw=0.8)
    ax_f.set_xticks(x, ["previous\ntoken", "prefix match\n(task)", "prefix match\n(repeated)", "copying"])
    ax_f.set(ylabel="final score", ylim=(-1.05, 1.05), title="After training, on held-out sequences")
    ax_f.legend(fontsize=8.5, loc="lower right")
    fig.suptitle("Induction-head diagnostics (Olsson et al. 2022) against in-context learning", fontsize=13)
    return fig


FACTORS = {
    "B": ("burstiness B (copies of each class in context; 0 = i.i.d.)", "linear", "B"),
    "K": ("number of classes K", "log", "K"),
    "eps": ("within-class noise ε", "linear", "ε"),
    "zipf": ("Zipf exponent a of class frequencies", "linear", "a"),
}
ACCURACIES = {
    "icl_acc": ("ICL: IC (novel classes)", "k", "-"),
    "ic2_acc": ("ICL: IC2 (stored classes, labels shifted)", "0.45", "--"),
    "iwl_acc": ("IWL: IW (i.i.d. context)", "tab:orange", "-"),
}


@styled
def data_dependence(result: dict) -> Figure:
    """Draw ICL and IWL accuracy against each factor of the data.

    ICL and IWL accuracy against each factor of the data, one factor at a time from the base
    (seed means as lines, each seed a dot), with chance levels.

    Parameters
    ----------
    result : dict
        The saved result (``data_dependence.json``): what
        :func:`~phenom.figures.jobs.network.data_dependence` returns, with the ``setting`` it was
        computed from (as a dict).

    Returns
    -------
    matplotlib.figure.Figure
        The figure, drawn without pyplot (save it with ``fig.savefig``).

    Examples
    --------
    A tiny sweep (N = 4, L = 8, two values per factor, ten steps per run) on a thread of this
    process:

    >>> from phenom.figures.plots.network import data_dependence
    >>> import tempfile
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> from phenom.figures.jobs import network as jobs
    >>> from phenom.figures.settings import DataDependenceSetting
    >>> s = DataDependenceSetting(
    ...     N=4, L=8, D=15, K=16, B=2, B_values=(0, 2), K_values=(8, 16), eps_values=(0.1, 0.5),
    ...     zipf_values=(0.0, 1.0), seeds=(0,), lr=0.1, steps=10, batch_size=8, eval_size=32, curve_every=10,
    ... )
    >>> with ThreadPoolExecutor(1) as pool:
    ...     result = jobs.data_dependence(s, tempfile.mkdtemp(), executor=pool)
    >>> fig = data_dependence({"setting": s.to_dict(), **result})
    >>> [ax.get_title() for ax in fig.axes][:2]
    ['varying B (others at the base)', 'varying K (others at the base)']
    """
    base, train = result["base"], result["training"]
    fig, axes = subplots(2, 2, figsize=(11.5, 9.2))
    for ax, (factor, entries) in zip(axes.ravel(), result["sweeps"].items(), strict=False):
        label, scale, symbol = FACTORS[factor]
        x = arr([e["value"] for e in entries])
        for key, (name, color, ls) in ACCURACIES.items():
            ax.plot(x, arr([e[key] for e in entries]), color=color, ls=ls, lw=2, marker="o", ms=4, label=name)
            for e in entries:
                ys = [s[key] for s in e["seeds"]]
                ax.scatter([e["value"]] * len(ys), ys, color=color, s=12, alpha=0.5, zorder=3)
        ax.axhline(
            result["chance"]["IW"], color="tab:red", lw=1, ls=":", label=f"chance 1/L = {result['chance']['IW']:.3f}"
        )
        ax.axhline(
            result["chance"]["IC_labels_in_context"],
            color="tab:blue",
            lw=1,
            ls=":",
            label=f"guess among labels in context ({result['chance']['IC_labels_in_context']:.2f})",
        )
        ax.axvline(base[factor], color="0.75", lw=6, alpha=0.5, zorder=0, label="base setting")
        if scale == "log":
            ax.set_xscale("log", base=2)
            ax.set_xticks(x, [f"{v:g}" for v in x])
        else:
            ax.set_xticks(x, [f"{v:g}" for v in x])
        ax.margins(x=0.06)
        ax.set(
            xlabel=label,
            ylabel="accuracy after training",
            ylim=(-0.02, 1.02),
            title=f"varying {symbol} (others at the base)",
        )
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncol=3, fontsize=9.5)
    seeds = len(result["seeds"]["init_data_and_classes"])
    fig.suptitle(
        "In-context vs in-weights learning as the data change (Reddy 2024, Sec. 3; Chan et al. 2022)\n"
        f"base: N = {base['N']}, L = {base['L']}, D = {base['D']}, K = {base['K']}, B = {base['B']}, "
        f"ε = {base['eps']:g}, a = {base['zipf']:g}, p_B = 1, p_C = 0; SGD lr {train['lr']:g}, "
        f"{train['steps']} steps, {seeds} seed{'s' if seeds > 1 else ''}",
        fontsize=12,
    )
    return fig
