"""The comparison jobs (phenom.figures.jobs.compare) and their settings: a resumable scaling
sweep, the summary figures' inputs, leave-one-out time constants, and settings that name a bad
field."""

import json
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import pytest

from phenom.figures.jobs import compare, lsa
from phenom.figures.jobs.compare import _held_out_distances, _stored_constant, scaling
from phenom.figures.settings import CompareSetting, GrowthSetting, ScalingSetting, SummarySetting


def test_compare_refuses_L_equal_N():
    with pytest.raises(ValueError, match="^L must be an integer > N = 4"):
        CompareSetting(N=4, L=4, D=16)


def test_scaling_resumes_from_its_results(tmp_path):

    setting = ScalingSetting(
        Ns=(2,),
        ratios=(1.5, 2, 4, 8),
        seeds=(0,),
        steps=(400,),
        eval_every=(25,),
        seed_counts=(1,),
        min_D=16,
        reference=(2, 8),
    )
    with ThreadPoolExecutor(2) as pool:
        first_result = scaling(setting, tmp_path, executor=pool)
    first = (tmp_path / "scaling.jsonl").read_text()
    rows = first_result["rows"]
    assert [(r["N"], r["L"]) for r in rows] == [(2, 2), (2, 3), (2, 4), (2, 8), (2, 16)]
    assert rows[0]["flow_time"] is None and all(r["flow_time"] > 0 for r in rows[1:])
    # Both models: each one's prediction is its own flow time over its own c · lr, c fitted at (2, 8).
    ref = next(r for r in rows if r["L"] == 8)
    for key, summary, time in (
        ("predicted_step", first_result["summary"], "flow_time"),
        ("mean_field_predicted_step", first_result["mean_field"], "mean_field_flow_time"),
    ):
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

    with pytest.raises(OSError, match="minimal_vs_mean_field.json is missing"):
        compare.chain(SummarySetting(), tmp_path)
    with pytest.raises(OSError, match="lsa_learning_curves.json is missing"):
        lsa.lsa_summary(SummarySetting(), tmp_path)


def test_held_out_time_scale_leaves_each_seed_out():
    # Flow P(correct) = t/100. Seed 0 transitions at step 10, seed 1 at step 20; the flow at
    # t = 10, lr = 1. Left out, seed 0 gets c = 10/20 and seed 1 gets c = 10/10; networks built
    # to follow the flow exactly on those axes are at distance 0 (the pooled c = 10/15 is not).

    t = np.linspace(0, 100, 1001)
    flow = {"p_correct": t / 100}
    steps = np.arange(0, 101, 5.0)
    hists = [
        SimpleNamespace(step=steps, p_correct=0.5 * steps / 100),
        SimpleNamespace(step=steps, p_correct=steps / 100),
    ]
    out = _held_out_distances(t, flow, hists, [10.0, 20.0], 10.0, 1.0)
    assert out["held_out_c"] == pytest.approx([0.5, 1.0])
    assert out["held_out_rms_p_correct_distance"] == pytest.approx([0.0, 0.0], abs=1e-15)
    assert _held_out_distances(t, flow, hists[:1], [10.0], 10.0, 1.0)["held_out_c"] is None


def test_scaling_setting_cannot_hold_out_the_reference():
    with pytest.raises(ValueError, match="^held_out must not include the reference's N = 8"):
        ScalingSetting(held_out=(8,))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(Ns=(4, 8), Ls=(8,)), "^Ns and Ls must pair up"),
        (dict(Ns=(4,), Ls=(4,)), r"^each \(N, L\) must have 2 <= N <= 32 and L > N, got \(4, 4\)"),
        (dict(Ns=(1,), Ls=(4,)), r"^each \(N, L\) must have 2 <= N <= 32"),
        (dict(probe_every=30), "^probe_every must be a multiple of eval_every = 25"),
    ],
)
def test_growth_setting_names_the_bad_field(kwargs, message):

    with pytest.raises(ValueError, match=message):
        GrowthSetting(**kwargs)


def test_stored_constant_curve_predicts_the_reference_step_it_was_fitted_on():
    # At the reference (8, 32), lr 0.5, the stored c was fitted so that c * lr * step = flow
    # time: the predicted step is flow_time / (c * lr) = 97.675921924 / (0.18821138817 * 0.5)
    # = 1037.94 (by hand), and the relative error against a mean of 1000 steps is +3.79%.
    # Elsewhere the comparison is flagged as held out of the fit.

    ref = _stored_constant(CompareSetting(steps=2000, samples=5), 1000.0)
    assert ref["held_out"] is False and ref["fitted_at"] == [8, 32]
    assert ref["predicted_step"] == pytest.approx(97.675921924 / (0.18821138817 * 0.5), rel=1e-6)
    assert ref["relative_error"] == pytest.approx(1037.9385 / 1000 - 1, abs=1e-6)
    assert list(ref["step"]) == [0.0, 500.0, 1000.0, 1500.0, 2000.0]
    # The flow is on its plateau (P(correct) near 1/L-ish) at step 0 and past the cliff at 2000.
    assert ref["p_correct"][0] < 0.2 < 0.9 < ref["p_correct"][-1]
    other = _stored_constant(CompareSetting(N=4, L=16, D=31, steps=100, samples=2), 50.0)
    assert other["held_out"] is True
