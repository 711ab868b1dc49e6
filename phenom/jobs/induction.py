"""Jobs for the β, α, ξ model: its gradient flow and its loss landscape."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .. import _io, _validate
from ..flow import Trajectory, induction_flow
from ..induction import PARAMETERS, InductionHeadModel
from ..landscape import loss_slice
from ..plots import flow_figure, landscape_figure
from ._common import entry

__all__ = ["flow_job", "landscape_job", "PAPER_SETTING"]

PAPER_SETTING = dict(N=8, L=32, lr=1.0, t_max=300.0, theta0=(0.0, 0.0, 0.0))
"""The reference setting (Reddy 2024 defaults N = 8, L = 32) of the committed figures."""


def _summary(traj: Trajectory) -> dict:
    """Numbers that characterise one flow: transition, cliff, order of learning."""
    N, L = traj.settings["N"], traj.settings["L"]
    return {
        "N": N,
        "L": L,
        "theta0": traj.theta[0],
        "t_max": traj.t_max,
        "final_theta": dict(zip(traj.names, traj.theta[-1])),
        "final_loss": traj.loss[-1],
        "time_to_half_log_L": traj.time_to(0.5 * np.log(L)),
        "cliff_time": traj.cliff(),
        "time_each_parameter_reaches_1": traj.crossing_times(1.0),
        "solver_steps": len(traj.t),
    }


def _flow_columns(traj: Trajectory, model: InductionHeadModel, n: int) -> dict[str, np.ndarray]:
    cols = traj.to_columns(n)
    theta = np.stack([cols[p] for p in PARAMETERS], axis=-1)
    cols["p_correct"] = model.p_correct(*theta.T)
    cols["p_context"] = model.p_context(*theta.T)
    cols["grad_norm"] = traj.grad_norm_at(cols["t"])
    return {"N": np.full(n, model.N, dtype=int), "L": np.full(n, model.L, dtype=int), **cols}


def _accuracy(traj: Trajectory, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    model = InductionHeadModel(traj.settings["N"], traj.settings["L"])
    return model.p_correct(*theta.T), model.p_context(*theta.T)


def _check_common(N, L, lr, t_max, theta0):
    N, L = _validate.pairs(N, L)
    lr = _validate.positive("lr", lr)
    t_max = _validate.positive("t_max", t_max)
    theta0 = _validate.finite_array("theta0", theta0, last_dim=3)
    if theta0.ndim != 1:
        raise ValueError(f"theta0 must be one point (beta, alpha, xi), got shape {theta0.shape}")
    return N, L, lr, t_max, tuple(float(v) for v in theta0)


def flow_job(
    out: str | Path = "figures",
    *,
    N: int = 8,
    L: int = 32,
    lr: float = 1.0,
    t_max: float = 300.0,
    theta0: Sequence[float] = (0.0, 0.0, 0.0),
    compare_L: Sequence[int] = (),
    name: str = "flow",
    n: int = 600,
) -> dict:
    """The flow's loss, β, α, ξ and accuracy against time, with L = N (and ``compare_L``) beside it."""
    started = time.perf_counter()
    N, L, lr, t_max, theta0 = _check_common(N, L, lr, t_max, theta0)
    labels = [L] + [_validate.pairs(N, c)[1] for c in dict.fromkeys([N, *compare_L]) if c != L]
    flows = induction_flow(theta0, N=[N] * len(labels), L=labels, t_max=t_max, lr=lr)
    main, controls = flows[0], flows[1:]

    out = Path(out)
    columns = [_flow_columns(tr, InductionHeadModel(N, tr.settings["L"]), n) for tr in flows]
    _io.write_csv(out / f"{name}.csv", {k: np.concatenate([c[k] for c in columns]) for k in columns[0]})
    parameters = dict(N=N, L=L, lr=lr, t_max=t_max, theta0=theta0, compare_L=labels[1:])
    _io.write_json(
        out / f"{name}.json",
        {"figure": f"{name}.png", "parameters": parameters, "seed": None, "deterministic": True,
         "flows": [_summary(tr) for tr in flows], "versions": _io.provenance()},
    )
    _io.save_figure(flow_figure(main, controls, _accuracy, n=n), out / f"{name}.png")
    return entry(parameters, started, [f"{name}.png", f"{name}.csv", f"{name}.json"])


def landscape_job(
    out: str | Path = "figures",
    *,
    N: int = 8,
    L: int = 32,
    lr: float = 1.0,
    t_max: float = 300.0,
    theta0: Sequence[float] = (0.0, 0.0, 0.0),
    name: str = "landscape",
    n: int = 201,
) -> dict:
    """Loss on the (α, β) and (ξ, α) slices through the cliff point, with the flow's path."""
    started = time.perf_counter()
    N, L, lr, t_max, theta0 = _check_common(N, L, lr, t_max, theta0)
    model = InductionHeadModel(N, L)
    traj = model.flow(theta0, t_max=t_max, lr=lr)
    cliff = traj.cliff()
    # Slice through the cliff point; a stationary flow (L = N from the origin) has none.
    at = dict(zip(PARAMETERS, traj(cliff) if cliff is not None else theta0))
    _, path, _ = traj.sample(n)
    default_high = {"beta": 6.0, "alpha": 8.0, "xi": 10.0}

    def span(name):
        values = path[:, PARAMETERS.index(name)]
        lo, hi = min(0.0, values.min()), max(values.max(), 0.0)
        if hi - lo < 1e-6:
            return (name, lo, lo + default_high[name])
        pad = 0.15 * (hi - lo)
        return (name, lo - (pad if lo < 0 else 0.0), hi + pad)

    slices = [
        loss_slice(model, x=span("alpha"), y=span("beta"), fixed=at["xi"], n=n),
        loss_slice(model, x=span("xi"), y=span("alpha"), fixed=at["beta"], n=n),
    ]
    out = Path(out)
    parameters = dict(N=N, L=L, lr=lr, t_max=t_max, theta0=theta0, grid=n)
    _io.write_json(
        out / f"{name}.json",
        {"figure": f"{name}.png", "parameters": parameters, "seed": None, "deterministic": True,
         "cliff": None if cliff is None else {"t": cliff, **at, "grad_norm": float(traj.grad_norm_at(cliff))},
         "path": traj.to_columns(n), "slices": [s.to_dict() for s in slices],
         "summary": _summary(traj), "versions": _io.provenance()},
    )
    _io.save_figure(landscape_figure(slices, traj, n=n), out / f"{name}.png")
    return entry(parameters, started, [f"{name}.png", f"{name}.json"])
