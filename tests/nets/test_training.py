"""The training loop (phenom.nets.training): exact resume from a checkpoint, the progress bar,
unreadable checkpoints, the default evaluation cadence, no side effects on the calling process,
the History's summary, a run without held-out evaluation."""

import numpy as np
import pytest

from phenom.nets import AttentionNetwork, CopyingTask, train


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_resumed_run_equals_an_uninterrupted_one(tmp_path, optimizer):
    task = CopyingTask(N=3, L=6, D=8)
    kw = dict(
        steps=40,
        lr=0.05 if optimizer == "adam" else 0.1,
        optimizer=optimizer,
        batch_size=16,
        seed=3,
        eval_every=10,
        eval_size=64,
    )
    whole = AttentionNetwork.init(task, seed=1)
    h_whole = train(whole, task, **kw)

    class Interrupt(Exception):
        pass

    import phenom.nets.training as training

    original, saves = training._save_checkpoint, []

    def save_then_stop(*args, **kwargs):
        original(*args, **kwargs)
        saves.append(1)
        if len(saves) == 2:
            raise Interrupt

    ckpt = tmp_path / "run.npz"
    training._save_checkpoint = save_then_stop
    try:
        with pytest.raises(Interrupt):
            train(AttentionNetwork.init(task, seed=1), task, checkpoint=ckpt, **kw)
    finally:
        training._save_checkpoint = original
    resumed = AttentionNetwork.init(task, seed=1)
    h_resumed = train(resumed, task, checkpoint=ckpt, resume=True, **kw)
    for key in h_whole.records:
        np.testing.assert_array_equal(h_whole.columns()[key], h_resumed.columns()[key])
    for key in whole.weights:
        np.testing.assert_array_equal(whole.weights[key], resumed.weights[key])
    with pytest.raises(ValueError, match=r"is from a different configuration \(differs in: lr\)"):
        train(AttentionNetwork.init(task, seed=1), task, checkpoint=ckpt, resume=True, **(kw | {"lr": 0.123}))


def test_progress_line_only_when_asked(capsys):
    task = CopyingTask(N=2, L=4, D=4)
    train(AttentionNetwork.init(task), task, steps=4, lr=0.1, eval_every=2, eval_size=8, progress=True)
    assert "4/4" in capsys.readouterr().err
    train(AttentionNetwork.init(task), task, steps=4, lr=0.1, eval_every=2, eval_size=8)  # not a terminal
    assert capsys.readouterr().err == ""


def test_unreadable_checkpoint_is_named(tmp_path):
    task = CopyingTask(N=2, L=4, D=4)
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="^checkpoint .*broken.npz cannot be read"):
        train(AttentionNetwork.init(task), task, steps=2, lr=0.1, checkpoint=bad, resume=True)


@pytest.mark.parametrize(
    "steps, batch_size, every, size",
    [
        (1, 128, 10, 10),  # evaluations at 0 and 1: 128 // (6·2)
        (100, 128, 10, 193),  # 11 evaluations: 12800 // (6·11)
        (10_000, 128, 100, 2112),  # 101 evaluations: 1280000 // (6·101)
        (100_000, 128, 1000, 4096),  # capped
        (3, 1, 10, 1),  # at least one sequence
    ],
)
def test_default_evaluation_sees_a_sixth_of_the_training_sequences(steps, batch_size, every, size):
    from phenom.nets.training import _checked

    run = _checked(
        steps=steps,
        lr=0.1,
        batch_size=batch_size,
        seed=0,
        eval_seed=None,
        eval_every=None,
        eval_size=None,
        weight_decay=0.0,
        clip_norm=None,
        checkpoint_every=None,
    )
    assert (run["eval_every"], run["eval_size"]) == (every, size)
    explicit = _checked(
        steps=steps,
        lr=0.1,
        batch_size=batch_size,
        seed=0,
        eval_seed=None,
        eval_every=7,
        eval_size=33,
        weight_decay=0.0,
        clip_norm=None,
        checkpoint_every=None,
    )
    assert (explicit["eval_every"], explicit["eval_size"]) == (7, 33)


