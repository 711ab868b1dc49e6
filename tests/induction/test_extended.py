"""The extended model (phenom.induction.extended): its exact reduction to the β, α, ξ model (sympy,
symbolic N and L; numbers at random points), its functions against a literal mpmath typing of the
formula, finite values for finite input, every counted coefficient against a direct count on the
network's own initialisation, and the Gram-entry flow against an integration of the factor
vectors themselves."""

import itertools
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from phenom.induction._softmax import to_exp
from phenom.induction.derivation import derive
from phenom.induction.extended import (
    EXTENDED_TIME_CONSTANT,
    READOUT_WIDTH,
    ExtendedModel,
    attention_scale,
    cliff_time,
    coefficients,
    derive_extended,
    extended_curves,
    factor_flow,
    gamma,
    memory_share,
    rho,
)
from phenom.induction.model import InductionHeadModel
from phenom.induction.prediction import TIME_CONSTANTS
from phenom.induction.timescales import POSITIONS, initial_state
from phenom.nets import AttentionNetwork, CopyingTask
from phenom.nets.attention import HIDDEN


@pytest.mark.parametrize("stable", [False, True])
def test_reduces_to_the_three_parameter_model_for_symbolic_N_and_L(stable):
    ext, three = derive_extended(stable=stable), derive(stable=stable)
    vanish = {gamma: 0, rho: 0}
    for name in ("loss", "p_correct", "p_context"):
        difference = to_exp(getattr(ext, name).subs(vanish)) - to_exp(getattr(three, name))
        assert sp.simplify(difference) == 0, name
    assert sp.simplify(to_exp(ext.z.subs(vanish) - three.z)) == 0
    assert sp.simplify(to_exp(ext.z_label.subs(vanish) - three.z_other)) == 0
    if not stable:  # and the gradient in β, α, ξ (ext.grad rows 0, 1, 3)
        for row, k in ((0, 0), (1, 1), (3, 2)):
            assert sp.simplify(ext.grad[row].subs(vanish) - three.grad[k]) == 0


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-30, 30),
    st.floats(-30, 30),
    st.floats(-60, 60),
    st.integers(1, 32),
    st.integers(0, 40),
)
def test_numbers_equal_the_three_parameter_model_where_gamma_and_rho_vanish(b, a, x, N, extra):
    L = N + extra
    ext, three = ExtendedModel(N, L), InductionHeadModel(N, L)
    np.testing.assert_allclose(ext.loss(b, a, 0, x, 0), three.loss(b, a, x), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ext.p_correct(b, a, 0, x, 0), three.p_correct(b, a, x), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ext.p_context(b, a, 0, x, 0), three.p_context(b, a, x), rtol=1e-12, atol=1e-300)
    g, g3 = ext.grad(b, a, 0, x, 0), three.grad(b, a, x)
    np.testing.assert_allclose(g[[0, 1, 3]], g3, rtol=1e-9, atol=1e-12 * max(1.0, float(np.abs(g3).max())))


def _literal_loss(b, a, c, x, r, N, L):
    """The loss typed from the module docstring's formula, in 50-digit arithmetic."""
    y = mpmath.exp(b) / (mpmath.exp(b) + N)
    Z = mpmath.exp(a * y + c) + (N - 1) * mpmath.exp(c) + N + 1
    z, z_label = mpmath.exp(a * y + c) / Z, mpmath.exp(c) / Z
    return mpmath.log(1 + (N - 1) * mpmath.exp(-x * (z - z_label)) + (L - N) * mpmath.exp(-(x * z + r)))


