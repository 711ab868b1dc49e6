"""The extended model's figure, recomputed from its saved curves and runs: each run's transition
from its ICL accuracy, the model's P(correct) = e^{−loss}, the plateau distances and ξ-rate ratios
from the saved curves, every group's statistics and the delay ratios with D."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from phenom.figures.check._base import Tally, floats
from phenom.figures.check._definitions import icl_transition

_CONFIG = ("N", "L", "D", "lr", "batch_size", "eps")


def _fit_slope(x: np.ndarray, y: np.ndarray) -> float | None:
    """The least-squares slope through the finite points (None with fewer than three)."""
    ok = np.isfinite(x) & np.isfinite(y)
    return float(np.polyfit(x[ok], y[ok], 1)[0]) if ok.sum() >= 3 else None


def extended(tally: Tally, r: dict, folder: Path) -> None:
    end = r["plateau_end"]
    for i, run in enumerate(r["runs"]):
        where, net = f"runs[{i}]", run["network"]
        step = floats(net["step"])
        found = icl_transition(net["step"], net["icl_acc"], run["N"])
        tally.same(f"{where}.net_step", run["net_step"], found, "from its ICL accuracy")
        for name in ("model", "three_parameter"):
            tally.column(f"{where}.{name}.p_correct", run[name]["p_correct"], np.exp(-floats(run[name]["loss"])))
            if found is None:
                continue
            plateau = step < end * found
            rising = plateau & (step >= 0.1 * found)
            expect: dict[str, float | None] = {
                key: float(np.sqrt(np.mean((floats(run[name][col])[plateau] - floats(net[col2])[plateau]) ** 2)))
                for key, col, col2 in (("rms_p_context", "p_context", "p_context"), ("rms_loss", "loss", "eval_loss"))
            }
            rates = [_fit_slope(step[rising], floats(y)[rising]) for y in (net["xi"], run[name]["xi"])]
            ratio = None if rates[0] is None or not rates[1] else rates[0] / rates[1]
            expect["xi_rate_ratio"] = ratio
            tally.same(f"{where}.{name}_plateau", run[name + "_plateau"], expect, "from the saved curves")
    for name in ("model", "three_parameter"):
        key = "model_step" if name == "model" else "three_parameter_step"
        for group, stored in r["summary"][name].items():
            members = [x for x in r["runs"] if (x["group"] == group or group == "pooled") and x["group"] != "reference"]
            configs: dict[tuple, list] = {}
            for x in members:
                configs.setdefault(tuple(x[k] for k in _CONFIG), []).append(x)
            errors = [
                ms[0][key] / float(np.mean([m["net_step"] for m in ms])) - 1
                for ms in configs.values()
                if all(m["net_step"] is not None for m in ms)
            ]
            tally.same(f"summary.{name}.{group}.relative_errors", stored["relative_errors"], errors)
            if errors:
                tally.same(
                    f"summary.{name}.{group}.max_abs_relative_error",
                    stored["max_abs_relative_error"],
                    max(map(abs, errors)),
                )
                tally.same(
                    f"summary.{name}.{group}.median_abs_relative_error",
                    stored["median_abs_relative_error"],
                    float(np.median(np.abs(errors))),
                )
            plateaus = [x[name + "_plateau"] for x in members if x["net_step"] is not None]
            for stat in ("rms_p_context", "rms_loss"):
                if plateaus:
                    tally.same(
                        f"summary.{name}.{group}.max_{stat}", stored["max_" + stat], max(p[stat] for p in plateaus)
                    )
    ratios = []
    for d in r["d_ratios"]:

        def mean_step(D, d=d):
            runs = [
                x
                for x in r["runs"]
                if (x["N"], x["L"], x["D"], x["lr"], x["batch_size"], x["eps"]) == (d["N"], d["L"], D, 0.5, 128, 0.1)
            ]
            return float(np.mean([x["net_step"] for x in runs])), runs[0]["model_step"]

        (net, model), (net0, model0) = mean_step(d["D"]), mean_step(d["base_D"])
        ratios.append({**d, "network_ratio": net / net0, "model_ratio": model / model0})
    tally.same("d_ratios", r["d_ratios"], ratios, "from the runs' steps")
