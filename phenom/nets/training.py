"""Online training of the numpy networks on fresh samples, and the History it records.

Any network with ``params()``, ``loss_and_grads(batch)`` and ``metrics(batch, task)`` trains on
any task with ``sample(n, rng)``. Three seeds keep runs reproducible and comparable: the
network's initialisation seed (chosen when it was built), ``seed`` for the training batches and
``eval_seed`` for the held-out evaluation set; all are stored in the History.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from phenom import _io, _memory, _rng, _validate
from phenom.nets.optim import make_optimizer

__all__ = ["History", "train", "checkpoint_file", "CheckpointError", "Diverged", "DEFAULT_EVAL_SIZE", "EVAL_SHARE",
           "MIN_EVAL_EVERY"]

DEFAULT_EVAL_SIZE = 4096
"""Held-out sequences per evaluation when the run is long enough to afford them."""

EVAL_SHARE = 6
"""By default the evaluations together see at most 1/EVAL_SHARE as many sequences as training."""

MIN_EVAL_EVERY = 10
"""The default evaluation interval is never shorter: an evaluation of any size has a fixed cost of
about a quarter of a training step at the reference size."""


@dataclass
class History:
    """Learning curves: one row per evaluation; columns read as arrays (``hist.step``, ``hist.loss``)."""

    config: dict
    records: dict[str, list] = field(default_factory=dict)

    def append(self, **row) -> None:
        for key, value in row.items():
            self.records.setdefault(key, []).append(value)

    def __getattr__(self, name: str) -> np.ndarray:
        records = self.__dict__.get("records", {})
        if name in records:
            return np.asarray(records[name])
        raise AttributeError(f"History has no column {name!r}; columns: {sorted(records)}")

    def columns(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(v, dtype=float) for k, v in self.records.items()}

    def save(self, out: str | Path, stem: str = "history") -> list[Path]:
        """Write ``stem.csv`` (the curves) and ``stem.json`` (curves, configuration, seeds), atomically;
        ``stem`` is a file name without folders."""
        _io.file_stem("stem", stem)
        out = Path(out)
        return [
            _io.write_csv(out / f"{stem}.csv", self.columns()),
            _io.write_json(out / f"{stem}.json", {"config": self.config, "history": self.records, "versions": _io.provenance()}),
        ]


def _schedule(name: str, lr: float, steps: int):
    if name == "constant":
        return lambda step: lr
    if name == "cosine":
        return lambda step: 0.5 * lr * (1 + math.cos(math.pi * step / steps))
    raise ValueError(f"schedule must be 'constant' or 'cosine', got {name!r}")


def _progress_bar(steps: int, start: int, enabled: bool | None):
    """A tqdm bar on stderr (off when stderr is not a terminal, unless ``enabled`` forces it)."""
    from tqdm.auto import tqdm

    show = sys.stderr.isatty() if enabled is None else enabled
    return tqdm(total=steps, initial=start, disable=not show, unit="step", file=sys.stderr, leave=True,
                dynamic_ncols=True)


def _report(bar, step: int, row: dict) -> None:
    bar.set_postfix({k: f"{row[k]:.3g}" for k in ("loss", "eval_loss", "icl_acc") if k in row}, refresh=False)
    bar.update(step - bar.n)


def _save_checkpoint(path: Path, step: int, net, opt, data_rng, running, hist: History,
                     final_running: list | None = None) -> None:
    """Everything a resumed run needs to continue exactly: weights, optimiser state, the data
    stream's RNG state, the partial running loss and the history so far. At the end of a run
    whose last step is off the evaluation cadence, also the running loss before that last
    evaluation (``final_running``), so that the run can be extended exactly."""
    arrays = {f"param/{k}": v for k, v in net.params().items()}
    state = opt.state_dict()
    for kind in ("m", "v"):
        arrays.update({f"opt_{kind}/{k}": v for k, v in state.get(kind, {}).items()})
    meta = {
        "format": CHECKPOINT_FORMAT,
        "step": step,
        "config": hist.config,
        "records": hist.records,
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


CHECKPOINT_FORMAT = 2
"""Version of the checkpoint layout; a file of another layout is refused, never guessed at."""

EXTENDABLE = ("steps",)
"""Fields of a run's configuration that a resumed run may change (to continue a finished run)."""


def _identity(config: dict) -> dict:
    """The part of a configuration a checkpoint must match to be resumed: all but ``steps``."""
    plain = json.loads(json.dumps(_io.plain(config)))
    return {k: v for k, v in plain.items() if k not in EXTENDABLE}


