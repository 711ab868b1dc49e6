"""Checking a folder of saved figures: for each figure its manifest names, the files, the code,
and its family's recomputation of its derived numbers (the function named after the figure in
:mod:`~phenom.figures.check.induction`, :mod:`~phenom.figures.check.network`,
:mod:`~phenom.figures.check.compare` or :mod:`~phenom.figures.check.lsa`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType

import numpy as np

from phenom import _io
from phenom.figures.catalog import CATALOG
from phenom.figures.check import compare, extended, induction, lsa, network
from phenom.figures.check._base import Report, Tally
from phenom.figures.check._definitions import digest
from phenom.figures.check._provenance import check_code, check_files

FAMILIES: dict[str, ModuleType] = {
    "induction": induction,
    "network": network,
    "compare": compare,
    "extended": extended,
    "lsa": lsa,
}
"""Each family's recomputations: one function per figure, named as the figure."""


def check(out: str | Path = "figures") -> Report:
    """Check every saved figure of a folder: its files, its code and its derived numbers.

    Check every figure that ``out/manifest.json`` names: its files against their recorded
    sha256, its recorded code versions against today's, and every derived number of its JSON
    recomputed from the raw data saved beside it (:mod:`phenom.figures.check`). Returns a
    :class:`~phenom.figures.check._base.Report`.

    ``out`` must be a folder with a manifest (ValueError otherwise); an unreadable manifest
    raises OSError naming it. A figure's missing or damaged files are problems in the report.

    Parameters
    ----------
    out : str or Path, default "figures"
        A folder of saved figures holding their ``manifest.json`` (as :func:`phenom.figures.make`
        and :func:`phenom.figures.reproduce` write it).

    Returns
    -------
    Report
        The figures checked, how many derived numbers were recomputed, and one line per problem.

    Examples
    --------
    >>> from phenom.figures.check import check
    >>> import tempfile
    >>> from pathlib import Path
    >>> from phenom.figures import make
    >>> from phenom.figures.settings import InductionFlowSetting
    >>> out = Path(tempfile.mkdtemp())
    >>> _ = make("induction_flow", InductionFlowSetting(samples=200, compare_L=(16,)), out)
    >>> report = check(out)
    >>> report.ok, report.figures, report.numbers > 0
    (True, ('induction_flow',), True)
    >>> (out / "induction_flow.csv").unlink()
    >>> check(out).problems
    ('induction_flow: induction_flow.csv is missing',)
    """
    folder = Path(out)
    if not folder.is_dir():
        raise ValueError(f"out must be a folder of saved figures with a manifest.json; {folder} is not a folder")
    if not (folder / "manifest.json").is_file():
        raise ValueError(f"out must hold the manifest.json of saved figures; {folder} has none")
    manifest = _io.read_json(folder / "manifest.json")
    if not isinstance(manifest, dict) or not all(isinstance(e, dict) for e in manifest.values()):
        raise OSError(f"{folder / 'manifest.json'} is not a manifest (an object of figure entries)")
    problems: list[str] = []
    numbers = 0
    for name, entry in manifest.items():
        tally = Tally(name)
        if name not in CATALOG:
            tally.problem(f"not a figure of this phenom (its figures: {', '.join(CATALOG)})")
        else:
            check_files(tally, folder, out, entry)
            check_code(tally, out, entry)
            _check_numbers(tally, folder, entry)
        problems += tally.problems
        numbers += tally.numbers
    return Report(folder, tuple(manifest), numbers, tuple(problems))


_STRUCTURE = (KeyError, IndexError, TypeError, ValueError, AttributeError, ZeroDivisionError, np.linalg.LinAlgError)


def _check_numbers(tally: Tally, folder: Path, entry: Mapping) -> None:
    name = tally.name
    try:
        saved = _io.read_json(folder / f"{name}.json")
    except OSError as err:
        tally.problem(f"nothing recomputed: {' '.join(str(err).split())}")
        return
    try:
        if not isinstance(saved, dict):
            raise TypeError("not an object")
        if saved.get("figure") != f"{name}.png" or saved["setting"] != entry.get("setting"):
            tally.problem(f"{name}.json is not the result its manifest entry names (figure or setting differ)")
        tally.same("digest", saved.get("digest"), digest(saved["setting"]), "(from its setting)")
        recompute: Recompute = getattr(FAMILIES[CATALOG[name].family], name)
        recompute(tally, saved, folder)
    except _STRUCTURE as err:
        tally.problem(
            f"{name}.json is not shaped as today's code writes it ({type(err).__name__}: {' '.join(str(err).split())})"
        )


Recompute = Callable[[Tally, dict, Path], None]
