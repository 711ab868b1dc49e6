"""The figure registry: one :class:`Figure` per name of :mod:`phenom.figures.catalog`, with its
setting, job, tables and plot found by that name in its family's modules.

Every figure is made in three steps, each in one place:

1. **compute** (:mod:`phenom.figures.jobs`): the setting (:mod:`phenom.figures.settings`) in, a JSON-able result
   out; this is where flows are integrated and networks trained;
2. **save**: ``NAME.json`` (result, setting, its digest, seeds, versions) and any CSV tables,
   written atomically;
3. **draw** (:mod:`phenom.figures.plots`): the figure from the saved result alone (the very JSON text the
   file holds), so ``phenom draw`` redraws every figure from its results in seconds, without
   computing anything.

A figure's files (JSON, CSV, PNG) are made in memory, written to temporary files and renamed into
place together; then its entry in ``manifest.json`` (files and the sha256 of the bytes written,
setting, seeds, versions, the code versions of the modules that compute and draw it, wall time)
is updated, last. Both happen under the manifest's lock (:func:`phenom._io.manifest_lock`), so
runs writing into one folder at once take turns: each figure's files come from one run and its
entry names them, and every figure's entry is kept. An interrupted run keeps every figure that
finished, and :func:`check` finds a figure whose files are not the ones its manifest entry names
(:func:`phenom.figures.check` checks the code versions and recomputes the derived numbers too).
``phenom reproduce``, the per-figure commands and ``phenom draw`` all go through :func:`make` and
:func:`draw`.
"""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, wait
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Generic, TypeVar

from matplotlib.figure import Figure as Drawing

from phenom import _io
from phenom.figures import settings
from phenom.figures._main_guard import require_main_guard
from phenom.figures.catalog import CATALOG, Entry
from phenom.figures.check import figure_code
from phenom.figures.jobs import compare as compare_jobs
from phenom.figures.jobs import extended as extended_jobs
from phenom.figures.jobs import induction as induction_jobs
from phenom.figures.jobs import lsa as lsa_jobs
from phenom.figures.jobs import network as network_jobs
from phenom.figures.plots import compare as compare_plots
from phenom.figures.plots import extended as extended_plots
from phenom.figures.plots import induction as induction_plots
from phenom.figures.plots import lsa as lsa_plots
from phenom.figures.plots import network as network_plots
from phenom.figures.settings import Setting
from phenom.figures.sweep import local_pool

__all__ = ["Figure", "FIGURES", "FigureError", "make", "draw", "check", "reproduce", "default_setting", "start_order"]

S = TypeVar("S", bound=Setting)


class FigureError(RuntimeError):
    """A figure's computation, saving or drawing failed (not its input, which the setting checks).

    :func:`make`, :func:`draw` and :func:`reproduce` raise it with the figure and the stage that
    failed, the original error kept as ``error`` (and as the ``__cause__``). Its message is one
    line: ``NAME (STAGE): ErrorType: message``.

    Parameters
    ----------
    name : str
        The figure that failed (a key of :data:`FIGURES`).
    stage : str
        The step that failed: ``"compute"``, ``"save"``, ``"load"`` or ``"draw"``.
    error : BaseException
        The error raised in that step. Pickled from a worker process, an error that does not
        pickle comes back as a RuntimeError naming its type and message.

    Examples
    --------
    The summary figure reads two saved results; in an empty folder its computation fails:

    >>> from phenom.figures.registry import FigureError, make
    >>> import tempfile
    >>> try:
    ...     make("lsa_summary", out=tempfile.mkdtemp())
    ... except FigureError as err:
    ...     print(err.name, err.stage, type(err.error).__name__)
    lsa_summary compute OSError
    """

    def __init__(self, name: str, stage: str, error: BaseException):
        message = " ".join(str(error).split())  # one line
        super().__init__(f"{name} ({stage}): {type(error).__name__}: {message}")
        self.name, self.stage, self.error = name, stage, error

    def __reduce__(self) -> tuple:
        """Pickled (from a worker process) with its arguments, name, stage and any other attribute;
        the original error too if it pickles, else a RuntimeError with its type and message."""
        return _rebuilt, (type(self), self.args), {**self.__dict__, "error": _portable(self.error)}