def checkpoint_file(checkpoint: str | Path, config: dict) -> Path:
    """The checkpoint file of a run: ``checkpoint`` itself when it names a file (it has a
    suffix, such as ``.npz``); when it names a folder (an existing one, or a path without a
    suffix), ``run_<hash>.npz`` in it, the hash of the run's configuration (but its steps, so
    that a finished run can be extended) and of the code version. Runs of different
    configurations then never meet in one file."""
    path = Path(checkpoint)
    if path.is_dir() or not path.suffix:
        text = json.dumps(_identity(config), sort_keys=True) + _io.code_version()
        return path / f"run_{hashlib.sha256(text.encode()).hexdigest()[:16]}.npz"
    return path


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed: unreadable, damaged, or of another run."""


def _load_checkpoint(path: Path, net, opt, data_rng, config: dict):
    """Read and check every field of ``path`` before anything is changed: the network, the
    optimiser and the data stream are set only from a checkpoint that passes every check; the
    file itself is never modified here."""
    def bad(why: str) -> CheckpointError:
        return CheckpointError(f"checkpoint {path} {why}; it was left as it is (delete it or use another checkpoint)")

    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}  # read every member now, inside the check
    except Exception as err:  # a damaged zip, a member that is not an array, not a zip at all
        kind = "holds Python objects" if "pickle" in str(err).lower() else f"is damaged ({type(err).__name__})"
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

    saved, wanted = _identity(meta["config"]), _identity(config)
    if saved != wanted:
        diff = sorted(k for k in set(saved) | set(wanted) if saved.get(k) != wanted.get(k))
        hint = ""
        if set(diff) <= {"eval_every", "eval_size"} and meta["config"].get("steps") != config["steps"]:
            hint = (" (they default from steps: pass eval_every and eval_size explicitly to extend a run "
                    "to more steps)")
        raise CheckpointError(f"checkpoint {path} is from a different configuration (differs in: "
                              f"{', '.join(diff)}){hint}; pass a folder as checkpoint to keep one file per "
                              f"configuration, or another file")
    steps, saved_steps, step = config["steps"], meta["config"].get("steps"), meta["step"]
    if not isinstance(saved_steps, int) or not 0 <= step <= saved_steps:
        raise bad(f"is at step {step}, outside its run's 0 to {saved_steps} steps")
    if step > steps:
        raise CheckpointError(f"checkpoint {path} is at step {step}, beyond steps = {steps}: train for at least "
                              f"{step} steps to resume it")
    if saved_steps != steps and config.get("schedule") != "constant":
        raise CheckpointError(f"checkpoint {path} is of a run of {saved_steps} steps with a {config.get('schedule')} "
                              f"schedule, whose rate depends on the total: it cannot be continued to {steps} steps")

    params = net.params()
    names = {f"param/{k}" for k in params}
    moments = {k for k in arrays if k.startswith(("opt_m/", "opt_v/"))}
    if set(arrays) - names - moments or names - set(arrays):
        missing, extra = sorted(names - set(arrays)), sorted(set(arrays) - names - moments)
        raise bad(f"does not hold this network's weights (missing: {', '.join(missing) or 'none'}; "
                  f"unexpected: {', '.join(extra) or 'none'})")
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
    records = meta["records"]
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

    # Every check passed: continue from it.
    for k, v in params.items():
        v[...] = arrays[f"param/{k}"]
    state = {"t": meta["opt_t"]}
    for kind in ("m", "v"):
        state[kind] = {k.split("/", 1)[1]: arrays[k] for k in arrays if k.startswith(f"opt_{kind}/")}
    opt.load_state_dict(state)
    data_rng.bit_generator.state = meta["rng"]
    running, records = meta["running"], {k: list(v) for k, v in records.items()}
    if steps > saved_steps and step == saved_steps and meta.get("final_running") is not None:
        # Extending a finished run whose last evaluation was off the cadence: the longer run would
        # not have made it, so drop it and carry on with the running loss from before it.
        records = {k: v[:-1] for k, v in records.items()}
        running = meta["final_running"]
    return step, running, records


def train(
    net,
    task,
    *,
    steps: int,
    lr: float,
    optimizer: str = "sgd",
    batch_size: int = 128,
    seed: int = 0,
    eval_seed: int | None = None,
    eval_every: int | None = None,
    eval_size: int | None = None,
    weight_decay: float = 0.0,
    schedule: str = "constant",
    clip_norm: float | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    progress: bool | None = None,
    stop_when=None,
    blas_threads: int | None = 1,
) -> History:
    """Train ``net`` in place on fresh batches of ``task`` and return its History.

    ``eval_every`` defaults to steps/100 (at least :data:`MIN_EVAL_EVERY`); the evaluation set
    (``eval_size`` sequences from ``eval_seed``, default ``seed + 1``) is drawn once and reused,
    so curves are comparable. ``eval_size`` defaults to 4096, or fewer in a short run: the
    evaluations together see at most a sixth as many sequences as training does (a sequence's
    forward pass costs about a third of its training step, so default evaluation stays under a
    tenth of the time; benchmarks/bench_network.py measures it).
    ``schedule`` is ``"constant"`` or ``"cosine"`` (lr → 0 at the last step); ``clip_norm``
    rescales a gradient whose global norm exceeds it (deep linear attention has heavy-tailed
    gradients: its output is a high-degree polynomial of Gaussian data).

    ``checkpoint`` names a file, or a folder that keeps one file per configuration
    (:func:`checkpoint_file`), written atomically every ``checkpoint_every`` steps (default: at
    each evaluation) and at the end; with ``resume=True`` an existing checkpoint of the same
    configuration is continued, and the result equals an uninterrupted run exactly. Only
    ``steps`` may differ: a finished run with a constant schedule continues to more steps, bit
    for bit the longer run, when ``eval_every`` and ``eval_size`` are given (their defaults
    depend on ``steps``, so a longer run with defaults is another configuration: refused for a
    file, a fresh run in a folder). Every field of a checkpoint is validated before it is used
    (:class:`CheckpointError`; the file is left as it is). A progress
    bar goes to stderr when it is a terminal (``progress`` forces it on or off).

    ``stop_when(history)`` is asked after every evaluation; training ends early when it returns
    True (e.g. once the transition is over, in a sweep that only needs its time).

    ``blas_threads`` caps BLAS's threads while training (None: leave them as they are). The
    default is 1: the step's matrix products are small, so a second thread gains about a tenth
    (3.4 against 3.7 ms per step at the reference size on two cores), while on a busy machine
    OpenBLAS's waiting threads make the step about five times slower (17 ms per step for each of
    two runs side by side with two threads each, 3.7 ms with one).
    """
    _memory.reuse_freed_memory()  # a step frees and reallocates the same arrays: keep them
    blas_threads = None if blas_threads is None else _validate.count("blas_threads", blas_threads)
    run = _checked(steps=steps, lr=lr, batch_size=batch_size, seed=seed, eval_seed=eval_seed,
                   eval_every=eval_every, eval_size=eval_size, weight_decay=weight_decay,
                   clip_norm=clip_norm, checkpoint_every=checkpoint_every)
    _check_pair(net, task)
    hist = History(config=_configuration(net, task, run, optimizer, schedule))
    opt = make_optimizer(optimizer, run["lr"], run["weight_decay"])
    rate = _schedule(schedule, run["lr"], run["steps"])
    data_rng = _rng.stream(run["seed"], "data")
    options = getattr(net, "sample_options", {})  # e.g. float32 batches for a float32 network
    eval_batch = task.sample(run["eval_size"], _rng.stream(run["eval_seed"], "eval"), **options)
    start, running = 0, []
    checkpoint = checkpoint_file(checkpoint, hist.config) if checkpoint is not None else None
    if resume and checkpoint is not None and checkpoint.exists():
        start, running, hist.records = _load_checkpoint(checkpoint, net, opt, data_rng, hist.config)
    with _progress_bar(run["steps"], start, progress) as bar, _blas_limit(blas_threads):
        _loop(net, task, hist, opt, rate, data_rng, options, eval_batch, run, start, running, checkpoint,
              bar, stop_when)
    return hist


def _check_pair(net, task) -> None:
    """A ValueError unless ``net`` is a network (an instance, not its class) and ``task`` a task
    it can train on."""
    if isinstance(net, type) or not all(callable(getattr(net, m, None)) for m in ("params", "loss_and_grads", "metrics")):
        what = f"the class {net.__name__}" if isinstance(net, type) else _validate.shown(net)
        raise ValueError(f"net must be a network instance with params, loss_and_grads and metrics (e.g. "
                         f"AttentionNetwork.init(task)), got {what}")
    if isinstance(task, type) or not callable(getattr(task, "sample", None)):
        what = f"the class {task.__name__}" if isinstance(task, type) else _validate.shown(task)
        raise ValueError(f"task must be a task instance with a sample method, got {what}")
    if hasattr(net, "check_task"):
        net.check_task(task)


def _blas_limit(threads: int | None):
    """A context capping BLAS's threads (threadpoolctl), or doing nothing for None."""
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    if threads is None:
        return nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


