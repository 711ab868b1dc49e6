"""The figures that put the flow beside the network (phenom.figures.jobs.compare): each published
number against an independent computation: the flows of the hand-typed loss by scipy's DOP853
(tests/independent.py), the time-scale model's start and rates counted by hand, transition steps
interpolated by hand, and the scaling statistics of stand-in runs whose steps are typed in."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from independent import ExactMinimalFlow, ReferenceFlow, interpolated_crossing

from phenom import _io
from phenom.figures.jobs import compare as jc
from phenom.figures.jobs import induction as ji
from phenom.figures.settings import (
    ChainSetting,
    CompareSetting,
    GrowthSetting,
    MinimalVsMeanFieldSetting,
    ScalingSetting,
)

LR = 0.5
# The stored constants (phenom.induction.prediction.TIME_CONSTANTS), typed in: c of each model.
C_TIME_SCALES, C_MEAN_FIELD = 0.62287272291, 0.18821138817
# The time-scale model at N = 2, by hand: labels at tokens 1 and 3 of 5, at 61 offsets among 65
# slots: slots 3..61 hold a label twice, 1, 2, 62, 63 once: Σ f_p² = (59·4 + 4)/122². The
# untrained network's ILA1 is H_2/4 = 3/8, so β₀ = log(2·(3/8)/(5/8)) = log 1.2.
C_BETA_2 = 240 / 122**2
BETA0_2 = np.log(1.2)


def _time_scale_flow(L: int, t_end: float = 300.0, doubled: int | None = None) -> ReferenceFlow:
    """The time-scale model's flow at N = 2: C = (Σ f², 1, 1/√L) (C_ξ = 1/√L: the modelling choice
    the README states), one of them doubled if asked, from θ₀ = (log 1.2, 0, 0)."""
    metric = np.array([C_BETA_2, 1.0, 1 / np.sqrt(L)])
    if doubled is not None:
        metric[doubled] *= 2
    return ReferenceFlow(2, L, t_end, theta0=(BETA0_2, 0.0, 0.0), metric=metric)


@pytest.fixture(scope="module")
def compared():
    setting = CompareSetting(N=2, L=4, D=16, seeds=(0,), steps=300, evals=15, eval_size=512, samples=21)
    return setting, jc.compare(setting, Path("."))


@pytest.fixture(scope="module")
def mean_field_2_4():
    return ReferenceFlow(2, 4, 100.0)


def test_compare_fits_c_so_that_the_mean_transition_lands_on_the_flows_cliff(compared, mean_field_2_4):
    setting, result = compared
    s = result["summary"]
    flow_t = mean_field_2_4.cliff()
    assert s["flow_transition"] == pytest.approx(flow_t, rel=1e-7)
    net = result["networks"][0]
    step = interpolated_crossing(net["step"], net["icl_acc"], 0.75)  # halfway from 1/2 to 1
    assert step is not None and s["net_transition_steps"] == [pytest.approx(step, rel=1e-12)]
    c = flow_t / (LR * step)
    assert s["c"] == pytest.approx(c, rel=1e-7)
    np.testing.assert_allclose(net["t"], c * LR * np.asarray(net["step"]), rtol=1e-7)
    # The flow's curves on t = 0 .. max(c · lr · 300, 2 t*), 21 samples; the plateau loss is the
    # flow's loss halfway to its cliff, read off that grid; ξ, α, β: the first sample 1 above 0.
    t = np.linspace(0.0, max(c * LR * 300, 2 * flow_t), 21)
    np.testing.assert_allclose(result["flow"]["t"], t, rtol=1e-7)
    loss = mean_field_2_4.loss(t)
    assert s["flow_plateau_loss"] == pytest.approx(np.interp(flow_t / 2, t, loss), rel=1e-6)
    theta = mean_field_2_4.theta(t)
    for k, name in enumerate(("beta", "alpha", "xi")):
        above = np.flatnonzero(theta[:, k] >= 1.0)
        expected = pytest.approx(float(t[above[0]]), rel=1e-7) if above.size else None
        assert s["flow_time_each_parameter_rises_by_1"][name] == expected
    # The stored c (fitted at (8, 32)) puts the flow at step t*/(c · lr): held out here.
    stored = result["stored_constant"]
    assert stored["held_out"] is True
    assert stored["predicted_step"] == pytest.approx(flow_t / (C_MEAN_FIELD * LR), rel=1e-6)
    assert stored["relative_error"] == pytest.approx(flow_t / (C_MEAN_FIELD * LR) / step - 1, rel=1e-6)


def test_chain_carries_the_exact_cliff_and_the_fitted_c(tmp_path, compared):
    """The chain figure reads the two saved results: its numbers are theirs, so they are the
    independent ones (the exact minimal network's cliff, the fitted c)."""
    minimal_setting = MinimalVsMeanFieldSetting(N=2, L=4, t_max=100.0, grid=3, samples=11, checks=2)
    compare_setting, comparison = compared
    for name, setting, result in (
        ("minimal_vs_mean_field", minimal_setting, ji.minimal_vs_mean_field(minimal_setting, tmp_path)),
        ("compare", compare_setting, comparison),
    ):
        _io.write_json(tmp_path / f"{name}.json", {"setting": setting.to_dict(), "digest": setting.digest(), **result})
    chain = jc.chain(ChainSetting(), tmp_path)
    assert chain["minimal"]["summary"]["exact_cliff"] == pytest.approx(ExactMinimalFlow(2, 4, 100.0).cliff(), rel=1e-6)
    assert chain["minimal"]["setting"]["N"] == 2 and chain["compare"]["setting"]["L"] == 4
    net = comparison["networks"][0]
    step = interpolated_crossing(net["step"], net["icl_acc"], 0.75)
    assert chain["compare"]["summary"]["c"] == pytest.approx(ReferenceFlow(2, 4, 100.0).cliff() / (LR * step), rel=1e-7)


# Stand-in network transition steps (seeds 0, 1) at N = 2; L = N never transitions.
STEPS = {(2, 3): [180.0, 170.0], (2, 4): [160.0, 170.0], (2, 8): [200.0, 190.0]}


def _stand_in(config):
    steps = STEPS.get((config["N"], config["L"]))
    return {"net_step": None if steps is None else steps[config["seed"]]}


# scaling() versions its sweep file by the code of scaling_point's module, which must be phenom's.
_stand_in.__module__ = "phenom.figures.runs"


def _ranks(v):
    """Ranks from 1, ties sharing their mean rank."""
    v = np.asarray(v, float)
    return np.array([np.sum(v < x) + (np.sum(v == x) + 1) / 2 for x in v])


def test_scaling_statistics_from_stand_in_steps_and_independent_flows(tmp_path, monkeypatch):
    monkeypatch.setattr(jc, "scaling_point", _stand_in)
    setting = ScalingSetting(
        Ns=(2,), ratios=(1.5, 2, 4), seeds=(0, 1), seed_counts=(2,), steps=(400,), eval_every=(25,),
        min_D=16, reference=(2, 4), held_out=(),
    )  # fmt: skip
    with ThreadPoolExecutor(2) as pool:
        result = jc.scaling(setting, tmp_path, executor=pool)
    flows = {
        "time_scales": {L: _time_scale_flow(L).cliff() for L in (3, 4, 8)},
        "mean_field": {L: ReferenceFlow(2, L, 100.0).cliff() for L in (3, 4, 8)},
    }
    rows = {(r["N"], r["L"]): r for r in result["rows"]}
    assert rows[(2, 2)]["flow_time"] is None and rows[(2, 2)]["seeds_without_transition"] == 1
    for model, summary in (("time_scales", result["summary"]), ("mean_field", result["mean_field"])):
        t = flows[model]
        c = t[4] / (LR * 165.0)  # fitted at (2, 4): the mean of 160 and 170
        assert summary["c"] == pytest.approx(c, rel=1e-6), model
        predicted = {L: t[L] / (c * LR) for L in (3, 8)}  # = 165 · t_L / t_4
        observed = [(L, s) for L in (3, 8) for s in STEPS[(2, L)]]
        rel = np.array([(predicted[L] - s) / s for L, s in observed])
        assert summary["median_abs_relative_error"] == pytest.approx(np.median(np.abs(rel)), rel=1e-6), model
        assert summary["max_abs_relative_error"] == pytest.approx(np.max(np.abs(rel)), rel=1e-6), model
        rp, ro = _ranks([predicted[L] for L, _ in observed]), _ranks([s for _, s in observed])
        spearman = np.sum((rp - rp.mean()) * (ro - ro.mean())) / np.sqrt(
            np.sum((rp - rp.mean()) ** 2) * np.sum((ro - ro.mean()) ** 2)
        )
        assert summary["spearman"] == pytest.approx(spearman, rel=1e-12), model
        key = "predicted_step" if model == "time_scales" else "mean_field_predicted_step"
        for L in (3, 8):
            assert rows[(2, L)][key] == pytest.approx(predicted[L], rel=1e-6)
        time_key = "flow_time" if model == "time_scales" else "mean_field_flow_time"
        assert [rows[(2, L)][time_key] for L in (3, 4, 8)] == pytest.approx([t[3], t[4], t[8]], rel=1e-6)
    assert result["spearman"] == result["summary"]["spearman"]
    # The mean-field flow comes sooner as L grows (a stronger curriculum signal (L − N)/L).
    assert (
        rows[(2, 3)]["mean_field_flow_time"]
        > rows[(2, 4)]["mean_field_flow_time"]
        > rows[(2, 8)]["mean_field_flow_time"]
    )


def test_growth_start_rates_rise_steps_and_cliff_exponents():
    setting = GrowthSetting(
        Ns=(2,), Ls=(4,), steps=300, eval_every=25, probe_every=50, probe_size=64, min_D=16, samples=21
    )
    (run,) = jc.growth(setting, Path("."))["runs"]
    # The model starts where the untrained network is: β₀ = log 1.2 (README: 0.34 at N = 4, 0.49 at 8).
    model = run["models"]["time_scales"]
    assert model["theta0"] == pytest.approx([BETA0_2, 0.0, 0.0], abs=1e-14)
    assert run["model_C"] == pytest.approx(
        {"beta": C_TIME_SCALES * C_BETA_2, "alpha": C_TIME_SCALES, "xi": C_TIME_SCALES / 2}, rel=1e-14
    )
    base = _time_scale_flow(4)
    cliff = base.cliff()
    assert model["predicted_step"] == pytest.approx(cliff / (C_TIME_SCALES * LR), rel=1e-6)
    assert run["models"]["mean_field"]["predicted_step"] == pytest.approx(
        ReferenceFlow(2, 4, 100.0).cliff() / (C_MEAN_FIELD * LR), rel=1e-6
    )
    # d log t / d log C_k from doubling each rate: the transition waits on every rate.
    for k, name in enumerate(("beta", "alpha", "xi")):
        doubled = _time_scale_flow(4, doubled=k).cliff()
        assert run["cliff_exponent_in_C"][name] == pytest.approx(np.log2(doubled / cliff), rel=1e-5, abs=1e-7)
    # The network's rise by 1 of each effective parameter, interpolated between evaluations.
    net = run["network"]
    for name in ("beta", "alpha", "xi"):
        v = np.asarray(net[name], float)
        expected = None if np.isnan(v).any() else interpolated_crossing(net["step"], v, v[0] + 1.0)
        assert run["network_rise_step"][name] == (None if expected is None else pytest.approx(expected, rel=1e-12))
    # Plateau medians: the probes between 10% and 90% of the observed transition step.
    observed = interpolated_crossing(net["step"], net["icl_acc"], 0.75)
    assert run["observed_step"] == pytest.approx(observed, rel=1e-12)
    inside = [p["C"] for p in run["probes"] if 0.1 * observed <= p["step"] <= 0.9 * observed]
    for name in ("beta", "alpha", "xi"):
        values = [c[name] for c in inside if c[name] is not None]
        expected_median = float(np.median(values)) if values else None
        assert run["plateau_median_C"][name] == (
            None if expected_median is None else pytest.approx(expected_median, rel=1e-12)
        )


def test_plateau_medians_of_hand_built_probes():
    probes = [
        {"step": 0, "C": {"beta": 9.0, "alpha": 9.0, "xi": 9.0}},  # before 10% of 100: left out
        {"step": 20, "C": {"beta": 1.0, "alpha": 2.0, "xi": None}},
        {"step": 50, "C": {"beta": 3.0, "alpha": 4.0, "xi": 0.5}},
        {"step": 80, "C": {"beta": 2.0, "alpha": 7.0, "xi": None}},
        {"step": 95, "C": {"beta": 9.0, "alpha": 9.0, "xi": 9.0}},  # after 90%: left out
    ]
    assert jc._plateau_medians(probes, 100.0) == {"beta": 2.0, "alpha": 4.0, "xi": 0.5}
    assert jc._plateau_medians(probes, None) == {"beta": None, "alpha": None, "xi": None}
