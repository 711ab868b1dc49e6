"""Task samplers against their definitions, by construction and by Monte Carlo with error bars."""

import numpy as np
import pytest

from phenom.nets.tasks import POSITIONS, ClassificationTask, CopyingTask


def _content(batch):
    return batch.tokens[..., POSITIONS:]


def test_copying_task_structure():
    task = CopyingTask(N=5, L=12, D=16, eps=0.2)
    b = task.sample(400, np.random.default_rng(0))
    rows = np.arange(400)
    assert all(len(set(r)) == 5 for r in b.context_labels)  # distinct labels
    np.testing.assert_allclose(_content(b)[:, 1:-1:2], task.label_vectors[b.context_labels])
    assert np.array_equal(b.answer, b.context_labels[rows, b.target_pair])
    # Positions: consecutive one-hots from a random offset.
    pos = b.tokens[..., :POSITIONS].argmax(-1)
    assert np.all(np.diff(pos, axis=1) == 1) and len(np.unique(pos[:, 0])) > 20
    # The target is a noisy copy of its item: E|x_q − x_t|² = 2ε²/(1+ε²) (two independent noises,
    # each with E|η|² = 1), against ~2/(1+ε²) for an unrelated item. Monte Carlo, 4 SE.
    x = _content(b)
    d_match = np.sum((x[:, -1] - x[rows, 2 * b.target_pair]) ** 2, axis=1)
    expected = 2 * 0.2**2 / (1 + 0.2**2)
    assert abs(d_match.mean() - expected) < 4 * d_match.std() / np.sqrt(400)
    # Every item and the target are N(0, I/D): E|x|² = 1.
    for norms in (np.sum(x[:, -1] ** 2, axis=1), np.sum(x[:, 0:-1:2] ** 2, axis=2).ravel()):
        assert abs(norms.mean() - 1) < 4 * norms.std() / np.sqrt(norms.size)


def test_bursty_sequences():
    task = ClassificationTask(N=8, L=16, D=16, K=64, B=2, p_B=1.0, p_C=0.0)
    b = task.sample(300, np.random.default_rng(1))
    for labels, answer in zip(b.context_labels, b.answer, strict=True):
        values, counts = np.unique(labels, return_counts=True)
        assert len(values) == 4 and np.all(counts == 2)  # N/B = 4 classes, B = 2 each, distinct labels
        assert answer in values


def test_bursty_classes_follow_the_zipf_law_without_replacement():
    # K = 8 classes on L = 4 labels, a = 1, N = 4, B = 2: the target's class k ~ p and one other
    # class j on another label. Drawing labels without replacement in proportion to their mass
    # m_l, then a class within the label in proportion to p, gives
    # P(j | k) = m_l(j)/(1 − m_l(k)) · p_j/m_l(j) = p_j/(1 − m_l(k)) for l(j) ≠ l(k).
    # Exact joint P(k, j) = p_k p_j/(1 − m_l(k)), against 40 000 draws within 4 SE per cell.
    K, L, n = 8, 4, 40_000
    task = ClassificationTask(N=4, L=L, D=8, K=K, B=2, a=1.0)
    p = 1 / np.arange(1, K + 1)
    p /= p.sum()
    mass = np.array([p[[label, label + L]].sum() for label in range(L)])
    b = task.sample(n, np.random.default_rng(11), np.float32, novel=False)
    assert b.content.dtype == np.float32
    # Recover the classes from the items: each item is within ε-noise of its class mean.
    items = b.content[:, 0:-1:2].astype(np.float64)
    classes = np.argmin(np.sum((items[:, :, None] - task.means[None, None]) ** 2, axis=-1), axis=-1)
    target = classes[np.arange(n), b.target_pair]
    other = np.where(classes[:, 0] == target, classes[:, 1], classes[:, 0])
    other = np.where(other == target, np.max(np.where(classes != target[:, None], classes, -1), axis=1), other)
    counts = np.zeros((K, K))
    np.add.at(counts, (target, other), 1)
    exact = np.array([[p[k] * p[j] / (1 - mass[k % L]) if j % L != k % L else 0.0 for j in range(K)] for k in range(K)])
    assert np.isclose(exact.sum(), 1.0)
    se = np.sqrt(exact * (1 - exact) / n)
    assert np.all(np.abs(counts / n - exact) <= 4 * se + 1e-12)


