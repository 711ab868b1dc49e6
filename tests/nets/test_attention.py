"""The two-layer attention network (phenom.nets.attention): gradients against finite
differences, the forward pass against the full architecture, and what it learns on the copying
task (abrupt learning after a plateau, the curriculum order, ablation, L = N)."""

import numpy as np
import pytest

from phenom.nets import AttentionNetwork, CopyingTask, train
from phenom.nets._compiled import score_gradient, softmax_backward

# N = 8 as in the reference, with a smaller content dimension to keep the tests quick.
SMALL = dict(N=8, L=32, D=32, eps=0.1)
RUN = dict(steps=1200, lr=0.5, optimizer="sgd", batch_size=128, weight_decay=1e-6, eval_every=25, eval_size=2048)


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

        def f(h, p=p, base=base, v=v):
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

        def g(h, p=p, base=base, e=e):
            p[...] = base + h * e
            return net.loss_and_grads(batch)[0]

        assert _richardson(g, 1e-5) == pytest.approx(grads[name][idx], rel=1e-6)
        p[...] = base


@pytest.mark.parametrize("ablate", ["layer1", "layer2"])
def test_ablated_backward_matches_finite_differences(ablate):
    # f(w) = Σ c ⊙ logits(w) with a head removed: its gradient is backward(c).
    task = CopyingTask(N=3, L=6, D=8, eps=0.1)
    batch = task.sample(5, np.random.default_rng(6))
    net = AttentionNetwork.init(task, "linear", seed=2, dtype=np.float64)
    c = np.random.default_rng(7).standard_normal((5, 6))
    logits, cache = net.forward(batch, ablate=ablate)
    grads = net.backward(c, cache)
    rng = np.random.default_rng(8)
    for name, p in net.weights.items():
        v, base = rng.standard_normal(p.shape), p.copy()

        def f(h, p=p, base=base, v=v):
            p[...] = base + h * v
            return float(np.sum(c * net.forward(batch, ablate=ablate)[0]))

        fd = _richardson(f, 1e-4)
        p[...] = base
        analytic = float(np.sum(grads[name] * v))
        assert abs(fd - analytic) <= 1e-7 * max(1.0, abs(analytic)), (name, fd, analytic)


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
    """The architecture as Reddy (ICLR 2024, Sec. 2) describes it, every token through both layers:
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
    np.testing.assert_allclose(
        net.forward(X)[0], _reference_forward(net.weights, X, classifier), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("classifier", ["linear", "mlp"])
@pytest.mark.parametrize("ablate", [None, "layer1", "layer2"])
def test_positions_read_as_indices_equal_the_dense_tokens(classifier, ablate):
    # A SequenceBatch's one-hot positions are gathered and scattered, not multiplied; the dense
    # tokens go through matrix products. Same logits and gradients in float64.
    task = CopyingTask(N=5, L=9, D=12)
    net = AttentionNetwork.init(task, classifier, seed=3, dtype=np.float64)
    for name in ("Q1", "K1", "Q2", "K2"):
        net.weights[name] *= 2
    batch = task.sample(7, np.random.default_rng(4))
    (fast, fast_cache), (dense, dense_cache) = (net.forward(x, ablate=ablate) for x in (batch, batch.tokens))
    np.testing.assert_allclose(fast, dense, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        fast,
        _reference_forward(net.weights, batch.tokens, classifier) if ablate is None else dense,
        rtol=1e-12,
        atol=1e-12,
    )
    dlogits = np.random.default_rng(5).standard_normal(fast.shape)
    g_fast, g_dense = net.backward(dlogits, fast_cache), net.backward(dlogits, dense_cache)
    for name in g_dense:
        np.testing.assert_allclose(g_fast[name], g_dense[name], rtol=1e-11, atol=1e-12 * np.abs(g_dense[name]).max())


@pytest.fixture(scope="module")
def trained():
    task = CopyingTask(**SMALL)
    net = AttentionNetwork.init(task, "linear", seed=0)
    return task, net, train(net, task, seed=0, **RUN)


def _first(mask, steps):
    hits = np.flatnonzero(mask)
    return steps[hits[0]] if hits.size else None


def test_abrupt_learning_after_a_plateau(trained):
    task, _, hist = trained
    s = hist.step
    # Starts at chance 1/L: within 4 binomial standard errors of 1/32 on 2048 sequences.
    assert abs(hist.icl_acc[0] - 1 / task.L) < 4 * np.sqrt((1 / 32) * (31 / 32) / 2048)
    # CLA rises first (the curriculum): it passes 0.7 while ICL accuracy is still below 0.4.
    t_cla = _first(hist.cla > 0.7, s)
    assert t_cla is not None and hist.icl_acc[s == t_cla][0] < 0.4
    # Then the jump: from below 0.3 to above 0.9 within 20% of the run.
    t_low = s[np.flatnonzero(hist.icl_acc < 0.3)[-1]]
    t_high = _first(hist.icl_acc > 0.9, s)
    assert t_high is not None and t_high - t_low <= 0.2 * RUN["steps"] and t_high > t_cla
    # ILA1 and TILA2 jump together with it: their steepest rises fall inside the same window.
    for measure in (hist.ila1, hist.tila2):
        steepest = s[1:][np.argmax(np.diff(measure))]
        assert t_low - 25 <= steepest <= t_high + 25
    assert hist.icl_acc[-1] > 0.95


def test_effective_parameters_follow_the_curriculum_order(trained):
    _, _, hist = trained
    s = hist.step
    # ξ grows first; α and β move at the transition, after ξ has reached 1.
    t_xi, t_alpha = _first(hist.xi > 1.0, s), _first(hist.alpha > 2.0, s)
    assert t_xi is not None and t_alpha is not None and t_xi < t_alpha


def test_ablating_either_head_drops_to_guessing_in_context(trained):
    task, net, _ = trained
    batch = task.sample(4096, np.random.default_rng(99), dtype=net.dtype)
    assert net.metrics(batch, task)["icl_acc"] > 0.95
    for head in ("layer1", "layer2"):
        acc = net.metrics(batch, task, ablate=head)["icl_acc"]
        assert acc < 1 / task.N + 0.1  # at most the level of guessing among the N labels in context


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_L_equal_N_stays_at_chance(seed):
    # Same budget and settings that make L = 32 learn (the fixture); chance is 1/N = 1/8.
    # (At N = 4 some seeds do escape slowly, as Reddy reports for small contexts.)
    task = CopyingTask(**(SMALL | {"L": 8}))
    net = AttentionNetwork.init(task, "linear", seed=seed)
    hist = train(net, task, seed=seed, **RUN)
    assert np.all(np.abs(hist.icl_acc - 1 / 8) < 4 * np.sqrt((1 / 8) * (7 / 8) / 2048))


def test_mlp_read_out_learns_with_adam():
    task = CopyingTask(**SMALL)
    net = AttentionNetwork.init(task, "mlp", seed=0)
    hist = train(net, task, seed=0, **(RUN | {"optimizer": "adam", "lr": 1e-3, "steps": 800, "weight_decay": 0.0}))
    assert hist.icl_acc[0] < 0.1 and hist.icl_acc[-1] > 0.9


def test_bad_network_input():
    task = CopyingTask(N=2, L=4, D=4)
    with pytest.raises(ValueError, match=r"^classifier must be one of \('linear', 'mlp'\)"):
        AttentionNetwork.init(task, "deep")
    with pytest.raises(ValueError, match=r"^optimizer must be one of \['adam', 'sgd'\]"):
        train(AttentionNetwork.init(task), task, steps=2, lr=0.1, optimizer="lbfgs")
    with pytest.raises(ValueError, match="the network was built for d_model"):
        train(AttentionNetwork.init(task), CopyingTask(N=2, L=5, D=5), steps=2, lr=0.1)
    net = AttentionNetwork.init(task)
    for kwargs, message in [
        (dict(weight_decay=-1.0), "^weight_decay must be a finite number >= 0"),
        (dict(clip_norm=-1.0), "^clip_norm must be a finite number > 0"),
        (dict(seed=1.5), "^seed must be an integer >= 0"),
        (dict(seed=-1), "^seed must be an integer >= 0"),
    ]:
        with pytest.raises(ValueError, match=message):
            train(net, task, steps=2, lr=0.1, **kwargs)
    with pytest.raises(ValueError, match="^ablate must be None, 'layer1' or 'layer2'"):
        net.forward(task.sample(2, np.random.default_rng(0)).tokens, ablate="foo")


def test_work_arrays_are_reused_and_never_leak_between_batches():
    # The step's large arrays live in the network's workspace: the same objects from one step to
    # the next, replaced when the batch shape changes, and every gradient equals that of a fresh
    # network (a new workspace) on the same batch, bit for bit.
    task = CopyingTask(N=3, L=6, D=8, eps=0.1)
    rng = np.random.default_rng(11)
    small, large = task.sample(5, rng), task.sample(7, rng)
    net = AttentionNetwork.init(task, "linear", seed=3, dtype=np.float64)
    net.loss_and_grads(small)
    held = dict(net._workspace._arrays)
    assert set(held) >= {"XM", "A1", "dA", "dSC", "dStC"}
    net.loss_and_grads(small)
    assert all(net._workspace._arrays[k] is a for k, a in held.items())
    for batch in (large, small, large):
        loss, grads = net.loss_and_grads(batch)
        fresh_loss, fresh = net.astype(np.float64).loss_and_grads(batch)
        assert loss == fresh_loss
        for k in grads:
            np.testing.assert_array_equal(grads[k], fresh[k])


def test_a_forward_cache_without_workspace_outlives_training_steps():
    # metrics() and head_scores() keep caches of forward passes: a training step in between must
    # not overwrite them. Its gradient is checked against the gradient taken before the step.
    task = CopyingTask(N=3, L=6, D=8, eps=0.1)
    rng = np.random.default_rng(12)
    batch, other = task.sample(5, rng), task.sample(5, rng)
    net = AttentionNetwork.init(task, "linear", seed=4, dtype=np.float64)
    c = rng.standard_normal((5, 6))
    _, cache = net.forward(batch)
    A1 = cache["A1"].copy()
    before = net.backward(c, cache)
    net.loss_and_grads(other)
    np.testing.assert_array_equal(cache["A1"], A1)
    after = net.backward(c, cache)
    for k in before:
        np.testing.assert_array_equal(before[k], after[k])


def test_a_pickled_network_carries_its_weights_not_its_work_arrays():
    import pickle

    task = CopyingTask(N=3, L=6, D=8, eps=0.1)
    net = AttentionNetwork.init(task, "linear", seed=5)
    batch = task.sample(64, np.random.default_rng(13))
    net.loss_and_grads(batch)
    copy = pickle.loads(pickle.dumps(net))
    assert len(net._workspace) >= 5 and len(copy._workspace) == 0
    assert copy.loss_and_grads(batch)[0] == net.loss_and_grads(batch)[0]
    assert all(np.array_equal(copy.weights[k], v) for k, v in net.weights.items())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_score_gradient_is_the_separate_passes(dtype):
    # The backward pass builds ∂loss/∂A1 = a2 ⊗ w + ds ⊗ q (+ a vector on the target's row) and
    # takes it through the row softmax in one compiled pass; here the same steps one numpy pass
    # at a time, then the softmax's backward pass on its own: equal bit for bit (each value is
    # rounded where the separate passes round it).
    rng = np.random.default_rng(7)
    n, T = 9, 11
    A = np.tril(rng.random((n, T, T))).astype(dtype)
    A /= A.sum(axis=2, keepdims=True)
    a2, w, ds, q, last = (rng.standard_normal((n, T)).astype(dtype) for _ in range(5))
    expected = a2[:, :, None] * w[:, None, :]
    expected += ds[:, :, None] * q[:, None, :]
    expected[:, -1] += last
    softmax_backward(A, expected)
    fused = np.empty_like(A)
    score_gradient(A, a2, w, ds, q, last, fused)
    assert np.array_equal(fused.view(np.uint8), expected.view(np.uint8))
