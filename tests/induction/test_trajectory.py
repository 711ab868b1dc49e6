"""Compiled trajectories (induction_flow on phenom.induction.fastflow) against independent solves:
scipy's DOP853 at rtol 1e-12 on the numpy gradient with its own event location, and scipy's RK45
at the same tolerances for the step control."""

import math

import numba
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from phenom import InductionHeadModel, induction_flow
from phenom.flow import Trajectory
from phenom.induction import fastflow
from phenom.induction.kernels import flow_module
from phenom.induction.model import grad, loss

T_MAX = 1000.0


def _reference(theta0, N, L, lr, C, t_max=T_MAX, value=1.0):
    """DOP853 at rtol 1e-12: dense solution, first time loss ≤ ½ log N, first crossing of ``value``
    by each parameter (either direction), and the cliff (largest interior maximum of |∇loss|)."""
    C = np.ones(3) if C is None else np.asarray(C, float)

    def rhs(t, y):
        return -lr * C * grad(y, N, L)

    model = InductionHeadModel(N, L)

    def speed_change(t, y):
        g = grad(y, N, L)
        return -g @ model.hessian(*y) @ (C * g)

    speed_change.direction = -1
    level = 0.5 * math.log(N)
    loss_event = lambda t, y: loss(y, N, L) - level  # noqa: E731
    loss_event.direction = -1
    crossings = [lambda t, y, k=k: y[k] - value for k in range(3)]
    sol = solve_ivp(
        rhs,
        (0, t_max),
        np.asarray(theta0, float),
        method="DOP853",
        rtol=1e-12,
        atol=1e-14,
        dense_output=True,
        events=[speed_change, loss_event, *crossings],
    )
    peaks = [(np.linalg.norm(grad(y, N, L)), t) for t, y in zip(sol.t_events[0], sol.y_events[0], strict=False)]
    ends = [np.linalg.norm(grad(sol.y[:, 0], N, L)), np.linalg.norm(grad(sol.y[:, -1], N, L))]
    best = max(peaks) if peaks else None
    cliff = best[1] if best and best[0] > max(ends) else None
    first = [float(ev[0]) if ev.size else None for ev in sol.t_events[1:]]
    if loss(np.asarray(theta0, float), N, L) <= level:
        first[0] = 0.0
    return sol.sol, cliff, first[0], dict(zip(("beta", "alpha", "xi"), first[1:], strict=False))


def _approx(got, expected, rel=1e-6):
    if expected is None:
        return got is None
    return got is not None and got == pytest.approx(expected, rel=rel)


def _batch(B, seed, with_metric):
    rng = np.random.default_rng(seed)
    N = rng.choice([2, 4, 8, 16], B)
    L = np.array([rng.integers(n + 1, 9 * n + 1) for n in N])
    lr = rng.choice([0.5, 1.0, 2.0], B)
    theta0 = rng.uniform(0.0, 0.5, (B, 3))
    C = rng.uniform(0.2, 2.0, (B, 3)) if with_metric else None
    return theta0, N, L, lr, C


