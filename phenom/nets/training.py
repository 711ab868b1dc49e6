"""Online training of the numpy networks on fresh samples.

Any network with ``params()``, ``loss_and_grads(batch)`` and ``metrics(batch, task)`` trains on
any task with ``sample(n, rng)``. Three seeds keep runs reproducible and comparable: the
network's initialisation seed (chosen when it was built), ``seed`` for the training batches and
``eval_seed`` for the held-out evaluation set; all are stored in the :class:`~phenom.nets.history.History`.
Checkpoints (their format and checks) are in :mod:`phenom.nets.checkpoint`.
"""

from __future__ import annotations

import math
import sys
from contextlib import nullcontext
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from phenom import _rng, _validate
from phenom.nets.checkpoint import (
    CADENCE,
    CheckpointError,
    checkpoint_file,
    load_checkpoint,
    save_checkpoint,
    saved_cadence,
)
from phenom.nets.history import History
from phenom.nets.optim import make_optimizer

__all__ = [
    "History",
    "train",
    "checkpoint_file",
    "CheckpointError",
    "Diverged",
    "DEFAULT_EVAL_SIZE",
    "EVAL_SHARE",
    "MIN_EVAL_EVERY",
]

_save_checkpoint = save_checkpoint  # looked up at each save (tests interrupt a run through it)

DEFAULT_EVAL_SIZE = 4096
"""Held-out sequences per evaluation when the run is long enough to afford them."""

EVAL_SHARE = 6
"""By default the evaluations together see at most 1/EVAL_SHARE as many sequences as training."""

MIN_EVAL_EVERY = 10
"""The default evaluation interval is never shorter: an evaluation of any size has a fixed cost of
about a quarter of a training step at the reference size."""


def _schedule(name: str, lr: float, steps: int):
    if name == "constant":
        return lambda step: lr
    if name == "cosine":
        return lambda step: 0.5 * lr * (1 + math.cos(math.pi * step / steps))
    raise ValueError(f"schedule must be 'constant' or 'cosine', got {name!r}")


def _progress_bar(steps: int, start: int, enabled: bool | None):
    """A tqdm bar on stderr (off when stderr is not a terminal, unless ``enabled`` forces it)."""
    show = sys.stderr.isatty() if enabled is None else enabled
    return tqdm(
        total=steps, initial=start, disable=not show, unit="step", file=sys.stderr, leave=True, dynamic_ncols=True
    )


