"""Measured rates of the network's effective parameters (phenom.nets.probes), against an
independent computation: the tangent kernel from the hand-written backward pass, a small gradient
step, and the mean-field rate they are divided by."""

import numpy as np
import pytest

from phenom.induction.model import InductionHeadModel
from phenom.nets import AttentionNetwork, CopyingTask
from phenom.nets.probes import measured_metric, tangent_rates


@pytest.fixture(scope="module")
def setup():
    task = CopyingTask(N=3, L=7, D=8)
    net = AttentionNetwork.init(task, "linear", seed=2, dtype=np.float64)
    for name in ("Q1", "K1", "Q2", "K2"):
        net.weights[name] *= 2  # away from uniform attention, so every rate is nonzero
    return task, net, task.sample(64, np.random.default_rng(0), dtype=np.float64)


def test_margin_rate_is_the_tangent_kernel_from_backward(setup):
    task, net, batch = setup
    rates = tangent_rates(net, task, batch, eps=1e-7)  # central difference: error O(eps²)
    # −⟨∇margin, ∇loss⟩ with both gradients from the backward pass.
    logits, cache = net.forward(batch.tokens)
    n, N, L = len(logits), task.N, task.L
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    onehot = np.zeros_like(p)
    onehot[np.arange(n), batch.answer] = 1
    absent = np.ones_like(p, dtype=bool)
    absent[np.arange(n)[:, None], batch.context_labels] = False
    g_loss = net.backward((p - onehot) / n, cache)
    g_margin = net.backward((onehot - absent / (L - N)) / n, cache)
    kernel = -sum(float(np.sum(g_margin[k] * g_loss[k])) for k in g_loss)
    assert rates["margin"] == pytest.approx(kernel, rel=1e-6)


def test_rates_predict_a_small_gradient_step(setup):
    task, net, batch = setup
    rates = tangent_rates(net, task, batch, eps=1e-7)
    before = net.metrics(batch, task)
    lr = 1e-7  # a forward step: error O(lr)
    stepped = net.astype(np.float64)
    _, grads = stepped.loss_and_grads(batch)
    for k, w in stepped.params().items():
        w -= lr * grads[k]
    after = stepped.metrics(batch, task)
    for k in ("ila1", "tila2", "beta", "alpha", "xi"):
        assert (after[k] - before[k]) / lr == pytest.approx(rates[k], rel=1e-4, abs=1e-9), k
    assert net.metrics(batch, task) == before  # the network itself is untouched


def test_measured_metric_divides_by_the_mean_field_rate(setup):
    task, net, batch = setup
    C = measured_metric(net, task, batch)
    rates, state = tangent_rates(net, task, batch), net.metrics(batch, task)
    g = InductionHeadModel(task.N, task.L).grad(state["beta"], state["alpha"], state["xi"])
    for k, gk in zip(("beta", "alpha", "xi"), g, strict=True):
        assert C[k] == pytest.approx(rates[k] / -gk, rel=1e-12)
