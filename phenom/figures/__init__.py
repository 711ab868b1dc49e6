"""The figures: a registry of every figure, its setting, the job that computes its result, the
plot that draws it from the saved result, the sweeps behind the long ones, and the CLI.

``phenom.figures.reproduce``, ``make``, ``draw``, ``FIGURES`` … come from
:mod:`phenom.figures.registry`, imported on first use (so the CLI starts fast);
``phenom.figures.check`` is the package that checks saved figures (hashes, code versions, derived
numbers), callable as its function: ``phenom.figures.check("figures")``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["Figure", "FIGURES", "FigureError", "make", "draw", "check", "reproduce", "default_setting", "start_order"]

if TYPE_CHECKING:
    from phenom.figures.registry import (
        FIGURES,
        Figure,
        FigureError,
        default_setting,
        draw,
        make,
        reproduce,
        start_order,
    )


def __getattr__(name: str) -> Any:
    if name == "check":  # the package (importing it makes it this package's attribute)
        return importlib.import_module("phenom.figures.check")
    if name in __all__:
        value = getattr(importlib.import_module("phenom.figures.registry"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'phenom.figures' has no attribute {name!r}")
