"""The network's figures (phenom.figures.jobs.network): each published number against an
independent computation: the trained network's accuracies, attentions and ablations from a
forward pass written from the architecture's equation on explicit one-hot tokens
(tests/independent.py), and the head scores' rise against the ICL transition on histories whose
steps are known by hand."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from independent import dense_forward, interpolated_crossing, one_hot_tokens

from phenom import _rng
from phenom.figures.jobs import network as jn
from phenom.figures.settings import InductionHeadsSetting, NetworkAblationSetting, NetworkTrainingSetting
from phenom.nets import AttentionNetwork
from phenom.nets.history import History
from phenom.nets.tasks import POSITIONS

# One small copying run shared by the training and ablation figures (the ablation reuses the
# training figure's checkpointed run, as the full-size figures do): N = 2, L = 4, D = 16.
RUN = dict(N=2, L=4, D=16, steps=300, evals=15, eval_size=512)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("network")
    setting = NetworkTrainingSetting(**RUN, controls=0)
    result = jn.network_training(setting, out)
    net, task, hist = jn.train_run(out, setting)  # the finished run, read back from its checkpoint
    return SimpleNamespace(out=out, setting=setting, result=result, net=net, task=task, hist=hist)


def _accuracy(net, batch, ablate=None) -> float:
    logits, _, _ = dense_forward(net.weights, one_hot_tokens(batch), ablate)
    return float(np.mean(logits.argmax(axis=1) == batch.answer))


def test_network_training_final_numbers_are_the_trained_networks(trained):
    """The README's final ICL accuracy, CLA, ILA1 and TILA2 are the trained network's on its
    held-out set: recomputed by the independent forward pass from the final weights."""
    r, net, task = trained.result, trained.net, trained.task
    eval_seed = r["history_config"]["seeds"]["eval"]
    assert eval_seed == 1  # seed + 1 (the setting's seed is 0)
    batch = task.sample(512, _rng.stream(eval_seed, "eval"), dtype=net.dtype)
    logits, A1, a2 = dense_forward(net.weights, one_hot_tokens(batch))
    pred = logits.argmax(axis=1)
    n = len(batch)
    # float32 (the network) against float64 (here): a near-tie may flip one prediction.
    assert r["summary"]["final_icl_acc"] == pytest.approx(np.mean(pred == batch.answer), abs=1.01 / n)
    assert r["history"]["step"][-1] == 300
    cla = np.mean([p in labels for p, labels in zip(pred, batch.context_labels, strict=True)])
    assert r["history"]["cla"][-1] == pytest.approx(cla, abs=1.01 / n)
    # ILA1: each label token (1, 3) on its item (0, 2); TILA2: the target on its answer's label tokens.
    assert r["history"]["ila1"][-1] == pytest.approx(np.mean(A1[:, [1, 3], [0, 2]]), rel=1e-4)
    on_answer = batch.context_labels == batch.answer[:, None]
    assert r["history"]["tila2"][-1] == pytest.approx(np.mean(np.sum(a2[:, [1, 3]] * on_answer, axis=1)), rel=1e-4)
    # The transition: ICL accuracy halfway from 1/N = 1/2 to 1, i.e. 3/4, between evaluations.
    step = interpolated_crossing(r["history"]["step"], r["history"]["icl_acc"], 0.75)
    assert step is not None and r["summary"]["transition_step"] == pytest.approx(step, rel=1e-12)
    assert r["summary"]["max_icl_acc"] == max(r["history"]["icl_acc"])


def test_network_ablation_accuracies_are_the_forward_pass_without_each_head(trained):
    setting = NetworkAblationSetting(**RUN, ablation_size=512)
    r = jn.network_ablation(setting, trained.out)  # reuses the training figure's run
    net = trained.net
    batch = trained.task.sample(512, _rng.stream(0, "ablation"), dtype=net.dtype)
    for label, ablate in (("intact", None), ("layer 1 removed", "layer1"), ("layer 2 removed", "layer2")):
        assert r["results"][label]["icl_acc"] == pytest.approx(_accuracy(net, batch, ablate), abs=1.01 / 512), label
    # Without layer 2 the target cannot read its label: at most chance among the labels in context.
    assert r["results"]["layer 2 removed"]["icl_acc"] < 0.6


def test_induction_heads_rise_minus_transition_is_rise_step_minus_icl_step(monkeypatch):
    """Olsson's phase change: each score's halfway rise against the ICL transition, on a history
    whose steps are known by hand (N = 2: the transition is at ICL accuracy 3/4)."""
    setting = InductionHeadsSetting(N=2, L=4, D=16, steps=40, evals=4, seeds=(0,), score_size=64)
    task = jn.network_task(setting)
    net = AttentionNetwork.init(task, "linear", seed=0)
    records = {
        "step": [0, 10, 20, 30, 40],
        # 0.6 → 0.9 between 20 and 30: 3/4 at 20 + (0.15/0.3)·10 = 25
        "icl_acc": [0.5, 0.5, 0.6, 0.9, 1.0],
        # range 0.1 → 0.9, halfway 0.5: reached exactly at 20 (before the transition: −5)
        "previous_token": [0.1, 0.1, 0.5, 0.9, 0.9],
        # range 0.2 → 1.0, halfway 0.6: exactly at 30 (after it: +5)
        "prefix_matching": [0.2, 0.2, 0.2, 0.6, 1.0],
        # range 0 → 1, halfway 0.5: 0.8 at 10, so at 10 · 0.5/0.8 = 6.25 (−18.75)
        "copying": [0.0, 0.8, 1.0, 1.0, 1.0],
    }
    monkeypatch.setattr(jn, "train_run", lambda out, s, seed=None: (net, task, History({}, dict(records))))
    (run,) = jn.induction_heads(setting, Path("."))["runs"]
    assert run["transition_step"] == pytest.approx(25.0)
    assert run["rise_step"] == pytest.approx({"previous_token": 20.0, "prefix_matching": 30.0, "copying": 6.25})
    assert run["rise_minus_transition"] == pytest.approx(
        {"previous_token": -5.0, "prefix_matching": 5.0, "copying": -18.75}
    )
    # The final scores of the (untrained) network, on the held-out sequences of seed 10 000:
    # layer 1's mean attention on the previous token, from the independent forward pass.
    batch = task.sample(64, _rng.stream(10_000, "eval"), dtype=net.dtype)
    _, A1, a2 = dense_forward(net.weights, one_hot_tokens(batch))
    T = 5
    assert run["final"]["previous_token"] == pytest.approx(np.mean(A1[:, np.arange(1, T), np.arange(T - 1)]), rel=1e-5)
    matched = batch.target_pair >= 0
    expected = np.mean(a2[matched, 2 * batch.target_pair[matched] + 1])
    assert run["final"]["prefix_matching"] == pytest.approx(expected, rel=1e-5)
    # Uniform attention over T = 5 tokens would give (1/2 + 1/3 + 1/4 + 1/5)/4 and 1/5.
    assert run["final"]["previous_token_chance"] == pytest.approx((1 / 2 + 1 / 3 + 1 / 4 + 1 / 5) / 4)
    assert run["final"]["prefix_matching_chance"] == pytest.approx(1 / 5)


def test_data_dependence_final_accuracy_is_the_trained_networks_at_the_last_step(monkeypatch):
    """The sweep's IC, IC2 and IW accuracies are the network's after its last step: recomputed
    by the independent forward pass on the same evaluation sets from the final weights."""
    made = []

    def init(*args, **kwargs):
        made.append(AttentionNetwork.init(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(jn, "AttentionNetwork", SimpleNamespace(init=init))
    config = dict(
        N=4, L=8, D=16, K=32, B=2, eps=0.1, zipf=0.0, seed=0, steps=150, lr=0.5, weight_decay=0.0,
        batch_size=64, eval_size=512, curve_every=50, eval_B=2,
    )  # fmt: skip
    r = jn.data_point(config)
    (net,) = made
    task = jn.data_task(config)
    sets = task.eval_sets(512, _rng.stream(20_000, "eval"), dtype=net.dtype, B=2)
    assert r["curve"]["step"] == [0, 50, 100, 150]
    for kind, name in (("IC", "icl_acc"), ("IC2", "ic2_acc"), ("IW", "iwl_acc")):
        final = _accuracy(net, sets[kind])
        assert r[name] == pytest.approx(final, abs=1.01 / 512), kind
    # Still learning at the end: the accuracies one evaluation earlier differ by several sequences.
    assert max(abs(r["curve"][kind][-2] - r["curve"][kind][-1]) for kind in ("IC", "IC2", "IW")) > 5 / 512


def test_label_copying_map_is_read_through_v2_on_explicit_label_tokens(trained):
    """The trained network's copying score (README: Σλ/Σ|λ| of the label → logit map): the map
    built column by column from explicit label tokens [0 | u_l] through V2 and the read-out."""
    net, task = trained.net, trained.task
    w = {k: np.asarray(v, np.float64) for k, v in net.weights.items()}
    columns = []
    for u in task.label_vectors:
        token = np.concatenate([np.zeros(POSITIONS), u])
        columns.append(w["W"] @ (w["V2"] @ token))
    lam = np.linalg.eigvals(np.column_stack(columns))
    assert trained.result["history"]["copying"][-1] == pytest.approx(np.sum(lam.real) / np.sum(np.abs(lam)), rel=1e-6)
