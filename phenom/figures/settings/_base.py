"""What every setting shares: the :class:`Setting` base (validation on construction, ``quick()``,
``digest()``), :func:`option` for a field with its help and check, the named checks (:data:`RULES`),
and the policy constants of training.

The command line reads the settings' fields to build its options, so nothing here imports more
than numpy: the checks of :mod:`phenom._validate` and the sequence tasks of :mod:`phenom.nets.tasks`
(whose constructors check the task fields of the network settings).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from phenom import _validate as validate
from phenom.nets import tasks

__all__ = [
    "Setting",
    "SummarySetting",
    "option",
    "RULES",
    "validate",
    "tasks",
    "grid_size",
    "distinct",
    "integers",
    "SGD_LR",
    "ADAM_LR",
    "WEIGHT_DECAY",
    "MAX_GRID",
]

SGD_LR = 0.5
"""Plain SGD's rate for the copying task: learns N = 8, L = 32 in about 1000 steps (Reddy's 0.01
takes tens of thousands; the dynamics are the same, only faster)."""
ADAM_LR = 1e-3
"""Adam's rate (the MLP read-out's optimiser)."""
WEIGHT_DECAY = 1e-6
"""Multiplicative weight decay with SGD, p ← (1 − 1e-6) p − lr g (Reddy, ICLR 2024, Sec. 2)."""
MAX_GRID = 2001
"""Largest landscape grid per axis (2001² loss evaluations)."""


def distinct(name: str, values: tuple) -> tuple:
    """``values``, which must not repeat."""
    if len(set(values)) != len(values):
        raise ValueError(f"{name} must be distinct values, got {values!r}")
    return values


def integers(name: str, values: Any, minimum: int = 1, bound: str | None = None) -> tuple[int, ...]:
    """A tuple of integers, each >= ``minimum`` (``bound`` names it when another field sets it)."""
    return tuple(validate.count(name, v, minimum=minimum, bound=bound) for v in tuple(values))


def grid_size(value: Any, largest: int) -> int:
    """Grid points per axis: an integer from 2 to ``largest``."""
    try:
        grid = validate.count("grid", value, minimum=2)
    except ValueError:
        grid = None
    if grid is None or grid > largest:
        raise ValueError(f"grid must be an integer from 2 to {largest}, got {value!r}")
    return grid


RULES = {
    "count": lambda name, v: validate.count(name, v),
    "seed": lambda name, v: validate.count(name, v, minimum=0),
    "positive": lambda name, v: validate.positive(name, v),
    "nonnegative": lambda name, v: validate.nonnegative(name, v),
    "probability": lambda name, v: validate.probability(name, v),
    "counts": lambda name, v: integers(name, v),
    "distinct counts": lambda name, v: distinct(name, integers(name, v)),
    "seeds": lambda name, v: distinct(name, integers(name, v, minimum=0)),
}
"""How a field is checked and normalised, by the name given as ``rule`` in :func:`option`."""


def option(default: Any, help: str, rule: str | None = None, *, kind: type | None = None) -> Any:
    """A setting field with its command-line help, its check and its type.

    A setting field with its command-line help, its check (a name in :data:`RULES`, applied on
    construction) and ``kind``: the element type of a tuple, or the type of a field whose
    default is None.

    Parameters
    ----------
    default : object
        The field's default (immutable: a number, a string, a tuple or None).
    help : str
        One line for ``phenom NAME --help``: what the field is and its range.
    rule : str or None, default None
        A key of :data:`RULES` (``"count"``, ``"seed"``, ``"positive"``, …): the check that
        normalises the field on construction; None: no per-field check (the setting's own
        cross-field checks may still check it).
    kind : type or None, default None
        The element type of a tuple field, or the type of a field whose default is None (the
        command line parses the option as this type).

    Returns
    -------
    dataclasses.Field
        A dataclass field carrying ``help``, ``rule`` and ``kind`` in its metadata.

    Examples
    --------
    >>> from phenom.figures.settings import option, Setting
    >>> import dataclasses
    >>> @dataclasses.dataclass(frozen=True)
    ... class Toy(Setting):
    ...     steps: int = option(100, "training steps, >= 1", "count")
    >>> Toy(steps=20.0).steps
    20
    >>> try:
    ...     Toy(steps=0)
    ... except ValueError as err:
    ...     print("refused:", "steps" in str(err))
    refused: True
    >>> dataclasses.fields(Toy)[0].metadata["help"]
    'training steps, >= 1'
    """
    return field(default=default, metadata={"help": help, "rule": rule, "kind": kind})


_S = TypeVar("_S", bound="Setting")


@dataclass(frozen=True)
class Setting:
    """Base of every setting: validation on construction, ``quick()``, ``digest()``, ``to_dict()``.

    A subclass is a frozen dataclass whose fields are made with :func:`option`: each field is
    checked (and normalised, e.g. 20.0 → 20 for a count) by its rule on construction, then the
    subclass's ``_check`` checks across fields; a bad value raises ValueError naming the field
    and its range. ``QUICK`` lists the fields :meth:`quick` changes.

    Examples
    --------
    >>> from phenom.figures.settings import InductionLandscapeSetting
    >>> s = InductionLandscapeSetting()
    >>> s.grid, s.quick().grid, s.replace(N=4).N
    (201, 101, 4)
    >>> s.to_dict()["setting"], s.digest() == InductionLandscapeSetting().digest()
    ('InductionLandscapeSetting', True)
    """

    QUICK: ClassVar[dict] = {}
    """Fields that :meth:`quick` changes."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            rule = f.metadata.get("rule")
            if rule is not None and getattr(self, f.name) is not None:
                self._set(f.name, RULES[rule](f.name, getattr(self, f.name)))
        self._check()

    def _check(self) -> None:
        """Checks across fields, after each field's own rule; subclasses extend it."""

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def quick(self: _S) -> _S:
        """The same setting at reduced size (shorter training, fewer seeds, coarser grids)."""
        return dataclasses.replace(self, **self.QUICK)

    def replace(self: _S, **changes: Any) -> _S:
        """The same setting with ``changes`` (field → value), checked again."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The class name (as ``setting``) and every field: what a result saves beside it."""
        return {"setting": type(self).__name__, **dataclasses.asdict(self)}

    def digest(self) -> str:
        """A short hash of the setting's class and values: results and checkpoints are reused
        only by a computation with the same digest."""
        text = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class SummarySetting(Setting):
    """A figure drawn from other figures' saved results: nothing to set.

    Examples
    --------
    >>> from phenom.figures.settings import LsaSummarySetting
    >>> LsaSummarySetting().to_dict()
    {'setting': 'LsaSummarySetting'}
    """
