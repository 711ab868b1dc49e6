"""Online training of the numpy networks on fresh samples, and the History it records.

Any network with ``params()``, ``loss_and_grads(batch)`` and ``metrics(batch, task)`` trains on
any task with ``sample(n, rng)``. Three seeds keep runs reproducible and comparable: the
network's initialisation seed (chosen when it was built), ``seed`` for the training batches and
``eval_seed`` for the held-out evaluation set; all are stored in the History.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import _io, _validate
from .optim import make_optimizer

__all__ = ["History", "train"]


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
        """Write ``stem.csv`` (the curves) and ``stem.json`` (curves, configuration, seeds), atomically."""
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
    eval_size: int = 4096,
    weight_decay: float = 0.0,
    schedule: str = "constant",
    clip_norm: float | None = None,
) -> History:
    """Train ``net`` in place on fresh batches of ``task`` and return its History.

    ``eval_every`` defaults to steps/100; the evaluation set (``eval_size`` sequences from
    ``eval_seed``, default ``seed + 1``) is drawn once and reused, so curves are comparable.
    ``schedule`` is ``"constant"`` or ``"cosine"`` (lr → 0 at the last step); ``clip_norm``
    rescales a gradient whose global norm exceeds it (deep linear attention has heavy-tailed
    gradients: its output is a high-degree polynomial of Gaussian data).
    """
    steps = _validate.count("steps", steps)
    lr = _validate.positive("lr", lr)
    batch_size = _validate.count("batch_size", batch_size)
    eval_every = _validate.count("eval_every", max(1, steps // 100) if eval_every is None else eval_every)
    eval_size = _validate.count("eval_size", eval_size)
    if hasattr(net, "check_task"):
        net.check_task(task)
    eval_seed = seed + 1 if eval_seed is None else eval_seed
    opt = make_optimizer(optimizer, lr, weight_decay)
    rate = _schedule(schedule, lr, steps)
    data_rng = np.random.default_rng(seed)
    options = getattr(net, "sample_options", {})  # e.g. float32 batches for a float32 network
    eval_batch = task.sample(eval_size, np.random.default_rng(eval_seed), **options)
    hist = History(
        config={
            "network": type(net).__name__,
            "net": getattr(net, "config", {}),
            "task": repr(task),
            "steps": steps,
            "lr": lr,
            "optimizer": optimizer,
            "batch_size": batch_size,
            "weight_decay": weight_decay,
            "schedule": schedule,
            "clip_norm": clip_norm,
            "eval_every": eval_every,
            "eval_size": eval_size,
            "seeds": {"init": getattr(net, "seed", None), "data": seed, "eval": eval_seed},
        }
    )
    params = net.params()
    running = []
    for step in range(steps + 1):
        if step % eval_every == 0 or step == steps:
            train_loss = float(np.mean(running)) if running else float("nan")
            hist.append(step=step, loss=train_loss, **net.metrics(eval_batch, task))
            running = []
        if step == steps:
            break
        loss, grads = net.loss_and_grads(task.sample(batch_size, data_rng, **options))
        if not np.isfinite(loss):
            raise FloatingPointError(f"training diverged at step {step} (loss {loss}); lower lr")
        running.append(loss)
        if clip_norm is not None:
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
            if norm > clip_norm:
                grads = {k: g * (clip_norm / norm) for k, g in grads.items()}
        opt.lr = rate(step)
        opt.step(params, grads)
    return hist
