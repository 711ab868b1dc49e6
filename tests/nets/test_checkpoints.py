"""What happens when training goes wrong: divergence, checkpoints of other runs, damaged
checkpoints, and extending a finished run to more steps (bit for bit the longer run)."""

import hashlib
import json
import warnings
import zipfile

import numpy as np
import pytest

from phenom.nets import AttentionNetwork, train
from phenom.nets.tasks import CopyingTask
from phenom.nets.training import CheckpointError, Diverged, checkpoint_file

TASK = CopyingTask(N=2, L=4, D=8)
KW = dict(lr=0.3, batch_size=16, eval_every=10, eval_size=32, seed=3)


def _net():
    return AttentionNetwork.init(TASK, seed=1)


def _same(a, b) -> bool:
    """Equal records, NaN equal to NaN, floats compared exactly (their repr)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_divergence_is_one_error_naming_the_step_and_what_to_try():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning on the way
        with pytest.raises(
            Diverged,
            match=r"^training diverged at step \d+ \(loss (nan|inf)\) with lr 100000: try a "
            r"smaller lr \(e\.g\. 10000\) or clip_norm$",
        ) as info:
            train(_net(), TASK, steps=30, lr=1e5)
    assert 0 <= info.value.step < 30 and isinstance(info.value, FloatingPointError)


def test_a_folder_keeps_one_checkpoint_per_configuration(tmp_path):
    folder = tmp_path / "runs"
    with pytest.raises(Diverged) as info:
        train(_net(), TASK, steps=30, checkpoint=folder, resume=True, **(KW | {"lr": 1e5}))
    # It diverged before its first checkpoint (step 10, the evaluation cadence): nothing written.
    assert info.value.step < 10 and not folder.exists()
    h = train(_net(), TASK, steps=30, checkpoint=folder, resume=True, **KW)  # neither blocked nor mixed
    again = train(_net(), TASK, steps=30, checkpoint=folder, resume=True, **KW)
    assert _same(h.records, again.records) and h.step[-1] == 30
    # One file, the finished run's: named by its configuration and the code of the training loop,
    # the network's module and the task's (no temporary file left behind).
    modules = sorted({type(_net()).__module__, type(TASK).__module__})
    assert modules == ["phenom.nets.attention", "phenom.nets.tasks"]
    assert [p.name for p in folder.iterdir()] == [checkpoint_file(folder, h.config, modules=modules).name]
    config = {**h.config}
    assert checkpoint_file(folder, config) == checkpoint_file(folder, {**config, "steps": 60})  # extendable
    assert checkpoint_file(folder, config) != checkpoint_file(folder, {**config, "lr": 0.1})


def test_a_file_of_another_configuration_is_refused_with_a_hint(tmp_path):
    ckpt = tmp_path / "run.npz"
    train(_net(), TASK, steps=20, checkpoint=ckpt, **KW)
    before = _digest(ckpt)
    with pytest.raises(CheckpointError, match=r"differs in: lr\); pass a folder as checkpoint"):
        train(_net(), TASK, steps=20, checkpoint=ckpt, resume=True, **(KW | {"lr": 0.1}))
    assert _digest(ckpt) == before


@pytest.mark.parametrize("short, long", [(35, 70), (40, 80), (7, 23)])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_finished_run_extends_to_the_longer_run_bit_for_bit(tmp_path, short, long, optimizer):
    kw = KW | {"optimizer": optimizer, "lr": 0.3 if optimizer == "sgd" else 1e-3}
    whole = _net()
    h_whole = train(whole, TASK, steps=long, **kw)
    ckpt = tmp_path / "run.npz"
    train(_net(), TASK, steps=short, checkpoint=ckpt, **kw)
    extended = _net()
    h_ext = train(extended, TASK, steps=long, checkpoint=ckpt, resume=True, **kw)
    assert _same(h_ext.records, h_whole.records)
    for k, v in whole.params().items():
        assert np.array_equal(v, extended.params()[k]), k


@pytest.mark.parametrize("where", ["run.npz", "runs"])
def test_a_run_with_the_default_cadence_extends_to_twice_its_steps_bit_for_bit(tmp_path, where):
    # 60 steps by default: evaluations every max(10, 60 // 100) = 10 steps, of
    # 60·16 // (6·7) = 22 sequences (7 evaluations). The same cadence's uninterrupted 120 steps
    # is the reference; 120 steps by default would evaluate 120·16 // (6·13) = 24 sequences.
    kw = {"lr": 0.3, "batch_size": 16, "seed": 3}
    ckpt = tmp_path / where
    short = train(_net(), TASK, steps=60, checkpoint=ckpt, **kw)
    assert (short.config["eval_every"], short.config["eval_size"]) == (10, 22)
    extended = _net()
    h_ext = train(extended, TASK, steps=120, checkpoint=ckpt, resume=True, **kw)
    whole = _net()
    h_whole = train(whole, TASK, steps=120, eval_every=10, eval_size=22, **kw)
    assert (h_ext.config["eval_every"], h_ext.config["eval_size"]) == (10, 22)
    assert list(h_ext.step) == list(range(0, 121, 10))
    assert _same(h_ext.records, h_whole.records)
    for k, v in whole.params().items():
        assert np.array_equal(v, extended.params()[k]), k
    if where == "runs":
        assert len(list(ckpt.iterdir())) == 1  # the longer run continued the same file


def test_an_explicit_cadence_must_match_the_checkpoints(tmp_path):
    ckpt = tmp_path / "run.npz"
    train(_net(), TASK, steps=60, checkpoint=ckpt, lr=0.3)  # cadence (10, 60·128 // (6·7) = 182) by default
    with pytest.raises(CheckpointError, match=r"differs in: eval_every\)"):
        train(_net(), TASK, steps=120, checkpoint=ckpt, resume=True, lr=0.3, eval_every=20)


def test_a_cosine_schedule_cannot_be_extended(tmp_path):
    cos = tmp_path / "cos.npz"
    train(_net(), TASK, steps=20, checkpoint=cos, schedule="cosine", **KW)
    with pytest.raises(
        CheckpointError, match="cosine schedule, whose rate depends on the total: it cannot be continued to 40 steps"
    ):
        train(_net(), TASK, steps=40, checkpoint=cos, resume=True, schedule="cosine", **KW)


def test_a_checkpoint_beyond_the_steps_asked_is_refused(tmp_path):
    ckpt = tmp_path / "run.npz"
    train(_net(), TASK, steps=40, checkpoint=ckpt, **KW)
    with pytest.raises(CheckpointError, match=r"is at step 40, beyond steps = 20"):
        train(_net(), TASK, steps=20, checkpoint=ckpt, resume=True, **KW)


def _rewrite(path, change):
    """Rewrite the checkpoint's members through ``change(dict of arrays)``."""
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    change(arrays)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _meta(change):
    def apply(arrays):
        meta = json.loads(str(arrays["meta"]))
        change(meta)
        arrays["meta"] = np.array(json.dumps(meta))

    return apply


