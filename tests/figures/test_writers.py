"""Two runs writing into one folder at once, released together by a barrier in two processes:
every figure's set of files comes whole from one run, its manifest entry names those very files
by their hashes, and two figures written at once both keep their entries. A set mixed by hand is
reported by ``check``; the lock of a killed writer is released; ``FigureError`` crosses processes
intact."""

import json
import multiprocessing
import os
import pickle
import random
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.figure import Figure as Drawing
from matplotlib.image import imread

from phenom import _io
from phenom.figures import registry
from phenom.figures.check import check, file_problems
from phenom.figures.registry import FigureError

SPAWN = multiprocessing.get_context("spawn")  # fresh interpreters, as reproduce's workers
ROUNDS = 40
"""Rounds of each race between two cheap runs (each run writes three small files and an entry)."""
REAL_ROUNDS = 1
"""Rounds of the race between two real quick runs of induction_flow (a second or two each)."""
COLOURS = ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0))
"""The face colour of each run's PNG in the cheap runs: the picture says which run drew it."""
CHEAP = ("induction_flow", "lsa_landscape")
RENAME_PAUSE_S = 0.003


def _settings(name: str) -> tuple:
    """The two runs' settings of a figure: its quick setting and one with a 1% longer t_max."""
    quick: Any = registry.default_setting(name, quick=True)
    return quick, quick.replace(t_max=quick.t_max * 1.01)


def _cheap(name: str) -> registry.Figure:
    """Figure ``name`` with a computation and a drawing that take milliseconds: the result names
    its run, the CSV repeats it, the PNG is the run's colour."""

    def compute(setting, out):
        return {"run": _settings(name).index(setting), "seeds": None}

    def tables(saved):
        return {f"{name}.csv": {"run": np.full(5, saved["run"])}}

    def draw(saved):
        return Drawing(figsize=(0.4, 0.4), facecolor=COLOURS[saved["run"]])

    return registry.Figure(name, registry.FIGURES[name].setting, compute, draw, tables)


def _slow_renames(seed: int) -> None:
    """Each rename in this process after a pause of 0 to 2 · RENAME_PAUSE_S, at random, as on a
    busy disk: the renames of two runs' sets then overlap, and one overtakes the other, whenever
    the runs are not kept apart."""
    rename, pauses = os.replace, random.Random(seed)

    def slow(src, dst):
        time.sleep(pauses.uniform(0, 2 * RENAME_PAUSE_S))
        rename(src, dst)

    setattr(os, "replace", slow)  # noqa: B010 (a patch of this worker process, for all its writes)


def _writer(barrier, jobs: list[tuple[str, str, int, bool]]) -> None:
    """Make each job's figure (folder, name, run, cheap?) once the other process is ready too, with
    slow renames (:func:`_slow_renames`)."""
    _slow_renames(seed=jobs[0][2])
    real = dict(registry.FIGURES)
    cheap = {name: _cheap(name) for name in CHEAP}
    for folder, name, run, is_cheap in jobs:
        registry.FIGURES[name] = cheap[name] if is_cheap else real[name]
        barrier.wait(timeout=120)
        registry.make(name, _settings(name)[run], folder)


def _race(jobs: tuple[list, list]) -> None:
    barrier = SPAWN.Barrier(2)
    writers = [SPAWN.Process(target=_writer, args=(barrier, j)) for j in jobs]
    for w in writers:
        w.start()
    for w in writers:
        w.join(timeout=600)
    assert [w.exitcode for w in writers] == [0, 0]


@pytest.fixture(scope="module")
def race(tmp_path_factory):
    """Two processes, one making each figure at run 0's setting and the other at run 1's, into
    one folder per round: ``same/K`` the same cheap figure, ``both/K`` two different cheap
    figures, ``real/K`` the real quick induction_flow. ``reference/RUN`` holds each real run made
    alone, beforehand."""
    root = tmp_path_factory.mktemp("race")
    for run, setting in enumerate(_settings("induction_flow")):
        registry.make("induction_flow", setting, root / "reference" / str(run))
    jobs: tuple[list, list] = ([], [])
    for k in range(ROUNDS):
        for run in (0, 1):
            jobs[run].append((str(root / "same" / str(k)), "induction_flow", run, True))
    for k in range(ROUNDS):
        for run in (0, 1):
            jobs[run].append((str(root / "both" / str(k)), CHEAP[run], run, True))
    for k in range(REAL_ROUNDS):
        for run in (0, 1):
            jobs[run].append((str(root / "real" / str(k)), "induction_flow", run, False))
    _race(jobs)
    return root


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def _cheap_runs(folder: Path, name: str) -> tuple[int, set[int], int]:
    """Which run wrote each file of a cheap figure: the JSON's, the CSV's (its rows), the PNG's (its colour)."""
    json_run = json.loads((folder / f"{name}.json").read_text())["run"]
    csv_runs = {int(line) for line in (folder / f"{name}.csv").read_text().split()[1:]}
    pixel = imread(folder / f"{name}.png")[5, 5, :3]
    png_run = [k for k, colour in enumerate(COLOURS) if np.allclose(pixel, colour, atol=0.01)]
    assert len(png_run) == 1, pixel
    return json_run, csv_runs, png_run[0]


