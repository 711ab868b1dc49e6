"""The time-scale model's counting (phenom.induction.timescales): label-slot shares and the
untrained network's effective state by hand and by a separate count, the one modelling choice
(C_ξ = 1/√L) pinned with what can be derived of it, the balanced product's rate against sympy, and
an equal-norm start against an independent integration of the factors."""

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from independent import label_slot_sum_of_squares, untrained_beta
from scipy.integrate import solve_ivp

from phenom.induction.timescales import POSITIONS, initial_state, label_slot_shares, time_scales
from phenom.nets import AttentionNetwork, CopyingTask
from phenom.nets.tasks import POSITIONS as TASK_POSITIONS


def test_label_slot_shares_by_hand():
    # N = 1: offsets 0..62, the label at offset + 1: slots 1..63 once each.
    f1 = label_slot_shares(1)
    assert f1[0] == 0 and f1[64] == 0 and f1[1:64] == pytest.approx(np.full(63, 1 / 63), rel=1e-15)
    # N = 2: offsets 0..60, labels at offset + 1 and + 3: slots 3..61 twice, 1, 2, 62, 63 once;
    # 122 occurrences, Σ f² = (59·4 + 4)/122².
    assert time_scales(2, 3)[0] == pytest.approx(float(Fraction(240, 122**2)), rel=1e-14)
    # N = 32: one offset, the labels at the 32 odd slots: Σ f² = 1/32.
    assert time_scales(32, 40)[0] == pytest.approx(1 / 32, rel=1e-14)
    # The README's rounded values: 1/62 at N = 2, 1/49 at N = 16.
    assert (round(1 / time_scales(2, 3)[0]), round(1 / time_scales(16, 20)[0])) == (62, 49)
    for N in (1, 5, 16):
        assert label_slot_shares(N).sum() == pytest.approx(1.0, rel=1e-14)
    with pytest.raises(ValueError, match="^N must be an integer from 1 to 32"):
        label_slot_shares(33)
    with pytest.raises(ValueError, match="^L must be an integer >= N = 4"):
        time_scales(4, 3)


@pytest.mark.parametrize("N", range(1, 33))
def test_C_beta_is_a_separate_count_of_label_slots(N):
    # Every (offset, pair) counted on its own (tests/independent.py), against the shares' sum.
    assert time_scales(N, N + 1)[0] == pytest.approx(label_slot_sum_of_squares(N), rel=1e-13)
    assert initial_state(N) == pytest.approx([untrained_beta(N), 0.0, 0.0], rel=1e-14, abs=1e-15)


def _time_to_half(ru, rv, theta0=1e-3):
    """θ = u·v with du/dt = r_u v (1 − θ), dv/dt = r_v u (1 − θ), from the balanced orbit
    v²/r_v = u²/r_u at θ₀: the time at which θ = 1/2."""
    u0 = np.sqrt(theta0 * np.sqrt(ru / rv))
    event = lambda t, y: y[0] * y[1] - 0.5  # noqa: E731
    event.terminal = True
    sol = solve_ivp(
        lambda t, y: [ru * y[1] * (1 - y[0] * y[1]), rv * y[0] * (1 - y[0] * y[1])],
        (0, 1e4),
        [u0, theta0 / u0],
        events=event,
        rtol=1e-11,
        atol=1e-14,
    )
    return sol.t_events[0][0]


def test_time_scales_pin_the_chosen_form_C_alpha_1_and_C_xi_one_over_sqrt_L():
    """A pinned modelling choice, not a count: C_ξ = 1/√L was chosen because the network's measured
    rate of ξ falls as about L^(−1/2) (growth figure); counting alone allows 1/L as well. C_α = 1
    is counted (items are fresh in every sequence). What follows from the choice is derived: the
    read-out row of a label is pushed by 1/L of the sequences and V2 by all of them (one map for
    every label), and a balanced product of factors with shares (1/L, 1) moves at the rate the
    integrated factors give, √(1/L) times the shared rate."""
    assert time_scales(4, 16)[1:] == pytest.approx([1.0, 0.25], rel=1e-15)
    assert time_scales(8, 9)[2] == pytest.approx(1 / 3, rel=1e-15)
    for L in (4, 16, 64):
        slowdown = _time_to_half(1 / L, 1.0) / _time_to_half(1.0, 1.0)
        assert time_scales(2, L)[2] == pytest.approx(1 / slowdown, rel=1e-7)
        assert time_scales(2, L)[2] != pytest.approx(1 / L)  # the other count C_ξ = 1/L is not taken


