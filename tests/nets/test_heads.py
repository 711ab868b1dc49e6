"""Induction-head diagnostics (phenom.nets.heads) on hand-built attention and hand-built networks
whose scores are known: a perfect previous-token head scores 1, uniform attention the chance
value, a copying map with known eigenvalues its eigenvalue summary."""

import numpy as np
import pytest

from phenom.nets import AttentionNetwork, CopyingTask
from phenom.nets.heads import copying_score, head_scores, label_copying, prefix_matching_score, previous_token_score
from phenom.nets.measures import transition_step
from phenom.nets.tasks import POSITIONS


def _zero_network(task):
    net = AttentionNetwork.init(task, "linear", seed=0, dtype=np.float64)
    for w in net.weights.values():
        w[...] = 0.0
    return net


def _induction_network(task, beta=60.0, gamma=1.0, alpha=200.0):
    """Layer 1 attends to the previous token (Q1 maps position p to β e_{p−1}) and writes γ times
    its content into the position coordinates (the only spare room: D <= 65); layer 2 matches the
    target's content against that copy (query: content → position coordinates, scaled by α)."""
    net = _zero_network(task)
    w, P, D = net.weights, POSITIONS, task.D
    w["K1"][:P, :P] = np.eye(P)
    w["Q1"][:P, :P] = beta * np.eye(P, k=1)  # Q1 e_p = β e_{p−1}: (Q1 e_p)·(K1 e_q) = β [q = p − 1]
    w["V1"][np.arange(D), P + np.arange(D)] = gamma
    w["Q2"][np.arange(D), P + np.arange(D)] = alpha
    w["K2"][:P, :P] = np.eye(P)
    return net


def test_previous_token_score_by_hand():
    T = 5
    perfect = np.zeros((2, T, T))
    perfect[:, 0, 0] = 1
    perfect[:, np.arange(1, T), np.arange(T - 1)] = 1
    assert previous_token_score(perfect) == 1.0
    uniform = np.tril(np.ones((T, T))) / np.arange(1, T + 1)[:, None]
    assert previous_token_score(uniform[None]) == pytest.approx((1 / 2 + 1 / 3 + 1 / 4 + 1 / 5) / 4, rel=1e-15)


def test_prefix_matching_score_by_hand():
    a2 = np.zeros((3, 7))
    a2[0, 3], a2[1, 1], a2[2, 5] = 1.0, 0.5, 0.9  # pair 1 → token 3, pair 0 → token 1
    assert prefix_matching_score(a2, np.array([1, 0, -1])) == pytest.approx(0.75)
    assert prefix_matching_score(a2, np.array([-1, -1, -1])) is None


def test_uniform_attention_scores_chance():
    task = CopyingTask(N=4, L=8, D=16)
    s = head_scores(_zero_network(task), task, n=64)
    T = 9
    assert s["previous_token"] == pytest.approx(np.mean(1 / np.arange(2, T + 1)), rel=1e-12)
    assert s["previous_token"] == pytest.approx(s["previous_token_chance"], rel=1e-12)
    assert s["prefix_matching"] == pytest.approx(1 / T, rel=1e-12)
    assert s["prefix_matching_repeated"] == pytest.approx(1 / T, rel=1e-12)
    assert s["copying"] == 0.0 and s["copying_positive_fraction"] == 0.0  # W = 0: every eigenvalue 0


def test_a_hand_built_induction_head_scores_one():
    task = CopyingTask(N=4, L=8, D=63, eps=0.0)
    net = _induction_network(task)
    s = head_scores(net, task, n=256)
    assert s["previous_token"] > 1 - 1e-12
    assert s["prefix_matching_repeated"] > 0.999
    # On the task the first token, with no predecessor, copies its own content: when the target
    # matches pair 0, item 0 and its label tie. Every other target finds its label.
    batch = task.sample(256, np.random.default_rng(3))
    _, cache = net.forward(batch)
    later = batch.target_pair >= 1
    assert prefix_matching_score(cache["a2"][later], batch.target_pair[later]) > 0.999
    first = batch.target_pair == 0
    both = cache["a2"][first][:, :2].sum(axis=1)
    assert np.all(both > 0.999)


@pytest.mark.parametrize(
    "eigenvalues, score, positive",
    [
        ((3.0, 2.0, -1.0), 4 / 6, 2 / 3),
        ((1.0, 1.0, 1.0, 1.0), 1.0, 1.0),
        ((-2.0, -0.5), -1.0, 0.0),
    ],
)
def test_copying_score_of_known_eigenvalues(eigenvalues, score, positive):
    rng = np.random.default_rng(0)
    basis = rng.standard_normal((len(eigenvalues), len(eigenvalues)))
    M = basis @ np.diag(eigenvalues) @ np.linalg.inv(basis)
    got = copying_score(M)
    assert got["copying"] == pytest.approx(score, rel=1e-10)
    assert got["copying_positive_fraction"] == pytest.approx(positive)


def test_a_rotation_neither_copies_nor_anti_copies():
    got = copying_score(np.array([[0.0, -2.0], [2.0, 0.0]]))  # eigenvalues ±2i
    assert got["copying"] == pytest.approx(0.0, abs=1e-15) and got["copying_positive_fraction"] == 0.0


def test_label_copying_reads_the_ov_circuit_through_the_classifier():
    # V2 copies content, W's rows are the label vectors: M = U Uᵀ, positive definite: score 1.
    task = CopyingTask(N=4, L=8, D=16)
    net = _zero_network(task)
    net.weights["V2"][POSITIONS:, POSITIONS:] = np.eye(task.D)
    net.weights["W"][:, POSITIONS:] = task.label_vectors
    assert label_copying(net, task) == {"copying": pytest.approx(1.0), "copying_positive_fraction": 1.0}
    net.weights["W"] *= -1
    assert label_copying(net, task)["copying"] == pytest.approx(-1.0)
    mlp = AttentionNetwork.init(task, "mlp", seed=0)
    assert label_copying(mlp, task) == {"copying": None, "copying_positive_fraction": None}


def test_bad_input():
    task = CopyingTask(N=2, L=4, D=4)
    with pytest.raises(ValueError, match="^n must be an integer >= 1"):
        head_scores(_zero_network(task), task, n=0)
    with pytest.raises(ValueError, match="^M must be a non-empty square matrix"):
        copying_score(np.ones((2, 3)))


def test_rise_step_by_hand():
    """A head score's rise (the head-score figure's measure): halfway from its first to its largest value."""

    def rise(step, values):
        return transition_step(step, values, 0.5, relative_to="range", missing="none")

    # From 0.2 to a largest 1.0: halfway is 0.6, reached between steps 20 (0.4) and 30 (0.8).
    assert rise([0, 10, 20, 30, 40], [0.2, 0.2, 0.4, 0.8, 1.0]) == pytest.approx(25.0)
    assert rise([0, 10], [0.5, 0.4]) is None  # never rises
    assert rise([0, 10], [0.1, None]) is None  # undefined (e.g. no copying score for the MLP)
