"""Independent random streams: one per role, so that equal seeds never share draws.

``stream(seed, "init")`` and ``stream(seed, "data")`` are statistically independent generators
even for the same seed (NumPy's SeedSequence mixes the role into the entropy), so a network's
initial weights can never coincide with the task's label vectors or its first batch.
"""

from __future__ import annotations

import numpy as np

from phenom import _validate

SCHEME = "one stream per role: default_rng([role, seed])"
"""Recorded in training configurations, so results from another scheme are never mixed in."""

ROLES = {"init": 1, "data": 2, "eval": 3, "task": 4, "basis": 5, "monte_carlo": 6, "ablation": 7}

__all__ = ["stream", "ROLES"]


def stream(seed: int, role: str) -> np.random.Generator:
    """The generator for ``role`` (one of :data:`ROLES`) under ``seed`` (an integer >= 0)."""
    seed = _validate.count("seed", seed, minimum=0)
    return np.random.default_rng([ROLES[role], seed])
