"""Every number the README and the documentation's pages quote about a result comes from the
committed result files.

Each claim below is formatted from ``figures/*.json`` (or, for speed and reproducibility, from
``benchmarks/results/*.json``) and must appear word for word in the page it belongs to (``HOME``:
the README, a results page under ``docs/results/``, or the performance page); the README's
headline captions quote a few results pages' claims too (``README_QUOTES``). Every measured
number (one with a decimal point or a percent sign) on a results page, and in the README's
captions, must belong to a claim of that page, and every comparative word there must sit inside
one, so a number or a trend cannot be edited by hand, or go stale when the figures are
regenerated, without this test failing. Tables are claims row by row.
"""

import functools
import json
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "figures"
README = (ROOT / "README.md").read_text()


def _load(name: str) -> dict:
    return json.loads((FIGURES / f"{name}.json").read_text())


def _pct(x: float, digits: int = 0) -> str:
    return f"{100 * x:.{digits}f}%"


def _range(values, spec: str = ".3f") -> str:
    lo, hi = min(values), max(values)
    return f"{lo:{spec}}" if format(lo, spec) == format(hi, spec) else f"{lo:{spec}}–{hi:{spec}}"


@functools.cache
def claims() -> dict[str, str]:
    """Claim name → the exact text the README states, formatted from the saved results."""
    c = {}
    flow = _load("induction_flow")["flows"]
    main = flow[0]
    reach = main["time_each_parameter_reaches_1"]
    c["flow.cliff"] = f"falls off the cliff at t = {main['cliff_time']:.1f}"
    c["flow.half"] = f"reaching half of log L at t = {main['time_to_half_log_L']:.1f}"
    c["flow.reach"] = f"ξ, α and β reach 1 at t = {reach['xi']:.1f}, {reach['alpha']:.1f} and {reach['beta']:.1f}"
    moving = sorted((f for f in flow if f["L"] > f["N"]), key=lambda f: -f["L"])
    c["flow.compare_L.table"] = "\n".join(f"| {f['L']} | {f['L'] - f['N']} | {f['cliff_time']:.1f} |" for f in moving)
    c["flow.logL"] = f"log 32 = {np.log(32):.2f}"

    lsa_land = _load("lsa_landscape")
    star = lsa_land["points"]["Γ* (optimal)"]
    c["lsa_landscape.star"] = f"Γ* = diag({star['gamma1']:.2f}, {star['gamma2']:.1f}), R* = {star['risk']:.2f}"
    c["lsa_landscape.eye"] = f"(Γ = I) has risk {lsa_land['points']['Γ = I (plain GD step)']['risk']:.2f}"

    curves = _load("lsa_learning_curves")["summary"]
    c["lsa_curves.cliff"] = f"drop at t ≈ {curves['flow_cliff_time']:.2f}"
    c["lsa_curves.gap"] = (
        f"largest gap {_pct(curves['max_relative_gap_risk_of_gamma_eff'], 1)}, "
        f"{_pct(curves['final_relative_gap_risk_of_gamma_eff'], 1)} at the end"
    )
    c["lsa_curves.heldout"] = (
        f"up to {_pct(curves['max_relative_gap_heldout_loss'])} above the flow "
        f"(at t = {curves['time_of_max_gap_heldout_loss']:.1f}) and ends "
        f"{_pct(curves['final_relative_gap_heldout_loss'])} above it"
    )

    pre = _load("lsa_preconditioner")["summary"]
    c["lsa_pre.error"] = f"within {_pct(pre['relative_frobenius_error'], 1)} (relative Frobenius) of Γ*"
    c["lsa_pre.risk"] = (
        f"within {_pct(pre['risk_of_learned'] / pre['optimal_risk'] - 1, 2)} of R* = {pre['optimal_risk']:.3f}"
    )

    depth = _load("lsa_depth")["depth"]
    beats = all(m < p for m, p in zip(depth["lsa_median"][1:], depth["pgd_risk"][1:], strict=True))
    c["lsa_depth.median"] = (
        "the median of three seeds beats it at every K > 1"
        if beats
        else "the median of three seeds does not beat it at every K > 1"
    )
    c["lsa_depth.table"] = "\n".join(
        f"| {K} | {g:.3f} | {p:.3f} | {m:.3f} | {lo:.3f}–{hi:.3f} |"
        for K, g, p, m, lo, hi in zip(
            depth["layers"],
            depth["gd_risk"],
            depth["pgd_risk"],
            depth["lsa_median"],
            depth["lsa_min"],
            depth["lsa_max"],
            strict=True,
        )
    )

    training = _load("network_training")
    h, s = training["history"], training["summary"]
    step, cla = np.array(h["step"]), np.array(h["cla"])
    at_800 = int(np.flatnonzero(step == 800)[0])
    c["train.cla"] = f"climbs from {cla[0]:.2f} to {cla[at_800]:.2f} by step 800"
    c["train.transition"] = (
        f"ICL accuracy passes halfway from 1/N to 1 at step {s['transition_step']:.0f}, "
        f"ending at {s['final_icl_acc']:.3f}"
    )
    first = {p: _first_rise(step, h[p]) for p in ("beta", "alpha", "xi")}
    c["train.order"] = f"rise by 1 in the order {_order(first, ', then ')}"
    ctrl = training["controls"]
    passed = sum(x["summary"]["transition_step"] is not None for x in ctrl)
    c["train.controls"] = (
        f"{passed} of {len(ctrl)} seeds pass halfway (largest held-out accuracy "
        f"{max(x['summary']['max_icl_acc'] for x in ctrl):.3f})"
    )

    ablation = _load("network_ablation")["results"]
    c["ablation"] = (
        f"from {ablation['intact']['icl_acc']:.3f} to {ablation['layer 1 removed']['icl_acc']:.3f} "
        f"(layer 1) or {ablation['layer 2 removed']['icl_acc']:.3f} (layer 2)"
    )

    minimal = _load("minimal_vs_mean_field")["summary"]
    c["minimal.rel"] = f"equals it to {minimal['numpy_minimal_vs_exact_max_rel']:.0e}"
    c["minimal.along"] = (
        f"by up to {minimal['max_abs_difference_along_flows']:.2f} along the two flows "
        f"(at t = {minimal['time_of_max_difference_along_flows']:.0f})"
    )
    c["minimal.slice"] = f"and by up to {minimal['max_abs_difference_on_slice']:.2f} on the (α, β) slice"
    c["minimal.cliff"] = f"(t = {minimal['mean_field_cliff']:.1f} against {minimal['exact_cliff']:.1f})"
    exact_order, mf_order = _order(minimal["exact_order_reach_1"]), _order(minimal["mean_field_order_reach_1"])
    c["minimal.order"] = (
        f"in both models the parameters reach 1 in the same order: {_order(minimal['exact_order_reach_1'], ', then ')}"
        if exact_order == mf_order
        else f"the exact model's parameters reach 1 in the order {exact_order}, the mean-field model's in the "
        f"order {mf_order}"
    )

    comp = _load("compare")
    cs = comp["summary"]
    c["compare.c"] = (
        f"c = {cs['c']:.3f}, fitted so that the mean network transition (ICL accuracy halfway from "
        f"1/N to 1, at step {cs['net_transition_mean']:.0f} ± {cs['net_transition_sd']:.0f}) lands "
        f"on the flow's cliff (t = {cs['flow_transition']:.1f})"
    )
    c["compare.p"] = (
        f"RMS {_range(cs['rms_p_correct_distance'])} apart, largest difference "
        f"{max(cs['max_abs_p_correct_distance']):.2f}"
    )
    c["compare.plateau"] = (
        f"plateau losses are {cs['flow_plateau_loss']:.2f} (flow) and {cs['net_plateau_loss']:.2f} (network)"
    )
    flow_rise = cs["flow_time_each_parameter_rises_by_1"]
    net_rise = cs["net_time_each_parameter_rises_by_1"]

    def rise(p):
        return _range([r[p] for r in net_rise], ".0f")

    symbol = {"beta": "β", "alpha": "α", "xi": "ξ"}
    c["compare.order.table"] = "\n".join(
        f"| {symbol[p]} | {flow_rise[p]:.0f} | {rise(p)} |" for p in sorted(flow_rise, key=lambda p: flow_rise[p])
    )
    c["compare.heldout"] = (
        f"with a leave-one-out c fitted on the other seeds, RMS {_range(cs['held_out_rms_p_correct_distance'])}"
    )
    rec = comp["reconstruction"][0]
    gap = np.array([np.nan if v is None else v for v in rec["gap"]], float)
    steps = np.array(rec["step"])
    worst = int(np.nanargmax(np.abs(gap)))
    c["compare.reconstruction"] = (
        f"largest gap {cs['max_abs_loss_gap']:.2f} over the three seeds; seed "
        f"{comp['setting']['seeds'][0]}: model {rec['model_loss'][worst]:.3f} against "
        f"network {rec['net_eval_loss'][worst]:.3f} at step {steps[worst]}"
    )

    sc = _load("scaling")
    ss, mf = sc["summary"], sc["mean_field"]
    c["scaling.c"] = (
        f"one constant c fitted at (8, 32) ({ss['c']:.4f} for the time-scale model, {mf['c']:.4f} for "
        f"the mean-field flow)"
    )
    for key, sm in (("scaling", ss), ("scaling.mf", mf)):
        c[f"{key}.pooled"] = (
            f"Spearman rank correlation {sm['spearman']:.2f} pooled over the {sm['configurations']} "
            f"out-of-fit configurations ({sm['runs']} runs)"
        )
        worst_pred = max(sm["predictions"], key=lambda p: abs(p["relative_error"]))
        c[f"{key}.errors"] = (
            f"median relative error {_pct(sm['median_abs_relative_error'])}, largest "
            f"{_pct(sm['max_abs_relative_error'])} (N = {worst_pred['N']}, L = {worst_pred['L']})"
        )
    held = [str(N) for N in ss["held_out_Ns"]]
    chosen = [N for N in ss["within_N"] if N not in held]
    one_held = len(held) == 1
    groups = [
        (f"N = {N}" + (" (held out)" if one_held and N in held else ""), ss["within_N"][N], mf["within_N"][N])
        for N in ss["within_N"]
    ]
    groups += [(f"N = {', '.join(chosen)}, where the form was chosen", ss["not_held_out"], mf["not_held_out"])]
    if not one_held:
        groups += [(f"N = {', '.join(held)}, held out", ss["held_out"], mf["held_out"])]
    groups += [("all, pooled", ss, mf)]

    def accuracy(g: dict) -> str:
        rho = "—" if g["spearman"] is None else f"{g['spearman']:.2f}"
        return f"{rho} | {_pct(g['median_abs_relative_error'])} | {_pct(g['max_abs_relative_error'])}"

    c["scaling.accuracy.table"] = "\n".join(
        f"| {name} | {a['configurations']} | {a['runs']} | {accuracy(a)} | {accuracy(b)} |" for name, a, b in groups
    )
    met = {
        "pooled Spearman ≥ 0.95": ss["spearman"] >= 0.95,
        "within-N Spearman ≥ 0.8 for every N": all(
            v is not None and v >= 0.8 for v in ss["within_N_spearman"].values()
        ),
        "median relative error ≤ 10%": ss["median_abs_relative_error"] <= 0.10,
        "largest ≤ 20%": ss["max_abs_relative_error"] <= 0.20,
    }
    c["scaling.targets"] = (
        "met: "
        + (", ".join(k for k, v in met.items() if v) or "none")
        + "; missed: "
        + (", ".join(k for k, v in met.items() if not v) or "none")
    )
    top: dict[tuple[int, int], list[float]] = {}
    for p in ss["predictions"]:
        if p["L"] == max(q["L"] for q in ss["predictions"] if q["N"] == p["N"]):
            top.setdefault((p["N"], p["L"]), []).append(p["relative_error"])
    signs = {np.sign(np.mean(v)) for v in top.values()}
    c["scaling.largest_L"] = (
        {1.0: "The model is too slow where L is largest", -1.0: "The model is too fast where L is largest"}.get(
            signs.pop(), "Where L is largest the model errs both ways"
        )
        if len(signs) == 1
        else "Where L is largest the model errs both ways"
    ) + (
        ": at L = 8N the mean relative error is "
        + ", ".join(f"{np.mean(v):+.0%} (N = {N})" for (N, _), v in sorted(top.items()))
    )
    means = {(r["N"], r["L"]): np.mean(r["net_steps"]) for r in sc["rows"] if r["L"] > r["N"] and r["net_steps"]}
    Ns = sorted({N for N, _ in means})
    fastest = {N: min((L for n, L in means if n == N), key=lambda L: means[(N, L)]) for N in Ns}
    slower = all(means[(N, max(L for n, L in means if n == N))] > means[(N, fastest[N])] for N in Ns)
    c["scaling.fastest"] = (
        "the network's is fastest at L = "
        + ", ".join(f"{fastest[N]} (N = {N})" for N in Ns)
        + (", and slower again at the largest L for every N" if slower else "")
    )

    equal = [r for r in sc["rows"] if r["L"] == r["N"]]
    outcome: dict[str, list[str]] = {}
    for r in equal:
        passed = len(r["net_steps"])
        kind = "all" if not r["seeds_without_transition"] else "none" if not passed else "some"
        outcome.setdefault(kind, []).append(str(r["N"]))
    seeds = {len(r["net_steps"]) + r["seeds_without_transition"] for r in equal}
    words = {"all": "passes halfway", "none": "does not pass halfway", "some": "passes halfway in some seeds"}
    c["scaling.LeqN"] = (
        "the network"
        + (" (one seed each) " if seeds == {1} else " ")
        + ", and ".join(f"{words[k]} at N = {' and '.join(v)}" for k, v in outcome.items())
    )
    n2 = {r["L"]: r["net_steps"] for r in sc["rows"] if r["N"] == 2 and r["L"] > 2}
    seeds3, mean2 = n2[3], [np.mean(v) for v in n2.values()]
    c["scaling.n2"] = (
        f"its seeds at L = 3 span {min(seeds3):.0f} to {max(seeds3):.0f}, its means over all L "
        f"{min(mean2):.0f} to {max(mean2):.0f}"
    )
    c["scaling.table"] = "\n".join(_scaling_row(r, ss) for r in sc["rows"])
    c.update(_scaling_extended_claims(sc, _load("extended"), groups=[g[0] for g in groups]))
    c.update(_growth_claims(_load("growth")["runs"]))
    c.update(_phase_claims(_load("phase")))
    c.update(_heads_claims(_load("induction_heads")))
    c.update(_data_claims(_load("data_dependence")))
    c.update(_extended_claims(_load("extended")))
    c["compare.expected"] = (
        f"largest gap {cs['max_abs_expected_gap']:.2f}, against {cs['max_abs_loss_gap']:.2f} at the averaged parameters"
    )
    c.update(_trend_claims())
    return c


