"""Every input of the flow, transition, prediction and time-scale surfaces gets a result or one
ValueError that names the argument, never another exception, a warning, an inf, or work and
memory beyond the stated bounds: the cases found by fuzzing, one by one, then property-based
fuzzing of each surface."""

import math
import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phenom.figures import registry as figures
from phenom.figures.cli import main
from phenom.induction import transition
from phenom.induction.fastflow import flow_quantities, trajectories
from phenom.induction.prediction import predicted_curves, predicted_step
from phenom.induction.timescales import initial_state, label_slot_shares, time_scales
from phenom.induction.transition import asymptotic_transition_time, flow_transition_times, gd_transition_steps


def _outcome(call, names):
    """Run ``call`` with every warning an error; return its result, or None after a ValueError
    whose message names one of ``names``."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return call()
        except ValueError as error:
            assert any(name in str(error) for name in names), f"{error} names none of {names}"
            assert "\n" not in str(error)
            return None


# -- the cases found, one by one ---------------------------------------------------------------


def _reference_flow():
    """One flow with its accepted steps and cliff (N = 8, L = 32 from θ = 0 at lr = 1), at the
    tolerances of :func:`flow_quantities`."""
    (traj,) = trajectories(N=8, L=32, t_max=300.0, rtol=1e-7, atol=1e-9)
    return traj


def test_a_flow_whose_last_step_ends_a_spacing_short_of_t_max_lands_on_it_and_keeps_its_cliff():
    # t_max one float spacing past an accepted step time t_k of a longer run: the same steps lead
    # to t_k, one spacing short. That step lands on t_max instead (k steps, not k + 1 with a last
    # one a spacing long), so the attempts that reach t_k finish the member, with the longer run's cliff.
    traj = _reference_flow()
    k = int(np.argmax(traj.t > 2 * traj.cliff()))
    t_max = float(np.nextafter(traj.t[k], np.inf))
    q = flow_quantities(N=8, L=32, t_max=t_max)
    assert q["complete"][0] and q["t_end"][0] == t_max and q["steps"][0] == k
    assert q["cliff"][0] == pytest.approx(traj.cliff(), rel=1e-12)
    rejected = traj._facts["rejected"]
    finished = [flow_quantities(N=8, L=32, t_max=t_max, max_steps=m)["complete"][0] for m in range(k, k + rejected + 2)]
    first = finished.index(True)  # the attempts that reach t_k: no extra attempt is needed after them
    assert first <= rejected and all(finished[first:]) and not any(finished[:first])
    assert flow_quantities(N=8, L=32, t_max=t_max, max_steps=k + first)["steps"][0] == k


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: asymptotic_transition_time(8, 32, (-1000, 0, 0)), "^theta0 must leave the plateau time"),
        (lambda: asymptotic_transition_time(8, 32, (0, -1000, 0)), "^theta0 must leave the plateau time"),
        (lambda: asymptotic_transition_time([2, 3], [4, 5, 6]), r"^N, L, theta0\[\.\.\., 0\] must broadcast"),
        (lambda: asymptotic_transition_time(8, 32, (0, 0, 2e6)), "^theta0 must hold numbers from -1e"),
        (lambda: flow_transition_times([4, 5], [8, 9, 10]), "^N, L, lr, theta0"),
        (lambda: flow_quantities(np.zeros((0, 3))), r"^theta0 must have shape \(3,\) or \(B, 3\) with B >= 1"),
        (lambda: flow_quantities(crossing=[1.0]), "^crossing must be a finite real number"),  # type: ignore[arg-type]
        (lambda: flow_quantities(levels="abc"), "^levels must be an array of finite real numbers"),
        (lambda: flow_quantities(levels={"a": 1}), "^levels must be an array of finite real numbers"),
        (lambda: flow_quantities(levels=[1j]), "^levels must be an array of finite real numbers"),
        (lambda: flow_quantities(levels=[[0.1]]), "^levels must be a finite number or a 1-D sequence"),
        (lambda: flow_quantities(rtol=1e-300), "^rtol must be >= 2.22e-14"),
        (lambda: flow_quantities(max_steps=10**9), "^max_steps must be an integer from 1 to 100000000"),
        (
            lambda: flow_quantities(np.broadcast_to(np.zeros(3), (5 * 10**6, 3))),
            r"^the batch \(theta0, N, L, metric, lr\) asks for arrays of 1.19 GiB, more than the bound of 1 GiB",
        ),
        (lambda: trajectories(np.zeros((40000, 3))), "^the batch's dense output .* more than the bound"),
        (lambda: gd_transition_steps(8, 32, 1e-3, (0, 0, 0), t_max=1e9), r"^t_max / lr = 1e\+12 steps exceeds"),
        (lambda: gd_transition_steps(8, 32, 5e-324, (0, 0, 0), t_max=1.0), r"^t_max / lr = inf steps exceeds"),
        (lambda: gd_transition_steps(8, 32, 1j, (0, 0, 0), t_max=1.0), "^lr must be an array of finite real"),
        (lambda: gd_transition_steps(8, 32, -(10**400), (0, 0, 0), t_max=1.0), "^lr must be finite"),
        (lambda: gd_transition_steps(8, 32, np.ones((2000, 1)), np.zeros((2000, 3)), t_max=1), "^lr and theta0"),
        (lambda: gd_transition_steps(8, 32, np.full(200, 0.01), np.zeros(3), t_max=1e4), "^the members' budgets"),
        (lambda: predicted_step(8, 32, lr=5e-324), "^lr must be a number from 1e-12 to 1e"),
        (lambda: predicted_step(8, 32, model=np.array(["mean_field"])), "^model must be one of"),  # type: ignore[arg-type]
        (lambda: initial_state(2**40), "^N must be an integer from 1 to 32"),
        (lambda: label_slot_shares(np.float16(40)), "^N must be an integer from 1 to 32"),  # type: ignore[arg-type]
    ],
)
def test_each_input_found_by_fuzzing_gets_one_value_error_naming_it(call, message):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=message):
            call()


def test_a_memory_bound_is_checked_before_a_broadcast_is_allocated():
    many = np.arange(2, 30000)
    with pytest.raises(ValueError, match="^the broadcast of N, L, lr, theta0 and metric .* more than the bound"):
        flow_transition_times(many[:, None], many[None, :] + 30000)
    with pytest.raises(ValueError, match="^the broadcast of N, L and theta0 asks for arrays of 53.6 GiB"):
        asymptotic_transition_time(many[:, None], many[None, :] + 30000)  # 8 arrays of 29998² floats


def test_a_narrow_numpy_count_is_its_number_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(initial_state(np.float16(8)), initial_state(8))
        np.testing.assert_array_equal(time_scales(np.float16(8), np.float16(32)), time_scales(8, 32))


def test_a_one_element_rate_sequence_is_that_rate():
    starts = np.zeros(3)
    got = gd_transition_steps(8, 32, (0.5,), starts, t_max=400.0)
    assert got.shape == (1,)
    np.testing.assert_array_equal(got, [gd_transition_steps(8, 32, 0.5, starts, t_max=400.0)])


def test_a_diverging_rate_is_nan_without_warnings():
    # lr = 1e308: the first step throws θ past float64; the transition step is NaN, and nothing warns.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = gd_transition_steps(8, 32, [1e308, 0.5], np.zeros(3), t_max=400.0)
    assert np.isnan(got[0]) and np.isfinite(got[1])


def test_the_formula_from_far_negative_and_positive_xi0_is_the_root_of_its_quadratic():
    # x0 t + A t²/2 = τ* with τ* from θ = 0 (the formula there: A t0²/2 = τ*): checked by substitution.
    N, L = 8, 32
    A = (L - N) / (L * (2 * N + 1))
    t0 = float(asymptotic_transition_time(N, L))
    tau = A * t0**2 / 2
    for x0 in (-1e6, -30.0, 0.0, 30.0, 1e6):
        t = float(asymptotic_transition_time(N, L, (0.0, 0.0, x0)))
        assert t > 0 and x0 * t + A * t * t / 2 == pytest.approx(tau, rel=1e-9, abs=1e-9 * abs(x0) * t)
    # β₀ = 800: the plateau has no length left (τ* underflows), the transition is at once.
    assert float(asymptotic_transition_time(N, L, (800.0, 0.0, 0.0))) == 0.0


def test_predicted_step_at_the_smallest_rate_is_a_finite_count():
    step = predicted_step(8, 32, lr=1e-12)
    assert math.isfinite(step) and step == pytest.approx(predicted_step(8, 32, lr=0.5) * 0.5e12, rel=1e-12)


def test_predicted_curves_refuse_flow_times_past_the_horizon():
    with pytest.raises(ValueError, match=r"^steps must be at most 1e\+06 / \(c · lr\)"):
        predicted_curves(8, 32, lr=1e12, steps=[0.0, 1.0])


@pytest.mark.parametrize(
    "option, value, named",
    [
        ("--t-max", "5e-324", "t_max"),
        ("--scale-max", "1e308", "scale_max"),
        ("--lr-max", "1e308", "lr_max"),
        ("--lr-min", "1e-7", "lr_min"),
        ("--gd-budget", "9007199254740993", "gd_budget"),
        ("--ratio-max", "100000", "ratio_max"),
        ("--lr-points", "100000000", "lr_points"),
    ],
)
def test_phase_options_that_would_fail_or_hang_exit_2_before_computing(
    option, value, named, capsys, monkeypatch, tmp_path
):
    monkeypatch.setattr(figures, "make", mock.Mock(side_effect=AssertionError("computed")))
    code = main(["phase", "--quick", f"{option}={value}", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and named in err and "Traceback" not in err


# -- property-based fuzzing --------------------------------------------------------------------

ODD = st.sampled_from(
    [None, True, "abc", 1j, (), [1.0], [[1.0]], {"a": 1}, np.float16(8), np.array(["x"]), 5e-324, 1e308, -0.0, 2**40]
)
NUMBER = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(min_value=1e-6, max_value=1e3),
    st.integers(min_value=0, max_value=64),
)
VALUE = st.one_of(NUMBER, ODD)
START = st.one_of(
    VALUE,
    st.lists(st.one_of(st.floats(min_value=-1e7, max_value=1e7), NUMBER), min_size=3, max_size=3),
    st.lists(st.floats(min_value=-5.0, max_value=5.0), min_size=3, max_size=3),
)
FAST = settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(theta0=START, N=VALUE, L=VALUE, lr=VALUE, t_max=VALUE, levels=st.one_of(VALUE, st.lists(NUMBER, max_size=3)))
def test_fuzz_flow_quantities(theta0, N, L, lr, t_max, levels):
    q = _outcome(
        lambda: flow_quantities(theta0, N=N, L=L, lr=lr, t_max=t_max, levels=levels, max_steps=2000),
        ("theta0", "N", "L", "lr", "t_max", "levels"),
    )
    if q is not None:
        assert np.all(np.isfinite(q["loss_end"])) and np.all(np.isfinite(q["theta_end"]))
        assert not np.any(np.isinf(q["cliff"])) and not np.any(np.isinf(q["time_to"]))
        finished = q["complete"]
        assert np.all(np.abs(q["t_end"][finished] - float(t_max)) <= 4 * np.spacing(float(t_max)))


@FAST
@given(N=VALUE, L=VALUE, theta0=START)
def test_fuzz_asymptotic_transition_time(N, L, theta0):
    t = _outcome(lambda: asymptotic_transition_time(N, L, theta0), ("N", "L", "theta0"))
    if t is not None:
        assert np.all(np.isfinite(t)) and np.all(t >= 0)


@FAST
@given(N=VALUE, L=VALUE, theta0=START, lr=VALUE, t_max=VALUE)
def test_fuzz_flow_transition_times(N, L, theta0, lr, t_max):
    # Short horizons keep the fuzz fast; NaN (no cliff before t_max) is a result, inf is not.
    horizon = t_max if not isinstance(t_max, float) or not t_max > 50 else 50.0
    t = _outcome(
        lambda: flow_transition_times(N, L, theta0, lr=lr, t_max=horizon, rtol=1e-6),
        ("N", "L", "theta0", "lr", "t_max"),
    )
    if t is not None:
        assert not np.any(np.isinf(t)) and np.all(t[np.isfinite(t)] > 0)


@FAST
@given(lr=st.one_of(VALUE, st.lists(NUMBER, min_size=1, max_size=3)), theta0=START, t_max=VALUE)
def test_fuzz_gd_transition_steps(lr, theta0, t_max):
    # The step budget lowered to 300 keeps the fuzz fast; the check is the same.
    with mock.patch.object(transition, "GD_MAX_STEPS", 300):
        steps = _outcome(lambda: gd_transition_steps(8, 32, lr, theta0, t_max=t_max), ("lr", "theta0", "t_max"))
    if steps is not None:
        done = steps[np.isfinite(steps)]
        assert not np.any(np.isinf(steps)) and np.all((done >= 1) & (done == np.round(done)) & (done < 300))


@FAST
@given(N=VALUE, L=VALUE, lr=VALUE, model=st.one_of(ODD, st.sampled_from(["mean_field", "time_scales", "x"])))
def test_fuzz_predicted_step(N, L, lr, model):
    step = _outcome(lambda: predicted_step(N, L, lr=lr, model=model), ("N", "L", "lr", "model"))
    if step is not None:
        assert math.isfinite(step) and step > 0


@FAST
@given(N=VALUE, L=VALUE)
def test_fuzz_time_scales_and_initial_state(N, L):
    for call, names in ((lambda: initial_state(N), ("N",)), (lambda: time_scales(N, L), ("N", "L"))):
        got = _outcome(call, names)
        if got is not None:
            assert got.shape == (3,) and np.all(np.isfinite(got))
