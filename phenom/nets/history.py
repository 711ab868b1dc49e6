"""The learning curves of a training run: one row per evaluation, with the run's configuration."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from phenom import _io

__all__ = ["History"]

SUMMARY = ("loss", "eval_loss", "icl_acc")
"""The columns whose final value :meth:`History.__repr__` shows."""


@dataclass(repr=False)
class History:
    """Learning curves: one row per evaluation; columns read as arrays (``hist.step``, ``hist.loss``).

    :func:`~phenom.nets.training.train` returns one, with a row per evaluation: the step, the
    running training loss and the network's ``metrics`` on the held-out set. A column that was
    never recorded is an AttributeError naming the columns there are.

    Parameters
    ----------
    config : dict
        The run's configuration (network, task, optimiser, seeds, evaluation cadence), as
        :func:`~phenom.nets.training.train` records it; saved with the curves.
    records : dict of str to list, default empty
        Each column's values, one per evaluation (all columns of one length); :meth:`append`
        adds a row.

    Examples
    --------
    >>> from phenom.nets.history import History
    >>> hist = History(config={"lr": 0.1})
    >>> hist.append(step=0, loss=1.5, icl_acc=0.25)
    >>> hist.append(step=10, loss=0.75, icl_acc=0.5)
    >>> hist
    History(2 evaluations, last step 10, loss 0.75, icl_acc 0.5; columns: step, loss, icl_acc)
    >>> hist.loss.tolist(), int(hist.step[-1])
    ([1.5, 0.75], 10)
    >>> import tempfile
    >>> [path.name for path in hist.save(tempfile.mkdtemp())]
    ['history.csv', 'history.json']
    """

    config: dict
    records: dict[str, list] = field(default_factory=dict)

    def append(self, **row) -> None:
        """Add one evaluation's values, a keyword per column (a new column starts at this row)."""
        for key, value in row.items():
            self.records.setdefault(key, []).append(value)

    def __getattr__(self, name: str) -> np.ndarray:
        records = self.__dict__.get("records", {})
        if name in records:
            return np.asarray(records[name])
        raise AttributeError(f"History has no column {name!r}; columns: {sorted(records)}")

    def __repr__(self) -> str:
        """One line: evaluations, last step, final loss / eval_loss / icl_acc, column names (no arrays)."""
        steps = self.records.get("step", [])
        last = f", last step {steps[-1]}" if steps else ""
        finals = "".join(f", {k} {_short(self.records[k][-1])}" for k in SUMMARY if self.records.get(k))
        return f"History({len(steps)} evaluations{last}{finals}; columns: {', '.join(self.records) or 'none'})"

    def columns(self) -> dict[str, np.ndarray]:
        """Every column as a float array (None read as NaN), in the order they were first recorded."""
        return {k: np.asarray(v, dtype=float) for k, v in self.records.items()}

    def save(self, out: str | Path, stem: str = "history") -> list[Path]:
        """Write ``stem.csv`` (the curves) and ``stem.json`` (curves, configuration, seeds), atomically;
        ``stem`` is a file name without folders."""
        _io.file_stem("stem", stem)
        out = Path(out)
        return [
            _io.write_csv(out / f"{stem}.csv", self.columns()),
            _io.write_json(
                out / f"{stem}.json", {"config": self.config, "history": self.records, "versions": _io.provenance()}
            ),
        ]


def _short(value) -> str:
    """A recorded value in four significant digits (NaN and None as such)."""
    if value is None:
        return "None"
    value = float(value)
    return "nan" if math.isnan(value) else f"{value:.4g}"