def test_training_caps_blas_threads_and_restores_them():
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads():
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    task = CopyingTask(N=2, L=4, D=8)
    for cap, expected in ((1, {1}), (None, {2}), (2, {2})):
        net, seen = AttentionNetwork.init(task), []
        step = net.loss_and_grads
        net.loss_and_grads = lambda batch, seen=seen, step=step: (seen.append(blas_threads()), step(batch))[1]
        with threadpool_limits(limits=2, user_api="blas"):
            train(net, task, steps=3, lr=0.1, eval_every=3, eval_size=4, blas_threads=cap)
            assert blas_threads() == {2}  # as it was before training
        assert seen == [expected] * 3
    with pytest.raises(ValueError, match="^blas_threads must be an integer >= 1, got 0"):
        train(AttentionNetwork.init(task), task, steps=3, lr=0.1, blas_threads=0)


def test_a_default_training_run_leaves_the_process_as_it_found_it(monkeypatch):
    # No call to glibc's mallopt (the process's allocator settings are the caller's), and every
    # thread pool (BLAS, OpenMP) has the limits it had before.
    import ctypes

    from threadpoolctl import threadpool_info

    asked = []
    real = ctypes.CDLL

    class Spy(real):
        def __getattr__(self, name):
            asked.append(name)
            return super().__getattr__(name)

        def __getitem__(self, name):
            asked.append(name)
            return super().__getitem__(name)

    monkeypatch.setattr(ctypes, "CDLL", Spy)
    before = threadpool_info()
    task = CopyingTask(N=2, L=4, D=8)
    train(AttentionNetwork.init(task), task, steps=12, lr=0.1)
    assert "mallopt" not in asked
    assert threadpool_info() == before


def test_history_shows_a_summary_not_its_arrays():
    task = CopyingTask(N=2, L=4, D=8)
    hist = train(AttentionNetwork.init(task), task, steps=20, lr=0.1, eval_every=10, eval_size=8)
    text = repr(hist)
    loss, acc = hist.records["eval_loss"][-1], hist.records["icl_acc"][-1]
    assert text.startswith(
        f"History(3 evaluations, last step 20, loss {hist.records['loss'][-1]:.4g}, "
        f"eval_loss {loss:.4g}, icl_acc {acc:.4g}; columns: step, loss, eval_loss"
    )
    assert "\n" not in text and "[" not in text and len(text) < 400
    from phenom.nets.history import History

    assert repr(History(config={})) == "History(0 evaluations; columns: none)"


def test_a_run_without_held_out_evaluation_is_the_same_run(monkeypatch):
    # eval_size=0: no held-out set is drawn or scored, the history keeps the step and the mean
    # training loss since the last row, and the training itself (batches, weights) is the one an
    # evaluated run takes: its running losses and final weights equal an evaluated run's.
    task = CopyingTask(N=3, L=6, D=8)
    kw = dict(steps=30, lr=0.1, batch_size=16, seed=5, eval_every=10)
    evaluated, silent = AttentionNetwork.init(task, seed=2), AttentionNetwork.init(task, seed=2)
    h_evaluated = train(evaluated, task, eval_size=64, **kw)
    calls = []
    monkeypatch.setattr(AttentionNetwork, "metrics", lambda *a, **k: calls.append(1))
    h_silent = train(silent, task, eval_size=0, **kw)
    assert calls == []
    assert sorted(h_silent.records) == ["loss", "step"]
    assert h_silent.config["eval_size"] == 0
    np.testing.assert_array_equal(h_silent.step, [0, 10, 20, 30])
    np.testing.assert_array_equal(h_silent.loss, h_evaluated.loss)
    for key in evaluated.weights:
        np.testing.assert_array_equal(silent.weights[key], evaluated.weights[key])
    with pytest.raises(ValueError, match="^eval_size must be an integer >= 0"):
        train(silent, task, eval_size=-1, **kw)
