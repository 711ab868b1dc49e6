"""The β, α, ξ model's figures (phenom.figures.jobs.induction): each published number against an
independent computation: the flow of the hand-typed loss by scipy's DOP853 (tests/independent.py),
the asymptotic formula typed from the README, discrete gradient descent in a loop of our own, and
the exact minimal network's loss typed from its definition."""

from pathlib import Path

import numpy as np
import pytest
from independent import ExactMinimalFlow, ReferenceFlow, exact_minimal_loss, hand_loss
from reference import mp_loss
from scipy.special import erfcx

from phenom.figures.jobs import induction as ji
from phenom.figures.settings import (
    InductionFlowSetting,
    InductionLandscapeSetting,
    MinimalVsMeanFieldSetting,
    PhaseSetting,
)


@pytest.fixture(scope="module")
def flow_8_32():
    """The README's flow: N = 8, L = 32, lr = 1, from θ = 0."""
    return ReferenceFlow(8, 32, 300.0)


def test_induction_flow_cliff_half_loss_and_order_are_the_independent_flows(flow_8_32):
    # The README: cliff at t = 97.7, half of log 32 at 97.5, ξ, α, β reach 1 at 22.8, 79.3, 90.0.
    result = ji.induction_flow(InductionFlowSetting(compare_L=(8,), samples=7), Path("."))
    main, still = result["flows"]
    assert (main["N"], main["L"]) == (8, 32)
    ref = flow_8_32
    assert main["cliff_time"] == pytest.approx(ref.cliff(), rel=1e-7)
    assert main["cliff_time"] == pytest.approx(97.676, abs=5e-3)
    assert main["time_to_half_log_L"] == pytest.approx(ref.time_to_loss(0.5 * np.log(32)), rel=1e-7)
    crossings = main["time_each_parameter_reaches_1"]
    for k, name in enumerate(("beta", "alpha", "xi")):
        assert crossings[name] == pytest.approx(ref.crossing(k, 1.0), rel=1e-7)
    assert crossings["xi"] < crossings["alpha"] < crossings["beta"]
    # The accuracy panel: P(correct) = 1/(1 + (N−1)e^{−u} + (L−N)e^{−u'}) = e^{−loss}, and the
    # curriculum P(in context) = (1 + (N−1)e^{−u}) · P(correct), on the independent path.
    c = main["curves"]
    theta = ref.theta(c["t"])
    np.testing.assert_allclose(np.column_stack([c["beta"], c["alpha"], c["xi"]]), theta, rtol=1e-6, atol=1e-9)
    beta, alpha, xi = theta.T
    y = np.exp(beta) / (np.exp(beta) + 8)
    E = np.exp(alpha * y)
    u, u_prime = xi * (E - 1) / (E + 16), xi * E / (E + 16)
    Z = 1 + 7 * np.exp(-u) + 24 * np.exp(-u_prime)
    np.testing.assert_allclose(c["p_correct"], 1 / Z, rtol=1e-6)
    np.testing.assert_allclose(c["p_context"], (1 + 7 * np.exp(-u)) / Z, rtol=1e-6)
    # L = N = 8: the origin is stationary (only ξ could move, and its force (L − N)/(L(2N+1)) is 0).
    assert (still["N"], still["L"]) == (8, 8)
    assert list(still["final_theta"].values()) == [0.0, 0.0, 0.0]
    assert still["final_loss"] == pytest.approx(np.log(8), rel=1e-15)
    assert still["cliff_time"] is None and still["time_to_half_log_L"] is None


