"""The flow's transition time (phenom.induction.transition): the early-time coefficients against the hand
expansion, the early-time solution against a tight solve of the full flow, the reduced system's
blow-up against numeric integration and quadrature, the formula against the numeric cliff, and
discrete gradient descent against a plain loop and against the flow."""

import json

import numpy as np
import pytest
import sympy as sp
from scipy.integrate import quad, solve_ivp

from phenom.induction import transition
from phenom.induction.model import InductionHeadModel, L_sym, N_sym
from phenom.induction.transition import (
    asymptotic_transition_time,
    closed_form_coefficients,
    early_time_coefficients,
    flow_transition_times,
    formula_text,
    gd_transition_steps,
    transition_time_expr,
)


def _hand(N, L):
    """By hand: to first order in ξ the loss is log L − ξ F(w), w = αy, F = ((N−1)(z − z') + (L−N) z)/L,
    so A = F(0), B = y₀ F'(0), C = y₀(1 − y₀) F'(0), with y₀ = 1/(N+1), z = z' = c = 1/(2N+1) and
    F'(0) = c((N−1) + (L−N)(1−c))/L."""
    c, y0 = sp.Rational(1, 1) / (2 * N + 1), sp.Rational(1, 1) / (N + 1)
    F1 = c * ((N - 1) + (L - N) * (1 - c)) / L
    return (L - N) * c / L, y0 * F1, y0 * (1 - y0) * F1


def test_coefficients_are_the_hand_expansion():
    coefficients = early_time_coefficients()
    for got, want in zip((coefficients[k] for k in "ABC"), _hand(N_sym, L_sym), strict=True):
        assert sp.simplify(got - want) == 0


def test_closed_forms_are_the_derivation():
    # The numbers the formula uses are the derived coefficients, identically in N and L.
    derived = early_time_coefficients()
    for got, name in zip(closed_form_coefficients(N_sym, L_sym), "ABC", strict=True):
        assert sp.simplify(got - derived[name]) == 0


def test_formula_needs_no_symbolic_work(monkeypatch):
    def refuse():
        raise AssertionError("derived symbolically")

    monkeypatch.setattr(transition, "early_time_coefficients", refuse)
    monkeypatch.setattr(transition, "transition_time_expr", refuse)
    monkeypatch.setattr(transition, "derive", refuse)
    A, B, C = (float(v) for v in _hand(8, 32))
    t = (2 * np.pi) ** 0.25 * A**-0.5 * (B * C) ** -0.25  # t* = (2π)^{1/4} A^{−1/2} (BC)^{−1/4}
    assert asymptotic_transition_time(8, 32) == pytest.approx(t, rel=1e-14)


def test_formula_text_is_the_derivation_printed_and_a_damaged_cache_is_derived_again(tmp_path, monkeypatch):
    # The cached strings are sympy's printing of the derivation; each parses back to an expression
    # identical to the hand expansion (A, B, C) and to t* = (2π)^{1/4} A^{−1/2} (BC)^{−1/4}.
    monkeypatch.setenv("PHENOM_CACHE", str(tmp_path))
    text = formula_text()
    A, B, C = _hand(N_sym, L_sym)
    symbols = {"N": N_sym, "L": L_sym}
    for name, want in (("A", A), ("B", B), ("C", C)):
        assert sp.simplify(sp.sympify(text[name], locals=symbols) - want) == 0
    t_star = sp.sympify(text["t_star"], locals=symbols)
    assert sp.simplify(t_star**4 - 2 * sp.pi / (A**2 * B * C)) == 0
    (cached,) = tmp_path.glob("phenom_formula_*.json")
    assert formula_text() == text  # read back
    cached.write_text("{damaged")
    assert formula_text() == text and json.loads(cached.read_text()) == text  # derived again and replaced


def test_early_time_solution_against_a_tight_solve():
    # ξ = A t, α = A B t²/2, β = A²BC t⁴/8 to leading order: at t = 0.5 and 1 the ratios are 1 up to
    # corrections linear in t (the ratio's deviation halves with t).
    N, L = 8, 32
    A, B, C = (float(v) for v in _hand(N, L))
    model = InductionHeadModel(N, L)
    sol = solve_ivp(
        lambda t, th: -model.grad(*th),
        (0, 1.0),
        [0.0, 0.0, 0.0],
        rtol=1e-12,
        atol=1e-30,
        dense_output=True,
        method="DOP853",
    )
    deviation = []
    for t in (0.5, 1.0):
        beta, alpha, xi = sol.sol(t)
        ratios = np.array([xi / (A * t), alpha / (A * B * t**2 / 2), beta / (A**2 * B * C * t**4 / 8)])
        deviation.append(np.abs(ratios - 1))
    assert np.all(deviation[1] < 0.05)
    assert np.all(deviation[0] < 0.6 * deviation[1])


