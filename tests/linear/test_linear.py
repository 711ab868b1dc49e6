"""Linear attention as preconditioned GD: symbolic identities, closed-form risk, flows, Monte Carlo."""

import numpy as np
import pytest
import sympy as sp

from phenom import LinearICL
from phenom.linear._gaussian import expectation
from phenom.linear.symbolic import (
    derive_risk,
    gd_prediction,
    lsa_layer,
    preconditioner_weights,
    risk_formula,
    symbolic_matrices,
    von_oswald_weights,
)

# --------------------------------------------------------------------------------------------
# Symbolic: one LSA layer is one (preconditioned) GD step, K layers are K steps (d = 2, N = 3)

d, N = 2, 3
X = [sp.Matrix([sp.Symbol(f"x{i}{a}", real=True) for a in range(d)]) for i in range(N)]
Y = [sp.Symbol(f"y{i}", real=True) for i in range(N)]
XQ = sp.Matrix([sp.Symbol(f"q{a}", real=True) for a in range(d)])
ETA = sp.Symbol("eta", positive=True)


def tokens(X=X, Y=Y, x_q=XQ):
    n, dim = len(X), X[0].shape[0]
    Z = sp.zeros(dim + 1, n + 1)
    for i in range(n):
        Z[:dim, i] = X[i]
        Z[dim, i] = Y[i]
    Z[:dim, n] = x_q
    return Z


def stack(Z, P, Q, layers, n=N):
    for _ in range(layers):
        Z = lsa_layer(Z, P, Q, n, sp.Rational(1, n))
    return Z


def test_von_oswald_layer_moves_every_token_by_one_gd_step():
    # y_j ← y_j − ΔW x_j for context and query tokens alike, ΔW = −η ∇L(W0), general W0.
    W0 = sp.Matrix(1, d, lambda i, j: sp.Symbol(f"w0_{j}", real=True))
    PV, KQ = von_oswald_weights(d, ETA, W0)
    Z1 = stack(tokens(), PV, KQ, 1)
    grad = sum((((W0 * X[i])[0] - Y[i]) * X[i].T for i in range(N)), sp.zeros(1, d)) / N
    delta_W = -ETA * grad
    for j in range(N):
        assert sp.expand(Z1[d, j] - (Y[j] - (delta_W * X[j])[0])) == 0
    assert sp.expand(Z1[d, N] + (delta_W * XQ)[0]) == 0
    assert Z1[:d, :] == tokens()[:d, :]  # inputs untouched


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_stacked_von_oswald_layers_are_gd_steps(layers):
    PV, KQ = von_oswald_weights(d, ETA)
    read_out = -stack(tokens(), PV, KQ, layers)[d, N]
    assert sp.expand(read_out - gd_prediction(X, Y, XQ, layers, ETA * sp.eye(d))) == 0


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_preconditioner_layers_are_pgd_steps_with_A_transposed(layers):
    A = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"a{i}{j}", real=True))  # not symmetric
    P, Q = preconditioner_weights(A)
    read_out = -stack(tokens(), P, Q, layers)[d, N]
    assert sp.expand(read_out - gd_prediction(X, Y, XQ, layers, A.T)) == 0
    if layers == 1:  # with A itself (not Aᵀ) the identity fails: the transpose matters
        assert sp.expand(read_out - gd_prediction(X, Y, XQ, 1, A)) != 0


def test_layer_identity_numbers_by_hand():
    # GD on (1/2N)Σ(Wx_i − y_i)², W0 = 0, η = 1/2, x1 = (1,0), x2 = (0,2), w = (1,1):
    # W1 = (1/4, 1), W2 = (7/16, 1), W3 = (37/64, 1); predictions at x_q = (1,1) below.
    Xn = [sp.Matrix([1, 0]), sp.Matrix([0, 2])]
    Yn = [sp.Integer(1), sp.Integer(2)]
    Z = tokens(Xn, Yn, sp.Matrix([1, 1]))
    PV, KQ = von_oswald_weights(2, sp.Rational(1, 2))
    for layers, value in zip((1, 2, 3), (1.25, 1.4375, 1.578125), strict=True):  # exact binary fractions
        assert float(-stack(Z, PV, KQ, layers, n=2)[2, 2]) == value