def _extended_claims(r: dict) -> dict[str, str]:
    """The extended model's page: its constant, each group's statistics for both models against
    the targets, and the delay with D."""
    c: dict[str, str] = {}
    const, targets = r["stored_constant"], r["targets"]
    c["extended.constant"] = (
        f"c = {const['c']:.4f}, its cliff at t = {const['flow_time']:.2f} over lr 0.5 times the network's mean "
        f"transition there, step {const['net_step']:.0f}"
    )
    c["extended.targets"] = (
        f"P(label in context) within {targets['plateau_rms_p_context']:.2f} RMS and the held-out loss within "
        f"{targets['plateau_rms_loss']:.2f} nats RMS over the plateau (steps before {r['plateau_end']:.1f} × the "
        f"network's transition), the network's plateau rate of the effective ξ within "
        f"{targets['xi_rate_ratio']:.0f}× the model's, the transition step's median error at most "
        f"{_pct(targets['median_abs_relative_error'])} and its largest at most "
        f"{_pct(targets['max_abs_relative_error'])}"
    )
    names = {"seen": "seen (first round)", "held_out": "held out", "pooled": "pooled"}
    models = {"model": "extended", "three_parameter": "three-parameter"}

    def row(model: str, group: str) -> str:
        g = r["summary"][model][group]
        xi = g["xi_rate_ratio"]
        return (
            f"| {names[group]} | {models[model]} | {g['configurations']} ({g['runs']}) | "
            f"{_pct(g['median_abs_relative_error'])} | {_pct(g['max_abs_relative_error'])} | "
            f"{g['median_rms_p_context']:.2f} / {g['max_rms_p_context']:.2f} | "
            f"{g['median_rms_loss']:.2f} / {g['max_rms_loss']:.2f} | "
            f"{xi['median']:.1f} ({xi['min']:.1f}–{xi['max']:.1f}) |"
        )

    c["extended.table"] = "\n".join(row(m, g) for g in names for m in models if g in r["summary"][m])
    met = [
        f"{names[g]}: {sum(r['summary']['model'][g]['targets_met'].values())} of {len(targets)}"
        for g in names
        if g in r["summary"]["model"]
    ]
    c["extended.met"] = "targets met by the extended model, " + "; ".join(met)
    c["extended.d_table"] = "\n".join(
        f"| ({d['N']}, {d['L']}) | {d['base_D']} → {d['D']} | {d['network_ratio']:.2f} | {d['model_ratio']:.2f} |"
        for d in r["d_ratios"]
    )
    by: dict[tuple, list[dict]] = {(x["N"], x["L"], x["D"], x["lr"], x["batch_size"], x["eps"]): [] for x in r["runs"]}
    for x in r["runs"]:
        by[(x["N"], x["L"], x["D"], x["lr"], x["batch_size"], x["eps"])].append(x)
    base = by.get((4, 16, 63, 0.5, 128, 0.1))
    if base and all(x["net_step"] is not None for ms in by.values() for x in ms):
        mean0 = np.mean([x["net_step"] for x in base])
        rows = []
        for key, label in (
            ((4, 16, 63, 0.25, 128, 0.1), "lr 0.25"),
            ((4, 16, 63, 0.5, 32, 0.1), "batch 32"),
            ((4, 16, 63, 0.5, 128, 0.3), "ε = 0.3"),
        ):
            if key in by:
                ratio = np.mean([x["net_step"] for x in by[key]]) / mean0
                rows.append(f"| {label} | {ratio:.2f} | {by[key][0]['model_step'] / base[0]['model_step']:.2f} |")
        c["extended.options_table"] = "\n".join(rows)
    lines = []
    for key, runs in by.items():
        N, L, D, lr, batch, eps = key
        usual = (("lr", lr, 0.5), ("batch", batch, 128), ("ε", eps, 0.1))
        options = ", ".join(f"{name} {v:g}" for name, v, default in usual if v != default)
        steps = [x["net_step"] for x in runs if x["net_step"] is not None]
        mean = np.mean(steps) if len(steps) == len(runs) else None
        cells = []
        for model in ("model", "three_parameter"):
            p = runs[0][f"{model}_step"]
            cells.append(f"{p:.0f}" + ("" if mean is None else f" ({p / mean - 1:+.0%})"))
        plateau = [x["model_plateau"] for x in runs if "model_plateau" in x]
        if plateau and mean is not None:
            ratios = [q["xi_rate_ratio"] for q in plateau if q["xi_rate_ratio"] is not None]
            stats = f"{max(q['rms_p_context'] for q in plateau):.2f} | {max(q['rms_loss'] for q in plateau):.2f} | " + (
                _range(ratios, ".1f") if ratios else "—"
            )
        else:
            stats = "— | — | —"
        lines.append(
            f"| {names.get(runs[0]['group'], runs[0]['group'])} | ({N}, {L}, {D}) | {options or '—'} | "
            f"{'—' if mean is None else f'{mean:.0f}'} | {cells[0]} | {cells[1]} | {stats} |"
        )
    c["extended.config_table"] = "\n".join(lines)
    errors = {}  # (N, L, D, options) → (extended, three-parameter) relative error of the seeds' mean
    for key, runs in by.items():
        if runs[0]["group"] != "reference" and all(x["net_step"] is not None for x in runs):
            mean = np.mean([x["net_step"] for x in runs])
            errors[key] = tuple(runs[0][f"{m}_step"] / mean - 1 for m in ("model", "three_parameter"))

    def median(which: int, wide: bool) -> str:
        return _pct(float(np.median([abs(e[which]) for key, e in errors.items() if (key[2] > 63) == wide])))

    at63 = [e for key, e in errors.items() if key[2] == 63]
    closer = sum(abs(b) < abs(a) for a, b in at63)
    c["extended.d63"] = (
        f"at D = 63 the extended model's median error is {median(0, False)} against the three-parameter "
        f"model's {median(1, False)}, and the three-parameter model is the closer at {closer} of these "
        f"{len(at63)} configurations; at D above 63 the extended model's median error is {median(0, True)} "
        f"against {median(1, True)}"
    )
    return c


