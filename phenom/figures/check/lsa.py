"""The linear-attention figures, recomputed from their saved tasks, matrices and curves: Γ* and
R* from Σ, Ω, N and σ²; the landscape's marked points and its whole risk grid; the learned
preconditioner's error and risk; the network's gaps from the factored flow and the flow's cliff;
the depth table's median and range over seeds; the summary's blocks against what they copy.

The trained networks' Monte Carlo risks (the depth table's GD, PGD and network columns) are raw.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from scipy.interpolate import CubicSpline

from phenom.figures.check._base import (
    GRID,
    SPLINE,
    Tally,
    copies,
    floats,
)
from phenom.figures.check._definitions import (
    linear_risk,
    optimal_preconditioner,
    spline_peak,
)


def _task_record(tally: Tally, task: Mapping) -> tuple[np.ndarray, np.ndarray, int, float]:
    """A linear task's saved Γ*, optimal risk and Σ's eigenvalues against Σ, Ω, N and σ²."""
    S, W, N, noise = np.asarray(task["Sigma"], float), np.asarray(task["Omega"], float), task["N"], task["noise"]
    star = optimal_preconditioner(S, W, N, noise)
    tally.column(
        "task.optimal_preconditioner",
        np.ravel(task["optimal_preconditioner"]).tolist(),
        star.ravel(),
        rel=1e-8,
        tol=1e-12,
    )
    tally.same(
        "task.optimal_risk",
        task["optimal_risk"],
        float(linear_risk(star, S, W, N, noise)),
        "(the risk at Γ*)",
        rel=1e-8,
    )
    tally.column("task.Sigma_eigenvalues", task["Sigma_eigenvalues"], np.sort(np.linalg.eigvalsh(S))[::-1])
    return S, W, N, noise


def lsa_landscape(tally: Tally, r: dict, folder: Path) -> None:
    S, W, N, noise = _task_record(tally, r["task"])
    _, vecs = np.linalg.eigh(S)
    vecs = vecs[:, ::-1]  # Σ's eigen-directions, largest eigenvalue first
    star_hat = vecs.T @ np.asarray(r["task"]["optimal_preconditioner"], float) @ vecs
    star = r["points"]["Γ* (optimal)"]
    tally.same("points.Γ* (optimal).gamma1", star["gamma1"], float(star_hat[0, 0]), "(Γ* along Σ's largest direction)")
    tally.same(
        "points.Γ* (optimal).gamma2", star["gamma2"], float(star_hat[-1, -1]), "(Γ* along Σ's smallest direction)"
    )
    tally.same(
        "points.Γ* (optimal).risk", star["risk"], float(linear_risk(vecs @ star_hat @ vecs.T, S, W, N, noise)), rel=1e-8
    )
    eye = r["points"]["Γ = I (plain GD step)"]
    tally.same(
        "points.Γ = I (plain GD step).risk", eye["risk"], float(linear_risk(np.eye(len(S)), S, W, N, noise)), rel=1e-8
    )
    g1, g2 = np.asarray(r["gamma1"], float), np.asarray(r["gamma2"], float)
    G1, G2 = np.meshgrid(g1, g2)
    hats = np.broadcast_to(star_hat, (*G1.shape, *star_hat.shape)).copy()
    hats[..., 0, 0], hats[..., -1, -1] = G1, G2
    risk = linear_risk(vecs @ hats @ vecs.T, S, W, N, noise)
    tally.column(
        "risk",
        np.ravel(np.asarray(r["risk"], float)).tolist(),
        risk.ravel(),
        "(the risk on the slice)",
        rel=1e-8,
        tol=1e-12,
    )


def lsa_learning_curves(tally: Tally, r: dict, folder: Path) -> None:
    _task_record(tally, r["task"])
    c, sm = r["curves"], r["summary"]
    t, flow = np.asarray(c["t"], float), np.asarray(c["risk_factored_flow"], float)
    net_t = np.asarray(c["net_t"], float)
    analytic = CubicSpline(t, flow)(net_t)  # the factored flow's risk at the network's times
    gap = np.abs(floats(c["net_risk"]) - analytic) / analytic
    loss_gap = np.abs(floats(c["net_loss"]) - analytic) / analytic
    src = "(cubic spline of the saved factored flow)"
    tally.same(
        "summary.max_relative_gap_risk_of_gamma_eff",
        sm["max_relative_gap_risk_of_gamma_eff"],
        float(gap.max()),
        src,
        tol=SPLINE,
    )
    tally.same(
        "summary.final_relative_gap_risk_of_gamma_eff",
        sm["final_relative_gap_risk_of_gamma_eff"],
        float(gap[-1]),
        src,
        tol=SPLINE,
    )
    tally.same(
        "summary.max_relative_gap_heldout_loss",
        sm["max_relative_gap_heldout_loss"],
        float(loss_gap.max()),
        src,
        tol=SPLINE,
    )
    tally.same(
        "summary.time_of_max_gap_heldout_loss",
        sm["time_of_max_gap_heldout_loss"],
        float(net_t[np.argmax(loss_gap)]),
        src,
    )
    tally.same(
        "summary.final_relative_gap_heldout_loss",
        sm["final_relative_gap_heldout_loss"],
        float(loss_gap[-1]),
        src,
        tol=SPLINE,
    )
    speed = -CubicSpline(t, flow)(t, 1)
    tally.same(
        "summary.flow_cliff_time",
        sm["flow_cliff_time"],
        spline_peak(t, speed),
        "from the saved flow",
        tol=GRID * float(t[1] - t[0]),
    )


def lsa_preconditioner(tally: Tally, r: dict, folder: Path) -> None:
    S, W, N, noise = _task_record(tally, r["task"])
    learned, optimal, sm = np.asarray(r["learned"], float), np.asarray(r["optimal"], float), r["summary"]
    tally.column(
        "optimal", np.ravel(r["optimal"]).tolist(), np.ravel(r["task"]["optimal_preconditioner"]), "(task's Γ*)"
    )
    error = float(np.sqrt(np.sum((learned - optimal) ** 2) / np.sum(optimal**2)))
    tally.same("summary.relative_frobenius_error", sm["relative_frobenius_error"], error, "from learned and optimal")
    tally.same(
        "summary.risk_of_learned",
        sm["risk_of_learned"],
        float(linear_risk(learned, S, W, N, noise)),
        "(the risk at the learned Γ)",
        rel=1e-8,
    )
    tally.same(
        "summary.optimal_risk",
        sm["optimal_risk"],
        float(linear_risk(optimal, S, W, N, noise)),
        "(the risk at Γ*)",
        rel=1e-8,
    )


def lsa_depth(tally: Tally, r: dict, folder: Path) -> None:
    _task_record(tally, r["task"])
    d = r["depth"]
    runs = np.array([floats(row) for row in d["lsa_risk"]])
    tally.same("depth.lsa_median", d["lsa_median"], [float(np.median(row)) for row in runs], "(over the seeds)")
    tally.same("depth.lsa_min", d["lsa_min"], [float(row.min()) for row in runs])
    tally.same("depth.lsa_max", d["lsa_max"], [float(row.max()) for row in runs])


def lsa_summary(tally: Tally, r: dict, folder: Path) -> None:
    copies(
        tally,
        r,
        folder,
        {
            "seeds": ("lsa_preconditioner", lambda p: p.get("seeds")),
            "task": ("lsa_preconditioner", lambda p: p["task"]),
            "curves_setting": ("lsa_learning_curves", lambda c: c["setting"]),
            "curves": ("lsa_learning_curves", lambda c: c["curves"]),
            "curves_summary": ("lsa_learning_curves", lambda c: c["summary"]),
            "preconditioner": (
                "lsa_preconditioner",
                lambda p: {k: p[k] for k in ("setting", "learned", "optimal", "summary")},
            ),
        },
    )