@pytest.mark.parametrize("N, L", [(2, 3), (8, 32), (32, 512)])
def test_reduced_system_blows_up_at_the_formula_time(N, L):
    A, B, C = (float(v) for v in _hand(N, L))

    def reduced(tau, y):  # dα/dτ = B e^β, dβ/dτ = C α e^β
        alpha, beta = y
        grow = np.exp(min(beta, 700.0))  # trial steps past the blow-up must not overflow
        return [B * grow, C * alpha * grow]

    escape = lambda tau, y: y[0] - 6.0  # noqa: E731 - the τ left beyond is below 1e-6 of the total
    escape.terminal = True
    sol = solve_ivp(
        reduced, (0, 10 / np.sqrt(B * C)), [0.0, 0.0], events=escape, rtol=1e-12, atol=1e-14, method="DOP853"
    )
    t_star = np.sqrt(2 * sol.t_events[0][0] / A)
    assert asymptotic_transition_time(N, L) == pytest.approx(t_star, rel=2e-6)
    expr = float(transition_time_expr().subs({N_sym: N, L_sym: L}))
    assert expr == pytest.approx(t_star, rel=2e-6)


def test_start_from_any_theta0_by_quadrature():
    N, L = 8, 32
    A, B, C = (float(v) for v in _hand(N, L))
    for b0, a0, x0 in [(0.3, 0.7, 0.2), (-1.0, 2.5, 0.0), (0.0, 0.0, 3.0), (1.0, -0.5, -0.4)]:
        tau = quad(
            lambda a, b0=b0, a0=a0: np.exp(-(b0 + C / (2 * B) * (a**2 - a0**2))) / B, a0, np.inf, epsabs=0, epsrel=1e-12
        )[0]
        t = (-x0 + np.sqrt(x0**2 + 2 * A * tau)) / A  # x0 t + A t²/2 = τ*
        assert asymptotic_transition_time(N, L, (b0, a0, x0)) == pytest.approx(t, rel=1e-9)


def test_formula_against_the_numeric_cliff():
    # Measured (the phase figure): the formula is 1–3% high away from L = N + 1, up to 12% there.
    N = np.array([8, 32, 4, 16, 32])
    L = np.array([32, 512, 64, 17, 33])
    err = asymptotic_transition_time(N, L) / flow_transition_times(N, L) - 1
    assert np.all(err[:3] > 0) and np.all(err[:3] < 0.04)
    assert np.all((err[3:] > 0.05) & (err[3:] < 0.15))


def test_gradient_descent_against_a_plain_loop_and_the_flow():
    N, L = 4, 16
    model = InductionHeadModel(N, L)
    lr, theta0, t_max = 0.7, np.array([0.2, 0.1, 0.3]), 80.0
    theta, norms = theta0.copy(), []
    for _ in range(int(np.ceil(t_max / lr)) + 1):
        g = model.grad(*theta)
        norms.append(np.linalg.norm(g))
        theta = theta - lr * g
    got = gd_transition_steps(N, L, [lr, 0.01], np.array([theta0, theta0]), t_max=t_max)
    assert got[0] == int(np.argmax(norms))
    flow = flow_transition_times(N, L, theta0)
    assert got[1] * 0.01 == pytest.approx(float(flow), rel=2e-3)  # GD's step × lr → the flow's time


def test_flow_transition_times_are_the_scipy_cliffs():
    # The compiled cliff against phenom.flow's search on scipy's dense solution; L = N never moves.
    times = flow_transition_times([8, 8], [32, 8], t_max=400.0)
    assert times[0] == pytest.approx(InductionHeadModel(8, 32).flow(t_max=400.0).cliff(), rel=1e-6)
    assert np.isnan(times[1])
    theta0, C = np.array([0.5, 0.2, 0.1]), np.array([0.05, 1.0, 0.25])
    scipy_cliff = InductionHeadModel(4, 16).flow(theta0, t_max=2e3, metric=C).cliff()
    assert float(flow_transition_times(4, 16, theta0, metric=C, t_max=2e3)) == pytest.approx(scipy_cliff, rel=1e-6)