@pytest.mark.parametrize("with_metric", [False, True])
@pytest.mark.parametrize("B, checked", [(1, [0]), (3, [0, 1, 2]), (40, [0, 13, 39])])
def test_trajectories_agree_with_a_tight_dop853_solve(B, checked, with_metric):
    # Batch sizes 1 and 3 run serially, 40 on threads: each member keeps its own steps either way.
    theta0, N, L, lr, C = _batch(B, seed=B + 10 * with_metric, with_metric=with_metric)
    flows = induction_flow(theta0, N=N, L=L, lr=lr, metric=C, t_max=T_MAX)
    assert isinstance(flows, list) and len(flows) == B
    times = np.random.default_rng(1).uniform(0.0, T_MAX, 40)
    for b in checked:
        traj, Cb = flows[b], None if C is None else C[b]
        assert traj.settings == {"N": N[b], "L": L[b]} and traj.lr == lr[b]
        dense, cliff, time_to, crossings = _reference(theta0[b], N[b], L[b], lr[b], Cb)
        exact = dense(times).T
        np.testing.assert_allclose(traj(times), exact, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(traj.loss_at(times), loss(exact, N[b], L[b]), rtol=1e-6, atol=1e-12)
        np.testing.assert_allclose(traj.theta, dense(traj.t).T, rtol=1e-6, atol=1e-9)
        assert _approx(traj.time_to(0.5 * math.log(N[b])), time_to), (b, traj.time_to(0.5 * math.log(N[b])), time_to)
        got = traj.crossing_times(1.0)
        assert all(_approx(got[k], crossings[k]) for k in got), (b, got, crossings)
        assert _approx(traj.cliff(), cliff), (b, traj.cliff(), cliff)


def test_t_eval_values_are_the_dense_interpolant_there():
    theta0, N, L, lr, C = _batch(5, seed=7, with_metric=True)
    grid = np.concatenate([[0.0], np.sort(np.random.default_rng(2).uniform(0, 300.0, 150)), [300.0]])
    dense = induction_flow(theta0, N=N, L=L, lr=lr, metric=C, t_max=300.0)
    kept = induction_flow(theta0, N=N, L=L, lr=lr, metric=C, t_max=300.0, t_eval=grid)
    for d, k in zip(dense, kept, strict=False):
        np.testing.assert_array_equal(k.t, grid)
        np.testing.assert_allclose(k.theta, d(grid), rtol=1e-14, atol=1e-300)
        np.testing.assert_allclose(k.loss, d.loss_at(grid), rtol=1e-14, atol=1e-300)
        assert k(grid[3]) == pytest.approx(k.theta[3], rel=0, abs=0)
        assert k.cliff() == d.cliff() and k.settings == d.settings and k.lr == d.lr

    # Between grid times: cubic Hermite on the flow's slopes, O(Δt⁴) away from the solver's own
    # extension: halving the grid's step divides the largest error by about 16.
    def largest_error(points):
        grid = np.linspace(0.0, 300.0, points)
        middle = 0.5 * (grid[1:] + grid[:-1])
        kept = induction_flow(theta0, N=N, L=L, lr=lr, metric=C, t_max=300.0, t_eval=grid)
        return np.array([np.abs(k(middle) - d(middle)).max() for d, k in zip(dense, kept, strict=False)])

    coarse, fine = largest_error(601), largest_error(1201)
    seen = coarse > 1e-7  # above the solver's own error (rtol 1e-9), where the grid's error shows
    assert seen.sum() >= 2 and np.all((coarse / fine)[seen] > 8) and np.all((coarse / fine)[seen] < 32), coarse / fine


def test_members_with_more_steps_than_reserved_are_integrated_again(monkeypatch):
    theta0, N, L, lr, C = _batch(6, seed=5, with_metric=True)
    roomy = induction_flow(theta0, N=N, L=L, lr=lr, metric=C, t_max=300.0)
    monkeypatch.setattr(fastflow, "MIN_ROWS", 8)
    monkeypatch.setattr(fastflow, "ROW_BUDGET", 1)  # 8 rows each: every member is integrated twice
    tight = induction_flow(theta0, N=N, L=L, lr=lr, metric=C, t_max=300.0)
    times = np.linspace(0.0, 300.0, 97)
    for a, b in zip(roomy, tight, strict=True):
        assert a.t.size > 8
        np.testing.assert_array_equal(a.t, b.t)
        np.testing.assert_array_equal(a.theta, b.theta)
        np.testing.assert_array_equal(a(times), b(times))


def test_t_eval_outside_the_grid_and_bad_grids():
    traj = induction_flow(N=8, L=32, t_max=300.0, t_eval=np.linspace(10.0, 200.0, 20))
    assert traj.t_max == 200.0
    for t in (5.0, 250.0):
        with pytest.raises(ValueError, match=r"^t must be times in \[10, t_max = 200\] \(at least one\)"):
            traj(t)
    for bad in ([5.0, 2.0], [1.0, 1.0], [-1.0, 2.0], [1.0, 301.0], [], [[1.0, 2.0]], [np.nan]):
        with pytest.raises(ValueError, match=r"^t_eval must"):
            induction_flow(N=8, L=32, t_max=300.0, t_eval=bad)


def test_step_factor_never_grows_right_after_a_rejection():
    # scipy's rule (RK45._step_impl): after err < 1, multiply by min(10, 0.9 err^(-1/5)), capped at
    # 1 if this step was rejected before; after err >= 1 (or NaN) by max(0.2, 0.9 err^(-1/5)).
    factor = flow_module().step_factor
    assert factor(0.5, False) == pytest.approx(0.9 * 2**0.2, rel=1e-15)
    assert factor(1e-3, False) == pytest.approx(0.9 * 1e3**0.2, rel=1e-15)
    assert factor(1e-6, False) == 10.0 and factor(0.0, False) == 10.0
    for err in (0.0, 1e-6, 1e-3, 0.5):  # below 0.9^5 the step would grow: after a rejection it stays
        assert factor(err, False) > 1.0 and factor(err, True) == 1.0
    assert factor(0.95, True) == pytest.approx(0.9 * 0.95**-0.2, rel=1e-15)  # already < 1: unchanged
    assert factor(32.0, False) == pytest.approx(0.45, rel=1e-15) == factor(32.0, True)
    assert factor(1e6, True) == 0.2 and factor(np.inf, False) == 0.2 and factor(np.nan, False) == 0.2


@pytest.mark.parametrize(
    "theta0, N, L, lr, C",
    [
        ((0.0, 0.0, 0.0), 8, 32, 1.0, (1.0, 1.0, 1.0)),
        ((0.3, 0.1, 0.2), 4, 16, 0.5, (0.02, 1.0, 0.25)),
        ((2.0, -1.0, 3.0), 4, 12, 1.0, (1.0, 1.0, 1.0)),
        ((5.0, 8.0, 10.0), 8, 32, 1.0, (1.0, 1.0, 1.0)),
    ],
)
def test_steps_are_those_of_scipy_rk45(theta0, N, L, lr, C):
    # Same pair, same initial step (with its Euler probe), same control: scipy's RK45 on the numpy
    # gradient takes the same accepted steps and the same number of attempts (nfev = 2 + 6 attempts).
    traj = induction_flow(theta0, N=N, L=L, lr=lr, metric=C, t_max=300.0)
    sol = solve_ivp(
        lambda t, y: -lr * np.asarray(C) * grad(y, N, L),
        (0, 300.0),
        np.asarray(theta0, float),
        method="RK45",
        rtol=1e-9,
        atol=1e-12,
    )
    assert traj.t.size == sol.t.size
    np.testing.assert_allclose(traj.t, sol.t, rtol=1e-5, atol=1e-12)
    assert traj._facts["steps"] + traj._facts["rejected"] == (sol.nfev - 2) // 6


def test_repr_is_short_and_says_what_the_flow_is():
    traj = induction_flow(N=8, L=32, t_max=300.0)
    text = repr(traj)
    assert text.startswith("Trajectory(beta, alpha, xi; N=8, L=32; lr=1; ") and "array" not in text
    assert f"{traj.t.size - 1} steps; t_max=300; final loss " in text and len(text) < 160
    cliff = float(text.split("cliff at t=")[1].rstrip(")"))
    assert cliff == pytest.approx(97.67592, rel=1e-5)  # the DOP853 cliff of test_fastflow
    final = float(text.split("final loss ")[1].split(";")[0])
    assert final == pytest.approx(float(loss(dense_end(traj), 8, 32)), rel=1e-5)
    assert "no cliff" in repr(induction_flow(N=8, L=32, t_max=50.0))  # still on the plateau
    kept = induction_flow(N=[4], L=[12], lr=[2.0], t_max=100.0, t_eval=[0.0, 50.0, 100.0])[0]
    assert repr(kept).startswith("Trajectory(beta, alpha, xi; N=4, L=12; lr=2; ") and "t_max=100" in repr(kept)


def dense_end(traj: Trajectory) -> np.ndarray:
    return traj(traj.t_max)


def test_the_callers_thread_count_is_left_as_it_was():
    theta0, N, L, lr, C = _batch(64, seed=3, with_metric=False)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one_thread = induction_flow(theta0, N=N, L=L, lr=lr, t_max=200.0, t_eval=[0.0, 100.0, 200.0])
        assert numba.get_num_threads() == 1
    finally:
        numba.set_num_threads(before)
    many = induction_flow(theta0, N=N, L=L, lr=lr, t_max=200.0, t_eval=[0.0, 100.0, 200.0])
    assert numba.get_num_threads() == before
    for a, b in zip(one_thread, many, strict=False):  # each member's arithmetic does not depend on the threads
        np.testing.assert_array_equal(a.theta, b.theta)
    assert fastflow._threads(1) == 1 and fastflow._threads(fastflow.PARALLEL_MIN - 1) == 1


def test_a_flow_that_cannot_finish_is_an_error():
    with pytest.raises(RuntimeError, match="^gradient flow failed: 1 of 1 flows"):
        induction_flow(N=8, L=32, max_steps=20)
    with pytest.raises(ValueError, match="^method must be 'RK45'"):
        induction_flow(N=8, L=32, method="LSODA")