def _report(bar, step: int, row: dict) -> None:
    bar.set_postfix({k: f"{row[k]:.3g}" for k in ("loss", "eval_loss", "icl_acc") if k in row}, refresh=False)
    bar.update(step - bar.n)


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
    tenth of the time; benchmarks/bench_network.py measures it). ``eval_size=0`` evaluates
    nothing: the history keeps the step and the running training loss on the same cadence (a run
    that scores the network on sets of its own, in ``stop_when``, pays for no held-out set).
    ``schedule`` is ``"constant"`` or ``"cosine"`` (lr → 0 at the last step); ``clip_norm``
    rescales a gradient whose global norm exceeds it (deep linear attention has heavy-tailed
    gradients: its output is a high-degree polynomial of Gaussian data).

    ``checkpoint`` names a file, or a folder that keeps one file per configuration
    (:func:`checkpoint_file`), written atomically every ``checkpoint_every`` steps (default: at
    each evaluation) and at the end; with ``resume=True`` an existing checkpoint of the same
    configuration is continued, and the result equals an uninterrupted run exactly. Only
    ``steps`` may differ: a finished run with a constant schedule continues to more steps, bit
    for bit the longer run with the same evaluation cadence. The checkpoint remembers its cadence
    (``eval_every``, ``eval_size``): a resumed run that leaves them to their defaults uses the
    checkpoint's, so any run extends (``train(net, task, steps=2 * s, resume=True,
    checkpoint=...)``); a cadence given explicitly must match it. Every field of a checkpoint is
    validated before it is used (:class:`CheckpointError`; the file is left as it is). A progress
    bar goes to stderr when it is a terminal (``progress`` forces it on or off).

    ``stop_when(history)`` is asked after every evaluation; training ends early when it returns
    True (e.g. once the transition is over, in a sweep that only needs its time).

    ``blas_threads`` caps BLAS's threads while training (None: leave them as they are), restored
    on return. The default is 1: the step's matrix products are small, so a second thread gains
    about a tenth (3.4 against 3.7 ms per step at the reference size on two cores), while on a
    busy machine OpenBLAS's waiting threads make the step about five times slower (17 ms per
    step for each of two runs side by side with two threads each, 3.7 ms with one). Nothing
    else of the calling process is changed (its allocator settings included): the networks
    reuse their own work arrays from step to step.

    Parameters
    ----------
    net : AttentionNetwork or LinearAttention
        The network (an instance with ``params``, ``loss_and_grads`` and ``metrics``), trained in
        place; it must fit the task (``net.check_task``).
    task : CopyingTask, ClassificationTask or LinearICL
        The task whose ``sample(n, rng)`` draws every batch fresh.
    steps : int
        Optimiser steps, >= 1.
    lr : float
        The step size, > 0 (the peak of a cosine schedule).
    optimizer : {"sgd", "adam"}, default "sgd"
        :class:`~phenom.nets.optim.SGD` or :class:`~phenom.nets.optim.Adam`.
    batch_size : int, default 128
        Sequences per step, >= 1.
    seed : int, default 0
        Seed of the training batches' stream, >= 0.
    eval_seed : int, optional
        Seed of the held-out set, >= 0; default ``seed + 1``.
    eval_every : int, optional
        Steps between evaluations, >= 1; default steps/100, at least :data:`MIN_EVAL_EVERY`
        (or the checkpoint's, when resuming).
    eval_size : int, optional
        Held-out sequences, >= 0 (0: no held-out set); default up to :data:`DEFAULT_EVAL_SIZE`,
        so that evaluation sees at most 1/:data:`EVAL_SHARE` as many sequences as training.
    weight_decay : float, default 0.0
        Multiplicative weight decay per step, >= 0.
    schedule : {"constant", "cosine"}, default "constant"
        The step size's schedule (cosine: from ``lr`` to 0 at the last step).
    clip_norm : float, optional
        Rescale a gradient whose global norm exceeds it, > 0; default no clipping.
    checkpoint : str or pathlib.Path, optional
        A checkpoint file or folder (:func:`checkpoint_file`); default none.
    checkpoint_every : int, optional
        Steps between checkpoints, >= 1; default at each evaluation (and always at the end).
    resume : bool, default False
        Continue from an existing checkpoint of the same configuration.
    progress : bool, optional
        Force the progress bar on or off; default on when stderr is a terminal.
    stop_when : callable, optional
        ``stop_when(history) -> bool``, asked after every evaluation before the last step.
    blas_threads : int or None, default 1
        BLAS threads while training, >= 1; None leaves them as they are.

    Returns
    -------
    History
        One row per evaluation: ``step``, the running training ``loss`` since the previous
        evaluation (NaN at step 0) and the network's ``metrics`` on the held-out set; its
        ``config`` records the run (seeds included).

    Raises
    ------
    Diverged
        When a training loss is not finite.
    CheckpointError
        When ``resume=True`` meets a checkpoint that cannot be continued.

    Examples
    --------
    >>> from phenom.nets.attention import AttentionNetwork
    >>> from phenom.nets.tasks import CopyingTask
    >>> from phenom.nets.training import train
    >>> task = CopyingTask(N=2, L=4, D=8)
    >>> net = AttentionNetwork.init(task, seed=0)
    >>> hist = train(net, task, steps=100, lr=0.1, batch_size=32, eval_every=25, eval_size=256)
    >>> hist.step.tolist(), hist.config["seeds"]
    ([0, 25, 50, 75, 100], {'init': 0, 'data': 0, 'eval': 1})
    >>> bool(hist.eval_loss[-1] < hist.eval_loss[0])
    True

    ``stop_when`` ends a run early, here after the evaluation at step 50:

    >>> stopped = train(AttentionNetwork.init(task), task, steps=100, lr=0.1, batch_size=32, eval_every=25,
    ...                 eval_size=256, stop_when=lambda h: h.step[-1] >= 50)
    >>> stopped.step.tolist()
    [0, 25, 50]

    Linear attention learns the optimal preconditioner of in-context regression with the same loop:

    >>> from phenom.linear.model import LinearICL
    >>> from phenom.nets.lsa import LinearAttention
    >>> regression = LinearICL(d=2, N=4)
    >>> lsa = train(LinearAttention.init(2, 4, seed=0), regression, steps=200, lr=0.05, optimizer="adam",
    ...             batch_size=64, eval_every=100)
    >>> bool(lsa.gamma_dist[-1] < 0.5 * lsa.gamma_dist[0])  # relative distance of Γ_eff from Γ*
    True
    """
    blas_threads = None if blas_threads is None else _validate.count("blas_threads", blas_threads)
    run = _checked(
        steps=steps,
        lr=lr,
        batch_size=batch_size,
        seed=seed,
        eval_seed=eval_seed,
        eval_every=eval_every,
        eval_size=eval_size,
        weight_decay=weight_decay,
        clip_norm=clip_norm,
        checkpoint_every=checkpoint_every,
    )
    _check_pair(net, task)
    config = _configuration(net, task, run, optimizer, schedule)
    if checkpoint is not None:
        defaulted = [k for k, v in zip(CADENCE, (eval_every, eval_size), strict=True) if v is None]
        checkpoint = checkpoint_file(checkpoint, config, defaulted=defaulted, modules=_computing_modules(net, task))
        if resume and defaulted and checkpoint.exists():
            # Extending a run: its evaluation cadence is the one it was trained with, not the
            # default of the new number of steps.
            remembered = saved_cadence(checkpoint)
            run.update({k: remembered[k] for k in defaulted if k in remembered})
            config = _configuration(net, task, run, optimizer, schedule)
    hist = History(config=config)
    opt = make_optimizer(optimizer, run["lr"], run["weight_decay"])
    rate = _schedule(schedule, run["lr"], run["steps"])
    data_rng = _rng.stream(run["seed"], "data")
    options = getattr(net, "sample_options", {})  # e.g. float32 batches for a float32 network
    eval_batch = (
        task.sample(run["eval_size"], _rng.stream(run["eval_seed"], "eval"), **options) if run["eval_size"] else None
    )
    start = 0
    running: list[float] = []
    if resume and checkpoint is not None and checkpoint.exists():
        start, running, hist.records = load_checkpoint(checkpoint, net, opt, data_rng, hist.config)
    with _progress_bar(run["steps"], start, progress) as bar, _blas_limit(blas_threads):
        _loop(
            net, task, hist, opt, rate, data_rng, options, eval_batch, run, start, running, checkpoint, bar, stop_when
        )
    return hist


def _computing_modules(net, task) -> list[str]:
    """The phenom modules that define ``net`` and ``task``: a folder's checkpoint is keyed to their code."""
    return sorted({m for m in (type(net).__module__, type(task).__module__) if m.startswith("phenom.")})


def _check_pair(net, task) -> None:
    """A ValueError unless ``net`` is a network (an instance, not its class) and ``task`` a task
    it can train on."""
    methods = ("params", "loss_and_grads", "metrics")
    if isinstance(net, type) or not all(callable(getattr(net, m, None)) for m in methods):
        what = f"the class {net.__name__}" if isinstance(net, type) else _validate.shown(net)
        raise ValueError(
            f"net must be a network instance with params, loss_and_grads and metrics (e.g. "
            f"AttentionNetwork.init(task)), got {what}"
        )
    if isinstance(task, type) or not callable(getattr(task, "sample", None)):
        what = f"the class {task.__name__}" if isinstance(task, type) else _validate.shown(task)
        raise ValueError(f"task must be a task instance with a sample method, got {what}")
    if hasattr(net, "check_task"):
        net.check_task(task)


def _blas_limit(threads: int | None):
    """A context capping BLAS's threads (threadpoolctl), or doing nothing for None."""
    if threads is None:
        return nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


def _checked(
    *, steps, lr, batch_size, seed, eval_seed, eval_every, eval_size, weight_decay, clip_norm, checkpoint_every
) -> dict:
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
        "eval_size": _validate.count("eval_size", eval_size, minimum=0),
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


def _loop(
    net, task, hist, opt, rate, data_rng, options, eval_batch, run, start, running, checkpoint, bar, stop_when
) -> None:
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
                row = {"step": step, "loss": train_loss}
                if eval_batch is not None:
                    with np.errstate(all="ignore"):
                        row.update(net.metrics(eval_batch, task))
                hist.append(**row)
                _report(bar, step, row)
                running = []
                if stop_when is not None and step < steps and stop_when(hist):
                    break  # the history's last step says where
            if (
                checkpoint is not None
                and step > start
                and (step == steps or step % (run["checkpoint_every"] or eval_every) == 0)
            ):
                _save_checkpoint(
                    checkpoint, step, net, opt, data_rng, running, hist.config, hist.records, final_running
                )
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
    """Training produced a loss that is not finite; ``step`` is where.

    The weights are those of that step (the last checkpoint, if any, is from that step or before
    it: its weights were finite). A FloatingPointError, raised by
    :func:`train` without a floating-point warning before it; it pickles whole (it crosses from
    a worker process intact).

    Parameters
    ----------
    step : int
        The step whose loss was not finite.
    loss : float
        That loss (NaN or infinite).
    lr : float
        The run's step size; the message suggests a tenth of it.

    Examples
    --------
    >>> from phenom.nets.attention import AttentionNetwork
    >>> from phenom.nets.tasks import CopyingTask
    >>> from phenom.nets.training import Diverged, train
    >>> task = CopyingTask(N=2, L=4, D=8)
    >>> try:
    ...     train(AttentionNetwork.init(task), task, steps=50, lr=100.0, batch_size=8)
    ... except Diverged as err:
    ...     print(err.lr, 0 < err.step < 50, isinstance(err, FloatingPointError))
    ...     print(err)
    100.0 True True
    training diverged at step ... (loss ...) with lr 100: try a smaller lr (e.g. 10) or clip_norm
    """

    def __init__(self, step: int, loss: float, lr: float):
        self.step, self.loss, self.lr = step, loss, lr
        super().__init__(
            f"training diverged at step {step} (loss {loss}) with lr {lr:g}: try a smaller lr "
            f"(e.g. {lr / 10:g}) or clip_norm"
        )

    def __reduce__(self) -> tuple:  # rebuilt from its arguments, so it crosses from a worker process intact
        return type(self), (self.step, self.loss, self.lr), self.__dict__
