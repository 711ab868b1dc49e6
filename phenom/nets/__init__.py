"""Small attention networks written in numpy, with hand-written backward passes.

The names below are imported on first use, so that importing one module of the package (the tasks,
say) does not load the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "AttentionNetwork": "phenom.nets.attention",
    "CheckpointError": "phenom.nets.checkpoint",
    "checkpoint_file": "phenom.nets.checkpoint",
    "head_scores": "phenom.nets.heads",
    "History": "phenom.nets.history",
    "LinearAttention": "phenom.nets.lsa",
    "SGD": "phenom.nets.optim",
    "Adam": "phenom.nets.optim",
    "CopyingTask": "phenom.nets.tasks",
    "Diverged": "phenom.nets.training",
    "train": "phenom.nets.training",
    "attention_readings": "phenom.nets.readings",
    "readout_readings": "phenom.nets.readings",
}

__all__ = [
    "AttentionNetwork",
    "CheckpointError",
    "checkpoint_file",
    "head_scores",
    "History",
    "LinearAttention",
    "SGD",
    "Adam",
    "CopyingTask",
    "Diverged",
    "train",
    "attention_readings",
    "readout_readings",
]

if TYPE_CHECKING:
    from phenom.nets.attention import AttentionNetwork
    from phenom.nets.checkpoint import CheckpointError, checkpoint_file
    from phenom.nets.heads import head_scores
    from phenom.nets.history import History
    from phenom.nets.lsa import LinearAttention
    from phenom.nets.optim import SGD, Adam
    from phenom.nets.readings import attention_readings, readout_readings
    from phenom.nets.tasks import CopyingTask
    from phenom.nets.training import Diverged, train


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'phenom.nets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