def _halfway(x, y) -> float:
    """The first x at which y has come half of the way from its first value to its last."""
    y = np.asarray(y, float)
    return float(np.asarray(x)[np.flatnonzero(np.abs(y - y[0]) >= 0.5 * abs(y[-1] - y[0]))[0]])


def _monotone(values, sign: int) -> bool:
    """Every step strictly up (sign 1) or strictly down (sign -1)."""
    return bool(np.all(sign * np.diff(np.asarray(values, float)) > 0))


def _trend_claims() -> dict[str, str]:
    """The README's comparative sentences (a trend, an agreement, an order), each worded from the
    saved results: a sentence that the numbers stop supporting changes with them."""
    c: dict[str, str] = {}
    flows = _load("induction_flow")["flows"]
    main = flows[0]
    curve = main["curves"]
    t, loss, p_ctx = (np.array(curve[k], float) for k in ("t", "loss", "p_context"))
    log_L = np.log(main["L"])
    leave = float(t[np.flatnonzero(loss < 0.9 * log_L)[0]])
    c["flow.plateau"] = f"stays within 10% of log {main['L']} = {log_L:.2f} until t = {leave:.0f}"
    moving = sorted((f for f in flows if f["L"] > f["N"]), key=lambda f: f["L"] - f["N"])
    later = _monotone([f["cliff_time"] for f in moving], -1)
    c["flow.later"] = (
        "the smaller L − N, the later the jump" if later else "the jump is not later at every smaller L − N"
    )
    still = next(f for f in flows if f["L"] == f["N"])
    size = max(abs(v) for v in still["final_theta"].values())
    c["flow.still"] = (
        f"at L = N = {still['N']} the flow does not move (|θ| = {size:g} at t = {still['t_max']:g})"
        if size == 0
        else f"at L = N = {still['N']} the flow moves only to |θ| = {size:.2g} by t = {still['t_max']:g}"
    )
    at_leave = float(np.interp(leave, t, p_ctx))
    c["flow.curriculum"] = (
        f"{'climbs' if at_leave > p_ctx[0] else 'does not climb'} from {p_ctx[0]:.2f} to {at_leave:.2f} on the plateau"
    )

    phase = _load("phase")
    bins = phase["errors"]["within_L_over_N"]
    worst_bin = max(bins, key=lambda b: bins[b]["max_abs"])
    c["phase.worst"] = (
        "It is worst where L − N is small"
        if worst_bin == next(iter(bins))
        else f"It is worst at L/N in {worst_bin}, not where L − N is small"
    )
    gd = phase["gradient_descent"]
    row = gd["ratio_to_flow"][gd["scales"].index(0.0)]
    reach = _within_five_percent(gd["lrs"], row)
    beyond = [r for lr, r in zip(gd["lrs"], row, strict=True) if lr > reach]
    c["phase.later"] = (
        "beyond, it comes later than the flow's"
        if all(r is None or r > 1 for r in beyond)
        else "beyond, it comes earlier than the flow's at some rates"
    )

    land = _load("lsa_landscape")["paths"]
    halves = {name: (_halfway(p["t"], p["gamma1"]), _halfway(p["t"], p["gamma2"])) for name, p in land.items()}
    large_first = all(a < b for a, b in halves.values())
    c["lsa_landscape.order"] = (
        "first fit the large-variance direction, then the small one"
        if large_first
        else "do not both fit the large-variance direction first"
    )
    c["lsa_landscape.halfway.table"] = "\n".join(f"| {name} | {a:.2f} | {b:.2f} |" for name, (a, b) in halves.items())

    depth = _load("lsa_depth")["depth"]
    one = abs(depth["lsa_median"][0] / depth["pgd_risk"][0] - 1)
    c["lsa_depth.one"] = f"One layer's risk is within {_pct(one, 1)} of one PGD step with Γ*"
    spread = [hi / lo for lo, hi in zip(depth["lsa_min"], depth["lsa_max"], strict=True)]
    k = int(np.argmax(spread))
    c["lsa_depth.spread"] = (
        f"the seeds of one architecture spread up to {spread[k]:.1f}-fold (K = {depth['layers'][k]})"
    )

    training = _load("network_training")
    h = training["history"]
    steps = np.array(h["step"], float)
    jumps = [_halfway(steps, h[k]) for k in ("ila1", "tila2")]
    transition = training["summary"]["transition_step"]
    gap = max(abs(j - transition) for j in jumps)
    every = steps[1] - steps[0]
    within = int(np.ceil(gap / every))
    c["train.jump"] = (
        f"jump within {within} evaluation{'s' if within > 1 else ''} of it (halfway at steps {jumps[0]:.0f} and "
        f"{jumps[1]:.0f}; evaluated every {every:.0f} steps)"
    )
    ablation = _load("network_ablation")
    chance = 1 / ablation["setting"]["N"]
    off = max(abs(ablation["results"][k]["icl_acc"] - chance) for k in ("layer 1 removed", "layer 2 removed"))
    c["ablation.chance"] = f"within {off:.3f} of chance among the labels in context, 1/N = {chance:.3f}"

    heads = _load("induction_heads")
    rise = {k: [r["rise_minus_transition"][k] for r in heads["runs"]] for k in ("previous_token", "prefix_matching")}
    within = all(abs(x) <= heads["eval_every"] for v in rise.values() for x in v)
    c["heads.within"] = (
        "So the previous-token and prefix-matching heads form within one evaluation of the in-context transition"
        if within
        else "So the previous-token and prefix-matching heads do not all form within one evaluation of the "
        "in-context transition"
    )
    copy = [r["rise_minus_transition"]["copying"] for r in heads["runs"]]
    c["heads.copying"] = (
        f"while the copying map is in place {min(-x for x in copy):.0f} steps or more before it"
        if max(copy) < 0
        else "while the copying map is not in place before it in every seed"
    )

    c.update(_data_trends(_load("data_dependence")))

    comp = _load("compare")
    cs = comp["summary"]
    flow_order = _order(cs["flow_time_each_parameter_rises_by_1"])
    same = all(_order(r) == flow_order for r in cs["net_time_each_parameter_rises_by_1"])
    gaps = [g for r in comp["reconstruction"] for g in r["gap"] if g is not None]
    worst = max(gaps, key=abs)
    c["compare.agree"] = (
        f"The order of learning is {'the same' if same else 'not the same'} in the flow and "
        f"{'every seed' if same else 'the network'} ({flow_order}); the loss the coordinates imply is up to "
        f"{abs(worst):.2f} {'below' if worst < 0 else 'above'} the network's"
    )
    c["compare.both"] = "both learn" if same else "the flow learns"
    c["chain.order"] = (
        "rise in the mean-field flow's order on the mapped time axis"
        if same
        else "do not rise in the mean-field flow's order on the mapped time axis"
    )
    minimal = _load("minimal_vs_mean_field")["summary"]
    c["chain.coincide"] = f"coincide (to {minimal['numpy_minimal_vs_exact_max_rel']:.0e} relative)"

    sc = _load("scaling")
    mf = sc["mean_field"]
    within_mf = [v for v in mf["within_N_spearman"].values() if v is not None]
    c["scaling.mf.orders"] = (
        "orders the transitions across N but not across L"
        if mf["spearman"] >= 0.8 and max(within_mf) < 0.5
        else "orders the transitions as follows"
    )
    preds: dict[int, list[tuple[int, float]]] = {}
    for p in mf["predictions"]:
        preds.setdefault(p["N"], []).append((p["L"], p["predicted_step"]))
    sooner = all(_monotone([s for _, s in sorted(set(v))], -1) for v in preds.values())
    c["scaling.mf.sooner"] = (
        "Its transition comes sooner as L grows at every N"
        if sooner
        else "Its transition does not always come sooner as L grows"
    )

    runs = _load("growth")["runs"]
    start = max(abs(r["network"]["beta"][0] - r["models"]["time_scales"]["theta0"][0]) for r in runs)
    c["growth.start"] = f"The model starts within {start:.2f} in β of where the network starts"
    ratio = [r["network_rise_step"]["alpha"] / r["models"]["time_scales"]["rise_step"]["alpha"] - 1 for r in runs]
    c["growth.alpha"] = f"α rises by 1 within {_pct(max(abs(x) for x in ratio))} of the model's step"
    xi = [r["network_rise_step"]["xi"] / r["models"]["time_scales"]["rise_step"]["xi"] for r in runs]
    c["growth.xi"] = "ξ does not" if max(xi) < 0.5 else "ξ does as well"
    beta = [r["plateau_median_C"]["beta"] for r in runs]
    model_beta = [r["model_C"]["beta"] for r in runs]
    negative = sum(b < 0 for b in beta)
    c["growth.beta"] = (
        f"the measured C_β is negative on the plateau (its median) in {negative} of {len(beta)} runs, against the "
        f"model's {min(model_beta):.2g} to {max(model_beta):.2g}"
    )
    return c


