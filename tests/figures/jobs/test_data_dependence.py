"""The data-dependence sweep (Reddy 2024, Sec. 3): its configurations, its aggregation (against
a stand-in run whose accuracies are known by construction) and one real small run."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from phenom.figures.jobs import network as jn
from phenom.figures.settings import DataDependenceSetting
from phenom.nets.tasks import ClassificationTask


def test_the_base_runs_once_per_seed():
    s = DataDependenceSetting()
    # B (0, 1, 2, 4), K (32, 128, 512, 2048), eps (0, 0.1, 0.3, 1), zipf (0, 0.5, 1, 1.5, 2), base
    # (2, 512, 0.1, 0) in each: 3 + 3 + 3 + 4 other values and the base = 14 points, × 2 seeds.
    configs = jn.data_configs(s)
    assert len(configs) == 28
    points = {(c["B"], c["K"], c["eps"], c["zipf"]) for c in configs}
    assert len(points) == 14 and (2, 512, 0.1, 0.0) in points
    # Each point differs from the base in at most one factor.
    assert all(sum(a != b for a, b in zip(p, (2, 512, 0.1, 0.0), strict=True)) <= 1 for p in points)
    assert all(c["eval_B"] == 2 for c in configs)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(K_values=(32, 100)), "^K_values: K must be a multiple of L = 32, got 100"),
        (dict(B_values=(0, 3)), "^B_values: B must divide N = 8"),
        (dict(eps_values=(0.1,)), "^eps_values must hold at least two distinct values"),
        (dict(zipf_values=(1.0, 1.0)), "^zipf_values must hold at least two distinct values"),
        (dict(zipf_values=(0.0, -1.0)), "^zipf_values: a must be a finite number >= 0"),
        (dict(B=0), "^B must be an integer >= 1"),
        (dict(seeds=()), "^seeds must name at least one seed"),
    ],
)
def test_bad_settings(changes, message):
    with pytest.raises(ValueError, match=message):
        DataDependenceSetting(**changes)


def _stand_in(config):
    """Accuracies known by construction: IC = B/10 + seed/100, IC2 = K/10⁴, IW = eps + zipf/10;
    IC's curve peaks 0.05 above its end for B = 4, seed 1."""
    ic = config["B"] / 10 + config["seed"] / 100
    peak = 0.05 if (config["B"], config["seed"]) == (4, 1) else 0.0
    return {
        "icl_acc": ic,
        "ic2_acc": config["K"] / 1e4,
        "iwl_acc": config["eps"] + config["zipf"] / 10,
        "curve": {"step": [0, 1, 2], "IC": [0.0, ic + peak, ic]},
    }


def test_aggregation_against_known_accuracies(tmp_path, monkeypatch):
    monkeypatch.setattr(jn, "data_point", _stand_in)
    s = DataDependenceSetting(seeds=(0, 1))
    with ThreadPoolExecutor(2) as pool:
        r = jn.data_dependence(s, tmp_path, executor=pool)
    assert [e["value"] for e in r["sweeps"]["B"]] == [0, 1, 2, 4]
    for e in r["sweeps"]["B"]:
        assert e["icl_acc"] == pytest.approx(e["value"] / 10 + 0.005)  # mean over seeds 0 and 1
        assert e["icl_acc_range"] == pytest.approx([e["value"] / 10, e["value"] / 10 + 0.01])
        assert [x["seed"] for x in e["seeds"]] == [0, 1]
        assert e["iwl_acc"] == pytest.approx(0.1)  # the base's eps and zipf
    for e in r["sweeps"]["K"]:
        assert e["ic2_acc"] == pytest.approx(e["value"] / 1e4)
        assert e["icl_acc"] == pytest.approx(0.205)  # the base's B = 2
    for e in r["sweeps"]["zipf"]:
        assert e["iwl_acc"] == pytest.approx(0.1 + e["value"] / 10)
    assert r["transience"]["largest_drop"] == pytest.approx(0.05)
    assert r["transience"]["config"]["B"] == 4 and r["transience"]["config"]["seed"] == 1
    assert r["chance"] == {"IW": 1 / 32, "IC_uniform": 1 / 32, "IC_labels_in_context": 0.25}
    assert (tmp_path / "data_dependence.jsonl").exists()


def test_eval_sets_take_the_base_burstiness():
    # A task trained without bursts (B = 0) is scored in context on sequences with B = 4 copies.
    task = ClassificationTask(N=8, L=16, D=16, K=64, B=0)
    sets = task.eval_sets(200, np.random.default_rng(0), B=4)
    for kind in ("IC", "IC2"):
        for labels, answer in zip(sets[kind].context_labels, sets[kind].answer, strict=True):
            values, counts = np.unique(labels, return_counts=True)
            assert len(values) == 2 and np.all(counts == 4) and answer in values
    assert not all((sets["IW"].context_labels == sets["IW"].answer[:, None]).any(axis=1))
    with pytest.raises(ValueError, match="^B must divide N = 8"):
        task.eval_sets(10, np.random.default_rng(0), B=3)


def test_iid_contexts_with_few_classes_are_learned_in_weights():
    # K = L = 8 classes, one per label, B = 0: the label is a fixed function of the item, so the
    # network memorises it (IW -> 1) while nothing rewards reading the context: on novel classes
    # (IC) it can do no better than guessing among the 4 labels in context (0.25), far below.
    config = dict(
        N=4,
        L=8,
        D=16,
        K=8,
        B=0,
        eps=0.1,
        zipf=0.0,
        seed=0,
        steps=300,
        lr=0.5,
        weight_decay=0.0,
        batch_size=64,
        eval_size=512,
        curve_every=100,
        eval_B=1,
    )
    r = jn.data_point(config)
    assert r["curve"]["step"] == [0, 100, 200, 300]
    assert r["iwl_acc"] > 0.95
    assert r["icl_acc"] < 0.3
    # IC2 relabels the stored classes l -> l + 1: a network answering from its weights is always
    # wrong there.
    assert r["ic2_acc"] < 0.05
    assert r["curve"]["IW"][0] < 0.3  # untrained: near chance 1/8
