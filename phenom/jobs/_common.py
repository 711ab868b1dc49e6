"""What every job records about itself in the manifest."""

from __future__ import annotations

import time

from .. import _io

__all__ = ["entry"]


def entry(parameters: dict, started: float, files: list[str], seeds=None) -> dict:
    """Manifest entry: files written, parameters, seeds, versions, wall time since ``started``."""
    return {
        "files": files,
        "parameters": parameters,
        "seeds": seeds,
        "versions": _io.provenance(),
        "wall_time_s": round(time.perf_counter() - started, 3),
    }
