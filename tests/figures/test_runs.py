"""The figures' training drivers (phenom.figures.runs): measuring a run leaves it unchanged."""

import warnings

import pytest

from phenom.figures.runs import metric_along_training, scaling_point
from phenom.nets import Diverged


def test_measuring_along_training_does_not_change_the_run():
    config = dict(
        N=2, L=4, D=8, eps=0.1, seed=0, lr=0.5, steps=60, eval_every=10, eval_size=64, batch_size=32, weight_decay=1e-6
    )
    measured = metric_along_training(config, probe_every=20, probe_size=64)
    plain = scaling_point(config)
    assert measured["history"]["step"][-1] == plain["last_step"]
    assert measured["history"]["icl_acc"][-1] == plain["final_icl_acc"]
    # Probes at every multiple of 20 the run evaluates before its budget ends.
    assert [r["step"] for r in measured["probes"]] == [s for s in range(0, plain["last_step"] + 1, 20) if s < 60]
    assert all(set(r["C"]) == {"beta", "alpha", "xi"} for r in measured["probes"])
    with pytest.raises(ValueError, match="^probe_every must be a multiple of eval_every = 10"):
        metric_along_training(config, probe_every=15)


@pytest.mark.parametrize("lr", [5.0, 50.0, 1e6])
def test_a_diverging_measured_run_stops_with_diverged_and_no_warning(lr):
    # At these rates the measured network blows up between training's own loss checks (the code
    # before the guard warned in matmul at 50 and 1e6 and failed measuring C at 5): the run stops
    # with Diverged, as train() stops, and no floating-point warning comes first.
    config = dict(
        N=2, L=4, D=8, eps=0.1, seed=0, lr=lr, steps=200, eval_every=2, eval_size=64, batch_size=32, weight_decay=1e-6
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(Diverged, match="^training diverged at step"):
            metric_along_training(config, probe_every=2, probe_size=64)
