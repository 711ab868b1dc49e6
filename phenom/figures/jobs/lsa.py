"""Computations behind the linear-attention figures (von Oswald et al., ICML 2023; Ahn et al.,
NeurIPS 2023): the risk landscape of one preconditioned step, analytic against simulated learning
curves, the learned preconditioner, depth, and a summary drawn from the saved results."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from phenom import _io, _rng
from phenom.figures.settings import (
    LinearSetting,
    LsaDepthSetting,
    LsaLandscapeSetting,
    LsaLearningCurvesSetting,
    LsaPreconditionerSetting,
    LsaSummarySetting,
)
from phenom.linear.gd import best_step_size, pgd_predict
from phenom.linear.model import LinearICL
from phenom.nets import LinearAttention, train

__all__ = [
    "regression_task",
    "task_record",
    "lsa_landscape",
    "lsa_learning_curves",
    "lsa_preconditioner",
    "lsa_depth",
    "lsa_summary",
]


def regression_task(setting: LinearSetting) -> LinearICL:
    """The in-context regression task of ``setting``: Σ with distinct eigenvalues in the random
    basis of ``basis_seed``, Ω = I (:meth:`~phenom.linear.model.LinearICL.reference`)."""
    return LinearICL.reference(setting.d, setting.N, setting.noise, seed=setting.basis_seed)


def task_record(task: LinearICL) -> dict:
    """The task as saved beside every result: what the figures need to state and draw it."""
    return {
        "d": task.d,
        "N": task.N,
        "noise": task.noise,
        "Sigma": task.Sigma,
        "Omega": task.Omega,
        "Sigma_eigenvalues": np.linalg.eigvalsh(task.Sigma)[::-1],
        "optimal_preconditioner": task.optimal_preconditioner(),
        "optimal_risk": task.optimal_risk(),
    }


def lsa_landscape(setting: LsaLandscapeSetting, out: Path) -> dict:
    """R(Γ) on the slice through Γ* along Σ's largest and smallest eigen-directions, with the
    flow of Γ from 0 and the factored flow (u, U) projected on it."""
    s = setting
    task = regression_task(s)
    d = task.d
    _, vecs = np.linalg.eigh(task.Sigma)
    vecs = vecs[:, ::-1]  # descending eigenvalues
    star_hat = vecs.T @ task.optimal_preconditioner() @ vecs
    top = float(max(1.2, 1.15 * star_hat.max()))
    g = np.linspace(-0.1, top, s.grid)
    G1, G2 = np.meshgrid(g, g)
    hats = np.broadcast_to(star_hat, (s.grid, s.grid, d, d)).copy()
    hats[..., 0, 0], hats[..., -1, -1] = G1, G2
    risk = task.risk(vecs @ hats @ vecs.T)
    t = np.linspace(0.0, s.t_max, 400)
    flow_hat = vecs.T @ task.flow_exact(t) @ vecs
    factored = task.factored_flow(s.eps, s.eps * np.eye(d) / np.sqrt(d), t_max=s.t_max)
    fact_hat = vecs.T @ factored.Gamma(t) @ vecs
    paths = {"flow of Γ from 0": flow_hat, "flow of (u, U), small balanced start": fact_hat}
    eye_hat = vecs.T @ np.eye(d) @ vecs
    points = {"Γ* (optimal)": (star_hat, task.optimal_risk()), "Γ = I (plain GD step)": (eye_hat, task.risk(np.eye(d)))}
    return {
        "seeds": {"basis": s.basis_seed},
        "task": task_record(task),
        "gamma1": g,
        "gamma2": g,
        "risk": risk,
        "paths": {k: {"t": t, "gamma1": v[:, 0, 0], "gamma2": v[:, -1, -1]} for k, v in paths.items()},
        "points": {k: {"gamma1": v[0][0, 0], "gamma2": v[0][-1, -1], "risk": v[1]} for k, v in points.items()},
    }


def lsa_learning_curves(setting: LsaLearningCurvesSetting, out: Path) -> dict:
    """The factored flow (u, U) from a small balanced start against the one-layer network trained
    by SGD from the same start, at t = lr · step; and the plain flow of Γ from 0. The network is
    shown twice: the exact risk of its Γ_eff, and its held-out squared error, which also counts
    the blocks outside (u, U) that SGD's noise grows (so it lies above R(Γ_eff))."""
    s = setting
    task = regression_task(s)
    V = s.eps * np.eye(s.d) / np.sqrt(s.d)
    flow = task.factored_flow(s.eps, V, t_max=s.t_max)
    net = LinearAttention.factored(s.eps, V, s.N)
    steps = int(round(s.t_max / s.lr))
    hist = train(
        net,
        task,
        steps=steps,
        lr=s.lr,
        optimizer="sgd",
        batch_size=s.batch_size,
        seed=s.seed,
        eval_every=max(1, steps // 80),
    )
    t = np.linspace(0.0, s.t_max, 400)
    star = task.optimal_preconditioner()
    curves = {
        "t": t,
        "risk_gamma_flow": task.risk_exact(t),
        "risk_factored_flow": flow.trajectory.loss_at(t),
        "dist_factored_flow": np.linalg.norm(flow.Gamma(t) - star, axis=(-2, -1)) / np.linalg.norm(star),
        "conserved_factored_flow": flow.conserved(t),
        "net_t": hist.step * s.lr,
        "net_risk": hist.risk_gamma,
        "net_loss": hist.eval_loss,
        "net_dist": hist.gamma_dist,
    }
    analytic_at_net = flow.trajectory.loss_at(curves["net_t"])
    gap = np.abs(curves["net_risk"] - analytic_at_net) / analytic_at_net
    loss_gap = np.abs(curves["net_loss"] - analytic_at_net) / analytic_at_net
    numbers = {
        "max_relative_gap_risk_of_gamma_eff": float(gap.max()),
        "final_relative_gap_risk_of_gamma_eff": float(gap[-1]),
        "max_relative_gap_heldout_loss": float(loss_gap.max()),
        "time_of_max_gap_heldout_loss": float(curves["net_t"][int(np.argmax(loss_gap))]),
        "final_relative_gap_heldout_loss": float(loss_gap[-1]),
        "flow_cliff_time": flow.trajectory.cliff(),
        "conserved_drift": float(np.ptp(flow.conserved())),
    }
    return {
        "seeds": {"data": s.seed, "eval": hist.config["seeds"]["eval"], "init": None, "basis": s.basis_seed},
        "task": task_record(task),
        "steps": steps,
        "curves": curves,
        "summary": numbers,
        "history_config": hist.config,
    }


def lsa_preconditioner(setting: LsaPreconditionerSetting, out: Path) -> dict:
    """Train a one-layer network with Adam from a small random start; compare Γ_eff with Γ*."""
    s = setting
    task = regression_task(s)
    net = LinearAttention.init(s.d, s.N, 1, scale=s.init_scale, seed=s.seed)
    hist = train(
        net, task, steps=s.steps, lr=s.lr, optimizer="adam", batch_size=s.batch_size, seed=s.seed, schedule="cosine"
    )
    learned, star = net.effective_preconditioner(), task.optimal_preconditioner()
    numbers = {
        "relative_frobenius_error": float(np.linalg.norm(learned - star) / np.linalg.norm(star)),
        "risk_of_learned": float(task.risk(learned)),
        "optimal_risk": task.optimal_risk(),
    }
    return {
        "seeds": {**hist.config["seeds"], "basis": s.basis_seed},
        "task": task_record(task),
        "learned": learned,
        "optimal": star,
        "summary": numbers,
        "history": hist.records,
        "history_config": hist.config,
    }


def lsa_depth(setting: LsaDepthSetting, out: Path) -> dict:
    """Trained K-layer networks against K steps of GD and of PGD with Γ*, each step size tuned on
    separate tasks; all on the same held-out tasks. Networks: every seed, their median and range."""
    s = setting
    task = regression_task(s)
    eval_batch = task.sample(s.eval_size, _rng.stream(s.eval_seed, "eval"))
    tune_batch = task.sample(s.eval_size, _rng.stream(s.tune_seed, "eval"))

    def mse(pred):
        return float(np.mean((pred - eval_batch.y_q) ** 2))

    gd: list[dict] = []
    pgd: list[dict] = []
    for K in s.layers:
        for A, store in ((np.eye(s.d), gd), (task.optimal_preconditioner(), pgd)):
            eta, _ = best_step_size(tune_batch, A, K)
            store.append({"eta": eta, "risk": mse(pgd_predict(eval_batch, A, K, eta))})
    lsa = []
    for K in s.layers:
        row = []
        for seed in s.seeds:
            net = LinearAttention.init(s.d, s.N, K, scale=s.init_scale, seed=seed)
            hist = train(
                net,
                task,
                steps=s.steps,
                lr=s.lr,
                optimizer="adam",
                batch_size=s.batch_size,
                seed=seed,
                eval_seed=s.eval_seed,
                eval_size=s.eval_size,
                schedule="cosine",
                clip_norm=s.clip_norm,
                eval_every=s.steps,
            )
            row.append(float(hist.eval_loss[-1]))
        lsa.append(row)
    runs = np.array(lsa)
    table = {
        "layers": list(s.layers),
        "seeds": list(s.seeds),
        "gd_risk": [g["risk"] for g in gd],
        "gd_eta": [g["eta"] for g in gd],
        "pgd_risk": [p["risk"] for p in pgd],
        "pgd_eta": [p["eta"] for p in pgd],
        "lsa_risk": lsa,
        "lsa_median": np.median(runs, axis=1),
        "lsa_min": runs.min(axis=1),
        "lsa_max": runs.max(axis=1),
    }
    return {
        "seeds": {
            "init_and_data": list(s.seeds),
            "eval": s.eval_seed,
            "step_size_tuning": s.tune_seed,
            "basis": s.basis_seed,
        },
        "task": task_record(task),
        "depth": table,
    }


def lsa_summary(setting: LsaSummarySetting, out: Path) -> dict:
    """From the saved ``lsa_learning_curves`` and ``lsa_preconditioner`` results."""
    curves, pre = (_io.read_json(Path(out) / f"{name}.json") for name in ("lsa_learning_curves", "lsa_preconditioner"))
    return {
        "seeds": pre.get("seeds"),
        "task": pre["task"],
        "curves_setting": curves["setting"],
        "curves": curves["curves"],
        "curves_summary": curves["summary"],
        "preconditioner": {k: pre[k] for k in ("setting", "learned", "optimal", "summary")},
    }
