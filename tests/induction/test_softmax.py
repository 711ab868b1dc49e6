"""The stable softmax primitives: symbolic identities and numpy values against mpmath."""

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from phenom.induction._softmax import (
    NUMPY_FUNCTIONS,
    ProbDifference,
    SoftmaxNLL,
    SoftmaxP,
    nll,
    prob,
    prob_difference,
    to_exp,
)

d1, d2, m1, m2, s, t = sp.symbols("d1 d2 m1 m2 s t", real=True)


def test_nll_and_group_probabilities_are_the_softmax():
    F = SoftmaxNLL(d1, d2, m1, m2)
    Z = 1 + m1 * sp.exp(d1) + m2 * sp.exp(d2)
    assert sp.simplify(to_exp(F) - sp.log(Z)) == 0
    assert sp.simplify(to_exp(F.diff(d1)) - m1 * sp.exp(d1) / Z) == 0
    # Second derivatives through SoftmaxP's own derivative rule: P_j(δ_ij − P_i).
    for u in (d1, d2):
        for v in (d1, d2):
            assert sp.simplify(to_exp(F.diff(u, v)) - sp.log(Z).diff(u, v)) == 0


def test_chain_rule_through_gaps_that_depend_on_a_parameter():
    F = SoftmaxNLL(s**2, sp.sin(s), 3, 5)
    literal = sp.log(1 + 3 * sp.exp(s**2) + 5 * sp.exp(sp.sin(s)))
    for order in (1, 2, 3):
        got = to_exp(F.diff(s, order))
        assert sp.simplify(got - literal.diff(s, order)) == 0


def test_empty_groups_drop_out():
    assert SoftmaxNLL(d1, d2, 0, m2) == SoftmaxNLL(d2, m2)
    assert SoftmaxNLL(d1, 0) == 0
    F = SoftmaxNLL(d1, d2, m1, m2)
    assert SoftmaxP(1, F, d1, d2, m1, 0) == 0


def test_literal_and_stable_builders_agree():
    others = [(3, s), (sp.Integer(2), 0)]
    assert sp.simplify(to_exp(prob(t, others)) - prob(t, others, stable=False)) == 0
    assert sp.simplify(sp.exp(nll(t, others, stable=False) - to_exp(nll(t, others)))) == 1
    diff_stable = to_exp(prob_difference(t, s, [(4, 0)]))
    assert sp.simplify(diff_stable - prob_difference(t, s, [(4, 0)], stable=False)) == 0


def test_prob_difference_derivative_is_the_derivative_of_the_difference():
    expr = prob_difference(t, 0, [(5, 0)])
    literal = prob_difference(t, 0, [(5, 0)], stable=False)
    for order in (1, 2):
        assert sp.simplify(to_exp(expr.diff(t, order)) - literal.diff(t, order)) == 0


def _mp_nll(gaps, counts):
    with mp.workdps(60):
        return mp.log1p(sum(mp.mpf(m) * mp.exp(mp.mpf(d)) for d, m in zip(gaps, counts, strict=True)))


@pytest.mark.parametrize(
    "gaps, counts",
    [
        ((-700.0, -705.0), (3, 4)),  # loss ~ 1e-304: relative precision needs log1p
        ((-30.0,), (1,)),
        ((0.0, 0.0), (7, 24)),
        ((1e3, -1e3), (2, 5)),  # huge gap: no overflow
        ((1e-12, -1e-12), (1, 1)),
        ((-3.0, 5.0), (0, 2)),  # empty group
        ((800.0, 2.0), (0, 1)),  # empty group with a gap that would overflow
    ],
)
def test_numpy_nll_matches_mpmath(gaps, counts):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = NUMPY_FUNCTIONS["SoftmaxNLL"](*gaps, *counts)
        probs = [NUMPY_FUNCTIONS["SoftmaxP"](j, got, *gaps, *counts) for j in range(len(gaps))]
    ref = _mp_nll(gaps, counts)
    assert float(got) == pytest.approx(float(ref), rel=1e-14, abs=1e-320)
    with mp.workdps(60):
        for j, p in enumerate(probs):
            expected = mp.mpf(counts[j]) * mp.exp(mp.mpf(gaps[j]) - ref)
            assert float(p) == pytest.approx(float(expected), rel=1e-13, abs=1e-320)


@pytest.mark.parametrize("g", [1e-300, 1e-12, -1e-9, 0.5, -40.0, 700.0, -700.0])
def test_numpy_prob_difference_matches_mpmath(g):
    # Two tokens of one softmax: logits g and 0, against 6 more at 0.
    with mp.workdps(400):
        G = mp.mpf(g)
        Z = mp.exp(G) + 7
        x_i, x_j = G - mp.log(Z), -mp.log(Z)
        expected = (mp.exp(G) - 1) / Z
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            got = NUMPY_FUNCTIONS["ProbDifference"](float(x_i), float(x_j), g)
    assert float(got) == pytest.approx(float(expected), rel=1e-13)


def test_printing():
    F = SoftmaxNLL(d1, m1)
    assert sp.latex(F) == r"\log\left(1 + m_{1} e^{d_{1}}\right)"
    assert r"\frac" in sp.latex(SoftmaxP(0, F, d1, m1))
    assert "e^{" in sp.latex(ProbDifference(s, t, s - t))