def _rebuilt(cls: type[FigureError], args: tuple) -> FigureError:
    return cls.__new__(cls, *args)


def _portable(error: BaseException) -> BaseException:
    """``error`` if it comes back from pickling, else a RuntimeError naming its type and message."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {' '.join(str(error).split())}")
    return error


@dataclass(frozen=True)
class Figure(Generic[S]):
    """One figure: its setting class, how to compute its result and how to draw it.

    The registry builds one per name of :data:`phenom.figures.catalog.CATALOG` (:data:`FIGURES`);
    :func:`make` runs it.

    Parameters
    ----------
    name : str
        The figure's name: its command (``phenom NAME``) and its files' stem (``NAME.json``, …).
    setting : type
        Its setting class (a frozen dataclass of :mod:`phenom.figures.settings`).
    compute : callable
        ``compute(setting, out) -> dict``: the JSON-able result (:mod:`phenom.figures.jobs`);
        ``out`` is the output folder, for checkpoints, sweep files and the results it reads.
    draw : callable
        ``draw(saved) -> matplotlib.figure.Figure`` from the saved result (:mod:`phenom.figures.plots`).
    tables : callable or None, default None
        ``tables(saved) -> {file name: columns}``: extra CSV files.
    inputs : tuple of str, default ()
        Figures whose saved results this one reads.
    expected_s, quick_s : float, default 1.0
        Rough wall times, in seconds, of the full-size and the quick figure.

    Examples
    --------
    >>> from phenom.figures.registry import FIGURES
    >>> FIGURES["lsa_summary"].setting.__name__, FIGURES["lsa_summary"].inputs
    ('LsaSummarySetting', ('lsa_learning_curves', 'lsa_preconditioner'))
    >>> FIGURES["induction_flow"].compute.__module__
    'phenom.figures.jobs.induction'
    """

    name: str
    setting: type[S]
    compute: Callable[[S, Path], dict]
    draw: Callable[[dict], Drawing]
    tables: Callable[[dict], dict[str, dict]] | None = None
    """Extra CSV files, ``{file name: columns}``, from the saved result."""
    inputs: tuple[str, ...] = ()
    """Figures whose saved results this one reads."""
    expected_s: float = 1.0
    """Rough wall time of the full-size figure (:class:`phenom.figures.catalog.Entry`)."""
    quick_s: float = 1.0
    """Rough wall time of the quick figure."""


_JOBS: dict[str, ModuleType] = {
    "induction": induction_jobs,
    "network": network_jobs,
    "compare": compare_jobs,
    "extended": extended_jobs,
    "lsa": lsa_jobs,
}
_PLOTS: dict[str, ModuleType] = {
    "induction": induction_plots,
    "network": network_plots,
    "compare": compare_plots,
    "extended": extended_plots,
    "lsa": lsa_plots,
}


def _found(name: str, entry: Entry) -> Figure[Any]:
    """Figure ``name`` from its family's modules, by its name (:mod:`phenom.figures.catalog`)."""
    jobs, plots = _JOBS[entry.family], _PLOTS[entry.family]
    return Figure(
        name,
        settings.setting_class(name),
        getattr(jobs, name),
        getattr(plots, name),
        getattr(jobs, f"{name}_tables", None),
        entry.inputs,
        entry.expected_s,
        entry.quick_s,
    )


FIGURES: dict[str, Figure[Any]] = {name: _found(name, entry) for name, entry in CATALOG.items()}
"""Every figure of the README, in the order ``phenom reproduce`` makes them (a summary figure
after the figures whose results it reads)."""


