"""Progress measures (phenom.nets.measures): the effective parameters invert the mean-field
relations."""

import numpy as np
import pytest

from phenom.nets.measures import effective_parameters


def test_effective_parameters_invert_the_mean_field_relations():
    # y = e^β/(e^β + N), z = e^{αy}/(e^{αy} + 2N), margin = ξ z: chosen (β, α, ξ) come back.
    N, L, beta, alpha, xi = 8, 32, 1.3, 4.0, 6.0
    y = np.exp(beta) / (np.exp(beta) + N)
    z = np.exp(alpha * y) / (np.exp(alpha * y) + 2 * N)
    assert effective_parameters(y, z, xi * z, N, L) == pytest.approx((beta, alpha, xi), rel=1e-12)
    z_other = 1 / (np.exp(alpha * y) + 2 * N)
    assert effective_parameters(y, z, xi * (z - z_other), N, N)[2] == pytest.approx(xi, rel=1e-12)