def test_induction_landscape_slices_through_the_independent_cliff(flow_8_32):
    result = ji.induction_landscape(InductionLandscapeSetting(grid=4), Path("."))
    ref = flow_8_32
    t = ref.cliff()
    assert result["cliff"]["t"] == pytest.approx(t, rel=1e-7)
    beta, alpha, xi = ref.theta(t)
    assert (result["cliff"]["beta"], result["cliff"]["alpha"], result["cliff"]["xi"]) == pytest.approx(
        (beta, alpha, xi), rel=1e-6
    )
    assert result["cliff"]["grad_norm"] == pytest.approx(float(ref.grad_norm(t)[0]), rel=1e-6)
    # Each slice's loss at its grid points is the hand-typed loss in mpmath (50 digits).
    ab, xa = result["slices"]
    assert (ab["x_name"], ab["y_name"], ab["fixed"]) == ("alpha", "beta", {"xi": pytest.approx(xi, rel=1e-6)})
    for i, b in enumerate(ab["y"]):
        for j, a in enumerate(ab["x"]):
            expected = float(mp_loss(b, a, ab["fixed"]["xi"], 8, 32))
            assert ab["loss"][i][j] == pytest.approx(expected, rel=1e-12)
    for i, a in enumerate(xa["y"]):
        for j, x in enumerate(xa["x"]):
            expected = float(mp_loss(xa["fixed"]["beta"], a, x, 8, 32))
            assert xa["loss"][i][j] == pytest.approx(expected, rel=1e-12)


def _formula(N, L, s=0.0):
    """The README's t* from θ₀ = s·(1, 1, 1), typed from its text: A = (L − N)/(L(2N + 1)),
    B = (2LN − N − 1)/(L(N + 1)(2N + 1)²), C = B·N/(N + 1);
    τ* = e^{−β₀} sqrt(π/2BC) erfcx(α₀ sqrt(C/2B)), and ξ₀ t* + A t*²/2 = τ*."""
    A = (L - N) / (L * (2 * N + 1))
    B = (2 * L * N - N - 1) / (L * (N + 1) * (2 * N + 1) ** 2)
    C = B * N / (N + 1)
    tau = np.exp(-s) * np.sqrt(np.pi / (2 * B * C)) * erfcx(s * np.sqrt(C / (2 * B)))
    return (-s + np.sqrt(s * s + 2 * A * tau)) / A


def _gd_step(N, L, lr, theta0, budget):
    """Discrete GD θ ← θ − lr ∇ℓ on the hand-typed loss: the step of the largest |∇ℓ|."""
    grad = hand_loss(N, L)[1]
    theta = np.array(theta0, float)
    norms = []
    for _ in range(int(np.ceil(budget / lr)) + 1):
        g = np.array(grad(*theta), float)
        norms.append(np.sqrt(g @ g))
        theta = theta - lr * g
    return int(np.argmax(norms))