# --------------------------------------------------------------------------------------------
# Symbolic: the risk, derived from the Gaussians, equals the matrix formula


@pytest.mark.parametrize("n", [1, 2])
def test_derived_risk_equals_matrix_formula(n):
    Gamma, Sigma, Omega, s2 = symbolic_matrices(2)
    assert sp.expand(derive_risk(2, n) - risk_formula(Gamma, Sigma, Omega, s2, n)) == 0


def test_isserlis_second_moment_of_the_sample_covariance():
    # E[S A S] = N² ΣAΣ + N ΣAᵀΣ + N tr(AΣ) Σ for S = Σ_i x_i x_iᵀ, A not symmetric; N = 2.
    _, Sigma, _, _ = symbolic_matrices(2)
    A = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"A{i}{j}", real=True))
    xs = [sp.Matrix(sp.symbols(f"u{i}0 u{i}1", real=True)) for i in range(2)]
    S = sum((x * x.T for x in xs), sp.zeros(2, 2))
    SAS = S * A * S
    expected = 4 * Sigma * A * Sigma + 2 * Sigma * A.T * Sigma + 2 * (A * Sigma).trace() * Sigma
    for i in range(2):
        for j in range(2):
            e = SAS[i, j]
            for x in xs:
                e = expectation(e, list(x), Sigma)
            assert sp.expand(e - expected[i, j]) == 0


def test_gradient_and_optimum_of_the_derived_risk():
    # Differentiate the *derived* risk and compare with ∇R = 2ΣΓM − 2ΣΩΣ from the numeric class.
    Gamma, Sigma, Omega, s2 = symbolic_matrices(2)
    R = derive_risk(2, 2)
    rng = np.random.default_rng(5)
    B = rng.standard_normal((2, 2))
    S_num, O_num = B @ B.T + np.eye(2), np.array([[1.5, -0.4], [-0.4, 0.7]])
    G_num = rng.standard_normal((2, 2))
    values = {s2: sp.Rational(3, 10)}
    for i in range(2):
        for j in range(2):
            values[Gamma[i, j]] = G_num[i, j]
            values[Sigma[i, j]] = S_num[i, j]
            values[Omega[i, j]] = O_num[i, j]
    sym_grad = np.array([[float(R.diff(Gamma[i, j]).subs(values)) for j in range(2)] for i in range(2)])
    task = LinearICL(2, 2, S_num, O_num, 0.3)
    np.testing.assert_allclose(task.risk_grad(G_num), sym_grad, rtol=1e-12)
    assert task.risk(G_num) == pytest.approx(float(R.subs(values)), rel=1e-12)
    # Γ* = ΩΣM⁻¹ zeroes the derived risk's gradient (noise > 0, Ω not commuting with Σ).
    assert np.linalg.norm(S_num @ O_num - O_num @ S_num) > 0.1
    star = task.optimal_preconditioner()
    for i in range(2):
        for j in range(2):
            values[Gamma[i, j]] = star[i, j]
    assert max(abs(float(R.diff(Gamma[i, j]).subs(values))) for i in range(2) for j in range(2)) < 1e-12
    assert float(R.subs(values)) == pytest.approx(task.optimal_risk(), rel=1e-12)


# --------------------------------------------------------------------------------------------
# Closed forms, by hand


