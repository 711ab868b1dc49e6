"""The network's transition predicted from the flow (phenom.induction.prediction): the stored
constants re-derived from the scaling study's per-run transition steps and an independent flow,
predicted steps against scipy's integration of the same flows, and the predicted curves on the
step axis t = c · lr · step against an independent solve."""

import json
from pathlib import Path

import numpy as np
import pytest
from independent import ReferenceFlow, label_slot_sum_of_squares, untrained_beta
from scipy.integrate import solve_ivp

from phenom.induction import prediction
from phenom.induction.model import InductionHeadModel, induction_flow
from phenom.induction.prediction import (
    TIME_CONSTANTS,
    model_start,
    predicted_curves,
    predicted_step,
)
from phenom.induction.timescales import initial_state, time_scales
from phenom.nets.measures import transition_step

# The stored constants as committed (the scaling study's fits at (8, 32)), typed in.
C_TIME_SCALES, C_MEAN_FIELD = 0.62287272291, 0.18821138817


def _start(N, L, model):
    """The model's start and rates, counted here: θ₀ = (log(N y/(1 − y)), 0, 0) with
    y = (1/N) Σ_k 1/(2k + 2) and C = (Σ f_p², 1, 1/√L) for the time-scale model (C_ξ = 1/√L is
    the modelling choice the README states, not a count); θ = 0 and C = 1 for the mean field."""
    if model == "mean_field":
        return np.zeros(3), np.ones(3)
    return np.array([untrained_beta(N), 0.0, 0.0]), np.array([label_slot_sum_of_squares(N), 1.0, 1 / np.sqrt(L)])


def _scipy_flow(N, L, model, t_end, t_eval=None, events=None):
    """dθ/dt = −C ∇loss by scipy's DOP853 on the model's lambdified gradient."""
    theta0, C = _start(N, L, model)
    head = InductionHeadModel(N, L)
    return solve_ivp(
        lambda t, th: -C * head.grad(*th),
        (0, t_end),
        theta0,
        method="DOP853",
        rtol=1e-11,
        atol=1e-13,
        t_eval=t_eval,
        events=events,
        dense_output=True,
    )


def test_time_constants_are_rederived_from_the_per_run_steps_and_an_independent_flow():
    """c = flow time / (lr · mean network step) at the reference (8, 32): the network's steps are
    the scaling study's raw per-run rows (seeds 0, 1, 2), the flow times an integration of the
    hand-typed loss (tests/independent.py: scipy's DOP853 on sympy's gradient of the formula, not
    phenom's derivation or integrator), its cliff the largest |∇loss| along the path."""
    rows = [json.loads(line) for line in (Path(__file__).parents[2] / "figures" / "scaling.jsonl").open()]
    at_reference = {r["config"]["seed"]: r for r in rows if (r["config"]["N"], r["config"]["L"]) == (8, 32)}
    assert sorted(at_reference) == [0, 1, 2]
    assert all(r["config"]["lr"] == 0.5 and r["config"]["D"] == 63 for r in at_reference.values())
    steps = [at_reference[seed]["result"]["net_step"] for seed in (0, 1, 2)]
    assert steps == pytest.approx([1034.64, 1022.90, 1056.27], abs=0.005)  # as the module's comment says
    net_step = float(np.mean(steps))
    assert (TIME_CONSTANTS["time_scales"]["c"], TIME_CONSTANTS["mean_field"]["c"]) == (C_TIME_SCALES, C_MEAN_FIELD)
    for model, t_end in (("mean_field", 300.0), ("time_scales", 700.0)):
        theta0, C = _start(8, 32, model)
        flow_time = ReferenceFlow(8, 32, t_end, theta0=theta0, metric=C).cliff()
        entry = TIME_CONSTANTS[model]
        assert tuple(entry["reference"]) == (8, 32) and entry["lr"] == 0.5 and tuple(entry["seeds"]) == (0, 1, 2)
        assert entry["net_step"] == pytest.approx(net_step, rel=1e-11)
        assert entry["flow_time"] == pytest.approx(flow_time, rel=1e-7), model
        assert entry["c"] == pytest.approx(flow_time / (0.5 * net_step), rel=1e-7), model


def test_model_start_is_each_models_theta0_and_rates():
    start = model_start([4, 8], [16, 32])
    for k, (N, L) in enumerate([(4, 16), (8, 32)]):
        np.testing.assert_array_equal(start["theta0"][k], initial_state(N))
        np.testing.assert_array_equal(start["metric"][k], time_scales(N, L))
    mean_field = model_start(8, [16, 32], "mean_field")
    assert mean_field["theta0"].shape == (2, 3) and not mean_field["theta0"].any() and mean_field["metric"] is None


@pytest.mark.parametrize("model, c", [("mean_field", C_MEAN_FIELD), ("time_scales", C_TIME_SCALES)])
def test_predicted_step_is_the_scipy_cliff_over_c_lr(model, c):
    # The compiled flow's cliff against scipy's: the same flow from the start counted here,
    # through phenom.flow's cliff search; step = t / (c · lr).
    for N, L, lr in ((8, 16, 0.5), (4, 32, 0.25), (2, 3, 1.0)):
        theta0, C = _start(N, L, model)
        cliff = induction_flow(theta0, N=N, L=L, t_max=2e4, metric=C).cliff()
        assert predicted_step(N, L, lr=lr, model=model) == pytest.approx(cliff / (c * lr), rel=1e-6)