def test_fraction_bursty_and_zipf_frequencies():
    # a = 1, K = 64: p(1) = 1/H_64 for the most frequent class. With B = 0 every sequence is
    # i.i.d., and the target's class is drawn from p; its label is class mod L.
    task = ClassificationTask(N=4, L=16, D=16, K=64, B=0, a=1.0)
    n = 20_000
    b = task.sample(n, np.random.default_rng(2))
    harmonic = np.sum(1 / np.arange(1, 65))
    p_label0 = np.sum(1 / (np.arange(0, 64, 16) + 1)) / harmonic  # classes 0, 16, 32, 48
    freq = np.mean(b.answer == 0)
    assert abs(freq - p_label0) < 4 * np.sqrt(p_label0 * (1 - p_label0) / n)
    mixed = ClassificationTask(N=4, L=16, D=16, K=64, B=1, p_B=0.3)
    m = mixed.sample(n, np.random.default_rng(3))
    # Bursty sequences always contain the answer; i.i.d. ones (70%) rarely: the observed rate is
    # 0.3 + 0.7 q with q measured on pure i.i.d. sequences.
    iid = mixed.sample(n, np.random.default_rng(5), bursty=False)
    q = np.mean((iid.context_labels == iid.answer[:, None]).any(axis=1))
    rate = np.mean((m.context_labels == m.answer[:, None]).any(axis=1))
    expected = 0.3 + 0.7 * q
    assert abs(rate - expected) < 4 * np.sqrt(expected * (1 - expected) / n) + 4 * 0.7 * np.sqrt(q * (1 - q) / n)


def test_evaluation_sets_of_an_iid_task_are_still_in_context():
    # B = 0 trains on i.i.d. sequences only; IC and IC2 must still be bursty (B = 1 structure).
    task = ClassificationTask(N=8, L=16, D=16, K=64, B=0)
    sets = task.eval_sets(200, np.random.default_rng(8))
    for kind in ("IC", "IC2"):
        b = sets[kind]
        assert all(len(set(r)) == 8 for r in b.context_labels)
        assert np.all((b.context_labels == b.answer[:, None]).any(axis=1))


def test_ic2_shifts_every_label_by_one():
    task = ClassificationTask(N=8, L=16, D=16, K=64, B=1)
    a = task.sample(200, np.random.default_rng(6), bursty=True, novel=False)
    b = task.sample(200, np.random.default_rng(6), bursty=True, novel=False, shift_labels=1)
    assert np.array_equal(b.answer, (a.answer + 1) % 16)
    assert np.array_equal(b.context_labels, (a.context_labels + 1) % 16)


def test_novel_classes_are_not_the_stored_ones():
    task = ClassificationTask(N=4, L=8, D=32, eps=0.1, K=32, B=1)
    for novel, far in ((True, True), (False, False)):
        b = task.sample(100, np.random.default_rng(7), bursty=True, novel=novel)
        items = _content(b)[:, 0:-1:2].reshape(-1, 32)
        nearest = np.min(np.sum((items[:, None, :] - task.means[None]) ** 2, axis=2), axis=1)
        # A stored class's item is within ε²-scale noise (~0.01) of its mean; a fresh one is ~2 away.
        assert (np.median(nearest) > 0.5) == far


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(K=100), "^K must be a multiple of L = 32"),
        (dict(B=3), "^B must divide N = 8"),
        (dict(p_B=1.5), r"^p_B must be a probability in \[0, 1\]"),
        (dict(p_C=-0.1), r"^p_C must be a probability in \[0, 1\]"),
        (dict(a=-1.0), "^a must be a finite number >= 0"),
    ],
)
def test_bad_classification_task(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClassificationTask(**kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(N=8, L=4), "^L must be an integer >= N = 8"),
        (dict(eps=-0.1), "^eps must be a finite number >= 0"),
        (dict(L=32, D=16), "^D must be an integer >= L = 32"),
        (dict(N=33, L=40, D=40), "^N must be an integer <= 32"),
    ],
)
def test_bad_task(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CopyingTask(**kwargs)


def test_float32_normals_are_standard_normal():
    # Box–Muller on float32 uniforms (phenom.tasks._box_muller32) against N(0, 1): Kolmogorov–
    # Smirnov at the 1% level, the mean, variance and a tail frequency within 4 standard errors.
    from scipy import stats

    from phenom.nets.tasks import _box_muller32

    n = 1_000_001
    x = _box_muller32(np.random.default_rng(11), n).astype(np.float64)
    assert x.dtype == np.float64 and x.shape == (n,)
    assert stats.kstest(x, "norm").statistic < 1.63 / np.sqrt(n)
    assert abs(x.mean()) < 4 / np.sqrt(n)
    assert abs(x.var() - 1) < 4 * np.sqrt(2 / n)
    tail = 2 * stats.norm.sf(2.5)
    assert abs(np.mean(np.abs(x) > 2.5) - tail) < 4 * np.sqrt(tail * (1 - tail) / n)
    assert np.abs(x).max() <= np.sqrt(2 * np.log(2.0**24)) + 1e-6  # the documented truncation