def test_reference_case_d2_N4_identity():
    task = LinearICL(d=2, N=4)
    np.testing.assert_allclose(task.optimal_preconditioner(), 4 / 7 * np.eye(2), rtol=1e-15)
    assert task.optimal_risk() == pytest.approx(6 / 7, rel=1e-15)
    assert task.risk(np.eye(2)) == pytest.approx(3 / 2, rel=1e-15)
    np.testing.assert_allclose(task.risk_grad(4 / 7 * np.eye(2)), 0.0, atol=1e-15)


def test_flow_from_zero_by_hand():
    # dγ/dt = −∇R = −2γ·(7/4) + 2  ⇒  γ(t) = (4/7)(1 − e^{−3.5 t}).
    task = LinearICL(d=2, N=4)
    t = np.array([0.0, 0.1, 0.5, 1.0, 3.0])
    gamma = 4 / 7 * (1 - np.exp(-3.5 * t))
    np.testing.assert_allclose(task.flow_exact(t), gamma[:, None, None] * np.eye(2), atol=1e-15)
    numeric = task.flow(t_max=3.0)
    np.testing.assert_allclose(numeric(t), (gamma[:, None] * np.eye(2).ravel()), atol=1e-9)
    np.testing.assert_allclose(task.risk_exact(t), 3.5 * gamma**2 - 4 * gamma + 2, rtol=1e-13)


def test_label_noise_by_hand():
    # Σ = Ω = I, d = 2, N = 4, σ² = 1: M = (5/4 + 3/4) I = 2I, Γ* = I/2, R* = 3 − tr Γ* = 2,
    # and plain GD (Γ = I) has R = tr M − 2 tr I + tr I + σ² = 3.
    task = LinearICL(d=2, N=4, noise=1.0)
    np.testing.assert_allclose(task.M, 2 * np.eye(2), rtol=1e-15)
    np.testing.assert_allclose(task.optimal_preconditioner(), np.eye(2) / 2, rtol=1e-15)
    assert task.optimal_risk() == pytest.approx(2.0, rel=1e-15)
    assert task.risk(np.eye(2)) == pytest.approx(3.0, rel=1e-15)


def test_diagonal_sigma_by_hand():
    # Σ = diag(a, b), Ω = I, σ = 0: Γ* = diag(1/((1+1/N)a + (a+b)/N), 1/((1+1/N)b + (a+b)/N)),
    # and R* = a + b − a²γ1 − b²γ2 (tr(ΣΓ*Σ)).
    a, b, n = 3.0, 0.5, 5
    task = LinearICL(d=2, N=n, Sigma=np.diag([a, b]))
    g1 = 1 / ((1 + 1 / n) * a + (a + b) / n)
    g2 = 1 / ((1 + 1 / n) * b + (a + b) / n)
    np.testing.assert_allclose(task.optimal_preconditioner(), np.diag([g1, g2]), rtol=1e-14)
    assert task.optimal_risk() == pytest.approx(a + b - a**2 * g1 - b**2 * g2, rel=1e-14)


def _general_task(seed=0, d=3, N=6, noise=0.4):
    rng = np.random.default_rng(seed)
    Qr, _ = np.linalg.qr(rng.standard_normal((d, d)))
    Sigma = Qr @ np.diag(np.linspace(2.0, 0.3, d)) @ Qr.T
    B = rng.standard_normal((d, d))
    Omega = B @ B.T / d + 0.5 * np.eye(d)  # does not commute with Σ
    return LinearICL(d, N, Sigma, Omega, noise), rng


