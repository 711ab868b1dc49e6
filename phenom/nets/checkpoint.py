"""Checkpoints of a training run: their format, their file, and the checks before one is resumed.

A checkpoint holds everything a resumed run needs to continue exactly: the weights, the
optimiser's state, the data stream's RNG state, the partial running loss, the history so far and
the run's configuration, evaluation cadence (``eval_every``, ``eval_size``) included, so that a
finished run can be extended with the cadence it was trained with.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from phenom import _io

__all__ = [
    "CheckpointError",
    "checkpoint_file",
    "saved_cadence",
    "save_checkpoint",
    "load_checkpoint",
    "CHECKPOINT_FORMAT",
    "EXTENDABLE",
    "CADENCE",
]

CHECKPOINT_FORMAT = 2
"""Version of the checkpoint layout; a file of another layout is refused, never guessed at."""

EXTENDABLE = ("steps",)
"""Fields of a run's configuration that a resumed run may change (to continue a finished run)."""

CADENCE = ("eval_every", "eval_size")
"""The evaluation cadence: by default derived from ``steps``, remembered by the checkpoint and
reused when a run is extended without naming it."""

TRAINING_CODE = "phenom.nets.training"
"""The module whose code (and what it imports) a checkpoint in a folder is keyed to."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed: unreadable, damaged, or of another run.

    Raised by :func:`load_checkpoint` (and so by :func:`~phenom.nets.training.train` with
    ``resume=True``) before anything is changed; the message names the file and what is wrong,
    and the file is left as it is. A ValueError, so a caller that checks arguments catches it too.

    Parameters
    ----------
    message : str
        What is wrong, naming the file.

    Examples
    --------
    A run resumed from the checkpoint of a run with another data seed:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from phenom.nets.attention import AttentionNetwork
    >>> from phenom.nets.checkpoint import CheckpointError
    >>> from phenom.nets.tasks import CopyingTask
    >>> from phenom.nets.training import train
    >>> task = CopyingTask(N=2, L=4, D=8)
    >>> path = Path(tempfile.mkdtemp()) / "run.npz"
    >>> _ = train(AttentionNetwork.init(task), task, steps=10, lr=0.1, batch_size=8, eval_size=16, checkpoint=path)
    >>> try:
    ...     train(AttentionNetwork.init(task), task, steps=10, lr=0.1, batch_size=8, eval_size=16,
    ...           checkpoint=path, resume=True, seed=1)
    ... except CheckpointError as err:
    ...     print("differs in: seeds" in str(err), isinstance(err, ValueError))
    True True
    """


def _identity(config: dict, ignore: Iterable[str] = ()) -> dict:
    """The part of a configuration a checkpoint must match to be resumed: all but ``steps`` (and
    ``ignore``)."""
    plain = json.loads(json.dumps(_io.plain(config)))
    return {k: v for k, v in plain.items() if k not in EXTENDABLE and k not in ignore}


def checkpoint_file(
    checkpoint: str | Path, config: dict, *, defaulted: Iterable[str] = (), modules: Iterable[str] = ()
) -> Path:
    """The checkpoint file of a run: ``checkpoint`` itself, or ``run_<hash>.npz`` in that folder.

    ``checkpoint`` names a file when it has a suffix (such as ``.npz``); when it names a folder
    (an existing one, or a path without a suffix), the file is ``run_<hash>.npz`` in it. The
    hash is of the run's configuration but its steps (so that a finished run can be extended)
    and the cadence fields in ``defaulted`` (those left to their default, which the checkpoint
    then supplies), and of the code that computes the run: the docstring-free syntax of the
    training loop and of ``modules`` (e.g. the network's and the task's). Runs of different
    configurations, or of different computing code, never meet in one file; an edited plot or
    docstring leaves the file where it was.

    Parameters
    ----------
    checkpoint : str or pathlib.Path
        A file, or a folder that keeps one file per configuration (it need not exist yet).
    config : dict
        The run's configuration, as :func:`~phenom.nets.training.train` records it (with
        ``steps``); JSON-like values.
    defaulted : iterable of str, default ()
        Cadence fields left to their default, among :data:`CADENCE`; anything else is a
        ValueError.
    modules : iterable of str, default ()
        Further phenom modules whose code the file is keyed to.

    Returns
    -------
    pathlib.Path
        The file (not created here).

    Examples
    --------
    >>> from phenom.nets.checkpoint import checkpoint_file
    >>> checkpoint_file("run.npz", {"steps": 10, "lr": 0.1}).name
    'run.npz'
    >>> path = checkpoint_file("runs", {"steps": 10, "lr": 0.1})
    >>> path.parent.name, path.name.startswith("run_"), path.suffix
    ('runs', True, '.npz')
    >>> checkpoint_file("runs", {"steps": 20, "lr": 0.1}) == path  # more steps: the same run, extended
    True
    >>> checkpoint_file("runs", {"steps": 10, "lr": 0.2}) == path
    False
    """
    path = Path(checkpoint)
    if path.is_dir() or not path.suffix:
        defaulted = set(defaulted)
        unknown = defaulted - set(CADENCE)
        if unknown:
            raise ValueError(f"defaulted must name fields among {CADENCE}, got {sorted(unknown)}")
        text = json.dumps(_identity(config, defaulted), sort_keys=True) + _io.code_version(TRAINING_CODE, *modules)
        return path / f"run_{hashlib.sha256(text.encode()).hexdigest()[:16]}.npz"
    return path


