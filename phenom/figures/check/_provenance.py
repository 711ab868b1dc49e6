"""A figure's files and code: the sha256 of every file against its manifest entry, the code
versions of the modules that compute and draw it against today's, and the command that makes
it again."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from phenom import _io
from phenom.figures import settings
from phenom.figures.catalog import CATALOG
from phenom.figures.check._base import Tally


def file_problems(out: str | Path, entry: Mapping) -> tuple[list[str], list[str], list[str]]:
    """The files of a manifest entry that are missing, differ or have no recorded hash.

    The files of one manifest entry that are missing, that differ from their recorded sha256,
    and that have no recorded sha256.

    Parameters
    ----------
    out : str or Path
        The folder holding the figure's files.
    entry : mapping
        The figure's manifest entry (``files`` and ``sha256``, as :func:`phenom.figures.make`
        returns it).

    Returns
    -------
    tuple of three lists of str
        ``(missing, wrong, unrecorded)``: files named but absent; files present whose sha256
        differs from the recorded one (or recorded but neither present nor named); files named
        without a recorded sha256.

    Examples
    --------
    >>> from phenom.figures.check import file_problems
    >>> import tempfile
    >>> from pathlib import Path
    >>> from phenom.figures import make
    >>> from phenom.figures.settings import InductionFlowSetting
    >>> out = Path(tempfile.mkdtemp())
    >>> entry = make("induction_flow", InductionFlowSetting(samples=200, compare_L=(16,)), out)
    >>> file_problems(out, entry)
    ([], [], [])
    >>> _ = (out / "induction_flow.csv").write_text("edited by hand")
    >>> (out / "induction_flow.png").unlink()
    >>> file_problems(out, entry)
    (['induction_flow.png'], ['induction_flow.csv'], [])
    """
    out = Path(out)
    files = list(entry.get("files", []))
    hashes = entry.get("sha256") or {}
    missing = [f for f in files if not (out / f).is_file()]
    wrong = [f for f, h in hashes.items() if (out / f).is_file() and _io.file_hash(out / f) != h]
    wrong += [f for f in hashes if not (out / f).is_file() and f not in missing]
    unrecorded = [f for f in files if f not in hashes]
    return missing, wrong, unrecorded


def figure_code(name: str) -> dict[str, dict[str, str]]:
    """The code versions of the modules that compute and draw a figure, today.

    The modules that compute and draw figure ``name`` and their code versions today:
    ``{"compute": {"module": …, "version": …}, "draw": {…}}`` (what the manifest records).

    A version is :func:`phenom._io.code_version` of the module, which follows its imports within
    phenom and ignores docstrings and comments: a figure is stale when the code that computed or
    drew it has changed.

    Parameters
    ----------
    name : str
        A figure of :data:`phenom.figures.catalog.CATALOG`.

    Returns
    -------
    dict
        ``{"compute": {"module", "version"}, "draw": {"module", "version"}}``.

    Examples
    --------
    >>> from phenom.figures.check import figure_code
    >>> code = figure_code("phase")
    >>> code["compute"]["module"], code["draw"]["module"]
    ('phenom.figures.jobs.induction', 'phenom.figures.plots.induction')
    >>> code == figure_code("induction_flow")  # one family, one pair of modules
    True
    """
    family = CATALOG[name].family
    modules = {"compute": f"phenom.figures.jobs.{family}", "draw": f"phenom.figures.plots.{family}"}
    return {stage: {"module": m, "version": _io.code_version(m)} for stage, m in modules.items()}


def remake_command(name: str, setting: Mapping | None, out: str | Path) -> str:
    """The ``phenom`` command that makes a figure again with its saved setting.

    The command that makes figure ``name`` again with its saved ``setting`` into ``out``:
    ``phenom NAME --out OUT``, with ``--quick`` for the quick setting and an option for each
    field that differs from the nearer of the two.

    Parameters
    ----------
    name : str
        A figure with a setting class (:func:`phenom.figures.settings.setting_class`).
    setting : mapping or None
        The setting as its result saves it (JSON: tuples as lists); None: the command for the
        default setting.
    out : str or Path
        The output folder the command names.

    Returns
    -------
    str
        A ``phenom`` command line, its values quoted for a POSIX shell.

    Examples
    --------
    >>> from phenom.figures.check import remake_command
    >>> import json
    >>> from phenom.figures.settings import InductionLandscapeSetting
    >>> saved = json.loads(json.dumps(InductionLandscapeSetting(N=4).quick().to_dict()))
    >>> remake_command("induction_landscape", saved, "figures")
    'phenom induction_landscape --quick --N 4 --out figures'
    >>> remake_command("phase", None, "my figures")
    "phenom phase --out 'my figures'"
    """
    cls = settings.setting_class(name)
    where = f"--out {shlex.quote(str(out))}"
    if setting is None:
        return f"phenom {name} {where}"
    best: tuple[int, str, list[str]] | None = None
    for flag, base in (("", cls()), (" --quick", cls().quick())):
        known = _io.plain(base.to_dict())
        changed = [k for k in known if k != "setting" and k in setting and setting[k] != known[k]]
        if best is None or len(changed) < best[0]:
            best = (len(changed), flag, [_option(k, setting[k]) for k in changed])
    assert best is not None
    return " ".join([f"phenom {name}{best[1]}", *best[2], where])


def _option(field: str, value: Any) -> str:
    flag = "--" + field.replace("_", "-")
    if isinstance(value, list):
        return " ".join([flag, *(shlex.quote(str(v)) for v in value)])
    return f"{flag} {shlex.quote(str(value))}"


def check_files(tally: Tally, folder: Path, out: str | Path, entry: Mapping) -> None:
    name = tally.name
    if f"{name}.json" not in entry.get("files", []):
        tally.problem(f"the manifest names no {name}.json among its files")
    missing, wrong, unrecorded = file_problems(folder, entry)
    for f in missing:
        tally.problem(f"{f} is missing")
    for f in wrong:
        tally.problem(f"{f} differs from the sha256 its manifest records (edited, or left by another run)")
    if unrecorded:
        command = remake_command(name, entry.get("setting"), out)
        tally.problem(f"the manifest records no sha256 for {', '.join(unrecorded)}; remake it with `{command}`")


def check_code(tally: Tally, out: str | Path, entry: Mapping) -> None:
    name = tally.name
    today = figure_code(name)
    recorded: dict = entry["code"] if isinstance(entry.get("code"), dict) else {}
    remake = remake_command(name, entry.get("setting"), out)
    computed = recorded.get("compute")
    if not isinstance(computed, dict):
        tally.problem(
            f"the manifest records no code version of {today['compute']['module']}; remake it with `{remake}`"
        )
        return
    if computed != today["compute"]:
        tally.problem(
            f"computed by other code than today's ({computed.get('module')} {computed.get('version')}, today "
            f"{today['compute']['module']} {today['compute']['version']}); remake it with `{remake}`"
        )
        return
    drawn = recorded.get("draw")
    if drawn != today["draw"]:
        was = "none recorded" if not isinstance(drawn, dict) else f"{drawn.get('module')} {drawn.get('version')}"
        tally.problem(
            f"drawn by other code than today's ({was}, today {today['draw']['module']} {today['draw']['version']}); "
            f"redraw it with `phenom draw {name} --out {shlex.quote(str(out))}`"
        )
