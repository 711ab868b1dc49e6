"""The numpy linear self-attention network: gradients, the PGD identity, training outcomes."""

import numpy as np
import pytest

from phenom import LinearICL
from phenom.nets import LinearAttention, train
from phenom.nets.optim import make_optimizer


def _task(d=3, N=5, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    Qr, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return LinearICL(d, N, Qr @ np.diag(np.linspace(1.5, 0.4, d)) @ Qr.T, None, noise)


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_backward_matches_finite_differences(layers):
    task = _task()
    batch = task.sample(6, np.random.default_rng(1))
    net = LinearAttention.init(task.d, task.N, layers, scale=0.5, seed=layers)
    loss, grads = net.loss_and_grads(batch)
    h = 1e-6
    for name, p in net.params().items():
        fd = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            up = net.loss_and_grads(batch)[0]
            p[idx] = old - h
            down = net.loss_and_grads(batch)[0]
            p[idx] = old
            fd[idx] = (up - down) / (2 * h)
        scale = np.abs(fd) + np.abs(grads[name])
        rel = np.abs(fd - grads[name]) / np.maximum(scale, 1e-10)
        assert rel.max() < 1e-6, (name, rel.max())


def _stacked_forward(P, Q, N, Z):
    """The layers of the module docstring with numpy's products of stacked matrices (as the
    network computed them before its compiled layers): Z ← Z + (1/N) P (Z_ctx Z_ctxᵀ) Q Z."""
    cache = []
    for P_l, Q_l in zip(P, Q, strict=True):
        ctx = Z[:, :, :N]
        A = ctx @ np.swapaxes(ctx, 1, 2)
        C = P_l @ A @ Q_l
        cache.append((Z, A, C))
        Z = Z + (C @ Z) / N
    return Z, cache


def _stacked_backward(P, Q, N, dy, cache):
    d = P.shape[-1] - 1
    G = np.zeros_like(cache[-1][0])
    G[:, d, N] = dy
    dP, dQ = np.zeros_like(P), np.zeros_like(Q)
    for layer in reversed(range(len(P))):
        Z, A, C = cache[layer]
        dC = G @ np.swapaxes(Z, 1, 2) / N
        dP[layer] = np.sum(dC @ Q[layer].T @ A, axis=0)
        dQ[layer] = np.sum(A @ P[layer].T @ dC, axis=0)
        dA = P[layer].T @ dC @ Q[layer].T
        G = G + np.swapaxes(C, 1, 2) @ G / N
        G[:, :, :N] += (dA + np.swapaxes(dA, 1, 2)) @ Z[:, :, :N]
    return dP, dQ


@pytest.mark.parametrize(
    ("d", "N", "layers", "n"), [(5, 20, 4, 64), (2, 4, 2, 7), (1, 1, 3, 5), (8, 30, 1, 3), (3, 2, 2, 1)]
)
def test_compiled_layers_are_the_stacked_products(d, N, layers, n):
    # Forward: against einsum, one product at a time. Gradients: against the stacked-product
    # backward pass (itself checked against finite differences above). The compiled layers sum
    # each entry in the products' own order, so they agree to rounding (bit for bit where the BLAS
    # chains fused multiply-adds: benchmarks/bench_work.py).
    rng = np.random.default_rng(d + 10 * N + 100 * layers)
    net = LinearAttention.init(d, N, layers, scale=1.0, seed=n)
    Z = rng.standard_normal((n, d + 1, N + 1))
    pred, cache = net.forward(Z)
    expected = Z
    for P_l, Q_l in zip(net.P, net.Q, strict=True):
        A = np.einsum("bin,bjn->bij", expected[:, :, :N], expected[:, :, :N])
        expected = expected + np.einsum("ij,bjk,kl,blt->bit", P_l, A, Q_l, expected) / N
    np.testing.assert_allclose(pred, expected[:, d, N], rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(n)
    grads = net.backward(dy, cache)
    dP, dQ = _stacked_backward(net.P, net.Q, N, dy, _stacked_forward(net.P, net.Q, N, Z)[1])
    np.testing.assert_allclose(grads["P"], dP, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(grads["Q"], dQ, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_preconditioner_weights_are_pgd_steps_numerically(layers):
    # P = [[0,0],[0,1]], Q = −[[A,0],[0,0]] per layer: −(read-out) is `layers` steps of
    # w ← w − Aᵀ ∇L(w), L = (1/2N)Σ(wᵀx_i − y_i)², computed here directly.
    task = _task(noise=0.3)
    batch = task.sample(5, np.random.default_rng(2))
    d, N = task.d, task.N
    A = np.random.default_rng(3).standard_normal((d, d)) / 3
    P = np.zeros((layers, d + 1, d + 1))
    Q = np.zeros((layers, d + 1, d + 1))
    P[:, d, d] = 1.0
    Q[:, :d, :d] = -A
    net = LinearAttention(P, Q, N)
    w = np.zeros((len(batch), d))
    for _ in range(layers):
        residual = np.einsum("bnd,bd->bn", batch.X, w) - batch.y
        w = w - np.einsum("bnd,bn->bd", batch.X, residual) @ A / N  # (Aᵀ g)ᵀ = gᵀ A
    np.testing.assert_allclose(-net.predict(batch), np.einsum("bd,bd->b", w, batch.x_q), rtol=1e-12)


def test_effective_preconditioner_is_the_part_linear_in_the_labels():
    # Every other term of the one-layer prediction is even in y, so (ŷ(y) − ŷ(−y))/2 = x_qᵀ Γ_eff h.
    task = _task()
    batch = task.sample(8, np.random.default_rng(4))
    net = LinearAttention.init(task.d, task.N, 1, scale=1.0, seed=9)
    flipped = type(batch)(batch.X, -batch.y, batch.x_q, -batch.y_q, -batch.w)
    odd = (net.predict(batch) - net.predict(flipped)) / 2
    h = np.einsum("bn,bnd->bd", batch.y, batch.X) / task.N
    np.testing.assert_allclose(odd, np.einsum("bd,de,be->b", batch.x_q, net.effective_preconditioner(), h), rtol=1e-12)


def test_trained_preconditioner_reaches_the_optimum():
    # d = 5, N = 20, Σ with distinct eigenvalues (rotated): Adam from a small random start.
    rng = np.random.default_rng(3)
    Qr, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    task = LinearICL(5, 20, Qr @ np.diag([2.0, 1.4, 1.0, 0.6, 0.3]) @ Qr.T)
    net = LinearAttention.init(5, 20, 1, scale=0.1, seed=0)
    hist = train(net, task, steps=3000, lr=0.01, optimizer="adam", batch_size=256, seed=0, schedule="cosine")
    G, G_star = net.effective_preconditioner(), task.optimal_preconditioner()
    # 1.3–1.6% over seeds 0–3 at this batch size; the figure's setting is tested in tests/jobs.
    assert np.linalg.norm(G - G_star) / np.linalg.norm(G_star) < 0.025
    assert hist.risk_gamma[-1] < 1.01 * task.optimal_risk()
    assert hist.config["seeds"] == {"init": 0, "data": 0, "eval": 1}


def test_sgd_from_a_factored_start_follows_the_factored_flow():
    task = _task(d=3, N=10, noise=0.0)
    eps, V = 0.01, np.eye(3) / np.sqrt(3)
    lr, t_max = 0.01, 6.0
    flow = task.factored_flow(eps, eps * V, t_max=t_max)
    net = LinearAttention.factored(eps, eps * V, task.N)
    hist = train(net, task, steps=int(t_max / lr), lr=lr, optimizer="sgd", batch_size=512, seed=0, eval_every=20)
    analytic = flow.trajectory.loss_at(hist.step * lr)
    rel = np.abs(hist.risk_gamma - analytic) / analytic
    # The same sigmoid within SGD's noise: over seeds 0–3 the largest gap was 1.4–6.0%, the
    # final one 0.08–0.17%.
    assert rel.max() < 0.08
    assert rel[-1] < 0.005


def test_training_is_deterministic_given_the_seeds():
    task = _task()
    runs = []
    for _ in range(2):
        net = LinearAttention.init(task.d, task.N, 2, seed=4)
        runs.append(train(net, task, steps=30, lr=0.01, optimizer="adam", batch_size=32, seed=7, eval_every=10))
    np.testing.assert_array_equal(runs[0].eval_loss, runs[1].eval_loss)


def test_bad_training_input():
    task, net = _task(), LinearAttention.init(3, 5, 1)
    with pytest.raises(ValueError, match=r"^optimizer must be one of \['adam', 'sgd'\]"):
        make_optimizer("rmsprop", 0.1)
    with pytest.raises(ValueError, match="^lr must be a finite number > 0"):
        train(net, task, steps=10, lr=0.0)
    with pytest.raises(ValueError, match="^steps must be an integer >= 1"):
        train(net, task, steps=0, lr=0.1)
    with pytest.raises(ValueError, match="^layers must be an integer >= 1"):
        LinearAttention.init(3, 5, 0)
    with pytest.raises(ValueError, match="the network was built for d = 3, N = 5"):
        train(LinearAttention.init(3, 5, 1), LinearICL(3, 10), steps=1, lr=0.1)
    with pytest.raises(ValueError, match=r"^P must have shape \(layers, d\+1, d\+1\)"):
        LinearAttention(np.eye(3), np.eye(3), 5)
    with pytest.raises(ValueError, match="^Q must have the shape of P"):
        LinearAttention(np.zeros((2, 3, 3)), np.zeros((1, 3, 3)), 5)
    with pytest.raises(ValueError, match="^eval_every must be an integer >= 1"):
        train(net, task, steps=10, lr=0.1, eval_every=0)