def test_gradient_matches_finite_differences():
    task, rng = _general_task()
    G = rng.standard_normal((3, 3))
    h, fd = 1e-6, np.zeros((3, 3))
    for idx in np.ndindex(3, 3):
        E = np.zeros((3, 3))
        E[idx] = h
        fd[idx] = (task.risk(G + E) - task.risk(G - E)) / (2 * h)
    np.testing.assert_allclose(task.risk_grad(G), fd, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("seed", [0, 1])
def test_monte_carlo_agrees_within_three_standard_errors(seed):
    task, rng = _general_task(seed)
    G = rng.standard_normal((3, 3))  # not symmetric
    mean, se = task.risk_mc(G, n_tasks=100_000, seed=seed)
    assert abs(mean - task.risk(G)) < 3 * se
    assert se < 0.02 * mean  # the check has teeth


def test_numeric_and_closed_form_flows_agree_when_omega_does_not_commute():
    task, rng = _general_task(2)
    G0 = rng.standard_normal((3, 3))
    numeric = task.flow(G0, t_max=4.0, lr=0.7)
    t = np.linspace(0, 4, 9)
    np.testing.assert_allclose(numeric(t).reshape(-1, 3, 3), task.flow_exact(t, G0, lr=0.7), atol=1e-8)
    np.testing.assert_allclose(task.risk_exact(t, G0, lr=0.7), task.risk(task.flow_exact(t, G0, lr=0.7)), rtol=1e-12)


def test_factored_flow_conserves_balance_and_reaches_the_optimum():
    task, rng = _general_task(3, noise=0.0)
    V = rng.standard_normal((3, 3))
    eps = 1e-5
    flow = task.factored_flow(eps, eps * V / np.linalg.norm(V), t_max=120.0)
    np.testing.assert_allclose(flow.conserved(), 0.0, atol=1e-9)  # balanced start: u² − ‖U‖² = 0
    np.testing.assert_allclose(flow.Gamma(120.0), task.optimal_preconditioner(), atol=1e-7)
    # Abrupt, sigmoidal: a plateau at R(0) = tr(ΣΩ) lasting ~log(1/ε)/rate, then a drop that
    # takes less than half as long, with the steepest descent inside it.
    R0, Rstar = np.trace(task.Sigma @ task.Omega), task.optimal_risk()
    traj = flow.trajectory
    t_leave = traj.time_to(R0 - 0.05 * (R0 - Rstar))
    t_land = traj.time_to(Rstar + 0.05 * (R0 - Rstar))
    assert t_land - t_leave < 0.5 * t_leave
    assert t_leave < traj.cliff() < t_land


# --------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(N=0), "^N must be an integer >= 1"),
        (dict(d=0), "^d must be an integer >= 1"),
        (dict(noise=-0.1), "^noise must be a finite number >= 0"),
        (dict(Sigma=np.eye(3)), r"^Sigma must be a square \(2, 2\) matrix"),
        (dict(Sigma=np.ones((2, 3))), r"^Sigma must be a square \(2, 2\) matrix"),
        (dict(Sigma=[[1.0, 0.5], [0.0, 1.0]]), "^Sigma must be symmetric positive definite; it is not symmetric"),
        (dict(Omega=[[1.0, 2.0], [2.0, 1.0]]), "^Omega must be symmetric positive definite; it has an eigenvalue"),
        (dict(Omega=[[1.0, np.nan], [np.nan, 1.0]]), "^Omega must be finite"),
    ],
)
def test_bad_task(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LinearICL(**(dict(d=2, N=4) | kwargs))


def test_bad_gamma():
    task = LinearICL(2, 4)
    with pytest.raises(ValueError, match="^chunk must be an integer >= 1"):
        task.risk_mc(np.eye(2), n_tasks=10, chunk=0)
    with pytest.raises(ValueError, match=r"^Gamma0 must be one \(2, 2\) matrix"):
        task.flow_exact(1.0, np.zeros((5, 2, 2)))
    with pytest.raises(ValueError, match="^u0 must be one number"):
        task.factored_flow([1.0, 2.0], np.eye(2))
    with pytest.raises(AttributeError):
        task.noise = 1.0  # read-only: the cached closed forms depend on it
    with pytest.raises(ValueError, match=r"^Gamma must have shape \(\.\.\., 2, 2\)"):
        task.risk(np.eye(3))
    with pytest.raises(ValueError, match="^Gamma must be finite"):
        task.risk_grad([[np.inf, 0], [0, 1]])
