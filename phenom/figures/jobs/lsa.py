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
    """The in-context linear regression task of a linear-attention setting.

    The in-context regression task of ``setting``: Σ with distinct eigenvalues in the random
    basis of ``basis_seed``, Ω = I (:meth:`~phenom.linear.model.LinearICL.reference`).

    Parameters
    ----------
    setting : LinearSetting
        Any linear-attention setting: its ``d``, ``N``, ``noise`` and ``basis_seed``.

    Returns
    -------
    LinearICL
        The task, with its risk, optimal preconditioner Γ* and flows.

    Examples
    --------
    >>> from phenom.figures.jobs.lsa import regression_task
    >>> import numpy as np
    >>> from phenom.figures.settings import LinearSetting
    >>> task = regression_task(LinearSetting())
    >>> task.d, task.N, [round(float(v), 4) for v in np.linalg.eigvalsh(task.Sigma)[::-1]]
    (5, 20, [2.0, 1.4, 1.0, 0.6, 0.3])
    """
    return LinearICL.reference(setting.d, setting.N, setting.noise, seed=setting.basis_seed)


def task_record(task: LinearICL) -> dict:
    """The task as saved beside every result: what the figures need to state and draw it.

    Parameters
    ----------
    task : LinearICL
        The regression task (:func:`regression_task`).

    Returns
    -------
    dict
        ``d``, ``N``, ``noise``, ``Sigma``, ``Omega``, Σ's eigenvalues (descending), the optimal
        preconditioner Γ* and its risk.

    Examples
    --------
    >>> from phenom.figures.jobs.lsa import task_record, regression_task
    >>> from phenom.figures.settings import LsaLandscapeSetting
    >>> record = task_record(regression_task(LsaLandscapeSetting()))
    >>> record["d"], record["N"], round(float(record["optimal_risk"]), 4)
    (2, 4, 1.02)
    """
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
    """The risk of one preconditioned step on a slice through Γ*, with both flows' paths.

    R(Γ) on the slice through Γ* along Σ's largest and smallest eigen-directions, with the
    flow of Γ from 0 and the factored flow (u, U) projected on it.

    Parameters
    ----------
    setting : LsaLandscapeSetting
        The task (``d``, ``N``, ``noise``, ``basis_seed``), the factored flow's start scale
        ``eps``, the grid points per axis and the flows' ``t_max``.
    out : Path
        The output folder (not used).

    Returns
    -------
    dict
        ``gamma1``, ``gamma2`` (the axes: Γ's entries along the largest and smallest
        eigen-directions), ``risk`` on the grid, ``paths`` (both flows projected), ``points``
        (Γ* and Γ = I with their risks) and the ``task`` (:func:`task_record`).

    Examples
    --------
    The optimal preconditioner's risk against one step of plain gradient descent (Γ = I):

    >>> from phenom.figures.jobs.lsa import lsa_landscape
    >>> from pathlib import Path
    >>> from phenom.figures.settings import LsaLandscapeSetting
    >>> result = lsa_landscape(LsaLandscapeSetting(grid=21), Path("."))
    >>> {name: round(float(p["risk"]), 4) for name, p in result["points"].items()}
    {'Γ* (optimal)': 1.02, 'Γ = I (plain GD step)': 6.8125}
    >>> len(result["risk"]), len(result["risk"][0])
    (21, 21)
    """
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
    """The factored flow against the one-layer network trained by SGD from the same start.

    The factored flow (u, U) from a small balanced start against the one-layer network trained
    by SGD from the same start, at t = lr · step; and the plain flow of Γ from 0. The network is
    shown twice: the exact risk of its Γ_eff, and its held-out squared error, which also counts
    the blocks outside (u, U) that SGD's noise grows (so it lies above R(Γ_eff)).

    Parameters
    ----------
    setting : LsaLearningCurvesSetting
        The task, the start scale ``eps``, the SGD rate ``lr`` (network time t = lr · step),
        the flow time ``t_max`` (the network trains t_max / lr steps), the batch and the seed.
    out : Path
        The output folder (not used).

    Returns
    -------
    dict
        ``curves`` (both flows' risks on 400 times, the network's at its evaluations),
        ``summary`` (largest and final relative gaps, the flow's cliff, the conserved quantity's
        drift), ``steps``, the ``task`` and the training's ``history_config``.

    Examples
    --------
    A hundred SGD steps at d = 2, N = 4: the network's R(Γ_eff) ends within a few percent of
    the factored flow's risk at the same time:

    >>> from phenom.figures.jobs.lsa import lsa_learning_curves
    >>> from pathlib import Path
    >>> from phenom.figures.settings import LsaLearningCurvesSetting
    >>> s = LsaLearningCurvesSetting(d=2, N=4, t_max=2.0, lr=0.02, batch_size=64)
    >>> result = lsa_learning_curves(s, Path("."))
    >>> numbers = result["summary"]
    >>> result["steps"], round(numbers["flow_cliff_time"], 2), numbers["final_relative_gap_risk_of_gamma_eff"] < 0.05
    (100, 0.48, True)
    """
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
    """Train a one-layer network with Adam from a small random start; compare Γ_eff with Γ*.

    Parameters
    ----------
    setting : LsaPreconditionerSetting
        The task, Adam's steps and rate (cosine schedule), the batch, the seed and the scale of
        the random initial weights.
    out : Path
        The output folder (not used).

    Returns
    -------
    dict
        ``learned`` (Γ_eff) and ``optimal`` (Γ*), ``summary`` (their relative Frobenius
        distance, the risk of Γ_eff and the optimal risk), the training ``history`` and the
        ``task``.

    Examples
    --------
    Three hundred Adam steps at d = 2, N = 4 learn Γ* to within 8%:

    >>> from phenom.figures.jobs.lsa import lsa_preconditioner
    >>> from pathlib import Path
    >>> from phenom.figures.settings import LsaPreconditionerSetting
    >>> s = LsaPreconditionerSetting(d=2, N=4, steps=300, batch_size=128)
    >>> numbers = lsa_preconditioner(s, Path("."))["summary"]
    >>> round(numbers["relative_frobenius_error"], 2), round(numbers["risk_of_learned"], 2), numbers["optimal_risk"]
    (0.08, 1.02, 1.02)
    """
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
    """Trained K-layer linear attention against K steps of GD and of PGD with Γ*.

    Trained K-layer networks against K steps of GD and of PGD with Γ*, each step size tuned on
    separate tasks; all on the same held-out tasks. Networks: every seed, their median and range.

    Parameters
    ----------
    setting : LsaDepthSetting
        The task, the layer counts K, the network seeds, Adam's steps and rate, the batch, the
        held-out size, the initial scale, the gradient clipping and the seeds of the held-out
        and step-size-tuning tasks.
    out : Path
        The output folder (not used).

    Returns
    -------
    dict
        ``depth``: per K, the tuned step and risk of K steps of GD (``gd_*``) and of PGD with Γ*
        (``pgd_*``), and the networks' held-out risks (``lsa_risk``: one list per K, one entry
        per seed; their median, min and max); the ``task``.

    Examples
    --------
    K steps of gradient descent preconditioned with Γ* beat K steps of plain GD, and a second
    step helps both:

    >>> from phenom.figures.jobs.lsa import lsa_depth
    >>> from pathlib import Path
    >>> from phenom.figures.settings import LsaDepthSetting
    >>> s = LsaDepthSetting(d=2, N=4, layers=(1, 2), seeds=(0,), steps=200, lr=0.02, batch_size=64, eval_size=1000)
    >>> depth = lsa_depth(s, Path("."))["depth"]
    >>> [round(r, 2) for r in depth["gd_risk"]], [round(r, 2) for r in depth["pgd_risk"]]
    ([1.09, 0.79], [0.98, 0.67])
    """
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
    """From the saved ``lsa_learning_curves`` and ``lsa_preconditioner`` results.

    Parameters
    ----------
    setting : LsaSummarySetting
        Nothing to set.
    out : Path
        The folder holding ``lsa_learning_curves.json`` and ``lsa_preconditioner.json``
        (OSError naming a missing one).

    Returns
    -------
    dict
        The learning curves with their setting and summary, and the preconditioner's setting,
        Γ_eff, Γ* and summary, copied from the two results; the ``task``.

    Examples
    --------
    >>> from phenom.figures.jobs.lsa import lsa_summary
    >>> import tempfile
    >>> from phenom.figures import make
    >>> from phenom.figures.settings import LsaLearningCurvesSetting, LsaPreconditionerSetting, LsaSummarySetting
    >>> out = tempfile.mkdtemp()
    >>> _ = make("lsa_learning_curves", LsaLearningCurvesSetting(d=2, N=4, t_max=2.0, lr=0.02, batch_size=64), out)
    >>> _ = make("lsa_preconditioner", LsaPreconditionerSetting(d=2, N=4, steps=300, batch_size=128), out)
    >>> summary = lsa_summary(LsaSummarySetting(), out)
    >>> summary["task"]["d"], round(summary["preconditioner"]["summary"]["relative_frobenius_error"], 2)
    (2, 0.08)
    """
    curves, pre = (_io.read_json(Path(out) / f"{name}.json") for name in ("lsa_learning_curves", "lsa_preconditioner"))
    return {
        "seeds": pre.get("seeds"),
        "task": pre["task"],
        "curves_setting": curves["setting"],
        "curves": curves["curves"],
        "curves_summary": curves["summary"],
        "preconditioner": {k: pre[k] for k in ("setting", "learned", "optimal", "summary")},
    }