def _data_trends(r: dict) -> dict[str, str]:
    sw, se = r["sweeps"], r["binomial_se_at_half"]

    def acc(factor: str, key: str) -> list[float]:
        return [e[key] for e in sw[factor]]

    def agrees(factor: str, ic_sign: int) -> str:
        ok = _monotone(acc(factor, "icl_acc"), ic_sign) and _monotone(acc(factor, "iwl_acc"), -ic_sign)
        return "Ours agrees" if ok else "Ours agrees only in part"

    c = {}
    ic_B, iw_B = acc("B", "icl_acc"), acc("B", "iwl_acc")
    c["data.B.agree"] = "Ours agrees" if ic_B[0] == min(ic_B) and iw_B[0] == max(iw_B) else "Ours does not agree"
    c["data.B.iwl"] = (
        "IWL falls at every step up in B" if _monotone(iw_B, -1) else "IWL does not fall at every step up in B"
    )
    B = [e["value"] for e in sw["B"]]
    top = B[int(np.argmax(ic_B))]

    def seed_acc(factor: str, value, key: str = "icl_acc") -> dict[int, float]:
        e = next(e for e in sw[factor] if e["value"] == value)
        return {s["seed"]: s[key] for s in e["seeds"]}

    last = B[-1]
    lower = all(seed_acc("B", last)[s] < seed_acc("B", top)[s] for s in seed_acc("B", top))
    c["data.B.icl"] = (
        ("*Where ours differs:* ICL is not monotone in B" if not _monotone(ic_B, 1) else "ICL rises with B")
        + f". It is highest at B = {top} and lower at B = {last} "
        + ("in both seeds" if lower else "in the mean, not in both seeds")
    )
    c["data.K.agree"] = agrees("K", 1)
    span = {f: max(acc(f, "icl_acc")) - min(acc(f, "icl_acc")) for f in sw}
    c["data.K.widest"] = (
        f"over the widest range of any factor (IC spans {span['K']:.3f})"
        if max(span, key=lambda f: span[f]) == "K"
        else f"(IC spans {span['K']:.3f})"
    )
    c["data.eps.agree"] = agrees("eps", 1)
    zipf_ok = _monotone(acc("zipf", "icl_acc"), -1) and _monotone(acc("zipf", "iwl_acc"), 1)
    c["data.zipf.tradeoff"] = "Ours shows the trade-off" if zipf_ok else "Ours shows the trade-off only in part"
    ic_chance, iw_chance = r["chance"]["IC_labels_in_context"], r["chance"]["IW"]
    both = {
        e["value"]: min((e["icl_acc"] - ic_chance) / (1 - ic_chance), (e["iwl_acc"] - iw_chance) / (1 - iw_chance))
        for e in sw["zipf"]
    }
    best = max(both, key=lambda a: both[a])
    c["data.zipf.coexist"] = (
        ("*Where ours differs:* " if best != 1 else "")
        + f"the two coexist most at a = {best:g}"
        + (", not at a = 1" if best != 1 else ", as in the papers")
        + ": the smaller of the two "
        f"accuracies' gains over chance (IC over {ic_chance:g}, IW over 1/{round(1 / iw_chance)}, each as a "
        f"fraction of the way to 1) is {both[best]:.2f} at a = {best:g} and {both[1.0]:.2f} at a = 1"
    )
    ic1 = next(e for e in sw["zipf"] if e["value"] == 1.0)
    c["data.zipf.ic1"] = f"At a = 1, IC is {ic1['icl_acc'] - ic_chance:.3f} above the {ic_chance:g} of guessing"

    def last_rise(e) -> list[float]:
        return [s["curve"]["IC"][-1] - s["curve"]["IC"][-2] for s in e["seeds"]]

    every = sw["B"][0]["seeds"][0]["curve"]["step"][-1] - sw["B"][0]["seeds"][0]["curve"]["step"][-2]
    rise1 = last_rise(ic1)
    c["data.zipf.rising"] = (
        f"the IC curves at a = 1 {'are still rising' if min(rise1) > 0 else 'are not all rising'} "
        f"(by {' and '.join(f'{x:+.3f}' for x in rise1)} over the last {every} steps)"
    )
    drop = r["transience"]["largest_drop"]
    c["data.transient"] = (
        ("Neither is it in ours" if drop < 2 * se else "In ours it is")
        + f": the largest fall of IC accuracy from its peak to the end of a run is {drop:.3f}, "
        f"{drop / se:.1f} binomial standard errors"
    )
    b1 = next(e for e in sw["B"] if e["value"] == 1)
    c["data.B1.rising"] = (
        f"IC at B = 1 rises by {' and '.join(f'{x:+.3f}' for x in last_rise(b1))} over the last {every} steps"
    )
    curves = [x for f in sw for e in sw[f] for x in last_rise(e)]
    c["data.rising"] = (
        f"{sum(x > 2 * se for x in curves)} of {len(curves)} IC curves rise by more than two binomial standard "
        f"errors over their last {every} steps"
    )
    return c