def test_flow_transition_times_broadcast_and_rescale():
    # N (2, 1) against L (3,) give a (2, 3) table; θ(t) under lr is θ(lr t) under 1, so the cliff
    # at lr = 2 is half the cliff at lr = 1, and one rate C for all three parameters acts as lr.
    N, L = np.array([[4], [8]]), np.array([16, 24, 32])
    table = flow_transition_times(N, L)
    assert table.shape == (2, 3)
    for i, n in enumerate((4, 8)):
        for j, labels in enumerate((16, 24, 32)):
            assert table[i, j] == pytest.approx(float(flow_transition_times(n, labels)), rel=1e-12)
    halved = flow_transition_times(8, 32, lr=[1.0, 2.0])
    assert halved[1] == pytest.approx(halved[0] / 2, rel=1e-8)
    assert float(flow_transition_times(8, 32, metric=[2.0, 2.0, 2.0])) == pytest.approx(halved[1], rel=1e-8)
    rows = flow_transition_times(8, 32, np.zeros((2, 3)), metric=[[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])
    assert rows == pytest.approx(halved, rel=1e-12)


def test_gradient_descent_broadcasts_rates_against_starts():
    # Rates (3, 1) against starts (2, 3): every rate with every start, each the plain loop's step.
    N, L, t_max = 4, 16, 150.0  # the cliffs fall near t = 60: inside every budget
    model = InductionHeadModel(N, L)
    lrs, starts = np.array([[0.5], [1.0], [2.0]]), np.array([[0.0, 0.0, 0.0], [0.3, 0.2, 0.1]])
    got = gd_transition_steps(N, L, lrs, starts, t_max=t_max)
    assert got.shape == (3, 2)
    for i, lr in enumerate(lrs[:, 0]):
        for j, theta in enumerate(starts):
            norms = []
            for _ in range(int(np.ceil(t_max / lr)) + 1):
                g = model.grad(*theta)
                norms.append(np.linalg.norm(g))
                theta = theta - lr * g
            assert 0 < got[i, j] == int(np.argmax(norms)) < len(norms) - 1
    # Rates (2,) against starts (2, 3) pair up; rates (3,) against (2, 3) do not broadcast.
    np.testing.assert_array_equal(gd_transition_steps(N, L, [0.5, 1.0], starts, t_max=t_max), [got[0, 0], got[1, 1]])
    with pytest.raises(ValueError, match=r"^lr, theta0\[\.\.\., 0\] must broadcast to one shape, got shapes lr \(3,\)"):
        gd_transition_steps(N, L, lrs[:, 0], starts, t_max=t_max)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: flow_transition_times(8, 32, metric=[1.0, 0.0, 1.0]), "^metric must hold numbers > 0"),
        (lambda: flow_transition_times(8, 32, lr=0.0), "^lr must hold finite numbers > 0"),
        (lambda: flow_transition_times([8, 4], [32, 16, 8]), "^N, L, lr, theta0"),
        (lambda: flow_transition_times(8, 4), "^L must be an integer >= N = 8"),
        (lambda: flow_transition_times(8, 32, rtol=0.0), "^rtol must be a finite number > 0"),
        (lambda: asymptotic_transition_time(8, 8), "^L must be > N"),
        (lambda: asymptotic_transition_time(1, 8), "^N must be an integer >= 2"),
        (lambda: asymptotic_transition_time(8.5, 32), "^N must be an integer >= 2"),
        (lambda: asymptotic_transition_time(8, 32, (0, 0)), r"^theta0 must have shape \(\.\.\., 3\)"),
        (lambda: asymptotic_transition_time(8, 32, (0, np.nan, 0)), "^theta0 must be finite"),
        (lambda: gd_transition_steps(8, 32, 0.0, np.zeros(3), t_max=10), "^lr must hold finite numbers > 0"),
        (lambda: gd_transition_steps(8, 32, 0.1, np.zeros(3), t_max=-1), "^t_max must be a finite number > 0"),
        (lambda: gd_transition_steps(8, 4, 0.1, np.zeros(3), t_max=1), "^L must be an integer >= N = 8"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
