"""The β, α, ξ model: symbolic derivation, numeric values, stability, special points."""

import math
import warnings

import numpy as np
import pytest
import sympy as sp
from conftest import examples
from hypothesis import example, given, settings
from hypothesis import strategies as st
from reference import assert_loss_matches_mpmath, canonical, mp_grad, mp_hessian, mp_loss, mp_term_magnitudes

from phenom import InductionHeadModel
from phenom.induction._softmax import to_exp
from phenom.induction.model import L_sym, N_sym, alpha, beta, derive, xi

# --------------------------------------------------------------------------------------------
# Symbolic derivation


def test_derived_loss_equals_reference_formula_for_symbolic_N_L():
    derived = derive(N_sym, L_sym).loss
    reference = canonical(N_sym, L_sym).subs(
        {sp.Symbol("beta", real=True): beta, sp.Symbol("alpha", real=True): alpha, sp.Symbol("xi", real=True): xi}
    )
    # Both are real logarithms, so equal iff exp(difference) == 1.
    assert sp.simplify(sp.exp(reference - derived)) == 1


def test_stable_form_is_the_same_function_as_the_literal_softmaxes():
    literal, stable = derive(N_sym, L_sym), derive(N_sym, L_sym, stable=True)
    assert sp.simplify(sp.exp(to_exp(stable.loss) - literal.loss)) == 1
    for stage in ("y", "z", "z_other", "p_correct", "p_context"):
        ratio = to_exp(getattr(stable, stage)) / getattr(literal, stage)
        assert sp.simplify(ratio) == 1, stage


def test_stages_match_the_hand_written_attention_weights():
    d = derive(N_sym, L_sym)
    y = sp.exp(beta) / (sp.exp(beta) + N_sym)
    E = sp.exp(alpha * y)
    assert sp.simplify(d.y - y) == 0
    assert sp.simplify(d.z - E / (E + 2 * N_sym)) == 0
    assert sp.simplify(d.z_other - 1 / (E + 2 * N_sym)) == 0


def test_expressions_for_numeric_N_L_print_and_differentiate():
    m = InductionHeadModel(N=3, L=5)
    tex = m.latex()
    assert r"\beta" in tex and r"\alpha" in tex and r"\xi" in tex
    assert m.grad_expr.shape == (3, 1) and m.hessian_expr.shape == (3, 3)
    point = {beta: sp.Rational(3, 10), alpha: sp.Rational(-7, 5), xi: sp.Rational(21, 10)}
    expected = mp_grad(0.3, -1.4, 2.1, 3, 5)
    got = np.array([float(g.subs(point).evalf(30)) for g in m.grad_expr])
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    assert sp.latex(derive(N_sym, L_sym, stable=True).loss).startswith(r"\log")


# --------------------------------------------------------------------------------------------
# Special points, derived by hand


@pytest.mark.parametrize("N,L", [(1, 1), (1, 5), (2, 2), (3, 7), (8, 32), (16, 16)])
def test_loss_at_origin_is_log_L(N, L):
    assert InductionHeadModel(N, L).loss(0.0, 0.0, 0.0) == pytest.approx(math.log(L), rel=1e-15)


@pytest.mark.parametrize("N,L", [(1, 5), (2, 2), (3, 7), (8, 32), (8, 8)])
def test_gradient_at_origin_by_hand(N, L):
    # At θ = 0: u = u' = 0, the loss is log L and only ξ moves it. ∂u/∂ξ = z − z' = 0 and
    # ∂u'/∂ξ = z = 1/(2N+1), so ∂loss/∂ξ = −(L−N)/(L(2N+1)): zero iff L = N.
    g = InductionHeadModel(N, L).grad(0.0, 0.0, 0.0)
    assert g[0] == 0.0 and g[1] == 0.0
    assert g[2] == pytest.approx(-(L - N) / (L * (2 * N + 1)), rel=1e-14, abs=1e-300)


def test_L_equal_N_origin_is_stationary_exactly():
    g = InductionHeadModel(8, 8).grad(0.0, 0.0, 0.0)
    assert np.all(g == 0.0)