def _data_claims(r: dict) -> dict[str, str]:
    sw, base = r["sweeps"], r["base"]

    def at(factor: str, value) -> dict:
        return next(e for e in sw[factor] if e["value"] == value)

    spreads = [
        (e[f"{k}_range"][1] - e[f"{k}_range"][0], f, e["value"], k)
        for f in sw
        for e in sw[f]
        for k in ("icl_acc", "ic2_acc", "iwl_acc")
    ]
    widest = max(spreads)
    names = {"icl_acc": "IC", "ic2_acc": "IC2", "iwl_acc": "IW"}
    c = {
        f"data.{f}.table": "\n".join(
            f"| {e['value']:g} | {e['icl_acc']:.3f} | {e['ic2_acc']:.3f} | {e['iwl_acc']:.3f} |" for e in sw[f]
        )
        for f in sw
    }
    c["data.base"] = (
        f"N = {base['N']}, L = {base['L']}, D = {base['D']}, K = {base['K']}, B = {base['B']}, "
        f"ε = {base['eps']:g}, Zipf exponent a = {base['zipf']:g}, p_B = 1, p_C = 0"
    )
    never = at("B", 0)["icl_acc"] < r["chance"]["IW"] + 2 * r["binomial_se_at_half"]
    c["data.B0"] = (
        "ICL never starts" if never else "ICL starts"
    ) + f" (IC {at('B', 0)['icl_acc']:.3f} against chance {r['chance']['IW']:.3f}, IC2 {at('B', 0)['ic2_acc']:.3f}"
    c["data.K32"] = f"IC2 {at('K', 32)['ic2_acc']:.3f}"
    c["data.zipf1"] = f"IC2 {at('zipf', 1.0)['ic2_acc']:.3f} at a = 1 and {at('zipf', 2.0)['ic2_acc']:.3f} at a = 2"
    c["data.B4"] = (
        f"{at('B', 4)['icl_acc_range'][0]:.3f}–{at('B', 4)['icl_acc_range'][1]:.3f} against "
        f"{at('B', 2)['icl_acc_range'][0]:.3f}–{at('B', 2)['icl_acc_range'][1]:.3f}"
    )
    c["data.seeds"] = (
        f"the two seeds differ by a median {np.median([x[0] for x in spreads]):.3f} and at most "
        f"{widest[0]:.3f} ({names[widest[3]]} at {widest[1]} = {widest[2]:g})"
    )
    c["data.se"] = f"binomial standard error at most {r['binomial_se_at_half']:.3f}"
    t = r["transience"]
    c["data.transience"] = (
        f"the largest fall of IC accuracy from its peak to the end of a run is {t['largest_drop']:.3f}"
    )
    return c


def _heads_claims(r: dict) -> dict[str, str]:
    runs = r["runs"]

    def spread(values, spec):
        lo, hi = min(values), max(values)
        return f"{lo:{spec}}" if format(lo, spec) == format(hi, spec) else f"{lo:{spec}} to {hi:{spec}}"

    rise = {
        k: [run["rise_minus_transition"][k] for run in runs] for k in ("previous_token", "prefix_matching", "copying")
    }
    final = {k: [run["final"][k] for run in runs] for k in runs[0]["final"]}
    uniform_prev, uniform_prefix = (f"{final[k][0]:.3f}" for k in ("previous_token_chance", "prefix_matching_chance"))
    return {
        "heads.transition": (
            f"ICL accuracy passes halfway at steps {spread([x['transition_step'] for x in runs], '.0f')} "
            f"({len(runs)} seeds, evaluated every {r['eval_every']} steps)"
        ),
        "heads.table": "\n".join(
            [
                f"| previous-token | {spread(rise['previous_token'], '+.0f')} | "
                f"{spread(final['previous_token'], '.3f')} | {uniform_prev} |",
                f"| prefix matching, on the task | {spread(rise['prefix_matching'], '+.0f')} | "
                f"{spread(final['prefix_matching'], '.3f')} | {uniform_prefix} |",
                f"| prefix matching, on repeated random sequences | — | "
                f"{spread(final['prefix_matching_repeated'], '.3f')} | {uniform_prefix} |",
                f"| copying | {spread(rise['copying'], '+.0f')} | {spread(final['copying'], '.3f')} | — |",
            ]
        ),
        "heads.positive": (
            f"positive eigenvalues make up {spread([100 * x for x in final['copying_positive_fraction']], '.0f')}% "
            "of the map's spectrum"
        ),
    }


def _within_five_percent(lrs, ratios) -> float:
    """The largest rate up to which every rate's GD transition is within 5% of the flow's."""
    bad = [i for i, r in enumerate(ratios) if r is None or abs(r - 1) > 0.05]
    return lrs[bad[0] - 1] if bad else lrs[-1]


def _phase_claims(r: dict) -> dict[str, str]:
    e, s = r["errors"], r["setting"]
    within = e["within_N"]
    rat = e["within_L_over_N"]
    start, gd = r["start_scale"], r["gradient_descent"]
    ex = r["exponent_in_N_at_widest_L_over_N"]
    scales, errs = start["scales"], start["relative_error"]
    last_good = max(
        sc for sc, er in zip(scales, errs, strict=True) if all(abs(x) <= 0.05 for x in errs[: scales.index(sc) + 1])
    )
    reach = {
        sc: _within_five_percent(gd["lrs"], row) for sc, row in zip(gd["scales"], gd["ratio_to_flow"], strict=True)
    }
    return {
        "phase.grid": (
            f"{r['flows']} flows (every N from 2 to {s['N_max']}, every L from N + 1 to {s['ratio_max']}N) "
            f"take {r['flow_seconds']:.1f} s"
        ),
        "phase.error": (
            (
                "it is above the numeric time everywhere, "
                if min(f / n for f, n in zip(r["grid"]["formula"], r["grid"]["numeric"], strict=True)) > 1
                else ""
            )
            + f"by {_pct(e['pooled']['median_abs'], 1)} (median) and by at most "
            f"{_pct(e['pooled']['max_abs'], 1)}, at N = {e['pooled']['worst']['N']}, "
            f"L = {e['pooled']['worst']['L']}"
        ),
        "phase.within_N.table": "\n".join(
            f"| {k} | {_pct(v['median_abs'], 1)} | {_pct(v['max_abs'], 1)} |" for k, v in within.items()
        ),
        "phase.within_ratio.table": "\n".join(
            f"| {k} | {_pct(v['median_abs'], 1)} | {_pct(v['max_abs'], 1)} |" for k, v in rat.items()
        ),
        "phase.exponent": (
            f"t* grows as N^{ex['numeric']:.2f} at L = {s['ratio_max']}N, N ≥ 8 (the formula as N^{ex['formula']:.2f})"
        ),
        "phase.start": (
            f"within 5% up to s = {last_good:g}, and {_pct(min(errs))} at s = {scales[errs.index(min(errs))]:g}"
        ),
        "phase.gd": (
            f"within 5% of the flow's for every rate up to lr = {reach[0.0]:.2f} from θ = 0, "
            f"{reach[1.0]:.2f} at s = 1 and {reach[2.0]:.2f} at s = 2"
        ),
    }


def _growth_claims(runs: list[dict]) -> dict[str, str]:
    def value(v, spec: str) -> str:
        return "n/a" if v is None else format(v, spec)

    g = {}
    g["growth.rise.table"] = "\n".join(
        f"| ({r['N']}, {r['L']}) | {r['network']['beta'][0]:.2f} | {r['models']['time_scales']['theta0'][0]:.2f} | "
        + " | ".join(
            f"{value(r['network_rise_step'][p], '.0f')} | {value(r['models']['time_scales']['rise_step'][p], '.0f')}"
            for p in ("alpha", "xi")
        )
        + " |"
        for r in runs
    )
    medians = {p: [r["plateau_median_C"][p] for r in runs] for p in ("beta", "alpha", "xi")}
    model = {p: [r["model_C"][p] for r in runs] for p in ("beta", "alpha", "xi")}
    ratio = [m / x for m, x in zip(medians["xi"], model["xi"], strict=True)]
    g["growth.C.table"] = "\n".join(
        f"| ({r['N']}, {r['L']}) | "
        + " | ".join(f"{value(medians[p][i], '.2g')} | {model[p][i]:.2g}" for p in ("beta", "alpha", "xi"))
        + f" | {ratio[i]:.0f} |"
        for i, r in enumerate(runs)
    )
    g["growth.xi_ratio"] = f"{min(ratio):.0f} to {max(ratio):.0f} times " + (
        "faster on its plateau than the model's" if min(ratio) > 1 else "the model's rate on its plateau"
    )
    pairs = []
    for N in sorted({r["N"] for r in runs}):
        same = sorted((r for r in runs if r["N"] == N), key=lambda r: r["L"])
        if len(same) == 2:
            (a, b) = same
            exponent = np.log(a["plateau_median_C"]["xi"] / b["plateau_median_C"]["xi"]) / np.log(b["L"] / a["L"])
            pairs.append(f"L^−{exponent:.2f} at N = {N}")
    g["growth.C_xi_L"] = "the measured C_ξ falls as " + " and ".join(pairs)
    ex = {p: [r["cliff_exponent_in_C"][p] for r in runs] for p in ("beta", "alpha", "xi")}
    g["growth.exponents"] = "d log t/d log C_k from " + ", ".join(
        f"{min(ex[p]):.2f} to {max(ex[p]):.2f} ({sym})" for p, sym in (("beta", "β"), ("alpha", "α"), ("xi", "ξ"))
    )
    return g


