"""Computations behind the β, α, ξ model's figures: its flow, its landscape, and the exact minimal
network against it. Each takes a setting (:mod:`phenom.figures.settings`) and returns a JSON-able result;
the figure registry (:mod:`phenom.figures.registry`) saves it and draws it."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from phenom.figures.settings import (
    InductionFlowSetting,
    InductionLandscapeSetting,
    MinimalVsMeanFieldSetting,
    PhaseSetting,
)
from phenom.flow import Trajectory
from phenom.induction import model as induction_model
from phenom.induction.exact import ExactInductionModel
from phenom.induction.landscape import loss_slice
from phenom.induction.model import PARAMETERS, InductionHeadModel
from phenom.induction.transition import (
    asymptotic_transition_time,
    flow_transition_times,
    formula_text,
    gd_transition_steps,
)
from phenom.nets.minimal import MinimalNetwork

__all__ = ["induction_flow", "induction_flow_tables", "induction_landscape", "minimal_vs_mean_field", "phase"]


def summary(traj: Trajectory) -> dict:
    """Numbers that characterise one flow: transition, cliff, order of learning."""
    N, L = traj.settings["N"], traj.settings["L"]
    return {
        "N": N,
        "L": L,
        "theta0": traj.theta[0],
        "t_max": traj.t_max,
        "final_theta": dict(zip(traj.names, traj.theta[-1], strict=True)),
        "final_loss": traj.loss[-1],
        "time_to_half_log_L": traj.time_to(0.5 * np.log(L)),
        "cliff_time": traj.cliff(),
        "time_each_parameter_reaches_1": traj.crossing_times(1.0),
        "solver_steps": len(traj.t),
    }


def curves(traj: Trajectory, n: int) -> dict[str, np.ndarray]:
    """The flow on ``n`` even times: t, β, α, ξ, loss, P(correct), P(label in context), |∇loss|."""
    model = InductionHeadModel(traj.settings["N"], traj.settings["L"])
    cols = traj.to_columns(n)
    theta = np.stack([cols[p] for p in PARAMETERS], axis=-1)
    cols["p_correct"] = model.p_correct(*theta.T)
    cols["p_context"] = model.p_context(*theta.T)
    cols["grad_norm"] = traj.grad_norm_at(cols["t"])
    return cols


def induction_flow(setting: InductionFlowSetting, out: Path) -> dict:
    """The flow at (N, L), and at L = N and every ``compare_L`` (one batched solve).

    Parameters
    ----------
    setting : InductionFlowSetting
        N, L, the rate, ``t_max``, the start θ₀, the other L and the number of time samples.
    out : Path
        The output folder (not used: the flow needs no checkpoint).

    Returns
    -------
    dict
        ``flows``: one entry per L (the setting's L first, then L = N and ``compare_L``), each
        with its numbers (``cliff_time``, ``time_to_half_log_L``,
        ``time_each_parameter_reaches_1``, ``final_theta``, ``final_loss``, …) and its
        ``curves`` (t, β, α, ξ, loss, P(correct), P(label in context), |∇loss| on ``samples``
        even times); ``seeds`` None and ``deterministic`` True.

    Examples
    --------
    At N = 8, L = 32 the flow from 0 falls off its cliff near t = 98, ξ reaching 1 first and β
    last; at L = N it has no cliff and stays at the loss log N:

    >>> from phenom.figures.jobs.induction import induction_flow
    >>> from pathlib import Path
    >>> from phenom.figures.settings import InductionFlowSetting
    >>> result = induction_flow(InductionFlowSetting(samples=200, compare_L=(16,)), Path("."))
    >>> [(f["N"], f["L"]) for f in result["flows"]]
    [(8, 32), (8, 8), (8, 16)]
    >>> main, control = result["flows"][:2]
    >>> reach = main["time_each_parameter_reaches_1"]
    >>> round(main["cliff_time"], 1), sorted(reach, key=reach.get)
    (97.7, ['xi', 'alpha', 'beta'])
    >>> control["cliff_time"], round(float(control["final_loss"]), 4)
    (None, 2.0794)
    """
    s = setting
    labels = [s.L] + [c for c in dict.fromkeys([s.N, *s.compare_L]) if c != s.L]
    flows = induction_model.induction_flow(s.theta0, N=[s.N] * len(labels), L=labels, t_max=s.t_max, lr=s.lr)
    return {
        "seeds": None,
        "deterministic": True,
        "flows": [{**summary(tr), "curves": curves(tr, s.samples)} for tr in flows],
    }


def induction_flow_tables(result: dict) -> dict[str, dict]:
    """``induction_flow.csv``: every flow's curves, one row per time, with its N and L.

    Parameters
    ----------
    result : dict
        The saved result of :func:`induction_flow` (its JSON, or the dict it returns).

    Returns
    -------
    dict
        ``{"induction_flow.csv": columns}``: N, L and every curve's column, the flows one after
        another.

    Examples
    --------
    >>> from phenom.figures.jobs.induction import induction_flow_tables, induction_flow
    >>> from pathlib import Path
    >>> from phenom.figures.settings import InductionFlowSetting
    >>> result = induction_flow(InductionFlowSetting(samples=200, compare_L=(16,)), Path("."))
    >>> columns = induction_flow_tables(result)["induction_flow.csv"]
    >>> list(columns)[:4], len(columns["t"])
    (['N', 'L', 't', 'beta'], 600)
    """
    names = list(result["flows"][0]["curves"])
    rows: dict[str, list] = {"N": [], "L": [], **{k: [] for k in names}}
    for f in result["flows"]:
        n = len(f["curves"]["t"])
        rows["N"] += [f["N"]] * n
        rows["L"] += [f["L"]] * n
        for k in names:
            rows[k] += list(f["curves"][k])
    return {"induction_flow.csv": {k: np.asarray(v, dtype=int if k in ("N", "L") else float) for k, v in rows.items()}}


def _span(path: np.ndarray, name: str) -> tuple[str, float, float]:
    """A slice axis covering the path's range of ``name`` (and 0), padded by 15%."""
    default_high = {"beta": 6.0, "alpha": 8.0, "xi": 10.0}
    values = path[:, PARAMETERS.index(name)]
    lo, hi = min(0.0, values.min()), max(values.max(), 0.0)
    if hi - lo < 1e-6:
        return (name, lo, lo + default_high[name])
    pad = 0.15 * (hi - lo)
    return (name, lo - (pad if lo < 0 else 0.0), hi + pad)


def induction_landscape(setting: InductionLandscapeSetting, out: Path) -> dict:
    """Loss on the (α, β) and (ξ, α) slices through the cliff point, with the flow's path.

    Parameters
    ----------
    setting : InductionLandscapeSetting
        N, L, the rate, ``t_max``, θ₀ and the grid points per axis.
    out : Path
        The output folder (not used: the flow needs no checkpoint).

    Returns
    -------
    dict
        ``cliff`` (its time, β, α, ξ and |∇loss|; None for a flow without one), ``path`` (the
        flow on ``grid`` times, with |∇loss|), ``slices`` (two
        :class:`~phenom.induction.landscape.Slice` as a dict, each axis covering the path),
        ``summary`` (the flow's numbers, as :func:`induction_flow` gives them).

    Examples
    --------
    >>> from phenom.figures.jobs.induction import induction_landscape
    >>> from pathlib import Path
    >>> from phenom.figures.settings import InductionLandscapeSetting
    >>> result = induction_landscape(InductionLandscapeSetting(grid=41), Path("."))
    >>> round(result["cliff"]["t"], 1), round(float(result["cliff"]["xi"]), 2)
    (97.7, 5.12)
    >>> [(s["x_name"], s["y_name"], len(s["x"])) for s in result["slices"]]
    [('alpha', 'beta', 41), ('xi', 'alpha', 41)]
    """
    s = setting
    model = InductionHeadModel(s.N, s.L)
    traj = model.flow(s.theta0, t_max=s.t_max, lr=s.lr)
    cliff = traj.cliff()
    # Slice through the cliff point; a stationary flow (L = N from the origin) has none.
    at = dict(zip(PARAMETERS, traj(cliff) if cliff is not None else s.theta0, strict=True))
    _, path, _ = traj.sample(s.grid)
    slices = [
        loss_slice(model, x=_span(path, "alpha"), y=_span(path, "beta"), fixed=at["xi"], n=s.grid),
        loss_slice(model, x=_span(path, "xi"), y=_span(path, "alpha"), fixed=at["beta"], n=s.grid),
    ]
    path_columns = traj.to_columns(s.grid)
    path_columns["grad_norm"] = traj.grad_norm_at(path_columns["t"])
    return {
        "seeds": None,
        "deterministic": True,
        "cliff": None if cliff is None else {"t": cliff, **at, "grad_norm": float(traj.grad_norm_at(cliff))},
        "path": path_columns,
        "slices": [sl.to_dict() for sl in slices],
        "summary": summary(traj),
    }


def minimal_vs_mean_field(setting: MinimalVsMeanFieldSetting, out: Path) -> dict:
    """The exact minimal network against the mean-field model, along their flows and on a slice.

    The exact minimal model (= numpy minimal network) against the mean-field model: along
    each model's own flow from 0, and on the (α, β) slice at the exact flow's cliff ξ.

    Parameters
    ----------
    setting : MinimalVsMeanFieldSetting
        N, L (the exact loss is derived with sympy for this pair, then cached on disk),
        ``t_max``, the slice's grid, the time samples and the times at which the numpy minimal
        network is evaluated.
    out : Path
        The output folder (not used: the flow needs no checkpoint).

    Returns
    -------
    dict
        ``curves`` (both losses along their flows, the numpy network at the check times, the
        cliffs), ``grid`` (both losses and their difference on the (α, β) slice at ξ fixed) and
        ``summary`` (largest differences, cliffs, the order in which β, α, ξ reach 1).

    Examples
    --------
    At N = 2, L = 4 the numpy minimal network is the exact model, and the exact flow falls off
    its cliff later than the mean-field one:

    >>> from phenom.figures.jobs.induction import minimal_vs_mean_field
    >>> from pathlib import Path
    >>> from phenom.figures.settings import MinimalVsMeanFieldSetting
    >>> s = MinimalVsMeanFieldSetting(N=2, L=4, t_max=50.0, grid=11, samples=20, checks=4)
    >>> numbers = minimal_vs_mean_field(s, Path("."))["summary"]
    >>> numbers["numpy_minimal_vs_exact_max_rel"] < 1e-12
    True
    >>> round(numbers["exact_cliff"], 1), round(numbers["mean_field_cliff"], 1)
    (38.1, 26.3)
    """
    s = setting
    exact, mean_field, network = ExactInductionModel(s.N, s.L), InductionHeadModel(s.N, s.L), MinimalNetwork(s.N, s.L)
    traj_exact, traj_mf = exact.flow(t_max=s.t_max), induction_model.induction_flow(N=s.N, L=s.L, t_max=s.t_max)
    t, check_t = np.linspace(0.0, s.t_max, s.samples), np.linspace(0.0, s.t_max, s.checks)
    numpy_minimal = np.array([network.loss(*traj_exact(c)) for c in check_t])
    cliff_exact, cliff_mf = traj_exact.cliff(), traj_mf.cliff()
    xi_slice = float(traj_exact(cliff_exact)[2]) if cliff_exact is not None else 5.0
    alpha, beta = np.linspace(0, 8, s.grid), np.linspace(0, 6, s.grid)
    A, Bm = np.meshgrid(alpha, beta)
    grid: dict[str, np.ndarray | float] = {
        "alpha": alpha,
        "beta": beta,
        "xi": xi_slice,
        "exact": exact.loss(Bm, A, xi_slice),
        "mean_field": mean_field.loss(Bm, A, xi_slice),
    }
    grid["difference"] = grid["exact"] - grid["mean_field"]
    exact_at_checks = traj_exact.loss_at(check_t)
    lines = {
        "t": t,
        "exact_loss": traj_exact.loss_at(t),
        "mean_field_loss": traj_mf.loss_at(t),
        "check_t": check_t,
        "numpy_minimal_loss": numpy_minimal,
        "exact_loss_at_checks": exact_at_checks,
        "exact_cliff": cliff_exact,
        "mean_field_cliff": cliff_mf,
    }
    along = np.abs(lines["exact_loss"] - lines["mean_field_loss"])
    numbers = {
        "max_abs_difference_on_slice": float(np.max(np.abs(grid["difference"]))),
        "max_abs_difference_along_flows": float(along.max()),
        "time_of_max_difference_along_flows": float(t[int(np.argmax(along))]),
        "numpy_minimal_vs_exact_max_rel": float(np.max(np.abs(numpy_minimal - exact_at_checks) / exact_at_checks)),
        "exact_cliff": cliff_exact,
        "mean_field_cliff": cliff_mf,
        "exact_order_reach_1": traj_exact.crossing_times(1.0),
        "mean_field_order_reach_1": traj_mf.crossing_times(1.0),
    }
    return {"seeds": None, "deterministic": True, "curves": lines, "grid": grid, "summary": numbers}


def _error_stats(err: np.ndarray, N: np.ndarray, L: np.ndarray) -> dict:
    """Median and largest |relative error| (where) and the signed median, of finite entries."""
    ok = np.isfinite(err)
    if not ok.any():
        return {"points": 0}
    e, pairs, labels = err[ok], N[ok], L[ok]
    worst = int(np.argmax(np.abs(e)))
    return {
        "points": int(ok.sum()),
        "median_abs": float(np.median(np.abs(e))),
        "signed_median": float(np.median(e)),
        "max_abs": float(np.abs(e[worst])),
        "worst": {"N": int(pairs[worst]), "L": int(labels[worst]), "error": float(e[worst])},
    }


def _digits(values: np.ndarray, digits: int = 7) -> list:
    """Values to ``digits`` significant digits (the grid's thousands of numbers, kept compact)."""
    return [float(f"{v:.{digits}g}") if np.isfinite(v) else None for v in values]


N_GROUPS = ((2, 4), (5, 8), (9, 16), (17, 32))
RATIO_GROUPS = ((1, 1.5), (1.5, 2), (2, 4), (4, 8), (8, 16))


def phase(setting: PhaseSetting, out: Path) -> dict:
    """The flow's transition time over (N, L) against the asymptotic formula, over starts and rates.

    The flow's transition time (its cliff, from θ = 0) at every (N, L) of the grid, the
    asymptotic formula beside it with its error (pooled, within N groups and within L/N groups;
    nothing is fitted), then at ``reference`` over the start scale s (θ₀ = s·(1, 1, 1)) and over
    the rate of discrete gradient descent.

    Parameters
    ----------
    setting : PhaseSetting
        The (N, L) grid, ``t_max``, the reference (N, L), the start scales and the
        gradient-descent rates and budget.
    out : Path
        The output folder (not used).

    Returns
    -------
    dict
        ``grid`` (N, L, the flow's and the formula's t* to 7 digits), ``errors`` (pooled, within
        N groups and within L/N groups), ``exponent_in_N_at_widest_L_over_N``, ``formula`` (its
        text), ``start_scale`` and ``gradient_descent`` (steps × lr over the flow's t*) at the
        reference, and the count and time of the flows solved.

    Examples
    --------
    A small grid, 2 <= N <= 3 and L <= 3N, two start scales and two rates:

    >>> from phenom.figures.jobs.induction import phase
    >>> from pathlib import Path
    >>> from phenom.figures.settings import PhaseSetting
    >>> s = PhaseSetting(N_max=3, ratio_max=3, t_max=1e5, scale_points=2, lr_points=2, lr_min=1.0, lr_max=10.0)
    >>> result = phase(s, Path("."))
    >>> result["flows"], result["flows_without_cliff"]
    (10, 0)
    >>> pooled = result["errors"]["pooled"]
    >>> round(pooled["median_abs"], 4), pooled["worst"]["N"], pooled["worst"]["L"]
    (0.0206, 3, 4)
    >>> round(float(result["start_scale"]["numeric"][0]), 2)
    97.68
    """
    s = setting
    N = np.concatenate([np.full(s.ratio_max * n - n, n) for n in range(2, s.N_max + 1)])
    L = np.concatenate([np.arange(n + 1, s.ratio_max * n + 1) for n in range(2, s.N_max + 1)])
    started = time.perf_counter()
    numeric = flow_transition_times(N, L, t_max=s.t_max)
    seconds = time.perf_counter() - started
    formula = asymptotic_transition_time(N, L)
    err = formula / numeric - 1
    ratio = L / N
    grid = {"N": N, "L": L, "numeric": _digits(numeric), "formula": _digits(formula)}
    errors = {
        "pooled": _error_stats(err, N, L),
        "within_N": {
            f"{lo}-{hi}": _error_stats(np.where((N >= lo) & (N <= hi), err, np.nan), N, L)
            for lo, hi in N_GROUPS
            if lo <= s.N_max
        },
        "within_L_over_N": {
            f"({lo}, {hi}]": _error_stats(np.where((ratio > lo) & (ratio <= hi), err, np.nan), N, L)
            for lo, hi in RATIO_GROUPS
            if lo < s.ratio_max
        },
    }
    wide = (ratio == s.ratio_max) & (N >= 8)  # how t* grows with N at the widest L/N (formula: 3/2 as N → ∞)
    exponents = {
        name: float(np.polyfit(np.log(N[wide]), np.log(t[wide]), 1)[0]) if wide.sum() >= 2 else None
        for name, t in (("numeric", numeric), ("formula", formula))
    }

    Nr, Lr = s.reference
    scales = np.linspace(0.0, s.scale_max, s.scale_points)
    starts = np.outer(scales, np.ones(3))
    flow_s = flow_transition_times(Nr, Lr, starts, t_max=s.t_max)
    formula_s = asymptotic_transition_time(Nr, Lr, starts)
    lrs = np.logspace(np.log10(s.lr_min), np.log10(s.lr_max), s.lr_points)
    budget = s.gd_budget * float(flow_s[0])
    steps = gd_transition_steps(Nr, Lr, lrs[None, :], np.repeat(starts[:, None, :], len(lrs), axis=1), t_max=budget)
    return {
        "grid": grid,
        "flows": int(len(N)),
        "flow_seconds": seconds,
        "flows_without_cliff": int(np.sum(~np.isfinite(numeric))),
        "errors": errors,
        "exponent_in_N_at_widest_L_over_N": exponents,
        "formula": formula_text(),
        "start_scale": {
            "N": Nr,
            "L": Lr,
            "scales": scales,
            "numeric": flow_s,
            "formula": formula_s,
            "relative_error": formula_s / flow_s - 1,
        },
        "gradient_descent": {
            "N": Nr,
            "L": Lr,
            "lrs": lrs,
            "scales": scales,
            "t_max": budget,
            "transition_step": steps,
            "flow_time": flow_s,
            "ratio_to_flow": steps * lrs[None, :] / flow_s[:, None],
        },
        "seeds": None,
    }
