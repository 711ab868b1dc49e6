"""The extended model's figure: its learning curves (:mod:`phenom.induction.extended`, stored
constant, nothing fitted here) against networks trained over N, L, D, the learning rate, the batch
size and the noise, with the targets reported by group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from phenom.figures.runs import scaling_run
from phenom.figures.settings import ExtendedSetting
from phenom.figures.statistics import delay_ratios, group_statistics, slope
from phenom.induction.extended import EXTENDED_TIME_CONSTANT, ExtendedModel, extended_curves
from phenom.induction.prediction import predicted_curves
from phenom.nets.measures import transition_level, transition_step

__all__ = ["extended"]

SEEN = (
    (2, 8, 63, 0.5, 128, 0.1),
    (4, 16, 63, 0.5, 128, 0.1),
    (8, 32, 127, 0.5, 128, 0.1),
    (8, 32, 255, 0.5, 128, 0.1),
    (4, 16, 127, 0.5, 128, 0.1),
    (4, 16, 255, 0.5, 128, 0.1),
    (6, 24, 63, 0.5, 128, 0.1),
    (8, 20, 63, 0.5, 128, 0.1),
    (4, 16, 63, 0.25, 128, 0.1),
    (4, 16, 63, 0.5, 32, 0.1),
    (4, 16, 63, 0.5, 128, 0.3),
)
"""(N, L, D, lr, batch size, ε) whose networks' measurements shaped the extended model: the first
round's eleven configurations besides the reference, on which the terms were chosen and, after
them, the factor rates (the network's own push on each reading, measured at (4, 16) with D = 63
and 255, and every first-round configuration compared under the candidate counts). Reported as
their own group; every other configuration is held out of every choice."""

PLATEAU_END = 0.8
"""The plateau: evaluations before this fraction of the network's transition step."""

TARGETS = {
    "plateau_rms_p_context": 0.05,
    "plateau_rms_loss": 0.10,
    "xi_rate_ratio": 2.0,
    "median_abs_relative_error": 0.05,
    "max_abs_relative_error": 0.12,
}
"""The targets the extended model is held to: RMS distances over the plateau (P(label in context),
held-out loss in nats), the network's plateau rate of the effective ξ within this factor of the
model's, the transition step's median and largest relative error."""


def _group(cfg: dict) -> str:
    key = (cfg["N"], cfg["L"], cfg["D"], cfg["lr"], cfg["batch_size"], cfg["eps"])
    if key == (*EXTENDED_TIME_CONSTANT["reference"], 0.5, 128, 0.1):
        return "reference"
    return "seen" if key in SEEN else "held_out"


def _extended_run(s: ExtendedSetting, cfg: dict, seed: int) -> dict:
    """One network run at ``cfg`` and both models' curves at its evaluation steps."""
    config = {**cfg, "seed": seed, "steps": s.steps, "eval_every": s.eval_every, "eval_size": s.eval_size}
    _, hist = scaling_run({**config, "weight_decay": s.weight_decay})
    step = hist.step.astype(float)
    net_step = transition_step(hist.step, hist.icl_acc, transition_level(cfg["N"]))
    options = {"D": cfg["D"], "eps": cfg["eps"], "lr": cfg["lr"], "batch_size": cfg["batch_size"]}
    model = extended_curves(cfg["N"], cfg["L"], steps=step, **options)
    three = predicted_curves(cfg["N"], cfg["L"], steps=step, model="time_scales", **options)
    # The effective ξ as the network's is read: the margin over the absent labels / TILA2.
    z = ExtendedModel(cfg["N"], cfg["L"]).attention(*model.theta[:, :3].T)[:, 1]
    xi_eff = model.theta[:, 3] + model.theta[:, 4] / z
    run: dict[str, Any] = {
        **cfg,
        "seed": seed,
        "group": _group(cfg),
        "net_step": net_step,
        "model_step": model.transition_step,
        "three_parameter_step": three.transition_step,
        "network": {k: getattr(hist, k) for k in ("step", "eval_loss", "p_correct", "p_context", "icl_acc", "xi")},
        "model": {"loss": model.loss, "p_correct": model.p_correct, "p_context": model.p_context, "xi": xi_eff},
        "three_parameter": {
            "loss": three.loss,
            "p_correct": three.p_correct,
            "p_context": three.p_context,
            "xi": three.xi,
        },
    }
    if net_step is None:
        return run
    plateau = step < PLATEAU_END * net_step
    rising = plateau & (step >= 0.1 * net_step)
    net_rate = slope(step[rising], hist.xi[rising])
    for name in ("model", "three_parameter"):
        m = run[name]
        rate = slope(step[rising], m["xi"][rising])
        run[name + "_plateau"] = {
            "rms_p_context": float(np.sqrt(np.mean((m["p_context"][plateau] - hist.p_context[plateau]) ** 2))),
            "rms_loss": float(np.sqrt(np.mean((m["loss"][plateau] - hist.eval_loss[plateau]) ** 2))),
            "xi_rate_ratio": None if net_rate is None or not rate else net_rate / rate,
        }
    return run