def _assert_whole_and_recorded(folder: Path, name: str) -> None:
    json_run, csv_runs, png_run = _cheap_runs(folder, name)
    assert csv_runs == {json_run} and png_run == json_run, (folder, name, json_run, csv_runs, png_run)
    entry = _manifest(folder)[name]
    assert entry["setting"] == _io.plain(_settings(name)[json_run].to_dict())
    assert file_problems(folder, entry) == ([], [], [])  # every file has the hash its entry records


def test_two_runs_of_one_figure_leave_a_whole_set_that_its_entry_names(race):
    for k in range(ROUNDS):
        folder = race / "same" / str(k)
        assert list(_manifest(folder)) == ["induction_flow"]
        _assert_whole_and_recorded(folder, "induction_flow")
        assert registry.check(folder) == {}


def test_two_figures_written_at_once_both_land_in_the_manifest(race):
    for k in range(ROUNDS):
        folder = race / "both" / str(k)
        assert sorted(_manifest(folder)) == sorted(CHEAP), folder
        for name in CHEAP:
            _assert_whole_and_recorded(folder, name)


def test_two_real_runs_at_once_leave_one_runs_files_and_pass_check(race):
    references = [race / "reference" / str(run) for run in (0, 1)]
    files = ["induction_flow.json", "induction_flow.csv", "induction_flow.png"]
    for f in files:  # the two runs' files differ, so a mixed set could be seen
        assert (references[0] / f).read_bytes() != (references[1] / f).read_bytes(), f
    for k in range(REAL_ROUNDS):
        folder = race / "real" / str(k)
        report = check(folder)
        assert report.problems == () and report.figures == ("induction_flow",), report.problems
        runs = [run for run, ref in enumerate(references) if _contents(folder, files) == _contents(ref, files)]
        assert len(runs) == 1, f"round {k}: the files are not all from one run"


def _contents(folder: Path, files: list[str]) -> list:
    """The files' bytes, the JSON's as its values without the versions (the code version is read
    when a process first asks, and files of the checkout may change between two processes)."""
    saved = json.loads((folder / files[0]).read_text())
    saved.pop("versions")
    return [saved] + [(folder / f).read_bytes() for f in files[1:]]


def test_a_set_mixed_by_hand_is_reported_by_check(race, tmp_path):
    references = [race / "reference" / str(run) for run in (0, 1)]
    for f in ("induction_flow.png", "induction_flow.json"):
        mixed = tmp_path / f
        shutil.copytree(references[0], mixed)
        shutil.copyfile(references[1] / f, mixed / f)  # one file from the other run
        problems = check(mixed).problems
        assert f"induction_flow: {f} differs from the sha256 its manifest records" in " ".join(problems), problems
        assert registry.check(mixed) == {"induction_flow": [f]}


def test_figure_error_pickles_with_its_arguments_and_attributes():
    error = FigureError("phase", "compute", ZeroDivisionError("bad\nluck"))
    error.add_note("at N = 8")
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is FigureError and back.args == ("phase (compute): ZeroDivisionError: bad luck",)
    assert (back.name, back.stage, back.__notes__) == ("phase", "compute", ["at N = 8"])
    assert type(back.error) is ZeroDivisionError and back.error.args == ("bad\nluck",)


def test_figure_error_of_an_unpicklable_error_keeps_its_message():
    class Local(OSError):  # a class defined in a function does not pickle
        pass

    back = pickle.loads(pickle.dumps(FigureError("phase", "save", Local("disk full"))))
    assert back.args == ("phase (save): Local: disk full",) and (back.name, back.stage) == ("phase", "save")
    assert type(back.error) is RuntimeError and back.error.args == ("Local: disk full",)
