"""The β, α, ξ model's figures, recomputed from their saved curves and grids:

- induction_flow, induction_landscape: the saved curves' loss (and e^{−loss}, |∇loss| by central
  differences) against the model at the saved β, α, ξ; the cliff, the time to half of log L and
  the time each parameter reaches 1 read off the curves; final values; the CSV against the JSON;
  the landscape's slices against the model's loss;
- minimal_vs_mean_field: the differences along the flows and on the slice, their largest values
  and where, the numpy-minimal agreement, both cliffs from the saved losses, the slice's mean field;
- phase: the grid's (N, L); every relative-error statistic (pooled, within N, within L/N, the
  worst configuration), the exponents in N, the start-scale errors and the GD-to-flow ratios from
  the saved numeric and formula times.

The order in which the exact flow's parameters reach 1 and the flows' times over the phase grid
are raw results (no trajectory saved beside them): covered by the hashes and the code version.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from scipy import stats
from scipy.interpolate import CubicSpline

from phenom.figures.check._base import (
    GRID,
    PARAMETERS,
    ROUNDED,
    ROUNDED_SLOPE,
    Tally,
    csv_equals,
    floats,
)
from phenom.figures.check._definitions import (
    mean_field_grad_norm,
    mean_field_loss,
    spline_crossing,
    spline_peak,
)


def _curve_times(tally: Tally, where: str, c: Mapping, N: int, L: int, summary: Mapping) -> None:
    """A flow's summary times against its saved curves (t, β, α, ξ, loss and, if saved, |∇loss|):
    the curves against the model's own loss, then the cliff, the time to half of log L and the
    time each parameter reaches 1, read off the curves."""
    t = np.asarray(c["t"], float)
    theta = np.stack([np.asarray(c[p], float) for p in PARAMETERS], axis=1)
    src = f"from {where}'s curves"
    tally.column(
        f"{where}.loss",
        c["loss"],
        mean_field_loss(theta[:, 0], theta[:, 1], theta[:, 2], N, L),
        "(the model's loss at the saved β, α, ξ)",
    )
    if "p_correct" in c:
        tally.column(f"{where}.p_correct", c["p_correct"], np.exp(-np.asarray(c["loss"], float)), "(e^{-loss})")
    if "grad_norm" in c:
        tally.column(
            f"{where}.grad_norm",
            c["grad_norm"],
            mean_field_grad_norm(theta, N, L),
            "(central differences)",
            rel=1e-6,
            tol=1e-8,
        )
        speed = np.asarray(c["grad_norm"], float)
    else:
        speed = -CubicSpline(t, np.asarray(c["loss"], float))(t, 1)
    dt = float(t[1] - t[0])
    grid = GRID * dt
    tally.same(f"{where}.cliff_time", summary["cliff_time"], spline_peak(t, speed), src, tol=grid)
    half = spline_crossing(t, np.asarray(c["loss"], float), 0.5 * np.log(L), falling=True)
    tally.same(f"{where}.time_to_half_log_L", summary["time_to_half_log_L"], half, src, tol=grid)
    for p in PARAMETERS:
        reach = spline_crossing(t, np.asarray(c[p], float), 1.0, falling=False)
        tally.same(
            f"{where}.time_each_parameter_reaches_1.{p}",
            summary["time_each_parameter_reaches_1"][p],
            reach,
            src,
            tol=grid,
        )


def induction_flow(tally: Tally, r: dict, folder: Path) -> None:
    s = r["setting"]
    flows = r["flows"]
    tally.same("flows[0].L", flows[0]["L"], s["L"], "(the setting's L first)")
    labels = sorted({s["L"], s["N"], *s["compare_L"]})  # and L = N, and each compare_L, once
    tally.same("flows (L of each)", sorted(f["L"] for f in flows), labels, "(L, N and compare_L of the setting)")
    for i, f in enumerate(flows):
        c, where = f["curves"], f"flows[{i}]"
        _curve_times(tally, where, c, f["N"], f["L"], f)
        last = {p: c[p][-1] for p in PARAMETERS}
        for p in PARAMETERS:
            tally.same(f"{where}.final_theta.{p}", f["final_theta"][p], last[p], "(the curve's last sample)")
        tally.same(f"{where}.final_loss", f["final_loss"], c["loss"][-1], "(the curve's last sample)")
    csv_equals(tally, folder / "induction_flow.csv", _flow_table(flows))


def _flow_table(flows: list[dict]) -> dict[str, list]:
    names = list(flows[0]["curves"])
    table: dict[str, list] = {"N": [], "L": [], **{k: [] for k in names}}
    for f in flows:
        n = len(f["curves"]["t"])
        table["N"] += [f["N"]] * n
        table["L"] += [f["L"]] * n
        for k in names:
            table[k] += list(f["curves"][k])
    return table


def induction_landscape(tally: Tally, r: dict, folder: Path) -> None:
    s, path, summary = r["setting"], r["path"], r["summary"]
    N, L = s["N"], s["L"]
    _curve_times(tally, "path", path, N, L, summary)
    cliff = r["cliff"]
    if cliff is not None:
        tally.same("cliff.t", cliff["t"], summary["cliff_time"], "(the summary's cliff)")
        at = np.array([[cliff[p] for p in PARAMETERS]])
        tally.same("cliff.grad_norm", cliff["grad_norm"], float(mean_field_grad_norm(at, N, L)[0]), rel=1e-6)
    for k, sl in enumerate(r["slices"]):
        fixed_name, fixed = next(iter(sl["fixed"].items()))
        if cliff is not None:
            tally.same(f"slices[{k}].fixed.{fixed_name}", fixed, cliff[fixed_name], "(the cliff point)")
        X, Y = np.meshgrid(np.asarray(sl["x"], float), np.asarray(sl["y"], float))
        theta = {sl["x_name"]: X, sl["y_name"]: Y, fixed_name: np.full_like(X, fixed)}
        loss = mean_field_loss(theta["beta"], theta["alpha"], theta["xi"], sl["N"], sl["L"])
        tally.column(
            f"slices[{k}].loss", np.ravel(np.asarray(sl["loss"], float)).tolist(), loss.ravel(), "(the model's loss)"
        )


def minimal_vs_mean_field(tally: Tally, r: dict, folder: Path) -> None:
    c, g, sm = r["curves"], r["grid"], r["summary"]
    s = r["setting"]
    t = np.asarray(c["t"], float)
    exact, mf = np.asarray(c["exact_loss"], float), np.asarray(c["mean_field_loss"], float)
    along = np.abs(exact - mf)
    tally.same("summary.max_abs_difference_along_flows", sm["max_abs_difference_along_flows"], float(along.max()))
    tally.same(
        "summary.time_of_max_difference_along_flows",
        sm["time_of_max_difference_along_flows"],
        float(t[np.argmax(along)]),
    )
    nm, at = np.asarray(c["numpy_minimal_loss"], float), np.asarray(c["exact_loss_at_checks"], float)
    tally.same(
        "summary.numpy_minimal_vs_exact_max_rel",
        sm["numpy_minimal_vs_exact_max_rel"],
        float(np.max(np.abs(nm - at) / at)),
    )
    ge, gm = np.asarray(g["exact"], float), np.asarray(g["mean_field"], float)
    tally.column("grid.difference", np.ravel(np.asarray(g["difference"], float)).tolist(), (ge - gm).ravel())
    tally.same("summary.max_abs_difference_on_slice", sm["max_abs_difference_on_slice"], float(np.max(np.abs(ge - gm))))
    A, B = np.meshgrid(np.asarray(g["alpha"], float), np.asarray(g["beta"], float))
    model = mean_field_loss(B, A, np.full_like(A, g["xi"]), s["N"], s["L"])
    tally.column("grid.mean_field", gm.ravel().tolist(), model.ravel(), "(the model's loss)")
    grid = GRID * float(t[1] - t[0])
    for key, loss in (("exact", exact), ("mean_field", mf)):
        tally.same(f"summary.{key}_cliff", sm[f"{key}_cliff"], c[f"{key}_cliff"], "(curves)")
        speed = -CubicSpline(t, loss)(t, 1)
        tally.same(f"curves.{key}_cliff", c[f"{key}_cliff"], spline_peak(t, speed), f"from curves.{key}_loss", tol=grid)


def _error_stats(tally: Tally, where: str, stored: Mapping, err: np.ndarray, N, L) -> None:
    ok = np.isfinite(err)
    tally.same(f"{where}.points", stored.get("points"), int(ok.sum()))
    if not ok.any():
        return
    e, pair_N, pair_L = err[ok], N[ok], L[ok]
    tally.same(f"{where}.median_abs", stored["median_abs"], float(np.median(np.abs(e))), tol=ROUNDED)
    tally.same(f"{where}.signed_median", stored["signed_median"], float(np.median(e)), tol=ROUNDED)
    tally.same(f"{where}.max_abs", stored["max_abs"], float(np.max(np.abs(e))), tol=ROUNDED)
    worst = stored["worst"]
    at = np.flatnonzero((pair_N == worst["N"]) & (pair_L == worst["L"]))
    found = float(np.abs(e[at[0]])) if at.size else None
    tally.same(
        f"{where}.worst (N = {worst['N']}, L = {worst['L']})",
        float(np.max(np.abs(e))),
        found,
        "(its |error|)",
        tol=ROUNDED,
    )
    if at.size:
        tally.same(f"{where}.worst.error", worst["error"], float(e[at[0]]), tol=ROUNDED)


def phase(tally: Tally, r: dict, folder: Path) -> None:
    s, grid, errors = r["setting"], r["grid"], r["errors"]
    pairs = [(n, m) for n in range(2, s["N_max"] + 1) for m in range(n + 1, s["ratio_max"] * n + 1)]
    N, L = np.array(grid["N"]), np.array(grid["L"])
    tally.same(
        "grid (N, L)",
        list(zip(grid["N"], grid["L"], strict=True)),
        pairs,
        "(every N from 2 to N_max, L from N + 1 to ratio_max·N)",
    )
    numeric, formula = floats(grid["numeric"]), floats(grid["formula"])
    tally.same("flows", r["flows"], len(pairs))
    tally.same("flows_without_cliff", r["flows_without_cliff"], int(np.sum(~np.isfinite(numeric))))
    err = formula / numeric - 1
    _error_stats(tally, "errors.pooled", errors["pooled"], err, N, L)
    for key, stored in errors["within_N"].items():
        lo, hi = (int(v) for v in key.split("-"))
        _error_stats(tally, f"errors.within_N.{key}", stored, np.where((N >= lo) & (N <= hi), err, np.nan), N, L)
    ratio = L / N
    for key, stored in errors["within_L_over_N"].items():
        low, high = (float(v) for v in key.strip("(]").split(","))
        inside = (ratio > low) & (ratio <= high)
        _error_stats(tally, f"errors.within_L_over_N.{key}", stored, np.where(inside, err, np.nan), N, L)
    wide = (ratio == s["ratio_max"]) & (N >= 8)
    for name, times in (("numeric", numeric), ("formula", formula)):
        slope = float(stats.linregress(np.log(N[wide]), np.log(times[wide])).slope) if wide.sum() >= 2 else None
        tally.same(
            f"exponent_in_N_at_widest_L_over_N.{name}",
            r["exponent_in_N_at_widest_L_over_N"][name],
            slope,
            tol=ROUNDED_SLOPE,
        )
    st = r["start_scale"]
    tally.column("start_scale.relative_error", st["relative_error"], floats(st["formula"]) / floats(st["numeric"]) - 1)
    gd = r["gradient_descent"]
    tally.column("gradient_descent.flow_time", gd["flow_time"], st["numeric"], "(start_scale.numeric)")
    steps = np.array([floats(row) for row in gd["transition_step"]])
    ratio_to_flow = steps * np.asarray(gd["lrs"], float)[None, :] / floats(gd["flow_time"])[:, None]
    tally.column(
        "gradient_descent.ratio_to_flow",
        [v for row in gd["ratio_to_flow"] for v in row],
        ratio_to_flow.ravel(),
        "(step · lr / flow time)",
    )