def extended(setting: ExtendedSetting, out: Path) -> dict:
    """Train the network at each configuration and seed and put the extended model's curves beside it.

    The extended model's learning curves (stored constant c, fitted at (8, 32, 63); nothing
    fitted here) and the three-parameter time-scale model's go beside the network at every
    evaluation, and the targets are reported by group: the reference (where c was fitted, left
    out of every error statistic), the configurations whose measurements shaped the model
    (:data:`SEEN`) and those held out of every choice.

    Parameters
    ----------
    setting : ExtendedSetting
        The paired configurations, seeds and training options.
    out : Path
        The output folder (unused: nothing is saved beside the result).

    Returns
    -------
    dict
        ``seeds``, ``stored_constant``, ``targets`` (:data:`TARGETS`), ``plateau_end``, ``runs``
        (one per configuration and seed: the network's columns and both models' curves at its
        evaluations), ``summary`` (per model and group), ``d_ratios`` and
        ``runs_without_transition``.

    Examples
    --------
    Twenty steps at N = 2, L = 8 (batch 32, so held out): the extended model predicts the
    transition near step 114, the three-parameter model near 145; twenty steps reach neither.

    >>> import tempfile
    >>> from phenom.figures.jobs.extended import extended
    >>> from phenom.figures.settings import ExtendedSetting
    >>> s = ExtendedSetting(Ns=(2,), Ls=(8,), Ds=(63,), lrs=(0.5,), batch_sizes=(32,), epss=(0.1,), seeds=(0,),
    ...                     steps=20, eval_every=10, eval_size=64)
    >>> result = extended(s, tempfile.mkdtemp())
    >>> run = result["runs"][0]
    >>> run["group"], round(run["model_step"]), round(run["three_parameter_step"]), run["net_step"]
    ('held_out', 114, 145, None)
    >>> result["runs_without_transition"], sorted(result["summary"]["model"])
    (1, ['held_out', 'pooled'])
    """
    s = setting
    runs = [_extended_run(s, cfg, seed) for cfg in s.configs() for seed in s.seeds]
    groups = {
        "seen": [r for r in runs if r["group"] == "seen"],
        "held_out": [r for r in runs if r["group"] == "held_out"],
        "pooled": [r for r in runs if r["group"] != "reference"],
    }
    summary = {
        key: {name: group_statistics(members, key, TARGETS) for name, members in groups.items() if members}
        for key in ("model", "three_parameter")
    }
    return {
        "seeds": {"init_and_data": list(s.seeds)},
        "stored_constant": dict(EXTENDED_TIME_CONSTANT),
        "targets": TARGETS,
        "plateau_end": PLATEAU_END,
        "runs": runs,
        "summary": summary,
        "d_ratios": delay_ratios(runs),
        "runs_without_transition": sum(r["net_step"] is None for r in runs),
    }