def _checked(*, steps, lr, batch_size, seed, eval_seed, eval_every, eval_size, weight_decay, clip_norm,
             checkpoint_every) -> dict:
    """:func:`train`'s numeric arguments, validated, with their defaults filled in."""
    steps = _validate.count("steps", steps)
    seed = _validate.count("seed", seed, minimum=0)
    batch_size = _validate.count("batch_size", batch_size)
    eval_every = _validate.count("eval_every", max(MIN_EVAL_EVERY, steps // 100) if eval_every is None else eval_every)
    if eval_size is None:
        evaluations = steps // eval_every + 1 + (steps % eval_every > 0)
        eval_size = max(1, min(DEFAULT_EVAL_SIZE, steps * batch_size // (EVAL_SHARE * evaluations)))
    return {
        "steps": steps,
        "lr": _validate.positive("lr", lr),
        "batch_size": batch_size,
        "seed": seed,
        "eval_seed": seed + 1 if eval_seed is None else _validate.count("eval_seed", eval_seed, minimum=0),
        "eval_every": eval_every,
        "eval_size": _validate.count("eval_size", eval_size),
        "weight_decay": _validate.nonnegative("weight_decay", weight_decay),
        "clip_norm": None if clip_norm is None else _validate.positive("clip_norm", clip_norm),
        "checkpoint_every": None if checkpoint_every is None else _validate.count("checkpoint_every", checkpoint_every),
    }


def _configuration(net, task, run: dict, optimizer: str, schedule: str) -> dict:
    """What defines a run: stored in its History and checked before a checkpoint is resumed."""
    return {
        "network": type(net).__name__,
        "net": getattr(net, "config", {}),
        "task": getattr(task, "config", repr(task)),
        "steps": run["steps"],
        "lr": run["lr"],
        "optimizer": optimizer,
        "batch_size": run["batch_size"],
        "weight_decay": run["weight_decay"],
        "schedule": schedule,
        "clip_norm": run["clip_norm"],
        "eval_every": run["eval_every"],
        "eval_size": run["eval_size"],
        "seeds": {"init": getattr(net, "seed", None), "data": run["seed"], "eval": run["eval_seed"]},
        "random_streams": _rng.SCHEME,  # a checkpoint from another scheme must not be reused
    }


def _loop(net, task, hist, opt, rate, data_rng, options, eval_batch, run, start, running, checkpoint, bar,
          stop_when) -> None:
    """Steps ``start`` to ``steps``: evaluate on schedule, checkpoint, take an optimiser step.
    Floating-point trouble is not warned about step by step: a loss that is not finite stops the
    run with :class:`Diverged` (under ``np.errstate``, so no RuntimeWarning precedes it)."""
    steps, eval_every, clip_norm = run["steps"], run["eval_every"], run["clip_norm"]
    params = net.params()
    for step in range(start, steps + 1):
        final_running = None
        if not (hist.records and hist.records["step"][-1] == step):  # a resumed step's may be recorded already
            if step % eval_every == 0 or step == steps:
                if step % eval_every:
                    final_running = list(running)  # the last, off-cadence evaluation: kept for extending
                train_loss = float(np.mean(running)) if running else float("nan")
                with np.errstate(all="ignore"):
                    row = {"step": step, "loss": train_loss, **net.metrics(eval_batch, task)}
                hist.append(**row)
                _report(bar, step, row)
                running = []
                if stop_when is not None and step < steps and stop_when(hist):
                    break  # the history's last step says where
            if checkpoint is not None and step > start and (
                step == steps or step % (run["checkpoint_every"] or eval_every) == 0
            ):
                _save_checkpoint(checkpoint, step, net, opt, data_rng, running, hist, final_running)
        if step == steps:
            break
        with np.errstate(all="ignore"):
            loss, grads = net.loss_and_grads(task.sample(run["batch_size"], data_rng, **options))
            if not np.isfinite(loss):
                raise Diverged(step, loss, run["lr"])
            running.append(loss)
            if clip_norm is not None:
                norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
                if norm > clip_norm:
                    grads = {k: g * (clip_norm / norm) for k, g in grads.items()}
            opt.lr = rate(step)
            opt.step(params, grads)


class Diverged(FloatingPointError):
    """Training produced a loss that is not finite. ``step`` is where; the weights are those of
    that step (the last checkpoint, if any, is from that step or before it: its weights were
    finite)."""

    def __init__(self, step: int, loss: float, lr: float):
        self.step, self.loss, self.lr = step, loss, lr
        super().__init__(f"training diverged at step {step} (loss {loss}) with lr {lr:g}: try a smaller lr "
                         f"(e.g. {lr / 10:g}) or clip_norm")
