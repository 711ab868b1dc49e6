"""Jobs that compare the phenomenological flow with the trained network."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Executor
from pathlib import Path

import numpy as np

from .. import _io, _validate
from ..compare import (
    fit_time_scale,
    flow_transition_times,
    scaling_point,
    scaling_summary,
    transition_level,
    transition_step,
)
from ..flow import induction_flow
from ..induction import PARAMETERS, InductionHeadModel
from ..nets import AttentionNetwork, CopyingTask, train
from ..plots.compare import chain_figure, compare_figure, scaling_figure
from ..plots.lsa import lsa_summary_figure
from ..sweep import grid, sweep
from ._common import entry

__all__ = ["compare_job", "scaling_job", "chain_job", "lsa_summary_job"]


def _rms_distance(t_a, y_a, t_b, y_b) -> float:
    """RMS of y_a − y_b on the overlap of two curves (linear interpolation of b onto a's times)."""
    t_a, y_a = np.asarray(t_a), np.asarray(y_a)
    inside = (t_a >= t_b[0]) & (t_a <= t_b[-1])
    return float(np.sqrt(np.mean((y_a[inside] - np.interp(t_a[inside], t_b, y_b)) ** 2)))


def compare_job(out="figures", *, N: int = 8, L: int = 32, seeds: Sequence[int] = (0, 1, 2), D: int = 63,
                eps: float = 0.1, lr: float = 0.5, steps: int = 2000, name: str = "compare") -> dict:
    """Train the network for each seed and integrate the flow for the same (N, L); map steps to
    flow time with one c fitted on the mean transition; report transition times, plateau loss,
    order of learning and the distance between the aligned accuracy curves."""
    started = time.perf_counter()
    N, L = _validate.pairs(N, L)
    if L == N:
        raise ValueError(f"L must be an integer > N = {N}: at L = N the flow never leaves the origin, nothing to align")
    seeds = [_validate.count("seeds", s, minimum=0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    task = CopyingTask(N=N, L=L, D=D, eps=eps)
    hists = []
    for s in seeds:
        net = AttentionNetwork.init(task, "linear", seed=s)
        hists.append(train(net, task, steps=steps, lr=lr, optimizer="sgd", batch_size=128, seed=s, weight_decay=1e-6,
                           eval_every=max(1, steps // 80), eval_size=2048, progress=False))
    net_steps = [transition_step(h.step, h.icl_acc, transition_level(N)) for h in hists]
    if any(s is None for s in net_steps):
        raise ValueError(f"the network did not reach ICL accuracy {transition_level(N):.3g} within {steps} steps "
                         "for every seed; raise steps")
    flow_t = flow_transition_times([(N, L)], t_max=20_000.0)[0]
    if flow_t is None:
        raise ValueError(f"the flow has no transition at N = {N}, L = {L}")
    c = fit_time_scale(flow_t, float(np.mean(net_steps)), lr)
    t_end = max(c * lr * steps, 2 * flow_t)
    traj = induction_flow(N=N, L=L, t_max=t_end)
    model = InductionHeadModel(N, L)
    t = np.linspace(0.0, t_end, 600)
    theta = traj(t)
    flow = {"t": t, "loss": model.loss(*theta.T), "p_correct": model.p_correct(*theta.T),
            "p_context": model.p_context(*theta.T), **{p: theta[:, k] for k, p in enumerate(PARAMETERS)}}
    nets = [{"t": c * lr * h.step, **{k: getattr(h, k) for k in
                                     ("step", "eval_loss", "icl_acc", "cla", "ila1", "tila2", "beta", "alpha", "xi")}}
            for h in hists]
    # Plateau: the flow's loss halfway to its cliff; the network's held-out loss over the same stretch.
    half = 0.5 * flow_t
    net_plateau = [float(np.interp(half, n["t"], n["eval_loss"])) for n in nets]

    def first_rise(times, values, by=1.0):
        """First time a parameter exceeds its starting value by ``by`` (the network's effective
        β starts near 0.48, not 0: see phenom.nets.progress)."""
        values = np.asarray(values)
        hit = np.flatnonzero(values >= values[0] + by)
        return float(times[hit[0]]) if hit.size else None

    summary = {
        "c": c,
        "flow_transition": flow_t,
        "net_transition_steps": net_steps,
        "net_transition_mean": float(np.mean(net_steps)),
        "net_transition_sd": float(np.std(net_steps)),
        "flow_plateau_loss": float(np.interp(half, t, flow["loss"])),
        "net_plateau_loss": float(np.mean(net_plateau)),
        "flow_time_each_parameter_rises_by_1": {p: first_rise(t, flow[p]) for p in PARAMETERS},
        "net_time_each_parameter_rises_by_1": [{p: first_rise(n["t"], n[p]) for p in PARAMETERS} for n in nets],
        "rms_accuracy_distance": float(np.mean([_rms_distance(t, flow["p_correct"], n["t"], n["icl_acc"]) for n in nets])),
        "rms_loss_distance": float(np.mean([_rms_distance(t, flow["loss"], n["t"], n["eval_loss"]) for n in nets])),
    }
    fig = compare_figure(flow, nets, summary, N, L)
    parameters = dict(N=N, L=L, D=D, eps=eps, lr=lr, steps=steps, optimizer="sgd", batch_size=128)
    seed_record = {"init_and_data": seeds, "eval": [s + 1 for s in seeds]}
    _io.write_json(Path(out) / f"{name}.json", {"figure": f"{name}.png", "parameters": parameters, "seeds": seed_record,
                                                "summary": summary, "flow": flow, "networks": nets,
                                                "versions": _io.provenance()})
    _io.save_figure(fig, Path(out) / f"{name}.png")
    return entry(parameters, started, [f"{name}.png", f"{name}.json"], seed_record)


def scaling_job(out="figures", *, Ns: Sequence[int] = (2, 4, 8), ratios: Sequence[float] = (1.25, 2, 3, 4, 8),
                seeds: Sequence[int] = (0, 1, 2), lr: float = 0.5, eps: float = 0.1, min_D: int = 63,
                steps_per_N: dict | None = None, reference: tuple[int, int] = (8, 32),
                executor: Executor | None = None, name: str = "scaling") -> dict:
    """The network's transition step against the flow's transition time over N and L (L from
    N+1 to 8N, and L = N), several seeds, as a resumable sweep (``name``.jsonl) on ``executor``."""
    started = time.perf_counter()
    steps_per_N = steps_per_N or {2: 2000, 4: 3000, 8: 5000}
    pairs = []
    for N in Ns:
        Ls = sorted({max(N + 1, int(round(r * N))) for r in ratios} | {N})
        pairs += [(N, L) for L in Ls]
    flow_times = dict(zip(pairs, flow_transition_times(pairs, lr=1.0, t_max=20_000.0)))
    configs = [dict(N=N, L=L, D=max(min_D, L), eps=eps, seed=s, lr=lr, steps=steps_per_N.get(N, 5000),
                    eval_every=25 if N <= 2 else 50) for (N, L) in pairs for s in seeds]
    out = Path(out)
    results = sweep(scaling_point, configs, executor=executor, out=out / f"{name}.jsonl")
    rows, per_seed = [], []
    for N, L in pairs:
        steps = [r["net_step"] for cfg, r in zip(configs, results) if (cfg["N"], cfg["L"]) == (N, L)]
        observed = [s for s in steps if s is not None]
        rows.append({"N": N, "L": L, "flow_time": flow_times[(N, L)], "net_steps": observed,
                     "seeds_without_transition": len(steps) - len(observed)})
        per_seed += [{"N": N, "L": L, "flow_time": flow_times[(N, L)], "net_step": s} for s in observed]
    summary = scaling_summary(per_seed, reference=reference, lr=lr)
    fig = scaling_figure(rows, summary, lr)
    parameters = dict(Ns=list(Ns), ratios=list(ratios), lr=lr, eps=eps, min_D=min_D, steps_per_N=steps_per_N,
                      reference=list(reference), flow_time_unit="lr = 1")
    _io.write_json(out / f"{name}.json", {"figure": f"{name}.png", "parameters": parameters,
                                          "seeds": {"init_and_data": list(seeds)}, "rows": rows, "summary": summary,
                                          "versions": _io.provenance()})
    _io.save_figure(fig, out / f"{name}.png")
    return entry(parameters, started, [f"{name}.png", f"{name}.json", f"{name}.jsonl"], {"init_and_data": list(seeds)})


def _saved(out: Path, stem: str) -> dict:
    path = Path(out) / f"{stem}.json"
    if not path.exists():
        raise ValueError(f"{path} is missing: run its job first (phenom reproduce --only {stem})")
    import json

    return json.loads(path.read_text())


def chain_job(out="figures", *, name: str = "chain") -> dict:
    """From saved results: exact minimal model = numpy minimal network, the mean-field model's
    error, and the full network following the same sequence (minimal_vs_mean_field, compare)."""
    started = time.perf_counter()
    minimal, comparison = _saved(out, "minimal_vs_mean_field"), _saved(out, "compare")
    _io.save_figure(chain_figure(minimal, comparison), Path(out) / f"{name}.png")
    return entry({"from": ["minimal_vs_mean_field.json", "compare.json"]}, started, [f"{name}.png"],
                 comparison.get("seeds"))


def lsa_summary_job(out="figures", *, name: str = "lsa_summary") -> dict:
    """From saved results: the linear-attention flows against the network, and Γ_eff against Γ*."""
    started = time.perf_counter()
    curves, pre = _saved(out, "lsa_learning_curves"), _saved(out, "lsa_preconditioner")
    _io.save_figure(lsa_summary_figure(curves["curves"], pre, pre["task"]), Path(out) / f"{name}.png")
    return entry({"from": ["lsa_learning_curves.json", "lsa_preconditioner.json"]}, started, [f"{name}.png"],
                 pre.get("seeds"))