def test_loss_and_gradient_against_a_literal_typing_of_the_formula():
    mpmath.mp.dps = 50
    rng = np.random.default_rng(7)
    for _ in range(12):
        theta = rng.uniform(-3, 3, size=5) * np.array([1, 3, 1, 5, 2])
        N = int(rng.integers(2, 9))
        L = N + int(rng.integers(0, 20))
        model = ExtendedModel(N, L)
        args = [mpmath.mpf(float(v)) for v in theta]
        assert float(model.loss(*theta)) == pytest.approx(float(_literal_loss(*args, N, L)), rel=1e-12)
        for k in range(5):

            def along(h, k=k, args=args, N=N, L=L):
                return _literal_loss(*(v + h * (i == k) for i, v in enumerate(args)), N, L)

            expected = float(mpmath.diff(along, 0))
            assert model.grad(*theta)[k] == pytest.approx(expected, rel=1e-10, abs=1e-14)


def test_gamma_and_rho_by_hand():
    m = ExtendedModel(4, 12)
    # ξ = 0: the labels' logits are ρ (in context) and 0 (absent), whatever β, α, γ.
    for r in (-2.0, 0.0, 1.5):
        assert m.p_context(0.3, 2.0, 1.7, 0.0, r) == pytest.approx(4 * np.exp(r) / (4 * np.exp(r) + 8), rel=1e-13)
        assert m.loss(0.3, 2.0, 1.7, 0.0, r) == pytest.approx(np.log(4 + 8 * np.exp(-r)), rel=1e-13)
    # Attention: Z = e^{αy+γ} + 3e^γ + 5 at N = 4.
    y = np.exp(0.4) / (np.exp(0.4) + 4)
    Z = np.exp(1.5 * y + 0.8) + 3 * np.exp(0.8) + 5
    np.testing.assert_allclose(m.attention(0.4, 1.5, 0.8), [y, np.exp(1.5 * y + 0.8) / Z, np.exp(0.8) / Z], rtol=1e-13)
    # At the origin only the read-out moves: ∂/∂ρ = −(1 − N/L), ∂/∂ξ = that times 1/(2N + 1).
    np.testing.assert_allclose(m.grad(0, 0, 0, 0, 0), [0, 0, 0, -(2 / 3) / 9, -2 / 3], rtol=1e-13, atol=1e-16)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=5, max_size=5), st.integers(1, 32), st.integers(0, 64))
def test_finite_numbers_for_finite_input(theta, N, extra):
    m = ExtendedModel(N, N + extra)  # warnings are errors in the test configuration
    values = [m.loss(*theta), m.p_correct(*theta), m.p_context(*theta), *m.grad(*theta)]
    assert np.all(np.isfinite(values))
    assert 0 <= m.p_correct(*theta) <= m.p_context(*theta) * (1 + 1e-12) <= 1 + 1e-12


def test_bad_input_is_one_clear_error():
    with pytest.raises(ValueError, match="^L must be an integer >= N = 4"):
        ExtendedModel(4, 3)
    with pytest.raises(ValueError, match="^gamma must be finite"):
        ExtendedModel(4, 8).loss(0, 0, np.nan, 0, 0)
    with pytest.raises(ValueError, match="^D must be an integer >= L = 32"):
        coefficients(8, 32, 16)
    with pytest.raises(ValueError, match="^t_max must be a finite number > 0"):
        factor_flow(2, 4, t_max=-1.0)


# -- counted coefficients, against the network's own initialisation --------------------------


def test_attention_scale_and_readout_norm_on_the_network_initialisation():
    assert attention_scale(63) == 128 / 63 and READOUT_WIDTH == HIDDEN
    for D in (63, 127):
        task = CopyingTask(N=8, L=32, D=D)
        d, s = POSITIONS + D, attention_scale(D)
        ratios, rows, chains = [], [], []
        for seed in range(4):
            net = AttentionNetwork.init(task, "linear", seed=seed, dtype=np.float64)
            for name in ("Q1", "K1", "V1", "Q2", "K2", "V2"):
                M = net.weights[name]
                x = np.zeros((d, 32))
                x[POSITIONS:] = task.label_vectors.T
                ratios.append(np.sum((M @ x) ** 2, axis=0) / np.sum(x**2, axis=0))
            rows.append(np.sum(net.weights["W"] ** 2, axis=1))
            chains.append(np.sum((net.weights["V2"] @ net.weights["V1"] @ x) ** 2, axis=0) / np.sum(x**2, axis=0))
        # |Mx|²/|x|² = s: 768 draws of relative spread sqrt(2/d) ≈ 0.1 → 1% error at most ~3.5σ.
        assert np.mean(ratios) == pytest.approx(s, rel=0.015)
        assert np.mean(rows) == pytest.approx(coefficients(8, 32, D).norms["readout"][0], rel=0.015)
        # the memory copy V2 V1 l, two matrices deep: s² (128 draws, relative spread ≈ 0.15 each)
        assert np.mean(chains) == pytest.approx(s * s, rel=0.05)
        assert coefficients(8, 32, D).norms["readout"] == (d / 128, s, s, s * s)