def default_setting(name: str, *, quick: bool = False) -> Setting:
    """The figure's default setting (its ``quick()`` variant with ``quick``).

    Parameters
    ----------
    name : str
        A figure of :data:`FIGURES`; ValueError otherwise.
    quick : bool, default False
        Return the reduced setting (:meth:`~phenom.figures.settings._base.Setting.quick`).

    Returns
    -------
    Setting
        An instance of the figure's setting class with every field at its default.

    Examples
    --------
    >>> from phenom.figures.registry import default_setting
    >>> default_setting("induction_landscape").grid, default_setting("induction_landscape", quick=True).grid
    (201, 101)
    """
    setting = _figure(name).setting()
    return setting.quick() if quick else setting


def _figure(name: str) -> Figure[Any]:
    if name not in FIGURES:
        raise ValueError(f"figure must be one of {list(FIGURES)}, got {name!r}")
    return FIGURES[name]


def _stage(name: str, stage: str, fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except (KeyboardInterrupt, FigureError):
        raise
    except Exception as err:
        raise FigureError(name, stage, err) from err


def make(
    name: str,
    setting: Setting | None = None,
    out: str | Path = "figures",
    *,
    quick: bool = False,
    manifest: bool = True,
) -> dict:
    """Compute, save and draw one figure, and record it in the folder's manifest.

    Compute, save and draw figure ``name`` into ``out``; update ``out/manifest.json`` (unless
    ``manifest`` is False: the caller records the entry); return the manifest entry. ``setting``
    defaults to the figure's default (``quick``: its quick one).

    Parameters
    ----------
    name : str
        A figure of :data:`FIGURES`; ValueError otherwise.
    setting : Setting or None, default None
        An instance of the figure's setting class (ValueError for another class); None: the
        figure's default (:func:`default_setting`).
    out : str or Path, default "figures"
        The output folder, made if needed.
    quick : bool, default False
        With ``setting`` None, start from the quick setting.
    manifest : bool, default True
        Record the entry in ``out/manifest.json`` (False: the caller records it).

    Returns
    -------
    dict
        The manifest entry: ``files``, ``setting``, ``digest``, ``seeds``, ``inputs``,
        ``versions``, ``code``, ``wall_time_s`` and the ``sha256`` of every file.

    Raises
    ------
    FigureError
        When computing, saving or drawing fails.

    Examples
    --------
    A small flow figure (200 time samples, one more L) into a temporary folder:

    >>> from phenom.figures.registry import make
    >>> import tempfile
    >>> from phenom.figures.settings import InductionFlowSetting
    >>> out = tempfile.mkdtemp()
    >>> entry = make("induction_flow", InductionFlowSetting(samples=200, compare_L=(16,)), out)
    >>> entry["files"]
    ['induction_flow.png', 'induction_flow.json', 'induction_flow.csv']
    >>> entry["setting"]["samples"], len(entry["digest"])
    (200, 12)
    """
    figure = _figure(name)
    setting = default_setting(name, quick=quick) if setting is None else setting
    if not isinstance(setting, figure.setting):
        raise ValueError(f"setting must be a {figure.setting.__name__} for {name}, got {type(setting).__name__}")
    out = Path(out)
    started = time.perf_counter()
    result = dict(_stage(name, "compute", figure.compute, setting, out))
    side_files = result.pop("side_files", [])
    record = {
        "figure": f"{name}.png",
        "setting": setting.to_dict(),
        "digest": setting.digest(),
        "seeds": result.pop("seeds", None),
        **result,
        "versions": _io.provenance(),
    }
    text = _stage(name, "save", _io.json_text, record)
    saved = json.loads(text)  # exactly what the file will hold: tables and figure are made from it
    files = {f"{name}.json": text.encode()}
    for file, columns in (figure.tables(saved) if figure.tables else {}).items():
        files[file] = _stage(name, "save", _io.csv_text, columns).encode()
    fig = _stage(name, "draw", figure.draw, saved)
    files[f"{name}.png"] = _stage(name, "save", _io.figure_bytes, fig)
    listed = [f"{name}.png", f"{name}.json", *[f for f in files if f.endswith(".csv")]] + side_files
    with ExitStack() as held:  # one run at a time writes a figure's files and entry
        _stage(name, "save", held.enter_context, _io.manifest_lock(out / "manifest.json"))
        written = _stage(name, "save", _io.write_set, {out / f: files[f] for f in files})  # renamed together
        hashes = {p.name: h for p, h in written.items()}
        # Side files (a sweep's rows) were written by the computation: read under the lock.
        hashes.update({f: _io.file_hash(out / f) for f in side_files})
        entry = {
            "files": listed,
            "setting": record["setting"],
            "digest": record["digest"],
            "seeds": record["seeds"],
            "inputs": list(figure.inputs),
            "versions": record["versions"],
            "code": figure_code(name),
            "wall_time_s": round(time.perf_counter() - started, 3),
            "sha256": {f: hashes[f] for f in listed},
        }
        if manifest:  # written last: it names the files of this run, by the hashes of the bytes written
            _io.update_manifest(out / "manifest.json", name, entry)
    return entry


def check(out: str | Path = "figures") -> dict[str, list[str]]:
    """Figures of a folder whose files are not the ones their manifest entry names.

    Figures of ``out`` whose files are not those its manifest names (a run killed between
    writing a figure's files and its manifest entry, or files edited by hand): figure → the
    files whose contents differ from their recorded hash, or that are missing. Hashes only:
    :func:`phenom.figures.check` also checks code versions and recomputes the derived numbers.

    Parameters
    ----------
    out : str or Path, default "figures"
        A folder holding a ``manifest.json`` (OSError if it has none).

    Returns
    -------
    dict of str to list of str
        Figure → its files that are missing or differ from their recorded sha256; empty when
        every file is the one its manifest names.

    Examples
    --------
    >>> from phenom.figures.registry import check, make
    >>> import tempfile
    >>> from pathlib import Path
    >>> from phenom.figures.settings import InductionFlowSetting
    >>> out = Path(tempfile.mkdtemp())
    >>> _ = make("induction_flow", InductionFlowSetting(samples=200, compare_L=(16,)), out)
    >>> check(out)
    {}
    >>> _ = (out / "induction_flow.csv").write_text("edited by hand")
    >>> check(out)
    {'induction_flow': ['induction_flow.csv']}
    """
    out = Path(out)
    manifest = _io.read_json(out / "manifest.json")
    bad: dict[str, list[str]] = {}
    for name, entry in manifest.items():
        hashes = entry.get("sha256", {}) if isinstance(entry, dict) else {}
        wrong = [f for f, h in hashes.items() if not (out / f).exists() or _io.file_hash(out / f) != h]
        if wrong:
            bad[name] = wrong
    return bad


def draw(
    names: Iterable[str] | None = None, out: str | Path = "figures", *, log: Callable[[str], object] = print
) -> list[str]:
    """Redraw figures from their saved results, computing nothing.

    Redraw figures from their saved results in ``out`` (all whose ``NAME.json`` is there, or
    those in ``names``, each of which must have one); nothing is computed. Returns the names.

    Each new PNG's hash and the drawing code's version replace those in the figure's manifest
    entry; its other files keep what their run recorded.

    Parameters
    ----------
    names : iterable of str or None, default None
        Figures to redraw; None: every figure with a ``NAME.json`` in ``out`` (ValueError if
        there is none, or if a named figure has no saved result).
    out : str or Path, default "figures"
        The folder holding the saved results.
    log : callable, default print
        Called with one line per figure drawn.

    Returns
    -------
    list of str
        The figures redrawn, in order.

    Examples
    --------
    >>> from phenom.figures.registry import draw, make
    >>> import tempfile
    >>> from phenom.figures.settings import InductionFlowSetting
    >>> out = tempfile.mkdtemp()
    >>> _ = make("induction_flow", InductionFlowSetting(samples=200, compare_L=(16,)), out)
    >>> draw(out=out, log=lambda line: None)
    ['induction_flow']
    """
    out = Path(out)
    if names is None:
        names = [n for n in FIGURES if (out / f"{n}.json").exists()]
        if not names:
            raise ValueError(f"out must hold saved results (NAME.json of a figure); {out} has none")
    else:
        names = list(names)
        for n in names:
            _figure(n)
        missing = [n for n in names if not (out / f"{n}.json").exists()]
        if missing:
            files = ", ".join(f"{n}.json" for n in missing)
            raise ValueError(f"names must have saved results in {out}; missing: {files}")
    for n in names:
        started = time.perf_counter()
        with ExitStack() as held:  # no other run replaces the JSON it is drawn from meanwhile
            _stage(n, "save", held.enter_context, _io.manifest_lock(out / "manifest.json"))
            saved = _stage(n, "load", _io.read_json, out / f"{n}.json")
            fig = _stage(n, "draw", FIGURES[n].draw, saved)
            png = _stage(n, "save", _io.figure_bytes, fig)
            [digest] = _stage(n, "save", _io.write_set, {out / f"{n}.png": png}).values()
            entry = _manifest_entry(out, n)
            # The new PNG's hash and the drawing code's version; the other files keep what their run recorded.
            entry["sha256"] = {**entry.get("sha256", {}), f"{n}.png": digest}
            entry["code"] = {**entry.get("code", {}), "draw": figure_code(n)["draw"]}
            entry["drawn_s"] = round(time.perf_counter() - started, 3)
            _io.update_manifest(out / "manifest.json", n, entry)
        log(f"drew {out / f'{n}.png'}  ({time.perf_counter() - started:.1f} s)")
    return names


def _manifest_entry(out: Path, name: str) -> dict:
    path = out / "manifest.json"
    if not path.exists():
        return {"files": [f"{name}.png", f"{name}.json"]}
    return _io.read_json(path).get(name, {"files": [f"{name}.png", f"{name}.json"]})


def _last_wall_times(path: Path) -> dict[str, float]:
    """Each figure's wall time in an earlier manifest (none if there is no readable one)."""
    try:
        manifest = _io.read_json(path)
    except (OSError, ValueError):
        return {}
    return {n: float(e["wall_time_s"]) for n, e in manifest.items() if isinstance(e, dict) and "wall_time_s" in e}


def start_order(names: Iterable[str], out: str | Path, *, quick: bool = False) -> list[str]:
    """Figures in the order to start them: the longest first.

    ``names`` longest first: by their wall times in ``out``'s manifest, else by ``expected_s``
    (``quick_s`` with ``quick``).

    Parameters
    ----------
    names : iterable of str
        Figures of :data:`FIGURES`.
    out : str or Path
        The output folder whose ``manifest.json`` (of an earlier run), if readable, gives the
        wall times.
    quick : bool, default False
        Without a recorded time, use the figure's ``quick_s`` rather than its ``expected_s``.

    Returns
    -------
    list of str
        ``names`` sorted by decreasing expected wall time (a stable sort: ties keep their order).

    Examples
    --------
    In a folder without a manifest, the catalogue's rough wall times decide:

    >>> from phenom.figures.registry import start_order
    >>> import tempfile
    >>> start_order(["induction_flow", "scaling", "phase"], tempfile.mkdtemp())
    ['scaling', 'phase', 'induction_flow']
    """
    cost = _last_wall_times(Path(out) / "manifest.json")
    return sorted(names, key=lambda n: -cost.get(n, _figure(n).quick_s if quick else _figure(n).expected_s))


def reproduce(
    out: str | Path | None = None,
    *,
    quick: bool = False,
    only: Iterable[str] | None = None,
    workers: int | None = None,
    log: Callable[[str], object] = print,
) -> dict[str, dict]:
    """Make every figure (or some) at its default or quick setting.

    Make every figure (or those in ``only``) at its default setting (``quick``: reduced) into
    ``out``: ``figures/`` for the committed full-size figures, ``figures/quick/`` with ``quick``
    (so a quick run never overwrites them). Returns the manifest entries made.

    Figures are independent computations, most of them single-threaded, so they run side by side
    on ``workers`` fresh processes (default: one per core; each limits its BLAS threads to
    cores // workers, as sweeps do), the slowest first (:func:`start_order`); a figure that reads
    others' results starts once they are saved. Each figure's process writes its files and its
    manifest entry together, under the manifest's lock (:func:`make`), so an interrupted run keeps
    every finished figure. ``workers=1`` makes them
    one after another in this process. The first failure stops what has not started and is raised
    once the running figures have finished.

    Call it under ``if __name__ == "__main__":`` in a script: every worker imports the script
    again, and a call at its top level raises :class:`~phenom.figures._main_guard.MainGuardError`
    before any worker is started.

    Parameters
    ----------
    out : str or Path or None, default None
        The output folder; None: ``figures/`` (``figures/quick/`` with ``quick``).
    quick : bool, default False
        Make every figure at its quick setting.
    only : iterable of str or None, default None
        Make just these figures (ValueError for a name not in :data:`FIGURES`); None: all.
    workers : int or None, default None
        Figures made side by side, each in a fresh process; None: one per core; 1: one after
        another in this process (no main guard needed).
    log : callable, default print
        Called with one line per figure written.

    Returns
    -------
    dict of str to dict
        Figure → its manifest entry (as :func:`make` returns it), in the order finished.

    Raises
    ------
    FigureError
        The first figure that failed, once the running figures have finished.

    Examples
    --------
    One quick figure, in this process:

    >>> from phenom.figures.registry import reproduce
    >>> import tempfile
    >>> done = reproduce(tempfile.mkdtemp(), quick=True, only=["induction_flow"], workers=1, log=lambda line: None)
    >>> list(done), done["induction_flow"]["files"][0]
    (['induction_flow'], 'induction_flow.png')
    """
    out = Path(out if out is not None else ("figures/quick" if quick else "figures"))
    names = list(FIGURES)
    if only is not None:
        chosen = list(only)
        unknown = sorted(set(chosen) - set(names))
        if unknown:
            raise ValueError(f"only must name figures among {names}, got {unknown}")
        names = [n for n in names if n in chosen]
    setting = {n: default_setting(n, quick=quick) for n in names}
    done: dict[str, dict] = {}

    def record(name: str, entry: dict) -> None:  # made and recorded by make, in whichever process
        log(f"wrote {out / entry['files'][0]}  ({entry['wall_time_s']:.1f} s)")
        done[name] = entry

    if workers == 1:
        for name in names:
            record(name, make(name, setting[name], out))
        return done
    waiting = {n: [i for i in FIGURES[n].inputs if i in names] for n in names}
    ready = start_order([n for n in names if not waiting[n]], out, quick=quick)
    failures: list[FigureError] = []
    require_main_guard("phenom.figures.reproduce")
    with local_pool(workers, start="spawn") as pool:  # fresh interpreters: fork after numba's threads is unsafe
        running = {pool.submit(make, n, setting[n], out): n for n in ready}
        try:
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    name = running.pop(future)
                    try:
                        record(name, future.result())
                    except FigureError as err:
                        failures.append(err)
                        continue
                    if failures:
                        continue
                    for later in names:
                        if name in waiting[later]:
                            waiting[later].remove(name)
                            if not waiting[later] and later not in done:
                                running[pool.submit(make, later, setting[later], out)] = later
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    if failures:
        raise failures[0]
    return done