def test_hessian_at_origin_by_hand():
    # ∂²loss/∂α∂ξ = y0 · ∂²loss/∂a∂ξ with a = αy, y0 = 1/(N+1), and
    # ∂²loss/∂a∂ξ = −[(N−1)/(2N+1) + 2N(L−N)/(2N+1)²]/L ; ∂²loss/∂ξ² = Var of the logit gaps.
    N, L = 8, 32
    H = InductionHeadModel(N, L).hessian(0.0, 0.0, 0.0)
    K = -((N - 1) / (2 * N + 1) + 2 * N * (L - N) / (2 * N + 1) ** 2) / L
    assert H[1, 2] == pytest.approx(K / (N + 1), rel=1e-14)
    assert H[2, 1] == H[1, 2]
    # ∂²/∂ξ² of log(1 + (L−N) e^{−ξ/(2N+1)} + (N−1)) at 0: (L−N)/(2N+1)² · N/L²
    assert H[2, 2] == pytest.approx((L - N) * N / ((2 * N + 1) ** 2 * L**2), rel=1e-13)
    assert np.all(H[0] == 0.0) and H[1, 1] == 0.0


def test_accuracies_by_hand():
    N, L = 8, 32
    m = InductionHeadModel(N, L)
    assert m.p_correct(0.0, 0.0, 0.0) == pytest.approx(1 / L, rel=1e-14)
    assert m.p_context(0.0, 0.0, 0.0) == pytest.approx(N / L, rel=1e-14)
    # α = 0: z = z' = 1/(2N+1) so every in-context label has logit ξ/(2N+1), absent ones 0.
    for v in (0.7, 5.0, 40.0):
        e = math.exp(v / (2 * N + 1))
        assert m.p_context(0.0, 0.0, v) == pytest.approx(N * e / (N * e + L - N), rel=1e-13)
        assert m.p_correct(0.0, 0.0, v) == pytest.approx(e / (N * e + L - N), rel=1e-13)
    # The intrinsic curriculum's limit: ξ → ∞ at α = 0 picks uniformly among the N in context.
    assert m.loss(0.0, 0.0, 1e3) == pytest.approx(math.log(N), rel=1e-12)


def test_attention_weights_by_hand():
    N = 8
    m = InductionHeadModel(N, 32)
    y, z, z_other = m.attention(0.0, 0.0)
    assert (y, z, z_other) == pytest.approx((1 / (N + 1), 1 / (2 * N + 1), 1 / (2 * N + 1)), rel=1e-15)
    y, z, z_other = m.attention(math.log(3.0), 2.0)
    y_hand = 3 / (3 + N)
    E = math.exp(2.0 * y_hand)
    assert (y, z, z_other) == pytest.approx((y_hand, E / (E + 2 * N), 1 / (E + 2 * N)), rel=1e-14)


# --------------------------------------------------------------------------------------------
# Against high precision and finite differences

theta_component = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
moderate = st.floats(-8.0, 8.0, allow_nan=False, allow_infinity=False)


@st.composite
def counts(draw):
    n = draw(st.integers(1, 64))
    return n, draw(st.integers(n, n + 200))


@settings(max_examples=examples(300), deadline=None)
@given(theta_component, theta_component, theta_component, counts())
@example(0.0, -199.0, -297.0, (4, 199))  # P(correct) exceeded P(in context) by 4 roundings
def test_loss_matches_mpmath_and_is_stable_everywhere(b, a, x, nl):
    N, L = nl
    m = InductionHeadModel(N, L)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        value = float(m.loss(b, a, x))
        g = m.grad(b, a, x)
        H = m.hessian(b, a, x)
        pc, pctx = float(m.p_correct(b, a, x)), float(m.p_context(b, a, x))
    assert np.isfinite(value) and np.all(np.isfinite(g)) and np.all(np.isfinite(H))
    assert_loss_matches_mpmath(value, b, a, x, N, L)
    # P(correct) <= P(in context), each rounded on its own: equal up to rounding when the other
    # in-context labels carry nothing (found at β = 0, α = −199, ξ = −297, N = 4, L = 199).
    assert 0.0 <= pc <= pctx * (1 + 4e-15) and pctx <= 1.0 + 1e-15


