"""Loss slices: grid values against the reference formula, geometry, bad input."""

import numpy as np
import pytest
from reference import mp_loss

from phenom import InductionHeadModel, loss_slice


def test_slice_values_and_orientation():
    m = InductionHeadModel(4, 12)
    s = loss_slice(m, x=("xi", -2.0, 6.0), y=("alpha", 0.0, 5.0), fixed=1.5, n=9)
    assert s.loss.shape == (9, 9) and s.fixed == ("beta", 1.5)
    np.testing.assert_allclose(s.x, np.linspace(-2, 6, 9))
    for i, j in [(0, 0), (3, 7), (8, 2), (8, 8)]:
        # loss[i, j] is at x = x[j], y = y[i]; the third parameter (β) is the fixed one.
        expected = float(mp_loss(1.5, s.y[i], s.x[j], 4, 12))
        assert s.loss[i, j] == pytest.approx(expected, rel=1e-13)


def test_project_and_theta_are_inverse():
    s = loss_slice(InductionHeadModel(8, 32), x=("alpha", 0, 1), y=("beta", 0, 1), fixed=2.0, n=3)
    theta = s.theta([0.1, 0.2], [0.3, 0.4])
    np.testing.assert_array_equal(theta, [[0.3, 0.1, 2.0], [0.4, 0.2, 2.0]])
    np.testing.assert_array_equal(np.stack(s.project(theta)), [[0.1, 0.2], [0.3, 0.4]])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(x=("gamma", 0, 1)), "^x must name one of"),
        (dict(x=("beta", 0, 1), y=("beta", 0, 1)), "^x and y must name different parameters"),
        (dict(x=("alpha", 1, 0)), "^x and y ranges must have low < high"),
        (dict(n=1), "^n must be an integer >= 2"),
        (dict(fixed=float("nan")), "^fixed must be finite"),
    ],
)
def test_bad_slices(kwargs, message):
    with pytest.raises(ValueError, match=message):
        loss_slice(InductionHeadModel(8, 32), **kwargs)
