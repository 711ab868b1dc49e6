"""The numpy minimal network (phenom.nets.minimal) equals the exact symbolic loss."""

import pytest

from phenom.induction.exact import ExactInductionModel
from phenom.nets.minimal import MinimalNetwork


@pytest.mark.parametrize("N,L", [(1, 4), (2, 2), (2, 5), (3, 7), (4, 4)])
def test_minimal_network_equals_the_exact_symbolic_loss(N, L):
    net, exact = MinimalNetwork(N, L), ExactInductionModel(N, L)
    thetas = [(0.0, 0.0, 0.0), (1.0, 2.0, 3.0), (-2.0, 4.0, -1.0), (5.0, -3.0, 7.0), (0.3, 8.0, 12.0)]
    thetas += [(20.0, 30.0, 40.0)]  # a tiny loss (~1e-9): relative agreement needs log1p on both sides
    for theta in thetas:
        assert net.loss(*theta) == pytest.approx(float(exact.loss(*theta)), rel=1e-10, abs=1e-300)
