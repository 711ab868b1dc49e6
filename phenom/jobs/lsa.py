"""Jobs for linear attention as preconditioned GD: landscape, learning curves, learned
preconditioner, depth. Each writes a PNG and the JSON of what it plots."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .. import _io, _rng, _validate
from ..linear import LinearICL, best_step_size
from ..nets import LinearAttention, train
from ..plots.lsa import lsa_curves_figure, lsa_depth_figure, lsa_landscape_figure, lsa_preconditioner_figure
from ._common import entry

__all__ = ["make_task", "landscape_job", "curves_job", "preconditioner_job", "depth_job", "lsa_jobs"]

EIGENVALUES = {2: (2.0, 0.5), 5: (2.0, 1.4, 1.0, 0.6, 0.3)}


def make_task(d: int = 5, N: int = 20, noise: float = 0.0, seed: int = 3) -> LinearICL:
    """A task whose Σ has distinct eigenvalues (geometric from 2 down to 0.3 unless tabulated),
    rotated by a random orthogonal matrix from ``seed`` (d = 2 is left unrotated); Ω = I."""
    d, N = _validate.count("d", d), _validate.count("N", N)
    lam = np.array(EIGENVALUES.get(d, np.geomspace(2.0, 0.3, d)))
    if d == 2:
        return LinearICL(d, N, np.diag(lam), None, noise)
    Q, _ = np.linalg.qr(_rng.stream(seed, "basis").standard_normal((d, d)))
    return LinearICL(d, N, Q @ np.diag(lam) @ Q.T, None, noise)


def _task_record(task: LinearICL) -> dict:
    return {"d": task.d, "N": task.N, "noise": task.noise, "Sigma": task.Sigma, "Omega": task.Omega,
            "optimal_preconditioner": task.optimal_preconditioner(), "optimal_risk": task.optimal_risk()}


def _write(out: Path, name: str, fig, data: dict, parameters: dict, started: float, seeds=None) -> dict:
    _io.write_json(out / f"{name}.json", {"figure": f"{name}.png", "parameters": parameters, "seeds": seeds, **data,
                                          "versions": _io.provenance()})
    _io.save_figure(fig, out / f"{name}.png")
    return entry(parameters, started, [f"{name}.png", f"{name}.json"], seeds)


def landscape_job(out="figures", *, d: int = 2, N: int = 4, noise: float = 0.0, eps: float = 1e-3, n: int = 121,
                  name: str = "lsa_landscape") -> dict:
    """R(Γ) on the slice through Γ* along Σ's largest and smallest eigen-directions, with the
    flow of Γ from 0 and the factored flow (u, U) projected on it."""
    started = time.perf_counter()
    task = make_task(d, N, noise)
    lam, vecs = np.linalg.eigh(task.Sigma)
    vecs = vecs[:, ::-1]  # descending eigenvalues
    star_hat = vecs.T @ task.optimal_preconditioner() @ vecs
    top = float(max(1.2, 1.15 * star_hat.max()))
    g = np.linspace(-0.1, top, n)
    G1, G2 = np.meshgrid(g, g)
    hats = np.broadcast_to(star_hat, (n, n, d, d)).copy()
    hats[..., 0, 0], hats[..., -1, -1] = G1, G2
    risk = task.risk(vecs @ hats @ vecs.T)

    t_max = 12.0
    t = np.linspace(0.0, t_max, 400)
    flow_hat = vecs.T @ task.flow_exact(t) @ vecs
    factored = task.factored_flow(eps, eps * np.eye(d) / np.sqrt(d), t_max=t_max)
    fact_hat = vecs.T @ factored.Gamma(t) @ vecs
    paths = {
        "flow of Γ from 0": (flow_hat[:, 0, 0], flow_hat[:, -1, -1]),
        "flow of (u, U), small balanced start": (fact_hat[:, 0, 0], fact_hat[:, -1, -1]),
    }
    eye_hat = vecs.T @ np.eye(d) @ vecs
    points = {
        "Γ* (optimal)": (star_hat[0, 0], star_hat[-1, -1], task.optimal_risk()),
        "Γ = I (plain GD step)": (eye_hat[0, 0], eye_hat[-1, -1], task.risk(np.eye(d))),
    }
    fig = lsa_landscape_figure(task, {"gamma1": g, "gamma2": g, "risk": risk}, paths, points)
    parameters = dict(d=d, N=N, noise=noise, eps=eps, grid=n, t_max=t_max)
    data = {"task": _task_record(task), "gamma1": g, "gamma2": g, "risk": risk,
            "paths": {k: {"t": t, "gamma1": v[0], "gamma2": v[1]} for k, v in paths.items()},
            "points": {k: {"gamma1": v[0], "gamma2": v[1], "risk": v[2]} for k, v in points.items()}}
    return _write(Path(out), name, fig, data, parameters, started)


def curves_job(out="figures", *, d: int = 5, N: int = 20, noise: float = 0.0, eps: float = 0.01, lr: float = 0.005,
               t_max: float = 8.0, batch_size: int = 256, seed: int = 0, name: str = "lsa_learning_curves") -> dict:
    """The factored flow (u, U) from a small balanced start against the one-layer network trained
    by SGD from the same start, at t = lr · step; and the plain flow of Γ from 0. The network is
    shown twice: the exact risk of its Γ_eff, and its held-out squared error, which also counts
    the blocks outside (u, U) that SGD's noise grows (so it lies above R(Γ_eff))."""
    started = time.perf_counter()
    task = make_task(d, N, noise)
    V = eps * np.eye(d) / np.sqrt(d)
    flow = task.factored_flow(eps, V, t_max=t_max)
    net = LinearAttention.factored(eps, V, N)
    steps = int(round(t_max / lr))
    hist = train(net, task, steps=steps, lr=lr, optimizer="sgd", batch_size=batch_size, seed=seed,
                 eval_every=max(1, steps // 80))
    t = np.linspace(0.0, t_max, 400)
    star = task.optimal_preconditioner()
    curves = {
        "t": t,
        "risk_gamma_flow": task.risk_exact(t),
        "risk_factored_flow": flow.trajectory.loss_at(t),
        "dist_factored_flow": np.linalg.norm(flow.Gamma(t) - star, axis=(-2, -1)) / np.linalg.norm(star),
        "conserved_factored_flow": flow.conserved(t),
        "net_t": hist.step * lr,
        "net_risk": hist.risk_gamma,
        "net_loss": hist.eval_loss,
        "net_dist": hist.gamma_dist,
        "lr": lr,
    }
    analytic_at_net = flow.trajectory.loss_at(curves["net_t"])
    gap = np.abs(curves["net_risk"] - analytic_at_net) / analytic_at_net
    loss_gap = np.abs(curves["net_loss"] - analytic_at_net) / analytic_at_net
    summary = {
        "max_relative_gap_risk_of_gamma_eff": float(gap.max()),
        "final_relative_gap_risk_of_gamma_eff": float(gap[-1]),
        "max_relative_gap_heldout_loss": float(loss_gap.max()),
        "final_relative_gap_heldout_loss": float(loss_gap[-1]),
        "flow_cliff_time": flow.trajectory.cliff(),
        "conserved_drift": float(np.ptp(flow.conserved())),
    }
    fig = lsa_curves_figure(task, curves)
    parameters = dict(d=d, N=N, noise=noise, eps=eps, lr=lr, t_max=t_max, batch_size=batch_size, steps=steps)
    seeds = {"data": seed, "eval": hist.config["seeds"]["eval"], "init": None}
    return _write(Path(out), name, fig, {"task": _task_record(task), "curves": curves, "summary": summary,
                                         "history_config": hist.config}, parameters, started, seeds)


def preconditioner_job(out="figures", *, d: int = 5, N: int = 20, noise: float = 0.0, steps: int = 3000,
                       lr: float = 0.01, batch_size: int = 512, seed: int = 0, name: str = "lsa_preconditioner") -> dict:
    """Train a one-layer network with Adam from a small random start; compare Γ_eff with Γ*."""
    started = time.perf_counter()
    task = make_task(d, N, noise)
    net = LinearAttention.init(d, N, 1, scale=0.1, seed=seed)
    hist = train(net, task, steps=steps, lr=lr, optimizer="adam", batch_size=batch_size, seed=seed, schedule="cosine")
    learned = net.effective_preconditioner()
    star = task.optimal_preconditioner()
    summary = {"relative_frobenius_error": float(np.linalg.norm(learned - star) / np.linalg.norm(star)),
               "risk_of_learned": float(task.risk(learned)), "optimal_risk": task.optimal_risk()}
    fig = lsa_preconditioner_figure(task, learned, hist)
    parameters = dict(d=d, N=N, noise=noise, steps=steps, lr=lr, batch_size=batch_size, optimizer="adam")
    data = {"task": _task_record(task), "learned": learned, "optimal": star, "summary": summary,
            "history": hist.records, "history_config": hist.config}
    return _write(Path(out), name, fig, data, parameters, started, hist.config["seeds"])


def depth_job(out="figures", *, d: int = 5, N: int = 20, noise: float = 0.0, layers: Sequence[int] = (1, 2, 3, 4),
              seeds: Sequence[int] = (0, 1, 2), steps: int = 3000, lr: float = 0.005, batch_size: int = 512,
              eval_size: int = 20_000, name: str = "lsa_depth") -> dict:
    """Trained K-layer networks against K steps of GD and of PGD with Γ*, each step size tuned."""
    started = time.perf_counter()
    task = make_task(d, N, noise)
    layers = [_validate.count("layers", k) for k in layers]
    seeds = [int(s) for s in seeds]
    eval_seed, tune_seed = 10_001, 10_002
    eval_batch = task.sample(eval_size, _rng.stream(eval_seed, "eval"))
    tune_batch = task.sample(eval_size, _rng.stream(tune_seed, "eval"))

    def mse(pred):
        return float(np.mean((pred - eval_batch.y_q) ** 2))

    from ..linear import pgd_predict

    gd, pgd = [], []
    for K in layers:
        for A, store in ((np.eye(d), gd), (task.optimal_preconditioner(), pgd)):
            eta, _ = best_step_size(tune_batch, A, K)
            store.append({"eta": eta, "risk": mse(pgd_predict(eval_batch, A, K, eta))})
    lsa = []
    for K in layers:
        row = []
        for s in seeds:
            net = LinearAttention.init(d, N, K, scale=0.03, seed=s)
            hist = train(net, task, steps=steps, lr=lr, optimizer="adam", batch_size=batch_size, seed=s,
                         eval_seed=eval_seed, eval_size=eval_size, schedule="cosine", clip_norm=1.0,
                         eval_every=steps)
            row.append(float(hist.eval_loss[-1]))
        lsa.append(row)
    depth = {"layers": layers, "seeds": seeds, "gd_risk": [g["risk"] for g in gd], "gd_eta": [g["eta"] for g in gd],
             "pgd_risk": [p["risk"] for p in pgd], "pgd_eta": [p["eta"] for p in pgd], "lsa_risk": lsa}
    fig = lsa_depth_figure(task, depth)
    parameters = dict(d=d, N=N, noise=noise, layers=layers, steps=steps, lr=lr, batch_size=batch_size,
                      optimizer="adam", schedule="cosine", clip_norm=1.0, init_scale=0.03, eval_size=eval_size)
    seed_record = {"init_and_data": seeds, "eval": eval_seed, "step_size_tuning": tune_seed}
    return _write(Path(out), name, fig, {"task": _task_record(task), "depth": depth}, parameters, started, seed_record)


def lsa_jobs(out="figures", *, d: int = 5, N: int = 20, noise: float = 0.0, quick: bool = False) -> dict:
    """Every linear-attention figure; ``quick`` trains shorter, on fewer seeds and depths."""
    return {
        "lsa_landscape": lambda: landscape_job(out, noise=noise),
        "lsa_learning_curves": lambda: curves_job(out, d=d, N=N, noise=noise, t_max=4.0 if quick else 8.0),
        "lsa_preconditioner": lambda: preconditioner_job(out, d=d, N=N, noise=noise, steps=800 if quick else 3000),
        "lsa_depth": lambda: depth_job(out, d=d, N=N, noise=noise, layers=(1, 2, 3) if quick else (1, 2, 3, 4),
                                       seeds=(0,) if quick else (0, 1, 2), steps=600 if quick else 3000,
                                       eval_size=4000 if quick else 20_000),
    }
