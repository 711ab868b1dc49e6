"""The figures that put the model beside the network, recomputed from their saved curves and runs:

- compare: the transition steps, their mean and spread, c, the time axis, plateau losses, when each
  parameter first rises by 1, the P(correct) and loss distances (c fitted on all seeds, and leaving
  each out), the model's loss at the network's β, α, ξ and its gap from the network's own loss;
- scaling: each (N, L)'s steps against ``scaling.jsonl``; for both models c, the predictions,
  Spearman's correlation and relative errors pooled, within N and for the held-out N, the log-log
  fit, the rows' predicted steps;
- growth: the transition, each parameter's rise by 1 (network and both models), the plateau
  medians of the measured C_k, the model's C_α = c and C_ξ = c/√L, the time-scale model's β₀;
- chain: its blocks against the results they copy.

The flows' transition times and the cliff exponents are raw results.
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
    REL,
    Tally,
    agree,
    copies,
    floats,
    sweep_rows,
)
from phenom.figures.check._definitions import (
    icl_transition,
    mean_field_loss,
    rise_by,
    sampled_rise,
    spearman_rho,
    spline_peak,
)


def compare(tally: Tally, r: dict, folder: Path) -> None:
    s, sm, flow, nets = r["setting"], r["summary"], r["flow"], r["networks"]
    N, L, lr = s["N"], s["L"], s["lr"]
    steps = [icl_transition(n["step"], n["icl_acc"], N) for n in nets]
    tally.same("summary.net_transition_steps", sm["net_transition_steps"], steps, "from the networks' ICL accuracy")
    found = [v for v in steps if v is not None]
    if len(found) < len(steps):
        return
    mean = float(np.mean(found))
    tally.same("summary.net_transition_mean", sm["net_transition_mean"], mean)
    tally.same(
        "summary.net_transition_sd", sm["net_transition_sd"], float(np.sqrt(np.mean((np.array(found) - mean) ** 2)))
    )
    flow_t = sm["flow_transition"]
    c = flow_t / (lr * mean)  # t = c · lr · step, fitted at the mean transition
    tally.same("summary.c", sm["c"], c, "(flow_transition / (lr · mean step))")
    t = np.asarray(flow["t"], float)
    theta = np.stack([np.asarray(flow[p], float) for p in PARAMETERS], axis=1)
    tally.column(
        "flow.loss", flow["loss"], mean_field_loss(theta[:, 0], theta[:, 1], theta[:, 2], N, L), "(the model's loss)"
    )
    tally.column("flow.p_correct", flow["p_correct"], np.exp(-np.asarray(flow["loss"], float)), "(e^{-loss})")
    speed = -CubicSpline(t, np.asarray(flow["loss"], float))(t, 1)
    tally.same(
        "summary.flow_transition", flow_t, spline_peak(t, speed), "from the flow's loss", tol=GRID * float(t[1] - t[0])
    )
    for i, n in enumerate(nets):
        tally.column(f"networks[{i}].t", n["t"], c * lr * np.asarray(n["step"], float), "(c · lr · step)")
    half = 0.5 * flow_t
    tally.same("summary.flow_plateau_loss", sm["flow_plateau_loss"], float(np.interp(half, t, flow["loss"])))
    plateau = np.mean([np.interp(half, np.asarray(n["t"], float), floats(n["eval_loss"])) for n in nets])
    tally.same("summary.net_plateau_loss", sm["net_plateau_loss"], float(plateau))
    flow_rise = {p: sampled_rise(t, flow[p]) for p in PARAMETERS}
    tally.same("summary.flow_time_each_parameter_rises_by_1", sm["flow_time_each_parameter_rises_by_1"], flow_rise)
    for i, n in enumerate(nets):
        rises = {p: sampled_rise(n["t"], n[p]) for p in PARAMETERS}
        for p in PARAMETERS:
            tally.same(
                f"summary.net_time_each_parameter_rises_by_1[{i}].{p}",
                sm["net_time_each_parameter_rises_by_1"][i][p],
                rises[p],
            )
    for key, column in (("p_correct", "p_correct"), ("loss", "eval_loss")):
        d = [_distance(t, flow[key], c * lr * np.asarray(n["step"], float), n[column]) for n in nets]
        tally.same(f"summary.rms_{key}_distance", sm[f"rms_{key}_distance"], [x[0] for x in d])
        tally.same(f"summary.max_abs_{key}_distance", sm[f"max_abs_{key}_distance"], [x[1] for x in d])
    if len(nets) > 1:
        held_c, held = [], []
        for i, n in enumerate(nets):
            ci = flow_t / (lr * float(np.mean([x for j, x in enumerate(found) if j != i])))
            held_c.append(ci)
            held.append(_distance(t, flow["p_correct"], ci * lr * np.asarray(n["step"], float), n["p_correct"]))
        tally.same("summary.held_out_c", sm["held_out_c"], held_c, "(c from the other seeds)")
        tally.same(
            "summary.held_out_rms_p_correct_distance", sm["held_out_rms_p_correct_distance"], [x[0] for x in held]
        )
        tally.same(
            "summary.held_out_max_abs_p_correct_distance",
            sm["held_out_max_abs_p_correct_distance"],
            [x[1] for x in held],
        )
    gaps = []
    for i, (rec, n) in enumerate(zip(r["reconstruction"], nets, strict=True)):
        where = f"reconstruction[{i}]"
        tally.same(f"{where}.step", rec["step"], n["step"], f"(networks[{i}].step)")
        tally.same(f"{where}.net_eval_loss", rec["net_eval_loss"], n["eval_loss"], f"(networks[{i}].eval_loss)")
        b, a, x = (floats(n[p]) for p in PARAMETERS)
        model = mean_field_loss(b, a, x, N, L)  # NaN where ξ is undefined
        tally.column(f"{where}.model_loss", rec["model_loss"], model, "(the model's loss at the network's β, α, ξ)")
        gap = model - floats(n["eval_loss"])
        tally.column(f"{where}.gap", rec["gap"], gap, rel=REL, tol=1e-12)
        worst = int(np.nanargmax(np.abs(gap))) if np.isfinite(gap).any() else None
        gaps.append(None if worst is None else float(abs(gap[worst])))
        tally.same(f"{where}.max_abs_loss_gap", rec["max_abs_loss_gap"], gaps[-1], "from the saved losses")
        tally.same(f"{where}.step_of_max_gap", rec["step_of_max_gap"], None if worst is None else n["step"][worst])
    expected = []
    for i, (rec, n) in enumerate(zip(r["reconstruction"], nets, strict=True)):
        gap = floats(n["expected_model_loss"]) - floats(n["eval_loss"])
        tally.column(
            f"reconstruction[{i}].expected_gap", rec["expected_gap"], gap, "(expected model loss − held-out loss)"
        )
        expected.append(float(np.max(np.abs(gap))))
        tally.same(f"reconstruction[{i}].max_abs_expected_gap", rec["max_abs_expected_gap"], expected[-1])
    tally.same("summary.max_abs_expected_gap", sm["max_abs_expected_gap"], max(expected), "from the saved losses")
    ext = r["extended"]
    tally.same("extended.relative_error", ext["relative_error"], ext["predicted_step"] / mean - 1)
    tally.column("extended.p_correct", ext["p_correct"], np.exp(-floats(ext["loss"])), "(e^{-loss})")
    defined = [g for g in gaps if g is not None]
    tally.same(
        "summary.max_abs_loss_gap", sm["max_abs_loss_gap"], max(defined) if defined else None, "from the saved losses"
    )
    stored = r["stored_constant"]
    tally.same("stored_constant.relative_error", stored["relative_error"], stored["predicted_step"] / mean - 1)
    tally.same("stored_constant.held_out", stored["held_out"], [N, L] != list(stored["fitted_at"]))


def _distance(t_a, y_a, t_b, y_b) -> tuple[float, float]:
    """RMS and largest |a − b| at a's samples inside b's span (b linearly interpolated)."""
    t_a, y_a, t_b, y_b = (np.asarray(v, float) for v in (t_a, y_a, t_b, floats(y_b)))
    inside = (t_a >= t_b[0]) & (t_a <= t_b[-1])
    diff = y_a[inside] - np.interp(t_a[inside], t_b, y_b)
    return float(np.sqrt(np.mean(diff**2))), float(np.max(np.abs(diff)))


def scaling(tally: Tally, r: dict, folder: Path) -> None:
    s = r["setting"]
    lr, reference = s["lr"], tuple(s["reference"])
    held_out = [N for N in s["held_out"] if N in s["Ns"]]
    _scaling_rows_against_sweep(tally, r["rows"], s, sweep_rows(folder / "scaling.jsonl"))
    for model, key, row_key in (
        ("summary", "flow_time", "predicted_step"),
        ("mean_field", "mean_field_flow_time", "mean_field_predicted_step"),
        ("extended", "extended_flow_time", "extended_predicted_step"),
    ):
        runs = [
            (row["N"], row["L"], row[key], step)
            for row in r["rows"]
            if row[key] is not None
            for step in row["net_steps"]
        ]
        c = _scaling_statistics(tally, model, r[model], runs, reference, lr, held_out)
        for row in r["rows"]:
            want = None if row[key] is None or c is None else row[key] / (c * lr)
            tally.same(f"rows (N = {row['N']}, L = {row['L']}).{row_key}", row[row_key], want, f"({key} / (c · lr))")
    for k in ("spearman", "within_N_spearman", "median_abs_relative_error", "max_abs_relative_error"):
        tally.same(k, r[k], r["summary"][k], "(summary's)")


def _scaling_rows_against_sweep(tally: Tally, rows: list[dict], s: Mapping, sweep: list[dict]) -> None:
    """Each (N, L)'s steps in the JSON against its runs in scaling.jsonl (the setting's seeds)."""
    per_N = {
        N: (steps, every, s["seeds"][:k])
        for N, steps, every, k in zip(s["Ns"], s["steps"], s["eval_every"], s["seed_counts"], strict=True)
    }
    for row in rows:
        N, L = row["N"], row["L"]
        steps, every, seeds = per_N[N]
        seeds = s["control_seeds"] if L == N else seeds
        want = dict(N=N, L=L, D=max(s["min_D"], L), eps=s["eps"], lr=s["lr"], steps=steps, eval_every=every)
        want |= dict(eval_size=s["eval_size"], batch_size=s["batch_size"], weight_decay=s["weight_decay"])
        found = []
        for seed in seeds:
            match = [x for x in sweep if x.get("config") == {**want, "seed": seed} and "result" in x]
            found.append(match[0]["result"]["net_step"] if len(match) == 1 else "missing")
        where = f"rows (N = {N}, L = {L})"
        if "missing" in found:
            tally.numbers += 1
            lacking = [seed for seed, f in zip(seeds, found, strict=True) if f == "missing"]
            tally.problem(f"{where}: scaling.jsonl lacks the runs of seeds {lacking}")
            continue
        tally.same(
            f"{where}.net_steps", row["net_steps"], [f for f in found if f is not None], "(its runs in scaling.jsonl)"
        )
        tally.same(f"{where}.seeds_without_transition", row["seeds_without_transition"], sum(f is None for f in found))


def _scaling_statistics(
    tally: Tally, where: str, sm: Mapping, runs: list, reference, lr: float, held_out
) -> float | None:
    """One model's statistics from the per-run steps: c fitted at the reference (mean flow time
    over lr times the mean step there), which is then left out of every statistic."""
    ref = [x for x in runs if (x[0], x[1]) == reference]
    rest = [x for x in runs if (x[0], x[1]) != reference]
    if not ref or len(rest) < 3:
        tally.problem(f"{where}: too few runs with transitions to recompute its statistics")
        return None
    ref_t, ref_step = float(np.mean([x[2] for x in ref])), float(np.mean([x[3] for x in ref]))
    c = ref_t / (lr * ref_step)
    tally.same(f"{where}.c", sm["c"], c, "(reference flow time / (lr · its mean step))")
    tally.same(f"{where}.reference_runs", sm["reference_runs"], len(ref))
    tally.same(f"{where}.reference_flow_time", sm["reference_flow_time"], ref_t)
    tally.same(f"{where}.reference_net_step", sm["reference_net_step"], ref_step)
    predicted = [(N, L, step, t / (c * lr)) for N, L, t, step in rest]
    rel = [(p - step) / step for _, _, step, p in predicted]

    def group(path: str, stored: Mapping | None, members: list[int]) -> float | None:
        """Rank correlation, relative errors and counts of the predictions ``members``; the
        recomputed rank correlation."""
        if not members or stored is None:
            tally.same(path, stored, None if not members else "statistics of its runs")
            return None
        e = np.abs([rel[i] for i in members])
        rho = spearman_rho([predicted[i][3] for i in members], [predicted[i][2] for i in members])
        tally.same(f"{path}.spearman", stored["spearman"], rho, "from the per-run steps")
        tally.same(f"{path}.median_abs_relative_error", stored["median_abs_relative_error"], float(np.median(e)))
        tally.same(f"{path}.max_abs_relative_error", stored["max_abs_relative_error"], float(np.max(e)))
        tally.same(f"{path}.runs", stored["runs"], len(members))
        tally.same(f"{path}.configurations", stored["configurations"], len({predicted[i][:2] for i in members}))
        return rho

    every = list(range(len(predicted)))
    group(where, sm, every)
    Ns = sorted({x[0] for x in predicted})
    tally.same(f"{where}.within_N (its N)", list(sm["within_N"]), [str(N) for N in Ns])
    for N in Ns:
        rho = group(f"{where}.within_N.{N}", sm["within_N"].get(str(N)), [i for i in every if predicted[i][0] == N])
        tally.same(f"{where}.within_N_spearman.{N}", sm["within_N_spearman"].get(str(N)), rho, "from the per-run steps")
    tally.same(f"{where}.held_out_Ns", sm["held_out_Ns"], held_out)
    group(f"{where}.held_out", sm["held_out"], [i for i in every if predicted[i][0] in held_out])
    group(f"{where}.not_held_out", sm["not_held_out"], [i for i in every if predicted[i][0] not in held_out])
    fit = stats.linregress(np.log([t for _, _, t, _ in rest]), np.log([step for _, _, _, step in rest]))
    tally.same(f"{where}.loglog_slope", sm["loglog_slope"], float(fit.slope), "(log step against log flow time)")
    tally.same(f"{where}.loglog_intercept", sm["loglog_intercept"], float(fit.intercept))
    stored = sorted(
        (p["N"], p["L"], p["observed_step"], p["predicted_step"], p["relative_error"]) for p in sm["predictions"]
    )
    mine = sorted((N, L, step, p, (p - step) / step) for N, L, step, p in predicted)
    tally.same(f"{where}.predictions (count)", len(stored), len(mine))
    for a, b in zip(stored, mine, strict=False):
        label = f"{where}.predictions (N = {a[0]}, L = {a[1]}, step {a[2]:.6g})"
        if not (agree(a[0], b[0], 0, 0) and agree(a[1], b[1], 0, 0) and agree(a[2], b[2], REL, 0)):
            tally.same(f"{label} run", list(a[:3]), list(b[:3]))
            break
        tally.same(f"{label}.predicted_step", a[3], b[3])
        tally.same(f"{label}.relative_error", a[4], b[4])
    return c


def growth(tally: Tally, r: dict, folder: Path) -> None:
    constants = r["constants"]
    for i, run in enumerate(r["runs"]):
        N, L, net, where = run["N"], run["L"], run["network"], f"runs[{i}] (N = {run['N']}, L = {run['L']})"
        observed = icl_transition(net["step"], net["icl_acc"], N)
        tally.same(f"{where}.observed_step", run["observed_step"], observed, "from its ICL accuracy")
        for p in PARAMETERS:
            tally.same(
                f"{where}.network_rise_step.{p}",
                run["network_rise_step"][p],
                rise_by(net["step"], net[p]),
                "(1 above its start)",
            )
        for model, m in run["models"].items():
            tally.same(f"{where}.models.{model}.c", m["c"], constants[model]["c"])
            tally.same(f"{where}.models.{model}.theta0", m["theta0"], [m["curves"][p][0] for p in PARAMETERS])
            for p in PARAMETERS:
                tally.same(
                    f"{where}.models.{model}.rise_step.{p}",
                    m["rise_step"][p],
                    rise_by(m["curves"]["step"], m["curves"][p]),
                )
        # The untrained network under uniform attention: ILA1 = H_N/(2N), so β₀ = log(N y/(1 − y)).
        y = float(np.sum(1 / np.arange(1, N + 1))) / (2 * N)
        tally.same(
            f"{where}.models.time_scales.theta0[0]",
            run["models"]["time_scales"]["theta0"][0],
            float(np.log(N * y / (1 - y))),
        )
        c = constants["time_scales"]["c"]
        tally.same(f"{where}.model_C.alpha", run["model_C"]["alpha"], c, "(c · 1)")
        tally.same(f"{where}.model_C.xi", run["model_C"]["xi"], c / np.sqrt(L), "(c / √L)")
        for p in PARAMETERS:
            if observed is None:
                median = None
            else:
                values = [
                    x["C"][p]
                    for x in run["probes"]
                    if 0.1 * observed <= x["step"] <= 0.9 * observed and x["C"][p] is not None
                ]
                median = float(np.median(values)) if values else None
            tally.same(
                f"{where}.plateau_median_C.{p}",
                run["plateau_median_C"][p],
                median,
                "(probes from 10% to 90% of the transition)",
            )


def chain(tally: Tally, r: dict, folder: Path) -> None:
    copies(
        tally,
        r,
        folder,
        {
            "minimal": (
                "minimal_vs_mean_field",
                lambda m: {k: m[k] for k in ("setting", "digest", "curves", "summary")},
            ),
            "compare": ("compare", lambda c: {k: c[k] for k in ("setting", "digest", "flow", "networks", "summary")}),
            "seeds": ("compare", lambda c: c.get("seeds")),
        },
    )
