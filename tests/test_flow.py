"""Gradient flows: the generic integrator against closed forms, and the β, α, ξ model's dynamics."""

import math

import numpy as np
import pytest

from phenom import InductionHeadModel, gradient_flow, induction_flow

# --------------------------------------------------------------------------------------------
# The integrator and Trajectory on a loss with a closed-form flow: ½ Σ a_k θ_k²,
# θ_k(t) = θ_k(0) exp(−lr a_k t).

A = np.array([0.5, 1.0, 2.0])


def quad_loss(theta, k):
    return 0.5 * np.sum(A * np.asarray(theta) ** 2, axis=-1)


def quad_grad(theta, k):
    return A * np.asarray(theta)


def quad_flow(theta0, lr=1.0, t_max=10.0):
    return gradient_flow(quad_loss, quad_grad, theta0, t_max=t_max, lr=lr, names=("p", "q", "r"))


def test_dense_solution_matches_closed_form():
    theta0 = np.array([1.0, -2.0, 0.5])
    traj = quad_flow(theta0, lr=0.7)
    t = np.linspace(0, 10, 37)
    exact = theta0 * np.exp(-0.7 * np.outer(t, A))
    np.testing.assert_allclose(traj(t), exact, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(traj(3.0), theta0 * np.exp(-0.7 * 3.0 * A), rtol=1e-7)
    assert traj.t[0] == 0.0 and traj.t[-1] == 10.0
    np.testing.assert_allclose(traj.loss, quad_loss(traj.theta, 0), rtol=1e-15)


def test_time_to_and_crossing_times_closed_form():
    # One active coordinate: loss(t) = ½ a θ0² e^{−2 a t}; θ(t) = θ0 e^{−a t}.
    theta0 = np.array([0.0, 3.0, 0.0])
    traj = quad_flow(theta0, t_max=5.0)
    level = 0.01
    expected = math.log(0.5 * 1.0 * 9.0 / level) / 2.0
    assert traj.time_to(level) == pytest.approx(expected, rel=1e-7)
    assert traj.crossing_time("q", 1.0) == pytest.approx(math.log(3.0), rel=1e-7)
    assert traj.crossing_time("q", 4.0) is None  # never reached: it only decays
    assert traj.time_to(1e-30) is None  # not within t_max
    assert traj.time_to(100.0) == 0.0  # already below at t = 0
    times = traj.crossing_times(0.0)
    assert times["p"] == 0.0 and times["r"] == 0.0 and times["q"] is None


def test_batch_is_the_same_as_separate_flows():
    starts = np.array([[1.0, -2.0, 0.5], [0.3, 0.2, -0.1]])
    lrs = np.array([0.5, 2.0])
    batch = quad_flow(starts, lr=lrs)
    t = np.linspace(0, 10, 11)
    for traj, start, lr in zip(batch, starts, lrs, strict=False):
        np.testing.assert_allclose(traj(t), start * np.exp(-lr * np.outer(t, A)), rtol=1e-7, atol=1e-10)
        assert traj.lr == lr


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(t_max=0.0), "^t_max must be a finite number > 0"),
        (dict(t_max=-1.0), "^t_max must be a finite number > 0"),
        (dict(t_max=float("inf")), "^t_max must be a finite number > 0"),
        (dict(lr=0.0), "^lr must be a finite number > 0"),
        (dict(lr=-0.5), "^lr must be a finite number > 0"),
        (dict(lr=float("nan")), "^lr must be a finite number > 0"),
        (dict(theta0=(0.0, float("nan"), 0.0)), "^theta0 must be finite"),
        (dict(theta0=(0.0, 0.0)), r"^theta0 must have shape \(\.\.\., 3\)"),
    ],
)
def test_flow_bad_input(kwargs, message):
    args = dict(theta0=(0.0, 0.0, 0.0), t_max=10.0, lr=1.0) | kwargs
    with pytest.raises(ValueError, match=message):
        InductionHeadModel(8, 32).flow(**args)


def test_trajectory_rejects_times_outside_the_flow():
    traj = quad_flow(np.ones(3), t_max=2.0)
    for t in (3.0, -1.0, np.array([]), [0.5, 2.5]):
        with pytest.raises(ValueError, match=r"^t must be times in \[0, t_max = 2\] \(at least one\)"):
            traj(t)
    with pytest.raises(ValueError, match=r"^t must be an array of finite real numbers, got '1'"):
        traj("1")
    with pytest.raises(ValueError, match=r"^level must be one number, got \[1, 2\]"):
        traj.time_to([1, 2])
    with pytest.raises(ValueError, match=r"^value must be one number"):
        traj.crossing_time(traj.names[0], np.ones(2))


# --------------------------------------------------------------------------------------------
# The β, α, ξ model's flow


