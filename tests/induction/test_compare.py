"""Transition times and the scaling summary, on hand-made numbers."""

import numpy as np
import pytest

from phenom.figures.settings import CompareSetting, ScalingSetting
from phenom.figures.statistics import rank_correlation, reconstruction, scaling_summary
from phenom.induction.model import InductionHeadModel
from phenom.induction.prediction import flow_transition_times


def test_flow_transition_times_are_the_cliffs():
    times = flow_transition_times([(8, 32), (8, 8)], t_max=400.0)
    assert times[0] == pytest.approx(InductionHeadModel(8, 32).flow(t_max=400.0).cliff(), rel=1e-6)
    assert times[1] is None  # L = N never moves


def test_scaling_summary_by_hand():
    # lr = 0.5; the reference (4, 8) has t = 50, step 250, so c = 50 / (0.5 · 250) = 0.4 and the
    # predicted step is t / (c · lr) = 5t. The reference is left out of every statistic.
    lr = 0.5
    table = [(2, 3, 40, 100), (2, 4, 30, 100), (2, 6, 20, 200), (2, 8, 10, 300),
             (4, 8, 50, 250), (4, 16, 25, 100), (4, 32, 20, 120), (4, 5, 80, 400)]
    rows = [{"N": n, "L": l, "flow_time": t, "net_step": s, "seed": 0} for n, l, t, s in table]
    rows.append({"N": 8, "L": 8, "flow_time": None, "net_step": None})
    summary = scaling_summary(rows, reference=(4, 8), lr=lr)
    assert summary["c"] == pytest.approx(0.4, rel=1e-15)
    assert {(p["N"], p["L"]) for p in summary["predictions"]} == {(n, l) for n, l, *_ in table} - {(4, 8)}
    rel = {(p["N"], p["L"]): p["relative_error"] for p in summary["predictions"]}
    assert rel == pytest.approx({(2, 3): 1.0, (2, 4): 0.5, (2, 6): -0.5, (2, 8): -5 / 6,
                                 (4, 16): 0.25, (4, 32): -1 / 6, (4, 5): 0.0}, rel=1e-12)
    # Pooled ranks (ties share their mean rank): t → [6, 5, 2.5, 1, 4, 2.5, 7], steps → [2, 2, 5,
    # 6, 2, 4, 7]; Σ dx·dy = −4.5, Σ dx² = 27.5, Σ dy² = 26.
    assert summary["spearman"] == pytest.approx(-4.5 / np.sqrt(27.5 * 26), rel=1e-12)
    # Within N = 2: ranks [4, 3, 2, 1] against [1.5, 1.5, 3, 4]: −4.5 / √(5 · 4.5) = −3/√10.
    # Within N = 4 (held out: L = 16, 32, 5): [2, 1, 3] against [1, 2, 3]: 1/2.
    assert summary["within_N_spearman"] == pytest.approx({"2": -3 / np.sqrt(10), "4": 0.5}, rel=1e-12)
    assert summary["median_abs_relative_error"] == pytest.approx(0.5)
    assert summary["max_abs_relative_error"] == pytest.approx(1.0)
    assert summary["within_N"]["2"]["median_abs_relative_error"] == pytest.approx((0.5 + 5 / 6) / 2)
    assert summary["within_N"]["4"]["max_abs_relative_error"] == pytest.approx(0.25)
    assert (summary["runs"], summary["configurations"], summary["reference_runs"]) == (7, 7, 1)
    assert (summary["reference_flow_time"], summary["reference_net_step"]) == (50, 250)
    # Held out N = 2: |rel| 1, 1/2, 1/2, 5/6 (median 2/3); the rest (N = 4): 1/4, 1/6, 0.
    split = scaling_summary(rows, reference=(4, 8), lr=lr, held_out=(2,))
    assert split["held_out"]["median_abs_relative_error"] == pytest.approx(2 / 3, rel=1e-12)
    assert split["held_out"]["max_abs_relative_error"] == pytest.approx(1.0)
    assert split["held_out"]["spearman"] == pytest.approx(-3 / np.sqrt(10), rel=1e-12)
    assert split["not_held_out"]["median_abs_relative_error"] == pytest.approx(1 / 6, rel=1e-12)
    assert split["not_held_out"]["max_abs_relative_error"] == pytest.approx(0.25)
    assert (split["held_out"]["runs"], split["not_held_out"]["runs"], summary["held_out"]) == (4, 3, None)
    with pytest.raises(ValueError, match="needs the reference and >= 3 other runs"):
        scaling_summary(rows[:2] + rows[4:5], reference=(4, 8), lr=lr)