def test_position_slots_are_the_networks():
    # The counting's 65 slots are the sequence task's, though the theory does not import it.
    assert POSITIONS == TASK_POSITIONS == 65


def test_initial_state_by_hand_and_in_the_network():
    # y = H_N/(2N): N = 1 → 1/2, β₀ = log 1 = 0; N = 2 → 3/8, β₀ = log(2·(3/8)/(5/8)) = log 1.2;
    # N = 8 → H_8 = 761/280, y = 761/4480, β₀ = log(8·761/(4480 − 761)).
    assert initial_state(1) == pytest.approx([0.0, 0.0, 0.0], abs=1e-15)
    assert initial_state(2)[0] == pytest.approx(np.log(1.2), rel=1e-14)
    assert initial_state(8)[0] == pytest.approx(np.log(float(Fraction(8 * 761, 4480 - 761))), rel=1e-14)
    # A network whose queries are zero attends uniformly; its effective state is exactly θ₀.
    task = CopyingTask(N=5, L=11, D=16)
    net = AttentionNetwork.init(task, "linear", seed=0, dtype=np.float64)
    net.weights["Q1"][:] = 0
    net.weights["Q2"][:] = 0
    m = net.metrics(task.sample(32, np.random.default_rng(1), dtype=np.float64), task)
    assert (m["beta"], m["alpha"]) == pytest.approx(tuple(initial_state(5)[:2]), abs=1e-12)


def test_balanced_product_moves_at_the_geometric_mean_of_its_factors_rates():
    # Symbolically: on the orbit v²/r_v = u²/r_u, d(uv)/dt = 2 √(r_u r_v) uv g, and the orbit is
    # conserved by du/dt = r_u v g, dv/dt = r_v u g.
    r_u, r_v, v, g = sp.symbols("r_u r_v v g", positive=True)
    u = sp.sqrt(r_u / r_v) * v
    du, dv = r_u * v * g, r_v * u * g
    assert sp.simplify(du * v + u * dv - 2 * sp.sqrt(r_u * r_v) * u * v * g) == 0
    U, V = sp.symbols("U V")
    assert (
        sp.simplify(
            sp.diff(V**2 / r_v - U**2 / r_u, V) * r_v * U * g + sp.diff(V**2 / r_v - U**2 / r_u, U) * r_u * V * g
        )
        == 0
    )

    # Numerically: a product of a factor seen by 1/L of the data and a shared one reaches θ = 1/2
    # (g = 1 − θ) √L times later than a product of two shared factors, from the same θ₀.
    for L in (4, 16, 64):
        assert _time_to_half(1 / L, 1.0) / _time_to_half(1.0, 1.0) == pytest.approx(np.sqrt(L), rel=1e-7)


def test_an_equal_norm_start_approaches_the_balanced_slowdown_from_below():
    """The network starts its factors at equal norms, not on the balanced orbit: the slowdown of a
    product with shares (1/L, 1) is below √L and tends to it as the start shrinks."""

    def time_to_half(ru, rv, a):
        event = lambda t, y: y[0] * y[1] - 0.5  # noqa: E731
        event.terminal = True
        sol = solve_ivp(
            lambda t, y: [ru * y[1] * (1 - y[0] * y[1]), rv * y[0] * (1 - y[0] * y[1])],
            (0, 1e7),
            [a, a],
            events=event,
            rtol=1e-10,
            atol=1e-15,
        )
        return sol.t_events[0][0]

    L = 64
    slowdown = [time_to_half(1 / L, 1.0, a) / time_to_half(1.0, 1.0, a) for a in (0.3, 0.1, 1e-2, 1e-4)]
    assert np.all(np.diff(slowdown) > 0) and slowdown[-1] < np.sqrt(L)
    assert slowdown[-1] == pytest.approx(np.sqrt(L), rel=0.06)
    assert slowdown[1] == pytest.approx(0.79 * np.sqrt(L), rel=0.01)
