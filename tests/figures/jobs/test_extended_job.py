"""The extended figure's statistics (phenom.figures.jobs.extended.extended), on runs made up by hand:
which group a configuration belongs to, the relative errors of the seeds' mean transition, the
plateau distances' maxima, the targets, and the delay ratios with D."""

from __future__ import annotations

import numpy as np
import pytest

from phenom.figures.jobs.extended import TARGETS, _group
from phenom.figures.statistics import delay_ratios, group_statistics, slope


def _run(N, L, D, seed, net_step, model_step, rms_p=0.1, rms_loss=0.2, ratio=3.0, lr=0.5, batch=128, eps=0.1):
    cfg = {"N": N, "L": L, "D": D, "lr": lr, "batch_size": batch, "eps": eps}
    plateau = {"rms_p_context": rms_p, "rms_loss": rms_loss, "xi_rate_ratio": ratio}
    return {
        **cfg,
        "seed": seed,
        "group": _group(cfg),
        "net_step": net_step,
        "model_step": model_step,
        "three_parameter_step": 2 * model_step,
        "model_plateau": plateau,
        "three_parameter_plateau": plateau,
    }


def test_groups_name_the_reference_the_seen_and_the_held_out():
    assert _run(8, 32, 63, 0, 1, 1)["group"] == "reference"
    assert _run(4, 16, 63, 0, 1, 1)["group"] == "seen"
    assert _run(8, 32, 127, 0, 1, 1)["group"] == "seen"
    assert _run(8, 32, 255, 0, 1, 1)["group"] == "seen"  # the first round's, which chose the rates
    assert _run(4, 16, 63, 0, 1, 1, lr=0.25)["group"] == "seen"
    assert _run(4, 16, 63, 0, 1, 1, lr=0.35)["group"] == "held_out"  # another rate: held out
    assert _run(8, 32, 63, 0, 1, 1, eps=0.3)["group"] == "held_out"
    assert _run(3, 12, 63, 0, 1, 1)["group"] == "held_out"


def test_slope_of_an_exact_line_and_too_few_points():
    assert slope([0, 1, 2, 3], [1, 3, 5, 7]) == pytest.approx(2.0)
    assert slope([0, 1, np.nan], [0, 1, 2]) is None


def test_group_statistics_by_hand():
    runs = [
        _run(4, 16, 255, 0, 400.0, 300.0, rms_p=0.04, rms_loss=0.05, ratio=1.5),
        _run(4, 16, 255, 1, 600.0, 300.0, rms_p=0.30, rms_loss=0.08, ratio=0.6),
        _run(6, 24, 63, 0, 880.0, 990.0, rms_p=0.02, rms_loss=0.30, ratio=1.9),
    ]
    out = group_statistics(runs, "model", TARGETS)
    # (4, 16, 255): mean step 500, predicted 300 → −0.4; (6, 24, 63): 990/880 − 1 = 0.125.
    assert out["relative_errors"] == pytest.approx([-0.4, 0.125])
    assert out["median_abs_relative_error"] == pytest.approx((0.4 + 0.125) / 2)
    assert out["max_abs_relative_error"] == pytest.approx(0.4)
    assert out["max_rms_p_context"] == 0.30 and out["median_rms_p_context"] == 0.04
    assert out["xi_rate_ratio"] == {"median": 1.5, "min": 0.6, "max": 1.9}
    assert out["targets_met"] == {
        "plateau_rms_p_context": False,  # 0.30 > 0.05
        "plateau_rms_loss": False,  # 0.30 > 0.10
        "xi_rate_ratio": True,  # every ratio within [1/2, 2]
        "median_abs_relative_error": False,
        "max_abs_relative_error": False,
    }
    assert group_statistics(runs, "three_parameter", TARGETS)["relative_errors"] == pytest.approx([0.2, 1.25])


def test_a_run_without_transition_leaves_its_configuration_out_of_the_errors():
    runs = [_run(4, 16, 255, 0, None, 300.0), _run(4, 16, 255, 1, 500.0, 300.0), _run(2, 8, 63, 0, 200.0, 180.0)]
    out = group_statistics(runs, "model", TARGETS)
    assert out["relative_errors"] == pytest.approx([-0.1])


def test_delay_ratios_with_D_by_hand():
    runs = [
        _run(8, 32, 63, 0, 1000.0, 1040.0),
        _run(8, 32, 63, 1, 1100.0, 1040.0),
        _run(8, 32, 127, 0, 1400.0, 1060.0),
        _run(8, 32, 127, 1, 1360.0, 1060.0),
        _run(8, 32, 63, 0, 700.0, 520.0, lr=1.0),  # another rate: not in the D comparison
    ]
    (ratio,) = delay_ratios(runs)
    assert (ratio["N"], ratio["L"], ratio["D"], ratio["base_D"]) == (8, 32, 127, 63)
    assert ratio["network_ratio"] == pytest.approx(1380 / 1050)
    assert ratio["model_ratio"] == pytest.approx(1060 / 1040)
