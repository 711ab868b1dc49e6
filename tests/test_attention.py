"""The two-layer attention network: gradients, the minimal network against the exact theory."""

import numpy as np
import pytest

from phenom.induction import ExactInductionModel, InductionHeadModel
from phenom.nets import AttentionNetwork, CopyingTask
from phenom.nets.minimal import MinimalNetwork


def _richardson(f, h: float) -> float:
    """Central difference with one Richardson step: error O(h⁴)."""
    d1 = (f(h) - f(-h)) / (2 * h)
    d2 = (f(h / 2) - f(-h / 2)) / h
    return (4 * d2 - d1) / 3


@pytest.mark.parametrize("classifier", ["linear", "mlp"])
def test_backward_matches_finite_differences_for_every_parameter(classifier):
    task = CopyingTask(N=3, L=6, D=8, eps=0.1)
    batch = task.sample(5, np.random.default_rng(0))
    net = AttentionNetwork.init(task, classifier, seed=1, dtype=np.float64)
    _, grads = net.loss_and_grads(batch)
    rng = np.random.default_rng(2)
    for name, p in net.weights.items():
        v = rng.standard_normal(p.shape)
        base = p.copy()

        def f(h):
            p[...] = base + h * v
            return net.loss_and_grads(batch)[0]

        fd = _richardson(f, 1e-5)  # small: the MLP's ReLU kinks must not be crossed
        p[...] = base
        analytic = float(np.sum(grads[name] * v))
        assert abs(fd - analytic) <= 1e-6 * abs(analytic) + 1e-12, (name, fd, analytic)
        # and entry by entry for the largest-gradient entry
        idx = np.unravel_index(np.argmax(np.abs(grads[name])), p.shape)
        e = np.zeros_like(p)
        e[idx] = 1.0

        def g(h):
            p[...] = base + h * e
            return net.loss_and_grads(batch)[0]

        assert _richardson(g, 1e-5) == pytest.approx(grads[name][idx], rel=1e-6)
        p[...] = base


def test_float32_network_matches_float64():
    task = CopyingTask(N=4, L=8, D=16)
    batch = task.sample(16, np.random.default_rng(3))
    net32 = AttentionNetwork.init(task, "linear", seed=4)
    net64 = net32.astype(np.float64)
    l32, g32 = net32.loss_and_grads(batch)
    l64, g64 = net64.loss_and_grads(batch)
    assert net32.dtype == np.float32 and g32["Q1"].dtype == np.float32
    assert l32 == pytest.approx(l64, rel=1e-5)
    for name in g64:
        np.testing.assert_allclose(g32[name], g64[name], rtol=2e-3, atol=1e-6 * np.abs(g64[name]).max())


def _reference_forward(w, X, classifier):
    """The architecture as REFERENCE.md §3 writes it, every token through both layers:
    x_i ← x_i + Σ_{j<=i} softmax_j((K x_j)·(Q x_i)) V x_j, then the classifier on the last token."""
    T = X.shape[1]
    for layer in ("1", "2"):
        Q, K, V = (w[name + layer] for name in "QKV")
        scores = np.einsum("nid,njd->nij", X @ Q.T, X @ K.T)
        scores = np.where(np.tril(np.ones((T, T), dtype=bool)), scores, -np.inf)
        A = np.exp(scores - scores.max(axis=2, keepdims=True))
        A /= A.sum(axis=2, keepdims=True)
        X = X + A @ X @ V.T
    h = X[:, -1]
    if classifier == "mlp":
        for k in (1, 2, 3):
            h = np.maximum(h @ w[f"W{k}"].T + w[f"b{k}"], 0)
    return h @ w["W"].T


@pytest.mark.parametrize("classifier", ["linear", "mlp"])
def test_forward_equals_the_full_architecture(classifier):
    # The target-row shortcut of layer 2 and the 2-D products change nothing.
    task = CopyingTask(N=4, L=8, D=16)
    net = AttentionNetwork.init(task, classifier, seed=5, dtype=np.float64)
    for name in ("Q1", "K1", "Q2", "K2"):
        net.weights[name] *= 2  # attention well away from uniform
    X = task.sample(6, np.random.default_rng(1)).tokens
    np.testing.assert_allclose(net.forward(X)[0], _reference_forward(net.weights, X, classifier), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("N,L", [(1, 4), (2, 2), (2, 5), (3, 7), (4, 4)])
def test_minimal_network_equals_the_exact_symbolic_loss(N, L):
    net, exact = MinimalNetwork(N, L), ExactInductionModel(N, L)
    thetas = [(0.0, 0.0, 0.0), (1.0, 2.0, 3.0), (-2.0, 4.0, -1.0), (5.0, -3.0, 7.0), (0.3, 8.0, 12.0)]
    thetas += [(20.0, 30.0, 40.0)]  # a tiny loss (~1e-9): relative agreement needs log1p on both sides
    for theta in thetas:
        assert net.loss(*theta) == pytest.approx(float(exact.loss(*theta)), rel=1e-10, abs=1e-300)


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
