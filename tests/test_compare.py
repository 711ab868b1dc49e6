"""Transition times and the scaling summary, on hand-made numbers."""

import numpy as np
import pytest

from phenom.compare import flow_transition_times, scaling_summary, transition_level, transition_step
from phenom.induction import InductionHeadModel


def test_transition_step_interpolates():
    assert transition_step([0, 100, 200, 300], [0.1, 0.2, 0.6, 0.9]) == pytest.approx(175.0)
    assert transition_step([0, 100, 200], [0.5, 0.6, 0.9], level=transition_level(2)) == pytest.approx(150.0)
    assert transition_level(8) == pytest.approx(0.5625)
    assert transition_step([0, 100], [0.7, 0.9]) == 0.0
    assert transition_step([0, 100, 200], [0.1, 0.2, 0.3]) is None


def test_flow_transition_times_are_the_cliffs():
    times = flow_transition_times([(8, 32), (8, 8)], t_max=400.0)
    assert times[0] == pytest.approx(InductionHeadModel(8, 32).flow(t_max=400.0).cliff(), rel=1e-6)
    assert times[1] is None  # L = N never moves


def test_scaling_summary_recovers_a_planted_power_law():
    # Observed steps s = 3 t^1.5 / lr exactly: slope 1.5, rank correlation 1; one c fitted at the
    # reference predicts the others with the error of a straight line through the power law.
    lr = 0.5
    rows = [{"N": n, "L": l, "flow_time": t, "net_step": 3 * t**1.5 / lr}
            for (n, l), t in zip([(2, 3), (2, 8), (4, 5), (4, 16), (8, 9)], [10.0, 20.0, 40.0, 80.0, 160.0])]
    rows.append({"N": 8, "L": 8, "flow_time": None, "net_step": None})
    summary = scaling_summary(rows, reference=(4, 5), lr=lr)
    assert summary["spearman"] == pytest.approx(1.0)
    assert summary["loglog_slope"] == pytest.approx(1.5, rel=1e-12)
    assert summary["c"] == pytest.approx(40.0 / (lr * 3 * 40.0**1.5 / lr), rel=1e-12)
    errors = {(p["N"], p["L"]): p["relative_error"] for p in summary["predictions"]}
    assert errors[(4, 5)] == pytest.approx(0.0, abs=1e-12)
    # t/(c lr) against 3 t^1.5/lr: relative error (t_ref/t)^0.5 − 1
    assert errors[(8, 9)] == pytest.approx(np.sqrt(40.0 / 160.0) - 1, rel=1e-12)
    with pytest.raises(ValueError, match="needs >= 3 configurations"):
        scaling_summary(rows[:2], reference=(2, 3), lr=lr)


def test_compare_refuses_L_equal_N(tmp_path):
    from phenom.jobs.compare import compare_job

    with pytest.raises(ValueError, match="^L must be an integer > N = 4"):
        compare_job(tmp_path, N=4, L=4, D=16, seeds=(0,), steps=10)
    assert not any(tmp_path.iterdir())


def test_scaling_job_resumes_from_its_results(tmp_path):
    import json
    from concurrent.futures import ThreadPoolExecutor

    from phenom.jobs.compare import scaling_job

    kw = dict(Ns=(2,), ratios=(2, 4, 8), seeds=(0,), steps_per_N={2: 400}, min_D=16, reference=(2, 8))
    with ThreadPoolExecutor(2) as pool:
        scaling_job(tmp_path, executor=pool, **kw)
    first = (tmp_path / "scaling.jsonl").read_text()
    rows = json.loads((tmp_path / "scaling.json").read_text())["rows"]
    assert [(r["N"], r["L"]) for r in rows] == [(2, 2), (2, 4), (2, 8), (2, 16)]
    assert rows[0]["flow_time"] is None and all(r["flow_time"] > 0 for r in rows[1:])
    with ThreadPoolExecutor(2) as pool:
        scaling_job(tmp_path, executor=pool, **kw)  # everything already done: nothing reruns
    assert (tmp_path / "scaling.jsonl").read_text() == first


def test_summary_figures_need_their_inputs(tmp_path):
    from phenom.jobs.compare import chain_job, lsa_summary_job

    with pytest.raises(ValueError, match="minimal_vs_mean_field.json is missing"):
        chain_job(tmp_path)
    with pytest.raises(ValueError, match="lsa_learning_curves.json is missing"):
        lsa_summary_job(tmp_path)