def _early_coefficients(N, L, lr):
    """Leading-order flow from θ = 0, by hand.

    ξ' = −lr ∂loss/∂ξ = lr c, c = (L−N)/(L(2N+1))                         ⇒ ξ ≈ lr c t
    α' = −lr y0 K ξ with K = ∂²loss/∂a∂ξ|0 = −[(N−1)/(2N+1) + 2N(L−N)/(2N+1)²]/L,
         y0 = 1/(N+1)                                                     ⇒ α ≈ −lr² y0 K c t²/2
    β' = −lr K ξ α y0',  y0' = dy/dβ|0 = N/(N+1)²                          ⇒ β ≈ lr⁴ y0 K² c² y0' t⁴/8
    """
    c = (L - N) / (L * (2 * N + 1))
    K = -((N - 1) / (2 * N + 1) + 2 * N * (L - N) / (2 * N + 1) ** 2) / L
    y0, dy0 = 1 / (N + 1), N / (N + 1) ** 2
    return lr**4 * y0 * K**2 * c**2 * dy0 / 8, -(lr**2) * y0 * K * c / 2, lr * c


@pytest.mark.parametrize("N,L,lr", [(8, 32, 1.0), (3, 7, 0.5), (2, 40, 2.0)])
def test_early_flow_matches_the_hand_expansion(N, L, lr):
    # ξ ∝ t, α ∝ t², β ∝ t⁴: ξ moves first, then α, then β. Corrections are O(t).
    # β is ~1e-12 here: an absolute tolerance far below it puts it under error control.
    traj = InductionHeadModel(N, L).flow(t_max=0.2, lr=lr, rtol=1e-12, atol=1e-30)
    kb, ka, kx = _early_coefficients(N, L, lr)
    for t in (0.05, 0.1):
        beta, alpha, xi = traj(t)
        assert xi == pytest.approx(kx * t, rel=2e-3)
        assert alpha == pytest.approx(ka * t**2, rel=2e-3)
        assert beta == pytest.approx(kb * t**4, rel=2e-3)


@pytest.mark.parametrize("metric", [(1.0, 1.0, 1.0), (2.0, 0.5, 0.1), (0.3, 4.0, 1.5)])
def test_early_flow_with_a_diagonal_metric(metric):
    # dθ/dt = −lr C ∇loss: each order of the hand expansion picks up the rates of the parameters
    # that drive it: ξ ∝ C_ξ, α ∝ C_α C_ξ, β ∝ C_β C_α C_ξ².
    N, L, lr = 8, 32, 1.0
    c_beta, c_alpha, c_xi = metric
    traj = induction_flow(N=N, L=L, t_max=0.2, lr=lr, metric=metric, rtol=1e-12, atol=1e-30)
    kb, ka, kx = _early_coefficients(N, L, lr)
    for t in (0.05, 0.1):
        beta, alpha, xi = traj(t)
        assert xi == pytest.approx(c_xi * kx * t, rel=2e-3)
        assert alpha == pytest.approx(c_alpha * c_xi * ka * t**2, rel=2e-3)
        assert beta == pytest.approx(c_beta * c_alpha * c_xi**2 * kb * t**4, rel=2e-3)


def test_a_uniform_metric_is_a_change_of_time():
    # C = c·I: θ_C(t) = θ_I(c t), so the cliff comes at t/c.
    plain = induction_flow(N=4, L=12, t_max=200.0)
    fast = induction_flow(N=4, L=12, t_max=100.0, metric=(2.0, 2.0, 2.0))
    np.testing.assert_allclose(fast(np.linspace(0, 100, 11)), plain(np.linspace(0, 200, 11)), rtol=1e-6, atol=1e-8)
    assert fast.cliff() == pytest.approx(plain.cliff() / 2, rel=1e-6)
    batch = induction_flow(N=[4, 4], L=[12, 12], t_max=100.0, metric=[(1.0, 1.0, 1.0), (2.0, 2.0, 2.0)])
    assert batch[1].cliff() == pytest.approx(fast.cliff(), rel=1e-6)
    for bad in [(1.0, 1.0), (1.0, 0.0, 1.0), (1.0, np.nan, 1.0)]:
        with pytest.raises(ValueError, match="^metric must"):
            induction_flow(N=[4, 4], L=[12, 12], t_max=1.0, metric=bad)
    with pytest.raises(ValueError, match="^theta0, N, L, metric and lr must have one length"):
        induction_flow(N=[4, 4], L=[12, 12], t_max=1.0, metric=[(1.0, 1.0, 1.0)] * 3)


@pytest.mark.parametrize("N,L", [(8, 32), (4, 9), (2, 16), (16, 64)])
def test_parameters_are_learned_in_sequence_xi_alpha_beta(N, L):
    traj = InductionHeadModel(N, L).flow(t_max=2000.0)
    for value in (0.5, 1.0, 2.0):
        times = traj.crossing_times(value)
        assert times["xi"] < times["alpha"] < times["beta"], (value, times)


