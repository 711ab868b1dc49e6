"""Argument checking, in one place, with messages that name the argument and its range."""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "count",
    "integers",
    "positive",
    "nonnegative",
    "probability",
    "finite_array",
    "pairs",
    "spd_matrix",
    "MAX_COUNT",
    "times",
    "broadcast",
    "shown",
    "at_most",
    "within",
    "count_within",
    "real",
    "array_within",
    "allocation",
    "MAX_BYTES",
    "plain",
]

MAX_COUNT = 2**62
"""The largest count accepted (a 64-bit integer with room to add two of them)."""


def _real(value) -> float | None:
    """``value`` as a float (±inf beyond the float range: Python integers are unbounded), or None
    when it is not a real number (bools, strings, complex numbers, arrays)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return None
    try:
        return float(value)
    except OverflowError:
        return -math.inf if value < 0 else math.inf  # numbers.Real declares < (not >); value != 0 here


def count(name: str, value, *, minimum: int = 1, bound: str | None = None) -> int:
    """An integer ``>= minimum`` and ``<= 2^62`` (integral floats such as ``8.0`` are accepted).

    ``bound`` names the minimum in the message when it comes from another argument.
    """
    bound = bound or str(minimum)
    x = _real(value)
    if x is None or not math.isfinite(x) or value != int(value) or value < minimum:
        if x is not None and x > MAX_COUNT:
            raise ValueError(f"{name} must be an integer from {bound} to 2^62, got {value!r}")
        raise ValueError(f"{name} must be an integer >= {bound}, got {value!r}")
    if value > MAX_COUNT:
        raise ValueError(f"{name} must be an integer from {bound} to 2^62, got {value!r}")
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
    x = _real(value)
    if x is None or not (math.isfinite(x) and x > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return x


def nonnegative(name: str, value) -> float:
    """A finite real number ``>= 0``."""
    x = _real(value)
    if x is None or not (math.isfinite(x) and x >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return x


def probability(name: str, value) -> float:
    """A number in [0, 1]."""
    x = _real(value)
    if x is None or not (0 <= x <= 1):
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return x


SPD_EIGENVALUES = (1e-100, 1e100)
"""The eigenvalue range of a covariance matrix (its products with itself stay far inside float64)."""
SPD_CONDITION = 1e12
"""The largest condition number of a covariance matrix (its inverse is then accurate to ~1e-4)."""


def spd_matrix(name: str, value, d: int) -> np.ndarray:
    """A (d, d) symmetric positive-definite matrix of finite real entries, with eigenvalues in
    :data:`SPD_EIGENVALUES` and condition number at most :data:`SPD_CONDITION`."""
    arr = finite_array(name, value)
    if arr.shape != (d, d):
        raise ValueError(f"{name} must be a square ({d}, {d}) matrix, got shape {arr.shape}")
    if not np.allclose(arr, arr.T, rtol=1e-12, atol=1e-14 * max(1.0, np.abs(arr).max())):
        raise ValueError(f"{name} must be symmetric positive definite; it is not symmetric")
    try:
        np.linalg.cholesky(arr)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} must be symmetric positive definite; it has an eigenvalue <= 0") from None
    arr = arr / 2 + arr.T / 2
    lo, hi = SPD_EIGENVALUES
    if np.abs(arr).max() > hi:
        raise ValueError(
            f"{name} must have eigenvalues from {lo:g} to {hi:g}, got entries up to {np.abs(arr).max():.3g}"
        )
    eig = np.linalg.eigvalsh(arr)
    if eig[0] <= 0:
        raise ValueError(f"{name} must be symmetric positive definite; it has an eigenvalue <= 0")
    if eig[0] < lo or eig[-1] > hi:
        raise ValueError(f"{name} must have eigenvalues from {lo:g} to {hi:g}, got {eig[0]:.3g} to {eig[-1]:.3g}")
    if eig[-1] / eig[0] > SPD_CONDITION:
        raise ValueError(f"{name} must have condition number <= {SPD_CONDITION:g}, got {eig[-1] / eig[0]:.3g}")
    return arr


def shown(value, limit: int = 80) -> str:
    """``value`` for an error message, on one line: an array by its dtype and shape, anything
    else by its repr, shortened to ``limit`` characters."""
    if isinstance(value, np.ndarray) and value.size > 4:
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def finite_array(name: str, value, *, last_dim: int | None = None) -> np.ndarray:
    """A float array of finite real entries (numbers, not strings, booleans or complex
    numbers), optionally with a given trailing dimension."""
    message = f"{name} must be an array of finite real numbers, got {shown(value)}"
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError):  # ragged nesting
        raise ValueError(message) from None
    if raw.dtype.kind == "O":
        if not all(_real(v) is not None for v in raw.ravel()):
            raise ValueError(message)
        arr: np.ndarray = np.array([_real(v) for v in raw.ravel()], dtype=float).reshape(raw.shape)
    elif raw.dtype.kind in "iuf":
        arr = raw.astype(float)
    else:  # strings, booleans, complex numbers, dates
        raise ValueError(message)
    if last_dim is not None and (arr.ndim == 0 or arr.shape[-1] != last_dim):
        raise ValueError(f"{name} must have shape (..., {last_dim}), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no nan or inf), got {shown(value)}")
    return arr


def times(name: str, value) -> np.ndarray:
    """Finite times ``>= 0``: a number or an array of them."""
    arr = finite_array(name, value)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got {shown(value)}")
    return arr


def broadcast(arrays: dict) -> list[np.ndarray]:
    """The named arrays broadcast together, or a ValueError naming them and their shapes."""
    try:
        return list(np.broadcast_arrays(*arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{name} {np.shape(a)}" for name, a in arrays.items())
        raise ValueError(f"{', '.join(arrays)} must broadcast to one shape, got shapes {shapes}") from None


def at_most(name: str, value: int, largest: int, why: str) -> int:
    """``value`` (an already checked count) if it is <= ``largest``, else a ValueError saying why."""
    if value > largest:
        raise ValueError(f"{name} must be at most {largest} ({why}), got {value}")
    return value


MAX_BYTES = 2**30
"""The most memory (1 GiB) one call may allocate for its arrays; :func:`allocation` checks it."""


def within(name: str, value, lo: float, hi: float, why: str = "") -> float:
    """A finite real number in [lo, hi]; ``why`` (if given) says where the range comes from."""
    x = _real(value)
    if x is None or not (lo <= x <= hi):
        because = f" ({why})" if why else ""
        raise ValueError(f"{name} must be a number from {lo:g} to {hi:g}{because}, got {shown(value)}")
    return x


def count_within(name: str, value, lo: int, hi: int, why: str = "") -> int:
    """An integer in [lo, hi] (integral floats and numpy scalars of any width accepted, without
    the cast warnings numpy gives when a narrow scalar meets a wide bound)."""
    x = _real(value)
    because = f" ({why})" if why else ""
    if x is None or not (math.isfinite(x) and x == int(x) and lo <= x <= hi):
        raise ValueError(f"{name} must be an integer from {lo} to {hi}{because}, got {shown(value)}")
    return int(x)


def real(name: str, value) -> float:
    """A finite real number (not a bool, string, complex number or array)."""
    x = _real(value)
    if x is None or not math.isfinite(x):
        raise ValueError(f"{name} must be a finite real number, got {shown(value)}")
    return x


def array_within(name: str, value, lo: float, hi: float, why: str = "") -> np.ndarray:
    """A non-empty float array of finite real entries, each in [lo, hi] (:func:`finite_array`)."""
    because = f" ({why})" if why else ""
    message = f"{name} must hold numbers from {lo:g} to {hi:g}{because}, got {shown(value)}"
    try:
        arr = finite_array(name, value)
    except ValueError:
        raise ValueError(message) from None
    if arr.size == 0 or not np.all((arr >= lo) & (arr <= hi)):
        raise ValueError(message)
    return arr


def allocation(name: str, elements: int, itemsize: int = 8) -> int:
    """``elements`` (a count that an argument sets) if an array of them fits in :data:`MAX_BYTES`,
    else a ValueError naming the argument and the memory it would take."""
    needed = int(elements) * itemsize
    if needed > MAX_BYTES:
        raise ValueError(
            f"{name} asks for arrays of {needed / 2**30:.3g} GiB, more than the bound of {MAX_BYTES / 2**30:g} GiB"
        )
    return int(elements)


def plain(value):
    """A numpy scalar as the Python number it holds (others unchanged), so that a narrow one
    (float16) meets the checks' wide bounds without numpy's cast warnings."""
    return value.item() if isinstance(value, np.generic) else value


def float_dtype(name: str, value) -> np.dtype:
    """float32 or float64 (a numpy dtype or anything ``np.dtype`` reads as one), or a ValueError
    naming ``name`` and the choices."""
    try:
        dt = np.dtype(value) if value is not None else None
    except (TypeError, ValueError):
        dt = None
    if dt is None or dt.name not in ("float32", "float64"):
        raise ValueError(f"{name} must be float32 or float64, got {shown(value)}")
    return dt
