"""Argument checking, in one place, with messages that name the argument and its range."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["count", "integers", "positive", "nonnegative", "probability", "finite_array", "pairs", "spd_matrix"]


def count(name: str, value, *, minimum: int = 1, bound: str | None = None) -> int:
    """An integer ``>= minimum`` (integral floats such as ``8.0`` are accepted).

    ``bound`` names the minimum in the message when it comes from another argument.
    """
    bound = bound or str(minimum)
    bad = (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or value != int(value)
        or value < minimum
    )
    if bad:
        raise ValueError(f"{name} must be an integer >= {bound}, got {value!r}")
    return int(value)


def integers(name: str, value, *, minimum: int = 1) -> np.ndarray:
    """An integer or a non-empty array of integers, each ``>= minimum`` (integral floats accepted)."""
    arr = np.asarray(value)
    message = f"{name} must be an integer >= {minimum} or a non-empty array of them, got {value!r}"
    if arr.size == 0 or arr.dtype.kind not in "iuf":
        raise ValueError(message)
    flat = arr.astype(float)
    if not np.all(np.isfinite(flat) & (flat == np.round(flat)) & (flat >= minimum) & (flat < 2.0**62)):
        raise ValueError(message)
    return arr.astype(np.int64)


def pairs(N, L) -> tuple[int, int]:
    """The phenomenological model's counts: ``N >= 1`` pairs, ``L >= N`` labels."""
    N = count("N", N, minimum=1)
    L = count("L", L, minimum=N, bound=f"N = {N} (the N labels in context are distinct)")
    return N, L


def positive(name: str, value) -> float:
    """A finite real number ``> 0``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def nonnegative(name: str, value) -> float:
    """A finite real number ``>= 0``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def probability(name: str, value) -> float:
    """A number in [0, 1]."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not (0 <= value <= 1):
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return float(value)


def spd_matrix(name: str, value, d: int) -> np.ndarray:
    """A (d, d) symmetric positive-definite matrix of finite entries."""
    arr = finite_array(name, value)
    if arr.shape != (d, d):
        raise ValueError(f"{name} must be a square ({d}, {d}) matrix, got shape {arr.shape}")
    if not np.allclose(arr, arr.T, rtol=1e-12, atol=1e-14 * max(1.0, np.abs(arr).max())):
        raise ValueError(f"{name} must be symmetric positive definite; it is not symmetric")
    try:
        np.linalg.cholesky(arr)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} must be symmetric positive definite; it has an eigenvalue <= 0") from None
    return (arr + arr.T) / 2


def finite_array(name: str, value, *, last_dim: int | None = None) -> np.ndarray:
    """A float array of finite entries, optionally with a given trailing dimension."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of finite real numbers, got {value!r}") from None
    if last_dim is not None and (arr.ndim == 0 or arr.shape[-1] != last_dim):
        raise ValueError(f"{name} must have shape (..., {last_dim}), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no nan or inf), got {value!r}")
    return arr
