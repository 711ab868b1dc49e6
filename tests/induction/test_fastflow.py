"""The compiled per-member flows (phenom.induction.fastflow) against an independent tight-tolerance solve:
scipy's DOP853 at rtol 1e-12 on the numpy gradient, with its own event location."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from phenom import InductionHeadModel
from phenom.induction.fastflow import flow_quantities
from phenom.induction.model import induction_flow

CASES = [  # N, L, θ0, C, lr, t_max
    (8, 32, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), 1.0, 300.0),
    (4, 16, (0.3, 0.1, 0.2), (0.02, 1.0, 0.25), 0.5, 3000.0),
    (2, 3, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), 1.0, 200.0),
    (16, 128, (0.64, 0.0, 0.0), (0.0205, 1.0, 0.0884), 1.0, 5000.0),
]


def _reference(N, L, theta0, C, lr, t_max, level, value):
    m = InductionHeadModel(N, L)
    C = np.asarray(C)

    def rhs(t, y):
        return -lr * C * m.grad(*y)

    def speed_change(t, y):
        g = m.grad(*y)
        return -g @ m.hessian(*y) @ (C * g)

    speed_change.direction = -1
    loss_event = lambda t, y: m.loss(*y) - level  # noqa: E731
    loss_event.direction = -1
    crossings = [lambda t, y, k=k: y[k] - value for k in range(3)]
    for f in crossings:
        f.direction = 1
    sol = solve_ivp(
        rhs,
        (0, t_max),
        np.asarray(theta0, float),
        method="DOP853",
        rtol=1e-12,
        atol=1e-14,
        events=[speed_change, loss_event, *crossings],
    )
    peaks = [(np.linalg.norm(m.grad(*y)), t) for t, y in zip(sol.t_events[0], sol.y_events[0], strict=False)]
    ends = [np.linalg.norm(m.grad(*sol.y[:, 0])), np.linalg.norm(m.grad(*sol.y[:, -1]))]
    best = max(peaks) if peaks else None
    cliff = best[1] if best and best[0] > max(ends) else np.nan
    first = [ev[0] if ev.size else np.nan for ev in sol.t_events[1:]]
    return cliff, first[0], np.array(first[1:]), sol.y[:, -1]


@pytest.mark.parametrize("case", CASES)
def test_transition_times_agree_with_a_tight_solve(case):
    N, L, theta0, C, lr, t_max = case
    out = flow_quantities(theta0, N=N, L=L, metric=C, lr=lr, t_max=t_max, levels=[1.0], crossing=1.0)
    cliff, time_to, crossing, end = _reference(N, L, theta0, C, lr, t_max, 1.0, 1.0)
    assert np.isfinite(cliff) and out["cliff"][0] == pytest.approx(cliff, rel=1e-6)
    assert out["time_to"][0, 0] == pytest.approx(time_to, rel=1e-6)
    np.testing.assert_allclose(out["crossing_times"][0], crossing, rtol=1e-6)
    np.testing.assert_allclose(out["theta_end"][0], end, rtol=1e-6)
    assert out["t_end"][0] == t_max and out["steps"][0] > 10


def test_members_are_independent_and_chunks_change_nothing():
    rng = np.random.default_rng(3)
    B = 40
    N = rng.choice([2, 4, 8], B)
    L = np.array([rng.integers(n + 1, 9 * n + 1) for n in N])
    theta0 = rng.uniform(0, 0.5, (B, 3))
    whole = flow_quantities(theta0, N=N, L=L, t_max=400.0, levels=[1.0, 0.5])
    chunked = flow_quantities(theta0, N=N, L=L, t_max=400.0, levels=[1.0, 0.5], chunk=7)
    for k in whole:
        np.testing.assert_array_equal(whole[k], chunked[k])
    alone = flow_quantities(theta0[5], N=N[5], L=L[5], t_max=400.0, levels=[1.0, 0.5])
    np.testing.assert_array_equal(alone["cliff"], whole["cliff"][5:6])
    # The cliffs agree with the dense-output trajectories of induction_flow (their own grid search).
    flows = induction_flow(theta0[:6], N=N[:6], L=L[:6], t_max=400.0)
    np.testing.assert_allclose(whole["cliff"][:6], [f.cliff() for f in flows], rtol=1e-5)


def test_no_interior_maximum_is_nan():
    # On the plateau at t_max (the cliff comes later), and at L = N (θ = 0 is stationary: the
    # gradient is zero and never grows).
    out = flow_quantities(N=[8, 8], L=[32, 8], t_max=[20.0][0])
    assert np.isnan(out["cliff"]).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(N=4, L=3), "^L must be an integer >= N = 4"),
        (dict(metric=(1.0, 0.0, 1.0)), "^metric must hold numbers > 0"),
        (dict(lr=-1.0), "^lr must be a finite number > 0"),
        (dict(t_max=0.0), "^t_max must be a finite number > 0"),
        (dict(N=[4, 8], L=[16, 16, 16]), "^theta0, N, L, metric and lr must have one length"),
        (dict(theta0=(0.0, np.nan, 0.0)), "^theta0 must"),
        (dict(N=8.5), "^N must be an integer >= 1"),
        (dict(atol=0.0), "^atol must be a finite number > 0"),
        (dict(rtol=-1.0), "^rtol must be a finite number > 0"),
        (dict(rtol=1e-15), "^rtol must be >= 2.22e-14"),
        (dict(levels=[np.nan]), "^levels must be finite"),
        (dict(crossing=-np.inf), "^crossing must be a finite real number"),
        (dict(lr=[]), "^lr must be a number or a non-empty 1-D sequence"),
        (dict(max_steps=0), "^max_steps must be an integer from 1 to 100000000"),
    ],
)
def test_bad_input_names_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        flow_quantities(**kwargs)


def test_a_cliff_in_the_last_step_is_found():
    # The cliff of (8, 32) from 0 is at t ≈ 97.676 (the tight solve above): horizons just past it
    # put it inside the last step, where no later step shows the downturn.
    for dt in (0.05, 0.1, 1.0):
        out = flow_quantities(N=8, L=32, t_max=97.6759 + dt)
        assert out["cliff"][0] == pytest.approx(97.67592, rel=1e-6)


def test_members_that_cannot_finish_say_so():
    # A budget of 20 attempted steps stops short of t_max; an lr at the top of the float range makes
    # the velocity overflow, so every step fails until the step size is below the spacing of floats.
    short = flow_quantities(N=8, L=32, max_steps=20)
    assert not short["complete"][0] and short["t_end"][0] < 300.0 and np.isnan(short["cliff"][0])
    wild = flow_quantities(N=8, L=32, lr=1.7e308)
    assert not wild["complete"][0]
    assert flow_quantities(N=8, L=32)["complete"][0]


@pytest.mark.parametrize("lr", [1e-3, 1e20, 1e200])
def test_a_learning_rate_is_a_change_of_time(lr):
    # θ_lr(t) = θ_1(lr t): the cliff of (8, 32) from 0 (97.67592 by the tight solve above) comes at
    # 97.67592 / lr. scipy's initial step (d2 from an Euler probe) and step growth follow any time scale.
    out = flow_quantities(N=8, L=32, lr=lr, t_max=300.0 / lr)
    assert out["complete"][0] and out["cliff"][0] == pytest.approx(97.67592 / lr, rel=1e-6)