def _first_rise(steps, values, by: float = 1.0):
    values = np.array([np.nan if v is None else v for v in values], float)
    hit = np.flatnonzero(values >= values[0] + by)
    return float(np.asarray(steps)[hit[0]]) if hit.size else None


def _order(times: dict, sep: str = ", ") -> str:
    symbol = {"beta": "β", "alpha": "α", "xi": "ξ"}
    return sep.join(symbol[k] for k, v in sorted(times.items(), key=lambda kv: np.inf if kv[1] is None else kv[1]))


def _scaling_row(r: dict, summary: dict) -> str:
    steps = ", ".join(f"{s:.0f}" for s in r["net_steps"])
    if r["seeds_without_transition"]:
        steps = (steps + "; " if steps else "") + f"{r['seeds_without_transition']} without"
    if (r["N"], r["L"]) == tuple(summary["reference"]):
        return f"| {r['N']} | {r['L']} | {steps} | fit | fit | fit |"
    keys = ("predicted_step", "mean_field_predicted_step", "extended_predicted_step")
    cells = ["—" if r[k] is None else f"{r[k]:.0f}" for k in keys]
    return f"| {r['N']} | {r['L']} | {steps} | {' | '.join(cells)} |"


def _scaling_extended_claims(sc: dict, ext: dict, groups: list[str]) -> dict[str, str]:
    """The timescales page's extended model: its accuracy on the scaling sweep beside the
    time-scale model's, the within-N target, and the D group of the extended figure."""
    c: dict[str, str] = {}
    ex, ss = sc["extended"], sc["summary"]
    worst = max(ex["predictions"], key=lambda p: abs(p["relative_error"]))
    c["scaling.extended.summary"] = (
        f"with its c fitted at (8, 32) on this sweep's seeds (c = {ex['c']:.4f}), a Spearman rank correlation "
        f"{ex['spearman']:.2f} pooled over the {ex['configurations']} out-of-fit configurations "
        f"({ex['runs']} runs), median relative error {_pct(ex['median_abs_relative_error'])}, largest "
        f"{_pct(ex['max_abs_relative_error'])} (N = {worst['N']}, L = {worst['L']})"
    )
    held = [str(N) for N in ex["held_out_Ns"]]

    def accuracy(g: dict) -> str:
        rho = "—" if g["spearman"] is None else f"{g['spearman']:.2f}"
        return f"{rho} | {_pct(g['median_abs_relative_error'])} | {_pct(g['max_abs_relative_error'])}"

    rows = [(groups[k], ex["within_N"][N], ss["within_N"][N]) for k, N in enumerate(ex["within_N"])]
    rows += [(groups[len(ex["within_N"])], ex["not_held_out"], ss["not_held_out"])]
    if len(held) > 1:
        rows += [(f"N = {', '.join(held)}, held out", ex["held_out"], ss["held_out"])]
    rows += [("all, pooled", ex, ss)]
    c["scaling.extended.table"] = "\n".join(
        f"| {name} | {a['configurations']} | {a['runs']} | {accuracy(a)} | {accuracy(b)} |" for name, a, b in rows
    )
    within = {N: v for N, v in ex["within_N_spearman"].items() if int(N) >= 4}
    ok = all(v is not None and v >= 0.8 for v in within.values())
    c["scaling.extended.within"] = (
        f"within-N Spearman ≥ 0.8 at N ≥ 4 is {'met' if ok else 'missed'} by the extended model ("
        + ", ".join(f"N = {N}: {'—' if v is None else f'{v:.2f}'}" for N, v in within.items())
        + "; the time-scale model's "
        + ", ".join(f"{ss['within_N_spearman'][N]:.2f}" for N in within)
        + ")"
    )
    by: dict[tuple, list[dict]] = {}
    for r in ext["runs"]:
        if (r["N"], r["L"]) in ((4, 16), (8, 32)) and (r["lr"], r["batch_size"], r["eps"]) == (0.5, 128, 0.1):
            by.setdefault((r["N"], r["L"], r["D"]), []).append(r)
    lines = []
    for (N, L, D), runs in sorted(by.items()):
        steps = [r["net_step"] for r in runs if r["net_step"] is not None]
        mean = np.mean(steps) if steps else None
        cells = []
        for key in ("model_step", "three_parameter_step"):
            p = runs[0][key]
            cells.append(f"{p:.0f}" + ("" if mean is None else f" ({p / mean - 1:+.0%})"))
        shown = ", ".join(f"{x:.0f}" for x in steps) or "none"
        lines.append(f"| ({N}, {L}) | {D} | {shown} | {cells[0]} | {cells[1]} |")
    c["scaling.d.table"] = "\n".join(lines)
    return c


def speed_claims() -> dict[str, str]:
    """The README's speed numbers for the compiled flows, from benchmarks/results/flows.json."""
    r = json.loads((ROOT / "benchmarks" / "results" / "flows.json").read_text())
    one, b, tr = r["one_flow"], r["batch"], r["trajectories"]
    err = b["max_relative_cliff_error_vs_rtol_1e-11"]
    return {
        "one": (
            f"one flow (N = 8, L = 32, t_max 300) takes {one['induction_flow_ms']:.2f} ms in `induction_flow` "
            f"(a full `Trajectory`) and {one['fastflow_ms']:.2f} ms in `flow_quantities` (summary times only), "
            f"against {one['peer_ms']:.1f} ms for the peer ({one['peer_over_induction_flow']:.0f}× and "
            f"{one['peer_over_fastflow']:.0f}×)"
        ),
        "busy": (
            f"beside a busy process one flow takes {r['beside_a_busy_process']['busy_over_idle']:.2f}× its idle "
            f"time (one member runs on one thread)"
        ),
        "trajectories": (
            f"{tr['flows']} trajectories of the same mix on a {tr['t_eval_points']}-point `t_eval` grid take "
            f"{tr['t_eval_s']:.2f} s ({tr['dense_s']:.2f} s with dense output), "
            f"{tr['tracemalloc_peak_mb']:.0f} MiB at the traced peak; their times to loss ½ log N are within "
            f"{max(tr['max_relative_time_to_error_vs_dop853'].values()):.1e} relative of DOP853 at rtol 1e-12 "
            f"at batch sizes 1, 8 and {tr['flows']}"
        ),
        "first_call": (
            f"`import phenom` and the first loss take {r['first_call_seconds']['import']:.2f} s and "
            f"{r['first_call_seconds']['first_loss']:.2f} s"
        ),
        "batch": (
            f"{b['flows']} flows of mixed N ∈ {{4, 8, 16}}, L ∈ (N, 9N] and θ₀ take {b['fastflow_s']:.2f} s at "
            f"the default rtol 1e-7 ({b['fastflow_rtol_1e-8_s']:.2f} s at 1e-8), against "
            f"{b['peer_s_scaled']:.0f} s for the peer's loop ({b['peer_s_for_200']:.2f} s for 200, scaled): "
            f"{b['peer_over_fastflow']:.0f}× ({b['peer_over_fastflow_rtol_1e-8']:.0f}× at 1e-8)"
        ),
        "accuracy": (
            f"their cliff times are within {err['default']:.1e} ({err['rtol_1e-8']:.1e}) relative of the same "
            f"integrator at rtol 1e-11"
        ),
        "start": (
            f"a fresh process takes {r['start_seconds']['cold_cache']:.1f} s to import and compile them when the "
            f"cache folder is empty and {r['start_seconds']['warm_cache']:.1f} s when it loads them"
        ),
        "memory": (
            f"peak resident memory is {b['peak_rss_mb_after_batch']:.0f} MiB, the same as after the imports "
            f"and compilation"
            if b["peak_rss_mb_after_batch"] == b["peak_rss_mb_after_imports"]
            else f"peak resident memory grows from {b['peak_rss_mb_after_imports']:.0f} MiB to "
            f"{b['peak_rss_mb_after_batch']:.0f} MiB"
        ),
        "machine": f"({r['machine']})",
    }