def test_predicted_curves_are_the_flow_at_c_lr_step():
    # At lr = 0.25 network step s is flow time 0.62287272291 · 0.25 · s; the curves there are an
    # independent scipy solve of the time-scale flow.
    steps = np.array([0.0, 400.0, 1600.0, 2100.0, 3000.0])
    curves = predicted_curves(8, 32, lr=0.25, steps=steps)
    t = C_TIME_SCALES * 0.25 * steps
    np.testing.assert_allclose(curves.t, t, rtol=1e-15)
    theta = _scipy_flow(8, 32, "time_scales", t[-1], t_eval=t).y.T
    got = np.column_stack([curves.beta, curves.alpha, curves.xi])
    np.testing.assert_allclose(got, theta, rtol=1e-6, atol=1e-8)
    # P(correct) = e^{−loss}; at θ = θ₀ (β₀ only) the classifier is uniform: 1/L, N/L in context.
    np.testing.assert_allclose(curves.p_correct, np.exp(-curves.loss), rtol=1e-12)
    assert (curves.p_correct[0], curves.p_context[0]) == pytest.approx((1 / 32, 8 / 32), rel=1e-12)
    assert set(curves.columns()) == {"step", "t", "beta", "alpha", "xi", "loss", "p_correct", "p_context"}


def test_predicted_curves_rise_where_predicted_step_says():
    # By hand from t = c · lr · step: the step at which P(correct) reaches 1/2 is t½ / (c · lr),
    # t½ from an independent solve; halving lr doubles every step. The cliff (the predicted step)
    # and the midpoint of the rise are within 3% of each other at (8, 32).
    head = InductionHeadModel(8, 32)
    half = lambda t, th: head.p_correct(*th) - 0.5  # noqa: E731 - an event function
    half.terminal = True
    t_half = _scipy_flow(8, 32, "time_scales", 2e3, events=half).t_events[0][0]
    for lr in (0.5, 0.25):
        curves = predicted_curves(8, 32, lr=lr, samples=4001)
        assert curves.transition_step == pytest.approx(
            TIME_CONSTANTS["time_scales"]["flow_time"] / (C_TIME_SCALES * lr), rel=1e-8
        )
        assert curves.step[-1] == pytest.approx(2 * curves.transition_step, rel=1e-15)
        midpoint = transition_step(curves.step, curves.p_correct, 0.5)
        assert midpoint == pytest.approx(t_half / (C_TIME_SCALES * lr), rel=1e-4)
        assert abs(midpoint / curves.transition_step - 1) < 0.03


def test_predicted_step_remembers_flow_times_across_processes(tmp_path, monkeypatch):
    # The flow time kept on disk is step · c · lr (by hand), read back by a later process (here:
    # an emptied in-process cache) without integrating; a damaged file is integrated again.
    monkeypatch.setenv("PHENOM_CACHE", str(tmp_path))
    prediction._flow_time.cache_clear()
    try:
        step = predicted_step(4, 16, lr=0.25)
        (memo,) = tmp_path.glob("predicted_flow_times_*.json")
        assert json.loads(memo.read_text()) == {
            "time_scales 4 16": pytest.approx(step * C_TIME_SCALES * 0.25, rel=1e-14)
        }
        with monkeypatch.context() as m:
            m.setattr(prediction, "flow_transition_times", lambda *a, **k: pytest.fail("integrated again"))
            prediction._flow_time.cache_clear()
            assert predicted_step(4, 16, lr=0.5) == pytest.approx(step / 2, rel=1e-14)
        memo.write_text("{not json")
        prediction._flow_time.cache_clear()
        assert predicted_step(4, 16, lr=0.25) == pytest.approx(step, rel=1e-12)
        assert set(json.loads(memo.read_text())) == {"time_scales 4 16"}
    finally:
        prediction._flow_time.cache_clear()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"steps": [0.0, -1.0]}, "^steps must be >= 0"),
        ({"steps": [[0.0, 1.0]]}, r"^steps must be a non-empty 1-D array"),
        ({"steps": [0.0, np.nan]}, "^steps must be finite"),
        ({"samples": 1}, "^samples must be an integer >= 2"),
        ({"model": "exact"}, "^model must be one of"),
        ({"lr": -0.5}, "^lr must be a number from 1e-12 to 1e[+]12"),
    ],
)
def test_predicted_curves_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        predicted_curves(4, 16, **kwargs)


@pytest.mark.parametrize(
    "args, message",
    [
        ((1, 4), "^N must be an integer from 2 to 32"),
        ((33, 40), "^N must be an integer from 2 to 32"),
        ((4, 4), "^L must be an integer > N = 4"),
        ((4, 3), "^L must be an integer >= N = 4"),
        ((4, 2.5), "^L must be an integer"),
    ],
)
def test_predicted_step_rejects_counts_out_of_range(args, message):
    with pytest.raises(ValueError, match=message):
        predicted_step(*args)


@pytest.mark.parametrize(
    "option, message",
    [
        ({"D": 10}, "^D must be an integer >= L = 16"),
        ({"eps": -0.1}, "^eps must be"),
        ({"lr": 0.0}, "^lr must be a number from 1e-12 to 1e[+]12"),
        ({"batch_size": 0}, "^batch_size must be an integer >= 1"),
        ({"model": "exact"}, "^model must be one of"),
    ],
)
def test_predicted_step_rejects_options_out_of_range(option, message):
    with pytest.raises(ValueError, match=message):
        predicted_step(4, 16, **option)