@settings(max_examples=examples(150), deadline=None)
@given(theta_component, theta_component, theta_component, counts())
def test_gradient_and_hessian_match_mpmath(b, a, x, nl):
    # Relative accuracy, or a few ulps of the terms the derivative is a sum of (reference.py).
    N, L = nl
    m = InductionHeadModel(N, L)
    g_scale, h_scale = mp_term_magnitudes(b, a, x, N, L)
    g, g_ref = m.grad(b, a, x), mp_grad(b, a, x, N, L)
    np.testing.assert_array_less(np.abs(g - g_ref), 1e-10 * np.abs(g_ref) + 1e-14 * g_scale + 1e-300)
    H, H_ref = m.hessian(b, a, x), mp_hessian(b, a, x, N, L)
    np.testing.assert_array_less(np.abs(H - H_ref), 1e-9 * np.abs(H_ref) + 1e-13 * h_scale + 1e-300)


@settings(max_examples=examples(60), deadline=None)
@given(moderate, moderate, moderate, counts())
def test_gradient_and_hessian_match_finite_differences(b, a, x, nl):
    N, L = nl
    m = InductionHeadModel(N, L)
    theta, h = np.array([b, a, x]), 1e-5
    steps = np.eye(3) * h
    fd_grad = np.array([(m.loss(*(theta + e)) - m.loss(*(theta - e))) / (2 * h) for e in steps])
    fd_hess = np.array([(m.grad(*(theta + e)) - m.grad(*(theta - e))) / (2 * h) for e in steps])
    g, H = m.grad(*theta), m.hessian(*theta)
    np.testing.assert_allclose(g, fd_grad, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(H, fd_hess, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-15)


def test_extreme_parameters_are_finite_and_correct():
    corners = [(s1 * 1e3, s2 * 1e3, s3 * 1e3) for s1 in (-1, 1) for s2 in (-1, 1) for s3 in (-1, 1)]
    corners += [(0.0, 0.0, 1e3), (0.0, 0.0, -1e3), (1e3, 0.0, 0.0), (0.0, 1e3, 0.0), (20.0, 40.0, 40.0)]
    for N, L in [(1, 1), (1, 32), (8, 8), (8, 32), (64, 256)]:
        m = InductionHeadModel(N, L)
        for point in corners:
            with np.errstate(over="raise", invalid="raise", divide="raise"):
                value = float(m.loss(*point))
                g = m.grad(*point)
            ref = float(mp_loss(*point, N, L))
            assert value == pytest.approx(ref, rel=1e-12, abs=1e-300), (N, L, point)
            np.testing.assert_allclose(g, mp_grad(*point, N, L), rtol=1e-9, atol=1e-300)


def test_broadcasting_shapes():
    m = InductionHeadModel(4, 9)
    b = np.linspace(-1, 1, 5)[:, None]
    a = np.linspace(0, 2, 7)
    assert m.loss(b, a, 1.0).shape == (5, 7)
    assert m.grad(b, a, 1.0).shape == (5, 7, 3)
    assert m.hessian(b, a, 1.0).shape == (5, 7, 3, 3)
    assert m.grad(0.1, 0.2, 0.3).shape == (3,)
    np.testing.assert_allclose(m.grad(b, a, 1.0)[2, 3], mp_grad(b[2, 0], a[3], 1.0, 4, 9), rtol=1e-12)


# --------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(N=0, L=4), "N"),
        (dict(N=-3, L=4), "N"),
        (dict(N=2.5, L=4), "N"),
        (dict(N="8", L=32), "N"),
        (dict(N=True, L=32), "N"),
        (dict(N=8, L=7), "L"),
        (dict(N=8, L=32.5), "L"),
        (dict(N=8, L=float("nan")), "L"),
    ],
)
def test_bad_counts_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name} must be an integer >= "):
        InductionHeadModel(**kwargs)


def test_integral_floats_are_counts():
    assert InductionHeadModel(N=8.0, L=32.0).N == 8


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_parameters_rejected(bad):
    m = InductionHeadModel(8, 32)
    with pytest.raises(ValueError, match="^beta must be finite"):
        m.loss(bad, 0.0, 0.0)
    with pytest.raises(ValueError, match="^xi must be finite"):
        m.grad(0.0, 0.0, [0.0, bad])
