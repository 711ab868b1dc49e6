"""The network's readings in the extended model's coordinates (phenom.nets.readings): γ, α, ρ and
ξ_m of a network whose weights are set by hand, derived by hand; the logit decomposition against
the network's own forward pass; what the readings refuse."""

import numpy as np
import pytest

from phenom.nets import AttentionNetwork, CopyingTask
from phenom.nets.readings import ROUTES, attention_readings, logit_routes, readout_readings
from phenom.nets.tasks import POSITIONS, SequenceBatch

P, D, L = POSITIONS, 8, 4
GAMMA, ALPHA_Y = 0.7, 1.1  # layer-2 logits: γ on the other label token, αy + γ on the correct one
A, B, C = 0.6, 1.5, 0.8  # V1 = A·(content identity), W = B·(label coordinates), V2 = C·(content identity)


def _hand_network():
    """N = 2, L = 4: tokens item A, label 0, item B, label 1, target (a copy of A), at slots 0..4.

    Content coordinates 0..3 are the labels, 4 and 5 the items. Q1 = K1 = 0 (layer 1 uniform:
    token j gives 1/(j+1) to each of tokens 0..j); Q2 = I and K2 = G2 with G2[slot 4, slot 1] =
    αy + γ and G2[slot 4, slot 3] = γ, so the target's layer-2 logits are (0, αy + γ, 0, γ, 0)."""
    d = P + D
    content = np.zeros((1, 5, D))
    content[0, [0, 1, 2, 3, 4], [4, 0, 5, 1, 4]] = 1.0
    batch = SequenceBatch(content, np.array([0]), np.array([0]), np.array([[0, 1]]), np.array([0]))
    eye_content = np.zeros((d, d))
    eye_content[P:, P:] = np.eye(D)
    G2 = np.zeros((d, d))
    G2[4, 1], G2[4, 3] = ALPHA_Y + GAMMA, GAMMA
    W = np.zeros((L, d))
    W[np.arange(L), P + np.arange(L)] = B
    weights = {
        "Q1": np.zeros((d, d)),
        "K1": np.zeros((d, d)),
        "V1": A * eye_content,
        "Q2": np.eye(d),
        "K2": G2,
        "V2": C * eye_content,
        "W": W,
    }
    return AttentionNetwork(weights, "linear", None, {"d_model": d, "L": L, "dtype": "float64"}), batch


def test_attention_readings_of_a_hand_set_network():
    net, batch = _hand_network()
    got = attention_readings(net, batch)
    # The other label token against the mean of the items and the target: e^γ/Z over 1/Z;
    # the correct label's token against the other label token: e^{αy+γ}/e^γ. ILA1 = (1/2 + 1/4)/2.
    assert got["gamma"] == pytest.approx(GAMMA, rel=1e-12)
    assert got["alpha_y"] == pytest.approx(ALPHA_Y, rel=1e-12)
    assert got["ila1"] == pytest.approx(3 / 8, rel=1e-12)
    assert got["alpha"] == pytest.approx(ALPHA_Y / (3 / 8), rel=1e-12)


def test_readout_readings_of_a_hand_set_network():
    net, batch = _hand_network()
    got = readout_readings(net, batch)
    Z = 3 + np.exp(ALPHA_Y + GAMMA) + np.exp(GAMMA)
    a2 = np.array([1, np.exp(ALPHA_Y + GAMMA), 1, np.exp(GAMMA), 1]) / Z
    # After layer 1 (uniform attention, V1 = A on content) label 0's coordinate of token j is
    # 1 + A/2 (j = 1), A/3 (j = 2), A/4 (j = 3), A/5 (j = 4); label 1's is 1 + A/4 (j = 3), A/5 (j = 4).
    # The target's layer-1 mixture holds each label with 1/5: direct route B·A/5 for both. The
    # absent labels 2, 3 get 0, so margins are logits.
    g = B * C * np.array([1 + A / 2, 1 + A / 4])
    own = np.array([a2[1], a2[3]]) * g
    label_tokens = B * C * np.array([a2[3] * A / 4, 0.0])
    item_tokens = B * C * np.array([a2[2] * A / 3, 0.0])
    target_token = B * C * a2[4] * A / 5 * np.ones(2)
    direct = B * A / 5 * np.ones(2)
    rho = label_tokens + item_tokens + target_token + direct
    assert got["xi_m"] == pytest.approx(np.mean(g), rel=1e-12)
    assert got["rho"] == pytest.approx(np.mean(rho), rel=1e-12)
    assert got["rho_over_xi_m"] == pytest.approx(np.mean(rho) / np.mean(g), rel=1e-12)
    assert got["margin"] == pytest.approx(np.mean(rho + own), rel=1e-12)
    expected = {
        "own_token": own,
        "label_tokens": label_tokens,
        "item_tokens": item_tokens,
        "target_token": target_token,
        "direct": direct,
    }
    for name, value in expected.items():
        assert got[name] == pytest.approx(np.mean(value), rel=1e-12), name
    assert got["residual"] == pytest.approx(0.0, abs=1e-15)


def test_routes_sum_to_the_forward_logits_of_a_random_network():
    task = CopyingTask(N=4, L=8, D=16, seed=3)
    net = AttentionNetwork.init(task, "linear", seed=5, dtype=np.float64)
    for w in net.weights.values():  # away from uniform attention: scores of order 1
        w *= 3.0
    batch = task.sample(64, np.random.default_rng(1))
    logits, _ = net.forward(batch)
    parts = logit_routes(net, batch)
    total = parts["residual"] + parts["direct"] + (parts["a2"][..., None] * parts["gain"]).sum(axis=1)
    np.testing.assert_allclose(total, logits, rtol=1e-10, atol=1e-10 * np.abs(logits).max())
    got = readout_readings(net, batch)
    assert sum(got[k] for k in ROUTES) == pytest.approx(got["margin"], rel=1e-10, abs=1e-12)
    # The margin as measured from the logits directly: in-context labels over the absent mean.
    absent = np.ones_like(logits, dtype=bool)
    absent[np.arange(64)[:, None], batch.context_labels] = False
    base = (logits * absent).sum(axis=1) / 4
    direct_margin = np.mean(np.take_along_axis(logits, batch.context_labels, axis=1) - base[:, None])
    assert got["margin"] == pytest.approx(direct_margin, rel=1e-10)


def test_readings_refuse_what_they_cannot_read():
    task = CopyingTask(N=2, L=2, D=8)
    batch = task.sample(4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="^the network must have L > N labels"):
        readout_readings(AttentionNetwork.init(task, "linear"), batch)
    with pytest.raises(ValueError, match="^net must have the linear read-out"):
        attention_readings(AttentionNetwork.init(task, "mlp"), batch)
    one = CopyingTask(N=1, L=3, D=8)
    with pytest.raises(ValueError, match="^batch must have N >= 2 pairs"):
        attention_readings(AttentionNetwork.init(one, "linear"), one.sample(4, np.random.default_rng(0)))
