"""What every figure's check shares: the tolerances, the tally of one figure's comparisons
(:class:`Tally`), the :class:`Report`, and the comparisons of a saved table, a sweep file's runs
and a summary figure's copied blocks with what they were made from."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from phenom import _io

REL = 1e-9
"""Relative tolerance of a float recomputed the way it was first computed (in another order)."""
GRID = 0.1
"""A time read off a saved curve: within this fraction of the curve's sampling interval."""
ROUNDED = 2e-6
"""Absolute tolerance of a relative error formed from two times saved to 7 significant digits
(each rounded by at most 5e-7 relative: the ratio by at most ~1e-6)."""
ROUNDED_SLOPE = 1e-5
"""Absolute tolerance of a log-log slope fitted to times saved to 7 significant digits."""
SPLINE = 1e-6
"""Absolute tolerance of a relative gap against the factored flow at the network's evaluation
times, from a cubic spline of the flow's saved curve (measured: 1e-10 at the saved sampling)."""
PARAMETERS = ("beta", "alpha", "xi")
"""The β, α, ξ model's parameters, as the results name them."""


@dataclass(frozen=True)
class Report:
    """What a check of a folder of saved figures found.

    What :func:`~phenom.figures.check.check` found: the figures checked, how many derived numbers were recomputed,
    and one line per problem (none when every check holds).

    Parameters
    ----------
    out : Path
        The folder checked.
    figures : tuple of str
        The figures its manifest names, in its order.
    numbers : int
        How many saved numbers (or whole columns, or files) were compared with what they were
        made from.
    problems : tuple of str
        One line per problem, each starting with the figure's name; empty when all holds.

    Examples
    --------
    >>> from phenom.figures.check import Report
    >>> from pathlib import Path
    >>> Report(Path("figures"), ("phase", "chain"), 120, ()).summary()
    '2 figures checked: hashes, code versions and 120 derived numbers hold'
    >>> bad = Report(Path("figures"), ("phase",), 60, ("phase: phase.png is missing",))
    >>> bad.ok, bad.lines()
    (False, ['phase: phase.png is missing'])
    """

    out: Path
    figures: tuple[str, ...]
    numbers: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether every check held (no problem)."""
        return not self.problems

    def summary(self) -> str:
        """One line: what held, or how many problems."""
        n = len(self.figures)
        checked = f"{n} figure{'s' if n != 1 else ''} checked"
        if self.ok:
            return f"{checked}: hashes, code versions and {self.numbers} derived numbers hold"
        return f"{checked}: {len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"

    def lines(self) -> list[str]:
        """What ``phenom check`` prints: the summary when all holds, else one line per problem."""
        return [self.summary()] if self.ok else list(self.problems)


class Tally:
    """One figure's comparisons: how many numbers were recomputed, and the problems."""

    def __init__(self, name: str):
        self.name, self.numbers = name, 0
        self.problems: list[str] = []

    def problem(self, text: str) -> None:
        self.problems.append(f"{self.name}: {text}")

    def same(self, where: str, stored: Any, recomputed: Any, source: str = "", *, rel=REL, tol=0.0) -> bool:
        """One number: ``stored`` (from the JSON) against ``recomputed``; floats within ``rel``
        (relative) or ``tol`` (absolute), everything else exactly; None and NaN both mean
        undefined."""
        self.numbers += 1
        if agree(stored, recomputed, rel, tol):
            return True
        self.problem(f"{where} is {shown(stored)}, recomputed {shown(recomputed)}{' ' + source if source else ''}")
        return False

    def column(self, where: str, stored: Any, recomputed: Any, source: str = "", *, rel=REL, tol=0.0) -> bool:
        """A whole column (counted as one number), reported at its first disagreeing entry."""
        self.numbers += 1
        stored_list = list(stored) if isinstance(stored, (list, tuple, np.ndarray)) else None
        values = list(np.asarray(recomputed, dtype=object).ravel()) if recomputed is not None else None
        if stored_list is None or values is None or len(stored_list) != len(values):
            size = "not a list" if stored_list is None else f"{len(stored_list)} values"
            self.problem(f"{where} has {size}, recomputed {0 if values is None else len(values)} {source}".rstrip())
            return False
        try:  # numbers (None as NaN): compared at once
            a, b = floats(stored_list), floats(values)
        except (TypeError, ValueError):
            bad = [i for i, (x, y) in enumerate(zip(stored_list, values, strict=True)) if not agree(x, y, rel, tol)]
        else:
            with np.errstate(invalid="ignore"):
                close = (a == b) | (np.abs(a - b) <= np.maximum(tol, rel * np.maximum(np.abs(a), np.abs(b))))
            bad = np.flatnonzero(~(close | (np.isnan(a) & np.isnan(b)))).tolist()
        if bad:
            i = bad[0]
            a_i, b_i = stored_list[i], values[i]
            self.problem(f"{where}[{i}] is {shown(a_i)}, recomputed {shown(b_i)}{' ' + source if source else ''}")
            return False
        return True