def test_phase_error_is_formula_over_numeric_minus_one(monkeypatch):
    """The README: the formula is *above* the numeric time everywhere (positive errors). On the
    grid N = 2, L = 3 and 4: t* by the formula typed by hand against the independent flow's cliff."""
    # The sympy derivation of the formula's text takes seconds (uncached); its numbers do not use it.
    monkeypatch.setattr(ji, "formula_text", lambda: {"t_star": "t*", "A": "A", "B": "B", "C": "C"})
    setting = PhaseSetting(
        N_max=2, ratio_max=2, reference=(2, 4), scale_max=0.5, scale_points=2, lr_min=0.5, lr_max=2.0, lr_points=2
    )
    result = ji.phase(setting, Path("."))
    numeric = np.array([ReferenceFlow(2, L, 100.0).cliff() for L in (3, 4)])
    formula = np.array([_formula(2, 3), _formula(2, 4)])
    # By hand at (2, 3): A = 1/15, B = 9/(3·3·25) = 1/25, C = 2/75: t* = (2π)^{1/4} A^{−1/2} (BC)^{−1/4}.
    assert formula[0] == pytest.approx((2 * np.pi) ** 0.25 * 15**0.5 * (1 / 25 * 2 / 75) ** -0.25, rel=1e-14)
    assert result["grid"]["numeric"] == pytest.approx(numeric, rel=1e-6)
    assert result["grid"]["formula"] == pytest.approx(formula, rel=1e-6)
    err = formula / numeric - 1  # +3.2% at (2, 3), +1.4% at (2, 4)
    assert np.all(err > 0)
    pooled = result["errors"]["pooled"]
    assert pooled["points"] == 2
    assert pooled["median_abs"] == pytest.approx(np.mean(np.abs(err)), rel=1e-6)
    assert pooled["signed_median"] == pytest.approx(np.mean(err), rel=1e-6)
    assert pooled["max_abs"] == pytest.approx(err[0], rel=1e-6)
    assert pooled["worst"] == {"N": 2, "L": 3, "error": pytest.approx(err[0], rel=1e-6)}
    by_ratio = result["errors"]["within_L_over_N"]
    assert by_ratio["(1, 1.5]"]["median_abs"] == pytest.approx(err[0], rel=1e-6)  # L/N = 1.5
    assert by_ratio["(1.5, 2]"]["median_abs"] == pytest.approx(err[1], rel=1e-6)  # L/N = 2
    # From θ₀ = 0.5·(1, 1, 1) at (2, 4): the erfcx formula against the independent flow.
    start = ReferenceFlow(2, 4, 100.0, theta0=(0.5, 0.5, 0.5)).cliff()
    scales = result["start_scale"]
    assert scales["numeric"] == pytest.approx([numeric[1], start], rel=1e-6)
    assert scales["relative_error"] == pytest.approx([err[1], _formula(2, 4, 0.5) / start - 1], rel=1e-5)
    # Gradient descent at lr = 0.5 and 2 from both starts, for 4 × the flow's t* from 0.
    gd = result["gradient_descent"]
    budget = 4 * numeric[1]
    assert gd["t_max"] == pytest.approx(budget, rel=1e-6)
    for i, s in enumerate((0.0, 0.5)):
        for j, lr in enumerate((0.5, 2.0)):
            step = _gd_step(2, 4, lr, (s, s, s), budget)
            assert gd["transition_step"][i][j] == step
            assert gd["ratio_to_flow"][i][j] == pytest.approx(step * lr / scales["numeric"][i], rel=1e-6)


def test_minimal_vs_mean_field_against_the_exact_loss_typed_from_its_definition():
    setting = MinimalVsMeanFieldSetting(N=2, L=4, t_max=100.0, grid=5, samples=41, checks=3)
    summary = ji.minimal_vs_mean_field(setting, Path("."))["summary"]
    exact, mean_field = ExactMinimalFlow(2, 4, 100.0), ReferenceFlow(2, 4, 100.0)
    assert summary["exact_cliff"] == pytest.approx(exact.cliff(), rel=1e-6)
    assert summary["mean_field_cliff"] == pytest.approx(mean_field.cliff(), rel=1e-6)
    for key, flow in (("exact_order_reach_1", exact), ("mean_field_order_reach_1", mean_field)):
        for k, name in enumerate(("beta", "alpha", "xi")):
            assert summary[key][name] == pytest.approx(flow.crossing(k, 1.0), rel=1e-6)
    t = np.linspace(0.0, 100.0, 41)
    along = np.abs(exact.loss(t) - mean_field.loss(t))
    assert summary["max_abs_difference_along_flows"] == pytest.approx(along.max(), rel=1e-6)
    assert summary["time_of_max_difference_along_flows"] == t[int(np.argmax(along))]
    # The (α, β) slice at the exact flow's cliff ξ: α from 0 to 8, β from 0 to 6.
    xi = exact.theta(exact.cliff())[2]
    A, B = np.meshgrid(np.linspace(0, 8, 5), np.linspace(0, 6, 5))
    mf = np.vectorize(lambda b, a: float(mp_loss(b, a, xi, 2, 4)))(B, A)
    slice_gap = np.abs(exact_minimal_loss(2, 4, B, A, xi) - mf).max()
    assert summary["max_abs_difference_on_slice"] == pytest.approx(slice_gap, rel=1e-6)
    assert summary["numpy_minimal_vs_exact_max_rel"] < 1e-12