def network_speed_claims() -> dict[str, str]:
    """The README's numbers for the network's training speed, from benchmarks/results/network.json."""
    r = json.loads((ROOT / "benchmarks" / "results" / "network.json").read_text())
    ours, fresh = r["phenom"], r["phenom_without_memory_reuse"]
    runs = r["train"]
    per_step = [t["ms_per_step"] for t in runs]
    claims = {
        "step": (
            f"one training step takes {ours['step_ms']:.1f} ms ({ours['step_with_sampling_ms']:.1f} ms with "
            f"sampling; sampling a batch takes {r['sampling']['sample_ms']:.2f} ms)"
        ),
        "train": (
            f"`train()` with its defaults, sampling and evaluation included, takes {min(per_step):.1f}–"
            f"{max(per_step):.1f} ms per step over {runs[0]['steps']} to {runs[-1]['steps']} steps"
        ),
        "eval": f"evaluation takes {max(t['eval_share'] for t in runs):.1%} of the time or less",
        "workspace": (
            f"with its arrays allocated afresh at every step instead, the step takes {fresh['step_ms']:.1f} ms "
            f"({fresh['step_with_sampling_ms']:.1f} ms with sampling)"
        ),
        "memory": f"peak resident memory of training is {max(t['peak_rss_mib'] for t in runs):.0f} MiB",
        "machine": f"({r['machine']})",
    }
    for peer, name, how in (("jax", "JAX", "under `jax.jit`"), ("torch", "PyTorch", "eager")):
        if r[peer] is not None:
            fast = r[f"speedup_vs_{peer}"]
            claims[peer] = (
                f"{name} {r[peer]['version']} {how} takes {r[peer]['step_ms']:.1f} ms "
                f"({r[peer]['step_with_sampling_ms']:.1f} ms) for the same algebra: phenom is "
                f"{fast['step_ms']:.1f}× ({fast['step_with_sampling_ms']:.1f}×) as fast"
            )
        else:
            claims[peer] = f"{name} was not installed for this run"
    return claims


def induction_speed_claims() -> dict[str, str]:
    """The README's numbers for the model's numerics, from benchmarks/results/induction.json."""
    r = json.loads((ROOT / "benchmarks" / "results" / "induction.json").read_text())
    one, many = r["gradient"][0], r["gradient"][-1]
    big = r["flows"][-1]
    return {
        "gradient": (
            f"the stable gradient costs {many['stable_over_literal']:.2f}× a plain `lambdify` of the literal "
            f"expression at {many['points']} points ({one['stable_over_literal']:.2f}× at one)"
        ),
        "flows": (
            f"{big['flows']} flows integrated as one batched ODE take {big['batched_s']:.2f} s, "
            f"{big['speedup']:.0f}× faster than one by one"
        ),
        "machine": f"({r['machine']})",
    }


def reproduce_claims() -> dict[str, str]:
    """The README's reproduction times, from benchmarks/results/reproduce.json, with the machine's
    speed on the day (a probe)."""
    r = json.loads((ROOT / "benchmarks" / "results" / "reproduce.json").read_text())
    flows = json.loads((ROOT / "benchmarks" / "results" / "flows.json").read_text())
    q, f, prev = r["quick"], r["full"], r["previous_full"]
    sweep = f["alone"]["figures_s"]["scaling"]
    probe = float(np.median([p["one_flow_ms"] for p in r["machine_probe"].values()]))
    return {
        "quick": (
            f"in {q['alone']['wall_s']:.0f} s on two cores ({q['beside_a_busy_process']['wall_s']:.0f} s beside a "
            "busy single-threaded process)"
        ),
        "full": (
            f"{f['alone']['wall_s'] / 60:.1f} minutes here today ({f['beside_a_busy_process']['wall_s'] / 60:.1f} "
            f"beside a busy process), {sweep / 60:.1f} of them the scaling sweep"
        ),
        "probe": (
            f"one compiled flow took {probe:.2f} ms against {flows['one_flow']['induction_flow_ms']:.2f} ms on "
            "the day of the flow benchmark"
        ),
        "previous": (
            f"took {prev['alone']['wall_s'] / 60:.1f} minutes ({prev['slowdown']:.2f}× beside a busy process)"
        ),
    }


FAMILIES = {
    "the flows, landscapes and phase diagram": (
        "induction_flow",
        "induction_landscape",
        "phase",
        "minimal_vs_mean_field",
    ),
    "the linear-attention results": (
        "lsa_landscape",
        "lsa_learning_curves",
        "lsa_preconditioner",
        "lsa_depth",
        "lsa_summary",
    ),
    "the networks' results": (
        "network_training",
        "network_ablation",
        "induction_heads",
        "data_dependence",
        "compare",
        "scaling",
        "growth",
        "extended",
        "chain",
    ),
}
"""The figures' families, for the README's statement of how far another BLAS moves them."""


def reproducibility_claims() -> dict[str, str]:
    """How exactly a run reproduces, from benchmarks/results/reproducibility.json."""
    r = json.loads((ROOT / "benchmarks" / "results" / "reproducibility.json").read_text())
    full = r.get("compared", {}).get("full_same_setup")
    kernels = {k.split("=")[1]: v for k, v in r["quick"].items() if k.startswith("OPENBLAS_CORETYPE=")}

    def equal(entry) -> str:
        n = len(entry["figures"])
        return f"all {n} figures" if not entry["differing_figures"] else f"{n - len(entry['differing_figures'])} of {n}"

    def largest(names, key="max_rel_difference"):
        found = [
            (f.get(key) or 0.0, n, f, k) for k, v in kernels.items() for n, f in v["figures"].items() if n in names
        ]
        return max(found, key=lambda x: x[0])

    flows, lsa = (
        largest(FAMILIES["the flows, landscapes and phase diagram"]),
        largest(FAMILIES["the linear-attention results"]),
    )
    histories = largest(("network_training", "network_ablation", "induction_heads", "compare"))
    steps = largest(("scaling",), "max_abs_difference")
    worst = largest(FAMILIES["the networks' results"])
    reshaped = sorted({n for v in kernels.values() for n, f in v["figures"].items() if "structure" in f})
    return {
        "repro.same": (
            f"two quick reproductions saved the same numbers bit for bit in {equal(r['quick']['same_setup'])}"
            + ("" if full is None else f", and two full ones in {equal(full)}")
        ),
        "repro.kernels": (
            f"with OpenBLAS's {' and '.join(kernels)} kernels in place of this machine's own, the quick "
            f"figures' flows, landscapes and phase diagram move by at most {flows[0]:.0e} and the "
            f"linear-attention results by at most {lsa[0]:.0e} (relative to the largest magnitude in each "
            f"array), the networks' training histories and scores by at most {histories[0]:.0e}, and a "
            f"transition step of the scaling sweep by up to {steps[0]:.1f} steps"
        ),
        "repro.worst": (
            f"numbers that sit near a threshold move further: the largest relative change, {worst[0]:.2g}, is "
            f"`{worst[2]['at_rel']}` in {worst[1]} (with {worst[3]})"
            + ("" if not reshaped else f", and in {', '.join(reshaped)} a run's history ends at another evaluation")
        ),
    }


TREND = re.compile(
    r"\b(agrees?|agreement|differs|every step|at every|within one|always|never|monotone|hundreds|sooner|"
    r"worst|coincide|matches|the same order|climbs|jumps?|faster|slower|highest|lowest|falls?|rises?)\b"
)
"""Words that state a trend or an agreement in the README's own voice."""

PAPERS = ("The papers:", "Chan et al.:", "Reddy finds", "Reddy (2024")
"""Sentences that report what the papers found (not our results) begin so."""

DEFINITIONS = (
    "the flow falls off the cliff (red star)",
    "fresh sequences every step",
    "Each score's halfway rise",
    "answering from the weights is always wrong",
    "IC and IC2 always use the base's B",
    "it differs from the exact loss by up to",
    "so they always exist",
)
"""Words of a definition or a method, not of a result (the numbers that follow are claims)."""