def _number(value: Any) -> float | None:
    """A JSON number as a float (None, NaN: undefined; 'inf' strings as the JSON writer saves ±inf)."""
    if value is None:
        return None
    if isinstance(value, str) and value in ("inf", "-inf"):
        return float(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"not a number: {value!r}")
    v = float(value)
    return None if np.isnan(v) else v


def agree(a: Any, b: Any, rel: float, tol: float) -> bool:
    """Whether a saved value and a recomputed one agree: numbers within the tolerances (None and
    NaN alike), lists and objects entry by entry, anything else exactly."""
    sequence = (list, tuple, np.ndarray)
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        if not (isinstance(a, Mapping) and isinstance(b, Mapping) and set(a) == set(b)):
            return False
        return all(agree(a[k], b[k], rel, tol) for k in a)
    if isinstance(a, sequence) or isinstance(b, sequence):
        if not (isinstance(a, sequence) and isinstance(b, sequence) and len(a) == len(b)):
            return False
        return all(agree(x, y, rel, tol) for x, y in zip(a, b, strict=True))
    try:
        x, y = _number(a), _number(b)
    except TypeError:  # text, booleans
        return type(a) is type(b) and a == b
    if x is None or y is None:
        return x is None and y is None
    if x == y:
        return True
    if not (np.isfinite(x) and np.isfinite(y)):
        return False
    return abs(x - y) <= max(tol, rel * max(abs(x), abs(y)))


def shown(value: Any) -> str:
    """A value as a problem line shows it: floats to 10 significant digits, the rest as JSON."""
    if isinstance(value, (float, np.floating)):
        return "NaN" if np.isnan(value) else f"{float(value):.10g}"
    if isinstance(value, (str, list, tuple, dict, np.ndarray)):
        text = json.dumps(_io.plain(value), ensure_ascii=False, default=str)
        return text if len(text) <= 200 else text[:197] + "..."
    return str(_io.plain(value))


def floats(values: Iterable) -> np.ndarray:
    """A 1-D float array of saved values: None (undefined) as NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def csv_equals(tally: Tally, path: Path, columns: Mapping[str, list]) -> None:
    """A saved CSV table against the JSON columns it was written from (one number per file)."""
    tally.numbers += 1
    if not path.is_file():
        return  # reported as a missing file
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    if header != list(columns):
        tally.problem(f"{path.name} has columns {header}, its JSON {list(columns)}")
        return
    rows_wanted = len(next(iter(columns.values()), []))
    if len(body) != rows_wanted:
        tally.problem(f"{path.name} has {len(body)} rows, the JSON it was written from {rows_wanted}")
        return
    for j, name in enumerate(header):
        got = np.array([float(row[j]) for row in body])
        if not np.array_equal(got, floats(columns[name]), equal_nan=True):
            tally.problem(f"{path.name} column {name} differs from the JSON it was written from")
            return


def sweep_rows(path: Path) -> list[dict]:
    """The rows of a sweep's JSON-lines file ({"config", "result" or "error", "version"}); none if
    it is missing (reported as a missing file). A line that is not JSON raises ValueError."""
    if not path.is_file():
        return []
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            raise ValueError(f"{path.name} line {n} is not JSON") from None
    return rows


def copies(tally: Tally, r: dict, folder: Path, copied: Mapping[str, tuple[str, Callable[[dict], Any]]]) -> None:
    """A summary figure's blocks against the saved results they were copied from."""
    sources: dict[str, dict | None] = {}
    for key, (source, part) in copied.items():
        if source not in sources:
            try:
                sources[source] = _io.read_json(folder / f"{source}.json")
            except OSError:
                sources[source] = None
                tally.problem(f"its input {source}.json is missing or unreadable")
        saved = sources[source]
        if saved is None:
            continue
        tally.numbers += 1
        if r[key] != part(saved):
            tally.problem(f"{key} differs from {source}.json (made before its input was made again?)")
