"""The trained network's figures, recomputed from their saved histories and curves:

- network_training, network_ablation: effective β, α, ξ from ILA1, TILA2 and the margin; the
  transition step, final and largest ICL accuracy of every run from its history; the CSVs;
- induction_heads: each run's transition, the halfway rise of every head score and its difference
  from the transition; the uniform-attention chance scores from N;
- data_dependence: each seed's final accuracies from its curve, their means and ranges, the runs
  against ``data_dependence.jsonl``, the chance levels, the binomial error, the largest transient
  fall of IC accuracy.

Accuracies and head scores measured on held-out sequences are raw results.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from phenom.figures.check._base import (
    PARAMETERS,
    Tally,
    csv_equals,
    floats,
    sweep_rows,
)
from phenom.figures.check._definitions import (
    effective_parameters,
    halfway_rise,
    icl_transition,
)


def _network_history(tally: Tally, where: str, h: Mapping, N: int, L: int) -> None:
    """A training history's effective β, α, ξ against its ILA1, TILA2 and margin."""
    eff = [effective_parameters(*v, N, L) for v in zip(h["ila1"], h["tila2"], h["margin"], strict=True)]
    for k, p in enumerate(PARAMETERS):
        tally.column(f"{where}.{p}", h[p], [e[k] for e in eff], "(from ila1, tila2, margin)")


def _run_summary(tally: Tally, where: str, summary: Mapping, h: Mapping, N: int) -> None:
    acc = floats(h["icl_acc"])
    tally.same(f"{where}.final_icl_acc", summary["final_icl_acc"], float(acc[-1]), f"from {where}'s history")
    tally.same(f"{where}.max_icl_acc", summary["max_icl_acc"], float(np.nanmax(acc)), f"from {where}'s history")
    tally.same(
        f"{where}.transition_step",
        summary["transition_step"],
        icl_transition(h["step"], h["icl_acc"], N),
        "from its history",
    )


def network_training(tally: Tally, r: dict, folder: Path) -> None:
    task = r["task"]
    N, L = task["N"], task["L"]
    _network_history(tally, "history", r["history"], N, L)
    _run_summary(tally, "summary", r["summary"], r["history"], N)
    csv_equals(tally, folder / "network_training_history.csv", r["history"])
    for i, c in enumerate(r["controls"]):
        tally.same(f"controls[{i}].task.L", c["task"]["L"], N, "(L = N)")
        _network_history(tally, f"controls[{i}].history", c["history"], N, c["task"]["L"])
        _run_summary(tally, f"controls[{i}].summary", c["summary"], c["history"], N)
        csv_equals(tally, folder / f"network_training_L_equals_N_seed{c['seed']}_history.csv", c["history"])


def network_ablation(tally: Tally, r: dict, folder: Path) -> None:
    N, L = r["task"]["N"], r["task"]["L"]
    for label, m in r["results"].items():
        for k, value in zip(PARAMETERS, effective_parameters(m["ila1"], m["tila2"], m["margin"], N, L), strict=True):
            tally.same(f"results.{label}.{k}", m[k], value, "(from ila1, tila2, margin)")


def induction_heads(tally: Tally, r: dict, folder: Path) -> None:
    N = r["task"]["N"]
    T = 2 * N + 1  # tokens of a sequence: N pairs and the target
    for i, run in enumerate(r["runs"]):
        h, where = run["history"], f"runs[{i}]"
        transition = icl_transition(h["step"], h["icl_acc"], N)
        tally.same(f"{where}.transition_step", run["transition_step"], transition, "from its history")
        for k in run["rise_step"]:
            rise = halfway_rise(h["step"], h[k])
            tally.same(f"{where}.rise_step.{k}", run["rise_step"][k], rise, "(halfway from first to largest score)")
            minus = None if rise is None or transition is None else rise - transition
            tally.same(f"{where}.rise_minus_transition.{k}", run["rise_minus_transition"][k], minus, "from its history")
        final = run["final"]
        # Uniform causal attention: token i attends 1/(i + 1) to its predecessor; a uniform
        # layer-2 head pays 1/T to each token.
        tally.same(
            f"{where}.final.previous_token_chance",
            final["previous_token_chance"],
            float(np.mean(1 / np.arange(2, T + 1))),
        )
        tally.same(f"{where}.final.prefix_matching_chance", final["prefix_matching_chance"], 1 / T)


def data_dependence(tally: Tally, r: dict, folder: Path) -> None:
    base, training = r["base"], r["training"]
    kinds = {"icl_acc": "IC", "ic2_acc": "IC2", "iwl_acc": "IW"}
    rows = sweep_rows(folder / "data_dependence.jsonl")
    drops: dict[tuple, float] = {}
    for factor, entries in r["sweeps"].items():
        for j, e in enumerate(entries):
            where = f"sweeps.{factor}[{j}] ({factor} = {e['value']})"
            point = {**{k: base[k] for k in ("B", "K", "eps", "zipf")}, factor: e["value"]}
            for s_i, run in enumerate(e["seeds"]):
                for name, kind in kinds.items():
                    tally.same(
                        f"{where}.seeds[{s_i}].{name}", run[name], run["curve"][kind][-1], "(the curve's last value)"
                    )
                want = {**point, "N": base["N"], "L": base["L"], "D": base["D"], "seed": run["seed"]}
                want |= {"steps": training["steps"], "lr": training["lr"], "batch_size": training["batch_size"]}
                found = [row for row in rows if all(row["config"].get(k) == v for k, v in want.items())]
                tally.numbers += 1
                if len(found) != 1:
                    tally.problem(f"{where}.seeds[{s_i}]: data_dependence.jsonl holds {len(found)} runs of it, not 1")
                elif found[0].get("result", {}).get("curve") != run["curve"]:
                    tally.problem(f"{where}.seeds[{s_i}].curve differs from its run in data_dependence.jsonl")
                ic = floats(run["curve"]["IC"])
                drops[tuple(sorted({**point, "seed": run["seed"]}.items()))] = float(ic.max() - ic[-1])
            for name, kind in kinds.items():
                finals = [run["curve"][kind][-1] for run in e["seeds"]]
                tally.same(f"{where}.{name}", e[name], float(np.mean(finals)), "(mean of the seeds' final values)")
                tally.same(
                    f"{where}.{name}_range", e[f"{name}_range"], [min(finals), max(finals)], "(the seeds' range)"
                )
    tally.same("chance.IW", r["chance"]["IW"], 1 / base["L"])
    tally.same("chance.IC_uniform", r["chance"]["IC_uniform"], 1 / base["L"])
    tally.same("chance.IC_labels_in_context", r["chance"]["IC_labels_in_context"], base["B"] / base["N"])
    tally.same("binomial_se_at_half", r["binomial_se_at_half"], float(np.sqrt(0.5 * 0.5 / r["eval_size"])))
    t = r["transience"]
    tally.same("transience.largest_drop", t["largest_drop"], max(drops.values()), "(largest fall of IC from its peak)")
    key = tuple(sorted(t["config"].items()))
    tally.same("transience.config's drop", drops.get(key), max(drops.values()))