@functools.cache
def all_claims() -> dict[str, str]:
    """Every claim: the results' (``claims()``) and the benchmarks' (``perf.*``, and the quick
    reproduction's time, ``reproduce.quick``, which the README states)."""
    c = dict(claims())
    for group, found in (
        ("flows", speed_claims()),
        ("network", network_speed_claims()),
        ("induction", induction_speed_claims()),
        ("reproduce", reproduce_claims()),
        ("repro", {k.removeprefix("repro."): v for k, v in reproducibility_claims().items()}),
    ):
        for name, text in found.items():
            c["reproduce.quick" if (group, name) == ("reproduce", "quick") else f"perf.{group}.{name}"] = text
    return c


RESULTS = ROOT / "docs" / "results"
HOME = {
    "reproduce.quick": "README.md",
    "perf.": "docs/performance.md",
    "flow.": "docs/results/flow.md",
    "phase.": "docs/results/transition.md",
    "train.": "docs/results/network.md",
    "ablation": "docs/results/network.md",
    "compare.": "docs/results/network.md",
    "scaling": "docs/results/timescales.md",
    "growth.": "docs/results/timescales.md",
    "lsa_": "docs/results/linear_attention.md",
    "heads.": "docs/results/induction_heads.md",
    "data.": "docs/results/data_dependence.md",
    "minimal.": "docs/results/minimal_network.md",
    "chain.": "docs/results/minimal_network.md",
    "extended.": "docs/results/extended.md",
}
"""Claim name (by its first matching prefix) → the page that states it: the README or a docs page."""

README_QUOTES = (
    "flow.plateau",
    "flow.cliff",
    "flow.reach",
    "phase.grid",
    "phase.error",
    "scaling.pooled",
    "scaling.errors",
    "lsa_curves.cliff",
    "lsa_curves.gap",
)
"""Claims of the results pages that the README's headline captions quote as well."""


def home(name: str) -> str:
    return next(page for prefix, page in HOME.items() if name.startswith(prefix))


def page_claims(page: str) -> dict[str, str]:
    """The claims a page states: those whose home it is (and, for the README, its captions')."""
    found = {name: text for name, text in all_claims().items() if home(name) == page}
    if page == "README.md":
        found.update({name: claims()[name] for name in README_QUOTES})
    return found


RESULT_PAGES = sorted(str(path.relative_to(ROOT)) for path in RESULTS.glob("*.md") if path.name != "index.md")
PAGES = ["README.md", *RESULT_PAGES, "docs/results/index.md", "docs/performance.md", "docs/reliability.md"]


def _text(page: str) -> str:
    return (ROOT / page).read_text()


def _without_code(text: str) -> str:
    """A page's prose and tables: fenced code blocks removed (they hold formulas and calls)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def _results_part(page: str) -> str:
    """Where a page quotes results: a results page whole, the README's headline captions."""
    text = _text(page)
    if page == "README.md":
        text = text[text.index("## What it shows") : text.index("## Quick start")]
    return _without_code(text)


def test_every_claim_has_one_home_page():
    for name in all_claims():
        assert any(name.startswith(prefix) for prefix in HOME), name
    assert {home(name) for name in all_claims()} == set(HOME.values())
    assert set(HOME.values()) <= set(PAGES) and set(RESULT_PAGES) <= set(HOME.values())
    assert len(RESULT_PAGES) >= 8, RESULT_PAGES


def test_the_readme_is_a_front_page():
    lines = README.splitlines()
    assert len(lines) <= 150, len(lines)
    assert lines[0] == "# phenom" and lines[2:6] == [
        "```bash",
        "pip install -e . && phenom reproduce --quick",
        "pip install -e '.[test]' && pytest",
        "```",
    ]
    # Its table of contents links every page of the documentation, by the page's source.
    linked = set(re.findall(r"\]\((docs/[^)#]+)\)", README))
    assert all((ROOT / path).exists() for path in linked), linked
    assert {f"docs/{p}" for p in ("getting_started.rst", "guide.md", "reliability.md", "performance.md")} <= linked
    assert set(RESULT_PAGES) | {"docs/results/index.md", "docs/api/index.rst"} <= linked
    # Its headline figures are committed, and shown on their results pages too.
    figures = re.findall(r"!\[[^\]]*\]\((figures/[\w.]+\.png)\)", README)
    assert 3 <= len(figures) <= 4 and all((ROOT / f).exists() for f in figures), figures
    shown = "".join(_text(page) for page in RESULT_PAGES)
    assert all(f"../../{f}" in shown for f in figures)


def test_every_results_page_shows_committed_figures():
    for page in RESULT_PAGES:
        figures = re.findall(r"!\[[^\]]*\]\((\.\./\.\./figures/[\w.]+\.png)\)", _text(page))
        assert figures, page
        assert all((RESULTS / f).resolve().exists() for f in figures), figures
    every = {p.name for p in FIGURES.glob("*.png")}
    shown = set(re.findall(r"\.\./\.\./figures/([\w.]+\.png)", "".join(_text(p) for p in RESULT_PAGES)))
    assert shown == every, every ^ shown


def test_no_page_has_an_unfilled_placeholder():
    for page in [*PAGES, "docs/guide.md", "docs/getting_started.rst", "docs/index.rst"]:
        text = _text(page)
        assert "«" not in text and "»" not in text, page


def test_every_claim_appears_in_its_page():
    missing = {name: (home(name), text) for name, text in all_claims().items() if text not in _text(home(name))}
    assert not missing, f"pages do not say: {missing}"


def test_the_readme_quotes_its_captions_from_the_results():
    missing = {name: claims()[name] for name in README_QUOTES if claims()[name] not in _results_part("README.md")}
    assert not missing, f"README does not say: {missing}"


SETTINGS = {"0.1", "0.5", "0.01", "0.005", "1.25", "10⁻³", "0.3", "1.4", "1.0", "0.6", "2.5"}
"""Numbers the result pages state as settings (ε = 0.1, SGD lr 0.5, Σ's eigenvalues …)."""


TESTED = ROOT / "tests" / "figures" / "jobs" / "test_lsa_jobs.py"
"""The linear-attention page also quotes the bounds that file asserts and the seeds' values it records."""

NUMBER = re.compile(r"(?<![\w.])\d+\.\d+(?:e[-+]?\d+)?%?|(?<![\w.])\d+%")
"""A measured number: one with a decimal point or a percent sign."""


@pytest.mark.parametrize("page", ["README.md", *RESULT_PAGES])
def test_every_measured_number_belongs_to_a_claim_of_its_page(page):
    quoted = "\n".join(page_claims(page).values())
    if page.endswith("linear_attention.md"):
        quoted += TESTED.read_text()
    numbers = NUMBER.findall(_results_part(page))
    stray = sorted({n for n in numbers if n not in quoted and n not in SETTINGS})
    assert not stray, f"{page} quotes numbers that no claim of it makes from figures/*.json: {stray}"


def test_a_number_typed_by_hand_is_found():
    # The check above, on a page with one number edited by hand: it must fail.
    page = "docs/results/flow.md"
    text = _results_part(page).replace(claims()["flow.cliff"], "falls off the cliff at t = 97.1")
    quoted = "\n".join(page_claims(page).values())
    assert "97.1" in {n for n in NUMBER.findall(text) if n not in quoted and n not in SETTINGS}


def _loose_trend_words(part: str, quoted: list[str]) -> list[str]:
    spans = []
    for text in quoted:
        start = part.find(text)
        while start >= 0:
            spans.append((start, start + len(text)))
            start = part.find(text, start + 1)
    loose = []
    for m in TREND.finditer(part):
        if any(a <= m.start() < b for a, b in spans):
            continue
        sentence_start = max(
            part.rfind(". ", 0, m.start()), part.rfind("\n\n", 0, m.start()), part.rfind("- ", 0, m.start())
        )
        sentence = " ".join(part[sentence_start : m.end() + 40].split())
        if any(p in sentence for p in PAPERS) or any(d in sentence for d in DEFINITIONS):
            continue
        loose.append(part[max(0, m.start() - 50) : m.end() + 30].replace("\n", " "))
    return loose


@pytest.mark.parametrize("page", ["README.md", *RESULT_PAGES])
def test_every_trend_sentence_is_worded_from_the_results(page):
    # A comparative word in a page's results must sit inside a claim's text (worded from
    # figures/*.json by the functions above), in a sentence reporting the papers, or in the
    # description of a method; a hand-typed "agrees" is a failure.
    loose = _loose_trend_words(_results_part(page), list(page_claims(page).values()))
    assert not loose, f"{page}: comparative words typed by hand:\n" + "\n".join(loose)


def test_a_trend_word_typed_by_hand_is_found():
    part = _results_part("docs/results/data_dependence.md") + "\n\nThe network agrees with the papers here.\n"
    assert _loose_trend_words(part, list(page_claims("docs/results/data_dependence.md").values()))