def test_a_two_matrix_factor_moves_at_twice_the_scale():
    # q = K V c under dK = p (Vc)ᵀ, dV = Kᵀ p cᵀ (gradient descent on p·q): dq = (|Vc|² + K Kᵀ) p.
    task = CopyingTask(N=8, L=32, D=63)
    rng = np.random.default_rng(0)
    rates = []
    for seed in range(6):
        net = AttentionNetwork.init(task, "linear", seed=seed, dtype=np.float64)
        K, V = net.weights["K2"], net.weights["V1"]
        for _ in range(4):
            c, p = rng.standard_normal(128), rng.standard_normal(128)
            c /= np.linalg.norm(c)
            dq = np.outer(p, V @ c) @ (V @ c) + K @ (K.T @ np.outer(p, c)) @ c
            rates.append(dq @ p / (p @ p))
    # per direction of the content space the key factor moves at 2s, times α's share 1/D
    assert np.mean(rates) == pytest.approx(63 * coefficients(8, 32, 63).rates["alpha"][1], rel=0.05)
    assert coefficients(8, 32, 63).rates["alpha"][1] == 2 * (128 / 63) / 63


def _content(task, M):
    """M's action on the content coordinates: the d × D block of its last D columns."""
    return M[:, POSITIONS:]


@pytest.mark.parametrize("D", [63, 255])
def test_alpha_moves_at_its_share_one_over_D_on_the_task_items(D):
    # α as a reading of the content block, α(Q, K) = E[(Q c)·(K c)] over the task's target items
    # c. Gradient flow on Q and K at unit force moves it at |K Σ|² + |Q Σ|² (Frobenius),
    # Σ = E[c cᵀ] estimated from 20000 sampled targets; the counted rates say (r_p + r_q) s with
    # r = 1/D (the old count, every sequence pushing the whole map, said 2s: D times faster).
    task = CopyingTask(N=4, L=16, D=D)
    batch = task.sample(20000, np.random.default_rng(3), dtype=np.float64)
    c = batch.content[:, -1]
    sigma = c.T @ c / len(c)
    measured, counted = [], []
    for seed in range(3):
        net = AttentionNetwork.init(task, "linear", seed=seed, dtype=np.float64)
        Q, K = _content(task, net.weights["Q2"]), _content(task, net.weights["K2"])
        measured.append(np.sum((K @ sigma) ** 2) + np.sum((Q @ sigma) ** 2))
        r_p = coefficients(4, 16, D).rates["alpha"][0]
        counted.append(r_p * (np.mean(np.sum((K @ c[:2000].T) ** 2, 0)) + np.mean(np.sum((Q @ c[:2000].T) ** 2, 0))))
    # Σ's sampling error adds ~D/20000 relative; the norms' average over 2000 items ~1%
    assert np.mean(measured) == pytest.approx(np.mean(counted), rel=0.04)
    assert coefficients(4, 16, D).rates["alpha"][0] == 1 / D


