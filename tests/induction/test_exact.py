"""The exact minimal model (phenom.induction.exact) against the mean-field model at hand-derived points."""

import numpy as np
import pytest

from phenom.induction.exact import ExactInductionModel
from phenom.induction.model import InductionHeadModel


def test_exact_and_mean_field_agree_at_the_origin_and_differ_elsewhere():
    # At θ = 0 every attention is uniform and both give log L; away from it they differ.
    exact, mean_field = ExactInductionModel(3, 7), InductionHeadModel(3, 7)
    assert float(exact.loss(0.0, 0.0, 0.0)) == pytest.approx(np.log(7), rel=1e-14)
    gap = abs(float(exact.loss(3.0, 5.0, 8.0)) - float(mean_field.loss(3.0, 5.0, 8.0)))
    assert gap > 1e-3
    # The exact model's gradient at the origin: only ξ moves it, as in the mean field, with the
    # value −(L−N)/(L(2N+1)) (every token attends uniformly, z = z' = 1/(2N+1)).
    g = exact.grad(0.0, 0.0, 0.0)
    assert g[0] == pytest.approx(0.0, abs=1e-15) and g[1] == pytest.approx(0.0, abs=1e-15)
    assert g[2] == pytest.approx(-(7 - 3) / (7 * 7), rel=1e-12)
