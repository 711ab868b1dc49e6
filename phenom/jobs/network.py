"""Jobs for the two-layer attention network: training runs, ablation, the exact minimal model."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .. import _io, _rng, _validate
from ..flow import induction_flow
from ..induction import ExactInductionModel, InductionHeadModel
from ..nets import AttentionNetwork, CopyingTask, train
from ..nets.minimal import MinimalNetwork
from ..plots.network import ablation_figure, minimal_figure, training_figure
from ._common import entry

__all__ = ["TRAIN_SETTING", "make_task", "train_run", "train_job", "ablate_job", "minimal_job", "reference_job"]

TRAIN_SETTING = dict(N=8, L=32, D=63, eps=0.1, steps=2000, lr=0.5, optimizer="sgd", classifier="linear",
                     batch_size=128, weight_decay=1e-6)
"""The documented fast setting: SGD at lr 0.5 learns the copying task at N = 8, L = 32 in ~1000 steps."""


TASKS = ("copy", "classify")
CLASSIFY_KEYS = ("K", "B", "a", "p_B", "p_C")


def make_task(task: str = "copy", **kw):
    """``"copy"`` (N, L, D, eps) or ``"classify"`` (also K, B, a, p_B, p_C)."""
    base = {k: kw[k] for k in ("N", "L", "D", "eps") if k in kw}
    if task == "copy":
        return CopyingTask(**base)
    if task == "classify":
        from ..tasks import ClassificationTask

        return ClassificationTask(**base, **{k: kw[k] for k in CLASSIFY_KEYS if kw.get(k) is not None})
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")


def train_run(out: Path | None, *, task, steps: int, lr: float, optimizer: str = "sgd", classifier: str = "linear",
              seed: int = 0, batch_size: int = 128, weight_decay: float = 1e-6, eval_every: int | None = None,
              eval_size: int = 2048, stem: str = "history", progress: bool | None = None):
    """Train one network; with ``out``, write ``stem.csv``/``stem.json`` and a resumable
    ``stem.checkpoint.npz`` (a re-run with the same configuration resumes or reuses it)."""
    net = AttentionNetwork.init(task, classifier, seed=seed)
    checkpoint = None if out is None else Path(out) / f"{stem}.checkpoint.npz"
    hist = train(net, task, steps=steps, lr=lr, optimizer=optimizer, batch_size=batch_size, seed=seed,
                 weight_decay=weight_decay if optimizer == "sgd" else 0.0, eval_every=eval_every or max(1, steps // 50),
                 eval_size=eval_size, checkpoint=checkpoint, resume=True, progress=progress)
    if out is not None:
        hist.save(out, stem)
    return net, hist


def train_job(out="figures", *, task: str = "copy", seed: int = 0, controls: int = 0, name: str = "train",
              progress: bool | None = None, **settings) -> dict:
    """Train, write the history and a figure of loss, progress measures and effective β, α, ξ;
    ``controls`` > 0 adds that many L = N runs (seeds 0, 1, …) with the same budget."""
    started = time.perf_counter()
    s = {**TRAIN_SETTING, **settings}
    out = Path(out)
    the_task = make_task(task, **s)
    run = {k: s[k] for k in ("steps", "lr", "optimizer", "classifier", "batch_size", "weight_decay")}
    net, hist = train_run(out, task=the_task, seed=seed, stem=f"{name}_history", progress=progress, **run)
    files = [f"{name}.png", f"{name}_history.csv", f"{name}_history.json"]
    if task == "classify":
        # In-context vs in-weights: accuracy on the three evaluation sets.
        sets = the_task.eval_sets(4096, _rng.stream(20_000 + seed, "eval"), dtype=net.dtype)
        evaluation = {kind: net.metrics(batch, the_task) for kind, batch in sets.items()}
        _io.write_json(out / f"{name}_evaluation.json", {"parameters": {"task": task, "seed": seed, **s},
                                                          "seeds": {"init": seed, "data": seed, "eval_sets": 20_000 + seed},
                                                          "evaluation": evaluation, "versions": _io.provenance()})
        files.append(f"{name}_evaluation.json")
    control_task, control_hists = None, []
    if controls:
        control_task = make_task(task, **{**s, "L": s["N"]})
        for c in range(controls):
            _, h = train_run(out, task=control_task, seed=c, stem=f"{name}_L_equals_N_seed{c}_history", progress=progress, **run)
            control_hists.append(h)
    fig = training_figure(hist, the_task, control_hists, control_task)
    _io.save_figure(fig, out / f"{name}.png")
    files += [f"{name}_L_equals_N_seed{c}_history.json" for c in range(controls)]
    seeds = {"init": seed, "data": seed, "eval": seed + 1, "L_equals_N_seeds": list(range(controls))}
    return entry({"task": task, "seed": seed, **s, "L_equals_N_controls": controls}, started, files, seeds)


def ablate_job(out="figures", *, task: str = "copy", seed: int = 0, name: str = "ablation", stem: str | None = None,
               progress: bool | None = None, **settings) -> dict:
    """Train (or reuse the checkpoint ``stem``.checkpoint.npz of an identical run, e.g. the
    training job's), then remove each head's contribution and measure ICL accuracy."""
    started = time.perf_counter()
    s = {**TRAIN_SETTING, **settings}
    out = Path(out)
    the_task = make_task(task, **s)
    run = {k: s[k] for k in ("steps", "lr", "optimizer", "classifier", "batch_size", "weight_decay")}
    stem = stem or f"{name}_history"
    net, hist = train_run(out, task=the_task, seed=seed, stem=stem, progress=progress, **run)
    batch = the_task.sample(8192, _rng.stream(seed, "ablation"), dtype=net.dtype)
    results = {label: net.metrics(batch, the_task, ablate=ab)
               for label, ab in (("intact", None), ("layer 1 removed", "layer1"), ("layer 2 removed", "layer2"))}
    _io.write_json(out / f"{name}.json", {"figure": f"{name}.png", "parameters": {"task": task, "seed": seed, **s},
                                          "seeds": {"init": seed, "data": seed, "ablation_eval": seed, "streams": "independent per role (phenom._rng)"},
                                          "results": results, "versions": _io.provenance()})
    _io.save_figure(ablation_figure(results, the_task), out / f"{name}.png")
    return entry({"task": task, "seed": seed, **s}, started, [f"{name}.png", f"{name}.json", f"{stem}.csv"],
                 {"init": seed, "data": seed, "ablation_eval": seed, "streams": "independent per role (phenom._rng)"})


def minimal_job(out="figures", *, N: int = 8, L: int = 32, t_max: float = 300.0, n: int = 61, xi: float | None = None,
                name: str = "minimal_vs_mean_field") -> dict:
    """The exact minimal model (= numpy minimal network) against the mean-field model."""
    started = time.perf_counter()
    N, L = _validate.pairs(N, L)
    exact, mean_field, minimal = ExactInductionModel(N, L), InductionHeadModel(N, L), MinimalNetwork(N, L)
    traj_exact = exact.flow(t_max=t_max)
    traj_mf = induction_flow(N=N, L=L, t_max=t_max)
    t = np.linspace(0.0, t_max, 400)
    check_t = np.linspace(0.0, t_max, 16)
    numpy_minimal = [minimal.loss(*traj_exact(s)) for s in check_t]
    cliff_exact, cliff_mf = traj_exact.cliff(), traj_mf.cliff()
    xi_slice = float(traj_exact(cliff_exact)[2]) if xi is None and cliff_exact is not None else float(xi or 5.0)
    alpha, beta = np.linspace(0, 8, n), np.linspace(0, 6, n)
    A, Bm = np.meshgrid(alpha, beta)
    grid = {"alpha": alpha, "beta": beta, "xi": xi_slice,
            "exact": exact.loss(Bm, A, xi_slice), "mean_field": mean_field.loss(Bm, A, xi_slice)}
    curves = {"t": t, "exact_loss": traj_exact.loss_at(t), "mean_field_loss": traj_mf.loss_at(t),
              "check_t": check_t, "numpy_minimal_loss": numpy_minimal,
              "exact_cliff": cliff_exact, "mean_field_cliff": cliff_mf}
    summary = {
        "max_abs_difference_on_slice": float(np.max(np.abs(grid["exact"] - grid["mean_field"]))),
        "max_abs_difference_along_flows": float(np.max(np.abs(curves["exact_loss"] - curves["mean_field_loss"]))),
        "numpy_minimal_vs_exact_max_rel": float(np.max(np.abs(np.array(numpy_minimal) - traj_exact.loss_at(check_t))
                                                       / traj_exact.loss_at(check_t))),
        "exact_cliff": cliff_exact, "mean_field_cliff": cliff_mf,
        "exact_order_reach_1": traj_exact.crossing_times(1.0), "mean_field_order_reach_1": traj_mf.crossing_times(1.0),
    }
    _io.write_json(out_path := Path(out) / f"{name}.json", {"figure": f"{name}.png", "parameters": dict(N=N, L=L, t_max=t_max, grid=n),
                                                            "seeds": None, "curves": curves, "grid": grid, "summary": summary,
                                                            "versions": _io.provenance()})
    _io.save_figure(minimal_figure(curves, grid, N, L), out_path.with_suffix(".png"))
    return entry(dict(N=N, L=L, t_max=t_max, grid=n), started, [f"{name}.png", f"{name}.json"])


def reference_job(out="figures", *, quick: bool = False) -> dict:
    """The README's network figures: the training run with L = N controls, the ablation, the minimal model."""
    steps = 1500 if quick else TRAIN_SETTING["steps"]
    return {
        "network_training": lambda: train_job(out, steps=steps, controls=1 if quick else 3, name="network_training",
                                              progress=False),
        "network_ablation": lambda: ablate_job(out, steps=steps, name="network_ablation", progress=False,
                                               stem="network_training_history"),
        "minimal_vs_mean_field": lambda: minimal_job(out, N=4 if quick else 8, L=16 if quick else 32),
    }