@pytest.mark.parametrize("D", [63, 255])
def test_readout_factors_move_at_the_label_share_one_over_L(D):
    # ξ as the mean over labels of W_ℓ · V2 l_ℓ (the task's own label vectors). Gradient flow at
    # unit force moves it at Σ_ℓ |∂ξ/∂W_ℓ|² + |∂ξ/∂V2|², which the counted rates give as
    # (r_u |v|² + r_v |u|²) with r_u = r_v = 1/L: V2 is shared, but the labels are nearly
    # orthogonal directions of it (rate 1 for V2 would add (1 − 1/L)|u|²).
    N, L = 4, 16
    task = CopyingTask(N=N, L=L, D=D)
    r_u, r_v = coefficients(N, L, D).rates["readout"][:2]
    assert r_u == r_v == 1 / L
    measured, counted = [], []
    for seed in range(4):
        net = AttentionNetwork.init(task, "linear", seed=seed, dtype=np.float64)
        W, V2 = net.weights["W"], net.weights["V2"]
        labels = np.zeros((L, POSITIONS + D))
        labels[:, POSITIONS:] = task.label_vectors
        v = labels @ V2.T  # row ℓ: V2 l_ℓ
        d_W = v / L  # ∂ξ/∂W_ℓ
        d_V2 = W.T @ labels / L  # ∂ξ/∂V2 = (1/L) Σ_ℓ W_ℓ l_ℓᵀ
        measured.append(np.sum(d_W**2) + np.sum(d_V2**2))
        counted.append(r_u * np.mean(np.sum(v**2, 1)) + r_v * np.mean(np.sum(W**2, 1)) * np.mean(np.sum(labels**2, 1)))
    # the cross terms (W_ℓ·W_k)(l_ℓ·l_k), k ≠ ℓ, average out: a few percent at L = 16
    assert np.mean(measured) == pytest.approx(np.mean(counted), rel=0.06)


def test_gamma_share_is_the_target_slot_share():
    # The target's slot is uniform over P − 2N slots: Σ_T f_T² = 1/(P − 2N) (Monte Carlo).
    N = 4
    task = CopyingTask(N=N, L=16, D=63)
    rng = np.random.default_rng(5)
    slots = np.concatenate([task.sample(50000, rng).offset + 2 * N for _ in range(4)])
    f = np.bincount(slots, minlength=POSITIONS) / len(slots)
    assert np.count_nonzero(f) == POSITIONS - 2 * N
    # E Σ f̂² = Σ f² + (1 − Σ f²)/n; the estimate's spread is ~1e-5 here
    assert np.sum(f**2) - (1 - np.sum(f**2)) / len(slots) == pytest.approx(1 / (POSITIONS - 2 * N), abs=2e-4)
    assert coefficients(N, 16).rates["gamma"] == (1 / (POSITIONS - 2 * N),) * 2


@pytest.mark.parametrize("N", [2, 4, 8])
def test_kappa_is_the_target_uniform_layer1_share_of_a_label(N):
    task = CopyingTask(N=N, L=4 * N, D=63)
    net = AttentionNetwork.init(task, "linear", dtype=np.float64)
    net.weights["Q1"][...] = 0  # layer 1 uniform, as the count assumes
    _, cache = net.forward(task.sample(8, np.random.default_rng(0), dtype=np.float64))
    shares = cache["A1"][:, -1, 1 : 2 * N : 2]
    np.testing.assert_allclose(shares, coefficients(N, 4 * N).kappa, rtol=1e-14)
    assert coefficients(N, 4 * N).kappa == 1 / (2 * N + 1)


def test_readout_row_share_by_enumeration():
    # Every context (ordered distinct labels) and target pair, equally likely: answer ℓ in 1/L of them.
    N, L = 2, 5
    cases = [labels[k] for labels in itertools.permutations(range(L), N) for k in range(N)]
    shares = {ell: Fraction(cases.count(ell), len(cases)) for ell in range(L)}
    assert set(shares.values()) == {Fraction(1, L)}
    assert coefficients(N, L).rates["readout"][0] == float(Fraction(1, L))


# -- the flow ------------------------------------------------------------------------------