def test_rank_correlation_is_undefined_for_constant_or_tiny_samples():
    assert rank_correlation([1, 2], [3, 4]) is None
    assert rank_correlation([1, 2, 3], [5, 5, 5]) is None
    assert rank_correlation([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_reconstruction_at_hand_computed_points():
    # At β = α = ξ = 0 the model's loss is log L whatever N; an undefined ξ (L = N at chance) is
    # left out.
    records = {"step": [0, 10, 20], "eval_loss": [3.0, 2.0, 1.0], "beta": [0.0, 0.0, 0.0],
               "alpha": [0.0, 0.0, 0.0], "xi": [0.0, None, 0.0]}
    r = reconstruction(records, N=4, L=16)
    assert r["model_loss"][0] == pytest.approx(np.log(16), rel=1e-14) and np.isnan(r["model_loss"][1])
    assert r["max_abs_loss_gap"] == pytest.approx(np.log(16) - 1.0, rel=1e-14) and r["step_of_max_gap"] == 20


def test_compare_refuses_L_equal_N():
    with pytest.raises(ValueError, match="^L must be an integer > N = 4"):
        CompareSetting(N=4, L=4, D=16)


def test_scaling_resumes_from_its_results(tmp_path):
    import json
    from concurrent.futures import ThreadPoolExecutor

    from phenom.figures.jobs.compare import scaling

    setting = ScalingSetting(Ns=(2,), ratios=(1.5, 2, 4, 8), seeds=(0,), steps=(400,), eval_every=(25,),
                             seed_counts=(1,), min_D=16, reference=(2, 8))
    with ThreadPoolExecutor(2) as pool:
        first_result = scaling(setting, tmp_path, executor=pool)
    first = (tmp_path / "scaling.jsonl").read_text()
    rows = first_result["rows"]
    assert [(r["N"], r["L"]) for r in rows] == [(2, 2), (2, 3), (2, 4), (2, 8), (2, 16)]
    assert rows[0]["flow_time"] is None and all(r["flow_time"] > 0 for r in rows[1:])
    # Both models: each one's prediction is its own flow time over its own c · lr, c fitted at (2, 8).
    ref = next(r for r in rows if r["L"] == 8)
    for key, summary, time in (("predicted_step", first_result["summary"], "flow_time"),
                               ("mean_field_predicted_step", first_result["mean_field"], "mean_field_flow_time")):
        assert summary["c"] == pytest.approx(ref[time] / (0.5 * ref["net_steps"][0]), rel=1e-12)
        assert all(r[key] == pytest.approx(r[time] / (summary["c"] * 0.5), rel=1e-12) for r in rows[1:])
    assert first_result["spearman"] == first_result["summary"]["spearman"]
    assert first_result["summary"]["held_out"] is None  # the default held-out N = 16 is not swept here
    assert len(first.splitlines()) == 5 and all(json.loads(line)["config"]["N"] == 2 for line in first.splitlines())
    with ThreadPoolExecutor(2) as pool:
        again = scaling(setting, tmp_path, executor=pool)  # everything already done: nothing reruns
    assert (tmp_path / "scaling.jsonl").read_text() == first
    assert again["rows"] == rows


def test_summary_figures_need_their_inputs(tmp_path):
    from phenom.figures.jobs import compare, lsa
    from phenom.figures.settings import SummarySetting

    with pytest.raises(OSError, match="minimal_vs_mean_field.json is missing"):
        compare.chain(SummarySetting(), tmp_path)
    with pytest.raises(OSError, match="lsa_learning_curves.json is missing"):
        lsa.summary(SummarySetting(), tmp_path)


def test_held_out_time_scale_leaves_each_seed_out():
    # Flow P(correct) = t/100. Seed 0 transitions at step 10, seed 1 at step 20; the flow at
    # t = 10, lr = 1. Left out, seed 0 gets c = 10/20 and seed 1 gets c = 10/10; networks built
    # to follow the flow exactly on those axes are at distance 0 (the pooled c = 10/15 is not).
    from types import SimpleNamespace

    from phenom.figures.jobs.compare import _held_out_distances

    t = np.linspace(0, 100, 1001)
    flow = {"p_correct": t / 100}
    steps = np.arange(0, 101, 5.0)
    hists = [SimpleNamespace(step=steps, p_correct=0.5 * steps / 100), SimpleNamespace(step=steps, p_correct=steps / 100)]
    out = _held_out_distances(t, flow, hists, [10.0, 20.0], 10.0, 1.0)
    assert out["held_out_c"] == pytest.approx([0.5, 1.0])
    assert out["held_out_rms_p_correct_distance"] == pytest.approx([0.0, 0.0], abs=1e-15)
    assert _held_out_distances(t, flow, hists[:1], [10.0], 10.0, 1.0)["held_out_c"] is None


# -- predicted_step -------------------------------------------------------------------------


def test_predicted_step_mean_field_is_the_cliff_over_c_lr():
    from phenom.induction.prediction import TIME_CONSTANTS, predicted_step

    c = TIME_CONSTANTS["mean_field"]["c"]
    for N, L, lr in ((8, 16, 0.5), (4, 32, 0.25), (2, 3, 1.0)):
        cliff = InductionHeadModel(N, L).flow(t_max=2e4).cliff()
        assert predicted_step(N, L, lr=lr, model="mean_field") == pytest.approx(cliff / (c * lr), rel=1e-6)


def test_predicted_step_with_identity_metric_reduces_to_the_mean_field_mapping(monkeypatch):
    import phenom.induction.timescales as ts
    from phenom.induction.prediction import TIME_CONSTANTS, predicted_step

    monkeypatch.setattr(ts, "time_scales", lambda N, L: np.ones(3))
    monkeypatch.setattr(ts, "initial_state", lambda N: np.zeros(3))
    c = {m: TIME_CONSTANTS[m]["c"] for m in TIME_CONSTANTS}
    for N, L in ((8, 16), (4, 5)):
        assert predicted_step(N, L) * c["time_scales"] == pytest.approx(
            predicted_step(N, L, model="mean_field") * c["mean_field"], rel=1e-9)


def test_time_constants_are_the_committed_fits():
    """Each stored c equals its flow's cliff at the reference over lr · the mean transition step
    there, and the committed scaling study fits the same numbers."""
    import json
    from pathlib import Path

    from phenom.induction.prediction import TIME_CONSTANTS

    saved = json.loads((Path(__file__).parents[2] / "figures" / "scaling.json").read_text())
    fits = {"time_scales": saved["summary"], "mean_field": saved["mean_field"]}
    for model, entry in TIME_CONSTANTS.items():
        assert tuple(entry["reference"]) == (8, 32) == tuple(fits[model]["reference"])
        t = flow_transition_times([(8, 32)], t_max=2e4, model=model)[0]
        assert entry["flow_time"] == pytest.approx(t, rel=1e-8)
        assert entry["c"] == pytest.approx(entry["flow_time"] / (entry["lr"] * entry["net_step"]), rel=1e-9)
        assert entry["c"] == pytest.approx(fits[model]["c"], rel=1e-6)
        assert entry["net_step"] == pytest.approx(fits[model]["reference_net_step"], rel=1e-9)


@pytest.mark.parametrize("args, message", [
    ((1, 4), "^N must be an integer from 2 to 32"),
    ((33, 40), "^N must be an integer from 2 to 32"),
    ((4, 4), "^L must be an integer > N = 4"),
    ((4, 3), "^L must be an integer >= N = 4"),
    ((4, 2.5), "^L must be an integer"),
])
def test_predicted_step_rejects_counts_out_of_range(args, message):
    from phenom.induction.prediction import predicted_step

    with pytest.raises(ValueError, match=message):
        predicted_step(*args)


@pytest.mark.parametrize("option, message", [
    ({"D": 10}, "^D must be an integer >= L = 16"),
    ({"eps": -0.1}, "^eps must be"),
    ({"lr": 0.0}, "^lr must be a finite number > 0"),
    ({"batch_size": 0}, "^batch_size must be an integer >= 1"),
    ({"model": "exact"}, "^model must be one of"),
])
def test_predicted_step_rejects_options_out_of_range(option, message):
    from phenom.induction.prediction import predicted_step

    with pytest.raises(ValueError, match=message):
        predicted_step(4, 16, **option)


def test_scaling_setting_cannot_hold_out_the_reference():
    with pytest.raises(ValueError, match="^held_out must not include the reference's N = 8"):
        ScalingSetting(held_out=(8,))


@pytest.mark.parametrize("kwargs, message", [
    (dict(Ns=(4, 8), Ls=(8,)), "^Ns and Ls must pair up"),
    (dict(Ns=(4,), Ls=(4,)), r"^each \(N, L\) must have 2 <= N <= 32 and L > N, got \(4, 4\)"),
    (dict(Ns=(1,), Ls=(4,)), r"^each \(N, L\) must have 2 <= N <= 32"),
    (dict(probe_every=30), "^probe_every must be a multiple of eval_every = 25"),
])
def test_growth_setting_names_the_bad_field(kwargs, message):
    from phenom.figures.settings import GrowthSetting

    with pytest.raises(ValueError, match=message):
        GrowthSetting(**kwargs)