def saved_cadence(path: Path) -> dict[str, int]:
    """The evaluation cadence ``{"eval_every": …, "eval_size": …}`` a checkpoint was trained with.

    Parameters
    ----------
    path : pathlib.Path
        The checkpoint file.

    Returns
    -------
    dict of str to int
        ``eval_every`` and ``eval_size``; empty when the file is missing or holds no readable
        cadence (:func:`load_checkpoint` then says what is wrong with it).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from phenom.nets.attention import AttentionNetwork
    >>> from phenom.nets.checkpoint import saved_cadence
    >>> from phenom.nets.tasks import CopyingTask
    >>> from phenom.nets.training import train
    >>> task = CopyingTask(N=2, L=4, D=8)
    >>> path = Path(tempfile.mkdtemp()) / "run.npz"
    >>> _ = train(AttentionNetwork.init(task), task, steps=20, lr=0.1, batch_size=8, eval_every=5,
    ...           eval_size=16, checkpoint=path)
    >>> saved_cadence(path)
    {'eval_every': 5, 'eval_size': 16}
    >>> saved_cadence(path.with_name("missing.npz"))
    {}
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            config = json.loads(str(data["meta"]))["config"]
        cadence = {k: config[k] for k in CADENCE}
    except Exception:  # any damage: reported by the full check
        return {}
    ok = all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in cadence.values())
    return cadence if ok else {}


def save_checkpoint(
    path: Path,
    step: int,
    net,
    opt,
    data_rng,
    running: list,
    config: dict,
    records: dict,
    final_running: list | None = None,
) -> None:
    """Write the run's state at ``step`` atomically, in the layout :data:`CHECKPOINT_FORMAT`.

    :func:`~phenom.nets.training.train` calls it; :func:`load_checkpoint` reads the file back.

    Parameters
    ----------
    path : pathlib.Path
        The file (replaced atomically: a reader never sees half of it).
    step : int
        The steps taken.
    net : AttentionNetwork or LinearAttention
        The network: its ``params()`` are saved.
    opt : SGD or Adam
        The optimiser: its ``state_dict()`` is saved.
    data_rng : numpy.random.Generator
        The training batches' stream: its state is saved.
    running : list of float
        The training losses since the last evaluation.
    config : dict
        The run's configuration (JSON-like).
    records : dict of str to list
        The history so far (a :class:`~phenom.nets.history.History`'s ``records``).
    final_running : list of float, optional
        At the end of a run whose last step is off the evaluation cadence, the running loss
        before that last evaluation, so that the run can be extended exactly.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from phenom.nets.attention import AttentionNetwork
    >>> from phenom.nets.checkpoint import load_checkpoint, save_checkpoint
    >>> from phenom.nets.optim import SGD
    >>> from phenom.nets.tasks import CopyingTask
    >>> task = CopyingTask(N=2, L=4, D=8)
    >>> net, config = AttentionNetwork.init(task, seed=0), {"steps": 10}
    >>> path = Path(tempfile.mkdtemp()) / "run.npz"
    >>> save_checkpoint(path, 4, net, SGD(lr=0.1), np.random.default_rng(0), [1.5, 1.25], config, {"step": [0]})
    >>> other = AttentionNetwork.init(task, seed=1)
    >>> load_checkpoint(path, other, SGD(lr=0.1), np.random.default_rng(7), config)
    (4, [1.5, 1.25], {'step': [0]})
    >>> bool(np.array_equal(other.weights["Q1"], net.weights["Q1"]))
    True
    """
    arrays = {f"param/{k}": v for k, v in net.params().items()}
    state = opt.state_dict()
    for kind in ("m", "v"):
        arrays.update({f"opt_{kind}/{k}": v for k, v in state.get(kind, {}).items()})
    meta = {
        "format": CHECKPOINT_FORMAT,
        "step": step,
        "config": config,
        "records": records,
        "running": running,
        "final_running": final_running,
        "rng": data_rng.bit_generator.state,
        "opt_t": state.get("t", 0),
    }
    arrays["meta"] = np.array(json.dumps(_io.plain(meta)))  # NaN kept as NaN (JSON's extension)

    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    _io.atomic_write(path, write)


def _read(path: Path, bad) -> tuple[dict, dict]:
    """The arrays and the metadata of ``path``, every member read (a damaged one fails here)."""
    try:
        with open(path, "rb") as f:
            zipped = f.read(4) == b"PK\x03\x04"
    except OSError as err:
        raise bad(f"cannot be read ({type(err).__name__})") from None
    if not zipped:  # np.load would take it for pickled data
        raise bad("cannot be read: it is not an .npz archive, not a phenom checkpoint")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}  # read every member now, inside the check
    except Exception as err:  # a damaged zip, a member that is not an array, not a zip at all
        kind: str | type = (
            "holds Python objects" if "pickle" in str(err).lower() else f"is damaged ({type(err).__name__})"
        )
        raise bad(f"cannot be read: it {kind}, not a phenom checkpoint") from None
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except Exception:
        raise bad("has no readable metadata") from None
    fields = {"format": int, "step": int, "config": dict, "records": dict, "running": list, "rng": dict, "opt_t": int}
    for key, kind in fields.items():
        if not isinstance(meta, dict) or not isinstance(meta.get(key), kind) or isinstance(meta.get(key), bool):
            raise bad(f"has no valid '{key}' in its metadata")
    if meta["format"] != CHECKPOINT_FORMAT:
        raise bad(f"has layout {meta['format']}, this version reads layout {CHECKPOINT_FORMAT}")
    return arrays, meta


def _check_run(path: Path, meta: dict, config: dict, bad) -> None:
    """A CheckpointError unless ``meta`` is of this run, at a step it can continue from."""
    saved, wanted = _identity(meta["config"]), _identity(config)
    if saved != wanted:
        diff = sorted(k for k in set(saved) | set(wanted) if saved.get(k) != wanted.get(k))
        raise CheckpointError(
            f"checkpoint {path} is from a different configuration (differs in: "
            f"{', '.join(diff)}); pass a folder as checkpoint to keep one file per "
            f"configuration, or another file"
        )
    steps, saved_steps, step = config["steps"], meta["config"].get("steps"), meta["step"]
    if not isinstance(saved_steps, int) or not 0 <= step <= saved_steps:
        raise bad(f"is at step {step}, outside its run's 0 to {saved_steps} steps")
    if step > steps:
        raise CheckpointError(
            f"checkpoint {path} is at step {step}, beyond steps = {steps}: train for at least {step} steps to resume it"
        )
    if saved_steps != steps and config.get("schedule") != "constant":
        raise CheckpointError(
            f"checkpoint {path} is of a run of {saved_steps} steps with a {config.get('schedule')} "
            f"schedule, whose rate depends on the total: it cannot be continued to {steps} steps"
        )


def _check_state(arrays: dict, meta: dict, params: dict, data_rng, bad) -> None:
    """A CheckpointError unless the weights, optimiser state, history and random state fit."""
    names = {f"param/{k}" for k in params}
    moments = {k for k in arrays if k.startswith(("opt_m/", "opt_v/"))}
    if set(arrays) - names - moments or names - set(arrays):
        missing, extra = sorted(names - set(arrays)), sorted(set(arrays) - names - moments)
        raise bad(
            f"does not hold this network's weights (missing: {', '.join(missing) or 'none'}; "
            f"unexpected: {', '.join(extra) or 'none'})"
        )
    for k, v in params.items():
        a = arrays[f"param/{k}"]
        if a.shape != v.shape or a.dtype != v.dtype:
            raise bad(f"holds weight {k} of shape {a.shape} and dtype {a.dtype}, the network's is {v.shape}, {v.dtype}")
        if not np.all(np.isfinite(a)):
            raise bad(f"holds non-finite values in weight {k}")
    for k in moments:
        name = k.split("/", 1)[1]
        if name not in params or arrays[k].shape != params[name].shape or arrays[k].dtype != params[name].dtype:
            raise bad(f"holds optimiser state {k} that does not match the network's weights")
    records, step = meta["records"], meta["step"]
    lengths = {len(v) for v in records.values() if isinstance(v, list)}
    if len(lengths) > 1 or any(not isinstance(v, list) for v in records.values()):
        raise bad("holds a history whose columns differ in length")
    if records and (not records.get("step") or any(not isinstance(x, int) or x > step for x in records["step"])):
        raise bad("holds a history with steps beyond its own step")
    for key in ("running", "final_running"):
        values = meta.get(key)
        if key == "final_running" and values is None:
            continue
        if not isinstance(values, list) or any(not isinstance(x, (int, float)) or isinstance(x, bool) for x in values):
            raise bad(f"holds a '{key}' that is not a list of numbers")
    trial = np.random.Generator(type(data_rng.bit_generator)())
    try:
        trial.bit_generator.state = meta["rng"]
    except Exception:
        raise bad("holds a random-stream state of another kind") from None


def load_checkpoint(path: Path, net, opt, data_rng, config: dict) -> tuple[int, list, dict]:
    """Continue from ``path``: set the network, optimiser and data stream from it.

    Every field is checked before anything is changed (a :class:`CheckpointError` names the file
    and what is wrong: unreadable, another layout, another configuration, a step beyond
    ``config["steps"]``, weights of other shapes or not finite, …); the file itself is never
    modified here.

    Parameters
    ----------
    path : pathlib.Path
        The checkpoint file (:func:`save_checkpoint`'s).
    net : AttentionNetwork or LinearAttention
        The network, whose ``params()`` are overwritten in place.
    opt : SGD or Adam
        The optimiser, whose state is loaded.
    data_rng : numpy.random.Generator
        The training batches' stream, set to the saved state.
    config : dict
        The resuming run's configuration: it must equal the saved one but for ``steps`` (more
        steps continue a finished run with a constant schedule).

    Returns
    -------
    step : int
        The step to continue from.
    running : list of float
        The training losses since the last evaluation.
    records : dict of str to list
        The history so far.

    Examples
    --------
    A file that is not a checkpoint is refused, and left as it is:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from phenom.nets.checkpoint import CheckpointError, load_checkpoint
    >>> path = Path(tempfile.mkdtemp()) / "run.npz"
    >>> _ = path.write_text("not a checkpoint")
    >>> try:
    ...     load_checkpoint(path, None, None, None, {"steps": 10})
    ... except CheckpointError as err:
    ...     print("cannot be read" in str(err), str(err).split("; ")[1])
    True it was left as it is (delete it or use another checkpoint)
    >>> path.read_text()
    'not a checkpoint'

    :func:`save_checkpoint` shows a round trip.
    """

    def bad(why: str) -> CheckpointError:
        return CheckpointError(f"checkpoint {path} {why}; it was left as it is (delete it or use another checkpoint)")

    arrays, meta = _read(path, bad)
    _check_run(path, meta, config, bad)
    params = net.params()
    _check_state(arrays, meta, params, data_rng, bad)

    # Every check passed: continue from it.
    for k, v in params.items():
        v[...] = arrays[f"param/{k}"]
    state = {"t": meta["opt_t"]}
    for kind in ("m", "v"):
        state[kind] = {k.split("/", 1)[1]: arrays[k] for k in arrays if k.startswith(f"opt_{kind}/")}
    opt.load_state_dict(state)
    data_rng.bit_generator.state = meta["rng"]
    step, saved_steps = meta["step"], meta["config"]["steps"]
    running, records = meta["running"], {k: list(v) for k, v in meta["records"].items()}
    if config["steps"] > saved_steps and step == saved_steps and meta.get("final_running") is not None:
        # Extending a finished run whose last evaluation was off the cadence: the longer run would
        # not have made it, so drop it and carry on with the running loss from before it.
        records = {k: v[:-1] for k, v in records.items()}
        running = meta["final_running"]
    return step, running, records