def test_gram_flow_equals_gradient_descent_on_the_factor_vectors():
    # The factors as explicit vectors in 7 dimensions, moved by gradient descent on the readings
    # (ξ = u·v, ρ = κ u·w + κ_m u·m), against the flow on their Gram entries.
    N, L, D, t_end = 4, 16, 63, 120.0
    coef, model = coefficients(N, L, D), ExtendedModel(N, L)
    k = 7

    def pair(theta, P, Q):
        p, q = np.zeros(k), np.zeros(k)
        p[0] = np.sqrt(P)
        q[0], q[1] = theta / np.sqrt(P), np.sqrt(Q - theta**2 / P)
        return p, q

    vecs = [*pair(initial_state(N)[0], *coef.norms["beta"]), *pair(0, *coef.norms["alpha"])]
    vecs += [*pair(0, *coef.norms["gamma"])]
    vecs += [np.sqrt(n) * np.eye(k)[2 + i] for i, n in enumerate(coef.norms["readout"])]

    def readings(p):
        rho = coef.kappa * p[6] @ p[8] + coef.kappa_memory * p[6] @ p[9]
        return [p[0] @ p[1], p[2] @ p[3], p[4] @ p[5], p[6] @ p[7], rho]

    def rhs(_t, flat):
        p = flat.reshape(10, k)
        g = -model.grad(*readings(p))
        out = np.empty_like(p)
        for i, name in enumerate(("beta", "alpha", "gamma")):
            rp, rq = coef.rates[name]
            out[2 * i], out[2 * i + 1] = rp * p[2 * i + 1] * g[i], rq * p[2 * i] * g[i]
        ru, rv, rw, rm = coef.rates["readout"]
        gw, gm = coef.kappa * g[4], coef.kappa_memory * g[4]
        out[6] = ru * (p[7] * g[3] + p[8] * gw + p[9] * gm)
        out[7], out[8], out[9] = rv * p[6] * g[3], rw * p[6] * gw, rm * p[6] * gm
        return out.ravel()

    sol = solve_ivp(rhs, (0, t_end), np.concatenate(vecs), rtol=1e-11, atol=1e-13, t_eval=[t_end / 2, t_end])
    flow = factor_flow(N, L, D, t_max=t_end, n_times=3)
    for j in (0, 1):
        p = sol.y[:, j].reshape(10, k)
        np.testing.assert_allclose(flow.theta[j + 1], readings(p), rtol=1e-6, atol=1e-9)
        assert flow.state[j + 1, 9] == pytest.approx(p[6] @ p[6], rel=1e-6)  # |u|²
        assert flow.state[j + 1, 18] == pytest.approx(p[9] @ p[9], rel=1e-6)  # |m|²


@pytest.mark.parametrize("N", [2, 4, 8])
def test_memory_share_is_the_uniform_network_weight_of_a_label_through_later_tokens(N):
    # Both layers uniform (Q1 = Q2 = 0): label k's weight in the target's layer-2 output through
    # the layer-1 mixtures of the tokens after it, Σ_{j > j_k} a2_Tj A1_{j, j_k}, averaged over k.
    task = CopyingTask(N=N, L=4 * N, D=63)
    net = AttentionNetwork.init(task, "linear", dtype=np.float64)
    net.weights["Q1"][...] = 0
    net.weights["Q2"][...] = 0
    _, cache = net.forward(task.sample(4, np.random.default_rng(1), dtype=np.float64))
    A1, a2 = cache["A1"], cache["a2"]
    weights = [np.sum(a2[:, 2 * k + 2 :] * A1[:, 2 * k + 2 :, 2 * k + 1], axis=1) for k in range(N)]
    np.testing.assert_allclose(np.mean(weights, axis=0), memory_share(N), rtol=1e-12)
    by_hand = {2: (1 / 5) * 0.5 * ((1 / 3 + 1 / 4 + 1 / 5) + 1 / 5)}
    if N in by_hand:
        assert memory_share(N) == pytest.approx(by_hand[N], rel=1e-15)


