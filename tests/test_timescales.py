"""Rates of the network's effective parameters (phenom.timescales), against an independent
computation: the tangent kernel from the hand-written backward pass, and a gradient step."""

import numpy as np
import pytest

from phenom.induction import InductionHeadModel
from phenom.nets import AttentionNetwork, CopyingTask
from phenom.timescales import measured_metric, tangent_rates


@pytest.fixture(scope="module")
def setup():
    task = CopyingTask(N=3, L=7, D=8)
    net = AttentionNetwork.init(task, "linear", seed=2, dtype=np.float64)
    for name in ("Q1", "K1", "Q2", "K2"):
        net.weights[name] *= 2  # away from uniform attention, so every rate is nonzero
    return task, net, task.sample(64, np.random.default_rng(0), dtype=np.float64)


def test_margin_rate_is_the_tangent_kernel_from_backward(setup):
    task, net, batch = setup
    rates = tangent_rates(net, task, batch)
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
    rates = tangent_rates(net, task, batch)
    before = net.metrics(batch, task)
    lr = 1e-6
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
    for k, gk in zip(("beta", "alpha", "xi"), g):
        assert C[k] == pytest.approx(rates[k] / -gk, rel=1e-12)


def test_measuring_along_training_does_not_change_the_run():
    from phenom.compare import scaling_point
    from phenom.timescales import metric_along_training

    config = dict(N=2, L=4, D=8, eps=0.1, seed=0, lr=0.5, steps=60, eval_every=10, eval_size=64, batch_size=32,
                  weight_decay=1e-6)
    measured = metric_along_training(config, probe_every=20, probe_size=64)
    plain = scaling_point(config)
    assert measured["history"]["step"][-1] == plain["last_step"]
    assert measured["history"]["icl_acc"][-1] == plain["final_icl_acc"]
    # Probes at every multiple of 20 the run evaluates before its budget ends.
    assert [r["step"] for r in measured["probes"]] == [s for s in range(0, plain["last_step"] + 1, 20) if s < 60]
    assert all(set(r["C"]) == {"beta", "alpha", "xi"} for r in measured["probes"])
    with pytest.raises(ValueError, match="^probe_every must be a multiple of eval_every = 10"):
        metric_along_training(config, probe_every=15)
