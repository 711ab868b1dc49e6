"""The copying (OV) score of layer 2 and the History column that records it, on networks whose
label → logit map is known by hand: the map W V2 [0; u_l] must go through layer 2's value
matrix, and History's ``copying`` must be Olsson et al.'s Σ Re λ / Σ |λ| of it, not the fraction
of positive eigenvalues."""

import numpy as np
import pytest

from phenom.nets import AttentionNetwork, CopyingTask, train
from phenom.nets.heads import head_scores, label_copying
from phenom.nets.tasks import POSITIONS

TASK = CopyingTask(N=2, L=4, D=8, eps=0.1)

# K has eigenvalues 3, 2, −1, −1/2 in a non-orthogonal basis: Σλ/Σ|λ| = 3.5/6.5 = 7/13, while
# half of its eigenvalues are positive; the identity map would score 1.
_BASIS = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0], [1.0, 0.0, 0.0, 2.0]])
K = _BASIS @ np.diag([3.0, 2.0, -1.0, -0.5]) @ np.linalg.inv(_BASIS)


def _network_with_map(task, V2_content: np.ndarray, W_content: np.ndarray) -> AttentionNetwork:
    """Zero weights but V2's content → content block and the read-out's content columns."""
    net = AttentionNetwork.init(task, "linear", seed=0, dtype=np.float64)
    for w in net.weights.values():
        w[...] = 0.0
    net.weights["V2"][POSITIONS:, POSITIONS:] = V2_content
    net.weights["W"][:, POSITIONS:] = W_content
    return net


def _map_is_K(task) -> AttentionNetwork:
    """U the label vectors (L × D, rank L): with the read-out's rows U and
    V2 = Uᵀ(UUᵀ)⁻¹ K (UUᵀ)⁻¹ U, the label → logit map is U V2 Uᵀ = K exactly."""
    U = task.label_vectors
    G = np.linalg.inv(U @ U.T)
    return _network_with_map(task, U.T @ G @ K @ G @ U, U)


def test_copying_score_of_a_map_with_known_eigenvalues():
    got = label_copying(_map_is_K(TASK), TASK)
    assert got["copying"] == pytest.approx(7 / 13, rel=1e-9)
    assert got["copying_positive_fraction"] == 0.5


def test_copying_score_goes_through_layer_2s_value_matrix():
    # V2 = −I on the content: the map is −UUᵀ, negative definite: −1 (without V2 it would be +1).
    U = TASK.label_vectors
    got = label_copying(_network_with_map(TASK, -np.eye(TASK.D), U), TASK)
    assert got == {"copying": pytest.approx(-1.0, rel=1e-12), "copying_positive_fraction": 0.0}


def test_copying_score_of_a_random_network_from_explicit_label_tokens():
    # A separate small implementation: each label token [0 | u_l] through V2, then the read-out.
    net = AttentionNetwork.init(TASK, "linear", seed=3, dtype=np.float64)
    w = net.weights
    M = np.column_stack([w["W"] @ (w["V2"] @ np.concatenate([np.zeros(POSITIONS), u])) for u in TASK.label_vectors])
    lam = np.linalg.eigvals(M)
    assert label_copying(net, TASK)["copying"] == pytest.approx(np.sum(lam.real) / np.sum(np.abs(lam)), rel=1e-10)
    assert head_scores(net, TASK, n=8)["copying"] == pytest.approx(np.sum(lam.real) / np.sum(np.abs(lam)), rel=1e-10)


def test_history_copying_column_is_the_eigenvalue_summary_not_the_positive_fraction():
    net = _map_is_K(TASK)
    batch = TASK.sample(16, np.random.default_rng(0), dtype=np.float64)
    assert net.metrics(batch, TASK)["copying"] == pytest.approx(7 / 13, rel=1e-9)
    # The first row of a History is the untouched network's (recorded before the first step).
    hist = train(net, TASK, steps=1, lr=1e-3, batch_size=4, eval_every=1, eval_size=16, progress=False)
    assert hist.step.tolist() == [0, 1]
    assert hist.copying[0] == pytest.approx(7 / 13, rel=1e-9)