def test_flow_at_L_equal_N_stays_at_chance_and_learns_otherwise():
    stuck = factor_flow(4, 4, t_max=200.0, n_times=5)
    np.testing.assert_allclose(stuck.loss, np.log(4), rtol=1e-12)
    np.testing.assert_allclose(stuck.theta[:, 1:], 0.0, atol=1e-12)
    learns = factor_flow(4, 16, t_max=400.0, n_times=401)
    assert learns.loss[-1] < 0.1 * np.log(16)
    # the read-out moves first: ξ is positive before α is a tenth of its final value
    first = np.argmax(learns.theta[:, 1] > 0.1 * learns.theta[-1, 1])
    assert learns.theta[first, 3] > 0


# -- on the network's step axis ---------------------------------------------------------------


def test_cliff_time_is_the_steepest_fall_of_the_loss_on_a_fine_grid():
    cliff = cliff_time(4, 16, 63)
    flow = factor_flow(4, 16, 63, t_max=2 * cliff, n_times=40001)
    slope = np.gradient(flow.loss, flow.t)
    assert cliff == pytest.approx(flow.t[int(np.argmin(slope))], abs=2 * (flow.t[1] - flow.t[0]))
    assert flow.loss[0] > flow.loss[len(flow.t) // 4] > 0.5 * flow.loss[0]  # at half the cliff time, a plateau


def test_stored_constant_is_its_reference_cliff_over_the_reference_transition():
    # c was fitted where the three-parameter models' were (the same step, lr, reference (N, L)).
    ref = EXTENDED_TIME_CONSTANT
    assert ref["net_step"] == pytest.approx(
        TIME_CONSTANTS["time_scales"]["flow_time"] / (0.5 * TIME_CONSTANTS["time_scales"]["c"]), rel=1e-9
    )
    assert cliff_time(*ref["reference"]) == pytest.approx(ref["flow_time"], rel=1e-8)
    assert ref["c"] == pytest.approx(ref["flow_time"] / (ref["lr"] * ref["net_step"]), rel=1e-10)
    # so the reference's predicted transition is the network's mean step there
    assert extended_curves(8, 32, steps=[0.0]).transition_step == pytest.approx(ref["net_step"], rel=1e-8)


def test_curves_put_the_flow_at_c_lr_step_and_ignore_eps_and_batch():
    steps = np.array([0.0, 750.0, 1500.0])
    a = extended_curves(4, 16, lr=0.25, steps=steps)
    b = extended_curves(4, 16, lr=0.25, steps=steps, eps=0.0, batch_size=7)
    np.testing.assert_array_equal(a.loss, b.loss)
    assert a.ignored == ("eps", "batch_size")
    c = EXTENDED_TIME_CONSTANT["c"]
    flow = factor_flow(4, 16, 63, t_max=c * 0.25 * 1500.0, n_times=3)
    np.testing.assert_allclose(a.theta, flow.theta, rtol=1e-7, atol=1e-10)
    assert a.loss[0] == pytest.approx(np.log(16), rel=1e-12)
    np.testing.assert_allclose(a.p_correct, np.exp(-a.loss), rtol=1e-10)
    # halving lr doubles the predicted transition; the default D is max(63, L)
    assert extended_curves(4, 16, lr=0.125, steps=[0.0]).transition_step == pytest.approx(2 * a.transition_step)
    d = extended_curves(8, 96, steps=[0.0])
    assert d.transition_step == pytest.approx(cliff_time(8, 96, 96) / (c * 0.5), rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"N": 1, "L": 4}, "N must be an integer from 2 to 32"),
        ({"N": 4, "L": 4}, "L must be an integer > N"),
        ({"N": 4, "L": 16, "D": 8}, "D must be"),
        ({"N": 4, "L": 16, "eps": -1}, "eps"),
        ({"N": 4, "L": 16, "lr": 0}, "lr"),
        ({"N": 4, "L": 16, "batch_size": 0}, "batch_size"),
        ({"N": 4, "L": 16, "steps": [-1.0]}, "steps"),
        ({"N": 4, "L": 16, "steps": [1e12]}, "steps must be at most"),
    ],
)
def test_curves_bad_input_is_one_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        extended_curves(**kwargs)