DAMAGE = {
    "bytes overwritten": (None, "cannot be read: it is damaged"),
    "missing weight": (lambda a: a.pop("param/Q1"), r"does not hold this network's weights \(missing: param/Q1"),
    "wrong shape": (lambda a: a.__setitem__("param/Q1", a["param/Q1"][:-1]), "holds weight Q1 of shape"),
    "wrong dtype": (lambda a: a.__setitem__("param/Q1", a["param/Q1"].astype(np.float64)), "holds weight Q1 of shape"),
    "non-finite weight": (lambda a: a["param/Q1"].__setitem__((0, 0), np.nan), "non-finite values in weight Q1"),
    "object array": (
        lambda a: a.__setitem__("param/Q1", np.array([object()], dtype=object)),
        "holds Python objects, not a phenom checkpoint",
    ),
    "step beyond its run": (_meta(lambda m: m.__setitem__("step", 999)), "is at step 999, outside its run's 0 to 20"),
    "negative step": (_meta(lambda m: m.__setitem__("step", -1)), "outside its run's 0 to 20"),
    "no metadata": (lambda a: a.pop("meta"), "has no readable metadata"),
    "metadata not an object": (lambda a: a.__setitem__("meta", np.array("[1, 2]")), "has no valid 'format'"),
    "step not an integer": (_meta(lambda m: m.__setitem__("step", "10")), "has no valid 'step'"),
    "ragged history": (_meta(lambda m: m["records"]["loss"].append(1.0)), "columns differ in length"),
    "history past its step": (_meta(lambda m: m["records"]["step"].__setitem__(-1, 50)), "steps beyond its own step"),
    "foreign random state": (
        _meta(lambda m: m.__setitem__("rng", {"bit_generator": "MT19937", "state": {}})),
        "random-stream state of another kind",
    ),
    "other layout": (_meta(lambda m: m.__setitem__("format", 1)), "has layout 1, this version reads layout 2"),
    "running loss of text": (_meta(lambda m: m.__setitem__("running", ["x"])), "holds a 'running' that is not a list"),
    "final running of text": (
        _meta(lambda m: m.__setitem__("final_running", "x")),
        "holds a 'final_running' that is not a list",
    ),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_checkpoint_is_named_and_left_untouched(tmp_path, damage):
    change, message = DAMAGE[damage]
    ckpt = tmp_path / "run.npz"
    train(_net(), TASK, steps=20, checkpoint=ckpt, **KW)
    if change is None:
        raw = bytearray(ckpt.read_bytes())
        raw[len(raw) // 2 : len(raw) // 2 + 64] = b"\xff" * 64
        ckpt.write_bytes(bytes(raw))
    else:
        _rewrite(ckpt, change)
    before = _digest(ckpt)
    net = _net()
    weights = {k: v.copy() for k, v in net.params().items()}
    with pytest.raises(CheckpointError, match=message) as info:
        train(net, TASK, steps=20, checkpoint=ckpt, resume=True, **KW)
    text = str(info.value)
    assert str(ckpt) in text and "\n" not in text and "allow_pickle" not in text
    assert _digest(ckpt) == before  # the file is left as it was
    assert all(np.array_equal(v, weights[k]) for k, v in net.params().items())  # and the network too


def test_a_file_that_is_not_a_checkpoint(tmp_path):
    for name, content in (("text.npz", b"not a checkpoint"), ("empty.npz", b"")):
        bad = tmp_path / name
        bad.write_bytes(content)
        with pytest.raises(CheckpointError, match=f"^checkpoint .*{name} cannot be read"):
            train(_net(), TASK, steps=2, lr=0.1, checkpoint=bad, resume=True)
    zipped = tmp_path / "zip.npz"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("meta.npy", b"garbage")
    with pytest.raises(CheckpointError, match="has no readable metadata"):  # a member that is not an array
        train(_net(), TASK, steps=2, lr=0.1, checkpoint=zipped, resume=True)


def test_a_resume_at_a_checkpoint_off_the_evaluation_cadence_still_evaluates_the_end(tmp_path):
    # Checkpoints every 15 steps, evaluations every 10: the checkpoint at step 15 has no
    # evaluation of its own. A 15-step run resumed from it must end with the evaluation at 15.
    kw = KW | {"eval_every": 10, "checkpoint_every": 15}
    ckpt = tmp_path / "run.npz"
    from phenom.nets import training

    original, saves = training._save_checkpoint, []

    def save_then_stop(path, step, *args, **kwargs):
        original(path, step, *args, **kwargs)
        saves.append(step)
        if step == 15:
            raise KeyboardInterrupt

    training._save_checkpoint = save_then_stop
    try:
        with pytest.raises(KeyboardInterrupt):
            train(_net(), TASK, steps=45, checkpoint=ckpt, **kw)
    finally:
        training._save_checkpoint = original
    resumed = train(_net(), TASK, steps=15, checkpoint=ckpt, resume=True, **kw)
    whole = train(_net(), TASK, steps=15, **kw)
    assert list(resumed.step) == [0, 10, 15]
    assert _same(resumed.records, whole.records)


def test_a_folder_checkpoint_is_reused_exactly_while_its_computing_code_is_unchanged(tmp_path, monkeypatch):
    # The source reader is edited under the hashing (the version recomputed each time): a changed
    # plot module keeps the run's file, a changed network or training loop starts a new one.
    from phenom import _io

    real, edited = _io._syntax, {"name": None}

    def syntax(path, name, package):
        dump, imported = real(path, name, package)
        return (dump + "edited" if name == edited["name"] else dump), imported

    monkeypatch.setattr(_io, "_syntax", syntax)
    monkeypatch.setattr(_io, "_cached_version", _io._cached_version.__wrapped__)
    folder = tmp_path / "runs"
    files = {}
    for name in (None, "phenom.figures.plots.network", "phenom.nets.attention", "phenom.nets.training"):
        edited["name"] = name
        train(_net(), TASK, steps=10, checkpoint=folder, resume=True, **KW)
        files[name] = {p.name for p in folder.iterdir()}
    assert len(files[None]) == 1
    assert files["phenom.figures.plots.network"] == files[None]
    assert len(files["phenom.nets.attention"]) == 2 and len(files["phenom.nets.training"]) == 3


def test_a_text_file_is_named_not_an_archive(tmp_path):
    ckpt = tmp_path / "run.npz"
    ckpt.write_text("step,loss\n0,2.7\n")
    with pytest.raises(CheckpointError, match="it is not an .npz archive, not a phenom checkpoint") as info:
        train(_net(), TASK, steps=20, checkpoint=ckpt, resume=True, **KW)
    assert "Python objects" not in str(info.value) and "\n" not in str(info.value)
    assert ckpt.read_text() == "step,loss\n0,2.7\n"