def test_plateau_then_abrupt_drop():
    N, L = 8, 32
    traj = InductionHeadModel(N, L).flow(t_max=300.0)
    log_L = math.log(L)
    t_start = traj.time_to(0.9 * log_L)  # leaves the plateau
    t_end = traj.time_to(0.1 * log_L)  # at the bottom of the cliff
    assert t_start is not None and t_end is not None
    # A long plateau: less than 10% of the loss is shed over most of the run ...
    assert t_start > 50.0
    # ... then the loss falls from 90% to 10% of chance in a tenth of the plateau's length,
    assert t_end - t_start < 0.1 * t_start
    # and the cliff (max |∇loss|) lies inside that drop.
    assert t_start < traj.cliff() < t_end


def test_cliff_is_where_the_loss_falls_fastest():
    # Along a gradient flow dloss/dt = −lr |∇loss|², so max |∇loss| is max |dloss/dt|.
    traj = InductionHeadModel(8, 32).flow(t_max=300.0)
    t = np.linspace(0.0, 300.0, 300_001)
    rate = -np.gradient(traj.loss_at(t), t)
    assert traj.cliff() == pytest.approx(t[np.argmax(rate)], abs=2e-3)


@pytest.mark.parametrize("N", [1, 2, 8])
def test_L_equal_N_never_leaves_the_origin(N):
    traj = InductionHeadModel(N, N).flow(t_max=1e4)
    assert np.all(traj.theta == 0.0)
    np.testing.assert_allclose(traj.loss, math.log(N), rtol=1e-15, atol=1e-300)
    assert traj.time_to(0.99 * math.log(N)) is None if N > 1 else traj.time_to(0.0) == 0.0
    assert traj.cliff() is None


def test_batched_pairs_equal_separate_flows():
    pairs = [(2, 5), (4, 9), (8, 32)]
    batch = induction_flow(N=[p[0] for p in pairs], L=[p[1] for p in pairs], t_max=200.0)
    t = np.linspace(0.0, 200.0, 41)
    for (N, L), traj in zip(pairs, batch, strict=False):
        alone = InductionHeadModel(N, L).flow(t_max=200.0)
        assert traj.settings == {"N": N, "L": L}
        np.testing.assert_allclose(traj(t), alone(t), rtol=1e-6, atol=1e-8)


def test_one_element_sequences_are_a_batch_of_one():
    flows = induction_flow(N=[8], L=[8], t_max=10.0)
    assert isinstance(flows, list) and len(flows) == 1 and flows[0].settings == {"N": 8, "L": 8}
    assert isinstance(induction_flow(N=8, L=8, t_max=10.0), type(flows[0]))


def test_no_cliff_inside_the_window():
    m = InductionHeadModel(8, 32)
    assert m.flow(t_max=50.0).cliff() is None  # still on the plateau at t_max
    assert m.flow((5.0, 8.0, 10.0), t_max=50.0).cliff() is None  # starts past the cliff


def test_dense_evaluation_keeps_the_shape_of_t():
    traj = InductionHeadModel(4, 12).flow(t_max=10.0)
    t = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    out = traj(t)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out[1, 2], traj(5.0))
    with pytest.raises(ValueError, match="^level must be finite"):
        traj.time_to(float("nan"))


def test_batched_initial_conditions():
    starts = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.5], [2.0, -1.0, 3.0]])
    batch = induction_flow(starts, N=4, L=12, t_max=50.0)
    for start, traj in zip(starts, batch, strict=False):
        np.testing.assert_array_equal(traj.theta[0], start)
        alone = InductionHeadModel(4, 12).flow(start, t_max=50.0)
        np.testing.assert_allclose(traj(np.linspace(0, 50, 11)), alone(np.linspace(0, 50, 11)), rtol=1e-6, atol=1e-8)


def test_transition_is_later_as_L_approaches_N():
    # ξ's initial drive (L−N)/(L(2N+1)) shrinks as L → N, so the cliff comes later.
    Ls = [9, 10, 12, 16, 32]
    times = [traj.cliff() for traj in induction_flow(N=[8] * len(Ls), L=Ls, t_max=1000.0)]
    assert all(a > b for a, b in zip(times, times[1:], strict=False))


def test_batched_bad_pairs_name_the_argument():
    with pytest.raises(ValueError, match="^L must be an integer >= N = 8"):
        induction_flow(N=[8, 8], L=[32, 4], t_max=1.0)
    with pytest.raises(ValueError, match=r"must have one length \(or 1\), the batch size; got lengths \[2, 3\]"):
        induction_flow(np.zeros((2, 3)), N=[2, 3, 4], L=[5, 5, 5], t_max=1.0)
    with pytest.raises(ValueError, match=r"must have one length \(or 1\), the batch size; got lengths \[2, 3\]"):
        induction_flow(N=[2, 3], L=[5, 5, 5], t_max=1.0)
